//! `/healthz`, `/readyz` and `/metrics`.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use db::migrate::SchemaState;
use serde_json::json;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is alive; says nothing about its dependencies.
#[tracing::instrument(skip_all, level = "debug")]
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// Ready to serve: the database answers and its schema is this binary's. Anyone may ask; only
/// a signed-in platform owner is told why not (the schema and the database's errors are
/// nobody else's business).
#[tracing::instrument(skip_all, level = "debug")]
async fn readyz(
    State(state): State<AppState>,
    // A session that cannot be looked up (the database is down) is nobody: never a 500 here.
    caller: Result<Caller, WebError>,
) -> Response {
    let check = tokio::time::timeout(Duration::from_secs(2), db::migrate::state(&state.pool)).await;
    let (ready, detail) = match check {
        Err(_) => (false, "the database did not answer within 2 s".to_owned()),
        Ok(Err(e)) => (
            false,
            format!("the database is unreachable: {}", db::connect::cause(&e)),
        ),
        Ok(Ok(SchemaState::Current)) => (true, "database reachable, migrations current".into()),
        Ok(Ok(SchemaState::Pending(p))) => (
            false,
            format!(
                "{} migration(s) pending; run `coursewright migrate`",
                p.len()
            ),
        ),
        Ok(Ok(SchemaState::Diverged(why))) => (false, why),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let verdict = if ready { "ready" } else { "not_ready" };
    let body = if caller.is_ok_and(|c| c.is_platform_owner) {
        json!({ "status": verdict, "detail": detail })
    } else {
        json!({ "status": verdict })
    };
    (status, axum::Json(body)).into_response()
}

#[tracing::instrument(skip_all, level = "debug")]
async fn metrics(State(state): State<AppState>) -> Response {
    let counts = state.hot.counts();
    metrics::counter!("learner_cache_reads_total", "result" => "hit").absolute(counts.hits);
    metrics::counter!("learner_cache_reads_total", "result" => "miss").absolute(counts.misses);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        telemetry::render(&state.metrics),
    )
        .into_response()
}
