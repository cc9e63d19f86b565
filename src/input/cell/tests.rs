use super::*;
use crate::input::ContactType;

const ID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

fn check(column: Column, raw: &str) -> Result<Parsed<'_>, String> {
    let name = match &column {
        Column::Id => "id".to_string(),
        Column::Profile(f) => f.header().to_string(),
        Column::Contact(m, t) => format!("{}:{}", m.prefix(), t.wire()),
        Column::Skill(s) => format!("skill:{s}"),
        Column::Language(s) => format!("language:{s}"),
        Column::Member(f, op) => crate::input::lists::header(*f, *op),
    };
    check_cell(&column, &name, raw)
}

fn profile(f: ProfileField, raw: &str) -> Result<Parsed<'_>, String> {
    check(Column::Profile(f), raw)
}

fn skill(raw: &str) -> Result<Parsed<'_>, String> {
    check(Column::Skill("Billing".into()), raw)
}

#[test]
fn ids_are_hyphenated_uuids_in_any_case() {
    assert_eq!(check_id(ID), Ok(0x3f2504e0_4f89_41d3_9a0c_0305e82c3301));
    assert_eq!(check_id(&ID.to_uppercase()), check_id(ID));
    assert_eq!(check_id(&format!(" {ID} ")), check_id(ID));
    for bad in [
        "42",
        "3f2504e04f8941d39a0c0305e82c3301",
        "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
        "3f2504e0-4f89-41d3-9a0c-0305e82c330g",
        "3f2504e0_4f89-41d3-9a0c-0305e82c3301",
    ] {
        let err = check_id(bad).unwrap_err();
        assert!(err.starts_with("id must be a user id (a UUID"), "{err}");
    }
}

#[test]
fn a_missing_or_cleared_id_is_named() {
    assert!(check_id("").unwrap_err().starts_with("missing id"));
    assert!(
        check_id("#CLEAR")
            .unwrap_err()
            .starts_with("id cannot be #CLEAR")
    );
}

#[test]
fn empty_keeps_and_the_exact_marker_clears() {
    assert_eq!(profile(ProfileField::Title, ""), Ok(Parsed::Keep));
    assert_eq!(profile(ProfileField::Title, "#CLEAR"), Ok(Parsed::Clear));
    assert_eq!(skill("#CLEAR"), Ok(Parsed::Clear));
    let phone = Column::Contact(MediaType::Phone, ContactType::Work);
    assert_eq!(check(phone, "#CLEAR"), Ok(Parsed::Clear));
}

#[test]
fn fields_every_user_has_cannot_be_cleared() {
    for f in ProfileField::ALL.into_iter().filter(|f| !f.clearable()) {
        let err = profile(f, "#CLEAR").unwrap_err();
        assert!(
            err.starts_with(&format!("{} cannot be cleared", f.header())),
            "{err}"
        );
    }
}

#[test]
fn a_misspelt_marker_is_refused_not_sent_as_text() {
    for bad in ["#clear", " #CLEAR", "#CLEAR ", "#Clear"] {
        let err = profile(ProfileField::Title, bad).unwrap_err();
        assert!(
            err.contains("write the clear marker exactly as #CLEAR"),
            "{err}"
        );
    }
}

