//! Learner events: the insert-only, month-partitioned `analytics_events`, idempotent by
//! event id, and the ingest rate limit's counters.

use sqlx::{PgExecutor, PgPool, Postgres, Transaction};

// Dates in JSON as `YYYY-MM-DD` (time's default is a `[year, ordinal]` pair).
time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");
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

/// The watermark of the daily aggregation.
pub const DAILY: &str = "daily";
/// Each run reads again the events that arrived this long before its watermark: a
/// transaction that wrote events before the previous run but committed after it is counted
/// then (re-reading is harmless: a day is always recomputed whole).
pub const OVERLAP: time::Duration = time::Duration::minutes(5);

/// What one aggregation run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Aggregated {
    /// (course, day) pairs recomputed.
    pub days: i64,
    pub course_rows: u64,
    pub lesson_rows: u64,
    /// Learner-course rows merged.
    pub learner_rows: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
}

/// Recomputes, from the raw events, every (course, day) that received events since the
/// watermark (late events included: a day is keyed by when its events happened, found by
/// when they arrived), replacing those days' course and lesson rows, and moves the
/// watermark; all in one repeatable-read transaction, so the rows always equal a fresh
/// computation. Its cost follows the events of the affected days, not all events.
pub async fn aggregate_daily(pool: &PgPool) -> Result<Aggregated, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    let to: OffsetDateTime = sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(&mut *tx)
        .await?;
    let mark: Option<OffsetDateTime> = sqlx::query_scalar!(
        "SELECT received_upto FROM analytics_watermarks WHERE job = $1 FOR UPDATE",
        DAILY
    )
    .fetch_optional(&mut *tx)
    .await?;
    let from = mark.map_or(OffsetDateTime::UNIX_EPOCH, |m| m - OVERLAP);
    // The (course, day) pairs to recompute, found once (a scan of the new events by arrival)
    // and read by every statement below; dropped with the transaction.
    let days = sqlx::query(
        "CREATE TEMP TABLE cw_affected ON COMMIT DROP AS
         SELECT DISTINCT course_id, (occurred_at AT TIME ZONE 'UTC')::date AS day
         FROM analytics_events
         WHERE received_at >= $1 AND received_at < $2 AND occurred_at >= $1 - interval '25 hours'",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    sqlx::query(
        "DELETE FROM analytics_course_daily d USING cw_affected a
         WHERE d.course_id = a.course_id AND d.day = a.day",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM analytics_lesson_daily d USING cw_affected a
         WHERE d.course_id = a.course_id AND d.day = a.day",
    )
    .execute(&mut *tx)
    .await?;
    let course_rows = sqlx::query(
        "INSERT INTO analytics_course_daily (tenant_id, course_id, day, views, learners, completions,
             active_seconds, active_learners, quiz_attempts, quiz_passes, enrollments, purchases,
             refunds, exports)
         SELECT e.tenant_id, e.course_id, a.day,
                count(*) FILTER (WHERE e.type IN ('course_viewed', 'lesson_viewed')),
                count(DISTINCT e.user_id),
                count(*) FILTER (WHERE e.type = 'lesson_completed'),
                coalesce(sum(e.value) FILTER (WHERE e.type = 'lesson_time'), 0),
                count(DISTINCT e.user_id) FILTER (WHERE e.type = 'lesson_time'),
                count(*) FILTER (WHERE e.type = 'quiz_attempted'),
                count(*) FILTER (WHERE e.type = 'quiz_passed'),
                count(*) FILTER (WHERE e.type = 'enrolled'),
                count(*) FILTER (WHERE e.type = 'purchased'),
                count(*) FILTER (WHERE e.type = 'refunded'),
                count(*) FILTER (WHERE e.type = 'export_downloaded')
         FROM cw_affected a JOIN analytics_events e ON e.course_id = a.course_id
           AND e.occurred_at >= a.day::timestamp AT TIME ZONE 'UTC'
           AND e.occurred_at < (a.day + 1)::timestamp AT TIME ZONE 'UTC'
         GROUP BY e.tenant_id, e.course_id, a.day",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let lesson_rows = sqlx::query(
        "INSERT INTO analytics_lesson_daily (tenant_id, course_id, lesson_id, lesson_index, day, views,
             learners, completions, active_seconds, active_learners, quiz_attempts, quiz_passes)
         SELECT e.tenant_id, e.course_id, e.lesson_id,
                (array_agg(e.lesson_index ORDER BY e.version DESC, e.occurred_at DESC))[1], a.day,
                count(*) FILTER (WHERE e.type = 'lesson_viewed'),
                count(DISTINCT e.user_id),
                count(*) FILTER (WHERE e.type = 'lesson_completed'),
                coalesce(sum(e.value) FILTER (WHERE e.type = 'lesson_time'), 0),
                count(DISTINCT e.user_id) FILTER (WHERE e.type = 'lesson_time'),
                count(*) FILTER (WHERE e.type = 'quiz_attempted'),
                count(*) FILTER (WHERE e.type = 'quiz_passed')
         FROM cw_affected a JOIN analytics_events e ON e.course_id = a.course_id
           AND e.occurred_at >= a.day::timestamp AT TIME ZONE 'UTC'
           AND e.occurred_at < (a.day + 1)::timestamp AT TIME ZONE 'UTC'
         WHERE e.lesson_id IS NOT NULL
         GROUP BY e.tenant_id, e.course_id, e.lesson_id, a.day",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let learner_rows = sqlx::query!(
        r#"INSERT INTO analytics_learner_courses AS l (tenant_id, course_id, user_id, viewed, enrolled,
               purchased, refunded, completed, furthest_lesson)
           SELECT tenant_id, course_id, user_id,
                  bool_or(type IN ('course_viewed', 'lesson_viewed')),
                  bool_or(type = 'enrolled'), bool_or(type = 'purchased'), bool_or(type = 'refunded'),
                  coalesce(array_agg(DISTINCT lesson_id ORDER BY lesson_id)
                           FILTER (WHERE type = 'lesson_completed'), '{}'),
                  coalesce(max(lesson_index), 0)
           FROM analytics_events
           WHERE received_at >= $1 AND received_at < $2 AND occurred_at >= $1 - interval '25 hours'
           GROUP BY tenant_id, course_id, user_id
           ON CONFLICT (course_id, user_id) DO UPDATE SET
             viewed = l.viewed OR EXCLUDED.viewed,
             enrolled = l.enrolled OR EXCLUDED.enrolled,
             purchased = l.purchased OR EXCLUDED.purchased,
             refunded = l.refunded OR EXCLUDED.refunded,
             completed = ARRAY(SELECT DISTINCT c FROM unnest(l.completed || EXCLUDED.completed) AS c ORDER BY c),
             furthest_lesson = greatest(l.furthest_lesson, EXCLUDED.furthest_lesson)"#,
        from,
        to
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "INSERT INTO analytics_watermarks (job, received_upto) VALUES ($1, $2)
         ON CONFLICT (job) DO UPDATE SET received_upto = EXCLUDED.received_upto, updated_at = now()",
        DAILY,
        to
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Aggregated {
        days,
        course_rows,
        lesson_rows,
        learner_rows,
        from,
        to,
    })
}

