//! Which character separates the cells, and how a file looks on disk.
//!
//! Spreadsheets save "CSV" with the list separator of the user's locale: a comma in
//! English, a semicolon in most of Europe, a tab for "Unicode text". The header row
//! says which: genupdate splits it by each candidate and keeps the one that turns it
//! into known column names ([`sniff`]). A comma stays the default: when the header
//! reads as columns under a comma, or under nothing at all, it is a comma file; a
//! semicolon or tab wins only when it, and not a comma, splits the header into known
//! names. `--delimiter` overrides the guess.
//!
//! Decisions the issue left open:
//! - The pipe `|` is accepted by `--delimiter` only, never guessed: no spreadsheet
//!   writes it by default, and `|` is a plausible character in a skill name.
//! - The files `apply` writes (report, failed rows, undo) use the input's delimiter
//!   and carry a byte-order mark when the input did ([`FileFormat`]): they go back
//!   into the same spreadsheet, and the failed-rows and undo files back into `apply`.

use super::schema::classify;

/// The delimiters `--delimiter` takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Delimiter {
    #[default]
    Comma,
    Semicolon,
    Tab,
    Pipe,
}

impl Delimiter {
    /// The candidates [`sniff`] tries, comma first.
    const SNIFFED: [Delimiter; 3] = [Delimiter::Comma, Delimiter::Semicolon, Delimiter::Tab];

    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
            Delimiter::Pipe => b'|',
        }
    }

    /// As a person would name it in a message: `","`, `";"`, `tab`, `"|"`.
    pub fn describe(self) -> &'static str {
        match self {
            Delimiter::Comma => "\",\"",
            Delimiter::Semicolon => "\";\"",
            Delimiter::Tab => "tab",
            Delimiter::Pipe => "\"|\"",
        }
    }

    /// The `--delimiter` value that selects it.
    pub fn flag(self) -> &'static str {
        match self {
            Delimiter::Comma => ",",
            Delimiter::Semicolon => "';'",
            Delimiter::Tab => "tab",
            Delimiter::Pipe => "'|'",
        }
    }

    /// Parse a `--delimiter` value: `,` `;` `tab` `\t` (the two characters or a real
    /// tab) or `|`, also by name (`comma`, `semicolon`, `pipe`).
    pub fn parse(text: &str) -> Result<Delimiter, String> {
        match text.to_ascii_lowercase().as_str() {
            "," | "comma" => Ok(Delimiter::Comma),
            ";" | "semicolon" => Ok(Delimiter::Semicolon),
            "tab" | "\\t" | "\t" => Ok(Delimiter::Tab),
            "|" | "pipe" => Ok(Delimiter::Pipe),
            _ => Err(format!(
                "`{text}` is not a delimiter genupdate reads: use `,` `;` `tab` or `|` \
                 (quote ; and | in a shell: --delimiter ';')"
            )),
        }
    }
}

/// How a CSV file is written: its delimiter and whether it starts with a UTF-8
/// byte-order mark. Files derived from an input are written the same way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileFormat {
    pub delimiter: Delimiter,
    pub bom: bool,
}

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

impl FileFormat {
    /// A `csv` writer builder set to this delimiter.
    pub fn writer(&self) -> csv::WriterBuilder {
        let mut b = csv::WriterBuilder::new();
        b.delimiter(self.delimiter.byte());
        b
    }

    /// The bytes to write before the header: the BOM when the format has one.
    pub fn preamble(&self) -> &'static [u8] {
        if self.bom { BOM } else { b"" }
    }
}

/// What the header line says about the delimiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    pub delimiter: Delimiter,
    /// The header reads as one column containing this delimiter, and nothing split
    /// it into known names: worth a hint to pass `--delimiter`.
    pub suspect: Option<Delimiter>,
}

