//! The learner's player: the catalogue, a course, its lessons, enrollment, progress and
//! quizzes, as JSON ([`api`]) and as pages ([`pages`]). Learners read only the active
//! published version of a course; a course with no pointer is "not published" (404),
//! whatever versions exist. The steps both share are here; the rules are `app::learning`'s.

pub mod api;
pub mod pages;

use std::sync::Arc;

use app::learning::{self, QuizRef};
use db::packages::LearnerView;
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::error::WebError;
use crate::learner::packages::Loaded;

pub(crate) fn not_published() -> WebError {
    learning::not_published().into()
}

/// The caller's view of a course and its active package; 404 when it is not published
/// for the caller's tenant.
pub async fn open(
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

/// [`open`], for what a sold course keeps to its buyers (lessons, quizzes, projects,
/// progress): a learner without a PAID purchase is refused (`purchase_required`).
pub async fn open_content(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
) -> Result<(LearnerView, Arc<Loaded>), WebError> {
    let (view, loaded) = open(state, caller, course_id).await?;
    if view.needs_purchase() {
        return Err(learning::purchase_required().into());
    }
    Ok((view, loaded))
}

/// Enrolls the caller; true when this created the enrollment.
pub(crate) async fn enroll_caller(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
) -> Result<bool, WebError> {
    let created = learning::enroll(&state.pool, &caller.actor(), course_id).await?;
    state.hot.forget_learner(caller.user_id);
    Ok(created)
}

/// Marks a lesson complete (or not) for the caller and returns their progress.
pub(crate) async fn mark(
    state: &AppState,
    caller: &Caller,
    course_id: Uuid,
    lesson: (&str, usize),
    completed: bool,
    version: i32,
) -> Result<(), WebError> {
    learning::record_progress(
        &state.pool,
        &caller.actor(),
        course_id,
        lesson,
        completed,
        version,
    )
    .await?;
    state.hot.forget_learner(caller.user_id);
    Ok(())
}

pub use learning::Graded;

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
    let quiz = QuizRef {
        course_id,
        package_id: view.active.package_id,
        package: &loaded.package,
        index,
    };
    Ok(learning::grade_quiz(
        &state.pool,
        &caller.actor(),
        quiz,
        view.has_access(),
        answers,
    )
    .await?)
}
