//! The list-cell grammar shared by every membership family (`queues`, `groups`, and
//! the families built on the same core: roles, locations).
//!
//! A list cell holds names separated by `;`. A name that contains `;` writes it as
//! `\;`, and a backslash as `\\`; any other backslash is an error (so a later escape
//! can never change what an old file means). Spaces around a name are dropped
//! (`Support; Billing` is two names); an empty name (`A;;B`, a trailing `;`) is an
//! error, and so is the same name twice. The clear marker `#CLEAR` (decided by the
//! cell rules before this grammar sees the cell) is the empty list, valid only in a
//! replace column. Nothing here starts with `+` or `-`: those are spreadsheet
//! formulas, and the cell rules refuse them as they do for text.
//!
//! A column is a family and an operation: `queues` (replace: exactly these),
//! `queues:add` and `queues:remove` (these, others untouched).

/// A membership family: one kind of thing a user is a member of. Adding a family is
/// a variant here, its header name, and its module under [`crate::members`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Queues,
    Groups,
    /// Role grants, `Role`, `Role@Division` or `Role@*` (src/members/roles.rs).
    Roles,
    /// The user's division: one name, replace only (src/members/division.rs).
    Division,
    /// The user's locations (src/members/locations.rs).
    Locations,
}

impl Family {
    pub const ALL: [Family; 5] = [
        Family::Queues,
        Family::Groups,
        Family::Roles,
        Family::Division,
        Family::Locations,
    ];

    /// The header name of the replace column, and the prefix of the others.
    pub fn header(self) -> &'static str {
        match self {
            Family::Queues => "queues",
            Family::Groups => "groups",
            Family::Roles => "roles",
            Family::Division => "division",
            Family::Locations => "locations",
        }
    }

    /// What one member of the family is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Family::Queues => "queue",
            Family::Groups => "group",
            Family::Roles => "role grant",
            Family::Division => "division",
            Family::Locations => "location",
        }
    }
}

/// What a list column does with its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListOp {
    /// `queues`: exactly these (the clear marker: none).
    Replace,
    /// `queues:add`: these too.
    Add,
    /// `queues:remove`: not these.
    Remove,
    /// `queues:add-unjoined` (queues only): add these without joining them. Undo
    /// files use it to put back a member who had not joined.
    AddUnjoined,
}

impl ListOp {
    pub const ALL: [ListOp; 3] = [ListOp::Replace, ListOp::Add, ListOp::Remove];

    /// The header suffix (`""`, `:add`, `:remove`).
    pub fn suffix(self) -> &'static str {
        match self {
            ListOp::Replace => "",
            ListOp::Add => ":add",
            ListOp::Remove => ":remove",
            ListOp::AddUnjoined => ":add-unjoined",
        }
    }

    /// The operation that undoes this one.
    pub fn inverse(self) -> ListOp {
        match self {
            ListOp::Add | ListOp::AddUnjoined => ListOp::Remove,
            ListOp::Remove | ListOp::Replace => ListOp::Add,
        }
    }
}

/// The operations a family's columns take: every family has the three of
/// [`ListOp::ALL`]; queues also `:add-unjoined` (a queue member's joined state).
pub fn ops(family: Family) -> &'static [ListOp] {
    match family {
        Family::Queues => &[
            ListOp::Replace,
            ListOp::Add,
            ListOp::Remove,
            ListOp::AddUnjoined,
        ],
        Family::Groups | Family::Roles | Family::Locations => &ListOp::ALL,
        // One value: only the replace column.
        Family::Division => &[ListOp::Replace],
    }
}

/// Whether the operation adds names (`:add`, `:add-unjoined`).
pub fn adds(op: ListOp) -> bool {
    matches!(op, ListOp::Add | ListOp::AddUnjoined)
}

/// The header name of a family's column (`queues:add`).
pub fn header(family: Family, op: ListOp) -> String {
    format!("{}{}", family.header(), op.suffix())
}

