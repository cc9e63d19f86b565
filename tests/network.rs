//! Network failures that say what to do, proxies and certificates, driving the real
//! binary: a DNS failure is attempted once and names the host, TLS to a server that
//! does not speak it fails at once naming the host, `HTTP_PROXY` is honoured, and a
//! bad `--ca-file` is a usage error naming the file.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{genupdate_env, s, sandbox, small};
use serde_json::Value;

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_is_attempted_once_and_names_the_host() {
    // `.invalid` never resolves (RFC 6761), online or off.
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "Agent");
    for region in [
        "https://api.genupdate-test.invalid",
        "https://apps.genupdate-test.invalid/directory/#/admin",
    ] {
        let run = genupdate_env(
            &sb,
            &["apply", s(&file), "--output", "json"],
            &[("GENESYSCLOUD_REGION", region)],
        )
        .await;
        let v = run.summary();
        assert_eq!(run.code, 4, "{run:?}");
        assert_eq!(num(&v, "token_requests"), 1, "one attempt, no retry: {v}");
        assert_eq!((num(&v, "requests"), num(&v, "retries")), (0, 0), "{v}");
        let error = v["error"].as_str().unwrap();
        assert!(
            error.contains("cannot resolve the host name login.genupdate-test.invalid"),
            "{error}"
        );
        assert!(
            error.contains("GENESYSCLOUD_REGION") && error.contains("HTTPS_PROXY"),
            "{error}"
        );
    }
    assert_eq!(sb.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_server_that_does_not_speak_it_fails_at_once_naming_the_host() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "Agent");
    let https = sb.url().replacen("http://", "https://", 1);
    let host = https
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let run = genupdate_env(
        &sb,
        &["apply", s(&file), "--output", "json"],
        &[("GENESYSCLOUD_REGION", &https)],
    )
    .await;
    let v = run.summary();
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(num(&v, "token_requests"), 1, "not retried: {v}");
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("the TLS connection to {host} failed")),
        "{error}"
    );
    assert!(error.contains("--ca-file"), "{error}");
    assert_eq!(
        sb.stats().requests,
        0,
        "no request was understood by the server"
    );
}

/// A forward proxy for plain http that counts the connections it carries and sends
/// every one to `upstream`, whatever host the request names.
async fn counting_proxy(upstream: String) -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_is_honoured() {
    // The region names a host that does not resolve: the run can only reach the
    // sandbox through the proxy, which counts what it carried.
    let sb = sandbox(small()).await;
    let upstream = sb
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let port = upstream.rsplit(':').next().unwrap().to_string();
    let (proxy, carried) = counting_proxy(upstream).await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "Proxied Agent");
    let region = format!("http://genupdate-sandbox.invalid:{port}");
    let run = genupdate_env(
        &sb,
        &[
            "apply",
            s(&file),
            "--output",
            "json",
            "--insecure-allow-http-to-remote-host",
        ],
        &[("GENESYSCLOUD_REGION", &region), ("HTTP_PROXY", &proxy)],
    )
    .await;
    let v = run.summary();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(num(&v, "updated"), 1, "{v}");
    assert!(
        carried.load(Ordering::SeqCst) >= 1,
        "the proxy carried the run"
    );
    // NO_PROXY names the host: reqwest goes direct, and the name does not resolve.
    let run = genupdate_env(
        &sb,
        &[
            "apply",
            s(&file),
            "--output",
            "json",
            "--insecure-allow-http-to-remote-host",
        ],
        &[
            ("GENESYSCLOUD_REGION", &region),
            ("HTTP_PROXY", &proxy),
            ("NO_PROXY", "genupdate-sandbox.invalid"),
        ],
    )
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.summary()["error"]
            .as_str()
            .unwrap()
            .contains("cannot resolve"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_file_is_a_usage_error_naming_the_file() {
    let sb = sandbox(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "Agent");
    let not_pem = dir.path().join("corp-root.cer");
    std::fs::write(&not_pem, [0x30u8, 0x82, 0x01, 0x0a, 0x02]).unwrap();
    let missing = dir.path().join("missing.pem");
    for (path, why) in [(&not_pem, "no PEM certificate"), (&missing, "cannot read")] {
        let run = genupdate_env(
            &sb,
            &["apply", s(&file), "--output", "json", "--ca-file", s(path)],
            &[],
        )
        .await;
        assert_eq!(run.code, 2, "{run:?}");
        let error = run.summary()["error"].as_str().unwrap().to_string();
        assert!(error.contains(s(path)) && error.contains(why), "{error}");
        // The variable works the same.
        let run = genupdate_env(&sb, &["apply", s(&file)], &[("GENUPDATE_CA_FILE", s(path))]).await;
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.contains(s(path)), "{}", run.stderr);
    }
    assert_eq!(sb.stats().requests, 0);
}

/// A TLS server on loopback with the test CA's certificate for 127.0.0.1
/// (`fixtures/tls/`), forwarding the decrypted bytes to `upstream` (the sandbox).
async fn tls_front(upstream: String) -> String {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls");
    let cert = CertificateDer::from(std::fs::read(format!("{dir}/leaf.der")).unwrap());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        std::fs::read(format!("{dir}/leaf.key.der")).unwrap(),
    ));
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut server)) = (
                    acceptor.accept(tcp).await,
                    tokio::net::TcpStream::connect(&upstream).await,
                ) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_at_once_and_ca_file_makes_it_trusted() {
    // What a TLS-inspecting company proxy looks like: a certificate from a root that
    // neither the built-in roots nor the OS store hold.
    let sb = sandbox(small()).await;
    let upstream = sb
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let region = tls_front(upstream).await;
    let host = region.trim_start_matches("https://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = common::one_title(&sb, dir.path(), "Inspected Agent");
    let run = genupdate_env(
        &sb,
        &["apply", s(&file), "--output", "json"],
        &[("GENESYSCLOUD_REGION", &region)],
    )
    .await;
    let v = run.summary();
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(num(&v, "token_requests"), 1, "not retried: {v}");
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("the TLS connection to {host} failed"))
            && error.contains("certificate"),
        "{error}"
    );
    assert!(error.contains("--ca-file"), "{error}");
    assert_eq!(sb.stats().requests, 0);

    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/ca.pem");
    let run = genupdate_env(
        &sb,
        &["apply", s(&file), "--output", "json", "--ca-file", ca],
        &[("GENESYSCLOUD_REGION", &region)],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(num(&run.summary(), "updated"), 1);
}
