//! What learners do: enroll in a published course, record progress, take quizzes. Every
//! read and write is of the course's active version in the learner's own tenant.

use db::PgPool;
use db::audit::{self, AuditEvent};
use db::packages::{self, Attempt, NewAttempt};
use domain::{AuditAction, CoursePackage};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Actor, AppError, analytics};
use domain::analytics::EventType;

pub fn not_published() -> AppError {
    AppError::NotFound("course not published".into())
}

/// Enrolls the actor in a published course; true when this created the enrollment (a
/// repeat changes nothing). An unpublished or foreign course is not found; a sold course
/// needs a PAID purchase first (`crate::store::purchase` enrolls its buyer itself).
#[tracing::instrument(skip_all, fields(course = %course_id))]
pub async fn enroll(pool: &PgPool, actor: &Actor, course_id: Uuid) -> Result<bool, AppError> {
    let mut tx = pool.begin().await?;
    let view = packages::learner_view(&mut *tx, actor.tenant_id, course_id, actor.user_id)
        .await?
        .ok_or_else(not_published)?;
    if view.needs_purchase() {
        return Err(purchase_required());
    }
    let created = enroll_in(&mut tx, actor, course_id, view.active.version).await?;
    tx.commit().await?;
    Ok(created)
}

/// The refusal of a sold course to a learner who has not bought it.
pub fn purchase_required() -> AppError {
    AppError::Conflict {
        code: "purchase_required",
        message: "this course is sold: buy it first (POST /api/store/purchase)".into(),
    }
}

/// Enrolls `actor` in `tx` (with its `enrolled` event and audit row); true when new.
pub(crate) async fn enroll_in(
    tx: &mut db::Transaction<'_, db::Postgres>,
    actor: &Actor,
    course_id: Uuid,
    version: i32,
) -> Result<bool, AppError> {
    let created =
        packages::insert_enrollment(tx, actor.tenant_id, actor.user_id, course_id).await?;
    if let Some(id) = created {
        analytics::witnessed(
            tx,
            actor,
            course_id,
            version,
            None,
            EventType::Enrolled,
            None,
        )
        .await?;
        audit::record(
            tx,
            AuditEvent::new(AuditAction::EnrollmentCreated, "enrollment", id)
                .tenant(actor.tenant_id)
                .actor(Some(actor.user_id))
                .metadata(json!({ "courseId": course_id, "version": version })),
        )
        .await;
    }
    Ok(created.is_some())
}

/// Records a lesson of the active version (its stable id and 1-based position) as
/// completed (or not). Idempotent; refused until the learner is enrolled. A lesson that
/// becomes completed writes a `lesson_completed` event with the progress.
#[tracing::instrument(skip_all, fields(course = %course_id))]
pub async fn record_progress(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
    lesson: (&str, usize),
    completed: bool,
    version: i32,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let written = packages::set_progress(
        &mut *tx,
        actor.tenant_id,
        actor.user_id,
        course_id,
        lesson.0,
        completed,
        version,
    )
    .await?;
    if !written.enrolled {
        return Err(AppError::Forbidden(
            "enroll in the course before recording progress".into(),
        ));
    }
    if written.changed && completed {
        analytics::witnessed(
            &mut tx,
            actor,
            course_id,
            version,
            Some(lesson),
            EventType::LessonCompleted,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A graded submission: the stored attempt and, per question, whether it was right, the
/// right answer and why.
#[derive(Debug, Clone)]
pub struct Graded {
    pub attempt: Attempt,
    pub results: Vec<Value>,
}

/// The quiz a learner answers: one lesson of the package the course's pointer names.
#[derive(Debug, Clone, Copy)]
pub struct QuizRef<'a> {
    pub course_id: Uuid,
    pub package_id: Uuid,
    pub package: &'a CoursePackage,
    /// 1-based lesson index.
    pub index: usize,
}

/// Grades `answers` on the server and stores the attempt. An answer per question is
/// required (null for "skipped"), at least one must be given, each is an option index.
#[tracing::instrument(skip_all, fields(course = %q.course_id, lesson = q.index))]
pub async fn grade_quiz(
    pool: &PgPool,
    actor: &Actor,
    q: QuizRef<'_>,
    enrolled: bool,
    answers: &[Option<u8>],
) -> Result<Graded, AppError> {
    if !enrolled {
        return Err(AppError::Forbidden(
            "enroll in the course before taking its quizzes".into(),
        ));
    }
    let (lesson, quiz) = q
        .package
        .lesson(q.index)
        .ok_or_else(|| AppError::not_found("lesson"))?;
    let quiz = quiz.ok_or_else(|| AppError::not_found("quiz"))?;
    if answers.len() != quiz.questions.len() {
        return Err(AppError::Invalid(format!(
            "answers: this quiz has {} questions; {} answers were sent",
            quiz.questions.len(),
            answers.len()
        )));
    }
    if answers.iter().all(Option::is_none) {
        return Err(AppError::Invalid(
            "answers: answer at least one question".into(),
        ));
    }
    if let Some(bad) = answers.iter().flatten().find(|a| **a > 3) {
        return Err(AppError::Invalid(format!(
            "answers: {bad} is out of range; each question has options 0 to 3"
        )));
    }
    let results: Vec<Value> = quiz
        .questions
        .iter()
        .zip(answers)
        .map(|(question, a)| {
            json!({
                "answer": a, "correct": *a == Some(question.correct_index),
                "correctIndex": question.correct_index, "explanation": question.explanation,
            })
        })
        .collect();
    let score = results.iter().filter(|r| r["correct"] == true).count();
    let mut tx = pool.begin().await?;
    let attempt = packages::insert_attempt(
        &mut *tx,
        NewAttempt {
            tenant_id: actor.tenant_id,
            user_id: actor.user_id,
            course_id: q.course_id,
            package_id: q.package_id,
            lesson_id: &lesson.lesson_id,
            answers: &json!(answers),
            score: i32::try_from(score).unwrap_or(i32::MAX),
            total: i32::try_from(results.len()).unwrap_or(i32::MAX),
        },
    )
    .await?
    .ok_or_else(|| AppError::Forbidden("enroll in the course before taking its quizzes".into()))?;
    let percent = domain::analytics::percent(
        u32::try_from(score).unwrap_or(u32::MAX),
        u32::try_from(results.len()).unwrap_or(u32::MAX),
    );
    let lesson = Some((lesson.lesson_id.as_str(), q.index));
    let value = Some(i32::try_from(percent).unwrap_or(0));
    let version = i32::try_from(q.package.version).unwrap_or(i32::MAX);
    analytics::witnessed(
        &mut tx,
        actor,
        q.course_id,
        version,
        lesson,
        EventType::QuizAttempted,
        value,
    )
    .await?;
    if percent >= domain::analytics::QUIZ_PASS_PERCENT {
        analytics::witnessed(
            &mut tx,
            actor,
            q.course_id,
            version,
            lesson,
            EventType::QuizPassed,
            value,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Graded { attempt, results })
}
