//! Row and cell rules: each with a small bad file and the exact line and column
//! reported. The bad row is always on line 3, after a good row on line 2.

mod common;

use common::input::*;

/// A file with `header`, a good row of empty cells (except the id), and `bad` on line 3.
fn file_with(header: &str, bad: &str) -> String {
    let n = header.split(',').count();
    let good: Vec<&str> = std::iter::once(A)
        .chain(std::iter::repeat_n("", n - 1))
        .collect();
    format!("{header}\n{}\n{bad}\n", good.join(","))
}

/// The only problem of a file whose line 3 is `id,<value>` under `id,<column>`.
fn value_problem(column: &str, value: &str) -> genupdate::input::Problem {
    only_problem(&file_with(&format!("id,{column}"), &format!("{B},{value}")))
}

#[test]
fn a_missing_id_is_reported_in_the_id_column() {
    let p = only_problem(&file_with("id,title", ",Agent"));
    assert_problem(
        &p,
        3,
        Some("id"),
        "missing id: every row needs the id of the user to update",
    );
}

#[test]
fn a_malformed_id_is_reported() {
    let out = validate_bin(file_with("id,title", "12345,Agent").as_bytes(), &[]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr_lines()[0],
        "users.csv:3:id: id must be a user id (a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301), \
         got \"12345\""
    );
}

#[test]
fn ids_are_accepted_in_any_case_and_padded_with_spaces() {
    let csv = file_with("id,title", &format!(" {} ,Agent", B.to_uppercase()));
    assert_eq!(problems(&csv), []);
}

#[test]
fn the_same_id_twice_names_the_first_line() {
    let csv = file_with("id,title", &format!("{},Agent", A.to_uppercase()));
    let p = only_problem(&csv);
    assert_problem(
        &p,
        3,
        Some("id"),
        &format!("duplicate id {A}: it is already on line 2"),
    );
}

#[test]
fn clear_in_the_id_column_is_refused() {
    let p = only_problem(&file_with("id,title", "#CLEAR,Agent"));
    assert_problem(&p, 3, Some("id"), "id cannot be #CLEAR");
}

#[test]
fn clear_in_a_field_every_user_has_is_refused() {
    for column in ["name", "email", "username", "state", "acdAutoAnswer"] {
        let p = value_problem(column, "#CLEAR");
        assert_problem(
            &p,
            3,
            Some(column),
            &format!("{column} cannot be cleared (#CLEAR)"),
        );
    }
}

#[test]
fn clear_is_accepted_where_a_field_can_be_cleared() {
    let header = "id,title,manager,employerInfo.dateHire,phone:WORK,email:OTHER,skill:Billing,language:Spanish";
    let row = format!("{B},#CLEAR,#CLEAR,#CLEAR,#CLEAR,#CLEAR,#CLEAR,#CLEAR");
    assert_eq!(problems(&file_with(header, &row)), []);
}

#[test]
fn a_misspelt_clear_marker_is_refused() {
    let p = value_problem("title", "#clear");
    assert_problem(
        &p,
        3,
        Some("title"),
        "write the clear marker exactly as #CLEAR, got \"#clear\"",
    );
}

#[test]
fn too_few_cells_names_the_first_missing_column() {
    let p = only_problem(&file_with("id,name,title,department", &format!("{B},Jane")));
    assert_problem(
        &p,
        3,
        Some("title"),
        "expected 4 cells as in the header, found 2: the row ends before column \"title\"",
    );
}

#[test]
fn too_many_cells_names_no_column() {
    let p = only_problem(&file_with("id,title", &format!("{B},Lead, North,x")));
    assert_problem(
        &p,
        3,
        None,
        "expected 2 cells as in the header, found 4: 2 more than the header has",
    );
}

#[test]
fn acd_auto_answer_is_true_or_false() {
    let p = value_problem("acdAutoAnswer", "yes");
    assert_problem(
        &p,
        3,
        Some("acdAutoAnswer"),
        "acdAutoAnswer must be true or false, got \"yes\"",
    );
    assert_eq!(
        problems(&file_with("id,acdAutoAnswer", &format!("{B},TRUE"))),
        []
    );
}

#[test]
fn state_is_active_or_inactive() {
    let p = value_problem("state", "disabled");
    assert_problem(
        &p,
        3,
        Some("state"),
        "state must be active or inactive, got \"disabled\"",
    );
}

#[test]
fn a_hire_date_must_be_yyyy_mm_dd() {
    let p = value_problem("employerInfo.dateHire", "31/01/2024");
    assert_problem(
        &p,
        3,
        Some("employerInfo.dateHire"),
        "employerInfo.dateHire must be a date as YYYY-MM-DD, got \"31/01/2024\"",
    );
}

