//! Authoring: a brief becomes a course and a syllabus job; people review, edit and ask for
//! regeneration; an approved syllabus asks for its content.

use db::PgPool;
use db::artifacts::{self, Artifact};
use db::audit::{self, AuditEvent};
use db::courses::{self, Course};
use db::jobs::{Created, Job};
use db::types::{ArtifactKind, ArtifactStatus};
use domain::{AuditAction, Brief, JobSpec, Lesson, Project, Quiz, Syllabus, Valid, Violations};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Actor, AppError, STAFF, enqueue};

/// Longest review note, in characters.
pub const NOTE_MAX: usize = 2_000;

/// Which family of artifacts a route serves: a syllabus route never shows or changes a
/// lesson, and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Syllabus,
    Content,
}

impl Family {
    fn holds(self, kind: ArtifactKind) -> bool {
        match self {
            Family::Syllabus => kind.is_syllabus(),
            Family::Content => !kind.is_syllabus(),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Family::Syllabus => "syllabus",
            Family::Content => "content",
        }
    }
}

/// A stored brief, its course and the job that drafts its syllabus.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub course: Course,
    pub job: Job,
}

/// Stores a valid brief as a new course and enqueues its syllabus generation, together.
#[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id))]
pub async fn submit_brief(
    pool: &PgPool,
    actor: &Actor,
    brief: &Valid<Brief>,
) -> Result<Submitted, AppError> {
    actor.require(STAFF)?;
    let body = serde_json::to_value(&**brief).map_err(|e| AppError::Invalid(e.to_string()))?;
    let mut tx = pool.begin().await?;
    let course =
        courses::create_with_brief(&mut tx, actor.tenant_id, &brief.title, &body, actor.user_id)
            .await?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::BriefCreated, "brief", course.brief_id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({ "title": brief.title, "courseId": course.id })),
    )
    .await;
    let spec = JobSpec::GenerateSyllabus {
        brief_id: course.brief_id,
    };
    let job = enqueue(&mut tx, actor, &spec).await?.job().clone();
    tx.commit().await?;
    Ok(Submitted { course, job })
}

/// An artifact of the actor's tenant in `family`; anything else is not found.
pub async fn load(
    pool: &PgPool,
    actor: &Actor,
    family: Family,
    id: Uuid,
) -> Result<Artifact, AppError> {
    actor.require(STAFF)?;
    artifacts::get(pool, actor.tenant_id, id)
        .await?
        .filter(|a| family.holds(a.kind))
        .ok_or_else(|| AppError::not_found(family.noun()))
}

/// Refuses anything but the newest version of its lineage (the lineage lock is held).
async fn require_newest(
    tx: &mut db::Transaction<'_, db::Postgres>,
    a: &Artifact,
    doing: &str,
) -> Result<(), AppError> {
    let newest = artifacts::lock_lineage(tx, a.course_id, a.kind, &a.ref_id).await?;
    match newest {
        Some(n) if n.id != a.id => Err(AppError::conflict(
            "superseded",
            format!(
                "version {} is superseded by version {}; {doing} the newest version",
                a.version, n.version
            ),
        )),
        _ => Ok(()),
    }
}

