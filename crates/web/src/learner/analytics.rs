//! `POST /api/analytics/event`: batches of what only the browser knows (course and lesson
//! views, time on a lesson), write-only. Who sent them comes from the session.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use serde_json::Value;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::Json;

/// A batch of 100 events is about 20 KB; this leaves room and no more.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/analytics/event",
        post(ingest).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
    )
}

#[tracing::instrument(skip_all, level = "debug")]
async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<axum::Json<app::analytics::Ingested>, WebError> {
    let ingested = app::analytics::ingest(&state.pool, &caller.actor(), &body).await?;
    Ok(axum::Json(ingested))
}

/// The batch, as the OpenAPI document describes it (the handler checks each event itself,
/// so that one bad event does not cost the others).
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Batch {
    /// 1 to 100 events.
    pub events: Vec<BatchEvent>,
}

/// One event a browser may send.
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct BatchEvent {
    /// Made by the client, so a retried batch stores nothing twice.
    pub id: uuid::Uuid,
    /// `course_viewed`, `lesson_viewed` or `lesson_time`.
    #[serde(rename = "type")]
    pub kind: String,
    pub course_id: uuid::Uuid,
    /// 1-based, for lesson events.
    pub lesson_index: Option<u32>,
    /// `lesson_time` only: seconds active since the previous heartbeat (1 to 300).
    pub seconds: Option<u32>,
    /// RFC 3339, within the last 24 hours; the server's clock when absent.
    pub occurred_at: Option<String>,
}
