//! Exports of published packages: where each rendering is kept, and the per-person window
//! the export rate limit counts in.

use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

/// One rendering of a package in one format, as the object store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub object_path: String,
    /// SHA-256 (hex) of the exported bytes.
    pub content_hash: String,
    pub size_bytes: i64,
}

/// The stored rendering of (package hash, format, renderer), if there is one.
pub async fn rendered(
    db: impl PgExecutor<'_>,
    package_hash: &str,
    format: &str,
    renderer: &str,
) -> Result<Option<Rendered>, sqlx::Error> {
    sqlx::query_as!(
        Rendered,
        "SELECT object_path, content_hash, size_bytes FROM package_exports
         WHERE package_hash = $1 AND format = $2 AND renderer = $3",
        package_hash,
        format,
        renderer
    )
    .fetch_optional(db)
    .await
}

/// Records a rendering; a rendering already recorded (by a racing replica, which rendered
/// the same bytes) stays as it is.
pub async fn record_rendered(
    db: impl PgExecutor<'_>,
    package_hash: &str,
    format: &str,
    renderer: &str,
    r: &Rendered,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO package_exports (package_hash, format, renderer, object_path, content_hash, size_bytes)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        package_hash,
        format,
        renderer,
        r.object_path,
        r.content_hash,
        r.size_bytes
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Holds the render lock of one (package hash, format, renderer) until `tx` ends, so that
/// however many requests and replicas ask at once, one renders and the rest read its bytes.
pub async fn lock_render(
    tx: &mut Transaction<'_, Postgres>,
    package_hash: &str,
    format: &str,
    renderer: &str,
) -> Result<(), sqlx::Error> {
    let key = format!("export-render:{package_hash}:{format}:{renderer}");
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What the rate-limit window holds for one person and course.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Exports within the window.
    pub used: i64,
    /// Seconds until the oldest of them leaves the window (0 when there are none).
    pub frees_in_secs: f64,
}

/// Locks one person's exports of one course until `tx` ends (so that racing requests are
/// counted one after another) and reads their window of `window_secs`.
pub async fn lock_window(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    course_id: Uuid,
    window_secs: f64,
) -> Result<Window, sqlx::Error> {
    let key = format!("export-window:{user_id}:{course_id}");
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        .execute(&mut **tx)
        .await?;
    let r = sqlx::query!(
        r#"SELECT count(*) AS "used!",
                  coalesce(EXTRACT(EPOCH FROM min(at) + make_interval(secs => $3) - clock_timestamp()), 0)::float8 AS "frees_in!"
           FROM export_requests
           WHERE user_id = $1 AND course_id = $2 AND at > clock_timestamp() - make_interval(secs => $3)"#,
        user_id,
        course_id,
        window_secs
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Window {
        used: r.used,
        frees_in_secs: r.frees_in.max(0.0),
    })
}

/// Counts one export against its person's window.
pub async fn count_export(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    user_id: Uuid,
    course_id: Uuid,
    format: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO export_requests (tenant_id, user_id, course_id, format) VALUES ($1, $2, $3, $4)",
        tenant_id,
        user_id,
        course_id,
        format
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes window rows older than a day; how many.
pub async fn prune_requests(db: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("DELETE FROM export_requests WHERE at < now() - interval '1 day'")
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// The tenant a course belongs to, for operators who name a course by id alone.
pub async fn course_tenant(
    db: impl PgExecutor<'_>,
    course_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT tenant_id FROM courses WHERE id = $1", course_id)
        .fetch_optional(db)
        .await
}
