//! The header row: which column is which, and every problem with it.
//!
//! Names are matched in any case (`ID`, `Title`, `EMAIL`, `Phone:work`,
//! `Skill:Billing`), as spreadsheets and HR exports capitalise them, and kept in
//! their canonical spelling (`id`, `title`, `phone:WORK`, `skill:Billing`) for
//! messages and for the files a run writes. A skill or language name keeps its case
//! (it is matched in any case against the org's). Empty header cells after the last
//! named one (Excel's trailing delimiters, `id,title,,,`) are not columns; an empty
//! cell between named ones is a problem. Anything else is an unknown column, reported
//! with a "did you mean" when a known name is close: the same name in another case
//! or with other separators (`Email`, `preferred_name`), a short name for an
//! `employerInfo.` field (`dateHire`), or a small edit distance (`deparment`).
//! Leading or trailing whitespace and invisible characters (a zero-width space, a
//! no-break space, a stray byte-order mark) are named explicitly: they are the
//! reason a column that looks right is not recognised.
//!
//! `email:PRIMARY` (in any case) is refused: the primary email is the `email` column,
//! and the API answers 400 to a changed PRIMARY email entry. Suggestions never point
//! at it.
//!
//! Scanning never stops at the first problem, and it keeps what it recognised, so
//! validation can still check the rows of the good columns when others are bad.

use std::collections::HashMap;

use super::record::Record;
use super::text::{
    describe_invisible, edge_whitespace, first_invisible, invalid_utf8, is_invisible, quote,
};
use super::{Column, ContactType, FileFormat, Header, Key, MediaType, Problem, ProfileField};

/// What the header row says, problems included.
pub(crate) struct HeaderScan {
    pub line: u64,
    /// The canonical name of each recognised column; other cells as written (invalid
    /// UTF-8 replaced, for messages only). Trailing empty cells are not included.
    pub names: Vec<String>,
    /// `None` for a cell that is not a usable column.
    pub columns: Vec<Option<Column>>,
    /// The key column (`id`, or the column `--key` names).
    pub id_index: Option<usize>,
    pub key: Key,
    pub problems: Vec<Problem>,
    /// Empty header cells after the last named one: not columns, and their cells in
    /// the rows must be empty.
    pub ignored: usize,
    /// The file's delimiter and byte-order mark.
    pub format: FileFormat,
}

impl HeaderScan {
    /// The header, when it has no problems.
    pub fn into_header(self) -> Result<Header, Vec<Problem>> {
        match (self.problems.is_empty(), self.id_index) {
            (true, Some(id_index)) => Ok(Header {
                names: self.names,
                columns: self.columns.into_iter().flatten().collect(),
                id_index,
                key: self.key,
                format: self.format,
            }),
            _ => Err(self.problems),
        }
    }
}

