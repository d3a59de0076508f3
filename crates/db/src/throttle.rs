//! Login back-off, kept in PostgreSQL so every web replica sees the same counts.
//!
//! A key (an account or an address) that fails `threshold` times within the window is locked
//! for 30 s, doubling with each further failure up to 15 minutes.
//!
//! An attempt is counted when it is admitted, before its password is checked, in the same
//! statement that checks the lock: however many attempts race, at most `threshold` of them
//! are let through before the lock falls. A success takes its count back.

use std::time::Duration;

use sqlx::PgPool;

/// One key an attempt counts against, with the failures that lock it.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    pub key: &'a str,
    pub threshold: i32,
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Counted; `lock` is set when this attempt reached a threshold, so that it stands
    /// unless the attempt succeeds.
    Admitted { lock: Option<Duration> },
    /// A key is locked for this long; nothing was counted.
    Locked(Duration),
}

/// Admits an attempt and counts it against every key, or counts nothing when any key is
/// locked. Each key's row stays locked until the transaction ends, so concurrent attempts
/// on one key are counted one after another. Keys are taken in the order given; callers
/// always give the account before the address, so two attempts cannot deadlock.
pub async fn admit(pool: &PgPool, keys: &[Counted<'_>]) -> Result<Admission, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut lock: Option<Duration> = None;
    for k in keys {
        // A window that is over and not locked starts again from one failure; a locked key
        // counts nothing.
        let row = sqlx::query!(
            r#"INSERT INTO login_throttle AS t (key, failures, window_started_at)
               VALUES ($1, 1, now())
               ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN t.locked_until > now() THEN t.failures
                                 WHEN t.window_started_at < now() - interval '15 minutes' THEN 1
                                 ELSE t.failures + 1 END,
                 window_started_at = CASE WHEN (t.locked_until IS NULL OR t.locked_until <= now())
                                           AND t.window_started_at < now() - interval '15 minutes'
                                          THEN now() ELSE t.window_started_at END
               RETURNING failures, EXTRACT(EPOCH FROM locked_until - now())::float8 AS "locked_secs""#,
            k.key
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(wait) = row.locked_secs.filter(|s| *s > 0.0) {
            tx.rollback().await?;
            return Ok(Admission::Locked(Duration::from_secs_f64(wait)));
        }
        if row.failures >= k.threshold {
            let secs: Option<f64> = sqlx::query_scalar!(
                r#"UPDATE login_throttle
                   SET locked_until = now() + least(interval '30 seconds' * power(2, $2::int), interval '15 minutes')
                   WHERE key = $1
                   RETURNING EXTRACT(EPOCH FROM locked_until - now())::float8 AS "secs""#,
                k.key,
                (row.failures - k.threshold).min(10)
            )
            .fetch_one(&mut *tx)
            .await?;
            let this = secs.filter(|s| *s > 0.0).map(Duration::from_secs_f64);
            lock = lock.max(this);
        }
    }
    tx.commit().await?;
    Ok(Admission::Admitted { lock })
}

/// Forgets the failures of `key` (an account, after a successful login).
pub async fn clear(pool: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM login_throttle WHERE key = $1", key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes back one admitted attempt of `key` (an address, after a successful login), so that
/// only failures add up.
pub async fn forgive(pool: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE key = $1",
        key
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes login back-off rows whose window and lock are both over; how many.
pub async fn prune_throttle(db: impl sqlx::PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM login_throttle WHERE window_started_at < now() - interval '1 day'
           AND (locked_until IS NULL OR locked_until < now())"
    )
    .execute(db)
    .await?
    .rows_affected())
}