/// One day of a course, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct CourseDay {
    #[serde(with = "iso_date")]
    pub day: time::Date,
    pub views: i32,
    pub learners: i32,
    pub completions: i32,
    pub active_seconds: i64,
    pub active_learners: i32,
    pub quiz_attempts: i32,
    pub quiz_passes: i32,
    pub enrollments: i32,
    pub purchases: i32,
    pub refunds: i32,
    pub exports: i32,
}

/// A course's days from `from` to `to` (inclusive), oldest first, in `tenant_id`.
pub async fn course_days(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
    from: time::Date,
    to: time::Date,
) -> Result<Vec<CourseDay>, sqlx::Error> {
    sqlx::query_as!(
        CourseDay,
        "SELECT day, views, learners, completions, active_seconds, active_learners, quiz_attempts,
                quiz_passes, enrollments, purchases, refunds, exports
         FROM analytics_course_daily
         WHERE tenant_id = $1 AND course_id = $2 AND day BETWEEN $3 AND $4 ORDER BY day",
        tenant_id,
        course_id,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// One lesson's totals over a range of days.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LessonTotals {
    pub lesson_id: String,
    pub lesson_index: i32,
    pub views: i64,
    pub completions: i64,
    pub active_seconds: i64,
    pub quiz_attempts: i64,
    pub quiz_passes: i64,
}

/// Every lesson's totals from `from` to `to` (inclusive), in lesson order.
pub async fn lesson_totals(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
    from: time::Date,
    to: time::Date,
) -> Result<Vec<LessonTotals>, sqlx::Error> {
    sqlx::query_as!(
        LessonTotals,
        r#"SELECT lesson_id, (array_agg(lesson_index ORDER BY day DESC))[1] AS "lesson_index!",
                  sum(views)::bigint AS "views!", sum(completions)::bigint AS "completions!",
                  sum(active_seconds)::bigint AS "active_seconds!",
                  sum(quiz_attempts)::bigint AS "quiz_attempts!", sum(quiz_passes)::bigint AS "quiz_passes!"
           FROM analytics_lesson_daily
           WHERE tenant_id = $1 AND course_id = $2 AND day BETWEEN $3 AND $4
           GROUP BY lesson_id ORDER BY 2, 1"#,
        tenant_id,
        course_id,
        from,
        to
    )
    .fetch_all(db)
    .await
}

/// A course's funnels and lesson reach, as counts of learners.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Funnel {
    pub viewed: i64,
    pub viewed_enrolled: i64,
    pub viewed_enrolled_completed: i64,
    pub purchased: i64,
    pub purchased_enrolled: i64,
    pub purchased_enrolled_completed: i64,
    /// Learners who reached lesson `i + 1` or a later one.
    pub reach: Vec<i64>,
}

