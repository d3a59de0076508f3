//! Course packages, the publishing pointer and its history, and what learners write:
//! enrollments, progress and quiz attempts.

use domain::AuditAction;
use domain::package::{self, BuildError, Part};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::artifacts::{self, Artifact};
use crate::audit::{self, AuditEvent};

/// Why a publishing action or a learner write was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// One package version, without its body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageRow {
    pub id: Uuid,
    pub syllabus_id: Uuid,
    pub version: i32,
    pub status: String,
    pub title: String,
    pub content_hash: String,
    pub size_bytes: i32,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether the course's pointer names this version.
    pub active: bool,
}

const ROW: &str = "p.id, p.syllabus_id, p.version, p.status, p.title, p.content_hash, p.size_bytes, \
     p.created_by, p.created_at, EXISTS (SELECT 1 FROM published_outputs o WHERE o.package_id = p.id) AS active";

fn row(r: &sqlx::postgres::PgRow) -> Result<PackageRow, sqlx::Error> {
    Ok(PackageRow {
        id: r.try_get("id")?,
        syllabus_id: r.try_get("syllabus_id")?,
        version: r.try_get("version")?,
        status: r.try_get("status")?,
        title: r.try_get("title")?,
        content_hash: r.try_get("content_hash")?,
        size_bytes: r.try_get("size_bytes")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        active: r.try_get("active")?,
    })
}

fn part(a: &Artifact) -> Part {
    Part {
        artifact_id: a.id.to_string(),
        kind: a.kind.clone(),
        ref_id: a.ref_id.clone(),
        version: u32::try_from(a.version).unwrap_or_default(),
        status: a.status.clone(),
        prompt_version: a.provenance["promptVersion"].as_str().map(str::to_owned),
        content_hash: a.content_hash.clone(),
        body: a.body.clone(),
    }
}

/// Builds and stores the next version of the course whose syllabus is `syllabus_id`, from
/// its newest approved parts. Versions are allocated under a per-course lock, so
/// concurrent builds get distinct numbers; the unique key is the backstop.
pub async fn build(
    pool: &PgPool,
    tenant_id: Uuid,
    syllabus_id: Uuid,
    actor: Option<Uuid>,
) -> Result<PackageRow, PackageError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('course_packages:' || $1::text, 0))",
    )
    .bind(syllabus_id)
    .execute(&mut *tx)
    .await?;
    let syllabus = artifacts::get(pool, tenant_id, syllabus_id)
        .await?
        .filter(|a| a.kind == "SYLLABUS")
        .ok_or_else(|| PackageError::NotFound("course not found".into()))?;
    let parts: Vec<Part> = artifacts::list(
        pool,
        tenant_id,
        &["LESSON", "QUIZ", "PROJECT"],
        Some(syllabus_id),
        100_000,
    )
    .await?
    .iter()
    .map(part)
    .collect();
    let version: i32 = sqlx::query_scalar(
        "SELECT coalesce(max(version), 0) + 1 FROM course_packages WHERE syllabus_id = $1",
    )
    .bind(syllabus_id)
    .fetch_one(&mut *tx)
    .await?;
    let built = package::build(
        &part(&syllabus),
        &parts,
        u32::try_from(version).unwrap_or(1),
    )
    .map_err(|e| match e {
        BuildError::TooLarge { .. } => PackageError::TooLarge(e.to_string()),
        other => PackageError::Conflict(other.to_string()),
    })?;
    let body: Value = serde_json::from_str(&built.json)
        .map_err(|e| PackageError::Conflict(format!("package JSON: {e}")))?;
    let id = Uuid::new_v4();
    let sql = format!(
        "INSERT INTO course_packages AS p (id, tenant_id, syllabus_id, version, title, body, content_hash, size_bytes, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {ROW}"
    );
    let stored = sqlx::query(&sql)
        .bind(id)
        .bind(tenant_id)
        .bind(syllabus_id)
        .bind(version)
        .bind(&built.package.title)
        .bind(&body)
        .bind(&built.hash)
        .bind(i32::try_from(built.size()).unwrap_or(i32::MAX))
        .bind(actor)
        .fetch_one(&mut *tx)
        .await?;
    let stored = row(&stored)?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::PackageBuilt, "course_package", id)
            .tenant(tenant_id)
            .actor(actor)
            .metadata(json!({
                "courseId": syllabus_id, "version": version, "contentHash": built.hash,
                "sizeBytes": built.size(), "parts": built.package.provenance.parts.len(),
            })),
    )
    .await;
    tx.commit().await?;
    Ok(stored)
}

