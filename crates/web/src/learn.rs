//! The learner's home. The catalogue and player arrive with publishing.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::AppState;
use crate::error::WebError;
use crate::pages::{Layout, PageCtx, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/learn", get(home))
}

#[derive(Template)]
#[template(path = "learn_home.html")]
struct LearnHome {
    layout: Layout,
    tenant_name: String,
}

async fn home(ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    render(&LearnHome {
        layout: ctx.layout("Learn"),
        tenant_name: caller.tenant_name,
    })
}
