//! Alerts raised by failing scheduled jobs.

use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;

/// Serializes alert routing for one job across replicas until `tx` ends.
pub async fn lock_job(tx: &mut Transaction<'_, Postgres>, job: &str) -> Result<(), sqlx::Error> {
    let key = format!("alert:{job}");
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether `job` raised a JOB_FAILED alert within the last `window_secs`.
pub async fn raised_within(
    tx: &mut Transaction<'_, Postgres>,
    job: &str,
    window_secs: f64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM alerts WHERE job = $1 AND kind = 'JOB_FAILED'
                          AND created_at > clock_timestamp() - make_interval(secs => $2)) AS "recent!""#,
        job,
        window_secs
    )
    .fetch_one(&mut **tx)
    .await
}

/// Stores a JOB_FAILED alert; its id and time.
pub async fn insert_job_failed(
    tx: &mut Transaction<'_, Postgres>,
    job: &str,
    summary: &str,
) -> Result<(i64, OffsetDateTime), sqlx::Error> {
    let r = sqlx::query!(
        "INSERT INTO alerts (kind, job, summary) VALUES ('JOB_FAILED', $1, $2) RETURNING id, created_at",
        job,
        summary
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((r.id, r.created_at))
}

/// Records where an alert was delivered.
pub async fn set_delivery(
    db: impl PgExecutor<'_>,
    id: i64,
    delivered_to: &[String],
    delivery_error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE alerts SET delivered_to = $2, delivery_error = $3 WHERE id = $1",
        id,
        delivered_to,
        delivery_error
    )
    .execute(db)
    .await?;
    Ok(())
}
