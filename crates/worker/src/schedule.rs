//! Scheduled jobs: a registry of definitions and the runner.
//!
//! Each period is a slot. A runner claims a slot by inserting `(job, slot)` into `job_runs`
//! (`ON CONFLICT DO NOTHING`), so one replica runs each slot whatever the clocks say; it then
//! holds a session advisory lock on a dedicated connection while the job runs, so a run that
//! outlasts its period is never overlapped (the next slot records `SKIPPED_OVERLAP`). Runs
//! are timed out, recorded with outcome and duration, alerted on failure, and never retried.
//! The claiming statement also takes a run lock on that connection (see `db::runs`), held
//! until the run is recorded, so a run whose runner died is told apart from one in progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use db::types::RunStatus;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;

use crate::alerts::AlertRouter;
use crate::executor::BoxFuture;

/// When a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Every(Duration),
    /// Only when an operator asks (`coursewright jobs run NAME`).
    Manual,
}

/// What a scheduled job may touch.
#[derive(Clone)]
pub struct RunContext {
    pub pool: PgPool,
    /// A dry run of a job that [`JobDefinition::dry_runs`]: report, change nothing.
    pub dry_run: bool,
}

pub type JobFn = Arc<dyn Fn(RunContext) -> BoxFuture<'static, anyhow::Result<Value>> + Send + Sync>;

/// One scheduled job.
#[derive(Clone)]
pub struct JobDefinition {
    pub name: &'static str,
    pub description: &'static str,
    pub schedule: Schedule,
    /// The advisory lock key that keeps runs of this job from overlapping.
    pub lock_key: i64,
    pub timeout: Duration,
    /// Whether the job runs itself in a dry run (with [`RunContext::dry_run`] set, to report
    /// what it would do); otherwise a dry run does not call it at all.
    pub dry_runs: bool,
    pub run: JobFn,
}

impl std::fmt::Debug for JobDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobDefinition")
            .field("name", &self.name)
            .field("schedule", &self.schedule)
            .field("lock_key", &self.lock_key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    TimedOut,
    SkippedOverlap,
}

impl Outcome {
    /// The status a run with this outcome is recorded with.
    pub fn status(self) -> RunStatus {
        match self {
            Outcome::Succeeded => RunStatus::Succeeded,
            Outcome::Failed => RunStatus::Failed,
            Outcome::TimedOut => RunStatus::TimedOut,
            Outcome::SkippedOverlap => RunStatus::SkippedOverlap,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.status().as_str()
    }
}

/// A claimed slot: its run and the dedicated connection that holds the run's lock.
struct Claimed {
    run_id: i64,
    conn: PgConnection,
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: i64,
    pub job: &'static str,
    pub slot: String,
    pub outcome: Outcome,
    pub duration: Duration,
    pub error: Option<String>,
    pub detail: Option<Value>,
}

/// Runs the registry's jobs on their schedules.
#[derive(Clone)]
pub struct Scheduler {
    pool: PgPool,
    jobs: Arc<Vec<JobDefinition>>,
    alerts: AlertRouter,
    runner: String,
    dry_run: bool,
    /// Added to this machine's clock; tests use it to skew runners.
    pub clock_offset: time::Duration,
    pub tick: Duration,
}

impl Scheduler {
    pub fn new(
        pool: PgPool,
        jobs: Vec<JobDefinition>,
        alerts: AlertRouter,
        runner: String,
        dry_run: bool,
    ) -> Self {
        Self {
            pool,
            jobs: Arc::new(jobs),
            alerts,
            runner,
            dry_run,
            clock_offset: time::Duration::ZERO,
            tick: Duration::from_millis(500),
        }
    }

    pub fn jobs(&self) -> &[JobDefinition] {
        &self.jobs
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    /// The slot `now` falls in for a period: its start, as fixed-width RFC 3339 (so slots
    /// sort as text).
    pub fn slot_for(now: OffsetDateTime, period: Duration) -> String {
        const SLOT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let p = period.as_millis().max(1) as i128;
        let ms = now.unix_timestamp_nanos() / 1_000_000;
        let start = ms.div_euclid(p) * p;
        OffsetDateTime::from_unix_timestamp_nanos(start * 1_000_000)
            .ok()
            .and_then(|t| t.format(SLOT).ok())
            .unwrap_or_else(|| start.to_string())
    }

    /// Ticks until `shutdown`, claiming and running due slots. Runs in flight at shutdown
    /// are waited for up to their timeout.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut running = tokio::task::JoinSet::new();
        loop {
            for def in self.jobs.iter() {
                let Schedule::Every(period) = def.schedule else {
                    continue;
                };
                let slot = Self::slot_for(self.now(), period);
                match self.claim(def.name, &slot).await {
                    Ok(Some(claimed)) => {
                        let me = self.clone();
                        let def = def.clone();
                        running.spawn(async move {
                            me.execute(&def, claimed, slot).await;
                        });
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(job = def.name, error = %e, "claiming a slot failed"),
                }
            }
            while running.try_join_next().is_some() {}
            tokio::select! {
                () = tokio::time::sleep(self.tick) => {},
                () = &mut shutdown => break,
            }
        }
        while running.join_next().await.is_some() {}
    }

    /// Runs `name` now, outside its schedule (the slot is `manual:<uuid>`).
    pub async fn run_now(&self, name: &str, dry_run: bool) -> anyhow::Result<RunReport> {
        let def = self
            .jobs
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| anyhow::anyhow!("no scheduled job is named {name:?}"))?
            .clone();
        let slot = format!("manual:{}", uuid::Uuid::new_v4());
        let me = Self {
            dry_run: self.dry_run || dry_run,
            ..self.clone()
        };
        let claimed = me
            .claim(def.name, &slot)
            .await?
            .ok_or_else(|| anyhow::anyhow!("slot taken"))?;
        Ok(me.execute(&def, claimed, slot).await)
    }

