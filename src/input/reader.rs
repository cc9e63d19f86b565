//! Streaming row reader (placeholder).
use std::path::Path;

use super::{Header, InputError, Problem, Row};

/// Streams validated rows of a file.
pub struct RowReader {}

impl Iterator for RowReader {
    type Item = Result<Row, Vec<Problem>>;
    fn next(&mut self) -> Option<Self::Item> {
        None
    }
}

/// Open a file and parse its header.
pub fn open(path: &Path) -> Result<(Header, RowReader), InputError> {
    Err(InputError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other("not yet"),
    })
}
