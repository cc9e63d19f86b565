//! `genupdate sandbox` as a process: it prints where it listens, answers a token
//! request there, never echoes a secret it was given, and stops on a signal.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The child, and its stdout kept open so that it never writes into a closed pipe.
struct Running(Child, #[allow(dead_code)] std::process::ChildStdout);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the binary and return it with the lines it printed up to the REGION line.
fn start(args: &[&str]) -> (Running, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_genupdate"))
        .arg("sandbox")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let line = line.trim_end().to_string();
        let done = line.starts_with("export GENESYSCLOUD_OAUTHCLIENT_ID");
        lines.push(line);
        if done {
            break;
        }
    }
    (Running(child, reader.into_inner()), lines)
}

#[tokio::test]
async fn the_binary_prints_its_url_and_answers_a_token_request() {
    let (mut child, lines) = start(&["--port", "0", "--users", "20"]);
    let url = lines[0]
        .strip_prefix("genupdate sandbox listening on ")
        .expect("first line names the URL")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"));
    assert!(lines.contains(&format!("export GENESYSCLOUD_REGION={url}")));
    assert!(lines.iter().any(|l| l.contains("sandbox-secret")));

    let r = reqwest::Client::new()
        .post(format!("{url}/oauth/token"))
        .basic_auth("sandbox-client", Some("sandbox-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");

    // SIGTERM (by pid) stops it cleanly.
    let pid = child.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_secret_given_on_the_command_line_is_not_printed() {
    let (_child, lines) = start(&["--users", "5", "--client-secret", "hunter2-xyz"]);
    let all = lines.join("\n");
    assert!(!all.contains("hunter2-xyz"), "{all}");
    assert!(!all.contains("GENESYSCLOUD_OAUTHCLIENT_SECRET"));
    let url = lines[0].rsplit(' ').next().unwrap().to_string();
    let r = reqwest::Client::new()
        .post(format!("{url}/oauth/token"))
        .basic_auth("sandbox-client", Some("hunter2-xyz"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn help_lists_the_limit_and_fault_flags_with_defaults() {
    let out = Command::new(env!("CARGO_BIN_EXE_genupdate"))
        .args(["sandbox", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--rate-limit",
        "--rate-window",
        "--user-rate-limit",
        "--report-user-limit",
        "--token-rate-limit",
        "--omit-limit-in-429",
        "--rate-limit-headers",
        "--fail-5xx",
        "--drop-before",
        "--drop-after-write",
        "--latency-ms",
        "--latency-jitter-ms",
        "--revoke-token",
        "--concurrent-writer",
        "--burst-429",
        "--burst-retry-after",
        "--conflict-400-share",
        "--token-ttl",
        "[default: 300]",
        "[default: 1000]",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}
