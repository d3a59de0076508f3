//! Briefs and generated artifacts (syllabi, lessons, quizzes, projects) with their review.

use domain::AuditAction;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditEvent};
use crate::jobs::JobError;

/// One artifact row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub syllabus_id: Option<Uuid>,
    pub brief_id: Option<Uuid>,
    pub ref_id: String,
    pub module_id: Option<String>,
    pub lineage_id: Uuid,
    pub version: i32,
    pub parent_id: Option<Uuid>,
    pub status: String,
    pub title: String,
    pub body: Value,
    pub provenance: Value,
    pub content_hash: String,
    pub job_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub reviewed_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reviewed_at: Option<OffsetDateTime>,
    pub review_note: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, kind, syllabus_id, brief_id, ref_id, module_id, lineage_id, version, \
     parent_id, status, title, body, provenance, content_hash, job_id, created_by, created_at, \
     reviewed_by, reviewed_at, review_note";

fn from_row(r: &sqlx::postgres::PgRow) -> Result<Artifact, sqlx::Error> {
    Ok(Artifact {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        kind: r.try_get("kind")?,
        syllabus_id: r.try_get("syllabus_id")?,
        brief_id: r.try_get("brief_id")?,
        ref_id: r.try_get("ref_id")?,
        module_id: r.try_get("module_id")?,
        lineage_id: r.try_get("lineage_id")?,
        version: r.try_get("version")?,
        parent_id: r.try_get("parent_id")?,
        status: r.try_get("status")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        provenance: r.try_get("provenance")?,
        content_hash: r.try_get("content_hash")?,
        job_id: r.try_get("job_id")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        reviewed_by: r.try_get("reviewed_by")?,
        reviewed_at: r.try_get("reviewed_at")?,
        review_note: r.try_get("review_note")?,
    })
}

/// A draft to insert, as the job-completion function takes it.
#[derive(Debug, Clone, Serialize)]
pub struct NewDraft {
    pub id: Uuid,
    pub kind: &'static str,
    pub syllabus_id: Option<Uuid>,
    pub brief_id: Option<Uuid>,
    pub ref_id: String,
    pub module_id: Option<String>,
    pub lineage_id: Uuid,
    pub version: i32,
    pub parent_id: Option<Uuid>,
    pub title: String,
    pub body: Value,
    pub provenance: Value,
    pub content_hash: String,
}

/// The SHA-256 (hex) of an artifact body's canonical JSON.
pub fn body_hash(body: &Value) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        domain::canonical_json(body).as_bytes(),
    ))
}

/// Stores a brief; the caller enqueues its generation in the same transaction.
pub async fn create_brief(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    body: &Value,
    actor: Uuid,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO briefs (id, tenant_id, body, created_by) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(tenant_id)
        .bind(body)
        .bind(actor)
        .execute(&mut **tx)
        .await?;
    audit::record(
        tx,
        AuditEvent::new(AuditAction::BriefCreated, "brief", id)
            .tenant(tenant_id)
            .actor(Some(actor))
            .metadata(json!({ "title": body["title"] })),
    )
    .await;
    Ok(id)
}

