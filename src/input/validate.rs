//! Whole-file validation (placeholder).
use std::path::Path;

use super::{InputError, Problem};

/// The outcome of validating a whole file.
#[derive(Debug, Default)]
pub struct ValidationSummary {
    pub rows: u64,
    pub problems: Vec<Problem>,
}

/// Validate a whole file, streaming.
pub fn validate_path(path: &Path) -> Result<ValidationSummary, InputError> {
    Err(InputError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other("not yet"),
    })
}

/// `genupdate validate FILE`: print every problem on stderr as `FILE:LINE:COLUMN:
/// message`, then a one-line summary; exit 0 when valid, 3 when not.
pub fn validate_command(args: &crate::cli::ValidateArgs, _quiet: bool) -> crate::exit::Exit {
    let _ = args;
    crate::exit::Exit::Usage
}
