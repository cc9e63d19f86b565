//! The `division` column: which division a user belongs to, as one division name.
//!
//! A move is `POST /api/v2/authorization/divisions/{divisionId}/objects/USER` with the
//! user's id. The user's current division comes with every user read (it is not an
//! expand), so deciding costs nothing; a move is confirmed by reading the user again.
//! The maximum number of ids per move call is undocumented (Terraform sends one), and
//! no org was at hand to measure it: genupdate sends one user per call.
//!
//! The clear marker is refused at validation: every user is in exactly one division.

/// A division by `(id, name)`.
pub type Named = (String, String);

/// A move from one division to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub from: Named,
    pub to: Named,
}

impl Move {
    /// The plan line: `division: Home -> Sales`.
    pub fn line(&self) -> String {
        format!("division: {} -> {}", self.from.1, self.to.1)
    }

    /// The undo cell: the old division's name.
    pub fn undo_cell(&self) -> String {
        self.from.1.clone()
    }

    /// What a 403 on the move means: the OAuth client needs to edit users in both
    /// divisions.
    pub fn forbidden_hint(&self) -> String {
        format!(
            "moving a user needs Directory > User > Edit (directory:user:edit) in both the \
             division it leaves ({:?}) and the one it joins ({:?})",
            self.from.1, self.to.1
        )
    }
}

/// Decide a move. `current` is the user's `division` as read (`None`: the read did
/// not carry it: read the user again rather than guess). Divisions compare by id.
pub fn plan(current: Option<Named>, wanted: &Named) -> Result<Option<Move>, &'static str> {
    let from = current.ok_or("division")?;
    if from.0 == wanted.0 {
        return Ok(None);
    }
    Ok(Some(Move {
        from,
        to: wanted.clone(),
    }))
}

/// Whether a re-read shows the move: the user's division id is the target's.
pub fn confirmed(after: Option<&str>, mv: &Move) -> bool {
    after == Some(mv.to.0.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, name: &str) -> Named {
        (id.into(), name.into())
    }

    #[test]
    fn a_move_is_planned_only_when_the_division_differs() {
        type Case = (
            Option<Named>,
            Named,
            Result<Option<&'static str>, &'static str>,
        );
        let table: Vec<Case> = vec![
            (
                Some(d("h", "Home")),
                d("s", "Sales"),
                Ok(Some("division: Home -> Sales")),
            ),
            (Some(d("s", "Sales")), d("s", "Sales"), Ok(None)),
            // Compared by id: a renamed division is still the same one.
            (Some(d("s", "Old Sales")), d("s", "Sales"), Ok(None)),
            (None, d("s", "Sales"), Err("division")),
        ];
        for (current, wanted, want) in table {
            let got = plan(current.clone(), &wanted).map(|m| m.map(|m| m.line()));
            assert_eq!(got, want.map(|o| o.map(str::to_string)), "{current:?}");
        }
    }

    #[test]
    fn the_undo_cell_is_the_old_division_and_a_403_names_both_divisions() {
        let mv = plan(Some(d("h", "Home")), &d("r", "Restricted Ops"))
            .unwrap()
            .unwrap();
        assert_eq!(mv.undo_cell(), "Home");
        let hint = mv.forbidden_hint();
        assert!(
            hint.contains("\"Home\"") && hint.contains("\"Restricted Ops\""),
            "{hint}"
        );
        assert!(confirmed(Some("r"), &mv));
        assert!(!confirmed(Some("h"), &mv));
        assert!(!confirmed(None, &mv));
    }
}
