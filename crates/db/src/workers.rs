//! Worker heartbeats: which worker processes are alive, so the pages can tell when none is.

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// Records that `worker` is alive (running `concurrency` jobs at most), and prunes the rows
/// of workers not seen for a day (processes that died without removing theirs).
pub async fn beat(db: &sqlx::PgPool, worker: &str, concurrency: i32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO worker_heartbeats (worker, concurrency) VALUES ($1, $2)
         ON CONFLICT (worker) DO UPDATE SET seen_at = clock_timestamp(), concurrency = $2",
        worker,
        concurrency
    )
    .execute(db)
    .await?;
    sqlx::query!("DELETE FROM worker_heartbeats WHERE seen_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(())
}

/// Removes `worker`'s row: it is stopping.
pub async fn stopped(db: impl PgExecutor<'_>, worker: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM worker_heartbeats WHERE worker = $1", worker)
        .execute(db)
        .await?;
    Ok(())
}

/// When any worker was last seen alive; `None` when no worker has run.
pub async fn last_seen(db: impl PgExecutor<'_>) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!("SELECT max(seen_at) FROM worker_heartbeats")
        .fetch_one(db)
        .await
}
