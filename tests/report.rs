//! The rectification progress report (整改进展通报, SPEC §10) through the
//! binary: figures per organization as they stood on the report's day and
//! a period before, lowest rate first, totals, and a chart — native in the
//! workbook, SVG in the page.

mod common;
use calamine::{Data, Reader, Xlsx, open_workbook};
use common::Office;
use predicates::str::contains;
use std::io::Read;

const HEADINGS: [&str; 12] = [
    "组织",
    "问题数",
    "已整改",
    "整改率",
    "上期整改率",
    "变化（百分点）",
    "本期整改",
    "逾期",
    "提醒谈话",
    "书面检查",
    "任务已完成",
    "任务待办",
];

fn cells(row: &[Data]) -> Vec<String> {
    row.iter()
        .map(|c| match c {
            Data::Float(f) if f.fract() == 0.0 => format!("{f}"),
            Data::Float(f) => format!("{f:.4}"),
            other => other.to_string(),
        })
        .collect()
}

/// The workbook's chart, as XML.
fn chart_part(workbook: &std::path::Path) -> String {
    let file = std::fs::File::open(workbook).unwrap_or_else(|e| panic!("{e}"));
    let mut zip = zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("{e}"));
    let mut chart = String::new();
    zip.by_name("xl/charts/chart1.xml")
        .unwrap_or_else(|e| panic!("no chart part: {e}"))
        .read_to_string(&mut chart)
        .unwrap_or_else(|e| panic!("{e}"));
    chart
}

