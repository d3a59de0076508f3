//! The learner's player: the catalogue, a course's overview, the lesson reader,
//! quizzes and projects. Server-rendered and usable without JavaScript; enrollment, marking
//! a lesson complete and answering a quiz are plain forms.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use db::packages::{self, Attempt, LearnerView};
use domain::content::{Lesson, Project, Question};
use domain::package::PackagedModule;
use domain::{CoursePackage, Level};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::learner::packages::Loaded;

use crate::kit::error::WebError;
use crate::kit::extract::{Form, Path, Query};
use crate::kit::pages::{Layout, PageCtx, go, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/learn", get(home))
        .route("/learn/{course}", get(overview))
        .route("/learn/{course}/enroll", post(enroll_form))
        .route("/learn/{course}/buy", post(buy_form))
        .route("/learn/{course}/lesson/{index}", get(lesson_page))
        .route(
            "/learn/{course}/lesson/{index}/complete",
            post(complete_form),
        )
        .route(
            "/learn/{course}/lesson/{index}/quiz",
            get(quiz_page).post(quiz_form),
        )
        .route("/learn/{course}/project/{module}", get(project_page))
}

fn signed_in(ctx: &PageCtx) -> Result<Caller, WebError> {
    ctx.caller.clone().ok_or(WebError::Unauthorized)
}

pub(crate) fn level_label(l: Level) -> &'static str {
    match l {
        Level::Beginner => "Beginner",
        Level::Intermediate => "Intermediate",
        Level::Advanced => "Advanced",
    }
}

fn percent(done: usize, total: usize) -> usize {
    (done * 100).checked_div(total).unwrap_or(0)
}

/// A lesson ready to render, with its place in the course.
pub struct LessonView {
    pub index: usize,
    pub lesson: Lesson,
    pub module_title: String,
    pub questions: usize,
}

pub(crate) fn lesson_view(p: &CoursePackage, index: usize) -> Option<LessonView> {
    let (lesson, quiz) = p.lesson(index)?;
    Some(LessonView {
        index,
        module_title: p
            .module(&lesson.module_id)
            .map(|m| m.title.clone())
            .unwrap_or_default(),
        questions: quiz.map_or(0, |q| q.questions.len()),
        lesson: lesson.clone(),
    })
}

// ---- catalogue ----

struct CatalogueCard {
    course_id: Uuid,
    title: String,
    version: i32,
    lessons: usize,
    minutes: u32,
    level: &'static str,
    enrolled: bool,
    completed: i64,
    percent: usize,
    /// The price, when the course is sold and the learner has not bought it.
    price: Option<String>,
}

#[derive(Template)]
#[template(path = "learn_home.html")]
struct HomePage {
    layout: Layout,
    tenant_name: String,
    courses: Vec<CatalogueCard>,
}

#[tracing::instrument(skip_all, level = "debug")]
async fn home(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let entries = packages::catalogue(&state.pool, caller.tenant_id, caller.user_id).await?;
    let mut courses = Vec::with_capacity(entries.len());
    for e in entries {
        let loaded = state.packages.get(&state.pool, e.package_id).await?;
        let p = &loaded.package;
        let done = usize::try_from(e.completed).unwrap_or_default();
        let price = state
            .hot
            .learner_view(&state.pool, caller.tenant_id, e.course_id, caller.user_id)
            .await?
            .filter(LearnerView::needs_purchase)
            .and_then(|v| v.price)
            .map(|pr| {
                domain::store::Currency::parse(&pr.currency).map_or_else(
                    || format!("{} {}", pr.price_cents, pr.currency),
                    |c| c.format(pr.price_cents),
                )
            });
        courses.push(CatalogueCard {
            price,
            course_id: e.course_id,
            title: e.title,
            version: e.version,
            lessons: p.lessons.len(),
            minutes: p.minutes(),
            level: level_label(p.level),
            enrolled: e.enrolled,
            completed: e.completed,
            percent: percent(done, p.lessons.len()),
        });
    }
    render(&HomePage {
        layout: ctx.layout("Learn"),
        tenant_name: caller.tenant_name,
        courses,
    })
}

// ---- overview ----

struct OutlineLesson {
    index: usize,
    title: String,
    minutes: u32,
    objectives: Vec<String>,
    done: bool,
}

struct OutlineModule {
    module: PackagedModule,
    lessons: Vec<OutlineLesson>,
    project_title: Option<String>,
}

