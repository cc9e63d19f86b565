//! How a request ends when it does not succeed, in the terms the caller acts on:
//! re-read (`Conflict`, `Uncertain`), record and go on (`Rejected`, `Exhausted`),
//! retry at the end of the run (`Deferred`), count towards an outage (`Timeout`: the
//! API did not answer; re-read first when `may_have_landed`), stop because the run is
//! stopping (`Cancelled`), or stop everything (`Fatal`).
//!
//! Every message names what to fix and carries the HTTP status, the Genesys `code`
//! and the correlation id Genesys support asks for. None of them can contain a token
//! or the client secret, a raw control character or unbounded server text: text that
//! comes from a server goes through `sanitize_server_text` before it lands here.

use std::time::Duration;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 409, or 400 "does not match the current version": re-read and re-apply.
    #[error("version conflict (HTTP {status}): {message}{cid}", cid = cid(correlation_id))]
    Conflict {
        status: u16,
        message: String,
        correlation_id: Option<String>,
        attempts: u32,
    },
    /// A version-guarded write whose connection failed after it may have been sent:
    /// re-read to learn whether it landed before sending it again.
    #[error("outcome unknown: {detail} (the write may have been applied; re-read before retrying)")]
    Uncertain { detail: String, attempts: u32 },
    /// A permanent 4xx (including 404).
    #[error("HTTP {status} {code}: {message}{cid}", cid = cid(correlation_id))]
    Rejected {
        status: u16,
        code: String,
        message: String,
        correlation_id: Option<String>,
        attempts: u32,
    },
    /// 403: this OAuth client may not do this to this user. Permissions are
    /// division-scoped, so the next user may be fine: the row fails, the run goes on
    /// (the runner stops it when refusals span divisions and nothing succeeds).
    #[error(
        "permission denied (HTTP 403 {code}): {message}{perm}{cid}",
        perm = permission.as_deref().map(|p| format!(" [missing permission: {p}]")).unwrap_or_default(),
        cid = cid(correlation_id)
    )]
    Forbidden {
        code: String,
        message: String,
        permission: Option<String>,
        correlation_id: Option<String>,
        attempts: u32,
    },
    /// Retries ran out on 429s, 5xx or transport errors.
    #[error("gave up after {attempts} attempts: {detail}{cid}", cid = cid(correlation_id))]
    Exhausted {
        status: Option<u16>,
        code: Option<String>,
        detail: String,
        correlation_id: Option<String>,
        attempts: u32,
    },
    /// Retry-After longer than `--max-retry-after`: retry this work at the end of the run.
    #[error(
        "rate limited with Retry-After {}s (more than --max-retry-after); deferred{cid}",
        retry_after.as_secs(),
        cid = cid(correlation_id)
    )]
    Deferred {
        retry_after: Duration,
        correlation_id: Option<String>,
        attempts: u32,
    },
    /// No answer within `--request-timeout` (a replayable request: after its retries).
    /// A hung API is an outage, not a conflict: the runner counts these through
    /// `Client::consecutive_timeouts` to stop a run against an unreachable API.
    /// `may_have_landed`: the request was a write that reached the wire, so it may
    /// have been applied: treat it like `Uncertain` (re-read before sending it again).
    #[error(
        "no answer to {method_path} within {}s after {attempts} attempt(s): the API may be \
         unreachable{}",
        timeout.as_secs_f64(),
        if *may_have_landed { " (the write may have been applied; re-read before retrying)" } else { "" }
    )]
    Timeout {
        method_path: String,
        attempts: u32,
        timeout: Duration,
        may_have_landed: bool,
    },
    /// The client's cancellation token fired (deadline, SIGTERM): the request was
    /// abandoned wherever it was. `may_have_landed` as for `Timeout`.
    #[error(
        "cancelled: {method_path} was abandoned after {attempts} attempt(s){}",
        if *may_have_landed { " (the write may have been applied; re-read before retrying)" } else { "" }
    )]
    Cancelled {
        method_path: String,
        attempts: u32,
        may_have_landed: bool,
    },
    /// The run must stop (exit 4).
    #[error(transparent)]
    Fatal(#[from] Fatal),
}

