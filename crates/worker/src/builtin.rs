//! The scheduled jobs every deployment runs. Later issues add theirs here.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use domain::JobStatus;
use serde_json::json;
use store::Objects;
use uuid::Uuid;

use crate::schedule::{JobDefinition, RunContext, Schedule};

/// How long `job_runs` rows are kept.
pub const JOB_RUNS_RETENTION_DAYS: i32 = 30;

/// Lock keys: one per job, stable forever (they are what keeps runs from overlapping).
pub mod lock_keys {
    pub const REAPER: i64 = 16_001;
    pub const PRUNE_JOB_RUNS: i64 = 16_002;
    pub const PRUNE_SESSIONS: i64 = 16_003;
    pub const QUEUE_METRICS: i64 = 16_004;
    pub const SEAL_AUDIT: i64 = 16_005;
    pub const SWEEP_ORPHAN_OBJECTS: i64 = 16_006;
    pub const CLOSE_ORPHANED_RUNS: i64 = 16_007;
    pub const ANALYTICS_PARTITIONS: i64 = 16_008;
    pub const ANALYTICS_AGGREGATE: i64 = 16_009;
    pub const ANALYTICS_RETENTION: i64 = 16_010;
    pub const ANALYTICS_SIGNALS: i64 = 16_011;
}

/// Months of raw-event partitions kept ready ahead of the current one.
pub const ANALYTICS_MONTHS_AHEAD: i32 = 3;

/// How old a RUNNING run with a free run lock must be before it is closed as `runner_lost`:
/// longer than any built-in job's timeout, so that a run of a runner from before run locks
/// (which holds none) has been recorded by then.
pub const ORPHANED_RUN_MIN_AGE: Duration = Duration::from_secs(600);

/// The object-store folder job outputs live in (`jobs/{job id}/{sha256}.json`).
const JOB_OBJECTS: &str = "jobs";

/// What one sweep of the object store did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub listed: usize,
    /// Older than the grace period.
    pub old: usize,
    pub removed: Vec<String>,
}

/// Removes job objects that no job output references and whose job is not live, once older
/// than `grace`. Such objects come from finishes that never committed (a claim lost, a
/// completion left undecided through an outage, a process killed between storing and
/// completing); no later write can reference them.
pub async fn sweep_orphans(
    pool: &db::PgPool,
    objects: &Objects,
    grace: Duration,
) -> anyhow::Result<SweepReport> {
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let listed = objects.list(JOB_OBJECTS).await?;
    let old: Vec<_> = listed
        .iter()
        .filter(|o| o.last_modified <= cutoff)
        .collect();
    let mut report = SweepReport {
        listed: listed.len(),
        old: old.len(),
        removed: Vec::new(),
    };
    for batch in old.chunks(500) {
        let paths: Vec<String> = batch.iter().map(|o| o.path.clone()).collect();
        // An unparseable folder names no job: the nil id matches none.
        let job_ids: Vec<Uuid> = batch
            .iter()
            .map(|o| {
                o.path
                    .split('/')
                    .nth(1)
                    .and_then(|id| id.parse().ok())
                    .unwrap_or_else(Uuid::nil)
            })
            .collect();
        for path in db::jobs::unreferenced_objects(pool, &paths, &job_ids).await? {
            objects.delete(&path).await?;
            tracing::info!(path = %path, "orphaned object removed");
            report.removed.push(path);
        }
    }
    metrics::counter!("orphan_objects_removed_total").increment(report.removed.len() as u64);
    Ok(report)
}

/// The hourly [`sweep_orphans`].
pub fn sweep_orphan_objects(objects: Objects, grace: Duration) -> JobDefinition {
    JobDefinition {
        name: "sweep-orphan-objects",
        description: "Remove stored job objects nothing references, once older than the grace period",
        schedule: Schedule::Every(Duration::from_secs(3600)),
        lock_key: lock_keys::SWEEP_ORPHAN_OBJECTS,
        timeout: Duration::from_secs(300),
        dry_runs: false,
        run: Arc::new(move |ctx: RunContext| {
            let objects = objects.clone();
            Box::pin(async move {
                let report = sweep_orphans(&ctx.pool, &objects, grace).await?;
                Ok(serde_json::to_value(report)?)
            })
        }),
    }
}

/// Fails RUNNING scheduled runs whose runner died (`runner_lost`); runs still held stay.
pub fn close_orphaned_runs(min_age: Duration) -> JobDefinition {
    JobDefinition {
        name: "close-orphaned-runs",
        description: "Fail scheduled runs left RUNNING by a runner that died (runner_lost)",
        schedule: Schedule::Every(Duration::from_secs(60)),
        lock_key: lock_keys::CLOSE_ORPHANED_RUNS,
        timeout: Duration::from_secs(60),
        dry_runs: false,
        run: Arc::new(move |ctx: RunContext| {
            Box::pin(async move {
                let closed = db::runs::close_orphaned(&ctx.pool, min_age).await?;
                metrics::counter!("job_runs_runner_lost_total").increment(closed.len() as u64);
                for r in &closed {
                    tracing::warn!(run_id = r.id, job = %r.job, slot = %r.slot, runner = %r.runner, "scheduled run left RUNNING by a dead runner: failed as runner_lost");
                }
                Ok(json!({ "closed": closed.iter().map(|r| r.id).collect::<Vec<_>>() }))
            })
        }),
    }
}

