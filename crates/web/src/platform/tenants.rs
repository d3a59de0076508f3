//! Tenant management, for platform owners only.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use domain::{TenantName, TenantSlug};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::Json;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/platform/tenants", get(list).post(create))
}

#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    caller.require_platform_owner()?;
    Ok(axum::Json(
        json!({ "items": db::tenants::list(&state.pool).await? }),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct NewTenant {
    slug: String,
    name: String,
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewTenant>,
) -> Result<(StatusCode, axum::Json<serde_json::Value>), WebError> {
    caller.require_platform_owner()?;
    let slug = TenantSlug::parse(&body.slug)?;
    let name = TenantName::parse(&body.name)?;
    let mut tx = state.pool.begin().await?;
    let tenant = app::admin::create_tenant(
        &mut tx,
        app::admin::Operator::Owner(caller.user_id),
        &slug,
        &name,
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "tenant": tenant }))))
}
