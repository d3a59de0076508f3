//! Deterministic drafts built from the brief and the syllabus alone, with no model at all.
//! This is what the offline LLM provider answers with (and what `demo` and a fresh machine
//! use): every draft passes the schema and the rules, and says plainly that it is an
//! offline draft for a person to rewrite.

use crate::content::{
    AssessmentHook, AssessmentKind, Brief, Concept, Explanation, Lesson, LessonMetadata, Module,
    PlannedLesson, Practice, Project, Question, Quiz, RubricCriterion, RubricLevel, Syllabus,
    SyllabusMetadata,
};

/// Marks every offline artifact (in text and in `metadata.createdBy`).
pub const OFFLINE_MARK: &str = "offline draft";

const TOPICS: [&str; 8] = [
    "Foundations",
    "Core techniques",
    "Working with real data",
    "Patterns and practice",
    "Quality and testing",
    "Scaling up",
    "Troubleshooting",
    "Bringing it together",
];

/// How many modules and lessons a budget affords: roughly one lesson per 45 minutes.
fn shape(hours: u32) -> (usize, usize) {
    let lessons = ((hours * 60) as usize / 45).clamp(2, 60);
    let modules = lessons.div_ceil(5).clamp(1, 8);
    (modules, lessons.div_ceil(modules).clamp(1, 20))
}

/// A syllabus whose estimates add up to the time budget exactly.
pub fn syllabus(brief: &Brief, created_at: &str) -> Syllabus {
    let (modules, per_module) = shape(brief.time_budget_hours);
    let total_lessons = modules * per_module;
    let budget = brief.time_budget_hours as usize * 60;
    let mut prev: Option<String> = None;
    let mut given = 0;
    let mut n = 0;
    let modules = (0..modules)
        .map(|m| {
            let topic = TOPICS[m % TOPICS.len()];
            let lessons = (0..per_module)
                .map(|l| {
                    n += 1;
                    // Spread the budget evenly; the last lesson takes the remainder.
                    let minutes = if n == total_lessons { budget - given } else { budget / total_lessons };
                    given += minutes;
                    let id = format!("m{}-l{}", m + 1, l + 1);
                    let lesson = PlannedLesson {
                        id: id.clone(),
                        title: format!("{topic}: part {}", l + 1),
                        objectives: vec![
                            format!("Explain the key ideas of {} part {} for {}", topic.to_lowercase(), l + 1, brief.title),
                            format!("Apply {} part {} in a short guided exercise", topic.to_lowercase(), l + 1),
                        ],
                        prerequisites: prev.iter().cloned().collect(),
                        estimated_minutes: minutes.max(5) as u32,
                        assessment_hooks: vec![AssessmentHook {
                            kind: if l + 1 == per_module { AssessmentKind::Project } else { AssessmentKind::Quiz },
                            description: format!("Check understanding of {} part {}", topic.to_lowercase(), l + 1),
                        }],
                    };
                    prev = Some(id);
                    lesson
                })
                .collect();
            Module {
                id: format!("m{}", m + 1),
                title: format!("Module {}: {topic}", m + 1),
                summary: format!(
                    "{topic} for {} ({OFFLINE_MARK}: written without a model; rewrite before approving).",
                    brief.audience
                ),
                lessons,
            }
        })
        .collect();
    Syllabus {
        title: brief.title.clone(),
        audience: brief.audience.clone(),
        level: brief.level,
        time_budget_hours: brief.time_budget_hours,
        modules,
        metadata: SyllabusMetadata {
            version: 1,
            created_by: OFFLINE_MARK.into(),
            created_at: created_at.into(),
        },
    }
}

