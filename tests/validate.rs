//! `genupdate validate` end to end: the real binary's stderr lines, stdout and exit
//! codes, and whole-file rules (empty files, BOM, CRLF, physical line numbers, every
//! problem in one run). Header and cell rules: tests/validate_header.rs and
//! tests/validate_cells.rs.

mod common;

use common::input::*;

#[test]
fn the_example_file_is_valid() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = genupdate(dir.as_ref(), &["validate", "examples/users.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The file names skills and languages; without credentials validate says it
    // did not look them up (issue 15).
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].ends_with(
            "WARN examples/users.csv: skill and language names not checked: no credentials; \
             run with --sandbox or credentials to check"
        ),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "examples/users.csv: valid, 14 rows");
    assert_eq!(out.stdout, "");
}

#[test]
fn a_valid_file_exits_0_with_a_summary_on_stderr() {
    let out = validate_bin(format!("id,title\n{A},Agent\n{B},\n").as_bytes(), &[]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stderr_lines(), ["users.csv: valid, 2 rows"]);
    assert_eq!(out.stdout, "");
}

#[test]
fn problems_print_as_file_line_column_message_and_exit_3() {
    let out = validate_bin(format!("id,acdAutoAnswer\n{A},yes\n").as_bytes(), &[]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr_lines(),
        [
            "users.csv:2:acdAutoAnswer: acdAutoAnswer must be true or false, got \"yes\"",
            "users.csv: 1 row, 1 problem",
        ]
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn a_file_with_several_problems_reports_all_of_them_in_one_run() {
    let csv = format!(
        "id,name,Emial,state,skill:Billing\n\
         {A},Jane Doe,x,enabled,6\n\
         not-an-id,Bob,x,active,3\n\
         {A},,x,active,\n\
         {B},Ann\n"
    );
    let out = validate_bin(csv.as_bytes(), &[]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr_lines(),
        [
            "users.csv:1:Emial: unknown column \"Emial\"; did you mean \"email\"?",
            "users.csv:2:state: state must be active or inactive, got \"enabled\"",
            "users.csv:2:skill:Billing: skill:Billing must be a proficiency from 0 to 5 \
             (such as 3 or 4.5), got \"6\"",
            "users.csv:3:id: id must be a user id (a UUID such as \
             3f2504e0-4f89-41d3-9a0c-0305e82c3301), got \"not-an-id\"",
            &format!(
                "users.csv:4:id: duplicate id {A}: it is already on line 2; \
                 each user may appear on one row only"
            ),
            "users.csv:5:Emial: expected 5 cells as in the header, found 2: \
             the row ends before column \"Emial\"",
            "users.csv: 4 rows, 6 problems",
        ]
    );
}

#[test]
fn invalid_utf8_names_the_line_and_column() {
    let mut csv = format!("id,name\n{A},Ren").into_bytes();
    csv.extend_from_slice(b"\xe9e\n");
    let out = validate_bin(&csv, &[]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr_lines()[0].starts_with(
            "users.csv:2:name: name is not valid UTF-8: byte 0xE9 at byte 4 (\"é\" in Windows-1252"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn an_empty_file_is_reported_on_line_1() {
    let out = validate_bin(b"", &[]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr_lines(),
        [
            "users.csv:1: the file is empty: it needs a header row (such as id,name,email) \
             and a row per user",
            "users.csv: 0 rows, 1 problem",
        ]
    );
    // A BOM or blank lines alone are still empty.
    assert_eq!(problems_bytes(b"\xef\xbb\xbf\n\n").len(), 1);
}

#[test]
fn a_header_without_rows_is_reported() {
    let p = only_problem("id,name\n");
    assert_problem(&p, 1, None, "the file has a header but no rows");
}

#[test]
fn a_missing_file_exits_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = genupdate(dir.path(), &["validate", "nope.csv"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr_lines(),
        ["genupdate: nope.csv: cannot read: No such file or directory (os error 2)"]
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn json_output_is_one_object_on_stdout_and_nothing_on_stderr() {
    let out = validate_bin(
        format!("id,state\n{A},on\n").as_bytes(),
        &["--output", "json"],
    );
    assert_eq!(out.code, 3);
    assert_eq!(out.stderr, "");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "file": "users.csv",
            "valid": false,
            "rows": 1,
            "problems": [{
                "line": 2,
                "column": "state",
                "message": "state must be active or inactive, got \"on\"",
            }],
        })
    );
    let out = validate_bin(format!("id\n{A}\n").as_bytes(), &["--output", "json"]);
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["problems"], serde_json::json!([]));
}

#[test]
fn quiet_drops_the_summary_but_not_the_problems() {
    let out = validate_bin(
        format!("id,state\n{A},on\n{B},active\n").as_bytes(),
        &["--quiet"],
    );
    assert_eq!(out.code, 3);
    assert_eq!(out.stderr_lines().len(), 1);
    assert!(out.stderr.starts_with("users.csv:2:state:"));
}

#[test]
fn a_quoted_cell_with_line_breaks_moves_later_line_numbers() {
    // Line 2 starts a record whose quoted title runs to line 4.
    let csv = format!("id,title,state\n{A},\"Team\nLead\nNorth\",active\n{B},Agent,on\n");
    let all = problems(&csv);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_problem(
        &all[0],
        2,
        Some("title"),
        "title contains a line break at character 5",
    );
    assert_problem(&all[1], 5, Some("state"), "got \"on\"");
}

#[test]
fn crlf_line_endings_count_one_line_each() {
    let csv = format!("id,state\r\n{A},active\r\n\r\n{B},on\r\n{C},active");
    let p = only_problem(&csv);
    assert_problem(&p, 4, Some("state"), "got \"on\"");
}

#[test]
fn blank_lines_are_skipped_but_counted() {
    let csv = format!("id,state\n\n{A},active\n\n\n{B},on\n");
    let p = only_problem(&csv);
    assert_problem(&p, 6, Some("state"), "got \"on\"");
}

#[test]
fn a_leading_bom_is_accepted() {
    let csv = format!("\u{feff}id,state\r\n{A},active\r\n");
    assert_eq!(problems(&csv), []);
    let out = validate_bin(csv.as_bytes(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_utf16_file_is_refused_with_a_hint() {
    let mut bytes = vec![0xff, 0xfe];
    for unit in "id\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let all = problems_bytes(&bytes);
    assert_eq!(all.len(), 1);
    assert_problem(&all[0], 1, None, "the file is UTF-16");
}

#[test]
fn a_row_with_only_an_id_is_valid() {
    let csv = format!("id,name,title,skill:Billing\n{A},,,\n");
    assert_eq!(problems(&csv), []);
}

#[test]
fn an_unbalanced_quote_in_a_small_file_is_hinted_at() {
    let csv = format!("id,title,state\n{A},\"Lead,active\n{B},Agent,active\n");
    let p = only_problem(&csv);
    assert_problem(
        &p,
        2,
        Some("title"),
        "title opens a double quote that is never closed, so the rest of the file was read \
         into this cell",
    );
}

#[test]
fn an_unbalanced_quote_in_a_large_file_is_reported_without_holding_the_file() {
    let mut csv = format!("id,title\n{A},Agent\n{B},\"Lead\n");
    let row = format!("{C},Agent\n");
    while csv.len() < 1_200_000 {
        csv.push_str(&row);
    }
    let f = file(&csv);
    let summary = genupdate::input::validate_path(&f.path).unwrap();
    assert_eq!(summary.rows, 2);
    assert_eq!(summary.problems.len(), 1, "{:#?}", summary.problems);
    assert_problem(
        &summary.problems[0],
        3,
        None,
        "a quote is probably unbalanced",
    );
}

#[test]
fn bare_cr_line_endings_count_one_line_each() {
    let csv = format!("id,state\r{A},active\r\r{B},on\r");
    let p = only_problem(&csv);
    assert_problem(&p, 4, Some("state"), "got \"on\"");
}
