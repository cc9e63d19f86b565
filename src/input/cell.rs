//! Checks of single cell values: pure functions from a column and the cell's text to
//! a typed value or a message that names what to fix.
//!
//! Rules, in order (the README's "CSV format" says the same):
//! - An empty cell keeps the current value; exactly `#CLEAR` clears it (where the
//!   field may be cleared). Anything else spelled like the marker (`#clear`,
//!   ` #CLEAR`) is an error rather than a value, so it can never be sent as text.
//! - No cell may contain a control character (tab, line break, ...) or an invisible
//!   formatting character (zero-width space U+200B, byte-order mark, bidi marks, ...):
//!   Genesys fields are single-line and such characters are always accidents.
//! - Typed values (ids, manager, state, acdAutoAnswer, dates, emails, phone numbers,
//!   proficiencies) may be padded with plain spaces, which are ignored.
//! - Phone and SMS numbers must be valid numbers by libphonenumber's rules
//!   ([`crate::phone`]) and are read into E.164 (`+13175550142`): a number without a
//!   leading `+` needs the default country (`--default-country`), there is none
//!   otherwise. Free text
//!   (name, title, department, username, preferredName, employerInfo.officialName,
//!   .employeeId, .employeeType) must not start or end with whitespace: it would be
//!   stored as written and show up as a difference on every later run.
//! - Spreadsheet formulas (CSV injection): a cell that starts with `'` followed by
//!   `=`, `+`, `-` or `@` is read without that one `'` (after further `'`s too:
//!   `''=x` reads as `'=x`). That is how genupdate's report, failed-rows and undo
//!   files neutralise formulas, so they can be fed back; a spreadsheet shows such a
//!   cell as text. A text, username or email cell that starts with `=`, `+`, `-` or
//!   `@` as written is an error that says how to escape it; a phone or SMS cell may
//!   start with `+` (not `=`, `-`, `@`). Typed cells (ids, state, booleans, dates,
//!   proficiencies) cannot start with those characters and say what they expect.
//!
//! The checks borrow from the cell and allocate only for messages, so the validation
//! pass allocates nothing per valid cell.

use super::text::{edge_whitespace, invisible_problem, quote};
use super::{CLEAR_MARKER, Column, MediaType, ProfileField, UserState};
use crate::phone::{self, Country, PhoneError};

mod syntax;
pub(crate) use syntax::parse_uuid;
use syntax::{DateError, check_date, check_email, check_phone, parse_proficiency};

/// A checked cell, borrowing from the record.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Parsed<'a> {
    Keep,
    Clear,
    /// Free text, an email address or a date, as written (typed values without
    /// their surrounding spaces).
    Text(&'a str),
    /// A phone or SMS number in E.164 (`+13175550142`), whatever its spelling in
    /// the file. The one owned value: the number is rewritten.
    Phone(String),
    /// A value written with the `#TEXT:` escape, decoded: exactly what the server
    /// held (padding, control characters and a literal `#CLEAR` included).
    Escaped(String),
    /// A user id (manager), as written without surrounding spaces; any case.
    Uuid(&'a str),
    Bool(bool),
    State(UserState),
    Proficiency(f64),
}

/// A `#TEXT:` cell: free text is taken exactly as decoded; a typed value must still
/// be a valid value of its type once decoded.
fn escaped<'a>(
    column: &Column,
    name: &str,
    raw: &str,
    decoded: Result<String, String>,
    scan: bool,
    country: Option<Country>,
) -> Result<Parsed<'a>, String> {
    let value = decoded.map_err(|e| format!("{name} {}: {e}", quote(raw)))?;
    if kind_of(column) == Kind::Text {
        return Ok(Parsed::Escaped(value));
    }
    Ok(
        match check_cell_with(column, name, &value, scan, country)? {
            Parsed::Text(v) => Parsed::Escaped(v.to_string()),
            Parsed::Uuid(v) => Parsed::Escaped(v.to_ascii_lowercase()),
            Parsed::Keep => Parsed::Keep,
            Parsed::Clear => Parsed::Escaped(value),
            Parsed::Escaped(v) => Parsed::Escaped(v),
            Parsed::Phone(v) => Parsed::Phone(v),
            Parsed::Bool(b) => Parsed::Bool(b),
            Parsed::State(st) => Parsed::State(st),
            Parsed::Proficiency(p) => Parsed::Proficiency(p),
        },
    )
}

const UUID_EXAMPLE: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

/// The `id` cell: a user id in the 8-4-4-4-12 hexadecimal form, any case.
pub(crate) fn check_id(raw: &str) -> Result<u128, String> {
    check_id_with(raw, true)
}

