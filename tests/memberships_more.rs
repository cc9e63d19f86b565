//! Membership columns beyond the basic operations: export -> edit -> apply, the
//! joined state through an undo, and an org with every realistic quirk on.

mod common;

use common::members::*;
use common::{genupdate, read_csv, s, sandbox};
use genesys_sandbox::SandboxConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_edit_apply_covers_queues_and_groups() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("people.csv");
    let run = genupdate(
        &sb,
        &["export", "--columns", "title,queues,groups", "-o", s(&out)],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let support = sb.queue_member_ids(&queue(&sb, "Support"));
    let row = text
        .lines()
        .find(|l| l.starts_with(&support[0]))
        .expect("the Support member is exported");
    assert!(row.contains("Support"), "{row}");
    // Unedited: applies with no write.
    let report = dir.path().join("r.csv");
    let run = genupdate(&sb, &["apply", s(&out), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(member_writes(&sb), 0, "an unedited export writes nothing");
    // Edited: one user moves from Support to Billing (the queues cell only).
    let mut rows = read_csv(&out);
    let queues_at = rows[0].iter().position(|c| c == "queues").unwrap();
    for r in rows.iter_mut().filter(|r| r[0] == support[0]) {
        assert_eq!(r[queues_at], "Support");
        r[queues_at] = "Billing".into();
    }
    let mut w = ::csv::Writer::from_path(&out).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    let run = genupdate(&sb, &["apply", s(&out), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!in_queue(&sb, "Support", &support[0]));
    assert!(in_queue(&sb, "Billing", &support[0]));
    let a = genupdate(&sb, &["export", "--columns", "queues:add"]).await;
    assert_eq!(a.code, 2, "export writes the replace column only: {a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_restores_a_removed_members_joined_state() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let support = queue(&sb, "Support");
    let members = sb.queue_member_ids(&support);
    let (unjoined, joined) = (&members[0], &members[1]);
    sb.set_queue_member(&support, unjoined, Some(false))
        .unwrap();
    let rows = [format!("{unjoined},Support"), format!("{joined},Support")];
    let a = apply(&sb, dir.path(), "rm.csv", "id,queues:remove", &rows).await;
    assert_eq!(a.run.code, 0, "{:?}\n{:?}", a.run, a.report);
    assert!(!in_queue(&sb, "Support", unjoined) && !in_queue(&sb, "Support", joined));
    let undo = std::fs::read_to_string(&a.undo).unwrap();
    assert!(undo.contains("queues:add-unjoined"), "{undo}");
    let report = dir.path().join("undo.report.csv");
    let run = genupdate(&sb, &["apply", s(&a.undo), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}\n{undo}");
    assert_eq!(
        sb.queue_member(&support, unjoined),
        Some((false, "user".into()))
    );
    assert_eq!(
        sb.queue_member(&support, joined),
        Some((true, "user".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realistic_org_adds_removes_and_converges_the_same() {
    // Default quirks: restricted and deleted users, best-effort expand, delayed joins.
    let sb = sandbox(SandboxConfig {
        users: 80,
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let support = sb.queue_member_ids(&queue(&sb, "Support"));
    let w: Vec<String> = sb
        .writable_user_ids()
        .into_iter()
        .filter(|u| !support.contains(u))
        .collect();
    let restricted = sb.restricted_user_ids();
    let mut rows = vec![
        format!("{},Agent,Sales Inbound,", w[30]),
        format!("{},,,Support", support[4]),
    ];
    if let Some(r) = restricted.first() {
        rows.push(format!("{r},Agent,Sales Inbound,"));
    }
    let header = "id,title,queues:add,queues:remove";
    let a = apply(&sb, dir.path(), "real.csv", header, &rows).await;
    assert!(a.run.code <= 1, "{:?}", a.run);
    assert_eq!(line(&a.report, 2).0, "updated", "{:?}", a.report);
    assert!(in_queue(&sb, "Sales Inbound", &w[30]));
    assert_eq!(
        sb.queue_member(&queue(&sb, "Sales Inbound"), &w[30])
            .map(|m| m.0),
        Some(true),
        "joined"
    );
    assert!(!in_queue(&sb, "Support", &support[4]));
    let writes = member_writes(&sb);
    let again = apply(&sb, dir.path(), "real2.csv", header, &rows).await;
    assert!(again.run.code <= 1, "{:?}", again.run);
    assert_eq!(line(&again.report, 2).0, "unchanged", "{:?}", again.report);
    assert_eq!(
        member_writes(&sb),
        writes,
        "a second run writes no membership"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_keyed_by_email_changes_the_resolved_users_memberships() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = sb.writable_user_ids();
    let email = |id: &str| sb.user(id).unwrap()["email"].as_str().unwrap().to_string();
    let rows = [
        format!("{},Sales Inbound", email(&w[40])),
        "nobody@example.com,Sales Inbound".to_string(),
    ];
    let a = apply_with(
        &sb,
        dir.path(),
        "email.csv",
        "email,queues:add",
        &rows,
        &["--key", "email"],
    )
    .await;
    assert_eq!(a.run.code, 1, "{:?}", a.run);
    assert!(in_queue(&sb, "Sales Inbound", &w[40]));
    assert_eq!(line(&a.report, 2).0, "updated");
    let (status, _, reason) = line(&a.report, 3);
    assert_eq!((status.as_str(), reason.as_str()), ("failed", "not_found"));
    assert_eq!(
        sb.queue_member_ids(&queue(&sb, "Sales Inbound")).len(),
        1,
        "the unresolved row planned nothing"
    );
}
