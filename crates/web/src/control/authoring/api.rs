//! The authoring API: briefs in, drafts reviewed and edited, content and regeneration
//! requested. Each handler is a thin caller of `app::authoring`; nothing here calls a model.

use app::authoring::{self, Family};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use db::artifacts::{self, Artifact};
use db::types::ArtifactKind;
use domain::{Brief, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::{Json, Path, Query};

pub(crate) const STAFF: &[Role] = &[Role::Admin, Role::Reviewer];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/briefs", post(create_brief))
        .route("/api/admin/briefs/jobs", get(brief_jobs))
        .route("/api/admin/syllabi", get(list_syllabi))
        .route("/api/admin/syllabi/{id}", get(get_syllabus))
        .route("/api/admin/syllabi/{id}/approve", post(approve_syllabus))
        .route("/api/admin/syllabi/{id}/reject", post(reject_syllabus))
        .route("/api/admin/syllabi/{id}/edit", post(edit_syllabus))
        .route("/api/admin/syllabi/{id}/content", post(request_content))
        .route("/api/admin/syllabi/{id}/jobs", get(syllabus_jobs))
        .route(
            "/api/admin/syllabi/{id}/content/impact",
            get(content_impact),
        )
        .route(
            "/api/admin/syllabi/{id}/content/regenerate",
            post(regenerate_all_content),
        )
        .route(
            "/api/admin/syllabi/{id}/regenerate",
            post(regenerate_syllabus),
        )
        .route(
            "/api/admin/content/{id}/regenerate",
            post(regenerate_content),
        )
        .route("/api/admin/content", get(list_content))
        .route("/api/admin/content/{id}", get(get_content))
        .route("/api/admin/content/{id}/approve", post(approve_content))
        .route("/api/admin/content/{id}/reject", post(reject_content))
        .route("/api/admin/content/{id}/edit", post(edit_content))
}

pub(crate) fn violations(v: domain::Violations) -> WebError {
    app::AppError::from(v).into()
}

#[tracing::instrument(skip_all)]
async fn create_brief(
    State(state): State<AppState>,
    caller: Caller,
    Json(brief): Json<Brief>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    caller.require_role(STAFF)?;
    let brief = brief.validate().map_err(violations)?;
    let done = authoring::submit_brief(&state.pool, &caller.actor(), &brief).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "briefId": done.course.brief_id, "courseId": done.course.id, "job": done.job,
            "warnings": brief.warnings(),
        })),
    ))
}

fn summary(a: &Artifact) -> Value {
    json!({
        "id": a.id, "kind": a.kind, "title": a.title, "status": a.status, "version": a.version,
        "refId": a.ref_id, "moduleId": a.module_id, "courseId": a.course_id,
        "syllabusId": a.syllabus_id, "parentId": a.parent_id,
        "offline": a.provenance["offline"], "createdAt": crate::kit::rfc3339(a.created_at),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    syllabus_id: Option<Uuid>,
    course_id: Option<Uuid>,
    kind: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn list_syllabi(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(STAFF)?;
    let filter = artifacts::Filter {
        kinds: vec![ArtifactKind::Syllabus],
        ..Default::default()
    };
    let rows = artifacts::list(&state.pool, caller.tenant_id, &filter, 200).await?;
    Ok(axum::Json(
        json!({ "items": rows.iter().map(summary).collect::<Vec<_>>() }),
    ))
}

#[tracing::instrument(skip_all)]
async fn list_content(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(STAFF)?;
    let kinds = match q.kind.as_deref().map(str::to_uppercase) {
        Some(k) => match k.parse::<ArtifactKind>() {
            Ok(kind) if !kind.is_syllabus() => vec![kind],
            _ => {
                return Err(WebError::BadRequest(format!(
                    "unknown kind {k:?}; use LESSON, QUIZ or PROJECT"
                )));
            }
        },
        None => ArtifactKind::CONTENT.to_vec(),
    };
    let filter = artifacts::Filter {
        kinds,
        course_id: q.course_id,
        syllabus_id: q.syllabus_id,
        ..Default::default()
    };
    let rows = artifacts::list(&state.pool, caller.tenant_id, &filter, 1500).await?;
    let items: Vec<Value> = rows.iter().map(summary).collect();
    Ok(axum::Json(json!({ "items": items })))
}

#[tracing::instrument(skip_all)]
async fn get_syllabus(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    let a = authoring::load(&state.pool, &caller.actor(), Family::Syllabus, id).await?;
    Ok(axum::Json(json!({ "artifact": a })))
}

/// The generation jobs of a syllabus (its own and its modules' content), for pages that
/// follow them live: `working` is true while any is queued or running.
#[tracing::instrument(skip_all)]
async fn syllabus_jobs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    let a = authoring::load(&state.pool, &caller.actor(), Family::Syllabus, id).await?;
    let jobs = db::jobs::for_syllabus(
        &state.pool,
        caller.tenant_id,
        a.brief_id.map(|b| b.to_string()).unwrap_or_default(),
        a.id,
    )
    .await?;
    let working = jobs.iter().any(|j| {
        matches!(
            j.status,
            domain::JobStatus::Pending | domain::JobStatus::Running
        )
    });
    let items: Vec<Value> = jobs
        .iter()
        .map(|j| json!({ "id": j.id, "kind": j.kind, "status": j.status.to_string(), "target": j.target_id }))
        .collect();
    Ok(axum::Json(json!({ "jobs": items, "working": working })))
}

#[derive(Deserialize)]
struct IdsQuery {
    #[serde(default)]
    ids: String,
}

/// Where the syllabus generation of some briefs stands, by their jobs' ids (at most 50, of
/// the caller's tenant; others are left out): the syllabi page polls it while they work.
#[tracing::instrument(skip_all)]
async fn brief_jobs(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<IdsQuery>,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(STAFF)?;
    let ids = q
        .ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Uuid>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| WebError::BadRequest("ids: a comma-separated list of job ids".into()))?;
    if ids.len() > 50 {
        return Err(WebError::BadRequest("ids: at most 50".into()));
    }
    let mut items = Vec::new();
    let mut working = false;
    for id in ids {
        let Some(j) = db::jobs::get(&state.pool, caller.tenant_id, id).await? else {
            continue;
        };
        working |= matches!(
            j.status,
            domain::JobStatus::Pending | domain::JobStatus::Running
        );
        let (class, label) = super::pages::brief_state(Some(j.status));
        items.push(
            json!({ "id": j.id, "status": j.status.to_string(), "label": label, "class": class }),
        );
    }
    Ok(axum::Json(json!({ "jobs": items, "working": working })))
}

#[tracing::instrument(skip_all)]
async fn get_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    let a = authoring::load(&state.pool, &caller.actor(), Family::Content, id).await?;
    Ok(axum::Json(json!({ "artifact": a })))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
pub(crate) struct Review {
    note: Option<String>,
}

async fn review(
    state: &AppState,
    caller: &Caller,
    family: Family,
    id: Uuid,
    approve: bool,
    note: Option<String>,
) -> Result<axum::Json<Value>, WebError> {
    let a = authoring::review(
        &state.pool,
        &caller.actor(),
        family,
        id,
        approve,
        note.as_deref(),
    )
    .await?;
    Ok(axum::Json(
        json!({ "artifact": summary(&a), "reviewedBy": a.reviewed_by, "note": a.review_note }),
    ))
}

#[tracing::instrument(skip_all)]
async fn approve_syllabus(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<Review>,
) -> Result<axum::Json<Value>, WebError> {
    review(&state, &caller, Family::Syllabus, id, true, r.note).await
}

#[tracing::instrument(skip_all)]
async fn reject_syllabus(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<Review>,
) -> Result<axum::Json<Value>, WebError> {
    review(&state, &caller, Family::Syllabus, id, false, r.note).await
}

#[tracing::instrument(skip_all)]
async fn approve_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<Review>,
) -> Result<axum::Json<Value>, WebError> {
    review(&state, &caller, Family::Content, id, true, r.note).await
}