/// A course as the admin list shows it: an approved syllabus with its packages.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseSummary {
    pub syllabus_id: Uuid,
    pub title: String,
    pub latest_version: Option<i32>,
    pub active_version: Option<i32>,
    pub versions: i64,
    pub learners: i64,
}

/// The tenant's courses: every approved syllabus, newest first, with its versions.
pub async fn courses(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<CourseSummary>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.id, a.title,
                (SELECT max(version) FROM course_packages p WHERE p.syllabus_id = a.id) AS latest,
                (SELECT p.version FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
                  WHERE o.scope = 'COURSE' AND o.scope_ref = a.id::text) AS active,
                (SELECT count(*) FROM course_packages p WHERE p.syllabus_id = a.id) AS versions,
                (SELECT count(*) FROM enrollments e WHERE e.course_id = a.id) AS learners
         FROM artifacts a
         WHERE a.tenant_id = $1 AND a.kind = 'SYLLABUS' AND a.status = 'APPROVED'
         ORDER BY a.created_at DESC, a.id DESC",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CourseSummary {
                syllabus_id: r.try_get("id")?,
                title: r.try_get("title")?,
                latest_version: r.try_get("latest")?,
                active_version: r.try_get("active")?,
                versions: r.try_get("versions")?,
                learners: r.try_get("learners")?,
            })
        })
        .collect()
}

/// A course's package versions, newest first; `None` when the tenant has no such course.
pub async fn versions(
    pool: &PgPool,
    tenant_id: Uuid,
    syllabus_id: Uuid,
) -> Result<Option<Vec<PackageRow>>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM artifacts WHERE tenant_id = $1 AND id = $2 AND kind = 'SYLLABUS')",
    )
    .bind(tenant_id)
    .bind(syllabus_id)
    .fetch_one(pool)
    .await?;
    if !exists {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {ROW} FROM course_packages p WHERE p.tenant_id = $1 AND p.syllabus_id = $2 ORDER BY p.version DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(syllabus_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(row).collect::<Result<_, _>>().map(Some)
}

/// One version with its body.
pub async fn version(
    pool: &PgPool,
    tenant_id: Uuid,
    syllabus_id: Uuid,
    version: i32,
) -> Result<Option<(PackageRow, Value)>, sqlx::Error> {
    let sql = format!(
        "SELECT {ROW}, p.body FROM course_packages p
         WHERE p.tenant_id = $1 AND p.syllabus_id = $2 AND p.version = $3"
    );
    let r = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(syllabus_id)
        .bind(version)
        .fetch_optional(pool)
        .await?;
    match r {
        Some(r) => Ok(Some((row(&r)?, r.try_get("body")?))),
        None => Ok(None),
    }
}

/// One version of a tenant's course, locked until `tx` ends.
async fn lock_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    syllabus_id: Uuid,
    version: i32,
) -> Result<PackageRow, PackageError> {
    let sql = format!(
        "SELECT {ROW} FROM course_packages p
         WHERE p.tenant_id = $1 AND p.syllabus_id = $2 AND p.version = $3 FOR UPDATE"
    );
    sqlx::query(&sql)
        .bind(tenant_id)
        .bind(syllabus_id)
        .bind(version)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(row)
        .transpose()?
        .ok_or_else(|| PackageError::NotFound(format!("version {version} not found")))
}

/// What a publish did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub package: PackageRow,
    pub previous_version: Option<i32>,
    /// True when the pointer moved back to an older version.
    pub rollback: bool,
}

