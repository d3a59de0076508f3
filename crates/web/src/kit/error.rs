//! One error type for the whole HTTP surface.
//!
//! Handlers return [`WebError`]. Its response carries an [`ErrorBody`] extension; the
//! [`shape`] step of the edge middleware (`kit::edge`) turns that (and any bare error response from axum or tower,
//! such as a 405 or 413) into `{"error":{"code","message"}}` for the API, or an error page
//! (a redirect to the login page for 401) for HTML routes.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

/// An error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("you need to sign in")]
    Unauthorized,
    #[error("{0}")]
    InvalidCredentials(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict with a code of its own, e.g. `superseded`.
    #[error("{message}")]
    ConflictCode { code: &'static str, message: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("too many attempts; try again in {} seconds", retry_after.as_secs().max(1))]
    TooManyRequests { retry_after: Duration },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl WebError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn forbidden() -> Self {
        Self::Forbidden("your role does not allow this".into())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InvalidCredentials(_) => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::ConflictCode { code, .. } => (StatusCode::CONFLICT, code),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Database(_) | Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

/// The one place a use case's error becomes a status.
impl From<app::AppError> for WebError {
    fn from(e: app::AppError) -> Self {
        use app::AppError as A;
        match e {
            A::NotFound(m) => Self::NotFound(m),
            A::Forbidden(m) => Self::Forbidden(m),
            A::Conflict { code, message } => Self::ConflictCode { code, message },
            A::Invalid(m) => Self::Unprocessable(m),
            A::TooLarge(m) => Self::PayloadTooLarge(m),
            A::RateLimited { retry_after } => Self::TooManyRequests { retry_after },
            A::Db(e) => Self::Database(e),
            A::Corrupt(m) | A::Internal(m) => Self::Internal(anyhow::anyhow!(m)),
        }
    }
}

impl WebError {
    /// The message of a refusal a page shows as a flash (a conflict or invalid input);
    /// `None` for errors that deserve an error page.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            Self::Conflict(m) | Self::Unprocessable(m) | Self::PayloadTooLarge(m) => Some(m),
            Self::ConflictCode { message, .. } => Some(message),
            _ => None,
        }
    }
}

impl From<domain::ParseError> for WebError {
    fn from(e: domain::ParseError) -> Self {
        Self::Unprocessable(e.to_string())
    }
}

/// The error of a response, kept as an extension until [`shape`] renders it.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ErrorBody,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Database(e) => {
                tracing::error!(error = %e, cause = ?e, "database error");
                "something went wrong on our side; it has been logged".to_owned()
            }
            Self::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                "something went wrong on our side; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody { code, message };
        let mut res = (status, Json(Envelope { error: &body })).into_response();
        if let Self::TooManyRequests { retry_after } = &self {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(body);
        res
    }
}

/// Whether a path is served as a page (HTML errors) rather than as API (JSON errors).
pub fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path == "/api"
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics")
}

fn default_error(status: StatusCode) -> ErrorBody {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "you need to sign in"),
        StatusCode::FORBIDDEN => ("forbidden", "your role does not allow this"),
        StatusCode::NOT_FOUND => ("not_found", "no such page or resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this method is not allowed here; see the Allow header",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("validation_failed", "the request body is invalid"),
        StatusCode::TOO_MANY_REQUESTS => ("too_many_requests", "too many requests"),
        s if s.is_server_error() => ("internal", "something went wrong on our side"),
        _ => ("error", "the request failed"),
    };
    ErrorBody {
        code,
        message: message.to_owned(),
    }
}

/// Renders an error response in the shape its route calls for: `page` is the request's URI
/// when [`is_page`] says it is a page (HTML errors, sign-in redirects), `None` for the API
/// (JSON errors). Responses that already have a JSON or HTML body and no [`ErrorBody`] pass
/// untouched.
pub fn shape(res: Response, page: Option<&axum::http::Uri>) -> Response {
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    let body = match res.extensions().get::<ErrorBody>() {
        Some(b) => b.clone(),
        None => {
            let ct = res
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if ct.starts_with("text/html") || ct.starts_with("application/json") {
                return res;
            }
            // A rejection from axum or tower: keep its text where it says something useful.
            default_error(status)
        }
    };
    let (mut parts, _) = res.into_parts();
    if let Some(uri) = page {
        if status == StatusCode::UNAUTHORIZED {
            let here = uri.path_and_query().map_or("/", |pq| pq.as_str());
            return Redirect::to(&format!(
                "/login?next={}",
                crate::kit::pages::url_encode(here)
            ))
            .into_response();
        }
        let html = crate::kit::pages::error_page(status, &body.message);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::from(html));
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let json = serde_json::to_vec(&Envelope { error: &body }).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(json))
}
