//! The control plane's home: dashboard, users and the audit log.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use db::audit::{AuditEntry, AuditFilter};
use domain::{AuditAction, Role};
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::WebError;
use crate::extract::{Path, Query};
use crate::pages::{Layout, PageCtx, render, url_encode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/users", get(users_page))
        .route("/admin/audit", get(audit_page))
        .route("/api/admin/users", get(users_json))
        .route("/api/admin/users/{id}", get(user_json))
        .route("/api/admin/audit", get(audit_json))
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

fn stamp(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

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

struct UserRow {
    email: String,
    display_name: String,
    role: Role,
    created: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
}

async fn users_page(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(&[Role::Admin])?;
    let users = db::users::list_in_tenant(&state.pool, caller.tenant_id)
        .await?
        .into_iter()
        .map(|u| UserRow {
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            created: stamp(u.created_at),
        })
        .collect();
    render(&UsersPage {
        layout: ctx.layout("Users"),
        users,
    })
}

async fn users_json(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    caller.require_role(&[Role::Admin])?;
    let users = db::users::list_in_tenant(&state.pool, caller.tenant_id).await?;
    Ok(axum::Json(json!({ "items": users })))
}

async fn user_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    caller.require_role(&[Role::Admin])?;
    let user = db::users::get_in_tenant(&state.pool, caller.tenant_id, id)
        .await?
        .ok_or_else(|| WebError::not_found("user"))?;
    Ok(axum::Json(json!({ "user": user })))
}

/// Audit filters as query parameters; blank means any.
#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

const PAGE_SIZE: i64 = 50;

fn blank_to_none(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, WebError> {
        let action = blank_to_none(&self.action);
        if let Some(a) = &action {
            a.parse::<AuditAction>()
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
        }
        Ok(AuditFilter {
            action,
            actor_email: blank_to_none(&self.actor).map(|s| s.to_lowercase()),
            entity_type: blank_to_none(&self.entity_type),
            entity_id: blank_to_none(&self.entity_id),
            before_id: self.before,
            limit: self.limit.unwrap_or(PAGE_SIZE).clamp(1, 200),
        })
    }
}

/// Fetches one page plus one row, to know whether an older page exists.
async fn audit_page_rows(
    state: &AppState,
    tenant: Uuid,
    f: &AuditFilter,
) -> Result<(Vec<AuditEntry>, Option<i64>), WebError> {
    let mut probe = f.clone();
    probe.limit = f.limit + 1;
    let mut rows = db::audit::list(&state.pool, tenant, &probe).await?;
    let more = rows.len() as i64 > f.limit;
    rows.truncate(f.limit as usize);
    let next = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}

async fn audit_json(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    caller.require_role(&[Role::Admin])?;
    let (rows, next) = audit_page_rows(&state, caller.tenant_id, &q.filter()?).await?;
    Ok(axum::Json(json!({ "items": rows, "nextBefore": next })))
}

struct AuditRow {
    id: i64,
    created_at: String,
    action: String,
    actor: String,
    entity: String,
    metadata: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    actions: Vec<(&'static str, bool)>,
    filter_actor: String,
    filter_entity_type: String,
    filter_entity_id: String,
    rows: Vec<AuditRow>,
    older_href: Option<String>,
    newer_href: Option<String>,
}

async fn audit_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(&[Role::Admin])?;
    let f = q.filter()?;
    let (rows, next) = audit_page_rows(&state, caller.tenant_id, &f).await?;
    let keep = |k: &str, v: &Option<String>| {
        v.as_ref()
            .map(|v| format!("&{k}={}", url_encode(v)))
            .unwrap_or_default()
    };
    let base = format!(
        "/admin/audit?{}{}{}{}",
        keep("action", &f.action),
        keep("actor", &f.actor_email),
        keep("entity_type", &f.entity_type),
        keep("entity_id", &f.entity_id)
    );
    render(&AuditPage {
        layout: ctx.layout("Audit log"),
        actions: AuditAction::ALL
            .iter()
            .map(|a| (a.as_str(), f.action.as_deref() == Some(a.as_str())))
            .collect(),
        filter_actor: f.actor_email.clone().unwrap_or_default(),
        filter_entity_type: f.entity_type.clone().unwrap_or_default(),
        filter_entity_id: f.entity_id.clone().unwrap_or_default(),
        rows: rows
            .into_iter()
            .map(|r| AuditRow {
                id: r.id,
                created_at: stamp(r.created_at),
                action: r.action,
                actor: r.actor_email.unwrap_or_else(|| "system".into()),
                entity: match r.entity_id {
                    Some(id) => format!("{} {id}", r.entity_type),
                    None => r.entity_type,
                },
                metadata: r.metadata.to_string(),
            })
            .collect(),
        older_href: next.map(|id| format!("{base}&before={id}")),
        newer_href: f.before_id.map(|_| base.clone()),
    })
}
