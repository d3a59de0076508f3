//! The learner's store: what the tenant sells (`GET /api/store/products`) and buying it
//! (`POST /api/store/purchase`), which lands the learner on the course, enrolled.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::Json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/store/products", get(products))
        .route("/api/store/purchase", post(purchase))
}

#[tracing::instrument(skip_all)]
async fn products(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, WebError> {
    let items: Vec<Value> = app::store::catalogue(&state.pool, &caller.actor())
        .await?
        .into_iter()
        .map(|p| {
            let price = domain::store::Currency::parse(&p.currency).map_or_else(
                || format!("{} {}", p.price_cents, p.currency),
                |c| c.format(p.price_cents),
            );
            json!({
                "id": p.id, "courseId": p.course_id, "courseTitle": p.course_title,
                "title": p.title, "priceCents": p.price_cents, "currency": p.currency,
                "price": price,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "items": items })))
}

/// A purchase: the product to buy.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchaseBody {
    pub product_id: Uuid,
}

#[tracing::instrument(skip_all)]
async fn purchase(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<PurchaseBody>,
) -> Result<(StatusCode, axum::Json<app::store::Purchased>), WebError> {
    let done = app::store::purchase(
        &state.pool,
        &caller.actor(),
        state.config.checkout,
        b.product_id,
    )
    .await?;
    state.hot.forget_learner(caller.user_id);
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(done)))
}
