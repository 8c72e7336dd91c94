//! Charts for pages, drawn by plotters into SVG text. Text stays text in
//! the SVG (the browser sets it in the reader's Chinese font); plotters
//! escapes it.

use crate::error::{Error, Result};
use plotters::prelude::*;

/// A horizontal bar per name, its rate (0–1) as a percentage, in the
/// order given (the first on top).
pub fn rate_bars(caption: &str, bars: &[(String, f64)]) -> Result<String> {
    let failed = |e: &dyn std::fmt::Display| Error::invalid(format!("drawing the chart: {e}"));
    let n = bars.len().max(1);
    let height = 90 + 28 * n as u32;
    // Room for the longest name (a CJK character is about the font's size).
    let longest = bars.iter().map(|(name, _)| name.chars().count()).max();
    let label_width = (20 + 15 * longest.unwrap_or(4) as u32).clamp(80, 260);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (400 + label_width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            // The last x label ("100%") is centred on the axis's end.
            .margin_right(28)
            .x_label_area_size(28)
            .y_label_area_size(label_width)
            // An integer range's end is one of its values: 0..n-1 is n
            // segments, one per bar.
            .build_cartesian_2d(0f64..100f64, (0..n - 1).into_segmented())
            .map_err(|e| failed(&e))?;
        // Top to bottom as given: segment i is drawn at n-1-i.
        let name_at = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < bars.len() => bars[bars.len() - 1 - i].0.clone(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&name_at)
            .x_label_formatter(&|x| format!("{x:.0}%"))
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(|e| failed(&e))?;
        chart
            .draw_series(
                Histogram::horizontal(&chart)
                    .style(RGBColor(0x2f, 0x6f, 0xb3).filled())
                    .margin(4)
                    .data(
                        bars.iter()
                            .enumerate()
                            .map(|(i, (_, rate))| (bars.len() - 1 - i, rate * 100.0)),
                    ),
            )
            .map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_text_and_every_bar_is_drawn() {
        let bars = vec![
            ("市教育局".to_string(), 0.25),
            ("<b>县&局</b>".to_string(), 0.5),
        ];
        let svg = rate_bars("整改率", &bars).unwrap_or_else(|e| panic!("{e}"));
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("市教育局"));
        assert!(svg.contains("&lt;b&gt;县&amp;局&lt;/b&gt;"));
        assert!(!svg.contains("<b>"));
        // One bar per name, in the bar colour.
        let bars = svg.split("<rect").filter(|r| r.contains("#2F6FB3")).count();
        assert_eq!(bars, 2, "{svg}");
    }

    /// A number attribute of an SVG element's text.
    fn attr(element: &str, name: &str) -> f64 {
        element
            .split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|t| t.split('"').next())
            .and_then(|t| t.parse().ok())
            .unwrap_or(f64::NAN)
    }

    #[test]
    fn every_slot_has_a_bar_none_is_left_empty() {
        for n in [1usize, 2, 5] {
            let bars: Vec<(String, f64)> = (0..n)
                .map(|i| (format!("组织{i}"), 0.2 * (i + 1) as f64))
                .collect();
            let svg = rate_bars("整改率", &bars).unwrap_or_else(|e| panic!("{e}"));
            let height = attr(&svg, "height");
            let rects: Vec<(f64, f64)> = svg
                .split("<rect")
                .filter(|r| r.contains("#2F6FB3"))
                .map(|r| (attr(r, "y"), attr(r, "height")))
                .collect();
            assert_eq!(rects.len(), n, "{svg}");
            let top = rects.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
            let bottom = rects.iter().map(|r| r.0 + r.1).fold(0.0, f64::max);
            // Above the bars the caption, below them the axis labels (of
            // about the same height): an empty slot above the first bar
            // would make the space above a bar's height larger.
            let slot = rects[0].1 + 8.0;
            assert!(
                top - (height - bottom) < slot / 2.0,
                "{n} bars: {top} above, {} below\n{svg}",
                height - bottom
            );
        }
    }
}
