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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is alive; says nothing about its dependencies.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// Ready to serve: the database answers and its schema is this binary's.
async fn readyz(State(state): State<AppState>) -> Response {
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
    let body = json!({ "status": if ready { "ready" } else { "not_ready" }, "detail": detail });
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        telemetry::render(&state.metrics),
    )
        .into_response()
}