/// The funnels of a course whose active version has `lessons` lessons (a learner who
/// completed that many distinct lessons completed the course).
pub async fn funnel(
    db: impl PgExecutor<'_> + Copy,
    tenant_id: Uuid,
    course_id: Uuid,
    lessons: i32,
) -> Result<Funnel, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE viewed) AS "viewed!",
                  count(*) FILTER (WHERE viewed AND enrolled) AS "viewed_enrolled!",
                  count(*) FILTER (WHERE viewed AND enrolled AND cardinality(completed) >= $3) AS "viewed_enrolled_completed!",
                  count(*) FILTER (WHERE purchased) AS "purchased!",
                  count(*) FILTER (WHERE purchased AND enrolled) AS "purchased_enrolled!",
                  count(*) FILTER (WHERE purchased AND enrolled AND cardinality(completed) >= $3) AS "purchased_enrolled_completed!"
           FROM analytics_learner_courses WHERE tenant_id = $1 AND course_id = $2"#,
        tenant_id,
        course_id,
        lessons
    )
    .fetch_one(db)
    .await?;
    let reach: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT (SELECT count(*) FROM analytics_learner_courses
                   WHERE tenant_id = $1 AND course_id = $2 AND furthest_lesson >= i) AS "n!"
           FROM generate_series(1, $3) AS i ORDER BY i"#,
        tenant_id,
        course_id,
        lessons
    )
    .fetch_all(db)
    .await?;
    Ok(Funnel {
        viewed: r.viewed,
        viewed_enrolled: r.viewed_enrolled,
        viewed_enrolled_completed: r.viewed_enrolled_completed,
        purchased: r.purchased,
        purchased_enrolled: r.purchased_enrolled,
        purchased_enrolled_completed: r.purchased_enrolled_completed,
        reach,
    })
}

