//! The job worker: claims PENDING jobs, runs their executors without holding a transaction,
//! renews the lease by heartbeat, and finishes each job through a guarded write.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use db::jobs::{self, Job, NewOutput};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use store::Objects;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::executor::{JobFailure, JobInput, Registry};

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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            id: format!("worker-{}", std::process::id()),
            concurrency: 4,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            grace: Duration::from_secs(30),
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

#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    registry: Registry,
    objects: Objects,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(pool: PgPool, registry: Registry, objects: Objects, config: WorkerConfig) -> Self {
        Self {
            pool,
            registry,
            objects,
            config,
        }
    }

    /// Claims and runs jobs until `shutdown` resolves, then stops claiming and gives running
    /// jobs the grace period to finish.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
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
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut running = JoinSet::new();
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.config.id, concurrency = self.config.concurrency, kinds = ?self.registry.kinds(), "worker started");
        loop {
            while running.try_join_next().is_some() {}
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p?,
                () = &mut shutdown => break,
            };
            match jobs::claim(&self.pool, &self.config.id, self.config.lease).await {
                Ok(Some(job)) => {
                    let me = self.clone();
                    running.spawn(async move {
                        let _permit = permit;
                        me.execute(job).await;
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
                            tokio::time::sleep(self.config.poll_interval).await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = wake => {},
                () = tokio::time::sleep(self.config.poll_interval) => {},
                () = &mut shutdown => break,
            }
        }
        let n = running.len();
        if n > 0 {
            tracing::info!(
                running = n,
                grace_s = self.config.grace.as_secs(),
                "stopping: letting running jobs finish"
            );
        }
        let drained = tokio::time::timeout(self.config.grace, async {
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
        Ok(())
    }

    /// Claims and runs at most one job; for tests and `--once` style drivers.
    pub async fn run_one(&self) -> anyhow::Result<Option<(Job, Finished)>> {
        let Some(job) = jobs::claim(&self.pool, &self.config.id, self.config.lease).await? else {
            return Ok(None);
        };
        let finished = self.execute(job.clone()).await;
        Ok(Some((job, finished)))
    }

    /// Runs one claimed job to its end.
    pub async fn execute(&self, job: Job) -> Finished {
        let started = Instant::now();
        let kind = job.kind.clone();
        let finished = self.execute_inner(job).await;
        let outcome = match &finished {
            Finished::Completed => "completed",
            Finished::Failed(_) => "failed",
            Finished::Abandoned => "abandoned",
        };
        metrics::counter!("jobs_executed_total", "kind" => kind.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("job_execution_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        finished
    }

    async fn execute_inner(&self, job: Job) -> Finished {
        let Some(token) = job.claim_token else {
            return Finished::Abandoned;
        };
        let span = tracing::info_span!("job", id = %job.id, kind = %job.kind);
        let _enter = span.enter();
        drop(_enter);

        let Some(executor) = self.registry.get(&job.kind) else {
            let failure = JobFailure::new(
                "unknown_kind",
                format!("no executor is registered for kind {}", job.kind),
            )
            .with_details(json!({ "known": self.registry.kinds() }));
            return self.fail(&job, token, failure).await;
        };

        // Heartbeats until told to stop; says so when the claim is gone.
        let (lost_tx, mut lost_rx) = watch::channel(false);
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let heartbeat = {
            let pool = self.pool.clone();
            let lease = self.config.lease;
            let id = job.id;
            tokio::spawn(async move {
                let every = (lease / 3).max(Duration::from_millis(50));
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(every) => {},
                        _ = stop_rx.changed() => return,
                    }
                    match jobs::heartbeat(&pool, id, token, lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let _ = lost_tx.send(true);
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, job = %id, "heartbeat failed; retrying")
                        }
                    }
                }
            })
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
        let result = tokio::select! {
            r = tokio::time::timeout(timeout, &mut work) => Some(r),
            _ = lost_rx.changed() => None,
        };
        let _ = stop_tx.send(true);
        let _ = heartbeat.await;

        let result = match result {
            None => {
                work.abort();
                tracing::warn!(job = %job.id, "lease lost while running: abandoning the job");
                return Finished::Abandoned;
            }
            Some(r) => r,
        };
        match result {
            Err(_) => {
                work.abort();
                let f = JobFailure::new(
                    "timeout",
                    format!("the job ran longer than {} s", timeout.as_secs()),
                );
                self.fail(&job, token, f).await
            }
            Ok(Err(join)) => {
                let message = if join.is_panic() {
                    let p = join.into_panic();
                    p.downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "the executor panicked".into())
                } else {
                    "the executor was cancelled".into()
                };
                self.fail(&job, token, JobFailure::new("panic", message))
                    .await
            }
            Ok(Ok(Err(failure))) => self.fail(&job, token, failure).await,
            Ok(Ok(Ok(output))) => self.complete(&job, token, &output).await,
        }
    }

    async fn complete(
        &self,
        job: &Job,
        token: uuid::Uuid,
        output: &crate::executor::JobOutput,
    ) -> Finished {
        let bytes = match serde_json::to_vec(&output.value) {
            Ok(b) => b,
            Err(e) => {
                return self
                    .fail(job, token, JobFailure::new("invalid_output", e.to_string()))
                    .await;
            }
        };
        let stored = match self
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
        match jobs::complete(&self.pool, job.id, token, &record, &output.drafts).await {
            Ok(true) => Finished::Completed,
            Ok(false) => {
                // Our claim is gone: the object is referenced by nothing; remove it.
                let _ = self.objects.delete(&stored.path).await;
                tracing::warn!(job = %job.id, "claim lost before completion: output discarded");
                Finished::Abandoned
            }
            Err(e) => {
                let _ = self.objects.delete(&stored.path).await;
                tracing::error!(job = %job.id, error = %e, "completing the job failed");
                self.fail(job, token, JobFailure::new("storage_error", e.to_string()))
                    .await
            }
        }
    }

    async fn fail(&self, job: &Job, token: uuid::Uuid, failure: JobFailure) -> Finished {
        tracing::warn!(job = %job.id, kind = %job.kind, code = %failure.code, message = %failure.message, "job failed");
        match jobs::fail(&self.pool, job.id, token, &failure.to_json()).await {
            Ok(true) => Finished::Failed(failure.code),
            Ok(false) => Finished::Abandoned,
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "recording the failure failed; the reaper will fail the job");
                Finished::Abandoned
            }
        }
    }
}
