//! The admin analytics API and dashboard: aggregated data of the caller's tenant's courses,
//! never raw events or a learner's identity. Charts are SVG drawn here (kit::charts), each
//! with its numbers in a table beside it.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::kit::auth::Caller;
use crate::kit::charts::{self, Bar, Series};
use crate::kit::error::WebError;
use crate::kit::extract::{Path, Query};
use crate::kit::pages::{Layout, PageCtx, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/analytics/course/{course}", get(course))
        .route("/api/admin/analytics/funnel/{course}", get(funnel))
        .route("/api/admin/analytics/signals/{course}", get(signals))
        .route("/admin/analytics", get(home_page))
        .route("/admin/analytics/{course}", get(course_page))
}

/// `from` and `to`, as `YYYY-MM-DD`, both inclusive.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Range {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn date(field: &str, v: Option<&str>) -> Result<Option<time::Date>, WebError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    v.filter(|s| !s.is_empty())
        .map(|s| {
            time::Date::parse(s, &format)
                .ok()
                // Signed or far-off years parse, but no analytics lie there (and PostgreSQL
                // or date arithmetic would refuse them).
                .filter(|d| (2000..=9999).contains(&d.year()))
                .ok_or_else(|| {
                    WebError::Unprocessable(format!(
                        "{field}: a date as YYYY-MM-DD, from the year 2000 to 9999"
                    ))
                })
        })
        .transpose()
}

#[tracing::instrument(skip_all)]
async fn course(
    State(state): State<AppState>,
    caller: Caller,
    Path(course): Path<uuid::Uuid>,
    Query(q): Query<Range>,
) -> Result<axum::Json<app::analytics::CourseReport>, WebError> {
    let from = date("from", q.from.as_deref())?;
    let to = date("to", q.to.as_deref())?;
    let report =
        app::analytics::course_report(&state.pool, &caller.actor(), course, from, to).await?;
    Ok(axum::Json(report))
}

#[tracing::instrument(skip_all)]
async fn funnel(
    State(state): State<AppState>,
    caller: Caller,
    Path(course): Path<uuid::Uuid>,
) -> Result<axum::Json<app::analytics::FunnelReport>, WebError> {
    let report = app::analytics::course_funnel(&state.pool, &caller.actor(), course).await?;
    Ok(axum::Json(report))
}

#[tracing::instrument(skip_all)]
async fn signals(
    State(state): State<AppState>,
    caller: Caller,
    Path(course): Path<uuid::Uuid>,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    let items = app::analytics::course_signals(&state.pool, &caller.actor(), course).await?;
    Ok(axum::Json(serde_json::json!({ "items": items })))
}

/// A share in whole percent, or a dash when there is nothing to share.
fn share(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "–".into()
    } else {
        format!("{}%", (part * 100 + whole / 2) / whole)
    }
}

struct OverviewRow {
    href: String,
    title: String,
    lessons: i32,
    enrolled: i64,
    completed: i64,
    completion: String,
    spark: String,
    /// The trend in words: learners over the 30 days and on the busiest day.
    trend: String,
}

#[derive(Template)]
#[template(path = "analytics_home.html")]
struct HomePage {
    layout: Layout,
    rows: Vec<OverviewRow>,
}

#[tracing::instrument(skip_all)]
async fn home_page(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    let today = OffsetDateTime::now_utc().date();
    let rows = app::analytics::overview(&state.pool, &caller.actor(), today).await?;
    render(&HomePage {
        layout: ctx.layout("Analytics"),
        rows: rows
            .into_iter()
            .map(|r| {
                let total: i64 = r.daily_learners.iter().sum();
                let busiest = r.daily_learners.iter().copied().max().unwrap_or(0);
                OverviewRow {
                    href: format!("/admin/analytics/{}", r.course.course_id),
                    title: r.course.title,
                    lessons: r.course.lessons,
                    enrolled: r.course.enrolled,
                    completed: r.course.completed,
                    completion: share(r.course.completed, r.course.enrolled),
                    spark: charts::sparkline(&r.daily_learners),
                    trend: format!("{total} learner-days, at most {busiest} in a day"),
                }
            })
            .collect(),
    })
}

struct DayRow {
    day: String,
    learners: i32,
    completions: i32,
    enrollments: i32,
    minutes: String,
}

struct ReachRow {
    index: usize,
    title: String,
    reach: i64,
    of_first: String,
    drop: String,
    flagged: bool,
}

struct QuizRow {
    index: i32,
    title: String,
    attempts: i64,
    passes: i64,
    rate: String,
    flagged: bool,
}

struct FunnelRow {
    step: &'static str,
    learners: i64,
    of_first: String,
}

struct SignalRow {
    severity: String,
    severity_class: String,
    kind: String,
    target: String,
    window: String,
    headline: String,
}

