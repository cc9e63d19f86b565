//! Table tests of the retry policy: every status the issue names, the token
//! endpoint's errors, backoff bounds, the Retry-After floor and the budget.

use super::*;
use serde_json::json;

fn body(v: serde_json::Value) -> ErrorBody {
    serde_json::from_value(v).unwrap()
}

fn ctx() -> Ctx {
    Ctx {
        retries: 0,
        max_retries: 8,
        max_retry_after: Duration::from_secs(180),
        rate_limited_wait: Duration::ZERO,
        max_rate_limited_wait: MAX_429_WAIT,
        replay: Replay::Safe,
        token: TokenKind::Renewable { proven: true },
        renewals: 0,
    }
}

#[test]
fn classification_table() {
    let conflict_400 = body(json!({"status": 400, "code": "bad.request",
        "message": "The version supplied (3) does not match the current version of the user"}));
    let other_400 = body(json!({"status": 400, "code": "bad.request", "message": "Invalid email"}));
    let ra = Some(Duration::from_secs(3));
    let table: Vec<(u16, Option<&ErrorBody>, Verdict)> = vec![
        (200, None, Verdict::Success),
        (201, None, Verdict::Success),
        (204, None, Verdict::Success),
        (429, None, Verdict::RateLimited { retry_after: ra }),
        (408, None, Verdict::ServerError),
        (500, None, Verdict::ServerError),
        (502, None, Verdict::ServerError),
        (503, None, Verdict::ServerError),
        (504, None, Verdict::ServerError),
        (501, None, Verdict::Rejected),
        (505, None, Verdict::Rejected),
        (409, None, Verdict::Conflict),
        (400, Some(&conflict_400), Verdict::Conflict),
        (400, Some(&other_400), Verdict::Rejected),
        (400, None, Verdict::Rejected),
        (401, None, Verdict::Unauthorized),
        (403, None, Verdict::Forbidden { permission: None }),
        (404, None, Verdict::Rejected),
        (405, None, Verdict::Rejected),
        (413, None, Verdict::Rejected),
        (422, None, Verdict::Rejected),
        (302, None, Verdict::Rejected),
    ];
    for (status, b, want) in table {
        assert_eq!(classify(status, b, ra), want, "status {status} body {b:?}");
    }
}

#[test]
fn version_mismatch_is_found_in_message_with_params_and_any_case() {
    let b = body(json!({"status": 400, "message": "bad",
        "messageWithParams": "Version 3 Does Not Match The Current Version"}));
    assert_eq!(classify(400, Some(&b), None), Verdict::Conflict);
}

#[test]
fn forbidden_names_the_missing_permission() {
    let cases = [
        (
            json!({"status": 403, "code": "missing.permissions",
                   "message": "Missing permission: directory:user:edit"}),
            Some("directory:user:edit"),
        ),
        (
            json!({"status": 403, "code": "missing.any.permissions",
                   "message": "You are missing the following permission(s): [routing:skill:assign, directory:user:edit]",
                   "messageParams": {"permissions": "[routing:skill:assign, directory:user:edit]"}}),
            Some("routing:skill:assign, directory:user:edit"),
        ),
        (
            json!({"status": 403, "code": "missing.permissions",
                   "message": "Missing permission {perm}", "messageParams": {"perm": "directory:user:*"}}),
            Some("directory:user:*"),
        ),
        (
            json!({"status": 403, "code": "not.authorized", "message": "Not authorized: 12:30 ok"}),
            None,
        ),
    ];
    for (b, want) in cases {
        let b = body(b);
        assert_eq!(
            classify(403, Some(&b), None),
            Verdict::Forbidden {
                permission: want.map(String::from)
            },
            "{b:?}"
        );
    }
}

