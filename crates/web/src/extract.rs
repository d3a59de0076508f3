//! Extractors whose rejections speak our error shape.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

use crate::error::WebError;

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

/// `axum::Json` with our rejections.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(WebError))]
pub struct Json<T>(pub T);

/// `axum::Form` with our rejections.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct Form<T>(pub T);

/// `axum::extract::Query` with our rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` with our rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct Path<T>(pub T);
