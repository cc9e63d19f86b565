//! Property tests (the fuzzing of the CSV reader and validator): no input makes
//! validation or the reader panic, every problem carries a line that exists in the
//! file, the two passes report exactly the same problems, and no cell that a
//! spreadsheet would run as a formula gets through unescaped.
//!
//! 256 cases per property by default (a few seconds). A longer run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --release --test input_props
//! ```
//!
//! A failure prints the smallest input found and saves its seed under
//! `proptest-regressions/`, which later runs try first. (cargo-fuzz needs a nightly
//! toolchain; these properties run on stable.)

mod common;

use std::path::PathBuf;
use std::sync::LazyLock;

use common::input::*;
use genupdate::input::{Cell, Column, InputError, MediaType, Problem, Value, open, validate_path};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// One directory for every case; each property writes its own file in it.
static DIR: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().unwrap());

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = DIR.path().join(format!("{name}.csv"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The largest line number a problem may name: one per LF or bare CR, plus one.
fn max_line(bytes: &[u8]) -> u64 {
    let mut lines = 1;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            lines += 1;
        }
    }
    lines
}

fn check_problem(p: &Problem, bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(p.line >= 1, "{p:?}");
    prop_assert!(p.line <= max_line(bytes), "{p:?} is past the end");
    prop_assert!(!p.message.is_empty());
    let shown = p.render("f.csv");
    prop_assert!(
        !shown.chars().any(char::is_control),
        "raw control character in {shown:?}"
    );
    Ok(())
}

/// Validate `bytes` and read them, and check everything the two passes must agree on.
fn check_file(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = write(name, bytes);
    let summary = validate_path(&path).expect("a written file is readable");
    for p in &summary.problems {
        check_problem(p, bytes)?;
    }
    match open(&path) {
        Err(InputError::Header { problems, .. }) => {
            // The header's problems come first, as validation reports them.
            prop_assert!(!problems.is_empty());
            prop_assert!(!summary.is_valid());
            prop_assert_eq!(&summary.problems[..problems.len()], &problems[..]);
        }
        Err(e) => return Err(TestCaseError::fail(format!("cannot read: {e}"))),
        Ok((header, rows)) => {
            let mut from_reader = Vec::new();
            let mut n = 0u64;
            let mut last_line = 1;
            for item in rows {
                n += 1;
                match item {
                    Err(problems) => {
                        prop_assert!(!problems.is_empty());
                        from_reader.extend(problems);
                    }
                    Ok(row) => {
                        prop_assert!(row.line > last_line, "rows come in line order");
                        last_line = row.line;
                        prop_assert_eq!(row.raw.len(), header.columns.len());
                        prop_assert_eq!(row.cells.len(), header.columns.len());
                        no_bare_formula(&header.columns, &row.cells, &row.raw)?;
                    }
                }
            }
            prop_assert_eq!(n, summary.rows);
            if n == 0 {
                prop_assert_eq!(summary.problems.len(), 1);
                prop_assert!(summary.problems[0].message.contains("header but no rows"));
            } else {
                prop_assert_eq!(&summary.problems, &from_reader);
            }
        }
    }
    Ok(())
}

/// A text value that starts with `=`, `+`, `-` or `@` came from a cell escaped
/// with `'` (or is a phone number starting with `+`).
fn no_bare_formula(
    columns: &[Column],
    cells: &[Cell],
    raw: &[String],
) -> Result<(), TestCaseError> {
    for ((column, cell), raw) in columns.iter().zip(cells).zip(raw) {
        let Cell::Set(Value::Text(v)) = cell else {
            continue;
        };
        let Some(first) = v.chars().next() else {
            continue;
        };
        if !matches!(first, '=' | '+' | '-' | '@') {
            continue;
        }
        let phone_plus = first == '+'
            && matches!(
                column,
                Column::Contact(MediaType::Phone | MediaType::Sms, _)
            );
        let escaped = raw.trim_start_matches(' ').starts_with('\'');
        prop_assert!(
            phone_plus || escaped,
            "{column:?}: {v:?} from {raw:?} is a formula"
        );
    }
    Ok(())
}

