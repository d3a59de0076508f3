//! The learner API: `/api/learn/…`. Responses of a package carry its hash as a strong ETag.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use db::packages;
use domain::CoursePackage;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{enroll_caller, grade, mark, open_content};
use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::kit::extract::{Json, Path};

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

#[tracing::instrument(skip_all, level = "debug")]
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

#[tracing::instrument(skip_all, level = "debug")]
async fn course(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(course_id): Path<Uuid>,
) -> Result<Response, WebError> {
    let (_, loaded) = open_content(&state, &caller, course_id).await?;
    Ok(immutable_json(
        &headers,
        &loaded.hash,
        loaded.learner_json.clone(),
    ))
}

#[tracing::instrument(skip_all, level = "debug")]
async fn lesson(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((course_id, index)): Path<(Uuid, usize)>,
) -> Result<Response, WebError> {
    let (_, loaded) = open_content(&state, &caller, course_id).await?;
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

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EnrollBody {
    course_id: Uuid,
}

#[tracing::instrument(skip_all, level = "debug")]
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
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ProgressBody {
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

#[tracing::instrument(skip_all, level = "debug")]
async fn record_progress(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<ProgressBody>,
) -> Result<axum::Json<Value>, WebError> {
    let (view, loaded) = open_content(&state, &caller, b.course_id).await?;
    if !view.enrolled {
        return Err(WebError::Forbidden(
            "enroll in the course before recording progress".into(),
        ));
    }
    let (index, lesson_id) =
        resolve_lesson(&loaded.package, b.lesson_id.as_deref(), b.lesson_index)?;
    mark(
        &state,
        &caller,
        b.course_id,
        (&lesson_id, index),
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
    let (view, loaded) = open_content(state, caller, course_id).await?;
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

#[tracing::instrument(skip_all, level = "debug")]
async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(course_id): Path<Uuid>,
) -> Result<axum::Json<Value>, WebError> {
    progress_value(&state, &caller, course_id)
        .await
        .map(axum::Json)
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AttemptBody {
    course_id: Uuid,
    lesson_id: Option<String>,
    lesson_index: Option<usize>,
    answers: Vec<Option<u8>>,
}

#[tracing::instrument(skip_all, level = "debug")]
async fn attempt(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<AttemptBody>,
) -> Result<(StatusCode, axum::Json<Value>), WebError> {
    let (view, loaded) = open_content(&state, &caller, b.course_id).await?;
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