/// Errors after which no further request can succeed.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error(
        "the login host rejected the OAuth client (401 invalid_client): check \
         GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET, and that \
         GENESYSCLOUD_REGION is the region of the org that owns the client"
    )]
    InvalidClient,
    #[error(
        "the access token was rejected (401) even when fresh{cid}: check that the OAuth \
         client (or GENESYSCLOUD_ACCESS_TOKEN) belongs to the org in GENESYSCLOUD_REGION \
         and has not been revoked",
        cid = cid(correlation_id)
    )]
    TokenRejected { correlation_id: Option<String> },
    #[error(
        "cannot connect to {host}: {detail}. Check the network, a firewall, and the proxy \
         (HTTPS_PROXY / NO_PROXY)"
    )]
    Unreachable { host: String, detail: String },
    /// The host name does not resolve, or TLS to it fails: not retried (see
    /// `retry::Failure::Network`). The message names the host and what to try.
    #[error("{}", network_message(*kind, host, detail, *attempts))]
    Network {
        kind: NetFailure,
        host: String,
        detail: String,
        attempts: u32,
    },
    #[error(
        "the login host refused a token (HTTP {status} {error}): {description}. Check that \
         the OAuth client uses the Client Credentials grant"
    )]
    TokenRefused {
        status: u16,
        error: String,
        description: String,
    },
    #[error("could not get an access token after retries: {detail}")]
    TokenUnavailable { detail: String },
    /// The login host answered a redirect; redirects are never followed (a token
    /// request sent elsewhere would carry the client secret there).
    #[error(
        "the login host answered HTTP {status} redirecting to {location}; redirects are not \
         followed: check GENESYSCLOUD_REGION (or the login URL)"
    )]
    Redirected { status: u16, location: String },
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// The kinds of network failure that end a run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetFailure {
    Dns,
    Tls,
}

fn network_message(kind: NetFailure, host: &str, detail: &str, attempts: u32) -> String {
    let tries = if attempts == 1 {
        "1 attempt, not retried".to_string()
    } else {
        format!("{attempts} attempts")
    };
    match kind {
        NetFailure::Dns => format!(
            "cannot resolve the host name {host} ({detail}; {tries}). Check the region \
             (--region / GENESYSCLOUD_REGION or the profile's region: a region name like \
             eu-west-1, or the address of the Genesys web app like apps.mypurecloud.ie), \
             the machine's DNS, and the proxy (HTTPS_PROXY / NO_PROXY) if one is needed to \
             reach the internet"
        ),
        NetFailure::Tls => format!(
            "the TLS connection to {host} failed ({detail}; {tries}). If a proxy or \
             firewall inspects TLS, give genupdate its root certificate with --ca-file PATH \
             (GENUPDATE_CA_FILE) or add it to the operating system's certificate store; \
             check also that the region URL is right (https:// to a plain http server \
             fails this way)"
        ),
    }
}

fn cid(correlation_id: &Option<String>) -> String {
    correlation_id
        .as_deref()
        .map(|c| format!(" (correlation id {c})"))
        .unwrap_or_default()
}

impl ApiError {
    /// HTTP requests this operation made, retries included (0 when it never got to send).
    pub fn attempts(&self) -> u32 {
        match self {
            ApiError::Conflict { attempts, .. }
            | ApiError::Uncertain { attempts, .. }
            | ApiError::Rejected { attempts, .. }
            | ApiError::Forbidden { attempts, .. }
            | ApiError::Exhausted { attempts, .. }
            | ApiError::Deferred { attempts, .. }
            | ApiError::Timeout { attempts, .. }
            | ApiError::Cancelled { attempts, .. } => *attempts,
            ApiError::Fatal(Fatal::Network { attempts, .. }) => *attempts,
            ApiError::Fatal(_) => 0,
        }
    }

