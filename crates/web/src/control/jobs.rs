//! The jobs control plane: list, inspect, trigger and retry jobs, as JSON
//! and as pages. Admins only. Nothing here runs a job: the worker does.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use db::jobs::{self, Job, JobFilter};
use domain::{JobStatus, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::{Path, Query};
use crate::kit::pages::{self, JsonBlock, Layout, PageCtx, Stamp, render, stamp, url_encode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/regeneration-jobs", get(list_json))
        .route("/api/admin/regeneration-jobs/{id}", get(get_json))
        .route(
            "/api/admin/regeneration-jobs/{id}/trigger",
            post(trigger_json),
        )
        .route("/api/admin/regeneration-jobs/{id}/retry", post(retry_json))
        .route("/admin/jobs", get(list_page))
        .route("/admin/jobs/{id}", get(job_page))
        .route("/admin/jobs/{id}/trigger", post(trigger_form))
        .route("/admin/jobs/{id}/retry", post(retry_form))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    before: Option<Uuid>,
    limit: Option<i64>,
}

impl ListQuery {
    fn filter(&self) -> Result<JobFilter, WebError> {
        let status = match self
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Some(
                s.parse::<JobStatus>()
                    .map_err(|e| WebError::BadRequest(e.to_string()))?,
            ),
            None => None,
        };
        let kind = self
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_uppercase);
        Ok(JobFilter {
            status,
            kind,
            before: self.before,
            limit: self.limit.unwrap_or(50).clamp(1, 200),
        })
    }
}

/// One page of jobs plus whether there are older ones.
async fn page_of(
    state: &AppState,
    tenant: Uuid,
    f: &JobFilter,
) -> Result<(Vec<Job>, Option<Uuid>), WebError> {
    let mut probe = f.clone();
    probe.limit += 1;
    let mut rows = jobs::list(&state.pool, tenant, &probe).await?;
    let more = rows.len() as i64 > f.limit;
    rows.truncate(f.limit as usize);
    Ok((
        rows.clone(),
        if more {
            rows.last().map(|j| j.id)
        } else {
            None
        },
    ))
}

fn minimal(j: &Job) -> Value {
    json!({
        "id": j.id, "kind": j.kind, "status": j.status, "targetType": j.target_type,
        "targetId": j.target_id, "createdAt": crate::kit::rfc3339(j.created_at), "retryOf": j.retry_of,
    })
}

#[tracing::instrument(skip_all)]
async fn list_json(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(app::STAFF)?;
    let (rows, next) = page_of(&state, caller.tenant_id, &q.filter()?).await?;
    Ok(axum::Json(
        json!({ "items": rows.iter().map(minimal).collect::<Vec<_>>(), "nextBefore": next }),
    ))
}

/// Job `id` of the caller's tenant, for staff: reviewers read jobs, admins also act on them.
async fn load(state: &AppState, caller: &Caller, id: Uuid) -> Result<Job, WebError> {
    caller.require_role(app::STAFF)?;
    jobs::get(&state.pool, caller.tenant_id, id)
        .await?
        .ok_or_else(|| WebError::not_found("job"))
}

/// The job's output JSON, read back from the object store.
async fn output_value(
    state: &AppState,
    job: &Job,
) -> Result<Option<(jobs::Output, Value)>, WebError> {
    let Some(meta) = jobs::output_of(&state.pool, job.tenant_id, job.id).await? else {
        return Ok(None);
    };
    let bytes = state
        .objects
        .get(&meta.path)
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    let value = serde_json::from_slice(&bytes).map_err(|e| WebError::Internal(e.into()))?;
    Ok(Some((meta, value)))
}

#[tracing::instrument(skip_all)]
async fn get_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    let job = load(&state, &caller, id).await?;
    let output = jobs::output_of(&state.pool, job.tenant_id, job.id).await?;
    Ok(axum::Json(json!({ "job": job, "output": output })))
}

#[tracing::instrument(skip_all)]
async fn trigger_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    let job = app::jobs::trigger(&state.pool, &caller.actor(), id).await?;
    Ok(axum::Json(json!({ "job": job })))
}

#[tracing::instrument(skip_all)]
async fn retry_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let job = app::jobs::retry(&state.pool, &caller.actor(), id).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "job": job }))))
}

struct JobRow {
    id: Uuid,
    kind: &'static str,
    status: JobStatus,
    target: Target,
    created: Stamp,
}

/// What a job works on, by title with a link when it still exists, else its raw id.
struct Target {
    text: String,
    href: Option<String>,
}

/// A job kind in words.
pub(crate) fn kind_label(kind: &str) -> &'static str {
    use domain::JobSpec;
    match kind {
        JobSpec::GENERATE_SYLLABUS => "Draft a syllabus",
        JobSpec::GENERATE_CONTENT => "Draft a module's content",
        JobSpec::REGENERATE_ARTIFACT => "Regenerate a part",
        _ => "Other job",
    }
}