#[derive(Template)]
#[template(path = "learn_course.html")]
struct OverviewPage<'a> {
    layout: Layout,
    course_id: Uuid,
    package: &'a CoursePackage,
    level: &'static str,
    minutes: u32,
    modules: Vec<OutlineModule>,
    enrolled: bool,
    done: usize,
    total: usize,
    percent: usize,
    /// The first lesson not yet completed (1-based), if any.
    resume: Option<usize>,
    /// The price, when the course is sold and the learner has not bought it.
    sold: Option<String>,
    /// Learners buy here without paying (the demo).
    test_mode: bool,
}

/// The first lesson, in course order, the learner has not completed.
fn resume_at(p: &CoursePackage, view: &LearnerView) -> Option<usize> {
    p.lessons
        .iter()
        .position(|l| !view.completed.contains(&l.lesson_id))
        .map(|i| i + 1)
}

fn done_count(p: &CoursePackage, view: &LearnerView) -> usize {
    p.lessons
        .iter()
        .filter(|l| view.completed.contains(&l.lesson_id))
        .count()
}

#[tracing::instrument(skip_all, level = "debug")]
async fn overview(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(course_id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let (view, loaded) = super::open(&state, &caller, course_id).await?;
    let p = &loaded.package;
    let modules = p
        .modules
        .iter()
        .map(|m| OutlineModule {
            lessons: m
                .lesson_ids
                .iter()
                .filter_map(|id| {
                    let index = p.index_of(id)?;
                    let (l, _) = p.lesson(index)?;
                    Some(OutlineLesson {
                        index,
                        title: l.title.clone(),
                        minutes: l.duration_minutes,
                        objectives: l.objectives.clone(),
                        done: view.completed.contains(id),
                    })
                })
                .collect(),
            project_title: p.project(&m.id).map(|x| x.title.clone()),
            module: m.clone(),
        })
        .collect();
    let done = done_count(p, &view);
    render(&OverviewPage {
        layout: ctx.layout(p.title.clone()),
        course_id,
        level: level_label(p.level),
        minutes: p.minutes(),
        modules,
        enrolled: view.enrolled,
        done,
        total: p.lessons.len(),
        percent: percent(done, p.lessons.len()),
        resume: resume_at(p, &view),
        sold: view
            .price
            .as_ref()
            .filter(|_| view.needs_purchase())
            .map(|pr| {
                domain::store::Currency::parse(&pr.currency).map_or_else(
                    || format!("{} {}", pr.price_cents, pr.currency),
                    |c| c.format(pr.price_cents),
                )
            }),
        test_mode: state.config.checkout == app::store::Checkout::TestMode,
        package: p,
    })
}

/// Buys the course's product (in test mode) and lands the learner on it, enrolled.
#[tracing::instrument(skip_all, level = "debug")]
async fn buy_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(course_id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let (view, _) = super::open(&state, &caller, course_id).await?;
    let Some(price) = view.price else {
        return Ok(go(
            format!("/learn/{course_id}"),
            "This course is free: enroll to start.",
        ));
    };
    let done = app::store::purchase(
        &state.pool,
        &caller.actor(),
        state.config.checkout,
        price.product_id,
    )
    .await?;
    state.hot.forget_learner(caller.user_id);
    Ok(go(
        done.url,
        if done.created {
            "Bought, and you are enrolled. Welcome to the course!"
        } else {
            "You had bought this course already."
        },
    ))
}

#[tracing::instrument(skip_all, level = "debug")]
async fn enroll_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(course_id): Path<Uuid>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let created = super::enroll_caller(&state, &caller, course_id).await?;
    Ok(go(
        format!("/learn/{course_id}/lesson/1"),
        if created {
            "You are enrolled. Welcome to the course!"
        } else {
            "You were already enrolled."
        },
    ))
}

// ---- lesson ----

