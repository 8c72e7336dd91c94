//! The rectification progress report (整改进展通报): per inspected
//! organization its problems, rectified, rate, overdue, the change since
//! the previous period and its tasks by kind; lowest rate first, totals
//! last. One table model, written as a workbook with a native bar chart or
//! as a page with an inline SVG chart.

use super::{Staged, excel_date, io_error, xlsx_error};
use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::progress::{OrgProgress, Tally, by_organization};
use chrono::{Datelike, Months, NaiveDate};
use std::path::Path;

/// How far back "the previous period" lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Period {
    Month,
    Quarter,
}

impl Period {
    /// The same day one period earlier (the month's last day when that
    /// month is shorter); from a month's last day, the earlier month's last
    /// day (11-30 → 10-31, 03-31 → 02-28, 06-30 → 03-31 a quarter back).
    pub fn before(self, day: NaiveDate) -> NaiveDate {
        let months = Months::new(match self {
            Period::Month => 1,
            Period::Quarter => 3,
        });
        let month_end = day.succ_opt().is_none_or(|next| next.day() == 1);
        if month_end {
            // The day before the first of the month after: the earlier
            // month's last day.
            let first = day.with_day(1).unwrap_or(day);
            first
                .checked_sub_months(months)
                .and_then(|f| f.checked_add_months(Months::new(1)))
                .and_then(|f| f.pred_opt())
                .unwrap_or(day)
        } else {
            day.checked_sub_months(months).unwrap_or(day)
        }
    }

    fn label(self) -> &'static str {
        match self {
            Period::Month => "上月",
            Period::Quarter => "上季度",
        }
    }
}

/// A cell of the report's table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(i64),
    /// 0–1; none without problems.
    Rate(Option<f64>),
    /// Percentage points.
    Change(Option<f64>),
}

/// The report, laid out as one table.
#[derive(Debug)]
pub struct Report {
    pub as_of: NaiveDate,
    pub previous: NaiveDate,
    pub period: Period,
    pub headings: Vec<String>,
    /// One row per organization, lowest rate first.
    pub rows: Vec<Vec<Cell>>,
    pub total: Vec<Cell>,
    /// The column of the rectification rate (for the chart).
    pub rate_column: usize,
}

impl Report {
    pub fn title(&self) -> String {
        format!("整改进展通报（截至 {}）", self.as_of)
    }

    pub fn subtitle(&self) -> String {
        format!(
            "{}组织 · 与{}（{}）相比 · 整改率 = 已整改 ÷ 问题数 · 逾期：过整改期限未整改",
            self.rows.len(),
            self.period.label(),
            self.previous
        )
    }
}

/// How a task kind is headed: the policy's label, else the standard one,
/// else the code.
pub fn kind_label(policy: Option<&crate::lang::ir::Policy>, kind: &str) -> String {
    policy
        .and_then(|p| p.task_kind_label(kind))
        .or_else(|| crate::schema::standard_task_kind(kind).map(|(_, l)| l.to_string()))
        .unwrap_or_else(|| kind.to_string())
}

/// Organizations in the order of the report and the workbench: lowest
/// rectification rate first; equal rates, more overdue first.
pub fn lowest_rate_first(orgs: &mut [crate::store::progress::OrgProgress]) {
    orgs.sort_by(|a, b| {
        let (ra, rb) = (a.now.rate().unwrap_or(1.0), b.now.rate().unwrap_or(1.0));
        ra.total_cmp(&rb)
            .then(b.now.overdue.cmp(&a.now.overdue))
            .then(a.id.cmp(&b.id))
    });
}

