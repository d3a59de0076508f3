//! Generates an 8-module, 5-lessons-per-module course (each quiz written after its lesson,
//! from its text) through the real jobs, worker and
//! generators against a fake provider that answers after 500 ms (offline drafts, with fake
//! token counts), then the same request again, which must replay from the cache at zero
//! tokens. Prints a table; run by `bench/generation.sh`. Not a test.
//!
//!   cargo bench -p worker --bench generation -- --database-url URL [--concurrency 8]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use llm::{BoxFuture, ChatRequest, ChatResponse, LlmError, LlmProvider, Offline, Usage};
use serde_json::json;
use uuid::Uuid;
use worker::{Registry, Worker, WorkerConfig};

const LATENCY: Duration = Duration::from_millis(500);

/// The offline provider behind a 500 ms network and a token meter.
struct Slow {
    calls: AtomicU64,
    tokens: AtomicU64,
}

impl LlmProvider for Slow {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn model(&self) -> &str {
        "fake-500ms"
    }
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(async move {
            tokio::time::sleep(LATENCY).await;
            let mut r = Offline.complete(req).await?;
            let usage = Usage {
                input_tokens: (req.user.len() / 4) as u64,
                output_tokens: (r.text.len() / 4) as u64,
            };
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.tokens
                .fetch_add(usage.input_tokens + usage.output_tokens, Ordering::SeqCst);
            r.usage = usage;
            r.provider = "fake".into();
            Ok(r)
        })
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

async fn drain(pool: &sqlx::PgPool, w: &Worker) -> anyhow::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let w2 = w.clone();
    let run = tokio::spawn(async move {
        let mut rx = rx;
        w2.run(async move {
            let _ = rx.wait_for(|v| *v).await;
        })
        .await
    });
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status IN ('PENDING', 'RUNNING')")
                .fetch_one(pool)
                .await?;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = tx.send(true);
    run.await??;
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status = 'FAILED'")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(failed == 0, "{failed} jobs failed");
    Ok(())
}

async fn job(
    pool: &sqlx::PgPool,
    tenant: Uuid,
    kind: &str,
    target: &str,
    instruction: serde_json::Value,
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    db::jobs::create(
        &mut tx,
        db::jobs::NewJob {
            tenant_id: tenant,
            kind: &domain::JobKind::parse(kind)?,
            target_type: "bench",
            target_id: target,
            instruction,
            created_by: None,
            start: db::jobs::Start::Pending,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One whole course: syllabus job, approval, one content job per module. Returns seconds.
async fn course(
    pool: &sqlx::PgPool,
    w: &Worker,
    tenant: Uuid,
    reviewer: Uuid,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let brief = json!({ "title": "Data engineering foundations", "audience": "Analysts moving into data engineering",
                        "level": "intermediate", "timeBudgetHours": 30, "teachingStyle": "project-led", "constraints": [] });
    let actor = app::Actor {
        tenant_id: tenant,
        user_id: reviewer,
        role: domain::Role::Reviewer,
    };
    let brief: domain::Brief = serde_json::from_value(brief)?;
    let brief = brief.validate().map_err(|v| anyhow::anyhow!("{v}"))?;
    let done = app::authoring::submit_brief(pool, &actor, &brief)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    drain(pool, w).await?;
    let (sid, body): (Uuid, serde_json::Value) =
        sqlx::query_as("SELECT id, body FROM artifacts WHERE brief_id = $1")
            .bind(done.course.brief_id)
            .fetch_one(pool)
            .await?;
    app::authoring::review(
        pool,
        &actor,
        app::authoring::Family::Syllabus,
        sid,
        true,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let s: domain::Syllabus = serde_json::from_value(body)?;
    anyhow::ensure!(
        s.modules.len() == 8 && s.modules.iter().all(|m| m.lessons.len() == 5),
        "not an 8x5 course"
    );
    for m in &s.modules {
        job(
            pool,
            tenant,
            "GENERATE_CONTENT",
            &format!("{sid}/{}", m.id),
            domain::JobSpec::GenerateContent {
                course_id: done.course.id,
                syllabus_id: sid,
                module_id: m.id.clone(),
            }
            .payload(),
        )
        .await?;
    }
    drain(pool, w).await?;
    Ok(started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, "--database-url")
        .ok_or_else(|| anyhow::anyhow!("--database-url is required"))?;
    let c: usize = arg(&args, "--concurrency").map_or(Ok(8), |v| v.parse())?;
    let (server, name) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("URL has no database"))?;
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await?;
    sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
        .execute(&admin)
        .await?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await?;
    db::migrate::run(&pool).await?;
    let tenant: Uuid = sqlx::query_scalar("INSERT INTO tenants (id, slug, name) VALUES (gen_random_uuid(), 'bench', 'Bench') RETURNING id")
        .fetch_one(&pool)
        .await?;
    let reviewer: Uuid = sqlx::query_scalar(
        "INSERT INTO users (id, tenant_id, email, password_hash, role) VALUES (gen_random_uuid(), $1, 'r@bench.test', 'x', 'REVIEWER') RETURNING id",
    )
    .bind(tenant)
    .fetch_one(&pool)
    .await?;

    let fake = Arc::new(Slow {
        calls: AtomicU64::new(0),
        tokens: AtomicU64::new(0),
    });
    let llm = worker::generation::llm(pool.clone(), fake.clone(), c);
    let registry = worker::generation::register(Registry::new(), pool.clone(), llm);
    let config = WorkerConfig {
        id: "bench".into(),
        concurrency: 8,
        poll_interval: Duration::from_millis(20),
        ..WorkerConfig::default()
    };
    let w = Worker::new(pool.clone(), registry, store::Objects::in_memory(), config);

    let first = course(&pool, &w, tenant, reviewer).await?;
    let (calls1, tokens1) = (
        fake.calls.load(Ordering::SeqCst),
        fake.tokens.load(Ordering::SeqCst),
    );
    // The critical path: the syllabus call, then the content calls C at a time, but never
    // fewer than two rounds, since a quiz waits for its lesson (syllabus → lesson → quiz).
    let content_calls = calls1 - 1;
    let rounds = (content_calls as f64 / c as f64).ceil().max(2.0);
    let bound = LATENCY.as_secs_f64() * (1.0 + rounds);
    let second = course(&pool, &w, tenant, reviewer).await?;
    let (calls2, tokens2) = (
        fake.calls.load(Ordering::SeqCst) - calls1,
        fake.tokens.load(Ordering::SeqCst) - tokens1,
    );

    println!();
    println!("{:<34} {:>12} {:>12}", "", "first run", "same again");
    println!("{:<34} {:>12.2} {:>12.2}", "wall time (s)", first, second);
    println!(
        "{:<34} {:>12} {:>12}",
        "LLM calls reaching the provider", calls1, calls2
    );
    println!("{:<34} {:>12} {:>12}", "tokens spent", tokens1, tokens2);
    println!(
        "{:<34} {:>12.2} {:>12}",
        format!("critical-path bound, {c} in flight (s)"),
        bound,
        "-"
    );
    println!(
        "{:<34} {:>11.2}x {:>12}",
        "wall / bound (goal <= 1.1x)",
        first / bound,
        "-"
    );
    println!(
        "\n8 modules x 5 lessons: 1 syllabus call + 8 x (5 lessons + 5 quizzes + 1 project) calls, each quiz after its lesson; provider latency {} ms",
        LATENCY.as_millis()
    );
    pool.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await?;
    Ok(())
}
