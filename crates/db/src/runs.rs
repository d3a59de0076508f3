//! Scheduled-job runs (`job_runs`): one row per period, claimed by its insert, and a run lock
//! that says whether the runner that claimed it is still alive.
//!
//! The run lock is a session advisory lock keyed [`RUN_LOCK_BASE`] + the run's id, taken in
//! the claiming statement itself (so no other session ever sees the row without it) and held
//! by the runner's dedicated connection until the run is recorded. A RUNNING row whose lock is
//! free belongs to a runner that died.

use std::time::Duration;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::types::RunStatus;

/// The first key of the run locks; job locks (`JobDefinition::lock_key`) are small numbers.
/// 'CRUN' in ASCII in the high half.
pub const RUN_LOCK_BASE: i64 = 0x4352_554E_i64 << 32;

/// A claimed slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    /// Whether this session took the run lock (false only if some session already held its
    /// key, which nothing should).
    pub locked: bool,
}

/// Claims `(job, slot)` and takes its run lock on `conn`, in one statement; `None` (and no
/// lock) when another runner has the slot.
pub async fn claim(
    conn: &mut PgConnection,
    job: &str,
    slot: &str,
    runner: &str,
    dry_run: bool,
) -> Result<Option<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"INSERT INTO job_runs (job, slot, runner, dry_run) VALUES ($1, $2, $3, $4)
           ON CONFLICT (job, slot) DO NOTHING
           RETURNING id, pg_try_advisory_lock($5 + id) AS "locked!""#,
        job,
        slot,
        runner,
        dry_run,
        RUN_LOCK_BASE
    )
    .fetch_optional(conn)
    .await
}

/// How a run ended, for [`finish`].
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub status: RunStatus,
    pub duration_ms: i64,
    pub error: Option<&'a str>,
    pub detail: Option<&'a Value>,
}

/// Records how run `id` ended. The runner's word is final, even over a `runner_lost` that
/// [`close_orphaned`] wrote while the runner's connection was gone.
pub async fn finish(
    db: impl sqlx::PgExecutor<'_>,
    id: i64,
    end: &Finish<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE job_runs SET status = $2, finished_at = clock_timestamp(), duration_ms = $3,
                error = $4, detail = $5
         WHERE id = $1",
        id,
        end.status.as_str(),
        end.duration_ms,
        end.error,
        end.detail
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A run closed by [`close_orphaned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedRun {
    pub id: i64,
    pub job: String,
    pub slot: String,
    pub runner: String,
}

/// Fails (`runner_lost`) the RUNNING runs older than `min_age` whose run lock no session of
/// this database holds: their runner died before recording them. Runs still held are
/// untouched. `min_age` spares the runs of runners older than run locks while both kinds
/// run side by side; past every job's timeout such a run would have been recorded.
pub async fn close_orphaned(
    pool: &PgPool,
    min_age: Duration,
) -> Result<Vec<ClosedRun>, sqlx::Error> {
    sqlx::query_as!(
        ClosedRun,
        r#"UPDATE job_runs r
           SET status = 'FAILED', finished_at = clock_timestamp(),
               duration_ms = (extract(epoch FROM clock_timestamp() - r.started_at) * 1000)::bigint,
               error = 'runner_lost: runner ' || r.runner || ' stopped before recording the run'
           WHERE r.status = 'RUNNING'
             AND r.started_at < clock_timestamp() - make_interval(secs => $2)
             AND NOT EXISTS (
                 SELECT 1 FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 + r.id)
           RETURNING r.id, r.job, r.slot, r.runner"#,
        RUN_LOCK_BASE,
        min_age.as_secs_f64()
    )
    .fetch_all(pool)
    .await
}

/// Deletes finished scheduled runs older than `days`; how many.
pub async fn prune_runs(db: impl sqlx::PgExecutor<'_>, days: i32) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM job_runs WHERE started_at < now() - make_interval(days => $1) AND status <> 'RUNNING'",
        days
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Takes the session advisory lock `key` (a job's `lock_key`) on `conn` if no session holds
/// it; false when one does. Held until [`unlock`] or the connection closes.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, key)
        .fetch_one(conn)
        .await
}

/// Releases the session advisory lock `key` taken by [`try_lock`] on `conn`; false when this
/// session did not hold it.
pub async fn unlock(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_advisory_unlock($1) AS "released!""#, key)
        .fetch_one(conn)
        .await
}

/// The newest run of a scheduled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub status: RunStatus,
    pub started_at: OffsetDateTime,
    pub duration_ms: Option<i64>,
}

/// The newest run of `job`, if it ever ran.
pub async fn last_run(
    db: impl sqlx::PgExecutor<'_>,
    job: &str,
) -> Result<Option<LastRun>, sqlx::Error> {
    sqlx::query_as!(
        LastRun,
        r#"SELECT status AS "status: RunStatus", started_at, duration_ms FROM job_runs
           WHERE job = $1 ORDER BY started_at DESC LIMIT 1"#,
        job
    )
    .fetch_optional(db)
    .await
}
