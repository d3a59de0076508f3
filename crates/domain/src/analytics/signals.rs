//! Rule-based signals: deterministic rules over one course's numbers for one window of
//! days. No model, no randomness, no clock: the same numbers and thresholds always give the
//! same signals, so a re-run finds exactly what the last one stored.

use serde::Serialize;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, Weekday};

/// What a signal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignalType {
    /// A lesson's reach falls steeply from the previous lesson's.
    HighDropOff,
    /// Few attempts at a lesson's quiz pass.
    LowQuizPassRate,
    /// Few of the learners who studied the course have finished it.
    LowCompletion,
    /// Many purchases are refunded.
    HighRefundRate,
}

impl SignalType {
    pub const ALL: [SignalType; 4] = [
        Self::HighDropOff,
        Self::LowQuizPassRate,
        Self::LowCompletion,
        Self::HighRefundRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HighDropOff => "HIGH_DROP_OFF",
            Self::LowQuizPassRate => "LOW_QUIZ_PASS_RATE",
            Self::LowCompletion => "LOW_COMPLETION",
            Self::HighRefundRate => "HIGH_REFUND_RATE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The type in words, for pages.
    pub fn words(self) -> &'static str {
        match self {
            Self::HighDropOff => "High drop-off",
            Self::LowQuizPassRate => "Low quiz pass rate",
            Self::LowCompletion => "Low completion",
            Self::HighRefundRate => "High refund rate",
        }
    }
}

/// What a signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetKind {
    Course,
    Module,
    Lesson,
    Quiz,
}

impl TargetKind {
    pub const ALL: [TargetKind; 4] = [Self::Course, Self::Module, Self::Lesson, Self::Quiz];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Course => "COURSE",
            Self::Module => "MODULE",
            Self::Lesson => "LESSON",
            Self::Quiz => "QUIZ",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// How bad it is: `High` when the measure is at least twice as far past the threshold as the
/// threshold itself allows (a drop or refund rate of at least twice the threshold, a pass or
/// completion rate of at most half of it), else `Medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 2] = [Self::Medium, Self::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Every threshold of every rule, in one place. A rule fires strictly past its threshold
/// and only with enough learners behind the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    /// `HIGH_DROP_OFF`: a lesson's reach is more than this percent below the previous
    /// lesson's…
    pub drop_off_percent: u32,
    /// …and at least this many learners reached the previous lesson.
    pub drop_off_min_learners: i64,
    /// `LOW_QUIZ_PASS_RATE`: fewer than this percent of a quiz's attempts pass…
    pub quiz_pass_percent: u32,
    /// …out of at least this many attempts.
    pub quiz_min_attempts: i64,
    /// `LOW_COMPLETION`: fewer than this percent of the enrolled learners who studied the
    /// course in the window have completed it…
    pub completion_percent: u32,
    /// …out of at least this many such learners.
    pub completion_min_learners: i64,
    /// `HIGH_REFUND_RATE`: more than this percent of the window's purchases were refunded…
    pub refund_percent: u32,
    /// …out of at least this many purchases.
    pub refund_min_purchases: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            drop_off_percent: 30,
            drop_off_min_learners: 20,
            quiz_pass_percent: 50,
            quiz_min_attempts: 20,
            completion_percent: 20,
            completion_min_learners: 20,
            refund_percent: 10,
            refund_min_purchases: 10,
        }
    }
}

/// One lesson's numbers in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonNumbers {
    /// The lesson's stable id.
    pub lesson_id: String,
    /// Its position in the active version, from 1.
    pub index: i32,
    /// Learners active in the window who reached this lesson or a later one.
    pub reach: i64,
    pub quiz_attempts: i64,
    pub quiz_passes: i64,
}

/// A course's numbers in a window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CourseNumbers {
    /// Every lesson of the active version, in order.
    pub lessons: Vec<LessonNumbers>,
    /// Enrolled learners active in the window…
    pub studying: i64,
    /// …and how many of them have completed every lesson.
    pub completed: i64,
    pub purchases: i64,
    pub refunds: i64,
}

