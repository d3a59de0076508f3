//! Course packages, the publishing pointer and its history, and what learners write:
//! enrollments, progress and quiz attempts. Data access only: the rules are the caller's.

use serde::Serialize;
use serde_json::Value;
use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::types::PackageStatus;

/// One package version, without its body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageRow {
    pub id: Uuid,
    pub course_id: Uuid,
    /// The approved syllabus it was built from.
    pub syllabus_id: Uuid,
    pub version: i32,
    pub status: PackageStatus,
    pub title: String,
    pub content_hash: String,
    pub size_bytes: i32,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether the course's pointer names this version.
    pub active: bool,
}

/// Takes the course's build lock until `tx` ends, or answers false at once when another
/// build of the course holds it (so concurrent builds never queue on pool connections).
pub async fn try_lock_builds(
    tx: &mut Transaction<'_, Postgres>,
    course_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let key = format!("course_packages:{course_id}");
    sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS "locked!""#,
        key
    )
    .fetch_one(&mut **tx)
    .await
}

/// The number the course's next package gets.
pub async fn next_version(
    tx: &mut Transaction<'_, Postgres>,
    course_id: Uuid,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(max(version), 0) + 1 AS "next!" FROM course_packages WHERE course_id = $1"#,
        course_id
    )
    .fetch_one(&mut **tx)
    .await
}

/// A package to store.
#[derive(Debug, Clone)]
pub struct NewPackage<'a> {
    pub tenant_id: Uuid,
    pub course_id: Uuid,
    pub syllabus_id: Uuid,
    pub version: i32,
    pub title: &'a str,
    pub body: &'a Value,
    pub content_hash: &'a str,
    pub size_bytes: i32,
    pub created_by: Option<Uuid>,
}

pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    p: NewPackage<'_>,
) -> Result<PackageRow, sqlx::Error> {
    sqlx::query_as!(
        PackageRow,
        r#"INSERT INTO course_packages (id, tenant_id, course_id, syllabus_id, version, title, body,
                                        content_hash, size_bytes, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING id, course_id, syllabus_id, version, status AS "status: PackageStatus", title,
                     content_hash, size_bytes, created_by, created_at, false AS "active!""#,
        Uuid::new_v4(),
        p.tenant_id,
        p.course_id,
        p.syllabus_id,
        p.version,
        p.title,
        p.body,
        p.content_hash,
        p.size_bytes,
        p.created_by
    )
    .fetch_one(&mut **tx)
    .await
}

/// A course's package versions, newest first.
pub async fn versions(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<PackageRow>, sqlx::Error> {
    sqlx::query_as!(
        PackageRow,
        r#"SELECT p.id, p.course_id, p.syllabus_id, p.version, p.status AS "status: PackageStatus", p.title,
                  p.content_hash, p.size_bytes, p.created_by, p.created_at,
                  EXISTS (SELECT 1 FROM published_outputs o WHERE o.package_id = p.id) AS "active!"
           FROM course_packages p WHERE p.tenant_id = $1 AND p.course_id = $2 ORDER BY p.version DESC"#,
        tenant_id,
        course_id
    )
    .fetch_all(db)
    .await
}

/// One version with its body.
pub async fn version(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
    version: i32,
) -> Result<Option<(PackageRow, Value)>, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT p.id, p.course_id, p.syllabus_id, p.version, p.status AS "status: PackageStatus", p.title,
                  p.content_hash, p.size_bytes, p.created_by, p.created_at, p.body,
                  EXISTS (SELECT 1 FROM published_outputs o WHERE o.package_id = p.id) AS "active!"
           FROM course_packages p WHERE p.tenant_id = $1 AND p.course_id = $2 AND p.version = $3"#,
        tenant_id,
        course_id,
        version
    )
    .fetch_optional(db)
    .await?;
    Ok(r.map(|r| {
        (
            PackageRow {
                id: r.id,
                course_id: r.course_id,
                syllabus_id: r.syllabus_id,
                version: r.version,
                status: r.status,
                title: r.title,
                content_hash: r.content_hash,
                size_bytes: r.size_bytes,
                created_by: r.created_by,
                created_at: r.created_at,
                active: r.active,
            },
            r.body,
        )
    }))
}

