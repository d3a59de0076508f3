//! A tenant's users, as a page and as JSON.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use domain::Role;
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::Path;
use crate::kit::pages::{Layout, PageCtx, Stamp, render, stamp};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page))
        .route("/api/admin/users", get(users_json))
        .route("/api/admin/users/{id}", get(user_json))
}

struct UserRow {
    email: String,
    display_name: String,
    role: Role,
    created: Stamp,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
}

#[tracing::instrument(skip_all)]
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

#[tracing::instrument(skip_all)]
async fn users_json(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    caller.require_role(&[Role::Admin])?;
    let users = db::users::list_in_tenant(&state.pool, caller.tenant_id).await?;
    Ok(axum::Json(json!({ "items": users })))
}

#[tracing::instrument(skip_all)]
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
