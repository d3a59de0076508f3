//! `/admin`: the control plane's home: what waits for the signed-in role, a tenant's people
//! at a glance and its latest activity.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use db::audit::AuditFilter;
use domain::Role;

use crate::AppState;
use crate::kit::error::WebError;
use crate::kit::pages::{Layout, PageCtx, Stamp, render, stamp};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(dashboard))
}

/// A row of a list, formatted for a page.
struct ActivityRow {
    created_at: Stamp,
    action: String,
    actor: String,
}

/// Something waiting for the signed-in person, with where to go about it.
struct Waiting {
    text: String,
    href: String,
    /// A failure reads in red.
    failure: bool,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What waits for staff: drafts to review, briefs still being drafted, versions built but
/// not live (for admins, who publish), and failed generation jobs.
async fn waiting(state: &AppState, actor: &app::Actor) -> Result<Vec<Waiting>, WebError> {
    let (tenant, admin) = (actor.tenant_id, actor.role == domain::Role::Admin);
    let courses = db::courses::list(&state.pool, tenant).await?;
    let mut out = Vec::new();
    let with_drafts = courses.iter().filter(|c| c.drafts > 0).count();
    let drafts: i64 = courses.iter().map(|c| c.drafts).sum();
    if drafts > 0 {
        out.push(Waiting {
            text: format!(
                "{} to review in {}",
                plural(usize::try_from(drafts).unwrap_or(0), "draft", "drafts"),
                plural(with_drafts, "course", "courses")
            ),
            href: "/admin/content".into(),
            failure: false,
        });
    }
    // Courses whose every planned part is approved and that changed since their newest
    // version: the next step is a build, which admins take.
    if admin {
        let mut ready = Vec::new();
        for c in courses.iter().filter(|c| c.syllabus_id.is_some()) {
            let r = app::publishing::readiness(&state.pool, actor, c.id).await?;
            if r.ready() && r.unchanged_since.is_none() {
                ready.push(c.id);
            }
        }
        if let [one] = ready[..] {
            out.push(Waiting {
                text: "1 course ready to build".into(),
                href: format!("/admin/courses/{one}"),
                failure: false,
            });
        } else if !ready.is_empty() {
            out.push(Waiting {
                text: format!("{} courses ready to build", ready.len()),
                href: "/admin/courses".into(),
                failure: false,
            });
        }
    }
    let drafting =
        db::courses::awaiting_syllabus(&state.pool, tenant, domain::JobSpec::GENERATE_SYLLABUS)
            .await?
            .len();
    if drafting > 0 {
        out.push(Waiting {
            text: format!("{} being drafted", plural(drafting, "brief", "briefs")),
            href: "/admin/syllabi".into(),
            failure: false,
        });
    }
    let unpublished = courses
        .iter()
        .filter(|c| c.latest_version.is_some() && c.latest_version != c.active_version)
        .count();
    if admin && unpublished > 0 {
        out.push(Waiting {
            text: format!(
                "{} with a newer version built than the one learners see",
                plural(unpublished, "course", "courses")
            ),
            href: "/admin/courses".into(),
            failure: false,
        });
    }
    let failed = db::ops::recent_failures(&state.pool, tenant).await?.len();
    if failed > 0 {
        out.push(Waiting {
            text: format!("{} recently", plural(failed, "job failed", "jobs failed")),
            href: "/admin/jobs?status=FAILED".into(),
            failure: true,
        });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "admin_home.html")]
struct Dashboard {
    layout: Layout,
    waiting: Vec<Waiting>,
    tenant_name: String,
    tenant_slug: String,
    user_count: usize,
    admin_count: usize,
    reviewer_count: usize,
    learner_count: usize,
    recent: Vec<ActivityRow>,
}

#[tracing::instrument(skip_all)]
async fn dashboard(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    caller.require_role(&[Role::Admin, Role::Reviewer])?;
    let users = db::users::list_in_tenant(&state.pool, caller.tenant_id).await?;
    let count = |r: Role| users.iter().filter(|u| u.role == r).count();
    let recent = if caller.role == Role::Admin {
        let f = AuditFilter {
            limit: 8,
            ..Default::default()
        };
        db::audit::list(&state.pool, caller.tenant_id, &f)
            .await?
            .into_iter()
            .map(|e| ActivityRow {
                created_at: stamp(e.created_at),
                action: crate::control::audit::action_words(&e.action),
                actor: e.actor_email.unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let waiting = waiting(&state, &caller.actor()).await?;
    render(&Dashboard {
        layout: ctx.layout("Dashboard"),
        waiting,
        tenant_name: caller.tenant_name.clone(),
        tenant_slug: caller.tenant_slug.clone(),
        user_count: users.len(),
        admin_count: count(Role::Admin),
        reviewer_count: count(Role::Reviewer),
        learner_count: count(Role::Learner),
        recent,
    })
}
