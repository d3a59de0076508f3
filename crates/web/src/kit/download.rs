//! Sending an export: the stored bytes as an attachment with their hash as a strong ETag,
//! or 304 when the client already has them.

use app::exports::{self, Format, Outcome, Requester};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::AppState;
use crate::kit::error::WebError;

/// Private (it needs a session) and revalidated on every use (a learner's active version
/// may move on; the ETag makes the revalidation cheap).
const CACHE: &str = "private, no-cache";

/// Exports `course` for `who` and answers with the file, or 304 for a current copy.
pub async fn export(
    state: &AppState,
    who: Requester,
    course: Uuid,
    format: Format,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let outcome = exports::export(
        &state.pool,
        &state.objects,
        who,
        course,
        format,
        state.config.export_limits,
        if_none_match,
    )
    .await?;
    Ok(match outcome {
        Outcome::NotModified(hash) => (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag(&hash)),
                (header::CACHE_CONTROL, HeaderValue::from_static(CACHE)),
            ],
        )
            .into_response(),
        Outcome::Sent(e) => {
            let disposition =
                HeaderValue::from_str(&format!("attachment; filename=\"{}\"", e.file_name))
                    .unwrap_or(HeaderValue::from_static("attachment"));
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(e.format.content_type()),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::ETAG, etag(&e.content_hash)),
                    (header::CACHE_CONTROL, HeaderValue::from_static(CACHE)),
                ],
                axum::body::Bytes::from_owner(e.bytes),
            )
                .into_response()
        }
    })
}

fn etag(hash: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{hash}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}
