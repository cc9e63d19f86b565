//! Outcomes visible without flags: the first failed rows on stderr (text and JSON
//! log lines), the report's name and before -> after, the dry-run plan in input
//! order with totals and an estimate (off a terminal, and on one without progress-bar
//! debris), the JSON plan, the JSON summary on every exit path including usage
//! errors, and `genupdate columns`. The real binary against the sandbox on loopback.

mod common;

use std::time::Duration;

use common::*;
use genesys_sandbox::{Faults, SandboxConfig};
use serde_json::Value;

/// The last stdout line as the JSON summary.
fn summary(stdout: &str) -> Value {
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON summary")
}

/// Ids that are UUIDs but name no user of the sandbox.
fn missing_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// 25 rows naming no user, between two rows that change a title.
fn rows_with_25_failures(sb: &genesys_sandbox::Sandbox) -> Vec<String> {
    let ids = sb.user_ids();
    let mut rows = vec![format!("{},Outcome Lead", ids[0])];
    rows.extend((0..25).map(|i| format!("{},Nobody", missing_id(i))));
    rows.push(format!("{},Outcome Lead", ids[1]));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_20_failed_rows_print_on_stderr_with_where_the_rest_are() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "f.csv", "id,title", &rows_with_25_failures(&sb));
    let failed = dir.path().join("failed.csv");
    // --quiet too: failures are not chatter.
    let run = genupdate(&sb, &["apply", s(&file), "--failed", s(&failed), "--quiet"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let prefix = format!("{}:", s(&file));
    let shown: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .collect();
    assert_eq!(shown.len(), 20, "{}", run.stderr);
    for (i, line) in shown.iter().enumerate() {
        // Rows 2..=26 of the file fail; lines 3..=22 are the first 20, in order.
        let want = format!("{}:{}: not_found: ", s(&file), i + 3);
        assert!(line.starts_with(&want), "{line} should start {want}");
        assert!(line.contains(&missing_id(i)), "{line}");
    }
    assert!(
        run.stderr.contains(&format!(
            "25 failed rows, the first 20 shown; all of them are in {}",
            s(&failed)
        )),
        "{}",
        run.stderr
    );
    assert_eq!(read_csv(&failed).len(), 26, "the header and the 25 rows");
    assert!(
        run.stdout.is_empty(),
        "stdout carries results only: {}",
        run.stdout
    );

    // Without --failed or --report: how to get the list.
    let again = genupdate(&sb, &["apply", s(&file)]).await;
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again.stderr.contains("run again with --failed FILE"),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_log_format_json_the_failed_rows_are_json_log_lines() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "j.csv", "id,title", &rows_with_25_failures(&sb));
    let run = genupdate(&sb, &["apply", s(&file), "--log-format", "json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let rows: Vec<&Value> = lines
        .iter()
        .filter(|v| v["fields"]["reason"] == "not_found")
        .collect();
    assert_eq!(rows.len(), 20, "{}", run.stderr);
    assert_eq!(rows[0]["fields"]["line"], 3);
    assert_eq!(rows[0]["level"], "WARN");
    let message = rows[0]["fields"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{}:3: not_found: ", s(&file))),
        "{message}"
    );
    assert!(
        lines.iter().any(|v| v["fields"]["failed_rows"] == 25),
        "the closing line counts them all: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_names_the_user_and_each_change_before_and_after() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = sb.user_ids()[2].clone();
    let before = sb.model_user(&id).unwrap();
    let old_title = before.title.clone().unwrap_or_default();
    // A title that starts with = is written as '=... in a CSV; the report shows the value.
    let file = csv(
        dir.path(),
        "r.csv",
        "id,title,department",
        &[format!("{id},'=Formula Lead,#CLEAR")],
    );
    let report = dir.path().join("report.csv");
    let run = genupdate(&sb, &["apply", s(&file), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let rows = read_csv(&report);
    assert_eq!(&rows[0][10..], ["name", "changes"]);
    let row = &rows[1];
    assert_eq!(row[2], "updated");
    assert_eq!(row[10], before.name.clone().unwrap_or_default());
    let old_department = before.department.clone().unwrap_or_default();
    assert_eq!(
        row[11],
        format!(
            "title: {old_title:?} -> \"=Formula Lead\"; department: {old_department:?} -> (empty)"
        )
    );
    assert_eq!(
        sb.model_user(&id).unwrap().title.as_deref(),
        Some("=Formula Lead")
    );
}

/// Rows in input order with a key failure in the middle of a batch: `--key email`,
/// one email matching nobody.
fn dry_run_file(sb: &genesys_sandbox::Sandbox, dir: &std::path::Path) -> std::path::PathBuf {
    let mut rows = Vec::new();
    for (i, id) in sb.user_ids().iter().take(6).enumerate() {
        let email = sb.user(id).unwrap()["email"].as_str().unwrap().to_string();
        if i == 3 {
            rows.push("nobody@example.invalid,Planned,Dept".to_string());
        }
        let dept = if i % 2 == 0 { "Planned Dept" } else { "" };
        rows.push(format!("{email},Planned Title {i},{dept}"));
    }
    csv(dir, "plan.csv", "email,title,department", &rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_plan_is_in_input_order_with_totals_per_field_and_an_estimate() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dry_run_file(&sb, dir.path());
    let run = genupdate(&sb, &["apply", "--dry-run", "--key", "email", s(&file)]).await;
    assert_eq!(run.code, 1, "one row fails: {run:?}");
    assert_eq!(writes(&sb.stats()), 0);
    let lines: Vec<u64> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("line "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8], "{}", run.stdout);
    assert!(
        run.stdout
            .contains("line 5  nobody@example.invalid  not_found: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "plan: 6 of 7 rows would change a user\n  title: 6 users, department: 3 users\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  the real run: about ")
            && run.stdout.contains(" (6 writes, ")
            && run.stdout.contains("requests/min"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!("{}:5: not_found: ", s(&file))),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_json_carries_the_plan_beside_the_summary() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dry_run_file(&sb, dir.path());
    let run = genupdate(
        &sb,
        &[
            "apply",
            "--dry-run",
            "--key",
            "email",
            s(&file),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "one JSON object: {}",
        run.stdout
    );
    let v = summary(&run.stdout);
    // The summary's own fields are as they were.
    for key in [
        "file",
        "exit_code",
        "exit_reason",
        "dry_run",
        "rows",
        "planned",
        "failed",
        "requests",
        "read_requests",
    ] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    assert_eq!(
        (v["planned"].as_u64(), v["failed"].as_u64()),
        (Some(6), Some(1))
    );
    let plan = v["plan"].as_array().expect("a plan array");
    let lines: Vec<u64> = plan.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8]);
    let first = &plan[0];
    let id = &sb.user_ids()[0];
    assert_eq!(first["id"], id.as_str());
    assert_eq!(first["name"], sb.user(id).unwrap()["name"]);
    assert_eq!(first["status"], "planned");
    assert_eq!(first["changes"][0]["field"], "title");
    assert_eq!(first["changes"][0]["before"], sb.user(id).unwrap()["title"]);
    assert_eq!(first["changes"][0]["after"], "Planned Title 0");
    assert_eq!(plan[3]["status"], "failed");
    assert_eq!(plan[3]["reason"], "not_found");
    assert_eq!(
        v["plan_totals"],
        serde_json::json!([{"field": "title", "users": 6}, {"field": "department", "users": 3}])
    );
    assert!(v["estimated_requests"].as_u64().unwrap() >= 6, "{v}");
    assert!(v["estimated_seconds"].as_f64().unwrap() > 0.0, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_summary_is_printed_on_every_exit_path() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let good = csv(
        dir.path(),
        "good.csv",
        "id,title",
        &[format!("{},Paths", ids[0])],
    );
    let failing = csv(
        dir.path(),
        "failing.csv",
        "id,title",
        &[format!("{},x", missing_id(7))],
    );
    let invalid = csv(dir.path(), "invalid.csv", "id,title", &["42,x".to_string()]);
    let locked = csv(
        dir.path(),
        "locked.csv",
        "id,title",
        &[format!("{},y", ids[1])],
    );
    // Another run's lock, held by this test process.
    let _held = genupdate::lock::acquire(&dir.path().join("locked.csv.lock")).expect("lock");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["apply", s(&good), "--output", "json"], 0, "completed"),
        (
            vec!["apply", s(&failing), "--output", "json"],
            1,
            "rows_failed",
        ),
        (
            vec!["apply", "--output", "json", s(&invalid)],
            3,
            "invalid_input",
        ),
        (vec!["apply", s(&locked), "--output=json"], 5, "lock_held"),
        // Usage errors clap itself refuses, with --output json before or after them.
        (
            vec!["apply", "--output", "json", "--bogus", s(&good)],
            2,
            "usage",
        ),
        (
            vec![
                "apply",
                s(&good),
                "--max-error-rate",
                "5",
                "--output",
                "json",
            ],
            2,
            "usage",
        ),
        (vec!["apply", "--output", "json"], 2, "usage"),
    ];
    for (args, code, reason) in cases {
        let run = genupdate(&sb, &args).await;
        assert_eq!(run.code, code, "{args:?}: {run:?}");
        assert_eq!(run.stdout.lines().count(), 1, "{args:?}: {}", run.stdout);
        let v = summary(&run.stdout);
        assert_eq!(v["exit_reason"], reason, "{args:?}: {v}");
        assert_eq!(v["exit_code"], code, "{args:?}: {v}");
        if reason == "usage" {
            assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
            assert!(
                run.stderr.contains("error:"),
                "clap's message too: {}",
                run.stderr
            );
        }
    }
    // Without --output json a usage error prints clap's message only.
    let plain = genupdate(&sb, &["apply", "--bogus", s(&good)]).await;
    assert_eq!(plain.code, 2);
    assert!(plain.stdout.is_empty(), "{}", plain.stdout);
    assert!(plain.stderr.contains("--bogus"), "{}", plain.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genupdate_columns_lists_every_family_and_apply_help_shows_the_same_list() {
    let sb = sandbox(small()).await;
    let run = genupdate(&sb, &["columns"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    for family in [
        "id",
        "email",
        "username",
        "name, title, department, preferredName",
        "manager",
        "state",
        "acdAutoAnswer",
        "employerInfo.employeeId",
        "employerInfo.officialName, employerInfo.employeeType, employerInfo.dateHire",
        "phone:TYPE",
        "sms:TYPE",
        "email:TYPE",
        "skill:NAME",
        "language:NAME",
        "queues, queues:add, queues:remove",
        "groups, groups:add, groups:remove",
        "roles, roles:add, roles:remove",
        "division",
        "locations, locations:add, locations:remove",
        "#CLEAR",
        "#TEXT:",
    ] {
        assert!(
            run.stdout.lines().any(|l| l.trim() == family),
            "{family} in {}",
            run.stdout
        );
    }
    assert_eq!(run.stdout.matches("e.g. ").count(), 22, "one example each");
    let help = genupdate(&sb, &["apply", "--help"]).await;
    assert_eq!(help.code, 0);
    // One source: clap may re-wrap, so compare the words.
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words(&help.stdout).contains(&words(&run.stdout)),
        "apply --help ends with the column list:\n{}",
        help.stdout
    );
}

/// A minimal terminal: applies text, `\r`, `\n`, erase-line and cursor-up to a grid,
/// and returns its lines as a person would see them at the end.
fn screen(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                if lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut fin = ' ';
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() || p == '~' {
                        fin = p;
                        break;
                    }
                    params.push(p);
                }
                let n: usize = params.trim_start_matches('?').parse().unwrap_or(1);
                match fin {
                    'K' if params == "2" => lines[row].clear(),
                    'K' => lines[row].truncate(col),
                    'A' => row = row.saturating_sub(n),
                    'J' => lines.truncate(row + 1),
                    'G' => col = n.saturating_sub(1),
                    _ => {}
                }
            }
            c => {
                let line = &mut lines[row];
                if line.len() < col {
                    line.resize(col, ' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines.into_iter().map(|l| l.into_iter().collect()).collect()
}

#[test]
fn the_screen_model_shows_bar_debris_when_a_line_is_printed_after_a_bar() {
    // The model itself must see the debris this test is about.
    let debris = screen("\u{2588}\u{2591} 1/3 rows  ETA 0sline 2  u1  Ada\r\n".as_bytes());
    assert!(debris[0].contains("rows") && debris[0].contains("line 2"));
    let clean = screen(
        "\u{2588}\u{2591} 1/3 rows\r\x1b[2Kline 2  u1  Ada\r\n\u{2588} 2/3 rows\r\x1b[2K"
            .as_bytes(),
    );
    assert_eq!(clean[0], "line 2  u1  Ada");
    assert_eq!(clean[1], "");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_dry_run_plan_has_no_progress_bar_debris() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: util-linux `script` (a pseudo-terminal) is not installed");
        return;
    }
    let sb = sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(5),
            ..Faults::default()
        },
        ..small()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let rows: Vec<String> = ids
        .iter()
        .take(30)
        .map(|id| format!("{id},Terminal Lead"))
        .collect();
    let file = csv(dir.path(), "tty.csv", "id,title", &rows);
    let command = format!(
        "{} apply --dry-run {}",
        env!("CARGO_BIN_EXE_genupdate"),
        s(&file)
    );
    let out = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("GENESYSCLOUD_REGION", sb.url())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", ID)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET)
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("script runs");
    let raw = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{raw}");
    assert!(
        raw.contains("/30 rows"),
        "the bar was drawn on the terminal: {raw}"
    );
    let shown = screen(&out.stdout);
    let plan: Vec<&String> = shown.iter().filter(|l| l.contains("line ")).collect();
    assert_eq!(plan.len(), 30, "{shown:#?}");
    for (i, l) in plan.iter().enumerate() {
        assert!(
            l.starts_with(&format!("line {}  {}", i + 2, ids[i])),
            "a plan line with something before it: {l:?}"
        );
        assert!(!l.contains("rows"), "bar debris in {l:?}");
    }
    assert!(
        shown
            .iter()
            .all(|l| !l.contains('\u{2588}') && !l.contains('\u{2591}')),
        "no bar left on the screen: {shown:#?}"
    );
}
