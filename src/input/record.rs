//! CSV records with their physical line numbers, straight from `csv_core`.
//!
//! The `csv` crate's `Position::line()` is the line where the *previous* record's
//! terminator was consumed, not where a record starts: after a CRLF the `\n` is only
//! consumed by the next read, and blank lines before a record are skipped inside the
//! same read. Problems must name the line a user sees in an editor, so this reader
//! drives `csv_core` (the parser inside `csv`) itself and skips line terminators
//! between records on its own. The grammar is unchanged: RFC 4180 quoting, `,`
//! delimiter, LF, CRLF or CR terminators, blank lines ignored, no comment lines.
//! A line is ended by an LF, a CRLF or a bare CR (old Mac files); inside a quoted
//! cell only LFs are counted.
//!
//! A leading UTF-8 byte-order mark is stripped here. Records are borrowed from one
//! reused buffer, so reading allocates nothing once the buffers have grown. A record
//! over [`MAX_RECORD_BYTES`] or [`MAX_FIELDS`] is read to its end but not kept: it is
//! almost always an unbalanced quote swallowing the rest of the file, and memory
//! must not grow with the file.

use std::io::{self, BufRead, BufReader, Read};

use super::delimiter::{BOM, DelimiterRows};
use super::quotes::{QuoteLint, StrayQuote};

/// Reads records one at a time, reusing its buffers.
pub(crate) struct Records<R> {
    src: BufReader<R>,
    core: csv_core::Reader,
    /// Field bytes of the current record, concatenated.
    fields: Vec<u8>,
    /// End offset in `fields` of each field of the current record.
    ends: Vec<usize>,
    line: u64,
    /// The last record ended with a CR that `csv_core` consumed without counting.
    ended_with_cr: bool,
    quotes: QuoteLint,
    started: bool,
    done: bool,
    /// The file started with a UTF-8 byte-order mark (known after the first record).
    bom: bool,
    /// Skip records whose cells are all empty (`,,,,`), counting them here.
    skip_empty: Option<DelimiterRows>,
}

/// Records longer than this are reported, not kept.
pub(crate) const MAX_RECORD_BYTES: usize = 1 << 20;
/// Records with more fields than this are reported, not kept.
pub(crate) const MAX_FIELDS: usize = 1 << 16;

/// One record: its physical start line and its fields (raw bytes, quotes removed).
pub(crate) struct Record<'a> {
    pub line: u64,
    /// Over [`MAX_RECORD_BYTES`] or [`MAX_FIELDS`]: no fields are kept (`len()` is 0).
    pub oversized: bool,
    /// The first double quote that RFC 4180 does not allow where it is.
    pub stray_quote: Option<StrayQuote>,
    /// All field bytes, concatenated (to check UTF-8 once per record).
    pub bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Where field `i` sits in [`Record::bytes`]; the caller keeps `i < len()`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }

    /// Field `i`; the caller keeps `i < len()`.
    pub fn field(&self, i: usize) -> &'a [u8] {
        &self.bytes[self.range(i)]
    }

    pub fn fields(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|i| self.field(i))
    }
}

/// A `csv_core` parser for `delimiter` that does not strip a byte-order mark.
fn core_reader(delimiter: u8) -> csv_core::Reader {
    let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    // csv_core strips a BOM from its first input. We strip the leading one
    // ourselves (to count blank lines after it), so a second BOM must stay in the
    // data and be reported. A call with no output room consumes nothing but marks
    // the parser as started, which turns its stripping off.
    let _ = core.read_record(b",", &mut [], &mut []);
    core
}

impl<R: Read> Records<R> {
    /// Records of a comma-separated file.
    pub fn new(src: R) -> Self {
        Records::with_delimiter(src, b',')
    }

    /// Records separated by `delimiter`.
    pub fn with_delimiter(src: R, delimiter: u8) -> Self {
        Records {
            src: BufReader::with_capacity(64 * 1024, src),
            core: core_reader(delimiter),
            fields: vec![0; 1024],
            ends: vec![0; 64],
            line: 1,
            ended_with_cr: false,
            quotes: QuoteLint::new(delimiter),
            started: false,
            done: false,
            bom: false,
            skip_empty: None,
        }
    }

    /// Read with another delimiter; call before the first [`Records::next`].
    pub fn set_delimiter(&mut self, delimiter: u8) {
        self.core = core_reader(delimiter);
        self.quotes = QuoteLint::new(delimiter);
    }

    /// The first bytes of the file (up to the buffer's size) without consuming them,
    /// a leading byte-order mark removed. Call before the first [`Records::next`].
    pub fn head(&mut self) -> io::Result<&[u8]> {
        let head = self.src.fill_buf()?;
        Ok(head.strip_prefix(BOM).unwrap_or(head))
    }

    /// Whether the file started with a UTF-8 byte-order mark (after the first
    /// [`Records::next`]).
    pub fn had_bom(&self) -> bool {
        self.bom
    }

    /// From now on, skip records whose cells are all empty (a row of delimiters)
    /// and count them ([`Records::delimiter_rows`]).
    pub fn skip_delimiter_rows(&mut self) {
        self.skip_empty.get_or_insert_default();
    }