/// [`check_id`]; `scan` false skips the invisible-character scan, for callers that
/// know the whole record is printable ASCII.
pub(crate) fn check_id_with(raw: &str, scan: bool) -> Result<u128, String> {
    if raw.is_empty() {
        return Err("missing id: every row needs the id of the user to update".into());
    }
    if raw == CLEAR_MARKER {
        return Err("id cannot be #CLEAR: every row needs the id of the user to update".into());
    }
    if scan && let Some(msg) = invisible_problem("id", raw) {
        return Err(msg);
    }
    parse_uuid(trim_spaces(raw)).ok_or_else(|| {
        format!(
            "id must be a user id (a UUID such as {UUID_EXAMPLE}), got {}",
            quote(raw)
        )
    })
}

/// Any other cell. `name` is the column's header name, for messages.
#[cfg(test)]
pub(crate) fn check_cell<'a>(
    column: &Column,
    name: &str,
    raw: &'a str,
) -> Result<Parsed<'a>, String> {
    check_cell_with(column, name, raw, true, None)
}

/// [`check_cell`]; `scan` as for [`check_id_with`]; `country` reads phone and SMS
/// numbers written without a leading `+` (`--default-country`).
pub(crate) fn check_cell_with<'a>(
    column: &Column,
    name: &str,
    raw: &'a str,
    scan: bool,
    country: Option<Country>,
) -> Result<Parsed<'a>, String> {
    let b = raw.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return Ok(Parsed::Keep);
    };
    if first == b'#'
        && *column != Column::Id
        && let Some(decoded) = super::escape::decode(raw)
    {
        return escaped(column, name, raw, decoded, scan, country);
    }
    if raw == CLEAR_MARKER {
        return match column {
            Column::Id => check_id(raw).map(|_| Parsed::Keep),
            Column::Profile(f) if !f.clearable() => Err(format!(
                "{name} cannot be cleared (#CLEAR): every user must have one; \
                 leave the cell empty to keep the current value"
            )),
            _ => Ok(Parsed::Clear),
        };
    }
    if scan && let Some(msg) = invisible_problem(name, raw) {
        return Err(msg);
    }
    let kind = kind_of(column);
    // Fast path: no space and no non-ASCII character at either end.
    let plain_edges = first != b' ' && last != b' ' && first.is_ascii() && last.is_ascii();
    let (value, near_marker) = if plain_edges {
        (raw, first == b'#' && raw.eq_ignore_ascii_case(CLEAR_MARKER))
    } else {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(format!(
                "{name} holds only whitespace: leave it empty to keep the current value, \
                 or write #CLEAR to clear it"
            ));
        }
        let value = if kind == Kind::Text {
            raw
        } else {
            trim_spaces(raw)
        };
        if !trimmed.eq_ignore_ascii_case(CLEAR_MARKER)
            && let Some(edges) = edge_whitespace(value)
        {
            return Err(format!("{name} {} has {edges}; remove it", quote(raw)));
        }
        (value, trimmed.eq_ignore_ascii_case(CLEAR_MARKER))
    };
    if near_marker {
        return Err(format!(
            "{name}: write the clear marker exactly as #CLEAR, got {}",
            quote(raw)
        ));
    }
    let value = match formula(value) {
        Formula::Plain(v) | Formula::Escaped(v) => v,
        Formula::Bare(c) if refuses_formula(kind, c) => {
            return Err(formula_problem(name, raw, c, kind));
        }
        Formula::Bare(_) => value,
    };
    let got = || quote(raw);
    match kind {
        Kind::Text => Ok(Parsed::Text(value)),
        Kind::Uuid => match parse_uuid(value) {
            Some(_) => Ok(Parsed::Uuid(value)),
            None => Err(format!(
                "{name} must be the manager's user id (a UUID such as {UUID_EXAMPLE}), got {}",
                got()
            )),
        },
        Kind::Manager if value.contains('@') => match check_email(value) {
            Ok(()) => Ok(Parsed::Text(value)),
            Err(why) => Err(format!(
                "{name} must be the manager's user id or email, got {} ({why})",
                got()
            )),
        },
        Kind::Manager => match parse_uuid(value) {
            Some(_) => Ok(Parsed::Uuid(value)),
            None => Err(format!(
                "{name} must be the manager's user id (a UUID such as {UUID_EXAMPLE}) or \
                 email, got {}",
                got()
            )),
        },
        Kind::State => {
            if value.eq_ignore_ascii_case("active") {
                Ok(Parsed::State(UserState::Active))
            } else if value.eq_ignore_ascii_case("inactive") {
                Ok(Parsed::State(UserState::Inactive))
            } else {
                Err(format!("{name} must be active or inactive, got {}", got()))
            }
        }
        Kind::Bool => {
            if value.eq_ignore_ascii_case("true") {
                Ok(Parsed::Bool(true))
            } else if value.eq_ignore_ascii_case("false") {
                Ok(Parsed::Bool(false))
            } else {
                Err(format!("{name} must be true or false, got {}", got()))
            }
        }
        Kind::Date => match check_date(value) {
            Ok(()) => Ok(Parsed::Text(value)),
            Err(DateError::Format) => Err(format!(
                "{name} must be a date as YYYY-MM-DD, got {}",
                got()
            )),
            Err(DateError::NoSuchDay) => {
                Err(format!("{name} must be a date that exists, got {}", got()))
            }
        },
        Kind::Email => match check_email(value) {
            Ok(()) => Ok(Parsed::Text(value)),
            Err(why) => Err(format!(
                "{name} must be an email address such as jane.doe@example.com, got {} ({why})",
                got()
            )),
        },
        Kind::Phone => match check_phone(value) {
            Ok(()) => match phone::to_e164(value, country) {
                Ok(e164) => Ok(Parsed::Phone(e164)),
                Err(PhoneError::NoCountryCode) => Err(format!(
                    "{name} {} has no country code: write the number with its country code \
                     (+1 317 555 0142), or pass --default-country US (the country of numbers \
                     written without +)",
                    got()
                )),
                Err(why) => Err(format!(
                    "{name} {} is not a valid phone number: {why}",
                    got()
                )),
            },
            Err(why) => Err(format!(
                "{name} must be a phone number (digits, an optional leading +, spaces, \
                 dashes, dots, parentheses), got {} ({why})",
                got()
            )),
        },
        Kind::Proficiency => match parse_proficiency(value) {
            Ok(p) => Ok(Parsed::Proficiency(p)),
            Err(hint) => Err(format!(
                "{name} must be a proficiency from 0 to 5 (such as 3 or 4.5), got {}{hint}",
                got()
            )),
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Uuid,
    /// A user id or an email (resolved to an id before any write).
    Manager,
    State,
    Bool,
    Date,
    Email,
    Phone,
    Proficiency,
}

fn kind_of(column: &Column) -> Kind {
    match column {
        Column::Id => Kind::Uuid,
        Column::Profile(ProfileField::Email) | Column::Contact(MediaType::Email, _) => Kind::Email,
        Column::Profile(ProfileField::Manager) => Kind::Manager,
        Column::Profile(ProfileField::State) => Kind::State,
        Column::Profile(ProfileField::AcdAutoAnswer) => Kind::Bool,
        Column::Profile(ProfileField::DateHire) => Kind::Date,
        Column::Profile(_) => Kind::Text,
        Column::Contact(MediaType::Phone | MediaType::Sms, _) => Kind::Phone,
        Column::Skill(_) | Column::Language(_) => Kind::Proficiency,
    }
}

/// How a value stands to spreadsheet formulas (the module docs have the rule).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Formula<'a> {
    /// Not a formula: the value as it is.
    Plain(&'a str),
    /// `'` then `'`s then `=`, `+`, `-` or `@`: the value without its first `'`.
    Escaped(&'a str),
    /// Starts with this `=`, `+`, `-` or `@` as written.
    Bare(char),
}

/// Whether a spreadsheet runs a cell starting with `b` as a formula.
pub(crate) fn starts_formula(b: u8) -> bool {
    matches!(b, b'=' | b'+' | b'-' | b'@')
}

/// Classify `s` (see [`Formula`]).
pub(crate) fn formula(s: &str) -> Formula<'_> {
    let b = s.as_bytes();
    match b.first() {
        Some(&c) if starts_formula(c) => Formula::Bare(char::from(c)),
        Some(b'\'')
            if b.iter()
                .find(|&&c| c != b'\'')
                .is_some_and(|&c| starts_formula(c)) =>
        {
            // The first byte is ASCII, so 1 is a character boundary.
            Formula::Escaped(&s[1..])
        }
        _ => Formula::Plain(s),
    }
}

/// Whether a cell of `kind` starting with the formula character `c` is refused with
/// the formula message. Typed kinds refuse it anyway, with their own message.
fn refuses_formula(kind: Kind, c: char) -> bool {
    match kind {
        Kind::Text => true,
        // `@x` is not an address either, and "nothing before the @" says why.
        // A manager's email is an email (a UUID never starts with one of them).
        Kind::Email | Kind::Manager => c != '@',
        Kind::Phone => c != '+',
        Kind::Uuid | Kind::State | Kind::Bool | Kind::Date | Kind::Proficiency => false,
    }
}

fn formula_problem(name: &str, raw: &str, c: char, kind: Kind) -> String {
    let phone = if kind == Kind::Phone {
        " (a phone number may start with +, but not with =, - or @)"
    } else {
        ""
    };
    format!(
        "{name} {} starts with {c}{phone}: spreadsheets run a cell that starts with =, +, - \
         or @ as a formula. If it is meant as text, write it with a leading ' ('{c}...), \
         which genupdate removes",
        quote(raw)
    )
}

/// `s` without plain spaces at either end.
fn trim_spaces(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| c != b' ').unwrap_or(b.len());
    let end = b.iter().rposition(|&c| c != b' ').map_or(start, |i| i + 1);
    // Both ends sit next to ASCII spaces, so on character boundaries.
    s.get(start..end).unwrap_or(s)
}

#[cfg(test)]
mod tests;
