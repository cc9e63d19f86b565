use super::*;
use crate::input::record::Records;

fn scan(header: &str) -> HeaderScan {
    let mut records = Records::new(header.as_bytes());
    let rec = records.next().unwrap().unwrap();
    scan_header(&rec, crate::input::Key::Id)
}

fn messages(header: &str) -> Vec<String> {
    scan(header)
        .problems
        .into_iter()
        .map(|p| p.message)
        .collect()
}

#[test]
fn every_kind_of_column_is_recognised() {
    assert_eq!(classify("id"), Ok(Column::Id));
    for f in ProfileField::ALL {
        assert_eq!(classify(f.header()), Ok(Column::Profile(f)));
    }
    assert_eq!(
        classify("phone:WORK2"),
        Ok(Column::Contact(MediaType::Phone, ContactType::Work2))
    );
    assert_eq!(
        classify("sms:mobile"),
        Ok(Column::Contact(MediaType::Sms, ContactType::Mobile))
    );
    assert_eq!(
        classify("email:Other"),
        Ok(Column::Contact(MediaType::Email, ContactType::Other))
    );
    assert_eq!(
        classify("skill:Billing Tier 2"),
        Ok(Column::Skill("Billing Tier 2".into()))
    );
    assert_eq!(
        classify("language:Spanish"),
        Ok(Column::Language("Spanish".into()))
    );
}

#[test]
fn a_valid_header_becomes_a_header() {
    let header = scan("name,id,skill:Sales").into_header().unwrap();
    assert_eq!(header.id_index, 1);
    assert_eq!(header.names, ["name", "id", "skill:Sales"]);
    assert_eq!(header.columns[2], Column::Skill("Sales".into()));
}

#[test]
fn near_misses_get_a_did_you_mean() {
    // (`Email`, `ID` and `Phone:WORK` were near misses before headers matched in any
    // case; they are columns now, see headers_match_in_any_case.)
    let cases = [
        ("Emial", "email"),
        ("I_D", "id"),
        ("deparment", "department"),
        ("preferred_name", "preferredName"),
        ("dateHire", "employerInfo.dateHire"),
        ("employeeid", "employerInfo.employeeId"),
        ("acdAutoAnswr", "acdAutoAnswer"),
        ("skills:Billing", "skill:Billing"),
        ("Phones:WORK", "phone:WORK"),
        ("phones:home", "phone:HOME"),
    ];
    for (written, meant) in cases {
        let err = classify(written).unwrap_err();
        assert_eq!(
            err,
            format!("unknown column \"{written}\"; did you mean \"{meant}\"?")
        );
    }
}

#[test]
fn far_misses_list_the_columns() {
    let err = classify("colour").unwrap_err();
    assert!(
        err.starts_with("unknown column \"colour\": the columns are id, name, email,"),
        "{err}"
    );
}

#[test]
fn unknown_contact_types_list_the_valid_ones() {
    let err = classify("phone:WROK").unwrap_err();
    assert_eq!(
        err,
        "unknown contact type \"WROK\" in \"phone:WROK\": use one of PRIMARY, WORK, WORK2, WORK3, \
         WORK4, HOME, MOBILE, MAIN, OTHER; did you mean \"phone:WORK\"?"
    );
    assert!(
        classify("sms:cell")
            .unwrap_err()
            .ends_with("did you mean \"sms:MOBILE\"?")
    );
}

#[test]
fn edge_spaces_and_invisible_characters_are_named() {
    assert_eq!(
        classify(" email").unwrap_err(),
        "unknown column \" email\" (it has a leading space); did you mean \"email\"?"
    );
    assert_eq!(
        classify("title ").unwrap_err(),
        "unknown column \"title \" (it has a trailing space); did you mean \"title\"?"
    );
    assert_eq!(
        classify("email\u{200b}").unwrap_err(),
        "unknown column \"email\\u{200B}\" (it contains an invisible character U+200B \
         (zero-width space) at character 6); did you mean \"email\"?"
    );
    assert_eq!(
        classify("name\u{a0}").unwrap_err(),
        "unknown column \"name\\u{00A0}\" (it has a trailing whitespace character U+00A0 \
         (no-break space)); did you mean \"name\"?"
    );
    let err = classify("\u{feff}id").unwrap_err();
    assert!(
        err.contains("U+FEFF (byte-order mark) at character 1"),
        "{err}"
    );
    assert!(err.ends_with("did you mean \"id\"?"), "{err}");
}

#[test]
fn skill_and_language_need_a_clean_name() {
    assert_eq!(
        classify("skill:").unwrap_err(),
        "skill: needs a skill name after the colon, such as skill:Billing"
    );
    assert!(
        classify("language: Spanish")
            .unwrap_err()
            .contains("has a leading space")
    );
    assert!(
        classify("skill")
            .unwrap_err()
            .contains("such as skill:Billing")
    );
    assert!(
        classify("phone")
            .unwrap_err()
            .contains("such as phone:WORK")
    );
}

#[test]
fn a_missing_id_column_is_reported() {
    let s = scan("name,email");
    assert!(s.id_index.is_none());
    assert_eq!(s.problems.len(), 1);
    assert_eq!(s.problems[0].column, None);
    assert!(s.problems[0].message.starts_with("no id column"));
}

