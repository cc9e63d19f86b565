//! Per-row results and the files made from them.
//!
//! [`ReportSink`] is owned by the runner's single collector: it receives results in
//! completion order and writes the report in input order (a small reorder buffer),
//! flushing as it goes so that a crash leaves a usable partial report. It also writes
//! the failed-rows and undo files, both in the input's own format. Every cell that a
//! spreadsheet would run as a formula is neutralised with a leading `'`.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::input::{FileFormat, Header};

/// What happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// At least one write was applied.
    Updated,
    /// The values already held: no write was needed.
    Unchanged,
    /// Dry run: the row would change the user.
    Planned,
    /// The row could not be applied; `reason` says why.
    Failed,
    /// The run stopped (deadline, signal, error budget, abort) before this row.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Planned => "planned",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }

    /// Rows that belong in the `--failed` file: worth feeding back.
    pub fn needs_rerun(self) -> bool {
        matches!(self, Status::Failed | Status::Skipped)
    }
}

/// Why a row failed or was skipped: one stable word for scripts, the same in the
/// report, the summary's counts and the exit code's reasoning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No such user, or the user is deleted; or a key or manager email matching no user.
    NotFound,
    /// The key (or the manager's email) matches more than one user.
    Ambiguous,
    /// Another row of the file resolves to the same user.
    DuplicateUser,
    /// The user kept changing under us.
    Conflict,
    /// A permanent 4xx other than 403 and 404.
    Rejected,
    /// 403: this OAuth client may not change this user (division-scoped permissions).
    Forbidden,
    /// The server answered 2xx but kept another value for a field the row set.
    NotApplied,
    /// The user holds two contact entries of the type the row names.
    AmbiguousContact,
    /// A part the row needs (skills, languages, employerInfo) could not be read.
    IncompleteRead,
    ServerError,
    /// No answer within --timeout: an outage, not a conflict.
    Timeout,
    RateLimited,
    Aborted,
    Interrupted,
    Deadline,
    ErrorBudget,
    /// The run stopped because writes were refused in several divisions.
    Permission,
    /// Not written: the run had already started `--max-changes` users' writes (or
    /// the plan computed first changed more users than that).
    MaxChanges,
    /// Not written: `--limit-rows` changing rows were already applied (a canary).
    Limit,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotFound => "not_found",
            Reason::Ambiguous => "ambiguous",
            Reason::DuplicateUser => "duplicate_user",
            Reason::Conflict => "conflict",
            Reason::Rejected => "rejected",
            Reason::Forbidden => "forbidden",
            Reason::NotApplied => "not_applied",
            Reason::AmbiguousContact => "ambiguous_contact",
            Reason::IncompleteRead => "incomplete_read",
            Reason::ServerError => "server_error",
            Reason::Timeout => "timeout",
            Reason::RateLimited => "rate_limited",
            Reason::Aborted => "aborted",
            Reason::Interrupted => "interrupted",
            Reason::Deadline => "deadline",
            Reason::ErrorBudget => "error_budget",
            Reason::Permission => "permission",
            Reason::MaxChanges => "max_changes",
            Reason::Limit => "limit",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one input row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowResult {
    /// 0-based position in the input (the report's order).
    pub seq: u64,
    /// Physical line in the input file.
    pub line: u64,
    pub id: String,
    pub status: Status,
    /// HTTP requests sent for this row, retries included (the shared bulk read not counted).
    pub attempts: u32,
    /// The last HTTP status seen for this row.
    pub http_status: Option<u16>,
    pub message: String,
    /// Why it failed or was skipped.
    pub reason: Option<Reason>,
    /// The user's `division.id` as read (for the permission breaker).
    pub division: Option<String>,
    /// Header names of the changed columns.
    pub changed: Vec<String>,
    /// The Genesys error `code`.
    pub code: Option<String>,
    /// `ININ-Correlation-Id` of the response that decided the outcome.
    pub correlation_id: Option<String>,
    /// The row's cells as they were in the input (for `--failed`).
    pub raw: Vec<String>,
    /// Column index -> the cell that restores the value this run replaced.
    pub undo: Vec<(usize, String)>,
    /// The user's `name` as read (empty when the user was not read).
    pub name: String,
    /// What changed (or, in a dry run, would change), before -> after, in header order.
    pub changes: Vec<crate::outcome::FieldChange>,
    /// Dry run: the write requests the real run would send for this row.
    pub planned_writes: u32,
}

