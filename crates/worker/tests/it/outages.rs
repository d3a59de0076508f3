//! The execution plane under database outages.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use db::jobs::Start;
use db::testing::TestDatabase;
use worker::{Finished, Registry, Worker, WorkerConfig};

use crate::proxy::Proxy;
use crate::support::*;

/// Waits for `condition` to hold, failing the test after `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
    let db = TestDatabase::new().await;
    let t = tenant(&db).await;
    let (dir, objects) = temp_store();
    let proxy = Proxy::start().await;
    let worker = Worker::new(
        proxy.app_pool(&db),
        Registry::new().register(Echo(Arc::new(AtomicUsize::new(0)))),
        objects.clone(),
        config("lossy"),
    );
    let j = job(&db, t, "ECHO", "lost-reply", Start::Pending).await;
    proxy.lose_reply_after(b"cw_complete_job").await;
    let run = tokio::spawn(async move { worker.run_one().await });

    // The completion commits; its reply is swallowed, then the connection is cut.
    eventually(
        Duration::from_secs(20),
        "the completion committed",
        || async { status_of(&db, j.id).await.0 == "COMPLETED" },
    )
    .await;
    assert_eq!(proxy.lost(), 1, "the reply of the completion was lost");
    proxy.cut_all();

    let (_, finished) = run.await.expect("join").expect("run").expect("a job ran");
    assert_eq!(finished, Finished::Completed);
    let (status, _, output_ref) = status_of(&db, j.id).await;
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
