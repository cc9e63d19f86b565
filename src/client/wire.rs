//! One HTTP exchange and nothing else: send, read a bounded body, and say what kind
//! of transport failure happened if there was one. No policy lives here, so the send
//! loop and the token fetcher share it and the policy stays in `retry.rs`.

use std::error::Error as _;

use reqwest::header::HeaderMap;

use super::retry::Transport;

/// A complete response.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub(crate) enum WireError {
    /// No complete response: what kind of failure, and a description without the URL
    /// or any header (so never a token).
    Transport(Transport, String),
    /// The body was larger than allowed; reading stopped there.
    TooLarge { status: u16, limit: usize },
}

/// Send and read the whole response, refusing bodies over `max_body` bytes.
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
    max_body: usize,
) -> Result<Exchange, WireError> {
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|len| len > max_body as u64)
    {
        return Err(WireError::TooLarge {
            status,
            limit: max_body,
        });
    }
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > max_body {
            return Err(WireError::TooLarge {
                status,
                limit: max_body,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Exchange {
        status,
        headers,
        body,
    })
}

/// The `Location` header of a redirect, as raw (unsanitised) text.
pub(crate) fn location(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_else(|| "(no Location header)".into())
}

fn transport(e: reqwest::Error) -> WireError {
    let (connect, timeout) = (e.is_connect(), e.is_timeout());
    let detail = describe(e);
    WireError::Transport(
        super::retry::classify_transport(connect, timeout, &detail),
        detail,
    )
}

/// The host a URL names, for messages (`api.mypurecloud.ie`, `127.0.0.1:8080`).
pub(crate) fn host_of(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("(no host)");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The error and its causes, without the URL.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
