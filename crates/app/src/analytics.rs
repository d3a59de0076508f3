//! Learner analytics, part one: events. The browser sends what only it knows (views, time
//! on a lesson) in batches; the server records what it witnesses (enrollments, completions,
//! quiz attempts and passes, exports) itself, in the transaction of the action, so those
//! can be neither forged nor lost. Analytics observe only: nothing here changes content,
//! packages or pointers.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use db::analytics::{self as rows, NewEvent};
use db::{PgPool, Postgres, Transaction};
use domain::analytics::{EventType, MAX_BATCH, MAX_HEARTBEAT_SECONDS};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Actor, AppError};

/// Batches one person may send per minute.
pub const BATCHES_PER_MINUTE: i32 = 120;
/// How far in the past a client's `occurredAt` may lie (a tab that slept, a retry).
pub const MAX_EVENT_AGE: time::Duration = time::Duration::hours(24);
/// How far ahead of the server's clock a client's `occurredAt` may run.
pub const MAX_CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// Fields that would name who sent an event: the session says that, never the body.
const IDENTITY_FIELDS: &[&str] = &[
    "userId",
    "user",
    "user_id",
    "tenantId",
    "tenant",
    "tenant_id",
];
const EVENT_FIELDS: &[&str] = &[
    "id",
    "type",
    "courseId",
    "lessonIndex",
    "seconds",
    "occurredAt",
];

/// One event of a batch that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    /// Its position in the batch, from 0.
    pub index: usize,
    pub id: Option<String>,
    pub code: &'static str,
    pub message: String,
}

/// What a batch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingested {
    /// Events stored now.
    pub accepted: usize,
    /// Events whose id was stored before (a retried batch): nothing stored again.
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
}

fn reject(
    index: usize,
    id: Option<&str>,
    code: &'static str,
    message: impl Into<String>,
) -> Rejected {
    Rejected {
        index,
        id: id.map(str::to_owned),
        code,
        message: message.into(),
    }
}

fn names_identity(o: &Map<String, Value>) -> Option<&str> {
    IDENTITY_FIELDS.iter().copied().find(|f| o.contains_key(*f))
}

/// Stores a batch from the browser of `actor`: each event is checked on its own (an
/// unknown type, a course not published in the caller's tenant, a lesson the active version
/// lacks reject that event and keep the rest); a batch that is not `{"events": [...]}` with
/// 1 to 100 events, or that names a user or tenant anywhere, is refused whole and stores
/// nothing. Events whose ids were stored before are counted as duplicates.
#[tracing::instrument(skip_all, fields(user = %actor.user_id))]
pub async fn ingest(pool: &PgPool, actor: &Actor, body: &Value) -> Result<Ingested, AppError> {
    let top = body
        .as_object()
        .ok_or_else(|| AppError::Invalid("send a JSON object: {\"events\": [...]}".into()))?;
    if let Some(f) = names_identity(top) {
        return Err(AppError::Invalid(format!(
            "{f}: who sends events comes from the session; a batch may not name a user or tenant"
        )));
    }
    if let Some(k) = top.keys().find(|k| *k != "events") {
        return Err(AppError::Invalid(format!(
            "{k}: unknown field; a batch holds only events"
        )));
    }
    let events = top
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| AppError::Invalid("events: required, a list of events".into()))?;
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(AppError::Invalid(format!(
            "events: send 1 to {MAX_BATCH} events in a batch, not {}",
            events.len()
        )));
    }
    if let Some((i, f)) = events
        .iter()
        .enumerate()
        .find_map(|(i, e)| e.as_object().and_then(names_identity).map(|f| (i, f)))
    {
        return Err(AppError::Invalid(format!(
            "events[{i}].{f}: who sends events comes from the session; a batch may not name a user or tenant"
        )));
    }

    let (batches, left) = rows::count_batch(pool, actor.user_id).await?;
    if batches > BATCHES_PER_MINUTE {
        return Err(AppError::RateLimited {
            retry_after: Duration::from_secs_f64(left.max(1.0)),
        });
    }

    let now = OffsetDateTime::now_utc();
    let mut courses: HashMap<Uuid, Option<(i32, Vec<String>)>> = HashMap::new();
    let mut seen = HashSet::new();
    let mut rejected = Vec::new();
    let mut keep = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match check(pool, actor, e, now, &mut courses).await? {
            Ok(ev) if !seen.insert(ev.id) => rejected.push(reject(
                i,
                Some(&ev.id.to_string()),
                "duplicate_id",
                "this id is already in the batch",
            )),
            Ok(ev) => keep.push(ev),
            Err((code, message)) => {
                let id = e.get("id").and_then(Value::as_str);
                rejected.push(reject(i, id, code, message));
            }
        }
    }
    let mut tx = pool.begin().await?;
    let stored = rows::insert(&mut tx, &keep).await?;
    tx.commit().await?;
    metrics::counter!("analytics_events_ingested_total").increment(stored.len() as u64);
    Ok(Ingested {
        accepted: stored.len(),
        duplicates: keep.len() - stored.len(),
        rejected,
    })
}

