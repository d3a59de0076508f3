//! Packaging and publishing for staff: the read APIs
//! `/api/courses…`, the actions (build a package, publish or roll back, archive) as JSON and
//! as pages, and the admin courses pages with a learner's-eye preview.

use app::exports::{Format, Requester};
use app::publishing::{self, Published};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use db::courses::{self, CourseSummary};
use db::packages::{self, HistoryEntry, PackageRow};
use db::types::PackageStatus;
use domain::{CoursePackage, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::control::authoring::api::STAFF;
use crate::control::authoring::pages::staff;
use crate::kit::auth::Caller;
use crate::kit::download;
use crate::kit::error::WebError;
use crate::kit::extract::{Form, Path};
use crate::kit::pages::{JsonBlock, Layout, PageCtx, Stamp, render, stamp};
use crate::kit::pages::{Tone, go, go_as, go_refused};
use crate::learner::player::pages::{LessonView, lesson_view};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/courses", get(api_list))
        .route("/api/courses/{course}", get(api_versions))
        .route("/api/courses/{course}/{version}", get(api_version))
        .route("/api/admin/courses/{course}/packages", post(api_build))
        .route(
            "/api/admin/courses/{course}/versions/{version}/publish",
            post(api_publish),
        )
        .route(
            "/api/admin/courses/{course}/versions/{version}/archive",
            post(api_archive),
        )
        .route("/admin/courses", get(list_page))
        .route("/admin/courses/{course}", get(course_page))
        .route("/admin/courses/{course}/build", post(build_form))
        .route("/admin/courses/{course}/{version}", get(version_page))
        .route("/admin/courses/{course}/{version}/download", get(download))
        .route(
            "/admin/courses/{course}/{version}/export.pdf",
            get(export_pdf),
        )
        .route(
            "/admin/courses/{course}/{version}/export/scorm12.zip",
            get(export_scorm12),
        )
        .route(
            "/api/courses/{course}/{version}/export.pdf",
            get(export_pdf),
        )
        .route(
            "/api/courses/{course}/{version}/export/scorm12.zip",
            get(export_scorm12),
        )
        .route(
            "/admin/courses/{course}/{version}/publish",
            post(publish_form),
        )
        .route(
            "/admin/courses/{course}/{version}/archive",
            post(archive_form),
        )
}

fn summary_json(c: &CourseSummary) -> Value {
    json!({
        "courseId": c.id, "title": c.title, "syllabusId": c.syllabus_id,
        "syllabusVersion": c.syllabus_version, "drafts": c.drafts,
        "latestVersion": c.latest_version, "activeVersion": c.active_version,
        "versions": c.versions, "learners": c.learners,
    })
}

#[tracing::instrument(skip_all)]
async fn api_list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(STAFF)?;
    let rows = courses::list(&state.pool, caller.tenant_id).await?;
    Ok(axum::Json(
        json!({ "items": rows.iter().map(summary_json).collect::<Vec<_>>() }),
    ))
}

#[tracing::instrument(skip_all)]
async fn api_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(course): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    caller.require_role(STAFF)?;
    let found = courses::get(&state.pool, caller.tenant_id, course)
        .await?
        .ok_or_else(|| WebError::not_found("course"))?;
    let versions = packages::versions(&state.pool, caller.tenant_id, course).await?;
    let history = packages::history(&state.pool, caller.tenant_id, course).await?;
    Ok(axum::Json(json!({
        "courseId": course,
        "title": found.title,
        "activeVersion": versions.iter().find(|v| v.active).map(|v| v.version),
        "versions": versions,
        "history": history,
    })))
}

