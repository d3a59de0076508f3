//! The review plane of the syllabus and content engine (phase 7.5): briefs in, drafts
//! reviewed, content requested. Nothing here calls a model: requests become jobs, and the
//! worker runs them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use db::artifacts::{self, Artifact};
use db::jobs::{self, Created, NewJob, Start};
use domain::{Brief, JobKind, Lesson, Project, Quiz, Role, Syllabus};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::WebError;
use crate::extract::{Json, Path, Query};

pub(crate) const STAFF: &[Role] = &[Role::Admin, Role::Reviewer];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/briefs", post(create_brief))
        .route("/api/admin/syllabi", get(list_syllabi))
        .route("/api/admin/syllabi/{id}", get(get_artifact))
        .route("/api/admin/syllabi/{id}/approve", post(approve))
        .route("/api/admin/syllabi/{id}/reject", post(reject))
        .route("/api/admin/syllabi/{id}/edit", post(edit))
        .route("/api/admin/syllabi/{id}/content", post(request_content))
        .route("/api/admin/syllabi/{id}/regenerate", post(regenerate))
        .route("/api/admin/content/{id}/regenerate", post(regenerate))
        .route("/api/admin/content", get(list_content))
        .route("/api/admin/content/{id}", get(get_artifact))
        .route("/api/admin/content/{id}/approve", post(approve))
        .route("/api/admin/content/{id}/reject", post(reject))
        .route("/api/admin/content/{id}/edit", post(edit))
}

pub(crate) fn violations(v: domain::Violations) -> WebError {
    WebError::Unprocessable(
        v.0.iter()
            .map(|x| format!("{}: {}", x.path, x.message))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

fn kind(name: &str) -> Result<JobKind, WebError> {
    JobKind::parse(name).map_err(|e| WebError::Internal(anyhow::anyhow!(e)))
}

async fn create_brief(
    State(state): State<AppState>,
    caller: Caller,
    Json(brief): Json<Brief>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    caller.require_role(STAFF)?;
    let brief = brief.validate().map_err(violations)?;
    let (brief_id, job) = submit_brief(&state, &caller, &brief).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "briefId": brief_id, "job": job })),
    ))
}

/// Stores a valid brief and enqueues its syllabus generation, in one transaction.
pub(crate) async fn submit_brief(
    state: &AppState,
    caller: &Caller,
    brief: &domain::Valid<Brief>,
) -> Result<(Uuid, db::jobs::Job), WebError> {
    let body = serde_json::to_value(&**brief).map_err(|e| WebError::Internal(e.into()))?;
    let mut tx = state.pool.begin().await?;
    let brief_id =
        artifacts::create_brief(&mut tx, caller.tenant_id, &body, caller.user_id).await?;
    let created = jobs::create(
        &mut tx,
        NewJob {
            tenant_id: caller.tenant_id,
            kind: &kind("GENERATE_SYLLABUS")?,
            target_type: "brief",
            target_id: &brief_id.to_string(),
            instruction: json!({ "briefId": brief_id }),
            created_by: Some(caller.user_id),
            start: Start::Pending,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((brief_id, created.job().clone()))
}

fn summary(a: &Artifact) -> Value {
    json!({
        "id": a.id, "kind": a.kind, "title": a.title, "status": a.status, "version": a.version,
        "refId": a.ref_id, "moduleId": a.module_id, "syllabusId": a.syllabus_id, "parentId": a.parent_id,
        "offline": a.provenance["offline"], "createdAt": a.created_at.to_string(),
    })
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "syllabusId")]
    syllabus_id: Option<Uuid>,
    kind: Option<String>,
}

async fn list_syllabi(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(STAFF)?;
    let rows = artifacts::list(&state.pool, caller.tenant_id, &["SYLLABUS"], None, 200).await?;
    Ok(axum::Json(
        json!({ "items": rows.iter().map(summary).collect::<Vec<_>>() }),
    ))
}