pub(crate) type Check = Result<NewEvent, (&'static str, String)>;

/// One event of a batch, checked against the caller's tenant's active packages.
pub(crate) async fn check(
    pool: &PgPool,
    actor: &Actor,
    e: &Value,
    now: OffsetDateTime,
    courses: &mut HashMap<Uuid, Option<(i32, Vec<String>)>>,
) -> Result<Check, AppError> {
    let Some(o) = e.as_object() else {
        return Ok(Err(("bad_event", "an event is a JSON object".into())));
    };
    if let Some(k) = o.keys().find(|k| !EVENT_FIELDS.contains(&k.as_str())) {
        return Ok(Err(("unknown_field", format!("{k}: unknown field"))));
    }
    let Some(id) = o
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
    else {
        return Ok(Err((
            "bad_id",
            "id: required, a UUID the client makes".into(),
        )));
    };
    let name = o.get("type").and_then(Value::as_str).unwrap_or_default();
    let Some(kind) = EventType::parse(name) else {
        return Ok(Err((
            "unknown_type",
            format!("type: {name:?} is not an event type"),
        )));
    };
    if !kind.from_client() {
        return Ok(Err((
            "server_recorded",
            format!("type: {name} is recorded by the server with the action itself"),
        )));
    }
    let Some(course_id) = o
        .get("courseId")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
    else {
        return Ok(Err(("unknown_course", "courseId: required, a UUID".into())));
    };
    if let std::collections::hash_map::Entry::Vacant(slot) = courses.entry(course_id) {
        slot.insert(rows::active_lessons(pool, actor.tenant_id, course_id).await?);
    }
    let Some(Some((version, lessons))) = courses.get(&course_id) else {
        return Ok(Err((
            "unknown_course",
            "courseId: no published course of yours has this id".into(),
        )));
    };
    let index = o.get("lessonIndex");
    let lesson = match (kind.about_a_lesson(), index) {
        (false, None) => None,
        (false, Some(_)) => {
            return Ok(Err((
                "unknown_lesson",
                format!("lessonIndex: {name} is not about a lesson"),
            )));
        }
        (true, i) => {
            let Some(n) = i
                .and_then(Value::as_u64)
                .filter(|n| (1..=lessons.len() as u64).contains(n))
            else {
                return Ok(Err((
                    "unknown_lesson",
                    format!(
                        "lessonIndex: this course has lessons 1 to {}",
                        lessons.len()
                    ),
                )));
            };
            Some((lessons[n as usize - 1].clone(), n as i32))
        }
    };
    let seconds = o.get("seconds");
    let value = match (kind, seconds) {
        (EventType::LessonTime, Some(s)) => match s
            .as_i64()
            .filter(|s| (1..=MAX_HEARTBEAT_SECONDS).contains(s))
        {
            Some(s) => Some(s as i32),
            None => {
                return Ok(Err((
                    "bad_seconds",
                    format!("seconds: a whole number from 1 to {MAX_HEARTBEAT_SECONDS}"),
                )));
            }
        },
        (EventType::LessonTime, None) => {
            return Ok(Err((
                "bad_seconds",
                "seconds: required for lesson_time".into(),
            )));
        }
        (_, Some(_)) => {
            return Ok(Err((
                "bad_seconds",
                "seconds: only lesson_time carries seconds".into(),
            )));
        }
        (_, None) => None,
    };
    let occurred_at = match o.get("occurredAt") {
        None => now,
        Some(t) => {
            let parsed = t.as_str().and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            });
            match parsed {
                Some(t) if t >= now - MAX_EVENT_AGE && t <= now + MAX_CLOCK_SKEW => t,
                _ => {
                    return Ok(Err((
                        "bad_time",
                        "occurredAt: an RFC 3339 time within the last 24 hours".into(),
                    )));
                }
            }
        }
    };
    Ok(Ok(NewEvent {
        id,
        tenant_id: actor.tenant_id,
        user_id: actor.user_id,
        course_id,
        version: *version,
        lesson,
        kind: kind.as_str(),
        value,
        occurred_at,
    }))
}

