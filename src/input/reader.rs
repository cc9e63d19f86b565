//! Streaming typed rows out of a file, for `apply`'s pass after validation.
//!
//! [`open`] reads the header and refuses a file whose header has any problem;
//! [`RowReader`] then yields one [`Row`] per record, or that record's problems. It
//! applies exactly the checks of [`super::validate_path`] (same code), duplicates
//! included, so a file changed between the two passes is still caught row by row.
//! Memory: the buffers of one record plus the set of ids seen.

use std::fs::File;
use std::path::Path;

use super::cell::Parsed;
use super::delimiter;
use super::record::Records;
use super::schema::{HeaderScan, scan_header};
use super::validate::{RowChecker, RowKey};
use super::{Cell, FileFormat, Header, InputError, Problem, ReadOptions, Row, Value};

/// Streams validated rows of a file, in file order.
pub struct RowReader {
    records: Box<Records<File>>,
    checker: RowChecker,
    problems: Vec<Problem>,
    done: bool,
}

impl Iterator for RowReader {
    /// A valid row, or every problem of one invalid record. A read error mid-file
    /// comes as one problem without a column, and ends the iteration.
    type Item = Result<Row, Vec<Problem>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rec = match self.records.next() {
            Ok(Some(rec)) => rec,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(vec![Problem {
                    line: self.records.line(),
                    column: None,
                    message: format!("cannot read the file: {e}"),
                }]));
            }
        };
        let mut cells = vec![Cell::Keep; self.checker.width()];
        let key = self.checker.check(&rec, &mut self.problems, |i, parsed| {
            if let Some(cell) = cells.get_mut(i) {
                *cell = to_cell(parsed);
            }
        });
        let (id, key) = match key {
            Some(RowKey::Id(id)) => {
                let id = uuid::Uuid::from_u128(id).hyphenated().to_string();
                (id.clone(), id)
            }
            Some(RowKey::Text(key)) => (String::new(), key),
            None => (String::new(), String::new()),
        };
        match key.is_empty() {
            false if self.problems.is_empty() => Some(Ok(Row {
                line: rec.line,
                id,
                key,
                cells,
                raw: rec
                    .fields()
                    .take(self.checker.width())
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            })),
            _ => Some(Err(std::mem::take(&mut self.problems))),
        }
    }
}

fn to_cell(parsed: Parsed<'_>) -> Cell {
    match parsed {
        Parsed::Keep => Cell::Keep,
        Parsed::Clear => Cell::Clear,
        Parsed::Text(s) => Cell::Set(Value::Text(s.to_string())),
        Parsed::Phone(s) | Parsed::Escaped(s) => Cell::Set(Value::Text(s)),
        Parsed::Uuid(s) => Cell::Set(Value::Text(s.to_ascii_lowercase())),
        Parsed::Bool(b) => Cell::Set(Value::Bool(b)),
        Parsed::State(s) => Cell::Set(Value::State(s)),
        Parsed::Proficiency(p) => Cell::Set(Value::Proficiency(p)),
    }
}

/// Open a file and parse its header. Any header problem (or an empty file, or a file
/// that is not CSV text at all) is [`InputError::Header`] with every problem found.
/// A header without rows gives a reader that yields nothing.
pub fn open(path: &Path) -> Result<(Header, RowReader), InputError> {
    open_with_options(path, &ReadOptions::default())
}

/// [`open`], reading values as `options` say (`--default-country`): the rows carry
/// phone and SMS numbers in E.164.
pub fn open_with_options(
    path: &Path,
    options: &ReadOptions,
) -> Result<(Header, RowReader), InputError> {
    let (records, scan) = match start(path, options)? {
        Start::Header(records, scan) => (records, scan),
        Start::NotCsv(problem) => {
            return Err(InputError::Header {
                path: path.display().to_string(),
                problems: vec![problem],
            });
        }
    };
    let ignored = scan.ignored;
    let header = scan.into_header().map_err(|problems| InputError::Header {
        path: path.display().to_string(),
        problems,
    })?;
    let checker = RowChecker::new(
        header.names.clone(),
        header.columns.iter().cloned().map(Some).collect(),
        Some(header.id_index),
        ignored,
        options,
    );
    let reader = RowReader {
        records,
        checker,
        problems: Vec::new(),
        done: false,
    };
    Ok((header, reader))
}

/// How a file begins.
pub(crate) enum Start {
    /// The header record, scanned; the records continue with the first row.
    /// (Boxed: the parser's tables make `Records` large.)
    Header(Box<Records<File>>, HeaderScan),
    /// An empty file, or one that is not CSV text (UTF-16, a workbook): one problem.
    NotCsv(Problem),
}

/// Open `path`, settle its delimiter (`--delimiter`, else guessed from the header
/// line) and read its header record. Only failing to open or read the file is an
/// error. After the header, rows of delimiters only are skipped and counted.
pub(crate) fn start(path: &Path, options: &ReadOptions) -> Result<Start, InputError> {
    let io = |source| InputError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut records = Records::new(File::open(path).map_err(io)?);
    let not_csv = |message: &str| {
        Start::NotCsv(Problem {
            line: 1,
            column: None,
            message: message.to_string(),
        })
    };
    if let Some(why) = records.sniff().map_err(io)? {
        return Ok(not_csv(why));
    }
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => delimiter::sniff(delimiter::first_line(records.head().map_err(io)?)).delimiter,
    };
    records.set_delimiter(delimiter.byte());
    let mut scan = match records.next().map_err(io)? {
        Some(rec) => {
            let mut scan = scan_header(&rec, options.key);
            if !scan.problems.is_empty()
                && let [name] = &scan.names[..]
                && let Some(hint) =
                    delimiter::one_column_hint(name, delimiter, options.delimiter.is_some())
            {
                scan.problems.push(Problem {
                    line: scan.line,
                    column: None,
                    message: hint,
                });
            }
            scan
        }
        None => {
            return Ok(not_csv(
                "the file is empty: it needs a header row (such as id,name,email) and a row per user",
            ));
        }
    };
    scan.format = FileFormat {
        delimiter,
        bom: records.had_bom(),
    };
    records.skip_delimiter_rows();
    Ok(Start::Header(Box::new(records), scan))
}
