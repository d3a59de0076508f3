//! A tenant's people, as a page and as JSON, for its admins: the list, invitations and their
//! set-password links, role changes, deactivation. Every change is a call into
//! `app::people`, which holds the rules (the last-admin guard among them).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use db::users::Person;
use domain::{DisplayName, Email, PersonStatus, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::{Form, Json, Path};
use crate::kit::pages::{self, Layout, PageCtx, Stamp, render, stamp};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page))
        .route("/admin/users/invite", post(invite_form))
        .route("/admin/users/{id}/role", post(role_form))
        .route("/admin/users/{id}/deactivate", post(deactivate_form))
        .route("/admin/users/{id}/reactivate", post(reactivate_form))
        .route("/admin/users/{id}/invite-link", post(link_form))
        .route("/api/admin/users", get(users_json).post(invite_json))
        .route("/api/admin/users/{id}", get(user_json).patch(update_json))
        .route("/api/admin/users/{id}/invite-link", post(link_json))
}

/// Where a set-password link points: the configured public origin, or else the host the
/// admin's own request named (the link is shown to them alone, to pass on).
fn link_url(state: &AppState, headers: &HeaderMap, link: &app::people::Link) -> String {
    let origin = match &state.config.public_origin {
        Some(o) => o.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
                })
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{origin}{}", link.path())
}

/// Forgets what this process keeps in memory of a person (their sessions and role) at once;
/// other processes hear of the change from the database.
fn forget(state: &AppState, id: Uuid) {
    state.hot.forget(&format!("user:{id}"));
}

// ---- pages ----

struct PersonRow {
    id: Uuid,
    email: String,
    name: String,
    role: Role,
    status: PersonStatus,
    status_class: &'static str,
    created: Stamp,
    last_sign_in: Option<Stamp>,
    is_self: bool,
}

impl PersonRow {
    fn of(p: Person, caller: &Caller) -> Self {
        Self {
            id: p.user.id,
            is_self: p.user.id == caller.user_id,
            email: p.user.email,
            name: p.user.display_name,
            role: p.user.role,
            status_class: match p.status {
                PersonStatus::Active => "status-completed",
                PersonStatus::Invited => "status-pending",
                PersonStatus::Deactivated => "status-archived",
            },
            status: p.status,
            created: stamp(p.user.created_at),
            last_sign_in: p.last_sign_in_at.map(stamp),
        }
    }

    /// The roles offered in this row's role menu: every one, this row's first.
    fn roles(&self) -> Vec<(&'static str, bool)> {
        Role::ALL
            .iter()
            .map(|r| (r.as_str(), *r == self.role))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    people: Vec<PersonRow>,
    roles: Vec<&'static str>,
}

#[tracing::instrument(skip_all)]
async fn users_page(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(app::ADMIN)?;
    let people = db::users::people_in_tenant(&state.pool, caller.tenant_id)
        .await?
        .into_iter()
        .map(|p| PersonRow::of(p, &caller))
        .collect();
    render(&UsersPage {
        layout: ctx.layout("Users"),
        people,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
    })
}

#[derive(Template)]
#[template(path = "user_link.html")]
struct LinkPage {
    layout: Layout,
    email: String,
    invited: bool,
    url: String,
    expires: Stamp,
}

fn link_page(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    person: &Person,
    link: &app::people::Link,
    invited: bool,
) -> Result<Response, WebError> {
    let mut res = render(&LinkPage {
        layout: ctx.layout("Invitation link"),
        email: person.user.email.clone(),
        invited,
        url: link_url(state, headers, link),
        expires: stamp(link.expires_at),
    })?;
    // The link is a secret: no cache keeps the page.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

fn back(message: &str) -> Response {
    pages::go("/admin/users".into(), message)
}

fn refused(message: &str) -> Response {
    pages::go_refused("/admin/users".into(), message)
}

/// A refusal (bad input, a conflict) goes back to the list in red; anything else is an
/// error page.
fn or_refused(e: WebError, what: &str) -> Result<Response, WebError> {
    match e.refusal() {
        Some(m) => Ok(refused(&format!("{what}: {m}."))),
        None => Err(e),
    }
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    name: String,
    role: String,
}

/// Parsed invitation fields, or the first field that is wrong.
fn parse_invite(email: &str, name: &str) -> Result<(Email, DisplayName), WebError> {
    Ok((Email::parse(email)?, DisplayName::parse(name)?))
}

#[tracing::instrument(skip_all)]
async fn invite_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    Form(f): Form<InviteForm>,
) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(app::ADMIN)?;
    let parsed = parse_invite(&f.email, &f.name).and_then(|(e, n)| {
        let role = f.role.parse::<Role>()?;
        Ok((e, n, role))
    });
    let (email, name, role) = match parsed {
        Ok(p) => p,
        Err(e) => return or_refused(e, "Not invited"),
    };
    let mut tx = state.pool.begin().await?;
    let who = app::people::Invitation {
        email: &email,
        name: &name,
        role,
    };
    match app::people::invite(&mut tx, &caller.actor(), who).await {
        Ok((person, link)) => {
            tx.commit().await?;
            link_page(&state, &ctx, &headers, &person, &link, true)
        }
        Err(e) => or_refused(e.into(), "Not invited"),
    }
}

