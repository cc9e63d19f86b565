//! The run lock: two overlapping runs of the same file never work at once.
//!
//! The lock is an OS advisory lock (`flock`) on a small file that also records the
//! holder (pid, host, start time) for the error message. The OS drops the lock when
//! the holder dies, however it dies, so a lock left by a killed run is simply taken
//! over: the stale holder's details are logged and replaced. A clean exit removes the
//! file (empties it where it cannot be removed), so the warning about a stale holder
//! appears only after a run that really died. Removing a lock file races with a run
//! that opened it just before: after locking, `acquire` checks that the path still
//! names the file it locked (device and inode) and starts over if not. Default:
//! `FILE.lock` next to the input file (see `--lock`), because cron jobs overlap with
//! themselves.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds (or held) a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// RFC 3339 start time.
    pub started: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} since {}",
            self.pid, self.host, self.started
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another genupdate run holds the lock {path}: {holder}; wait for it to finish, or use another --lock"
    )]
    Held { path: String, holder: String },
    #[error("cannot use the lock file {path}: {source} (choose another place with --lock)")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A held lock; released when dropped (and by the OS if the process dies).
///
/// Dropping it is the clean exit: the lock file is removed while the lock is still
/// held (on Unix; elsewhere, and when the removal fails, it is emptied instead), so a
/// holder record found by the next run always means a run that did not exit cleanly.
#[derive(Debug)]
pub struct RunLock {
    file: Option<File>,
    path: PathBuf,
}

impl RunLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        // Unlink first, unlock second (closing the handle). A process that opened the
        // old file in between and then gets its lock sees that the path no longer names
        // that file (`acquire` re-checks the identity) and starts over.
        let removed = cfg!(unix)
            && is_same_file(&file, &self.path).unwrap_or(false)
            && std::fs::remove_file(&self.path).is_ok();
        if !removed {
            // Empty means "released cleanly": the next run does not warn about it.
            let _ = file.set_len(0);
        }
        drop(file);
    }
}

/// The default lock path for an input file: `users.csv` -> `users.csv.lock`.
pub fn default_path(input: &Path) -> PathBuf {
    let mut name = input
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    input.with_file_name(name)
}

/// How many times `acquire` starts over when the file it locked was replaced or
/// removed under it (each time means another run released or took the lock meanwhile).
const REPLACED_RETRIES: usize = 20;

/// Take the lock at `path`, or say who holds it.
pub fn acquire(path: &Path) -> Result<RunLock, LockError> {
    acquire_with(path, || {})
}

/// `acquire`, with a hook called between taking the OS lock and re-checking that the
/// path still names the locked file (the tests replace the file there).
fn acquire_with(path: &Path, mut after_lock: impl FnMut()) -> Result<RunLock, LockError> {
    let io = |source| LockError::Io {
        path: path.display().to_string(),
        source,
    };
    for _ in 0..REPLACED_RETRIES {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = serde_json::from_str::<Holder>(&text)
                    .map(|h| h.to_string())
                    .unwrap_or_else(|_| "a process that has not written its details yet".into());
                return Err(LockError::Held {
                    path: path.display().to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        after_lock();
        // The previous holder may have removed the file between our open and our lock
        // (its clean exit), and a third run may have created and locked a new one: our
        // lock on the old, unlinked file would then exclude nobody. Start over.
        match is_same_file(&file, path) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(e)),
        }
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        // Clean exits remove (or empty) the file, so a complete holder record means
        // that run died (killed, crashed, power lost) while holding the lock.
        if let Ok(stale) = serde_json::from_str::<Holder>(&previous) {
            tracing::warn!(
                "taking over the lock {} left by {stale}, which did not exit cleanly (killed or crashed)",
                path.display()
            );
        }
        let me = Holder {
            pid: std::process::id(),
            host: hostname(),
            started: chrono::Local::now().to_rfc3339(),
        };
        let text = serde_json::to_string(&me).map_err(|e| io(std::io::Error::other(e)))?;
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        return Ok(RunLock {
            file: Some(file),
            path: path.to_path_buf(),
        });
    }
    Err(io(std::io::Error::other(format!(
        "the lock file was replaced under us {REPLACED_RETRIES} times in a row"
    ))))
}

