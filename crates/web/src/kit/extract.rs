//! Extractors whose rejections speak our error shape, and that refuse text PostgreSQL cannot
//! store: no string that reaches a handler through them (a JSON value at any depth, a form
//! field, a query parameter or a path segment) contains a NUL character.

use axum::body::Body;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::kit::error::WebError;

fn from_status(status: StatusCode, text: String) -> WebError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            WebError::PayloadTooLarge("the request body is larger than this server accepts".into())
        }
        StatusCode::UNPROCESSABLE_ENTITY => WebError::Unprocessable(text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            WebError::BadRequest("send the body with Content-Type: application/json".into())
        }
        _ => WebError::BadRequest(text),
    }
}

impl From<JsonRejection> for WebError {
    fn from(r: JsonRejection) -> Self {
        from_status(r.status(), r.body_text())
    }
}

impl From<FormRejection> for WebError {
    fn from(r: FormRejection) -> Self {
        from_status(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for WebError {
    fn from(r: QueryRejection) -> Self {
        WebError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for WebError {
    fn from(r: PathRejection) -> Self {
        // A malformed id names nothing that exists.
        WebError::NotFound(r.body_text())
    }
}

const NUL_REFUSED: &str = "text may not contain NUL characters (U+0000)";

pub fn nul_refused() -> WebError {
    WebError::BadRequest(NUL_REFUSED.into())
}

/// Whether URL-encoded text decodes to a NUL anywhere. `%` never belongs to an earlier
/// escape's two hex digits, so every `%00` decodes to NUL and nothing else does.
fn encoded_nul(raw: &[u8]) -> bool {
    raw.contains(&0) || raw.windows(3).any(|w| w == b"%00")
}

/// Whether a JSON value holds a NUL in any string or object key, at any depth.
pub fn json_has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Whether a request's path or query decodes to a NUL: `kit::edge` refuses such a request
/// before routing, so that no extractor (ours or axum's) hands one to a handler.
pub fn uri_has_nul(uri: &axum::http::Uri) -> bool {
    encoded_nul(uri.path().as_bytes()) || uri.query().is_some_and(|q| encoded_nul(q.as_bytes()))
}

/// `axum::Json` with our rejections; a NUL in any string is refused (400).
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<Value>::from_request(req, state).await?;
        if json_has_nul(&value) {
            return Err(nul_refused());
        }
        serde_json::from_value(value)
            .map(Json)
            .map_err(|e| WebError::Unprocessable(format!("the request body is invalid: {e}")))
    }
}

/// `axum::Form` with our rejections; a NUL in any field is refused (400).
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // A GET form is its query, which `kit::edge` has already checked.
        let (parts, body) = req.into_parts();
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
                .map_err(|r| from_status(r.status(), r.body_text()))?;
        if encoded_nul(&bytes) {
            return Err(nul_refused());
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        let axum::Form(v) = axum::Form::<T>::from_request(req, state).await?;
        Ok(Form(v))
    }
}

/// `axum::extract::Query` with our rejections; NUL is refused by `kit::edge`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` with our rejections; NUL is refused by `kit::edge`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct Path<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_of_nul_is_seen_and_nothing_else() {
        for bad in ["a=%00", "%00", "a=b&c=x%00y", "a=%%00", "a\0"] {
            assert!(encoded_nul(bad.as_bytes()), "{bad:?}");
        }
        for ok in ["a=%2500", "a=0", "a=%20%30%30", "a=%0A"] {
            assert!(!encoded_nul(ok.as_bytes()), "{ok:?}");
        }
    }

    #[test]
    fn a_nul_is_found_at_any_depth_of_a_json_value() {
        assert!(json_has_nul(
            &serde_json::json!({"a": [1, {"b": ["ok", "x\u{0}"]}]})
        ));
        assert!(json_has_nul(&serde_json::json!({"k\u{0}": 1})));
        assert!(!json_has_nul(
            &serde_json::json!({"a": [1, {"b": ["ok", "\\u0000"]}]})
        ));
    }
}
