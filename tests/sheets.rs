//! Files as spreadsheets save them (issue 15): semicolon and tab delimiters,
//! `ID,Title` headers, trailing empty columns, rows of commas, a byte-order mark,
//! `--delimiter`; and `validate` looking skill names up. Each drives the real
//! binary: `validate`, then `apply --sandbox` (the in-process sandbox, on loopback).

mod common;

use std::path::Path;

use common::input::{Output, genupdate};

/// Users `apply --sandbox` knows (the first rows of examples/users.csv), none of
/// them in the restricted division or deleted.
const U1: &str = "49635e08-39c7-4499-ab44-04c388477f65";
const U2: &str = "9d16d21c-56f1-4b23-88e2-f4e508e5806f";
const U3: &str = "4320adf5-ff84-4522-acd2-f53c94fe33b4";
/// The deleted user of examples/users.csv: its row fails `not_found`.
const DELETED: &str = "52385c8e-688e-4805-9b0a-6e1ad2482477";

/// A directory holding `users.csv` with `content`.
fn dir_with(content: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("users.csv"), content).expect("write users.csv");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    genupdate(dir, args)
}

/// `apply --sandbox users.csv` with report, failed-rows and undo files, plus `extra`.
fn apply(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "apply",
        "--sandbox",
        "users.csv",
        "--report",
        "report.csv",
        "--failed",
        "failed.csv",
        "--undo",
        "undo.csv",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `status` cell of each report row (line, id, status, ... split by `delim`).
fn statuses(report: &[u8], delim: char) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(report);
    text.trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.splitn(4, delim).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect()
}

