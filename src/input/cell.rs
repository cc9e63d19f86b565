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
//!   proficiencies) may be padded with plain spaces, which are ignored. Free text
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

/// A checked cell, borrowing from the record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Parsed<'a> {
    Keep,
    Clear,
    /// Free text, an email address, a date or a phone number, as written
    /// (typed values without their surrounding spaces).
    Text(&'a str),
    /// A user id (manager), as written without surrounding spaces; any case.
    Uuid(&'a str),
    Bool(bool),
    State(UserState),
    Proficiency(f64),
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
    check_cell_with(column, name, raw, true)
}

/// [`check_cell`]; `scan` as for [`check_id_with`].
pub(crate) fn check_cell_with<'a>(
    column: &Column,
    name: &str,
    raw: &'a str,
    scan: bool,
) -> Result<Parsed<'a>, String> {
    let b = raw.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return Ok(Parsed::Keep);
    };
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
            Ok(()) => Ok(Parsed::Text(value)),
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
        Column::Profile(ProfileField::Manager) => Kind::Uuid,
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
        Kind::Email => c != '@',
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

/// A UUID in the hyphenated 8-4-4-4-12 form, any case. Braced, URN and unhyphenated
/// forms are refused: Genesys always writes ids hyphenated, and so should the file.
pub(crate) fn parse_uuid(s: &str) -> Option<u128> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    // Hex digits to values, anything else to 0xFF; OR-ing them all finds a bad one.
    const HEX: [u8; 256] = {
        let mut t = [0xFF; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let mut v: u128 = 0;
    let mut bad = 0u8;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let d = HEX[c as usize];
        bad |= d;
        v = (v << 4) | u128::from(d & 0x0F);
    }
    (bad & 0xF0 == 0).then_some(v)
}

enum DateError {
    Format,
    NoSuchDay,
}

fn check_date(s: &str) -> Result<(), DateError> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return Err(DateError::Format);
    }
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&m) {
        return Err(DateError::Format);
    }
    match chrono::NaiveDate::from_ymd_opt(y as i32, m, d) {
        Some(_) => Ok(()),
        None => Err(DateError::NoSuchDay),
    }
}

/// A practical address syntax, not all of RFC 5322: one `@`; a local part of letters,
/// digits and ``!#$%&'*+/=?^_`{|}~.-`` without leading, trailing or doubled dots; a
/// domain of at least two dot-separated labels of letters, digits and inner hyphens.
/// Non-ASCII letters are allowed (internationalised addresses). No quoted local
/// parts, comments or IP literals: Genesys users never have them.
fn check_email(s: &str) -> Result<(), &'static str> {
    let Some((local, domain)) = s.split_once('@') else {
        return Err("it has no @");
    };
    if domain.contains('@') {
        return Err("it has more than one @");
    }
    if local.is_empty() {
        return Err("nothing before the @");
    }
    if domain.is_empty() {
        return Err("nothing after the @");
    }
    if s.len() > 254 || local.len() > 64 {
        return Err("it is too long");
    }
    if s.contains(' ') {
        return Err("it contains a space");
    }
    let local_ok = local.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '!' | '#'
                    | '$'
                    | '%'
                    | '&'
                    | '\''
                    | '*'
                    | '+'
                    | '/'
                    | '='
                    | '?'
                    | '^'
                    | '_'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
                    | '~'
                    | '.'
                    | '-'
            )
            || (!c.is_ascii() && c.is_alphanumeric())
    });
    if !local_ok {
        return Err("a character before the @ is not allowed");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("dots before the @ must be single and inside");
    }
    let mut labels = 0;
    let mut tld = "";
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("the domain has an empty part");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("the domain may hold only letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part of the domain starts or ends with a hyphen");
        }
        labels += 1;
        tld = label;
    }
    if labels < 2 {
        return Err("the domain has no dot");
    }
    if tld.bytes().all(|c| c.is_ascii_digit()) {
        return Err("the domain ends in a number");
    }
    Ok(())
}

/// A plausible phone number, as people write them: digits with optional spaces,
/// dashes, dots and parentheses, an optional leading `+`, 3 to 20 digits (short
/// internal numbers to international ones with a dialling prefix). Letters, so also
/// extensions such as `x123`, are refused. The value is kept as written; Genesys
/// stores the address as given.
fn check_phone(s: &str) -> Result<(), &'static str> {
    let mut digits = 0;
    for (i, c) in s.char_indices() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '-' | '.' | '(' | ')' => {}
            '+' if i == 0 => {}
            '+' => return Err("a + may only come first"),
            c if c.is_alphabetic() => return Err("letters are not allowed"),
            _ => return Err("only digits, +, spaces, dashes, dots and parentheses are allowed"),
        }
    }
    match digits {
        0..=2 => Err("it has fewer than 3 digits"),
        3..=20 => Ok(()),
        _ => Err("it has more than 20 digits"),
    }
}

/// `D+` or `D+.D+`, from 0 to 5. No sign, exponent, `NaN` or `inf`: the syntax check
/// runs before `f64` parsing. The error is a hint to append to the message.
fn parse_proficiency(s: &str) -> Result<f64, &'static str> {
    let b = s.as_bytes();
    let int_end = b
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(b.len());
    let frac_ok = match &b[int_end..] {
        [] => true,
        [b'.', rest @ ..] => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
        [b',', rest @ ..]
            if int_end > 0 && !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) =>
        {
            return Err("; use a dot as the decimal separator");
        }
        _ => false,
    };
    if int_end == 0 || !frac_ok {
        return Err("");
    }
    match s.parse::<f64>() {
        Ok(v) if (0.0..=5.0).contains(&v) => Ok(v),
        _ => Err(""),
    }
}

#[cfg(test)]
mod tests;
