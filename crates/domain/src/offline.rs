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

/// How many modules and lessons a budget affords: roughly one lesson per 45 minutes, in the
/// preferred number of modules when the brief has one and the budget allows it (every
/// lesson between 5 and 600 minutes, at most 20 lessons a module).
fn shape(hours: u32, preferred: Option<u32>) -> (usize, usize) {
    let budget = hours as usize * 60;
    let lessons = (budget / 45).clamp(2, 60);
    let Some(p) = preferred else {
        let modules = lessons.div_ceil(5).clamp(1, 8);
        return (modules, lessons.div_ceil(modules).clamp(1, 20));
    };
    let fewest = budget.div_ceil(600 * 20).max(1);
    let most = (budget / 5).clamp(1, 20);
    let modules = (p as usize).clamp(fewest, most.max(fewest));
    let mut per = lessons.div_ceil(modules).clamp(1, 20);
    while per > 1 && modules * per > budget / 5 {
        per -= 1;
    }
    while per < 20 && budget.div_ceil(modules * per) > 600 {
        per += 1;
    }
    (modules, per)
}

/// The objectives of the `n`th lesson (0-based, across the syllabus): the brief's learning
/// outcomes in turn, then what the offline drafter always plans.
fn objectives(brief: &Brief, n: usize, topic: &str, part: usize) -> Vec<String> {
    let topic = topic.to_lowercase();
    let mut o = Vec::new();
    if !brief.learning_outcomes.is_empty() {
        o.push(brief.learning_outcomes[n % brief.learning_outcomes.len()].clone());
    }
    o.push(format!(
        "Explain the key ideas of {topic} part {part} for {}",
        brief.title
    ));
    o.push(format!(
        "Apply {topic} part {part} in a short guided exercise"
    ));
    o
}

/// A syllabus whose estimates add up to the time budget exactly.
pub fn syllabus(brief: &Brief, created_at: &str) -> Syllabus {
    let (modules, per_module) = shape(brief.time_budget_hours, brief.preferred_modules);
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
                        objectives: objectives(brief, n - 1, topic, l + 1),
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
        language: brief.language.clone(),
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

/// Three questions built from what the lesson says (its concepts, then its takeaways), with
/// the answer in a different place each time, so they pass the grounding rule whatever the
/// lesson's text.
pub fn quiz(planned: &PlannedLesson, lesson: &Lesson) -> Quiz {
    let clip = |s: &str, n: usize| -> String {
        let s = s.trim();
        match s.char_indices().nth(n) {
            Some((i, _)) => s[..i].trim_end().to_owned(),
            None => s.to_owned(),
        }
    };
    // (what it is called, what the lesson says about it)
    let mut taught: Vec<(String, &str)> = lesson
        .explanation
        .concepts
        .iter()
        .map(|c| (c.title.clone(), c.explanation.as_str()))
        .collect();
    taught.extend(
        lesson
            .key_takeaways
            .iter()
            .map(|t| ("a key takeaway".to_owned(), t.as_str())),
    );
    if taught.is_empty() {
        taught.push((lesson.title.clone(), lesson.explanation.overview.as_str()));
    }
    let questions = (0..3_u8)
        .map(|q| {
            let (about, says) = &taught[q as usize % taught.len()];
            let mut options: Vec<String> = (1..=3)
                .map(|d| format!("A plausible but wrong reading ({d}) of {}", planned.title))
                .collect();
            let correct = (q + planned.id.len() as u8) % 4;
            options.insert(correct as usize, clip(says, 480));
            Question {
                question: clip(
                    &format!(
                        "Question {} on {}: what does the lesson say about {about}?",
                        q + 1,
                        planned.title
                    ),
                    990,
                ),
                options,
                correct_index: correct,
                explanation: clip(
                    &format!("The lesson says, under {about}: {says} ({OFFLINE_MARK})"),
                    1990,
                ),
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
            learning_outcomes: vec![],
            description: None,
            prerequisites: vec![],
            language: "en".into(),
            preferred_modules: None,
        }
    }

    #[test]
    fn the_preferred_module_count_is_honoured_where_the_budget_allows() {
        for hours in [1, 2, 3, 6, 12, 30, 120, 500] {
            for preferred in 1..=20 {
                let mut b = brief(hours);
                b.preferred_modules = Some(preferred);
                let s = syllabus(&b, "t")
                    .validate()
                    .unwrap_or_else(|v| panic!("{hours} h, {preferred} modules: {v}"));
                let budget = hours * 60;
                let fits = preferred * 5 <= budget && budget <= preferred * 600 * 20;
                if fits {
                    assert_eq!(s.modules.len(), preferred as usize, "{hours} h");
                }
            }
        }
    }

    #[test]
    fn learning_outcomes_become_lesson_objectives_and_the_language_is_kept() {
        let mut b = brief(6);
        b.learning_outcomes = vec![
            "Join two tables on a shared key".into(),
            "Group rows and aggregate them".into(),
        ];
        b.language = "de".into();
        let s = syllabus(&b, "t").validate().expect("valid");
        assert_eq!(s.language, "de");
        let firsts: Vec<&str> = s
            .modules
            .iter()
            .flat_map(|m| &m.lessons)
            .map(|l| l.objectives[0].as_str())
            .collect();
        assert_eq!(&firsts[..2], &b.learning_outcomes[..]);
        for o in &b.learning_outcomes {
            assert!(firsts.contains(&o.as_str()), "{o} is planned");
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
                    let l = lesson(&s, module, planned);
                    quiz(planned, &l)
                        .validate_grounded(planned, &l)
                        .unwrap_or_else(|v| panic!("{v}"));
                    l.validate_for(module, planned)
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
