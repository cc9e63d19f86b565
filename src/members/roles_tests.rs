use super::*;

struct Dir;

impl Directory for Dir {
    fn roles(&self, name: &str) -> Vec<Named> {
        let all = [
            ("r-emp", "Employee"),
            ("r-agent", "Agent"),
            ("r-admin", "Admin"),
            ("r-lite", "Admin Lite"),
            ("r-mail", "Ops@Mail"),
            ("r-both", "Sup@Sales"),
            ("r-sup", "Sup"),
            ("r-dup1", "Twin"),
            ("r-dup2", "Twin"),
        ];
        all.iter()
            .filter(|(_, n)| *n == name)
            .map(|(i, n)| (i.to_string(), n.to_string()))
            .collect()
    }
    fn divisions(&self, name: &str) -> Vec<Named> {
        [("d-home", "Home"), ("d-sales", "Sales")]
            .iter()
            .filter(|(_, n)| *n == name)
            .map(|(i, n)| (i.to_string(), n.to_string()))
            .collect()
    }
    fn home(&self) -> Named {
        ("d-home".into(), "Home".into())
    }
}

fn g(role: &str, division: &str) -> Grant {
    let role_id = format!("r-{}", role.to_lowercase());
    let division_id = match division {
        "*" => "*".to_string(),
        d => format!("d-{}", d.to_lowercase()),
    };
    Grant {
        id: GrantId {
            role_id,
            division_id,
        },
        role_name: role.into(),
        division_name: division.into(),
    }
}

fn held(role: &str, division: &str, subject: &str) -> HeldGrant {
    HeldGrant {
        grant: g(role, division),
        subject_id: subject.into(),
    }
}