async fn list_content(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(STAFF)?;
    let kinds: Vec<&str> = match q.kind.as_deref().map(str::to_uppercase) {
        Some(k) => match k.as_str() {
            "LESSON" => vec!["LESSON"],
            "QUIZ" => vec!["QUIZ"],
            "PROJECT" => vec!["PROJECT"],
            _ => {
                return Err(WebError::BadRequest(format!(
                    "unknown kind {k:?}; use LESSON, QUIZ or PROJECT"
                )));
            }
        },
        None => vec!["LESSON", "QUIZ", "PROJECT"],
    };
    let rows = artifacts::list(&state.pool, caller.tenant_id, &kinds, q.syllabus_id, 1500).await?;
    let items: Vec<Value> = rows.iter().map(summary).collect();
    Ok(axum::Json(json!({ "items": items })))
}

pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<Artifact, WebError> {
    caller.require_role(STAFF)?;
    artifacts::get(&state.pool, caller.tenant_id, id)
        .await?
        .ok_or_else(|| WebError::not_found("artifact"))
}

async fn get_artifact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    let a = load(&state, &caller, id).await?;
    Ok(axum::Json(json!({ "artifact": a })))
}

#[derive(Deserialize, Default)]
struct Review {
    note: Option<String>,
}

async fn review(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    approve: bool,
    note: Option<String>,
) -> Result<axum::Json<Value>, WebError> {
    let a = decide(state, caller, id, approve, note.as_deref()).await?;
    Ok(axum::Json(
        json!({ "artifact": summary(&a), "reviewedBy": a.reviewed_by, "note": a.review_note }),
    ))
}

/// Approves or rejects a draft as `caller`.
pub(crate) async fn decide(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    approve: bool,
    note: Option<&str>,
) -> Result<Artifact, WebError> {
    caller.require_role(STAFF)?;
    if note.is_some_and(|n| n.chars().count() > 2_000) {
        return Err(WebError::Unprocessable(
            "note: must be at most 2000 characters".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let a = artifacts::review(&mut tx, caller.tenant_id, id, caller.user_id, approve, note).await?;
    tx.commit().await?;
    Ok(a)
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<Review>,
) -> Result<axum::Json<Value>, WebError> {
    review(&state, &caller, id, true, r.note).await
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<Review>,
) -> Result<axum::Json<Value>, WebError> {
    review(&state, &caller, id, false, r.note).await
}

#[derive(Deserialize)]
struct Edit {
    body: Value,
}

/// Validates an edited body the same way a generated one is, against what it belongs to.
pub(crate) async fn validate_edit(
    state: &AppState,
    parent: &Artifact,
    body: Value,
) -> Result<(String, Value), WebError> {
    let bad = |e: serde_json::Error| WebError::Unprocessable(format!("body: {e}"));
    let syllabus = || async {
        let id = parent
            .syllabus_id
            .ok_or_else(|| WebError::Internal(anyhow::anyhow!("content without syllabus")))?;
        let s = artifacts::get(&state.pool, parent.tenant_id, id)
            .await?
            .ok_or_else(|| WebError::not_found("syllabus"))?;
        serde_json::from_value::<Syllabus>(s.body).map_err(|e| WebError::Internal(e.into()))
    };
    Ok(match parent.kind.as_str() {
        "SYLLABUS" => {
            let v = serde_json::from_value::<Syllabus>(body)
                .map_err(bad)?
                .validate()
                .map_err(violations)?;
            (v.title.clone(), to_value(&*v))
        }
        "LESSON" => {
            let s = syllabus().await?;
            let (m, p) = s
                .lesson(&parent.ref_id)
                .ok_or_else(|| WebError::Conflict("the planned lesson is gone".into()))?;
            let v = serde_json::from_value::<Lesson>(body)
                .map_err(bad)?
                .validate_for(m, p)
                .map_err(violations)?;
            (v.title.clone(), to_value(&*v))
        }
        "QUIZ" => {
            let s = syllabus().await?;
            let (_, p) = s
                .lesson(&parent.ref_id)
                .ok_or_else(|| WebError::Conflict("the planned lesson is gone".into()))?;
            let v = serde_json::from_value::<Quiz>(body)
                .map_err(bad)?
                .validate_for(p)
                .map_err(violations)?;
            (parent.title.clone(), to_value(&*v))
        }
        _ => {
            let s = syllabus().await?;
            let m = s
                .modules
                .iter()
                .find(|m| m.id == parent.ref_id)
                .ok_or_else(|| WebError::Conflict("the module is gone".into()))?;
            let v = serde_json::from_value::<Project>(body)
                .map_err(bad)?
                .validate_for(m)
                .map_err(violations)?;
            (v.title.clone(), to_value(&*v))
        }
    })
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(e): Json<Edit>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let created = save_edit(&state, &caller, id, e.body).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "artifact": summary(&created) })),
    ))
}