/// Guess the delimiter from the header line (its bytes up to the first line break,
/// byte-order mark removed).
///
/// A candidate *fits* when it splits the line into at least two cells and at least
/// one of them is a known column name (the key column normally is). Comma wins when
/// it fits, and when nothing fits; otherwise the fitting candidate with the most
/// known names wins (semicolon before tab on a tie).
pub fn sniff(line: &[u8]) -> Sniffed {
    let known = |d: Delimiter| -> Option<usize> {
        let cells: Vec<&[u8]> = line.split(|&b| b == d.byte()).collect();
        if cells.len() < 2 {
            return None;
        }
        let n = cells.iter().filter(|c| is_known(c)).count();
        (n > 0).then_some(n)
    };
    let scores: Vec<(Delimiter, Option<usize>)> =
        Delimiter::SNIFFED.iter().map(|&d| (d, known(d))).collect();
    let chosen = match scores[0].1 {
        Some(_) => Delimiter::Comma,
        None => scores[1..]
            .iter()
            .filter_map(|&(d, n)| n.map(|n| (d, n)))
            // max_by_key keeps the last of equals: reversed, the first wins a tie.
            .rev()
            .max_by_key(|&(_, n)| n)
            .map(|(d, _)| d)
            .unwrap_or(Delimiter::Comma),
    };
    let suspect = if chosen == Delimiter::Comma && !line.contains(&b',') {
        [Delimiter::Semicolon, Delimiter::Tab, Delimiter::Pipe]
            .into_iter()
            .find(|d| line.contains(&d.byte()))
    } else {
        None
    };
    Sniffed {
        delimiter: chosen,
        suspect,
    }
}

/// The hint for a header that read as one column: it holds another delimiter, so
/// the file is probably separated by that one. `given`: the delimiter came from
/// `--delimiter`, not from the guess.
pub fn one_column_hint(name: &str, used: Delimiter, given: bool) -> Option<String> {
    let other = [
        Delimiter::Semicolon,
        Delimiter::Tab,
        Delimiter::Comma,
        Delimiter::Pipe,
    ]
    .into_iter()
    .find(|d| *d != used && name.as_bytes().contains(&d.byte()))?;
    let how = if given {
        format!("with --delimiter {} ", used.flag())
    } else {
        String::new()
    };
    Some(format!(
        "the header reads {how}as one column that contains {} characters: if the file is \
         separated by {}, pass --delimiter {}",
        other.describe(),
        other.describe(),
        other.flag()
    ))
}

/// Whether a header cell (as split, maybe in double quotes) names a known column.
fn is_known(cell: &[u8]) -> bool {
    let cell = match cell {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    };
    std::str::from_utf8(cell)
        .ok()
        .map(|s| s.trim_end_matches('\r'))
        .is_some_and(|s| !s.is_empty() && classify(s).is_ok())
}