/// An event the server witnessed, written in `tx` with the action it records.
pub(crate) async fn witnessed(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    course_id: Uuid,
    version: i32,
    lesson: Option<(&str, usize)>,
    kind: EventType,
    value: Option<i32>,
) -> Result<(), AppError> {
    let event = NewEvent {
        id: Uuid::new_v4(),
        tenant_id: actor.tenant_id,
        user_id: actor.user_id,
        course_id,
        version,
        lesson: lesson.map(|(id, n)| (id.to_owned(), i32::try_from(n).unwrap_or(i32::MAX))),
        kind: kind.as_str(),
        value,
        occurred_at: OffsetDateTime::now_utc(),
    };
    rows::insert(tx, std::slice::from_ref(&event)).await?;
    Ok(())
}

/// The longest range one report covers.
pub const MAX_REPORT_DAYS: i64 = 400;
/// The range a report covers when none is asked for: the last 30 days.
pub const DEFAULT_REPORT_DAYS: i64 = 30;

/// A course's aggregated analytics over a range of days (never raw events, never a learner).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseReport {
    pub course_id: Uuid,
    pub title: String,
    #[serde(with = "db::analytics::iso_date")]
    pub from: time::Date,
    #[serde(with = "db::analytics::iso_date")]
    pub to: time::Date,
    /// Every day with activity, oldest first.
    pub days: Vec<rows::CourseDay>,
    /// Every lesson with activity in the range, in lesson order.
    pub lessons: Vec<rows::LessonTotals>,
}

/// The analytics of a course of the admin's tenant from `from` to `to` (inclusive; the last
/// 30 days by default). Another tenant's course is not found.
#[tracing::instrument(skip_all, fields(course = %course_id))]
pub async fn course_report(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
    from: Option<time::Date>,
    to: Option<time::Date>,
) -> Result<CourseReport, AppError> {
    actor.require(crate::ADMIN)?;
    let course = db::courses::get(pool, actor.tenant_id, course_id)
        .await?
        .ok_or_else(|| AppError::not_found("course"))?;
    let today = OffsetDateTime::now_utc().date();
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - time::Duration::days(DEFAULT_REPORT_DAYS - 1));
    if from > to {
        return Err(AppError::Invalid(format!("from: {from} is after to: {to}")));
    }
    if (to - from).whole_days() >= MAX_REPORT_DAYS {
        return Err(AppError::Invalid(format!(
            "from, to: a report covers at most {MAX_REPORT_DAYS} days"
        )));
    }
    let days = rows::course_days(pool, actor.tenant_id, course_id, from, to).await?;
    let lessons = rows::lesson_totals(pool, actor.tenant_id, course_id, from, to).await?;
    Ok(CourseReport {
        course_id,
        title: course.title,
        from,
        to,
        days,
        lessons,
    })
}

