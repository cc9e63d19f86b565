//! The undo file, derived from the journal and merged with the undo file already
//! at the path.
//!
//! Re-running the same command after Ctrl-C or a crash must not lose the first
//! run's before-values (a second run would see the changed values as current and
//! record those). So the undo file is never shrunk: its users and fields stay, and
//! for each user and field the first before-value recorded wins, across the file
//! and every run section of the journal. The result is written to a temporary file
//! and renamed over the path, so a crash while writing leaves the old file whole.
//! Users already in the file keep their order; new ones follow in input-line order.
//! It is written in the input's format (delimiter, byte-order mark); an existing
//! file is read in its own (guessed from its header line).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::input::{BOM, CLEAR_MARKER, Family, FileFormat, ListOp, lists};
use crate::journal::{Before, Entry};

/// Merge `entries` into the undo file at `path` (created if missing). `key` is the
/// key column's header name. The file is written in `format` (the input's), or
/// with `None` (`recover`, which has no input) in the existing file's format, else
/// comma-separated without a byte-order mark. Returns the number of users in the file.
pub fn write_merged(
    path: &Path,
    entries: &[Entry],
    key: &str,
    format: Option<FileFormat>,
) -> io::Result<usize> {
    let (mut undo, existing) = if path.exists() {
        Undo::read(path, key)?
    } else {
        (Undo::new(key), FileFormat::default())
    };
    let mut order: Vec<&Entry> = entries.iter().collect();
    // First-wins is decided in journal (time) order; new users are then placed in
    // line order.
    let mut first_line: HashMap<&str, u64> = HashMap::new();
    for e in &order {
        first_line.entry(e.id.as_str()).or_insert(e.line);
    }
    let mut added_now = std::collections::HashSet::new();
    for e in &order {
        for (field, before) in &e.before {
            match (list_field(field), before) {
                (Some(_), Some(cell)) if e.void => undo.retract(&e.id, field, cell, &added_now),
                (Some(family), Some(cell)) => {
                    for name in undo.offer_list(&e.id, family, field, cell) {
                        added_now.insert((e.id.to_ascii_lowercase(), field.clone(), name));
                    }
                }
                _ if e.void => {}
                _ => undo.offer(&e.id, field, encode(before)),
            }
        }
    }
    order.clear();
    undo.sort_new_users(|id| first_line.get(id).copied().unwrap_or(u64::MAX));
    undo.write(path, format.unwrap_or(existing))?;
    Ok(undo.rows.len())
}

/// The family of a list column that undo files merge by name (`queues:add`,
/// `queues:remove`; the replace column never appears in an undo file).
fn list_field(field: &str) -> Option<Family> {
    match lists::classify(field) {
        Some((family, op)) if op != ListOp::Replace => Some(family),
        _ => None,
    }
}

/// A cell as written in an undo file, back to its text: `#TEXT:` decoded, a
/// formula-neutralising `'` removed.
fn decode_cell(cell: &str) -> String {
    if let Some(Ok(v)) = crate::input::escape::decode(cell) {
        return v;
    }
    let after = cell.trim_start_matches('\'');
    if cell.starts_with('\'') && after.starts_with(['=', '+', '-', '@']) {
        return cell[1..].to_string();
    }
    cell.to_string()
}

/// The cell that restores a before-value.
pub fn encode(before: &Before) -> String {
    match before {
        None => CLEAR_MARKER.to_string(),
        Some(v) => crate::input::escape::encode_value(v),
    }
}

struct Undo {
    columns: Vec<String>,
    key_index: usize,
    /// (id, cells by column index); `existing` of them came from the file.
    rows: Vec<(String, HashMap<usize, String>)>,
    existing: usize,
    index: HashMap<String, usize>,
}

impl Undo {
    fn new(key: &str) -> Undo {
        Undo {
            columns: vec![key.to_string()],
            key_index: 0,
            rows: Vec::new(),
            existing: 0,
            index: HashMap::new(),
        }
    }

