//! The run lock: two overlapping runs of the same file never work at once.
//!
//! The lock is an OS advisory lock (`flock`) on a small file that also records the
//! holder (pid, host, start time) for the error message. The OS drops the lock when
//! the holder dies, however it dies, so a lock left by a killed run is simply taken
//! over: the stale holder's details are logged and replaced. Default: `FILE.lock`
//! next to the input file (see `--lock`), because cron jobs overlap with themselves.

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
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    pub fn path(&self) -> &Path {
        &self.path
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

/// Take the lock at `path`, or say who holds it.
pub fn acquire(path: &Path) -> Result<RunLock, LockError> {
    let io = |source| LockError::Io {
        path: path.display().to_string(),
        source,
    };
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
    let mut previous = String::new();
    let _ = file.read_to_string(&mut previous);
    if let Ok(stale) = serde_json::from_str::<Holder>(&previous) {
        tracing::warn!(
            "taking over the lock {} left by {stale}, which is no longer running",
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
    Ok(RunLock {
        _file: file,
        path: path.to_path_buf(),
    })
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
        let err = acquire(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
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
        let now: Holder = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
    }
}