/// The report as of `as_of`, compared with one `period` earlier; task
/// kinds are headed by `label_of(kind)`.
pub fn build(
    conn: &Db,
    as_of: NaiveDate,
    period: Period,
    label_of: &dyn Fn(&str) -> String,
) -> Result<Report> {
    let previous = period.before(as_of);
    let mut orgs = by_organization(conn, as_of, previous)?;
    lowest_rate_first(&mut orgs);
    let mut kinds: Vec<String> = orgs.iter().flat_map(|o| o.tasks.keys().cloned()).collect();
    kinds.sort_by_key(|k| {
        (
            crate::schema::STANDARD_TASK_KINDS
                .iter()
                .position(|(c, _)| c == k)
                .unwrap_or(usize::MAX),
            k.clone(),
        )
    });
    kinds.dedup();
    let mut headings: Vec<String> = [
        "组织",
        "问题数",
        "已整改",
        "整改率",
        "上期整改率",
        "变化（百分点）",
        "本期整改",
        "逾期",
    ]
    .map(String::from)
    .to_vec();
    headings.extend(kinds.iter().map(|k| label_of(k)));
    headings.extend(["任务已完成", "任务待办"].map(String::from));
    let row = |o: &OrgProgress| -> Vec<Cell> {
        let (now, before) = (o.now.rate(), o.before.rate());
        let change = match (now, before) {
            (Some(n), Some(b)) => Some((n - b) * 100.0),
            _ => None,
        };
        let mut all = Tally::default();
        o.tasks.values().for_each(|t| all.add(t));
        let mut cells = vec![
            Cell::Text(o.name.clone()),
            Cell::Count(o.now.found),
            Cell::Count(o.now.rectified),
            Cell::Rate(now),
            Cell::Rate(before),
            Cell::Change(change),
            Cell::Count(o.now.rectified - o.before.rectified),
            Cell::Count(o.now.overdue),
        ];
        cells.extend(
            kinds
                .iter()
                .map(|k| Cell::Count(o.tasks.get(k).map(Tally::total).unwrap_or(0))),
        );
        cells.extend([Cell::Count(all.done), Cell::Count(all.open)]);
        cells
    };
    let mut total = OrgProgress {
        name: "合计".into(),
        ..OrgProgress::default()
    };
    for o in &orgs {
        total.now.add(&o.now);
        total.before.add(&o.before);
        for (k, t) in &o.tasks {
            total.tasks.entry(k.clone()).or_default().add(t);
        }
    }
    Ok(Report {
        as_of,
        previous,
        period,
        rows: orgs.iter().map(row).collect(),
        total: row(&total),
        headings,
        rate_column: 3,
    })
}

/// Writes the report to `FILE.xlsx` or `FILE.html`.
pub fn write(report: &Report, path: &Path) -> Result<()> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("xlsx") => write_xlsx(report, path),
        Some("html" | "htm") => write_html(report, path),
        _ => Err(Error::usage(format!(
            "--to {}: the report is written as a workbook (.xlsx) or a page (.html)",
            path.display()
        ))),
    }
}

const SHEET: &str = "整改进展通报";

