//! Server text is data: anything a server wrote (an error `message`, the token
//! endpoint's `description`, a body snippet, a `Location` or a correlation id) passes
//! through [`sanitize_server_text`] before it reaches an error value, a log line, a
//! terminal or a report.
//!
//! Three things are done, in this order: every secret this run knows (the client
//! secret, its Basic form, any access token issued or given) is replaced with
//! `[redacted]`, so a server echoing our headers cannot leak them; control and
//! invisible formatting characters (ESC, CR, LF, bidi overrides...) are escaped as
//! `\u{..}`, so a server cannot move the cursor, forge a log line or recolour a
//! terminal; and the result is capped at [`MAX_SERVER_TEXT`] characters.

/// Longest server text kept, in characters (escapes included); longer text ends in `…`.
pub const MAX_SERVER_TEXT: usize = 300;

/// Shorter than this, a "secret" would redact ordinary words; real ones are far longer.
const MIN_SECRET_LEN: usize = 4;

/// The strings that must never appear in anything built from server text.
#[derive(Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .filter(|v| v.chars().count() >= MIN_SECRET_LEN)
            .collect();
        // Longest first, so a secret that contains another is redacted whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Secrets { values }
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets([{} redacted])", self.values.len())
    }
}

/// Redact, escape and cap text that came from a server. See the module doc.
pub fn sanitize_server_text(text: &str, secrets: &Secrets) -> String {
    let mut redacted = text.to_string();
    for s in &secrets.values {
        if redacted.contains(s.as_str()) {
            redacted = redacted.replace(s.as_str(), "[redacted]");
        }
    }
    let mut out = String::with_capacity(redacted.len().min(MAX_SERVER_TEXT + 8));
    let mut count = 0usize;
    for c in redacted.chars() {
        let piece: String = if needs_escape(c) {
            format!("\\u{{{:x}}}", c as u32)
        } else {
            c.to_string()
        };
        let n = piece.chars().count();
        if count + n > MAX_SERVER_TEXT {
            out.push('…');
            break;
        }
        out.push_str(&piece);
        count += n;
    }
    out
}

/// C0/C1 controls (ESC, CR, LF, TAB, DEL...) and the invisible characters that reorder
/// or hide text (bidi controls, zero-width characters, BOM, line/paragraph separators).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_table() {
        let secrets = Secrets::new(["hunter2-secret", "c2FuZGJveC1jbGllbnQ6aHVudGVy", "tok-1"]);
        let table = [
            ("plain text", "plain text"),
            ("Français ok", "Français ok"),
            ("\x1b[31mred\x1b[0m", "\\u{1b}[31mred\\u{1b}[0m"),
            ("a\r\nFAKE LOG LINE", "a\\u{d}\\u{a}FAKE LOG LINE"),
            ("tab\there\x7f", "tab\\u{9}here\\u{7f}"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("secret hunter2-secret!", "secret [redacted]!"),
            (
                "Authorization: Basic c2FuZGJveC1jbGllbnQ6aHVudGVy",
                "Authorization: Basic [redacted]",
            ),
            ("Bearer tok-1 and tok-1", "Bearer [redacted] and [redacted]"),
            ("back\\slash \"quoted\"", "back\\slash \"quoted\""),
        ];
        for (raw, want) in table {
            assert_eq!(sanitize_server_text(raw, &secrets), want, "{raw:?}");
        }
    }

    #[test]
    fn long_text_is_capped_and_never_ends_in_half_an_escape() {
        let s = Secrets::default();
        let long = "x".repeat(10_000);
        let out = sanitize_server_text(&long, &s);
        assert_eq!(out.chars().count(), MAX_SERVER_TEXT + 1);
        assert!(out.ends_with('…'));
        let esc = "\x1b".repeat(1_000);
        let out = sanitize_server_text(&esc, &s);
        assert!(out.ends_with("\\u{1b}…"), "{out}");
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn short_values_are_not_treated_as_secrets_and_debug_hides_them() {
        let s = Secrets::new(["ab", "long-secret"]);
        assert_eq!(sanitize_server_text("ab cd", &s), "ab cd");
        assert!(!format!("{s:?}").contains("long-secret"));
    }
}