#[tracing::instrument(skip_all)]
async fn api_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<Response, WebError> {
    caller.require_role(STAFF)?;
    let (row, body) = packages::version(&state.pool, caller.tenant_id, course, version)
        .await?
        .ok_or_else(|| WebError::not_found("course version"))?;
    let mut res = axum::Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", row.content_hash)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

#[tracing::instrument(skip_all)]
async fn api_build(
    State(state): State<AppState>,
    caller: Caller,
    Path(course): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<PackageRow>), WebError> {
    let row = publishing::build_package(&state.pool, &caller.actor(), course).await?;
    Ok((StatusCode::CREATED, axum::Json(row)))
}

#[tracing::instrument(skip_all)]
async fn api_publish(
    State(state): State<AppState>,
    caller: Caller,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<axum::Json<Published>, WebError> {
    let done = publish(&state, &caller, course, version).await?;
    Ok(axum::Json(done))
}

/// Moves the course's pointer to `version`; this process forgets the old one at once
/// (others when PostgreSQL's notification reaches them).
async fn publish(
    state: &AppState,
    caller: &Caller,
    course: Uuid,
    version: i32,
) -> Result<Published, app::AppError> {
    let done = publishing::publish(&state.pool, &caller.actor(), course, version).await?;
    state.hot.forget_course(course);
    Ok(done)
}

#[tracing::instrument(skip_all)]
async fn api_archive(
    State(state): State<AppState>,
    caller: Caller,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<axum::Json<PackageRow>, WebError> {
    let done = publishing::archive(&state.pool, &caller.actor(), course, version).await?;
    Ok(axum::Json(done))
}

// ---- pages ----

#[derive(Template)]
#[template(path = "admin_courses.html")]
struct ListPage {
    layout: Layout,
    courses: Vec<CourseSummary>,
}

#[tracing::instrument(skip_all)]
async fn list_page(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let courses = courses::list(&state.pool, caller.tenant_id).await?;
    render(&ListPage {
        layout: ctx.layout("Courses"),
        courses,
    })
}

/// A version as the course page lists it, with what may be done to it.
struct VersionLine {
    row: PackageRow,
    short_hash: String,
    size: String,
    created: Stamp,
    /// "Publish" or "Roll back to" when it may be made active.
    publish_label: Option<&'static str>,
    can_archive: bool,
}

#[derive(Template)]
#[template(path = "admin_course.html")]
struct CoursePage {
    layout: Layout,
    course: Uuid,
    title: String,
    /// The newest approved syllabus (id, version), which the next build uses.
    syllabus: Option<(Uuid, i32)>,
    versions: Vec<VersionLine>,
    history: Vec<HistoryEntry>,
    is_admin: bool,
    next_version: i32,
    /// Missing or unapproved parts, by title, with a link to the newest version if any.
    gaps: Vec<GapLine>,
    /// The newest version, when a build now would hold exactly the same parts.
    unchanged_since: Option<i32>,
}

fn gap_noun(kind: domain::package::PartKind) -> &'static str {
    use domain::package::PartKind;
    match kind {
        PartKind::Lesson => "Lesson",
        PartKind::Quiz => "Quiz for",
        PartKind::Project => "Project for module",
        PartKind::Syllabus => "Syllabus",
    }
}

/// Why a planned part keeps the course from being built, in words.
fn gap_state(g: &domain::package::Gap) -> String {
    match &g.newest {
        None => "not drafted yet".into(),
        Some((_, v, st)) => format!("version {v} is {}", st.to_string().to_lowercase()),
    }
}

/// One line of the readiness checklist.
struct GapLine {
    what: &'static str,
    state: String,
    title: String,
    module_id: String,
    /// The newest version that exists, to link to.
    newest: Option<String>,
}

pub(crate) fn human_size(bytes: i32) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", f64::from(bytes) / 1_048_576.0)
    } else if bytes >= 1024 {
        format!("{:.1} kB", f64::from(bytes) / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

#[tracing::instrument(skip_all)]
async fn course_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(course): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let found = courses::get(&state.pool, caller.tenant_id, course)
        .await?
        .ok_or_else(|| WebError::not_found("course"))?;
    let syllabus =
        db::artifacts::newest_approved_syllabus(&state.pool, caller.tenant_id, course).await?;
    let rows = packages::versions(&state.pool, caller.tenant_id, course).await?;
    let history = packages::history(&state.pool, caller.tenant_id, course).await?;
    let active = rows.iter().find(|r| r.active).map(|r| r.version);
    let is_admin = caller.role == Role::Admin;
    let next_version = rows.first().map_or(1, |r| r.version + 1);
    let ready = publishing::readiness(&state.pool, &caller.actor(), course).await?;
    let gaps = ready
        .gaps
        .into_iter()
        .map(|g| GapLine {
            what: gap_noun(g.kind),
            state: gap_state(&g),
            title: g.title,
            module_id: g.module_id,
            newest: g.newest.map(|(id, _, _)| id),
        })
        .collect();
    let versions = rows
        .into_iter()
        .map(|row| {
            let open = !row.active && row.status == PackageStatus::Published;
            VersionLine {
                short_hash: row.content_hash.chars().take(12).collect(),
                size: human_size(row.size_bytes),
                created: stamp(row.created_at),
                publish_label: (open && is_admin).then_some(match active {
                    Some(a) if a > row.version => "Roll back to",
                    _ => "Publish",
                }),
                can_archive: open && is_admin,
                row,
            }
        })
        .collect();
    render(&CoursePage {
        layout: ctx.layout(format!("Course: {}", found.title)),
        course,
        title: found.title,
        syllabus: syllabus.map(|s| (s.id, s.version)),
        versions,
        history,
        is_admin,
        next_version,
        gaps,
        unchanged_since: ready.unchanged_since,
    })
}

#[derive(Template)]
#[template(path = "admin_course_version.html")]
struct VersionPage {
    layout: Layout,
    row: PackageRow,
    size: String,
    created: Stamp,
    package: CoursePackage,
    lessons: Vec<LessonView>,
    minutes: u32,
    block: JsonBlock,
}

/// A version of the caller's tenant's course and its package JSON, for staff.
async fn load_version(
    state: &AppState,
    ctx: &PageCtx,
    course: Uuid,
    version: i32,
) -> Result<(PackageRow, Value), WebError> {
    let caller = staff(ctx)?;
    packages::version(&state.pool, caller.tenant_id, course, version)
        .await?
        .ok_or_else(|| WebError::not_found("course version"))
}

#[tracing::instrument(skip_all)]
async fn version_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<Response, WebError> {
    let (row, body) = load_version(&state, &ctx, course, version).await?;
    let package: CoursePackage = serde_json::from_value(body.clone())
        .map_err(|e| WebError::Internal(anyhow::anyhow!("stored package does not parse: {e}")))?;
    let lessons = (1..=package.lessons.len())
        .filter_map(|i| lesson_view(&package, i))
        .collect();
    render(&VersionPage {
        layout: ctx.layout(format!("{} · version {}", row.title, row.version)),
        size: human_size(row.size_bytes),
        created: stamp(row.created_at),
        minutes: package.minutes(),
        block: JsonBlock::new(
            "Package JSON",
            format!("course-{course}-v{version}.json"),
            &body,
        ),
        lessons,
        package,
        row,
    })
}

#[tracing::instrument(skip_all)]
async fn download(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<Response, WebError> {
    let (row, body) = load_version(&state, &ctx, course, version).await?;
    // The canonical bytes: their SHA-256 is the recorded hash.
    let json = domain::canonical_json(&body);
    let disposition = format!("attachment; filename=\"course-{course}-v{version}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::ETAG, format!("\"{}\"", row.content_hash)),
        ],
        json,
    )
        .into_response())
}