struct RangeLink {
    label: &'static str,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "analytics_course.html")]
struct CoursePage {
    layout: Layout,
    title: String,
    from: String,
    to: String,
    ranges: Vec<RangeLink>,
    facts: Vec<(&'static str, String)>,
    activity_svg: String,
    days: Vec<DayRow>,
    reach_svg: String,
    reach: Vec<ReachRow>,
    funnel_svgs: Vec<(String, &'static str, Vec<FunnelRow>)>,
    quiz_svg: String,
    quizzes: Vec<QuizRow>,
    signals: Vec<SignalRow>,
}

#[tracing::instrument(skip_all)]
async fn course_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(course): Path<Uuid>,
    Query(q): Query<Range>,
) -> Result<Response, WebError> {
    let caller = ctx.caller.clone().ok_or(WebError::Unauthorized)?;
    let actor = caller.actor();
    let from = date("from", q.from.as_deref())?;
    let to = date("to", q.to.as_deref())?;
    let report = app::analytics::course_report(&state.pool, &actor, course, from, to).await?;
    let funnel = app::analytics::course_funnel(&state.pool, &actor, course).await?;
    let signals = app::analytics::course_signals(&state.pool, &actor, course).await?;
    let titles = db::analytics::active_lesson_titles(&state.pool, actor.tenant_id, course).await?;
    let title_of = |id: &str, fallback: String| {
        titles
            .iter()
            .find(|(l, _)| l == id)
            .map_or(fallback, |(_, t)| t.clone())
    };

    // Every day of the range, 0 where nothing happened.
    let span = (report.to - report.from).whole_days() + 1;
    let dense: Vec<(time::Date, Option<&db::analytics::CourseDay>)> = (0..span)
        .map(|i| {
            let d = report.from + time::Duration::days(i);
            (d, report.days.iter().find(|r| r.day == d))
        })
        .collect();
    let labels: Vec<String> = dense.iter().map(|(d, _)| d.to_string()).collect();
    let learners: Vec<i64> = dense
        .iter()
        .map(|(_, r)| r.map_or(0, |r| i64::from(r.learners)))
        .collect();
    let completions: Vec<i64> = dense
        .iter()
        .map(|(_, r)| r.map_or(0, |r| i64::from(r.completions)))
        .collect();
    let sum = |f: fn(&db::analytics::CourseDay) -> i64| report.days.iter().map(f).sum::<i64>();
    let (enrolments, completed_lessons, attempts, passes, seconds, readers) = (
        sum(|d| i64::from(d.enrollments)),
        sum(|d| i64::from(d.completions)),
        sum(|d| i64::from(d.quiz_attempts)),
        sum(|d| i64::from(d.quiz_passes)),
        sum(|d| d.active_seconds),
        sum(|d| i64::from(d.active_learners)),
    );
    let busiest = learners.iter().copied().max().unwrap_or(0);
    let activity_svg = charts::line_chart(
        "activity",
        &format!(
            "Daily learners and lesson completions, {} to {}",
            report.from, report.to
        ),
        &format!(
            "{} learner-days and {completed_lessons} lesson completions over {span} days; at most {busiest} learners in a day. The table below lists every day.",
            learners.iter().sum::<i64>()
        ),
        &labels,
        &[
            Series {
                name: "Learners",
                class: "learners",
                values: learners.clone(),
            },
            Series {
                name: "Completions",
                class: "completions",
                values: completions,
            },
        ],
    );

    let flagged = |kind: &str, target: &str| {
        signals
            .iter()
            .any(|s| s.signal.kind == kind && s.signal.target_ref == target)
    };
    let first = funnel.funnel.reach.first().copied().unwrap_or(0);
    let reach: Vec<ReachRow> = funnel
        .funnel
        .reach
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (id, title) = titles
                .get(i)
                .cloned()
                .unwrap_or_else(|| (String::new(), format!("Lesson {}", i + 1)));
            let prev = if i == 0 {
                None
            } else {
                funnel.funnel.reach.get(i - 1)
            };
            ReachRow {
                index: i + 1,
                title,
                reach: *n,
                of_first: share(*n, first),
                drop: prev.map_or("–".into(), |p| share(p - n, *p)),
                flagged: flagged("HIGH_DROP_OFF", &id),
            }
        })
        .collect();
    let reach_svg = charts::bar_chart(
        "reach",
        "Learners who reached each lesson or a later one",
        &format!(
            "{} lessons; {first} learners reached lesson 1. Flagged bars carry a drop-off signal. The table below lists every lesson.",
            reach.len()
        ),
        &reach
            .iter()
            .map(|r| Bar {
                label: format!("{}. {}", r.index, r.title),
                value: r.reach,
                shown: format!("{} ({})", r.reach, r.of_first),
                class: if r.flagged { "flag" } else { "" },
            })
            .collect::<Vec<_>>(),
        None,
    );

