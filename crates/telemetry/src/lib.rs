//! One Prometheus recorder per process, with the histogram buckets our metrics need.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use metrics_exporter_prometheus::PrometheusHandle as Handle;

const BUCKETS: &[(&str, &[f64])] = &[
    (
        "http_request_duration_seconds",
        &[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ],
    ),
    (
        "job_duration_ms",
        &[10.0, 50.0, 100.0, 500.0, 1e3, 5e3, 1e4, 6e4, 3e5, 9e5],
    ),
    (
        "job_execution_seconds",
        &[0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0],
    ),
];

/// Installs the recorder once per process and returns its handle. When another recorder is
/// already installed (a test embedding several apps), the handle renders an empty registry
/// rather than failing the process.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for (name, buckets) in BUCKETS {
                builder =
                    match builder.set_buckets_for_metric(Matcher::Full((*name).into()), buckets) {
                        Ok(b) => b,
                        Err(_) => PrometheusBuilder::new(),
                    };
            }
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The text exposition of every metric, after housekeeping.
pub fn render(handle: &PrometheusHandle) -> String {
    handle.run_upkeep();
    handle.render()
}