/// A lesson teaching every planned objective, one concept each.
pub fn lesson(syllabus: &Syllabus, module: &Module, planned: &PlannedLesson) -> Lesson {
    let concepts = planned
        .objectives
        .iter()
        .enumerate()
        .map(|(i, objective)| Concept {
            title: format!("Concept {}: {}", i + 1, planned.title),
            explanation: format!(
                "This concept supports the objective \"{objective}\". It is an {OFFLINE_MARK}: a reviewer should replace this text with a real explanation."
            ),
            example: Some(format!("A worked example for {} ({OFFLINE_MARK}).", planned.title)),
            addresses_objectives: vec![i as u32],
        })
        .collect();
    Lesson {
        lesson_id: planned.id.clone(),
        module_id: module.id.clone(),
        title: planned.title.clone(),
        duration_minutes: planned.estimated_minutes,
        objectives: planned.objectives.clone(),
        explanation: Explanation {
            overview: format!(
                "{} is part of {} for {}. This {OFFLINE_MARK} outlines the lesson so a reviewer can see its shape.",
                planned.title, module.title, syllabus.audience
            ),
            concepts,
        },
        key_takeaways: vec![
            format!("The main idea of {}", planned.title),
            format!("How {} connects to {}", planned.title, module.title),
        ],
        practice: Practice {
            prompt: format!(
                "Work through a small exercise that applies {} ({OFFLINE_MARK}).",
                planned.title
            ),
            expected_outcome: format!(
                "A short written result that shows {} applied correctly.",
                planned.title
            ),
        },
        metadata: LessonMetadata {
            level: syllabus.level,
            prerequisites: planned.prerequisites.clone(),
        },
    }
}

/// Three questions with the answer in a different place each time.
pub fn quiz(planned: &PlannedLesson) -> Quiz {
    let questions = (0..3_u8)
        .map(|q| {
            let objective = &planned.objectives[q as usize % planned.objectives.len()];
            let mut options: Vec<String> = (1..=3)
                .map(|d| format!("A plausible but wrong reading ({d}) of {}", planned.title))
                .collect();
            let correct = (q + planned.id.len() as u8) % 4;
            options.insert(
                correct as usize,
                format!("The reading that meets: {objective}"),
            );
            Question {
                question: format!(
                    "Question {} on {}: which statement is right?",
                    q + 1,
                    planned.title
                ),
                options,
                correct_index: correct,
                explanation: format!("It restates the objective \"{objective}\" ({OFFLINE_MARK})."),
            }
        })
        .collect();
    Quiz {
        lesson_id: planned.id.clone(),
        questions,
    }
}

/// A project for the module, with a rubric whose weights add up to 100.
pub fn project(module: &Module) -> Project {
    let level = |label: &str, points: u32| RubricLevel {
        label: label.into(),
        description: format!("{label} work on {}", module.title),
        points,
    };
    let criterion = |name: &str, weight: u32| RubricCriterion {
        criterion: name.into(),
        weight,
        levels: vec![
            level("Beginning", 1),
            level("Developing", 2),
            level("Proficient", 3),
        ],
    };
    Project {
        module_id: module.id.clone(),
        title: format!("Project: {}", module.title),
        problem_statement: format!(
            "Build a small piece of work that uses what {} taught, and explain your choices. This is an {OFFLINE_MARK}.",
            module.title
        ),
        constraints: vec!["Work alone and cite any sources you use".into()],
        deliverables: vec![
            "The finished work itself".into(),
            "A one-page write-up of your choices".into(),
        ],
        rubric: vec![
            criterion("Correctness", 50),
            criterion("Clarity of explanation", 30),
            criterion("Use of the module's ideas", 20),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Constraint, Level};

    fn brief(hours: u32) -> Brief {
        Brief {
            title: "Practical SQL for analysts".into(),
            audience: "Business analysts new to databases".into(),
            level: Level::Beginner,
            time_budget_hours: hours,
            teaching_style: "hands-on".into(),
            constraints: vec![Constraint::Practical],
        }
    }

    #[test]
    fn every_offline_artifact_passes_every_rule_for_any_budget() {
        for hours in [1, 2, 5, 12, 40, 120, 500] {
            let s = syllabus(&brief(hours), "2026-01-01T00:00:00Z")
                .validate()
                .unwrap_or_else(|v| panic!("{hours} h: {v}"));
            for module in &s.modules {
                project(module)
                    .validate_for(module)
                    .unwrap_or_else(|v| panic!("{v}"));
                for planned in &module.lessons {
                    lesson(&s, module, planned)
                        .validate_for(module, planned)
                        .unwrap_or_else(|v| panic!("{v}"));
                    quiz(planned)
                        .validate_for(planned)
                        .unwrap_or_else(|v| panic!("{v}"));
                }
            }
        }
    }

    #[test]
    fn offline_drafts_are_deterministic_and_marked() {
        let a = serde_json::to_string(&syllabus(&brief(8), "t")).expect("json");
        let b = serde_json::to_string(&syllabus(&brief(8), "t")).expect("json");
        assert_eq!(a, b);
        assert!(a.contains(OFFLINE_MARK));
    }
}
