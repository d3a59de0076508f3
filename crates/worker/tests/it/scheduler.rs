use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::{TestApp, TestDatabase, wait_until};
use tokio::sync::{Mutex, watch};
use worker::alerts::AlertRouter;
use worker::schedule::RunContext;
use worker::{JobDefinition, Outcome, Schedule, Scheduler};

fn def(
    name: &'static str,
    period_ms: u64,
    key: i64,
    body: impl Fn() -> anyhow::Result<Value> + Send + Sync + Clone + 'static,
    sleep_ms: u64,
) -> JobDefinition {
    JobDefinition {
        name,
        description: "test",
        schedule: Schedule::Every(Duration::from_millis(period_ms)),
        lock_key: key,
        timeout: Duration::from_secs(5),
        dry_runs: false,
        run: Arc::new(move |_ctx: RunContext| {
            let body = body.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
                body()
            })
        }),
    }
}

async fn run_for(schedulers: Vec<Scheduler>, how_long: Duration) {
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for s in schedulers {
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(async move {
            s.run(async move {
                let _ = rx.wait_for(|v| *v).await;
            })
            .await
        }));
    }
    tokio::time::sleep(how_long).await;
    let _ = tx.send(true);
    for t in tasks {
        t.await.expect("scheduler");
    }
}

