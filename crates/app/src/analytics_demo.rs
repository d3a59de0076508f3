//! A synthetic learner history for the demo's published course, so that a fresh machine
//! shows charts and signals. Deterministic (a fixed seed, no randomness from outside): 300
//! learners arriving over 30 days, a steep drop-off before one lesson in the middle and a
//! hard quiz. The browser's events pass the same checks as `POST /api/analytics/event`
//! (against a clock set to just after each event), the server's are the rows the learning
//! use cases write; all are stored by the same insert, then the same aggregation and signal
//! rules run over them.

use db::PgPool;
use db::analytics::{self as rows, NewEvent};
use domain::Role;
use domain::analytics::EventType;
use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{Actor, AppError};

/// The shape of a synthetic history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistorySpec {
    pub learners: u32,
    pub days: u32,
    pub seed: u64,
}

impl Default for HistorySpec {
    fn default() -> Self {
        Self {
            learners: 300,
            days: 30,
            seed: 0x00c0_75e5,
        }
    }
}

/// What seeding did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seeded {
    pub learners: u32,
    pub events: usize,
    /// The lesson learners drop off before and the lesson whose quiz is hard (1-based).
    pub drop_off_lesson: usize,
    pub hard_quiz_lesson: usize,
    pub signals: u64,
}