/// Raw events are kept this long (whole months are dropped once they are older).
pub const EVENT_RETENTION: time::Duration = time::Duration::days(90);
/// Daily aggregates are kept this long.
pub const AGGREGATE_RETENTION: time::Duration = time::Duration::days(2 * 366);

/// What one retention run removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retained {
    /// Nothing was removed: the rest says what would have been.
    pub dry_run: bool,
    /// The monthly partitions of raw events dropped (every one ended over 90 days ago).
    pub partitions: Vec<String>,
    /// Daily aggregate rows over two years old deleted.
    pub aggregate_rows: u64,
    /// Signals whose window ended over a year ago deleted.
    pub signal_rows: u64,
}

/// Applies retention: drops raw-event months that ended over 90 days ago, deletes daily
/// aggregates over two years old and signals whose window ended over a year ago. Touches
/// nothing else (no learner rows, suggestions, outputs, packages or audit rows). With
/// `dry_run` it only names and counts what it would remove.
pub async fn apply_retention(pool: &PgPool, dry_run: bool) -> Result<Retained, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    let partitions = drop_partitions(pool, now - EVENT_RETENTION, dry_run).await?;
    let cutoff = (now - AGGREGATE_RETENTION).date();
    let mut tx = pool.begin().await?;
    let aggregate_rows = if dry_run {
        sqlx::query_scalar!(
            r#"SELECT (SELECT count(*) FROM analytics_course_daily WHERE day < $1)
                    + (SELECT count(*) FROM analytics_lesson_daily WHERE day < $1) AS "n!""#,
            cutoff
        )
        .fetch_one(&mut *tx)
        .await?
        .try_into()
        .unwrap_or(0)
    } else {
        let courses = sqlx::query!("DELETE FROM analytics_course_daily WHERE day < $1", cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let lessons = sqlx::query!("DELETE FROM analytics_lesson_daily WHERE day < $1", cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        courses + lessons
    };
    // With the owner's rights: the same cut as the signals' trigger, by the database's date.
    let signal_rows: i64 =
        sqlx::query_scalar!(r#"SELECT cw_analytics_expire_signals($1) AS "n!""#, dry_run)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Retained {
        dry_run,
        partitions,
        aggregate_rows,
        signal_rows: u64::try_from(signal_rows).unwrap_or(0),
    })
}

/// Courses of any tenant with activity on the days `[start, end)`: (tenant, course).
pub async fn active_courses(
    db: impl PgExecutor<'_>,
    start: time::Date,
    end: time::Date,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT DISTINCT tenant_id, course_id FROM analytics_course_daily
         WHERE day >= $1 AND day < $2 ORDER BY tenant_id, course_id",
        start,
        end
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.tenant_id, r.course_id))
        .collect())
}

