//! What callers hand to [`super::Client::send`] and get back. A request says whether
//! it may be replayed blindly ([`Replay::Safe`]) or only after the caller re-reads
//! ([`Replay::Guarded`]): that one bit is all the send loop needs to know about
//! idempotency, so it is explicit at every call site instead of guessed from the method.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// May the client send this request again after a transport failure that happened
/// after it may have reached the server?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// GET, PUT, DELETE, the skills and languages bulk PATCH, the acdAutoAnswer bulk
    /// PATCH: the same request twice leaves the same state. Transport errors are retried.
    Safe,
    /// A version-guarded user PATCH: a transport error after sending is returned as
    /// [`ApiError::Uncertain`] so the caller re-reads; connect errors are still retried.
    Guarded,
}

/// One API call, relative to the API base URL.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// Path and query, e.g. `/api/v2/users?id=a&id=b`, already URL-encoded.
    pub path: String,
    pub body: Option<serde_json::Value>,
    pub replay: Replay,
}

impl Request {
    /// The path as logs show it: a bulk read's hundred ids are summarised.
    pub fn log_path(&self) -> String {
        let ids = self
            .path
            .split(['?', '&'])
            .filter(|p| p.starts_with("id="))
            .count();
        match self.path.split_once('?') {
            Some((base, _)) if ids > 1 => format!("{base}?id=<{ids} ids>"),
            _ => self.path.clone(),
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Request {
            method: Method::GET,
            path: path.into(),
            body: None,
            replay: Replay::Safe,
        }
    }

    pub fn patch(path: impl Into<String>, body: serde_json::Value, replay: Replay) -> Self {
        Request {
            method: Method::PATCH,
            path: path.into(),
            body: Some(body),
            replay,
        }
    }

    pub fn put(path: impl Into<String>, body: serde_json::Value) -> Self {
        Request {
            method: Method::PUT,
            path: path.into(),
            body: Some(body),
            replay: Replay::Safe,
        }
    }

    pub fn post(path: impl Into<String>, body: serde_json::Value, replay: Replay) -> Self {
        Request {
            method: Method::POST,
            path: path.into(),
            body: Some(body),
            replay,
        }
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Request {
            method: Method::DELETE,
            path: path.into(),
            body: None,
            replay: Replay::Safe,
        }
    }
}

/// A successful (2xx) response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// `ININ-Correlation-Id`, for reports and support tickets.
    pub correlation_id: Option<String>,
    /// HTTP requests it took, retries and 401 replays included.
    pub attempts: u32,
}

impl Response {
    /// Parse the body. A body that does not fit the schema is reported as a rejected
    /// request with code `response.unreadable`, naming the serde error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::Rejected {
            status: self.status,
            code: "response.unreadable".into(),
            message: format!("the response body does not have the expected shape: {e}"),
            correlation_id: self.correlation_id.clone(),
            attempts: self.attempts,
        })
    }
}

#[cfg(test)]
mod log_path_tests {
    use super::*;

    #[test]
    fn a_bulk_reads_ids_are_summarised_in_logs() {
        let r = Request::get("/api/v2/users?id=a&id=b&pageSize=100&state=any");
        assert_eq!(r.log_path(), "/api/v2/users?id=<2 ids>");
        assert_eq!(
            Request::get("/api/v2/users/a").log_path(),
            "/api/v2/users/a"
        );
    }
}