/// Whether `path` still names the open `file` (same device and inode). An error of
/// kind `NotFound` means the path is gone.
#[cfg(unix)]
fn is_same_file(file: &File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file.metadata()?;
    let named = std::fs::metadata(path)?;
    Ok(held.dev() == named.dev() && held.ino() == named.ino())
}

/// Elsewhere an open file cannot be removed or replaced under its holder (the lock file
/// is never removed there, only emptied), so the path still names it while it exists.
#[cfg(not(unix))]
fn is_same_file(_file: &File, path: &Path) -> std::io::Result<bool> {
    std::fs::metadata(path).map(|_| true)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_lock_sits_next_to_the_input() {
        assert_eq!(
            default_path(Path::new("/data/users.csv")),
            PathBuf::from("/data/users.csv.lock")
        );
    }

    #[test]
    fn a_second_taker_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = acquire(&path).unwrap();
        let err = acquire(&path).unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        // Windows' lock also locks reads: there the holder cannot be named.
        if cfg!(unix) {
            let err = err.to_string();
            assert!(
                err.contains(&format!("pid {}", std::process::id())),
                "{err}"
            );
        }
        drop(held);
        assert!(acquire(&path).is_ok(), "released on drop");
    }

    #[test]
    fn a_lock_file_left_behind_by_a_dead_run_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let stale = Holder {
            pid: 999_999,
            host: "old".into(),
            started: "2020-01-01T00:00:00Z".into(),
        };
        std::fs::write(&path, serde_json::to_string(&stale).unwrap()).unwrap();
        let _lock = acquire(&path).unwrap();
        if cfg!(unix) {
            let text = std::fs::read_to_string(&path).unwrap();
            let now: Holder = serde_json::from_str(&text).unwrap();
            assert_eq!(now.pid, std::process::id());
        }
    }

    #[test]
    fn a_clean_release_removes_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = acquire(&path).unwrap();
        assert!(path.exists());
        drop(held);
        if cfg!(unix) {
            assert!(!path.exists(), "removed on a clean release");
        } else {
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "emptied");
        }
    }

    #[test]
    fn an_empty_lock_file_is_taken_without_a_stale_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        std::fs::write(&path, "").unwrap();
        let _lock = acquire(&path).unwrap();
        if cfg!(unix) {
            let text = std::fs::read_to_string(&path).unwrap();
            let now: Holder = serde_json::from_str(&text).unwrap();
            assert_eq!(now.pid, std::process::id());
        }
    }

    /// The unlink race: B opens the file, the holder A removes it and unlocks (its clean
    /// exit), C creates a new file at the path and locks it, then B's lock on the old,
    /// unlinked file succeeds. B must notice and find C holding the lock.
    #[cfg(unix)]
    #[test]
    fn a_lock_on_a_file_replaced_meanwhile_is_retried_and_finds_the_new_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let mut c = None;
        let mut calls = 0;
        let b = acquire_with(&path, || {
            calls += 1;
            if calls == 1 {
                std::fs::remove_file(&path).unwrap();
                c = Some(acquire(&path).unwrap());
            }
        });
        assert_eq!(calls, 1, "the second try stops at C's lock");
        let err = b.unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        let c = c.unwrap();
        let c_file = c.file.as_ref().unwrap();
        assert!(is_same_file(c_file, &path).unwrap(), "C keeps the path");
        drop(c);
        assert!(!path.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_on_a_file_removed_meanwhile_is_retried_on_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let mut calls = 0;
        let b = acquire_with(&path, || {
            calls += 1;
            if calls == 1 {
                std::fs::remove_file(&path).unwrap();
            }
        })
        .unwrap();
        assert_eq!(calls, 2, "started over once");
        assert!(is_same_file(b.file.as_ref().unwrap(), &path).unwrap());
        let me: Holder = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(me.pid, std::process::id());
        // And it excludes a newcomer, who opens the same (new) file.
        assert!(matches!(acquire(&path), Err(LockError::Held { .. })));
    }
}