/// A course's numbers on the days `[start, end)` for the signal rules, against the active
/// version's `lessons` (stable ids, in order): each lesson's reach among the learners active
/// in the window (from the raw events, kept 90 days) and its quiz attempts and passes (from
/// the daily aggregates); the learners active in the window who had enrolled by its end and
/// how many of them had completed every lesson by then (from the raw events, so a week
/// judged again finds the same numbers; an enrollment over 90 days old is past their
/// retention and not seen); purchases and refunds.
pub async fn signal_numbers(
    db: impl PgExecutor<'_> + Copy,
    course_id: Uuid,
    lessons: &[String],
    start: time::Date,
    end: time::Date,
) -> Result<domain::analytics::signals::CourseNumbers, sqlx::Error> {
    let count = i32::try_from(lessons.len()).unwrap_or(i32::MAX);
    let reach: Vec<i64> = sqlx::query_scalar!(
        r#"WITH far AS (
             SELECT max(lesson_index) AS n FROM analytics_events
             WHERE course_id = $1 AND lesson_index IS NOT NULL
               AND occurred_at >= $2::date::timestamp AT TIME ZONE 'UTC'
               AND occurred_at < $3::date::timestamp AT TIME ZONE 'UTC'
             GROUP BY user_id)
           SELECT (SELECT count(*) FROM far WHERE n >= i) AS "n!"
           FROM generate_series(1, $4) AS i ORDER BY i"#,
        course_id,
        start,
        end,
        count
    )
    .fetch_all(db)
    .await?;
    let quizzes = sqlx::query!(
        r#"SELECT lesson_id, sum(quiz_attempts)::bigint AS "attempts!", sum(quiz_passes)::bigint AS "passes!"
           FROM analytics_lesson_daily WHERE course_id = $1 AND day >= $2 AND day < $3
           GROUP BY lesson_id"#,
        course_id,
        start,
        end
    )
    .fetch_all(db)
    .await?;
    // From the events alone, up to the window's end: judging a week again later finds the
    // same numbers (the learners' state today would not).
    let learners = sqlx::query!(
        r#"WITH active AS (
             SELECT DISTINCT user_id FROM analytics_events
             WHERE course_id = $1
               AND occurred_at >= $2::date::timestamp AT TIME ZONE 'UTC'
               AND occurred_at < $3::date::timestamp AT TIME ZONE 'UTC'),
           learner AS (
             SELECT e.user_id, bool_or(e.type = 'enrolled') AS enrolled,
                    count(DISTINCT e.lesson_id) FILTER (
                      WHERE e.type = 'lesson_completed' AND e.lesson_id = ANY($4)) AS lessons
             FROM analytics_events e JOIN active a ON a.user_id = e.user_id
             WHERE e.course_id = $1 AND e.occurred_at < $3::date::timestamp AT TIME ZONE 'UTC'
             GROUP BY e.user_id)
           SELECT count(*) FILTER (WHERE enrolled) AS "studying!",
                  count(*) FILTER (WHERE enrolled AND lessons >= cardinality($4::text[])) AS "completed!"
           FROM learner"#,
        course_id,
        start,
        end,
        lessons
    )
    .fetch_one(db)
    .await?;
    let money = sqlx::query!(
        r#"SELECT coalesce(sum(purchases), 0)::bigint AS "purchases!", coalesce(sum(refunds), 0)::bigint AS "refunds!"
           FROM analytics_course_daily WHERE course_id = $1 AND day >= $2 AND day < $3"#,
        course_id,
        start,
        end
    )
    .fetch_one(db)
    .await?;
    let quiz = |id: &str| {
        quizzes
            .iter()
            .find(|q| q.lesson_id == id)
            .map_or((0, 0), |q| (q.attempts, q.passes))
    };
    Ok(domain::analytics::signals::CourseNumbers {
        lessons: lessons
            .iter()
            .zip(reach)
            .enumerate()
            .map(|(i, (id, reach))| {
                let (quiz_attempts, quiz_passes) = quiz(id);
                domain::analytics::signals::LessonNumbers {
                    lesson_id: id.clone(),
                    index: i32::try_from(i + 1).unwrap_or(i32::MAX),
                    reach,
                    quiz_attempts,
                    quiz_passes,
                }
            })
            .collect(),
        studying: learners.studying,
        completed: learners.completed,
        purchases: money.purchases,
        refunds: money.refunds,
    })
}