/// The first line of `head` (after blank lines), without its terminator.
pub(crate) fn first_line(head: &[u8]) -> &[u8] {
    let start = head
        .iter()
        .position(|&b| b != b'\n' && b != b'\r')
        .unwrap_or(head.len());
    let rest = &head[start..];
    let end = rest
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Rows that held only delimiters (`,,,,`: what a spreadsheet saves for an empty
/// row inside its used range): counted and skipped, reported once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DelimiterRows {
    pub count: u64,
    pub first: u64,
    pub last: u64,
}

impl DelimiterRows {
    pub fn note(&mut self, line: u64) {
        if self.count == 0 {
            self.first = line;
        }
        self.count += 1;
        self.last = line;
    }

    /// The one warning line, or `None` when there were none:
    /// `users.csv: 12 rows contain only delimiters (lines 40-51); ignored`.
    pub fn warning(&self, file: &str) -> Option<String> {
        let lines = match self.count {
            0 => return None,
            1 => format!("line {}", self.first),
            n if self.last - self.first + 1 == n => {
                format!("lines {}-{}", self.first, self.last)
            }
            _ => format!("between lines {} and {}", self.first, self.last),
        };
        let rows = if self.count == 1 {
            "1 row contains".to_string()
        } else {
            format!("{} rows contain", self.count)
        };
        Some(format!("{file}: {rows} only delimiters ({lines}); ignored"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_says_which_delimiter() {
        let cases: &[(&str, Delimiter, Option<Delimiter>)] = &[
            ("id,title", Delimiter::Comma, None),
            ("id;title", Delimiter::Semicolon, None),
            ("id\ttitle", Delimiter::Tab, None),
            ("ID;Title;;;", Delimiter::Semicolon, None),
            ("\"id\";\"title\"", Delimiter::Semicolon, None),
            // One column: nothing to split, comma.
            ("id", Delimiter::Comma, None),
            // A semicolon inside a comma file's skill name stays a comma file.
            ("id,skill:A;B", Delimiter::Comma, None),
            // A comma inside a semicolon file's skill name: comma splits into
            // unknown names only.
            ("id;skill:Sales, EMEA", Delimiter::Semicolon, None),
            // Both fit: comma unless told.
            ("id,title;department", Delimiter::Comma, None),
            // A typo does not stop the guess while another name is known.
            ("id;titel", Delimiter::Semicolon, None),
            // Tab wins over semicolon only with more known names.
            ("id\ttitle;x\tdepartment", Delimiter::Tab, None),
            // Nothing known: comma, with a hint.
            ("ident;titel", Delimiter::Comma, Some(Delimiter::Semicolon)),
            ("ident\ttitel", Delimiter::Comma, Some(Delimiter::Tab)),
            ("ident|titel", Delimiter::Comma, Some(Delimiter::Pipe)),
            // Pipe is never guessed, but hinted.
            ("id|title", Delimiter::Comma, Some(Delimiter::Pipe)),
            ("ident,titel", Delimiter::Comma, None),
            ("", Delimiter::Comma, None),
        ];
        for &(line, delimiter, suspect) in cases {
            assert_eq!(
                sniff(line.as_bytes()),
                Sniffed { delimiter, suspect },
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_one_column_header_suggests_the_delimiter_inside_it() {
        let hint = one_column_hint("ident;titel", Delimiter::Comma, false).unwrap();
        assert!(hint.contains("--delimiter ';'"), "{hint}");
        assert!(!hint.contains("with --delimiter"), "{hint}");
        let hint = one_column_hint("id,title", Delimiter::Semicolon, true).unwrap();
        assert!(
            hint.starts_with("the header reads with --delimiter ';' as one column"),
            "{hint}"
        );
        assert!(hint.ends_with("pass --delimiter ,"), "{hint}");
        let hint = one_column_hint("a\tb", Delimiter::Comma, false).unwrap();
        assert!(hint.ends_with("--delimiter tab"), "{hint}");
        assert_eq!(one_column_hint("ident", Delimiter::Comma, false), None);
    }

    #[test]
    fn delimiter_flag_values() {
        for (text, want) in [
            (",", Delimiter::Comma),
            (";", Delimiter::Semicolon),
            ("tab", Delimiter::Tab),
            ("TAB", Delimiter::Tab),
            ("\\t", Delimiter::Tab),
            ("\t", Delimiter::Tab),
            ("|", Delimiter::Pipe),
            ("semicolon", Delimiter::Semicolon),
        ] {
            assert_eq!(Delimiter::parse(text), Ok(want), "{text:?}");
        }
        for bad in ["", ":", ",,", "space"] {
            assert!(
                Delimiter::parse(bad).unwrap_err().contains("tab"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_first_line_skips_blank_lines() {
        assert_eq!(first_line(b"id;x\r\n1;2"), b"id;x");
        assert_eq!(first_line(b"\n\r\nid\tx\n"), b"id\tx");
        assert_eq!(first_line(b""), b"");
    }

    #[test]
    fn delimiter_rows_make_one_warning() {
        let mut d = DelimiterRows::default();
        assert_eq!(d.warning("u.csv"), None);
        d.note(40);
        assert_eq!(
            d.warning("u.csv").unwrap(),
            "u.csv: 1 row contains only delimiters (line 40); ignored"
        );
        for l in 41..=51 {
            d.note(l);
        }
        assert_eq!(
            d.warning("u.csv").unwrap(),
            "u.csv: 12 rows contain only delimiters (lines 40-51); ignored"
        );
        d.note(90);
        assert_eq!(
            d.warning("u.csv").unwrap(),
            "u.csv: 13 rows contain only delimiters (between lines 40 and 90); ignored"
        );
    }
}