/// Byte soup over an alphabet that reaches the grammar's corners.
fn tokens() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<&'static [u8]> = vec![
        b"\"",
        b",",
        b"\n",
        b"\r",
        b"\r\n",
        b"'",
        b"=",
        b"+",
        b"-",
        b"@",
        b"#CLEAR",
        b" ",
        b"\xef\xbb\xbf",
        b"\xef\xbb",
        b"\xc3",
        b"\xff",
        b"\0",
        b"\t",
        b"\x1b[2J",
        b"a",
        b"id",
        b"title",
        b"phone:WORK",
        b"skill:Billing",
        b"3.5",
        A.as_bytes(),
    ];
    prop::collection::vec(prop::sample::select(alphabet), 0..60).prop_map(|t| t.concat())
}

/// Cells as they appear in the file (already CSV syntax): values that matter to the
/// grammar, formula starters and their escapes, quotes good and bad, line breaks,
/// byte-order marks, control characters and arbitrary noise.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("#CLEAR".to_string()),
        Just("#clear".to_string()),
        Just(A.to_string()),
        Just(B.to_uppercase()),
        Just(format!(" {C} ")),
        Just("active".to_string()),
        Just("true".to_string()),
        Just("3.5".to_string()),
        Just("-1".to_string()),
        Just("\"3,5\"".to_string()),
        Just("2024-02-29".to_string()),
        Just("2023-02-29".to_string()),
        Just("jane@example.com".to_string()),
        Just("=x@example.com".to_string()),
        Just("+1 317-555-0100".to_string()),
        Just("'+12125558832".to_string()),
        Just("=HYPERLINK(1)".to_string()),
        Just("'=HYPERLINK(1)".to_string()),
        Just("''=x".to_string()),
        Just("@SUM(A1)".to_string()),
        Just("'@x".to_string()),
        Just("-2+3".to_string()),
        Just("'-".to_string()),
        Just("+cmd|' /C calc'!A0".to_string()),
        Just("O'Neil".to_string()),
        Just("\"quoted, \"\"comma\"\"\"".to_string()),
        Just("\"two\nlines\"".to_string()),
        Just("\"cr\rinside\"".to_string()),
        Just("Team \"Lead\"".to_string()),
        Just("\"Team\" Lead".to_string()),
        Just("\"open".to_string()),
        Just("\u{feff}".to_string()),
        Just("a\u{200b}b".to_string()),
        Just("\u{202e}x".to_string()),
        Just("x\u{a0}".to_string()),
        Just("\0".to_string()),
        Just("\x1b[31m".to_string()),
        "\\PC{0,8}",
        "[ -~]{0,12}",
        "[=+@'\"#, -]{0,4}[a-z0-9]{0,3}",
    ]
}

const GOOD_NAMES: [&str; 18] = [
    "name",
    "title",
    "department",
    "preferredName",
    "username",
    "state",
    "acdAutoAnswer",
    "manager",
    "employerInfo.dateHire",
    "employerInfo.employeeId",
    "email",
    "email:WORK",
    "phone:WORK",
    "phone:work",
    "sms:MOBILE",
    "skill:Billing",
    "language:Spanish",
    "id",
];

const BAD_NAMES: [&str; 10] = [
    "Email",
    " title",
    "title ",
    "skill:",
    "\u{feff}id",
    "ti\u{200b}tle",
    "ti\"tle",
    "\"title\"",
    "=1+1",
    "",
];

/// Mostly valid headers (an `id` column somewhere, known names, duplicates possible),
/// sometimes with a bad name or without `id`.
fn header() -> impl Strategy<Value = Vec<String>> {
    (
        prop::collection::vec(prop::sample::select(&GOOD_NAMES[..]), 0..6),
        prop::option::weighted(0.2, prop::sample::select(&BAD_NAMES[..])),
        prop::option::weighted(0.9, any::<prop::sample::Index>()),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut names, bad, id_at, bad_at)| {
            if let Some(at) = id_at {
                names.insert(at.index(names.len() + 1), "id");
            }
            if let Some(bad) = bad {
                names.insert(bad_at.index(names.len() + 1), bad);
            }
            if names.is_empty() {
                names.push("title");
            }
            names.into_iter().map(str::to_string).collect()
        })
}

/// An id cell: mostly a fresh user id, sometimes anything else.
fn id_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => any::<u128>().prop_map(|v| uuid::Uuid::from_u128(v).hyphenated().to_string()),
        1 => Just(A.to_string()),
        1 => cell(),
    ]
}

