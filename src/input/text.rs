//! How messages talk about text: quoting cell values, naming invisible characters
//! and stray whitespace, explaining bytes that are not UTF-8. Shared by the header
//! and cell checks so both say the same thing the same way.

use std::fmt::Write as _;

/// Control characters and invisible formatting characters, refused in every cell
/// and header name.
pub(crate) fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// `U+200B (zero-width space)`, or just `U+XXXX` for characters without a common name.
pub(crate) fn describe_char(c: char) -> String {
    let name = match c {
        '\t' => "tab",
        '\n' => "line break",
        '\r' => "carriage return",
        '\u{00A0}' => "no-break space",
        '\u{00AD}' => "soft hyphen",
        '\u{200B}' => "zero-width space",
        '\u{200C}' => "zero-width non-joiner",
        '\u{200D}' => "zero-width joiner",
        '\u{200E}' => "left-to-right mark",
        '\u{200F}' => "right-to-left mark",
        '\u{2028}' => "line separator",
        '\u{2029}' => "paragraph separator",
        '\u{202F}' => "narrow no-break space",
        '\u{2060}' => "word joiner",
        '\u{3000}' => "ideographic space",
        '\u{FEFF}' => "byte-order mark",
        _ => return format!("U+{:04X}", c as u32),
    };
    format!("U+{:04X} ({name})", c as u32)
}

/// The first control or invisible character in `s`, with its 1-based position.
pub(crate) fn first_invisible(s: &str) -> Option<(usize, char)> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    s.chars()
        .enumerate()
        .find(|&(_, c)| is_invisible(c))
        .map(|(i, c)| (i + 1, c))
}

/// `an invisible character U+200B (zero-width space) at character 5`.
pub(crate) fn describe_invisible(pos: usize, c: char) -> String {
    let what = if c.is_control() {
        "a control character"
    } else {
        "an invisible character"
    };
    format!("{what} {} at character {pos}", describe_char(c))
}

/// `title contains an invisible character U+200B (zero-width space) at character 5;
/// delete it`, for the first control or invisible character in `s`.
pub(crate) fn invisible_problem(name: &str, s: &str) -> Option<String> {
    let (pos, c) = first_invisible(s)?;
    if c == '\n' || c == '\r' {
        return Some(format!(
            "{name} contains a line break at character {pos}; cells are single-line: \
             remove it, or look for an unbalanced quote"
        ));
    }
    Some(format!(
        "{name} contains {}; delete it",
        describe_invisible(pos, c)
    ))
}

/// Windows-1252 from 0x80 to 0x9F; `\0` where it has no character.
const CP1252: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0', '‘',
    '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

/// `is not valid UTF-8: byte 0xE9 at byte 5 ...`, for a cell that failed to decode.
pub(crate) fn invalid_utf8(bytes: &[u8], e: &std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let Some(&byte) = bytes.get(at) else {
        return "is not valid UTF-8; save the file as UTF-8".into();
    };
    // Latin-1 and Windows-1252 agree on 0xA0-0xFF, the usual culprits (é, ü, ñ);
    // 0x80-0x9F are Windows-1252's own (curly quotes, dashes, €).
    let guess = match byte {
        0xA0.. => format!(" (\"{}\" in Windows-1252 or Latin-1?)", char::from(byte)),
        0x80..=0x9F => match CP1252[usize::from(byte - 0x80)] {
            '\0' => String::new(),
            c => format!(" (\"{c}\" in Windows-1252?)"),
        },
        _ => String::new(),
    };
    format!(
        "is not valid UTF-8: byte 0x{byte:02X} at byte {}{guess}; save the file as UTF-8 \
         (in Excel: \"CSV UTF-8\")",
        at + 1
    )
}

/// `a leading space`, `a trailing no-break space U+00A0`, `a leading and a trailing
/// space`: whitespace at either end of `s`, or `None`.
pub(crate) fn edge_whitespace(s: &str) -> Option<String> {
    let describe = |c: char, at: &str| {
        if c == ' ' {
            format!("a {at} space")
        } else {
            format!("a {at} whitespace character {}", describe_char(c))
        }
    };
    let lead = s.chars().next().filter(|c| c.is_whitespace());
    let lead_len = lead.map_or(0, char::len_utf8);
    let trail = s
        .chars()
        .next_back()
        .filter(|c| c.is_whitespace() && s.len() > lead_len);
    match (lead, trail) {
        (None, None) => None,
        (Some(l), None) => Some(describe(l, "leading")),
        (None, Some(t)) => Some(describe(t, "trailing")),
        (Some(' '), Some(' ')) => Some("a leading and a trailing space".into()),
        (Some(l), Some(t)) => Some(format!(
            "{} and {}",
            describe(l, "leading"),
            describe(t, "trailing")
        )),
    }
}

/// `s` with every control or invisible character written as `\u{XXXX}`, for output
/// that lands on a terminal.
pub(crate) fn escape_invisible(s: &str) -> std::borrow::Cow<'_, str> {
    if first_invisible(s).is_none() {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_invisible(c) {
            let _ = write!(out, "\\u{{{:04X}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// `s` in double quotes for messages: invisible characters and odd whitespace
/// escaped as `\u{200B}`, and cut after 60 characters (a cell swallowed by an
/// unbalanced quote can hold the rest of the file).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(64) + 2);
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        if i == 60 {
            out.push_str("...");
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_invisible(c) || (c.is_whitespace() && c != ' ') => {
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote("a\"b"), r#""a\"b""#);
        assert_eq!(quote("x\u{200b}\u{a0}"), r#""x\u{200B}\u{00A0}""#);
        let long = "y".repeat(100);
        assert_eq!(quote(&long), format!("\"{}...\"", "y".repeat(60)));
    }

    #[test]
    fn escape_invisible_leaves_text_and_escapes_controls() {
        assert_eq!(escape_invisible("title é"), "title é");
        assert_eq!(
            escape_invisible("a\x1b[2J\u{202e}b"),
            "a\\u{001B}[2J\\u{202E}b"
        );
    }

    #[test]
    fn edge_whitespace_names_each_end() {
        assert_eq!(edge_whitespace("a"), None);
        assert_eq!(edge_whitespace(" a").as_deref(), Some("a leading space"));
        assert_eq!(
            edge_whitespace(" a ").as_deref(),
            Some("a leading and a trailing space")
        );
        assert_eq!(
            edge_whitespace("a\u{3000}").as_deref(),
            Some("a trailing whitespace character U+3000 (ideographic space)")
        );
    }

    #[test]
    fn invalid_utf8_guesses_latin1() {
        let bytes: Vec<u8> = b"Ren\xe9".to_vec();
        let err = std::str::from_utf8(&bytes).unwrap_err();
        assert!(
            invalid_utf8(&bytes, &err)
                .starts_with("is not valid UTF-8: byte 0xE9 at byte 4 (\"\u{e9}\"")
        );
        let bytes = &b"\x93Lead\x94".to_vec();
        let err = std::str::from_utf8(bytes).unwrap_err();
        assert!(
            invalid_utf8(bytes, &err)
                .contains("byte 0x93 at byte 1 (\"\u{201c}\" in Windows-1252?)")
        );
    }
}
