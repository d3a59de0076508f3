//! The sweeps that clean up after finishes that never committed.

use std::time::{Duration, SystemTime};

use db::jobs::Start;
use db::testing::TestDatabase;
use serde_json::json;
use worker::alerts::AlertRouter;
use worker::{Outcome, Scheduler, builtin};

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
    let db = TestDatabase::new().await;
    let t = tenant(&db).await;
    let (dir, objects) = temp_store();
    let day = Duration::from_secs(24 * 3600);
    let old = day + Duration::from_secs(3600);

    let failed = failed_job(&db, t, "failed").await;
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
    let done = job(&db, t, "ECHO", "done", Start::Pending).await;
    let (_, finished) = worker
        .run_one_of(Some(&[done.id]))
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(finished, worker::Finished::Completed);
    let referenced = status_of(&db, done.id).await.2.expect("output_ref");
    age(&dir, &referenced, old);

    // A job still RUNNING whose object is old: its completion may still reference it.
    let running = job(&db, t, "ECHO", "running", Start::Pending).await;
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
