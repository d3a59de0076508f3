//! Tenant management, for platform owners only.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use db::audit::{self, AuditEvent};
use domain::{AuditAction, TenantName, TenantSlug};
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
    let tenant = match db::tenants::create(&mut *tx, &slug, &name).await {
        Ok(t) => t,
        Err(e) if db::is_constraint(&e, "tenants_slug_key") => {
            return Err(WebError::Conflict(format!(
                "a tenant with slug {:?} exists",
                slug.as_str()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::TenantCreated, "tenant", tenant.id)
            .tenant(tenant.id)
            .actor(Some(caller.user_id))
            .metadata(json!({ "slug": tenant.slug, "name": tenant.name })),
    )
    .await;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "tenant": tenant }))))
}