#[test]
fn booleans_are_true_or_false_in_any_case() {
    assert_eq!(
        profile(ProfileField::AcdAutoAnswer, "TRUE"),
        Ok(Parsed::Bool(true))
    );
    assert_eq!(
        profile(ProfileField::AcdAutoAnswer, " false "),
        Ok(Parsed::Bool(false))
    );
    assert_eq!(
        profile(ProfileField::AcdAutoAnswer, "yes"),
        Err(r#"acdAutoAnswer must be true or false, got "yes""#.into())
    );
}

#[test]
fn state_is_active_or_inactive() {
    assert_eq!(
        profile(ProfileField::State, "Inactive"),
        Ok(Parsed::State(UserState::Inactive))
    );
    assert_eq!(
        profile(ProfileField::State, "enabled"),
        Err(r#"state must be active or inactive, got "enabled""#.into())
    );
}

#[test]
fn dates_are_iso_and_must_exist() {
    let f = ProfileField::DateHire;
    assert_eq!(profile(f, "2024-02-29"), Ok(Parsed::Text("2024-02-29")));
    assert_eq!(
        profile(f, "2023-02-29"),
        Err(r#"employerInfo.dateHire must be a date that exists, got "2023-02-29""#.into())
    );
    for bad in [
        "2023-13-01",
        "03/04/2021",
        "2023-1-01",
        "20230101",
        "2023-01-01T00:00",
    ] {
        let err = profile(f, bad).unwrap_err();
        assert!(err.contains("must be a date as YYYY-MM-DD"), "{bad}: {err}");
    }
}

#[test]
fn manager_is_a_user_id() {
    let upper = ID.to_uppercase();
    assert_eq!(
        profile(ProfileField::Manager, &upper),
        Ok(Parsed::Uuid(upper.as_str()))
    );
    let err = profile(ProfileField::Manager, "Jane Doe").unwrap_err();
    assert!(
        err.starts_with("manager must be the manager's user id"),
        "{err}"
    );
}

#[test]
fn email_syntax() {
    let ok = [
        "jane.doe@example.com",
        "j+tag@sub.example.co.uk",
        "o'neil@example.ie",
        "zoë@exämple.de",
    ];
    for good in ok {
        assert_eq!(
            profile(ProfileField::Email, good),
            Ok(Parsed::Text(good)),
            "{good}"
        );
    }
    let bad = [
        ("jane.doe", "it has no @"),
        ("jane@doe@example.com", "more than one @"),
        ("@example.com", "nothing before the @"),
        ("jane@", "nothing after the @"),
        ("jane@example", "the domain has no dot"),
        ("jane@example..com", "empty part"),
        ("jane..doe@example.com", "dots before the @"),
        ("jane doe@example.com", "contains a space"),
        ("jane@-example.com", "hyphen"),
        ("jane@example.123", "ends in a number"),
        ("ja(ne)@example.com", "not allowed"),
    ];
    for (input, why) in bad {
        let err = check(Column::Contact(MediaType::Email, ContactType::Other), input).unwrap_err();
        assert!(
            err.starts_with("email:OTHER must be an email address"),
            "{err}"
        );
        assert!(err.contains(why), "{input}: {err}");
    }
}

#[test]
fn phone_numbers_are_digits_with_common_punctuation() {
    let phone = || Column::Contact(MediaType::Phone, ContactType::Work);
    for (good, e164) in [
        ("+1 (317) 555-0100", "+13175550100"),
        ("+1.317.555.0100", "+13175550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("  +353 1 234 5678 ", "+35312345678"),
    ] {
        assert_eq!(check(phone(), good), Ok(Parsed::Phone(e164.into())));
    }
    let bad = [
        ("12", "fewer than 3 digits"),
        ("555-0100 x12", "letters"),
        ("1+555", "a + may only come first"),
        ("555/0100", "only digits"),
        ("123456789012345678901", "more than 20 digits"),
    ];
    for (input, why) in bad {
        let err = check(Column::Contact(MediaType::Sms, ContactType::Mobile), input).unwrap_err();
        assert!(
            err.starts_with("sms:MOBILE must be a phone number"),
            "{err}"
        );
        assert!(err.contains(why), "{input}: {err}");
    }
}

#[test]
fn proficiency_is_a_number_from_0_to_5() {
    assert_eq!(skill("0"), Ok(Parsed::Proficiency(0.0)));
    assert_eq!(skill("3.5"), Ok(Parsed::Proficiency(3.5)));
    assert_eq!(skill(" 5 "), Ok(Parsed::Proficiency(5.0)));
    for bad in [
        "6", "5.01", "-1", "NaN", "inf", "1e0", ".5", "5.", "high", "+3", "0x3",
    ] {
        assert_eq!(
            skill(bad),
            Err(format!(
                "skill:Billing must be a proficiency from 0 to 5 (such as 3 or 4.5), got \"{bad}\""
            )),
        );
    }
    let err = skill("3,5").unwrap_err();
    assert!(
        err.ends_with("; use a dot as the decimal separator"),
        "{err}"
    );
}

#[test]
fn free_text_must_not_start_or_end_with_whitespace() {
    assert_eq!(
        profile(ProfileField::Title, "Team Lead"),
        Ok(Parsed::Text("Team Lead"))
    );
    assert_eq!(
        profile(ProfileField::Title, " Team Lead"),
        Err(r#"title " Team Lead" has a leading space; remove it"#.into())
    );
    let err = profile(ProfileField::Department, "Sales\u{a0}").unwrap_err();
    assert!(
        err.contains("a trailing whitespace character U+00A0 (no-break space)"),
        "{err}"
    );
    let err = profile(ProfileField::Name, "   ").unwrap_err();
    assert!(err.starts_with("name holds only whitespace"), "{err}");
}

#[test]
fn invisible_and_control_characters_are_named() {
    let err = profile(ProfileField::Title, "Team\u{200b}Lead").unwrap_err();
    assert_eq!(
        err,
        "title contains an invisible character U+200B (zero-width space) at character 5; delete it"
    );
    let err = profile(ProfileField::Title, "Team\nLead").unwrap_err();
    assert!(
        err.starts_with("title contains a line break at character 5"),
        "{err}"
    );
    assert!(err.contains("unbalanced quote"), "{err}");
    let err = profile(ProfileField::State, "active\t").unwrap_err();
    assert!(err.contains("U+0009 (tab)"), "{err}");
}

#[test]
fn formula_classifies_bare_escaped_and_plain_values() {
    assert_eq!(formula("=1+2"), Formula::Bare('='));
    assert_eq!(formula("@SUM(A1)"), Formula::Bare('@'));
    assert_eq!(formula("'+1212"), Formula::Escaped("+1212"));
    assert_eq!(formula("''=x"), Formula::Escaped("'=x"));
    for plain in ["", "'", "''", "'Tis", "O'Neil", "'#CLEAR", "a=b", "' =x"] {
        assert_eq!(formula(plain), Formula::Plain(plain), "{plain:?}");
    }
}

#[test]
fn an_escaped_formula_is_read_without_its_quote() {
    let title = "'=HYPERLINK(\"http://x\",\"y\")";
    assert_eq!(
        profile(ProfileField::Title, title),
        Ok(Parsed::Text("=HYPERLINK(\"http://x\",\"y\")"))
    );
    assert_eq!(
        profile(ProfileField::Department, "'-"),
        Ok(Parsed::Text("-"))
    );
    assert_eq!(profile(ProfileField::Name, "''@x"), Ok(Parsed::Text("'@x")));
    assert_eq!(
        profile(ProfileField::Name, "'Tis"),
        Ok(Parsed::Text("'Tis"))
    );
    let phone = Column::Contact(MediaType::Phone, ContactType::Work);
    assert_eq!(
        check(phone.clone(), "'+12125558832"),
        Ok(Parsed::Phone("+12125558832".into()))
    );
    assert_eq!(
        check(phone, " '+1 212 555 8832 "),
        Ok(Parsed::Phone("+12125558832".into()))
    );
    assert_eq!(
        profile(ProfileField::Email, "'=x@example.com"),
        Ok(Parsed::Text("=x@example.com"))
    );
    // Still checked after the quote is gone.
    let err = profile(ProfileField::Title, "'=x ").unwrap_err();
    assert!(err.contains("trailing space"), "{err}");
    let err = skill("'-1").unwrap_err();
    assert!(err.contains("must be a proficiency from 0 to 5"), "{err}");
}

#[test]
fn text_and_email_cells_that_start_like_a_formula_are_refused() {
    let fields = [
        ProfileField::Name,
        ProfileField::Title,
        ProfileField::Department,
        ProfileField::Username,
        ProfileField::PreferredName,
        ProfileField::OfficialName,
        ProfileField::EmployeeId,
        ProfileField::EmployeeType,
        ProfileField::Email,
    ];
    for f in fields {
        for bad in [
            "=HYPERLINK(\"x\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
        ] {
            if f == ProfileField::Email && bad.starts_with('@') {
                let err = profile(f, bad).unwrap_err();
                assert!(err.contains("nothing before the @"), "{err}");
                continue;
            }
            let err = profile(f, bad).unwrap_err();
            let c = &bad[..1];
            assert!(
                err.starts_with(&format!("{} {} starts with {c}:", f.header(), quote(bad))),
                "{err}"
            );
            assert!(err.contains("spreadsheets run a cell"), "{err}");
            assert!(err.contains(&format!("leading ' ('{c}...)")), "{err}");
        }
    }
    // Valid addresses by RFC 5322, refused here: a spreadsheet would run them.
    for bad in ["=x@example.com", "+x@example.com", "-x@example.com"] {
        let err = check(Column::Contact(MediaType::Email, ContactType::Work), bad).unwrap_err();
        assert!(err.contains("spreadsheets run a cell"), "{err}");
    }
}

#[test]
fn phone_cells_may_start_with_plus_only() {
    let sms = || Column::Contact(MediaType::Sms, ContactType::Mobile);
    assert_eq!(
        check(sms(), "+13175550142"),
        Ok(Parsed::Phone("+13175550142".into()))
    );
    for bad in ["-5551234", "=5551234", "@5551234"] {
        let err = check(sms(), bad).unwrap_err();
        assert!(
            err.contains("a phone number may start with +, but not with =, - or @"),
            "{err}"
        );
    }
}

#[test]
fn typed_cells_keep_their_own_message_for_formula_starters() {
    let err = skill("-1").unwrap_err();
    assert!(
        err.starts_with("skill:Billing must be a proficiency"),
        "{err}"
    );
    let err = profile(ProfileField::AcdAutoAnswer, "=TRUE()").unwrap_err();
    assert!(err.contains("must be true or false"), "{err}");
    let err = profile(ProfileField::Manager, "@x").unwrap_err();
    assert!(err.contains("manager's user id"), "{err}");
    let err = profile(ProfileField::DateHire, "+2024-01-01").unwrap_err();
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

fn in_country(column: Column, raw: &str, country: &str) -> Result<String, String> {
    let country = country.parse().ok();
    match check_cell_with(&column, "phone:WORK", raw, true, country)? {
        Parsed::Phone(e164) => Ok(e164),
        other => Err(format!("not a phone: {other:?}")),
    }
}

#[test]
fn phone_numbers_become_e164_and_national_ones_need_a_country() {
    let phone = || Column::Contact(MediaType::Phone, ContactType::Work);
    let err = check(phone(), "(317) 555-0142").unwrap_err();
    assert_eq!(
        err,
        "phone:WORK \"(317) 555-0142\" has no country code: write the number with its country \
         code (+1 317 555 0142), or pass --default-country US (the country of numbers written \
         without +)"
    );
    assert_eq!(
        in_country(phone(), "(317) 555-0142", "US").as_deref(),
        Ok("+13175550142")
    );
    assert_eq!(
        in_country(phone(), "020 7946 0958", "gb").as_deref(),
        Ok("+442079460958")
    );
    assert_eq!(
        in_country(phone(), "+1 317 555 0142", "GB").as_deref(),
        Ok("+13175550142")
    );
    let sms = Column::Contact(MediaType::Sms, ContactType::Mobile);
    let err = in_country(sms, "555-0142", "US").unwrap_err();
    assert!(
        err.starts_with("phone:WORK \"555-0142\" is not a valid phone number: numbers under +1"),
        "{err}"
    );
    let err = check(phone(), "+1 555 555 5555").unwrap_err();
    assert!(
        err.contains("is not a valid phone number: it is not a number in use"),
        "{err}"
    );
    // Emails are not touched.
    assert_eq!(
        check(
            Column::Contact(MediaType::Email, ContactType::Work),
            "a@example.com"
        ),
        Ok(Parsed::Text("a@example.com"))
    );
}

#[test]
fn escaped_cells_carry_any_value_the_server_held() {
    // Regression: genupdate refused its own undo file for a trailing space, a tab or a
    // zero-width space, and wrote a title that was literally #CLEAR as the marker.
    use crate::input::escape::encode_value;
    for v in ["Agent ", "a\tb", "zero\u{200B}width", "#CLEAR", "=1+1 "] {
        let cell = encode_value(v);
        assert_eq!(
            profile(ProfileField::Title, &cell),
            Ok(Parsed::Escaped(v.to_string())),
            "{cell:?}"
        );
    }
    // A typed column still checks the decoded value.
    let date = Column::Profile(ProfileField::DateHire);
    assert_eq!(
        check(date.clone(), "#TEXT:2024-02-29"),
        Ok(Parsed::Escaped("2024-02-29".into()))
    );
    assert!(check(date, "#TEXT:tomorrow").is_err());
    assert!(
        profile(ProfileField::Title, "#TEXT:bad\\q")
            .unwrap_err()
            .contains("\\q")
    );
}

#[test]
fn a_manager_email_that_starts_like_a_formula_is_refused() {
    // Regression: input_props found "=x@example.com" accepted as a manager's email.
    let manager = Column::Profile(ProfileField::Manager);
    for raw in ["=x@example.com", "+x@example.com", "-x@example.com"] {
        let e = check_cell(&manager, "manager", raw).unwrap_err();
        assert!(e.contains("formula"), "{raw}: {e}");
    }
    assert!(check_cell(&manager, "manager", "'=x@example.com").is_ok());
}
