//! `duban export`: tables in the import format, one sheet of a workbook or
//! one CSV file per table, so that a ledger goes to Excel and comes back.
//!
//! In a workbook dates are date cells (an office sorts and filters them),
//! ids and other text are text cells (leading zeros stay), and the
//! read-only columns are shaded. CSV files are UTF-8 with a BOM, which is
//! how Excel recognises Chinese text in them.

use super::{Staged, excel_date, io_error, xlsx_error};
use crate::error::{Error, Result};
use crate::schema::{self, Entity, FieldType};
use crate::store::Db;
use crate::store::Value;
use crate::store::export::{Column, columns, rows};
use chrono::NaiveDate;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The most data rows a worksheet holds (Excel's 1,048,576 less the header).
const SHEET_ROWS: u64 = 1_048_575;

/// Where an export goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// One workbook, a sheet per table.
    Workbook(PathBuf),
    /// A folder, a CSV file per table.
    Folder(PathBuf),
}

impl Target {
    /// `FILE.xlsx` is a workbook; a folder (existing, or a name without an
    /// extension) takes CSV files.
    pub fn of(path: &Path) -> Result<Target> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("xlsx") => Ok(Target::Workbook(path.into())),
            _ if path.is_dir() => Ok(Target::Folder(path.into())),
            None => Ok(Target::Folder(path.into())),
            Some(e) => Err(Error::usage(format!(
                "--to {}: duban exports to a workbook (.xlsx) or to a folder of CSV files, not to .{e}",
                path.display()
            ))),
        }
    }
}

pub struct Options {
    /// Chinese column labels and enum labels.
    pub labels: bool,
    /// The day the read-only day counts are computed for.
    pub today: NaiveDate,
}

/// A value as it goes into a cell.
enum Out {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

fn out(col: &Column, v: &Value, labels: bool) -> Out {
    let text = match v {
        Value::Null => return Out::Empty,
        Value::Integer(i) => return Out::Number(*i as f64),
        Value::Real(r) => return Out::Number(*r),
        Value::Text(t) => t.as_str(),
        Value::Date(d) => return Out::Date(*d),
        Value::Timestamp(t) => return Out::Text(crate::store::db::timestamp_text(t)),
        Value::Blob(_) => return Out::Empty,
    };
    match col.ty {
        FieldType::Date => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Out::Date(d),
            Err(_) => Out::Text(text.to_string()),
        },
        FieldType::Enum(e) if labels => Out::Text(e.label_of(text).unwrap_or(text).to_string()),
        FieldType::TaskKind if labels => Out::Text(
            schema::standard_task_kind(text)
                .map(|(_, label)| label)
                .unwrap_or(text)
                .to_string(),
        ),
        _ => Out::Text(text.to_string()),
    }
}

/// What an export wrote: rows per table.
pub type Written = Vec<(Entity, u64)>;

/// Writes the tables; `progress` hears of every 4,096 rows.
pub fn export(
    conn: &Db,
    tables: &[Entity],
    target: &Target,
    opts: &Options,
    progress: &mut dyn FnMut(Entity, u64),
) -> Result<Written> {
    match target {
        Target::Workbook(path) => workbook(conn, tables, path, opts, progress),
        Target::Folder(dir) => folder(conn, tables, dir, opts, progress),
    }
}

