//! The write-ahead journal: a user's before-values reach the operating system
//! before the write that changes them is sent.
//!
//! The report and undo file used to be written in input order, so one slow row held
//! every later result in memory, and a `kill -9` left writes on the server that no
//! undo file knew about. Now every write is preceded by one JSON line here, written
//! with a single completed `write` call under a lock (no fsync: the operating system
//! keeps it across a killed process, which is the failure this guards against). The
//! undo file is derived from the journal at the end of the run; after a crash,
//! `genupdate recover JOURNAL` derives it instead. An entry whose write never landed
//! restores the value the user still holds: harmless to apply.
//!
//! The file is only ever appended to: a re-run after a crash adds a new run
//! section, and the first before-value recorded for a user's field wins when undo
//! files are derived. If a line cannot be written, the journal refuses every later
//! record and the runner stops sending writes.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// One field's value before a write: `Some(v)` to put `v` back, `None` to clear it.
pub type Before = Option<String>;

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Line {
    /// Starts each run's section.
    Run { run: RunInfo },
    /// Before-values of one write, keyed by header name.
    Entry(Entry),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub input: String,
    pub started: String,
    /// The header name of the key column (`id`).
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub line: u64,
    pub id: String,
    pub before: Vec<(String, Before)>,
    /// A membership write recorded ahead that did not land: the undo file drops the
    /// list names of `before` again (they were added by an earlier entry).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub void: bool,
}

/// The open journal, shared by every worker.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    broken: AtomicBool,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

impl Journal {
    /// Open for appending (never truncating: an earlier crashed run's entries are
    /// the only record of its writes) and start a run section.
    pub fn open(path: &Path, input: &Path, key: &str) -> io::Result<Journal> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| named(path, e))?;
        let journal = Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            broken: AtomicBool::new(false),
        };
        journal.append(&Line::Run {
            run: RunInfo {
                input: input.display().to_string(),
                started: chrono::Local::now().to_rfc3339(),
                key: key.to_string(),
            },
        })?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record before-values; the write may be sent only when this returns `Ok`.
    pub fn record(&self, line: u64, id: &str, before: Vec<(String, Before)>) -> io::Result<()> {
        if before.is_empty() {
            return Ok(());
        }
        self.append(&Line::Entry(Entry {
            line,
            id: id.to_string(),
            before,
            void: false,
        }))
    }

    /// Take back a list entry recorded ahead by [`Journal::record`] whose write did not
    /// land (a membership change refused or not confirmed): its inverse must not reach
    /// the undo file.
    pub fn void(&self, line: u64, id: &str, field: &str, cell: &str) -> io::Result<()> {
        self.append(&Line::Entry(Entry {
            line,
            id: id.to_string(),
            before: vec![(field.to_string(), Some(cell.to_string()))],
            void: true,
        }))
    }

    fn append(&self, line: &Line) -> io::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(io::Error::other(format!(
                "{}: an earlier write to the journal failed",
                self.path.display()
            )));
        }
        let mut text = serde_json::to_string(line).map_err(io::Error::other)?;
        text.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // One write_all of a whole line: a crash leaves at most a torn last line.
        let written = file.write_all(text.as_bytes()).and_then(|_| file.flush());
        if let Err(e) = written {
            self.broken.store(true, Ordering::SeqCst);
            return Err(named(&self.path, e));
        }
        Ok(())
    }
}

/// Every entry of a journal, in order; a torn last line (a crash mid-write) is
/// skipped, any other unreadable line is an error naming its line number.
pub fn read(path: &Path) -> io::Result<(Vec<RunInfo>, Vec<Entry>)> {
    let file = File::open(path).map_err(|e| named(path, e))?;
    let mut runs = Vec::new();
    let mut entries = Vec::new();
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<io::Result<_>>()
        .map_err(|e| named(path, e))?;
    let last = lines.len();
    for (i, text) in lines.into_iter().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(&text) {
            Ok(Line::Run { run }) => runs.push(run),
            Ok(Line::Entry(e)) => entries.push(e),
            Err(_) if i + 1 == last => {
                tracing::warn!("{}: ignoring a torn last line", path.display());
            }
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: not a journal line: {e}", path.display(), i + 1),
                ));
            }
        }
    }
    Ok((runs, entries))
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_appended_across_runs_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.csv.journal");
        let j = Journal::open(&path, Path::new("users.csv"), "id").unwrap();
        j.record(2, "a", vec![("title".into(), Some("Old".into()))])
            .unwrap();
        j.record(3, "b", vec![("department".into(), None)]).unwrap();
        j.record(4, "c", vec![]).unwrap();
        drop(j);
        let j = Journal::open(&path, Path::new("users.csv"), "id").unwrap();
        j.record(2, "a", vec![("title".into(), Some("Newer".into()))])
            .unwrap();
        let (runs, entries) = read(&path).unwrap();
        assert_eq!(runs.len(), 2, "a re-run appends, never truncates");
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "a"]);
        assert_eq!(entries[1].before, vec![("department".to_string(), None)]);
    }

    #[test]
    fn a_torn_last_line_is_skipped_but_a_bad_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let good = r#"{"line":2,"id":"a","before":[["title","x"]]}"#;
        std::fs::write(&path, format!("{good}\n{{\"line\":3,\"id\"")).unwrap();
        assert_eq!(read(&path).unwrap().1.len(), 1);
        std::fs::write(&path, format!("garbage\n{good}\n")).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains(":1:"), "{e}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_journal_that_cannot_be_written_refuses_every_later_record() {
        // Regression: 1,000 PATCHes went out while the undo file held 181 rows.
        let j = Journal {
            path: PathBuf::from("/dev/full"),
            file: Mutex::new(OpenOptions::new().append(true).open("/dev/full").unwrap()),
            broken: AtomicBool::new(false),
        };
        let e = j.record(2, "a", vec![("title".into(), None)]).unwrap_err();
        assert!(e.to_string().contains("/dev/full"), "names the file: {e}");
        assert!(j.record(3, "b", vec![("title".into(), None)]).is_err());
    }
}
