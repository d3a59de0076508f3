//! Jobs: the unit of execution-plane work and its state machine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// The typed job contract: what a generation job is asked to do. Its kind, target and
/// payload (the `instruction` JSON stored with the job) all derive from it, and executors
/// are keyed by its variant, so a kind string or a payload field is written in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobSpec {
    /// A brief becomes a syllabus draft of its course.
    GenerateSyllabus { brief_id: Uuid },
    /// One module of an approved syllabus becomes lesson, quiz and project drafts.
    GenerateContent {
        course_id: Uuid,
        syllabus_id: Uuid,
        module_id: String,
    },
    /// A new draft version of an artifact, made with a reviewer's instruction.
    Regenerate {
        artifact_id: Uuid,
        instruction: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyllabusPayload {
    brief_id: Uuid,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentPayload {
    /// Absent in jobs stored before courses had ids of their own.
    #[serde(default)]
    course_id: Option<Uuid>,
    syllabus_id: Uuid,
    module_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegeneratePayload {
    artifact_id: Uuid,
    reviewer_instruction: String,
    #[serde(default)]
    bypass_cache: bool,
}

impl JobSpec {
    pub const GENERATE_SYLLABUS: &'static str = "GENERATE_SYLLABUS";
    pub const GENERATE_CONTENT: &'static str = "GENERATE_CONTENT";
    pub const REGENERATE_ARTIFACT: &'static str = "REGENERATE_ARTIFACT";

    /// The kind stored in `jobs.kind`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            JobSpec::GenerateSyllabus { .. } => Self::GENERATE_SYLLABUS,
            JobSpec::GenerateContent { .. } => Self::GENERATE_CONTENT,
            JobSpec::Regenerate { .. } => Self::REGENERATE_ARTIFACT,
        }
    }

    pub fn kind(&self) -> JobKind {
        JobKind(self.kind_str().to_owned())
    }

    /// What the job works on, as (type, id): at most one live job per target and kind.
    pub fn target(&self) -> (&'static str, String) {
        match self {
            JobSpec::GenerateSyllabus { brief_id } => ("brief", brief_id.to_string()),
            JobSpec::GenerateContent {
                syllabus_id,
                module_id,
                ..
            } => ("syllabus_module", format!("{syllabus_id}/{module_id}")),
            JobSpec::Regenerate { artifact_id, .. } => ("artifact", artifact_id.to_string()),
        }
    }

    /// The payload stored with the job.
    pub fn payload(&self) -> serde_json::Value {
        let v = match self {
            JobSpec::GenerateSyllabus { brief_id } => serde_json::to_value(SyllabusPayload {
                brief_id: *brief_id,
            }),
            JobSpec::GenerateContent {
                course_id,
                syllabus_id,
                module_id,
            } => serde_json::to_value(ContentPayload {
                course_id: Some(*course_id),
                syllabus_id: *syllabus_id,
                module_id: module_id.clone(),
            }),
            JobSpec::Regenerate {
                artifact_id,
                instruction,
            } => serde_json::to_value(RegeneratePayload {
                artifact_id: *artifact_id,
                reviewer_instruction: instruction.clone(),
                bypass_cache: true,
            }),
        };
        v.unwrap_or_default()
    }

    /// Reads a stored job back; `Ok(None)` for a kind that is not a generation job.
    /// `course_of` finds the course of a syllabus for payloads stored without one.
    pub fn parse(
        kind: &str,
        payload: &serde_json::Value,
        course_of: impl FnOnce(Uuid) -> Option<Uuid>,
    ) -> Result<Option<JobSpec>, ParseError> {
        let bad = |e: serde_json::Error| ParseError {
            field: "instruction",
            message: format!("a {kind} job's payload does not fit its contract: {e}"),
        };
        Ok(Some(match kind {
            Self::GENERATE_SYLLABUS => {
                let p: SyllabusPayload = serde_json::from_value(payload.clone()).map_err(bad)?;
                JobSpec::GenerateSyllabus {
                    brief_id: p.brief_id,
                }
            }
            Self::GENERATE_CONTENT => {
                let p: ContentPayload = serde_json::from_value(payload.clone()).map_err(bad)?;
                let course_id = match p.course_id {
                    Some(c) => c,
                    None => course_of(p.syllabus_id).ok_or_else(|| ParseError {
                        field: "instruction",
                        message: format!("syllabus {} belongs to no course", p.syllabus_id),
                    })?,
                };
                JobSpec::GenerateContent {
                    course_id,
                    syllabus_id: p.syllabus_id,
                    module_id: p.module_id,
                }
            }
            Self::REGENERATE_ARTIFACT => {
                let p: RegeneratePayload = serde_json::from_value(payload.clone()).map_err(bad)?;
                JobSpec::Regenerate {
                    artifact_id: p.artifact_id,
                    instruction: p.reviewer_instruction,
                }
            }
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_back_from_its_own_kind_and_payload() {
        let specs = [
            JobSpec::GenerateSyllabus {
                brief_id: Uuid::new_v4(),
            },
            JobSpec::GenerateContent {
                course_id: Uuid::new_v4(),
                syllabus_id: Uuid::new_v4(),
                module_id: "m1".into(),
            },
            JobSpec::Regenerate {
                artifact_id: Uuid::new_v4(),
                instruction: "shorter".into(),
            },
        ];
        for spec in specs {
            let back = JobSpec::parse(spec.kind_str(), &spec.payload(), |_| None).expect("parses");
            assert_eq!(back, Some(spec));
        }
        assert_eq!(
            JobSpec::parse("NOOP", &serde_json::json!({}), |_| None).expect("other kind"),
            None
        );
        let legacy = serde_json::json!({ "syllabusId": Uuid::nil(), "moduleId": "m1" });
        let course = Uuid::new_v4();
        let Some(JobSpec::GenerateContent { course_id, .. }) =
            JobSpec::parse(JobSpec::GENERATE_CONTENT, &legacy, |_| Some(course)).expect("legacy")
        else {
            panic!("not a content job");
        };
        assert_eq!(course_id, course);
        assert!(
            JobSpec::parse(
                JobSpec::GENERATE_SYLLABUS,
                &serde_json::json!({ "briefId": 3 }),
                |_| None
            )
            .is_err()
        );
    }

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