/// Any version of a course as a PDF book, for staff (the same cache, limit and audit as a
/// learner's export).
#[tracing::instrument(skip_all)]
async fn export_pdf(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<Response, WebError> {
    let who = Requester::Staff(caller.actor(), version);
    download::export(&state, who, course, Format::Pdf, &headers).await
}

/// Any version of a course as a SCORM 1.2 package, for staff.
#[tracing::instrument(skip_all)]
async fn export_scorm12(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<Response, WebError> {
    let who = Requester::Staff(caller.actor(), version);
    download::export(&state, who, course, Format::Scorm12, &headers).await
}

#[tracing::instrument(skip_all)]
async fn build_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(course): Path<Uuid>,
    Form(f): Form<BuildForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let back = format!("/admin/courses/{course}");
    let ready = publishing::readiness(&state.pool, &caller.actor(), course).await?;
    if let Some(v) = ready.unchanged_since
        && f.unchanged_since.and_then(|s| s.trim().parse().ok()) != Some(v)
    {
        return Ok(go_as(
            Tone::Info,
            back,
            &format!(
                "Not built: nothing changed since version {v}, so a new version would hold the \
                 same content. Confirm on this page to build it anyway."
            ),
        ));
    }
    if !ready.gaps.is_empty() {
        // The flash is a cookie: name the first few, the page lists them all.
        const NAMED: usize = 8;
        let mut items: Vec<String> = ready
            .gaps
            .iter()
            .take(NAMED)
            .map(|g| format!("{} “{}” ({})", gap_noun(g.kind), g.title, gap_state(g)))
            .collect();
        if ready.gaps.len() > NAMED {
            items.push(format!(
                "and {} more, listed under “Before you build”",
                ready.gaps.len() - NAMED
            ));
        }
        return Ok(go_refused(
            back,
            &format!(
                "Not built, these parts are missing or not approved: {}",
                items.join("; ")
            ),
        ));
    }
    match publishing::build_package(&state.pool, &caller.actor(), course).await {
        Ok(row) => Ok(go(
            back,
            &format!(
                "Built version {} ({}). It is not live until you publish it.",
                row.version,
                human_size(row.size_bytes)
            ),
        )),
        Err(e) => refused(e, back, "Not built"),
    }
}

/// The build form: the version the page said a build would repeat, when it said so.
#[derive(serde::Deserialize, Default)]
struct BuildForm {
    #[serde(default)]
    unchanged_since: Option<String>,
}

/// A refusal becomes a flash on the page the form came from; anything else an error page.
fn refused(e: app::AppError, back: String, what: &str) -> Result<Response, WebError> {
    let e = WebError::from(e);
    match e.refusal() {
        Some(m) => Ok(go_refused(back, &format!("{what}: {m}"))),
        None => Err(e),
    }
}

#[tracing::instrument(skip_all)]
async fn publish_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let back = format!("/admin/courses/{course}");
    match publish(&state, &caller, course, version).await {
        Ok(done) => Ok(go(
            back,
            &if done.rollback {
                format!("Rolled back: learners now get version {version}.")
            } else {
                format!("Published: learners now get version {version}.")
            },
        )),
        Err(e) => refused(e, back, "Not published"),
    }
}

#[tracing::instrument(skip_all)]
async fn archive_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course, version)): Path<(Uuid, i32)>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let back = format!("/admin/courses/{course}");
    match publishing::archive(&state.pool, &caller.actor(), course, version).await {
        Ok(_) => Ok(go(back, &format!("Archived version {version}."))),
        Err(e) => refused(e, back, "Not archived"),
    }
}