    /// The rows of delimiters skipped so far.
    pub fn delimiter_rows(&self) -> DelimiterRows {
        self.skip_empty.unwrap_or_default()
    }

    /// Why the file cannot be a CSV at all, judged from its first bytes (a UTF-16
    /// byte-order mark, a zip container such as an .xlsx workbook). Call before the
    /// first [`Records::next`].
    pub fn sniff(&mut self) -> io::Result<Option<&'static str>> {
        let head = self.src.fill_buf()?;
        Ok(
            if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") {
                Some(
                    "the file is UTF-16 (it starts with a UTF-16 byte-order mark); \
                 save it as UTF-8 (in Excel: \"CSV UTF-8\")",
                )
            } else if head.len() >= 2 && (head[0] == 0) != (head[1] == 0) {
                Some(
                    "the file looks like UTF-16 without a byte-order mark (a NUL byte next \
                 to each letter); save it as UTF-8 (in Excel: \"CSV UTF-8\")",
                )
            } else if head.starts_with(b"PK\x03\x04") {
                Some(
                    "the file looks like a spreadsheet workbook (.xlsx), not CSV; \
                 save it as CSV UTF-8",
                )
            } else {
                None
            },
        )
    }

    /// The physical line the reader is at: where the next record starts, or the line
    /// of the next byte after an I/O error.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next record, or `None` at the end of the file.
    pub fn next(&mut self) -> io::Result<Option<Record<'_>>> {
        if self.done {
            return Ok(None);
        }
        if !self.started {
            self.started = true;
            if self.src.fill_buf()?.starts_with(BOM) {
                self.src.consume(BOM.len());
                self.bom = true;
            }
        }
        self.skip_terminators()?;
        let (mut nout, mut nend) = (0, 0);
        let mut oversized = false;
        loop {
            let input = self.src.fill_buf()?;
            // Once oversized, the buffers are scratch space and the counts are ignored.
            let (out, ends) = if oversized {
                (&mut self.fields[..], &mut self.ends[..])
            } else {
                (&mut self.fields[nout..], &mut self.ends[nend..])
            };
            let (res, nin, o, e) = self.core.read_record(input, out, ends);
            self.quotes.feed(&input[..nin]);
            self.src.consume(nin);
            nout += o;
            nend += e;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull if !oversized => {
                    let n = self.fields.len();
                    if n >= MAX_RECORD_BYTES {
                        oversized = true;
                    } else {
                        self.fields.resize(n * 2, 0);
                    }
                }
                csv_core::ReadRecordResult::OutputEndsFull if !oversized => {
                    let n = self.ends.len();
                    if n >= MAX_FIELDS {
                        oversized = true;
                    } else {
                        self.ends.resize(n * 2, 0);
                    }
                }
                csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => {}
                csv_core::ReadRecordResult::Record => {
                    let line = self.line;
                    // Every LF consumed is inside a cell or the terminator; none
                    // left for the terminator means a CR (or the end of the file,
                    // where the line no longer matters).
                    let lfs = self.core.line() - line;
                    let kept = &self.fields[..if oversized { 0 } else { nout }];
                    let inside = if lfs > 0 && kept.contains(&b'\n') {
                        kept.iter().filter(|&&b| b == b'\n').count() as u64
                    } else {
                        0
                    };
                    self.ended_with_cr = lfs <= inside;
                    self.line = self.core.line();
                    if let Some(skipped) = &mut self.skip_empty
                        && !oversized
                        && nend >= 2
                        && nout == 0
                    {
                        // Only delimiters: noted, and the next record read instead.
                        skipped.note(line);
                        self.quotes.finish();
                        self.skip_terminators()?;
                        (nout, nend) = (0, 0);
                        continue;
                    }
                    let (nout, nend) = if oversized { (0, 0) } else { (nout, nend) };
                    return Ok(Some(Record {
                        line,
                        oversized,
                        stray_quote: self.quotes.finish(),
                        bytes: &self.fields[..nout],
                        ends: &self.ends[..nend],
                    }));
                }
                csv_core::ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }

    /// Consume the line terminators (and so blank lines) before the next record,
    /// counting lines, so that the next record starts exactly at `self.line`.
    fn skip_terminators(&mut self) -> io::Result<()> {
        // A CR counts as a line break unless an LF follows it (CRLF); the previous
        // record's terminator may have been such a CR.
        let mut pending_cr = self.ended_with_cr;
        loop {
            let buf = self.src.fill_buf()?;
            let n = buf
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(buf.len());
            for &b in &buf[..n] {
                if b == b'\n' || pending_cr {
                    self.line += 1;
                }
                pending_cr = b == b'\r';
            }
            let more = n > 0 && n == buf.len();
            self.src.consume(n);
            if !more {
                break;
            }
        }
        if pending_cr {
            self.line += 1;
        }
        self.core.set_line(self.line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_and_fields(data: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut r = Records::new(data);
        let mut out = Vec::new();
        while let Some(rec) = r.next().unwrap() {
            let fields = rec
                .fields()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            out.push((rec.line, fields));
        }
        out
    }

    #[test]
    fn records_carry_the_physical_line_where_they_start() {
        let got = lines_and_fields(b"id,name\n1,\"a\nb\"\n\n\n2,x\n3,y");
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 2, 6, 7]);
        assert_eq!(got[1].1, ["1", "a\nb"]);
        assert_eq!(got[3].1, ["3", "y"]);
    }

    #[test]
    fn crlf_terminators_count_one_line_each() {
        let got = lines_and_fields(b"id,name\r\n\r\n1,\"a\r\nb\"\r\n2,x\r\n");
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 3, 5]);
    }

    #[test]
    fn bare_cr_terminators_count_one_line_each() {
        // Excel for Mac's "CSV (Macintosh)". Line breaks inside quoted cells of such
        // files are only counted when they are LFs.
        let got = lines_and_fields(b"id,name\r\r1,x\r2,\"a\nb\"\r\r3,y\r");
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 3, 4, 7]);
    }

    #[test]
    fn a_leading_bom_is_stripped_and_an_inner_one_kept() {
        let got = lines_and_fields(b"\xef\xbb\xbfid,\xef\xbb\xbfname\n1,2\n");
        assert_eq!(got[0].1, ["id", "\u{feff}name"]);
        let got = lines_and_fields(b"\xef\xbb\xbf\xef\xbb\xbfid\n");
        assert_eq!(got[0].1, ["\u{feff}id"]);
        let got = lines_and_fields(b"\xef\xbb\xbf\n\nid\n");
        assert_eq!((got[0].0, got[0].1.clone()), (3, vec!["id".to_string()]));
    }

    #[test]
    fn an_empty_or_blank_file_has_no_records() {
        assert!(lines_and_fields(b"").is_empty());
        assert!(lines_and_fields(b"\xef\xbb\xbf").is_empty());
        assert!(lines_and_fields(b"\n\r\n\n").is_empty());
    }

    #[test]
    fn long_records_grow_the_buffers() {
        let cell = "x".repeat(5000);
        let row = vec![cell.as_str(); 100].join(",");
        let got = lines_and_fields(format!("{row}\n{row}\n").as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, 2);
        assert_eq!(got[1].1.len(), 100);
        assert_eq!(got[1].1[99], cell);
    }

    #[test]
    fn an_unbalanced_quote_does_not_hold_the_rest_of_the_file() {
        let mut data = b"id\n\"open\n".to_vec();
        for _ in 0..MAX_RECORD_BYTES / 8 {
            data.extend_from_slice(b"a,b,c,d,\n");
        }
        let mut r = Records::new(&data[..]);
        assert_eq!(r.next().unwrap().unwrap().len(), 1);
        let rec = r.next().unwrap().unwrap();
        assert!(rec.oversized);
        assert_eq!((rec.line, rec.len()), (2, 0));
        assert!(r.next().unwrap().is_none());
        assert!(r.fields.len() <= MAX_RECORD_BYTES);
    }

    #[test]
    fn too_many_fields_are_not_kept() {
        let data = ",".repeat(MAX_FIELDS + 5);
        let mut r = Records::new(data.as_bytes());
        let rec = r.next().unwrap().unwrap();
        assert!(rec.oversized);
        assert!(r.ends.len() <= MAX_FIELDS);
    }

    #[test]
    fn other_delimiters_and_rows_of_delimiters() {
        let mut r = Records::with_delimiter(
            &b"\xef\xbb\xbfid;title;;\n1;\"a;b\";;\n;;;\n\n;;;\n2;x;;\n"[..],
            b';',
        );
        assert_eq!(
            r.head().unwrap(),
            b"id;title;;\n1;\"a;b\";;\n;;;\n\n;;;\n2;x;;\n"
        );
        let header: Vec<Vec<u8>> = r
            .next()
            .unwrap()
            .unwrap()
            .fields()
            .map(<[u8]>::to_vec)
            .collect();
        assert_eq!(header, [&b"id"[..], b"title", b"", b""]);
        assert!(r.had_bom());
        r.skip_delimiter_rows();
        let rec = r.next().unwrap().unwrap();
        assert_eq!((rec.line, rec.field(1)), (2, &b"a;b"[..]));
        let rec = r.next().unwrap().unwrap();
        assert_eq!((rec.line, rec.field(1)), (6, &b"x"[..]));
        assert!(r.next().unwrap().is_none());
        let skipped = r.delimiter_rows();
        assert_eq!((skipped.count, skipped.first, skipped.last), (2, 3, 5));
    }

    #[test]
    fn sniff_recognises_utf16_and_workbooks() {
        assert!(
            Records::new(&b"\xff\xfei\0d\0"[..])
                .sniff()
                .unwrap()
                .is_some()
        );
        assert!(
            Records::new(&b"PK\x03\x04..."[..])
                .sniff()
                .unwrap()
                .is_some()
        );
        assert!(Records::new(&b"id\n"[..]).sniff().unwrap().is_none());
    }
}