impl RowResult {
    /// A result with only the identity filled in.
    pub fn new(seq: u64, line: u64, id: &str, raw: Vec<String>, status: Status) -> Self {
        RowResult {
            seq,
            line,
            id: id.to_string(),
            status,
            attempts: 0,
            http_status: None,
            message: String::new(),
            reason: None,
            division: None,
            changed: Vec::new(),
            code: None,
            correlation_id: None,
            raw,
            undo: Vec::new(),
            name: String::new(),
            changes: Vec::new(),
            planned_writes: 0,
        }
    }
}

/// The report's columns; the first six are a fixed contract, new ones go at the end.
pub const REPORT_COLUMNS: [&str; 12] = [
    "line",
    "id",
    "status",
    "attempts",
    "http_status",
    "message",
    "reason",
    "changed_fields",
    "genesys_code",
    "correlation_id",
    "name",
    "changes",
];

/// Where to write what.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    pub report: Option<PathBuf>,
    pub failed: Option<PathBuf>,
    pub undo: Option<PathBuf>,
    /// The write-ahead journal the undo file is derived from (`None`: dry run).
    pub journal: Option<PathBuf>,
}

/// A CSV file written in completion order and put in input order at the end.
///
/// Each record is appended (and flushed) as it comes, so a crash leaves a usable
/// partial file; an index of (input position, byte range) is kept, 20 bytes a row,
/// and at the end the records are copied in input order into a temporary file that
/// is renamed over the path. Memory stays flat however slow one row is.
struct OrderedCsv {
    path: PathBuf,
    file: BufWriter<File>,
    format: FileFormat,
    /// The byte-order mark (when the input had one) and the header record.
    header: Vec<u8>,
    written: u64,
    index: Vec<(u64, u64, u32)>,
}

impl OrderedCsv {
    fn create<I, T>(path: &Path, format: FileFormat, header: I) -> io::Result<OrderedCsv>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let file = File::create(path).map_err(|e| named(path, e))?;
        let mut header_bytes = format.preamble().to_vec();
        header_bytes.extend(record_bytes(format, header)?);
        let header = header_bytes;
        let mut out = OrderedCsv {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
            format,
            header: header.clone(),
            written: 0,
            index: Vec::new(),
        };
        out.write(&header)?;
        out.flush()?;
        Ok(out)
    }

    fn push<I, T>(&mut self, seq: u64, record: I) -> io::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let bytes = record_bytes(self.format, record)?;
        self.index.push((seq, self.written, bytes.len() as u32));
        self.write(&bytes)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        self.file
            .write_all(bytes)
            .map_err(|e| named(&self.path, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        use std::io::Write;
        self.file.flush().map_err(|e| named(&self.path, e))
    }

    /// Rewrite the file in input order through a temporary file and a rename.
    fn finish(mut self) -> io::Result<()> {
        use std::io::{Read, Seek, SeekFrom, Write};
        self.flush()?;
        self.index.sort_by_key(|(seq, _, _)| *seq);
        let mut from = File::open(&self.path).map_err(|e| named(&self.path, e))?;
        let tmp = crate::undo::temp_path(&self.path);
        let mut to = BufWriter::new(File::create(&tmp).map_err(|e| named(&tmp, e))?);
        to.write_all(&self.header).map_err(|e| named(&tmp, e))?;
        let mut buf = Vec::new();
        for (_, at, len) in &self.index {
            buf.resize(*len as usize, 0);
            from.seek(SeekFrom::Start(*at))
                .and_then(|_| from.read_exact(&mut buf))
                .map_err(|e| named(&self.path, e))?;
            to.write_all(&buf).map_err(|e| named(&tmp, e))?;
        }
        to.flush().map_err(|e| named(&tmp, e))?;
        drop(to);
        std::fs::rename(&tmp, &self.path).map_err(|e| named(&self.path, e))
    }
}

