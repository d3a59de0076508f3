//! The tenant's audit log, filtered and paged, as a page and as JSON.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use db::audit::{AuditEntry, AuditFilter};
use domain::{AuditAction, Role};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::Query;
use crate::kit::pages::{Layout, PageCtx, Stamp, render, stamp, url_encode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(audit_page))
        .route("/api/admin/audit", get(audit_json))
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

#[tracing::instrument(skip_all)]
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
    created_at: Stamp,
    /// The action in words, and its code (shown on hover, and what the filter takes).
    action: String,
    code: String,
    actor: String,
    entity: String,
    /// The page of the entity, when it has one.
    href: Option<String>,
    metadata: String,
}

/// `SYLLABUS_APPROVED` as "Syllabus approved".
pub(crate) fn action_words(code: &str) -> String {
    let lower = code.replace('_', " ").to_lowercase();
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The page that shows an audited entity, by its type.
fn entity_href(entity_type: &str, id: &str) -> Option<String> {
    let id: Uuid = id.parse().ok()?;
    Some(match entity_type {
        "syllabus" => format!("/admin/syllabi/{id}"),
        "content" | "lesson" | "quiz" | "project" => format!("/admin/content/{id}"),
        "job" | "regeneration_job" => format!("/admin/jobs/{id}"),
        "course" => format!("/admin/courses/{id}"),
        _ => return None,
    })
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

#[tracing::instrument(skip_all)]
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
            .map(|r| {
                let title = r.metadata["title"].as_str().map(str::to_owned);
                let kind = r.entity_type.replace('_', " ");
                AuditRow {
                    id: r.id,
                    created_at: stamp(r.created_at),
                    action: action_words(&r.action),
                    code: r.action,
                    actor: r.actor_email.unwrap_or_else(|| "system".into()),
                    href: match (
                        r.entity_type.as_str(),
                        r.metadata["courseId"].as_str(),
                        r.metadata["version"].as_i64(),
                    ) {
                        ("course_package", Some(c), Some(v)) => {
                            Some(format!("/admin/courses/{c}/{v}"))
                        }
                        _ => r
                            .entity_id
                            .as_deref()
                            .and_then(|id| entity_href(&r.entity_type, id)),
                    },
                    entity: match (title, &r.entity_id) {
                        (Some(t), _) => format!("{kind} “{t}”"),
                        (None, Some(id)) => format!("{kind} {id}"),
                        (None, None) => kind,
                    },
                    metadata: r.metadata.to_string(),
                }
            })
            .collect(),
        older_href: next.map(|id| format!("{base}&before={id}")),
        newer_href: f.before_id.map(|_| base.clone()),
    })
}
