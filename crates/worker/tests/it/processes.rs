//! A real worker process, killed or paused mid-job. The child is this test binary, re-run
//! with `--ignored child_worker` and its settings in the environment.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use db::jobs::Start;
use test_support::{TestApp, TestDatabase, wait_until, wait_until_some};
use uuid::Uuid;
use worker::{Registry, Worker, WorkerConfig};

use crate::support::*;

/// The child's body: run one SLEEP job with the given lease, then exit.
#[tokio::test]
#[ignore = "entry point of the child process used by the tests below"]
async fn child_worker() {
    let Ok(url) = std::env::var("CW_CHILD_DB") else {
        return;
    };
    let ms = |k: &str| {
        Duration::from_millis(
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000),
        )
    };
    let pool = sqlx::PgPool::connect(&url).await.expect("pool");
    let objects =
        store::Objects::from_url(&std::env::var("CW_CHILD_STORE").expect("store")).expect("store");
    let w = Worker::new(
        pool,
        Registry::new().register(Sleep(ms("CW_CHILD_SLEEP_MS"))),
        objects,
        WorkerConfig {
            id: "child".into(),
            lease: ms("CW_CHILD_LEASE_MS"),
            ..WorkerConfig::default()
        },
    );
    loop {
        if let Some((job, finished)) = w.run_one().await.expect("run") {
            println!("child finished {} as {finished:?}", job.id);
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn spawn_child(db: &TestDatabase, store_url: &str, sleep_ms: u64, lease_ms: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "processes::child_worker",
            "--nocapture",
        ])
        .env("CW_CHILD_DB", &db.app_url)
        .env("CW_CHILD_STORE", store_url)
        .env("CW_CHILD_SLEEP_MS", sleep_ms.to_string())
        .env("CW_CHILD_LEASE_MS", lease_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child worker")
}

async fn wait_for_status(db: &TestDatabase, id: Uuid, want: &str) {
    wait_until(
        Duration::from_secs(60),
        &format!("the job to be {want}"),
        || async { status_of(db, id).await.0 == want },
    )
    .await;
}

/// Reaps until a job is reaped (its lease has run out), and returns what was reaped.
async fn reaped_once_the_lease_expires(db: &TestDatabase) -> Vec<db::jobs::Job> {
    wait_until_some(Duration::from_secs(10), "the lease to expire", || async {
        let reaped = db::jobs::reap(&db.pool).await.expect("reap");
        (!reaped.is_empty()).then_some(reaped)
    })
    .await
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig}");
}

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_a_failed_job_that_is_never_rerun() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let t = tenant(db).await;
    let (dir, objects) = temp_store();
    let url = format!("file://{}", dir.display());
    let job = job(db, t, "SLEEP", "long", Start::Pending).await;
    let mut child = spawn_child(db, &url, 60_000, 1_000);
    wait_for_status(db, job.id, "RUNNING").await;
    signal(&child, "-KILL");
    let _ = child.wait();

    // Until the lease runs out the reaper leaves the job alone.
    assert!(db::jobs::reap(&db.pool).await.expect("reap").is_empty());
    let reaped = reaped_once_the_lease_expires(db).await;
    assert_eq!(
        reaped.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![job.id]
    );
    let (status, error, output) = status_of(db, job.id).await;
    assert_eq!((status.as_str(), output), ("FAILED", None));
    assert_eq!(error.expect("error")["code"], "worker_lost");
    assert!(files_under(&dir).is_empty(), "no output is visible");

    // Never re-run: another worker finds nothing to do.
    let w = Worker::new(
        db.app_pool.clone(),
        Registry::new().register(Sleep(Duration::ZERO)),
        objects,
        WorkerConfig::default(),
    );
    assert!(w.run_one().await.expect("run").is_none());
    assert_eq!(
        actions_for(db, job.id).await,
        [
            "REGEN_JOB_CREATED",
            "REGEN_JOB_LOCKED",
            "REGEN_JOB_STARTED",
            "REGEN_JOB_FAILED"
        ]
    );
}

#[tokio::test]
async fn a_worker_paused_past_its_lease_changes_nothing_when_it_resumes() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let t = tenant(db).await;
    let (dir, _) = temp_store();
    let url = format!("file://{}", dir.display());
    let job = job(db, t, "SLEEP", "paused", Start::Pending).await;
    // The job takes 1.5 s; the lease is 600 ms, kept alive by heartbeats every 200 ms.
    let child = spawn_child(db, &url, 1_500, 600);
    wait_for_status(db, job.id, "RUNNING").await;
    signal(&child, "-STOP");
    let reaped = reaped_once_the_lease_expires(db).await;
    assert_eq!(
        reaped.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![job.id],
        "the paused worker's lease expired"
    );
    signal(&child, "-CONT");
    let out = child.wait_with_output().expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("as Abandoned"),
        "the resumed worker must give up: {stdout}"
    );

    let (status, error, output) = status_of(db, job.id).await;
    assert_eq!((status.as_str(), output), ("FAILED", None));
    assert_eq!(error.expect("error")["code"], "worker_lost");
    let outputs: i64 = sqlx::query_scalar("SELECT count(*) FROM job_outputs")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(outputs, 0);
    assert!(
        files_under(&dir).is_empty(),
        "whatever it wrote was removed: {:?}",
        files_under(&dir)
    );
}
