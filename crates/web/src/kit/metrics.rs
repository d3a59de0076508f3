//! Prometheus metrics: one process-wide recorder and the request-tracking middleware.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::PrometheusHandle;

/// Installs the process's recorder (see the `telemetry` crate) and describes our metrics.
pub fn install() -> PrometheusHandle {
    let handle = telemetry::install();
    describe();
    handle
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
    metrics::describe_counter!(
        "learner_cache_reads_total",
        "Session and learner-view reads, answered from memory (hit) or the database (miss)"
    );
    // Present from the start, so dashboards and alerts see a zero rather than no series.
    metrics::counter!("audit_write_failures_total").absolute(0);
}

/// Counts and times every routed request by its route template (never the raw path, which
/// would make one series per id).
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    let status = status_label(res.status());
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// A method as a label without allocating for the methods we serve.
fn method_label(m: &axum::http::Method) -> metrics::SharedString {
    use axum::http::Method;
    let known = match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => return m.as_str().to_owned().into(),
    };
    known.into()
}

/// A status as a label without allocating for the statuses we answer most.
fn status_label(s: axum::http::StatusCode) -> metrics::SharedString {
    let known = match s.as_u16() {
        200 => "200",
        201 => "201",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        422 => "422",
        _ => return s.as_u16().to_string().into(),
    };
    known.into()
}