/// One version of a tenant's course, locked until `tx` ends.
pub async fn lock_version(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    course_id: Uuid,
    version: i32,
) -> Result<Option<PackageRow>, sqlx::Error> {
    sqlx::query_as!(
        PackageRow,
        r#"SELECT p.id, p.course_id, p.syllabus_id, p.version, p.status AS "status: PackageStatus", p.title,
                  p.content_hash, p.size_bytes, p.created_by, p.created_at,
                  EXISTS (SELECT 1 FROM published_outputs o WHERE o.package_id = p.id) AS "active!"
           FROM course_packages p WHERE p.tenant_id = $1 AND p.course_id = $2 AND p.version = $3
           FOR UPDATE OF p"#,
        tenant_id,
        course_id,
        version
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The package the course's pointer names (id and version), locked until `tx` ends.
pub async fn lock_active(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Option<(Uuid, i32)>, sqlx::Error> {
    let r = sqlx::query!(
        "SELECT p.id, p.version FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
         WHERE o.tenant_id = $1 AND o.course_id = $2 AND o.scope = 'COURSE' FOR UPDATE OF o",
        tenant_id,
        course_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(r.map(|r| (r.id, r.version)))
}

/// Points the course at `package_id` (the trigger appends the move to the history).
pub async fn point_course(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    course_id: Uuid,
    package_id: Uuid,
    actor: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO published_outputs (id, tenant_id, course_id, scope, scope_ref, output_ref, package_id, promoted_by)
         VALUES ($1, $2, $3, 'COURSE', $3::uuid::text, $4::uuid::text, $4, $5)
         ON CONFLICT (tenant_id, course_id, scope, scope_ref) DO UPDATE
         SET output_ref = EXCLUDED.output_ref, package_id = EXCLUDED.package_id,
             promoted_by = EXCLUDED.promoted_by, promoted_at = clock_timestamp()",
        Uuid::new_v4(),
        tenant_id,
        course_id,
        package_id,
        actor
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks a package ARCHIVED.
pub async fn set_archived(
    tx: &mut Transaction<'_, Postgres>,
    package_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE course_packages SET status = 'ARCHIVED' WHERE id = $1",
        package_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
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
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        r#"SELECT p.version AS "version?", prev.version AS "previous_version?", u.email AS "promoted_by?",
                  h.promoted_at
           FROM publish_history h
           LEFT JOIN course_packages p ON p.id = h.package_id
           LEFT JOIN course_packages prev ON prev.id::text = h.previous_output_ref
           LEFT JOIN users u ON u.id = h.promoted_by
           WHERE h.tenant_id = $1 AND h.course_id = $2 AND h.scope = 'COURSE'
           ORDER BY h.id DESC LIMIT 200"#,
        tenant_id,
        course_id
    )
    .fetch_all(db)
    .await
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
    /// The course's active product, when it is sold.
    pub price: Option<Price>,
    /// Whether the learner holds a PAID purchase of the course.
    pub purchased: bool,
}

/// What a sold course costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub product_id: Uuid,
    pub title: String,
    pub price_cents: i64,
    pub currency: String,
}

impl LearnerView {
    /// Whether the course is sold and the learner has not bought it (or it was refunded).
    pub fn needs_purchase(&self) -> bool {
        self.price.is_some() && !self.purchased
    }

    /// The access rule: enrolled, and where the course is sold, a PAID purchase.
    pub fn has_access(&self) -> bool {
        self.enrolled && !self.needs_purchase()
    }
}

/// One query: the pointer, the learner's enrollment and progress.
pub async fn learner_view(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
    user_id: Uuid,
) -> Result<Option<LearnerView>, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT p.id, p.version, p.title, p.content_hash,
                EXISTS (SELECT 1 FROM enrollments e WHERE e.user_id = $3 AND e.course_id = $2) AS "enrolled!",
                coalesce((SELECT array_agg(lp.lesson_id ORDER BY lp.lesson_id) FROM lesson_progress lp
                          WHERE lp.user_id = $3 AND lp.course_id = $2 AND lp.completed), '{}') AS "completed!",
                pr.id AS "product_id?", pr.title AS "product_title?", pr.price_cents AS "price_cents?",
                pr.currency AS "currency?",
                EXISTS (SELECT 1 FROM purchases pu WHERE pu.user_id = $3 AND pu.course_id = $2
                        AND pu.status = 'PAID') AS "purchased!"
         FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
           LEFT JOIN products pr ON pr.course_id = $2 AND pr.tenant_id = $1 AND pr.active
         WHERE o.scope = 'COURSE' AND o.course_id = $2 AND o.tenant_id = $1"#,
        tenant_id,
        course_id,
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(r.map(|r| LearnerView {
        active: Active {
            course_id,
            package_id: r.id,
            version: r.version,
            title: r.title,
            content_hash: r.content_hash,
        },
        enrolled: r.enrolled,
        completed: r.completed,
        price: match (r.product_id, r.product_title, r.price_cents, r.currency) {
            (Some(product_id), Some(title), Some(price_cents), Some(currency)) => Some(Price {
                product_id,
                title,
                price_cents,
                currency,
            }),
            _ => None,
        },
        purchased: r.purchased,
    }))
}

/// A package's body and hash by id (packages are immutable, so callers may cache it).
pub async fn body(
    db: impl PgExecutor<'_>,
    package_id: Uuid,
) -> Result<Option<(Value, String)>, sqlx::Error> {
    let r = sqlx::query!(
        "SELECT body, content_hash FROM course_packages WHERE id = $1",
        package_id
    )
    .fetch_optional(db)
    .await?;
    Ok(r.map(|r| (r.body, r.content_hash)))
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
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<CatalogueEntry>, sqlx::Error> {
    sqlx::query_as!(
        CatalogueEntry,
        r#"SELECT o.course_id, p.id AS package_id, p.title, p.version, p.content_hash,
                e.created_at IS NOT NULL AS "enrolled!",
                (SELECT count(*) FROM lesson_progress lp
                  WHERE lp.user_id = $2 AND lp.course_id = o.course_id AND lp.completed) AS "completed!"
         FROM published_outputs o
         JOIN course_packages p ON p.id = o.package_id
         LEFT JOIN enrollments e ON e.user_id = $2 AND e.course_id = o.course_id
         WHERE o.tenant_id = $1 AND o.scope = 'COURSE'
         ORDER BY (e.created_at IS NULL), e.created_at DESC, p.title, o.course_id"#,
        tenant_id,
        user_id
    )
    .fetch_all(db)
    .await
}

/// The active version number of a published course of the tenant.
pub async fn active_version(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    course_id: Uuid,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT p.version FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
         WHERE o.scope = 'COURSE' AND o.course_id = $2 AND o.tenant_id = $1",
        tenant_id,
        course_id
    )
    .fetch_optional(db)
    .await
}

/// Inserts an enrollment; `Some(id)` when this created it, `None` when it existed.
pub async fn insert_enrollment(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    user_id: Uuid,
    course_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO enrollments (id, tenant_id, user_id, course_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, course_id) DO NOTHING RETURNING id",
        Uuid::new_v4(),
        tenant_id,
        user_id,
        course_id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn is_enrolled(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: Uuid,
    course_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM enrollments WHERE tenant_id = $1 AND user_id = $2 AND course_id = $3) AS "e!""#,
        tenant_id,
        user_id,
        course_id
    )
    .fetch_one(db)
    .await
}

/// What a progress write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressWrite {
    /// False: the learner is not enrolled, and nothing was written.
    pub enrolled: bool,
    /// Whether the lesson's state changed (a repeat of the same state changes nothing).
    pub changed: bool,
}

