//! The sweeps that clean up after finishes that never committed and runners that died.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use db::jobs::Start;
use serde_json::json;
use sqlx::Connection;
use test_support::{TestApp, TestDatabase, wait_until};
use tokio::sync::Notify;
use worker::alerts::AlertRouter;
use worker::schedule::RunContext;
use worker::{JobDefinition, Outcome, Schedule, Scheduler, builtin};

use crate::support::*;

fn age(dir: &std::path::Path, path: &str, by: Duration) {
    std::fs::File::options()
        .write(true)
        .open(dir.join(path))
        .and_then(|f| f.set_modified(SystemTime::now() - by))
        .expect("age the object");
}

/// A job claimed and then failed, as a finish that never committed leaves it.
async fn failed_job(db: &TestDatabase, tenant: uuid::Uuid, target: &str) -> uuid::Uuid {
    let j = job(db, tenant, "ECHO", target, Start::Pending).await;
    let claimed = db::jobs::claim_among(&db.pool, "w", Duration::from_secs(60), Some(&[j.id]))
        .await
        .expect("claim")
        .expect("claimed");
    let token = claimed.claim_token.expect("token");
    assert!(
        db::jobs::fail(
            &db.pool,
            j.id,
            token,
            &json!({ "code": "x", "message": "x" })
        )
        .await
        .expect("fail")
    );
    j.id
}

