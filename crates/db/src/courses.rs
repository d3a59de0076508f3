//! Courses: one row per brief, the key of everything a user thinks of as "the course".

use serde::Serialize;
use serde_json::Value;
use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::types::Stored;

/// One course row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Course {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub brief_id: Uuid,
    pub title: String,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Stores a brief and the course it creates. The caller audits and enqueues in `tx`.
pub async fn create_with_brief(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    title: &str,
    brief: &Value,
    actor: Uuid,
) -> Result<Course, sqlx::Error> {
    let brief_id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO briefs (id, tenant_id, body, created_by) VALUES ($1, $2, $3, $4)",
        brief_id,
        tenant_id,
        brief,
        actor
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query_as!(
        Course,
        "INSERT INTO courses (id, tenant_id, brief_id, title, created_by) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, tenant_id, brief_id, title, created_by, created_at",
        Uuid::new_v4(),
        tenant_id,
        brief_id,
        title,
        actor
    )
    .fetch_one(&mut **tx)
    .await
}

/// A tenant's course; another tenant's is `None`.
pub async fn get(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Course>, sqlx::Error> {
    sqlx::query_as!(
        Course,
        "SELECT id, tenant_id, brief_id, title, created_by, created_at FROM courses
         WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// The course a brief created.
pub async fn by_brief(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    brief_id: Uuid,
) -> Result<Option<Course>, sqlx::Error> {
    sqlx::query_as!(
        Course,
        "SELECT id, tenant_id, brief_id, title, created_by, created_at FROM courses
         WHERE tenant_id = $1 AND brief_id = $2",
        tenant_id,
        brief_id
    )
    .fetch_optional(db)
    .await
}

/// The brief's body.
pub async fn brief(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    brief_id: Uuid,
) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT body FROM briefs WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        brief_id
    )
    .fetch_optional(db)
    .await
}

/// A course as the admin list shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseSummary {
    pub id: Uuid,
    pub title: String,
    /// The newest approved syllabus, which the next package is built from.
    pub syllabus_id: Option<Uuid>,
    pub syllabus_version: Option<i32>,
    /// Syllabus and content drafts waiting for review (the newest of their lineage: a
    /// superseded draft can no longer be reviewed).
    pub drafts: i64,
    pub latest_version: Option<i32>,
    pub active_version: Option<i32>,
    pub versions: i64,
    pub learners: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The tenant's courses, newest first, one row each.
pub async fn list(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<CourseSummary>, sqlx::Error> {
    sqlx::query_as!(
        CourseSummary,
        r#"SELECT c.id, c.title, s.id AS "syllabus_id?", s.version AS "syllabus_version?",
                (SELECT count(*) FROM artifacts d WHERE d.course_id = c.id AND d.status = 'DRAFT'
                   AND NOT EXISTS (SELECT 1 FROM artifacts n WHERE n.lineage_id = d.lineage_id AND n.version > d.version)) AS "drafts!",
                (SELECT max(version) FROM course_packages p WHERE p.course_id = c.id) AS latest_version,
                (SELECT p.version FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
                  WHERE o.course_id = c.id AND o.scope = 'COURSE') AS "active_version?",
                (SELECT count(*) FROM course_packages p WHERE p.course_id = c.id) AS "versions!",
                (SELECT count(*) FROM enrollments e WHERE e.course_id = c.id) AS "learners!",
                c.created_at
         FROM courses c
         LEFT JOIN LATERAL (
             SELECT a.id, a.version FROM artifacts a
             WHERE a.course_id = c.id AND a.kind = 'SYLLABUS' AND a.status = 'APPROVED'
             ORDER BY a.version DESC LIMIT 1) s ON true
         WHERE c.tenant_id = $1
         ORDER BY c.created_at DESC, c.id DESC"#,
        tenant_id
    )
    .fetch_all(db)
    .await
}

/// A course whose brief has no syllabus yet, with its newest syllabus generation job.
#[derive(Debug, Clone)]
pub struct Drafting {
    pub course_id: Uuid,
    pub title: String,
    pub created_at: OffsetDateTime,
    pub job_id: Option<Uuid>,
    pub job_status: Option<domain::JobStatus>,
    /// The failure's message, when the job failed.
    pub error_message: Option<String>,
}

/// A tenant's courses still waiting for their first syllabus, newest first: what a brief
/// looks like between its submission and its draft.
pub async fn awaiting_syllabus(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    generate_syllabus: &str,
) -> Result<Vec<Drafting>, sqlx::Error> {
    struct Row {
        course_id: Uuid,
        title: String,
        created_at: OffsetDateTime,
        job_id: Option<Uuid>,
        job_status: Option<Stored<domain::JobStatus>>,
        error_message: Option<String>,
    }
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT c.id AS course_id, c.title, c.created_at, j.id AS "job_id?",
                  j.status AS "job_status?: Stored<domain::JobStatus>",
                  j.error ->> 'message' AS error_message
           FROM courses c
           LEFT JOIN LATERAL (
             SELECT id, status, error FROM jobs
             WHERE tenant_id = c.tenant_id AND kind = $2
               AND target_type = 'brief' AND target_id = c.brief_id::text
             ORDER BY created_at DESC LIMIT 1
           ) j ON true
           WHERE c.tenant_id = $1
             AND NOT EXISTS (SELECT 1 FROM artifacts a
                             WHERE a.course_id = c.id AND a.kind = 'SYLLABUS')
           ORDER BY c.created_at DESC LIMIT 100"#,
        tenant_id,
        generate_syllabus
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Drafting {
            course_id: r.course_id,
            title: r.title,
            created_at: r.created_at,
            job_id: r.job_id,
            job_status: r.job_status.map(|s| s.0),
            error_message: r.error_message,
        })
        .collect())
}
