//! The month partitions of raw analytics events: created ahead through the owner's
//! function (the runtime role cannot create tables), dropped whole for retention.

use test_support::TestDatabase;
use time::macros::{date, datetime};

#[tokio::test]
async fn partitions_are_created_ahead_once_and_dropped_whole_with_a_dry_run_first() {
    let db = TestDatabase::new().await;
    let before = db::analytics::partitions(&db.pool).await.expect("list");
    assert_eq!(
        before.len(),
        4,
        "the migration made last month to two ahead: {before:?}"
    );

    // Far ahead and far back, through the runtime role.
    let made = db::analytics::ensure_partitions(&db.app_pool, date!(2031 - 11 - 15), 3)
        .await
        .expect("create");
    assert_eq!(
        made,
        [
            "analytics_events_y2031m11",
            "analytics_events_y2031m12",
            "analytics_events_y2032m01"
        ]
    );
    let again = db::analytics::ensure_partitions(&db.app_pool, date!(2031 - 12 - 01), 2)
        .await
        .expect("again");
    assert!(again.is_empty(), "nothing twice: {again:?}");
    db::analytics::ensure_partitions(&db.app_pool, date!(2020 - 01 - 01), 2)
        .await
        .expect("old months");
    assert!(
        db::analytics::ensure_partitions(&db.app_pool, date!(2020 - 01 - 01), 25)
            .await
            .is_err()
    );
    // The runtime role cannot create one itself.
    let direct = sqlx::raw_sql(
        "CREATE TABLE analytics_events_y2040m01 PARTITION OF analytics_events
         FOR VALUES FROM ('2040-01-01') TO ('2040-02-01')",
    )
    .execute(&db.app_pool)
    .await;
    assert!(direct.is_err());

    // An event in January 2020 and one in December 2031 (as the owner: the rows are the point).
    for at in ["2020-01-15T10:00:00Z", "2031-12-01T00:00:00Z"] {
        sqlx::query(
            "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, type, occurred_at)
             VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1, 'course_viewed', $1::timestamptz)",
        )
        .bind(at)
        .execute(&db.pool)
        .await
        .expect("event");
    }
    let cut = datetime!(2020-02-01 00:00 UTC);
    let named = db::analytics::drop_partitions(&db.app_pool, cut, true)
        .await
        .expect("dry run");
    assert_eq!(named, ["analytics_events_y2020m01"]);
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM analytics_events")
            .fetch_one(&db.pool)
            .await
            .expect("count")
    };
    assert_eq!(count().await, 2, "a dry run drops nothing");
    let dropped = db::analytics::drop_partitions(&db.app_pool, cut, false)
        .await
        .expect("drop");
    assert_eq!(dropped, named);
    assert_eq!(count().await, 1, "the old month went whole; the rest stays");
    assert!(
        !db::analytics::partitions(&db.pool)
            .await
            .expect("list")
            .contains(&named[0])
    );
    // Rows themselves cannot be deleted, by anyone.
    let deleted = sqlx::raw_sql("DELETE FROM analytics_events")
        .execute(&db.pool)
        .await;
    assert!(deleted.is_err(), "insert-only");
}

/// The hand-written reference: one GROUP BY over every raw event.
const COURSE_REFERENCE: &str = "
    SELECT tenant_id, course_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, ARRAY[
           sum((type IN ('course_viewed', 'lesson_viewed'))::int)::bigint,
           count(DISTINCT user_id)::bigint,
           sum((type = 'lesson_completed')::int)::bigint,
           coalesce(sum(value) FILTER (WHERE type = 'lesson_time'), 0)::bigint,
           count(DISTINCT user_id) FILTER (WHERE type = 'lesson_time')::bigint,
           sum((type = 'quiz_attempted')::int)::bigint, sum((type = 'quiz_passed')::int)::bigint,
           sum((type = 'enrolled')::int)::bigint, sum((type = 'purchased')::int)::bigint,
           sum((type = 'refunded')::int)::bigint, sum((type = 'export_downloaded')::int)::bigint]
    FROM analytics_events GROUP BY 1, 2, 3 ORDER BY 2, 3";

const COURSE_ROWS: &str = "
    SELECT tenant_id, course_id, day, ARRAY[views::bigint, learners::bigint, completions::bigint,
           active_seconds, active_learners::bigint, quiz_attempts::bigint, quiz_passes::bigint,
           enrollments::bigint, purchases::bigint, refunds::bigint, exports::bigint]
    FROM analytics_course_daily ORDER BY 2, 3";

const LESSON_REFERENCE: &str = "
    SELECT course_id, lesson_id, (occurred_at AT TIME ZONE 'UTC')::date,
           sum((type = 'lesson_viewed')::int)::bigint, count(DISTINCT user_id)::bigint,
           sum((type = 'lesson_completed')::int)::bigint,
           coalesce(sum(value) FILTER (WHERE type = 'lesson_time'), 0)::bigint,
           sum((type = 'quiz_passed')::int)::bigint
    FROM analytics_events WHERE lesson_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

