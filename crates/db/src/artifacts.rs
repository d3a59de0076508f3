//! Generated and edited artifacts (syllabi, lessons, quizzes, projects) with their review.
//!
//! A lineage is (course, kind, ref): versions are allocated by the database when a row is
//! inserted, under a lock per lineage, so the numbers callers see are the stored ones.

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::types::{ArtifactKind, ArtifactStatus};

/// One artifact row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub course_id: Uuid,
    pub kind: ArtifactKind,
    /// For content: the approved syllabus it was made from.
    pub syllabus_id: Option<Uuid>,
    /// For syllabi: the course's brief.
    pub brief_id: Option<Uuid>,
    pub ref_id: String,
    pub module_id: Option<String>,
    pub lineage_id: Uuid,
    pub version: i32,
    pub parent_id: Option<Uuid>,
    pub status: ArtifactStatus,
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

/// A draft a job produced, as the job-completion function inserts it. Its lineage, version
/// and (unless given) parent are allocated when the completing transaction inserts it,
/// and its course is its brief's or its syllabus's.
#[derive(Debug, Clone, Serialize)]
pub struct NewDraft {
    pub id: Uuid,
    pub kind: ArtifactKind,
    pub syllabus_id: Option<Uuid>,
    pub brief_id: Option<Uuid>,
    pub ref_id: String,
    pub module_id: Option<String>,
    /// What a regeneration was made from; otherwise the lineage's newest version.
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

/// A tenant's artifact; another tenant's is `None`.
pub async fn get(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Artifact>, sqlx::Error> {
    sqlx::query_as!(
        Artifact,
        r#"SELECT id, tenant_id, course_id, kind AS "kind: ArtifactKind", syllabus_id, brief_id, ref_id,
                  module_id, lineage_id, version, parent_id, status AS "status: ArtifactStatus", title, body,
                  provenance, content_hash, job_id, created_by, created_at, reviewed_by, reviewed_at, review_note
           FROM artifacts WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Which artifacts to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Empty: every kind.
    pub kinds: Vec<ArtifactKind>,
    pub course_id: Option<Uuid>,
    pub syllabus_id: Option<Uuid>,
    pub status: Option<ArtifactStatus>,
    pub module_id: Option<String>,
}

/// A tenant's artifacts matching `filter`, newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Artifact>, sqlx::Error> {
    let kinds: Vec<String> = filter.kinds.iter().map(|k| k.as_str().to_owned()).collect();
    sqlx::query_as!(
        Artifact,
        r#"SELECT id, tenant_id, course_id, kind AS "kind: ArtifactKind", syllabus_id, brief_id, ref_id,
                  module_id, lineage_id, version, parent_id, status AS "status: ArtifactStatus", title, body,
                  provenance, content_hash, job_id, created_by, created_at, reviewed_by, reviewed_at, review_note
           FROM artifacts
           WHERE tenant_id = $1 AND (cardinality($2::text[]) = 0 OR kind = ANY($2))
             AND ($3::uuid IS NULL OR course_id = $3) AND ($4::uuid IS NULL OR syllabus_id = $4)
             AND ($5::text IS NULL OR status = $5) AND ($6::text IS NULL OR module_id = $6)
           ORDER BY created_at DESC, id DESC LIMIT $7"#,
        tenant_id,
        &kinds,
        filter.course_id,
        filter.syllabus_id,
        filter.status.map(ArtifactStatus::as_str),
        filter.module_id.as_deref(),
        limit
    )
    .fetch_all(db)
    .await
}

/// The newest version of each lineage of a course's content, with the newest approved one.
/// Packages take the approved ones; review pages show where each lineage stands.
pub async fn content_of_course(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<Artifact>, sqlx::Error> {
    sqlx::query_as!(
        Artifact,
        r#"SELECT id, tenant_id, course_id, kind AS "kind: ArtifactKind", syllabus_id, brief_id, ref_id,
                  module_id, lineage_id, version, parent_id, status AS "status: ArtifactStatus", title, body,
                  provenance, content_hash, job_id, created_by, created_at, reviewed_by, reviewed_at, review_note
           FROM artifacts
           WHERE tenant_id = $1 AND course_id = $2 AND kind <> 'SYLLABUS'
           ORDER BY kind, ref_id, created_at, version"#,
        tenant_id,
        course_id
    )
    .fetch_all(db)
    .await
}

/// The (kind, ref) of every lineage of a course's content, whatever its versions' states:
/// content generation makes only the parts missing from it.
pub async fn existing_parts(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<std::collections::HashSet<(domain::package::PartKind, String)>, sqlx::Error> {
    use domain::package::PartKind;
    Ok(content_of_course(db, tenant_id, course_id)
        .await?
        .into_iter()
        .filter_map(|a| {
            let kind = match a.kind {
                ArtifactKind::Lesson => PartKind::Lesson,
                ArtifactKind::Quiz => PartKind::Quiz,
                ArtifactKind::Project => PartKind::Project,
                ArtifactKind::Syllabus => return None,
            };
            Some((kind, a.ref_id))
        })
        .collect())
}

/// The newest version in an artifact's lineage: its id, number and status.
#[derive(Debug, Clone, Copy)]
pub struct Newest {
    pub id: Uuid,
    pub version: i32,
    pub status: ArtifactStatus,
}

/// Takes the lineage's lock until `tx` ends (the same lock the database takes to allocate a
/// version), then reads its newest version.
pub async fn lock_lineage(
    tx: &mut Transaction<'_, Postgres>,
    course_id: Uuid,
    kind: ArtifactKind,
    ref_id: &str,
) -> Result<Option<Newest>, sqlx::Error> {
    let key = format!("artifact_lineage:{course_id}:{kind}:{ref_id}");
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        .execute(&mut **tx)
        .await?;
    newest(&mut **tx, course_id, kind, ref_id).await
}

/// The newest version of the lineage (course, kind, ref).
pub async fn newest(
    db: impl PgExecutor<'_>,
    course_id: Uuid,
    kind: ArtifactKind,
    ref_id: &str,
) -> Result<Option<Newest>, sqlx::Error> {
    sqlx::query_as!(
        Newest,
        r#"SELECT id, version, status AS "status: ArtifactStatus" FROM artifacts
           WHERE course_id = $1 AND kind = $2 AND ref_id = $3
           ORDER BY created_at DESC, version DESC LIMIT 1"#,
        course_id,
        kind.as_str(),
        ref_id
    )
    .fetch_optional(db)
    .await
}

/// The course's newest approved syllabus.
pub async fn newest_approved_syllabus(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Option<Artifact>, sqlx::Error> {
    sqlx::query_as!(
        Artifact,
        r#"SELECT id, tenant_id, course_id, kind AS "kind: ArtifactKind", syllabus_id, brief_id, ref_id,
                  module_id, lineage_id, version, parent_id, status AS "status: ArtifactStatus", title, body,
                  provenance, content_hash, job_id, created_by, created_at, reviewed_by, reviewed_at, review_note
           FROM artifacts
           WHERE tenant_id = $1 AND course_id = $2 AND kind = 'SYLLABUS' AND status = 'APPROVED'
           ORDER BY reviewed_at DESC, version DESC LIMIT 1"#,
        tenant_id,
        course_id
    )
    .fetch_optional(db)
    .await
}

/// Locks an artifact row until `tx` ends.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Artifact>, sqlx::Error> {
    sqlx::query_as!(
        Artifact,
        r#"SELECT id, tenant_id, course_id, kind AS "kind: ArtifactKind", syllabus_id, brief_id, ref_id,
                  module_id, lineage_id, version, parent_id, status AS "status: ArtifactStatus", title, body,
                  provenance, content_hash, job_id, created_by, created_at, reviewed_by, reviewed_at, review_note
           FROM artifacts WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Records a review: a DRAFT becomes APPROVED or REJECTED. `None` when the row is no
/// longer a DRAFT.
pub async fn set_review(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    status: ArtifactStatus,
    actor: Uuid,
    note: Option<&str>,
) -> Result<Option<Artifact>, sqlx::Error> {
    sqlx::query_as!(
        Artifact,
        r#"UPDATE artifacts SET status = $2, reviewed_by = $3, reviewed_at = clock_timestamp(), review_note = $4
           WHERE id = $1 AND status = 'DRAFT'
           RETURNING id, tenant_id, course_id, kind AS "kind: ArtifactKind", syllabus_id, brief_id, ref_id,
                  module_id, lineage_id, version, parent_id, status AS "status: ArtifactStatus", title, body,
                  provenance, content_hash, job_id, created_by, created_at, reviewed_by, reviewed_at, review_note"#,
        id,
        status.as_str(),
        actor,
        note
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A person's edit: a new DRAFT version of `parent` with `body`, already validated.
pub async fn insert_edit(
    tx: &mut Transaction<'_, Postgres>,
    parent: &Artifact,
    actor: Uuid,
    title: &str,
    body: &Value,
) -> Result<Artifact, sqlx::Error> {
    let provenance = json!({
        "editedBy": actor, "editedFrom": parent.id,
        "promptVersion": parent.provenance["promptVersion"],
    });
    // lineage_id and version are placeholders: the insert trigger allocates both.
    sqlx::query_as!(
        Artifact,
        r#"INSERT INTO artifacts (id, tenant_id, course_id, kind, syllabus_id, brief_id, ref_id, module_id,
                                  lineage_id, version, parent_id, title, body, provenance, content_hash, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $1, 0, $9, $10, $11, $12, $13, $14)
           RETURNING id, tenant_id, course_id, kind AS "kind: ArtifactKind", syllabus_id, brief_id, ref_id,
                  module_id, lineage_id, version, parent_id, status AS "status: ArtifactStatus", title, body,
                  provenance, content_hash, job_id, created_by, created_at, reviewed_by, reviewed_at, review_note"#,
        Uuid::new_v4(),
        parent.tenant_id,
        parent.course_id,
        parent.kind.as_str(),
        parent.syllabus_id,
        parent.brief_id,
        parent.ref_id,
        parent.module_id,
        parent.id,
        title,
        body,
        provenance,
        body_hash(body),
        actor
    )
    .fetch_one(&mut **tx)
    .await
}

/// The id of the version just below `version` in a lineage.
pub async fn version_below(
    db: impl PgExecutor<'_>,
    lineage_id: Uuid,
    version: i32,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM artifacts WHERE lineage_id = $1 AND version < $2 ORDER BY version DESC LIMIT 1",
        lineage_id,
        version
    )
    .fetch_optional(db)
    .await
}

/// An artifact as a review list shows it: no body, and whether it is its lineage's newest.
#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub id: Uuid,
    pub course_id: Uuid,
    pub kind: ArtifactKind,
    pub ref_id: String,
    pub module_id: Option<String>,
    pub version: i32,
    pub status: ArtifactStatus,
    pub title: String,
    pub offline: bool,
    pub newest: bool,
    pub created_at: OffsetDateTime,
}

/// A tenant's artifacts of `kinds` (of one course, or all), newest first, each marked with
/// whether a newer version of its lineage exists.
pub async fn review_list(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    kinds: &[ArtifactKind],
    course_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let kinds: Vec<String> = kinds.iter().map(|k| k.as_str().to_owned()).collect();
    sqlx::query_as!(
        ReviewRow,
        r#"SELECT a.id, a.course_id, a.kind AS "kind: ArtifactKind", a.ref_id, a.module_id, a.version,
                  a.status AS "status: ArtifactStatus", a.title,
                  coalesce((a.provenance->>'offline')::boolean, false) AS "offline!",
                  NOT EXISTS (SELECT 1 FROM artifacts n
                              WHERE n.lineage_id = a.lineage_id AND n.version > a.version) AS "newest!",
                  a.created_at
           FROM artifacts a
           WHERE a.tenant_id = $1 AND a.kind = ANY($2) AND ($3::uuid IS NULL OR a.course_id = $3)
           ORDER BY a.created_at DESC, a.id DESC LIMIT $4"#,
        tenant_id,
        &kinds,
        course_id,
        limit
    )
    .fetch_all(db)
    .await
}