/// The column a header name means, if it is a list column (exact match).
pub fn classify(name: &str) -> Option<(Family, ListOp)> {
    Family::ALL.into_iter().find_map(|f| {
        ops(f)
            .iter()
            .find(|op| header(f, **op) == name)
            .map(|op| (f, *op))
    })
}

/// Split a list cell's text into names (see the module docs). `Err` says what to fix.
pub fn parse(text: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    let finish = |current: &mut String, names: &mut Vec<String>| -> Result<(), String> {
        let name = current.trim().to_string();
        current.clear();
        if name.is_empty() {
            return Err(
                "has an empty name (two `;` in a row, or one at an end): write the names \
                 separated by single `;`"
                    .into(),
            );
        }
        if names.contains(&name) {
            return Err(format!("names \"{name}\" twice"));
        }
        names.push(name);
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(';') => current.push(';'),
                Some('\\') => current.push('\\'),
                other => {
                    let after = other.map(|c| c.to_string()).unwrap_or_default();
                    return Err(format!(
                        "has `\\{after}`: in a list, a backslash escapes only `;` (`\\;`) \
                         and itself (`\\\\`)"
                    ));
                }
            },
            ';' => finish(&mut current, &mut names)?,
            c => current.push(c),
        }
    }
    finish(&mut current, &mut names)?;
    Ok(names)
}

/// The cell text that [`parse`] reads back as `names` (escapes `\` and `;`).
pub fn encode<S: AsRef<str>>(names: &[S]) -> String {
    let escaped: Vec<String> = names
        .iter()
        .map(|n| n.as_ref().replace('\\', "\\\\").replace(';', "\\;"))
        .collect();
    escaped.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_cells_split_on_unescaped_semicolons() {
        let table: &[(&str, &[&str])] = &[
            ("Support", &["Support"]),
            ("Support;Billing", &["Support", "Billing"]),
            ("Support ; Billing", &["Support", "Billing"]),
            (r"Tier 1\; Escalations", &["Tier 1; Escalations"]),
            (
                r"Tier 1\; Escalations;Billing",
                &["Tier 1; Escalations", "Billing"],
            ),
            (r"back\\slash", &[r"back\slash"]),
            ("Sales Inbound;Tier-2", &["Sales Inbound", "Tier-2"]),
        ];
        for (cell, want) in table {
            let got = parse(cell).unwrap_or_else(|e| panic!("{cell}: {e}"));
            assert_eq!(got, *want, "{cell}");
            assert_eq!(parse(&encode(&got)).unwrap(), got, "round trip of {cell}");
        }
    }

    #[test]
    fn malformed_list_cells_say_what_to_fix() {
        let table = [
            ("A;;B", "empty name"),
            ("A;", "empty name"),
            (";A", "empty name"),
            ("A; ", "empty name"),
            (r"A\x", r"`\x`"),
            ("A\\", "backslash"),
            ("A;A", "twice"),
        ];
        for (cell, want) in table {
            let e = parse(cell).unwrap_err();
            assert!(e.contains(want), "{cell}: {e}");
        }
    }

    #[test]
    fn headers_name_a_family_and_an_operation() {
        assert_eq!(classify("queues"), Some((Family::Queues, ListOp::Replace)));
        assert_eq!(classify("queues:add"), Some((Family::Queues, ListOp::Add)));
        assert_eq!(
            classify("groups:remove"),
            Some((Family::Groups, ListOp::Remove))
        );
        assert_eq!(
            classify("queues:add-unjoined"),
            Some((Family::Queues, ListOp::AddUnjoined))
        );
        assert_eq!(classify("groups:add-unjoined"), None);
        assert_eq!(classify("Queues"), None);
        assert_eq!(classify("queues:replace"), None);
        assert_eq!(header(Family::Groups, ListOp::Add), "groups:add");
        assert_eq!(ListOp::Add.inverse(), ListOp::Remove);
    }
}