/// Validates an edited body and stores it as a new DRAFT version.
pub(crate) async fn save_edit(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    body: Value,
) -> Result<Artifact, WebError> {
    let parent = load(state, caller, id).await?;
    let (title, body) = validate_edit(state, &parent, body).await?;
    let mut tx = state.pool.begin().await?;
    let created = artifacts::edit(&mut tx, &parent, caller.user_id, &title, &body).await?;
    tx.commit().await?;
    Ok(created)
}

async fn request_content(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let out = enqueue_content(&state, &caller, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "jobs": out }))))
}

/// One `GENERATE_CONTENT` job per module of an APPROVED syllabus, all in one transaction.
pub(crate) async fn enqueue_content(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<Vec<Value>, WebError> {
    let a = load(state, caller, id).await?;
    if a.kind != "SYLLABUS" {
        return Err(WebError::not_found("syllabus"));
    }
    if a.status != "APPROVED" {
        return Err(WebError::Conflict(format!(
            "content is generated from an APPROVED syllabus only; this one is {}",
            a.status
        )));
    }
    let syllabus: Syllabus =
        serde_json::from_value(a.body.clone()).map_err(|e| WebError::Internal(e.into()))?;
    let kind = kind("GENERATE_CONTENT")?;
    let mut tx = state.pool.begin().await?;
    let mut out = Vec::new();
    for module in &syllabus.modules {
        let created = jobs::create(
            &mut tx,
            NewJob {
                tenant_id: caller.tenant_id,
                kind: &kind,
                target_type: "syllabus_module",
                target_id: &format!("{id}/{}", module.id),
                instruction: json!({ "syllabusId": id, "moduleId": module.id }),
                created_by: Some(caller.user_id),
                start: Start::Pending,
            },
        )
        .await?;
        let existing = matches!(created, Created::Existing(_));
        out.push(
            json!({ "moduleId": module.id, "jobId": created.job().id, "alreadyRunning": existing }),
        );
    }
    tx.commit().await?;
    Ok(out)
}

#[derive(Deserialize)]
struct RegenerateBody {
    instruction: String,
}

async fn regenerate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(r): Json<RegenerateBody>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let job = enqueue_regeneration(&state, &caller, id, &r.instruction).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "job": job }))))
}

/// Asks for a new DRAFT version of an artifact, generated with a reviewer's instruction.
pub(crate) async fn enqueue_regeneration(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    instruction: &str,
) -> Result<db::jobs::Job, WebError> {
    let a = load(state, caller, id).await?;
    let instruction = instruction.trim();
    let n = instruction.chars().count();
    if !(5..=2_000).contains(&n) {
        return Err(WebError::Unprocessable(format!(
            "instruction: must be 5 to 2000 characters (has {n})"
        )));
    }
    if a.kind != "SYLLABUS" {
        let sid = a.syllabus_id.unwrap_or_default();
        let s = artifacts::get(&state.pool, caller.tenant_id, sid).await?;
        if s.is_none_or(|s| s.status != "APPROVED") {
            return Err(WebError::Conflict(
                "content is regenerated from an APPROVED syllabus only".into(),
            ));
        }
    }
    let mut tx = state.pool.begin().await?;
    let created = jobs::create(
        &mut tx,
        NewJob {
            tenant_id: caller.tenant_id,
            kind: &kind("REGENERATE_ARTIFACT")?,
            target_type: "artifact",
            target_id: &id.to_string(),
            instruction: json!({ "artifactId": id, "reviewerInstruction": instruction, "bypassCache": true }),
            created_by: Some(caller.user_id),
            start: Start::Pending,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created.job().clone())
}