#[test]
fn decision_table() {
    use Failure::*;
    let ra = |s| Some(Duration::from_secs(s));
    let resp = |v| Seen::Response(v);
    let spent = Ctx {
        retries: 8,
        ..ctx()
    };
    let guarded = Ctx {
        replay: Replay::Guarded,
        ..ctx()
    };
    let table: Vec<(Seen, Ctx, Step)> = vec![
        (resp(Verdict::Success), ctx(), Step::Success),
        (
            resp(Verdict::RateLimited { retry_after: ra(2) }),
            ctx(),
            Step::Pause { retry_after: ra(2) },
        ),
        (
            resp(Verdict::RateLimited { retry_after: None }),
            ctx(),
            Step::Pause { retry_after: None },
        ),
        // Exactly max_retry_after still waits; longer defers without pausing anyone.
        (
            resp(Verdict::RateLimited {
                retry_after: ra(180),
            }),
            ctx(),
            Step::Pause {
                retry_after: ra(180),
            },
        ),
        (
            resp(Verdict::RateLimited {
                retry_after: ra(181),
            }),
            ctx(),
            Step::Fail(Deferred(Duration::from_secs(181))),
        ),
        // Changed: 429s are bounded by time, not by --max-retries (a short burst used to
        // fail the row as rate_limited after 8 quick 429s).
        (
            resp(Verdict::RateLimited { retry_after: ra(1) }),
            spent,
            Step::Pause { retry_after: ra(1) },
        ),
        (
            resp(Verdict::RateLimited {
                retry_after: ra(60),
            }),
            Ctx {
                rate_limited_wait: Duration::from_secs(240),
                ..ctx()
            },
            Step::Pause {
                retry_after: ra(60),
            },
        ),
        (
            resp(Verdict::RateLimited {
                retry_after: ra(61),
            }),
            Ctx {
                rate_limited_wait: Duration::from_secs(240),
                ..ctx()
            },
            Step::Fail(Exhausted),
        ),
        (
            resp(Verdict::RateLimited { retry_after: None }),
            Ctx {
                rate_limited_wait: Duration::from_secs(301),
                ..ctx()
            },
            Step::Fail(Exhausted),
        ),
        (
            resp(Verdict::ServerError),
            ctx(),
            Step::Backoff { cost: RETRY_COST },
        ),
        (
            resp(Verdict::ServerError),
            guarded,
            Step::Backoff { cost: RETRY_COST },
        ),
        (resp(Verdict::ServerError), spent, Step::Fail(Exhausted)),
        (resp(Verdict::Conflict), ctx(), Step::Fail(Conflict)),
        (resp(Verdict::Rejected), ctx(), Step::Fail(Rejected)),
        (
            resp(Verdict::Forbidden {
                permission: Some("a:b:c".into()),
            }),
            ctx(),
            Step::Fail(Forbidden(Some("a:b:c".into()))),
        ),
        // Transport: connect errors were never sent, so even guarded writes retry.
        (
            Seen::Transport(Transport::Connect),
            guarded,
            Step::Backoff { cost: RETRY_COST },
        ),
        (
            Seen::Transport(Transport::Connect),
            spent,
            Step::Fail(Unreachable),
        ),
        (
            Seen::Transport(Transport::Timeout),
            ctx(),
            Step::Backoff { cost: TIMEOUT_COST },
        ),
        (
            Seen::Transport(Transport::Closed),
            ctx(),
            Step::Backoff { cost: RETRY_COST },
        ),
        // Changed: a hung guarded write is a Timeout (an outage that may have landed),
        // not Uncertain (which the caller took for "the user kept changing").
        (
            Seen::Transport(Transport::Timeout),
            guarded,
            Step::Fail(Timeout),
        ),
        (
            Seen::Transport(Transport::Timeout),
            spent,
            Step::Fail(Timeout),
        ),
        (
            Seen::Transport(Transport::Closed),
            guarded,
            Step::Fail(Uncertain),
        ),
        (
            Seen::Transport(Transport::Closed),
            spent,
            Step::Fail(Exhausted),
        ),
    ];
    for (seen, c, want) in table {
        assert_eq!(decide(&seen, &c), want, "{seen:?} {c:?}");
    }
}

#[test]
fn a_401_renews_once_and_a_rejected_fresh_token_is_fatal() {
    let seen = Seen::Response(Verdict::Unauthorized);
    let with = |token, renewals| Ctx {
        token,
        renewals,
        ..ctx()
    };
    let table = [
        (TokenKind::Renewable { proven: true }, 0, Step::Renew),
        (TokenKind::Renewable { proven: false }, 0, Step::Renew),
        // No token of these credentials has worked in this run (a revocation of a
        // token that did work keeps `proven`), and the fresh one is refused too.
        (
            TokenKind::Renewable { proven: false },
            1,
            Step::Fail(Failure::TokenRejected),
        ),
        // A token that worked for others and was then revoked: renew again.
        (TokenKind::Renewable { proven: true }, 1, Step::Renew),
        (
            TokenKind::Renewable { proven: true },
            MAX_RENEWALS_PER_REQUEST,
            Step::Fail(Failure::TokenRejected),
        ),
        (TokenKind::Fixed, 0, Step::Fail(Failure::TokenRejected)),
    ];
    for (token, renewals, want) in table {
        assert_eq!(
            decide(&seen, &with(token, renewals)),
            want,
            "{token:?} {renewals}"
        );
    }
}

#[test]
fn max_retries_zero_means_no_retry() {
    let c = Ctx {
        max_retries: 0,
        ..ctx()
    };
    assert_eq!(
        decide(&Seen::Response(Verdict::ServerError), &c),
        Step::Fail(Failure::Exhausted)
    );
}

