//! Learner delivery (phases 9.1, 9.3, 15.5): the read-only course APIs, enrollment,
//! progress and quiz grading. Learners read only the active published version of a course;
//! a course with no pointer is "not published" (404), whatever versions exist.
//!
//! Packages never change, so each is loaded once per process and kept parsed with its
//! learner JSON ready to send; responses carry the package hash as a strong ETag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use db::packages::{self, LearnerView, PackageError};
use domain::CoursePackage;
use domain::package::redact_quiz;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::WebError;
use crate::extract::{Json, Path};

/// Packages kept in memory; beyond this the cache starts over.
const CACHE_ENTRIES: usize = 256;

/// A package loaded, checked against its hash, and prepared for learners.
pub struct Loaded {
    pub package: CoursePackage,
    pub hash: String,
    /// The whole package as learners may read it (quiz answers removed).
    pub learner_json: Bytes,
    /// Each lesson's learner JSON, by 0-based position.
    pub lesson_json: Vec<Bytes>,
}

/// Immutable packages by id.
#[derive(Default)]
pub struct PackageCache {
    entries: Mutex<HashMap<Uuid, Arc<Loaded>>>,
}

impl PackageCache {
    fn cached(&self, id: Uuid) -> Option<Arc<Loaded>> {
        self.entries.lock().ok()?.get(&id).cloned()
    }

    /// The package `id`, from memory or loaded once from the database.
    pub async fn get(&self, pool: &db::PgPool, id: Uuid) -> Result<Arc<Loaded>, WebError> {
        if let Some(hit) = self.cached(id) {
            return Ok(hit);
        }
        let (body, hash) = packages::body(pool, id)
            .await?
            .ok_or_else(|| WebError::not_found("course package"))?;
        let loaded = Arc::new(prepare(body, hash)?);
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= CACHE_ENTRIES {
                map.clear();
            }
            map.insert(id, loaded.clone());
        }
        Ok(loaded)
    }
}

fn prepare(body: Value, hash: String) -> Result<Loaded, WebError> {
    let package: CoursePackage = serde_json::from_value(body)
        .map_err(|e| WebError::Internal(anyhow::anyhow!("stored package does not parse: {e}")))?;
    let (_, actual) = domain::package::canonical(&package);
    if actual != hash {
        return Err(WebError::Internal(anyhow::anyhow!(
            "stored package fails its integrity check (hash {actual}, recorded {hash})"
        )));
    }
    let learner_json = Bytes::from(package.for_learner().to_string());
    let total = package.lessons.len();
    let lesson_json = (1..=total)
        .map(|i| Bytes::from(lesson_value(&package, i).to_string()))
        .collect();
    Ok(Loaded {
        package,
        hash,
        learner_json,
        lesson_json,
    })
}

/// One lesson as the lesson API returns it: the lesson, its quiz without answers, its
/// module, and where previous and next lead.
fn lesson_value(p: &CoursePackage, index: usize) -> Value {
    let Some((lesson, quiz)) = p.lesson(index) else {
        return Value::Null;
    };
    let mut quiz = quiz.map(|q| serde_json::to_value(q).unwrap_or_default());
    if let Some(q) = quiz.as_mut() {
        redact_quiz(q);
    }
    let module = p.module(&lesson.module_id);
    let total = p.lessons.len();
    json!({
        "courseId": p.course_id,
        "version": p.version,
        "index": index,
        "total": total,
        "module": module.map(|m| json!({ "id": m.id, "title": m.title })),
        "lesson": lesson,
        "quiz": quiz,
        "previous": (index > 1).then(|| index - 1),
        "next": (index < total).then(|| index + 1),
    })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/learn/courses", get(list))
        .route("/api/learn/courses/{course}", get(course))
        .route("/api/learn/courses/{course}/lessons/{index}", get(lesson))
        .route("/api/learn/enroll", post(enroll))
        .route("/api/learn/progress", post(record_progress))
        .route("/api/learn/progress/{course}", get(progress))
        .route("/api/learn/quiz-attempts", post(attempt))
}

impl From<PackageError> for WebError {
    fn from(e: PackageError) -> Self {
        match e {
            PackageError::NotFound(m) => Self::NotFound(m),
            PackageError::Forbidden(m) => Self::Forbidden(m),
            PackageError::Conflict(m) => Self::Conflict(m),
            PackageError::TooLarge(m) => Self::PayloadTooLarge(m),
            PackageError::Db(e) => Self::Database(e),
        }
    }
}

pub(crate) fn not_published() -> WebError {
    WebError::NotFound("course not published".into())
}

