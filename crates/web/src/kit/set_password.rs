//! The page an invited person opens from their link to set a password. The token in the
//! path is the only credential; setting the password signs no one in, it sends the person
//! on to the sign-in page. A link that no longer works is a 4xx page saying why.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use domain::Password;
use serde::Deserialize;

use crate::AppState;
use crate::kit::error::WebError;
use crate::kit::extract::{Form, Path};
use crate::kit::pages::{self, Layout, PageCtx, Stamp, render, stamp};

pub fn router() -> Router<AppState> {
    Router::new().route("/set-password/{token}", get(page).post(submit))
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    layout: Layout,
    token: String,
    email: String,
    expires: Stamp,
    error: Option<String>,
    min_len: usize,
    max_len: usize,
}

async fn show(
    state: &AppState,
    ctx: &PageCtx,
    token: String,
    error: Option<(StatusCode, String)>,
) -> Result<Response, WebError> {
    let holder = app::people::link_holder(&state.pool, &token).await?;
    let status = error.as_ref().map(|(s, _)| *s);
    let mut res = render(&SetPasswordPage {
        layout: ctx.layout("Set your password"),
        token,
        email: holder.email,
        expires: stamp(holder.expires_at),
        error: error.map(|(_, m)| m),
        min_len: Password::MIN_LEN,
        max_len: Password::MAX_LEN,
    })?;
    if let Some(s) = status {
        *res.status_mut() = s;
    }
    // The path holds a secret: no cache keeps the page.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[tracing::instrument(skip_all)]
async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    show(&state, &ctx, token, None).await
}

#[derive(Deserialize)]
struct SetPasswordForm {
    password: String,
    confirm: String,
}

#[tracing::instrument(skip_all)]
async fn submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    Form(f): Form<SetPasswordForm>,
) -> Result<Response, WebError> {
    let refused = |m: String| Some((StatusCode::UNPROCESSABLE_ENTITY, m));
    if f.password != f.confirm {
        let m = "The two passwords differ; type the same one twice.".to_owned();
        return show(&state, &ctx, token, refused(m)).await;
    }
    let password = match Password::parse(&f.password) {
        Ok(p) => p,
        Err(e) => {
            let m = format!("The password {}.", e.message);
            return show(&state, &ctx, token, refused(m)).await;
        }
    };
    let user = app::people::set_password(&state.pool, &token, &password).await?;
    state.hot.forget(&format!("user:{}", user.id));
    Ok(pages::go(
        "/login".into(),
        &format!("Password set for {}. Sign in with it now.", user.email),
    ))
}
