//! `input::open` and `RowReader`: the typed second pass `apply` streams.

mod common;

use common::input::*;
use genupdate::input::{
    Cell, Column, ContactType, InputError, MediaType, ProfileField, UserState, Value, open,
};

#[test]
fn rows_come_typed_with_lower_case_ids_and_raw_cells() {
    let csv = format!(
        "id,name,state,acdAutoAnswer,manager,phone:work,skill:Billing,language:Spanish\n\
         {},\"Doe, Jane\",Inactive,TRUE,{},#CLEAR,3.5,\n",
        A.to_uppercase(),
        B.to_uppercase()
    );
    let f = file(&csv);
    let (header, mut rows) = open(&f.path).unwrap();
    assert_eq!(header.id_index, 0);
    assert_eq!(
        header.columns[5],
        Column::Contact(MediaType::Phone, ContactType::Work)
    );
    // The canonical name: headers match in any case (issue 15).
    assert_eq!(header.names[5], "phone:WORK");
    let row = rows.next().unwrap().unwrap();
    assert_eq!(row.line, 2);
    assert_eq!(row.id, A);
    assert_eq!(
        row.cells,
        [
            Cell::Keep,
            Cell::Set(Value::Text("Doe, Jane".into())),
            Cell::Set(Value::State(UserState::Inactive)),
            Cell::Set(Value::Bool(true)),
            Cell::Set(Value::Text(B.into())),
            Cell::Clear,
            Cell::Set(Value::Proficiency(3.5)),
            Cell::Keep,
        ]
    );
    assert_eq!(row.raw[1], "Doe, Jane");
    assert_eq!(row.raw[0], A.to_uppercase());
    assert!(rows.next().is_none());
}

#[test]
fn a_bad_row_yields_its_problems_and_reading_goes_on() {
    let csv = format!("id,state\n{A},on\n{B},active\n{A},active\n");
    let f = file(&csv);
    let (_, rows) = open(&f.path).unwrap();
    let results: Vec<_> = rows.collect();
    assert_eq!(results.len(), 3);
    let first = results[0].as_ref().unwrap_err();
    assert_eq!(
        (first[0].line, first[0].column.as_deref()),
        (2, Some("state"))
    );
    assert_eq!(results[1].as_ref().unwrap().line, 3);
    // The id of a row with other problems still counts for duplicates.
    let dup = results[2].as_ref().unwrap_err();
    assert!(dup[0].message.starts_with("duplicate id"), "{dup:?}");
}

#[test]
fn a_header_with_problems_is_refused_with_all_of_them() {
    // `Idd` (not `Id`: headers match in any case since issue 15).
    let f = file(&format!("Idd,emial,title\n{A},x,y\n"));
    match open(&f.path) {
        Err(InputError::Header { path, problems }) => {
            assert_eq!(path, f.path.display().to_string());
            let columns: Vec<_> = problems.iter().map(|p| p.column.as_deref()).collect();
            assert_eq!(columns, [Some("Idd"), Some("emial"), None]);
        }
        other => panic!("expected a header error, got {:?}", other.map(|(h, _)| h)),
    }
}

#[test]
fn an_empty_file_is_a_header_error() {
    let f = file("");
    assert!(matches!(open(&f.path), Err(InputError::Header { .. })));
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        open(&dir.path().join("nope.csv")),
        Err(InputError::Io { .. })
    ));
}

#[test]
fn line_numbers_match_validation_across_multi_line_cells() {
    let csv = format!("id,title\r\n{A},\"a\"\r\n\r\n{B},\"b\"\"c\"\r\n");
    let f = file(&csv);
    let (header, rows) = open(&f.path).unwrap();
    assert_eq!(header.columns[1], Column::Profile(ProfileField::Title));
    let lines: Vec<u64> = rows.map(|r| r.unwrap().line).collect();
    assert_eq!(lines, [2, 4]);
}

#[test]
fn the_example_file_reads_without_problems() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/users.csv");
    let (_, rows) = open(&path).unwrap();
    let rows: Vec<_> = rows.collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 14);
    assert!(rows.iter().any(|r| r.cells.contains(&Cell::Clear)));
}