#[test]
fn items_resolve_to_role_and_division_split_on_the_last_at() {
    type Case = (
        &'static str,
        Result<(&'static str, &'static str), &'static str>,
    );
    let table: &[Case] = &[
        ("Agent", Ok(("r-agent", "d-home"))),
        ("Agent@Sales", Ok(("r-agent", "d-sales"))),
        ("Agent@*", Ok(("r-agent", "*"))),
        // A role whose name holds an @: the whole text when no division follows.
        ("Ops@Mail", Ok(("r-mail", "d-home"))),
        ("Ops@Mail@Sales", Ok(("r-mail", "d-sales"))),
        // Both readings resolve: refused, the fix is to name the division.
        ("Sup@Sales", Err("ambiguous")),
        ("Sup@Sales@Home", Ok(("r-both", "d-home"))),
        // Prefix trap: the API's name filter matches Admin Lite too.
        ("Admin", Ok(("r-admin", "d-home"))),
        ("admin", Err("no role is named \"admin\"")),
        ("Agent@Nowhere", Err("no division is named \"Nowhere\"")),
        ("Nobody@Sales", Err("no role is named \"Nobody\"")),
        ("Twin", Err("2 roles are named \"Twin\"")),
        ("@Sales", Err("no role name before the @")),
        ("Agent@", Err("no division after the @")),
    ];
    for (item, want) in table {
        let got = resolve(item, &Dir);
        match (want, got) {
            (Ok((role, division)), Ok(grant)) => {
                assert_eq!(
                    (grant.id.role_id.as_str(), grant.id.division_id.as_str()),
                    (*role, *division),
                    "{item}"
                );
            }
            (Err(part), Err(msg)) => assert!(msg.contains(part), "{item}: {msg}"),
            (want, got) => panic!("{item}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn items_always_name_their_division_so_they_resolve_back_to_the_same_grant() {
    for item in [
        "Agent",
        "Agent@Sales",
        "Agent@*",
        "Ops@Mail",
        "Ops@Mail@Sales",
    ] {
        let grant = resolve(item, &Dir).unwrap();
        let again = resolve(&grant.item(), &Dir).unwrap();
        assert_eq!(grant, again, "{item} -> {}", grant.item());
    }
}

#[test]
fn plans_compare_direct_grants_only() {
    let u = "user";
    let current = vec![
        held("Employee", "Home", u),
        held("Agent", "Sales", u),
        held("Sup", "Home", "group-leads"),
        // includeDuplicates: the same grant may be listed twice.
        held("Employee", "Home", u),
    ];
    struct Case {
        name: &'static str,
        want: Want,
        add: Vec<Grant>,
        remove: Vec<Grant>,
    }
    let cases = vec![
        Case {
            name: "replace with the same list is no change",
            want: Want::Replace(vec![g("Agent", "Sales"), g("Employee", "Home")]),
            add: vec![],
            remove: vec![],
        },
        Case {
            name: "replace adds and removes, never the inherited grant",
            want: Want::Replace(vec![g("Employee", "Home"), g("Agent", "*")]),
            add: vec![g("Agent", "*")],
            remove: vec![g("Agent", "Sales")],
        },
        Case {
            name: "clear removes every direct grant and keeps the inherited one",
            want: Want::Replace(vec![]),
            add: vec![],
            remove: vec![g("Employee", "Home"), g("Agent", "Sales")],
        },
        Case {
            name: "add of a held grant is no change",
            want: Want::Edit {
                add: vec![g("Agent", "Sales")],
                remove: vec![],
            },
            add: vec![],
            remove: vec![],
        },
        Case {
            name: "add and remove",
            want: Want::Edit {
                add: vec![g("Admin", "Home")],
                remove: vec![g("Agent", "Sales"), g("Agent", "Home")],
            },
            add: vec![g("Admin", "Home")],
            remove: vec![g("Agent", "Sales")],
        },
        Case {
            name: "removing an inherited grant is nothing to do",
            want: Want::Edit {
                add: vec![],
                remove: vec![g("Sup", "Home")],
            },
            add: vec![],
            remove: vec![],
        },
        Case {
            name: "a grant held only through a group becomes a direct one",
            want: Want::Edit {
                add: vec![g("Sup", "Home")],
                remove: vec![],
            },
            add: vec![g("Sup", "Home")],
            remove: vec![],
        },
    ];
    for c in cases {
        let p = plan(u, &current, &c.want);
        assert_eq!(p.add, c.add, "{}", c.name);
        assert_eq!(p.remove, c.remove, "{}", c.name);
        assert_eq!(p.before, vec![g("Employee", "Home"), g("Agent", "Sales")]);
        assert_eq!(p.inherited, vec![held("Sup", "Home", "group-leads")]);
    }
}

#[test]
fn plan_lines_show_removals_additions_and_inherited_grants() {
    let u = "user";
    let current = vec![held("Agent", "Sales", u), held("Sup", "Home", "grp")];
    let p = plan(u, &current, &Want::Replace(vec![g("Admin", "*")]));
    assert_eq!(
        p.lines(),
        vec![
            "roles: -Agent@Sales",
            "roles: +Admin@*",
            "roles: =Sup@Home (inherited from group grp, kept)",
        ]
    );
    assert!(
        plan(u, &current, &Want::Replace(vec![g("Agent", "Sales")]))
            .lines()
            .is_empty()
    );
}

#[test]
fn a_reread_confirms_or_names_each_grant_not_applied() {
    let u = "user";
    let sent = plan(
        u,
        &[held("Agent", "Sales", u)],
        &Want::Replace(vec![g("Admin", "Home")]),
    );
    let table: Vec<(Vec<HeldGrant>, Vec<&str>)> = vec![
        (vec![held("Admin", "Home", u)], vec![]),
        (
            vec![held("Agent", "Sales", u), held("Admin", "Home", "grp")],
            vec!["+Admin@Home (not granted)", "-Agent@Sales (still granted)"],
        ),
    ];
    for (after, want) in table {
        assert_eq!(unconfirmed(u, &after, &sent), want);
    }
}
