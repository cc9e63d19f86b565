//! Genesys error bodies and their helpers.
//!
//! Handlers return an [`ApiError`] without knowing the request's correlation id; it
//! travels as a response extension and the front layer renders it with `contextId`
//! equal to the `ININ-Correlation-Id` header it sets on every response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The `limit` detail of a 429 and an entity of the limits endpoint:
/// `{key, namespace, value}`, the value in the unit the key names.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub key: String,
    pub namespace: String,
    pub value: f64,
}

/// A Genesys API error, rendered as `{message, code, status, contextId, details,
/// errors[, limit]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: std::borrow::Cow<'static, str>,
    pub message: String,
    /// Only for 429s: the limit that was hit.
    pub limit: Option<Box<Limit>>,
    /// Only for 429s: the `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
    /// `details` of the body (`[{errorCode, entityId, entityName}]` naming the
    /// entities a write refused); empty for most errors.
    pub details: Vec<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            limit: None,
            retry_after: None,
            details: Vec::new(),
        }
    }

    /// The same error with `details` naming entities.
    pub fn with_details(mut self, details: Vec<Value>) -> Self {
        self.details = details;
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    /// A write refused because the caller lacks `permission` in `division`.
    pub fn forbidden(code: &str, permission: &str, division: &str) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: code.to_string().into(),
            message: format!(
                "Unable to perform the requested action. You are missing the following \
                 permission '{permission}' in the provided division(s): '{division}'"
            ),
            limit: None,
            retry_after: None,
            details: Vec::new(),
        }
    }

    pub fn malformed_body() -> Self {
        ApiError::bad_request(
            "The request could not be understood by the server due to malformed syntax.",
        )
    }

    pub fn authentication_required() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
    }

    pub fn bad_credentials() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        )
    }

    pub fn too_many_requests(retry_after: u64, limit: Option<Limit>) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too.many.requests.retry.after".into(),
            message: format!(
                "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
            ),
            limit: limit.map(Box::new),
            retry_after: Some(retry_after),
            details: Vec::new(),
        }
    }

    /// One of the 5xx Genesys answers when something behind the gateway fails.
    pub fn server_error(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            502 => (
                "bad.gateway",
                "The server received an invalid response from upstream.",
            ),
            503 => (
                "service.unavailable",
                "Service is currently unavailable, please try again later.",
            ),
            504 => (
                "gateway.timeout",
                "The server did not receive a timely response from upstream.",
            ),
            _ => (
                "internal.server.error",
                "The server encountered an unexpected condition which prevented it from fulfilling the request.",
            ),
        };
        ApiError::new(status, code, message)
    }

    /// The body, with `contextId` set.
    pub fn body(&self, context_id: &str) -> Value {
        let mut body = json!({
            "message": self.message,
            "code": self.code,
            "status": self.status.as_u16(),
            "contextId": context_id,
            "details": self.details,
            "errors": [],
        });
        if let Some(limit) = &self.limit {
            body["limit"] = limit_json(limit);
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // An empty response carrying the error; the front layer renders it.
        let mut r = self.status.into_response();
        r.extensions_mut().insert(self);
        r
    }
}

/// A number as Genesys writes it: whole values without a decimal point.
pub fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

/// A [`Limit`] on the wire.
pub fn limit_json(l: &Limit) -> Value {
    json!({ "key": l.key, "namespace": l.namespace, "value": number(l.value) })
}

/// One page of a Genesys entity listing, with its navigation URIs.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing<T> {
    pub entities: Vec<T>,
    pub page_size: u32,
    pub page_number: u32,
    pub total: u64,
    pub page_count: u32,
    pub first_uri: String,
    pub self_uri: String,
    pub last_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
}

impl<T> Listing<T> {
    pub fn new(entities: Vec<T>, total: usize, size: u32, number: u32, base: &str) -> Self {
        let page_count = total.div_ceil(size as usize) as u32;
        let uri = |n: u32| format!("{base}?pageSize={size}&pageNumber={n}");
        Listing {
            entities,
            page_size: size,
            page_number: number,
            total: total as u64,
            page_count,
            first_uri: uri(1),
            self_uri: uri(number),
            last_uri: uri(page_count.max(1)),
            next_uri: (number < page_count).then(|| uri(number + 1)),
            previous_uri: (number > 1).then(|| uri(number - 1)),
        }
    }
}

/// `{"error", "description", "error_description"}` as the login host answers.
pub fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({
        "error": error,
        "description": description,
        "error_description": description,
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_have_no_decimal_point() {
        assert_eq!(number(3000.0).to_string(), "3000");
        assert_eq!(number(3.5).to_string(), "3.5");
    }

    #[test]
    fn the_429_body_has_the_genesys_shape() {
        let e = ApiError::too_many_requests(
            7,
            Some(Limit {
                key: "client.credentials.token.rate.per.minute".into(),
                namespace: "platform.api".into(),
                value: 300.0,
            }),
        );
        let b = e.body("ctx");
        assert_eq!(b["status"], 429);
        assert_eq!(b["code"], "too.many.requests.retry.after");
        assert_eq!(
            b["message"],
            "Rate limit exceeded the maximum. Retry the request in [7] seconds"
        );
        assert_eq!(b["contextId"], "ctx");
        assert_eq!(b["limit"]["value"], 300);
        assert_eq!(b["details"], json!([]));
    }
}
