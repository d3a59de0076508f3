//! Review pages for the syllabus and content engine: the brief form, the syllabi, one
//! syllabus (rendered, JSON, diff against its previous version, review, content request and
//! job progress), and one lesson, quiz or project (rendered, JSON, review, edit).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use db::artifacts::{self, Artifact};
use domain::{Brief, Lesson, Project, Quiz, Syllabus};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::content::{
    STAFF, decide, enqueue_content, enqueue_regeneration, load, save_edit, submit_brief,
};
use crate::error::WebError;
use crate::extract::{Form, Path};
use crate::pages::{JsonBlock, Layout, PageCtx, go, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/briefs/new", get(brief_form))
        .route("/admin/briefs", post(brief_submit))
        .route("/admin/syllabi", get(syllabi))
        .route("/admin/syllabi/{id}", get(syllabus_page))
        .route("/admin/syllabi/{id}/review", post(review_form))
        .route("/admin/syllabi/{id}/content", post(content_form))
        .route(
            "/admin/syllabi/{id}/modules/{module}/approve-all",
            post(approve_all),
        )
        .route("/admin/content/{id}", get(content_page))
        .route("/admin/content/{id}/review", post(review_form))
        .route("/admin/content/{id}/edit", post(edit_form))
        .route("/admin/syllabi/{id}/regenerate", post(regenerate_form))
        .route("/admin/content/{id}/regenerate", post(regenerate_form))
}

/// The page an artifact is reviewed on.
fn page_of(a: &Artifact) -> String {
    if a.kind == "SYLLABUS" {
        format!("/admin/syllabi/{}", a.id)
    } else {
        format!("/admin/content/{}", a.id)
    }
}

pub(crate) fn staff(ctx: &PageCtx) -> Result<Caller, WebError> {
    let c = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    c.require_role(STAFF)?;
    Ok(c)
}

#[derive(Debug, Default, Deserialize)]
struct BriefForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    style: String,
    #[serde(default)]
    exam_focused: Option<String>,
    #[serde(default)]
    project_based: Option<String>,
    #[serde(default)]
    practical: Option<String>,
    #[serde(default)]
    theoretical: Option<String>,
    #[serde(default)]
    self_paced: Option<String>,
}

#[derive(Template)]
#[template(path = "brief_new.html")]
struct BriefPage {
    layout: Layout,
    form: BriefForm,
    errors: Vec<(String, String)>,
}

impl BriefPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    fn checked(&self, v: &Option<String>) -> bool {
        v.is_some()
    }
}

async fn brief_form(ctx: PageCtx) -> Result<Response, WebError> {
    staff(&ctx)?;
    render(&BriefPage {
        layout: ctx.layout("New course brief"),
        form: BriefForm {
            level: "beginner".into(),
            ..Default::default()
        },
        errors: vec![],
    })
}

async fn brief_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<BriefForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let mut constraints = Vec::new();
    for (on, name) in [
        (&f.exam_focused, "exam-focused"),
        (&f.project_based, "project-based"),
        (&f.practical, "practical"),
        (&f.theoretical, "theoretical"),
        (&f.self_paced, "self-paced"),
    ] {
        if on.is_some() {
            constraints.push(name);
        }
    }
    let mut errors = Vec::new();
    let hours = match f.hours.trim().parse::<u32>() {
        Ok(h) => h,
        Err(_) => {
            errors.push((
                "timeBudgetHours".into(),
                "Enter a whole number of hours, such as 6.".into(),
            ));
            0
        }
    };
    let parsed = serde_json::from_value::<Brief>(json!({
        "title": f.title, "audience": f.audience, "level": f.level, "timeBudgetHours": hours,
        "teachingStyle": f.style, "constraints": constraints,
    }));
    let brief = match parsed {
        Ok(b) => Some(b),
        Err(_) => {
            errors.push((
                "level".into(),
                "Choose beginner, intermediate or advanced.".into(),
            ));
            None
        }
    };
    let valid = match brief.map(Brief::validate) {
        Some(Ok(v)) if errors.is_empty() => Some(v),
        Some(Err(v)) => {
            for x in v.0 {
                let field = x.path.trim_start_matches('/').to_owned();
                if !errors.iter().any(|(f, _)| *f == field) {
                    let mut m = x.message.clone();
                    if let Some(c) = m.get_mut(0..1) {
                        c.make_ascii_uppercase();
                    }
                    errors.push((field, format!("{m}.")));
                }
            }
            None
        }
        _ => None,
    };
    let Some(valid) = valid else {
        let mut res = render(&BriefPage {
            layout: ctx.layout("New course brief"),
            form: f,
            errors,
        })?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    submit_brief(&state, &caller, &valid).await?;
    Ok(go(
        "/admin/syllabi".into(),
        "Brief saved: the syllabus is being generated and appears here when ready.",
    ))
}