#[tokio::test]
async fn the_orphan_sweep_removes_only_old_unreferenced_objects_of_finished_jobs() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let t = tenant(db).await;
    let (dir, objects) = temp_store();
    let day = Duration::from_secs(24 * 3600);
    let old = day + Duration::from_secs(3600);

    let failed = failed_job(db, t, "failed").await;
    let orphan = objects
        .put(
            &format!("jobs/{failed}"),
            "json",
            b"{\"orphan\":1}".to_vec(),
        )
        .await
        .expect("put");
    age(&dir, &orphan.path, old);
    let young = objects
        .put(&format!("jobs/{failed}"), "json", b"{\"young\":1}".to_vec())
        .await
        .expect("put");
    age(&dir, &young.path, day - Duration::from_secs(3600));
    let stray = objects
        .put(
            &format!("jobs/{}", uuid::Uuid::new_v4()),
            "json",
            b"{}".to_vec(),
        )
        .await
        .expect("put");
    age(&dir, &stray.path, old);

    // A completed job's output, through the worker.
    let worker = worker::Worker::new(
        db.app_pool.clone(),
        worker::Registry::new().register(Echo(Default::default())),
        objects.clone(),
        worker::WorkerConfig::default(),
    );
    let done = job(db, t, "ECHO", "done", Start::Pending).await;
    let (_, finished) = worker
        .run_one_of(Some(&[done.id]))
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(finished, worker::Finished::Completed);
    let referenced = status_of(db, done.id).await.2.expect("output_ref");
    age(&dir, &referenced, old);

    // A job still RUNNING whose object is old: its completion may still reference it.
    let running = job(db, t, "ECHO", "running", Start::Pending).await;
    app.expect_pending(1);
    db::jobs::claim_among(&db.pool, "w", Duration::from_secs(60), Some(&[running.id]))
        .await
        .expect("claim")
        .expect("claimed");
    let in_flight = objects
        .put(
            &format!("jobs/{}", running.id),
            "json",
            b"{\"late\":1}".to_vec(),
        )
        .await
        .expect("put");
    age(&dir, &in_flight.path, old);

    let s = Scheduler::new(
        db.app_pool.clone(),
        vec![builtin::sweep_orphan_objects(objects.clone(), day)],
        AlertRouter::new(db.app_pool.clone(), None),
        "sweeper".into(),
        false,
    );
    let report = s
        .run_now("sweep-orphan-objects", false)
        .await
        .expect("sweep");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.error);
    let detail = report.detail.expect("detail");
    let mut removed: Vec<String> =
        serde_json::from_value(detail["removed"].clone()).expect("removed");
    removed.sort();
    let mut expected = vec![orphan.path.clone(), stray.path.clone()];
    expected.sort();
    assert_eq!(removed, expected);
    assert_eq!(detail["listed"], 5);
    assert!(!dir.join(&orphan.path).exists());
    assert!(!dir.join(&stray.path).exists());
    for kept in [&young.path, &referenced, &in_flight.path] {
        assert!(dir.join(kept).is_file(), "{kept} was kept");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_left_running_by_a_dead_runner_are_closed_and_runs_still_held_are_not() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let alerts = AlertRouter::new(db.app_pool.clone(), None);

    // A run in progress: it holds its run lock until released.
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let held = JobDefinition {
        name: "held",
        description: "test",
        schedule: Schedule::Manual,
        lock_key: 41,
        timeout: Duration::from_secs(60),
        dry_runs: false,
        run: Arc::new({
            let (started, release) = (started.clone(), release.clone());
            move |_: RunContext| {
                let (started, release) = (started.clone(), release.clone());
                Box::pin(async move {
                    started.notify_one();
                    release.notified().await;
                    Ok(json!({}))
                })
            }
        }),
    };
    let s = Scheduler::new(
        db.app_pool.clone(),
        vec![
            held,
            builtin::close_orphaned_runs(builtin::ORPHANED_RUN_MIN_AGE),
        ],
        alerts,
        "alive".into(),
        false,
    );
    let running = tokio::spawn({
        let s = s.clone();
        async move { s.run_now("held", false).await }
    });
    started.notified().await;

    // A runner that claimed a slot and died: its session ends, and its run lock with it.
    let mut dead = sqlx::PgConnection::connect(&db.app_url)
        .await
        .expect("connect");
    let claimed = db::runs::claim(&mut dead, "tick", "2026-01-01T00:00:00.000Z", "dead", false)
        .await
        .expect("claim")
        .expect("claimed");
    assert!(claimed.locked);
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut dead)
        .await
        .expect("pid");
    dead.close().await.expect("the dead runner's session ends");
    wait_until(
        Duration::from_secs(10),
        "the dead session to end",
        || async {
            !sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)",
            )
            .bind(pid)
            .fetch_one(&db.pool)
            .await
            .expect("activity")
        },
    )
    .await;

    let status = |id: i64| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>)>(
                "SELECT status, error FROM job_runs WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("run")
        }
    };
    let held_id: i64 = sqlx::query_scalar("SELECT id FROM job_runs WHERE job = 'held'")
        .fetch_one(&db.pool)
        .await
        .expect("held run");

    // Young runs are spared (a runner from before run locks may still be on them).
    let sweep = s
        .run_now("close-orphaned-runs", false)
        .await
        .expect("sweep");
    assert_eq!(sweep.detail, Some(json!({ "closed": [] })));
    assert_eq!(status(claimed.id).await.0, "RUNNING");

    sqlx::query(
        "UPDATE job_runs SET started_at = started_at - interval '1 hour' WHERE id = ANY($1)",
    )
    .bind(vec![claimed.id, held_id])
    .execute(&db.pool)
    .await
    .expect("age the runs");
    let sweep = s
        .run_now("close-orphaned-runs", false)
        .await
        .expect("sweep");
    assert_eq!(sweep.outcome, Outcome::Succeeded, "{:?}", sweep.error);
    assert_eq!(sweep.detail, Some(json!({ "closed": [claimed.id] })));
    let (st, error) = status(claimed.id).await;
    assert_eq!(st, "FAILED");
    assert!(error.is_some_and(|e| e.starts_with("runner_lost")));
    assert_eq!(
        status(held_id).await.0,
        "RUNNING",
        "a held run is untouched"
    );

    release.notify_one();
    let report = running.await.expect("join").expect("run");
    assert_eq!(report.outcome, Outcome::Succeeded);
    assert_eq!(status(held_id).await, ("SUCCEEDED".to_owned(), None));
}

#[tokio::test]
async fn the_analytics_jobs_keep_partitions_ahead_and_aggregate_with_an_audited_run() {
    let db = TestDatabase::new().await;
    let s = Scheduler::new(
        db.app_pool.clone(),
        vec![
            builtin::analytics_partitions(),
            builtin::analytics_aggregate(),
        ],
        AlertRouter::new(db.app_pool.clone(), None),
        "analytics".into(),
        false,
    );
    let report = s
        .run_now("analytics-partitions", false)
        .await
        .expect("partitions");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.error);
    let created = report.detail.expect("detail")["created"].clone();
    assert_eq!(
        created.as_array().map(Vec::len),
        Some(1),
        "one more month: {created}"
    );
    let again = s
        .run_now("analytics-partitions", false)
        .await
        .expect("again");
    assert_eq!(
        again.detail.expect("detail")["created"],
        serde_json::json!([])
    );

    sqlx::raw_sql(
        "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, type, occurred_at)
         SELECT gen_random_uuid(), '00000000-0000-0000-0000-00000000000a', gen_random_uuid(),
                '00000000-0000-0000-0000-000000000001', 1, 'course_viewed', now()
         FROM generate_series(1, 5)",
    )
    .execute(&db.pool)
    .await
    .expect("events");
    let report = s
        .run_now("analytics-aggregate", false)
        .await
        .expect("aggregate");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.error);
    assert_eq!(report.detail.expect("detail")["days"], 1);
    let (views, audit): (i32, serde_json::Value) = sqlx::query_as(
        "SELECT (SELECT views FROM analytics_course_daily),
                (SELECT metadata FROM audit_log WHERE action = 'ANALYTICS_JOB_RUN')",
    )
    .fetch_one(&db.pool)
    .await
    .expect("rows");
    assert_eq!(views, 5);
    assert_eq!(audit["status"], "SUCCEEDED");
    assert!(audit["durationMs"].is_u64(), "{audit}");
    assert_eq!(audit["run"]["courseRows"], 1);
}