/// One CSV record as bytes (with its line terminator), in `format`'s delimiter.
fn record_bytes<I, T>(format: FileFormat, record: I) -> io::Result<Vec<u8>>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut w = format.writer().from_writer(Vec::new());
    w.write_record(record).map_err(io::Error::other)?;
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Writes the report and failed-rows files while the run goes, in completion
/// order (a slow row holds nothing back, and a crash leaves a usable partial
/// file), then rewrites them in input order at the end through a temporary file and
/// a rename. The undo file is derived from the journal at the end.
pub struct ReportSink {
    report: Option<OrderedCsv>,
    failed: Option<OrderedCsv>,
    undo: Option<PathBuf>,
    journal: Option<PathBuf>,
    key: String,
    width: usize,
    /// The input's delimiter and byte-order mark, for every file written.
    format: FileFormat,
}

impl ReportSink {
    /// Create (replace) the report and failed-rows files and write their headers.
    /// Each file is named in the error.
    pub fn create(outputs: &Outputs, header: &Header) -> io::Result<ReportSink> {
        let names: Vec<String> = header.names.iter().map(|n| neutralise(n)).collect();
        Ok(ReportSink {
            report: outputs
                .report
                .as_deref()
                .map(|p| OrderedCsv::create(p, header.format, REPORT_COLUMNS))
                .transpose()?,
            failed: outputs
                .failed
                .as_deref()
                .map(|p| OrderedCsv::create(p, header.format, &names))
                .transpose()?,
            undo: outputs.undo.clone(),
            journal: outputs.journal.clone(),
            key: header.undo_key().to_string(),
            width: header.names.len(),
            format: header.format,
        })
    }

    /// Write one result (any order) and flush.
    pub fn push(&mut self, r: RowResult) -> io::Result<()> {
        if let Some(w) = &mut self.report {
            w.push(r.seq, report_record(&r))?;
            w.flush()?;
        }
        if r.status.needs_rerun()
            && let Some(w) = &mut self.failed
        {
            // The cells exactly as given: they passed validation as they are.
            let mut cells = r.raw;
            cells.resize(self.width, String::new());
            w.push(r.seq, &cells)?;
            w.flush()?;
        }
        Ok(())
    }

    /// Put the report and failed rows in input order, and derive the undo file from
    /// the journal (merged with the undo file already there).
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(out) = self.report.take() {
            out.finish()?;
        }
        if let Some(out) = self.failed.take() {
            out.finish()?;
        }
        if let (Some(undo), Some(journal)) = (&self.undo, &self.journal)
            && journal.exists()
        {
            let (_, entries) = crate::journal::read(journal)?;
            crate::undo::write_merged(undo, &entries, &self.key, Some(self.format))?;
            // Everything the journal held is in the undo file now.
            std::fs::remove_file(journal).map_err(|e| named(journal, e))?;
        }
        Ok(())
    }
}

fn report_record(r: &RowResult) -> [String; 12] {
    [
        r.line.to_string(),
        neutralise(&r.id),
        r.status.as_str().to_string(),
        r.attempts.to_string(),
        r.http_status.map(|s| s.to_string()).unwrap_or_default(),
        neutralise(&r.message),
        r.reason.map(Reason::as_str).unwrap_or("").to_string(),
        neutralise(&r.changed.join(";")),
        neutralise(r.code.as_deref().unwrap_or("")),
        neutralise(r.correlation_id.as_deref().unwrap_or("")),
        neutralise(&r.name),
        neutralise(&crate::outcome::describe_changes(&r.changes)),
    ]
}

