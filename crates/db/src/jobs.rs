//! Durable jobs: creation, trigger, retry, the atomic claim, heartbeats, guarded finishes and
//! the reaper. Every transition writes its audit row in the same transaction.
//!
//! A claim moves one PENDING job to RUNNING with a fresh claim token and a lease, in one
//! statement. Every later write by the worker is guarded by id, claim token, RUNNING and an
//! unexpired lease, so a worker that lost its lease (paused, partitioned, reaped) changes
//! nothing.

use std::time::Duration;

use domain::{AuditAction, JobStatus};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::types::Stored;

/// The channel a worker LISTENs on to wake early when a job becomes PENDING.
pub const NOTIFY_CHANNEL: &str = "coursewright_jobs";

/// One job row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub status: JobStatus,
    pub target_type: String,
    pub target_id: String,
    pub instruction: Value,
    pub output_ref: Option<String>,
    pub error: Option<Value>,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub triggered_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub triggered_at: Option<OffsetDateTime>,
    pub claimed_by: Option<String>,
    /// The current claim's secret; never leaves the server.
    #[serde(skip)]
    pub claim_token: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub heartbeat_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub lease_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub retry_of: Option<Uuid>,
}

/// The index that lets a job be retried once (migration 0007).
pub const ONE_RETRY_PER_JOB: &str = "jobs_one_retry_per_job";

/// Where a new job starts: an admin's request awaits a trigger; direct work is PENDING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Requested,
    Pending,
}

#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub tenant_id: Uuid,
    pub kind: &'a domain::JobKind,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub instruction: Value,
    pub created_by: Option<Uuid>,
    pub start: Start,
}

/// The outcome of [`create`]: a double request finds the live job instead of making another.
#[derive(Debug, Clone)]
pub enum Created {
    New(Job),
    Existing(Job),
}

impl Created {
    pub fn job(&self) -> &Job {
        match self {
            Created::New(j) | Created::Existing(j) => j,
        }
    }
}

fn event(action: AuditAction, job: &Job, actor: Option<Uuid>, extra: Value) -> AuditEvent {
    let mut meta =
        json!({ "kind": job.kind, "targetType": job.target_type, "targetId": job.target_id });
    if let (Value::Object(m), Value::Object(e)) = (&mut meta, extra) {
        m.extend(e);
    }
    AuditEvent::new(action, "job", job.id)
        .tenant(job.tenant_id)
        .actor(actor)
        .metadata(meta)
}

