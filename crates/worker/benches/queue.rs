//! Drains N no-op jobs through the real worker path (claim → executor → output → guarded
//! completion, each with its audit rows, one commit per claim and per finish) with C
//! concurrent claimers (each, like a worker slot, claims again while its last job's finish
//! commits), and prints one JSON line per C: jobs/s, claim latency p50/p99 and
//! duplicates. Run by `bench/queue.sh` beside graphile-worker; not a test.
//!
//!   cargo bench -p worker --bench queue -- --jobs 50000 --concurrency 1,4,16 --database-url URL

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;
use worker::executor::BoxFuture;
use worker::{Executor, Finished, JobFailure, JobInput, JobOutput, Registry, Worker, WorkerConfig};

struct Noop(Arc<Mutex<HashMap<Uuid, u32>>>);

impl Executor for Noop {
    fn kind(&self) -> &'static str {
        "NOOP"
    }
    fn run(&self, input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        if let Ok(mut seen) = self.0.lock() {
            *seen.entry(input.job_id).or_default() += 1;
        }
        Box::pin(async {
            Ok(JobOutput {
                drafts: vec![],
                value: json!({}),
            })
        })
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let jobs: i64 = arg(&args, "--jobs").map_or(Ok(50_000), |v| v.parse())?;
    let levels: Vec<usize> = arg(&args, "--concurrency")
        .unwrap_or_else(|| "1,4,16".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let url = arg(&args, "--database-url")
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .ok_or_else(|| anyhow::anyhow!("--database-url is required"))?;
    let (server, name) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("URL has no database"))?;
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await?;

    for c in levels {
        // Each level starts from a fresh, migrated database, like graphile's fresh schema.
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&admin)
            .await?;
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(40)
            .connect(&url)
            .await?;
        db::migrate::run(&pool).await?;
        let tenant: Uuid = sqlx::query_scalar(
            "INSERT INTO tenants (id, slug, name) VALUES (gen_random_uuid(), 'bench-' || floor(random()*1e9)::text, 'Bench')
             RETURNING id",
        )
        .fetch_one(&pool)
        .await?;
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, status, target_type, target_id, instruction)
             SELECT gen_random_uuid(), $1, 'NOOP', 'PENDING', 'bench', g::text, '{}' FROM generate_series(1, $2) g",
        )
        .bind(tenant)
        .bind(jobs)
        .execute(&pool)
        .await?;
        sqlx::raw_sql("ANALYZE jobs").execute(&pool).await?;

        let seen = Arc::new(Mutex::new(HashMap::new()));
        let worker = Worker::new(
            pool.clone(),
            Registry::new().register(Noop(seen.clone())),
            store::Objects::in_memory(),
            WorkerConfig {
                id: "bench".into(),
                lease: Duration::from_secs(60),
                ..WorkerConfig::default()
            },
        );
        let started = Instant::now();
        // As in `Worker::run`: a claimer is free for its next claim once the executor returns;
        // the job's finish (its own commit) goes on beside it, at most C of them at once.
        let finishing = Arc::new(tokio::sync::Semaphore::new(c));
        let mut tasks = Vec::new();
        for _ in 0..c {
            let (pool, worker, finishing) = (pool.clone(), worker.clone(), finishing.clone());
            tasks.push(tokio::spawn(async move {
                let mut claims = Vec::new();
                let mut finishes = tokio::task::JoinSet::new();
                loop {
                    let t = Instant::now();
                    let Some(job) =
                        db::jobs::claim(&pool, "bench", Duration::from_secs(60)).await?
                    else {
                        while let Some(f) = finishes.join_next().await {
                            anyhow::ensure!(f? == Finished::Completed, "a job did not complete");
                        }
                        return anyhow::Ok(claims);
                    };
                    claims.push(t.elapsed().as_secs_f64() * 1e3);
                    let ran = worker.run_executor(job).await;
                    let permit = finishing.clone().acquire_owned().await?;
                    finishes.spawn(async move {
                        let _permit = permit;
                        ran.finish().await
                    });
                    while let Some(f) = finishes.try_join_next() {
                        anyhow::ensure!(f? == Finished::Completed, "a job did not complete");
                    }
                }
            }));
        }
        let mut claims = Vec::new();
        for t in tasks {
            claims.extend(t.await??);
        }
        let secs = started.elapsed().as_secs_f64();
        claims.sort_by(f64::total_cmp);
        let seen = seen
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone();
        let duplicates: u32 = seen.values().map(|n| n - 1).sum();
        let completed: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status = 'COMPLETED'")
                .fetch_one(&pool)
                .await?;
        anyhow::ensure!(
            completed == jobs && seen.len() as i64 == jobs,
            "only {completed} of {jobs} completed"
        );
        println!(
            "{}",
            json!({
                "system": "coursewright",
                "concurrency": c,
                "jobs": jobs,
                "seconds": (secs * 1000.0).round() / 1000.0,
                "jobs_per_sec": (jobs as f64 / secs * 10.0).round() / 10.0,
                "claim_p50_ms": (pct(&claims, 0.5) * 1000.0).round() / 1000.0,
                "claim_p99_ms": (pct(&claims, 0.99) * 1000.0).round() / 1000.0,
                "duplicates": duplicates,
            })
        );
        pool.close().await;
    }
    Ok(())
}
