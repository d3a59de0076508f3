//! The job worker: claims PENDING jobs, runs their executors without holding a transaction,
//! renews the lease by heartbeat, and finishes each job through a guarded write.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use db::jobs::{self, Job, NewOutput};
use domain::JobStatus;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use store::Objects;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::executor::{JobFailure, JobInput, JobOutput, Registry};

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in `claimed_by` and the logs.
    pub id: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim holds without a heartbeat; heartbeats come every third of it.
    pub lease: Duration,
    /// How often to look for work when no notification arrives.
    pub poll_interval: Duration,
    /// On shutdown, how long running jobs may take to finish before they are abandoned
    /// (their leases then expire and the reaper fails them).
    pub grace: Duration,
    /// How long a finish keeps trying, with back-off, while the database is unreachable: to
    /// record a failure, or to find out whether a completion whose reply was lost committed.
    /// Past it the job is left to the reaper (`worker_lost`) and any output to the orphan sweep.
    pub finish_retry: Duration,
}

/// How often a running worker says it is alive (`worker_heartbeats`).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Renews the worker's heartbeat every [`HEARTBEAT`] until aborted; a failed write is
/// logged and tried again next time.
async fn beat_forever(pool: sqlx::PgPool, worker: String, concurrency: i32) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        if let Err(e) = db::workers::beat(&pool, &worker, concurrency).await {
            tracing::warn!(error = %e, "worker heartbeat failed");
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            id: format!("worker-{}", std::process::id()),
            concurrency: 4,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            grace: Duration::from_secs(30),
            finish_retry: Duration::from_secs(60),
        }
    }
}

/// How one job ended, as far as this worker knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Completed,
    Failed(String),
    /// The claim was lost (lease expired, reaped): nothing this worker produced is visible.
    Abandoned,
}

/// Cheap to clone: every job's task holds one.
#[derive(Clone)]
pub struct Worker(Arc<Inner>);

struct Inner {
    pool: PgPool,
    registry: Registry,
    objects: Objects,
    config: WorkerConfig,
}

/// A claimed job whose executor has returned (or never started). What is left is the finish:
/// storing the output and the guarded write that completes or fails the job, in its own
/// transaction. The worker's slot is free again at this point, so the next claim overlaps
/// this job's finish instead of waiting for its commit.
#[must_use = "a job that ran must be finished, or its lease runs out and the reaper fails it"]
pub struct Ran {
    worker: Worker,
    job: Job,
    outcome: Outcome,
    started: Instant,
}

enum Outcome {
    Output(JobOutput),
    Failure(JobFailure),
    /// The claim was lost (or the job had no token): there is nothing to write.
    Lost,
}

impl Ran {
    /// Stores the output and completes the job, or fails it, through a guarded write.
    pub async fn finish(self) -> Finished {
        let Ran {
            worker,
            job,
            outcome,
            started,
        } = self;
        let finished = match (job.claim_token, outcome) {
            (Some(token), Outcome::Output(output)) => worker.complete(&job, token, &output).await,
            (Some(token), Outcome::Failure(failure)) => worker.fail(&job, token, failure).await,
            (None, _) | (_, Outcome::Lost) => Finished::Abandoned,
        };
        let outcome = match &finished {
            Finished::Completed => "completed",
            Finished::Failed(_) => "failed",
            Finished::Abandoned => "abandoned",
        };
        metrics::counter!("jobs_executed_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("job_execution_seconds", "kind" => job.kind)
            .record(started.elapsed().as_secs_f64());
        finished
    }
}

impl Worker {
    pub fn new(pool: PgPool, registry: Registry, objects: Objects, config: WorkerConfig) -> Self {
        Self(Arc::new(Inner {
            pool,
            registry,
            objects,
            config,
        }))
    }