async fn notify(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts a job, or returns the live job for the same kind and target.
pub async fn create(
    tx: &mut Transaction<'_, Postgres>,
    new: NewJob<'_>,
) -> Result<Created, sqlx::Error> {
    create_inner(tx, new, None).await
}

async fn create_inner(
    tx: &mut Transaction<'_, Postgres>,
    new: NewJob<'_>,
    retry_of: Option<Uuid>,
) -> Result<Created, sqlx::Error> {
    let status = match new.start {
        Start::Requested => JobStatus::Requested,
        Start::Pending => JobStatus::Pending,
    };
    // The conflict target is the partial unique index of live jobs (migration 0002), so its
    // predicate is spelled out as the index has it.
    let inserted = sqlx::query_as!(
        Job,
        r#"INSERT INTO jobs (id, tenant_id, kind, status, target_type, target_id, instruction, created_by, retry_of)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (tenant_id, kind, target_type, target_id)
             WHERE status IN ('REQUESTED', 'PENDING', 'RUNNING') DO NOTHING
           RETURNING id, tenant_id, kind, status AS "status: Stored<JobStatus>", target_type,
                     target_id, instruction, output_ref, error, created_by, created_at,
                     triggered_by, triggered_at, claimed_by, claim_token, started_at,
                     heartbeat_at, lease_expires_at, finished_at, retry_of"#,
        Uuid::new_v4(),
        new.tenant_id,
        new.kind.as_str(),
        status.as_str(),
        new.target_type,
        new.target_id,
        &new.instruction,
        new.created_by,
        retry_of
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(job) = inserted {
        let mut extra = json!({ "status": job.status });
        if let Some(r) = retry_of {
            extra["retryOf"] = json!(r);
        }
        audit::record(
            tx,
            event(AuditAction::RegenJobCreated, &job, new.created_by, extra),
        )
        .await;
        if status == JobStatus::Pending {
            notify(tx).await?;
        }
        return Ok(Created::New(job));
    }
    let live = sqlx::query_as!(
        Job,
        r#"SELECT id, tenant_id, kind, status AS "status: Stored<JobStatus>", target_type,
                  target_id, instruction, output_ref, error, created_by, created_at,
                  triggered_by, triggered_at, claimed_by, claim_token, started_at,
                  heartbeat_at, lease_expires_at, finished_at, retry_of
           FROM jobs
           WHERE tenant_id = $1 AND kind = $2 AND target_type = $3 AND target_id = $4
             AND status IN ('REQUESTED', 'PENDING', 'RUNNING')"#,
        new.tenant_id,
        new.kind.as_str(),
        new.target_type,
        new.target_id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Created::Existing(live))
}

/// A tenant's job; another tenant's is `None`, like a missing one.
pub async fn get(db: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        r#"SELECT id, tenant_id, kind, status AS "status: Stored<JobStatus>", target_type,
                  target_id, instruction, output_ref, error, created_by, created_at,
                  triggered_by, triggered_at, claimed_by, claim_token, started_at,
                  heartbeat_at, lease_expires_at, finished_at, retry_of
           FROM jobs WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    /// Keyset pagination: jobs created before this one.
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// A tenant's jobs, newest first.
pub async fn list(db: &PgPool, tenant_id: Uuid, f: &JobFilter) -> Result<Vec<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        r#"SELECT id, tenant_id, kind, status AS "status: Stored<JobStatus>", target_type,
                  target_id, instruction, output_ref, error, created_by, created_at,
                  triggered_by, triggered_at, claimed_by, claim_token, started_at,
                  heartbeat_at, lease_expires_at, finished_at, retry_of
           FROM jobs j
           WHERE tenant_id = $1
             AND ($2::text IS NULL OR status = $2)
             AND ($3::text IS NULL OR kind = $3)
             AND ($4::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM jobs WHERE id = $4 AND tenant_id = $1))
           ORDER BY created_at DESC, id DESC
           LIMIT $5"#,
        tenant_id,
        f.status.map(JobStatus::as_str),
        f.kind.as_deref(),
        f.before,
        f.limit
    )
    .fetch_all(db)
    .await
}

/// Job `id` of `tenant_id`, locked for a change until `tx` ends.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        r#"SELECT id, tenant_id, kind, status AS "status: Stored<JobStatus>", target_type,
                  target_id, instruction, output_ref, error, created_by, created_at,
                  triggered_by, triggered_at, claimed_by, claim_token, started_at,
                  heartbeat_at, lease_expires_at, finished_at, retry_of
           FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Moves REQUESTED job `id` to PENDING, as triggered by `actor`, with its audit row, and
/// wakes the workers. `None` when the job is not REQUESTED (any more).
pub async fn set_triggered(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    actor: Uuid,
) -> Result<Option<Job>, sqlx::Error> {
    let job = sqlx::query_as!(
        Job,
        r#"UPDATE jobs SET status = 'PENDING', triggered_by = $2, triggered_at = clock_timestamp()
           WHERE id = $1 AND status = 'REQUESTED'
           RETURNING id, tenant_id, kind, status AS "status: Stored<JobStatus>", target_type,
                     target_id, instruction, output_ref, error, created_by, created_at,
                     triggered_by, triggered_at, claimed_by, claim_token, started_at,
                     heartbeat_at, lease_expires_at, finished_at, retry_of"#,
        id,
        actor
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(job) = &job {
        audit::record(
            tx,
            event(AuditAction::RegenJobTriggered, job, Some(actor), json!({})),
        )
        .await;
        notify(tx).await?;
    }
    Ok(job)
}

/// The retry of job `id`, if it has one.
pub async fn retry_of(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM jobs WHERE retry_of = $1", id)
        .fetch_optional(&mut **tx)
        .await
}

/// A new PENDING job doing what `old` did, with `retry_of` set, and the audit row of the
/// retry when it was created. A second retry of one job violates [`ONE_RETRY_PER_JOB`].
pub async fn insert_retry(
    tx: &mut Transaction<'_, Postgres>,
    old: &Job,
    kind: &domain::JobKind,
    actor: Uuid,
) -> Result<Created, sqlx::Error> {
    let new = NewJob {
        tenant_id: old.tenant_id,
        kind,
        target_type: &old.target_type,
        target_id: &old.target_id,
        instruction: old.instruction.clone(),
        created_by: Some(actor),
        start: Start::Pending,
    };
    let created = create_inner(tx, new, Some(old.id)).await?;
    if let Created::New(job) = &created {
        audit::record(
            tx,
            event(
                AuditAction::RegenJobRetried,
                old,
                Some(actor),
                json!({ "retryJobId": job.id }),
            ),
        )
        .await;
    }
    Ok(created)
}

/// Claims the oldest PENDING job for `worker`, in one statement: status RUNNING, a fresh
/// claim token and a lease, with its audit rows. `None` when there is nothing to do.
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
) -> Result<Option<Job>, sqlx::Error> {
    claim_among(pool, worker, lease, None).await
}

