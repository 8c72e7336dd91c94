//! A table as the workbook an official downloads from a page: a title
//! row, bold headings, dates as date cells, numbers as numbers, text as
//! text (ids keep their leading zeros), the heading row frozen.

use crate::error::{Error, Result};
use chrono::NaiveDate;

/// A cell of a downloaded table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

impl Cell {
    /// Text, or an empty cell for none.
    pub fn text(t: Option<impl Into<String>>) -> Cell {
        t.map(|t| Cell::Text(t.into())).unwrap_or(Cell::Empty)
    }

    /// A stored date (`2026-12-08`) as a date cell; other text as text.
    pub fn date(t: Option<&str>) -> Cell {
        match t {
            None => Cell::Empty,
            Some(t) => NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
                .map(Cell::Date)
                .unwrap_or_else(|_| Cell::Text(t.to_string())),
        }
    }
}

fn failed(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::invalid(format!("cannot write the workbook: {e}"))
}

/// The bytes of an .xlsx workbook of one sheet named `sheet`: `title` in
/// its first row, then `headings`, then `rows`.
pub fn workbook(
    sheet: &str,
    title: &str,
    headings: &[String],
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook};
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(failed)?;
    let bold = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_string_with_format(0, 0, title, &bold)
        .map_err(failed)?;
    for (c, h) in headings.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, h, &head)
            .map_err(failed)?;
        ws.set_column_width(c as u16, 14).map_err(failed)?;
    }
    for (i, cells) in rows.iter().enumerate() {
        let r = 2 + i as u32;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Empty => continue,
                Cell::Text(t) => ws.write_string(r, c, t),
                Cell::Number(n) => ws.write_number(r, c, *n),
                Cell::Date(d) => {
                    let at = ExcelDateTime::from_ymd(
                        chrono::Datelike::year(d) as u16,
                        chrono::Datelike::month(d) as u8,
                        chrono::Datelike::day(d) as u8,
                    )
                    .map_err(failed)?;
                    ws.write_datetime_with_format(r, c, at, &date)
                }
            }
            .map_err(failed)?;
        }
    }
    ws.set_freeze_panes(2, 0).map_err(failed)?;
    book.save_to_buffer().map_err(failed)
}
