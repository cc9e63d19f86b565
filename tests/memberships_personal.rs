//! The per-user membership columns end to end: `roles` (with `:add`/`:remove`),
//! `division` and `locations`, the real binary against the real sandbox on loopback,
//! with the seed contract's names: every user holds `Employee` in `Home`, one user
//! holds `Supervisor` only through the group `Team Leads`, `Restricted Ops` refuses
//! every write (403), one user is at `Indianapolis HQ` with notes.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::members::{apply, apply_with, line, requests};
use common::{Run, genupdate, read_csv, s, sandbox};
use genesys_sandbox::{Quirks, Sandbox, SandboxConfig};

fn org() -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    }
}

/// Grant writes answered (bulkadd, bulkremove, bulkreplace, one-grant DELETE).
fn grant_writes(sb: &Sandbox) -> u64 {
    requests(sb, "POST /api/v2/authorization/subjects/")
        + requests(sb, "DELETE /api/v2/authorization/subjects/")
}

fn moves(sb: &Sandbox) -> u64 {
    requests(sb, "POST /api/v2/authorization/divisions/")
}

fn user_patches(sb: &Sandbox) -> u64 {
    requests(sb, "PATCH /api/v2/users/{id} ")
}

/// A user's direct grants as `Role@Division`.
fn direct(sb: &Sandbox, user: &str) -> BTreeSet<String> {
    sb.user_grants(user)
        .into_iter()
        .filter(|g| g.subject_id.eq_ignore_ascii_case(user))
        .map(|g| format!("{}@{}", g.role, g.division))
        .collect()
}

