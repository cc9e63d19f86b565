//! Request economy of the membership columns, by counting requests (never time):
//! 1,000 users each added to the same three queues cost at most 3 × ⌈1000 ÷ 100⌉
//! member writes, and the reads (name lookups, current member lists, confirmation)
//! stay within 2 × Σ ⌈members of each touched queue ÷ 100⌉ plus the lookups.

mod common;

use common::{count, csv, genupdate, read_csv, s, sandbox};
use genesys_sandbox::{Quirks, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_users_into_three_queues_cost_thirty_writes_and_few_reads() {
    let sb = sandbox(SandboxConfig {
        users: 1000,
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let users = sb.writable_user_ids();
    let n = users.len();
    assert!(n >= 990, "{n} writable users");
    let rows: Vec<String> = users
        .iter()
        .map(|u| format!("{u},Support;Sales Inbound;Billing"))
        .collect();
    let file = csv(dir.path(), "many.csv", "id,queues:add", &rows);
    let report = dir.path().join("report.csv");
    sb.reset_stats();
    let run = genupdate(&sb, &["apply", s(&file), "--report", s(&report)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let st = sb.stats();
    let writes = count(&st, "POST /api/v2/routing/queues/{queueId}/members")
        + count(&st, "PATCH /api/v2/routing/queues/{queueId}/members");
    let lookups = count(&st, "GET /api/v2/routing/queues 200");
    let member_reads = count(&st, "GET /api/v2/routing/queues/{queueId}/members");
    let pages: u64 = ["Support", "Sales Inbound", "Billing"]
        .iter()
        .map(|q| {
            let members = sb.queue_member_ids(&sb.queue_id(q).unwrap()).len() as u64;
            assert!(members >= n as u64, "{q}: {members}");
            members.div_ceil(100)
        })
        .sum();
    let changed = read_csv(&report)
        .iter()
        .skip(1)
        .filter(|r| r[2] == "updated")
        .count() as u64;
    eprintln!(
        "{n} users x 3 queues: {writes} member writes (bound {}), {member_reads} member-list \
         reads + {lookups} lookups (bound {} + lookups), {} requests in all, {changed} rows updated",
        3 * n.div_ceil(100),
        2 * pages,
        st.requests
    );
    assert!(
        writes <= 3 * n.div_ceil(100) as u64,
        "{writes} member writes"
    );
    assert!(
        member_reads <= 2 * pages,
        "{member_reads} member-list reads"
    );
    assert_eq!(lookups, 3, "one lookup per distinct name");
    assert!(
        changed >= n as u64 - 5,
        "every row but the seeded Support members changed"
    );

    // The same file again: reads only, no write.
    sb.reset_stats();
    let run = genupdate(&sb, &["apply", s(&file)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let st = sb.stats();
    assert_eq!(count(&st, "POST "), 1, "the token only: {:?}", st.by_route);
}
