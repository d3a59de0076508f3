//! Sign-in and sign-out, as pages and as JSON.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::kit::auth::{self, Caller, ClientAddr, cookie, cookie_name};
use crate::kit::error::WebError;
use crate::kit::extract::{Form, Json, Query};
use crate::kit::pages::{self, Layout, PageCtx, render, safe_next};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout_form))
        .route("/api/auth/login", post(login_json))
        .route("/api/auth/logout", post(logout_json))
        .route("/api/auth/me", get(me))
}

#[tracing::instrument(skip_all)]
async fn root(caller: Option<Caller>) -> Redirect {
    Redirect::to(caller.map_or("/login", |c| c.home()))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn login_page(ctx: PageCtx, Query(q): Query<NextQuery>) -> Result<Response, WebError> {
    if let Some(c) = &ctx.caller {
        return Ok(Redirect::to(c.home()).into_response());
    }
    render(&LoginPage {
        layout: ctx.layout("Sign in"),
        error: None,
        email: String::new(),
        next: safe_next(q.next.as_deref()).unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn login_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    addr: ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let old = cookie(&headers, cookie_name(state.config.secure_cookies));
    match auth::login(&state, &f.email, &f.password, addr, old).await {
        Ok(done) => {
            let to = safe_next(f.next.as_deref()).unwrap_or_else(|| done.caller.home().to_owned());
            let mut res = Redirect::to(&to).into_response();
            res.headers_mut().append(
                header::SET_COOKIE,
                auth::session_cookie(&state, &done.token),
            );
            Ok(res)
        }
        Err(
            e @ (WebError::InvalidCredentials(_)
            | WebError::TooManyRequests { .. }
            | WebError::Unprocessable(_)),
        ) => {
            let status = match &e {
                WebError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
                WebError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::UNAUTHORIZED,
            };
            let message = match &e {
                WebError::InvalidCredentials(_) => "Email or password is incorrect.".to_owned(),
                other => {
                    let s = other.to_string();
                    let mut c = s.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect())
                        .unwrap_or(s)
                }
            };
            let mut res = render(&LoginPage {
                layout: ctx.layout("Sign in"),
                error: Some(message),
                // An over-long address is not worth echoing back.
                email: if f.email.len() > auth::MAX_EMAIL_LEN {
                    String::new()
                } else {
                    f.email
                },
                next: safe_next(f.next.as_deref()).unwrap_or_default(),
            })?;
            *res.status_mut() = status;
            if let WebError::TooManyRequests { retry_after } = e {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, auth::whole_seconds(retry_after).into());
            }
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

#[tracing::instrument(skip_all)]
async fn logout_form(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let secure = state.config.secure_cookies;
    if let Some(token) = cookie(&headers, cookie_name(secure)) {
        auth::logout(&state, caller.as_ref(), token).await?;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, auth::clear_session_cookie(secure));
    res.headers_mut()
        .append(header::SET_COOKIE, pages::flash("You have signed out."));
    Ok(res)
}

#[derive(Deserialize, schemars::JsonSchema)]
pub(crate) struct LoginJson {
    email: String,
    password: String,
}

fn caller_json(c: &Caller) -> serde_json::Value {
    json!({
        "id": c.user_id,
        "email": c.email,
        "displayName": c.display_name,
        "role": c.role,
        "tenant": { "id": c.tenant_id, "name": c.tenant_name, "slug": c.tenant_slug },
        "isPlatformOwner": c.is_platform_owner,
    })
}

#[tracing::instrument(skip_all)]
async fn login_json(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Json(body): Json<LoginJson>,
) -> Result<Response, WebError> {
    let old = cookie(&headers, cookie_name(state.config.secure_cookies));
    let done = auth::login(&state, &body.email, &body.password, addr, old).await?;
    let mut res = axum::Json(json!({ "user": caller_json(&done.caller) })).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        auth::session_cookie(&state, &done.token),
    );
    Ok(res)
}

#[tracing::instrument(skip_all)]
async fn logout_json(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let secure = state.config.secure_cookies;
    if let Some(token) = cookie(&headers, cookie_name(secure)) {
        auth::logout(&state, caller.as_ref(), token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, auth::clear_session_cookie(secure));
    Ok(res)
}

#[tracing::instrument(skip_all)]
async fn me(caller: Caller) -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "user": caller_json(&caller) }))
}
