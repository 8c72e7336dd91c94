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
    let height = 90 + 26 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..100f64, (0..n).into_segmented())
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
            .label_style(("sans-serif", 13))
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
}