/// Makes `version` the course's active version: publishes it, or rolls back to it when it
/// is older than the active one. Archived versions cannot be made active.
pub async fn publish(
    pool: &PgPool,
    tenant_id: Uuid,
    syllabus_id: Uuid,
    version: i32,
    actor: Uuid,
) -> Result<Published, PackageError> {
    let mut tx = pool.begin().await?;
    let target = lock_version(&mut tx, tenant_id, syllabus_id, version).await?;
    if target.status != "PUBLISHED" {
        return Err(PackageError::Conflict(format!(
            "version {version} is archived and cannot be made active"
        )));
    }
    let previous: Option<(Uuid, i32)> = sqlx::query_as(
        "SELECT p.id, p.version FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
         WHERE o.scope = 'COURSE' AND o.scope_ref = $1 FOR UPDATE OF o",
    )
    .bind(syllabus_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    if previous.is_some_and(|(id, _)| id == target.id) {
        return Err(PackageError::Conflict(format!(
            "version {version} is already the active version"
        )));
    }
    sqlx::query(
        "INSERT INTO published_outputs (id, tenant_id, scope, scope_ref, output_ref, package_id, promoted_by)
         VALUES ($1, $2, 'COURSE', $3, $4::text, $4, $5)
         ON CONFLICT (scope, scope_ref) DO UPDATE
         SET output_ref = EXCLUDED.output_ref, package_id = EXCLUDED.package_id,
             promoted_by = EXCLUDED.promoted_by, promoted_at = clock_timestamp()",
    )
    .bind(Uuid::new_v4())
    .bind(tenant_id)
    .bind(syllabus_id.to_string())
    .bind(target.id)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    let previous_version = previous.map(|(_, v)| v);
    let rollback = previous_version.is_some_and(|p| p > version);
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::PackagePublished, "course_package", target.id)
            .tenant(tenant_id)
            .actor(Some(actor))
            .metadata(json!({
                "courseId": syllabus_id, "version": version, "previousVersion": previous_version,
                "rollback": rollback, "contentHash": target.content_hash,
            })),
    )
    .await;
    tx.commit().await?;
    Ok(Published {
        package: PackageRow {
            active: true,
            ..target
        },
        previous_version,
        rollback,
    })
}

/// Withdraws a version that is not active; it can no longer be published.
pub async fn archive(
    pool: &PgPool,
    tenant_id: Uuid,
    syllabus_id: Uuid,
    version: i32,
    actor: Uuid,
) -> Result<PackageRow, PackageError> {
    let mut tx = pool.begin().await?;
    let target = lock_version(&mut tx, tenant_id, syllabus_id, version).await?;
    // Lock the pointer too, so a concurrent publish of this version waits for us.
    let active: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM published_outputs WHERE scope = 'COURSE' AND scope_ref = $1
                        AND package_id = $2 FOR UPDATE)",
    )
    .bind(syllabus_id.to_string())
    .bind(target.id)
    .fetch_one(&mut *tx)
    .await?;
    if active {
        return Err(PackageError::Conflict(format!(
            "version {version} is the active version; publish another version before archiving it"
        )));
    }
    if target.status == "ARCHIVED" {
        return Err(PackageError::Conflict(format!(
            "version {version} is already archived"
        )));
    }
    sqlx::query("UPDATE course_packages SET status = 'ARCHIVED' WHERE id = $1")
        .bind(target.id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::PackageArchived, "course_package", target.id)
            .tenant(tenant_id)
            .actor(Some(actor))
            .metadata(json!({ "courseId": syllabus_id, "version": version })),
    )
    .await;
    tx.commit().await?;
    Ok(PackageRow {
        status: "ARCHIVED".into(),
        ..target
    })
}

/// One move of a course's pointer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub version: Option<i32>,
    pub previous_version: Option<i32>,
    pub promoted_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub promoted_at: OffsetDateTime,
}

/// Every move of a course's pointer, newest first.
pub async fn history(
    pool: &PgPool,
    tenant_id: Uuid,
    syllabus_id: Uuid,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.version, prev.version AS previous_version, u.email, h.promoted_at
         FROM publish_history h
         LEFT JOIN course_packages p ON p.id = h.package_id
         LEFT JOIN course_packages prev ON prev.id::text = h.previous_output_ref
         LEFT JOIN users u ON u.id = h.promoted_by
         WHERE h.tenant_id = $1 AND h.scope = 'COURSE' AND h.scope_ref = $2
         ORDER BY h.id DESC LIMIT 200",
    )
    .bind(tenant_id)
    .bind(syllabus_id.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEntry {
                version: r.try_get("version")?,
                previous_version: r.try_get("previous_version")?,
                promoted_by: r.try_get("email")?,
                promoted_at: r.try_get("promoted_at")?,
            })
        })
        .collect()
}

/// The active version of a course, as learners get it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Active {
    pub course_id: Uuid,
    pub package_id: Uuid,
    pub version: i32,
    pub title: String,
    pub content_hash: String,
}