/// Rows for `header`: mostly as wide as it, with an id where it has one.
fn rows(header: Vec<String>) -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    let width = header.len();
    let id_at = header.iter().position(|n| n == "id");
    let row = (
        prop::collection::vec(cell(), width..=width),
        id_cell(),
        prop_oneof![8 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)],
    )
        .prop_map(move |(mut cells, id, stretch)| {
            if let Some(i) = id_at {
                cells[i] = id;
            }
            match stretch {
                -1 => {
                    cells.pop();
                }
                1 => cells.push("x".into()),
                _ => {}
            }
            cells
        });
    (Just(header), prop::collection::vec(row, 0..7))
}

/// A CSV-ish file: a header, rows, any line ending, an optional BOM, blank lines,
/// and maybe no final line ending.
fn csv() -> impl Strategy<Value = Vec<u8>> {
    (
        header().prop_flat_map(rows),
        prop::collection::vec(any::<bool>(), 8),
        prop::sample::select(vec!["\n", "\r\n", "\r"]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|((header, rows), blank_before, eol, bom, final_eol)| {
            let mut s = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            s.push_str(&header.join(","));
            for (row, blank) in rows.iter().zip(blank_before) {
                s.push_str(eol);
                if blank {
                    s.push_str(eol);
                }
                s.push_str(&row.join(","));
            }
            if final_eol {
                s.push_str(eol);
            }
            s.into_bytes()
        })
}

const TEXT_COLUMNS: [&str; 7] = [
    "name",
    "title",
    "department",
    "preferredName",
    "employerInfo.officialName",
    "employerInfo.employeeId",
    "employerInfo.employeeType",
];

/// Text genupdate accepts as it is: no control or invisible character, no
/// whitespace at either end, not the clear marker in any spelling.
fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\\p{C}\\p{Z}][^\\p{C}]{0,10}[^\\p{C}\\p{Z}]",
        "[=+@'\"#, a-z-]{1,6}[a-z]",
        "[^\\p{C}\\p{Z}]",
    ]
    .prop_filter("accepted text", |v| {
        v.trim() == v
            && !v.eq_ignore_ascii_case("#CLEAR")
            && !v.chars().any(|c| {
                matches!(c, '\u{2028}' | '\u{2029}' | '\u{180E}' | '\u{FEFF}')
                    || c.is_whitespace() && c != ' '
            })
    })
}

/// The cell that stands for `v`: a formula, or what the reader would take for an
/// escaped one, gets a leading `'`.
fn escape(v: &str) -> String {
    if v.trim_start_matches('\'').starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_and_every_problem_has_a_line(
        bytes in prop::collection::vec(any::<u8>(), 0..400)
    ) {
        check_file("bytes", &bytes)?;
    }

    #[test]
    fn token_soup_never_panics_and_the_passes_agree(bytes in tokens()) {
        check_file("tokens", &bytes)?;
    }

    #[test]
    fn csv_ish_files_never_panic_and_the_passes_agree(bytes in csv()) {
        check_file("csv", &bytes)?;
    }

    /// Any text written with RFC 4180 quoting (by the csv crate, as other tools
    /// write it) and formula escaping reads back exactly.
    #[test]
    fn rfc_quoted_text_reads_back_exactly(
        columns in prop::sample::subsequence(&TEXT_COLUMNS[..], 1..5),
        rows in prop::collection::vec(prop::collection::vec(text_value(), 4), 1..5),
        always_quote in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let mut w = csv::WriterBuilder::new()
            .quote_style(if always_quote { csv::QuoteStyle::Always } else { csv::QuoteStyle::Necessary })
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        let header: Vec<&str> = std::iter::once("id").chain(columns.iter().copied()).collect();
        w.write_record(&header).unwrap();
        let ids: Vec<String> = (0..rows.len())
            .map(|i| uuid::Uuid::from_u128(0xabc0 + i as u128).hyphenated().to_string())
            .collect();
        for (id, values) in ids.iter().zip(&rows) {
            let cells = std::iter::once(id.clone())
                .chain(values.iter().take(columns.len()).map(|v| escape(v)));
            w.write_record(cells).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        check_file("rfc", &bytes)?;
        let path = write("rfc", &bytes);
        let (_, reader) = open(&path).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let read: Vec<_> = reader.collect();
        prop_assert_eq!(read.len(), rows.len());
        for (got, values) in read.into_iter().zip(&rows) {
            let row = got.map_err(|p| TestCaseError::fail(format!("{p:#?}")))?;
            for (i, v) in values.iter().take(columns.len()).enumerate() {
                prop_assert_eq!(&row.cells[i + 1], &Cell::Set(Value::Text(v.clone())));
                prop_assert_eq!(&row.raw[i + 1], &escape(v));
            }
        }
    }
}
