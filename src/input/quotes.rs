//! Stray double quotes, found in the raw bytes while `csv_core` parses them.
//!
//! `csv_core` is lenient where RFC 4180 is not: a quote inside an unquoted cell is
//! kept as a character (`Team "Lead"`), text after a closing quote is appended
//! (`"Team" Lead` reads as `Team Lead`, its quotes silently gone), and a quote left
//! open at the end of the file ends the cell there. Each of these changes what the
//! cell says without any error, so genupdate reports them instead: the file is
//! almost always damaged, or hand-edited, and the fix is one the user must choose.
//! Quotes that open a cell, close it, or are doubled inside it are fine.
//!
//! [`QuoteLint`] sees every byte `csv_core` consumes for one record, in order, and
//! remembers the first stray quote and the cell it is in. A chunk without a quote
//! outside a quoted cell costs one `memchr` and one comma count.

/// What is wrong with a quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrayKind {
    /// A `"` in a cell that does not start with one.
    InsideUnquoted,
    /// Text between a closing `"` and the next comma or line end.
    AfterClosing,
    /// A quoted cell still open at the end of the file.
    Unclosed,
}

/// The first stray quote of a record: its 0-based cell and what is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StrayQuote {
    pub field: usize,
    pub kind: StrayKind,
}

impl StrayQuote {
    /// The message, after the column's name (or `cell N`).
    pub fn message(&self) -> &'static str {
        match self.kind {
            StrayKind::InsideUnquoted => {
                "has a double quote inside a cell that does not start with one; a cell that \
                 holds \" must be written in double quotes, each \" inside doubled, such as \
                 \"Team \"\"Lead\"\"\""
            }
            StrayKind::AfterClosing => {
                "has text after its closing double quote; a cell that holds \" must be \
                 written in double quotes, each \" inside doubled, such as \"Team \"\"Lead\"\"\""
            }
            StrayKind::Unclosed => {
                "opens a double quote that is never closed, so the rest of the file was read \
                 into this cell; close the quote or remove it"
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted cell: it closes the cell unless another `"` follows.
    QuoteInQuoted,
}

/// The position of the first `"` in `bytes`, eight bytes at a time.
fn find_quote(bytes: &[u8]) -> Option<usize> {
    const LO: u64 = u64::from_ne_bytes([0x01; 8]);
    const HI: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8])) ^ QUOTES;
        // Non-zero when some byte of `word` is zero, that is some byte was a quote.
        if word.wrapping_sub(LO) & !word & HI != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&c| c == b'"').map(|i| at + i)
}

/// Follows the quoting of one record at a time.
#[derive(Debug)]
pub(crate) struct QuoteLint {
    state: State,
    field: usize,
    found: Option<StrayQuote>,
    /// The cell delimiter (`,` unless the file uses another).
    delimiter: u8,
}

impl Default for QuoteLint {
    fn default() -> Self {
        QuoteLint::new(b',')
    }
}

impl QuoteLint {
    pub fn new(delimiter: u8) -> Self {
        QuoteLint {
            state: State::default(),
            field: 0,
            found: None,
            delimiter,
        }
    }

    /// The next bytes of the current record, as `csv_core` consumed them (line
    /// terminators included).
    pub fn feed(&mut self, mut bytes: &[u8]) {
        // Jump from quote to quote: only quotes and the byte after them change what is
        // allowed, and between them only commas (outside a quoted cell) are counted.
        while let Some(&b) = bytes.first() {
            match self.state {
                State::Quoted => match find_quote(bytes) {
                    None => return,
                    Some(i) => {
                        self.state = State::QuoteInQuoted;
                        bytes = &bytes[i + 1..];
                    }
                },
                State::FieldStart | State::Unquoted if b != b'"' => {
                    let end = find_quote(bytes).unwrap_or(bytes.len());
                    let run = &bytes[..end];
                    let last = run.last().copied();
                    // Outside quotes a line break ends the record: nothing after it
                    // needs the count, and neither does anything after a problem.
                    if self.found.is_none() && !matches!(last, Some(b'\n' | b'\r')) {
                        let d = self.delimiter;
                        self.field += run.iter().filter(|&&c| c == d).count();
                    }
                    self.state = match last {
                        Some(b'\n' | b'\r') => State::FieldStart,
                        Some(c) if c == self.delimiter => State::FieldStart,
                        _ => State::Unquoted,
                    };
                    bytes = &bytes[end..];
                }
                _ => {
                    self.step(b);
                    bytes = &bytes[1..];
                }
            }
        }
    }

