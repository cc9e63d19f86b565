//! The column families `apply` reads, one example each: the single list behind
//! `genupdate columns` and the long help of `genupdate apply` (`apply --help`).
//!
//! To add a family, add one [`Family`] to [`FAMILIES`]:
//! both outputs pick it up, and the tests check that its example header is a column
//! the reader accepts.

/// One family of columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    /// Which part of the list it belongs to.
    pub group: Group,
    /// The column name or pattern (`title`, `phone:TYPE`, `skill:NAME`).
    pub column: &'static str,
    /// An example header for it (`phone:WORK`).
    pub header: &'static str,
    /// An example cell under that header.
    pub cell: &'static str,
    /// What it means and takes, in a line.
    pub about: &'static str,
}

/// The parts of the list, in the order they print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Keys,
    Profile,
    Contacts,
    Routing,
    Memberships,
    Cells,
}

impl Group {
    pub const ALL: [Group; 6] = [
        Group::Keys,
        Group::Profile,
        Group::Contacts,
        Group::Routing,
        Group::Memberships,
        Group::Cells,
    ];

    fn title(self) -> &'static str {
        match self {
            Group::Keys => {
                "Keys (--key chooses the one naming each row's user; the others are values to write)"
            }
            Group::Profile => "Profile fields",
            Group::Contacts => {
                "Contact entries (TYPE: PRIMARY WORK WORK2 WORK3 WORK4 HOME MOBILE MAIN OTHER)"
            }
            Group::Routing => "Skills and languages",
            Group::Memberships => {
                "Memberships (names separated by ;, \\; inside a name; resolved exactly before any write)"
            }
            Group::Cells => "Cells",
        }
    }
}

/// Every column family, one example each.
pub const FAMILIES: &[Family] = &[
    Family {
        group: Group::Keys,
        column: "id",
        header: "id",
        cell: "6a3f0c1e-8d2b-4f5a-9c7e-1b2d3e4f5a6b",
        about: "the Genesys user id: the default key (--key id)",
    },
    Family {
        group: Group::Keys,
        column: "email",
        header: "email",
        cell: "ada.lovelace@example.com",
        about: "the primary email: the key with --key email (any case), else a value",
    },
    Family {
        group: Group::Keys,
        column: "username",
        header: "username",
        cell: "ada.lovelace@example.com",
        about: "the login name: the key with --key username, else a value",
    },
    Family {
        group: Group::Keys,
        column: "employerInfo.employeeId",
        header: "employerInfo.employeeId",
        cell: "E1042",
        about: "the employee id: the key with --key employeeId, else a value",
    },
    Family {
        group: Group::Profile,
        column: "name, title, department, preferredName",
        header: "title",
        cell: "Senior Agent",
        about: "text",
    },
    Family {
        group: Group::Profile,
        column: "manager",
        header: "manager",
        cell: "grace.hopper@example.com",
        about: "the manager's user id or email (resolved before any write)",
    },
    Family {
        group: Group::Profile,
        column: "state",
        header: "state",
        cell: "inactive",
        about: "active or inactive (sent in a request of its own)",
    },
    Family {
        group: Group::Profile,
        column: "acdAutoAnswer",
        header: "acdAutoAnswer",
        cell: "true",
        about: "true or false",
    },
    Family {
        group: Group::Profile,
        column: "employerInfo.officialName, employerInfo.employeeType, employerInfo.dateHire",
        header: "employerInfo.dateHire",
        cell: "2024-02-29",
        about: "employer info: text; dateHire as YYYY-MM-DD",
    },
    Family {
        group: Group::Contacts,
        column: "phone:TYPE",
        header: "phone:WORK",
        cell: "+1 317-555-0142",
        about: "a phone entry, sent in E.164; without + it needs --default-country",
    },
    Family {
        group: Group::Contacts,
        column: "sms:TYPE",
        header: "sms:MOBILE",
        cell: "+13175550199",
        about: "an SMS entry, as for phone",
    },
    Family {
        group: Group::Contacts,
        column: "email:TYPE",
        header: "email:WORK",
        cell: "ada@work.example.com",
        about: "another email entry; not PRIMARY (that is the email column)",
    },
    Family {
        group: Group::Routing,
        column: "skill:NAME",
        header: "skill:Billing",
        cell: "4",
        about: "a routing skill by its name in the org: proficiency 0 to 5",
    },
    Family {
        group: Group::Routing,
        column: "language:NAME",
        header: "language:Spanish",
        cell: "3.5",
        about: "a routing language by its name in the org: proficiency 0 to 5",
    },
    Family {
        group: Group::Memberships,
        column: "queues, queues:add, queues:remove",
        header: "queues:add",
        cell: "Support;Sales Inbound",
        about: "queues: exactly these (queues), or add or remove these; added members joined",
    },
    Family {
        group: Group::Memberships,
        column: "groups, groups:add, groups:remove",
        header: "groups",
        cell: "Team Leads",
        about: "groups, as for queues (#CLEAR in groups: in none)",
    },
    Family {
        group: Group::Memberships,
        column: "roles, roles:add, roles:remove",
        header: "roles:add",
        cell: "Agent@Sales;Supervisor",
        about: "the user's own role grants: Role (home division), Role@Division or Role@*",
    },
    Family {
        group: Group::Memberships,
        column: "division",
        header: "division",
        cell: "Sales",
        about: "moves the user to this division (one name)",
    },
    Family {
        group: Group::Memberships,
        column: "locations, locations:add, locations:remove",
        header: "locations:add",
        cell: "Galway Office",
        about: "the user's locations by name; entries not named keep their notes",
    },
    Family {
        group: Group::Cells,
        column: "(empty)",
        header: "title",
        cell: "",
        about: "leaves the field unchanged",
    },
    Family {
        group: Group::Cells,
        column: "#CLEAR",
        header: "title",
        cell: "#CLEAR",
        about: "clears the field, or removes the skill, language or contact entry",
    },
    Family {
        group: Group::Cells,
        column: "#TEXT:",
        header: "title",
        cell: "#TEXT:Agent\\s",
        about: "exactly the text after it, with escapes \\s \\t \\n \\r \\\\ \\u{200B}",
    },
];