/// The fixture office on 2026-06-01, against 2026-05-01. 市教育局: p1–p4,
/// p3 rectified; p1 overdue since April, p2 since 05-20; three tasks. 市财政局:
/// p5 (found 05-01, due in July) and p6 (rectified).
#[test]
fn the_workbook_has_the_figures_lowest_rate_first_and_a_native_chart() {
    let o = Office::fixture();
    o.cmd()
        .args(["report", "--as-of", "2026-06-01", "--to", "2026-06.xlsx"])
        .assert()
        .success()
        .stdout(contains("2 organizations, compared with 2026-05-01"));
    let mut book: Xlsx<_> = open_workbook(o.path("2026-06.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    let sheet = book
        .worksheet_range("整改进展通报")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Vec<String>> = sheet.rows().map(cells).collect();
    assert_eq!(rows[0][0], "整改进展通报（截至 2026-06-01）");
    assert_eq!(rows[3], HEADINGS.map(String::from).to_vec());
    assert_eq!(
        rows[4],
        [
            "市教育局",
            "4",
            "1",
            "0.2500",
            "0.2500",
            "0",
            "0",
            "2",
            "2",
            "1",
            "2",
            "1"
        ]
        .map(String::from)
        .to_vec()
    );
    assert_eq!(
        rows[5],
        [
            "市财政局",
            "2",
            "1",
            "0.5000",
            "0.5000",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0"
        ]
        .map(String::from)
        .to_vec()
    );
    assert_eq!(
        rows[6],
        [
            "合计", "6", "2", "0.3333", "0.3333", "0", "0", "2", "2", "1", "2", "1"
        ]
        .map(String::from)
        .to_vec()
    );
    // The chart is a part of the workbook; its series reads the rates and
    // the names of the two organizations.
    let chart = chart_part(&o.path("2026-06.xlsx"));
    assert!(chart.contains("<c:barChart>"), "{chart}");
    assert!(chart.contains("整改进展通报!$A$5:$A$6"), "{chart}");
    assert!(chart.contains("整改进展通报!$D$5:$D$6"), "{chart}");
}

#[test]
fn a_period_later_the_change_shows() {
    let o = Office::fixture();
    // p1 rectified on 06-10.
    o.write(
        "u/problems.csv",
        "id,status,rectified_on\np1,已整改,2026-06-10\n",
    );
    o.cmd().args(["import", "u"]).assert().success();
    o.cmd()
        .args(["report", "--as-of", "2026-07-01", "--to", "r.xlsx"])
        .assert()
        .success();
    let mut book: Xlsx<_> = open_workbook(o.path("r.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    let sheet = book
        .worksheet_range("整改进展通报")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Vec<String>> = sheet.rows().map(cells).collect();
    // 市教育局: 2 of 4 rectified (25% → 50%, +25 points, 1 in the period),
    // p2 overdue. 市财政局: 50% as before; p5, due 07-01, is not yet past
    // its deadline. Equal rates: more overdue first.
    assert_eq!(
        rows[4][..8],
        ["市教育局", "4", "2", "0.5000", "0.2500", "25", "1", "1"].map(String::from)
    );
    assert_eq!(
        rows[5][..8],
        ["市财政局", "2", "1", "0.5000", "0.5000", "0", "0", "0"].map(String::from)
    );
}

#[test]
fn the_page_has_the_table_an_svg_chart_and_escaped_names() {
    let o = Office::fixture();
    o.write(
        "u/organizations.csv",
        "id,name\no2,<script>alert(1)</script>财政局\n",
    );
    o.cmd().args(["import", "u"]).assert().success();
    o.cmd()
        .args([
            "report",
            "--as-of",
            "2026-06-01",
            "--period",
            "quarter",
            "--to",
            "r.html",
        ])
        .assert()
        .success()
        .stdout(contains("compared with 2026-03-01"));
    let page = std::fs::read_to_string(o.path("r.html")).unwrap_or_else(|e| panic!("{e}"));
    for h in HEADINGS {
        assert!(page.contains(&format!("<th>{h}</th>")), "{h}");
    }
    assert!(page.contains("<td class=\"num\">25.0%</td>"), "{page}");
    assert!(page.contains("<tfoot>") && page.contains("合计"));
    let svg = &page[page.find("<svg").unwrap_or_else(|| panic!("no svg"))..];
    assert!(svg.contains("市教育局"));
    assert!(svg.contains("各单位整改率"));
    // Ledger text is text, in the table and in the chart.
    assert!(!page.contains("<script"), "{page}");
    assert_eq!(page.matches("&lt;script&gt;alert(1)").count(), 2, "{page}");
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;财政局"));
}

#[test]
fn the_report_names_what_it_cannot_write() {
    let o = Office::fixture();
    o.cmd()
        .args(["report", "--to", "r.pdf"])
        .assert()
        .code(2)
        .stderr(contains("a workbook (.xlsx) or a page (.html)"));
}

/// The report of the demo office (SPEC §10): one row per organization with
/// problems, lowest rate first, the rows adding up to the totals and the
/// totals to the ledgers; the chart reads every row; the page has the same
/// rows.
#[test]
fn the_demo_office_report_adds_up() {
    let day = "2026-11-22";
    let o = Office::demo(1, day);
    for to in ["r.xlsx", "r.html"] {
        o.cmd()
            .args(["report", "--as-of", day, "--to", to])
            .assert()
            .success();
    }
    // What the ledgers say, counted here: a problem counts from when it was
    // found (else its inspection's feedback).
    let found = format!(
        "FROM problems p JOIN inspections i ON i.id = p.inspection_id
         WHERE coalesce(p.found_on, i.feedback_on, '0001-01-01') <= '{day}'"
    );
    let orgs = o.count(&format!("SELECT count(DISTINCT i.organization_id) {found}"));
    let problems = o.count(&format!("SELECT count(*) {found}"));
    let rectified = o.count(&format!(
        "SELECT count(*) {found} AND p.status = 'rectified' AND coalesce(p.rectified_on, '0001-01-01') <= '{day}'"
    ));
    assert!(
        orgs > 5 && problems > 0 && rectified > 0,
        "{orgs} {problems} {rectified}"
    );

    let mut book: Xlsx<_> = open_workbook(o.path("r.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    let sheet = book
        .worksheet_range("整改进展通报")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Vec<String>> = sheet.rows().map(cells).collect();
    let n = usize::try_from(orgs).unwrap_or(0);
    let body = &rows[4..4 + n];
    let total = &rows[4 + n];
    assert_eq!(total[0], "合计");
    let number = |c: &String| c.parse::<f64>().unwrap_or(f64::NAN);
    let column_sum = |k: usize| body.iter().map(|r| number(&r[k])).sum::<f64>();
    assert_eq!(number(&total[1]), problems as f64);
    assert_eq!(number(&total[2]), rectified as f64);
    assert_eq!(column_sum(1), problems as f64);
    assert_eq!(column_sum(2), rectified as f64);
    assert_eq!(column_sum(7), number(&total[7]), "overdue");
    let rates: Vec<f64> = body.iter().map(|r| number(&r[3])).collect();
    assert!(rates.windows(2).all(|w| w[0] <= w[1]), "{rates:?}");

    // The chart reads every organization's name and rate.
    let chart = chart_part(&o.path("r.xlsx"));
    let last = 4 + n;
    assert!(
        chart.contains(&format!("整改进展通报!$A$5:$A${last}")),
        "{chart}"
    );
    assert!(
        chart.contains(&format!("整改进展通报!$D$5:$D${last}")),
        "{chart}"
    );

    // The page: the same organizations, in the same order.
    let page = std::fs::read_to_string(o.path("r.html")).unwrap_or_else(|e| panic!("{e}"));
    let tbody = page
        .split("<tbody>")
        .nth(1)
        .and_then(|t| t.split("</tbody>").next())
        .unwrap_or_default();
    assert_eq!(tbody.matches("<tr>").count(), n);
    let mut at = 0;
    for r in body {
        let cell = format!(">{}</td>", r[0]);
        let found_at = tbody[at..]
            .find(&cell)
            .unwrap_or_else(|| panic!("{} not in order in the page", r[0]));
        at += found_at + cell.len();
    }
}

#[test]
fn a_month_end_report_compares_with_the_earlier_months_end() {
    let o = Office::fixture();
    for (as_of, period, previous) in [
        ("2026-11-30", "month", "2026-10-31"),
        ("2026-03-31", "month", "2026-02-28"),
        ("2026-02-28", "month", "2026-01-31"),
        ("2026-06-30", "quarter", "2026-03-31"),
        ("2026-09-30", "quarter", "2026-06-30"),
        // Not a month's end: the same day.
        ("2026-11-29", "month", "2026-10-29"),
        ("2026-03-30", "month", "2026-02-28"),
    ] {
        o.cmd()
            .args([
                "report", "--as-of", as_of, "--period", period, "--to", "r.xlsx",
            ])
            .assert()
            .success()
            .stdout(contains(format!("compared with {previous};")));
        let mut book: Xlsx<_> = open_workbook(o.path("r.xlsx")).unwrap_or_else(|e| panic!("{e}"));
        let sheet = book
            .worksheet_range("整改进展通报")
            .unwrap_or_else(|e| panic!("{e}"));
        let top: String = sheet.rows().take(3).flat_map(cells).collect();
        assert!(top.contains(previous), "{as_of} {period}: {top}");
    }
}
