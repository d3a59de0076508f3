//! The artifacts the engines produce: brief, syllabus, lesson, quiz, project.
//!
//! These are the wire shapes (camelCase JSON, no unknown fields); their JSON Schemas in
//! `schemas/` are generated from them. Rules a schema cannot say live in [`crate::validate`],
//! and a [`Valid`] value can only be had by passing them all.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How advanced the audience is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
}

/// What the course must be shaped around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Constraint {
    ExamFocused,
    ProjectBased,
    Practical,
    Theoretical,
    SelfPaced,
}

/// What a course team asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Brief {
    #[schemars(length(min = 5, max = 200))]
    pub title: String,
    #[schemars(length(min = 5, max = 500))]
    pub audience: String,
    pub level: Level,
    /// Total learner time, in hours.
    #[schemars(range(min = 1, max = 500))]
    pub time_budget_hours: u32,
    #[schemars(length(min = 3, max = 500))]
    pub teaching_style: String,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// What a learner can do after the course, one statement each. Briefs stored before
    /// outcomes existed have none.
    #[serde(default)]
    #[schemars(length(max = 12), inner(length(min = 10, max = 300)))]
    pub learning_outcomes: Vec<String>,
    /// What the course is about, in the course team's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 10, max = 2000))]
    pub description: Option<String>,
    /// What a learner should know before starting, one item each.
    #[serde(default)]
    #[schemars(length(max = 10), inner(length(min = 3, max = 300)))]
    pub prerequisites: Vec<String>,
    /// The language the course is written in: a BCP 47 tag such as `en`, `de` or `fr-CA`.
    #[serde(default = "default_language")]
    #[schemars(
        length(min = 2, max = 35),
        regex(pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    )]
    pub language: String,
    /// How many modules the course team would like, if they have a preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 20))]
    pub preferred_modules: Option<u32>,
}

/// The language of a brief or syllabus that names none.
pub const DEFAULT_LANGUAGE: &str = "en";

fn default_language() -> String {
    DEFAULT_LANGUAGE.into()
}

/// A placeholder for an assessment the content engine fills in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssessmentHook {
    pub kind: AssessmentKind,
    #[schemars(length(min = 10))]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssessmentKind {
    Quiz,
    Project,
    Practice,
}

/// A lesson as the syllabus plans it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedLesson {
    /// Stable across versions: progress and regeneration key on it.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    #[schemars(length(min = 5, max = 200))]
    pub title: String,
    #[schemars(length(min = 1, max = 8))]
    pub objectives: Vec<String>,
    /// Ids of earlier lessons this one builds on.
    #[serde(default)]
    pub prerequisites: Vec<String>,
    #[schemars(range(min = 5, max = 600))]
    pub estimated_minutes: u32,
    #[serde(default)]
    pub assessment_hooks: Vec<AssessmentHook>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Module {
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    #[schemars(length(min = 5, max = 200))]
    pub title: String,
    #[schemars(length(min = 20, max = 2000))]
    pub summary: String,
    #[schemars(length(min = 1, max = 20))]
    pub lessons: Vec<PlannedLesson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyllabusMetadata {
    #[schemars(range(min = 1))]
    pub version: u32,
    pub created_by: String,
    pub created_at: String,
}

/// The structure of a course: modules of lessons with objectives and estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Syllabus {
    #[schemars(length(min = 5, max = 200))]
    pub title: String,
    #[schemars(length(min = 5, max = 500))]
    pub audience: String,
    pub level: Level,
    #[schemars(range(min = 1, max = 500))]
    pub time_budget_hours: u32,
    #[schemars(length(min = 1, max = 20))]
    pub modules: Vec<Module>,
    pub metadata: SyllabusMetadata,
    /// The language every part is written in, from the brief (syllabi stored before it was
    /// recorded are English).
    #[serde(default = "default_language")]
    #[schemars(
        length(min = 2, max = 35),
        regex(pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    )]
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Concept {
    #[schemars(length(min = 3, max = 200))]
    pub title: String,
    #[schemars(length(min = 50))]
    pub explanation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Indexes (0-based) of the lesson objectives this concept teaches.
    #[schemars(length(min = 1))]
    pub addresses_objectives: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Explanation {
    #[schemars(length(min = 50))]
    pub overview: String,
    #[schemars(length(min = 1, max = 12))]
    pub concepts: Vec<Concept>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Practice {
    #[schemars(length(min = 30))]
    pub prompt: String,
    #[schemars(length(min = 30))]
    pub expected_outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LessonMetadata {
    pub level: Level,
    #[serde(default)]
    pub prerequisites: Vec<String>,
}

/// A lesson's content, for one planned lesson of an approved syllabus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lesson {
    pub lesson_id: String,
    pub module_id: String,
    #[schemars(length(min = 5, max = 200))]
    pub title: String,
    #[schemars(range(min = 5, max = 600))]
    pub duration_minutes: u32,
    #[schemars(length(min = 1))]
    pub objectives: Vec<String>,
    pub explanation: Explanation,
    #[schemars(length(min = 2, max = 10))]
    pub key_takeaways: Vec<String>,
    pub practice: Practice,
    pub metadata: LessonMetadata,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Question {
    #[schemars(length(min = 10))]
    pub question: String,
    /// Exactly four distinct options.
    #[schemars(length(min = 4, max = 4))]
    pub options: Vec<String>,
    #[schemars(range(min = 0, max = 3))]
    pub correct_index: u8,
    #[schemars(length(min = 20))]
    pub explanation: String,
}

/// Multiple-choice questions for one lesson.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quiz {
    pub lesson_id: String,
    #[schemars(length(min = 1, max = 20))]
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RubricLevel {
    #[schemars(length(min = 2, max = 60))]
    pub label: String,
    #[schemars(length(min = 10))]
    pub description: String,
    pub points: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RubricCriterion {
    #[schemars(length(min = 3, max = 200))]
    pub criterion: String,
    /// Share of the grade, in percent; all criteria add up to 100.
    #[schemars(range(min = 1, max = 100))]
    pub weight: u32,
    #[schemars(length(min = 2, max = 6))]
    pub levels: Vec<RubricLevel>,
}

/// A practical assignment for one module, graded by its rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Project {
    pub module_id: String,
    #[schemars(length(min = 5, max = 200))]
    pub title: String,
    #[schemars(length(min = 50))]
    pub problem_statement: String,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[schemars(length(min = 1, max = 10))]
    pub deliverables: Vec<String>,
    #[schemars(length(min = 1, max = 10))]
    pub rubric: Vec<RubricCriterion>,
}
