//! `/admin/ops`: the tenant's job health for its admins; scheduled jobs' last runs and the
//! alerts they raised, which are platform-wide, for platform owners only.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use domain::Role;

use crate::AppState;
use crate::kit::error::WebError;
use crate::kit::pages::{Layout, PageCtx, Stamp, render, stamp};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/ops", get(page))
}

struct Run {
    slot: String,
    status: String,
    runner: String,
    started: Stamp,
    duration: String,
    error: String,
}

struct JobRuns {
    name: String,
    runs: Vec<Run>,
}

struct Alert {
    created: Stamp,
    job: String,
    summary: String,
    delivered: String,
}

struct HostRow {
    name: String,
    last_seen: Stamp,
    running_jobs: i64,
}

struct Failure {
    id: uuid::Uuid,
    kind: String,
    code: String,
    finished: Option<Stamp>,
}

#[derive(Template)]
#[template(path = "ops.html")]
struct OpsPage {
    layout: Layout,
    /// Scheduled runs and alerts are platform-wide: platform owners only.
    platform: bool,
    jobs: Vec<JobRuns>,
    alerts: Vec<Alert>,
    hosts: Vec<HostRow>,
    health: Vec<(String, i64)>,
    failures: Vec<Failure>,
}

#[tracing::instrument(skip_all)]
async fn page(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(&[Role::Admin])?;
    let platform = caller.is_platform_owner;
    let mut jobs: Vec<JobRuns> = Vec::new();
    let mut alerts = Vec::new();
    let mut hosts = Vec::new();
    if platform {
        hosts = db::ops::hosts(&state.pool)
            .await?
            .into_iter()
            .map(|h| HostRow {
                name: h.name,
                last_seen: stamp(h.last_seen),
                running_jobs: h.running_jobs,
            })
            .collect();
        for r in db::ops::recent_runs(&state.pool).await? {
            let run = Run {
                slot: r.slot,
                status: r.status.to_string(),
                runner: r.runner,
                started: stamp(r.started_at),
                duration: r
                    .duration_ms
                    .map(|m| format!("{m} ms"))
                    .unwrap_or_else(|| "running".into()),
                error: r.error.unwrap_or_default(),
            };
            match jobs.last_mut() {
                Some(j) if j.name == r.job => j.runs.push(run),
                _ => jobs.push(JobRuns {
                    name: r.job,
                    runs: vec![run],
                }),
            }
        }
        alerts = db::ops::recent_alerts(&state.pool)
            .await?
            .into_iter()
            .map(|a| Alert {
                created: stamp(a.created_at),
                job: a.job,
                summary: a.summary,
                delivered: match a.delivery_error {
                    Some(e) => format!("{} (webhook failed: {e})", a.delivered_to.join(", ")),
                    None => a.delivered_to.join(", "),
                },
            })
            .collect();
    }
    let health = db::ops::job_health(&state.pool, caller.tenant_id)
        .await?
        .into_iter()
        .map(|c| (c.status.to_string(), c.jobs))
        .collect();
    let failures = db::ops::recent_failures(&state.pool, caller.tenant_id)
        .await?
        .into_iter()
        .map(|f| Failure {
            id: f.id,
            kind: f.kind,
            code: f.code.unwrap_or_default(),
            finished: f.finished_at.map(stamp),
        })
        .collect();
    render(&OpsPage {
        layout: ctx.layout("Operations"),
        platform,
        jobs,
        alerts,
        hosts,
        health,
        failures,
    })
}
