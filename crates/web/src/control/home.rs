//! `/admin`: the control plane's home, a tenant's people at a glance and its latest activity.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use db::audit::AuditFilter;
use domain::Role;

use crate::AppState;
use crate::kit::error::WebError;
use crate::kit::pages::{Layout, PageCtx, render, stamp};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(dashboard))
}

/// A row of a list, formatted for a page.
struct ActivityRow {
    created_at: String,
    action: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "admin_home.html")]
struct Dashboard {
    layout: Layout,
    tenant_name: String,
    tenant_slug: String,
    user_count: usize,
    admin_count: usize,
    reviewer_count: usize,
    learner_count: usize,
    recent: Vec<ActivityRow>,
}

#[tracing::instrument(skip_all)]
async fn dashboard(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(&[Role::Admin, Role::Reviewer])?;
    let users = db::users::list_in_tenant(&state.pool, caller.tenant_id).await?;
    let count = |r: Role| users.iter().filter(|u| u.role == r).count();
    let recent = if caller.role == Role::Admin {
        let f = AuditFilter {
            limit: 8,
            ..Default::default()
        };
        db::audit::list(&state.pool, caller.tenant_id, &f)
            .await?
            .into_iter()
            .map(|e| ActivityRow {
                created_at: stamp(e.created_at),
                action: e.action,
                actor: e.actor_email.unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    render(&Dashboard {
        layout: ctx.layout("Dashboard"),
        tenant_name: caller.tenant_name.clone(),
        tenant_slug: caller.tenant_slug.clone(),
        user_count: users.len(),
        admin_count: count(Role::Admin),
        reviewer_count: count(Role::Reviewer),
        learner_count: count(Role::Learner),
        recent,
    })
}
