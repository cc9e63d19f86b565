//! The escape for values a plain cell cannot carry.
//!
//! Validation refuses padding, control and invisible characters, and reads `#CLEAR`
//! as the clear marker; but a value stored in Genesys may hold any of them, and an
//! undo file must put back exactly what the server held. Such a value is written as
//! `#TEXT:` followed by the value with backslash escapes: `\\` a backslash, `\s` a
//! space, `\t` `\n` `\r`, and `\u{XXXX}` any other character. Only cells that start
//! with `#TEXT:` are decoded, so every plain cell keeps meaning what it says. The
//! prefix starts with `#`, which no spreadsheet runs as a formula, so an escaped
//! cell survives being re-saved by one.
//!
//! `#TEXT:#CLEAR` is the text "#CLEAR"; `#TEXT:Agent\s` is "Agent " with its space.

use super::CLEAR_MARKER;
use super::text::{edge_whitespace, is_invisible};

/// The prefix that marks an escaped cell.
pub const PREFIX: &str = "#TEXT:";

/// The cell that carries `value` exactly: plain when validation would read it back
/// unchanged, escaped otherwise. Formula characters are neutralised as in reports.
pub fn encode_value(value: &str) -> String {
    if needs_escape(value) {
        encode(value)
    } else {
        crate::report::neutralise(value)
    }
}

/// Whether a plain cell would not read back as `value`.
pub fn needs_escape(value: &str) -> bool {
    value.eq_ignore_ascii_case(CLEAR_MARKER)
        || value.starts_with(PREFIX)
        || edge_whitespace(value).is_some()
        || value.chars().any(is_invisible)
}

/// `#TEXT:` and the escaped value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(PREFIX.len() + value.len() + 4);
    out.push_str(PREFIX);
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            ' ' if i == 0 || i == last => out.push_str("\\s"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_invisible(c) || (c.is_whitespace() && (i == 0 || i == last)) => {
                out.push_str(&format!("\\u{{{:X}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The value of an escaped cell (`None` when `cell` is not escaped), or an error
/// naming the bad escape.
pub fn decode(cell: &str) -> Option<Result<String, String>> {
    let body = cell.strip_prefix(PREFIX)?;
    Some(decode_body(body))
}

fn decode_body(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('s') => out.push(' '),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let rest = chars.as_str();
                let hex = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .map(|(h, _)| h)
                    .ok_or_else(|| "\\u must be written \\u{XXXX}".to_string())?;
                let code = u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("\\u{{{hex}}} is not a character"))?;
                out.push(code);
                for _ in 0..hex.len() + 2 {
                    chars.next();
                }
            }
            Some(other) => {
                return Err(format!(
                    "unknown escape \\{other} after {PREFIX} (use \\\\ \\s \\t \\n \\r or \\u{{XXXX}})"
                ));
            }
            None => return Err(format!("a lone \\ at the end after {PREFIX} (write \\\\)")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_values_round_trip_through_the_escape() {
        // Regression: undo files refused their own trailing spaces, tabs and
        // zero-width spaces, and wrote a title that was literally #CLEAR as the marker.
        for v in [
            "Agent ",
            " Agent",
            "a\tb",
            "line\nbreak",
            "zero\u{200B}width",
            "#CLEAR",
            "#clear",
            "#TEXT:x",
            "back\\slash ",
            "\u{7}bell",
            "\u{a0}nbsp",
            "",
        ] {
            let cell = encode_value(v);
            let back = match decode(&cell) {
                Some(r) => r.unwrap(),
                None => v.to_string(),
            };
            assert_eq!(back, v, "{v:?} -> {cell:?}");
            assert!(!cell.chars().any(is_invisible), "{cell:?} is plain text");
            assert!(edge_whitespace(&cell).is_none(), "{cell:?}");
        }
    }

    #[test]
    fn plain_values_stay_plain() {
        assert_eq!(encode_value("Senior Agent"), "Senior Agent");
        assert_eq!(encode_value("=1+1"), "'=1+1");
        assert_eq!(encode("#CLEAR"), "#TEXT:#CLEAR");
        assert_eq!(encode("Agent "), "#TEXT:Agent\\s");
    }

    #[test]
    fn bad_escapes_are_named() {
        assert!(decode("#TEXT:a\\qb").unwrap().unwrap_err().contains("\\q"));
        assert!(decode("#TEXT:a\\").unwrap().is_err());
        assert!(decode("#TEXT:\\u{110000}").unwrap().is_err());
        assert_eq!(decode("#TEXT:\\u{200B}").unwrap().unwrap(), "\u{200B}");
        assert_eq!(decode("plain"), None);
    }
}