#[test]
fn a_hire_date_must_exist() {
    let p = value_problem("employerInfo.dateHire", "2023-02-29");
    assert_problem(
        &p,
        3,
        Some("employerInfo.dateHire"),
        "must be a date that exists, got \"2023-02-29\"",
    );
}

#[test]
fn the_profile_email_must_be_an_address() {
    let p = value_problem("email", "jane.doe.example.com");
    assert_problem(
        &p,
        3,
        Some("email"),
        "email must be an email address such as jane.doe@example.com",
    );
    assert!(p.message.ends_with("(it has no @)"), "{}", p.message);
}

#[test]
fn an_email_contact_must_be_an_address() {
    let p = value_problem("email:WORK", "jane@example");
    assert_problem(&p, 3, Some("email:WORK"), "(the domain has no dot)");
}

#[test]
fn a_phone_contact_must_look_like_a_number() {
    let p = value_problem("phone:MOBILE", "call me");
    assert_problem(
        &p,
        3,
        Some("phone:MOBILE"),
        "phone:MOBILE must be a phone number",
    );
    let p = value_problem("sms:MOBILE", "12");
    assert_problem(&p, 3, Some("sms:MOBILE"), "(it has fewer than 3 digits)");
    let p = value_problem("phone:WORK", "+1 317 555 014");
    assert_problem(
        &p,
        3,
        Some("phone:WORK"),
        "phone:WORK \"+1 317 555 014\" is not a valid phone number: numbers under +1",
    );
    assert_eq!(
        problems(&file_with(
            "id,phone:WORK",
            &format!("{B},+1 (317) 555-0100")
        )),
        []
    );
}

#[test]
fn the_manager_must_be_a_user_id() {
    let p = value_problem("manager", "Maria Keller");
    assert_problem(
        &p,
        3,
        Some("manager"),
        "manager must be the manager's user id",
    );
}

#[test]
fn a_skill_proficiency_is_from_0_to_5() {
    for bad in ["5.5", "-1", "NaN", "high"] {
        let p = value_problem("skill:Billing", bad);
        assert_problem(
            &p,
            3,
            Some("skill:Billing"),
            &format!(
                "skill:Billing must be a proficiency from 0 to 5 (such as 3 or 4.5), got \"{bad}\""
            ),
        );
    }
}

#[test]
fn a_language_proficiency_is_from_0_to_5() {
    let p = value_problem("language:Spanish", "\"3,5\"");
    assert_problem(
        &p,
        3,
        Some("language:Spanish"),
        "; use a dot as the decimal separator",
    );
    assert_eq!(
        problems(&file_with("id,language:Spanish", &format!("{B},4.5"))),
        []
    );
}

#[test]
fn invalid_utf8_names_the_column() {
    let mut csv = format!("id,name,title\n{A},Jane,Agent\n{B},Ren").into_bytes();
    csv.extend_from_slice(b"\xe9,Agent\n");
    let all = problems_bytes(&csv);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_problem(
        &all[0],
        3,
        Some("name"),
        "name is not valid UTF-8: byte 0xE9 at byte 4",
    );
}

#[test]
fn free_text_with_a_leading_or_trailing_space_is_refused() {
    let p = value_problem("title", "\"Agent \"");
    assert_problem(
        &p,
        3,
        Some("title"),
        "title \"Agent \" has a trailing space; remove it",
    );
}

#[test]
fn typed_values_may_be_padded_with_spaces() {
    let csv = file_with(
        "id,state,acdAutoAnswer,skill:Sales",
        &format!("{B}, active , true , 3 "),
    );
    assert_eq!(problems(&csv), []);
}

#[test]
fn a_cell_of_only_spaces_is_refused() {
    let p = value_problem("department", "   ");
    assert_problem(
        &p,
        3,
        Some("department"),
        "department holds only whitespace",
    );
}

#[test]
fn invisible_characters_in_a_cell_are_named() {
    let p = value_problem("name", "Jane\u{200b}Doe");
    assert_problem(
        &p,
        3,
        Some("name"),
        "name contains an invisible character U+200B (zero-width space) at character 5; delete it",
    );
}

#[test]
fn every_bad_cell_of_a_row_is_reported() {
    let csv = file_with(
        "id,state,acdAutoAnswer,skill:Sales",
        &format!("{B},on,yes,9"),
    );
    let all = problems(&csv);
    let columns: Vec<_> = all.iter().map(|p| (p.line, p.column.as_deref())).collect();
    assert_eq!(
        columns,
        [
            (3, Some("state")),
            (3, Some("acdAutoAnswer")),
            (3, Some("skill:Sales"))
        ]
    );
}
