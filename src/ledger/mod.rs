//! Ledgers going out (SPEC §10): the case tables exported in the import
//! format, to a workbook or a folder of CSV files, and the office's monthly
//! rectification progress report (整改进展通报) as a workbook with a native
//! chart or as a page with an SVG chart.
//!
//! The rows come from [`crate::store`]; this module only lays them out.

pub mod export;
pub mod report;
pub mod svg;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A file written beside its final name and renamed into place once whole,
/// so that a failed export never leaves half a workbook under the name.
struct Staged {
    temp: PathBuf,
    path: PathBuf,
}

impl Staged {
    fn new(path: &Path) -> Staged {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".part");
        Staged {
            temp: path.with_file_name(name),
            path: path.to_path_buf(),
        }
    }

    /// The temporary file, created for the office's user only.
    fn create(&self) -> Result<std::fs::File> {
        crate::private::create(&self.temp).map_err(|e| io_error(&self.path, e))
    }

    fn commit(self) -> Result<()> {
        let io = |e| io_error(&self.path, e);
        std::fs::File::open(&self.temp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&self.temp, &self.path).map_err(io)?;
        crate::private::sync_dir(&self.path).map_err(io)
    }
}

fn xlsx_error(path: &Path, e: rust_xlsxwriter::XlsxError) -> Error {
    Error::invalid(format!(
        "{}: cannot write the workbook: {e}",
        path.display()
    ))
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        what: format!("writing {}", path.display()),
        source: e,
    }
}

/// Excel's date for a day; `None` before 1900, which Excel cannot show.
fn excel_date(d: chrono::NaiveDate) -> Option<rust_xlsxwriter::ExcelDateTime> {
    use chrono::Datelike;
    let year = u16::try_from(d.year()).ok()?;
    rust_xlsxwriter::ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8).ok()
}