/// [`claim`], limited to the jobs in `only` when given.
pub async fn claim_among(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
    only: Option<&[Uuid]>,
) -> Result<Option<Job>, sqlx::Error> {
    // A function's result columns are all nullable to the macros; these never are NULL in a
    // claimed job (the columns are NOT NULL in `jobs`).
    let row = sqlx::query!(
        r#"SELECT id AS "id!", tenant_id AS "tenant_id!", kind AS "kind!",
                  status AS "status!: Stored<JobStatus>", target_type AS "target_type!",
                  target_id AS "target_id!", instruction AS "instruction!", output_ref, error,
                  created_by, created_at AS "created_at!", triggered_by, triggered_at,
                  claimed_by, claim_token, started_at, heartbeat_at, lease_expires_at,
                  finished_at, retry_of, audit_ok AS "audit_ok!"
           FROM cw_claim_job($1, $2, $3)"#,
        worker,
        lease.as_secs_f64(),
        only
    )
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    if !r.audit_ok {
        audit::count_failure(
            "REGEN_JOB_LOCKED",
            &"the audit insert failed in cw_claim_job",
        );
    }
    Ok(Some(Job {
        id: r.id,
        tenant_id: r.tenant_id,
        kind: r.kind,
        status: r.status.0,
        target_type: r.target_type,
        target_id: r.target_id,
        instruction: r.instruction,
        output_ref: r.output_ref,
        error: r.error,
        created_by: r.created_by,
        created_at: r.created_at,
        triggered_by: r.triggered_by,
        triggered_at: r.triggered_at,
        claimed_by: r.claimed_by,
        claim_token: r.claim_token,
        started_at: r.started_at,
        heartbeat_at: r.heartbeat_at,
        lease_expires_at: r.lease_expires_at,
        finished_at: r.finished_at,
        retry_of: r.retry_of,
    }))
}

/// Reads a `cw_*_job` result: NULL means the claim was gone and nothing changed.
fn guarded(result: Option<bool>, action: &str) -> bool {
    match result {
        None => false,
        Some(audit_ok) => {
            if !audit_ok {
                audit::count_failure(action, &"the audit insert failed in the job function");
            }
            true
        }
    }
}