/// The caller's view of a course and its active package; 404 when it is not published
/// for the caller's tenant.
pub(crate) async fn open(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
) -> Result<(LearnerView, Arc<Loaded>), WebError> {
    let view = state
        .hot
        .learner_view(&state.pool, caller.tenant_id, course_id, caller.user_id)
        .await?
        .ok_or_else(not_published)?;
    let loaded = state
        .packages
        .get(&state.pool, view.active.package_id)
        .await?;
    Ok((view, loaded))
}

/// A JSON body with the package hash as its ETag, or 304 when the client has it.
fn immutable_json(headers: &HeaderMap, hash: &str, body: Bytes) -> Response {
    let etag = format!("\"{hash}\"");
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == etag || t == "*"
        });
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    // Private: it needs a session. no-cache: the pointer may move, so revalidate each time.
    let cache = HeaderValue::from_static("private, no-cache");
    if fresh {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, WebError> {
    let entries = packages::catalogue(&state.pool, caller.tenant_id, caller.user_id).await?;
    let mut items = Vec::with_capacity(entries.len());
    for e in entries {
        let loaded = state.packages.get(&state.pool, e.package_id).await?;
        items.push(json!({
            "courseId": e.course_id, "title": e.title, "version": e.version,
            "lessons": loaded.package.lessons.len(), "minutes": loaded.package.minutes(),
            "enrolled": e.enrolled, "completedLessons": e.completed,
        }));
    }
    Ok(axum::Json(json!({ "items": items })))
}

async fn course(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(course_id): Path<Uuid>,
) -> Result<Response, WebError> {
    let (_, loaded) = open(&state, &caller, course_id).await?;
    Ok(immutable_json(
        &headers,
        &loaded.hash,
        loaded.learner_json.clone(),
    ))
}

async fn lesson(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((course_id, index)): Path<(Uuid, usize)>,
) -> Result<Response, WebError> {
    let (_, loaded) = open(&state, &caller, course_id).await?;
    let body = index
        .checked_sub(1)
        .and_then(|i| loaded.lesson_json.get(i))
        .ok_or_else(|| {
            WebError::NotFound(format!(
                "no lesson {index}; this course has lessons 1 to {}",
                loaded.lesson_json.len()
            ))
        })?;
    Ok(immutable_json(&headers, &loaded.hash, body.clone()))
}

/// Enrolls the caller; true when this created the enrollment.
pub(crate) async fn enroll_caller(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
) -> Result<bool, WebError> {
    let created =
        packages::enroll(&state.pool, caller.tenant_id, caller.user_id, course_id).await?;
    state.hot.forget_learner(caller.user_id);
    Ok(created)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnrollBody {
    course_id: Uuid,
}

async fn enroll(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<EnrollBody>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let created = enroll_caller(&state, &caller, b.course_id).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        axum::Json(json!({ "courseId": b.course_id, "enrolled": true, "created": created })),
    ))
}

/// Which lesson a write is about: its stable id, or its 1-based position in the active
/// version.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProgressBody {
    course_id: Uuid,
    lesson_id: Option<String>,
    lesson_index: Option<usize>,
    #[serde(default = "yes")]
    completed: bool,
}

fn yes() -> bool {
    true
}

fn resolve_lesson(
    p: &CoursePackage,
    lesson_id: Option<&str>,
    index: Option<usize>,
) -> Result<(usize, String), WebError> {
    match (lesson_id, index) {
        (Some(id), None) => p.index_of(id).map(|i| (i, id.to_owned())).ok_or_else(|| {
            WebError::NotFound(format!("lesson {id:?} is not in the published version"))
        }),
        (None, Some(i)) => p
            .lesson(i)
            .map(|(l, _)| (i, l.lesson_id.clone()))
            .ok_or_else(|| {
                WebError::NotFound(format!(
                    "no lesson {i}; this course has lessons 1 to {}",
                    p.lessons.len()
                ))
            }),
        _ => Err(WebError::BadRequest(
            "name the lesson by lessonId or by lessonIndex (one of them)".into(),
        )),
    }
}

/// Marks a lesson complete (or not) for the caller and returns their progress.
pub(crate) async fn mark(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
    lesson_id: &str,
    completed: bool,
    version: i32,
) -> Result<(), WebError> {
    packages::set_progress(
        &state.pool,
        caller.tenant_id,
        caller.user_id,
        course_id,
        lesson_id,
        completed,
        version,
    )
    .await?;
    state.hot.forget_learner(caller.user_id);
    Ok(())
}