/// The targets of `jobs`, by title.
async fn targets(
    state: &AppState,
    tenant: Uuid,
    jobs: &[&Job],
) -> Result<std::collections::HashMap<Uuid, Target>, WebError> {
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    let titles = jobs::target_titles(&state.pool, tenant, &ids).await?;
    Ok(jobs
        .iter()
        .map(|j| {
            let t = titles.iter().find(|t| t.id == j.id);
            let target = match t.and_then(|t| t.title.clone()) {
                Some(title) => Target {
                    text: title,
                    href: t.and_then(|t| t.href.clone()),
                },
                None => Target {
                    text: format!("{} {}", j.target_type, j.target_id),
                    href: None,
                },
            };
            (j.id, target)
        })
        .collect())
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    layout: Layout,
    statuses: Vec<(&'static str, bool)>,
    kind: String,
    rows: Vec<JobRow>,
    older_href: Option<String>,
    newer_href: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn list_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(app::STAFF)?;
    let f = q.filter()?;
    let (rows, next) = page_of(&state, caller.tenant_id, &f).await?;
    let mut named = targets(&state, caller.tenant_id, &rows.iter().collect::<Vec<_>>()).await?;
    let base = format!(
        "/admin/jobs?status={}&kind={}",
        f.status.map(JobStatus::as_str).unwrap_or(""),
        url_encode(f.kind.as_deref().unwrap_or(""))
    );
    render(&JobsPage {
        layout: ctx.layout("Jobs"),
        statuses: JobStatus::ALL
            .iter()
            .map(|s| (s.as_str(), f.status == Some(*s)))
            .collect(),
        kind: f.kind.clone().unwrap_or_default(),
        rows: rows
            .into_iter()
            .map(|j| JobRow {
                id: j.id,
                kind: kind_label(&j.kind),
                status: j.status,
                target: named.remove(&j.id).unwrap_or(Target {
                    text: j.target_id.clone(),
                    href: None,
                }),
                created: stamp(j.created_at),
            })
            .collect(),
        older_href: next.map(|id| format!("{base}&before={id}")),
        newer_href: f.before.map(|_| base.clone()),
    })
}

/// One line of a job's facts: text, or a moment.
enum Fact {
    Text(String),
    At(Stamp),
    /// Text and the page it links to.
    Link(String, String),
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    layout: Layout,
    heading: String,
    job: Job,
    facts: Vec<(&'static str, Fact)>,
    can_trigger: bool,
    can_retry: bool,
    blocks: Vec<JsonBlock>,
}

#[tracing::instrument(skip_all)]
async fn job_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    let job = load(&state, &caller, id).await?;
    let admin = caller.role == Role::Admin;
    let opt = |t: Option<time::OffsetDateTime>| {
        t.map_or(Fact::Text("—".into()), |t| Fact::At(stamp(t)))
    };
    let text = Fact::Text;
    let target = targets(&state, caller.tenant_id, &[&job])
        .await?
        .remove(&job.id)
        .map_or(text(job.target_id.clone()), |t| match t.href {
            Some(href) => Fact::Link(t.text, href),
            None => text(t.text),
        });
    let heading = match &target {
        Fact::Link(t, _) | Fact::Text(t) => format!("{}: {t}", kind_label(&job.kind)),
        Fact::At(_) => kind_label(&job.kind).to_owned(),
    };
    let facts = vec![
        ("Job id", text(job.id.to_string())),
        (
            "Kind",
            text(format!("{} ({})", kind_label(&job.kind), job.kind)),
        ),
        ("Target", target),
        ("Created", Fact::At(stamp(job.created_at))),
        ("Triggered", opt(job.triggered_at)),
        (
            "Claimed by",
            text(job.claimed_by.clone().unwrap_or_else(|| "—".into())),
        ),
        ("Started", opt(job.started_at)),
        ("Last heartbeat", opt(job.heartbeat_at)),
        ("Lease expires", opt(job.lease_expires_at)),
        ("Finished", opt(job.finished_at)),
        (
            "Retry of",
            text(
                job.retry_of
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "—".into()),
            ),
        ),
    ];
    let mut blocks = vec![JsonBlock::new(
        "Instruction",
        format!("job-{}-instruction.json", job.id),
        &job.instruction,
    )];
    if let Some((_, value)) = output_value(&state, &job).await? {
        blocks.push(JsonBlock::new(
            "Output",
            format!("job-{}-output.json", job.id),
            &value,
        ));
    }
    if let Some(e) = &job.error {
        blocks.push(JsonBlock::new(
            "Error",
            format!("job-{}-error.json", job.id),
            e,
        ));
    }
    render(&JobPage {
        layout: ctx.layout(heading.clone()),
        heading,
        can_trigger: admin && job.status == JobStatus::Requested,
        can_retry: admin && job.status == JobStatus::Failed,
        facts,
        job,
        blocks,
    })
}

fn back_with(id: Uuid, message: &str) -> Response {
    pages::go(format!("/admin/jobs/{id}"), message)
}

fn refused_back(id: Uuid, message: &str) -> Response {
    pages::go_refused(format!("/admin/jobs/{id}"), message)
}

#[tracing::instrument(skip_all)]
async fn trigger_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    match app::jobs::trigger(&state.pool, &caller.actor(), id).await {
        Ok(_) => Ok(back_with(id, "Job triggered: a worker will pick it up.")),
        Err(app::AppError::Conflict { message, .. }) => {
            Ok(refused_back(id, &format!("Not triggered: {message}.")))
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all)]
async fn retry_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    match app::jobs::retry(&state.pool, &caller.actor(), id).await {
        Ok(new) => Ok(back_with(
            new.id,
            "Retry created: this is the new job; the failed one is kept as it was.",
        )),
        Err(app::AppError::Conflict { message, .. }) => {
            Ok(refused_back(id, &format!("Not retried: {message}.")))
        }
        Err(e) => Err(e.into()),
    }
}