/// Extends the lease; false when the claim is no longer this worker's.
pub async fn heartbeat(
    pool: &PgPool,
    id: Uuid,
    token: Uuid,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE jobs SET heartbeat_at = clock_timestamp(),
                lease_expires_at = clock_timestamp() + make_interval(secs => $3)
         WHERE id = $1 AND claim_token = $2 AND status = 'RUNNING' AND lease_expires_at > clock_timestamp()",
        id,
        token,
        lease.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Where a completed job's output was stored.
#[derive(Debug, Clone)]
pub struct NewOutput {
    pub path: String,
    pub content_hash: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// Completes a job with its output and the drafts it produced, all or nothing, if the claim
/// still holds. Returns
/// false (and changes nothing) when it does not.
pub async fn complete(
    pool: &PgPool,
    id: Uuid,
    token: Uuid,
    output: &NewOutput,
    drafts: &[crate::artifacts::NewDraft],
) -> Result<bool, sqlx::Error> {
    let drafts = serde_json::to_value(drafts).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let r = sqlx::query_scalar!(
        "SELECT cw_complete_job($1, $2, $3, $4, $5, $6, $7)",
        id,
        token,
        &output.path,
        &output.content_hash,
        &output.content_type,
        output.size_bytes,
        drafts
    )
    .fetch_one(pool)
    .await?;
    Ok(guarded(r, "REGEN_JOB_COMPLETED"))
}

/// Fails a job with a structured error if the claim still holds; false otherwise.
pub async fn fail(
    pool: &PgPool,
    id: Uuid,
    token: Uuid,
    error: &Value,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!("SELECT cw_fail_job($1, $2, $3)", id, token, error)
        .fetch_one(pool)
        .await?;
    Ok(guarded(r, "REGEN_JOB_FAILED"))
}

/// Where a claimed job stands, read by its worker when it cannot tell whether a write of its
/// committed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimState {
    pub status: JobStatus,
    pub claim_token: Option<Uuid>,
    pub output_ref: Option<String>,
    pub error: Option<Value>,
    /// The lease is unexpired by the database's clock (every guarded write checks the same).
    pub lease_live: bool,
}

/// Reads a job's claim under a share lock, so a write still in flight for it (a completion
/// whose reply was lost, say) has committed or rolled back before the answer is given. Waits
/// at most five seconds for that lock.
pub async fn claim_state(pool: &PgPool, id: Uuid) -> Result<Option<ClaimState>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET LOCAL lock_timeout = '5s'")
        .execute(&mut *tx)
        .await?;
    let state = sqlx::query_as!(
        ClaimState,
        r#"SELECT status AS "status: Stored<JobStatus>", claim_token, output_ref, error,
                  coalesce(lease_expires_at > clock_timestamp(), false) AS "lease_live!"
           FROM jobs WHERE id = $1 FOR SHARE"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(state)
}

/// Marks RUNNING jobs whose lease expired as FAILED (`worker_lost`). They are never re-run.
pub async fn reap(pool: &PgPool) -> Result<Vec<Job>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // 'RUNNING' stays a literal: it is the predicate of the partial index jobs_lease_idx,
    // which a bind parameter would keep a generic plan from using.
    let jobs = sqlx::query_as!(
        Job,
        r#"UPDATE jobs SET status = 'FAILED', finished_at = clock_timestamp(),
                  error = jsonb_build_object(
                    'code', 'worker_lost',
                    'message', 'the worker stopped renewing its lease; the job was not re-run',
                    'worker', claimed_by,
                    'leaseExpiredAt', lease_expires_at)
           WHERE status = 'RUNNING' AND lease_expires_at <= clock_timestamp()
           RETURNING id, tenant_id, kind, status AS "status: Stored<JobStatus>", target_type,
                     target_id, instruction, output_ref, error, created_by, created_at,
                     triggered_by, triggered_at, claimed_by, claim_token, started_at,
                     heartbeat_at, lease_expires_at, finished_at, retry_of"#,
    )
    .fetch_all(&mut *tx)
    .await?;
    for job in &jobs {
        audit::record(
            &mut tx,
            event(
                AuditAction::RegenJobFailed,
                job,
                None,
                json!({ "code": "worker_lost" }),
            ),
        )
        .await;
    }
    tx.commit().await?;
    Ok(jobs)
}

/// How many jobs wait in one live status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depth {
    pub status: JobStatus,
    pub jobs: i64,
}

/// How many jobs are in each live status that has any, for `jobs_queue_depth`.
pub async fn queue_depth(pool: &PgPool) -> Result<Vec<Depth>, sqlx::Error> {
    sqlx::query_as!(
        Depth,
        r#"SELECT status AS "status: Stored<JobStatus>", count(*) AS "jobs!" FROM jobs
           WHERE status IN ('REQUESTED', 'PENDING', 'RUNNING') GROUP BY status"#
    )
    .fetch_all(pool)
    .await
}

/// The stored output of a job, if it completed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub path: String,
    pub content_hash: String,
    pub content_type: String,
    pub size_bytes: i64,
}

pub async fn output_of(
    pool: &PgPool,
    tenant_id: Uuid,
    job_id: Uuid,
) -> Result<Option<Output>, sqlx::Error> {
    sqlx::query_as!(
        Output,
        "SELECT path, content_hash, content_type, size_bytes FROM job_outputs
         WHERE tenant_id = $1 AND job_id = $2",
        tenant_id,
        job_id
    )
    .fetch_optional(pool)
    .await
}

/// Of these stored job objects (each with the job its path names, or the nil id), those no
/// job output references and whose job is not live (or does not exist): nothing can ever
/// reference them, since only a RUNNING job's completion writes an output.
pub async fn unreferenced_objects(
    pool: &PgPool,
    paths: &[String],
    job_ids: &[Uuid],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT o.path AS "path!"
           FROM unnest($1::text[], $2::uuid[]) AS o (path, job_id)
           WHERE NOT EXISTS (SELECT 1 FROM job_outputs r WHERE r.path = o.path)
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = o.job_id
                             AND j.status IN ('REQUESTED', 'PENDING', 'RUNNING'))"#,
        paths,
        job_ids
    )
    .fetch_all(pool)
    .await
}