    fn read(path: &Path, key: &str) -> io::Result<(Undo, FileFormat)> {
        let named = |e: csv::Error| io::Error::other(format!("{}: {e}", path.display()));
        let format = format_of(path)?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .delimiter(format.delimiter.byte())
            .from_path(path)
            .map_err(named)?;
        let mut records = reader.records();
        let Some(header) = records.next().transpose().map_err(named)? else {
            return Ok((Undo::new(key), format));
        };
        let columns: Vec<String> = header
            .iter()
            .map(|c| c.trim_start_matches('\u{feff}').to_string())
            .collect();
        let key_index = columns.iter().position(|c| c == key).ok_or_else(|| {
            io::Error::other(format!(
                "{}: the existing undo file has no '{key}' column; move it away or choose another --undo path",
                path.display()
            ))
        })?;
        let mut undo = Undo {
            columns,
            key_index,
            rows: Vec::new(),
            existing: 0,
            index: HashMap::new(),
        };
        for record in records {
            let record = record.map_err(named)?;
            let Some(id) = record.get(key_index).map(str::to_string) else {
                continue;
            };
            let cells: HashMap<usize, String> = record
                .iter()
                .enumerate()
                .filter(|(i, c)| *i != key_index && !c.is_empty())
                .map(|(i, c)| (i, c.to_string()))
                .collect();
            match undo.index.get(&id.to_ascii_lowercase()) {
                // A file edited by hand may list a user twice: first cell wins.
                Some(&at) => {
                    for (i, c) in cells {
                        undo.rows[at].1.entry(i).or_insert(c);
                    }
                }
                None => {
                    undo.index.insert(id.to_ascii_lowercase(), undo.rows.len());
                    undo.rows.push((id, cells));
                }
            }
        }
        undo.existing = undo.rows.len();
        Ok((undo, format))
    }

    /// Add a before-value unless one is already known for this user and field.
    fn offer(&mut self, id: &str, field: &str, cell: String) {
        let column = match self.columns.iter().position(|c| c == field) {
            Some(i) => i,
            None => {
                self.columns.push(field.to_string());
                self.columns.len() - 1
            }
        };
        let at = match self.index.get(&id.to_ascii_lowercase()) {
            Some(&at) => at,
            None => {
                self.index.insert(id.to_ascii_lowercase(), self.rows.len());
                self.rows.push((id.to_string(), HashMap::new()));
                self.rows.len() - 1
            }
        };
        self.rows[at].1.entry(column).or_insert(cell);
    }

    /// The column index of `field`, added when new.
    fn column(&mut self, field: &str) -> usize {
        match self.columns.iter().position(|c| c == field) {
            Some(i) => i,
            None => {
                self.columns.push(field.to_string());
                self.columns.len() - 1
            }
        }
    }

    /// The row of `id`, added when new.
    fn row(&mut self, id: &str) -> usize {
        match self.index.get(&id.to_ascii_lowercase()) {
            Some(&at) => at,
            None => {
                self.index.insert(id.to_ascii_lowercase(), self.rows.len());
                self.rows.push((id.to_string(), HashMap::new()));
                self.rows.len() - 1
            }
        }
    }

    /// The names of a list cell in the file, decoded.
    fn names(&self, at: usize, column: usize) -> Vec<String> {
        let Some(cell) = self.rows[at].1.get(&column) else {
            return Vec::new();
        };
        lists::parse(&decode_cell(cell)).unwrap_or_default()
    }

    fn set_names(&mut self, at: usize, column: usize, names: &[String]) {
        if names.is_empty() {
            self.rows[at].1.remove(&column);
        } else {
            let cell = crate::input::escape::encode_value(&lists::encode(names));
            self.rows[at].1.insert(column, cell);
        }
    }

    /// Add the names of a list cell (`queues:remove`, an inverse membership change)
    /// unless one is already known for this user and name in either direction of
    /// the family (the first recorded wins). Returns the names added.
    fn offer_list(&mut self, id: &str, family: Family, field: &str, cell: &str) -> Vec<String> {
        let Ok(offered) = lists::parse(cell) else {
            return Vec::new();
        };
        let at = self.row(id);
        // Only the columns already there: a new one is made when a name goes in it.
        let columns: Vec<usize> = lists::ops(family)
            .iter()
            .filter(|op| **op != ListOp::Replace)
            .filter_map(|op| {
                let h = lists::header(family, *op);
                self.columns.iter().position(|c| *c == h)
            })
            .collect();
        let target = self.column(field);
        let mut names = self.names(at, target);
        let mut added = Vec::new();
        for name in offered {
            let known = columns.iter().any(|&c| self.names(at, c).contains(&name));
            if !known {
                names.push(name.clone());
                added.push(name);
            }
        }
        self.set_names(at, target, &names);
        added
    }

    /// Take back names this derivation added (their write did not land).
    fn retract(
        &mut self,
        id: &str,
        field: &str,
        cell: &str,
        added_now: &std::collections::HashSet<(String, String, String)>,
    ) {
        let Ok(void) = lists::parse(cell) else { return };
        let key = id.to_ascii_lowercase();
        let (Some(&at), Some(column)) = (
            self.index.get(&key),
            self.columns.iter().position(|c| c == field),
        ) else {
            return;
        };
        let names: Vec<String> = self
            .names(at, column)
            .into_iter()
            .filter(|n| {
                !(void.contains(n)
                    && added_now.contains(&(key.clone(), field.to_string(), n.clone())))
            })
            .collect();
        self.set_names(at, column, &names);
    }

