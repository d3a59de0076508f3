//! The scheduled jobs every deployment runs. Later issues add theirs here.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

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
}

/// Fails RUNNING jobs whose lease expired (`worker_lost`); they are never re-run.
pub fn reaper() -> JobDefinition {
    JobDefinition {
        name: "reap-expired-leases",
        description: "Fail RUNNING jobs whose worker stopped renewing its lease (never re-run them)",
        schedule: Schedule::Every(Duration::from_secs(15)),
        lock_key: lock_keys::REAPER,
        timeout: Duration::from_secs(60),
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
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let r = sqlx::query(
                    "DELETE FROM job_runs WHERE started_at < now() - make_interval(days => $1) AND status <> 'RUNNING'",
                )
                .bind(JOB_RUNS_RETENTION_DAYS)
                .execute(&ctx.pool)
                .await?;
                Ok(json!({ "deleted": r.rows_affected() }))
            })
        }),
    }
}

/// Deletes expired sessions and login back-off rows nobody needs any more.
pub fn prune_sessions() -> JobDefinition {
    JobDefinition {
        name: "prune-sessions",
        description: "Delete expired sessions and stale login back-off counters",
        schedule: Schedule::Every(Duration::from_secs(3600)),
        lock_key: lock_keys::PRUNE_SESSIONS,
        timeout: Duration::from_secs(300),
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let sessions = db::sessions::delete_expired(&ctx.pool).await?;
                let throttle = sqlx::query(
                    "DELETE FROM login_throttle WHERE window_started_at < now() - interval '1 day'
                       AND (locked_until IS NULL OR locked_until < now())",
                )
                .execute(&ctx.pool)
                .await?
                .rows_affected();
                Ok(json!({ "sessions": sessions, "throttleRows": throttle }))
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
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let depth = db::jobs::queue_depth(&ctx.pool).await?;
                for status in ["REQUESTED", "PENDING", "RUNNING"] {
                    let n = depth
                        .iter()
                        .find(|(s, _)| s == status)
                        .map_or(0, |(_, n)| *n);
                    metrics::gauge!("jobs_queue_depth", "status" => status).set(n as f64);
                }
                Ok(json!(
                    depth
                        .into_iter()
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
        run: Arc::new(|ctx: RunContext| {
            Box::pin(async move {
                let sealed = db::audit::seal(&ctx.pool).await?;
                Ok(json!({ "sealed": sealed }))
            })
        }),
    }
}

/// Every built-in scheduled job.
pub fn all() -> Vec<JobDefinition> {
    vec![
        reaper(),
        prune_job_runs(),
        prune_sessions(),
        queue_metrics(),
        seal_audit(),
    ]
}