#[tracing::instrument(skip_all)]
async fn reject_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<Review>,
) -> Result<axum::Json<Value>, WebError> {
    review(&state, &caller, Family::Content, id, false, r.note).await
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct Edit {
    body: Value,
}

async fn edit(
    state: &AppState,
    caller: &Caller,
    family: Family,
    id: Uuid,
    body: Value,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let created = authoring::edit(&state.pool, &caller.actor(), family, id, body).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "artifact": summary(&created) })),
    ))
}

#[tracing::instrument(skip_all)]
async fn edit_syllabus(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(e): Json<Edit>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    edit(&state, &caller, Family::Syllabus, id, e.body).await
}

#[tracing::instrument(skip_all)]
async fn edit_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(e): Json<Edit>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    edit(&state, &caller, Family::Content, id, e.body).await
}

#[tracing::instrument(skip_all)]
async fn request_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let jobs = authoring::request_content(&state.pool, &caller.actor(), id).await?;
    let out: Vec<Value> = jobs
        .iter()
        .map(|j| json!({ "moduleId": j.module_id, "jobId": j.job.id, "alreadyRunning": j.already_running }))
        .collect();
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "jobs": out }))))
}

#[tracing::instrument(skip_all)]
async fn content_impact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<authoring::Impact>, WebError> {
    Ok(axum::Json(
        authoring::content_impact(&state.pool, &caller.actor(), id).await?,
    ))
}

/// What the caller confirms a regeneration of every existing part supersedes, as
/// `GET …/content/impact` reported it.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConfirmedImpact {
    parts: u32,
    edited: u32,
    approved: u32,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegenerateAllBody {
    instruction: String,
    confirm: ConfirmedImpact,
}

#[tracing::instrument(skip_all)]
async fn regenerate_all_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<RegenerateAllBody>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let confirmed = authoring::Impact {
        parts: b.confirm.parts as usize,
        edited: b.confirm.edited as usize,
        approved: b.confirm.approved as usize,
    };
    let jobs =
        authoring::regenerate_content(&state.pool, &caller.actor(), id, &b.instruction, confirmed)
            .await?;
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "jobIds": ids }))))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct RegenerateBody {
    instruction: String,
}

async fn regenerate(
    state: &AppState,
    caller: &Caller,
    family: Family,
    id: Uuid,
    instruction: &str,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let job = authoring::regenerate(&state.pool, &caller.actor(), family, id, instruction).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "job": job }))))
}

#[tracing::instrument(skip_all)]
async fn regenerate_syllabus(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<RegenerateBody>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    regenerate(&state, &caller, Family::Syllabus, id, &r.instruction).await
}

#[tracing::instrument(skip_all)]
async fn regenerate_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<RegenerateBody>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    regenerate(&state, &caller, Family::Content, id, &r.instruction).await
}
