//! The analytics benchmark (`bench/analytics.sh` runs it), in one run:
//!
//! - ingest: events per second through `POST /api/analytics/event` on the real server, in
//!   batches of 100 from 64 signed-in learners at once (one connection each; each stays
//!   under its 120 batches a minute), beside psql's `COPY` of as many rows of the same shape
//!   into the same table;
//! - aggregation: `EVENTS` (default 10 M) synthetic events over 90 days, one full run of
//!   `db::analytics::aggregate_daily` beside one hand-written `INSERT … SELECT … GROUP BY`
//!   per table producing the same rows (checked equal); then one new day of events and the
//!   incremental run, whose time must follow that day, not the whole history.
//!
//! Prints a table and the ratios. Not a test: numbers vary by machine. Needs PostgreSQL (as
//! the tests do) and psql.

use std::process::Command;
use std::time::{Duration, Instant};

use domain::Role;
use serde_json::{Value, json};
use test_support::{TestApp, actor_of};
use uuid::Uuid;

const LEARNERS: usize = 64;
const BATCH: usize = 100;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn psql(url: &str, sql: &str) -> Duration {
    let started = Instant::now();
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

/// The hand-written reference: the same three tables' rows from all events, by plain
/// `INSERT … SELECT … GROUP BY` into empty copies.
const REFERENCE: &str = "
CREATE TEMP TABLE ref_course (LIKE analytics_course_daily);
CREATE TEMP TABLE ref_lesson (LIKE analytics_lesson_daily);
CREATE TEMP TABLE ref_learner (LIKE analytics_learner_courses);
INSERT INTO ref_course
SELECT tenant_id, course_id, (occurred_at AT TIME ZONE 'UTC')::date,
       count(*) FILTER (WHERE type IN ('course_viewed', 'lesson_viewed')), count(DISTINCT user_id),
       count(*) FILTER (WHERE type = 'lesson_completed'),
       coalesce(sum(value) FILTER (WHERE type = 'lesson_time'), 0),
       count(DISTINCT user_id) FILTER (WHERE type = 'lesson_time'),
       count(*) FILTER (WHERE type = 'quiz_attempted'), count(*) FILTER (WHERE type = 'quiz_passed'),
       count(*) FILTER (WHERE type = 'enrolled'), count(*) FILTER (WHERE type = 'purchased'),
       count(*) FILTER (WHERE type = 'refunded'), count(*) FILTER (WHERE type = 'export_downloaded')
FROM analytics_events GROUP BY 1, 2, 3;
INSERT INTO ref_lesson
SELECT tenant_id, course_id, lesson_id,
       (array_agg(lesson_index ORDER BY version DESC, occurred_at DESC))[1],
       (occurred_at AT TIME ZONE 'UTC')::date,
       count(*) FILTER (WHERE type = 'lesson_viewed'), count(DISTINCT user_id),
       count(*) FILTER (WHERE type = 'lesson_completed'),
       coalesce(sum(value) FILTER (WHERE type = 'lesson_time'), 0),
       count(DISTINCT user_id) FILTER (WHERE type = 'lesson_time'),
       count(*) FILTER (WHERE type = 'quiz_attempted'), count(*) FILTER (WHERE type = 'quiz_passed')
FROM analytics_events WHERE lesson_id IS NOT NULL GROUP BY 1, 2, 3, 5;
INSERT INTO ref_learner
SELECT tenant_id, course_id, user_id, bool_or(type IN ('course_viewed', 'lesson_viewed')),
       bool_or(type = 'enrolled'), bool_or(type = 'purchased'), bool_or(type = 'refunded'),
       coalesce(array_agg(DISTINCT lesson_id ORDER BY lesson_id) FILTER (WHERE type = 'lesson_completed'), '{}'),
       coalesce(max(lesson_index), 0)
FROM analytics_events GROUP BY 1, 2, 3;
";

/// Events of `days` days ending `end_days_ago` days ago, `per_day` a day: 200 courses of 4
/// tenants, 20 000 learners, 12 lessons, every type. Received an hour ago, or now.
fn synthetic(per_day: i64, days: i64, end_days_ago: i64, received_now: bool) -> String {
    format!(
        "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, lesson_id,
                                       lesson_index, type, value, occurred_at, received_at)
         SELECT gen_random_uuid(),
                ('00000000-0000-0000-0000-' || lpad((c % 4)::text, 12, '0'))::uuid,
                ('00000000-0000-0000-0001-' || lpad(u::text, 12, '0'))::uuid,
                ('00000000-0000-0000-0002-' || lpad(c::text, 12, '0'))::uuid,
                1,
                CASE WHEN t IN (1, 2, 3, 4, 9) THEN 'l' || (1 + i % 12) END,
                CASE WHEN t IN (1, 2, 3, 4, 9) THEN 1 + (i % 12)::int END,
                (ARRAY['course_viewed', 'lesson_viewed', 'lesson_completed', 'quiz_attempted',
                       'quiz_passed', 'enrolled', 'purchased', 'refunded', 'export_downloaded',
                       'lesson_time'])[t + 1],
                CASE WHEN t = 9 THEN (1 + i % 300)::int WHEN t IN (3, 4) THEN ((i * 7) % 101)::int END,
                date_trunc('day', now()) - make_interval(days => {end_days_ago} + (i % {days})::int)
                  + make_interval(secs => (i * 7919) % 86400),
                {received}
         FROM generate_series(1::bigint, {total}::bigint) AS i,
              LATERAL (SELECT i % 200 AS c, i % 20000 AS u, (i * 13) % 10 AS t) AS x",
        total = per_day * days,
        received = if received_now {
            "now()"
        } else {
            "now() - interval '1 hour'"
        },
    )
}

