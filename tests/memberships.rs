//! Queue and group membership columns end to end: the real binary against the real
//! sandbox on loopback, with the seeded memberships of the seed contract (`Support`
//! holds five direct members, one user is in `Billing` only through `Billing Group`,
//! `Restricted Queue` and `Restricted Group` refuse writes with 403).

mod common;

use common::members::*;
use common::{csv, genupdate, s, sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_add_remove_replace_clear_converge_and_undo() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let support = sb.queue_member_ids(&queue(&sb, "Support"));
    assert_eq!(
        support.len(),
        5,
        "the seed contract: five direct members of Support"
    );
    let others: Vec<String> = sb
        .writable_user_ids()
        .into_iter()
        .filter(|u| !support.contains(u) && !in_queue(&sb, "Billing", u))
        .collect();
    let before = snapshot(&sb);
    let (add, remove, replace, clear, same) = (
        &others[0],
        &support[0],
        &support[1],
        &support[2],
        &support[3],
    );
    let rows = [
        format!("{add},,Support;Sales Inbound,"),
        format!("{remove},,,Support"),
        format!(r"{replace},Billing;Tier 1\; Escalations,,"),
        format!("{clear},#CLEAR,,"),
        format!("{same},Support,,"),
    ];
    let header = "id,queues,queues:add,queues:remove";
    let a = apply(&sb, dir.path(), "q.csv", header, &rows).await;
    assert_eq!(a.run.code, 0, "{:?}\n{:?}", a.run, a.report);
    // add: a member of both, and joined (a user added to a queue is joined).
    assert_eq!(
        sb.queue_member(&queue(&sb, "Support"), add),
        Some((true, "user".into()))
    );
    assert!(in_queue(&sb, "Sales Inbound", add));
    // remove: out of Support only.
    assert!(!in_queue(&sb, "Support", remove));
    // replace: exactly the two named queues (the `\;` name included).
    assert!(!in_queue(&sb, "Support", replace));
    assert!(in_queue(&sb, "Billing", replace));
    assert!(in_queue(&sb, "Tier 1; Escalations", replace));
    // clear: in no queue.
    assert!(!in_queue(&sb, "Support", clear));
    let (status, message, _) = line(&a.report, 2);
    assert_eq!(status, "updated");
    assert!(
        message.contains("queues: +Sales Inbound, +Support"),
        "{message}"
    );
    assert_eq!(line(&a.report, 4).0, "updated");
    assert_eq!(line(&a.report, 6).0, "unchanged", "already exactly Support");

    // Convergence: the same file again writes nothing.
    let writes = member_writes(&sb);
    let again = apply(&sb, dir.path(), "q2.csv", header, &rows).await;
    assert_eq!(again.run.code, 0, "{:?}", again.run);
    assert_eq!(member_writes(&sb), writes, "a second run writes nothing");
    for l in 2..=6 {
        assert_eq!(line(&again.report, l).0, "unchanged", "line {l}");
    }

    // Undo: inverse operations in the same column syntax put every queue back.
    let undo = std::fs::read_to_string(&a.undo).unwrap();
    assert!(undo.contains("queues:remove"), "{undo}");
    assert!(undo.contains(r"Tier 1\; Escalations"), "{undo}");
    let report = dir.path().join("undo.report.csv");
    let run = genupdate(&sb, &["apply", s(&a.undo), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}\n{undo}");
    assert_eq!(
        snapshot(&sb),
        before,
        "the undo file restores every membership"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_add_remove_replace_clear_converge_and_undo() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let night = sb.group_member_ids(&group(&sb, "Night Shift"));
    assert!(night.len() >= 2, "the seed has Night Shift members");
    let free: Vec<String> = sb
        .writable_user_ids()
        .into_iter()
        .filter(|u| {
            ![
                "Night Shift",
                "Team Leads",
                "Billing Group",
                "Restricted Group",
            ]
            .iter()
            .any(|g| in_group(&sb, g, u))
        })
        .collect();
    let before = snapshot(&sb);
    let version = sb.group_version(&group(&sb, "Night Shift")).unwrap();
    let rows = [
        format!("{},,Night Shift;Team Leads,", free[0]),
        format!("{},,,Night Shift", night[0]),
        format!("{},Team Leads,,", night[1]),
        format!("{},#CLEAR,,", free[1]),
    ];
    let header = "id,groups,groups:add,groups:remove";
    let a = apply(&sb, dir.path(), "g.csv", header, &rows).await;
    assert_eq!(a.run.code, 0, "{:?}\n{:?}", a.run, a.report);
    assert!(in_group(&sb, "Night Shift", &free[0]));
    assert!(in_group(&sb, "Team Leads", &free[0]));
    assert!(!in_group(&sb, "Night Shift", &night[0]));
    assert!(!in_group(&sb, "Night Shift", &night[1]));
    assert!(in_group(&sb, "Team Leads", &night[1]));
    assert!(
        sb.group_version(&group(&sb, "Night Shift")).unwrap() > version,
        "member changes bump the version the adds sent"
    );
    assert_eq!(line(&a.report, 5).0, "unchanged", "no groups, none wanted");
    assert!(
        line(&a.report, 2)
            .1
            .contains("groups: +Night Shift, +Team Leads")
    );

    let writes = member_writes(&sb);
    let again = apply(&sb, dir.path(), "g2.csv", header, &rows).await;
    assert_eq!(again.run.code, 0, "{:?}", again.run);
    assert_eq!(member_writes(&sb), writes, "a second run writes nothing");

    let report = dir.path().join("undo.report.csv");
    let run = genupdate(&sb, &["apply", s(&a.undo), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        snapshot(&sb),
        before,
        "the undo file restores every membership"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_ambiguous_names_stop_the_run_before_any_write() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = sb.writable_user_ids();
    let rows = [
        format!("{},Lead,Suport,", w[0]),
        format!("{},Lead,Dup Queue,", w[1]),
        format!("{},Lead,Support,Night Shfit", w[2]),
    ];
    let a = apply(
        &sb,
        dir.path(),
        "bad.csv",
        "id,title,queues:add,groups:add",
        &rows,
    )
    .await;
    assert_eq!(a.run.code, 3, "{:?}", a.run);
    let err = &a.run.stderr;
    assert!(
        err.contains("bad.csv:2:queues:add: no queue named \"Suport\""),
        "{err}"
    );
    assert!(err.contains("did you mean \"Support\"?"), "{err}");
    assert!(
        err.contains("bad.csv:3:queues:add: \"Dup Queue\" names 2 queues"),
        "{err}"
    );
    assert!(
        err.contains("bad.csv:4:groups:add: no group named \"Night Shfit\""),
        "{err}"
    );
    assert!(err.contains("did you mean \"Night Shift\"?"), "{err}");
    assert!(
        !err.contains("\"Support\" names"),
        "Support Team is not ambiguous with Support: {err}"
    );
    assert_eq!(member_writes(&sb), 0);
    assert_eq!(requests(&sb, "PATCH "), 0, "no profile write either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_cells_are_checked_offline() {
    let dir = tempfile::tempdir().unwrap();
    let id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    let id2 = "3f2504e0-4f89-41d3-9a0c-0305e82c3302";
    let id3 = "3f2504e0-4f89-41d3-9a0c-0305e82c3303";
    let id4 = "3f2504e0-4f89-41d3-9a0c-0305e82c3304";
    let file = csv(
        dir.path(),
        "v.csv",
        "id,queues,queues:add,queues:remove",
        &[
            format!("{id},Support,Billing,"),
            format!("{id2},,Billing,Billing"),
            format!("{id3},,+Billing,"),
            format!("{id4},,Support;;Billing,#CLEAR"),
        ],
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_genupdate"))
        .args(["validate", s(&file)])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("v.csv:2:queues:add: queues and queues:add are both set"),
        "{err}"
    );
    assert!(
        err.contains("v.csv:3:queues:remove: \"Billing\" is in both"),
        "{err}"
    );
    assert!(
        err.contains("v.csv:4:queues:add:") && err.contains("formula"),
        "{err}"
    );
    assert!(
        err.contains("v.csv:5:queues:add:") && err.contains("empty name"),
        "{err}"
    );
    assert!(
        err.contains("v.csv:5:queues:remove: queues:remove cannot be #CLEAR"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_member_fails_its_row_not_the_batch() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = sb.writable_user_ids();
    let ghost = "0badc0de-0000-4000-8000-000000000000";
    let rows = [
        format!("{},Sales Inbound,Night Shift", w[20]),
        format!("{ghost},Sales Inbound,Night Shift"),
        format!("{},Sales Inbound,Night Shift", w[21]),
    ];
    let a = apply(
        &sb,
        dir.path(),
        "split.csv",
        "id,queues:add,groups:add",
        &rows,
    )
    .await;
    assert_eq!(a.run.code, 1, "{:?}", a.run);
    for u in [&w[20], &w[21]] {
        assert!(in_queue(&sb, "Sales Inbound", u));
        assert!(in_group(&sb, "Night Shift", u));
    }
    assert_eq!(line(&a.report, 2).0, "updated");
    assert_eq!(line(&a.report, 4).0, "updated");
    let (status, message, _) = line(&a.report, 3);
    assert_eq!(status, "failed");
    assert!(message.contains("queues: +Sales Inbound"), "{message}");
    // One 400 naming the member, then the batch again without it: two calls each.
    assert_eq!(
        requests(&sb, "POST /api/v2/routing/queues/{queueId}/members 400"),
        1
    );
    assert_eq!(
        requests(&sb, "POST /api/v2/routing/queues/{queueId}/members 204"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_queue_or_group_fails_its_rows_and_the_rest_lands() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = sb.writable_user_ids();
    let rows = [
        format!("{},Restricted Queue;Sales Inbound,", w[22]),
        format!("{},,Restricted Group", w[23]),
        format!("{},Sales Inbound,", w[24]),
    ];
    let a = apply(
        &sb,
        dir.path(),
        "403.csv",
        "id,queues:add,groups:add",
        &rows,
    )
    .await;
    assert_eq!(a.run.code, 1, "rows failed, the run went on: {:?}", a.run);
    let (status, message, reason) = line(&a.report, 2);
    assert_eq!((status.as_str(), reason.as_str()), ("failed", "forbidden"));
    assert!(message.contains("Restricted Queue"), "{message}");
    assert!(message.contains("routing:queue:edit"), "{message}");
    assert!(
        message.contains("queues: +Sales Inbound"),
        "what landed is named: {message}"
    );
    let (status, message, reason) = line(&a.report, 3);
    assert_eq!((status.as_str(), reason.as_str()), ("failed", "forbidden"));
    assert!(message.contains("directory:group:edit"), "{message}");
    assert_eq!(line(&a.report, 4).0, "updated");
    assert!(in_queue(&sb, "Sales Inbound", &w[22]));
    assert!(!in_queue(&sb, "Restricted Queue", &w[22]));
    // The undo file holds what landed, not what was refused.
    let undo = std::fs::read_to_string(&a.undo).unwrap();
    assert!(undo.contains("Sales Inbound"), "{undo}");
    assert!(!undo.contains("Restricted"), "{undo}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_membership_through_a_group_is_not_removed_and_the_row_names_the_group() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let billing = queue(&sb, "Billing");
    let via_group: Vec<String> = sb
        .queue_member_ids(&billing)
        .into_iter()
        .filter(|u| {
            sb.queue_member(&billing, u)
                .is_some_and(|(_, by)| by == "group")
        })
        .collect();
    assert_eq!(
        via_group.len(),
        1,
        "the seed contract: one user in Billing through Billing Group"
    );
    let u = &via_group[0];
    let a = apply(
        &sb,
        dir.path(),
        "grp.csv",
        "id,queues:remove",
        &[format!("{u},Billing")],
    )
    .await;
    assert_eq!(a.run.code, 1, "{:?}", a.run);
    let (status, message, _) = line(&a.report, 2);
    assert_eq!(status, "failed");
    assert!(
        message.contains("Billing Group"),
        "names the group: {message}"
    );
    assert!(in_queue(&sb, "Billing", u));
    // A replace cell leaves it alone: not the user's own membership.
    let a = apply(
        &sb,
        dir.path(),
        "rep.csv",
        "id,queues",
        &[format!("{u},Support")],
    )
    .await;
    assert_eq!(a.run.code, 0, "{:?}\n{:?}", a.run, a.report);
    assert!(in_queue(&sb, "Billing", u));
    assert!(in_queue(&sb, "Support", u));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_plans_membership_changes_and_writes_nothing() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let support = sb.queue_member_ids(&queue(&sb, "Support"));
    let night = sb.group_member_ids(&group(&sb, "Night Shift"));
    let rows = [
        format!("{},Sales Inbound,", support[0]),
        format!("{},,Night Shift", night[0]),
    ];
    let file = csv(dir.path(), "dry.csv", "id,queues:add,groups:remove", &rows);
    let run = genupdate(&sb, &["apply", "--dry-run", s(&file)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("    queues: +Sales Inbound"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("    groups: -Night Shift"),
        "{}",
        run.stdout
    );
    assert_eq!(member_writes(&sb), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_limits_are_refused_with_membership_columns_before_any_write() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = sb.writable_user_ids();
    let rows = [
        format!("{},Lead,Support", w[0]),
        format!("{},Lead,Support", w[1]),
    ];
    for (name, flag) in [("limit.csv", "--limit-rows"), ("max.csv", "--max-changes")] {
        let a = apply_with(
            &sb,
            dir.path(),
            name,
            "id,title,queues:add",
            &rows,
            &[flag, "1"],
        )
        .await;
        assert_eq!(a.run.code, 2, "{flag}: {:?}", a.run);
        assert!(
            a.run
                .stderr
                .contains(&format!("{flag} 1 cannot be used with membership columns")),
            "{}",
            a.run.stderr
        );
    }
    assert_eq!(member_writes(&sb), 0, "no membership write");
    assert_eq!(requests(&sb, "PATCH "), 0, "no profile write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_json_logs_name_and_cell_problems_are_json_lines() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = sb.writable_user_ids();
    let cases = [
        (
            "names.csv",
            format!("{},Lead,Suport", w[0]),
            "queues:add",
            2,
        ),
        ("cells.csv", "not-a-uuid,Lead,Support".to_string(), "id", 2),
    ];
    for (name, row, column, line) in cases {
        let a = apply_with(
            &sb,
            dir.path(),
            name,
            "id,title,queues:add",
            &[row],
            &["--log-format", "json"],
        )
        .await;
        assert_eq!(a.run.code, 3, "{:?}", a.run);
        let lines: Vec<serde_json::Value> = a
            .run
            .stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert!(
            lines.iter().any(|v| v["level"] == "ERROR"
                && v["fields"]["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with(name))
                && v["fields"]["line"] == line
                && v["fields"]["column"] == column),
            "{name}: {}",
            a.run.stderr
        );
    }
    assert_eq!(member_writes(&sb), 0);
}