fn write_xlsx(report: &Report, path: &Path) -> Result<()> {
    use rust_xlsxwriter::{Chart, ChartType, Color, Format, FormatAlign, FormatBorder, Workbook};
    let e = |err| xlsx_error(path, err);
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(SHEET).map_err(e)?;
    let title = Format::new().set_bold().set_font_size(16);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(FormatBorder::Thin);
    let body = Format::new().set_border(FormatBorder::Thin);
    let percent = body.clone().set_num_format("0.0%");
    let change = body.clone().set_num_format("+0.0;-0.0;0.0");
    let bold = |f: &Format| {
        f.clone()
            .set_bold()
            .set_background_color(Color::RGB(0xF2F2F2))
    };
    let last_col = report.headings.len().saturating_sub(1) as u16;
    sheet
        .merge_range(0, 0, 0, last_col, &report.title(), &title)
        .map_err(e)?;
    sheet
        .merge_range(1, 0, 1, last_col, &report.subtitle(), &Format::new())
        .map_err(e)?;
    if let Some(d) = excel_date(report.as_of) {
        // The day as a date cell too, for offices that file reports by it.
        let date = Format::new()
            .set_num_format("yyyy-mm-dd")
            .set_font_color(Color::Gray);
        sheet
            .write_datetime_with_format(2, 0, d, &date)
            .map_err(e)?;
    }
    const HEAD_ROW: u32 = 3;
    for (c, h) in report.headings.iter().enumerate() {
        sheet
            .write_string_with_format(HEAD_ROW, c as u16, h, &head)
            .map_err(e)?;
        sheet
            .set_column_width(c as u16, if c == 0 { 24 } else { 10 })
            .map_err(e)?;
    }
    sheet.set_row_height(HEAD_ROW, 32).map_err(e)?;
    let rows = report.rows.iter().chain(std::iter::once(&report.total));
    for (i, cells) in rows.enumerate() {
        let r = HEAD_ROW + 1 + i as u32;
        let is_total = i == report.rows.len();
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            let (fmt, value): (Format, Option<f64>) = match cell {
                Cell::Text(t) => {
                    let f = if is_total { bold(&body) } else { body.clone() };
                    sheet.write_string_with_format(r, c, t, &f).map_err(e)?;
                    continue;
                }
                Cell::Count(n) => (body.clone(), Some(*n as f64)),
                Cell::Rate(x) => (percent.clone(), *x),
                Cell::Change(x) => (change.clone(), *x),
            };
            let fmt = if is_total { bold(&fmt) } else { fmt };
            match value {
                Some(v) => sheet.write_number_with_format(r, c, v, &fmt),
                None => sheet.write_blank(r, c, &fmt),
            }
            .map_err(e)?;
        }
    }
    if !report.rows.is_empty() {
        let (first, last) = (HEAD_ROW + 1, HEAD_ROW + report.rows.len() as u32);
        let rate = report.rate_column as u16;
        let mut chart = Chart::new(ChartType::Bar);
        chart
            .add_series()
            .set_name((SHEET, HEAD_ROW, rate))
            .set_categories((SHEET, first, 0, last, 0))
            .set_values((SHEET, first, rate, last, rate));
        chart.title().set_name("各单位整改率");
        chart.x_axis().set_num_format("0%").set_min(0).set_max(1);
        chart.y_axis().set_reverse();
        chart.legend().set_hidden();
        let height = 120 + 22 * report.rows.len() as u32;
        chart.set_width(720).set_height(height);
        sheet.insert_chart(last + 3, 0, &chart).map_err(e)?;
    }
    sheet.set_freeze_panes(HEAD_ROW + 1, 1).map_err(e)?;
    let staged = Staged::new(path);
    // Created private first: saving truncates it and keeps its mode.
    staged.create()?;
    book.save(&staged.temp).map_err(e)?;
    staged.commit()
}

fn write_html(report: &Report, path: &Path) -> Result<()> {
    let page = html(report)?;
    let staged = Staged::new(path);
    let mut file = staged.create()?;
    std::io::Write::write_all(&mut file, page.as_bytes()).map_err(|e| io_error(path, e))?;
    staged.commit()
}

/// The report as one self-contained page (no script, no outside file).
pub fn html(report: &Report) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", include_str!("report.html"))
        .map_err(|e| Error::invalid(format!("the report template: {e}")))?;
    let text = |c: &Cell| -> (String, &'static str) {
        match c {
            Cell::Text(t) => (t.clone(), "text"),
            Cell::Count(n) => (n.to_string(), "num"),
            Cell::Rate(Some(x)) => (format!("{:.1}%", x * 100.0), "num"),
            Cell::Change(Some(x)) if *x > 0.0 => (format!("+{x:.1}"), "num up"),
            Cell::Change(Some(x)) if *x < 0.0 => (format!("{x:.1}"), "num down"),
            Cell::Change(Some(_)) => ("0.0".into(), "num"),
            Cell::Rate(None) | Cell::Change(None) => ("—".into(), "num"),
        }
    };
    let rows: Vec<Vec<(String, &str)>> = report
        .rows
        .iter()
        .map(|r| r.iter().map(text).collect())
        .collect();
    let bars: Vec<(String, f64)> = report
        .rows
        .iter()
        .map(|r| {
            let name = match &r[0] {
                Cell::Text(t) => t.clone(),
                _ => String::new(),
            };
            let rate = match r[report.rate_column] {
                Cell::Rate(Some(x)) => x,
                _ => 0.0,
            };
            (name, rate)
        })
        .collect();
    let chart = super::svg::rate_bars("各单位整改率", &bars)?;
    env.get_template("report.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                title => report.title(),
                subtitle => report.subtitle(),
                headings => &report.headings,
                rows => rows,
                total => report.total.iter().map(text).collect::<Vec<_>>(),
                chart => minijinja::Value::from_safe_string(chart),
            })
        })
        .map_err(|e| Error::invalid(format!("the report template: {e}")))
}
