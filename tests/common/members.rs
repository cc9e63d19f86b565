//! Helpers of the membership tests: the seeded queues and groups, their members
//! read in process, and one apply of a CSV with its report and undo file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use genesys_sandbox::{Quirks, Sandbox, SandboxConfig};

use super::{Run, csv, genupdate, read_csv, s};

pub fn org() -> SandboxConfig {
    SandboxConfig {
        users: 60,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    }
}

/// Membership writes the sandbox answered (member POST, PATCH, DELETE), any status.
pub fn member_writes(sb: &Sandbox) -> u64 {
    sb.stats()
        .by_route
        .iter()
        .filter(|(k, _)| !k.starts_with("GET ") && k.contains("/members"))
        .map(|(_, v)| *v)
        .sum()
}

/// Requests whose route key starts with `prefix`.
pub fn requests(sb: &Sandbox, prefix: &str) -> u64 {
    super::count(&sb.stats(), prefix)
}

pub fn queue(sb: &Sandbox, name: &str) -> String {
    sb.queue_id(name).expect("a seeded queue")
}

pub fn group(sb: &Sandbox, name: &str) -> String {
    sb.group_id(name).expect("a seeded group")
}

pub fn in_queue(sb: &Sandbox, name: &str, user: &str) -> bool {
    sb.queue_member(&queue(sb, name), user).is_some()
}

pub fn in_group(sb: &Sandbox, name: &str, user: &str) -> bool {
    sb.group_member_ids(&group(sb, name))
        .iter()
        .any(|u| u == user)
}

/// Every queue's and group's member set, to compare before and after.
pub fn snapshot(sb: &Sandbox) -> Vec<(String, BTreeSet<String>)> {
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

pub struct Applied {
    pub run: Run,
    pub report: Vec<Vec<String>>,
    pub undo: PathBuf,
}

pub async fn apply(sb: &Sandbox, dir: &Path, name: &str, header: &str, rows: &[String]) -> Applied {
    apply_with(sb, dir, name, header, rows, &[]).await
}

pub async fn apply_with(
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
pub fn line(report: &[Vec<String>], line: u64) -> (String, String, String) {
    let row = report
        .iter()
        .find(|r| r[0] == line.to_string())
        .unwrap_or_else(|| panic!("line {line} in {report:?}"));
    (row[2].clone(), row[5].clone(), row[6].clone())
}
