//! `genupdate export` end to end: export -> apply of the unedited file writes
//! nothing and reports every row unchanged, awkward values included; editing one
//! cell changes exactly that user and field.

mod common;

use common::{csv, genupdate, read_csv, s, sandbox, writes};
use genesys_sandbox::{Quirks, SandboxConfig};
use serde_json::json;

const COLUMNS: &str = "name,email,title,department,username,preferredName,manager,state,\
acdAutoAnswer,employerInfo.officialName,employerInfo.employeeId,employerInfo.employeeType,\
employerInfo.dateHire,phone:WORK,phone:MOBILE,email:WORK";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_apply_unedited_writes_nothing_and_one_edit_changes_one_field() {
    let sb = sandbox(SandboxConfig {
        users: 60,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let ids = sb.user_ids();
    let awkward = [
        ("title", json!("Agent ")),
        ("title", json!("#CLEAR")),
        ("title", json!("=1+2")),
        (
            "addresses",
            json!([
                {"mediaType": "PHONE", "type": "WORK", "address": "+13175550101"},
                {"mediaType": "PHONE", "type": "WORK", "address": "+13175550102"}
            ]),
        ),
    ];
    for (i, (field, value)) in awkward.iter().enumerate() {
        let id = &ids[20 + i];
        let mut doc = sb.user(id).unwrap();
        doc[*field] = value.clone();
        sb.put_user(id, doc).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.csv");
    let run = genupdate(&sb, &["export", "--columns", COLUMNS, "-o", s(&out)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&ids[23]),
        "the ambiguous user is named: {}",
        run.stderr
    );
    sb.reset_stats();
    let report = dir.path().join("r.csv");
    let run = genupdate(&sb, &["apply", s(&out), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(writes(&sb.stats()), 0, "{run:?}");
    let rows = read_csv(&report);
    assert_eq!(rows.len(), 61);
    assert!(rows[1..].iter().all(|r| r[2] == "unchanged"), "{rows:?}");
    assert_eq!(sb.user(&ids[21]).unwrap()["title"], "#CLEAR");
    assert_eq!(sb.user(&ids[20]).unwrap()["title"], "Agent ");

    // One edited cell: exactly one write, to that user and field.
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let title_at = header.iter().position(|h| *h == "title").unwrap();
    let line = lines.iter().position(|l| l.starts_with(&ids[30])).unwrap();
    let mut cells: Vec<String> = lines[line].split(',').map(str::to_string).collect();
    cells[title_at] = "Edited Title".into();
    lines[line] = cells.join(",");
    let before = sb.user(&ids[30]).unwrap();
    let edited = csv(dir.path(), "edited.csv", &lines[0], &lines[1..]);
    sb.reset_stats();
    let run = genupdate(&sb, &["apply", s(&edited), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(writes(&sb.stats()), 1);
    let after = sb.user(&ids[30]).unwrap();
    assert_eq!(after["title"], "Edited Title");
    for field in ["name", "department", "email", "addresses", "employerInfo"] {
        assert_eq!(after[field], before[field], "{field}");
    }
    let rows = read_csv(&report);
    assert_eq!(rows.iter().filter(|r| r[2] == "updated").count(), 1);
}