/// What one learner sees of one course: the active version, whether they are enrolled,
/// and the stable ids of the lessons they completed. `None`: not published (or not theirs).
#[derive(Debug, Clone)]
pub struct LearnerView {
    pub active: Active,
    pub enrolled: bool,
    pub completed: Vec<String>,
}

/// One query: the pointer, the learner's enrollment and progress.
pub async fn learner_view(
    pool: &PgPool,
    tenant_id: Uuid,
    course_id: Uuid,
    user_id: Uuid,
) -> Result<Option<LearnerView>, sqlx::Error> {
    let r = sqlx::query(
        "SELECT p.id, p.version, p.title, p.content_hash,
                EXISTS (SELECT 1 FROM enrollments e WHERE e.user_id = $3 AND e.course_id = $2) AS enrolled,
                coalesce((SELECT array_agg(lp.lesson_id ORDER BY lp.lesson_id) FROM lesson_progress lp
                          WHERE lp.user_id = $3 AND lp.course_id = $2 AND lp.completed), '{}') AS completed
         FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
         WHERE o.scope = 'COURSE' AND o.scope_ref = $2::text AND o.tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(course_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    let Some(r) = r else { return Ok(None) };
    Ok(Some(LearnerView {
        active: Active {
            course_id,
            package_id: r.try_get("id")?,
            version: r.try_get("version")?,
            title: r.try_get("title")?,
            content_hash: r.try_get("content_hash")?,
        },
        enrolled: r.try_get("enrolled")?,
        completed: r.try_get("completed")?,
    }))
}

/// A package's body and hash by id (packages are immutable, so callers may cache it).
pub async fn body(pool: &PgPool, package_id: Uuid) -> Result<Option<(Value, String)>, sqlx::Error> {
    sqlx::query_as("SELECT body, content_hash FROM course_packages WHERE id = $1")
        .bind(package_id)
        .fetch_optional(pool)
        .await
}

/// One published course in a learner's catalogue.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueEntry {
    pub course_id: Uuid,
    pub package_id: Uuid,
    pub title: String,
    pub version: i32,
    pub content_hash: String,
    pub enrolled: bool,
    pub completed: i64,
}

/// The tenant's published courses; the learner's enrolled ones first.
pub async fn catalogue(
    pool: &PgPool,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<CatalogueEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT p.syllabus_id, p.id, p.title, p.version, p.content_hash, e.created_at IS NOT NULL AS enrolled,
                (SELECT count(*) FROM lesson_progress lp
                  WHERE lp.user_id = $2 AND lp.course_id = p.syllabus_id AND lp.completed) AS completed
         FROM published_outputs o
         JOIN course_packages p ON p.id = o.package_id
         LEFT JOIN enrollments e ON e.user_id = $2 AND e.course_id = p.syllabus_id
         WHERE o.tenant_id = $1 AND o.scope = 'COURSE'
         ORDER BY (e.created_at IS NULL), e.created_at DESC, p.title, p.syllabus_id",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CatalogueEntry {
                course_id: r.try_get("syllabus_id")?,
                package_id: r.try_get("id")?,
                title: r.try_get("title")?,
                version: r.try_get("version")?,
                content_hash: r.try_get("content_hash")?,
                enrolled: r.try_get("enrolled")?,
                completed: r.try_get("completed")?,
            })
        })
        .collect()
}

