//! Files keyed by email, username or employee id, and managers given by email:
//! resolution up front and in bulk, per-row failures for keys that do not name
//! exactly one user, and the reading strategy chosen by cost.

mod common;

use common::{ModelUser, csv, genupdate, read_csv, s, sandbox, writes};
use genesys_sandbox::{
    CASE_TWIN_INDEX, DELETED_USER_INDEX, DUPLICATE_EMPLOYEE_ID_INDEX, Quirks, SandboxConfig,
};

fn small() -> SandboxConfig {
    SandboxConfig {
        users: 200,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    }
}

fn email_of(sb: &genesys_sandbox::Sandbox, id: &str) -> String {
    sb.user(id).unwrap()["email"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_key_matches_in_any_case_and_is_never_written() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = sb.user_ids()[3].clone();
    let shouted = email_of(&sb, &id).to_uppercase();
    let file = csv(
        dir.path(),
        "e.csv",
        "email,title",
        &[format!("{shouted},Keyed Lead")],
    );
    let report = dir.path().join("r.csv");
    let run = genupdate(
        &sb,
        &["apply", "--key", "email", s(&file), "--report", s(&report)],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let u = sb.model_user(&id).unwrap();
    assert_eq!(u.title.as_deref(), Some("Keyed Lead"));
    assert_eq!(
        u.email.unwrap(),
        shouted.to_lowercase(),
        "the key column is not written"
    );
    assert_eq!(read_csv(&report)[1][2], "updated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_id_key_updates_that_user() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = sb.user_ids()[4].clone();
    let file = csv(
        dir.path(),
        "emp.csv",
        "employerInfo.employeeId,department",
        &["E000005,Keyed Dept".to_string()],
    );
    let run = genupdate(&sb, &["apply", "--key", "employeeId", s(&file)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        sb.model_user(&id).unwrap().department.as_deref(),
        Some("Keyed Dept")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_and_missing_keys_fail_their_rows_with_no_write_and_the_others_go_on() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let dup = format!("E{:06}", DUPLICATE_EMPLOYEE_ID_INDEX);
    let file = csv(
        dir.path(),
        "amb.csv",
        "employerInfo.employeeId,title",
        &[
            format!("{dup},Ambiguous"),
            "E999999,Missing".to_string(),
            "E000002,Found".to_string(),
        ],
    );
    let report = dir.path().join("r.csv");
    let run = genupdate(
        &sb,
        &[
            "apply",
            "--key",
            "employeeId",
            s(&file),
            "--report",
            s(&report),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let rows = read_csv(&report);
    assert_eq!(
        (rows[1][2].as_str(), rows[1][6].as_str()),
        ("failed", "ambiguous")
    );
    let msg = rows[1].join(" ");
    assert!(
        msg.contains(&ids[DUPLICATE_EMPLOYEE_ID_INDEX - 1])
            && msg.contains(&ids[DUPLICATE_EMPLOYEE_ID_INDEX]),
        "{msg}"
    );
    assert_eq!(
        (rows[2][2].as_str(), rows[2][6].as_str()),
        ("failed", "not_found")
    );
    assert_eq!(rows[3][2], "updated");
    assert_eq!(writes(&sb.stats()), 1, "only the resolved row is written");
    for i in [DUPLICATE_EMPLOYEE_ID_INDEX - 1, DUPLICATE_EMPLOYEE_ID_INDEX] {
        assert_ne!(
            sb.model_user(&ids[i]).unwrap().title.as_deref(),
            Some("Ambiguous")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_twin_emails_are_ambiguous_and_two_rows_for_one_user_are_duplicate_users() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let twin = email_of(&sb, &ids[CASE_TWIN_INDEX]);
    let e7 = email_of(&sb, &ids[7]);
    let file = csv(
        dir.path(),
        "dup.csv",
        "email,title",
        &[
            format!("{twin},Twin"),
            format!("{},Once", e7.to_uppercase()),
            format!("{e7},Twice"),
            format!("{},Fine", email_of(&sb, &ids[8])),
        ],
    );
    let report = dir.path().join("r.csv");
    let run = genupdate(
        &sb,
        &["apply", "--key", "email", s(&file), "--report", s(&report)],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let rows = read_csv(&report);
    assert_eq!(rows[1][6], "ambiguous");
    assert_eq!(rows[2][6], "duplicate_user");
    assert!(rows[2].join(" ").contains("line 4"), "{:?}", rows[2]);
    assert_eq!(rows[3][6], "duplicate_user");
    assert!(rows[3].join(" ").contains("line 3"), "{:?}", rows[3]);
    assert_eq!(rows[4][2], "updated");
    assert_eq!(writes(&sb.stats()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_given_by_email_is_resolved_and_an_unknown_one_fails_before_any_write() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let boss = email_of(&sb, &ids[5]).to_uppercase();
    let file = csv(
        dir.path(),
        "m.csv",
        "id,manager",
        &[
            format!("{},{boss}", ids[30]),
            format!("{},ghost@example.com", ids[31]),
        ],
    );
    let report = dir.path().join("r.csv");
    let run = genupdate(&sb, &["apply", s(&file), "--report", s(&report)]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let manager = sb.model_user(&ids[30]).unwrap().manager.unwrap().id;
    assert_eq!(manager, ids[5]);
    let rows = read_csv(&report);
    assert_eq!(
        (rows[2][2].as_str(), rows[2][6].as_str()),
        ("failed", "not_found")
    );
    assert_eq!(writes(&sb.stats()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_key_columns_are_refused_at_validation() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = &sb.user_ids()[0];
    let file = csv(
        dir.path(),
        "two.csv",
        "id,email,title",
        &[format!("{id},a@example.com,X")],
    );
    let run = genupdate(&sb, &["validate", "--key", "email", s(&file)]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("two key columns"), "{}", run.stderr);
    let run = genupdate(&sb, &["validate", s(&file)]).await;
    assert_eq!(
        run.code, 0,
        "with --key id the email column is a value: {run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_users_email_does_not_match() {
    let sb = sandbox(SandboxConfig {
        users: 200,
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let deleted = sb.user_ids()[DELETED_USER_INDEX].clone();
    let email = email_of(&sb, &deleted);
    let file = csv(
        dir.path(),
        "d.csv",
        "email,title",
        &[format!("{email},Back")],
    );
    let report = dir.path().join("r.csv");
    let run = genupdate(
        &sb,
        &["apply", "--key", "email", s(&file), "--report", s(&report)],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(read_csv(&report)[1][6], "not_found");
    assert_eq!(writes(&sb.stats()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_naming_most_of_the_org_is_read_by_one_scan_and_says_so() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let rows: Vec<String> = ids
        .iter()
        .take(152)
        .enumerate()
        .filter(|(i, _)| *i != CASE_TWIN_INDEX && *i != CASE_TWIN_INDEX - 1)
        .map(|(i, id)| {
            let title = if i < 3 {
                "Scanned".to_string()
            } else {
                sb.model_user(id).unwrap().title.unwrap_or_default()
            };
            format!("{},{title}", email_of(&sb, id))
        })
        .collect();
    let file = csv(dir.path(), "scan.csv", "email,title", &rows);
    let run = genupdate(
        &sb,
        &["apply", "--key", "email", s(&file), "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let summary: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(summary["read_strategy"], "scan", "{summary}");
    assert_eq!(summary["org_users"], 200);
    assert_eq!(
        summary["read_requests"], 1,
        "200 users fit one page: {summary}"
    );
    assert_eq!(summary["updated"], 3, "{summary}");
    assert_eq!(writes(&sb.stats()), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesys_import_headers_are_read_as_their_columns_and_the_others_name_the_fix() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let boss = email_of(&sb, &ids[2]);
    let file = csv(
        dir.path(),
        "import.csv",
        "email,name,title,department,phone_work,email_manager",
        &[format!(
            "{},Imported Name,Imported,Ops,+13175550142,{boss}",
            email_of(&sb, &ids[40])
        )],
    );
    let run = genupdate(&sb, &["apply", "--key", "email", s(&file)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let u = sb.model_user(&ids[40]).unwrap();
    assert_eq!(u.manager.unwrap().id, ids[2]);
    assert!(
        u.addresses
            .iter()
            .any(|c| c.kind.as_deref() == Some("WORK")
                && c.address.as_deref() == Some("+13175550142"))
    );
    let bad = csv(
        dir.path(),
        "bad.csv",
        "email,extension,role",
        &["a@example.com,4142,Home".into()],
    );
    let run = genupdate(&sb, &["validate", "--key", "email", s(&bad)]).await;
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("extension") && run.stderr.contains("Genesys import column"),
        "{}",
        run.stderr
    );
    // `division` is a column now; `role` is an import column that says to use `roles`.
    assert!(run.stderr.contains("use \"roles\""), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_of_the_keys_in_a_file_keyed_by_email_gives_managers_as_emails() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let who = email_of(&sb, &ids[50]);
    let keys = csv(dir.path(), "keys.csv", "email", &[who.to_uppercase()]);
    let out = dir.path().join("out.csv");
    let run = genupdate(
        &sb,
        &[
            "export",
            "--key",
            "email",
            "--keys",
            s(&keys),
            "--columns",
            "manager,title",
            "-o",
            s(&out),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], ["email", "manager", "title"]);
    assert_eq!(rows[1][0], who);
    let manager = sb.model_user(&ids[50]).unwrap().manager.map(|m| m.id);
    if let Some(m) = manager {
        assert_eq!(rows[1][1], email_of(&sb, &m));
    }
}
