//! Learner events: the insert-only, month-partitioned `analytics_events`, idempotent by
//! event id, and the ingest rate limit's counters.

use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// One event to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
    pub version: i32,
    /// The lesson's stable id and 1-based position, for lesson events.
    pub lesson: Option<(String, i32)>,
    pub kind: &'static str,
    pub value: Option<i32>,
    pub occurred_at: OffsetDateTime,
}

/// Stores `events` whose ids were never stored before and returns the ids it stored (a
/// retried batch stores nothing twice). One round trip for the ids, one for the events.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    events: &[NewEvent],
) -> Result<Vec<Uuid>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let fresh: Vec<Uuid> = sqlx::query_scalar!(
        "INSERT INTO analytics_event_ids (id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING RETURNING id",
        &ids
    )
    .fetch_all(&mut **tx)
    .await?;
    let keep: Vec<&NewEvent> = events.iter().filter(|e| fresh.contains(&e.id)).collect();
    if keep.is_empty() {
        return Ok(fresh);
    }
    let col = |f: fn(&NewEvent) -> Uuid| keep.iter().map(|e| f(e)).collect::<Vec<_>>();
    let lesson_ids: Vec<Option<String>> = keep
        .iter()
        .map(|e| e.lesson.as_ref().map(|l| l.0.clone()))
        .collect();
    let lesson_indexes: Vec<Option<i32>> = keep
        .iter()
        .map(|e| e.lesson.as_ref().map(|l| l.1))
        .collect();
    sqlx::query!(
        "INSERT INTO analytics_events
           (id, tenant_id, user_id, course_id, version, lesson_id, lesson_index, type, value, occurred_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[],
                              $7::int[], $8::text[], $9::int[], $10::timestamptz[])",
        &col(|e| e.id),
        &col(|e| e.tenant_id),
        &col(|e| e.user_id),
        &col(|e| e.course_id),
        &keep.iter().map(|e| e.version).collect::<Vec<_>>(),
        &lesson_ids as &[Option<String>],
        &lesson_indexes as &[Option<i32>],
        &keep.iter().map(|e| e.kind.to_owned()).collect::<Vec<_>>(),
        &keep.iter().map(|e| e.value).collect::<Vec<_>>() as &[Option<i32>],
        &keep.iter().map(|e| e.occurred_at).collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(fresh)
}

/// Counts one batch against its person's current minute and answers how many batches that
/// minute now holds, and the seconds left in it.
pub async fn count_batch(pool: &PgPool, user_id: Uuid) -> Result<(i32, f64), sqlx::Error> {
    let r = sqlx::query!(
        r#"INSERT INTO analytics_ingest_windows AS w (user_id, window_start, batches)
           VALUES ($1, date_trunc('minute', now()), 1)
           ON CONFLICT (user_id, window_start) DO UPDATE SET batches = w.batches + 1
           RETURNING batches, EXTRACT(EPOCH FROM window_start + interval '1 minute' - now())::float8 AS "left!""#,
        user_id
    )
    .fetch_one(pool)
    .await?;
    Ok((r.batches, r.left))
}

/// Creates the monthly partitions for `months` months from the month of `from` that are
/// missing; their names.
pub async fn ensure_partitions(
    db: impl PgExecutor<'_>,
    from: time::Date,
    months: i32,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT p AS "p!" FROM cw_analytics_partitions($1, $2) AS p"#,
        from,
        months
    )
    .fetch_all(db)
    .await
}

/// Keeps partitions ready from the previous month (late events of its last day) to
/// `months` months after this one, by the database's clock; the names created.
pub async fn ensure_partitions_ahead(
    db: impl PgExecutor<'_>,
    months: i32,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT p AS "p!" FROM cw_analytics_partitions(
               (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date, $1 + 2) AS p"#,
        months
    )
    .fetch_all(db)
    .await
}

/// Drops (or with `dry_run` only names) the partitions that end on or before `before`.
pub async fn drop_partitions(
    db: impl PgExecutor<'_>,
    before: OffsetDateTime,
    dry_run: bool,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT p AS "p!" FROM cw_analytics_drop_partitions($1, $2) AS p"#,
        before,
        dry_run
    )
    .fetch_all(db)
    .await
}

/// The partitions of `analytics_events`, by name.
pub async fn partitions(db: impl PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT c.relname::text AS "name!" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'analytics_events'::regclass ORDER BY 1"#
    )
    .fetch_all(db)
    .await
}

/// Deletes stored event ids older than a week and rate-limit counters older than an hour.
pub async fn prune(db: &PgPool) -> Result<u64, sqlx::Error> {
    let ids = sqlx::query!(
        "DELETE FROM analytics_event_ids WHERE received_at < now() - interval '7 days'"
    )
    .execute(db)
    .await?
    .rows_affected();
    let windows = sqlx::query!(
        "DELETE FROM analytics_ingest_windows WHERE window_start < now() - interval '1 hour'"
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(ids + windows)
}

/// A course's active version and the stable ids of its lessons in order; `None` when the
/// course is not published in `tenant_id`.
pub async fn active_lessons(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Option<(i32, Vec<String>)>, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT p.version,
                  ARRAY(SELECT l ->> 'lessonId' FROM jsonb_array_elements(p.body -> 'lessons') WITH ORDINALITY AS x(l, n) ORDER BY n) AS "lessons!"
           FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
           WHERE o.scope = 'COURSE' AND o.tenant_id = $1 AND o.course_id = $2"#,
        tenant_id,
        course_id
    )
    .fetch_optional(db)
    .await?;
    Ok(r.map(|r| (r.version, r.lessons)))
}