/// Read the header record into columns and problems.
pub(crate) fn scan_header(rec: &Record<'_>, key: Key) -> HeaderScan {
    let line = rec.line;
    let mut scan = HeaderScan {
        line,
        names: Vec::with_capacity(rec.len()),
        columns: Vec::with_capacity(rec.len()),
        id_index: None,
        key,
        problems: Vec::new(),
        ignored: 0,
        format: FileFormat::default(),
    };
    if rec.oversized {
        scan.problems.push(super::validate::oversized(rec));
        return scan;
    }
    if let Some(q) = rec.stray_quote {
        scan.problems.push(Problem {
            line,
            column: None,
            message: format!("header cell {} {}", q.field + 1, q.message()),
        });
    }
    let mut seen: HashMap<Column, usize> = HashMap::new();
    let mut listed_at = None;
    let used = (0..rec.len())
        .rev()
        .find(|&i| !rec.field(i).is_empty())
        .map_or(0, |i| i + 1);
    scan.ignored = rec.len() - used;
    for (i, bytes) in rec.fields().enumerate().take(used) {
        let problem = |column: Option<&str>, message: String| Problem {
            line,
            column: column.map(str::to_string),
            message,
        };
        let name = match std::str::from_utf8(bytes) {
            Ok(name) => name,
            Err(e) => {
                let msg = format!("header cell {} {}", i + 1, invalid_utf8(bytes, &e));
                scan.problems.push(problem(None, msg));
                scan.names.push(String::from_utf8_lossy(bytes).into_owned());
                scan.columns.push(None);
                continue;
            }
        };
        scan.names.push(name.to_string());
        if name.is_empty() {
            let msg = format!(
                "header cell {} is empty: name the column or delete it",
                i + 1
            );
            scan.problems.push(problem(None, msg));
            scan.columns.push(None);
            continue;
        }
        let column = match classify(name) {
            Ok(column) => column,
            Err(msg) => {
                // The list of known columns once, not once per unknown column.
                let msg = match (msg.split_once(COLUMNS_ARE), listed_at) {
                    (Some((head, _)), Some(at)) => {
                        format!("{head} (header cell {at} lists the columns genupdate knows)")
                    }
                    (Some(_), None) => {
                        listed_at = Some(i + 1);
                        msg
                    }
                    (None, _) => msg,
                };
                scan.problems.push(problem(Some(name), msg));
                scan.columns.push(None);
                continue;
            }
        };
        if let Some(&first) = seen.get(&column) {
            let first_name = String::from_utf8_lossy(rec.field(first));
            let msg = if first_name == name {
                format!(
                    "duplicate column {}: cells {} and {} both hold it; keep one",
                    quote(name),
                    first + 1,
                    i + 1
                )
            } else {
                format!(
                    "duplicate column {} (cell {}): cell {} {} is the same column; keep one",
                    quote(name),
                    i + 1,
                    first + 1,
                    quote(&first_name)
                )
            };
            scan.problems.push(problem(Some(name), msg));
            // The second copy is still checked cell by cell, as the first one is.
        } else {
            seen.insert(column.clone(), i);
        }
        if column == key.column() && scan.id_index.is_none() {
            scan.id_index = Some(i);
        } else if column == Column::Id && key != Key::Id {
            scan.problems.push(problem(Some(name), two_keys(key)));
        }
        if let Some(last) = scan.names.last_mut() {
            *last = canonical(&column);
        }
        scan.columns.push(Some(column));
    }
    if scan.id_index.is_none() {
        scan.problems.push(Problem {
            line,
            column: None,
            message: no_key_column(key, &scan.columns),
        });
    }
    scan
}

/// Why a file keyed by `key` may not also have an `id` column.
fn two_keys(key: Key) -> String {
    format!(
        "two key columns: with --key {} the \"{}\" column names the user, so an \"id\" \
         column would be a second key; drop it, or apply with --key id (then \"{}\" is a \
         value to write)",
        key.flag(),
        key.header(),
        key.header()
    )
}

/// Why the header has no key column, and which `--key` would fit it.
fn no_key_column(key: Key, columns: &[Option<Column>]) -> String {
    let others = [Key::Id, Key::Email, Key::EmployeeId, Key::Username];
    let fit = others
        .into_iter()
        .find(|k| *k != key && columns.iter().flatten().any(|c| *c == k.column()));
    let hint = match fit {
        Some(Key::Id) => " (the file has an \"id\" column: drop --key to use it)".to_string(),
        Some(k) => format!(
            " (the file has an \"{}\" column: pass --key {} to name users by it)",
            k.header(),
            k.flag()
        ),
        None => String::new(),
    };
    if key == Key::Id {
        format!(
            "no id column: the header needs a column named \"id\" holding each user's \
             Genesys id{hint}"
        )
    } else {
        format!(
            "no {} column: --key {} needs a column named \"{}\" naming each user{hint}",
            key.header(),
            key.flag(),
            key.header()
        )
    }
}

const PREFIXES: [&str; 5] = ["phone", "email", "sms", "skill", "language"];

/// The canonical header name of a column: `title`, `phone:WORK`, `skill:Billing`.
pub fn canonical(column: &Column) -> String {
    match column {
        Column::Id => "id".to_string(),
        Column::Profile(f) => f.header().to_string(),
        Column::Contact(m, t) => format!("{}:{}", m.prefix(), t.wire()),
        Column::Skill(name) => format!("skill:{name}"),
        Column::Language(name) => format!("language:{name}"),
        Column::Member(family, op) => super::lists::header(*family, *op),
    }
}

