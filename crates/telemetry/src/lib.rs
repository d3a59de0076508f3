//! One Prometheus recorder per process, with the histogram buckets our metrics need.

use std::sync::OnceLock;
use std::time::Duration;

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

/// How often the recorder's upkeep runs whether or not anyone scrapes `/metrics`.
pub const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// Installs the recorder once per process and returns its handle. When another recorder is
/// already installed (a test embedding several apps), the handle renders an empty registry
/// rather than failing the process.
///
/// Histogram samples wait in the recorder until upkeep folds them into their buckets, and
/// only a scrape runs upkeep otherwise; so a thread runs it every [`UPKEEP_PERIOD`], and
/// memory stays flat in a process nobody scrapes.
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
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_PERIOD);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
            }
            handle
        })
        .clone()
}

/// The text exposition of every metric, after housekeeping.
pub fn render(handle: &PrometheusHandle) -> String {
    handle.run_upkeep();
    handle.render()
}
