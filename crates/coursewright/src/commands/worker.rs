//! `worker`, `jobs list` and `jobs run`.

use std::process::ExitCode;

use anyhow::Context;
use db::migrate::SchemaState;
use worker::alerts::AlertRouter;
use worker::{Registry, Scheduler, Worker, WorkerConfig};

use crate::cli::WorkerArgs;
use crate::config::Config;

/// The executors this build knows, over the configured LLM provider.
pub fn registry(config: &Config, pool: db::PgPool) -> anyhow::Result<Registry> {
    let provider = llm::from_config(&config.provider_config())?;
    let llm = worker::generation::llm(
        pool.clone(),
        std::sync::Arc::from(provider),
        config.worker.llm_concurrency,
    );
    Ok(worker::generation::register(Registry::new(), pool, llm))
}

fn runner_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
}

pub fn scheduler(config: &Config, pool: db::PgPool) -> anyhow::Result<Scheduler> {
    let alerts = AlertRouter::new(
        pool.clone(),
        config
            .alert_webhook_url
            .as_ref()
            .map(|u| u.expose().to_owned()),
    );
    let objects = store::Objects::from_url(&config.object_store_url)?;
    Ok(Scheduler::new(
        pool,
        worker::builtin::all(objects, config.worker.orphan_grace),
        alerts,
        runner_name(),
        config.job_dry_run,
    ))
}

/// Resolves once `rx` says stop.
async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The job worker and, when asked, the scheduled jobs, running until told to stop: what
/// `coursewright worker` runs, and what `coursewright demo` embeds beside its web server.
pub struct Engine {
    work: tokio::task::JoinHandle<anyhow::Result<()>>,
    schedule: Option<tokio::task::JoinHandle<()>>,
}

impl Engine {
    pub fn start(
        config: &Config,
        pool: &db::PgPool,
        objects: store::Objects,
        wc: WorkerConfig,
        with_schedule: bool,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let schedule = if with_schedule {
            let s = scheduler(config, pool.clone())?;
            let rx = stop.clone();
            Some(tokio::spawn(async move { s.run(stopped(rx)).await }))
        } else {
            None
        };
        let w = Worker::new(pool.clone(), registry(config, pool.clone())?, objects, wc);
        let work = tokio::spawn(async move { w.run(stopped(stop)).await });
        Ok(Self { work, schedule })
    }

    /// Waits for both to stop (send `true` on the channel first).
    pub async fn finish(self) -> anyhow::Result<()> {
        self.work.await??;
        if let Some(s) = self.schedule {
            s.await?;
        }
        Ok(())
    }
}

/// The name this process's worker claims jobs under.
pub fn worker_config(config: &Config, concurrency: Option<usize>) -> WorkerConfig {
    WorkerConfig {
        id: runner_name(),
        concurrency: concurrency.unwrap_or(config.worker.concurrency),
        lease: config.worker.lease,
        ..WorkerConfig::default()
    }
}

pub async fn run(config: &Config, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let database = db::connect(&config.database).await?;
    if !matches!(
        db::migrate::state(&database.pool).await?,
        SchemaState::Current
    ) {
        eprintln!("error: the schema is not current; run `coursewright migrate` first");
        return Ok(ExitCode::FAILURE);
    }
    super::warn_if_privileged(&database.pool).await;
    let objects = store::Objects::from_url(&config.object_store_url)?;
    let bind = match args.bind {
        Some(b) => b
            .parse()
            .with_context(|| format!("--bind {b:?} is not an address"))?,
        None => config.worker.bind,
    };
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let wc = worker_config(config, args.concurrency);
    println!(
        "Coursewright worker {} (concurrency {}), ops on http://{}",
        wc.id,
        wc.concurrency,
        listener.local_addr()?
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ops = tokio::spawn(worker::serve_ops(listener, stopped(stop_rx.clone())));
    let engine = Engine::start(
        config,
        &database.pool,
        objects,
        wc,
        !args.no_schedule,
        stop_rx,
    )?;
    super::shutdown_signal().await;
    let _ = stop_tx.send(true);
    engine.finish().await?;
    ops.await??;
    database.pool.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn list(config: &Config) -> anyhow::Result<ExitCode> {
    let database = db::connect(&config.database).await?;
    let sched = scheduler(config, database.pool.clone())?;
    println!(
        "{:<22} {:<10} {:<10} {:<17} last run",
        "job", "schedule", "timeout", "outcome"
    );
    for def in sched.jobs() {
        let last = db::runs::last_run(&database.pool, def.name).await?;
        let schedule = match def.schedule {
            worker::Schedule::Every(d) => format!("every {}s", d.as_secs()),
            worker::Schedule::Manual => "manual".into(),
        };
        let (outcome, when) = match last {
            Some(r) => (
                r.status.to_string(),
                format!("{} ({} ms)", r.started_at, r.duration_ms.unwrap_or(0)),
            ),
            None => ("-".into(), "never".into()),
        };
        println!(
            "{:<22} {:<10} {:<10} {:<17} {when}",
            def.name,
            schedule,
            format!("{}s", def.timeout.as_secs()),
            outcome
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_now(config: &Config, name: &str, dry_run: bool) -> anyhow::Result<ExitCode> {
    let database = db::connect(&config.database).await?;
    let report = scheduler(config, database.pool.clone())?
        .run_now(name, dry_run)
        .await?;
    println!(
        "{} {} in {} ms{}",
        report.job,
        report.outcome.as_str(),
        report.duration.as_millis(),
        report
            .error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    if let Some(d) = &report.detail {
        println!("{d}");
    }
    Ok(if matches!(report.outcome, worker::Outcome::Succeeded) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
