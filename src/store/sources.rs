//! Where imported rows come from: CSV files (UTF-8 with or without BOM, or
//! GBK/GB18030, detected), Excel workbooks (a sheet per table), and the
//! fixture tables of policy test files. Each becomes a [`TableInput`]: a
//! header and a stream of rows with their line numbers, read lazily so a
//! large file never sits in memory whole (Excel's format cannot stream;
//! its sheets are read one at a time).

use crate::error::{Error, Result};
use crate::schema::Entity;
use chrono::NaiveDate;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A cell as the source gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Cell {
    #[default]
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
}

impl Cell {
    /// The cell as text, as it would read in a CSV (whole numbers without
    /// a decimal point).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Date(d) => d.to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }

    /// `display`, without copying a text cell.
    pub fn into_text(self) -> String {
        match self {
            Cell::Text(s) => s,
            other => other.display(),
        }
    }
}

pub struct Row {
    /// The line (CSV) or row (Excel) number users see in their editor.
    pub line: usize,
    pub cells: Vec<Cell>,
}

/// A problem with one row that is not about one field (a CSV quoting error,
/// undecodable bytes).
pub struct RowError {
    pub line: usize,
    pub message: String,
}

pub type Rows<'a> = Box<dyn Iterator<Item = std::result::Result<Row, RowError>> + 'a>;

/// One table's worth of input.
pub struct TableInput<'a> {
    pub entity: Entity,
    /// `problems.csv`, or `台账.xlsx[问题]` for a sheet.
    pub origin: String,
    pub header: Vec<String>,
    pub rows: Rows<'a>,
    /// Bytes read so far, of `total_bytes` (for a progress bar).
    pub progress: Arc<AtomicU64>,
    pub total_bytes: u64,
}

/// A file named on the command line, and the table(s) it holds.
#[derive(Debug, Clone)]
pub enum InputFile {
    Csv(PathBuf, Entity),
    Xlsx(PathBuf),
}

/// The entity a file or sheet name stands for: `problems`, `problem`, `问题`.
pub fn entity_for_name(stem: &str) -> Option<Entity> {
    Entity::lookup(stem.trim())
}

/// The tables, as a message lists them.
pub const TABLE_NAMES: &str = "organizations, persons, rounds, inspections, problems or tasks (or 组织, 人员, 轮次, 巡察, 问题, 任务)";

/// The entity a table name stands for or, when none does, a hint at the
/// closest name (` (did you mean `problems`?)`, or empty).
pub fn table_named(name: &str) -> std::result::Result<Entity, String> {
    entity_for_name(name).ok_or_else(|| {
        let names = crate::schema::ENTITIES
            .iter()
            .flat_map(|d| [d.table, d.name, d.zh]);
        crate::lang::diagnostics::did_you_mean(name, names)
            .map(|h| format!(" ({h})"))
            .unwrap_or_default()
    })
}

/// Expands folders and recognises files by their names.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<InputFile>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| {
                    Error::invalid(format!("cannot read the folder {}: {e}", p.display()))
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file())
                .collect();
            entries.sort();
            let mut found = 0;
            for f in entries {
                match classify(&f) {
                    Some(Ok(input)) => {
                        out.push(input);
                        found += 1;
                    }
                    Some(Err(e)) => return Err(e),
                    None => {}
                }
            }
            if found == 0 {
                return Err(Error::invalid(format!(
                    "{}: no ledger files here; name them after their tables: organizations, persons, rounds, inspections, problems, tasks (.csv or .xlsx)",
                    p.display()
                )));
            }
        } else if p.is_file() {
            match classify(p) {
                Some(r) => out.push(r?),
                None => {
                    return Err(Error::invalid(format!(
                        "{}: duban imports .csv and .xlsx files",
                        p.display()
                    )));
                }
            }
        } else {
            return Err(Error::invalid(format!(
                "{}: no such file or folder",
                p.display()
            )));
        }
    }
    Ok(out)
}

/// `None` for files that are not ledgers at all (by extension).
fn classify(f: &Path) -> Option<Result<InputFile>> {
    let ext = f.extension()?.to_str()?.to_ascii_lowercase();
    let stem = f.file_stem()?.to_str()?.to_string();
    match ext.as_str() {
        "csv" => Some(match table_named(&stem) {
            Ok(e) => Ok(InputFile::Csv(f.to_path_buf(), e)),
            Err(hint) => Err(Error::invalid(format!(
                "{}: cannot tell which table this is{hint}; name the file after its table: {TABLE_NAMES}",
                f.display()
            ))),
        }),
        "xlsx" | "xlsm" | "xls" => Some(Ok(InputFile::Xlsx(f.to_path_buf()))),
        _ => None,
    }
}

