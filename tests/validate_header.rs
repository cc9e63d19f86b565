//! Header rules: each with a small bad file and the exact line and column reported.

mod common;

use common::input::*;

/// `header` plus one valid-looking row of empty cells.
fn with_row(header: &str) -> String {
    let cells = header.split(',').count();
    let id_at = header.split(',').position(|h| h == "id");
    let row: Vec<&str> = (0..cells)
        .map(|i| if Some(i) == id_at { A } else { "" })
        .collect();
    format!("{header}\n{}\n", row.join(","))
}

#[test]
fn a_missing_id_column_is_reported_without_a_column() {
    let p = only_problem("name,title\nJane,Agent\n");
    assert_problem(
        &p,
        1,
        None,
        "no id column: the header needs a column named \"id\"",
    );
}

#[test]
fn a_duplicate_column_names_both_cells() {
    let p = only_problem(&with_row("id,email,name,email"));
    assert_problem(
        &p,
        1,
        Some("email"),
        "duplicate column \"email\": cells 2 and 4 both hold it",
    );
}

#[test]
fn contact_columns_differing_only_in_type_case_are_duplicates() {
    let p = only_problem(&with_row("id,phone:work,phone:WORK"));
    assert_problem(
        &p,
        1,
        Some("phone:WORK"),
        "cell 2 \"phone:work\" is the same column",
    );
}

#[test]
fn an_unknown_column_suggests_the_near_miss() {
    // `Email` is the email column since headers match in any case (issue 15).
    let out = validate_bin(with_row("id,Emial,deparment").as_bytes(), &[]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr_lines()[..2],
        [
            "users.csv:1:Emial: unknown column \"Emial\"; did you mean \"email\"?",
            "users.csv:1:deparment: unknown column \"deparment\"; did you mean \"department\"?",
        ]
    );
}

#[test]
fn an_unknown_column_far_from_any_lists_the_columns() {
    let p = only_problem(&with_row("id,colour"));
    assert_problem(
        &p,
        1,
        Some("colour"),
        "unknown column \"colour\": the columns are id, name,",
    );
}

#[test]
fn a_leading_space_in_a_header_is_named() {
    let p = only_problem(&with_row("id, email"));
    assert_problem(
        &p,
        1,
        Some(" email"),
        "unknown column \" email\" (it has a leading space); did you mean \"email\"?",
    );
}

#[test]
fn a_trailing_space_in_a_header_is_named() {
    let p = only_problem(&with_row("id,title "));
    assert_problem(
        &p,
        1,
        Some("title "),
        "(it has a trailing space); did you mean \"title\"?",
    );
}

#[test]
fn a_zero_width_space_in_a_header_is_named() {
    let p = only_problem(&with_row("id,name\u{200b}"));
    assert_problem(
        &p,
        1,
        Some("name\u{200b}"),
        "unknown column \"name\\u{200B}\" (it contains an invisible character U+200B \
         (zero-width space) at character 5); did you mean \"name\"?",
    );
}

#[test]
fn a_no_break_space_in_a_header_is_named() {
    let p = only_problem(&with_row("id,\u{a0}title"));
    assert_problem(
        &p,
        1,
        Some("\u{a0}title"),
        "leading whitespace character U+00A0 (no-break space)",
    );
}

#[test]
fn a_byte_order_mark_inside_the_header_is_named() {
    // The BOM at the start is stripped; a second one (files concatenated) is not.
    let csv = format!("\u{feff}\u{feff}id,name\n{A},Jane\n");
    let all = problems(&csv);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_problem(
        &all[0],
        1,
        Some("\u{feff}id"),
        "U+FEFF (byte-order mark) at character 1",
    );
    assert_problem(&all[1], 1, None, "no id column");
}

#[test]
fn an_empty_header_cell_is_reported_by_position() {
    // Between named cells; trailing empty cells are not columns (issue 15).
    let p = only_problem(&format!("id,,name\n{A},,Jane\n"));
    assert_problem(
        &p,
        1,
        None,
        "header cell 2 is empty: name the column or delete it",
    );
}

#[test]
fn a_skill_column_needs_a_name() {
    let p = only_problem(&with_row("id,skill:"));
    assert_problem(
        &p,
        1,
        Some("skill:"),
        "skill: needs a skill name after the colon, such as skill:Billing",
    );
}

#[test]
fn a_language_name_must_not_start_with_a_space() {
    let p = only_problem(&with_row("id,language: Spanish"));
    assert_problem(
        &p,
        1,
        Some("language: Spanish"),
        "the language name \" Spanish\" in",
    );
}

#[test]
fn an_unknown_contact_type_lists_the_valid_ones() {
    let p = only_problem(&with_row("id,phone:CELL"));
    assert_problem(
        &p,
        1,
        Some("phone:CELL"),
        "unknown contact type \"CELL\" in \"phone:CELL\": use one of PRIMARY, WORK, WORK2, WORK3, \
         WORK4, HOME, MOBILE, MAIN, OTHER; did you mean \"phone:MOBILE\"?",
    );
}

#[test]
fn contact_types_are_accepted_in_any_case() {
    assert_eq!(
        problems(&with_row("id,phone:work,sms:Mobile,email:OTHER")),
        []
    );
}

#[test]
fn every_header_column_kind_is_accepted() {
    let header = "id,name,email,title,department,username,preferredName,manager,state,acdAutoAnswer,\
                  employerInfo.officialName,employerInfo.employeeId,employerInfo.employeeType,\
                  employerInfo.dateHire,phone:PRIMARY,email:WORK2,sms:HOME,skill:Billing,language:Spanish";
    assert_eq!(problems(&with_row(header)), []);
}

#[test]
fn rows_are_still_checked_when_the_header_has_problems() {
    let csv = format!("id,Titel,state\n{A},x,on\n");
    let all = problems(&csv);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_problem(&all[0], 1, Some("Titel"), "did you mean \"title\"?");
    assert_problem(&all[1], 2, Some("state"), "got \"on\"");
}
