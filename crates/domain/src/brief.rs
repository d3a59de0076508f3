//! Warnings about a brief: asks that pull against each other. A brief with warnings is still
//! accepted (the course team may mean it); the brief form and the syllabus page show them so
//! a reviewer reads the draft with them in mind.

use serde::Serialize;

use crate::content::{Brief, Constraint, Level};

/// Fewer learner hours than this per preferred module is a warning.
pub const MIN_HOURS_PER_MODULE: u32 = 1;

/// One thing in a brief that is probably not what its authors want.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// JSON Pointer to the field the warning is about.
    pub path: String,
    pub message: String,
}

/// Words in a beginner course's prerequisites that say it is not for beginners.
const ADVANCED_WORDS: &[&str] = &["advanced", "expert", "proficient", "fluent", "senior"];

impl Brief {
    /// Every contradiction in the brief, in field order. Pure and cheap: the pages compute
    /// it again from the stored brief instead of storing it.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut w = Vec::new();
        let mut add = |path: &str, message: String| {
            w.push(Warning {
                path: path.into(),
                message,
            })
        };
        if self.learning_outcomes.is_empty() {
            add(
                "/learningOutcomes",
                "No learning outcomes: the syllabus's objectives will come from the title and audience alone.".into(),
            );
        }
        let has = |c: Constraint| self.constraints.contains(&c);
        if has(Constraint::ExamFocused) && has(Constraint::ProjectBased) {
            add(
                "/constraints",
                "Exam-focused and project-based pull apart: an exam rewards recall under time, a project rewards building over days. Say which one grades the course.".into(),
            );
        }
        if has(Constraint::Practical) && has(Constraint::Theoretical) {
            add(
                "/constraints",
                "Practical and theoretical are both asked for; the syllabus can balance them only by giving each less time.".into(),
            );
        }
        if let Some(n) = self.preferred_modules
            && n > self.time_budget_hours / MIN_HOURS_PER_MODULE
        {
            add(
                "/preferredModules",
                format!(
                    "{n} modules in {} hour(s) leaves less than {MIN_HOURS_PER_MODULE} hour per module; expect fewer modules or a larger budget.",
                    self.time_budget_hours
                ),
            );
        }
        if self.level == Level::Beginner
            && let Some(p) = self.prerequisites.iter().find(|p| {
                let p = p.to_lowercase();
                ADVANCED_WORDS
                    .iter()
                    .any(|a| p.split(|c: char| !c.is_alphanumeric()).any(|w| w == *a))
            })
        {
            add(
                "/prerequisites",
                format!(
                    "The level is beginner, but the prerequisite {p:?} asks for advanced knowledge."
                ),
            );
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief() -> Brief {
        Brief {
            title: "Practical SQL for analysts".into(),
            audience: "Business analysts new to databases".into(),
            level: Level::Beginner,
            time_budget_hours: 6,
            teaching_style: "hands-on".into(),
            constraints: vec![Constraint::Practical],
            learning_outcomes: vec!["Join two tables on a shared key".into()],
            description: None,
            prerequisites: vec!["Basic spreadsheet use".into()],
            language: "en".into(),
            preferred_modules: Some(3),
        }
    }

    fn paths(b: &Brief) -> Vec<String> {
        b.warnings().into_iter().map(|w| w.path).collect()
    }

    #[test]
    fn a_consistent_brief_has_no_warnings() {
        assert_eq!(brief().warnings(), vec![]);
    }

    #[test]
    fn exam_focused_with_project_based_is_a_warning() {
        let mut b = brief();
        b.constraints = vec![Constraint::ExamFocused, Constraint::ProjectBased];
        assert_eq!(paths(&b), ["/constraints"]);
        assert!(b.warnings()[0].message.contains("Exam-focused"));
    }

    #[test]
    fn practical_with_theoretical_is_a_warning() {
        let mut b = brief();
        b.constraints = vec![Constraint::Theoretical, Constraint::Practical];
        assert_eq!(paths(&b), ["/constraints"]);
        b.constraints.push(Constraint::ExamFocused);
        b.constraints.push(Constraint::ProjectBased);
        assert_eq!(paths(&b), ["/constraints", "/constraints"]);
    }

    #[test]
    fn more_modules_than_budget_hours_is_a_warning() {
        let mut b = brief();
        b.preferred_modules = Some(6);
        assert_eq!(paths(&b), Vec::<String>::new(), "one hour each is enough");
        b.preferred_modules = Some(7);
        assert_eq!(paths(&b), ["/preferredModules"]);
        assert!(b.warnings()[0].message.contains("7 modules in 6 hour(s)"));
    }

    #[test]
    fn a_beginner_course_asking_for_advanced_prerequisites_is_a_warning() {
        let mut b = brief();
        b.prerequisites = vec!["Advanced window functions".into()];
        assert_eq!(paths(&b), ["/prerequisites"]);
        b.level = Level::Intermediate;
        assert_eq!(paths(&b), Vec::<String>::new());
        b.level = Level::Beginner;
        b.prerequisites = vec!["Some advancedness".into()];
        assert_eq!(paths(&b), Vec::<String>::new(), "whole words only");
    }

    #[test]
    fn a_brief_without_outcomes_is_a_warning_and_an_old_stored_brief_parses() {
        let old: Brief = serde_json::from_value(serde_json::json!({
            "title": "Practical SQL for analysts", "audience": "Business analysts",
            "level": "beginner", "timeBudgetHours": 6, "teachingStyle": "hands-on",
            "constraints": ["practical"]
        }))
        .expect("a brief stored before outcomes existed");
        assert_eq!(old.language, "en");
        assert_eq!(
            (old.preferred_modules, old.description.as_deref()),
            (None, None)
        );
        assert_eq!(paths(&old), ["/learningOutcomes"]);
        old.validate().expect("still valid");
    }
}