struct Row {
    id: Uuid,
    title: String,
    version: i32,
    status: String,
    offline: bool,
    created: String,
}

fn row(a: &Artifact) -> Row {
    Row {
        id: a.id,
        title: a.title.clone(),
        version: a.version,
        status: a.status.clone(),
        offline: a.provenance["offline"] == true,
        created: a
            .created_at
            .replace_nanosecond(0)
            .unwrap_or(a.created_at)
            .to_string(),
    }
}

#[derive(Template)]
#[template(path = "syllabi.html")]
struct SyllabiPage {
    layout: Layout,
    rows: Vec<Row>,
}

async fn syllabi(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let rows = artifacts::list(&state.pool, caller.tenant_id, &["SYLLABUS"], None, 200).await?;
    render(&SyllabiPage {
        layout: ctx.layout("Syllabi"),
        rows: rows.iter().map(row).collect(),
    })
}

/// One line of a diff: ' ', '-' or '+', and the text.
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

/// A line diff (longest common subsequence) of two texts; fine for documents of a few
/// thousand lines, which artifacts are.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0_u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(DiffLine {
                sign: ' ',
                text: a[i].into(),
            });
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(DiffLine {
                sign: '+',
                text: b[j].into(),
            });
            j += 1;
        } else {
            out.push(DiffLine {
                sign: '-',
                text: a[i].into(),
            });
            i += 1;
        }
    }
    out
}

/// The changed lines with two lines of context around each change.
fn changes_only(diff: Vec<DiffLine>) -> Vec<DiffLine> {
    let keep: Vec<bool> = (0..diff.len())
        .map(|k| {
            diff[k.saturating_sub(2)..(k + 3).min(diff.len())]
                .iter()
                .any(|d| d.sign != ' ')
        })
        .collect();
    diff.into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(d, _)| d)
        .collect()
}

struct ContentLink {
    id: Uuid,
    kind: String,
    title: String,
    status: String,
    version: i32,
}

struct ModuleView {
    id: String,
    title: String,
    summary: String,
    minutes: u32,
    lessons: Vec<domain::content::PlannedLesson>,
    content: Vec<ContentLink>,
    drafts: usize,
}

struct JobView {
    id: Uuid,
    kind: String,
    status: String,
    target: String,
}

#[derive(Template)]
#[template(path = "syllabus.html")]
struct SyllabusPage {
    layout: Layout,
    review_action: String,
    regenerate_action: String,
    a: Artifact,
    offline: bool,
    s: Syllabus,
    modules: Vec<ModuleView>,
    total_minutes: u32,
    diff: Option<(i32, Vec<DiffLine>)>,
    jobs: Vec<JobView>,
    working: bool,
    json: JsonBlock,
    provenance: JsonBlock,
}

/// The previous version in the lineage (the parent, else the version below).
async fn previous(state: &AppState, a: &Artifact) -> Result<Option<Artifact>, WebError> {
    if let Some(p) = a.parent_id {
        return Ok(artifacts::get(&state.pool, a.tenant_id, p).await?);
    }
    let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM artifacts WHERE lineage_id = $1 AND version < $2 ORDER BY version DESC LIMIT 1")
        .bind(a.lineage_id)
        .bind(a.version)
        .fetch_optional(&state.pool)
        .await?;
    Ok(match id {
        Some(id) => artifacts::get(&state.pool, a.tenant_id, id).await?,
        None => None,
    })
}

async fn diff_against_previous(
    state: &AppState,
    a: &Artifact,
) -> Result<Option<(i32, Vec<DiffLine>)>, WebError> {
    let Some(p) = previous(state, a).await? else {
        return Ok(None);
    };
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    Ok(Some((
        p.version,
        changes_only(line_diff(&pretty(&p.body), &pretty(&a.body))),
    )))
}