/// A course's funnels (viewed → enrolled → completed, purchased → enrolled → completed) and
/// per-lesson reach, as counts of learners over all time; "completed" is every lesson of the
/// active version. Admins of the course's tenant only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunnelReport {
    pub course_id: Uuid,
    pub title: String,
    /// Lessons of the active version (0 when it is not published).
    pub lessons: i32,
    #[serde(flatten)]
    pub funnel: rows::Funnel,
}

#[tracing::instrument(skip_all, fields(course = %course_id))]
pub async fn course_funnel(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
) -> Result<FunnelReport, AppError> {
    actor.require(crate::ADMIN)?;
    let course = db::courses::get(pool, actor.tenant_id, course_id)
        .await?
        .ok_or_else(|| AppError::not_found("course"))?;
    let lessons = rows::active_lessons(pool, actor.tenant_id, course_id)
        .await?
        .map_or(0, |(_, l)| i32::try_from(l.len()).unwrap_or(i32::MAX));
    let funnel = rows::funnel(pool, actor.tenant_id, course_id, lessons).await?;
    Ok(FunnelReport {
        course_id,
        title: course.title,
        lessons,
        funnel,
    })
}

/// How far back a course's signals are listed.
pub const SIGNALS_SHOWN_DAYS: i64 = 90;

/// A course's signals of the last 90 days, newest week first, with their headline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShownSignal {
    #[serde(flatten)]
    pub signal: rows::StoredSignal,
    pub headline: String,
}

/// A course of the admin's tenant's signals (another tenant's course is not found).
#[tracing::instrument(skip_all, fields(course = %course_id))]
pub async fn course_signals(
    pool: &PgPool,
    actor: &Actor,
    course_id: Uuid,
) -> Result<Vec<ShownSignal>, AppError> {
    actor.require(crate::ADMIN)?;
    db::courses::get(pool, actor.tenant_id, course_id)
        .await?
        .ok_or_else(|| AppError::not_found("course"))?;
    let since = OffsetDateTime::now_utc().date() - time::Duration::days(SIGNALS_SHOWN_DAYS);
    let stored = rows::signals(pool, actor.tenant_id, course_id, since, 200).await?;
    Ok(stored
        .into_iter()
        .map(|s| {
            let headline = domain::analytics::signals::SignalType::parse(&s.kind)
                .map(|k| domain::analytics::signals::headline(k, &s.evidence))
                .unwrap_or_default();
            ShownSignal {
                signal: s,
                headline,
            }
        })
        .collect())
}

/// One course of the analytics overview: its totals and its daily learners over the last
/// 30 days (a value per day, oldest first, 0 for a day without activity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverviewRow {
    #[serde(flatten)]
    pub course: rows::CourseOverview,
    #[serde(with = "db::analytics::iso_date")]
    pub from: time::Date,
    pub daily_learners: Vec<i64>,
}

/// Every course of the admin's tenant that is published or has learners, with enrollments,
/// completions and the trend of daily learners over the 30 days up to `today`.
pub async fn overview(
    pool: &PgPool,
    actor: &Actor,
    today: time::Date,
) -> Result<Vec<OverviewRow>, AppError> {
    actor.require(crate::ADMIN)?;
    let from = today - time::Duration::days(DEFAULT_REPORT_DAYS - 1);
    let courses = rows::overview(pool, actor.tenant_id).await?;
    let days = rows::tenant_learner_days(pool, actor.tenant_id, from, today).await?;
    Ok(courses
        .into_iter()
        .map(|course| {
            let mut daily = vec![0; DEFAULT_REPORT_DAYS as usize];
            for (c, day, n) in &days {
                if *c == course.course_id {
                    let i = (*day - from).whole_days();
                    if let Some(slot) = usize::try_from(i).ok().and_then(|i| daily.get_mut(i)) {
                        *slot = i64::from(*n);
                    }
                }
            }
            OverviewRow {
                course,
                from,
                daily_learners: daily,
            }
        })
        .collect())
}
