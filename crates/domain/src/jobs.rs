//! Jobs: the unit of execution-plane work and its state machine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// `REQUESTED → PENDING → RUNNING → COMPLETED | FAILED`. The database enforces the same
/// order with a trigger; this type is what the code reasons with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Requested,
    Pending,
    Running,
    Completed,
    Failed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Requested,
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Requested => "REQUESTED",
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
        }
    }

    /// Whether `self → next` is a step of the state machine.
    pub fn can_become(self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Requested, Pending) | (Pending, Running) | (Running, Completed) | (Running, Failed)
        )
    }

    pub fn is_live(self) -> bool {
        matches!(
            self,
            JobStatus::Requested | JobStatus::Pending | JobStatus::Running
        )
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL.into_iter().find(|x| x.as_str() == s.trim().to_ascii_uppercase()).ok_or(
            ParseError {
                field: "status",
                message: format!(
                    "unknown status {s:?}; expected REQUESTED, PENDING, RUNNING, COMPLETED or FAILED"
                ),
            },
        )
    }
}

/// A job kind such as `GENERATE_SYLLABUS`: upper-case letters, digits and underscores.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct JobKind(String);

impl JobKind {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError {
                field: "kind",
                message: format!("{s:?} is not a job kind (upper-case letters, digits, _)"),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_only_moves_forward() {
        use JobStatus::*;
        for from in JobStatus::ALL {
            for to in JobStatus::ALL {
                let allowed = from.can_become(to);
                let expected = matches!(
                    (from, to),
                    (Requested, Pending)
                        | (Pending, Running)
                        | (Running, Completed)
                        | (Running, Failed)
                );
                assert_eq!(allowed, expected, "{from} -> {to}");
            }
        }
        assert!(Completed.is_finished() && !Completed.is_live());
    }

    #[test]
    fn kinds_are_screaming_snake_case() {
        assert!(JobKind::parse("GENERATE_SYLLABUS").is_ok());
        for bad in ["", "generate", "1ABC", "A-B", "A B"] {
            assert!(JobKind::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!("failed".parse::<JobStatus>(), Ok(JobStatus::Failed));
    }
}
