//! Coursewright's execution plane: the job worker, executors, the scheduled-job runner and
//! alerts. It serves no HTTP beyond `/healthz` and `/metrics`.

pub mod alerts;
pub mod builtin;
pub mod executor;
pub mod generation;
pub mod queue;
pub mod schedule;

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub use executor::{Executor, JobFailure, JobInput, JobOutput, Registry};
pub use queue::{Finished, Worker, WorkerConfig};
pub use schedule::{JobDefinition, Outcome, RunReport, Schedule, Scheduler};

/// Serves `/healthz` and `/metrics` for the worker process until `shutdown`.
pub async fn serve_ops(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = telemetry::install();
    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route(
            "/metrics",
            get(move || {
                let handle = handle.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        telemetry::render(&handle),
                    )
                        .into_response()
                }
            }),
        );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