#[tokio::test]
async fn analytics_retention_drops_only_old_months_and_old_aggregates() {
    let db = TestDatabase::new().await;
    db::analytics::ensure_partitions(&db.pool, time::macros::date!(2025 - 01 - 01), 2)
        .await
        .expect("old months");
    sqlx::raw_sql(
        "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, type, occurred_at)
         VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1,
                 'course_viewed', '2025-01-10T00:00:00Z'),
                (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1,
                 'course_viewed', now());
         INSERT INTO analytics_course_daily VALUES
           (gen_random_uuid(), gen_random_uuid(), now()::date - 800, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
           (gen_random_uuid(), gen_random_uuid(), now()::date - 10, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0);",
    )
    .execute(&db.pool)
    .await
    .expect("rows");
    let s = Scheduler::new(
        db.app_pool.clone(),
        vec![builtin::analytics_retention()],
        AlertRouter::new(db.app_pool.clone(), None),
        "retention".into(),
        false,
    );
    // A dry run names what would go and removes nothing.
    let dry = s
        .run_now("analytics-retention", true)
        .await
        .expect("dry run");
    assert_eq!(dry.outcome, Outcome::Succeeded, "{:?}", dry.error);
    let detail = dry.detail.expect("detail");
    assert_eq!(detail["dryRun"], true);
    assert_eq!(
        detail["partitions"],
        json!(["analytics_events_y2025m01", "analytics_events_y2025m02"])
    );
    assert_eq!(detail["aggregateRows"], 1);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics_events")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(events, 2, "a dry run keeps every event");
    let report = s.run_now("analytics-retention", false).await.expect("run");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.error);
    let detail = report.detail.expect("detail");
    assert_eq!(
        detail["partitions"],
        json!(["analytics_events_y2025m01", "analytics_events_y2025m02"])
    );
    assert_eq!(detail["aggregateRows"], 1);
    let (events, days, audited): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM analytics_events), (SELECT count(*) FROM analytics_course_daily),
                (SELECT count(*) FROM audit_log WHERE action = 'ANALYTICS_JOB_RUN')",
    )
    .fetch_one(&db.pool)
    .await
    .expect("counts");
    assert_eq!(
        (events, days, audited),
        (1, 1, 2),
        "this month's event and the recent day stay"
    );
}

#[tokio::test]
async fn the_signals_job_judges_the_settled_weeks_and_audits_its_run() {
    let db = TestDatabase::new().await;
    let s = Scheduler::new(
        db.app_pool.clone(),
        vec![builtin::analytics_signals()],
        AlertRouter::new(db.app_pool.clone(), None),
        "signals".into(),
        false,
    );
    // Before any aggregation no week has its totals: none is judged.
    let report = s.run_now("analytics-signals", false).await.expect("run");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.error);
    assert_eq!(report.detail.expect("detail")["windows"], json!([]));
    db::analytics::aggregate_daily(&db.app_pool)
        .await
        .expect("aggregate");
    let report = s.run_now("analytics-signals", false).await.expect("run");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.error);
    let detail = report.detail.expect("detail");
    let expected: Vec<String> =
        domain::analytics::signals::settled_windows(time::OffsetDateTime::now_utc(), 4)
            .into_iter()
            .map(|(monday, _)| monday.to_string())
            .collect();
    assert_eq!(detail["windows"], json!(expected));
    assert_eq!(
        (detail["judged"].clone(), detail["stored"].clone()),
        (json!(0), json!(0))
    );
    let (job, status): (String, String) = sqlx::query_as(
        "SELECT entity_id, metadata ->> 'status' FROM audit_log WHERE action = 'ANALYTICS_JOB_RUN'
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("audited");
    assert_eq!(
        (job.as_str(), status.as_str()),
        ("analytics-signals", "SUCCEEDED")
    );
}