    let f = &funnel.funnel;
    let funnel_svgs = [
        (
            "funnel-viewed",
            "Viewed → enrolled → completed",
            [
                ("Viewed", f.viewed),
                ("Enrolled", f.viewed_enrolled),
                ("Completed", f.viewed_enrolled_completed),
            ],
        ),
        (
            "funnel-purchased",
            "Purchased → enrolled → completed",
            [
                ("Purchased", f.purchased),
                ("Enrolled", f.purchased_enrolled),
                ("Completed", f.purchased_enrolled_completed),
            ],
        ),
    ]
    .into_iter()
    .map(|(id, title, steps)| {
        let top = steps[0].1;
        let rows: Vec<FunnelRow> = steps
            .iter()
            .map(|(step, n)| FunnelRow {
                step,
                learners: *n,
                of_first: share(*n, top),
            })
            .collect();
        let svg = charts::bar_chart(
            id,
            title,
            &rows
                .iter()
                .map(|r| format!("{}: {} learners", r.step, r.learners))
                .collect::<Vec<_>>()
                .join("; "),
            &rows
                .iter()
                .map(|r| Bar {
                    label: r.step.into(),
                    value: r.learners,
                    shown: format!("{} ({})", r.learners, r.of_first),
                    class: "",
                })
                .collect::<Vec<_>>(),
            Some(top),
        );
        (svg, title, rows)
    })
    .collect();

    let quizzes: Vec<QuizRow> = report
        .lessons
        .iter()
        .filter(|l| l.quiz_attempts > 0)
        .map(|l| QuizRow {
            index: l.lesson_index,
            title: title_of(&l.lesson_id, l.lesson_id.clone()),
            attempts: l.quiz_attempts,
            passes: l.quiz_passes,
            rate: share(l.quiz_passes, l.quiz_attempts),
            flagged: flagged("LOW_QUIZ_PASS_RATE", &l.lesson_id),
        })
        .collect();
    let quiz_svg = charts::bar_chart(
        "quizzes",
        "Quiz pass rate per lesson, in percent",
        &format!(
            "{} quizzes attempted; a pass is {}% or more. Flagged bars carry a low pass rate signal. The table below lists every quiz.",
            quizzes.len(),
            domain::analytics::QUIZ_PASS_PERCENT
        ),
        &quizzes
            .iter()
            .map(|q| Bar {
                label: format!("{}. {}", q.index, q.title),
                value: q.passes * 100 / q.attempts.max(1),
                shown: format!("{} of {}", q.rate, q.attempts),
                class: if q.flagged { "flag" } else { "" },
            })
            .collect::<Vec<_>>(),
        Some(100),
    );

    let today = OffsetDateTime::now_utc().date();
    let ranges = [
        ("Last 7 days", 7),
        ("Last 30 days", 30),
        ("Last 90 days", 90),
    ]
    .into_iter()
    .map(|(label, n)| {
        let f = today - time::Duration::days(n - 1);
        RangeLink {
            label,
            href: format!("/admin/analytics/{course}?from={f}&to={today}"),
            current: report.from == f && report.to == today,
        }
    })
    .collect();
    let minutes = |s: i64, n: i64| {
        if n == 0 {
            "–".into()
        } else {
            format!("{:.1} min", s as f64 / 60.0 / n as f64)
        }
    };
    render(&CoursePage {
        layout: ctx.layout(format!("Analytics: {}", report.title)),
        title: report.title.clone(),
        from: report.from.to_string(),
        to: report.to.to_string(),
        ranges,
        facts: vec![
            ("Enrollments", enrolments.to_string()),
            ("Lesson completions", completed_lessons.to_string()),
            (
                "Average reading time per learner-day",
                minutes(seconds, readers),
            ),
            ("Quiz pass rate", share(passes, attempts)),
            (
                "Enrolled, all time",
                f.viewed_enrolled.max(f.purchased_enrolled).to_string(),
            ),
            (
                "Completed the course, all time",
                f.viewed_enrolled_completed
                    .max(f.purchased_enrolled_completed)
                    .to_string(),
            ),
        ],
        activity_svg,
        days: dense
            .iter()
            .filter_map(|(d, r)| r.map(|r| (d, r)))
            .map(|(d, r)| DayRow {
                day: d.to_string(),
                learners: r.learners,
                completions: r.completions,
                enrollments: r.enrollments,
                minutes: minutes(r.active_seconds, i64::from(r.active_learners)),
            })
            .collect(),
        reach_svg,
        reach,
        funnel_svgs,
        quiz_svg,
        quizzes,
        signals: signals
            .iter()
            .map(|s| {
                let kind = domain::analytics::signals::SignalType::parse(&s.signal.kind);
                SignalRow {
                    severity: s.signal.severity.clone(),
                    severity_class: s.signal.severity.to_lowercase(),
                    kind: kind.map_or(s.signal.kind.clone(), |k| k.words().into()),
                    target: match s.signal.target_kind.as_str() {
                        "COURSE" => "The course".into(),
                        "QUIZ" => format!(
                            "Quiz of “{}”",
                            title_of(&s.signal.target_ref, s.signal.target_ref.clone())
                        ),
                        _ => format!(
                            "“{}”",
                            title_of(&s.signal.target_ref, s.signal.target_ref.clone())
                        ),
                    },
                    window: format!(
                        "{} to {}",
                        s.signal.window_start,
                        s.signal.window_end - time::Duration::days(1)
                    ),
                    headline: s.headline.clone(),
                }
            })
            .collect(),
    })
}