/// A reader that counts the bytes it has read.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a CSV ledger: detects the encoding from its first 64 KiB,
/// decodes as it streams.
pub fn csv_table(path: &Path, entity: Entity) -> Result<TableInput<'static>> {
    let origin = file_name(path);
    let mut file = File::open(path).map_err(|e| Error::invalid(format!("{origin}: {e}")))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut sample = vec![0u8; 64 * 1024];
    let n = read_up_to(&mut file, &mut sample)?;
    sample.truncate(n);
    let encoding = crate::text::sniff(&sample);
    let is_gbk = encoding != encoding_rs::UTF_8;
    let bom = if !is_gbk && sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    file.seek(SeekFrom::Start(bom))?;
    let progress = Arc::new(AtomicU64::new(bom));
    let counted = Counting {
        inner: BufReader::with_capacity(256 * 1024, file),
        count: progress.clone(),
    };
    // UTF-8 is read as it is, so that a bad byte is an error with its line
    // (the CSV reader checks); GBK is decoded as it streams, and a byte it
    // cannot decode shows as U+FFFD, caught below.
    let input: Box<dyn Read> = if is_gbk {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .build(counted),
        )
    } else {
        Box::new(counted)
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h
            .iter()
            .map(|c| c.trim().trim_start_matches('\u{feff}').to_string())
            .collect(),
        Err(e) => {
            return Err(Error::invalid(format!(
                "{origin}:1: {}",
                csv_error(&e, is_gbk)
            )));
        }
    };
    let rows = reader.into_records().map(move |rec| match rec {
        Ok(r) => {
            let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
            if is_gbk && r.iter().any(|c| c.contains('\u{fffd}')) {
                return Err(RowError {
                    line,
                    message: "bytes that are neither UTF-8 nor GBK; save the file as UTF-8 (CSV UTF-8 in Excel)".into(),
                });
            }
            Ok(Row {
                line,
                cells: r
                    .iter()
                    .map(|c| {
                        let t = c.trim();
                        if t.is_empty() { Cell::Empty } else { Cell::Text(t.to_string()) }
                    })
                    .collect(),
            })
        }
        Err(e) => Err(RowError {
            line: e.position().map(|p| p.line() as usize).unwrap_or(0),
            message: csv_error(&e, is_gbk),
        }),
    });
    Ok(TableInput {
        entity,
        origin,
        header,
        rows: Box::new(rows),
        progress,
        total_bytes,
    })
}

fn csv_error(e: &csv::Error, is_gbk: bool) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } if !is_gbk => {
            "not valid UTF-8 (the file looked like UTF-8 at its start); save it as UTF-8 or GBK throughout".into()
        }
        csv::ErrorKind::Utf8 { .. } => "bytes that cannot be decoded".into(),
        _ => e.to_string(),
    }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = f.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A header with more columns than this is no ledger (no table has a
/// tenth as many fields): refused whole.
pub const MAX_COLUMNS: usize = 256;
/// Cells of one sheet, counted over its rows and columns as a table.
pub const MAX_CELLS: usize = 5_000_000;
/// The shared strings of a workbook (read whole by the reader), unpacked.
pub const MAX_SHARED_STRINGS: u64 = 128 << 20;

/// Refuses a workbook whose parts are beyond what a ledger needs, before
/// anything is unpacked: its size says so in the zip directory.
fn check_parts(path: &Path, name: &str) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::invalid(format!("{name}: {e}")))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| Error::invalid(format!("{name}: not a workbook (.xlsx): {e}")))?;
    for i in 0..zip.len() {
        let part = zip
            .by_index_raw(i)
            .map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        let shared = part
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"));
        if shared && part.size() > MAX_SHARED_STRINGS {
            return Err(Error::invalid(format!(
                "{name}: its text cells hold {} MB unpacked; duban reads workbooks up to {} MB of text — split the workbook, or save its sheets as CSV",
                part.size() >> 20,
                MAX_SHARED_STRINGS >> 20
            )));
        }
    }
    Ok(())
}

