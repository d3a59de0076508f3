//! `/admin/ops`: scheduled jobs' last runs and the alerts they raised.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use domain::Role;

use crate::AppState;
use crate::error::WebError;
use crate::pages::{Layout, PageCtx, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/ops", get(page))
}

struct Run {
    slot: String,
    status: String,
    runner: String,
    started: String,
    duration: String,
    error: String,
}

struct JobRuns {
    name: String,
    runs: Vec<Run>,
}

struct Alert {
    created: String,
    job: String,
    summary: String,
    delivered: String,
}

#[derive(Template)]
#[template(path = "ops.html")]
struct OpsPage {
    layout: Layout,
    jobs: Vec<JobRuns>,
    alerts: Vec<Alert>,
}

type AlertRow = (
    time::OffsetDateTime,
    String,
    String,
    Vec<String>,
    Option<String>,
);
type RunRow = (
    String,
    String,
    String,
    String,
    time::OffsetDateTime,
    Option<i64>,
    Option<String>,
);

async fn page(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(&[Role::Admin])?;
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT job, slot, status, runner, started_at, duration_ms, error FROM (
           SELECT *, row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS n FROM job_runs
         ) r WHERE n <= 5 ORDER BY job, started_at DESC",
    )
    .fetch_all(&state.pool)
    .await?;
    let mut jobs: Vec<JobRuns> = Vec::new();
    for (job, slot, status, runner, started, ms, error) in rows {
        let run = Run {
            slot,
            status,
            runner,
            started: started.to_string(),
            duration: ms
                .map(|m| format!("{m} ms"))
                .unwrap_or_else(|| "running".into()),
            error: error.unwrap_or_default(),
        };
        match jobs.last_mut() {
            Some(j) if j.name == job => j.runs.push(run),
            _ => jobs.push(JobRuns {
                name: job,
                runs: vec![run],
            }),
        }
    }
    let alerts: Vec<AlertRow> = sqlx::query_as(
        "SELECT created_at, job, summary, delivered_to, delivery_error FROM alerts ORDER BY created_at DESC LIMIT 50",
    )
    .fetch_all(&state.pool)
    .await?;
    render(&OpsPage {
        layout: ctx.layout("Operations"),
        jobs,
        alerts: alerts
            .into_iter()
            .map(|(at, job, summary, to, err)| Alert {
                created: at.to_string(),
                job,
                summary,
                delivered: match err {
                    Some(e) => format!("{} (webhook failed: {e})", to.join(", ")),
                    None => to.join(", "),
                },
            })
            .collect(),
    })
}
