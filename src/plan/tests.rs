use super::*;
use crate::input::{ContactType, MediaType};
use crate::model::{Contact, ManagerRef};

/// The plan, for rows these tests know are not refused.
fn plan(h: &Header, r: &Row, u: &User, ids: &RoutingIds) -> Plan {
    super::plan(h, r, u, ids).expect("not refused")
}

const ID: &str = "00000000-0000-4000-8000-000000000001";

fn header(names: &[&str]) -> Header {
    let columns = names
        .iter()
        .map(|n| match *n {
            "id" => Column::Id,
            "phone:WORK" => Column::Contact(MediaType::Phone, ContactType::Work),
            "email:HOME" => Column::Contact(MediaType::Email, ContactType::Home),
            n if n.starts_with("skill:") => Column::Skill(n[6..].into()),
            n if n.starts_with("language:") => Column::Language(n[9..].into()),
            n => Column::Profile(
                *ProfileField::ALL
                    .iter()
                    .find(|f| f.header() == n)
                    .unwrap_or_else(|| panic!("test header {n}")),
            ),
        })
        .collect();
    Header {
        names: names.iter().map(|s| s.to_string()).collect(),
        columns,
        id_index: 0,
        key: crate::input::Key::Id,
        format: Default::default(),
    }
}

fn row(cells: Vec<Cell>) -> Row {
    let mut all = vec![Cell::Keep];
    all.extend(cells);
    Row {
        line: 2,
        id: ID.into(),
        key: ID.into(),
        raw: vec![String::new(); all.len()],
        cells: all,
    }
}

fn set(s: &str) -> Cell {
    Cell::Set(Value::Text(s.into()))
}

fn user() -> User {
    User {
        id: ID.into(),
        name: Some("Ada Lovelace".into()),
        title: Some("Agent".into()),
        department: Some("Sales".into()),
        state: Some("active".into()),
        acd_auto_answer: Some(false),
        manager: Some(ManagerRef {
            id: "00000000-0000-4000-8000-000000000009".into(),
            self_uri: None,
        }),
        addresses: vec![Contact {
            address: Some("+15550001".into()),
            display: Some("+15550001".into()),
            media_type: Some("PHONE".into()),
            kind: Some("MOBILE".into()),
            ..Contact::default()
        }],
        employer_info: Some(EmployerInfo {
            employee_id: Some("E1".into()),
            ..EmployerInfo::default()
        }),
        skills: Some(vec![UserRoutingSkill {
            id: "sk-billing".into(),
            proficiency: 3.0,
            ..Default::default()
        }]),
        languages: Some(vec![]),
        version: 7,
        ..User::default()
    }
}