async fn syllabus_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let a = load(&state, &caller, id).await?;
    if a.kind != "SYLLABUS" {
        return Err(WebError::not_found("syllabus"));
    }
    let s: Syllabus =
        serde_json::from_value(a.body.clone()).map_err(|e| WebError::Internal(e.into()))?;
    let kinds = ["LESSON", "QUIZ", "PROJECT"];
    let content = artifacts::list(&state.pool, caller.tenant_id, &kinds, Some(a.id), 3000).await?;
    let modules = s
        .modules
        .iter()
        .map(|m| {
            let mut items: Vec<&Artifact> = content
                .iter()
                .filter(|c| c.module_id.as_deref() == Some(&m.id))
                .collect();
            items.sort_by(|x, y| {
                (x.ref_id.as_str(), x.kind.as_str(), -x.version).cmp(&(
                    y.ref_id.as_str(),
                    y.kind.as_str(),
                    -y.version,
                ))
            });
            ModuleView {
                id: m.id.clone(),
                title: m.title.clone(),
                summary: m.summary.clone(),
                minutes: m.lessons.iter().map(|l| l.estimated_minutes).sum(),
                lessons: m.lessons.clone(),
                drafts: items.iter().filter(|c| c.status == "DRAFT").count(),
                content: items
                    .into_iter()
                    .map(|c| ContentLink {
                        id: c.id,
                        kind: c.kind.clone(),
                        title: c.title.clone(),
                        status: c.status.clone(),
                        version: c.version,
                    })
                    .collect(),
            }
        })
        .collect();
    let jobs: Vec<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT id, kind, status, target_id FROM jobs
         WHERE tenant_id = $1 AND ((target_type = 'brief' AND target_id = $2) OR (target_type = 'syllabus_module' AND target_id LIKE $3))
         ORDER BY created_at DESC LIMIT 50",
    )
    .bind(caller.tenant_id)
    .bind(a.brief_id.map(|b| b.to_string()).unwrap_or_default())
    .bind(format!("{}/%", a.id))
    .fetch_all(&state.pool)
    .await?;
    let jobs: Vec<JobView> = jobs
        .into_iter()
        .map(|(id, kind, status, target)| JobView {
            id,
            kind,
            status,
            target,
        })
        .collect();
    let working = jobs
        .iter()
        .any(|j| j.status == "PENDING" || j.status == "RUNNING");
    render(&SyllabusPage {
        layout: ctx.layout(s.title.clone()),
        review_action: format!("/admin/syllabi/{}/review", a.id),
        regenerate_action: format!("/admin/syllabi/{}/regenerate", a.id),
        offline: a.provenance["offline"] == true,
        total_minutes: s
            .modules
            .iter()
            .flat_map(|m| &m.lessons)
            .map(|l| l.estimated_minutes)
            .sum(),
        diff: diff_against_previous(&state, &a).await?,
        json: JsonBlock::new(
            "Syllabus JSON",
            format!("syllabus-{}-v{}.json", a.id, a.version),
            &a.body,
        ),
        provenance: JsonBlock::new(
            "Provenance",
            format!("syllabus-{}-provenance.json", a.id),
            &a.provenance,
        ),
        modules,
        jobs,
        working,
        s,
        a,
    })
}

#[derive(Deserialize)]
struct ReviewForm {
    decision: String,
    #[serde(default)]
    note: String,
}

async fn review_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let approve = match f.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(WebError::BadRequest(
                "decision must be approve or reject".into(),
            ));
        }
    };
    let note = Some(f.note.trim()).filter(|n| !n.is_empty());
    let a = load(&state, &caller, id).await?;
    let back = page_of(&a);
    match decide(&state, &caller, id, approve, note).await {
        Ok(a) => Ok(go(
            back,
            &format!(
                "{} version {} {}.",
                a.title,
                a.version,
                a.status.to_lowercase()
            ),
        )),
        Err(WebError::Conflict(m)) => Ok(go(back, &format!("Not changed: {m}."))),
        Err(e) => Err(e),
    }
}

async fn content_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    match enqueue_content(&state, &caller, id).await {
        Ok(jobs) => Ok(go(
            format!("/admin/syllabi/{id}"),
            &format!(
                "Content generation requested: {} module job(s).",
                jobs.len()
            ),
        )),
        Err(WebError::Conflict(m)) => Ok(go(
            format!("/admin/syllabi/{id}"),
            &format!("Not requested: {m}."),
        )),
        Err(e) => Err(e),
    }
}