#[test]
fn duplicates_name_both_cells() {
    let s = scan("id,email,name,email");
    assert_eq!(s.problems.len(), 1);
    assert_eq!(s.problems[0].column.as_deref(), Some("email"));
    assert_eq!(
        s.problems[0].message,
        "duplicate column \"email\": cells 2 and 4 both hold it; keep one"
    );
    assert_eq!(
        messages("id,phone:work,phone:WORK"),
        [
            "duplicate column \"phone:WORK\" (cell 3): cell 2 \"phone:work\" is the same column; keep one"
        ]
    );
}

#[test]
fn empty_header_cells_are_reported_by_position() {
    let s = scan("id,,name");
    assert_eq!(s.problems.len(), 1);
    assert_eq!(s.problems[0].column, None);
    assert_eq!(
        s.problems[0].message,
        "header cell 2 is empty: name the column or delete it"
    );
}

#[test]
fn trailing_empty_header_cells_are_not_columns() {
    // Excel saves the used range: `id,title,,,`.
    for (header, ignored) in [("id,name,", 1), ("id,name,,,", 3), ("id,name", 0)] {
        let s = scan(header);
        assert!(s.problems.is_empty(), "{header}: {:?}", s.problems);
        assert_eq!((s.names.len(), s.ignored), (2, ignored), "{header}");
    }
    let s = scan(",,");
    assert_eq!(s.ignored, 3);
    assert!(
        s.problems[0].message.starts_with("no id column"),
        "{:?}",
        s.problems
    );
}

#[test]
fn headers_match_in_any_case_and_keep_the_canonical_name() {
    let cases = [
        ("ID", "id"),
        ("Title", "title"),
        ("EMAIL", "email"),
        ("PreferredName", "preferredName"),
        ("EMPLOYERINFO.DATEHIRE", "employerInfo.dateHire"),
        ("Phone:Work", "phone:WORK"),
        ("SMS:mobile", "sms:MOBILE"),
        ("Skill:Billing Tier 2", "skill:Billing Tier 2"),
        ("LANGUAGE:spanish", "language:spanish"),
        ("Manager_Email", "manager"),
    ];
    for (written, name) in cases {
        let (header, at) = match name {
            "id" => (format!("{written},title"), 0),
            _ => (format!("id,{written}"), 1),
        };
        let s = scan(&header);
        assert!(s.problems.is_empty(), "{written}: {:?}", s.problems);
        assert_eq!(s.names[at], name, "{written}");
        assert_eq!(canonical(s.columns[at].as_ref().unwrap()), name);
    }
    assert_eq!(classify("EMAIL:primary"), Err(PRIMARY_EMAIL.to_string()));
    // Two spellings of one column are still one column twice.
    assert_eq!(
        messages("id,Title,title"),
        ["duplicate column \"title\" (cell 3): cell 2 \"Title\" is the same column; keep one"]
    );
}

#[test]
fn every_header_problem_is_reported_and_good_columns_kept() {
    // `Id` was a problem before headers matched in any case.
    let s = scan("Idd,nmae,title,title");
    assert_eq!(s.problems.len(), 4, "{:?}", s.problems);
    assert_eq!(s.columns[2], Some(Column::Profile(ProfileField::Title)));
    assert!(scan("Id,nmae").into_header().is_err());
    assert!(scan("Id,name").into_header().is_ok());
}

#[test]
fn distance_counts_a_swap_as_one_edit() {
    assert_eq!(distance("email", "emial"), 1);
    assert_eq!(distance("", "abc"), 3);
    assert_eq!(distance("kitten", "sitting"), 3);
}

#[test]
fn the_known_columns_are_listed_once() {
    let m = messages("id,colour,flavour,Emial");
    assert!(m[0].contains(": the columns are id, name,"), "{}", m[0]);
    assert_eq!(
        m[1],
        "unknown column \"flavour\" (header cell 2 lists the columns genupdate knows)"
    );
    assert!(m[2].ends_with("did you mean \"email\"?"), "{}", m[2]);
}

#[test]
fn the_primary_email_is_refused_and_never_suggested() {
    for name in ["email:PRIMARY", "email:primary", "email:Primary"] {
        assert_eq!(classify(name), Err(PRIMARY_EMAIL.to_string()), "{name}");
    }
    assert!(PRIMARY_EMAIL.contains("email:PRIMARY cannot be written"));
    // Phones and SMS keep their PRIMARY entries.
    assert_eq!(
        classify("phone:PRIMARY"),
        Ok(Column::Contact(MediaType::Phone, ContactType::Primary))
    );
    let err = classify("email:CELLULAR").unwrap_err();
    assert!(
        err.contains("use one of WORK, WORK2,") && err.contains("the primary email is"),
        "{err}"
    );
    assert_eq!(
        classify("emial:PRIMARY").unwrap_err(),
        "unknown column \"emial:PRIMARY\"; did you mean \"email\"?"
    );
    assert_eq!(suggest("emails:primray"), None);
    assert_eq!(suggest("phones:primray").as_deref(), Some("phone:PRIMARY"));
}