#[tracing::instrument(skip_all)]
async fn link_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    let mut tx = state.pool.begin().await?;
    match app::people::reissue_link(&mut tx, &caller.actor(), id).await {
        Ok((person, link)) => {
            tx.commit().await?;
            link_page(&state, &ctx, &headers, &person, &link, false)
        }
        Err(e) => or_refused(e.into(), "No new link"),
    }
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

#[tracing::instrument(skip_all)]
async fn role_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Form(f): Form<RoleForm>,
) -> Result<Response, WebError> {
    let role = match f.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return or_refused(e.into(), "Role not changed"),
    };
    let mut tx = state.pool.begin().await?;
    match app::people::change_role(&mut tx, &caller.actor(), id, role).await {
        Ok(p) => {
            tx.commit().await?;
            forget(&state, id);
            Ok(back(&format!(
                "{} is now {}.",
                p.user.email,
                role.as_str().to_lowercase()
            )))
        }
        Err(e) => or_refused(e.into(), "Role not changed"),
    }
}

#[tracing::instrument(skip_all)]
async fn deactivate_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let mut tx = state.pool.begin().await?;
    match app::people::deactivate(&mut tx, &caller.actor(), id).await {
        Ok(p) => {
            tx.commit().await?;
            forget(&state, id);
            Ok(back(&format!(
                "{} is deactivated: they are signed out and cannot sign in.",
                p.user.email
            )))
        }
        Err(e) => or_refused(e.into(), "Not deactivated"),
    }
}

#[tracing::instrument(skip_all)]
async fn reactivate_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let mut tx = state.pool.begin().await?;
    match app::people::reactivate(&mut tx, &caller.actor(), id).await {
        Ok(p) => {
            tx.commit().await?;
            forget(&state, id);
            Ok(back(&format!(
                "{} is active again and can sign in.",
                p.user.email
            )))
        }
        Err(e) => or_refused(e.into(), "Not reactivated"),
    }
}

// ---- JSON ----

fn link_json_of(state: &AppState, headers: &HeaderMap, link: &app::people::Link) -> Value {
    json!({
        "url": link_url(state, headers, link),
        "path": link.path(),
        "expiresAt": crate::kit::rfc3339(link.expires_at),
    })
}

#[tracing::instrument(skip_all)]
async fn users_json(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(app::ADMIN)?;
    let people = db::users::people_in_tenant(&state.pool, caller.tenant_id).await?;
    Ok(axum::Json(json!({ "items": people })))
}

#[tracing::instrument(skip_all)]
async fn user_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(app::ADMIN)?;
    let person = db::users::person_in_tenant(&state.pool, caller.tenant_id, id)
        .await?
        .ok_or_else(|| WebError::not_found("user"))?;
    Ok(axum::Json(json!({ "user": person })))
}

/// An invitation: the person's email, name and role.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InviteBody {
    #[schemars(length(max = 254))]
    email: String,
    #[schemars(length(max = 120))]
    display_name: String,
    role: Role,
}

#[tracing::instrument(skip_all)]
async fn invite_json(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<InviteBody>,
) -> Result<Response, WebError> {
    caller.require_role(app::ADMIN)?;
    let (email, name) = parse_invite(&body.email, &body.display_name)?;
    let mut tx = state.pool.begin().await?;
    let who = app::people::Invitation {
        email: &email,
        name: &name,
        role: body.role,
    };
    let (person, link) = app::people::invite(&mut tx, &caller.actor(), who).await?;
    tx.commit().await?;
    let body = json!({ "user": person, "link": link_json_of(&state, &headers, &link) });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// A change to a person: a new role, deactivation (`active: false`) or reactivation
/// (`active: true`), or both at once.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PersonChange {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    active: Option<bool>,
}

#[tracing::instrument(skip_all)]
async fn update_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<PersonChange>,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(app::ADMIN)?;
    if body.role.is_none() && body.active.is_none() {
        return Err(WebError::Unprocessable(
            "nothing to change: send role, active or both".into(),
        ));
    }
    let actor = caller.actor();
    // Both changes commit together or not at all.
    let mut tx = state.pool.begin().await?;
    let mut person = None;
    if let Some(role) = body.role {
        person = Some(app::people::change_role(&mut tx, &actor, id, role).await?);
    }
    match body.active {
        Some(false) => person = Some(app::people::deactivate(&mut tx, &actor, id).await?),
        Some(true) => person = Some(app::people::reactivate(&mut tx, &actor, id).await?),
        None => {}
    }
    tx.commit().await?;
    forget(&state, id);
    Ok(axum::Json(json!({ "user": person })))
}

#[tracing::instrument(skip_all)]
async fn link_json(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    caller.require_role(app::ADMIN)?;
    let mut tx = state.pool.begin().await?;
    let (person, link) = app::people::reissue_link(&mut tx, &caller.actor(), id).await?;
    tx.commit().await?;
    let body = json!({ "user": person, "link": link_json_of(&state, &headers, &link) });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}