/// Approves or rejects a DRAFT. Only the newest version of a lineage can be approved, and
/// content only while the syllabus it was made from is approved.
#[tracing::instrument(skip_all, fields(artifact = %id, approve))]
pub async fn review(
    pool: &PgPool,
    actor: &Actor,
    family: Family,
    id: Uuid,
    approve: bool,
    note: Option<&str>,
) -> Result<Artifact, AppError> {
    actor.require(STAFF)?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > NOTE_MAX) {
        return Err(AppError::Invalid(format!(
            "note: must be at most {NOTE_MAX} characters"
        )));
    }
    let mut tx = pool.begin().await?;
    let current = artifacts::get(&mut *tx, actor.tenant_id, id)
        .await?
        .filter(|a| family.holds(a.kind))
        .ok_or_else(|| AppError::not_found(family.noun()))?;
    require_newest(&mut tx, &current, "review").await?;
    let current = artifacts::lock(&mut tx, actor.tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found(family.noun()))?;
    if !current.status.is_draft() {
        return Err(AppError::conflict(
            "already_reviewed",
            format!(
                "only a DRAFT can be reviewed; version {} is {}",
                current.version, current.status
            ),
        ));
    }
    if approve && !current.kind.is_syllabus() {
        let syllabus_ok = match current.syllabus_id {
            Some(s) => artifacts::get(&mut *tx, actor.tenant_id, s)
                .await?
                .is_some_and(|s| s.status == ArtifactStatus::Approved),
            None => false,
        };
        if !syllabus_ok {
            return Err(AppError::conflict(
                "syllabus_not_approved",
                "its syllabus is not approved",
            ));
        }
    }
    let status = if approve {
        ArtifactStatus::Approved
    } else {
        ArtifactStatus::Rejected
    };
    let done = artifacts::set_review(&mut tx, id, status, actor.user_id, note)
        .await?
        .ok_or_else(|| AppError::conflict("already_reviewed", "it was reviewed meanwhile"))?;
    let action = match (done.kind.is_syllabus(), approve) {
        (true, true) => AuditAction::SyllabusApproved,
        (true, false) => AuditAction::SyllabusRejected,
        (false, true) => AuditAction::ContentApproved,
        (false, false) => AuditAction::ContentRejected,
    };
    audit::record(
        &mut tx,
        AuditEvent::new(action, done.kind.entity(), done.id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({
                "kind": done.kind, "version": done.version, "note": done.review_note,
                "courseId": done.course_id,
            })),
    )
    .await;
    tx.commit().await?;
    Ok(done)
}

/// What "approve all" did in one module.
#[derive(Debug, Clone, Default)]
pub struct Bulk {
    pub approved: usize,
    /// Drafts left alone because a newer version of theirs exists.
    pub superseded: usize,
}

