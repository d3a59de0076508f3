//! A learner's exports of the course they are enrolled in: the active version as a PDF book
//! or a SCORM 1.2 package. The API answers JSON errors; the `/learn/…` twins, which the
//! course page links, answer error pages.

use app::exports::{Format, Requester};
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::download;
use crate::kit::error::WebError;
use crate::kit::extract::Path;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/learn/courses/{course}/export.pdf", get(pdf))
        .route(
            "/api/learn/courses/{course}/export/scorm12.zip",
            get(scorm12),
        )
        .route("/learn/{course}/export.pdf", get(pdf))
        .route("/learn/{course}/export/scorm12.zip", get(scorm12))
}

#[tracing::instrument(skip_all)]
async fn pdf(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(course): Path<Uuid>,
) -> Result<Response, WebError> {
    let who = Requester::Learner(caller.actor());
    download::export(&state, who, course, Format::Pdf, &headers).await
}

#[tracing::instrument(skip_all)]
async fn scorm12(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(course): Path<Uuid>,
) -> Result<Response, WebError> {
    let who = Requester::Learner(caller.actor());
    download::export(&state, who, course, Format::Scorm12, &headers).await
}