    /// Claims `(job, slot)` with its run lock; `None` when another runner has it.
    async fn claim(&self, job: &str, slot: &str) -> Result<Option<Claimed>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        match db::runs::claim(&mut conn, job, slot, &self.runner, self.dry_run).await {
            Ok(Some(run)) => {
                if !run.locked {
                    tracing::warn!(
                        job,
                        run_id = run.id,
                        "another session holds this run's lock"
                    );
                }
                // The session holds the run lock now: it must never serve anyone else.
                Ok(Some(Claimed {
                    run_id: run.id,
                    conn: conn.detach(),
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                // It may have taken a run lock before failing: never pool that session.
                let _ = conn.detach().close().await;
                Err(e)
            }
        }
    }

    /// Runs one claimed slot and records how it went, on the connection that holds the run
    /// lock, which closes only afterwards. Never panics, never retries.
    async fn execute(&self, def: &JobDefinition, claimed: Claimed, slot: String) -> RunReport {
        let Claimed { run_id, mut conn } = claimed;
        let started = Instant::now();
        tracing::info!(job = def.name, slot = %slot, run_id, dry_run = self.dry_run, "scheduled job starting");
        let (outcome, error, detail) = match self.locked_run(def, &mut conn).await {
            Ok(r) => r,
            Err(e) => (Outcome::Failed, Some(format!("{e:#}")), None),
        };
        let duration = started.elapsed();
        let ms = duration.as_millis() as i64;
        let end = db::runs::Finish {
            status: outcome.status(),
            duration_ms: ms,
            error: error.as_deref(),
            detail: detail.as_ref(),
        };
        // While the run lock is held the row cannot look orphaned; if that session died,
        // the pool records it instead.
        let recorded = match db::runs::finish(&mut conn, run_id, &end).await {
            Ok(()) => Ok(()),
            Err(_) => db::runs::finish(&self.pool, run_id, &end).await,
        };
        if let Err(e) = recorded {
            tracing::error!(job = def.name, run_id, error = %e, "recording the run failed");
        }
        let _ = conn.close().await;
        let labels = [
            ("job", def.name.to_owned()),
            ("outcome", outcome.as_str().to_owned()),
        ];
        metrics::counter!("job_runs_total", &labels).increment(1);
        metrics::histogram!("job_duration_ms", "job" => def.name).record(ms as f64);
        match outcome {
            Outcome::Succeeded => {
                metrics::gauge!("job_last_success_timestamp_seconds", "job" => def.name)
                    .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
                tracing::info!(
                    job = def.name,
                    run_id,
                    duration_ms = ms,
                    "scheduled job succeeded"
                );
            }
            Outcome::SkippedOverlap => {
                tracing::info!(
                    job = def.name,
                    run_id,
                    "previous run still going: slot skipped"
                );
            }
            Outcome::Failed | Outcome::TimedOut => {
                metrics::counter!("job_failures_total", "job" => def.name).increment(1);
                let summary = error.clone().unwrap_or_else(|| outcome.as_str().into());
                tracing::error!(job = def.name, run_id, duration_ms = ms, error = %summary, "scheduled job failed");
                if let Err(e) = self.alerts.job_failed(def.name, &summary).await {
                    tracing::error!(job = def.name, error = %e, "alerting failed");
                }
            }
        }
        RunReport {
            run_id,
            job: def.name,
            slot,
            outcome,
            duration,
            error,
            detail,
        }
    }

    async fn locked_run(
        &self,
        def: &JobDefinition,
        conn: &mut PgConnection,
    ) -> anyhow::Result<(Outcome, Option<String>, Option<Value>)> {
        // The run's own connection, closed (never pooled) afterwards, so the session lock can
        // never leak to another user of the pool even if this task is cancelled.
        if !db::runs::try_lock(conn, def.lock_key).await? {
            return Ok((Outcome::SkippedOverlap, None, None));
        }
        let result = if self.dry_run && !def.dry_runs {
            tracing::info!(job = def.name, "dry run: not calling the job");
            (Outcome::Succeeded, None, Some(json!({ "dryRun": true })))
        } else {
            let ctx = RunContext {
                pool: self.pool.clone(),
                dry_run: self.dry_run,
            };
            let mut task = tokio::spawn((def.run)(ctx));
            match tokio::time::timeout(def.timeout, &mut task).await {
                Ok(Ok(Ok(detail))) => (Outcome::Succeeded, None, Some(detail)),
                Ok(Ok(Err(e))) => (Outcome::Failed, Some(format!("{e:#}")), None),
                Ok(Err(join)) => (
                    Outcome::Failed,
                    Some(format!("the job panicked: {join}")),
                    None,
                ),
                Err(_) => {
                    task.abort();
                    (
                        Outcome::TimedOut,
                        Some(format!("timed out after {} s", def.timeout.as_secs())),
                        None,
                    )
                }
            }
        };
        let _ = db::runs::unlock(conn, def.lock_key).await;
        Ok(result)
    }
}
