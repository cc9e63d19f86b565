#![allow(dead_code)]
//! Helpers shared by the input tests: small files in a temporary directory, the
//! library's validation, and the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use genupdate::input::{Problem, validate_path};

pub const A: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
pub const B: &str = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d";
pub const C: &str = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed";

/// A file in its own temporary directory, deleted on drop.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn file(content: &str) -> Fixture {
    file_bytes(content.as_bytes())
}

pub fn file_bytes(content: &[u8]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("users.csv");
    std::fs::write(&path, content).expect("write fixture");
    Fixture { _dir: dir, path }
}

/// Every problem `validate_path` finds in `content`.
pub fn problems(content: &str) -> Vec<Problem> {
    problems_bytes(content.as_bytes())
}

pub fn problems_bytes(content: &[u8]) -> Vec<Problem> {
    let f = file_bytes(content);
    validate_path(&f.path).expect("readable").problems
}

/// The single problem in `content`; fails the test if there are none or several.
pub fn only_problem(content: &str) -> Problem {
    let mut all = problems(content);
    assert_eq!(all.len(), 1, "expected exactly one problem, got {all:#?}");
    all.remove(0)
}

/// `p` is on `line`, in `column`, and its message contains `text`.
#[track_caller]
pub fn assert_problem(p: &Problem, line: u64, column: Option<&str>, text: &str) {
    assert_eq!((p.line, p.column.as_deref()), (line, column), "{p:#?}");
    assert!(
        p.message.contains(text),
        "message {:?} lacks {text:?}",
        p.message
    );
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Run the genupdate binary with `args`, in `dir`, with a clean log environment.
pub fn genupdate(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_genupdate"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("GENUPDATE_DEFAULT_COUNTRY")
        // Offline: validate looks skill names up when it finds a region and credentials.
        .env_remove("GENESYSCLOUD_REGION")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("run genupdate");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `genupdate validate users.csv [extra...]` on `content`, run from the fixture's
/// directory so FILE in messages is exactly `users.csv`.
pub fn validate_bin(content: &[u8], extra: &[&str]) -> Output {
    let f = file_bytes(content);
    let dir = f.path.parent().expect("fixture dir").to_path_buf();
    let mut args = vec!["validate", "users.csv"];
    args.extend_from_slice(extra);
    genupdate(&dir, &args)
}