/// Stores the signals found for a course's window; one already stored for the same (type,
/// target, window) is kept as it is. The number stored now.
pub async fn insert_signals(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
    version: i32,
    window: (time::Date, time::Date),
    signals: &[domain::analytics::signals::Signal],
) -> Result<u64, sqlx::Error> {
    if signals.is_empty() {
        return Ok(0);
    }
    let kinds: Vec<String> = signals.iter().map(|s| s.kind.as_str().into()).collect();
    let targets: Vec<String> = signals
        .iter()
        .map(|s| s.target_kind.as_str().into())
        .collect();
    let refs: Vec<String> = signals.iter().map(|s| s.target_ref.clone()).collect();
    let severities: Vec<String> = signals.iter().map(|s| s.severity.as_str().into()).collect();
    let evidence: Vec<serde_json::Value> = signals.iter().map(|s| s.evidence.clone()).collect();
    Ok(sqlx::query!(
        "INSERT INTO analytics_signals (tenant_id, course_id, version, window_start, window_end,
             type, target_kind, target_ref, severity, evidence)
         SELECT $1, $2, $3, $4, $5, * FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[])
         ON CONFLICT (course_id, type, target_kind, target_ref, window_start, window_end) DO NOTHING",
        tenant_id,
        course_id,
        version,
        window.0,
        window.1,
        &kinds,
        &targets,
        &refs,
        &severities,
        &evidence
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// A stored signal.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSignal {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub target_kind: String,
    pub target_ref: String,
    #[serde(with = "iso_date")]
    pub window_start: time::Date,
    /// The day after the window's last.
    #[serde(with = "iso_date")]
    pub window_end: time::Date,
    pub severity: String,
    pub evidence: serde_json::Value,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A course's signals whose windows end after `since`, newest window first, then by type and
/// target; at most `limit`.
pub async fn signals(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
    since: time::Date,
    limit: i64,
) -> Result<Vec<StoredSignal>, sqlx::Error> {
    sqlx::query_as!(
        StoredSignal,
        "SELECT id, type AS kind, target_kind, target_ref, window_start, window_end, severity,
                evidence, version, created_at
         FROM analytics_signals WHERE tenant_id = $1 AND course_id = $2 AND window_end > $3
         ORDER BY window_end DESC, type, target_kind, target_ref LIMIT $4",
        tenant_id,
        course_id,
        since,
        limit
    )
    .fetch_all(db)
    .await
}

/// One course of a tenant, as the analytics overview lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseOverview {
    pub course_id: Uuid,
    pub title: String,
    /// Lessons of the active version (0 when it is not published).
    pub lessons: i32,
    /// Learners who enrolled, over all time, and how many of them completed every lesson.
    pub enrolled: i64,
    pub completed: i64,
}

/// Every course of `tenant_id` with published or analysed learning, newest first.
pub async fn overview(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<CourseOverview>, sqlx::Error> {
    sqlx::query_as!(
        CourseOverview,
        r#"WITH active AS (
             SELECT o.course_id, jsonb_array_length(p.body -> 'lessons') AS lessons
             FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
             WHERE o.scope = 'COURSE' AND o.tenant_id = $1)
           SELECT c.id AS course_id, c.title, coalesce(a.lessons, 0) AS "lessons!",
                  count(l.user_id) FILTER (WHERE l.enrolled) AS "enrolled!",
                  count(l.user_id) FILTER (WHERE l.enrolled AND a.lessons > 0
                                           AND cardinality(l.completed) >= a.lessons) AS "completed!"
           FROM courses c LEFT JOIN active a ON a.course_id = c.id
             LEFT JOIN analytics_learner_courses l ON l.course_id = c.id
           WHERE c.tenant_id = $1 AND (a.course_id IS NOT NULL OR l.course_id IS NOT NULL)
           GROUP BY c.id, c.title, a.lessons, c.created_at
           ORDER BY c.created_at DESC, c.id DESC"#,
        tenant_id
    )
    .fetch_all(db)
    .await
}

/// Daily learners of every course of `tenant_id` on the days `[from, to]`: (course, day,
/// learners), by course then day.
pub async fn tenant_learner_days(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    from: time::Date,
    to: time::Date,
) -> Result<Vec<(Uuid, time::Date, i32)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT course_id, day, learners FROM analytics_course_daily
         WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 ORDER BY course_id, day",
        tenant_id,
        from,
        to
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.course_id, r.day, r.learners))
        .collect())
}

