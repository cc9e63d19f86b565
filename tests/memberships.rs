//! Queue and group membership columns end to end: the real binary against the real
//! sandbox on loopback, with the seeded memberships of the seed contract (`Support`
//! holds five direct members, one user is in `Billing` only through `Billing Group`,
//! `Restricted Queue` and `Restricted Group` refuse writes with 403).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{Run, csv, genupdate, read_csv, s, sandbox};
use genesys_sandbox::{Quirks, Sandbox, SandboxConfig};

fn org() -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    }
}

/// Membership writes the sandbox answered (member POST, PATCH, DELETE), any status.
fn member_writes(sb: &Sandbox) -> u64 {
    sb.stats()
        .by_route
        .iter()
        .filter(|(k, _)| !k.starts_with("GET ") && k.contains("/members"))
        .map(|(_, v)| *v)
        .sum()
}

/// Requests whose route key starts with `prefix`.
fn requests(sb: &Sandbox, prefix: &str) -> u64 {
    common::count(&sb.stats(), prefix)
}

fn queue(sb: &Sandbox, name: &str) -> String {
    sb.queue_id(name).expect("a seeded queue")
}

fn group(sb: &Sandbox, name: &str) -> String {
    sb.group_id(name).expect("a seeded group")
}

fn in_queue(sb: &Sandbox, name: &str, user: &str) -> bool {
    sb.queue_member(&queue(sb, name), user).is_some()
}

fn in_group(sb: &Sandbox, name: &str, user: &str) -> bool {
    sb.group_member_ids(&group(sb, name))
        .iter()
        .any(|u| u == user)
}

/// Every queue's and group's member set, to compare before and after.
fn snapshot(sb: &Sandbox) -> Vec<(String, BTreeSet<String>)> {
    let mut all = Vec::new();
    for q in [
        "Support",
        "Support Team",
        "Sales Inbound",
        "Billing",
        "Tier 1; Escalations",
    ] {
        let members = sb.queue_member_ids(&queue(sb, q)).into_iter().collect();
        all.push((q.to_string(), members));
    }
    for g in ["Night Shift", "Team Leads", "Billing Group"] {
        let members = sb.group_member_ids(&group(sb, g)).into_iter().collect();
        all.push((g.to_string(), members));
    }
    all
}

struct Applied {
    run: Run,
    report: Vec<Vec<String>>,
    undo: PathBuf,
}

async fn apply(sb: &Sandbox, dir: &Path, name: &str, header: &str, rows: &[String]) -> Applied {
    apply_with(sb, dir, name, header, rows, &[]).await
}

async fn apply_with(
    sb: &Sandbox,
    dir: &Path,
    name: &str,
    header: &str,
    rows: &[String],
    extra: &[&str],
) -> Applied {
    let file = csv(dir, name, header, rows);
    let report = dir.join(format!("{name}.report.csv"));
    let undo = dir.join(format!("{name}.undo.csv"));
    let mut args = vec![
        "apply",
        s(&file),
        "--report",
        s(&report),
        "--undo",
        s(&undo),
    ];
    args.extend_from_slice(extra);
    let run = genupdate(sb, &args).await;
    let report = if report.exists() {
        read_csv(&report)
    } else {
        Vec::new()
    };
    Applied { run, report, undo }
}

/// The report line of `line` (status, message, reason).
fn line(report: &[Vec<String>], line: u64) -> (String, String, String) {
    let row = report
        .iter()
        .find(|r| r[0] == line.to_string())
        .unwrap_or_else(|| panic!("line {line} in {report:?}"));
    (row[2].clone(), row[5].clone(), row[6].clone())
}

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
