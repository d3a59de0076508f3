//! The admin analytics API: aggregated data of the caller's tenant's courses, never raw
//! events or a learner's identity.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::{Path, Query};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/analytics/course/{course}", get(course))
        .route("/api/admin/analytics/funnel/{course}", get(funnel))
}

/// `from` and `to`, as `YYYY-MM-DD`, both inclusive.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Range {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn date(field: &str, v: Option<&str>) -> Result<Option<time::Date>, WebError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    v.filter(|s| !s.is_empty())
        .map(|s| {
            time::Date::parse(s, &format)
                .map_err(|_| WebError::Unprocessable(format!("{field}: a date as YYYY-MM-DD")))
        })
        .transpose()
}

#[tracing::instrument(skip_all)]
async fn course(
    State(state): State<AppState>,
    caller: Caller,
    Path(course): Path<uuid::Uuid>,
    Query(q): Query<Range>,
) -> Result<axum::Json<app::analytics::CourseReport>, WebError> {
    let from = date("from", q.from.as_deref())?;
    let to = date("to", q.to.as_deref())?;
    let report =
        app::analytics::course_report(&state.pool, &caller.actor(), course, from, to).await?;
    Ok(axum::Json(report))
}

#[tracing::instrument(skip_all)]
async fn funnel(
    State(state): State<AppState>,
    caller: Caller,
    Path(course): Path<uuid::Uuid>,
) -> Result<axum::Json<app::analytics::FunnelReport>, WebError> {
    let report = app::analytics::course_funnel(&state.pool, &caller.actor(), course).await?;
    Ok(axum::Json(report))
}