    fn step(&mut self, b: u8) {
        let mut flag = |kind| {
            if self.found.is_none() {
                self.found = Some(StrayQuote {
                    field: self.field,
                    kind,
                });
            }
        };
        self.state = match (self.state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (_, c) if c == self.delimiter => {
                self.field += 1;
                State::FieldStart
            }
            (_, b'\n' | b'\r') => State::FieldStart,
            (State::FieldStart, b'"') | (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::Unquoted, b'"') => {
                flag(StrayKind::InsideUnquoted);
                State::Unquoted
            }
            (State::QuoteInQuoted, _) => {
                flag(StrayKind::AfterClosing);
                State::Unquoted
            }
            (State::FieldStart | State::Unquoted, _) => State::Unquoted,
        };
    }

    /// The record is complete: its first stray quote, and a fresh start for the next.
    pub fn finish(&mut self) -> Option<StrayQuote> {
        if self.state == State::Quoted && self.found.is_none() {
            self.found = Some(StrayQuote {
                field: self.field,
                kind: StrayKind::Unclosed,
            });
        }
        let found = self.found.take();
        *self = QuoteLint::new(self.delimiter);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `data` (one record) in chunks of `n` bytes.
    fn lint(data: &str, n: usize) -> Option<(usize, StrayKind)> {
        let mut q = QuoteLint::default();
        for chunk in data.as_bytes().chunks(n) {
            q.feed(chunk);
        }
        q.finish().map(|s| (s.field, s.kind))
    }

    fn every_chunking(data: &str) -> Option<(usize, StrayKind)> {
        let whole = lint(data, data.len().max(1));
        for n in 1..data.len().max(1) {
            assert_eq!(lint(data, n), whole, "{data:?} in chunks of {n}");
        }
        whole
    }

    #[test]
    fn rfc_4180_quoting_is_fine() {
        for ok in [
            "a,b,c\n",
            "\"a, b\",c\r\n",
            "a,\"say \"\"hi\"\"\",c\n",
            "\"two\nlines\",x",
            "\"\",\"\"\"\"\n",
            "",
            "a,'quoted',c",
        ] {
            assert_eq!(every_chunking(ok), None, "{ok:?}");
        }
    }

    #[test]
    fn a_quote_inside_an_unquoted_cell_is_stray() {
        assert_eq!(
            every_chunking("id,Team \"Lead\",x\n"),
            Some((1, StrayKind::InsideUnquoted))
        );
        assert_eq!(
            every_chunking("a,b, \"c\"\n"),
            Some((2, StrayKind::InsideUnquoted))
        );
    }

    #[test]
    fn text_after_a_closing_quote_is_stray() {
        assert_eq!(
            every_chunking("id,\"Team\" Lead\n"),
            Some((1, StrayKind::AfterClosing))
        );
    }

    #[test]
    fn a_quote_open_at_the_end_is_unclosed() {
        assert_eq!(
            every_chunking("id,x,\"Team Lead"),
            Some((2, StrayKind::Unclosed))
        );
    }

    #[test]
    fn find_quote_finds_the_first_quote_anywhere() {
        for len in 0..40 {
            for at in 0..=len {
                let mut v = vec![b'a'; len];
                if at < len {
                    v[at] = b'"';
                    if at + 3 < len {
                        v[at + 3] = b'"';
                    }
                }
                let want = (at < len).then_some(at);
                assert_eq!(find_quote(&v), want, "{len} {at}");
            }
        }
        assert_eq!(find_quote(b"\xa2\xa2\xa2\xa2\xa2\xa2\xa2\xa2\""), Some(8));
    }

    #[test]
    fn cells_are_counted_by_the_files_delimiter() {
        let mut q = QuoteLint::new(b';');
        q.feed(b"a,b;Team \"Lead\";x\n");
        assert_eq!(
            q.finish(),
            Some(StrayQuote {
                field: 1,
                kind: StrayKind::InsideUnquoted
            })
        );
        let mut q = QuoteLint::new(b'\t');
        q.feed(b"a\t\"b\tc\"\t\"d\"x\n");
        assert_eq!(
            q.finish().map(|s| (s.field, s.kind)),
            Some((2, StrayKind::AfterClosing))
        );
    }

    #[test]
    fn the_first_problem_wins_and_the_next_record_starts_clean() {
        let mut q = QuoteLint::default();
        q.feed(b"a\"b,\"c\"d,\"e");
        assert_eq!(
            q.finish(),
            Some(StrayQuote {
                field: 0,
                kind: StrayKind::InsideUnquoted
            })
        );
        q.feed(b"x,y\n");
        assert_eq!(q.finish(), None);
    }
}
