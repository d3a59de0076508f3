//! Prometheus metrics: one process-wide recorder and the request-tracking middleware.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Installs the recorder once per process and returns its handle.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("job_duration_ms".into()),
                        &[10.0, 50.0, 100.0, 500.0, 1e3, 5e3, 1e4, 6e4, 3e5, 9e5],
                    )
                });
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(_) => PrometheusBuilder::new().build_recorder(),
            };
            let handle = recorder.handle();
            // Another recorder may already be installed (tests embed several apps); then
            // this handle renders an empty registry rather than failing the process.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by method, route and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route template"
    );
    metrics::describe_counter!(
        "audit_write_failures_total",
        "Audit rows that failed to write (the change they describe went ahead)"
    );
    metrics::describe_counter!("login_failures_total", "Failed sign-in attempts");
    metrics::describe_counter!(
        "login_throttled_total",
        "Sign-in attempts refused by back-off"
    );
    metrics::describe_counter!(
        "csrf_rejections_total",
        "Unsafe requests refused for their origin"
    );
    // Present from the start, so dashboards and alerts see a zero rather than no series.
    metrics::counter!("audit_write_failures_total").absolute(0);
}

/// Counts and times every routed request by its route template (never the raw path, which
/// would make one series per id).
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}