/// Fails RUNNING jobs whose lease expired (`worker_lost`); they are never re-run.
pub fn reaper() -> JobDefinition {
    JobDefinition {
        name: "reap-expired-leases",
        description: "Fail RUNNING jobs whose worker stopped renewing its lease (never re-run them)",
        schedule: Schedule::Every(Duration::from_secs(15)),
        lock_key: lock_keys::REAPER,
        timeout: Duration::from_secs(60),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let reaped = db::jobs::reap(&ctx.pool).await?;
                metrics::counter!("job_lease_expired_total").increment(reaped.len() as u64);
                for j in &reaped {
                    tracing::warn!(job = %j.id, kind = %j.kind, worker = ?j.claimed_by, "lease expired: job failed as worker_lost");
                }
                Ok(json!({ "reaped": reaped.iter().map(|j| j.id).collect::<Vec<_>>() }))
            })
        }),
    }
}

/// Deletes `job_runs` rows older than the retention period.
pub fn prune_job_runs() -> JobDefinition {
    JobDefinition {
        name: "prune-job-runs",
        description: "Delete scheduled-job run records older than 30 days",
        schedule: Schedule::Every(Duration::from_secs(3600)),
        lock_key: lock_keys::PRUNE_JOB_RUNS,
        timeout: Duration::from_secs(300),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let deleted = db::runs::prune_runs(&ctx.pool, JOB_RUNS_RETENTION_DAYS).await?;
                Ok(json!({ "deleted": deleted }))
            })
        }),
    }
}

/// Deletes expired sessions and login back-off rows nobody needs any more.
pub fn prune_sessions() -> JobDefinition {
    JobDefinition {
        name: "prune-sessions",
        description: "Delete expired sessions, stale login back-off counters and old export-limit rows",
        schedule: Schedule::Every(Duration::from_secs(3600)),
        lock_key: lock_keys::PRUNE_SESSIONS,
        timeout: Duration::from_secs(300),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let sessions = db::sessions::delete_expired(&ctx.pool).await?;
                let throttle = db::throttle::prune_throttle(&ctx.pool).await?;
                let exports = db::exports::prune_requests(&ctx.pool).await?;
                Ok(
                    json!({ "sessions": sessions, "throttleRows": throttle, "exportWindowRows": exports }),
                )
            })
        }),
    }
}

/// Publishes `jobs_queue_depth{status}`.
pub fn queue_metrics() -> JobDefinition {
    JobDefinition {
        name: "queue-metrics",
        description: "Publish how many jobs wait in each live status (jobs_queue_depth)",
        schedule: Schedule::Every(Duration::from_secs(15)),
        lock_key: lock_keys::QUEUE_METRICS,
        timeout: Duration::from_secs(30),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let depth = db::jobs::queue_depth(&ctx.pool).await?;
                for status in JobStatus::ALL.into_iter().filter(|s| s.is_live()) {
                    let n = depth
                        .iter()
                        .find(|d| d.status == status)
                        .map_or(0, |d| d.jobs);
                    metrics::gauge!("jobs_queue_depth", "status" => status.as_str()).set(n as f64);
                }
                Ok(json!(
                    depth
                        .into_iter()
                        .map(|d| (d.status.as_str(), d.jobs))
                        .collect::<std::collections::BTreeMap<_, _>>()
                ))
            })
        }),
    }
}

/// Appends finished audit rows to the hash chain, so a deployment of workers alone (no
/// `serve`) still seals; `serve` seals too, and the chain's own lock keeps sealers in line.
pub fn seal_audit() -> JobDefinition {
    JobDefinition {
        name: "seal-audit",
        description: "Append finished audit rows to the hash chain that `audit verify` checks",
        schedule: Schedule::Every(Duration::from_secs(10)),
        lock_key: lock_keys::SEAL_AUDIT,
        timeout: Duration::from_secs(300),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let sealed = db::audit::seal(&ctx.pool).await?;
                Ok(json!({ "sealed": sealed }))
            })
        }),
    }
}