#[test]
fn token_endpoint_table() {
    let err = |e: &str, d: &str| TokenError {
        error: e.into(),
        description: d.into(),
        error_description: String::new(),
    };
    let legacy = TokenError {
        error: "invalid_request".into(),
        description: String::new(),
        error_description: "Rate limit exceeded (client credentials)".into(),
    };
    let table = [
        (200, None, TokenVerdict::Issued),
        (
            400,
            Some(err("invalid_request", "rate limit exceeded; retry later")),
            TokenVerdict::RateLimited,
        ),
        (400, Some(legacy), TokenVerdict::RateLimited),
        (
            400,
            Some(err("invalid_request", "missing grant_type")),
            TokenVerdict::Refused,
        ),
        (
            401,
            Some(err("invalid_client", "bad credentials")),
            TokenVerdict::InvalidClient,
        ),
        (
            400,
            Some(err("invalid_client", "bad credentials")),
            TokenVerdict::InvalidClient,
        ),
        (401, None, TokenVerdict::InvalidClient),
        (
            400,
            Some(err("unauthorized_client", "grant not allowed")),
            TokenVerdict::Refused,
        ),
        (429, None, TokenVerdict::RateLimited),
        (503, None, TokenVerdict::ServerError),
        (500, None, TokenVerdict::ServerError),
        (404, None, TokenVerdict::Refused),
    ];
    for (status, e, want) in table {
        assert_eq!(classify_token(status, e.as_ref()), want, "{status} {e:?}");
    }
}

#[test]
fn backoff_never_exceeds_its_cap_and_grows_exponentially() {
    let b = Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(20),
    };
    assert_eq!(b.ceiling(0), Duration::from_millis(500));
    assert_eq!(b.ceiling(1), Duration::from_secs(1));
    assert_eq!(b.ceiling(3), Duration::from_secs(4));
    assert_eq!(b.ceiling(6), Duration::from_secs(20));
    assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(20));
    for retry in 0..64 {
        for unit in [0.0, 0.25, 0.5, 0.999_999, 1.0, 7.0, -1.0] {
            let d = b.delay(retry, unit);
            assert!(d <= b.cap && d <= b.ceiling(retry), "{retry} {unit} {d:?}");
        }
    }
    assert_eq!(b.delay(2, 0.5), Duration::from_secs(1));
}

#[test]
fn retry_after_is_a_floor_and_jitter_only_adds_a_little() {
    for secs in [0u64, 1, 2, 5, 30, 180] {
        let ra = Duration::from_secs(secs);
        for unit in [0.0, 0.3, 0.999, 1.0, 5.0, -3.0] {
            let w = retry_after_wait(ra, unit);
            assert!(w >= ra, "{secs} {unit}");
            assert!(w <= ra + Duration::from_millis(250), "{secs} {unit}");
            assert!(w <= ra + ra / 10, "{secs} {unit}");
        }
    }
    assert_eq!(
        retry_after_wait(Duration::from_secs(1), 1.0),
        Duration::from_millis(1100)
    );
}

#[test]
fn retry_after_parses_seconds_and_http_dates() {
    assert_eq!(parse_retry_after("3", 0), Some(Duration::from_secs(3)));
    assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("1.5", 0),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(parse_retry_after("-1", 0), None);
    assert_eq!(parse_retry_after("soon", 0), None);
    // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_770),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800),
        Some(Duration::ZERO)
    );
}

#[test]
fn budget_drains_on_retries_and_refills_on_successes() {
    let mut b = RetryBudget::new(20, 1);
    assert!(b.try_withdraw(RETRY_COST));
    assert!(b.try_withdraw(TIMEOUT_COST));
    assert!(b.try_withdraw(RETRY_COST));
    assert_eq!(b.available(), 0);
    assert!(!b.try_withdraw(RETRY_COST));
    for _ in 0..4 {
        b.on_success();
    }
    assert!(!b.try_withdraw(RETRY_COST));
    b.on_success();
    assert!(b.try_withdraw(RETRY_COST));
    for _ in 0..100 {
        b.on_success();
    }
    assert_eq!(b.available(), 20, "never above capacity");
}

#[test]
fn default_budget_allows_a_hundred_retries_in_a_row() {
    let p = RetryPolicy::default();
    let mut b = RetryBudget::new(p.budget_capacity, p.budget_refund);
    let n = (0..1000).take_while(|_| b.try_withdraw(RETRY_COST)).count();
    assert_eq!(n, 100);
}

#[test]
fn only_limit_keys_of_a_known_unit_set_the_pace() {
    use super::limit_per_minute as f;
    assert_eq!(
        f("client.credentials.token.rate.per.minute", 300.0),
        Some(300.0)
    );
    assert_eq!(f("user.rate.per.second", 3.0), Some(180.0));
    assert_eq!(f("org.app.user.rate.per.day", 10_000.0), None);
    assert_eq!(f("concurrent.requests", 25.0), None);
    assert_eq!(f("user.rate.per.minute", 0.0), None);
    assert_eq!(f("user.rate.per.minute", f64::NAN), None);
}