#[track_caller]
fn assert_valid(dir: &Path, extra: &[&str], rows: u64) {
    let mut args = vec!["validate", "users.csv"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plural = if rows == 1 { "" } else { "s" };
    let summary = format!("users.csv: valid, {rows} row{plural}");
    assert!(
        out.stderr_lines().contains(&summary.as_str()),
        "{}",
        out.stderr
    );
}

#[test]
fn a_semicolon_file_validates_and_applies_and_its_outputs_keep_the_semicolon() {
    // German Excel: `;` between cells, CRLF, a comma inside an unquoted cell.
    let csv =
        format!("id;title;department\r\n{U1};Sheets, Semicolon;Quality\r\n{U2};Sheets Semi 2;\r\n");
    let dir = dir_with(csv.as_bytes());
    assert_valid(dir.path(), &[], 2);
    let out = apply(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = read(dir.path(), "report.csv");
    assert!(report.starts_with(b"line;id;status;"), "{report:?}");
    assert_eq!(
        statuses(&report, ';'),
        [
            (U1.to_string(), "updated".to_string()),
            (U2.to_string(), "updated".to_string())
        ]
    );
    let undo = String::from_utf8(read(dir.path(), "undo.csv")).unwrap();
    assert!(undo.starts_with("id;title;department\n"), "{undo}");
    // The undo file applies back as it is (its delimiter guessed again).
    assert_valid(dir.path(), &[], 2);
    let back = run(dir.path(), &["validate", "undo.csv"]);
    assert_eq!(back.code, 0, "{}", back.stderr);
}

#[test]
fn a_tab_file_validates_and_applies() {
    let csv = format!("id\ttitle\n{U1}\tSheets Tab 1\n{U3}\tSheets Tab 3\n");
    let dir = dir_with(csv.as_bytes());
    assert_valid(dir.path(), &[], 2);
    let out = apply(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = read(dir.path(), "report.csv");
    assert!(report.starts_with(b"line\tid\tstatus\t"), "{report:?}");
    assert!(
        statuses(&report, '\t').iter().all(|(_, s)| s == "updated"),
        "{}",
        String::from_utf8_lossy(&report)
    );
}

#[test]
fn capitalised_headers_apply_and_the_outputs_use_the_canonical_names() {
    let csv = format!("ID,Title,Phone:Work\n{U1},Sheets Caps,\n{DELETED},Gone,\n");
    let dir = dir_with(csv.as_bytes());
    assert_valid(dir.path(), &[], 2);
    let out = apply(dir.path(), &[]);
    // The deleted user fails its row (exit 1); the other is updated.
    assert_eq!(out.code, 1, "{}", out.stderr);
    let statuses = statuses(&read(dir.path(), "report.csv"), ',');
    assert_eq!(statuses[0], (U1.to_string(), "updated".to_string()));
    assert_eq!(statuses[1].1, "failed");
    let failed = String::from_utf8(read(dir.path(), "failed.csv")).unwrap();
    assert_eq!(failed, format!("id,title,phone:WORK\n{DELETED},Gone,\n"));
    let undo = String::from_utf8(read(dir.path(), "undo.csv")).unwrap();
    assert!(undo.starts_with("id,title\n"), "{undo}");
}

#[test]
fn trailing_empty_columns_and_rows_of_commas_are_ignored_with_one_warning() {
    // Excel's used range: trailing delimiters on every line, empty rows as commas.
    let csv = format!(
        "id,title,,,\n{U1},Sheets Trailing 1,,,\n,,,,\n,,,,\n,,,,\n{U2},Sheets Trailing 2,,\n,,,,\n"
    );
    let dir = dir_with(csv.as_bytes());
    let out = run(dir.path(), &["validate", "users.csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warnings: Vec<&str> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.contains("only delimiters"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].ends_with(
            "users.csv: 4 rows contain only delimiters (between lines 3 and 7); ignored"
        ),
        "{}",
        warnings[0]
    );
    assert!(out.stderr_lines().contains(&"users.csv: valid, 2 rows"));

    // The warning is a log line: with --log-format json, stderr stays JSON.
    let out = run(
        dir.path(),
        &["--log-format", "json", "validate", "users.csv"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Vec<serde_json::Value> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        json.iter().any(|v| v["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("4 rows"))),
        "{}",
        out.stderr
    );

    let out = apply(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let statuses = statuses(&read(dir.path(), "report.csv"), ',');
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(statuses.iter().all(|(_, s)| s == "updated"), "{statuses:?}");
}

#[test]
fn a_value_under_an_empty_header_cell_is_an_error_naming_line_and_cell() {
    let csv = format!("id,title,,\n{U1},Agent,,\n{U2},Agent,x,\n");
    let dir = dir_with(csv.as_bytes());
    let out = run(dir.path(), &["validate", "users.csv"]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr_lines()[0],
        "users.csv:3: cell 3 holds \"x\" but its header cell is empty: name the column in \
         the header, or empty the cell"
    );
}

#[test]
fn a_bom_input_gives_bom_outputs_and_a_plain_input_plain_ones() {
    for bom in [true, false] {
        let mut csv = if bom {
            b"\xef\xbb\xbf".to_vec()
        } else {
            Vec::new()
        };
        let title = if bom { "Sheets BOM" } else { "Sheets plain" };
        csv.extend(format!("id;title\n{U1};{title} \u{e9}\n{DELETED};x\n").as_bytes());
        let dir = dir_with(&csv);
        let out = apply(dir.path(), &[]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        for name in ["report.csv", "failed.csv", "undo.csv"] {
            let bytes = read(dir.path(), name);
            assert_eq!(
                bytes.starts_with(b"\xef\xbb\xbf"),
                bom,
                "{name}: {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        // Exactly one BOM, then the header in the input's delimiter.
        let failed = read(dir.path(), "failed.csv");
        let body = failed.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&failed);
        assert_eq!(body, format!("id;title\n{DELETED};x\n").as_bytes());
    }
}

#[test]
fn the_delimiter_flag_reads_a_pipe_file_and_a_wrong_one_gets_a_hint() {
    let csv = format!("id|title\n{U1}|Sheets Pipe\n");
    let dir = dir_with(csv.as_bytes());
    // Not guessed: one column, with a hint to pass --delimiter.
    let out = run(dir.path(), &["validate", "users.csv"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("pass --delimiter '|'"),
        "{}",
        out.stderr
    );
    assert_valid(dir.path(), &["--delimiter", "|"], 1);
    let out = apply(dir.path(), &["--delimiter", "|"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(read(dir.path(), "report.csv").starts_with(b"line|id|status|"));

    // A semicolon file is guessed; --delimiter tab on it reads one column.
    let dir = dir_with(format!("id;title\n{U1};x\n").as_bytes());
    assert_valid(dir.path(), &[], 1);
    assert_valid(dir.path(), &["--delimiter", ";"], 1);
    let out = run(dir.path(), &["validate", "users.csv", "--delimiter", "tab"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("the header reads with --delimiter tab as one column that contains \";\""),
        "{}",
        out.stderr
    );
    let out = run(dir.path(), &["validate", "users.csv", "--delimiter", "x"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--delimiter"), "{}", out.stderr);
}

#[test]
fn an_unguessable_semicolon_header_suggests_the_flag() {
    let dir = dir_with(b"ident;titel\n1;x\n");
    let out = run(dir.path(), &["validate", "users.csv"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("users.csv:1: the header reads as one column that contains \";\" characters: if the file is separated by \";\", pass --delimiter ';'"),
        "{}",
        out.stderr
    );
}

#[test]
fn validate_with_the_sandbox_catches_an_unknown_skill_with_a_suggestion() {
    let csv = format!("id,skill:Biling,language:spanish,Skill:Sales\n{U1},3,2,\n");
    let dir = dir_with(csv.as_bytes());
    let out = run(dir.path(), &["validate", "--sandbox", "users.csv"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(
        out.stderr_lines()
            .into_iter()
            .filter(|l| l.starts_with("users.csv:"))
            .collect::<Vec<_>>(),
        [
            "users.csv:1:skill:Biling: no skill named 'Biling' in this org (did you mean 'Billing'?)",
            "users.csv: 1 row, 1 problem",
        ]
    );
    assert!(!out.stderr.contains("not checked"), "{}", out.stderr);

    // Known names (in any case): valid, and checked.
    let csv = format!("id,skill:billing,language:Spanish\n{U1},3,2\n");
    let dir = dir_with(csv.as_bytes());
    let out = run(
        dir.path(),
        &["validate", "--sandbox", "users.csv", "--output", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("JSON");
    assert_eq!(json["valid"], true);
    assert_eq!(json["names_checked"], true);
}

#[test]
fn validate_without_credentials_says_it_did_not_check_the_names() {
    let csv = format!("id,skill:Biling\n{U1},3\n");
    let dir = dir_with(csv.as_bytes());
    let out = run(dir.path(), &["validate", "users.csv"]);
    assert_eq!(
        out.code, 0,
        "offline, the name cannot be judged: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "users.csv: skill and language names not checked: no credentials; run with \
             --sandbox or credentials to check"
        ),
        "{}",
        out.stderr
    );
    // A file without skill or language columns has nothing to check: no such line.
    let dir = dir_with(format!("id,title\n{U1},x\n").as_bytes());
    let out = run(dir.path(), &["validate", "users.csv"]);
    assert_eq!(out.stderr_lines(), ["users.csv: valid, 1 row"]);
}

#[test]
fn apply_names_the_closest_skill_for_an_unknown_one() {
    let csv = format!("id,skill:Sale\n{U1},3\n");
    let dir = dir_with(csv.as_bytes());
    let out = apply(dir.path(), &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "users.csv:1:skill:Sale: no skill named 'Sale' in this org (did you mean 'Sales'"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn export_writes_the_delimiter_and_bom_it_is_asked_for() {
    let dir = dir_with(format!("\u{feff}id;title\n{U1};x\n{U2};y\n").as_bytes());
    // The --keys file's delimiter and BOM carry over to the export.
    let out = run(
        dir.path(),
        &[
            "export",
            "--sandbox",
            "--keys",
            "users.csv",
            "--columns",
            "title",
            "-o",
            "out.csv",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bytes = read(dir.path(), "out.csv");
    assert!(
        bytes.starts_with(b"\xef\xbb\xbfid;title\r\n"),
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(String::from_utf8_lossy(&bytes).lines().count(), 3);
    // --delimiter tab, to stdout, without a BOM.
    let dir = dir_with(format!("id\n{U1}\n").as_bytes());
    let out = run(
        dir.path(),
        &[
            "export",
            "--sandbox",
            "--keys",
            "users.csv",
            "--columns",
            "title",
            "--delimiter",
            "tab",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("id\ttitle\r\n"), "{}", out.stdout);
}