/// Approves every draft of one module of a syllabus's course that is the newest of its
/// lineage, with one note; superseded drafts are counted and left as they are.
#[tracing::instrument(skip_all, fields(syllabus = %syllabus_id, module = module_id))]
pub async fn approve_module(
    pool: &PgPool,
    actor: &Actor,
    syllabus_id: Uuid,
    module_id: &str,
) -> Result<Bulk, AppError> {
    let syllabus = load(pool, actor, Family::Syllabus, syllabus_id).await?;
    let plan: Syllabus = parse_body(&syllabus)?;
    if !plan.modules.iter().any(|m| m.id == module_id) {
        return Err(AppError::not_found("module"));
    }
    let drafts = artifacts::list(
        pool,
        actor.tenant_id,
        &artifacts::Filter {
            kinds: ArtifactKind::CONTENT.to_vec(),
            course_id: Some(syllabus.course_id),
            status: Some(ArtifactStatus::Draft),
            module_id: Some(module_id.to_owned()),
            ..Default::default()
        },
        10_000,
    )
    .await?;
    let mut out = Bulk::default();
    for d in drafts {
        match review(
            pool,
            actor,
            Family::Content,
            d.id,
            true,
            Some("approved with the rest of its module"),
        )
        .await
        {
            Ok(_) => out.approved += 1,
            Err(AppError::Conflict {
                code: "superseded", ..
            }) => out.superseded += 1,
            Err(AppError::Conflict {
                code: "already_reviewed",
                ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn parse_body<T: serde::de::DeserializeOwned>(a: &Artifact) -> Result<T, AppError> {
    serde_json::from_value(a.body.clone()).map_err(|e| {
        AppError::Corrupt(format!(
            "stored {} {} does not parse: {e}",
            a.kind.entity(),
            a.id
        ))
    })
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// Validates an edited body the way a generated one is, against what it belongs to, and
/// gives its title.
pub async fn validate_edit(
    pool: &PgPool,
    parent: &Artifact,
    body: Value,
) -> Result<(String, Value), AppError> {
    Ok(check_edit(pool, parent, body).await??)
}

/// What [`validate_edit`] checks, with the broken rules kept apart (each with its JSON
/// Pointer path) so a form can show each beside its field. A body that is not of the
/// artifact's type at all, or a plan that changed, is still an [`AppError`].
pub async fn check_edit(
    pool: &PgPool,
    parent: &Artifact,
    body: Value,
) -> Result<Result<(String, Value), Violations>, AppError> {
    let bad = |e: serde_json::Error| AppError::Invalid(format!("body: {e}"));
    if parent.kind.is_syllabus() {
        let v = serde_json::from_value::<Syllabus>(body).map_err(bad)?;
        return Ok(v.validate().map(|v| (v.title.clone(), to_value(&*v))));
    }
    let sid = parent
        .syllabus_id
        .ok_or_else(|| AppError::Corrupt(format!("content {} has no syllabus", parent.id)))?;
    let s = artifacts::get(pool, parent.tenant_id, sid)
        .await?
        .ok_or_else(|| AppError::not_found("syllabus"))?;
    let s: Syllabus = parse_body(&s)?;
    let gone =
        |what: &str| AppError::conflict("plan_changed", format!("the planned {what} is gone"));
    Ok(match parent.kind {
        ArtifactKind::Lesson => {
            let (m, p) = s.lesson(&parent.ref_id).ok_or_else(|| gone("lesson"))?;
            serde_json::from_value::<Lesson>(body)
                .map_err(bad)?
                .validate_for(m, p)
                .map(|v| (v.title.clone(), to_value(&*v)))
        }
        ArtifactKind::Quiz => {
            let (_, p) = s.lesson(&parent.ref_id).ok_or_else(|| gone("lesson"))?;
            serde_json::from_value::<Quiz>(body)
                .map_err(bad)?
                .validate_for(p)
                .map(|v| (parent.title.clone(), to_value(&*v)))
        }
        _ => {
            let m = s
                .modules
                .iter()
                .find(|m| m.id == parent.ref_id)
                .ok_or_else(|| gone("module"))?;
            serde_json::from_value::<Project>(body)
                .map_err(bad)?
                .validate_for(m)
                .map(|v| (v.title.clone(), to_value(&*v)))
        }
    })
}

/// A person's edit: validated whole, stored as a new DRAFT version of the newest version
/// (editing an older one is refused, so nobody overwrites an edit they have not seen).
#[tracing::instrument(skip_all, fields(artifact = %id))]
pub async fn edit(
    pool: &PgPool,
    actor: &Actor,
    family: Family,
    id: Uuid,
    body: Value,
) -> Result<Artifact, AppError> {
    let parent = load(pool, actor, family, id).await?;
    let (title, body) = validate_edit(pool, &parent, body).await?;
    let mut tx = pool.begin().await?;
    require_newest(&mut tx, &parent, "edit").await?;
    // A regeneration's draft lands on top of whatever is newest when it finishes: an edit
    // saved meanwhile would be superseded by generated content nobody confirmed.
    if let Some(job) =
        db::jobs::live_regeneration(&mut *tx, actor.tenant_id, parent.lineage_id).await?
    {
        return Err(AppError::conflict(
            "regeneration_pending",
            format!(
                "a regeneration of this part is queued or running (job {job}); its draft would \
                 land on top of your edit, so edit it once that draft exists"
            ),
        ));
    }
    let created = artifacts::insert_edit(&mut tx, &parent, actor.user_id, &title, &body).await?;
    let action = if created.kind.is_syllabus() {
        AuditAction::SyllabusEdited
    } else {
        AuditAction::ContentEdited
    };
    audit::record(
        &mut tx,
        AuditEvent::new(action, created.kind.entity(), created.id)
            .tenant(created.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({ "version": created.version, "parentId": parent.id, "courseId": created.course_id })),
    )
    .await;
    tx.commit().await?;
    Ok(created)
}

/// One requested content job.
#[derive(Debug, Clone)]
pub struct ModuleJob {
    pub module_id: String,
    pub job: Job,
    /// A live job for the module already existed; no second one was made.
    pub already_running: bool,
}

/// One GENERATE_CONTENT job per module of an APPROVED syllabus that lacks some of its
/// lessons, quizzes or project, in one transaction. Modules whose parts all exist get no
/// job, so hand-edited and approved content is never drafted over; when every module is
/// complete the request is the conflict `content_complete`.
#[tracing::instrument(skip_all, fields(syllabus = %syllabus_id))]
pub async fn request_content(
    pool: &PgPool,
    actor: &Actor,
    syllabus_id: Uuid,
) -> Result<Vec<ModuleJob>, AppError> {
    let a = load(pool, actor, Family::Syllabus, syllabus_id).await?;
    if a.status != ArtifactStatus::Approved {
        return Err(AppError::conflict(
            "syllabus_not_approved",
            format!(
                "content is generated from an APPROVED syllabus only; this one is {}",
                a.status
            ),
        ));
    }
    let syllabus: Syllabus = parse_body(&a)?;
    let existing = artifacts::existing_parts(pool, actor.tenant_id, a.course_id).await?;
    let mut tx = pool.begin().await?;
    let mut out = Vec::new();
    for module in &syllabus.modules {
        let missing = domain::package::module_parts(module)
            .into_iter()
            .any(|(kind, r)| !existing.contains(&(kind, r.to_owned())));
        if !missing {
            continue;
        }
        let spec = JobSpec::GenerateContent {
            course_id: a.course_id,
            syllabus_id,
            module_id: module.id.clone(),
        };
        let created = enqueue(&mut tx, actor, &spec).await?;
        out.push(ModuleJob {
            module_id: module.id.clone(),
            already_running: matches!(created, Created::Existing(_)),
            job: created.job().clone(),
        });
    }
    if out.is_empty() {
        return Err(AppError::conflict(
            "content_complete",
            "every lesson, quiz and project this syllabus plans exists already; \
             regenerate a part to get a new draft of it",
        ));
    }
    tx.commit().await?;
    Ok(out)
}

/// Shortest and longest regeneration instruction, in characters.
pub const INSTRUCTION_CHARS: std::ops::RangeInclusive<usize> = 5..=2_000;

fn checked_instruction(instruction: &str) -> Result<String, AppError> {
    let instruction = instruction.trim();
    let n = instruction.chars().count();
    if !INSTRUCTION_CHARS.contains(&n) {
        return Err(AppError::Invalid(format!(
            "instruction: must be {} to {} characters (has {n})",
            INSTRUCTION_CHARS.start(),
            INSTRUCTION_CHARS.end()
        )));
    }
    Ok(instruction.to_owned())
}

/// Asks for a new DRAFT version of an artifact, generated with a reviewer's instruction.
#[tracing::instrument(skip_all, fields(artifact = %id))]
pub async fn regenerate(
    pool: &PgPool,
    actor: &Actor,
    family: Family,
    id: Uuid,
    instruction: &str,
) -> Result<Job, AppError> {
    let a = load(pool, actor, family, id).await?;
    let instruction = checked_instruction(instruction)?;
    if !a.kind.is_syllabus() {
        let s = match a.syllabus_id {
            Some(s) => artifacts::get(pool, actor.tenant_id, s).await?,
            None => None,
        };
        if s.is_none_or(|s| s.status != ArtifactStatus::Approved) {
            return Err(AppError::conflict(
                "syllabus_not_approved",
                "content is regenerated from an APPROVED syllabus only",
            ));
        }
    }
    let mut tx = pool.begin().await?;
    let spec = JobSpec::Regenerate {
        artifact_id: id,
        instruction,
    };
    let job = enqueue(&mut tx, actor, &spec).await?.job().clone();
    tx.commit().await?;
    Ok(job)
}

/// What regenerating a syllabus's existing content would supersede: the newest version of
/// each planned part that exists, how many of them a person edited, how many are approved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    pub parts: usize,
    pub edited: usize,
    pub approved: usize,
}

/// The newest version of every planned part of an APPROVED syllabus that exists.
async fn newest_parts(
    pool: &PgPool,
    actor: &Actor,
    syllabus_id: Uuid,
) -> Result<(Artifact, Vec<Artifact>), AppError> {
    let a = load(pool, actor, Family::Syllabus, syllabus_id).await?;
    if a.status != ArtifactStatus::Approved {
        return Err(AppError::conflict(
            "syllabus_not_approved",
            format!(
                "content is regenerated from an APPROVED syllabus only; this one is {}",
                a.status
            ),
        ));
    }
    let syllabus: Syllabus = parse_body(&a)?;
    let planned: std::collections::HashSet<(domain::package::PartKind, String)> = syllabus
        .modules
        .iter()
        .flat_map(|m| {
            domain::package::module_parts(m)
                .into_iter()
                .map(|(k, r)| (k, r.to_owned()))
        })
        .collect();
    let mut content = artifacts::content_of_course(pool, actor.tenant_id, a.course_id).await?;
    content.sort_by(|x, y| {
        (x.kind, x.ref_id.as_str(), -x.version).cmp(&(y.kind, y.ref_id.as_str(), -y.version))
    });
    let mut seen = std::collections::HashSet::new();
    let newest = content
        .into_iter()
        .filter(|c| {
            let kind = match c.kind {
                ArtifactKind::Lesson => domain::package::PartKind::Lesson,
                ArtifactKind::Quiz => domain::package::PartKind::Quiz,
                ArtifactKind::Project => domain::package::PartKind::Project,
                ArtifactKind::Syllabus => return false,
            };
            planned.contains(&(kind, c.ref_id.clone())) && seen.insert((c.kind, c.ref_id.clone()))
        })
        .collect();
    Ok((a, newest))
}

/// What [`regenerate_content`] would supersede now.
pub async fn content_impact(
    pool: &PgPool,
    actor: &Actor,
    syllabus_id: Uuid,
) -> Result<Impact, AppError> {
    let (_, parts) = newest_parts(pool, actor, syllabus_id).await?;
    Ok(impact_of(&parts))
}

fn impact_of(parts: &[Artifact]) -> Impact {
    Impact {
        parts: parts.len(),
        // A person's edit is a version no job made.
        edited: parts.iter().filter(|p| p.job_id.is_none()).count(),
        approved: parts.iter().filter(|p| p.status.is_approved()).count(),
    }
}

/// Asks for a new DRAFT of every existing part of an approved syllabus, with one
/// instruction, in one transaction. It supersedes people's work, so it runs only when
/// `confirmed` is exactly what it would supersede now; anything else (another edit or
/// approval meanwhile) is the conflict `impact_changed`, naming the current figures.
#[tracing::instrument(skip_all, fields(syllabus = %syllabus_id))]
pub async fn regenerate_content(
    pool: &PgPool,
    actor: &Actor,
    syllabus_id: Uuid,
    instruction: &str,
    confirmed: Impact,
) -> Result<Vec<Job>, AppError> {
    let instruction = checked_instruction(instruction)?;
    let (_, parts) = newest_parts(pool, actor, syllabus_id).await?;
    if parts.is_empty() {
        return Err(AppError::conflict(
            "nothing_to_regenerate",
            "no lesson, quiz or project of this syllabus exists yet; generate the content first",
        ));
    }
    let now = impact_of(&parts);
    if now != confirmed {
        return Err(AppError::conflict(
            "impact_changed",
            format!(
                "the content changed since you confirmed: regenerating now supersedes {} part(s), \
                 {} edited by a person and {} approved; confirm again",
                now.parts, now.edited, now.approved
            ),
        ));
    }
    let mut tx = pool.begin().await?;
    let mut jobs = Vec::with_capacity(parts.len());
    for p in &parts {
        let spec = JobSpec::Regenerate {
            artifact_id: p.id,
            instruction: instruction.clone(),
        };
        jobs.push(enqueue(&mut tx, actor, &spec).await?.job().clone());
    }
    tx.commit().await?;
    Ok(jobs)
}