    /// Claims and runs jobs until `shutdown` resolves, then stops claiming and gives running
    /// jobs the grace period to finish.
    ///
    /// A slot is taken by a job from its claim until its executor returns; the finish (output
    /// and guarded completion, one commit) then goes on without the slot, so the next claim
    /// overlaps it. At most `concurrency` finishes wait at once, so a slow database holds
    /// claims back instead of piling up finished work.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let mut listener = match PgListener::connect_with(&self.0.pool).await {
            Ok(mut l) => match l.listen(jobs::NOTIFY_CHANNEL).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no LISTEN connection; polling only");
                None
            }
        };
        let concurrency = self.0.config.concurrency.max(1);
        let slots = Arc::new(Semaphore::new(concurrency));
        let finishing = Arc::new(Semaphore::new(concurrency));
        let mut running = JoinSet::new();
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.0.config.id, concurrency, kinds = ?self.0.registry.kinds(), "worker started");
        let beating = tokio::spawn(beat_forever(
            self.0.pool.clone(),
            self.0.config.id.clone(),
            i32::try_from(concurrency).unwrap_or(i32::MAX),
        ));
        loop {
            while running.try_join_next().is_some() {}
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p?,
                () = &mut shutdown => break,
            };
            match jobs::claim(&self.0.pool, &self.0.config.id, self.0.config.lease).await {
                Ok(Some(job)) => {
                    let me = self.clone();
                    let finishing = finishing.clone();
                    running.spawn(async move {
                        let ran = me.run_executor(job).await;
                        let _finishing = finishing.acquire_owned().await;
                        drop(permit);
                        ran.finish().await;
                    });
                    continue;
                }
                Ok(None) => drop(permit),
                Err(e) => {
                    drop(permit);
                    tracing::error!(error = %e, "claim failed");
                }
            }
            // Nothing to do: wait for a notification, the poll interval, or shutdown.
            let wake = async {
                match listener.as_mut() {
                    Some(l) => {
                        if let Err(e) = l.recv().await {
                            tracing::warn!(error = %e, "LISTEN connection lost; it reconnects");
                            tokio::time::sleep(self.0.config.poll_interval).await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = wake => {},
                () = tokio::time::sleep(self.0.config.poll_interval) => {},
                () = &mut shutdown => break,
            }
        }
        let n = running.len();
        if n > 0 {
            tracing::info!(
                running = n,
                grace_s = self.0.config.grace.as_secs(),
                "stopping: letting running jobs finish"
            );
        }
        let drained = tokio::time::timeout(self.0.config.grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = running.len(),
                "grace period over: abandoning running jobs to the reaper"
            );
            running.abort_all();
        }
        beating.abort();
        if let Err(e) = db::workers::stopped(&self.0.pool, &self.0.config.id).await {
            tracing::warn!(error = %e, "could not remove this worker's heartbeat; it goes stale");
        }
        Ok(())
    }

    /// Claims and runs at most one job; for tests and `--once` style drivers.
    pub async fn run_one(&self) -> anyhow::Result<Option<(Job, Finished)>> {
        self.run_one_of(None).await
    }

    /// [`Worker::run_one`], limited to the jobs in `only` when given: a command that waits
    /// for the jobs it created runs those and nobody else's.
    pub async fn run_one_of(
        &self,
        only: Option<&[Uuid]>,
    ) -> anyhow::Result<Option<(Job, Finished)>> {
        let (pool, config) = (&self.0.pool, &self.0.config);
        let Some(job) = jobs::claim_among(pool, &config.id, config.lease, only).await? else {
            return Ok(None);
        };
        let finished = self.execute(job.clone()).await;
        Ok(Some((job, finished)))
    }

    /// Runs one claimed job to its end: [`Worker::run_executor`], then [`Ran::finish`].
    #[tracing::instrument(name = "job", skip_all, fields(job = %job.id, kind = %job.kind, tenant = %job.tenant_id))]
    pub async fn execute(&self, job: Job) -> Finished {
        self.run_executor(job).await.finish().await
    }

    /// Runs a claimed job's executor, renewing the lease by heartbeat meanwhile, and returns
    /// once it is done (or timed out, panicked, or the claim was lost). No transaction is
    /// open meanwhile; nothing is written until [`Ran::finish`].
    pub async fn run_executor(&self, job: Job) -> Ran {
        let started = Instant::now();
        let outcome = self.run_inner(&job).await;
        Ran {
            worker: self.clone(),
            job,
            outcome,
            started,
        }
    }

    async fn run_inner(&self, job: &Job) -> Outcome {
        let Some(token) = job.claim_token else {
            return Outcome::Lost;
        };
        let Some(executor) = self.0.registry.get(&job.kind) else {
            return Outcome::Failure(
                JobFailure::new(
                    "unknown_kind",
                    format!("no executor is registered for kind {}", job.kind),
                )
                .with_details(json!({ "known": self.0.registry.kinds() })),
            );
        };
        let input = JobInput {
            job_id: job.id,
            tenant_id: job.tenant_id,
            kind: job.kind.clone(),
            target_type: job.target_type.clone(),
            target_id: job.target_id.clone(),
            instruction: job.instruction.clone(),
        };
        let timeout = executor.timeout();
        // Its own task, so a panic is caught as a JoinError rather than taking us down.
        let mut work = tokio::spawn(async move { executor.run(input).await });
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        // Heartbeats from this task rather than one of their own: no extra task and channels
        // per job, and a heartbeat that finds the claim gone stops the job at once.
        let lease = self.0.config.lease;
        let every = (lease / 3).max(Duration::from_millis(50));
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let joined = loop {
            tokio::select! {
                biased;
                r = &mut work => break r,
                () = &mut deadline => {
                    work.abort();
                    return Outcome::Failure(JobFailure::new(
                        "timeout",
                        format!("the job ran longer than {} s", timeout.as_secs()),
                    ));
                }
                _ = beat.tick() => match jobs::heartbeat(&self.0.pool, job.id, token, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        work.abort();
                        tracing::warn!(job = %job.id, "lease lost while running: abandoning the job");
                        return Outcome::Lost;
                    }
                    Err(e) => tracing::warn!(error = %e, job = %job.id, "heartbeat failed; retrying"),
                },
            }
        };
        match joined {
            Ok(Ok(output)) => Outcome::Output(output),
            Ok(Err(failure)) => Outcome::Failure(failure),
            Err(join) => {
                let message = if join.is_panic() {
                    let p = join.into_panic();
                    p.downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "the executor panicked".into())
                } else {
                    "the executor was cancelled".into()
                };
                Outcome::Failure(JobFailure::new("panic", message))
            }
        }
    }

    async fn complete(&self, job: &Job, token: Uuid, output: &JobOutput) -> Finished {
        let bytes = match serde_json::to_vec(&output.value) {
            Ok(b) => b,
            Err(e) => {
                return self
                    .fail(job, token, JobFailure::new("invalid_output", e.to_string()))
                    .await;
            }
        };
        let stored = match self
            .0
            .objects
            .put(&format!("jobs/{}", job.id), "json", bytes)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                return self
                    .fail(job, token, JobFailure::new("storage_error", e.to_string()))
                    .await;
            }
        };
        let record = NewOutput {
            path: stored.path.clone(),
            content_hash: stored.content_hash,
            content_type: "application/json".into(),
            size_bytes: stored.size_bytes,
        };
        match jobs::complete(&self.0.pool, job.id, token, &record, &output.drafts).await {
            Ok(true) => Finished::Completed,
            Ok(false) => {
                // Our claim is gone: the object is referenced by nothing; remove it.
                let _ = self.0.objects.delete(&stored.path).await;
                tracing::warn!(job = %job.id, "claim lost before completion: output discarded");
                Finished::Abandoned
            }
            Err(e) => self.settle_completion(job, token, &record, output, e).await,
        }
    }

    /// After an error from the completing write, which may have committed with only its reply
    /// lost: reads the job again (retrying while the database is unreachable) and keeps the
    /// stored object unless the job provably never references it. A COMPLETED job never
    /// loses its output.
    async fn settle_completion(
        &self,
        job: &Job,
        token: Uuid,
        record: &NewOutput,
        output: &JobOutput,
        error: sqlx::Error,
    ) -> Finished {
        tracing::warn!(job = %job.id, error = %error, "completing the job failed or its reply was lost: reading the job again");
        let mut last = error;
        let mut backoff = Backoff::new(self.0.config.finish_retry);
        loop {
            match jobs::claim_state(&self.0.pool, job.id).await {
                Ok(Some(state)) if state.status == JobStatus::Completed => {
                    if state.output_ref.as_deref() == Some(record.path.as_str()) {
                        tracing::info!(job = %job.id, "the completion had committed: output kept");
                        return Finished::Completed;
                    }
                    return self
                        .discard(job, &record.path, "completed with another output")
                        .await;
                }
                Ok(Some(state))
                    if state.status == JobStatus::Running
                        && state.claim_token == Some(token)
                        && state.lease_live =>
                {
                    // Not committed, and under the share lock nothing of ours is in flight.
                    if !is_transient(&last) {
                        // The database refused the completion itself; it would refuse it again.
                        let finished = self
                            .fail(
                                job,
                                token,
                                JobFailure::new("storage_error", last.to_string()),
                            )
                            .await;
                        if matches!(finished, Finished::Failed(_)) {
                            let _ = self.0.objects.delete(&record.path).await;
                        }
                        return finished;
                    }
                    match jobs::complete(&self.0.pool, job.id, token, record, &output.drafts).await
                    {
                        Ok(true) => return Finished::Completed,
                        // The claim moved meanwhile: the next read says where to.
                        Ok(false) => {}
                        Err(e) => last = e,
                    }
                }
                // FAILED (reaped), another claim, or our lease expired, after which no guarded
                // write of ours can commit: the object is referenced by nothing, ever.
                Ok(_) => return self.discard(job, &record.path, "claim lost").await,
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "reading the job failed; retrying");
                }
            }
            if !backoff.wait().await {
                metrics::counter!("job_finish_unsettled_total", "write" => "complete").increment(1);
                tracing::error!(job = %job.id, path = %record.path, "could not learn whether the completion committed: output kept for the orphan sweep, job left to the reaper");
                return Finished::Abandoned;
            }
        }
    }

    async fn discard(&self, job: &Job, path: &str, why: &str) -> Finished {
        let _ = self.0.objects.delete(path).await;
        tracing::warn!(job = %job.id, why, "the completion did not commit: output discarded");
        Finished::Abandoned
    }

    /// Records the failure through the guarded write, retrying while the database is
    /// unreachable so that an outage does not turn the real reason into `worker_lost`.
    async fn fail(&self, job: &Job, token: Uuid, failure: JobFailure) -> Finished {
        tracing::warn!(job = %job.id, kind = %job.kind, code = %failure.code, message = %failure.message, "job failed");
        let error = failure.to_json();
        let mut backoff = Backoff::new(self.0.config.finish_retry);
        let mut uncertain = false;
        loop {
            match jobs::fail(&self.0.pool, job.id, token, &error).await {
                Ok(true) => return Finished::Failed(failure.code),
                Ok(false) if uncertain => {
                    // An earlier attempt may have committed with its reply lost.
                    let ours = jobs::claim_state(&self.0.pool, job.id)
                        .await
                        .ok()
                        .flatten()
                        .is_some_and(|s| {
                            s.status == JobStatus::Failed && s.error.as_ref() == Some(&error)
                        });
                    return if ours {
                        Finished::Failed(failure.code)
                    } else {
                        Finished::Abandoned
                    };
                }
                Ok(false) => return Finished::Abandoned,
                Err(e) if is_transient(&e) => {
                    uncertain = true;
                    tracing::warn!(job = %job.id, error = %e, "recording the failure failed; retrying");
                    if !backoff.wait().await {
                        metrics::counter!("job_finish_unsettled_total", "write" => "fail")
                            .increment(1);
                        tracing::error!(job = %job.id, code = %failure.code, "the database stayed unreachable: the failure is unrecorded and the reaper will fail the job as worker_lost");
                        return Finished::Abandoned;
                    }
                }
                Err(e) => {
                    tracing::error!(job = %job.id, error = %e, "recording the failure failed; the reaper will fail the job");
                    return Finished::Abandoned;
                }
            }
        }
    }
}

/// Whether an error may say nothing about the statement: the connection or the server went
/// away, or the write lost a race it can win on another try.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            // Connection exceptions, operator intervention (shutdown, terminated backend),
            // insufficient resources, serialization failures and deadlocks.
            c.starts_with("08")
                || c.starts_with("57P")
                || c.starts_with("53")
                || c == "40001"
                || c == "40P01"
        }),
        _ => false,
    }
}

/// Exponential back-off within a budget, for writes retried while the database is away.
struct Backoff {
    next: Duration,
    deadline: Instant,
}

impl Backoff {
    fn new(budget: Duration) -> Self {
        Self {
            next: Duration::from_millis(100),
            deadline: Instant::now() + budget,
        }
    }

    /// Waits before the next attempt; false, without waiting, once the budget is spent.
    async fn wait(&mut self) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(self.next.min(left)).await;
        self.next = (self.next * 2).min(Duration::from_secs(5));
        true
    }
}