#[tokio::main]
async fn main() {
    let total: i64 = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let batches: usize = std::env::var("BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);

    let app = TestApp::builder().start().await;
    app.allow_pending_jobs();
    let tenant = app.tenant("bench").await;
    let (admin, admin_user) = app
        .signed_in(&tenant, "admin@bench.test", Role::Admin)
        .await;
    let course = app
        .approved_course(&actor_of(&admin_user), "Practical SQL for analysts", 4)
        .await
        .course_id;
    for path in [
        format!("/api/admin/courses/{course}/packages"),
        format!("/api/admin/courses/{course}/versions/1/publish"),
    ] {
        let res = app
            .csrf_post(&admin, &path)
            .json(&json!({}))
            .send()
            .await
            .expect("publish");
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    let lessons = db::analytics::active_lessons(&app.db.pool, tenant.id, course)
        .await
        .expect("lessons")
        .expect("published")
        .1
        .len();
    eprintln!("signing in {LEARNERS} learners…");
    let mut learners = Vec::new();
    for i in 0..LEARNERS {
        let (client, _) = app
            .signed_in(&tenant, &format!("learner{i}@bench.test"), Role::Learner)
            .await;
        learners.push(client);
    }

    // Ingest: every learner sends its batches one after the other, all learners at once.
    let now = time::OffsetDateTime::now_utc();
    let stamp = |s: i64| {
        (now - time::Duration::seconds(s))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("time")
    };
    let bodies: Vec<Vec<Value>> = (0..LEARNERS)
        .map(|l| {
            (0..batches)
                .map(|b| {
                    let events: Vec<Value> = (0..BATCH)
                        .map(|e| {
                            let n = (l * batches + b) * BATCH + e;
                            let lesson = 1 + n % lessons;
                            match n % 3 {
                                0 => json!({"id": Uuid::new_v4(), "type": "lesson_viewed", "courseId": course, "lessonIndex": lesson, "occurredAt": stamp((n % 3000) as i64)}),
                                1 => json!({"id": Uuid::new_v4(), "type": "lesson_time", "courseId": course, "lessonIndex": lesson, "seconds": 30, "occurredAt": stamp((n % 3000) as i64)}),
                                _ => json!({"id": Uuid::new_v4(), "type": "course_viewed", "courseId": course, "occurredAt": stamp((n % 3000) as i64)}),
                            }
                        })
                        .collect();
                    json!({ "events": events })
                })
                .collect()
        })
        .collect();
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics_events")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    eprintln!("ingesting {} events over HTTP…", LEARNERS * batches * BATCH);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, bodies) in learners.into_iter().zip(bodies) {
        let url = app.url("/api/analytics/event");
        let origin = app.url("");
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0u64;
            for body in bodies {
                let res = client
                    .post(&url)
                    .header("Origin", origin.trim_end_matches('/'))
                    .json(&body)
                    .send()
                    .await
                    .expect("post");
                assert_eq!(res.status(), 200, "{:?}", res.text().await);
                let v: Value = res.json().await.expect("json");
                accepted += v["accepted"].as_u64().unwrap_or(0);
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.expect("task");
    }
    let ingest = started.elapsed();
    assert_eq!(accepted as usize, LEARNERS * batches * BATCH);

    // COPY the same number of rows of the same shape into the same table.
    let csv = std::env::temp_dir().join(format!("cw-bench-events-{}.csv", Uuid::new_v4()));
    psql(
        &app.db.url,
        &format!(
            "\\copy (SELECT gen_random_uuid(), tenant_id, user_id, course_id, version, lesson_id, lesson_index, type, value, occurred_at FROM analytics_events ORDER BY received_at OFFSET {before}) TO '{}' CSV",
            csv.display()
        ),
    );
    let copy = psql(
        &app.db.url,
        &format!(
            "\\copy analytics_events (id, tenant_id, user_id, course_id, version, lesson_id, lesson_index, type, value, occurred_at) FROM '{}' CSV",
            csv.display()
        ),
    );
    let _ = std::fs::remove_file(&csv);
    let rows = accepted as f64;

    // Aggregation over a fresh history: drop what ingest stored and generate `total` events.
    let db = test_support::TestDatabase::new().await;
    db::analytics::ensure_partitions(&db.pool, (now - time::Duration::days(100)).date(), 5)
        .await
        .expect("partitions");
    eprintln!("generating {total} events over 90 days…");
    let per_day = total / 90;
    psql(&db.url, &synthetic(per_day, 90, 1, false));
    psql(&db.url, "VACUUM ANALYZE analytics_events");
    eprintln!("aggregating…");
    let started = Instant::now();
    let full_run = db::analytics::aggregate_daily(&db.app_pool)
        .await
        .expect("full run");
    let full = started.elapsed();
    let reference = psql(&db.url, &format!("BEGIN; {REFERENCE} ROLLBACK;"));
    // The same rows: checked with the reference computed again inside one session.
    let check = format!(
        "BEGIN; {REFERENCE}
         DO $$ BEGIN
           IF (SELECT count(*) FROM (SELECT * FROM ref_course EXCEPT SELECT * FROM analytics_course_daily) a) > 0
              OR (SELECT count(*) FROM ref_course) <> (SELECT count(*) FROM analytics_course_daily)
              OR (SELECT count(*) FROM (SELECT * FROM ref_lesson EXCEPT SELECT * FROM analytics_lesson_daily) a) > 0
              OR (SELECT count(*) FROM ref_lesson) <> (SELECT count(*) FROM analytics_lesson_daily)
              OR (SELECT count(*) FROM (SELECT * FROM ref_learner EXCEPT SELECT * FROM analytics_learner_courses) a) > 0
              OR (SELECT count(*) FROM ref_learner) <> (SELECT count(*) FROM analytics_learner_courses)
           THEN RAISE EXCEPTION 'the aggregates differ from the reference'; END IF;
         END $$; ROLLBACK;"
    );
    psql(&db.url, &check);

    // One new day: the incremental run reads that day's events only.
    psql(&db.url, &synthetic(per_day, 1, 0, true));
    let started = Instant::now();
    let day_run = db::analytics::aggregate_daily(&db.app_pool)
        .await
        .expect("incremental run");
    let incremental = started.elapsed();

    println!();
    println!("| what | time | rate | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| ingest: {accepted} events over HTTP (64 learners, batches of 100) | {:.2} s | {:.0} events/s | {:.2}× COPY |",
        secs(ingest),
        rows / secs(ingest),
        (rows / secs(ingest)) / (rows / secs(copy))
    );
    println!(
        "| COPY of as many rows via psql | {:.2} s | {:.0} rows/s | reference |",
        secs(copy),
        rows / secs(copy)
    );
    println!(
        "| full aggregation of {} events ({} course-days) | {:.2} s | {:.0} events/s | {:.2}× the reference |",
        per_day * 90,
        full_run.days,
        secs(full),
        (per_day * 90) as f64 / secs(full),
        secs(full) / secs(reference)
    );
    println!(
        "| hand-written INSERT … SELECT … GROUP BY, same rows | {:.2} s | {:.0} events/s | reference |",
        secs(reference),
        (per_day * 90) as f64 / secs(reference)
    );
    println!(
        "| incremental run after one new day of {per_day} events ({} course-days) | {:.2} s | {:.0} events/s | {:.3}× the full run |",
        day_run.days,
        secs(incremental),
        per_day as f64 / secs(incremental),
        secs(incremental) / secs(full)
    );
    println!(
        "\nthe new day is {:.2}% of the events; the incremental run took {:.2}% of the full run's time",
        100.0 / 91.0,
        100.0 * secs(incremental) / secs(full)
    );
}