/// What a header name means, or why it means nothing.
pub(crate) fn classify(name: &str) -> Result<Column, String> {
    let surface = match (edge_whitespace(name), first_invisible(name)) {
        (Some(edges), _) => Some(format!("has {edges}")),
        (None, Some((pos, c))) => Some(format!("contains {}", describe_invisible(pos, c))),
        (None, None) => None,
    };
    if let Some(what) = surface {
        let cleaned: String = name.chars().filter(|&c| !is_invisible(c)).collect();
        let cleaned = cleaned.trim();
        let fix = if classify(cleaned).is_ok() {
            Some(cleaned.to_string())
        } else {
            suggest(cleaned)
        };
        let hint = fix
            .map(|s| format!("; did you mean {}?", quote(&s)))
            .unwrap_or_default();
        return Err(format!("unknown column {} (it {what}){hint}", quote(name)));
    }
    if name.eq_ignore_ascii_case("id") {
        return Ok(Column::Id);
    }
    if let Some(f) = ProfileField::ALL
        .into_iter()
        .find(|f| f.header().eq_ignore_ascii_case(name))
    {
        return Ok(Column::Profile(f));
    }
    if let Some((family, op)) = super::lists::classify(name) {
        return Ok(Column::Member(family, op));
    }
    if let Some((prefix, rest)) = name.split_once(':') {
        let prefix = prefix.to_ascii_lowercase();
        let prefix = prefix.as_str();
        let media = MediaType::ALL.into_iter().find(|m| m.prefix() == prefix);
        if let Some(media) = media {
            return match contact_type(rest) {
                Some(ContactType::Primary) if media == MediaType::Email => {
                    Err(PRIMARY_EMAIL.to_string())
                }
                Some(t) => Ok(Column::Contact(media, t)),
                None => Err(unknown_contact_type(prefix, rest)),
            };
        }
        if prefix == "skill" || prefix == "language" {
            if rest.is_empty() {
                return Err(format!(
                    "{prefix}: needs a {prefix} name after the colon, such as {}",
                    example(prefix)
                ));
            }
            if let Some(what) = edge_whitespace(rest) {
                return Err(format!(
                    "the {prefix} name {} in {} has {what}; remove it",
                    quote(rest),
                    quote(name)
                ));
            }
            return Ok(if prefix == "skill" {
                Column::Skill(rest.to_string())
            } else {
                Column::Language(rest.to_string())
            });
        }
    }
    if let Some(alias) = import_alias(name) {
        return alias;
    }
    Err(unknown_column(name))
}

/// The headers of Genesys' own admin user import (Admin > People > Import): the ones
/// that mean exactly a genupdate column are read as that column, so a file prepared
/// for the web import can be applied, diffed and undone; the others are refused with
/// the genupdate column to use instead. (`name`, `email`, `title` and `department`
/// are genupdate's own names already.)
fn import_alias(name: &str) -> Option<Result<Column, String>> {
    let lower = name.to_ascii_lowercase();
    let refuse = |msg: &str| {
        Some(Err(format!(
            "{} is a Genesys import column: {msg}",
            quote(name)
        )))
    };
    match lower.as_str() {
        "phone_work" => Some(Ok(Column::Contact(MediaType::Phone, ContactType::Work))),
        "email_manager" | "manager_email" => Some(Ok(Column::Profile(ProfileField::Manager))),
        "extension" => refuse(
            "genupdate does not write extensions yet (an extension needs the \
             telephony:extension:assign permission and an extension pool); set them in \
             Genesys, or drop the column",
        ),
        "phone_mobile" | "mobile" => refuse("use \"phone:MOBILE\" (or \"sms:MOBILE\") instead"),
        "phone_home" => refuse("use \"phone:HOME\" instead"),
        "role" | "roles" => {
            refuse("use \"roles\" (names as Role, Role@Division or Role@*) instead")
        }
        "location" | "locations" => refuse("use \"locations\" (location names) instead"),
        "division" => refuse("use \"division\" (the division's name) instead"),
        "password" | "reports_to" | "utilization" => refuse(
            "genupdate does not change it; drop the column (see the README, \"CSV format\", \
             for the columns genupdate writes)",
        ),
        _ => None,
    }
}

/// Why `email:PRIMARY` is not a column.
pub(crate) const PRIMARY_EMAIL: &str = "the primary email is the \"email\" column; \
     email:PRIMARY cannot be written (the API refuses a changed PRIMARY entry)";

/// The contact types a `prefix:` column may name: all but PRIMARY for email.
fn contact_types(prefix: &str) -> impl Iterator<Item = ContactType> {
    let email = prefix == MediaType::Email.prefix();
    ContactType::ALL
        .into_iter()
        .filter(move |t| !(email && *t == ContactType::Primary))
}

fn example(prefix: &str) -> &'static str {
    match prefix {
        "skill" => "skill:Billing",
        "language" => "language:Spanish",
        "phone" => "phone:WORK",
        "sms" => "sms:MOBILE",
        _ => "email:WORK",
    }
}

fn contact_type(s: &str) -> Option<ContactType> {
    ContactType::ALL
        .into_iter()
        .find(|t| t.wire().eq_ignore_ascii_case(s))
}