#[derive(Template)]
#[template(path = "learn_lesson.html")]
struct LessonPage<'a> {
    layout: Layout,
    course_id: Uuid,
    course_title: &'a str,
    version: i32,
    index: usize,
    total: usize,
    module_title: &'a str,
    lesson: &'a Lesson,
    questions: usize,
    enrolled: bool,
    done: bool,
    done_count: usize,
    percent: usize,
    previous: Option<(usize, &'a str)>,
    next: Option<(usize, &'a str)>,
}

fn lesson_or_404(loaded: &Loaded, index: usize) -> Result<(&Lesson, usize), WebError> {
    let (lesson, quiz) = loaded.package.lesson(index).ok_or_else(|| {
        WebError::NotFound(format!(
            "no lesson {index}; this course has lessons 1 to {}",
            loaded.package.lessons.len()
        ))
    })?;
    Ok((lesson, quiz.map_or(0, |q| q.questions.len())))
}

/// [`super::open`] for a page of what a sold course keeps to its buyers: a learner without
/// a PAID purchase goes back to the course page, which says what access requires.
async fn readable(
    state: &AppState,
    caller: &crate::kit::auth::Caller,
    course_id: Uuid,
) -> Result<
    Result<
        (
            db::packages::LearnerView,
            std::sync::Arc<crate::learner::packages::Loaded>,
        ),
        Response,
    >,
    WebError,
> {
    let (view, loaded) = super::open(state, caller, course_id).await?;
    if view.needs_purchase() {
        return Ok(Err(go(
            format!("/learn/{course_id}"),
            "This course is sold: buy it to read its lessons, take its quizzes and export it.",
        )));
    }
    Ok(Ok((view, loaded)))
}

#[tracing::instrument(skip_all, level = "debug")]
async fn lesson_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course_id, index)): Path<(Uuid, usize)>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let (view, loaded) = match readable(&state, &caller, course_id).await? {
        Ok(v) => v,
        Err(back) => return Ok(back),
    };
    let p = &loaded.package;
    let (lesson, questions) = lesson_or_404(&loaded, index)?;
    let title_at = |i: usize| p.lesson(i).map(|(l, _)| (i, l.title.as_str()));
    let done_count = done_count(p, &view);
    render(&LessonPage {
        layout: ctx.layout(format!("{} · {}", lesson.title, p.title)),
        course_id,
        course_title: &p.title,
        version: view.active.version,
        index,
        total: p.lessons.len(),
        module_title: p.module(&lesson.module_id).map_or("", |m| m.title.as_str()),
        lesson,
        questions,
        enrolled: view.enrolled,
        done: view.completed.contains(&lesson.lesson_id),
        done_count,
        percent: percent(done_count, p.lessons.len()),
        previous: index.checked_sub(1).and_then(title_at),
        next: title_at(index + 1),
    })
}

#[derive(Deserialize)]
struct CompleteForm {
    #[serde(default)]
    completed: Option<String>,
}

#[tracing::instrument(skip_all, level = "debug")]
async fn complete_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course_id, index)): Path<(Uuid, usize)>,
    Form(f): Form<CompleteForm>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let (view, loaded) = match readable(&state, &caller, course_id).await? {
        Ok(v) => v,
        Err(back) => return Ok(back),
    };
    let (lesson, _) = lesson_or_404(&loaded, index)?;
    if !view.enrolled {
        return Ok(go(
            format!("/learn/{course_id}"),
            "Enroll in the course to keep track of your progress.",
        ));
    }
    let completed = f.completed.as_deref() != Some("false");
    super::mark(
        &state,
        &caller,
        course_id,
        (&lesson.lesson_id, index),
        completed,
        view.active.version,
    )
    .await?;
    if !completed {
        return Ok(go(
            format!("/learn/{course_id}/lesson/{index}"),
            "Marked as not done yet.",
        ));
    }
    let total = loaded.package.lessons.len();
    Ok(if index < total {
        go(
            format!("/learn/{course_id}/lesson/{}", index + 1),
            &format!("Lesson {index} done. On to lesson {}.", index + 1),
        )
    } else {
        go(
            format!("/learn/{course_id}"),
            &format!("Lesson {index} done."),
        )
    })
}

// ---- quiz ----

struct OptionView {
    text: String,
    chosen: bool,
    right: bool,
}

struct QuestionView {
    number: usize,
    question: Question,
    options: Vec<OptionView>,
    /// After an attempt: what was chosen and whether it was right.
    chosen: Option<u8>,
    correct: bool,
}

#[derive(Template)]
#[template(path = "learn_quiz.html")]
struct QuizPage {
    layout: Layout,
    course_id: Uuid,
    course_title: String,
    index: usize,
    lesson_title: String,
    enrolled: bool,
    questions: Vec<QuestionView>,
    /// The attempt being shown, if any.
    result: Option<Attempt>,
    attempts: Vec<Attempt>,
    next: Option<usize>,
}

#[derive(Deserialize)]
struct QuizQuery {
    attempt: Option<Uuid>,
}

