//! Phone and SMS numbers: read into E.164, national ones only with
//! `--default-country`; and the refused `email:PRIMARY` column. Through the library's
//! validation and reader, and through the real binary.

mod common;

use common::input::*;
use genupdate::input::{Cell, ReadOptions, Value, open, open_with_options, validate_path_options};

fn us() -> ReadOptions {
    ReadOptions {
        default_country: Some("US".parse().unwrap()),
        ..ReadOptions::default()
    }
}

fn phones(rows: &[&str]) -> String {
    let mut csv = String::from("id,phone:WORK,sms:MOBILE,email:WORK\n");
    for r in rows {
        csv.push_str(r);
        csv.push('\n');
    }
    csv
}

#[test]
fn a_national_number_without_the_flag_names_the_flag_at_line_and_column() {
    let csv = phones(&[
        &format!("{A},+1 317-555-0142,,"),
        &format!("{B},(317) 555-0142,,"),
    ]);
    let p = only_problem(&csv);
    assert_problem(
        &p,
        3,
        Some("phone:WORK"),
        "phone:WORK \"(317) 555-0142\" has no country code: write the number with its \
         country code (+1 317 555 0142), or pass --default-country US",
    );
    let f = file(&csv);
    let summary = validate_path_options(&f.path, &us()).unwrap();
    assert!(summary.is_valid(), "{:#?}", summary.problems);
}

#[test]
fn rows_carry_e164_and_raw_keeps_what_was_written() {
    let csv = phones(&[&format!(
        "{A},(317) 555-0142,'+44 20 7946 0958, jane@example.com "
    )]);
    let f = file(&csv);
    let (_, mut rows) = open_with_options(&f.path, &us()).unwrap();
    let row = rows.next().unwrap().unwrap();
    assert_eq!(
        row.cells[1..],
        [
            Cell::Set(Value::Text("+13175550142".into())),
            Cell::Set(Value::Text("+442079460958".into())),
            Cell::Set(Value::Text("jane@example.com".into())),
        ]
    );
    assert_eq!(
        row.raw,
        [
            A,
            "(317) 555-0142",
            "'+44 20 7946 0958",
            " jane@example.com "
        ]
    );
    // Without the default country the same row is refused by the reader too.
    let (_, mut rows) = open(&f.path).unwrap();
    let problems = rows.next().unwrap().unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].column.as_deref(), Some("phone:WORK"));
}

#[test]
fn invalid_numbers_name_the_value_and_why() {
    let csv = phones(&[
        &format!("{A},+1 317 555 014,,"),
        &format!("{B},,+1 555 555 5555,"),
        &format!("{C},+1 317 555 0142 x12,,"),
    ]);
    let all = problems(&csv);
    assert_eq!(all.len(), 3, "{all:#?}");
    assert_problem(
        &all[0],
        2,
        Some("phone:WORK"),
        "phone:WORK \"+1 317 555 014\" is not a valid phone number: numbers under +1 (US",
    );
    assert_problem(
        &all[1],
        3,
        Some("sms:MOBILE"),
        "sms:MOBILE \"+1 555 555 5555\" is not a valid phone number: it is not a number in use",
    );
    assert_problem(&all[2], 4, Some("phone:WORK"), "letters are not allowed");
}

#[test]
fn the_binary_takes_the_flag_and_the_environment_variable() {
    let csv = phones(&[&format!("{A},(317) 555-0142,317.555.0143,")]);
    let out = validate_bin(csv.as_bytes(), &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "users.csv:2:phone:WORK: phone:WORK \"(317) 555-0142\" has no country code"
        ) && lines[0].contains("--default-country US"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("users.csv:2:sms:MOBILE: "),
        "{}",
        lines[1]
    );

    let out = validate_bin(csv.as_bytes(), &["--default-country", "us"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr.trim(), "users.csv: valid, 1 row");

    let f = file(&csv);
    let dir = f.path.parent().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_genupdate"))
        .args(["validate", "users.csv"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("GENUPDATE_DEFAULT_COUNTRY", "US")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn a_bad_default_country_is_a_usage_error() {
    let csv = phones(&[&format!("{A},+1 317-555-0142,,")]);
    let out = validate_bin(csv.as_bytes(), &["--default-country", "USA"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--default-country / GENUPDATE_DEFAULT_COUNTRY: 'USA' is not a country")
            && out.stderr.contains("ISO 3166 alpha-2"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_example_file_is_valid_without_the_flag() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/users.csv");
    let summary = genupdate::input::validate_path(std::path::Path::new(path)).unwrap();
    assert!(summary.is_valid(), "{:#?}", summary.problems);
}

#[test]
fn the_primary_email_column_is_refused() {
    for header in ["id,email:PRIMARY", "id,title,email:primary"] {
        let n = header.split(',').count();
        let row = std::iter::once(A)
            .chain(std::iter::repeat_n("", n - 1))
            .collect::<Vec<_>>()
            .join(",");
        let p = only_problem(&format!("{header}\n{row}\n"));
        let column = header.rsplit(',').next().unwrap();
        assert_problem(
            &p,
            1,
            Some(column),
            "the primary email is the \"email\" column; email:PRIMARY cannot be written \
             (the API refuses a changed PRIMARY entry)",
        );
    }
    // As an undo file of an earlier version would have it, through the binary.
    let csv = format!("id,email:PRIMARY\n{A},'old@example.com\n");
    let out = validate_bin(csv.as_bytes(), &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr_lines()[0]
            .starts_with("users.csv:1:email:PRIMARY: the primary email is the \"email\" column"),
        "{}",
        out.stderr
    );
    // phone:PRIMARY stays a column.
    assert_eq!(
        problems(&format!("id,phone:PRIMARY\n{A},+13175550142\n")),
        []
    );
}