async fn record_progress(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<ProgressBody>,
) -> Result<axum::Json<Value>, WebError> {
    let (view, loaded) = open(&state, &caller, b.course_id).await?;
    if !view.enrolled {
        return Err(WebError::Forbidden(
            "enroll in the course before recording progress".into(),
        ));
    }
    let (_, lesson_id) = resolve_lesson(&loaded.package, b.lesson_id.as_deref(), b.lesson_index)?;
    mark(
        &state,
        &caller,
        b.course_id,
        &lesson_id,
        b.completed,
        view.active.version,
    )
    .await?;
    progress_value(&state, &caller, b.course_id)
        .await
        .map(axum::Json)
}

async fn progress_value(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
) -> Result<Value, WebError> {
    let (view, loaded) = open(state, caller, course_id).await?;
    let rows = packages::progress(&state.pool, caller.user_id, course_id).await?;
    let p = &loaded.package;
    // Lessons of the active version the learner completed, in course order.
    let completed: Vec<&str> = p
        .lessons
        .iter()
        .map(|l| l.lesson_id.as_str())
        .filter(|id| view.completed.iter().any(|c| c == id))
        .collect();
    let next = p
        .lessons
        .iter()
        .position(|l| !view.completed.contains(&l.lesson_id))
        .map(|i| i + 1);
    let percent = (completed.len() * 100)
        .checked_div(p.lessons.len())
        .unwrap_or(0);
    Ok(json!({
        "courseId": course_id,
        "version": view.active.version,
        "enrolled": view.enrolled,
        "lessons": p.lessons.len(),
        "completedLessons": completed,
        "percent": percent,
        "resumeAt": next,
        "items": rows,
    }))
}

async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(course_id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    progress_value(&state, &caller, course_id)
        .await
        .map(axum::Json)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttemptBody {
    course_id: Uuid,
    lesson_id: Option<String>,
    lesson_index: Option<usize>,
    answers: Vec<Option<u8>>,
}

/// A graded submission: score and, per question, whether it was right, the right answer
/// and why.
pub(crate) struct Graded {
    pub attempt: db::packages::Attempt,
    pub results: Vec<Value>,
}

/// Grades `answers` against the active version's quiz for a lesson and stores the attempt.
pub(crate) async fn grade(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
    view: &LearnerView,
    loaded: &Loaded,
    index: usize,
    answers: &[Option<u8>],
) -> Result<Graded, WebError> {
    if !view.enrolled {
        return Err(WebError::Forbidden(
            "enroll in the course before taking its quizzes".into(),
        ));
    }
    let (lesson, quiz) = loaded
        .package
        .lesson(index)
        .ok_or_else(|| WebError::not_found("lesson"))?;
    let quiz = quiz.ok_or_else(|| WebError::not_found("quiz"))?;
    if answers.len() != quiz.questions.len() {
        return Err(WebError::Unprocessable(format!(
            "this quiz has {} questions; {} answers were sent",
            quiz.questions.len(),
            answers.len()
        )));
    }
    // An attempt with nothing answered would only fetch the answer key.
    if answers.iter().all(Option::is_none) {
        return Err(WebError::Unprocessable(
            "answer at least one question before submitting".into(),
        ));
    }
    if let Some(bad) = answers.iter().flatten().find(|a| **a > 3) {
        return Err(WebError::Unprocessable(format!(
            "answer {bad} is out of range; each question has options 0 to 3"
        )));
    }
    let results: Vec<Value> = quiz
        .questions
        .iter()
        .zip(answers)
        .map(|(q, a)| {
            json!({
                "answer": a, "correct": *a == Some(q.correct_index),
                "correctIndex": q.correct_index, "explanation": q.explanation,
            })
        })
        .collect();
    let score = results.iter().filter(|r| r["correct"] == true).count();
    let attempt = packages::record_attempt(
        &state.pool,
        caller.tenant_id,
        caller.user_id,
        course_id,
        view.active.package_id,
        &lesson.lesson_id,
        &json!(answers),
        i32::try_from(score).unwrap_or(i32::MAX),
        i32::try_from(results.len()).unwrap_or(i32::MAX),
    )
    .await?;
    Ok(Graded { attempt, results })
}

async fn attempt(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<AttemptBody>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let (view, loaded) = open(&state, &caller, b.course_id).await?;
    let (index, _) = resolve_lesson(&loaded.package, b.lesson_id.as_deref(), b.lesson_index)?;
    let graded = grade(
        &state,
        &caller,
        b.course_id,
        &view,
        &loaded,
        index,
        &b.answers,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "attempt": graded.attempt,
            "score": graded.attempt.score,
            "total": graded.attempt.total,
            "results": graded.results,
        })),
    ))
}