fn unknown_contact_type(prefix: &str, rest: &str) -> String {
    let types: Vec<&str> = contact_types(prefix).map(|t| t.wire()).collect();
    let mut msg = format!(
        "unknown contact type {} in \"{prefix}:{rest}\": use one of {}",
        quote(rest),
        types.join(", ")
    );
    if let Some(t) = near_contact_type(prefix, rest) {
        msg.push_str(&format!("; did you mean \"{prefix}:{}\"?", t.wire()));
    }
    if prefix == MediaType::Email.prefix() {
        msg.push_str(" (the primary email is the \"email\" column)");
    }
    msg
}

fn near_contact_type(prefix: &str, s: &str) -> Option<ContactType> {
    if s.eq_ignore_ascii_case("cell") || s.eq_ignore_ascii_case("mobile phone") {
        return Some(ContactType::Mobile);
    }
    let n = normalise(s);
    contact_types(prefix)
        .map(|t| (distance(&n, &normalise(t.wire())), t))
        .filter(|&(d, _)| d <= 1 || (d <= 2 && n.chars().count() > 4))
        .min_by_key(|&(d, _)| d)
        .map(|(_, t)| t)
}

/// Where the list of known columns starts in an unknown-column message.
const COLUMNS_ARE: &str = ": the columns are ";

fn unknown_column(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if let Some(p) = PREFIXES
        .into_iter()
        .filter(|p| *p != "email")
        .find(|p| *p == lower)
    {
        return format!(
            "{} needs a {}, such as {}",
            quote(name),
            if p == "skill" || p == "language" {
                "name after a colon"
            } else {
                "contact type after a colon"
            },
            example(p)
        );
    }
    match suggest(name) {
        Some(s) => format!(
            "unknown column {}; did you mean {}?",
            quote(name),
            quote(&s)
        ),
        None => format!(
            "unknown column {}{COLUMNS_ARE}id, {}, phone:TYPE, email:TYPE, sms:TYPE, \
             skill:NAME, language:NAME, queues, groups, roles, locations (each also with :add and :remove), division (see the README, \"CSV format\")",
            quote(name),
            ProfileField::ALL.map(|f| f.header()).join(", ")
        ),
    }
}

/// The known column closest to `name`, if any is close enough.
pub(crate) fn suggest(name: &str) -> Option<String> {
    let n = normalise(name);
    let list = super::Family::ALL
        .into_iter()
        .flat_map(|f| {
            super::lists::ops(f)
                .iter()
                .map(move |op| super::lists::header(f, *op))
        })
        .find(|h| normalise(h) == n || normalise(&h.replace(':', "")) == n.replace(':', ""));
    if list.is_some() {
        return list;
    }
    if let Some((prefix, rest)) = name.split_once(':') {
        let n = normalise(prefix);
        let p = PREFIXES
            .into_iter()
            .map(|p| (distance(&n, p).min(distance(&n, &format!("{p}s"))), p))
            .filter(|&(d, _)| d <= 2)
            .min_by_key(|&(d, _)| d)?
            .1;
        return Some(match p {
            "skill" | "language" => format!("{p}:{}", rest.trim()),
            "email" if contact_type(rest) == Some(ContactType::Primary) => "email".to_string(),
            _ => {
                let t = contact_type(rest)
                    .filter(|t| contact_types(p).any(|k| k == *t))
                    .or_else(|| near_contact_type(p, rest))?;
                format!("{p}:{}", t.wire())
            }
        });
    }
    let n = normalise(name);
    let lists: Vec<String> = super::Family::ALL
        .into_iter()
        .flat_map(|f| {
            super::lists::ops(f)
                .iter()
                .map(move |op| super::lists::header(f, *op))
        })
        .collect();
    let mut candidates: Vec<&str> = ProfileField::ALL.iter().map(|f| f.header()).collect();
    candidates.push("id");
    candidates.extend(lists.iter().map(String::as_str));
    // The same name but for case and separators, or the short form of employerInfo.X.
    for c in &candidates {
        let short = c.rsplit('.').next().unwrap_or(c);
        if normalise(c) == n || normalise(short) == n {
            return Some(c.to_string());
        }
    }
    let limit = match n.chars().count() {
        0..=3 => 0,
        4..=5 => 1,
        6..=9 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| (distance(&n, &normalise(c)), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c.to_string())
}

/// Lower case, without `_`, `-`, `.` and spaces.
fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Optimal string alignment distance: edits, counting a swap of neighbours as one.
fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests;