/// Enrolls a learner in a published course; true when this created the enrollment (a
/// repeat changes nothing). An unpublished or foreign course is not found.
pub async fn enroll(
    pool: &PgPool,
    tenant_id: Uuid,
    user_id: Uuid,
    course_id: Uuid,
) -> Result<bool, PackageError> {
    let mut tx = pool.begin().await?;
    let version: Option<i32> = sqlx::query_scalar(
        "SELECT p.version FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
         WHERE o.scope = 'COURSE' AND o.scope_ref = $2::text AND o.tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(course_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(version) = version else {
        return Err(PackageError::NotFound("course not published".into()));
    };
    let id = Uuid::new_v4();
    let created = sqlx::query(
        "INSERT INTO enrollments (id, tenant_id, user_id, course_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, course_id) DO NOTHING",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(user_id)
    .bind(course_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if created {
        audit::record(
            &mut tx,
            AuditEvent::new(AuditAction::EnrollmentCreated, "enrollment", id)
                .tenant(tenant_id)
                .actor(Some(user_id))
                .metadata(json!({ "courseId": course_id, "version": version })),
        )
        .await;
    }
    tx.commit().await?;
    Ok(created)
}

/// Records a lesson as completed (or not) for an enrolled learner. Idempotent: the same
/// write twice leaves one row. The caller has checked the lesson is in the active version.
pub async fn set_progress(
    pool: &PgPool,
    tenant_id: Uuid,
    user_id: Uuid,
    course_id: Uuid,
    lesson_id: &str,
    completed: bool,
    version: i32,
) -> Result<(), PackageError> {
    let res = sqlx::query(
        "INSERT INTO lesson_progress (tenant_id, user_id, course_id, lesson_id, completed, version)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE EXISTS (SELECT 1 FROM enrollments WHERE user_id = $2 AND course_id = $3 AND tenant_id = $1)
         ON CONFLICT (user_id, course_id, lesson_id) DO UPDATE
         SET completed = EXCLUDED.completed, version = EXCLUDED.version, updated_at = clock_timestamp()
         WHERE lesson_progress.completed IS DISTINCT FROM EXCLUDED.completed",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(course_id)
    .bind(lesson_id)
    .bind(completed)
    .bind(version)
    .execute(pool)
    .await?;
    if res.rows_affected() == 0 {
        let enrolled: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM enrollments WHERE user_id = $1 AND course_id = $2)",
        )
        .bind(user_id)
        .bind(course_id)
        .fetch_one(pool)
        .await?;
        if !enrolled {
            return Err(PackageError::Forbidden(
                "enroll in the course before recording progress".into(),
            ));
        }
    }
    Ok(())
}

/// A learner's progress in one course.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LessonState {
    pub lesson_id: String,
    pub completed: bool,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub async fn progress(
    pool: &PgPool,
    user_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<LessonState>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT lesson_id, completed, version, updated_at FROM lesson_progress
         WHERE user_id = $1 AND course_id = $2 ORDER BY updated_at, lesson_id",
    )
    .bind(user_id)
    .bind(course_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LessonState {
                lesson_id: r.try_get("lesson_id")?,
                completed: r.try_get("completed")?,
                version: r.try_get("version")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// One graded quiz submission.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub id: Uuid,
    pub lesson_id: String,
    pub answers: Value,
    pub score: i32,
    pub total: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Stores a graded attempt; the learner must be enrolled.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    pool: &PgPool,
    tenant_id: Uuid,
    user_id: Uuid,
    course_id: Uuid,
    package_id: Uuid,
    lesson_id: &str,
    answers: &Value,
    score: i32,
    total: i32,
) -> Result<Attempt, PackageError> {
    let r = sqlx::query(
        "INSERT INTO quiz_attempts (id, tenant_id, user_id, course_id, package_id, lesson_id, answers, score, total)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
         WHERE EXISTS (SELECT 1 FROM enrollments WHERE user_id = $3 AND course_id = $4 AND tenant_id = $2)
         RETURNING id, lesson_id, answers, score, total, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(tenant_id)
    .bind(user_id)
    .bind(course_id)
    .bind(package_id)
    .bind(lesson_id)
    .bind(answers)
    .bind(score)
    .bind(total)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| PackageError::Forbidden("enroll in the course before taking its quizzes".into()))?;
    attempt(&r).map_err(Into::into)
}

fn attempt(r: &sqlx::postgres::PgRow) -> Result<Attempt, sqlx::Error> {
    Ok(Attempt {
        id: r.try_get("id")?,
        lesson_id: r.try_get("lesson_id")?,
        answers: r.try_get("answers")?,
        score: r.try_get("score")?,
        total: r.try_get("total")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A learner's attempts at one lesson's quiz, newest first.
pub async fn attempts(
    pool: &PgPool,
    user_id: Uuid,
    course_id: Uuid,
    lesson_id: &str,
) -> Result<Vec<Attempt>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, lesson_id, answers, score, total, created_at FROM quiz_attempts
         WHERE user_id = $1 AND course_id = $2 AND lesson_id = $3 ORDER BY created_at DESC LIMIT 50",
    )
    .bind(user_id)
    .bind(course_id)
    .bind(lesson_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(attempt).collect()
}
