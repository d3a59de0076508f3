//! Review pages for the syllabus and content engine: the brief form, the syllabi, one
//! syllabus (rendered, JSON, diff against its previous version, review, content request and
//! job progress), and one lesson, quiz or project (rendered, JSON, review, edit).

use app::authoring::{self, Family};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use db::artifacts::{self, Artifact};
use db::types::{ArtifactKind, ArtifactStatus};
use domain::{Brief, JobStatus, Lesson, Project, Quiz, Syllabus};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::control::authoring::api::STAFF;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::{Form, Path, Query};
use crate::kit::pages::{
    JsonBlock, Layout, PageCtx, Stamp, Tone, go, go_as, go_refused, render, stamp,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/briefs/new", get(brief_form))
        .route("/admin/briefs", post(brief_submit))
        .route("/admin/syllabi", get(syllabi))
        .route("/admin/syllabi/{id}", get(syllabus_page))
        .route("/admin/syllabi/{id}/review", post(review_form))
        .route("/admin/syllabi/{id}/content", post(content_form))
        .route(
            "/admin/syllabi/{id}/content/regenerate",
            post(regenerate_all_form),
        )
        .route(
            "/admin/syllabi/{id}/modules/{module}/approve-all",
            post(approve_all),
        )
        .route("/admin/content/{id}", get(content_page))
        .route("/admin/content/{id}/review", post(review_form))
        .route("/admin/syllabi/{id}/regenerate", post(regenerate_form))
        .route("/admin/content/{id}/regenerate", post(regenerate_form))
        .merge(super::editors::router())
}

/// The page an artifact is reviewed on.
/// The instruction a regenerated version was made with, as its provenance records it.
fn instruction_of(a: &Artifact) -> Option<String> {
    a.provenance["reviewerInstruction"]
        .as_str()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
}

