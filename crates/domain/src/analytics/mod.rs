//! Learner analytics: the closed set of event types and the limits of ingestion.

use std::fmt;

/// A quiz is passed at this score, in percent (the SCORM packages' mastery score too).
pub const QUIZ_PASS_PERCENT: u32 = 80;
/// Events in one batch.
pub const MAX_BATCH: usize = 100;
/// The most seconds one `lesson_time` heartbeat may claim.
pub const MAX_HEARTBEAT_SECONDS: i64 = 300;

/// Every event type analytics knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    CourseViewed,
    LessonViewed,
    LessonCompleted,
    QuizAttempted,
    QuizPassed,
    Enrolled,
    Purchased,
    Refunded,
    ExportDownloaded,
    /// Seconds actively on a lesson, sent as heartbeats.
    LessonTime,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        Self::CourseViewed,
        Self::LessonViewed,
        Self::LessonCompleted,
        Self::QuizAttempted,
        Self::QuizPassed,
        Self::Enrolled,
        Self::Purchased,
        Self::Refunded,
        Self::ExportDownloaded,
        Self::LessonTime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CourseViewed => "course_viewed",
            Self::LessonViewed => "lesson_viewed",
            Self::LessonCompleted => "lesson_completed",
            Self::QuizAttempted => "quiz_attempted",
            Self::QuizPassed => "quiz_passed",
            Self::Enrolled => "enrolled",
            Self::Purchased => "purchased",
            Self::Refunded => "refunded",
            Self::ExportDownloaded => "export_downloaded",
            Self::LessonTime => "lesson_time",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// What only the browser knows, and so the only events a client may send: the server
    /// records the rest itself, with the action, so they can be neither forged nor lost.
    pub fn from_client(self) -> bool {
        matches!(
            self,
            Self::CourseViewed | Self::LessonViewed | Self::LessonTime
        )
    }

    /// Whether the event is about one lesson (and so needs its index).
    pub fn about_a_lesson(self) -> bool {
        matches!(
            self,
            Self::LessonViewed
                | Self::LessonCompleted
                | Self::LessonTime
                | Self::QuizAttempted
                | Self::QuizPassed
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub mod signals;

/// A quiz score in whole percent (0 when the quiz has no questions).
pub fn percent(score: u32, total: u32) -> u32 {
    (score * 100).checked_div(total).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_clients_send_only_what_the_browser_knows() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        let client: Vec<_> = EventType::ALL
            .into_iter()
            .filter(|t| t.from_client())
            .collect();
        assert_eq!(
            client,
            [
                EventType::CourseViewed,
                EventType::LessonViewed,
                EventType::LessonTime
            ]
        );
        assert_eq!(EventType::parse("LESSON_VIEWED"), None);
        assert_eq!(percent(4, 5), 80);
        assert_eq!(percent(0, 0), 0);
    }
}
