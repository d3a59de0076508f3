//! Packaging and publishing: a course's newest approved syllabus and parts become an
//! immutable package version; publishing moves the course's one pointer to a version.

use db::PgPool;
use db::artifacts::{self, Artifact};
use db::audit::{self, AuditEvent};
use db::courses;
use db::packages::{self, NewPackage, PackageRow};
use db::types::{ArtifactKind, ArtifactStatus, PackageStatus};
use domain::AuditAction;
use domain::package::{self as builder, BuildError, Part, PartKind, PartStatus};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{ADMIN, Actor, AppError};

fn part(a: &Artifact) -> Part {
    Part {
        artifact_id: a.id.to_string(),
        kind: match a.kind {
            ArtifactKind::Syllabus => PartKind::Syllabus,
            ArtifactKind::Lesson => PartKind::Lesson,
            ArtifactKind::Quiz => PartKind::Quiz,
            ArtifactKind::Project => PartKind::Project,
        },
        ref_id: a.ref_id.clone(),
        version: u32::try_from(a.version).unwrap_or_default(),
        status: match a.status {
            ArtifactStatus::Draft => PartStatus::Draft,
            ArtifactStatus::Approved => PartStatus::Approved,
            ArtifactStatus::Rejected => PartStatus::Rejected,
        },
        prompt_version: a.provenance["promptVersion"].as_str().map(str::to_owned),
        content_hash: a.content_hash.clone(),
        body: a.body.clone(),
    }
}

/// What building the course now would do: the syllabus it would use, the planned parts
/// that are missing or unapproved (by title), and the version it would repeat unchanged.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The newest approved syllabus: (id, version).
    pub syllabus: Option<(Uuid, i32)>,
    pub gaps: Vec<builder::Gap>,
    /// The newest built version, when it holds exactly what a build would take now.
    pub unchanged_since: Option<i32>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.syllabus.is_some() && self.gaps.is_empty()
    }
}

/// The readiness checklist of a course, for staff.
#[tracing::instrument(skip_all, fields(course = %course_id))]
pub async fn readiness(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
) -> Result<Readiness, AppError> {
    actor.require(crate::STAFF)?;
    courses::get(pool, actor.tenant_id, course_id)
        .await?
        .ok_or_else(|| AppError::not_found("course"))?;
    let Some(syllabus) =
        artifacts::newest_approved_syllabus(pool, actor.tenant_id, course_id).await?
    else {
        return Ok(Readiness {
            syllabus: None,
            gaps: Vec::new(),
            unchanged_since: None,
        });
    };
    let plan: domain::Syllabus = serde_json::from_value(syllabus.body.clone())
        .map_err(|e| AppError::Corrupt(format!("syllabus {}: {e}", syllabus.id)))?;
    let parts: Vec<Part> = artifacts::content_of_course(pool, actor.tenant_id, course_id)
        .await?
        .iter()
        .map(part)
        .collect();
    let ready = builder::readiness(&plan, &parts);
    let mut unchanged_since = None;
    if ready.gaps.is_empty() {
        let newest = packages::versions(pool, actor.tenant_id, course_id).await?;
        if let Some(last) = newest.first().filter(|p| p.syllabus_id == syllabus.id)
            && let Some((_, body)) =
                packages::version(pool, actor.tenant_id, course_id, last.version).await?
        {
            let built: Option<domain::package::CoursePackage> = serde_json::from_value(body).ok();
            if built.is_some_and(|b| b.part_ids() == ready.chosen) {
                unchanged_since = Some(last.version);
            }
        }
    }
    Ok(Readiness {
        syllabus: Some((syllabus.id, syllabus.version)),
        gaps: ready.gaps,
        unchanged_since,
    })
}

