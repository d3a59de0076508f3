//! What the worker tests share beyond `test-support`'s harness: job rows of made-up kinds,
//! executors that echo, misbehave or sleep, and a file store to look into.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use db::jobs::{Created, NewJob, Start};
use domain::{JobKind, TenantName, TenantSlug};
use serde_json::{Value, json};
use test_support::TestDatabase;
use uuid::Uuid;
use worker::executor::BoxFuture;
use worker::{Executor, JobFailure, JobInput, JobOutput};

pub async fn tenant(db: &TestDatabase) -> Uuid {
    db::tenants::create(
        &db.pool,
        &TenantSlug::parse("acme").expect("slug"),
        &TenantName::parse("Acme").expect("name"),
    )
    .await
    .expect("tenant")
    .id
}

pub async fn job(
    db: &TestDatabase,
    tenant: Uuid,
    kind: &str,
    target: &str,
    start: Start,
) -> db::jobs::Job {
    let mut tx = db.pool.begin().await.expect("begin");
    let kind = JobKind::parse(kind).expect("kind");
    let created = db::jobs::create(
        &mut tx,
        NewJob {
            tenant_id: tenant,
            kind: &kind,
            target_type: "test",
            target_id: target,
            instruction: json!({ "target": target }),
            created_by: None,
            start,
        },
    )
    .await
    .expect("create");
    tx.commit().await.expect("commit");
    match created {
        Created::New(j) => j,
        Created::Existing(j) => panic!("job {} already existed", j.id),
    }
}

pub async fn status_of(db: &TestDatabase, id: Uuid) -> (String, Option<Value>, Option<String>) {
    sqlx::query_as("SELECT status, error, output_ref FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .expect("job")
}

pub async fn actions_for(db: &TestDatabase, id: Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity_type = 'job' AND entity_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&db.pool)
    .await
    .expect("audit")
}

/// Echoes its instruction back, counting calls.
pub struct Echo(pub Arc<AtomicUsize>);

impl Executor for Echo {
    fn kind(&self) -> &'static str {
        "ECHO"
    }
    fn run(&self, input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            Ok(JobOutput {
                drafts: vec![],
                value: json!({ "echo": input.instruction, "job": input.job_id }),
            })
        })
    }
}

/// Fails the way its instruction says.
pub struct Misbehave;

impl Executor for Misbehave {
    fn kind(&self) -> &'static str {
        "MISBEHAVE"
    }
    fn timeout(&self) -> Duration {
        Duration::from_millis(300)
    }
    fn run(&self, input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        Box::pin(async move {
            match input.target_id.as_str() {
                "error" => Err(
                    JobFailure::new("validation_failed", "2 violations").with_details(json!([
                        {"path": "/modules/0", "message": "too short"},
                        {"path": "/title", "message": "missing"}
                    ])),
                ),
                "panic" => panic!("executor blew up"),
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(JobOutput {
                        drafts: vec![],
                        value: json!({}),
                    })
                }
                _ => Ok(JobOutput {
                    drafts: vec![],
                    value: json!({ "fine": true }),
                }),
            }
        })
    }
}

/// Sleeps, then answers; the child processes use it.
pub struct Sleep(pub Duration);

impl Executor for Sleep {
    fn kind(&self) -> &'static str {
        "SLEEP"
    }
    fn run(&self, _input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        let d = self.0;
        Box::pin(async move {
            tokio::time::sleep(d).await;
            Ok(JobOutput {
                drafts: vec![],
                value: json!({ "slept_ms": d.as_millis() as u64 }),
            })
        })
    }
}

pub fn temp_store() -> (std::path::PathBuf, store::Objects) {
    let dir = std::env::temp_dir().join(format!("cw-objects-{}", Uuid::new_v4().simple()));
    let objects = store::Objects::from_url(&format!("file://{}", dir.display())).expect("store");
    (dir, objects)
}

/// Every file below `dir`.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}