/// The list as text: a heading per group; per family its columns, what they take,
/// and an example header and cell.
pub fn render() -> String {
    let mut out = String::from(
        "Columns (a header row names them; each row sets one user's values; see README \"CSV format\"):\n",
    );
    for group in Group::ALL {
        out.push_str(&format!("\n{}:\n", group.title()));
        for f in FAMILIES.iter().filter(|f| f.group == group) {
            let cell = if f.cell.is_empty() { "(empty)" } else { f.cell };
            out.push_str(&format!("  {}\n", f.column));
            out.push_str(&format!("      {}\n", f.about));
            out.push_str(&format!("      e.g. {} = {cell}\n", f.header));
        }
    }
    out
}

/// `genupdate columns`: the list on stdout.
pub fn columns_command() -> crate::exit::Exit {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed stdout (`| head`) is not an error worth a message.
    let _ = out.write_all(render().as_bytes());
    let _ = out.flush();
    crate::exit::Exit::Success
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Column, ContactType, MediaType, ProfileField};

    #[test]
    fn every_example_header_is_a_column_the_reader_accepts() {
        for f in FAMILIES {
            assert!(
                crate::input::column(f.header).is_ok(),
                "{}: {:?}",
                f.header,
                crate::input::column(f.header)
            );
        }
    }

    #[test]
    fn every_column_the_reader_knows_belongs_to_a_family() {
        let listed = |name: &str| {
            FAMILIES
                .iter()
                .any(|f| f.column.split(", ").any(|c| c == name))
        };
        assert!(listed("id"));
        for field in ProfileField::ALL {
            assert!(listed(field.header()), "{} is not listed", field.header());
        }
        for media in MediaType::ALL {
            assert!(listed(&format!("{}:TYPE", media.prefix())), "{media:?}");
        }
        for t in ContactType::ALL {
            assert!(
                Group::Contacts.title().contains(&format!(" {} ", t.wire()))
                    || Group::Contacts.title().contains(&format!(" {})", t.wire())),
                "{t:?} in the contact types"
            );
        }
        assert!(listed("skill:NAME") && listed("language:NAME"));
        for family in crate::input::Family::ALL {
            assert!(listed(family.header()), "{} is not listed", family.header());
        }
        assert!(listed(crate::input::CLEAR_MARKER) && listed("#TEXT:"));
    }

    #[test]
    fn the_examples_cover_each_kind_of_column() {
        let kinds: Vec<&str> = FAMILIES
            .iter()
            .filter_map(|f| crate::input::column(f.header).ok())
            .map(|c| match c {
                Column::Id => "id",
                Column::Profile(_) => "profile",
                Column::Contact(..) => "contact",
                Column::Skill(_) => "skill",
                Column::Language(_) => "language",
                Column::Member(..) => "member",
            })
            .collect();
        for kind in ["id", "profile", "contact", "skill", "language", "member"] {
            assert!(kinds.contains(&kind), "{kind}");
        }
    }

    #[test]
    fn the_text_has_every_family_with_its_example() {
        let text = render();
        for f in FAMILIES {
            assert!(text.contains(f.column), "{}", f.column);
            assert!(
                text.contains(&format!("e.g. {} = ", f.header)),
                "{}",
                f.header
            );
        }
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    }
}
