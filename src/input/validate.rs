//! Whole-file validation and the `genupdate validate` command.
//!
//! One streaming pass: the header, then each record checked as it is read, every
//! problem reported (none stops the pass). Per row, only the id is kept, in
//! [`IdSet`]. The same [`RowChecker`] serves [`super::RowReader`], so validation and
//! the later streaming pass of `apply` can never disagree.
//!
//! Decisions the issue left open:
//! - A record whose cell count differs from the header is reported once, without
//!   checking its cells: they are probably shifted by a missing or extra comma, and
//!   judging them by the wrong column would only add noise. Too few cells names the
//!   first missing column; too many names no column.
//! - A row with an id and nothing else is valid: every cell keeps its value, and
//!   `apply` reports the row unchanged. No warning.
//! - There is no cap on the problems printed: text output streams them to stderr as
//!   they are found (constant memory), and the summary counts them all. JSON output
//!   holds them to print one object; [`validate_path`] returns them all.

use std::io::Write as _;
use std::path::Path;

use super::cell::{Parsed, check_cell_with, check_id_with};
use super::ids::IdSet;
use super::quotes::StrayKind;
use super::reader::{Start, start};
use super::record::{MAX_FIELDS, MAX_RECORD_BYTES, Record};
use super::text::{invalid_utf8, quote};
use super::{Column, InputError, Key, Problem, ReadOptions};
use super::{Family, ListOp};
use crate::exit::Exit;
use crate::phone::Country;
use crate::routing::NameCheck;
use crate::settings::{Output, ValidateSettings};

/// The outcome of validating a whole file.
#[derive(Debug, Default)]
pub struct ValidationSummary {
    /// Data records read (the header not counted), valid or not.
    pub rows: u64,
    /// Every problem, in file order (header first, then by line and column).
    pub problems: Vec<Problem>,
}