/// The lessons of a course's active version, in order: (stable id, title).
pub async fn active_lesson_titles(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT l ->> 'lessonId' AS "id!", l ->> 'title' AS "title!"
           FROM published_outputs o JOIN course_packages p ON p.id = o.package_id,
                jsonb_array_elements(p.body -> 'lessons') WITH ORDINALITY AS x(l, n)
           WHERE o.scope = 'COURSE' AND o.tenant_id = $1 AND o.course_id = $2 ORDER BY x.n"#,
        tenant_id,
        course_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}

/// Weeks judged by each signals run: the latest settled one and three before it (a week the
/// job missed is judged late, and a re-judged week adds nothing).
pub const SIGNAL_WEEKS: usize = 4;

/// What one signals run did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalsRun {
    /// The weeks judged, newest first: their Mondays.
    #[serde(serialize_with = "mondays")]
    pub windows: Vec<(time::Date, time::Date)>,
    /// (course, week) pairs judged.
    pub judged: usize,
    /// Signals found, stored or not.
    pub found: usize,
    /// Signals stored now (the rest were stored by an earlier run).
    pub stored: u64,
}

/// Judges every published course with activity in each of the [`SIGNAL_WEEKS`] latest
/// settled weeks by `now` against `thresholds`, and stores what fires. Deterministic and
/// idempotent: a re-run finds the same signals and stores none of them again. Observes only.
pub async fn find_signals(
    pool: &PgPool,
    thresholds: &domain::analytics::signals::Thresholds,
    now: OffsetDateTime,
) -> Result<SignalsRun, sqlx::Error> {
    // Only weeks the aggregation has read past the settling time: after an outage of the
    // aggregation, a week waits for its totals rather than being judged on part of them.
    let aggregated: Option<OffsetDateTime> = sqlx::query_scalar!(
        "SELECT received_upto FROM analytics_watermarks WHERE job = $1",
        DAILY
    )
    .fetch_optional(pool)
    .await?;
    let windows: Vec<(time::Date, time::Date)> =
        domain::analytics::signals::settled_windows(now, SIGNAL_WEEKS)
            .into_iter()
            .filter(|(_, end)| {
                aggregated.is_some_and(|a| {
                    end.midnight().assume_utc() + domain::analytics::signals::SETTLE <= a
                })
            })
            .collect();
    let mut run = SignalsRun {
        windows: windows.clone(),
        judged: 0,
        found: 0,
        stored: 0,
    };
    for window in windows {
        for (tenant_id, course_id) in active_courses(pool, window.0, window.1).await? {
            let Some((version, lessons)) = active_lessons(pool, tenant_id, course_id).await? else {
                continue;
            };
            let numbers = signal_numbers(pool, course_id, &lessons, window.0, window.1).await?;
            let found = domain::analytics::signals::evaluate(thresholds, &numbers);
            run.judged += 1;
            run.found += found.len();
            run.stored +=
                insert_signals(pool, tenant_id, course_id, version, window, &found).await?;
        }
    }
    Ok(run)
}

/// Whether `user_id` has any analytics of `course_id` (events or merged learner rows).
pub async fn has_learner(
    db: impl PgExecutor<'_>,
    course_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM analytics_learner_courses WHERE course_id = $1 AND user_id = $2)
               OR EXISTS (SELECT 1 FROM analytics_events WHERE course_id = $1 AND user_id = $2) AS "x!""#,
        course_id,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Forgets the daily aggregation's watermark, so that its next run recomputes every day
/// (after backdated events were stored, which a run otherwise finds only within 25 hours).
pub async fn reset_watermark(db: impl PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM analytics_watermarks WHERE job = $1", DAILY)
        .execute(db)
        .await?;
    Ok(())
}

fn mondays<S: serde::Serializer>(
    windows: &[(time::Date, time::Date)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(windows.iter().map(|(start, _)| start.to_string()))
}