/// Keeps the monthly partitions of raw analytics events ready ahead of time, so an event is
/// never refused for want of one (the migration made the first months).
pub fn analytics_partitions() -> JobDefinition {
    JobDefinition {
        name: "analytics-partitions",
        description: "Create the monthly partitions of raw analytics events 3 months ahead",
        schedule: Schedule::Every(Duration::from_secs(6 * 3600)),
        lock_key: lock_keys::ANALYTICS_PARTITIONS,
        timeout: Duration::from_secs(60),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let created =
                    db::analytics::ensure_partitions_ahead(&ctx.pool, ANALYTICS_MONTHS_AHEAD)
                        .await?;
                Ok(json!({ "created": created }))
            })
        }),
    }
}

/// Recomputes the daily analytics aggregates of the days that received events since the
/// last run ([`db::analytics::aggregate_daily`]); every run, failed or not, writes an
/// `ANALYTICS_JOB_RUN` audit row with its status and duration.
pub fn analytics_aggregate() -> JobDefinition {
    JobDefinition {
        name: "analytics-aggregate",
        description: "Recompute the daily analytics of every course and lesson that received events",
        schedule: Schedule::Every(Duration::from_secs(600)),
        lock_key: lock_keys::ANALYTICS_AGGREGATE,
        timeout: Duration::from_secs(600),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let started = std::time::Instant::now();
                let result = db::analytics::aggregate_daily(&ctx.pool).await;
                metrics::histogram!("analytics_aggregate_seconds")
                    .record(started.elapsed().as_secs_f64());
                audited(&ctx.pool, "analytics-aggregate", started, result).await
            })
        }),
    }
}

/// Writes the `ANALYTICS_JOB_RUN` audit row of a run of `job`, failed or not, with its
/// status, duration and what it did, and answers the run's result.
async fn audited<T: serde::Serialize, E: std::fmt::Display>(
    pool: &db::PgPool,
    job: &'static str,
    started: std::time::Instant,
    result: Result<T, E>,
) -> anyhow::Result<serde_json::Value> {
    let ms = started.elapsed().as_millis() as u64;
    let (status, detail) = match &result {
        Ok(r) => ("SUCCEEDED", serde_json::to_value(r)?),
        Err(e) => ("FAILED", json!({ "error": e.to_string() })),
    };
    db::audit::record_alone(
        pool,
        db::audit::AuditEvent::new(domain::AuditAction::AnalyticsJobRun, "scheduled_job", job)
            .metadata(json!({ "status": status, "durationMs": ms, "run": detail })),
    )
    .await;
    match result {
        Ok(_) => Ok(detail),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// Retention for analytics: raw-event months that ended over 90 days ago are dropped whole,
/// daily aggregates over two years old and signals whose week ended over a year ago deleted
/// ([`db::analytics::apply_retention`]); audited as an `ANALYTICS_JOB_RUN`.
/// `jobs run analytics-retention --dry-run` removes nothing and reports what it would remove.
pub fn analytics_retention() -> JobDefinition {
    JobDefinition {
        name: "analytics-retention",
        description: "Drop raw analytics months older than 90 days, daily aggregates older than 2 years and signals older than 1 year",
        schedule: Schedule::Every(Duration::from_secs(24 * 3600)),
        lock_key: lock_keys::ANALYTICS_RETENTION,
        timeout: Duration::from_secs(600),
        dry_runs: true,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let started = std::time::Instant::now();
                let result = db::analytics::apply_retention(&ctx.pool, ctx.dry_run).await;
                audited(&ctx.pool, "analytics-retention", started, result).await
            })
        }),
    }
}

/// Judges the latest settled weeks of every active course against the signal rules and
/// stores what fires ([`db::analytics::find_signals`]); audited as an `ANALYTICS_JOB_RUN`.
/// Idempotent: a week judged again adds nothing.
pub fn analytics_signals() -> JobDefinition {
    JobDefinition {
        name: "analytics-signals",
        description: "Judge each course's settled weeks against the signal rules and store what fires",
        schedule: Schedule::Every(Duration::from_secs(3600)),
        lock_key: lock_keys::ANALYTICS_SIGNALS,
        timeout: Duration::from_secs(600),
        dry_runs: false,
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let started = std::time::Instant::now();
                let result = db::analytics::find_signals(
                    &ctx.pool,
                    &domain::analytics::signals::Thresholds::default(),
                    time::OffsetDateTime::now_utc(),
                )
                .await;
                audited(&ctx.pool, "analytics-signals", started, result).await
            })
        }),
    }
}

/// Every built-in scheduled job; the orphan sweep over `objects` with `orphan_grace`.
pub fn all(objects: Objects, orphan_grace: Duration) -> Vec<JobDefinition> {
    vec![
        reaper(),
        prune_job_runs(),
        prune_sessions(),
        queue_metrics(),
        seal_audit(),
        sweep_orphan_objects(objects, orphan_grace),
        close_orphaned_runs(ORPHANED_RUN_MIN_AGE),
        analytics_partitions(),
        analytics_aggregate(),
        analytics_retention(),
        analytics_signals(),
    ]
}