impl ValidationSummary {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Validate a whole file, streaming, and collect every problem. Only failing to open
/// or read the file is an error; a header with problems is reported as problems (and
/// the rows are still checked against the columns that were recognised).
pub fn validate_path(path: &Path) -> Result<ValidationSummary, InputError> {
    validate_path_options(path, &ReadOptions::default())
}

/// [`validate_path`], reading values as `options` say (`--default-country`).
pub fn validate_path_options(
    path: &Path,
    options: &ReadOptions,
) -> Result<ValidationSummary, InputError> {
    let mut problems = Vec::new();
    let rows = validate_path_with_options(path, options, |p| problems.push(p))?;
    Ok(ValidationSummary { rows, problems })
}

/// Like [`validate_path`], but hands each problem to `on_problem` as soon as it is
/// found, so memory stays flat however many there are. Returns the row count.
pub fn validate_path_with(path: &Path, on_problem: impl FnMut(Problem)) -> Result<u64, InputError> {
    validate_path_with_options(path, &ReadOptions::default(), on_problem)
}

/// [`validate_path_with`], reading values as `options` say (`--default-country`).
pub fn validate_path_with_options(
    path: &Path,
    options: &ReadOptions,
    mut on_problem: impl FnMut(Problem),
) -> Result<u64, InputError> {
    let (mut records, mut scan) = match start(path, options)? {
        Start::Header(records, scan) => (records, scan),
        Start::NotCsv(problem) => {
            on_problem(problem);
            return Ok(0);
        }
    };
    scan.problems.drain(..).for_each(&mut on_problem);
    let header_line = scan.line;
    // An oversized header has no columns: every row would be "ragged", which is noise.
    let judge_rows = !scan.columns.is_empty();
    let key_index = scan.id_index;
    let mut checker = RowChecker::new(scan.names, scan.columns, key_index, scan.ignored, options);
    let mut problems = Vec::new();
    let mut rows = 0u64;
    loop {
        let rec = records.next().map_err(|source| InputError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let Some(rec) = rec else { break };
        rows += 1;
        if judge_rows {
            checker.check(&rec, &mut problems, |_, _| {});
        }
        problems.drain(..).for_each(&mut on_problem);
    }
    // One line however many, through the log so `--log-format json` stays JSON.
    if let Some(warning) = records
        .delimiter_rows()
        .warning(&path.display().to_string())
    {
        tracing::warn!("{warning}");
    }
    if rows == 0 {
        on_problem(Problem {
            line: header_line,
            column: None,
            message: "the file has a header but no rows".into(),
        });
    }
    Ok(rows)
}

/// The first rule a row's list cells break together: a replace column beside an
/// add or remove column of the same family (which would win is not obvious), or one
/// name both added and removed.
pub(crate) fn list_conflict(
    lists: &[(usize, Family, ListOp, Vec<String>)],
    names: &[String],
) -> Option<(usize, String)> {
    for (i, family, _, names_given) in lists {
        if *family == Family::Division && names_given.len() != 1 {
            return Some((
                *i,
                format!(
                    "{} names {} divisions: a user is in exactly one division; write one name",
                    names[*i],
                    names_given.len()
                ),
            ));
        }
    }
    for (i, family, op, added) in lists {
        for (j, other, other_op, removed) in lists {
            if family != other || i == j {
                continue;
            }
            if *op == ListOp::Replace {
                return Some((
                    *j,
                    format!(
                        "{} and {} are both set on this line: use the replace column {} \
                         alone (exactly these), or {}:add / {}:remove (changes), not both",
                        names[*i],
                        names[*j],
                        names[*i],
                        family.header(),
                        family.header()
                    ),
                ));
            }
            if super::lists::adds(*op)
                && *other_op == ListOp::Remove
                && let Some(both) = added.iter().find(|n| removed.contains(n))
            {
                return Some((
                    *j,
                    format!(
                        "\"{both}\" is in both {} and {} on this line: keep it in one",
                        names[*i], names[*j]
                    ),
                ));
            }
        }
    }
    None
}

/// Checks data records against the header's columns.
pub(crate) struct RowChecker {
    names: Vec<String>,
    /// `None` for header cells that are not usable columns: their cells are skipped.
    columns: Vec<Option<Column>>,
    id_index: Option<usize>,
    /// Empty header cells after the last column: a row may have cells there, empty.
    ignored: usize,
    ids: IdSet,
    /// `--default-country`, for phone and SMS numbers without a leading `+`.
    default_country: Option<Country>,
    /// `--key`: which column `id_index` is.
    key: Key,
}

/// What names a row's user: a user id, or a normalised email, username or employee id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RowKey {
    Id(u128),
    Text(String),
}

impl RowChecker {
    pub fn new(
        names: Vec<String>,
        columns: Vec<Option<Column>>,
        id_index: Option<usize>,
        ignored: usize,
        options: &ReadOptions,
    ) -> Self {
        RowChecker {
            names,
            columns,
            id_index,
            ignored,
            ids: IdSet::new(),
            default_country: options.default_country,
            key: options.key,
        }
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Check one record: push its problems, call `visit` with each good non-id cell,
    /// and return its id when the id itself is good and not a duplicate. Allocates
    /// only for problems.
    pub fn check<'r>(
        &mut self,
        rec: &Record<'r>,
        problems: &mut Vec<Problem>,
        mut visit: impl FnMut(usize, Parsed<'r>),
    ) -> Option<RowKey> {
        let line = rec.line;
        if rec.oversized {
            problems.push(oversized(rec));
            return None;
        }
        // A cell with a stray quote does not say what it seems to: reported, not judged.
        let stray = rec.stray_quote.map(|q| q.field);
        if let Some(q) = rec.stray_quote {
            let (column, name) = match self.names.get(q.field) {
                Some(name) => (Some(name.clone()), name.clone()),
                None => (None, format!("cell {}", q.field + 1)),
            };
            let message = format!("{name} {}", q.message());
            problems.push(Problem {
                line,
                column,
                message,
            });
            if q.kind == StrayKind::Unclosed {
                // The rest of the file is in that cell: nothing else here means anything.
                return None;
            }
        }
        let width = self.columns.len();
        if rec.len() < width || rec.len() > width + self.ignored {
            problems.push(self.ragged(rec));
            return None;
        }
        // Cells under the trailing empty header cells must be empty too.
        for i in width..rec.len() {
            let cell = rec.field(i);
            if !cell.is_empty() {
                problems.push(Problem {
                    line,
                    column: None,
                    message: format!(
                        "cell {} holds {} but its header cell is empty: name the column in \
                         the header, or empty the cell",
                        i + 1,
                        quote(&String::from_utf8_lossy(cell))
                    ),
                });
            }
        }
        // One UTF-8 check per record; per cell only when that fails.
        let whole = std::str::from_utf8(rec.bytes).ok();
        // Printable ASCII throughout: no cell needs the invisible-character scan.
        let scan = !printable_ascii(rec.bytes);
        let mut id = None;
        // The row's non-empty list cells, for the rules across them.
        let mut lists: Vec<(usize, Family, ListOp, Vec<String>)> = Vec::new();
        for i in 0..width {
            let problem = |message: String| Problem {
                line,
                column: Some(self.names[i].clone()),
                message,
            };
            // Cells of unusable columns are not read: the header problem covers them.
            let Some(column) = &self.columns[i] else {
                continue;
            };
            if stray == Some(i) {
                continue;
            }
            let text = match whole.and_then(|w| w.get(rec.range(i))) {
                Some(text) => text,
                None => match std::str::from_utf8(rec.field(i)) {
                    Ok(text) => text,
                    Err(e) => {
                        let name = &self.names[i];
                        problems.push(problem(format!(
                            "{name} {}",
                            invalid_utf8(rec.field(i), &e)
                        )));
                        continue;
                    }
                },
            };
            if *column == Column::Id {
                match check_id_with(text, scan) {
                    Ok(v) if Some(i) == self.id_index => match self.ids.insert(v, line) {
                        None => id = Some(RowKey::Id(v)),
                        Some(first) => problems.push(problem(format!(
                            "duplicate id {}: it is already on line {first}; \
                             each user may appear on one row only",
                            uuid::Uuid::from_u128(v).hyphenated()
                        ))),
                    },
                    Ok(_) => {}
                    Err(message) => problems.push(problem(message)),
                }
                continue;
            }
            if self.key != Key::Id && Some(i) == self.id_index {
                // The key column: never written, so it needs a value on every row.
                match check_cell_with(column, &self.names[i], text, scan, self.default_country) {
                    Ok(Parsed::Text(v)) => id = Some(RowKey::Text(self.key.normalise(v))),
                    Ok(Parsed::Escaped(v)) => id = Some(RowKey::Text(self.key.normalise(&v))),
                    Ok(_) => problems.push(problem(format!(
                        "{} is the key column (--key {}): each row needs the user's {}, \
                         and it cannot be cleared",
                        self.names[i],
                        self.key.flag(),
                        self.names[i]
                    ))),
                    Err(message) => problems.push(problem(message)),
                }
                continue;
            }
            match check_cell_with(column, &self.names[i], text, scan, self.default_country) {
                Ok(parsed) => {
                    if let Column::Member(family, op) = column {
                        let names = match &parsed {
                            Parsed::Text(v) => super::lists::parse(v).unwrap_or_default(),
                            Parsed::Escaped(v) => super::lists::parse(v).unwrap_or_default(),
                            _ => Vec::new(),
                        };
                        if parsed != Parsed::Keep {
                            lists.push((i, *family, *op, names));
                        }
                    }
                    visit(i, parsed)
                }
                Err(message) => problems.push(problem(message)),
            }
        }
        if let Some((i, message)) = list_conflict(&lists, &self.names) {
            problems.push(Problem {
                line,
                column: Some(self.names[i].clone()),
                message,
            });
        }
        id
    }

    fn ragged(&self, rec: &Record<'_>) -> Problem {
        let (found, expected) = (rec.len(), self.columns.len() + self.ignored);
        let mut message = format!("expected {expected} cells as in the header, found {found}");
        let column = if let Some(missing) = self.names.get(found) {
            message.push_str(&format!(": the row ends before column {}", quote(missing)));
            Some(missing.clone())
        } else {
            message.push_str(&format!(
                ": {} more than the header has (a value with the delimiter must be in double quotes)",
                found - expected
            ));
            None
        };
        if rec.bytes.contains(&b'\n') {
            message.push_str("; a cell spans several lines, so a quote may be unbalanced");
        }
        Problem {
            line: rec.line,
            column,
            message,
        }
    }
}

/// Whether every byte is in 0x20..=0x7E. Folds whole chunks without branching, which
/// the compiler vectorises: this runs over every byte of the file.
fn printable_ascii(bytes: &[u8]) -> bool {
    bytes.chunks(32).all(|chunk| {
        !chunk
            .iter()
            .fold(false, |bad, &b| bad | (b.wrapping_sub(0x20) >= 0x5F))
    })
}

/// A record too long to be a row; the header can be one too.
pub(crate) fn oversized(rec: &Record<'_>) -> Problem {
    Problem {
        line: rec.line,
        column: None,
        message: {
            let size = format!(
                "this record runs over {} MiB or {} cells",
                MAX_RECORD_BYTES >> 20,
                MAX_FIELDS
            );
            match rec.stray_quote {
                Some(q) if q.kind == StrayKind::Unclosed => format!(
                    "{size}: a quote is probably unbalanced: the double quote that opens cell \
                     {} is never closed, so the rest of the file was read as one cell",
                    q.field + 1
                ),
                Some(q) => format!(
                    "{size}: a quote is probably unbalanced (cell {} {}), so many lines were \
                     read as one cell",
                    q.field + 1,
                    q.message()
                ),
                None => format!("{size}, far more than a user row holds; shorten it"),
            }
        },
    }
}

/// `genupdate validate FILE`: print every problem on stderr as `FILE:LINE:COLUMN:
/// message`, then a one-line summary; exit 0 when valid, 3 when not, 2 when the file
/// cannot be read. With `--output json`, one JSON object on stdout instead and
/// nothing on stderr unless the file cannot be read. `quiet` drops the summary line.
///
/// After the offline pass, the header's skill and language names are looked up
/// when `--sandbox` or a region with credentials was given
/// ([`crate::routing::check_names`]); otherwise one log line says they were not
/// checked. An unknown name is one more problem (exit 3); a lookup that fails is
/// exit 4.
pub fn validate_command(settings: &ValidateSettings, quiet: bool) -> Exit {
    let file = settings.file.display().to_string();
    let options = settings.read;
    let args = settings;
    let names = || {
        let check = crate::routing::check_names(settings, &crate::apply::Env::from_process());
        if let NameCheck::NotChecked(why) = &check {
            tracing::warn!(
                "{file}: skill and language names not checked: {why}; run with --sandbox \
                 or credentials to check"
            );
        }
        check
    };
    match args.output {
        Output::Text => {
            let stderr = std::io::stderr();
            let mut err = std::io::BufWriter::new(stderr.lock());
            let mut count = 0u64;
            // A closed stderr must not stop validation or change the exit code.
            let result = validate_path_with_options(&args.file, &options, |p| {
                count += 1;
                let _ = writeln!(err, "{}", p.render(&file));
            });
            let _ = err.flush();
            let exit = match result {
                Err(e) => {
                    let _ = writeln!(err, "genupdate: {e}");
                    Exit::Usage
                }
                Ok(rows) => match names() {
                    NameCheck::Failed(e) => {
                        let _ = writeln!(
                            err,
                            "genupdate: {file}: cannot check skill and language names: {e}"
                        );
                        Exit::Aborted
                    }
                    check => {
                        if let NameCheck::Checked(unknown) = check {
                            for p in unknown {
                                count += 1;
                                let _ = writeln!(err, "{}", p.render(&file));
                            }
                        }
                        if !quiet {
                            let _ = writeln!(err, "{}", summary_line(&file, rows, count));
                        }
                        if count == 0 {
                            Exit::Success
                        } else {
                            Exit::InvalidInput
                        }
                    }
                },
            };
            let _ = err.flush();
            exit
        }
        Output::Json => match validate_path_options(&args.file, &options) {
            Err(e) => {
                eprintln!("genupdate: {e}");
                Exit::Usage
            }
            Ok(mut summary) => {
                let checked = match names() {
                    NameCheck::Failed(e) => {
                        eprintln!("genupdate: {file}: cannot check skill and language names: {e}");
                        return Exit::Aborted;
                    }
                    NameCheck::Checked(unknown) => {
                        summary.problems.extend(unknown);
                        Some(true)
                    }
                    NameCheck::NotChecked(_) => Some(false),
                    NameCheck::NoNames => None,
                };
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                let mut report = json_report(&file, &summary);
                report.names_checked = checked;
                let _ = serde_json::to_writer(&mut out, &report);
                let _ = writeln!(out);
                let _ = out.flush();
                if summary.is_valid() {
                    Exit::Success
                } else {
                    Exit::InvalidInput
                }
            }
        },
    }
}

/// `users.csv: valid, 1200 rows` or `users.csv: 1200 rows, 3 problems`.
pub(crate) fn summary_line(file: &str, rows: u64, problems: u64) -> String {
    let rows = plural(rows, "row");
    if problems == 0 {
        format!("{file}: valid, {rows}")
    } else {
        format!("{file}: {rows}, {}", plural(problems, "problem"))
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `{ "file", "valid", "rows", "problems": [{ "line", "column", "message" }] }`,
/// and `names_checked` (true or false) when the header names skills or languages.
#[derive(serde::Serialize)]
pub(crate) struct JsonReport<'a> {
    file: &'a str,
    valid: bool,
    rows: u64,
    problems: Vec<JsonProblem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    names_checked: Option<bool>,
}

#[derive(serde::Serialize)]
struct JsonProblem<'a> {
    line: u64,
    column: Option<&'a str>,
    message: &'a str,
}

pub(crate) fn json_report<'a>(file: &'a str, summary: &'a ValidationSummary) -> JsonReport<'a> {
    JsonReport {
        file,
        valid: summary.is_valid(),
        rows: summary.rows,
        problems: summary
            .problems
            .iter()
            .map(|p| JsonProblem {
                line: p.line,
                column: p.column.as_deref(),
                message: &p.message,
            })
            .collect(),
        names_checked: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_space_to_tilde() {
        assert!(printable_ascii(b" ~azAZ09,\"#"));
        assert!(printable_ascii(b""));
        for bad in [
            &b"\t"[..],
            b"\x7f",
            b"\x1f",
            b"\xc3\xa9",
            &[b'a'; 40],
            &[b'b'; 33],
        ] {
            let mut v = bad.to_vec();
            if v.len() > 30 {
                v.push(0);
            }
            assert!(!printable_ascii(&v), "{v:?}");
        }
    }

    #[test]
    fn summary_lines_read_naturally() {
        assert_eq!(
            summary_line("users.csv", 1200, 0),
            "users.csv: valid, 1200 rows"
        );
        assert_eq!(
            summary_line("users.csv", 1200, 3),
            "users.csv: 1200 rows, 3 problems"
        );
        assert_eq!(summary_line("u.csv", 1, 1), "u.csv: 1 row, 1 problem");
    }
}
