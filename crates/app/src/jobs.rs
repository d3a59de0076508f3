//! The admin's commands on jobs: trigger a REQUESTED job, retry a FAILED one. Running jobs
//! is the worker's; these only move a job into the queue.

use db::jobs::{self, Created, Job};
use domain::{JobKind, JobStatus};
use uuid::Uuid;

use crate::{ADMIN, Actor, AppError};

/// Triggers REQUESTED job `id`: it becomes PENDING and a worker picks it up.
#[tracing::instrument(skip_all, fields(job = %id))]
pub async fn trigger(pool: &db::PgPool, actor: &Actor, id: Uuid) -> Result<Job, AppError> {
    actor.require(ADMIN)?;
    let mut tx = pool.begin().await?;
    let job = jobs::lock(&mut tx, actor.tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("job"))?;
    if job.status != JobStatus::Requested {
        return Err(AppError::conflict(
            "not_requested",
            format!(
                "only a REQUESTED job can be triggered; this one is {}",
                job.status
            ),
        ));
    }
    let job = jobs::set_triggered(&mut tx, id, actor.user_id)
        .await?
        .ok_or_else(|| AppError::Corrupt(format!("job {id} changed under its row lock")))?;
    tx.commit().await?;
    Ok(job)
}

fn already_retried(id: Uuid) -> AppError {
    AppError::conflict(
        "already_retried",
        format!(
            "job {id} has been retried already; a job is retried once (retry its retry instead)"
        ),
    )
}

/// Retries FAILED job `id`: a new PENDING job doing the same work, with `retry_of` set.
/// The failed job stays exactly as it was, and has at most one retry.
#[tracing::instrument(skip_all, fields(job = %id))]
pub async fn retry(pool: &db::PgPool, actor: &Actor, id: Uuid) -> Result<Job, AppError> {
    actor.require(ADMIN)?;
    let mut tx = pool.begin().await?;
    let old = jobs::lock(&mut tx, actor.tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("job"))?;
    if old.status != JobStatus::Failed {
        return Err(AppError::conflict(
            "not_failed",
            format!(
                "only a FAILED job can be retried; this one is {}",
                old.status
            ),
        ));
    }
    // The row lock above queues concurrent retries of one job, so the one after the first
    // sees its retry here; the unique index is the guarantee behind this courtesy.
    if jobs::retry_of(&mut tx, old.id).await?.is_some() {
        return Err(already_retried(old.id));
    }
    let kind = JobKind::parse(&old.kind)
        .map_err(|e| AppError::Corrupt(format!("job {} has an unknown kind: {e}", old.id)))?;
    let created = match jobs::insert_retry(&mut tx, &old, &kind, actor.user_id).await {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some(jobs::ONE_RETRY_PER_JOB) => {
            return Err(already_retried(old.id));
        }
        other => other?,
    };
    match created {
        Created::New(job) => {
            tx.commit().await?;
            Ok(job)
        }
        Created::Existing(live) => Err(AppError::conflict(
            "already_active",
            format!(
                "job {} for the same target is already {}",
                live.id, live.status
            ),
        )),
    }
}