const LESSON_ROWS: &str = "
    SELECT course_id, lesson_id, day, views::bigint, learners::bigint, completions::bigint,
           active_seconds, quiz_passes::bigint
    FROM analytics_lesson_daily ORDER BY 1, 2, 3";

type CourseRow = (uuid::Uuid, uuid::Uuid, time::Date, Vec<i64>);
type LessonRow = (uuid::Uuid, String, time::Date, i64, i64, i64, i64, i64);

async fn rows<T>(db: &TestDatabase, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(sql).fetch_all(&db.pool).await.expect("rows")
}

#[tokio::test]
async fn daily_aggregates_equal_a_hand_written_group_by_and_runs_recompute_only_affected_days() {
    let db = TestDatabase::new().await;
    // 3 courses of 2 tenants, 30 learners, 5 days, every type: a deterministic mix, received
    // an hour ago (so a later run's overlap does not reach them).
    sqlx::raw_sql(
        "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, lesson_id,
                                       lesson_index, type, value, occurred_at, received_at)
         SELECT gen_random_uuid(),
                ('00000000-0000-0000-0000-00000000000' || (1 + c / 2))::uuid,
                ('00000000-0000-0000-0001-0000000000' || lpad(u::text, 2, '0'))::uuid,
                ('00000000-0000-0000-0002-00000000000' || c)::uuid,
                1 + (i % 2),
                CASE WHEN t IN (1, 2, 3, 4, 9) THEN 'l' || (1 + i % 6) END,
                CASE WHEN t IN (1, 2, 3, 4, 9) THEN 1 + i % 6 END,
                (ARRAY['course_viewed', 'lesson_viewed', 'lesson_completed', 'quiz_attempted',
                       'quiz_passed', 'enrolled', 'purchased', 'refunded', 'export_downloaded',
                       'lesson_time'])[t + 1],
                CASE WHEN t = 9 THEN 1 + i % 300 WHEN t IN (3, 4) THEN (i * 7) % 101 END,
                now() - interval '1 hour' - make_interval(days => d, secs => i % 80000),
                now() - interval '1 hour'
         FROM generate_series(1, 6000) AS i,
              LATERAL (SELECT i % 3 AS c, i % 30 AS u, (i * 13) % 10 AS t, i % 5 AS d) AS x",
    )
    .execute(&db.pool)
    .await
    .expect("events");

    let first = db::analytics::aggregate_daily(&db.app_pool)
        .await
        .expect("run");
    let reference: Vec<CourseRow> = rows(&db, COURSE_REFERENCE).await;
    assert!(reference.len() >= 15, "{}", reference.len());
    assert_eq!(first.days, reference.len() as i64);
    assert_eq!(rows::<CourseRow>(&db, COURSE_ROWS).await, reference);
    assert_eq!(
        rows::<LessonRow>(&db, LESSON_ROWS).await,
        rows::<LessonRow>(&db, LESSON_REFERENCE).await
    );

    // Again: nothing arrived, nothing is recomputed, nothing changes.
    let second = db::analytics::aggregate_daily(&db.app_pool)
        .await
        .expect("again");
    assert_eq!(second.days, 0);
    assert_eq!(rows::<CourseRow>(&db, COURSE_ROWS).await, reference);

    // A day nobody sent anything for stays as it is (it is not recomputed), while a late
    // event (it happened 20 hours ago, it arrives now) recomputes its own day.
    let (course, quiet): (uuid::Uuid, time::Date) = sqlx::query_as(
        "SELECT course_id, min(day) FROM analytics_course_daily GROUP BY 1 ORDER BY 1 LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a quiet day");
    sqlx::query("UPDATE analytics_course_daily SET views = -1 WHERE course_id = $1 AND day = $2")
        .bind(course)
        .bind(quiet)
        .execute(&db.pool)
        .await
        .expect("mark");
    sqlx::query(
        "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, type, occurred_at)
         SELECT gen_random_uuid(), tenant_id, gen_random_uuid(), course_id, 1, 'enrolled',
                now() - interval '20 hours'
         FROM analytics_course_daily WHERE course_id = $1 LIMIT 1",
    )
    .bind(course)
    .execute(&db.pool)
    .await
    .expect("late event");
    let third = db::analytics::aggregate_daily(&db.app_pool)
        .await
        .expect("late");
    assert_eq!(third.days, 1, "only the late event's day");
    let now: Vec<CourseRow> = rows(&db, COURSE_ROWS).await;
    let fresh: Vec<CourseRow> = rows(&db, COURSE_REFERENCE).await;
    let differ: Vec<_> = now
        .iter()
        .zip(&fresh)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| (a.1, a.2, a.3[0]))
        .collect();
    assert_eq!(
        differ,
        [(course, quiet, -1)],
        "all but the untouched marked day match"
    );
}