async fn approve_all(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, module)): Path<(Uuid, String)>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let drafts: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM artifacts WHERE tenant_id = $1 AND syllabus_id = $2 AND module_id = $3 AND status = 'DRAFT' ORDER BY ref_id, kind",
    )
    .bind(caller.tenant_id)
    .bind(id)
    .bind(&module)
    .fetch_all(&state.pool)
    .await?;
    let mut approved = 0;
    for d in &drafts {
        match decide(
            &state,
            &caller,
            *d,
            true,
            Some("approved with the rest of its module"),
        )
        .await
        {
            Ok(_) => approved += 1,
            Err(WebError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(go(
        format!("/admin/syllabi/{id}"),
        &format!("Approved {approved} draft(s) of module {module}."),
    ))
}

/// How a content artifact renders.
enum Rendered {
    Lesson(Box<Lesson>),
    Quiz(Quiz),
    Project(Project),
}

#[derive(Template)]
#[template(path = "content_item.html")]
struct ContentPage {
    layout: Layout,
    review_action: String,
    regenerate_action: String,
    a: Artifact,
    offline: bool,
    rendered: Rendered,
    diff: Option<(i32, Vec<DiffLine>)>,
    json: JsonBlock,
    edit_text: String,
    edit_error: Option<String>,
}

async fn content_view(
    state: &AppState,
    ctx: &PageCtx,
    a: Artifact,
    edit_text: Option<String>,
    edit_error: Option<String>,
) -> Result<Response, WebError> {
    let bad = |e: serde_json::Error| WebError::Internal(e.into());
    let rendered = match a.kind.as_str() {
        "LESSON" => Rendered::Lesson(Box::new(
            serde_json::from_value(a.body.clone()).map_err(bad)?,
        )),
        "QUIZ" => Rendered::Quiz(serde_json::from_value(a.body.clone()).map_err(bad)?),
        "PROJECT" => Rendered::Project(serde_json::from_value(a.body.clone()).map_err(bad)?),
        _ => return Err(WebError::not_found("content")),
    };
    let failed = edit_error.is_some();
    let mut res = render(&ContentPage {
        layout: ctx.layout(a.title.clone()),
        review_action: format!("/admin/content/{}/review", a.id),
        regenerate_action: format!("/admin/content/{}/regenerate", a.id),
        offline: a.provenance["offline"] == true,
        diff: diff_against_previous(state, &a).await?,
        json: JsonBlock::new(
            "JSON",
            format!("{}-{}-v{}.json", a.kind.to_lowercase(), a.id, a.version),
            &a.body,
        ),
        edit_text: edit_text
            .unwrap_or_else(|| serde_json::to_string_pretty(&a.body).unwrap_or_default()),
        edit_error,
        rendered,
        a,
    })?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

async fn content_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let a = load(&state, &caller, id).await?;
    content_view(&state, &ctx, a, None, None).await
}

#[derive(Deserialize)]
struct EditForm {
    body: String,
}

async fn edit_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
    Form(f): Form<EditForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let parent = load(&state, &caller, id).await?;
    let result = match serde_json::from_str::<Value>(&f.body) {
        Err(e) => Err(WebError::Unprocessable(format!(
            "the JSON does not parse: {e}"
        ))),
        Ok(body) => save_edit(&state, &caller, id, body).await,
    };
    match result {
        Ok(created) => Ok(go(
            format!("/admin/content/{}", created.id),
            &format!("Saved as version {}, a new draft.", created.version),
        )),
        Err(WebError::Unprocessable(m)) => {
            content_view(&state, &ctx, parent, Some(f.body), Some(m)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct RegenerateForm {
    #[serde(default)]
    instruction: String,
}

async fn regenerate_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
    Form(f): Form<RegenerateForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let a = load(&state, &caller, id).await?;
    let back = page_of(&a);
    match enqueue_regeneration(&state, &caller, id, &f.instruction).await {
        Ok(_) => Ok(go(
            back,
            "Regeneration requested: the new version appears as a draft when the job completes.",
        )),
        Err(WebError::Unprocessable(m) | WebError::Conflict(m)) => {
            Ok(go(back, &format!("Not requested: {m}.")))
        }
        Err(e) => Err(e),
    }
}
