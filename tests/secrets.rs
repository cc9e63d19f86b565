//! Nothing leaks: full applies at the most verbose logging, with token renewals and
//! revocations, leave neither the client secret, nor its Basic-auth encoding, nor any
//! token the sandbox issued in any output (stdout, stderr/log, report, failed rows,
//! undo). `--help` and `Debug` never show a secret either. And plain `http://` is
//! refused for a host that is not loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{ModelUser, csv, read_csv, s, sandbox};
use genesys_sandbox::{Faults, Quirks, Sandbox, SandboxConfig};
use genupdate::secret::Secret;

const CLIENT_ID: &str = "leak-test-client";
const SECRET: &str = "s3cr3t-XYZ-do-not-leak";

fn basic() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"))
}

/// Run `genupdate ARGS` against `region` with the distinctive credentials, stderr
/// going straight to `log`. Returns the exit code and stdout.
async fn run_logged(
    region: &str,
    args: &[&str],
    log: &Path,
    env: &[(&str, &str)],
) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_genupdate"));
    cmd.args(args)
        .env("GENESYSCLOUD_REGION", region)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET)
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("create the log file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Not `output()`: tokio's would pipe stderr over the log file.
    let out = cmd
        .spawn()
        .expect("the genupdate binary starts")
        .wait_with_output()
        .await
        .expect("the genupdate binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// 100 requests/s, tokens living 2 s, 1% revocation and a few other faults so that
/// renewals, 401 replays, retries and conflicts all get logged.
fn leaky_org() -> SandboxConfig {
    SandboxConfig {
        users: 400,
        client_id: CLIENT_ID.into(),
        client_secret: genesys_sandbox::Secret::new(SECRET),
        token_ttl: Duration::from_secs(2),
        rate_limit: 100,
        rate_window: Duration::from_secs(1),
        faults: Faults {
            revoke_token: 0.01,
            error_5xx: 0.01,
            drop_before: 0.01,
            drop_after_write: 0.01,
            concurrent_writer: 0.02,
            burst_429: 0.002,
            burst_retry_after: (1, 1),
            ..Faults::default()
        },
        quirks: Quirks::none(),
        ..SandboxConfig::default()
    }
}

/// Every file under `dir`, read as bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

fn assert_no_secret(what: &str, haystack: &[u8], needles: &[(String, String)]) {
    let text = String::from_utf8_lossy(haystack);
    for (name, needle) in needles {
        assert!(!text.contains(needle.as_str()), "{name} leaked into {what}");
    }
}

/// One logged apply of 400 rows (+ 2 unknown ids, for the failed-rows file).
async fn leak_run(
    sb: &Sandbox,
    dir: &Path,
    k: usize,
    label: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> String {
    let mut rows: Vec<String> = sb
        .user_ids()
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id},Leak run {k} {i},Dept {k}"))
        .collect();
    rows.push("0badc0de-0000-4000-8000-000000000001,Nobody,Nowhere".into());
    rows.push("0badc0de-0000-4000-8000-000000000002,Nobody,Nowhere".into());
    let file = csv(dir, &format!("run{k}.csv"), "id,title,department", &rows);
    let report = dir.join(format!("report{k}.csv"));
    let failed = dir.join(format!("failed{k}.csv"));
    let undo = dir.join(format!("undo{k}.csv"));
    let log = dir.join(format!("run{k}.log"));
    let mut args = vec![
        "-vv",
        "apply",
        s(&file),
        "--report",
        s(&report),
        "--failed",
        s(&failed),
        "--undo",
        s(&undo),
    ];
    args.extend_from_slice(extra);
    let tokens_before = sb.stats().tokens_issued;
    let started = Instant::now();
    let (code, stdout) = run_logged(&sb.url(), &args, &log, env).await;
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        code,
        1,
        "run {k}: the two unknown ids fail, the rest succeed; log tail: {}",
        &log_text[log_text.len().saturating_sub(3000)..]
    );
    let report_rows = read_csv(&report);
    assert_eq!(report_rows.len(), 403);
    assert_eq!(read_csv(&failed).len(), 3, "header + the two unknown ids");
    assert_eq!(read_csv(&undo).len(), 401, "header + every changed user");
    let issued = sb.stats().tokens_issued - tokens_before;
    eprintln!(
        "RESULT secrets run {k} ({label}): exit {code}, {:.1} s, tokens issued {issued}, log {} lines",
        started.elapsed().as_secs_f64(),
        log_text.lines().count()
    );
    assert!(issued >= 3, "run {k}: tokens were renewed during the run");
    assert!(
        log_text.contains("obtained an access token"),
        "run {k}: the log shows renewals"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_holds_the_secret_its_basic_encoding_or_any_issued_token() {
    let sb = sandbox(leaky_org()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut stdouts = Vec::new();
    // -vv text; -vv JSON logs and the JSON summary on stdout; RUST_LOG=trace, which
    // also lets every dependency (reqwest, hyper) log at its most verbose.
    let json = ["--log-format", "json", "--output", "json"];
    let trace = [("RUST_LOG", "trace")];
    stdouts.push(leak_run(&sb, dir.path(), 1, "-vv", &[], &[]).await);
    stdouts.push(leak_run(&sb, dir.path(), 2, "-vv, JSON logs and summary", &json, &[]).await);
    stdouts.push(leak_run(&sb, dir.path(), 3, "-vv, RUST_LOG=trace", &[], &trace).await);

    let json_log = std::fs::read_to_string(dir.path().join("run2.log")).unwrap();
    assert!(
        json_log
            .lines()
            .filter(|l| !l.trim().is_empty())
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "--log-format json writes JSON lines"
    );
    let trace_log = std::fs::read_to_string(dir.path().join("run3.log")).unwrap();
    assert!(
        trace_log.contains("TRACE") && trace_log.contains("idle connection"),
        "RUST_LOG=trace took effect, dependencies (hyper-util's pool) included"
    );

    let stats = sb.stats();
    assert!(stats.revoked > 0, "tokens were revoked: {stats:?}");
    let tokens = sb.issued_tokens();
    assert_eq!(tokens.len() as u64, stats.tokens_issued);
    let mut needles = vec![
        ("the client secret".to_string(), SECRET.to_string()),
        ("the Basic-auth value".to_string(), basic()),
    ];
    for (i, t) in tokens.iter().enumerate() {
        needles.push((format!("issued token #{i}"), t.clone()));
    }
    for (i, out) in stdouts.iter().enumerate() {
        assert_no_secret(
            &format!("stdout of run {}", i + 1),
            out.as_bytes(),
            &needles,
        );
    }
    let all = files(dir.path());
    let names: Vec<String> = all
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for (path, bytes) in &all {
        assert_no_secret(&path.display().to_string(), bytes, &needles);
    }
    eprintln!(
        "RESULT secrets: {} needles (secret, Basic value, {} tokens) x {} files ({}) + 3 stdouts: 0 hits",
        needles.len(),
        tokens.len(),
        all.len(),
        names.join(", ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_not_echoed() {
    let sb = sandbox(leaky_org()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(
        dir.path(),
        "w.csv",
        "id,title",
        &[format!("{},X", sb.user_ids()[0])],
    );
    let log = dir.path().join("wrong.log");
    let wrong = "wr0ng-s3cr3t-QQQ";
    let (code, stdout) = run_logged(
        &sb.url(),
        &["-vv", "apply", s(&file)],
        &log,
        &[("GENESYSCLOUD_OAUTHCLIENT_SECRET", wrong)],
    )
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("GENESYSCLOUD_OAUTHCLIENT_SECRET"), "{text}");
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{wrong}"));
    for needle in [wrong, enc.as_str()] {
        assert!(!text.contains(needle) && !stdout.contains(needle), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_never_shows_a_secret_value() {
    let token = "pre-issued-t0ken-ZZZ";
    for args in [
        vec!["apply", "--help"],
        vec!["apply", "-h"],
        vec!["--help"],
        vec!["help", "apply"],
        vec!["sandbox", "--help"],
        vec!["validate", "--help"],
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_genupdate"))
            .args(&args)
            .env("GENESYSCLOUD_REGION", "eu-west-1")
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET)
            .env("GENESYSCLOUD_ACCESS_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if args.contains(&"apply") || args == ["--help"] {
            assert!(
                text.contains("GENESYSCLOUD_"),
                "{args:?}: the help names the variables"
            );
        }
        for needle in [SECRET, token, basic().as_str()] {
            assert!(!text.contains(needle), "{args:?} shows a secret:\n{text}");
        }
    }
}

#[test]
fn debug_of_credentials_and_configurations_never_shows_the_secret() {
    use genupdate::client::ClientConfig;
    use genupdate::config::{Credentials, resolve_region};
    let creds = Credentials::ClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(SECRET),
    };
    let token = Credentials::AccessToken(Secret::new("pre-issued-t0ken-ZZZ"));
    let cfg = ClientConfig::new(resolve_region("eu-west-1", false).unwrap(), creds.clone());
    let env = genupdate::apply::Env {
        client_id: Some(CLIENT_ID.into()),
        client_secret: Some(Secret::new(SECRET)),
        access_token: Some(Secret::new("pre-issued-t0ken-ZZZ")),
        profile_secret: Some(Secret::new(SECRET)),
    };
    let sandbox = leaky_org();
    for text in [
        format!("{creds:?} {creds:#?}"),
        format!("{token:?} {token:#?}"),
        format!("{cfg:?} {cfg:#?}"),
        format!("{env:?} {env:#?}"),
        format!("{sandbox:?} {sandbox:#?}"),
    ] {
        assert!(text.contains("redacted"), "{text}");
        for needle in [SECRET, "pre-issued-t0ken-ZZZ", basic().as_str()] {
            assert!(!text.contains(needle), "{text}");
        }
    }
}

// --- plain http:// only for loopback -----------------------------------------------

/// This machine's address on a non-loopback interface, if it has one (a UDP
/// "connect" only picks a route; nothing is sent).
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect("192.0.2.1:9").ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// A TCP forwarder on `ip:0` to the sandbox, counting connections.
async fn forwarder(ip: std::net::IpAddr, to: std::net::SocketAddr) -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_for_a_remote_host_and_allowed_for_loopback() {
    let sb = sandbox(SandboxConfig {
        users: 20,
        client_id: CLIENT_ID.into(),
        client_secret: genesys_sandbox::Secret::new(SECRET),
        quirks: Quirks::none(),
        ..SandboxConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids = sb.user_ids();
    let file = csv(
        dir.path(),
        "h.csv",
        "id,title",
        &[format!("{},Http", ids[0])],
    );
    let log = dir.path().join("h.log");

    // A remote host over plain http: refused before any connection (TEST-NET-3,
    // nothing listens there; a refusal is immediate, a connection attempt would not be).
    let started = Instant::now();
    let (code, _) = run_logged("http://203.0.113.7:8080", &["apply", s(&file)], &log, &[]).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--insecure-allow-http-to-remote-host"),
        "{text}"
    );
    assert!(!text.contains(SECRET));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no connection was tried"
    );

    // This machine's own non-loopback address, forwarded to the sandbox: refused
    // with zero connections, and accepted with the loudly named flag.
    if let Some(ip) = non_loopback_ip() {
        let (url, seen) = forwarder(ip, sb.addr()).await;
        let (code, _) = run_logged(&url, &["apply", s(&file)], &log, &[]).await;
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(code, 2, "{text}");
        assert!(
            text.contains("--insecure-allow-http-to-remote-host"),
            "{text}"
        );
        assert_eq!(seen.load(Ordering::Relaxed), 0, "nothing reached {url}");
        assert_eq!(sb.stats().requests, 0);
        let (code, _) = run_logged(
            &url,
            &["apply", s(&file), "--insecure-allow-http-to-remote-host"],
            &log,
            &[],
        )
        .await;
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(code, 0, "the flag allows it: {text}");
        assert!(seen.load(Ordering::Relaxed) > 0);
    } else {
        eprintln!("no non-loopback interface: the forwarded half of this test was skipped");
    }

    // Loopback over plain http is fine without any flag.
    let file2 = csv(
        dir.path(),
        "h2.csv",
        "id,title",
        &[format!("{},Loop", ids[1])],
    );
    let port = sb.addr().port();
    let (code, _) = run_logged(
        &format!("http://127.0.0.1:{port}"),
        &["apply", s(&file2)],
        &log,
        &[],
    )
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        sb.model_user(&ids[1]).unwrap().title.as_deref(),
        Some("Loop")
    );
}