fn inherited(sb: &Sandbox, user: &str) -> BTreeSet<String> {
    sb.user_grants(user)
        .into_iter()
        .filter(|g| !g.subject_id.eq_ignore_ascii_case(user))
        .map(|g| format!("{}@{}", g.role, g.division))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The seeded user who holds Supervisor only through Team Leads.
fn team_lead(sb: &Sandbox) -> String {
    sb.writable_user_ids()
        .into_iter()
        .find(|u| !inherited(sb, u).is_empty())
        .expect("the seed contract: one user holds Supervisor through Team Leads")
}

/// Writable users with nothing special: no inherited grant, no location.
fn plain(sb: &Sandbox) -> Vec<String> {
    sb.writable_user_ids()
        .into_iter()
        .filter(|u| inherited(sb, u).is_empty() && sb.user_locations(u).is_empty())
        .collect()
}

async fn apply_undo(sb: &Sandbox, dir: &Path, undo: &Path) -> Run {
    let report = dir.join("undo.report.csv");
    genupdate(sb, &["apply", s(undo), "--report", s(&report)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_add_remove_replace_clear_converge_and_undo() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = plain(&sb);
    let lead = team_lead(&sb);
    for u in w.iter().take(5).chain([&lead]) {
        assert_eq!(direct(&sb, u), set(&["Employee@Home"]), "the seed contract");
    }
    let before: Vec<BTreeSet<String>> = w.iter().take(5).map(|u| direct(&sb, u)).collect();
    let rows = [
        // add, in a named division and in every division.
        format!("{},,Agent@Sales;Admin@*,", w[0]),
        // remove (a role without @ is the home division's).
        format!("{},,,Employee", w[1]),
        // replace: Admin is the exact name, not the prefix of Admin Lite.
        format!("{},Admin;Employee@Home,,", w[2]),
        // clear: no direct grant left.
        format!("{},#CLEAR,,", w[3]),
        // unchanged.
        format!("{},Employee,,", w[4]),
        // the inherited Supervisor grant is neither removed nor a difference.
        format!("{},Agent,,", lead),
    ];
    let header = "id,roles,roles:add,roles:remove";
    let a = apply(&sb, dir.path(), "r.csv", header, &rows).await;
    assert_eq!(a.run.code, 0, "{:?}\n{:?}", a.run, a.report);
    assert_eq!(
        direct(&sb, &w[0]),
        set(&["Employee@Home", "Agent@Sales", "Admin@*"])
    );
    assert_eq!(direct(&sb, &w[1]), set(&[]));
    assert_eq!(direct(&sb, &w[2]), set(&["Employee@Home", "Admin@Home"]));
    assert_eq!(direct(&sb, &w[3]), set(&[]));
    assert_eq!(direct(&sb, &w[4]), set(&["Employee@Home"]));
    assert_eq!(direct(&sb, &lead), set(&["Agent@Home"]));
    assert_eq!(inherited(&sb, &lead), set(&["Supervisor@Home"]), "kept");
    let (status, message, _) = line(&a.report, 2);
    assert_eq!(status, "updated");
    assert!(message.contains("+Agent@Sales"), "{message}");
    assert!(message.contains("+Admin@*"), "{message}");
    assert_eq!(line(&a.report, 6).0, "unchanged");
    assert!(line(&a.report, 7).1.contains("-Employee@Home"));

    // Convergence: the same file again writes nothing.
    let writes = grant_writes(&sb);
    let again = apply(&sb, dir.path(), "r2.csv", header, &rows).await;
    assert_eq!(again.run.code, 0, "{:?}", again.run);
    assert_eq!(grant_writes(&sb), writes, "a second run writes nothing");
    for l in 2..=7 {
        assert_eq!(line(&again.report, l).0, "unchanged", "line {l}");
    }

    // Undo: roles:add / roles:remove cells put every direct grant back.
    let undo = std::fs::read_to_string(&a.undo).unwrap();
    assert!(
        undo.contains("roles:remove") && undo.contains("roles:add"),
        "{undo}"
    );
    let run = apply_undo(&sb, dir.path(), &a.undo).await;
    assert_eq!(run.code, 0, "{run:?}\n{undo}");
    let after: Vec<BTreeSet<String>> = w.iter().take(5).map(|u| direct(&sb, u)).collect();
    assert_eq!(after, before, "{undo}");
    assert_eq!(direct(&sb, &lead), set(&["Employee@Home"]));
    assert_eq!(inherited(&sb, &lead), set(&["Supervisor@Home"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_cost_one_subject_read_per_user_and_one_more_per_changed_user() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = plain(&sb);
    let rows = [
        format!("{},Employee;Agent", w[0]),
        format!("{},Supervisor@Sales", w[1]),
        format!("{},Employee", w[2]),
        format!("{},Employee", w[3]),
    ];
    sb.reset_stats();
    let a = apply(&sb, dir.path(), "n.csv", "id,roles", &rows).await;
    assert_eq!(a.run.code, 0, "{:?}", a.run);
    // 4 users read to plan; the 2 whose grants changed read once more to confirm.
    let routes = format!("{:?}", sb.stats().by_route);
    assert_eq!(
        requests(&sb, "GET /api/v2/authorization/subjects/"),
        4 + 2,
        "{routes}"
    );
    // One bulkadd per user with additions; one DELETE per removed grant.
    assert_eq!(
        requests(
            &sb,
            "POST /api/v2/authorization/subjects/{subjectId}/bulkadd"
        ),
        2,
        "{routes}"
    );
    assert_eq!(requests(&sb, "DELETE /api/v2/authorization/subjects/"), 1);
    assert_eq!(
        requests(
            &sb,
            "POST /api/v2/authorization/subjects/{subjectId}/bulkremove"
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_inherited_grant_fails_the_row_and_writes_nothing() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let lead = team_lead(&sb);
    let a = apply(
        &sb,
        dir.path(),
        "i.csv",
        "id,roles:remove",
        &[format!("{lead},Supervisor")],
    )
    .await;
    assert_eq!(a.run.code, 1, "{:?}", a.run);
    let (status, message, _) = line(&a.report, 2);
    assert_eq!(status, "failed");
    assert!(message.contains("through a group"), "{message}");
    assert_eq!(grant_writes(&sb), 0);
    assert_eq!(inherited(&sb, &lead), set(&["Supervisor@Home"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_stop_the_run_before_any_write() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = plain(&sb);
    let cases = [
        (
            "id,roles:add",
            format!("{},Nobody", w[0]),
            "no role is named \"Nobody\"",
        ),
        (
            "id,roles:add",
            format!("{},Agent@Nowhere", w[0]),
            "no division is named \"Nowhere\"",
        ),
        (
            "id,roles:add",
            format!("{},admin", w[0]),
            "no role is named \"admin\"",
        ),
        (
            "id,division",
            format!("{},Nowhere", w[0]),
            "no division named \"Nowhere\"",
        ),
        (
            "id,division",
            format!("{},Sale", w[0]),
            "no division named \"Sale\"",
        ),
        (
            "id,locations",
            format!("{},Galway", w[0]),
            "no location named \"Galway\"",
        ),
    ];
    for (i, (header, row, want)) in cases.iter().enumerate() {
        let a = apply(
            &sb,
            dir.path(),
            &format!("u{i}.csv"),
            header,
            std::slice::from_ref(row),
        )
        .await;
        assert_eq!(a.run.code, 3, "{header} {row}: {:?}", a.run);
        assert!(a.run.stderr.contains(want), "{want}: {}", a.run.stderr);
        assert!(
            a.run.stderr.contains(":2:"),
            "names the line: {}",
            a.run.stderr
        );
    }
    assert_eq!(grant_writes(&sb) + moves(&sb) + user_patches(&sb), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn division_moves_converge_undo_and_a_403_fails_only_its_row() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = plain(&sb);
    assert!(
        sb.division_id("Sales").is_some(),
        "the seed contract: Sales"
    );
    let division = |u: &str| sb.division_of(u);
    for u in &w[..3] {
        assert_eq!(division(u).as_deref(), Some("Home"));
    }
    let rows = [
        format!("{},Sales", w[0]),
        format!("{},Home", w[1]),
        format!("{},Restricted Ops", w[2]),
    ];
    // The plan shows the move.
    let plan = apply_with(
        &sb,
        dir.path(),
        "dry.csv",
        "id,division",
        &rows,
        &["--dry-run"],
    )
    .await;
    assert!(
        plan.run.stdout.contains("division: Home -> Sales"),
        "{}",
        plan.run.stdout
    );
    assert_eq!(moves(&sb), 0, "a dry run moves no one");

    let a = apply(&sb, dir.path(), "d.csv", "id,division", &rows).await;
    assert_eq!(a.run.code, 1, "{:?}\n{:?}", a.run, a.report);
    assert_eq!(division(&w[0]).as_deref(), Some("Sales"));
    assert_eq!(division(&w[2]).as_deref(), Some("Home"));
    assert_eq!(line(&a.report, 2).0, "updated");
    assert_eq!(line(&a.report, 3).0, "unchanged");
    let (status, message, reason) = line(&a.report, 4);
    assert_eq!((status.as_str(), reason.as_str()), ("failed", "forbidden"));
    assert!(
        message.contains("Restricted Ops") && message.contains("directory:user:edit"),
        "{message}"
    );
    // One call per user moved (or refused): the id count per move is undocumented.
    assert_eq!(moves(&sb), 2);

    let again = apply(&sb, dir.path(), "d2.csv", "id,division", &rows[..2]).await;
    assert_eq!(again.run.code, 0, "{:?}", again.run);
    assert_eq!(moves(&sb), 2, "a second run moves no one");

    let undo = std::fs::read_to_string(&a.undo).unwrap();
    assert!(undo.contains("division") && undo.contains("Home"), "{undo}");
    assert!(!undo.contains("Restricted"), "only what landed: {undo}");
    let run = apply_undo(&sb, dir.path(), &a.undo).await;
    assert_eq!(run.code, 0, "{run:?}\n{undo}");
    assert_eq!(division(&w[0]).as_deref(), Some("Home"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_keep_notes_converge_and_undo() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let hq = sb.location_id("Indianapolis HQ").unwrap();
    let galway = sb.location_id("Galway Office").unwrap();
    let remote = sb.location_id("Remote").unwrap();
    let located = sb
        .writable_user_ids()
        .into_iter()
        .find(|u| !sb.user_locations(u).is_empty())
        .expect("the seed contract: one user at Indianapolis HQ");
    let notes = sb.user_locations(&located)[0].1.clone();
    assert!(notes.is_some(), "with notes");
    let w = plain(&sb);
    let rows = [
        // add beside a location with notes: the notes stay.
        format!("{located},,Galway Office,"),
        format!("{},Remote;Galway Office,,", w[0]),
        format!("{},#CLEAR,,", w[1]),
        format!("{},,,Remote", w[2]),
    ];
    let header = "id,locations,locations:add,locations:remove";
    let plan = apply_with(&sb, dir.path(), "dry.csv", header, &rows, &["--dry-run"]).await;
    assert!(
        plan.run.stdout.contains("locations: +Galway Office"),
        "{}",
        plan.run.stdout
    );
    let a = apply(&sb, dir.path(), "l.csv", header, &rows).await;
    assert_eq!(a.run.code, 0, "{:?}\n{:?}", a.run, a.report);
    assert_eq!(
        sb.user_locations(&located),
        vec![(hq.clone(), notes.clone()), (galway.clone(), None)]
    );
    let mut mine: Vec<String> = sb.user_locations(&w[0]).into_iter().map(|l| l.0).collect();
    mine.sort();
    let mut want = vec![remote.clone(), galway.clone()];
    want.sort();
    assert_eq!(mine, want);
    assert_eq!(line(&a.report, 2).0, "updated");
    assert_eq!(line(&a.report, 4).0, "unchanged", "nothing to clear");
    assert_eq!(line(&a.report, 5).0, "unchanged", "not there to remove");
    assert_eq!(user_patches(&sb), 2);

    // Replace and remove on the user with notes; clear on another.
    let rows2 = [
        format!("{located},Indianapolis HQ,,"),
        format!("{},,,Remote", w[0]),
    ];
    let b = apply(&sb, dir.path(), "l2.csv", header, &rows2).await;
    assert_eq!(b.run.code, 0, "{:?}\n{:?}", b.run, b.report);
    assert_eq!(
        sb.user_locations(&located),
        vec![(hq.clone(), notes.clone())]
    );
    assert_eq!(sb.user_locations(&w[0]), vec![(galway.clone(), None)]);

    let patches = user_patches(&sb);
    let again = apply(&sb, dir.path(), "l3.csv", header, &rows2).await;
    assert_eq!(again.run.code, 0, "{:?}", again.run);
    assert_eq!(user_patches(&sb), patches, "a second run writes nothing");

    // Undo the second run, then the first: back to the seed.
    for undo in [&b.undo, &a.undo] {
        let text = std::fs::read_to_string(undo).unwrap();
        let run = apply_undo(&sb, dir.path(), undo).await;
        assert_eq!(run.code, 0, "{run:?}\n{text}");
    }
    assert_eq!(sb.user_locations(&located), vec![(hq, notes)]);
    assert!(sb.user_locations(&w[0]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_roles_division_and_locations_applies_as_unchanged() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = plain(&sb);
    // Give the org some variety first.
    let rows = [
        format!("{},Agent@Sales;Admin@*,Sales,Galway Office;Remote", w[0]),
        format!("{},Employee,,Remote", w[1]),
    ];
    let a = apply(
        &sb,
        dir.path(),
        "v.csv",
        "id,roles,division,locations",
        &rows,
    )
    .await;
    assert_eq!(a.run.code, 0, "{:?}\n{:?}", a.run, a.report);
    let out = dir.path().join("export.csv");
    let run = genupdate(
        &sb,
        &[
            "export",
            "--columns",
            "roles,division,locations",
            "-o",
            s(&out),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let exported = read_csv(&out);
    assert_eq!(exported[0], vec!["id", "roles", "division", "locations"]);
    let mine = exported.iter().find(|r| r[0] == w[0]).expect("the user");
    assert_eq!(mine[1], "Admin@*;Agent@Sales", "{text}");
    assert_eq!(mine[2], "Sales");
    assert_eq!(mine[3], "Galway Office;Remote");
    // The inherited Supervisor grant is not the user's own: not exported.
    let lead = team_lead(&sb);
    let theirs = exported.iter().find(|r| r[0] == lead).expect("the lead");
    assert_eq!(theirs[1], "Employee@Home");

    let (grants, moved, patched) = (grant_writes(&sb), moves(&sb), user_patches(&sb));
    let report = dir.path().join("export.report.csv");
    let run = genupdate(&sb, &["apply", s(&out), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "every row unchanged: {run:?}");
    assert_eq!(
        (grant_writes(&sb), moves(&sb), user_patches(&sb)),
        (grants, moved, patched),
        "an unedited export writes nothing"
    );
    let report = read_csv(&report);
    let updated = report.iter().filter(|r| r[2] == "updated").count();
    assert_eq!(updated, 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_plan_shows_inherited_grants_as_kept() {
    let sb = sandbox(org()).await;
    let dir = tempfile::tempdir().unwrap();
    let lead = team_lead(&sb);
    let kept = inherited(&sb, &lead);
    assert!(!kept.is_empty(), "the seed contract: an inherited grant");
    // A replace cell that names only Agent: the inherited grant is neither removed nor
    // a difference, and the plan says so beside the change.
    let rows = [format!("{lead},Agent")];
    let plan = apply_with(
        &sb,
        dir.path(),
        "dry.csv",
        "id,roles",
        &rows,
        &["--dry-run"],
    )
    .await;
    assert_eq!(plan.run.code, 0, "{:?}", plan.run);
    let out = &plan.run.stdout;
    assert!(
        out.contains("    roles: +Agent@Home\n    roles: -Employee@Home\n"),
        "{out}"
    );
    for grant in &kept {
        assert!(
            out.contains(&format!(
                "    roles: {grant} (inherited through a group: kept)"
            )),
            "{grant} in {out}"
        );
    }
    assert_eq!(grant_writes(&sb), 0, "a dry run writes nothing");
    // The totals count the user once for roles (the kept grant is not a change).
    let json = apply_with(
        &sb,
        dir.path(),
        "dry-json.csv",
        "id,roles",
        &rows,
        &["--dry-run", "--output", "json"],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(json.run.stdout.trim()).unwrap();
    assert_eq!(
        v["plan_totals"],
        serde_json::json!([{"field": "roles", "users": 1}]),
        "{v}"
    );
    // The estimate counts the real run's grant writes: one bulkadd (Agent), one DELETE
    // (Employee); the kept grant costs nothing.
    let num = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert_eq!(num("estimated_requests") - num("read_requests"), 2, "{v}");
    let changes = &v["plan"][0]["changes"];
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kept"] == true && c["field"] == "roles"),
        "{changes}"
    );
}
