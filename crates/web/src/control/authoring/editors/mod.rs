//! The form editors: a syllabus, lesson, quiz or project edited as a form instead of JSON.
//! `GET …/edit` shows the form; `POST …/edit` either applies a list button (move, add,
//! remove) and shows the form again with nothing saved, or saves through
//! `app::authoring::edit`, checked by the same rules as generated content. A rule that
//! fails is listed at the top, linked to its field, and shown beside it with everything
//! typed kept. A body with a `body` field is the advanced JSON edit of the same artifact.

mod fields;
mod forms;

use std::collections::{BTreeMap, BTreeSet};

use app::authoring::{self, Family};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use db::artifacts::{self, Artifact};
use db::types::ArtifactKind;
use domain::Violation;
use serde_json::Value;
use uuid::Uuid;

use crate::AppState;
use crate::control::authoring::pages::staff;
use crate::kit::error::WebError;
use crate::kit::extract::{Form, Path};
use crate::kit::pages::{Layout, PageCtx, go, render};
use fields::{Action, Fields, ListOp, Reader, id_of};
use forms::{Build, Draft, View};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/syllabi/{id}/edit", get(editor).post(submit))
        .route("/admin/content/{id}/edit", get(editor).post(submit))
}

#[derive(Template)]
#[template(path = "editor.html")]
struct EditorPage {
    layout: Layout,
    a: Artifact,
    noun: &'static str,
    /// The page of the version edited.
    back: String,
    action: String,
    view: View,
    /// Each problem at the top: the element id it links to, and what is wrong.
    problems: Vec<(String, String)>,
    notice: Option<String>,
    /// The newest version (number, its editor) when this one is superseded: it cannot be
    /// edited.
    superseded: Option<(i32, String)>,
    json_text: String,
    json_error: Option<String>,
}

/// What a re-shown form carries beyond the draft.
#[derive(Default)]
struct Shown {
    raw: BTreeMap<String, String>,
    violations: Vec<Violation>,
    /// A refusal of the whole edit (a conflict), listed first, linked to the form.
    refusal: Option<String>,
    notice: Option<String>,
    json: Option<(String, String)>,
}

fn family_of(ctx: &PageCtx) -> Family {
    if ctx.path.starts_with("/admin/syllabi/") {
        Family::Syllabus
    } else {
        Family::Content
    }
}

fn page_of(family: Family, id: Uuid) -> String {
    match family {
        Family::Syllabus => format!("/admin/syllabi/{id}"),
        Family::Content => format!("/admin/content/{id}"),
    }
}

fn noun(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Syllabus => "syllabus",
        ArtifactKind::Lesson => "lesson",
        ArtifactKind::Quiz => "quiz",
        ArtifactKind::Project => "project",
    }
}

/// What people call a key of the content types.
fn word(key: &str) -> &str {
    match key {
        "modules" => "module",
        "lessons" => "lesson",
        "objectives" => "objective",
        "prerequisites" => "prerequisite",
        "assessmentHooks" => "assessment",
        "concepts" => "concept",
        "keyTakeaways" => "takeaway",
        "questions" => "question",
        "options" => "option",
        "rubric" => "criterion",
        "levels" => "level",
        "deliverables" => "deliverable",
        "constraints" => "constraint",
        "addressesObjectives" => "objectives it teaches",
        "timeBudgetHours" => "time budget",
        "estimatedMinutes" => "estimated minutes",
        "durationMinutes" => "duration",
        "problemStatement" => "problem statement",
        "correctIndex" => "correct answer",
        "prompt" => "practice prompt",
        "expectedOutcome" => "expected outcome",
        "question" => "question text",
        "lessonId" => "lesson id",
        "moduleId" => "module id",
        "kind" => "kind",
        other => other,
    }
}

/// A pointer in words: `/modules/0/lessons/2/title` is "Module 1, lesson 3, title".
fn describe(ptr: &str) -> String {
    let segs: Vec<&str> = ptr.split('/').filter(|s| !s.is_empty()).collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        let key = segs[i];
        if let Some(n) = segs.get(i + 1).and_then(|s| s.parse::<usize>().ok()) {
            parts.push(format!("{} {}", word(key), n + 1));
            i += 2;
            continue;
        }
        // Groups that only hold fields need no words of their own.
        if i + 1 == segs.len() || !matches!(key, "explanation" | "practice" | "metadata") {
            parts.push(word(key).to_owned());
        }
        i += 1;
    }
    sentence_case(&parts.join(", "), "The form")
}