/// Builds and stores the course's next version from its newest approved syllabus and the
/// newest approved part for every planned lesson, quiz and project. One build of a course
/// runs at a time; a second one meanwhile is refused at once rather than queued.
#[tracing::instrument(skip_all, fields(course = %course_id))]
pub async fn build_package(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
) -> Result<PackageRow, AppError> {
    actor.require(ADMIN)?;
    let mut tx = pool.begin().await?;
    courses::get(&mut *tx, actor.tenant_id, course_id)
        .await?
        .ok_or_else(|| AppError::not_found("course"))?;
    if !packages::try_lock_builds(&mut tx, course_id).await? {
        return Err(AppError::conflict(
            "build_in_progress",
            "another build of this course is running; try again when it has finished",
        ));
    }
    let syllabus = artifacts::newest_approved_syllabus(&mut *tx, actor.tenant_id, course_id)
        .await?
        .ok_or_else(|| {
            AppError::conflict(
                "not_ready",
                "the course has no approved syllabus yet; approve one before building",
            )
        })?;
    let parts: Vec<Part> = artifacts::content_of_course(&mut *tx, actor.tenant_id, course_id)
        .await?
        .iter()
        .map(part)
        .collect();
    let version = packages::next_version(&mut tx, course_id).await?;
    let built = builder::build(
        &course_id.to_string(),
        &part(&syllabus),
        &parts,
        u32::try_from(version).unwrap_or(1),
    )
    .map_err(|e| match e {
        BuildError::TooLarge { .. } => AppError::TooLarge(e.to_string()),
        other => AppError::conflict("not_ready", other.to_string()),
    })?;
    let body: Value = serde_json::from_str(&built.json)
        .map_err(|e| AppError::Corrupt(format!("package JSON: {e}")))?;
    let stored = packages::insert(
        &mut tx,
        NewPackage {
            tenant_id: actor.tenant_id,
            course_id,
            syllabus_id: syllabus.id,
            version,
            title: &built.package.title,
            body: &body,
            content_hash: &built.hash,
            size_bytes: i32::try_from(built.size()).unwrap_or(i32::MAX),
            created_by: Some(actor.user_id),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::PackageBuilt, "course_package", stored.id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({
                "courseId": course_id, "syllabusId": syllabus.id, "version": version,
                "contentHash": built.hash, "sizeBytes": built.size(),
                "parts": built.package.provenance.parts.len(),
            })),
    )
    .await;
    tx.commit().await?;
    Ok(stored)
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

async fn locked_version(
    tx: &mut db::Transaction<'_, db::Postgres>,
    actor: &Actor,
    course_id: Uuid,
    version: i32,
) -> Result<PackageRow, AppError> {
    packages::lock_version(tx, actor.tenant_id, course_id, version)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("version {version} not found")))
}

/// Makes `version` the course's active version: publishes it, or rolls back to it when it
/// is older than the active one. Archived versions cannot be made active.
#[tracing::instrument(skip_all, fields(course = %course_id, version))]
pub async fn publish(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
    version: i32,
) -> Result<Published, AppError> {
    actor.require(ADMIN)?;
    let mut tx = pool.begin().await?;
    let target = locked_version(&mut tx, actor, course_id, version).await?;
    if target.status != PackageStatus::Published {
        return Err(AppError::conflict(
            "archived",
            format!("version {version} is archived and cannot be made active"),
        ));
    }
    let previous = packages::lock_active(&mut tx, actor.tenant_id, course_id).await?;
    if previous.is_some_and(|(id, _)| id == target.id) {
        return Err(AppError::conflict(
            "already_active",
            format!("version {version} is already the active version"),
        ));
    }
    packages::point_course(
        &mut tx,
        actor.tenant_id,
        course_id,
        target.id,
        actor.user_id,
    )
    .await?;
    let previous_version = previous.map(|(_, v)| v);
    let rollback = previous_version.is_some_and(|p| p > version);
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::PackagePublished, "course_package", target.id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({
                "courseId": course_id, "version": version, "previousVersion": previous_version,
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
#[tracing::instrument(skip_all, fields(course = %course_id, version))]
pub async fn archive(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
    version: i32,
) -> Result<PackageRow, AppError> {
    actor.require(ADMIN)?;
    let mut tx = pool.begin().await?;
    let target = locked_version(&mut tx, actor, course_id, version).await?;
    // Lock the pointer too, so a concurrent publish of this version waits for us.
    let active = packages::lock_active(&mut tx, actor.tenant_id, course_id).await?;
    if active.is_some_and(|(id, _)| id == target.id) {
        return Err(AppError::conflict(
            "active_version",
            format!(
                "version {version} is the active version; publish another version before archiving it"
            ),
        ));
    }
    if target.status == PackageStatus::Archived {
        return Err(AppError::conflict(
            "archived",
            format!("version {version} is already archived"),
        ));
    }
    packages::set_archived(&mut tx, target.id).await?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::PackageArchived, "course_package", target.id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({ "courseId": course_id, "version": version })),
    )
    .await;
    tx.commit().await?;
    Ok(PackageRow {
        status: PackageStatus::Archived,
        ..target
    })
}