#[tracing::instrument(skip_all, level = "debug")]
async fn quiz_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course_id, index)): Path<(Uuid, usize)>,
    Query(q): Query<QuizQuery>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let (view, loaded) = match readable(&state, &caller, course_id).await? {
        Ok(v) => v,
        Err(back) => return Ok(back),
    };
    let p = &loaded.package;
    let (lesson, quiz) = p
        .lesson(index)
        .ok_or_else(|| WebError::not_found("lesson"))?;
    let quiz = quiz.ok_or_else(|| WebError::not_found("quiz"))?;
    let attempts =
        packages::attempts(&state.pool, caller.user_id, course_id, &lesson.lesson_id).await?;
    let result = match q.attempt {
        Some(id) => Some(
            attempts
                .iter()
                .find(|a| a.id == id)
                .cloned()
                .ok_or_else(|| WebError::not_found("attempt"))?,
        ),
        None => None,
    };
    // Answers are only shown for an attempt made at this version's questions.
    let chosen: Vec<Option<u8>> = result
        .as_ref()
        .and_then(|a| serde_json::from_value(a.answers.clone()).ok())
        .filter(|v: &Vec<Option<u8>>| v.len() == quiz.questions.len())
        .unwrap_or_default();
    let questions = quiz
        .questions
        .iter()
        .enumerate()
        .map(|(i, question)| {
            let pick = chosen.get(i).copied().flatten();
            QuestionView {
                number: i + 1,
                options: question
                    .options
                    .iter()
                    .enumerate()
                    .map(|(o, text)| OptionView {
                        text: text.clone(),
                        chosen: pick.is_some_and(|p| usize::from(p) == o),
                        right: usize::from(question.correct_index) == o,
                    })
                    .collect(),
                correct: pick == Some(question.correct_index),
                chosen: pick,
                question: question.clone(),
            }
        })
        .collect();
    render(&QuizPage {
        layout: ctx.layout(format!("Quiz · {}", lesson.title)),
        course_id,
        course_title: p.title.clone(),
        index,
        lesson_title: lesson.title.clone(),
        enrolled: view.enrolled,
        questions,
        result: if chosen.is_empty() { None } else { result },
        attempts,
        next: (index < p.lessons.len()).then_some(index + 1),
    })
}

#[tracing::instrument(skip_all, level = "debug")]
async fn quiz_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course_id, index)): Path<(Uuid, usize)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let (view, loaded) = match readable(&state, &caller, course_id).await? {
        Ok(v) => v,
        Err(back) => return Ok(back),
    };
    let (_, quiz) = loaded
        .package
        .lesson(index)
        .ok_or_else(|| WebError::not_found("lesson"))?;
    let questions = quiz.map_or(0, |q| q.questions.len());
    let back = format!("/learn/{course_id}/lesson/{index}/quiz");
    if !view.enrolled {
        return Ok(go(back, "Enroll in the course to take its quizzes."));
    }
    // Fields q1..qN carry the chosen option (0-3); an unanswered question counts as wrong.
    let mut answers: Vec<Option<u8>> = vec![None; questions];
    for (k, v) in &f {
        let slot = k
            .strip_prefix('q')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .filter(|n| *n < questions);
        if let (Some(slot), Ok(choice)) = (slot, v.parse::<u8>()) {
            answers[slot] = Some(choice);
        }
    }
    if answers.iter().all(Option::is_none) {
        return Ok(go(back, "Choose an answer for at least one question."));
    }
    let graded = super::grade(&state, &caller, course_id, &view, &loaded, index, &answers).await?;
    let a = &graded.attempt;
    Ok(go(
        format!("{back}?attempt={}", a.id),
        &format!("You scored {} out of {}.", a.score, a.total),
    ))
}

// ---- project ----

#[derive(Template)]
#[template(path = "learn_project.html")]
struct ProjectPage {
    layout: Layout,
    course_id: Uuid,
    course_title: String,
    module_title: String,
    project: Project,
}

#[tracing::instrument(skip_all, level = "debug")]
async fn project_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((course_id, module_id)): Path<(Uuid, String)>,
) -> Result<Response, WebError> {
    let caller = signed_in(&ctx)?;
    let (_, loaded) = match readable(&state, &caller, course_id).await? {
        Ok(v) => v,
        Err(back) => return Ok(back),
    };
    let p = &loaded.package;
    let project = p
        .project(&module_id)
        .ok_or_else(|| WebError::not_found("project"))?;
    render(&ProjectPage {
        layout: ctx.layout(format!("Project · {}", project.title)),
        course_id,
        course_title: p.title.clone(),
        module_title: p
            .module(&module_id)
            .map(|m| m.title.clone())
            .unwrap_or_default(),
        project: project.clone(),
    })
}