#[test]
fn a_row_whose_values_already_hold_plans_nothing() {
    let h = header(&["id", "name", "title", "acdAutoAnswer", "skill:Billing"]);
    let r = row(vec![
        set("Ada Lovelace"),
        set("Agent"),
        Cell::Set(Value::Bool(false)),
        Cell::Set(Value::Proficiency(3.0)),
    ]);
    let p = plan(
        &h,
        &r,
        &user(),
        &vec![None, None, None, None, Some("sk-billing".into())],
    );
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn only_changed_fields_are_sent_and_empty_cells_are_never_sent() {
    let h = header(&["id", "title", "department"]);
    let r = row(vec![set("Senior Agent"), Cell::Keep]);
    let p = plan(&h, &r, &user(), &vec![None; 3]);
    assert_eq!(p.profile.len(), 1);
    assert_eq!(p.profile["title"], "Senior Agent");
    assert_eq!(p.profile_changes[0].before, "Agent");
    assert_eq!(p.profile_changes[0].after, "Senior Agent");
}

#[test]
fn state_is_planned_apart_from_the_profile_patch() {
    let h = header(&["id", "state", "title"]);
    let r = row(vec![
        Cell::Set(Value::State(UserState::Inactive)),
        set("Leaver"),
    ]);
    let p = plan(&h, &r, &user(), &vec![None; 3]);
    assert!(!p.profile.contains_key("state"));
    assert_eq!(p.state.as_ref().map(|(s, _)| *s), Some(UserState::Inactive));
    assert_eq!(p.profile["title"], "Leaver");
}

#[test]
fn contacts_merge_by_media_type_and_type_keeping_the_others() {
    let h = header(&["id", "phone:WORK"]);
    let p = plan(&h, &row(vec![set("+15559999")]), &user(), &vec![None; 2]);
    let addresses: Vec<Contact> = serde_json::from_value(p.profile["addresses"].clone()).unwrap();
    assert_eq!(
        addresses.len(),
        2,
        "the MOBILE entry the row does not name is kept"
    );
    assert!(
        addresses
            .iter()
            .any(|c| c.kind.as_deref() == Some("MOBILE"))
    );
    assert!(addresses.iter().any(|c| c.kind.as_deref() == Some("WORK") && c.address.as_deref() == Some("+15559999")));
    assert_eq!(p.profile_changes[0].before, "");
}

#[test]
fn clearing_a_contact_removes_only_that_entry_and_clearing_an_absent_one_is_a_no_op() {
    let mut u = user();
    u.addresses.push(Contact {
        address: Some("+15551234".into()),
        media_type: Some("PHONE".into()),
        kind: Some("WORK".into()),
        ..Contact::default()
    });
    let h = header(&["id", "phone:WORK"]);
    let p = plan(&h, &row(vec![Cell::Clear]), &u, &vec![None; 2]);
    let addresses: Vec<Contact> = serde_json::from_value(p.profile["addresses"].clone()).unwrap();
    assert_eq!(addresses.len(), 1);
    assert_eq!(p.profile_changes[0].before, "+15551234");
    assert!(plan(&h, &row(vec![Cell::Clear]), &user(), &vec![None; 2]).is_empty());
}

#[test]
fn two_entries_of_the_named_type_refuse_the_row() {
    let h = header(&["id", "phone:WORK"]);
    let mut u = user();
    for n in ["+15551234", "+15554321"] {
        u.addresses.push(Contact {
            address: Some(n.into()),
            media_type: Some("PHONE".into()),
            kind: Some("WORK".into()),
            ..Contact::default()
        });
    }
    let refused = super::plan(&h, &row(vec![set("+15550000")]), &u, &vec![None; 2]);
    assert_eq!(
        refused,
        Err(Refusal::AmbiguousContact {
            field: "phone:WORK".into(),
            count: 2
        })
    );
}

#[test]
fn employer_info_is_sent_whole_with_untouched_subfields_kept() {
    let h = header(&["id", "employerInfo.dateHire"]);
    let p = plan(&h, &row(vec![set("2024-02-29")]), &user(), &vec![None; 2]);
    assert_eq!(p.profile["employerInfo"]["employeeId"], "E1");
    assert_eq!(p.profile["employerInfo"]["dateHire"], "2024-02-29");
}

#[test]
fn manager_is_compared_by_id_and_cleared_with_an_empty_string() {
    let h = header(&["id", "manager"]);
    let same = row(vec![set("00000000-0000-4000-8000-000000000009")]);
    assert!(plan(&h, &same, &user(), &vec![None; 2]).is_empty());
    let p = plan(&h, &row(vec![Cell::Clear]), &user(), &vec![None; 2]);
    assert_eq!(p.profile["manager"], "");
}

#[test]
fn skills_are_set_changed_or_removed_only_when_they_differ() {
    let h = header(&["id", "skill:Billing", "skill:Sales", "language:Spanish"]);
    let ids = vec![
        None,
        Some("sk-billing".into()),
        Some("sk-sales".into()),
        Some("lang-es".into()),
    ];
    let r = row(vec![
        Cell::Clear,
        Cell::Set(Value::Proficiency(4.5)),
        Cell::Clear,
    ]);
    let p = plan(&h, &r, &user(), &ids);
    let writes: Vec<(RoutingKind, &str, Option<f64>)> = p
        .routing
        .iter()
        .map(|w| (w.kind, w.id.as_str(), w.proficiency))
        .collect();
    assert_eq!(
        writes,
        vec![
            (RoutingKind::Skill, "sk-billing", None),
            (RoutingKind::Skill, "sk-sales", Some(4.5))
        ],
        "removing a language the user lacks is a no-op"
    );
    let undo: Vec<String> = p
        .routing
        .iter()
        .map(|w| w.change.undo_cell(&h.columns[w.change.column]))
        .collect();
    assert_eq!(undo, vec!["3".to_string(), CLEAR_MARKER.to_string()]);
}

#[test]
fn undo_cells_restore_old_values_and_clear_what_was_empty() {
    let h = header(&["id", "title", "preferredName", "acdAutoAnswer"]);
    let r = row(vec![set("Lead"), set("Ada"), Cell::Set(Value::Bool(true))]);
    let p = plan(&h, &r, &user(), &vec![None; 4]);
    let undo: Vec<String> = p
        .changes()
        .iter()
        .map(|c| c.undo_cell(&h.columns[c.column]))
        .collect();
    assert_eq!(
        undo,
        vec![
            "Agent".to_string(),
            CLEAR_MARKER.to_string(),
            "false".to_string()
        ]
    );
}

#[test]
fn proficiencies_print_without_a_needless_decimal() {
    assert_eq!(fmt_prof(Some(3.0)), "3");
    assert_eq!(fmt_prof(Some(2.5)), "2.5");
    assert_eq!(fmt_prof(None), "");
}

#[test]
fn a_phone_number_stored_in_e164_or_only_in_display_is_compared_in_e164() {
    // Validation turns the cell into E.164 (`(317) 555-0100` with --default-country US
    // is +13175550100); the stored entry may carry the number only in `display`.
    let h = header(&["id", "phone:WORK"]);
    let mut u = user();
    u.addresses.push(Contact {
        display: Some("+1 317-555-0100".into()),
        extension: Some("100".into()),
        media_type: Some("PHONE".into()),
        kind: Some("WORK".into()),
        ..Contact::default()
    });
    assert!(plan(&h, &row(vec![set("+13175550100")]), &u, &vec![None; 2]).is_empty());
    assert!(!plan(&h, &row(vec![set("+13175550101")]), &u, &vec![None; 2]).is_empty());
}

#[test]
fn the_requests_of_a_plan_are_counted_as_execute_sends_them() {
    let h = header(&[
        "id",
        "title",
        "state",
        "employerInfo.dateHire",
        "skill:Billing",
        "skill:Sales",
        "language:Spanish",
    ]);
    let ids = vec![
        None,
        None,
        None,
        None,
        Some("sk-billing".into()),
        Some("sk-sales".into()),
        Some("lang-es".into()),
    ];
    let keep = || Cell::Keep;
    // (cells after id, requests): a profile PATCH, a state PATCH, employerInfo's
    // confirming read, one skill set request for any number up to 50, one DELETE each.
    let cases: Vec<(Vec<Cell>, u32)> = vec![
        (vec![keep(), keep(), keep(), keep(), keep(), keep()], 0),
        (vec![set("Lead"), keep(), keep(), keep(), keep(), keep()], 1),
        (
            vec![
                set("Lead"),
                Cell::Set(Value::State(UserState::Inactive)),
                keep(),
                keep(),
                keep(),
                keep(),
            ],
            2,
        ),
        (
            vec![keep(), keep(), set("2024-02-29"), keep(), keep(), keep()],
            2,
        ),
        (
            vec![
                keep(),
                keep(),
                keep(),
                Cell::Set(Value::Proficiency(2.0)),
                Cell::Set(Value::Proficiency(5.0)),
                keep(),
            ],
            1,
        ),
        (vec![keep(), keep(), keep(), Cell::Clear, keep(), keep()], 1),
    ];
    for (cells, want) in cases {
        let p = plan(&h, &row(cells.clone()), &user(), &ids);
        assert_eq!(p.requests(), want, "{cells:?}: {p:?}");
    }
}
