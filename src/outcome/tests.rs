use super::*;
use crate::report::Reason;

fn change(column: usize, field: &str, before: &str, after: &str) -> FieldChange {
    FieldChange {
        column,
        field: field.into(),
        before: before.into(),
        after: after.into(),
        op: None,
        kept: false,
    }
}

fn failed(seq: u64, reason: Reason, message: &str) -> RowResult {
    let mut r = RowResult::new(seq, seq + 2, "id", Vec::new(), Status::Failed);
    r.reason = Some(reason);
    r.message = message.into();
    r
}

#[test]
fn changes_read_as_field_before_arrow_after() {
    let cases: &[(&[FieldChange], &str)] = &[
        (&[], ""),
        (
            &[change(1, "title", "Agent", "Senior Agent")],
            r#"title: "Agent" -> "Senior Agent""#,
        ),
        (
            &[
                change(1, "title", "", "Lead"),
                change(3, "phone:WORK", "+13175550142", ""),
            ],
            r#"title: (empty) -> "Lead"; phone:WORK: "+13175550142" -> (empty)"#,
        ),
        // A value holding the separators, a quote or a line break stays one readable value.
        (
            &[change(1, "title", "a; b -> c", "x\"y\nz")],
            r#"title: "a; b -> c" -> "x\"y\nz""#,
        ),
    ];
    for (changes, want) in cases {
        assert_eq!(describe_changes(changes), *want);
    }
}

#[test]
fn the_first_failures_are_the_lowest_lines_whatever_the_completion_order() {
    let mut f = FirstFailures::new(3);
    for seq in [7, 2, 9, 0, 5, 1] {
        f.observe(&failed(seq, Reason::NotFound, "gone"));
    }
    f.observe(&RowResult::new(10, 12, "x", Vec::new(), Status::Skipped));
    f.observe(&RowResult::new(11, 13, "x", Vec::new(), Status::Updated));
    let lines: Vec<u64> = f.rows().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3, 4], "seq 0, 1, 2 at lines 2, 3, 4");
    assert_eq!(f.total(), 6, "skipped and updated rows are not failures");
}

#[test]
fn a_failed_row_renders_as_file_line_reason_message_on_one_line() {
    let mut f = FirstFailures::default();
    f.observe(&failed(
        12,
        Reason::Forbidden,
        "permission denied\nsecond line",
    ));
    let row = f.rows().next().unwrap();
    assert_eq!(
        row.render("users.csv"),
        "users.csv:14: forbidden: permission denied\\nsecond line"
    );
}

#[test]
fn the_closing_line_says_where_every_failed_row_is() {
    let mut f = FirstFailures::new(2);
    assert_eq!(f.where_all(None, None), None, "no failures, no line");
    for seq in 0..5 {
        f.observe(&failed(seq, Reason::Conflict, "x"));
    }
    let cases: &[(Option<&str>, Option<&str>, &[&str])] = &[
        (
            Some("failed.csv"),
            Some("report.csv"),
            &[
                "5 failed rows, the first 2 shown",
                "failed.csv",
                "genupdate apply failed.csv",
            ],
        ),
        (
            None,
            Some("report.csv"),
            &["the report report.csv has every row"],
        ),
        (None, None, &["run again with --failed FILE"]),
    ];
    for (failed_path, report, wants) in cases {
        let line = f.where_all(*failed_path, *report).unwrap();
        for want in *wants {
            assert!(line.contains(want), "{line} lacks {want}");
        }
    }
    let mut one = FirstFailures::default();
    one.observe(&failed(0, Reason::NotFound, "x"));
    assert!(
        one.where_all(None, None)
            .unwrap()
            .starts_with("1 failed row;")
    );
}

