//! The execution plane under database outages: a completion whose reply is lost, a failure
//! that cannot be recorded for a while.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use db::jobs::Start;
use test_support::{TestApp, wait_until};
use tokio::sync::Notify;
use worker::executor::BoxFuture;
use worker::{Executor, Finished, JobFailure, JobInput, JobOutput, Registry, Worker, WorkerConfig};

use crate::proxy::Proxy;
use crate::support::*;

fn config(id: &str) -> WorkerConfig {
    WorkerConfig {
        id: id.into(),
        lease: Duration::from_secs(30),
        finish_retry: Duration::from_secs(20),
        ..WorkerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_whose_reply_is_lost_keeps_its_output_and_reports_success() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let t = tenant(db).await;
    let (dir, objects) = temp_store();
    let proxy = Proxy::start().await;
    let worker = Worker::new(
        proxy.app_pool(db),
        Registry::new().register(Echo(Arc::new(AtomicUsize::new(0)))),
        objects.clone(),
        config("lossy"),
    );
    let j = job(db, t, "ECHO", "lost-reply", Start::Pending).await;
    proxy.lose_reply_after(b"cw_complete_job").await;
    let run = tokio::spawn(async move { worker.run_one().await });

    // The completion commits; its reply is swallowed, then the connection is cut.
    wait_until(
        Duration::from_secs(20),
        "the completion committed",
        || async { status_of(db, j.id).await.0 == "COMPLETED" },
    )
    .await;
    assert_eq!(proxy.lost(), 1, "the reply of the completion was lost");
    proxy.cut_all();

    let (_, finished) = run.await.expect("join").expect("run").expect("a job ran");
    assert_eq!(finished, Finished::Completed);
    let (status, _, output_ref) = status_of(db, j.id).await;
    assert_eq!(status, "COMPLETED");
    let path = output_ref.expect("output_ref");
    assert!(
        dir.join(&path).is_file(),
        "the output object is still stored"
    );
    let bytes = objects.get(&path).await.expect("the output reads back");
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(value["job"], serde_json::json!(j.id));
    let output = db::jobs::output_of(&db.pool, t, j.id)
        .await
        .expect("output")
        .expect("a job_outputs row");
    assert_eq!(output.path, path);
    let _ = std::fs::remove_dir_all(dir);
}

/// Fails with its own reason once released.
struct Gated(Arc<Notify>);

impl Executor for Gated {
    fn kind(&self) -> &'static str {
        "GATED"
    }
    fn run(&self, _input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        let gate = self.0.clone();
        Box::pin(async move {
            gate.notified().await;
            Err(JobFailure::new("upstream_refused", "the provider said no"))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_during_an_outage_is_recorded_with_its_reason_once_the_database_returns() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let t = tenant(db).await;
    let (dir, objects) = temp_store();
    let proxy = Proxy::start().await;
    let gate = Arc::new(Notify::new());
    let worker = Worker::new(
        proxy.app_pool(db),
        Registry::new().register(Gated(gate.clone())),
        objects,
        config("patient"),
    );
    let j = job(db, t, "GATED", "outage", Start::Pending).await;
    let run = tokio::spawn(async move { worker.run_one().await });
    wait_until(Duration::from_secs(20), "the job is claimed", || async {
        status_of(db, j.id).await.0 == "RUNNING"
    })
    .await;

    proxy.down();
    gate.notify_one();
    wait_until(
        Duration::from_secs(20),
        "the worker tried to reach the database during the outage",
        || async { proxy.refused() >= 2 },
    )
    .await;
    assert_eq!(
        status_of(db, j.id).await.0,
        "RUNNING",
        "nothing could be recorded while the database was away"
    );
    proxy.up();

    let (_, finished) = run.await.expect("join").expect("run").expect("a job ran");
    assert_eq!(finished, Finished::Failed("upstream_refused".into()));
    let (status, error, _) = status_of(db, j.id).await;
    assert_eq!(status, "FAILED");
    let error = error.expect("error");
    assert_eq!(error["code"], "upstream_refused");
    assert_eq!(error["message"], "the provider said no");
    assert!(
        db::jobs::reap(&db.pool).await.expect("reap").is_empty(),
        "nothing is left for the reaper to blame on a lost worker"
    );
    let _ = std::fs::remove_dir_all(dir);
}
