//! What the operations page reads: scheduled runs and alerts (platform-wide), and one
//! tenant's job health.

use domain::JobStatus;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::types::{RunStatus, Stored};

/// One scheduled run.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub job: String,
    pub slot: String,
    pub status: RunStatus,
    pub runner: String,
    pub started_at: OffsetDateTime,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

/// The last five runs of every scheduled job, by job then newest first.
pub async fn recent_runs(db: impl PgExecutor<'_>) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as!(
        RunRow,
        r#"SELECT job AS "job!", slot AS "slot!", status AS "status!: RunStatus", runner AS "runner!",
                  started_at AS "started_at!", duration_ms, error FROM (
             SELECT *, row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS n FROM job_runs
           ) r WHERE n <= 5 ORDER BY job, started_at DESC"#
    )
    .fetch_all(db)
    .await
}

/// One alert a scheduled job raised.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub created_at: OffsetDateTime,
    pub job: String,
    pub summary: String,
    pub delivered_to: Vec<String>,
    pub delivery_error: Option<String>,
}

pub async fn recent_alerts(db: impl PgExecutor<'_>) -> Result<Vec<AlertRow>, sqlx::Error> {
    sqlx::query_as!(
        AlertRow,
        "SELECT created_at, job, summary, delivered_to, delivery_error FROM alerts
         ORDER BY created_at DESC LIMIT 50"
    )
    .fetch_all(db)
    .await
}

/// How many of a tenant's jobs of the last week are in each status.
#[derive(Debug, Clone)]
pub struct StatusCount {
    pub status: JobStatus,
    pub jobs: i64,
}

pub async fn job_health(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<StatusCount>, sqlx::Error> {
    sqlx::query_as!(
        StatusCount,
        r#"SELECT status AS "status: Stored<JobStatus>", count(*) AS "jobs!" FROM jobs
           WHERE tenant_id = $1 AND created_at > now() - interval '7 days'
           GROUP BY status ORDER BY status"#,
        tenant_id
    )
    .fetch_all(db)
    .await
}

/// A tenant's recent failed job.
#[derive(Debug, Clone)]
pub struct Failure {
    pub id: Uuid,
    pub kind: String,
    pub code: Option<String>,
    pub finished_at: Option<OffsetDateTime>,
}

pub async fn recent_failures(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<Failure>, sqlx::Error> {
    sqlx::query_as!(
        Failure,
        r#"SELECT id, kind, error ->> 'code' AS code, finished_at FROM jobs
           WHERE tenant_id = $1 AND status = 'FAILED'
           ORDER BY finished_at DESC NULLS LAST LIMIT 10"#,
        tenant_id
    )
    .fetch_all(db)
    .await
}

/// A process that ran scheduled jobs or claimed queued ones.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its runner name (`hostname-pid`).
    pub name: String,
    pub last_seen: OffsetDateTime,
    /// Queued jobs it holds claimed now.
    pub running_jobs: i64,
}

/// Every process seen in the last day, by scheduled runs and by job claims, most recent
/// first.
pub async fn hosts(db: impl PgExecutor<'_>) -> Result<Vec<Host>, sqlx::Error> {
    sqlx::query_as!(
        Host,
        r#"SELECT host AS "name!", max(seen) AS "last_seen!", sum(running)::bigint AS "running_jobs!"
           FROM (
             SELECT runner AS host, coalesce(finished_at, started_at) AS seen, 0 AS running
               FROM job_runs WHERE started_at > now() - interval '1 day'
             UNION ALL
             SELECT claimed_by, coalesce(heartbeat_at, started_at, created_at),
                    CASE WHEN status = 'RUNNING' THEN 1 ELSE 0 END
               FROM jobs
               WHERE claimed_by IS NOT NULL
                 AND coalesce(heartbeat_at, started_at, created_at) > now() - interval '1 day'
           ) h
           GROUP BY host ORDER BY max(seen) DESC LIMIT 50"#
    )
    .fetch_all(db)
    .await
}