#[test]
fn reorder_releases_in_input_order_and_gives_up_a_late_row_past_the_cap() {
    // (seq, shows something) pushed in this order -> what comes out after each push
    let steps: &[(u64, bool, &[u64])] = &[
        (1, true, &[]),
        (2, false, &[]),
        (0, true, &[0, 1]),
        (4, true, &[]),
        (3, true, &[3, 4]),
        // Row 5 is deferred: 6, 7 wait until the cap (2) is passed.
        (6, true, &[]),
        (7, true, &[]),
        (8, true, &[6, 7, 8]),
        (5, true, &[5]),
    ];
    let mut r = Reorder::new(2);
    for (seq, shows, want) in steps {
        let out = r.push(*seq, shows.then_some(*seq));
        assert_eq!(out, want.to_vec(), "after pushing {seq}");
    }
    assert!(r.finish().is_empty());
    let mut held = Reorder::new(10);
    assert!(held.push(3, Some(3)).is_empty());
    assert!(held.push(1, Some(1)).is_empty());
    assert_eq!(
        held.finish(),
        vec![1, 3],
        "the end lets everything out in order"
    );
}

#[test]
fn totals_count_users_per_field_in_header_order_and_the_writes() {
    let mut t = PlanTotals::default();
    let mut planned = |changes: Vec<FieldChange>, writes| {
        let mut r = RowResult::new(0, 2, "id", Vec::new(), Status::Planned);
        r.changes = changes;
        r.planned_writes = writes;
        t.observe(&r);
    };
    planned(
        vec![
            change(4, "phone:WORK", "", "+1"),
            change(1, "title", "", "A"),
        ],
        1,
    );
    planned(vec![change(1, "title", "A", "B")], 1);
    planned(vec![change(2, "state", "active", "inactive")], 2);
    t.observe(&failed(9, Reason::NotFound, "x"));
    assert_eq!(
        t.render_fields(),
        "title: 2 users, state: 1 user, phone:WORK: 1 user"
    );
    assert_eq!((t.users, t.writes), (3, 4));
    let list = t.list();
    assert_eq!((list[0].field.as_str(), list[0].users), ("title", 2));
}

#[test]
fn the_estimate_is_requests_over_the_rate() {
    let cases: &[(u64, f64, &str)] = &[
        (0, 300.0, "0 s"),
        (150, 300.0, "30 s"),
        (300, 300.0, "1 min"),
        (450, 300.0, "1 min 30 s"),
        (90_000, 300.0, "5 h 00 min"),
        (10, 0.0, "10 min"),
    ];
    for (requests, rate, want) in cases {
        assert_eq!(
            human_duration(eta(*requests, *rate)),
            *want,
            "{requests} at {rate}"
        );
    }
    let text = render_plan_end(&PlanTotals::default(), 4, 1, 60.0);
    assert!(
        text.starts_with("plan: 0 of 4 rows would change a user\n"),
        "{text}"
    );
    assert!(
        text.contains("about 1 request (0 writes, 1 read), 1 s at 60 requests/min"),
        "{text}"
    );
}

#[test]
fn a_plan_row_shows_changes_or_why_it_failed_and_nothing_for_unchanged_rows() {
    let mut r = RowResult::new(0, 2, "u1", Vec::new(), Status::Planned);
    r.name = "Ada".into();
    r.changes = vec![change(1, "title", "Agent", "Lead")];
    assert_eq!(
        render_plan_row(&r).unwrap(),
        "line 2  u1  Ada\n    title: \"Agent\" -> \"Lead\""
    );
    assert_eq!(
        render_plan_row(&failed(1, Reason::NotFound, "no user")).unwrap(),
        "line 3  id  not_found: no user"
    );
    let unchanged = RowResult::new(0, 2, "u1", Vec::new(), Status::Unchanged);
    assert!(render_plan_row(&unchanged).is_none() && plan_row(&unchanged).is_none());
    let json = serde_json::to_value(plan_row(&r).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"line": 2, "id": "u1", "name": "Ada", "status": "planned",
            "changes": [{"field": "title", "before": "Agent", "after": "Lead"}]})
    );
}

#[test]
fn the_json_plan_is_the_summary_s_last_field_on_one_line() {
    use std::io::Write;
    let mut spill = tempfile::tempfile().unwrap();
    writeln!(spill, "{{\"line\":2}}").unwrap();
    writeln!(spill, "{{\"line\":3}}").unwrap();
    let mut out = Vec::new();
    print::write_json_with_plan(&mut out, r#"{"file":"a.csv","exit_code":0}"#, &spill).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["file"], "a.csv");
    assert_eq!(v["plan"], serde_json::json!([{"line": 2}, {"line": 3}]));
}