    /// The HTTP status of the last response, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Conflict { status, .. } | ApiError::Rejected { status, .. } => Some(*status),
            ApiError::Exhausted { status, .. } => *status,
            ApiError::Deferred { .. } => Some(429),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::Uncertain { .. } | ApiError::Timeout { .. } | ApiError::Cancelled { .. } => {
                None
            }
            ApiError::Fatal(f) => match f {
                Fatal::InvalidClient | Fatal::TokenRejected { .. } => Some(401),
                Fatal::TokenRefused { status, .. } | Fatal::Redirected { status, .. } => {
                    Some(*status)
                }
                _ => None,
            },
        }
    }

    /// The `ININ-Correlation-Id` (or body `contextId`) of the last response.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            ApiError::Conflict { correlation_id, .. }
            | ApiError::Rejected { correlation_id, .. }
            | ApiError::Forbidden { correlation_id, .. }
            | ApiError::Exhausted { correlation_id, .. }
            | ApiError::Deferred { correlation_id, .. } => correlation_id.as_deref(),
            ApiError::Fatal(Fatal::TokenRejected { correlation_id }) => correlation_id.as_deref(),
            _ => None,
        }
    }

    /// The Genesys error `code` (e.g. `not.found`, `general.conflict`), when known.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Rejected { code, .. } | ApiError::Forbidden { code, .. } => Some(code),
            ApiError::Exhausted { code, .. } => code.as_deref(),
            ApiError::Conflict { .. } => Some("general.conflict"),
            ApiError::Deferred { .. } => Some("too.many.requests.retry.after"),
            ApiError::Fatal(Fatal::InvalidClient) => Some("invalid_client"),
            ApiError::Fatal(Fatal::TokenRejected { .. }) => Some("bad.credentials"),
            _ => None,
        }
    }

    /// True when the request may have been applied although it did not succeed: the
    /// caller re-reads before sending it again.
    pub fn may_have_landed(&self) -> bool {
        match self {
            ApiError::Uncertain { .. } => true,
            ApiError::Timeout {
                may_have_landed, ..
            }
            | ApiError::Cancelled {
                may_have_landed, ..
            } => *may_have_landed,
            _ => false,
        }
    }

    /// True when the run must stop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ApiError::Fatal(_))
    }

    /// True for a permanent 404 (the user, skill or language does not exist).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Rejected { status: 404, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_thing_to_fix() {
        let e = ApiError::Fatal(Fatal::InvalidClient);
        let m = e.to_string();
        assert!(m.contains("GENESYSCLOUD_OAUTHCLIENT_ID"));
        assert!(m.contains("GENESYSCLOUD_OAUTHCLIENT_SECRET"));
        assert!(m.contains("GENESYSCLOUD_REGION"));
        let e = ApiError::Forbidden {
            code: "missing.division.permission".into(),
            permission: Some("directory:user:edit".into()),
            message: "Missing permission".into(),
            correlation_id: Some("abc".into()),
            attempts: 1,
        };
        let m = e.to_string();
        assert!(m.contains("directory:user:edit") && m.contains("correlation id abc"));
        assert_eq!(e.status(), Some(403));
        assert_eq!(e.correlation_id(), Some("abc"));
        assert!(!e.is_fatal(), "a 403 fails the row, not the run");
    }

    #[test]
    fn network_failures_name_the_host_and_what_to_try() {
        let table = [
            (NetFailure::Dns, "GENESYSCLOUD_REGION", "HTTPS_PROXY"),
            (NetFailure::Tls, "--ca-file", "GENUPDATE_CA_FILE"),
        ];
        for (kind, hint, other) in table {
            let e = ApiError::Fatal(Fatal::Network {
                kind,
                host: "api.mypurecloud.ie".into(),
                detail: "dns error".into(),
                attempts: 1,
            });
            let m = e.to_string();
            assert!(
                m.contains("api.mypurecloud.ie") && m.contains(hint) && m.contains(other),
                "{m}"
            );
            assert!(m.contains("not retried"), "{m}");
            assert!(e.is_fatal());
            assert_eq!(e.attempts(), 1);
        }
        let m = Fatal::Unreachable {
            host: "login.mypurecloud.ie".into(),
            detail: "connection refused after 9 attempts".into(),
        }
        .to_string();
        assert!(
            m.contains("login.mypurecloud.ie") && m.contains("HTTPS_PROXY"),
            "{m}"
        );
    }

    #[test]
    fn timeouts_and_cancellations_say_whether_a_write_may_have_landed() {
        let e = ApiError::Timeout {
            method_path: "PATCH /api/v2/users/u1".into(),
            attempts: 1,
            timeout: Duration::from_secs(30),
            may_have_landed: true,
        };
        let m = e.to_string();
        assert!(m.contains("PATCH /api/v2/users/u1") && m.contains("30s") && m.contains("re-read"));
        assert!(e.may_have_landed() && !e.is_fatal() && e.status().is_none());
        let e = ApiError::Cancelled {
            method_path: "GET /api/v2/users/u1".into(),
            attempts: 0,
            may_have_landed: false,
        };
        assert!(!e.may_have_landed() && !e.to_string().contains("re-read"));
        assert_eq!(e.attempts(), 0);
    }

    #[test]
    fn accessors_report_attempts_status_and_code() {
        let e = ApiError::Rejected {
            status: 404,
            code: "not.found".into(),
            message: "User not found".into(),
            correlation_id: None,
            attempts: 1,
        };
        assert_eq!(
            (e.attempts(), e.status(), e.code()),
            (1, Some(404), Some("not.found"))
        );
        assert!(e.is_not_found() && !e.is_fatal());
        let e = ApiError::Deferred {
            retry_after: Duration::from_secs(3600),
            correlation_id: None,
            attempts: 2,
        };
        assert!(e.to_string().contains("3600s"));
        assert_eq!(e.status(), Some(429));
    }
}