/// A sheet read cell by cell as rows, within [`MAX_COLUMNS`] and
/// [`MAX_CELLS`]: the first row is the header.
fn sheet_rows(
    wb: &mut calamine::Xlsx<std::io::BufReader<File>>,
    sheet: &str,
    origin: &str,
) -> Result<(u32, Vec<Vec<Cell>>)> {
    let bad = |e: calamine::XlsxError| Error::invalid(format!("{origin}: {e}"));
    let mut reader = wb.worksheet_cells_reader(sheet).map_err(bad)?;
    let mut cells: Vec<(u32, u32, Cell)> = Vec::new();
    let (mut top, mut left, mut bottom, mut right) = (u32::MAX, u32::MAX, 0u32, 0u32);
    while let Some(c) = reader.next_cell().map_err(bad)? {
        let (row, col) = c.get_position();
        let value = cell_of(&calamine::Data::from(c.get_value().clone()));
        if value == Cell::Empty {
            continue;
        }
        if col as usize >= MAX_COLUMNS {
            return Err(Error::invalid(format!(
                "{origin}:{}: a value in column {}; a ledger has at most {MAX_COLUMNS} columns — is this the right sheet?",
                row + 1,
                col + 1
            )));
        }
        if cells.len() >= MAX_CELLS {
            return Err(too_many_cells(origin));
        }
        top = top.min(row);
        left = left.min(col);
        bottom = bottom.max(row);
        right = right.max(col);
        cells.push((row, col, value));
    }
    drop(reader);
    if cells.is_empty() {
        return Ok((0, Vec::new()));
    }
    let (height, width) = ((bottom - top) as usize + 1, (right - left) as usize + 1);
    if height.saturating_mul(width) > MAX_CELLS {
        return Err(Error::invalid(format!(
            "{origin}: the sheet spans rows {} to {} and {width} columns, more than the {MAX_CELLS} cells duban reads from one sheet; split it, or save it as CSV",
            top + 1,
            bottom + 1
        )));
    }
    let mut rows = vec![vec![Cell::Empty; width]; height];
    for (row, col, value) in cells {
        rows[(row - top) as usize][(col - left) as usize] = value;
    }
    Ok((top, rows))
}

fn too_many_cells(origin: &str) -> Error {
    Error::invalid(format!(
        "{origin}: more than {MAX_CELLS} cells in one sheet; split it, or save it as CSV"
    ))
}

fn cell_of(d: &calamine::Data) -> Cell {
    use calamine::Data;
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            let t = s.trim();
            if t.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(t.to_string())
            }
        }
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => Cell::Date(t.date()),
            None => Cell::Number(dt.as_f64()),
        },
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}

/// The sheets of a workbook that name tables, each read as a table. Sheets
/// with other names are reported by the caller as skipped.
pub fn xlsx_tables(path: &Path) -> Result<(Vec<TableInput<'static>>, Vec<String>)> {
    use calamine::Reader;
    let name = file_name(path);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "xls" {
        return Err(Error::invalid(format!(
            "{name}: an Excel 97–2003 workbook (.xls); duban reads .xlsx — open it in Excel or WPS and save it as .xlsx (Excel 工作簿)"
        )));
    }
    check_parts(path, &name)?;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook(path).map_err(|e: calamine::XlsxError| {
            Error::invalid(format!("{name}: cannot open as a workbook: {e}"))
        })?;
    let stem_entity = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(entity_for_name);
    let sheets = wb.sheet_names();
    let mut tables = Vec::new();
    let mut skipped = Vec::new();
    for sheet in &sheets {
        // A one-sheet workbook named after its table needs no sheet name.
        let entity = entity_for_name(sheet).or(if sheets.len() == 1 { stem_entity } else { None });
        let Some(entity) = entity else {
            skipped.push(sheet.clone());
            continue;
        };
        let origin = format!("{name}[{sheet}]");
        let (first_row, rows) = sheet_rows(&mut wb, sheet, &origin)?;
        let mut rows = rows.into_iter();
        let header: Vec<String> = rows
            .next()
            .map(|r| r.iter().map(|c| c.display().trim().to_string()).collect())
            .unwrap_or_default();
        let data: Vec<Row> = rows
            .enumerate()
            .map(|(i, cells)| Row {
                // Excel numbers rows from 1; the header is the first.
                line: first_row as usize + i + 2,
                cells,
            })
            .collect();
        let progress = Arc::new(AtomicU64::new(0));
        tables.push(TableInput {
            entity,
            origin,
            header,
            total_bytes: data.len() as u64,
            rows: Box::new(counting_rows(data, progress.clone())),
            progress,
        });
    }
    Ok((tables, skipped))
}

/// Rows held in memory, advancing a row counter as they are taken.
pub fn counting_rows(
    rows: Vec<Row>,
    progress: Arc<AtomicU64>,
) -> impl Iterator<Item = std::result::Result<Row, RowError>> {
    rows.into_iter().map(move |r| {
        progress.fetch_add(1, Ordering::Relaxed);
        Ok(r)
    })
}
