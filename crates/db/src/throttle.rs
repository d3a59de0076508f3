//! Login back-off, kept in PostgreSQL so every web replica sees the same counts.
//!
//! A key (an account or an address) that fails `threshold` times within the window is locked
//! for 30 s, doubling with each further failure up to 15 minutes.

use std::time::Duration;

use sqlx::PgPool;

/// How long `keys` must still wait, if any of them is locked.
pub async fn locked_for(pool: &PgPool, keys: &[String]) -> Result<Option<Duration>, sqlx::Error> {
    let secs: Option<f64> = sqlx::query_scalar!(
        r#"SELECT max(EXTRACT(EPOCH FROM locked_until - now()))::float8 AS "secs"
           FROM login_throttle WHERE key = ANY($1) AND locked_until > now()"#,
        keys
    )
    .fetch_one(pool)
    .await?;
    Ok(secs.filter(|s| *s > 0.0).map(Duration::from_secs_f64))
}

/// Counts one failure for `key`; returns the lock it now carries, if any.
pub async fn record_failure(
    pool: &PgPool,
    key: &str,
    threshold: i32,
) -> Result<Option<Duration>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A window that is over and not locked starts again from one failure.
    let failures: i32 = sqlx::query_scalar!(
        "INSERT INTO login_throttle AS t (key, failures, window_started_at)
         VALUES ($1, 1, now())
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN t.window_started_at < now() - interval '15 minutes'
                            AND (t.locked_until IS NULL OR t.locked_until < now())
                           THEN 1 ELSE t.failures + 1 END,
           window_started_at = CASE WHEN t.window_started_at < now() - interval '15 minutes'
                                     AND (t.locked_until IS NULL OR t.locked_until < now())
                                    THEN now() ELSE t.window_started_at END
         RETURNING failures",
        key
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut lock = None;
    if failures >= threshold {
        let secs: Option<f64> = sqlx::query_scalar!(
            r#"UPDATE login_throttle
               SET locked_until = now() + least(interval '30 seconds' * power(2, $2::int), interval '15 minutes')
               WHERE key = $1
               RETURNING EXTRACT(EPOCH FROM locked_until - now())::float8 AS "secs""#,
            key,
            (failures - threshold).min(10)
        )
        .fetch_one(&mut *tx)
        .await?;
        lock = secs.filter(|s| *s > 0.0).map(Duration::from_secs_f64);
    }
    tx.commit().await?;
    Ok(lock)
}

/// Forgets the failures of `key` (after a successful login).
pub async fn clear(pool: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM login_throttle WHERE key = $1", key)
        .execute(pool)
        .await?;
    Ok(())
}