/// Prefix a cell that a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR)
/// with `'`, the spreadsheet's own text marker. genupdate's reader removes one such
/// `'` again, so a neutralised failed-rows or undo file can be applied as it is; a
/// value that itself starts with `'` before a formula character gets one more, so it
/// survives the round trip.
pub fn neutralise(cell: &str) -> String {
    let after_quotes = cell.trim_start_matches('\'');
    let formula = matches!(after_quotes.chars().next(), Some('=' | '+' | '-' | '@'));
    let control = matches!(cell.chars().next(), Some('\t' | '\r'));
    if formula || control {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Column;

    fn header() -> Header {
        Header {
            names: vec!["id".into(), "title".into()],
            columns: vec![
                Column::Id,
                Column::Profile(crate::input::ProfileField::Title),
            ],
            id_index: 0,
            key: crate::input::Key::Id,
            format: Default::default(),
        }
    }

    #[test]
    fn formula_cells_are_neutralised_and_others_left_alone() {
        assert_eq!(neutralise("=1+2"), "'=1+2");
        assert_eq!(neutralise("+15551234"), "'+15551234");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-2"), "'-2");
        assert_eq!(neutralise("Agent"), "Agent");
        // Regression: a stored value "'=x" was written unchanged and read back as "=x".
        assert_eq!(neutralise("'=x"), "''=x");
        assert_eq!(neutralise("'quoted"), "'quoted");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn the_report_grows_in_completion_order_and_ends_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = Outputs {
            report: Some(dir.path().join("r.csv")),
            failed: Some(dir.path().join("f.csv")),
            ..Outputs::default()
        };
        let mut sink = ReportSink::create(&outputs, &header()).unwrap();
        let mut second = RowResult::new(1, 3, "b", vec!["b".into(), "'=x".into()], Status::Failed);
        second.reason = Some(Reason::NotFound);
        let first = RowResult::new(0, 2, "a", vec!["a".into(), "T".into()], Status::Updated);
        sink.push(second).unwrap();
        // Regression: one slow row held every later result back (and in memory).
        let partial = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
        assert_eq!(
            partial.lines().count(),
            2,
            "row 1 is written before row 0 ends"
        );
        sink.push(first).unwrap();
        sink.finish().unwrap();
        let report = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(
            lines[0],
            "line,id,status,attempts,http_status,message,reason,changed_fields,genesys_code,correlation_id,name,changes"
        );
        assert!(lines[1].starts_with("2,a,updated"));
        assert!(lines[2].starts_with("3,b,failed"));
        // Regression: the failed-rows file turned `'=x` into `''=x`.
        let failed = std::fs::read_to_string(dir.path().join("f.csv")).unwrap();
        assert_eq!(failed, "id,title\nb,'=x\n");
    }

    #[test]
    fn the_report_names_the_user_and_each_change_before_and_after_neutralised() {
        let mut r = RowResult::new(0, 2, "a", Vec::new(), Status::Updated);
        r.name = "=HYPERLINK(\"x\")".into();
        r.changes = vec![
            crate::outcome::FieldChange {
                column: 1,
                field: "title".into(),
                before: "Agent".into(),
                after: "Senior Agent".into(),
                op: None,
                kept: false,
            },
            crate::outcome::FieldChange {
                column: 2,
                field: "phone:WORK".into(),
                before: String::new(),
                after: "+13175550142".into(),
                op: None,
                kept: false,
            },
        ];
        let rec = report_record(&r);
        assert_eq!(rec[10], "'=HYPERLINK(\"x\")");
        assert_eq!(
            rec[11],
            "title: \"Agent\" -> \"Senior Agent\"; phone:WORK: (empty) -> \"+13175550142\""
        );
        let mut formula = r.clone();
        formula.changes[0].field = "-x".into();
        formula.changes.truncate(1);
        assert!(report_record(&formula)[11].starts_with("'-x: "));
    }
}