fn scheduler(
    db: &TestDatabase,
    jobs: Vec<JobDefinition>,
    name: &str,
    skew_ms: i64,
    alerts: AlertRouter,
) -> Scheduler {
    let mut s = Scheduler::new(db.app_pool.clone(), jobs, alerts, name.into(), false);
    s.clock_offset = time::Duration::milliseconds(skew_ms);
    s.tick = Duration::from_millis(20);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_runners_with_skewed_clocks_run_each_slot_exactly_once() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let job = def(
        "tick",
        200,
        1,
        move || {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(json!({}))
        },
        0,
    );
    let alerts = AlertRouter::new(db.app_pool.clone(), None);
    let runners = vec![
        scheduler(db, vec![job.clone()], "early", 700, alerts.clone()),
        scheduler(db, vec![job.clone()], "exact", 0, alerts.clone()),
        scheduler(db, vec![job], "late", -450, alerts),
    ];
    run_for(runners, Duration::from_millis(3_000)).await;

    let slots: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT slot, runner, status FROM job_runs WHERE job = 'tick' ORDER BY slot",
    )
    .fetch_all(&db.pool)
    .await
    .expect("runs");
    assert!(
        slots.len() >= 12,
        "about 15 slots in 3 s, got {}",
        slots.len()
    );
    // At start-up the skewed runners claim three different slots at the same instant; the
    // advisory lock lets one run and records the others as skipped.
    let succeeded = slots.iter().filter(|(_, _, st)| st == "SUCCEEDED").count();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        succeeded,
        "one call per successful run"
    );
    assert!(
        succeeded + 3 >= slots.len(),
        "only start-up slots may be skipped: {slots:?}"
    );
    // Slots are period starts: consecutive, none twice, none missing in the middle.
    let mut starts: Vec<i128> = slots
        .iter()
        .map(|(s, _, _)| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .expect("slot")
                .unix_timestamp_nanos()
                / 1_000_000
        })
        .collect();
    let sorted_as_text = starts.clone();
    starts.sort_unstable();
    assert_eq!(sorted_as_text, starts, "slots sort as text");
    assert!(
        starts.iter().all(|ms| ms % 200 == 0),
        "slots align to the period"
    );
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] == 200),
        "one run per slot, no gaps: {starts:?}"
    );
    assert!(
        slots
            .iter()
            .all(|(_, _, st)| st == "SUCCEEDED" || st == "SKIPPED_OVERLAP")
    );
    let runners: std::collections::BTreeSet<&str> =
        slots.iter().map(|(_, r, _)| r.as_str()).collect();
    assert!(
        runners.contains("early"),
        "the runner whose clock is ahead claims slots first: {runners:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_slower_than_its_period_never_overlaps_itself() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, p) = (running.clone(), peak.clone());
    let slow = JobDefinition {
        name: "slow",
        description: "test",
        schedule: Schedule::Every(Duration::from_millis(150)),
        lock_key: 2,
        timeout: Duration::from_secs(5),
        dry_runs: false,
        run: Arc::new(move |_| {
            let (r, p) = (r.clone(), p.clone());
            Box::pin(async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(500)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                Ok(json!({}))
            })
        }),
    };
    let alerts = AlertRouter::new(db.app_pool.clone(), None);
    let runners = vec![
        scheduler(db, vec![slow.clone()], "a", 0, alerts.clone()),
        scheduler(db, vec![slow], "b", 30, alerts),
    ];
    run_for(runners, Duration::from_millis(2_000)).await;
    assert_eq!(
        peak.load(Ordering::SeqCst),
        1,
        "two runs were in flight at once"
    );
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM job_runs GROUP BY status ORDER BY status")
            .fetch_all(&db.pool)
            .await
            .expect("runs");
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    assert!(
        count("SUCCEEDED") >= 2 && count("SKIPPED_OVERLAP") >= 3,
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_job_sends_one_alert_within_the_rate_limit_and_the_webhook_gets_it() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().await.push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let failing = def(
        "flaky",
        100,
        3,
        || Err(anyhow::anyhow!("upstream said no")),
        0,
    );
    let alerts = AlertRouter::new(db.app_pool.clone(), Some(hook));
    run_for(
        vec![scheduler(db, vec![failing], "r", 0, alerts)],
        Duration::from_millis(1_000),
    )
    .await;

    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE status = 'FAILED'")
        .fetch_one(&db.pool)
        .await
        .expect("runs");
    assert!(failed >= 5, "the job failed on every slot ({failed})");
    let got = received.lock().await.clone();
    assert_eq!(got.len(), 1, "one alert per job per window: {got:?}");
    assert_eq!(got[0]["job"], "flaky");
    assert_eq!(got[0]["alert"], "JOB_FAILED");
    assert!(
        got[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("upstream said no")
    );
    assert!(got[0]["time"].as_str().is_some_and(|t| t.contains('T')));
    let stored: Vec<(String, Vec<String>)> = sqlx::query_as("SELECT job, delivered_to FROM alerts")
        .fetch_all(&db.pool)
        .await
        .expect("alerts");
    assert_eq!(
        stored,
        vec![(
            "flaky".to_owned(),
            vec!["log".to_owned(), "webhook".to_owned()]
        )]
    );
}

#[tokio::test]
async fn dry_runs_are_recorded_without_calling_the_job_and_timeouts_are_enforced() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let counted = def(
        "counted",
        60_000,
        4,
        move || {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"did": "work"}))
        },
        0,
    );
    let mut hanging = def("hanging", 60_000, 5, || Ok(json!({})), 10_000);
    hanging.timeout = Duration::from_millis(200);
    let alerts = AlertRouter::new(db.app_pool.clone(), None);
    let s = scheduler(db, vec![counted, hanging], "r", 0, alerts);

    let dry = s.run_now("counted", true).await.expect("dry run");
    assert_eq!(
        (dry.outcome, calls.load(Ordering::SeqCst)),
        (Outcome::Succeeded, 0)
    );
    assert_eq!(dry.detail, Some(json!({ "dryRun": true })));
    let real = s.run_now("counted", false).await.expect("run");
    assert_eq!(
        (real.outcome, calls.load(Ordering::SeqCst)),
        (Outcome::Succeeded, 1)
    );
    let timed = s.run_now("hanging", false).await.expect("run");
    assert_eq!(timed.outcome, Outcome::TimedOut);
    assert!(timed.duration < Duration::from_secs(2));
    assert!(s.run_now("nope", false).await.is_err());
    let rows: Vec<(String, bool, String)> =
        sqlx::query_as("SELECT job, dry_run, status FROM job_runs ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("runs");
    assert_eq!(
        rows,
        vec![
            ("counted".to_owned(), true, "SUCCEEDED".to_owned()),
            ("counted".to_owned(), false, "SUCCEEDED".to_owned()),
            ("hanging".to_owned(), false, "TIMED_OUT".to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_alone_seals_the_audit_chain() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let event =
        db::audit::AuditEvent::new(domain::AuditAction::Logout, "user", uuid::Uuid::new_v4());
    assert!(db::audit::record_alone(&db.pool, event).await);
    let chained = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_chain")
            .fetch_one(&db.pool)
            .await
            .expect("count")
    };
    assert_eq!(
        chained().await,
        0,
        "nothing seals the row but the scheduler"
    );

    // The worker's scheduler with the registry `coursewright worker` runs, and no web server.
    let mut s = Scheduler::new(
        db.pool.clone(),
        worker::builtin::all(
            store::Objects::from_url(&format!(
                "file://{}",
                std::env::temp_dir()
                    .join(format!("cw-solo-{}", uuid::Uuid::new_v4()))
                    .display()
            ))
            .expect("store"),
            Duration::from_secs(24 * 3600),
        ),
        AlertRouter::new(db.pool.clone(), None),
        "solo".into(),
        false,
    );
    s.tick = Duration::from_millis(20);
    let (tx, mut rx) = watch::channel(false);
    let running = tokio::spawn(async move {
        s.run(async move {
            let _ = rx.wait_for(|v| *v).await;
        })
        .await
    });
    wait_until(
        Duration::from_secs(20),
        "the worker's scheduler to seal the audit row",
        || async { chained().await > 0 },
    )
    .await;
    let _ = tx.send(true);
    running.await.expect("scheduler");
    assert!(
        matches!(
            db::audit::verify(&db.pool).await.expect("verify"),
            db::audit::Verification::Intact { rows: 1.. }
        ),
        "the sealed chain verifies"
    );
}