    fn sort_new_users(&mut self, line_of: impl Fn(&str) -> u64) {
        self.rows[self.existing..].sort_by_key(|(id, _)| line_of(id));
    }

    fn write(&self, path: &Path, format: FileFormat) -> io::Result<()> {
        use std::io::Write as _;
        let tmp = temp_path(path);
        let named = |e: csv::Error| io::Error::other(format!("{}: {e}", tmp.display()));
        let io_named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", tmp.display()));
        let mut file = std::fs::File::create(&tmp).map_err(io_named)?;
        file.write_all(format.preamble()).map_err(io_named)?;
        let mut w = format.writer().from_writer(io::BufWriter::new(file));
        w.write_record(&self.columns).map_err(named)?;
        for (id, cells) in &self.rows {
            let record = (0..self.columns.len()).map(|i| {
                if i == self.key_index {
                    id.clone()
                } else {
                    cells.get(&i).cloned().unwrap_or_default()
                }
            });
            w.write_record(record).map_err(named)?;
        }
        w.flush()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", tmp.display())))?;
        drop(w);
        std::fs::rename(&tmp, path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

/// The format of an existing CSV file: its byte-order mark, and its delimiter as
/// guessed from its header line.
fn format_of(path: &Path) -> io::Result<FileFormat> {
    use std::io::Read as _;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let bom = head.starts_with(BOM);
    let body = head.strip_prefix(BOM).unwrap_or(&head);
    Ok(FileFormat {
        delimiter: crate::input::sniff_delimiter(body),
        bom,
    })
}

/// `NAME.tmp` beside `path`, for a write-then-rename.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(line: u64, id: &str, before: &[(&str, Option<&str>)]) -> Entry {
        Entry {
            void: false,
            line,
            id: id.into(),
            before: before
                .iter()
                .map(|(f, v)| (f.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn membership_inverses_are_merged_by_name_and_voided_ones_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("undo.csv");
        std::fs::write(&path, "id,queues:remove\nu1,Billing\n").unwrap();
        let mut void = entry(2, "u1", &[("queues:remove", Some("Restricted Queue"))]);
        void.void = true;
        let entries = vec![
            entry(2, "u1", &[("queues:remove", Some("Support"))]),
            entry(2, "u1", &[("queues:remove", Some("Restricted Queue"))]),
            entry(2, "u1", &[("queues:add", Some("Billing"))]),
            entry(3, "u2", &[("groups:add", Some(r"Tier 1\; Escalations"))]),
            void,
        ];
        write_merged(&path, &entries, "id", None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "id,queues:remove,queues:add,groups:add\n\
             u1,Billing;Support,,\n\
             u2,,,Tier 1\\; Escalations\n"
        );
    }

    #[test]
    fn the_first_before_value_wins_and_new_users_follow_in_line_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("undo.csv");
        let entries = vec![
            entry(5, "b", &[("title", Some("B0"))]),
            entry(2, "a", &[("title", Some("A0")), ("department", None)]),
            entry(5, "b", &[("title", Some("B1"))]),
        ];
        assert_eq!(write_merged(&path, &entries, "id", None).unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "id,title,department\na,A0,#CLEAR\nb,B0,\n");
    }

    #[test]
    fn an_existing_undo_file_is_merged_never_shrunk() {
        // Regression: a re-run after Ctrl-C replaced the undo file (101 rows -> 61),
        // losing the first run's original values.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("undo.csv");
        std::fs::write(&path, "id,title\nu1,Original\nu2,Kept\n").unwrap();
        let entries = vec![
            entry(2, "u1", &[("title", Some("Changed by run 1"))]),
            entry(
                3,
                "u3",
                &[("title", Some("Third")), ("department", Some("Ops"))],
            ),
        ];
        write_merged(&path, &entries, "id", None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "id,title,department\nu1,Original,\nu2,Kept,\nu3,Third,Ops\n"
        );
    }

    #[test]
    fn the_undo_file_keeps_the_inputs_format_and_reads_an_existing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("undo.csv");
        let semicolon = FileFormat {
            delimiter: crate::input::Delimiter::Semicolon,
            bom: true,
        };
        let entries = vec![entry(2, "u1", &[("title", Some("A, B"))])];
        write_merged(&path, &entries, "id", Some(semicolon)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, b"\xef\xbb\xbfid;title\nu1;A, B\n");
        // recover (no input format) merges in the existing file's own format.
        let more = vec![entry(3, "u2", &[("title", Some("C"))])];
        write_merged(&path, &more, "id", None).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, b"\xef\xbb\xbfid;title\nu1;A, B\nu2;C\n");
    }
}