/// splitmix64: a tiny, fixed pseudo-random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// A synthetic learner's id: derived from the course and the learner's number, so that a
/// second run can tell the history is there.
fn learner(course_id: Uuid, k: u32) -> Uuid {
    let (hi, lo) = course_id.as_u64_pair();
    let mut rng = Rng(lo ^ u64::from(k).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(hi ^ rng.next()).to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next().to_be_bytes());
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Seeds the history of `course_id` (published in `tenant_id`) once, ending at `now`, and
/// runs the aggregation and the signal rules over it. `None` when the course is not
/// published, has fewer than 3 lessons, or already holds the history.
pub async fn seed_history(
    pool: &PgPool,
    tenant_id: Uuid,
    course_id: Uuid,
    spec: HistorySpec,
    now: OffsetDateTime,
) -> Result<Option<Seeded>, AppError> {
    let Some((version, lessons)) = rows::active_lessons(pool, tenant_id, course_id).await? else {
        return Ok(None);
    };
    let n = lessons.len();
    if n < 3 || spec.learners == 0 || spec.days == 0 {
        return Ok(None);
    }
    let first = learner(course_id, 0);
    if rows::has_learner(pool, course_id, first).await? {
        return Ok(None);
    }
    // Learners who reach this lesson often stop before it; the quiz of the lesson before it
    // is hard.
    let drop_off = n / 2 + 1;
    let hard_quiz = 2.min(n);
    let mut rng = Rng(spec.seed);
    // Another course's history gets other event ids (the same history otherwise).
    let (id_hi, id_lo) = course_id.as_u64_pair();
    let start = now - Duration::days(i64::from(spec.days));
    // The partitions of the history's months (the migration made only the last one ahead).
    let months = i32::try_from(spec.days / 28 + 2).unwrap_or(i32::MAX);
    rows::ensure_partitions(pool, start.date(), months).await?;
    let latest = now - Duration::minutes(10);
    let mut events: Vec<NewEvent> = Vec::new();
    let mut courses = std::collections::HashMap::new();
    for k in 0..spec.learners {
        let actor = Actor {
            tenant_id,
            user_id: learner(course_id, k),
            role: Role::Learner,
        };
        // Arrivals spread over the days, at a working hour.
        let day = i64::from(k) * i64::from(spec.days) / i64::from(spec.learners);
        let mut t = start + Duration::days(day) + Duration::minutes(rng.between(7 * 60, 20 * 60));
        // What the browser sends passes the ingest checks, with a clock just after it.
        let client = |kind: EventType,
                      t: OffsetDateTime,
                      lesson: Option<usize>,
                      s: Option<i64>,
                      rng: &mut Rng|
         -> serde_json::Value {
            let mut e = json!({
                "id": Uuid::from_u64_pair(rng.next() ^ id_hi, rng.next() ^ id_lo),
                "type": kind.as_str(),
                "courseId": course_id,
                "occurredAt": t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            });
            if let Some(i) = lesson {
                e["lessonIndex"] = json!(i);
            }
            if let Some(s) = s {
                e["seconds"] = json!(s);
            }
            e
        };
        let server = |kind: EventType,
                      t: OffsetDateTime,
                      lesson: Option<usize>,
                      value: Option<i32>| NewEvent {
            id: Uuid::new_v4(),
            tenant_id,
            user_id: actor.user_id,
            course_id,
            version,
            lesson: lesson.map(|i| (lessons[i - 1].clone(), i as i32)),
            kind: kind.as_str(),
            value,
            occurred_at: t,
        };
        let mut pending: Vec<(serde_json::Value, OffsetDateTime)> = Vec::new();
        if t > latest {
            continue;
        }
        pending.push((client(EventType::CourseViewed, t, None, None, &mut rng), t));
        if rng.chance(85) {
            t += Duration::minutes(1);
            events.push(server(EventType::Enrolled, t, None, None));
            for i in 1..=n {
                let continues = match i {
                    1 => true,
                    i if i == drop_off => rng.chance(42),
                    _ => rng.chance(94),
                };
                if !continues || t > latest {
                    break;
                }
                pending.push((
                    client(EventType::LessonViewed, t, Some(i), None, &mut rng),
                    t,
                ));
                for _ in 0..rng.between(2, 5) {
                    let s = rng.between(40, 300);
                    t += Duration::seconds(s);
                    pending.push((
                        client(EventType::LessonTime, t, Some(i), Some(s), &mut rng),
                        t,
                    ));
                }
                t += Duration::seconds(20);
                events.push(server(EventType::LessonCompleted, t, Some(i), None));
                let pass = if i == hard_quiz { 30 } else { 86 };
                for attempt in 0..2 {
                    t += Duration::minutes(3);
                    let passed = rng.chance(pass);
                    let score = if passed {
                        rng.between(80, 100)
                    } else {
                        rng.between(20, 79)
                    } as i32;
                    events.push(server(EventType::QuizAttempted, t, Some(i), Some(score)));
                    if passed {
                        events.push(server(EventType::QuizPassed, t, Some(i), Some(score)));
                        break;
                    }
                    if attempt == 0 && !rng.chance(50) {
                        break;
                    }
                }
                // The next lesson later that day or on a later one.
                t += Duration::minutes(rng.between(15, 36 * 60));
            }
        }
        for (e, at) in pending {
            if at > latest {
                continue;
            }
            match crate::analytics::check(pool, &actor, &e, at + Duration::minutes(1), &mut courses)
                .await?
            {
                Ok(ev) => events.push(ev),
                Err((code, message)) => {
                    return Err(AppError::Invalid(format!(
                        "the synthetic history broke an ingest rule ({code}): {message}"
                    )));
                }
            }
        }
    }
    events.retain(|e| e.occurred_at <= latest);
    let mut tx = pool.begin().await?;
    let mut stored = 0;
    for chunk in events.chunks(5_000) {
        stored += rows::insert(&mut tx, chunk).await?.len();
    }
    // Backdated events: the next aggregation recomputes every day, not only the recent ones.
    rows::reset_watermark(&mut *tx).await?;
    tx.commit().await?;
    rows::aggregate_daily(pool).await?;
    let run = rows::find_signals(
        pool,
        &domain::analytics::signals::Thresholds::default(),
        now,
    )
    .await?;
    Ok(Some(Seeded {
        learners: spec.learners,
        events: stored,
        drop_off_lesson: drop_off,
        hard_quiz_lesson: hard_quiz,
        signals: run.stored,
    }))
}
