//! Where a run writes, decided and checked before any work.
//!
//! An output path that is the input file, or another output, would destroy the
//! record it is meant to keep (`--report users.csv` used to replace the input with
//! a partial report, even in a dry run). So every output (`--report`, `--failed`,
//! `--undo`, `--lock`, and the journal) is compared with the input and with each
//! other by identity, not by spelling: the same file through `./`, `..`, a symbolic
//! link to a parent directory, or a hard link is still the same file. An output
//! path that is itself a symbolic link is refused rather than followed.

use std::path::{Path, PathBuf};

/// The files one run writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputPaths {
    pub report: Option<PathBuf>,
    pub failed: Option<PathBuf>,
    pub undo: Option<PathBuf>,
    /// `None` for a dry run (no lock is taken).
    pub lock: Option<PathBuf>,
    /// The write-ahead journal; `None` for a dry run (nothing is written).
    pub journal: Option<PathBuf>,
}

/// The journal's path: beside the undo file, else beside the report, else beside
/// the input (`NAME.journal`).
pub fn journal_path(input: &Path, report: Option<&Path>, undo: Option<&Path>) -> PathBuf {
    let base = undo.or(report).unwrap_or(input);
    let mut name = base
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".journal");
    base.with_file_name(name)
}

impl OutputPaths {
    fn named(&self) -> Vec<(&'static str, &Path)> {
        [
            ("--report", self.report.as_deref()),
            ("--failed", self.failed.as_deref()),
            ("--undo", self.undo.as_deref()),
            ("--lock", self.lock.as_deref()),
            ("the journal", self.journal.as_deref()),
        ]
        .into_iter()
        .filter_map(|(flag, p)| p.map(|p| (flag, p)))
        .collect()
    }

    /// Refuse outputs that are the input, each other, or symbolic links.
    pub fn check(&self, input: &Path) -> Result<(), String> {
        let named = self.named();
        let input_id = Identity::of(input);
        for (i, (flag, path)) in named.iter().enumerate() {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(format!(
                    "{flag} {}: is a symbolic link; genupdate does not write through links: give the real path",
                    path.display()
                ));
            }
            let id = Identity::of(path);
            if id.same(&input_id) {
                return Err(format!(
                    "{flag} {} is the input file {}: it would be overwritten; choose another path",
                    path.display(),
                    input.display()
                ));
            }
            for (other_flag, other) in &named[..i] {
                if id.same(&Identity::of(other)) {
                    return Err(format!(
                        "{flag} {} is the same file as {other_flag} {}: give each output its own path",
                        path.display(),
                        other.display()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What makes two paths the same file: the resolved path, and for files that
/// exist, the device and inode (hard links).
struct Identity {
    path: Option<PathBuf>,
    #[cfg(unix)]
    inode: Option<(u64, u64)>,
}

impl Identity {
    fn of(path: &Path) -> Identity {
        Identity {
            path: resolve(path),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
            },
        }
    }

    fn same(&self, other: &Identity) -> bool {
        #[cfg(unix)]
        if let (Some(a), Some(b)) = (self.inode, other.inode)
            && a == b
        {
            return true;
        }
        matches!((&self.path, &other.path), (Some(a), Some(b)) if a == b)
    }
}

/// The absolute path with links and `..` resolved; for a file that does not exist
/// yet, its resolved directory joined with its name.
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(dir: &Path) -> OutputPaths {
        OutputPaths {
            report: Some(dir.join("report.csv")),
            failed: Some(dir.join("failed.csv")),
            undo: Some(dir.join("undo.csv")),
            lock: Some(dir.join("users.csv.lock")),
            journal: Some(dir.join("undo.csv.journal")),
        }
    }

    #[test]
    fn distinct_outputs_pass() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("users.csv");
        std::fs::write(&input, "id\n").unwrap();
        assert_eq!(outputs(dir.path()).check(&input), Ok(()));
    }

    #[test]
    fn the_input_as_an_output_is_refused_however_it_is_spelled() {
        // Regression: `--report users.csv` replaced the input with a partial report.
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("users.csv");
        std::fs::write(&input, "id\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let mut o = outputs(dir.path());
        o.report = Some(dir.path().join("sub/../users.csv"));
        let e = o.check(&input).unwrap_err();
        assert!(e.contains("--report") && e.contains("input"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_hard_link_to_the_input_is_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("users.csv");
        std::fs::write(&input, "id\n").unwrap();
        std::fs::hard_link(&input, dir.path().join("alias.csv")).unwrap();
        let mut o = outputs(dir.path());
        o.undo = Some(dir.path().join("alias.csv"));
        assert!(o.check(&input).unwrap_err().contains("--undo"));
    }

    #[test]
    fn two_outputs_on_one_path_are_refused() {
        // Regression: report and undo on one path interleaved their rows.
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("users.csv");
        std::fs::write(&input, "id\n").unwrap();
        let mut o = outputs(dir.path());
        o.undo = o.report.clone();
        o.journal = Some(journal_path(&input, o.report.as_deref(), None));
        let e = o.check(&input).unwrap_err();
        assert!(e.contains("--undo") && e.contains("--report"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_at_an_output_path_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("users.csv");
        std::fs::write(&input, "id\n").unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("elsewhere.csv"),
            dir.path().join("report.csv"),
        )
        .unwrap();
        let e = outputs(dir.path()).check(&input).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
    }

    #[test]
    fn the_journal_sits_beside_the_undo_file_else_the_report_else_the_input() {
        let i = Path::new("/d/users.csv");
        let r = Path::new("/r/report.csv");
        let u = Path::new("/u/undo.csv");
        assert_eq!(
            journal_path(i, Some(r), Some(u)),
            Path::new("/u/undo.csv.journal")
        );
        assert_eq!(
            journal_path(i, Some(r), None),
            Path::new("/r/report.csv.journal")
        );
        assert_eq!(
            journal_path(i, None, None),
            Path::new("/d/users.csv.journal")
        );
    }
}