/// Records a lesson as completed (or not) for an enrolled learner. The same write twice
/// leaves one row.
pub async fn set_progress(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: Uuid,
    course_id: Uuid,
    lesson_id: &str,
    completed: bool,
    version: i32,
) -> Result<ProgressWrite, sqlx::Error> {
    let r = sqlx::query!(
        r#"WITH enrolled AS (
               SELECT 1 FROM enrollments WHERE user_id = $2 AND course_id = $3 AND tenant_id = $1),
           written AS (
               INSERT INTO lesson_progress (tenant_id, user_id, course_id, lesson_id, completed, version)
               SELECT $1, $2, $3, $4, $5, $6 FROM enrolled
               ON CONFLICT (user_id, course_id, lesson_id) DO UPDATE
               SET completed = EXCLUDED.completed, version = EXCLUDED.version, updated_at = clock_timestamp()
               WHERE lesson_progress.completed IS DISTINCT FROM EXCLUDED.completed
               RETURNING 1)
           SELECT EXISTS (SELECT 1 FROM enrolled) AS "enrolled!",
                  EXISTS (SELECT 1 FROM written) AS "changed!""#,
        tenant_id,
        user_id,
        course_id,
        lesson_id,
        completed,
        version
    )
    .fetch_one(db)
    .await?;
    Ok(ProgressWrite {
        enrolled: r.enrolled,
        changed: r.changed,
    })
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
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<LessonState>, sqlx::Error> {
    sqlx::query_as!(
        LessonState,
        "SELECT lesson_id, completed, version, updated_at FROM lesson_progress
         WHERE user_id = $1 AND course_id = $2 ORDER BY updated_at, lesson_id",
        user_id,
        course_id
    )
    .fetch_all(db)
    .await
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

/// An attempt to store.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
    pub package_id: Uuid,
    pub lesson_id: &'a str,
    pub answers: &'a Value,
    pub score: i32,
    pub total: i32,
}

/// Stores a graded attempt; `None` when the learner is not enrolled.
pub async fn insert_attempt(
    db: impl PgExecutor<'_>,
    a: NewAttempt<'_>,
) -> Result<Option<Attempt>, sqlx::Error> {
    sqlx::query_as!(
        Attempt,
        "INSERT INTO quiz_attempts (id, tenant_id, user_id, course_id, package_id, lesson_id, answers, score, total)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
         WHERE EXISTS (SELECT 1 FROM enrollments WHERE user_id = $3 AND course_id = $4 AND tenant_id = $2)
         RETURNING id, lesson_id, answers, score, total, created_at",
        Uuid::new_v4(),
        a.tenant_id,
        a.user_id,
        a.course_id,
        a.package_id,
        a.lesson_id,
        a.answers,
        a.score,
        a.total
    )
    .fetch_optional(db)
    .await
}

/// A learner's attempts at one lesson's quiz, newest first.
pub async fn attempts(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    course_id: Uuid,
    lesson_id: &str,
) -> Result<Vec<Attempt>, sqlx::Error> {
    sqlx::query_as!(
        Attempt,
        "SELECT id, lesson_id, answers, score, total, created_at FROM quiz_attempts
         WHERE user_id = $1 AND course_id = $2 AND lesson_id = $3 ORDER BY created_at DESC LIMIT 50",
        user_id,
        course_id,
        lesson_id
    )
    .fetch_all(db)
    .await
}