pub async fn brief(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar("SELECT body FROM briefs WHERE tenant_id = $1 AND id = $2")
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A tenant's artifact; another tenant's is `None`.
pub async fn get(
    pool: &PgPool,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Artifact>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM artifacts WHERE tenant_id = $1 AND id = $2");
    sqlx::query(&sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// A tenant's artifacts of the given kinds, newest first; filtered by syllabus when given.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    kinds: &[&str],
    syllabus_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Artifact>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM artifacts
         WHERE tenant_id = $1 AND kind = ANY($2) AND ($3::uuid IS NULL OR syllabus_id = $3)
         ORDER BY created_at DESC, id DESC LIMIT $4"
    );
    sqlx::query(&sql)
        .bind(tenant_id)
        .bind(kinds)
        .bind(syllabus_id)
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Where the next version of an artifact goes: its lineage and number. For a first version
/// the lineage is the new artifact's own id.
pub async fn next_version(
    pool: &PgPool,
    tenant_id: Uuid,
    kind: &str,
    syllabus_id: Option<Uuid>,
    brief_id: Option<Uuid>,
    ref_id: &str,
    new_id: Uuid,
) -> Result<(Uuid, i32, Option<Uuid>), sqlx::Error> {
    let latest: Option<(Uuid, Uuid, i32)> = sqlx::query_as(
        "SELECT id, lineage_id, version FROM artifacts
         WHERE tenant_id = $1 AND kind = $2 AND syllabus_id IS NOT DISTINCT FROM $3
           AND brief_id IS NOT DISTINCT FROM $4 AND ref_id = $5
         ORDER BY version DESC LIMIT 1",
    )
    .bind(tenant_id)
    .bind(kind)
    .bind(syllabus_id)
    .bind(brief_id)
    .bind(ref_id)
    .fetch_optional(pool)
    .await?;
    Ok(match latest {
        Some((parent, lineage, version)) => (lineage, version + 1, Some(parent)),
        None => (new_id, 1, None),
    })
}

fn action(kind: &str, approve: bool) -> AuditAction {
    match (kind == "SYLLABUS", approve) {
        (true, true) => AuditAction::SyllabusApproved,
        (true, false) => AuditAction::SyllabusRejected,
        (false, true) => AuditAction::ContentApproved,
        (false, false) => AuditAction::ContentRejected,
    }
}

/// Approves or rejects a DRAFT, recording who, when and the note. Anything else is a
/// conflict; another tenant's artifact is not found.
pub async fn review(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    id: Uuid,
    actor: Uuid,
    approve: bool,
    note: Option<&str>,
) -> Result<Artifact, JobError> {
    let sql =
        format!("SELECT {COLUMNS} FROM artifacts WHERE tenant_id = $1 AND id = $2 FOR UPDATE");
    let row = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let current = row
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(JobError::NotFound)?;
    if current.status != "DRAFT" {
        return Err(JobError::Conflict(format!(
            "only a DRAFT can be reviewed; this one is {}",
            current.status
        )));
    }
    if approve && current.kind != "SYLLABUS" {
        let syllabus_ok: bool =
            sqlx::query_scalar("SELECT status = 'APPROVED' FROM artifacts WHERE id = $1")
                .bind(current.syllabus_id)
                .fetch_one(&mut **tx)
                .await?;
        if !syllabus_ok {
            return Err(JobError::Conflict("its syllabus is not approved".into()));
        }
    }
    let sql = format!(
        "UPDATE artifacts SET status = $2, reviewed_by = $3, reviewed_at = clock_timestamp(), review_note = $4
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(if approve { "APPROVED" } else { "REJECTED" })
        .bind(actor)
        .bind(note.map(str::trim).filter(|n| !n.is_empty()))
        .fetch_one(&mut **tx)
        .await?;
    let done = from_row(&row)?;
    audit::record(
        tx,
        AuditEvent::new(
            action(&done.kind, approve),
            if done.kind == "SYLLABUS" {
                "syllabus"
            } else {
                "content"
            },
            done.id,
        )
        .tenant(tenant_id)
        .actor(Some(actor))
        .metadata(json!({ "kind": done.kind, "version": done.version, "note": done.review_note })),
    )
    .await;
    Ok(done)
}

/// A reviewer's edit: a new DRAFT version of `parent` with `body`, already validated by the
/// caller.
pub async fn edit(
    tx: &mut Transaction<'_, Postgres>,
    parent: &Artifact,
    actor: Uuid,
    title: &str,
    body: &Value,
) -> Result<Artifact, sqlx::Error> {
    let version: i32 =
        sqlx::query_scalar("SELECT max(version) + 1 FROM artifacts WHERE lineage_id = $1")
            .bind(parent.lineage_id)
            .fetch_one(&mut **tx)
            .await?;
    let sql = format!(
        "INSERT INTO artifacts (id, tenant_id, kind, syllabus_id, brief_id, ref_id, module_id, lineage_id, version,
                                parent_id, title, body, provenance, content_hash, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(Uuid::new_v4())
        .bind(parent.tenant_id)
        .bind(&parent.kind)
        .bind(parent.syllabus_id)
        .bind(parent.brief_id)
        .bind(&parent.ref_id)
        .bind(&parent.module_id)
        .bind(parent.lineage_id)
        .bind(version)
        .bind(parent.id)
        .bind(title)
        .bind(body)
        .bind(json!({ "editedBy": actor, "editedFrom": parent.id, "promptVersion": parent.provenance["promptVersion"] }))
        .bind(body_hash(body))
        .bind(actor)
        .fetch_one(&mut **tx)
        .await?;
    let created = from_row(&row)?;
    let act = if created.kind == "SYLLABUS" {
        AuditAction::SyllabusEdited
    } else {
        AuditAction::ContentEdited
    };
    audit::record(
        tx,
        AuditEvent::new(
            act,
            if created.kind == "SYLLABUS" {
                "syllabus"
            } else {
                "content"
            },
            created.id,
        )
        .tenant(created.tenant_id)
        .actor(Some(actor))
        .metadata(json!({ "version": created.version, "parentId": parent.id })),
    )
    .await;
    Ok(created)
}