fn sentence_case(s: &str, empty: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => empty.to_owned(),
    }
}

/// The nearest pointer at or above `ptr` that the form shows.
fn nearest(rendered: &BTreeSet<String>, ptr: &str) -> Option<String> {
    let mut p = ptr;
    loop {
        if rendered.contains(p) {
            return Some(p.to_owned());
        }
        p = &p[..p.rfind('/')?];
        if p.is_empty() {
            return None;
        }
    }
}

fn status_of(e: &WebError) -> StatusCode {
    match e {
        WebError::Conflict(_) | WebError::ConflictCode { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn stored(a: &Artifact) -> Result<Draft, WebError> {
    Draft::from_body(a.kind, &a.body).map_err(|e| WebError::Internal(e.into()))
}

async fn show(
    state: &AppState,
    ctx: &PageCtx,
    family: Family,
    a: Artifact,
    draft: &Draft,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, WebError> {
    let superseded = artifacts::newest(&state.pool, a.course_id, a.kind, &a.ref_id)
        .await?
        .filter(|n| n.id != a.id)
        .map(|n| (n.version, format!("{}/edit", page_of(family, n.id))));
    // Laid out once to learn which pointers the form shows, so each problem can point at
    // the nearest of them; then again with the problems in place.
    let none = BTreeMap::new();
    let mut probe = Build::new(&shown.raw, &none);
    draft.view(&mut probe);
    let mut problems = Vec::new();
    if let Some(r) = &shown.refusal {
        problems.push(("editor".to_owned(), sentence_case(r, "")));
    }
    if let Some((_, e)) = &shown.json {
        problems.push(("body".to_owned(), format!("JSON: {e}")));
    }
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in &shown.violations {
        let message = sentence_case(&v.message, "");
        let to = nearest(&probe.rendered, &v.path);
        problems.push((
            to.as_deref().map_or_else(|| "editor".to_owned(), id_of),
            format!("{}: {}.", describe(&v.path), v.message),
        ));
        if let Some(to) = to {
            errors.entry(to).or_default().push(format!("{message}."));
        }
    }
    let mut b = Build::new(&shown.raw, &errors);
    let view = draft.view(&mut b);
    let (json_text, json_error) = match shown.json {
        Some((text, e)) => (text, Some(e)),
        None => (
            serde_json::to_string_pretty(&a.body).unwrap_or_default(),
            None,
        ),
    };
    let mut res = render(&EditorPage {
        layout: ctx.layout(format!("Edit {}", a.title)),
        noun: noun(a.kind),
        back: page_of(family, a.id),
        action: format!("{}/edit", page_of(family, a.id)),
        view,
        problems,
        notice: shown.notice,
        superseded,
        json_text,
        json_error,
        a,
    })?;
    *res.status_mut() = status;
    Ok(res)
}

#[tracing::instrument(skip_all)]
async fn editor(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let family = family_of(&ctx);
    let a = authoring::load(&state.pool, &caller.actor(), family, id).await?;
    let draft = stored(&a)?;
    show(
        &state,
        &ctx,
        family,
        a,
        &draft,
        Shown::default(),
        StatusCode::OK,
    )
    .await
}

#[tracing::instrument(skip_all)]
async fn submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let actor = caller.actor();
    let family = family_of(&ctx);
    let a = authoring::load(&state.pool, &actor, family, id).await?;
    let base = stored(&a)?;
    if let Some((_, body)) = pairs.iter().find(|(k, _)| k == "body") {
        let body = body.clone();
        return json_edit(&state, &ctx, family, a, &base, body).await;
    }
    let fields = Fields::parse(pairs)?;
    let mut r = Reader::new(&fields);
    let mut draft = base.read(&mut r);
    let (mut raw, problems) = (r.raw, r.problems);
    let op =
        match fields.op.as_deref() {
            None | Some("save") => None,
            Some(op) => Some(ListOp::parse(op).ok_or_else(|| {
                WebError::BadRequest(format!("{op:?} is not a button of this form"))
            })?),
        };
    if let Some(op) = op {
        // A list button: the same form with the change, nothing stored.
        let notice = match draft.apply(&op) {
            Some(went) => {
                op.reindex(&mut raw, &went);
                let item = |i: usize| describe(&format!("{}/{i}", op.list)).to_lowercase();
                let done = match op.action {
                    Action::Up(i) => format!("Moved {} up", item(i)),
                    Action::Down(i) => format!("Moved {} down", item(i)),
                    Action::Remove(i) => format!("Removed {}", item(i)),
                    Action::Add => format!("Added {}", item(went.len())),
                    Action::Move(from, to) => {
                        format!("Moved {} to place {}", item(from), to + 1)
                    }
                };
                format!("{done}. Nothing is saved until you press Save.")
            }
            None => "Nothing changed.".to_owned(),
        };
        let shown = Shown {
            raw,
            notice: Some(notice),
            ..Shown::default()
        };
        return show(&state, &ctx, family, a, &draft, shown, StatusCode::OK).await;
    }
    let body = draft.to_value();
    // Every rule at once: what did not parse, then the domain's rules on the rest.
    let mut violations = problems;
    let refused = match authoring::check_edit(&state.pool, &a, body.clone()).await {
        Ok(Ok(_)) => None,
        Ok(Err(broken)) => {
            let unparsed: BTreeSet<String> = violations.iter().map(|v| v.path.clone()).collect();
            // A number that did not parse is read as 0; its range rule would only repeat it.
            violations.extend(broken.0.into_iter().filter(|v| !unparsed.contains(&v.path)));
            None
        }
        Err(e) => Some(WebError::from(e)),
    };
    let refused = match refused {
        None if violations.is_empty() => {
            match authoring::edit(&state.pool, &actor, family, id, body).await {
                Ok(created) => {
                    return Ok(go(
                        page_of(family, created.id),
                        &format!("Saved as version {}, a new draft.", created.version),
                    ));
                }
                Err(e) => Some(WebError::from(e)),
            }
        }
        other => other,
    };
    let (status, refusal) = match refused {
        Some(e) if e.refusal().is_some() => (status_of(&e), e.refusal().map(str::to_owned)),
        Some(e) => return Err(e),
        None => (StatusCode::UNPROCESSABLE_ENTITY, None),
    };
    let shown = Shown {
        raw,
        violations,
        refusal,
        ..Shown::default()
    };
    show(&state, &ctx, family, a, &draft, shown, status).await
}

/// The advanced edit: the artifact as JSON, through the same use case.
async fn json_edit(
    state: &AppState,
    ctx: &PageCtx,
    family: Family,
    a: Artifact,
    base: &Draft,
    text: String,
) -> Result<Response, WebError> {
    let result = match serde_json::from_str::<Value>(&text) {
        Err(e) => Err(WebError::Unprocessable(format!(
            "the JSON does not parse: {e}"
        ))),
        Ok(body) => {
            let actor = staff(ctx)?.actor();
            authoring::edit(&state.pool, &actor, family, a.id, body)
                .await
                .map_err(WebError::from)
        }
    };
    match result {
        Ok(created) => Ok(go(
            page_of(family, created.id),
            &format!("Saved as version {}, a new draft.", created.version),
        )),
        Err(e) if e.refusal().is_some() => {
            let status = status_of(&e);
            let shown = Shown {
                json: Some((text, e.refusal().unwrap_or_default().to_owned())),
                ..Shown::default()
            };
            show(state, ctx, family, a, base, shown, status).await
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_reads_as_words_and_finds_its_nearest_shown_field() {
        assert_eq!(
            describe("/modules/0/lessons/2/estimatedMinutes"),
            "Module 1, lesson 3, estimated minutes"
        );
        assert_eq!(
            describe("/explanation/concepts/1/title"),
            "Concept 2, title"
        );
        assert_eq!(describe("/explanation/overview"), "Overview");
        assert_eq!(describe(""), "The form");
        let shown: BTreeSet<String> = [
            "/modules",
            "/modules/0",
            "/modules/0/lessons/1/prerequisites",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(
            nearest(&shown, "/modules/0/lessons/1/prerequisites/0").as_deref(),
            Some("/modules/0/lessons/1/prerequisites")
        );
        assert_eq!(
            nearest(&shown, "/modules/0/id").as_deref(),
            Some("/modules/0")
        );
        assert_eq!(nearest(&shown, "/metadata/version"), None);
    }
}