fn workbook(
    conn: &Db,
    tables: &[Entity],
    path: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(Entity, u64),
) -> Result<Written> {
    use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook};
    for &e in tables {
        let n = crate::store::export::count(conn, e)?;
        if n > SHEET_ROWS {
            return Err(Error::invalid(format!(
                "{} has {n} rows, more than a worksheet holds ({SHEET_ROWS}); export to a folder of CSV files instead (--to DIR)",
                e.table()
            )));
        }
    }
    let staged = Staged::new(path);
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let read_only = header.clone().set_background_color(Color::RGB(0xE7E6E6));
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut written = Vec::new();
    for &entity in tables {
        let cols = columns(entity);
        let sheet = book
            .add_worksheet_with_constant_memory()
            .map_err(|e| xlsx_error(path, e))?;
        let name = if opts.labels {
            entity.def().zh
        } else {
            entity.table()
        };
        sheet.set_name(name).map_err(|e| xlsx_error(path, e))?;
        for (c, col) in cols.iter().enumerate() {
            let c = c as u16;
            let fmt = if col.read_only { &read_only } else { &header };
            sheet
                .write_string_with_format(0, c, col.header(opts.labels), fmt)
                .map_err(|e| xlsx_error(path, e))?;
            let width = if matches!(col.ty, FieldType::Date) {
                12
            } else {
                16
            };
            sheet
                .set_column_width(c, width)
                .map_err(|e| xlsx_error(path, e))?;
        }
        sheet
            .set_freeze_panes(1, 0)
            .map_err(|e| xlsx_error(path, e))?;
        let mut row = 0u32;
        let n = rows(conn, entity, opts.today, &mut |values| {
            row += 1;
            for (c, (col, v)) in cols.iter().zip(values).enumerate() {
                let c = c as u16;
                let written = match out(col, v, opts.labels) {
                    Out::Empty => continue,
                    Out::Text(t) => sheet.write_string(row, c, t),
                    Out::Number(n) => sheet.write_number(row, c, n),
                    Out::Date(d) => match excel_date(d) {
                        Some(x) => sheet.write_datetime_with_format(row, c, x, &date),
                        None => sheet.write_string(row, c, d.to_string()),
                    },
                };
                written.map_err(|e| xlsx_error(path, e))?;
            }
            if row.is_multiple_of(4096) {
                progress(entity, row as u64);
            }
            Ok(())
        })?;
        if n > 0 {
            sheet
                .autofilter(0, 0, row, cols.len().saturating_sub(1) as u16)
                .map_err(|e| xlsx_error(path, e))?;
        }
        progress(entity, n);
        written.push((entity, n));
    }
    staged.create()?;
    book.save(&staged.temp).map_err(|e| xlsx_error(path, e))?;
    staged.commit()?;
    Ok(written)
}

fn folder(
    conn: &Db,
    tables: &[Entity],
    dir: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(Entity, u64),
) -> Result<Written> {
    crate::private::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut written = Vec::new();
    for &entity in tables {
        let cols = columns(entity);
        let stem = if opts.labels {
            entity.def().zh
        } else {
            entity.table()
        };
        let path = dir.join(format!("{stem}.csv"));
        let staged = Staged::new(&path);
        let file = staged.create()?;
        let mut file = std::io::BufWriter::new(file);
        file.write_all("\u{feff}".as_bytes())
            .map_err(|e| io_error(&path, e))?;
        let mut w = csv::Writer::from_writer(file);
        let csv_error = |e: csv::Error| Error::invalid(format!("{}: {e}", path.display()));
        w.write_record(cols.iter().map(|c| c.header(opts.labels)))
            .map_err(csv_error)?;
        let mut record: Vec<String> = Vec::with_capacity(cols.len());
        let mut row = 0u64;
        let n =
            rows(conn, entity, opts.today, &mut |values| {
                record.clear();
                record.extend(cols.iter().zip(values).map(|(col, v)| {
                    match out(col, v, opts.labels) {
                        Out::Empty => String::new(),
                        Out::Text(t) => t,
                        Out::Number(n) => crate::store::sources::Cell::Number(n).display(),
                        Out::Date(d) => d.to_string(),
                    }
                }));
                w.write_record(&record).map_err(csv_error)?;
                row += 1;
                if row.is_multiple_of(4096) {
                    progress(entity, row);
                }
                Ok(())
            })?;
        w.flush().map_err(|e| io_error(&path, e))?;
        drop(w);
        staged.commit()?;
        progress(entity, n);
        written.push((entity, n));
    }
    Ok(written)
}
