use serde_json::json;

use super::*;

fn hq_with_notes() -> Json {
    json!({
        "coordinates": {},
        "notes": "3rd floor, east wing",
        "locationDefinition": {"id": "l-hq", "selfUri": "/api/v2/locations/l-hq"}
    })
}

fn loc(id: &str, name: &str) -> Named {
    (id.into(), name.into())
}

fn names(id: &str) -> Option<String> {
    match id {
        "l-hq" => Some("Indianapolis HQ".into()),
        "l-gal" => Some("Galway Office".into()),
        "l-rem" => Some("Remote".into()),
        _ => None,
    }
}

#[test]
fn plans_keep_untouched_entries_exactly_and_add_new_ones_by_id() {
    let hq = hq_with_notes();
    let mut hq_written = hq.clone();
    hq_written["id"] = json!("l-hq");
    struct Case {
        name: &'static str,
        current: Vec<Json>,
        want: Want,
        /// (body, added, removed); None: no change.
        out: Option<(Vec<Json>, Vec<&'static str>, Vec<&'static str>)>,
    }
    let cases = vec![
        Case {
            name: "add keeps the notes of the entry already there",
            current: vec![hq.clone()],
            want: Want::Edit {
                add: vec![loc("l-gal", "Galway Office")],
                remove: vec![],
            },
            out: Some((
                vec![hq_written.clone(), json!({"id": "l-gal"})],
                vec!["Galway Office"],
                vec![],
            )),
        },
        Case {
            name: "replace with what is held is no change",
            current: vec![hq.clone()],
            want: Want::Replace(vec![loc("l-hq", "Indianapolis HQ")]),
            out: None,
        },
        Case {
            name: "replace removes and adds",
            current: vec![hq.clone()],
            want: Want::Replace(vec![loc("l-rem", "Remote")]),
            out: Some((
                vec![json!({"id": "l-rem"})],
                vec!["Remote"],
                vec!["Indianapolis HQ"],
            )),
        },
        Case {
            name: "clear empties the list",
            current: vec![hq.clone()],
            want: Want::Replace(vec![]),
            out: Some((vec![], vec![], vec!["Indianapolis HQ"])),
        },
        Case {
            name: "clear of no locations is no change",
            current: vec![],
            want: Want::Replace(vec![]),
            out: None,
        },
        Case {
            name: "remove of a location not held is no change",
            current: vec![hq.clone()],
            want: Want::Edit {
                add: vec![],
                remove: vec![loc("l-rem", "Remote")],
            },
            out: None,
        },
        Case {
            name: "remove keeps the others as read",
            current: vec![
                json!({"id": "l-rem", "locationDefinition": {"id": "l-rem"}}),
                hq.clone(),
            ],
            want: Want::Edit {
                add: vec![],
                remove: vec![loc("l-rem", "Remote")],
            },
            out: Some((vec![hq_written.clone()], vec![], vec!["Remote"])),
        },
    ];
    for c in cases {
        let got = plan(&c.current, &c.want, &names);
        let got = got.map(|p| (p.body, p.added, p.removed));
        let want = c.out.map(|(b, a, r)| {
            (
                b,
                a.into_iter().map(String::from).collect::<Vec<_>>(),
                r.into_iter().map(String::from).collect::<Vec<_>>(),
            )
        });
        assert_eq!(got, want, "{}", c.name);
    }
}

#[test]
fn before_names_come_from_the_entry_or_the_lookup_and_lines_show_the_change() {
    let current = vec![
        hq_with_notes(),
        json!({"locationDefinition": {"id": "l-x", "name": "Named Inline"}}),
    ];
    let p = plan(
        &current,
        &Want::Replace(vec![loc("l-gal", "Galway Office")]),
        &names,
    )
    .unwrap();
    assert_eq!(p.before, vec!["Indianapolis HQ", "Named Inline"]);
    assert_eq!(
        p.lines(),
        vec![
            "locations: -Indianapolis HQ",
            "locations: -Named Inline",
            "locations: +Galway Office"
        ]
    );
}