/// The page of artifact `id` in `family`: where a form about it returns.
fn page_of(family: Family, id: Uuid) -> String {
    match family {
        Family::Syllabus => format!("/admin/syllabi/{id}"),
        Family::Content => format!("/admin/content/{id}"),
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
    /// One learning outcome a line.
    #[serde(default)]
    outcomes: String,
    #[serde(default)]
    description: String,
    /// One prerequisite a line.
    #[serde(default)]
    prerequisites: String,
    #[serde(default)]
    language: String,
    /// Blank for no preference.
    #[serde(default)]
    modules: String,
}

/// The non-blank lines of a textarea, trimmed.
fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// A stored brief as the syllabus page shows it, with what it warns about.
struct BriefView {
    b: Brief,
    constraints: Vec<String>,
    warnings: Vec<domain::brief::Warning>,
}

impl BriefView {
    fn new(b: Brief) -> Self {
        let constraints = b
            .constraints
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        Self {
            warnings: b.warnings(),
            constraints,
            b,
        }
    }
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

#[tracing::instrument(skip_all)]
async fn brief_form(ctx: PageCtx) -> Result<Response, WebError> {
    staff(&ctx)?;
    render(&BriefPage {
        layout: ctx.layout("New course brief"),
        form: BriefForm {
            level: "beginner".into(),
            language: domain::content::DEFAULT_LANGUAGE.into(),
            ..Default::default()
        },
        errors: vec![],
    })
}

#[tracing::instrument(skip_all)]
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
    let modules = match f.modules.trim() {
        "" => None,
        m => match m.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push((
                    "preferredModules".into(),
                    "Enter a whole number of modules from 1 to 20, or leave it blank.".into(),
                ));
                None
            }
        },
    };
    let language = match f.language.trim() {
        "" => domain::content::DEFAULT_LANGUAGE,
        l => l,
    };
    let description = Some(f.description.trim()).filter(|d| !d.is_empty());
    let parsed = serde_json::from_value::<Brief>(json!({
        "title": f.title, "audience": f.audience, "level": f.level, "timeBudgetHours": hours,
        "teachingStyle": f.style, "constraints": constraints,
        "learningOutcomes": lines(&f.outcomes), "description": description,
        "prerequisites": lines(&f.prerequisites), "language": language,
        "preferredModules": modules,
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
                // `/learningOutcomes/3` is a line of the outcomes field.
                let field = x
                    .path
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
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
    let warnings = valid.warnings();
    authoring::submit_brief(&state.pool, &caller.actor(), &valid).await?;
    if warnings.is_empty() {
        return Ok(go(
            "/admin/syllabi".into(),
            "Brief saved: the syllabus is being generated and appears here when ready.",
        ));
    }
    let said: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
    Ok(go_as(
        Tone::Info,
        "/admin/syllabi".into(),
        &format!(
            "Brief saved with {} warning(s), shown again beside its syllabus: {} The syllabus is being generated and appears here when ready.",
            warnings.len(),
            said.join(" ")
        ),
    ))
}

struct Row {
    id: Uuid,
    title: String,
    version: i32,
    shown: super::queue::Shown,
    offline: bool,
    created: Stamp,
}

#[derive(Template)]
#[template(path = "syllabi.html")]
struct SyllabiPage {
    layout: Layout,
    /// Briefs with no syllabus yet, and where their generation stands.
    drafting: Vec<DraftingRow>,
    rows: Vec<Row>,
    /// The jobs a live page follows (queued or generating), comma-separated.
    live_jobs: String,
    /// Status filter links: (label, href, current).
    filters: Vec<(&'static str, String, bool)>,
}

struct DraftingRow {
    title: String,
    submitted: Stamp,
    job_id: Option<Uuid>,
    /// A status class (`pending`, `running`, `failed`…) and the words for it.
    status_class: &'static str,
    state: &'static str,
    reason: Option<String>,
    /// An admin may retry a failed generation from here.
    can_retry: bool,
}

/// Where a brief's syllabus generation stands: a status class and the words for it.
pub(crate) fn brief_state(job: Option<JobStatus>) -> (&'static str, &'static str) {
    use domain::JobStatus as S;
    match job {
        Some(S::Requested) => ("requested", "waiting for an admin to trigger it"),
        Some(S::Pending) => ("pending", "queued"),
        Some(S::Running) => ("running", "generating"),
        Some(S::Failed) => ("failed", "failed"),
        // Completed: the syllabus draft is stored with the job's completion.
        Some(S::Completed) => ("completed", "ready"),
        None => ("failed", "no generation job"),
    }
}

fn drafting_row(d: db::courses::Drafting, admin: bool) -> DraftingRow {
    use domain::JobStatus as S;
    let (status_class, state) = brief_state(d.job_status);
    DraftingRow {
        title: d.title,
        submitted: stamp(d.created_at),
        job_id: d.job_id,
        status_class,
        state,
        reason: d.error_message,
        can_retry: admin && d.job_status == Some(S::Failed),
    }
}

#[tracing::instrument(skip_all)]
async fn syllabi(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<StatusQuery>,
) -> Result<Response, WebError> {
    use super::queue::{Shown, status_filter};
    let caller = staff(&ctx)?;
    let status = status_filter(q.status.as_deref(), None)?;
    let rows = artifacts::review_list(
        &state.pool,
        caller.tenant_id,
        &[ArtifactKind::Syllabus],
        None,
        500,
    )
    .await?;
    let drafting = db::courses::awaiting_syllabus(
        &state.pool,
        caller.tenant_id,
        domain::JobSpec::GENERATE_SYLLABUS,
    )
    .await?;
    let mut filters = vec![("All", "/admin/syllabi".to_owned(), status.is_none())];
    filters.extend(Shown::ALL.into_iter().map(|s| {
        (
            s.plural(),
            format!("/admin/syllabi?status={}", s.word()),
            status == Some(s),
        )
    }));
    let live_jobs = drafting
        .iter()
        .filter(|d| matches!(d.job_status, Some(JobStatus::Pending | JobStatus::Running)))
        .filter_map(|d| d.job_id.map(|j| j.to_string()))
        .collect::<Vec<_>>()
        .join(",");
    render(&SyllabiPage {
        layout: ctx.layout("Syllabi"),
        live_jobs,
        drafting: drafting
            .into_iter()
            .map(|d| drafting_row(d, caller.role == domain::Role::Admin))
            .collect(),
        rows: rows
            .into_iter()
            .map(|r| Row {
                shown: Shown::of(r.status, r.newest),
                id: r.id,
                title: r.title,
                version: r.version,
                offline: r.offline,
                created: stamp(r.created_at),
            })
            .filter(|r| status.is_none_or(|s| r.shown == s))
            .collect(),
        filters,
    })
}

#[derive(Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

/// One line of a diff: ' ', '-' or '+', and the text.
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

/// Above this many cells (lines of one side times lines of the other, after the common
/// head and tail are set aside) the diff shows the middle as replaced instead of aligning
/// it: the table it needs grows with the product, and 8,000 changed lines each way would
/// take a quarter of a gigabyte.
const DIFF_CELLS: usize = 4_000_000;

/// A line diff (longest common subsequence) of two texts, in memory bounded by
/// [`DIFF_CELLS`].
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let same = |t: &&str| DiffLine {
        sign: ' ',
        text: (*t).into(),
    };
    let mut out: Vec<DiffLine> = a[..head].iter().map(same).collect();
    let (mid_a, mid_b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    if mid_a.len().saturating_mul(mid_b.len()) > DIFF_CELLS {
        out.extend(mid_a.iter().map(|t| DiffLine {
            sign: '-',
            text: (*t).into(),
        }));
        out.extend(mid_b.iter().map(|t| DiffLine {
            sign: '+',
            text: (*t).into(),
        }));
    } else {
        out.extend(lcs_diff(mid_a, mid_b));
    }
    out.extend(a[a.len() - tail..].iter().map(same));
    out
}

fn lcs_diff(a: &[&str], b: &[&str]) -> Vec<DiffLine> {
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
    kind: ArtifactKind,
    title: String,
    status: ArtifactStatus,
    version: i32,
}

struct ModuleView {
    id: String,
    title: String,
    summary: String,
    minutes: u32,
    lessons: Vec<domain::content::PlannedLesson>,
    /// The newest version of each part.
    content: Vec<ContentLink>,
    /// Older versions, superseded: shown collapsed.
    earlier: Vec<ContentLink>,
    /// Newest versions still drafts (what "approve all" approves).
    drafts: usize,
    /// Parts the syllabus plans for this module, and how many have an approved version.
    planned: usize,
    approved: usize,
}

struct JobView {
    id: Uuid,
    kind: String,
    status: JobStatus,
    target: String,
}

#[derive(Template)]
#[template(path = "syllabus.html")]
struct SyllabusPage {
    layout: Layout,
    review_action: String,
    regenerate_action: String,
    a: Artifact,
    superseded_by: Option<i32>,
    offline: bool,
    /// The reviewer's instruction this version was regenerated with.
    instruction: Option<String>,
    s: Syllabus,
    /// The brief the syllabus was drafted from, when it can be read.
    brief: Option<BriefView>,
    modules: Vec<ModuleView>,
    total_minutes: u32,
    diff: Option<(i32, Vec<DiffLine>)>,
    jobs: Vec<JobView>,
    working: bool,
    json: JsonBlock,
    provenance: JsonBlock,
    /// Planned parts with no version yet: what "Generate" would draft.
    missing: usize,
    /// The review form offers "approve and next" (content pages only).
    approve_next: bool,
    /// What regenerating the existing parts would supersede (approved syllabi only).
    impact: Option<authoring::Impact>,
}

/// The previous version in the lineage (the parent, else the version below).
async fn previous(state: &AppState, a: &Artifact) -> Result<Option<Artifact>, WebError> {
    let id = match a.parent_id {
        Some(p) => Some(p),
        None => artifacts::version_below(&state.pool, a.lineage_id, a.version).await?,
    };
    Ok(match id {
        Some(id) => artifacts::get(&state.pool, a.tenant_id, id).await?,
        None => None,
    })
}

/// The newer version that supersedes `a`, if any.
async fn superseded_by(state: &AppState, a: &Artifact) -> Result<Option<i32>, WebError> {
    let newest = artifacts::newest(&state.pool, a.course_id, a.kind, &a.ref_id).await?;
    Ok(newest.filter(|n| n.id != a.id).map(|n| n.version))
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

#[tracing::instrument(skip_all)]
async fn syllabus_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let a = authoring::load(&state.pool, &caller.actor(), Family::Syllabus, id).await?;
    let s: Syllabus =
        serde_json::from_value(a.body.clone()).map_err(|e| WebError::Internal(e.into()))?;
    let content = artifacts::content_of_course(&state.pool, caller.tenant_id, a.course_id).await?;
    let modules: Vec<ModuleView> = s
        .modules
        .iter()
        .map(|m| {
            let mut items: Vec<&Artifact> = content
                .iter()
                .filter(|c| c.module_id.as_deref() == Some(&m.id))
                .collect();
            items.sort_by(|x, y| {
                (x.ref_id.as_str(), x.kind, -x.version).cmp(&(
                    y.ref_id.as_str(),
                    y.kind,
                    -y.version,
                ))
            });
            let link = |c: &Artifact| ContentLink {
                id: c.id,
                kind: c.kind,
                title: c.title.clone(),
                status: c.status,
                version: c.version,
            };
            // Sorted newest first within each part: the first of a part is its newest.
            let (mut content, mut earlier) = (Vec::new(), Vec::new());
            let mut seen = std::collections::HashSet::new();
            for c in &items {
                if seen.insert((c.kind, c.ref_id.as_str())) {
                    content.push(link(c));
                } else {
                    earlier.push(link(c));
                }
            }
            let parts = domain::package::module_parts(m);
            let approved = parts
                .iter()
                .filter(|(kind, r)| {
                    items.iter().any(|c| {
                        c.ref_id == *r && c.status.is_approved() && c.kind.as_str() == kind.as_str()
                    })
                })
                .count();
            ModuleView {
                id: m.id.clone(),
                title: m.title.clone(),
                summary: m.summary.clone(),
                minutes: m.lessons.iter().map(|l| l.estimated_minutes).sum(),
                lessons: m.lessons.clone(),
                drafts: content.iter().filter(|c| c.status.is_draft()).count(),
                content,
                earlier,
                planned: parts.len(),
                approved,
            }
        })
        .collect();
    let jobs: Vec<JobView> = db::jobs::for_syllabus(
        &state.pool,
        caller.tenant_id,
        a.brief_id.map(|b| b.to_string()).unwrap_or_default(),
        a.id,
    )
    .await?
    .into_iter()
    .map(|j| JobView {
        id: j.id,
        kind: j.kind,
        status: j.status,
        target: j.target_id,
    })
    .collect();
    let working = jobs
        .iter()
        .any(|j| matches!(j.status, JobStatus::Pending | JobStatus::Running));
    let impact = if a.status.is_approved() {
        Some(authoring::content_impact(&state.pool, &caller.actor(), a.id).await?)
    } else {
        None
    };
    let planned: usize = modules.iter().map(|m| m.planned).sum();
    let brief = match a.brief_id {
        Some(b) => db::courses::brief(&state.pool, caller.tenant_id, b)
            .await?
            .and_then(|body| serde_json::from_value::<Brief>(body).ok())
            .map(BriefView::new),
        None => None,
    };
    render(&SyllabusPage {
        brief,
        approve_next: false,
        missing: planned.saturating_sub(impact.map_or(0, |i| i.parts)),
        impact,
        layout: ctx.layout(s.title.clone()),
        review_action: format!("/admin/syllabi/{}/review", a.id),
        regenerate_action: format!("/admin/syllabi/{}/regenerate", a.id),
        offline: a.provenance["offline"] == true,
        instruction: instruction_of(&a),
        total_minutes: s
            .modules
            .iter()
            .flat_map(|m| &m.lessons)
            .map(|l| l.estimated_minutes)
            .sum(),
        diff: diff_against_previous(&state, &a).await?,
        superseded_by: superseded_by(&state, &a).await?,
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

/// Which family a review or edit route serves, from its path.
fn family_of(ctx: &PageCtx) -> Family {
    if ctx.path.starts_with("/admin/syllabi/") {
        Family::Syllabus
    } else {
        Family::Content
    }
}

#[tracing::instrument(skip_all)]
async fn review_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let (approve, then_next) = match f.decision.as_str() {
        "approve" => (true, false),
        "approve-next" => (true, true),
        "reject" => (false, false),
        _ => {
            return Err(WebError::BadRequest(
                "decision must be approve, approve-next or reject".into(),
            ));
        }
    };
    let family = family_of(&ctx);
    let actor = caller.actor();
    let back = page_of(family, id);
    match authoring::review(&state.pool, &actor, family, id, approve, Some(&f.note)).await {
        Ok(a) if then_next && family == Family::Content => {
            let done = format!("{} version {} approved.", a.title, a.version);
            let q = super::queue::neighbours(&state, &a).await?;
            Ok(match q.next_draft {
                Some(next) => go(
                    page_of(family, next),
                    &format!("{done} The next draft waiting for review:"),
                ),
                None => go(
                    a.syllabus_id.map_or(back, |s| page_of(Family::Syllabus, s)),
                    &format!("{done} That was the last draft of this course."),
                ),
            })
        }
        Ok(a) => Ok(go_as(
            if a.status.is_approved() {
                Tone::Done
            } else {
                Tone::Info
            },
            back,
            &format!(
                "{} version {} {}.",
                a.title,
                a.version,
                a.status.as_str().to_lowercase()
            ),
        )),
        Err(e) => match WebError::from(e) {
            e if e.refusal().is_some() => Ok(go_refused(
                back,
                &format!("Not changed: {}.", e.refusal().unwrap_or_default()),
            )),
            e => Err(e),
        },
    }
}

#[tracing::instrument(skip_all)]
async fn content_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let back = format!("/admin/syllabi/{id}");
    match authoring::request_content(&state.pool, &caller.actor(), id).await {
        Ok(jobs) => Ok(go(
            back,
            &format!(
                "Content generation requested: {} module job(s).",
                jobs.len()
            ),
        )),
        Err(e) => match WebError::from(e) {
            e if e.refusal().is_some() => Ok(go_refused(
                back,
                &format!("Not requested: {}.", e.refusal().unwrap_or_default()),
            )),
            e => Err(e),
        },
    }
}

#[tracing::instrument(skip_all)]
async fn approve_all(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, module)): Path<(Uuid, String)>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let done = authoring::approve_module(&state.pool, &caller.actor(), id, &module).await?;
    let skipped = if done.superseded > 0 {
        format!(
            " {} superseded draft(s) were left as they are.",
            done.superseded
        )
    } else {
        String::new()
    };
    Ok(go(
        format!("/admin/syllabi/{id}"),
        &format!(
            "Approved {} draft(s) of module {module}.{skipped}",
            done.approved
        ),
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
    superseded_by: Option<i32>,
    offline: bool,
    /// The reviewer's instruction this version was regenerated with.
    instruction: Option<String>,
    rendered: Rendered,
    diff: Option<(i32, Vec<DiffLine>)>,
    json: JsonBlock,
    edit_text: String,
    /// Previous, next and next draft in the syllabus's order.
    queue: super::queue::Neighbours,
    approve_next: bool,
}

async fn content_view(state: &AppState, ctx: &PageCtx, a: Artifact) -> Result<Response, WebError> {
    let bad = |e: serde_json::Error| WebError::Internal(e.into());
    let rendered = match a.kind {
        ArtifactKind::Lesson => Rendered::Lesson(Box::new(
            serde_json::from_value(a.body.clone()).map_err(bad)?,
        )),
        ArtifactKind::Quiz => Rendered::Quiz(serde_json::from_value(a.body.clone()).map_err(bad)?),
        ArtifactKind::Project => {
            Rendered::Project(serde_json::from_value(a.body.clone()).map_err(bad)?)
        }
        ArtifactKind::Syllabus => return Err(WebError::not_found("content")),
    };
    let queue = super::queue::neighbours(state, &a).await?;
    render(&ContentPage {
        approve_next: a.status.is_draft() && queue.next_draft.is_some(),
        queue,
        layout: ctx.layout(a.title.clone()),
        review_action: format!("/admin/content/{}/review", a.id),
        regenerate_action: format!("/admin/content/{}/regenerate", a.id),
        offline: a.provenance["offline"] == true,
        instruction: instruction_of(&a),
        diff: diff_against_previous(state, &a).await?,
        superseded_by: superseded_by(state, &a).await?,
        json: JsonBlock::new(
            "JSON",
            format!(
                "{}-{}-v{}.json",
                a.kind.as_str().to_lowercase(),
                a.id,
                a.version
            ),
            &a.body,
        ),
        edit_text: serde_json::to_string_pretty(&a.body).unwrap_or_default(),
        rendered,
        a,
    })
}

#[tracing::instrument(skip_all)]
async fn content_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let a = authoring::load(&state.pool, &caller.actor(), Family::Content, id).await?;
    content_view(&state, &ctx, a).await
}

#[derive(Deserialize)]
struct RegenerateForm {
    #[serde(default)]
    instruction: String,
}

#[tracing::instrument(skip_all)]
async fn regenerate_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
    Form(f): Form<RegenerateForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let family = family_of(&ctx);
    let actor = caller.actor();
    let back = page_of(family, id);
    match authoring::regenerate(&state.pool, &actor, family, id, &f.instruction).await {
        Ok(_) => Ok(go(
            back,
            "Regeneration requested: the new version appears as a draft when the job completes.",
        )),
        Err(e) => match WebError::from(e) {
            e if e.refusal().is_some() => Ok(go_refused(
                back,
                &format!("Not requested: {}.", e.refusal().unwrap_or_default()),
            )),
            e => Err(e),
        },
    }
}

#[derive(Deserialize)]
struct RegenerateAllForm {
    instruction: String,
    #[serde(default)]
    parts: String,
    #[serde(default)]
    edited: String,
    #[serde(default)]
    approved: String,
}

#[tracing::instrument(skip_all)]
async fn regenerate_all_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
    Form(f): Form<RegenerateAllForm>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let back = format!("/admin/syllabi/{id}");
    let n = |v: &str| v.trim().parse::<usize>().unwrap_or(usize::MAX);
    let confirmed = authoring::Impact {
        parts: n(&f.parts),
        edited: n(&f.edited),
        approved: n(&f.approved),
    };
    match authoring::regenerate_content(&state.pool, &caller.actor(), id, &f.instruction, confirmed)
        .await
    {
        Ok(jobs) => Ok(go(
            back,
            &format!(
                "Regeneration requested for {} part(s): each new draft appears on top of its \
                 part when its job completes; nothing is approved until you approve it.",
                jobs.len()
            ),
        )),
        Err(e) => match WebError::from(e) {
            e if e.refusal().is_some() => Ok(go_refused(
                back,
                &format!("Not requested: {}.", e.refusal().unwrap_or_default()),
            )),
            e => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_diff_aligns_lines_and_keeps_the_common_head_and_tail() {
        let d = line_diff("a\nb\nc\nd", "a\nx\nc\nd");
        let signs: String = d.iter().map(|l| l.sign).collect();
        assert_eq!(signs, " +-  ");
        assert_eq!((d[1].text.as_str(), d[2].text.as_str()), ("x", "b"));
    }

    #[test]
    fn a_huge_diff_shows_the_middle_as_replaced_instead_of_a_quadratic_table() {
        let old: String = (0..8_000).map(|i| format!("old {i}\n")).collect();
        let new: String = (0..8_000).map(|i| format!("new {i}\n")).collect();
        let (old, new) = (format!("head\n{old}tail"), format!("head\n{new}tail"));
        let d = line_diff(&old, &new);
        assert_eq!(d.len(), 16_002);
        assert_eq!((d[0].sign, d[1].sign), (' ', '-'));
        assert_eq!((d[8_000].sign, d[8_001].sign), ('-', '+'));
        assert_eq!(d[16_001].text, "tail");
    }
}
