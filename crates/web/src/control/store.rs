//! The admin's store API: products (`/api/admin/products`) and purchases
//! (`/api/admin/purchases`: list, grant, refund). The rules are `app::store`'s.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::{Json, Path, Query};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/products", get(list).post(create))
        .route("/api/admin/products/{id}", patch(update))
        .route("/api/admin/purchases", get(purchases).post(grant))
        .route("/api/admin/purchases/{id}/refund", post(refund))
}

/// A product (`POST /api/admin/products`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductBody {
    pub course_id: Uuid,
    pub title: String,
    /// In the currency's minor units (cents), 1 to 100 000 000.
    pub price_cents: i64,
    /// ISO 4217, upper case: EUR, USD, GBP, JPY, …
    pub currency: String,
    /// True unless given.
    pub active: Option<bool>,
}

/// What changes in a product (`PATCH /api/admin/products/{id}`); absent fields stay.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductPatchBody {
    pub title: Option<String>,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub active: Option<bool>,
}

#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, WebError> {
    let items = app::store::products(&state.pool, &caller.actor()).await?;
    Ok(axum::Json(json!({ "items": items })))
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<ProductBody>,
) -> Result<(StatusCode, axum::Json<db::store::Product>), WebError> {
    let input = app::store::ProductInput {
        course_id: b.course_id,
        title: b.title,
        price_cents: b.price_cents,
        currency: b.currency,
        active: b.active.unwrap_or(true),
    };
    let product = app::store::create_product(&state.pool, &caller.actor(), &input).await?;
    state.hot.forget_course(product.course_id);
    Ok((StatusCode::CREATED, axum::Json(product)))
}

#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<ProductPatchBody>,
) -> Result<axum::Json<db::store::Product>, WebError> {
    let patch = app::store::ProductPatch {
        title: b.title,
        price_cents: b.price_cents,
        currency: b.currency,
        active: b.active,
    };
    let product = app::store::update_product(&state.pool, &caller.actor(), id, &patch).await?;
    state.hot.forget_course(product.course_id);
    Ok(axum::Json(product))
}

/// Filters of the purchases list; blank is any.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseQuery {
    pub course_id: Option<String>,
    pub user_id: Option<String>,
    /// PAID or REFUNDED.
    pub status: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

fn uuid_field(field: &str, v: Option<&str>) -> Result<Option<Uuid>, WebError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            Uuid::parse_str(s).map_err(|_| WebError::Unprocessable(format!("{field}: a UUID")))
        })
        .transpose()
}

#[tracing::instrument(skip_all)]
async fn purchases(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PurchaseQuery>,
) -> Result<axum::Json<Value>, WebError> {
    let status = q.status.filter(|s| !s.is_empty());
    if let Some(s) = &status
        && domain::store::PurchaseStatus::parse(s).is_none()
    {
        return Err(WebError::Unprocessable("status: PAID or REFUNDED".into()));
    }
    let filter = db::store::PurchaseFilter {
        course_id: uuid_field("courseId", q.course_id.as_deref())?,
        user_id: uuid_field("userId", q.user_id.as_deref())?,
        status,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
    };
    let items = app::store::purchases(&state.pool, &caller.actor(), &filter).await?;
    Ok(axum::Json(json!({ "items": items })))
}

/// A grant: the product and the learner who receives it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantBody {
    pub product_id: Uuid,
    pub user_id: Uuid,
}

#[tracing::instrument(skip_all)]
async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<GrantBody>,
) -> Result<(StatusCode, axum::Json<app::store::Purchased>), WebError> {
    let done = app::store::grant(&state.pool, &caller.actor(), b.product_id, b.user_id).await?;
    state.hot.forget_learner(b.user_id);
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(done)))
}

/// A refund's reason.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundBody {
    /// 1 to 2000 characters.
    pub reason: String,
}

#[tracing::instrument(skip_all)]
async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<RefundBody>,
) -> Result<axum::Json<db::store::Purchase>, WebError> {
    let p = app::store::refund(&state.pool, &caller.actor(), id, &b.reason).await?;
    state.hot.forget_learner(p.user_id);
    Ok(axum::Json(p))
}
