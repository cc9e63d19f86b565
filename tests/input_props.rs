//! Property tests: no input makes validation or the reader panic, and the two
//! passes agree on which files are valid.

mod common;

use common::input::*;
use genupdate::input::{open, validate_path};
use proptest::prelude::*;

/// Cells drawn from values that matter to the grammar, plus arbitrary noise.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("#CLEAR".to_string()),
        Just(A.to_string()),
        Just(B.to_uppercase()),
        Just("active".to_string()),
        Just("true".to_string()),
        Just("3.5".to_string()),
        Just("2024-02-29".to_string()),
        Just("jane@example.com".to_string()),
        Just("+1 317-555-0100".to_string()),
        Just("\"quoted, \"\"comma\"\"\"".to_string()),
        Just("\"two\nlines\"".to_string()),
        "\\PC{0,8}",
        "[ -~]{0,12}",
    ]
}

fn header() -> impl Strategy<Value = String> {
    prop::sample::subsequence(
        vec![
            "id",
            "name",
            "state",
            "acdAutoAnswer",
            "manager",
            "employerInfo.dateHire",
            "email",
            "phone:WORK",
            "skill:Billing",
            "language:Spanish",
            "Email",
            " title",
            "skill:",
        ],
        1..6,
    )
    .prop_map(|names| names.join(","))
}

fn csv() -> impl Strategy<Value = Vec<u8>> {
    (
        header(),
        prop::collection::vec(prop::collection::vec(cell(), 1..6), 0..6),
        any::<bool>(),
    )
        .prop_map(|(header, rows, crlf)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut s = header + eol;
            for row in rows {
                s.push_str(&row.join(","));
                s.push_str(eol);
            }
            s.into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let f = file_bytes(&bytes);
        let _ = validate_path(&f.path);
        if let Ok((_, rows)) = open(&f.path) {
            rows.for_each(drop);
        }
    }

    #[test]
    fn validation_and_the_reader_agree(bytes in csv()) {
        let f = file_bytes(&bytes);
        let summary = validate_path(&f.path).unwrap();
        let reader_valid = match open(&f.path) {
            Err(_) => false,
            Ok((_, rows)) => {
                let results: Vec<_> = rows.collect();
                !results.is_empty() && results.iter().all(Result::is_ok)
            }
        };
        prop_assert_eq!(summary.is_valid(), reader_valid, "{:#?}", summary.problems);
        for p in &summary.problems {
            prop_assert!(p.line >= 1);
            prop_assert!(!p.message.is_empty());
        }
    }
}
