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