/// A job as a course's pages list it.
#[derive(Debug, Clone)]
pub struct JobLine {
    pub id: Uuid,
    pub kind: String,
    pub status: JobStatus,
    pub target_id: String,
}

/// The jobs that drafted a syllabus (its brief's) and its content (its modules'), newest
/// first.
pub async fn for_syllabus(
    db: impl sqlx::PgExecutor<'_>,
    tenant_id: Uuid,
    brief_id: String,
    syllabus_id: Uuid,
) -> Result<Vec<JobLine>, sqlx::Error> {
    let modules = format!("{syllabus_id}/%");
    sqlx::query_as!(
        JobLine,
        r#"SELECT id, kind, status AS "status: Stored<JobStatus>", target_id FROM jobs
           WHERE tenant_id = $1 AND ((target_type = 'brief' AND target_id = $2)
                                     OR (target_type = 'syllabus_module' AND target_id LIKE $3))
           ORDER BY created_at DESC LIMIT 50"#,
        tenant_id,
        brief_id,
        modules
    )
    .fetch_all(db)
    .await
}

/// A queued or running regeneration of any version of a lineage, if there is one: its
/// draft would land on top of whatever is newest when it finishes.
pub async fn live_regeneration(
    db: impl sqlx::PgExecutor<'_>,
    tenant_id: Uuid,
    lineage_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT j.id FROM jobs j JOIN artifacts a ON a.id::text = j.target_id
           WHERE j.tenant_id = $1 AND j.target_type = 'artifact' AND a.lineage_id = $2
             AND j.status IN ('REQUESTED', 'PENDING', 'RUNNING')
           ORDER BY j.created_at LIMIT 1"#,
        tenant_id,
        lineage_id
    )
    .fetch_optional(db)
    .await
}

/// What a job works on, as a page names it: the title of its course, syllabus or part, and
/// the page that shows it.
#[derive(Debug, Clone)]
pub struct TargetTitle {
    pub id: Uuid,
    pub title: Option<String>,
    pub href: Option<String>,
}

/// [`TargetTitle`]s of a tenant's jobs. A target id that is not a UUID names nothing.
pub async fn target_titles(
    db: impl sqlx::PgExecutor<'_>,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<TargetTitle>, sqlx::Error> {
    sqlx::query_as!(
        TargetTitle,
        r#"SELECT j.id AS "id!",
                  CASE j.target_type
                    WHEN 'brief' THEN (SELECT c.title FROM courses c WHERE c.brief_id = CASE WHEN j.target_id ~ '^[0-9a-fA-F-]{36}$' THEN j.target_id::uuid END)
                    WHEN 'artifact' THEN (SELECT a.title FROM artifacts a WHERE a.id = CASE WHEN j.target_id ~ '^[0-9a-fA-F-]{36}$' THEN j.target_id::uuid END)
                    WHEN 'syllabus_module' THEN
                      (SELECT s.title || ' · module ' || split_part(j.target_id, '/', 2) FROM artifacts s
                        WHERE s.id = CASE WHEN split_part(j.target_id, '/', 1) ~ '^[0-9a-fA-F-]{36}$' THEN split_part(j.target_id, '/', 1)::uuid END)
                  END AS title,
                  CASE j.target_type
                    WHEN 'brief' THEN (SELECT '/admin/courses/' || c.id FROM courses c WHERE c.brief_id = CASE WHEN j.target_id ~ '^[0-9a-fA-F-]{36}$' THEN j.target_id::uuid END)
                    WHEN 'artifact' THEN
                      (SELECT CASE WHEN a.kind = 'SYLLABUS' THEN '/admin/syllabi/' ELSE '/admin/content/' END || a.id
                         FROM artifacts a WHERE a.id = CASE WHEN j.target_id ~ '^[0-9a-fA-F-]{36}$' THEN j.target_id::uuid END)
                    WHEN 'syllabus_module' THEN
                      '/admin/syllabi/' || split_part(j.target_id, '/', 1) || '#module-' || split_part(j.target_id, '/', 2)
                  END AS href
           FROM jobs j WHERE j.tenant_id = $1 AND j.id = ANY($2)"#,
        tenant_id,
        ids
    )
    .fetch_all(db)
    .await
}
