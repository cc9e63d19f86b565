//! The exit codes of the whole tool, fixed once. Scripts and cron wrappers depend on
//! them, so they are documented in the README and in `--help` and never reused.

/// How a run of genupdate ended. The numeric value is the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// Every row succeeded (updated or already up to date), or the file is valid.
    Success = 0,
    /// The run finished but some rows failed (see the report).
    RowsFailed = 1,
    /// Usage or configuration error (bad flag, unknown region, missing credentials).
    Usage = 2,
    /// The input file is invalid; nothing was sent.
    InvalidInput = 3,
    /// The run was aborted: credentials rejected, permission denied, error budget
    /// spent, or the API unreachable after retries.
    Aborted = 4,
    /// Another run holds the lock.
    Locked = 5,
    /// Interrupted by a signal, after in-flight work finished and the report was written.
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