// Regression: "1e300" and "18446744073709551616" panicked in Duration::from_secs_f64.
#[test]
fn hostile_retry_after_values_saturate_instead_of_panicking() {
    let day = MAX_SERVER_DURATION;
    let table = [
        ("1e300", Some(day)),
        ("18446744073709551616", Some(day)),
        ("99999999999999999999999999", Some(day)),
        ("86401", Some(day)),
        ("0.25", Some(Duration::from_millis(250))),
        ("inf", None),
        ("NaN", None),
        ("-0.5", None),
        // An HTTP date far in the past or future.
        ("Mon, 01 Jan 1900 00:00:00 GMT", Some(Duration::ZERO)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", Some(day)),
    ];
    for (raw, want) in table {
        assert_eq!(parse_retry_after(raw, 1_700_000_000), want, "{raw}");
    }
    // An absurd Retry-After is simply longer than --max-retry-after: deferred.
    let seen = Seen::Response(Verdict::RateLimited {
        retry_after: parse_retry_after("1e300", 0),
    });
    assert_eq!(decide(&seen, &ctx()), Step::Fail(Failure::Deferred(day)));
    assert_eq!(
        retry_after_wait(Duration::MAX, 1.0),
        day + Duration::from_millis(250)
    );
}

// Regression: Retry-After 0 (or a date in the past) retried at once, a hot loop.
#[test]
fn a_zero_or_past_retry_after_still_waits_the_first_backoff_step() {
    let b = RetryPolicy::default().rate_limit;
    let table = [
        (Some(Duration::ZERO), 0.0, b.base),
        (Some(Duration::ZERO), 0.99, b.base),
        (None, 0.0, b.base),
        (Some(Duration::from_millis(10)), 0.5, b.base),
        (Some(Duration::from_secs(3)), 0.5, Duration::from_secs(3)),
        (Some(Duration::MAX), 0.5, MAX_SERVER_DURATION),
    ];
    for (ra, unit, want) in table {
        assert_eq!(pause_floor(ra, b, 0, unit), want, "{ra:?} {unit}");
    }
    // Without a Retry-After, the backoff grows, and never drops under the first step.
    assert!(pause_floor(None, b, 3, 0.99) > b.base);
}

#[test]
fn transport_classification_table() {
    // Texts as reqwest/hyper-util/rustls render them (Linux, macOS, Windows resolvers).
    let table: &[(bool, bool, &str, Transport)] = &[
        (
            true,
            false,
            "error sending request: client error (Connect): dns error: failed to lookup address information: Name or service not known",
            Transport::Dns,
        ),
        (
            true,
            false,
            "client error (Connect): dns error: nodename nor servname provided, or not known",
            Transport::Dns,
        ),
        (
            true,
            false,
            "client error (Connect): dns error: No such host is known. (os error 11001)",
            Transport::Dns,
        ),
        (
            true,
            false,
            "client error (Connect): invalid peer certificate: UnknownIssuer",
            Transport::Tls,
        ),
        (
            true,
            false,
            "client error (Connect): received corrupt message of type InvalidContentType",
            Transport::Tls,
        ),
        (
            true,
            false,
            "client error (Connect): received fatal alert: HandshakeFailure",
            Transport::Tls,
        ),
        (
            true,
            false,
            "client error (Connect): tcp connect error: Connection refused (os error 111)",
            Transport::Connect,
        ),
        (
            true,
            true,
            "client error (Connect): operation timed out",
            Transport::Timeout,
        ),
        (false, true, "operation timed out", Transport::Timeout),
        (
            false,
            false,
            "connection closed before message completed",
            Transport::Closed,
        ),
        // Only a connection failure is read for DNS and TLS words.
        (false, false, "dns error", Transport::Closed),
    ];
    for (connect, timeout, text, want) in table {
        assert_eq!(
            classify_transport(*connect, *timeout, text),
            *want,
            "{text}"
        );
    }
}

#[test]
fn dns_and_tls_failures_are_never_retried_and_refused_connections_are() {
    for replay in [Replay::Safe, Replay::Guarded] {
        let c = Ctx { replay, ..ctx() };
        for t in [Transport::Dns, Transport::Tls] {
            assert_eq!(
                decide(&Seen::Transport(t), &c),
                Step::Fail(Failure::Network(t))
            );
        }
    }
    assert_eq!(
        decide(&Seen::Transport(Transport::Connect), &ctx()),
        Step::Backoff { cost: RETRY_COST }
    );
}