/// One signal found, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signal {
    #[serde(rename = "type")]
    pub kind: SignalType,
    pub target_kind: TargetKind,
    /// A lesson's stable id (the quiz's lesson for a quiz), or `course`.
    pub target_ref: String,
    pub severity: Severity,
    /// The numbers that triggered it and the thresholds they crossed.
    pub evidence: Value,
}

/// `part` of `whole` in percent, to one decimal.
fn pct(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    ((part * 1000) as f64 / whole as f64).round() / 10.0
}

/// The signals `numbers` give under `t`, in a fixed order (rule, then lesson order).
pub fn evaluate(t: &Thresholds, numbers: &CourseNumbers) -> Vec<Signal> {
    let mut out = Vec::new();
    for pair in numbers.lessons.windows(2) {
        let (prev, cur) = (&pair[0], &pair[1]);
        let lost = prev.reach - cur.reach;
        // More than X% lost: lost / prev > X / 100, in integers.
        if prev.reach >= t.drop_off_min_learners
            && lost * 100 > i64::from(t.drop_off_percent) * prev.reach
        {
            let severity = if lost * 100 >= 2 * i64::from(t.drop_off_percent) * prev.reach {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(Signal {
                kind: SignalType::HighDropOff,
                target_kind: TargetKind::Lesson,
                target_ref: cur.lesson_id.clone(),
                severity,
                evidence: json!({
                    "lessonIndex": cur.index,
                    "reach": cur.reach,
                    "previousLessonId": prev.lesson_id,
                    "previousLessonIndex": prev.index,
                    "previousReach": prev.reach,
                    "dropPercent": pct(lost, prev.reach),
                    "thresholdPercent": t.drop_off_percent,
                    "minLearners": t.drop_off_min_learners,
                }),
            });
        }
    }
    for l in &numbers.lessons {
        if l.quiz_attempts >= t.quiz_min_attempts
            && l.quiz_passes * 100 < i64::from(t.quiz_pass_percent) * l.quiz_attempts
        {
            let severity =
                if l.quiz_passes * 200 <= i64::from(t.quiz_pass_percent) * l.quiz_attempts {
                    Severity::High
                } else {
                    Severity::Medium
                };
            out.push(Signal {
                kind: SignalType::LowQuizPassRate,
                target_kind: TargetKind::Quiz,
                target_ref: l.lesson_id.clone(),
                severity,
                evidence: json!({
                    "lessonIndex": l.index,
                    "attempts": l.quiz_attempts,
                    "passes": l.quiz_passes,
                    "passPercent": pct(l.quiz_passes, l.quiz_attempts),
                    "passMark": super::QUIZ_PASS_PERCENT,
                    "thresholdPercent": t.quiz_pass_percent,
                    "minAttempts": t.quiz_min_attempts,
                }),
            });
        }
    }
    let n = numbers;
    if n.studying >= t.completion_min_learners
        && n.completed * 100 < i64::from(t.completion_percent) * n.studying
    {
        let severity = if n.completed * 200 <= i64::from(t.completion_percent) * n.studying {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push(Signal {
            kind: SignalType::LowCompletion,
            target_kind: TargetKind::Course,
            target_ref: "course".into(),
            severity,
            evidence: json!({
                "studying": n.studying,
                "completed": n.completed,
                "completionPercent": pct(n.completed, n.studying),
                "thresholdPercent": t.completion_percent,
                "minLearners": t.completion_min_learners,
            }),
        });
    }
    if n.purchases >= t.refund_min_purchases
        && n.refunds * 100 > i64::from(t.refund_percent) * n.purchases
    {
        let severity = if n.refunds * 100 >= 2 * i64::from(t.refund_percent) * n.purchases {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push(Signal {
            kind: SignalType::HighRefundRate,
            target_kind: TargetKind::Course,
            target_ref: "course".into(),
            severity,
            evidence: json!({
                "purchases": n.purchases,
                "refunds": n.refunds,
                "refundPercent": pct(n.refunds, n.purchases),
                "thresholdPercent": t.refund_percent,
                "minPurchases": t.refund_min_purchases,
            }),
        });
    }
    out
}

/// A signal in one sentence, from its stored type and evidence (absent numbers read as 0).
pub fn headline(kind: SignalType, evidence: &Value) -> String {
    let i = |k: &str| evidence[k].as_i64().unwrap_or(0);
    let f = |k: &str| evidence[k].as_f64().unwrap_or(0.0);
    match kind {
        SignalType::HighDropOff => format!(
            "Lesson {} is reached by {} of the {} learners who reached lesson {}: {}% drop off (threshold {}%).",
            i("lessonIndex"),
            i("reach"),
            i("previousReach"),
            i("previousLessonIndex"),
            f("dropPercent"),
            i("thresholdPercent")
        ),
        SignalType::LowQuizPassRate => format!(
            "The quiz of lesson {} passes {} of {} attempts: {}% (threshold {}%).",
            i("lessonIndex"),
            i("passes"),
            i("attempts"),
            f("passPercent"),
            i("thresholdPercent")
        ),
        SignalType::LowCompletion => format!(
            "{} of {} enrolled learners who studied the course have completed it: {}% (threshold {}%).",
            i("completed"),
            i("studying"),
            f("completionPercent"),
            i("thresholdPercent")
        ),
        SignalType::HighRefundRate => format!(
            "{} of {} purchases were refunded: {}% (threshold {}%).",
            i("refunds"),
            i("purchases"),
            f("refundPercent"),
            i("thresholdPercent")
        ),
    }
}

/// Signals are found per ISO week, Monday to Sunday (UTC).
pub const WINDOW_DAYS: i64 = 7;
/// A week is judged only once it ended this long ago: events may arrive up to 24 hours
/// late, and the aggregation that counts them runs every 10 minutes.
pub const SETTLE: Duration = Duration::hours(26);

/// The week (`[Monday, next Monday)`) holding `day`.
pub fn week_of(day: Date) -> (Date, Date) {
    let back = i64::from(day.weekday().number_days_from_monday());
    let start = day - Duration::days(back);
    debug_assert_eq!(start.weekday(), Weekday::Monday);
    (start, start + Duration::days(WINDOW_DAYS))
}

/// The `count` latest weeks that had settled by `now`, newest first.
pub fn settled_windows(now: OffsetDateTime, count: usize) -> Vec<(Date, Date)> {
    let (mut start, _) = week_of((now - SETTLE).date());
    // The week holding now - SETTLE has not ended by then: the one before it is the newest.
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        start -= Duration::days(WINDOW_DAYS);
        out.push((start, start + Duration::days(WINDOW_DAYS)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn lesson(n: i32, reach: i64) -> LessonNumbers {
        LessonNumbers {
            lesson_id: format!("m1-l{n}"),
            index: n,
            reach,
            quiz_attempts: 0,
            quiz_passes: 0,
        }
    }

    fn kinds(s: &[Signal]) -> Vec<(SignalType, String, Severity)> {
        s.iter()
            .map(|s| (s.kind, s.target_ref.clone(), s.severity))
            .collect()
    }

    #[test]
    fn drop_off_fires_strictly_past_its_threshold_and_only_with_enough_learners() {
        let t = Thresholds::default();
        // 100 → 70 is exactly 30%: no signal. 100 → 69 is more: one, on the second lesson.
        let at = CourseNumbers {
            lessons: vec![lesson(1, 100), lesson(2, 70)],
            ..Default::default()
        };
        assert!(evaluate(&t, &at).is_empty());
        let past = CourseNumbers {
            lessons: vec![lesson(1, 100), lesson(2, 69), lesson(3, 69)],
            ..Default::default()
        };
        let s = evaluate(&t, &past);
        assert_eq!(
            kinds(&s),
            [(SignalType::HighDropOff, "m1-l2".into(), Severity::Medium)]
        );
        assert_eq!(s[0].evidence["dropPercent"], 31.0);
        assert_eq!(s[0].evidence["previousReach"], 100);
        // 60% and more is twice the threshold: high.
        let steep = CourseNumbers {
            lessons: vec![lesson(1, 100), lesson(2, 40)],
            ..Default::default()
        };
        assert_eq!(evaluate(&t, &steep)[0].severity, Severity::High);
        // 19 learners before the drop are too few, 20 are enough.
        let few = CourseNumbers {
            lessons: vec![lesson(1, 19), lesson(2, 0)],
            ..Default::default()
        };
        assert!(evaluate(&t, &few).is_empty());
        let enough = CourseNumbers {
            lessons: vec![lesson(1, 20), lesson(2, 0)],
            ..Default::default()
        };
        assert_eq!(evaluate(&t, &enough).len(), 1);
    }

    #[test]
    fn quiz_completion_and_refund_rules_fire_exactly_past_their_thresholds() {
        let t = Thresholds::default();
        let quiz = |attempts, passes| CourseNumbers {
            lessons: vec![LessonNumbers {
                quiz_attempts: attempts,
                quiz_passes: passes,
                ..lesson(1, 0)
            }],
            ..Default::default()
        };
        assert!(
            evaluate(&t, &quiz(20, 10)).is_empty(),
            "50% is not below 50%"
        );
        assert_eq!(
            kinds(&evaluate(&t, &quiz(20, 9))),
            [(
                SignalType::LowQuizPassRate,
                "m1-l1".into(),
                Severity::Medium
            )]
        );
        assert_eq!(evaluate(&t, &quiz(20, 5))[0].severity, Severity::High);
        assert!(evaluate(&t, &quiz(19, 0)).is_empty(), "too few attempts");

        let completion = |studying, completed| CourseNumbers {
            studying,
            completed,
            ..Default::default()
        };
        assert!(evaluate(&t, &completion(100, 20)).is_empty());
        assert_eq!(
            kinds(&evaluate(&t, &completion(100, 19))),
            [(SignalType::LowCompletion, "course".into(), Severity::Medium)]
        );
        assert_eq!(
            evaluate(&t, &completion(100, 10))[0].severity,
            Severity::High
        );
        assert!(evaluate(&t, &completion(19, 0)).is_empty());

        let refunds = |purchases, refunds| CourseNumbers {
            purchases,
            refunds,
            ..Default::default()
        };
        assert!(
            evaluate(&t, &refunds(10, 1)).is_empty(),
            "10% is not above 10%"
        );
        assert_eq!(
            kinds(&evaluate(&t, &refunds(10, 2))),
            [(SignalType::HighRefundRate, "course".into(), Severity::High)]
        );
        assert_eq!(
            evaluate(&t, &refunds(100, 11))[0].severity,
            Severity::Medium
        );
        assert!(evaluate(&t, &refunds(9, 9)).is_empty(), "too few purchases");
        // No purchases at all: the refund rule simply has no data.
        assert!(evaluate(&t, &CourseNumbers::default()).is_empty());
    }

    #[test]
    fn headlines_read_the_evidence_and_types_round_trip() {
        let s = evaluate(
            &Thresholds::default(),
            &CourseNumbers {
                lessons: vec![lesson(1, 100), lesson(2, 40)],
                ..Default::default()
            },
        );
        assert_eq!(
            headline(s[0].kind, &s[0].evidence),
            "Lesson 2 is reached by 40 of the 100 learners who reached lesson 1: 60% drop off (threshold 30%)."
        );
        for k in SignalType::ALL {
            assert_eq!(SignalType::parse(k.as_str()), Some(k));
        }
        for k in TargetKind::ALL {
            assert_eq!(TargetKind::parse(k.as_str()), Some(k));
        }
        for k in Severity::ALL {
            assert_eq!(Severity::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn windows_are_settled_iso_weeks() {
        assert_eq!(
            week_of(date!(2026 - 12 - 06)),
            (date!(2026 - 11 - 30), date!(2026 - 12 - 07))
        );
        // Tuesday 01:00: the week that ended 25 hours ago has not settled yet.
        assert_eq!(
            settled_windows(datetime!(2026-12-08 01:00 UTC), 2),
            [
                (date!(2026 - 11 - 23), date!(2026 - 11 - 30)),
                (date!(2026 - 11 - 16), date!(2026 - 11 - 23))
            ]
        );
        // Tuesday 02:00: it has.
        assert_eq!(
            settled_windows(datetime!(2026-12-08 02:00 UTC), 1),
            [(date!(2026 - 11 - 30), date!(2026 - 12 - 07))]
        );
    }
}
