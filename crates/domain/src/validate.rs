//! Rules beyond the JSON Schema. Every check runs and every violation is reported with its
//! JSON Pointer path, so a repair prompt (or a reviewer) sees all that is wrong at once.

use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;

use serde::Serialize;

use crate::content::{Brief, Lesson, Module, PlannedLesson, Project, Quiz, Syllabus};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON Pointer to the offending value, e.g. `/modules/0/lessons/2/objectives`.
    pub path: String,
    pub message: String,
}

/// Every broken rule of one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|v| format!("{}: {}", v.path, v.message))
            .collect();
        write!(f, "{} violation(s): {}", self.0.len(), parts.join("; "))
    }
}

impl std::error::Error for Violations {}

/// A value that passed every rule. It can only be made by validation, so holding one is proof.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Valid<T>(T);

impl<T> Valid<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Valid<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Collects violations as the checks run.
#[derive(Default)]
struct Report(Vec<Violation>);

impl Report {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    fn text(&mut self, path: &str, value: &str, min: usize, max: usize) {
        let n = value.trim().chars().count();
        if n < min {
            self.add(path, format!("must be at least {min} characters (has {n})"));
        } else if n > max {
            self.add(path, format!("must be at most {max} characters (has {n})"));
        }
    }

    fn count(&mut self, path: &str, n: usize, min: usize, max: usize, what: &str) {
        if n < min {
            self.add(path, format!("needs at least {min} {what} (has {n})"));
        } else if n > max {
            self.add(path, format!("allows at most {max} {what} (has {n})"));
        }
    }

    fn range(&mut self, path: &str, v: u32, min: u32, max: u32) {
        if v < min || v > max {
            self.add(path, format!("must be between {min} and {max} (is {v})"));
        }
    }

    fn id(&mut self, path: &str, id: &str) {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            self.add(
                path,
                format!("{id:?} is not an id (lower-case letters, digits, hyphens)"),
            );
        }
    }

    fn language(&mut self, path: &str, tag: &str) {
        if !is_language_tag(tag) {
            self.add(
                path,
                format!("{tag:?} is not a language tag (such as en, de or fr-CA)"),
            );
        }
    }

    fn finish<T>(self, value: T) -> Result<Valid<T>, Violations> {
        if self.0.is_empty() {
            Ok(Valid(value))
        } else {
            Err(Violations(self.0))
        }
    }
}

fn normalized(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Brief {
    pub fn validate(self) -> Result<Valid<Brief>, Violations> {
        let mut r = Report::default();
        r.text("/title", &self.title, 5, 200);
        r.text("/audience", &self.audience, 5, 500);
        r.text("/teachingStyle", &self.teaching_style, 3, 500);
        r.range("/timeBudgetHours", self.time_budget_hours, 1, 500);
        let distinct: HashSet<_> = self.constraints.iter().collect();
        if distinct.len() != self.constraints.len() {
            r.add("/constraints", "lists a constraint twice");
        }
        // Outcomes may be absent (briefs stored before they existed, clients that send
        // none: `Brief::warnings` says so); when given, 1 to 12 bounded statements.
        r.count(
            "/learningOutcomes",
            self.learning_outcomes.len(),
            0,
            12,
            "learning outcomes",
        );
        let mut outcomes = HashSet::new();
        for (o, outcome) in self.learning_outcomes.iter().enumerate() {
            r.text(&format!("/learningOutcomes/{o}"), outcome, 10, 300);
            if !outcomes.insert(normalized(outcome)) {
                r.add(format!("/learningOutcomes/{o}"), "repeats another outcome");
            }
        }
        if let Some(d) = &self.description {
            r.text("/description", d, 10, 2000);
        }
        r.count(
            "/prerequisites",
            self.prerequisites.len(),
            0,
            10,
            "prerequisites",
        );
        for (p, pre) in self.prerequisites.iter().enumerate() {
            r.text(&format!("/prerequisites/{p}"), pre, 3, 300);
        }
        r.language("/language", &self.language);
        if let Some(n) = self.preferred_modules {
            r.range("/preferredModules", n, 1, 20);
        }
        r.finish(self)
    }
}

/// Whether `tag` looks like a BCP 47 language tag: a 2–3 letter language, then subtags of
/// 2–8 letters or digits (`en`, `de`, `fr-CA`, `zh-Hant-TW`).
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or_default();
    tag.len() <= 35
        && (2..=3).contains(&lang.len())
        && lang.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// How far the lessons' estimates may stray from the time budget.
pub const ESTIMATE_TOLERANCE: f64 = 0.15;

impl Syllabus {
    pub fn validate(self) -> Result<Valid<Syllabus>, Violations> {
        let mut r = Report::default();
        r.text("/title", &self.title, 5, 200);
        r.text("/audience", &self.audience, 5, 500);
        r.range("/timeBudgetHours", self.time_budget_hours, 1, 500);
        r.count("/modules", self.modules.len(), 1, 20, "modules");
        r.language("/language", &self.language);
        if self.metadata.version < 1 {
            r.add("/metadata/version", "must be at least 1");
        }
        let mut module_ids = HashSet::new();
        let mut lesson_ids = HashSet::new();
        let mut seen_before: HashSet<&str> = HashSet::new();
        let mut minutes = 0_u64;
        for (m, module) in self.modules.iter().enumerate() {
            let mp = format!("/modules/{m}");
            check_module(&mut r, &mp, module);
            if !module_ids.insert(module.id.as_str()) {
                r.add(
                    format!("{mp}/id"),
                    format!("module id {:?} is used twice", module.id),
                );
            }
            for (l, lesson) in module.lessons.iter().enumerate() {
                let lp = format!("{mp}/lessons/{l}");
                check_planned(&mut r, &lp, lesson);
                if !lesson_ids.insert(lesson.id.as_str()) {
                    r.add(
                        format!("{lp}/id"),
                        format!("lesson id {:?} is used twice", lesson.id),
                    );
                }
                for (p, pre) in lesson.prerequisites.iter().enumerate() {
                    if !seen_before.contains(pre.as_str()) {
                        r.add(
                            format!("{lp}/prerequisites/{p}"),
                            format!("{pre:?} is not an earlier lesson of this syllabus"),
                        );
                    }
                }
                seen_before.insert(lesson.id.as_str());
                minutes += u64::from(lesson.estimated_minutes);
            }
        }
        let budget = f64::from(self.time_budget_hours) * 60.0;
        let off = (minutes as f64 - budget) / budget;
        if off.abs() > ESTIMATE_TOLERANCE {
            r.add(
                "/modules",
                format!(
                    "lesson estimates add up to {minutes} minutes, {:+.0}% off the budget of {budget:.0} minutes (allowed ±15%)",
                    off * 100.0
                ),
            );
        }
        r.finish(self)
    }

    /// The planned lesson with `id`, and its module.
    pub fn lesson(&self, id: &str) -> Option<(&Module, &PlannedLesson)> {
        self.modules
            .iter()
            .find_map(|m| m.lessons.iter().find(|l| l.id == id).map(|l| (m, l)))
    }
}

fn check_module(r: &mut Report, mp: &str, module: &Module) {
    r.id(&format!("{mp}/id"), &module.id);
    r.text(&format!("{mp}/title"), &module.title, 5, 200);
    r.text(&format!("{mp}/summary"), &module.summary, 20, 2000);
    r.count(
        &format!("{mp}/lessons"),
        module.lessons.len(),
        1,
        20,
        "lessons",
    );
}

fn check_planned(r: &mut Report, lp: &str, lesson: &PlannedLesson) {
    r.id(&format!("{lp}/id"), &lesson.id);
    r.text(&format!("{lp}/title"), &lesson.title, 5, 200);
    r.count(
        &format!("{lp}/objectives"),
        lesson.objectives.len(),
        1,
        8,
        "objectives",
    );
    for (o, objective) in lesson.objectives.iter().enumerate() {
        r.text(&format!("{lp}/objectives/{o}"), objective, 10, 300);
    }
    r.range(
        &format!("{lp}/estimatedMinutes"),
        lesson.estimated_minutes,
        5,
        600,
    );
    for (h, hook) in lesson.assessment_hooks.iter().enumerate() {
        r.text(
            &format!("{lp}/assessmentHooks/{h}/description"),
            &hook.description,
            10,
            500,
        );
    }
}

impl Lesson {
    /// Checks the lesson against the planned lesson it was generated for: the same ids and
    /// objectives, and every objective taught by at least one concept.
    pub fn validate_for(
        self,
        module: &Module,
        planned: &PlannedLesson,
    ) -> Result<Valid<Lesson>, Violations> {
        let mut r = Report::default();
        if self.lesson_id != planned.id {
            r.add(
                "/lessonId",
                format!("must be {:?}, the planned lesson's id", planned.id),
            );
        }
        if self.module_id != module.id {
            r.add(
                "/moduleId",
                format!("must be {:?}, the planned lesson's module", module.id),
            );
        }
        r.text("/title", &self.title, 5, 200);
        r.range("/durationMinutes", self.duration_minutes, 5, 600);
        if self.objectives != planned.objectives {
            r.add(
                "/objectives",
                "must be exactly the syllabus objectives of this lesson, in order",
            );
        }
        r.text(
            "/explanation/overview",
            &self.explanation.overview,
            50,
            20_000,
        );
        r.count(
            "/explanation/concepts",
            self.explanation.concepts.len(),
            1,
            12,
            "concepts",
        );
        let mut covered = HashSet::new();
        for (c, concept) in self.explanation.concepts.iter().enumerate() {
            let cp = format!("/explanation/concepts/{c}");
            r.text(&format!("{cp}/title"), &concept.title, 3, 200);
            r.text(
                &format!("{cp}/explanation"),
                &concept.explanation,
                50,
                20_000,
            );
            if concept.addresses_objectives.is_empty() {
                r.add(
                    format!("{cp}/addressesObjectives"),
                    "must name at least one objective it teaches",
                );
            }
            for (i, idx) in concept.addresses_objectives.iter().enumerate() {
                if (*idx as usize) < planned.objectives.len() {
                    covered.insert(*idx as usize);
                } else {
                    r.add(
                        format!("{cp}/addressesObjectives/{i}"),
                        format!("there is no objective {idx}"),
                    );
                }
            }
        }
        for (o, objective) in planned.objectives.iter().enumerate() {
            if !covered.contains(&o) {
                r.add(
                    format!("/objectives/{o}"),
                    format!("no concept addresses the objective {objective:?}"),
                );
            }
        }
        r.count(
            "/keyTakeaways",
            self.key_takeaways.len(),
            2,
            10,
            "key takeaways",
        );
        for (k, t) in self.key_takeaways.iter().enumerate() {
            r.text(&format!("/keyTakeaways/{k}"), t, 10, 500);
        }
        r.text("/practice/prompt", &self.practice.prompt, 30, 5000);
        r.text(
            "/practice/expectedOutcome",
            &self.practice.expected_outcome,
            30,
            5000,
        );
        r.finish(self)
    }
}

impl Quiz {
    /// Checks the quiz's own rules against the planned lesson it is for. A person's edit is
    /// held to these; a generated quiz also to [`Quiz::validate_grounded`].
    pub fn validate_for(self, planned: &PlannedLesson) -> Result<Valid<Quiz>, Violations> {
        let mut r = Report::default();
        self.check(&mut r, planned);
        r.finish(self)
    }

    /// [`Quiz::validate_for`], and every question's correct option and explanation grounded
    /// in what `lesson` says (see [`crate::grounding`]).
    pub fn validate_grounded(
        self,
        planned: &PlannedLesson,
        lesson: &Lesson,
    ) -> Result<Valid<Quiz>, Violations> {
        let mut r = Report::default();
        self.check(&mut r, planned);
        r.0.extend(crate::grounding::ungrounded(&self, lesson));
        r.finish(self)
    }

    fn check(&self, r: &mut Report, planned: &PlannedLesson) {
        if self.lesson_id != planned.id {
            r.add("/lessonId", format!("must be {:?}", planned.id));
        }
        r.count("/questions", self.questions.len(), 1, 20, "questions");
        for (q, question) in self.questions.iter().enumerate() {
            let qp = format!("/questions/{q}");
            r.text(&format!("{qp}/question"), &question.question, 10, 1000);
            r.text(
                &format!("{qp}/explanation"),
                &question.explanation,
                20,
                2000,
            );
            if question.options.len() != 4 {
                r.add(
                    format!("{qp}/options"),
                    format!("needs exactly 4 options (has {})", question.options.len()),
                );
            }
            let mut seen = HashSet::new();
            for (o, option) in question.options.iter().enumerate() {
                r.text(&format!("{qp}/options/{o}"), option, 1, 500);
                if !seen.insert(normalized(option)) {
                    r.add(format!("{qp}/options/{o}"), "repeats another option");
                }
            }
            if question.correct_index > 3 {
                r.add(
                    format!("{qp}/correctIndex"),
                    format!("must be 0 to 3 (is {})", question.correct_index),
                );
            }
        }
        let positions: HashSet<u8> = self.questions.iter().map(|q| q.correct_index).collect();
        if self.questions.len() >= 3 && positions.len() == 1 {
            r.add(
                "/questions",
                "every correct answer is in the same position; vary them",
            );
        }
    }
}

impl Project {
    pub fn validate_for(self, module: &Module) -> Result<Valid<Project>, Violations> {
        let mut r = Report::default();
        if self.module_id != module.id {
            r.add("/moduleId", format!("must be {:?}", module.id));
        }
        r.text("/title", &self.title, 5, 200);
        r.text("/problemStatement", &self.problem_statement, 50, 20_000);
        r.count(
            "/deliverables",
            self.deliverables.len(),
            1,
            10,
            "deliverables",
        );
        for (d, deliverable) in self.deliverables.iter().enumerate() {
            r.text(&format!("/deliverables/{d}"), deliverable, 10, 1000);
        }
        r.count("/rubric", self.rubric.len(), 1, 10, "criteria");
        let total: u32 = self.rubric.iter().map(|c| c.weight).sum();
        if total != 100 {
            r.add(
                "/rubric",
                format!("criterion weights must add up to 100 (they add up to {total})"),
            );
        }
        for (c, criterion) in self.rubric.iter().enumerate() {
            let cp = format!("/rubric/{c}");
            r.text(&format!("{cp}/criterion"), &criterion.criterion, 3, 200);
            r.range(&format!("{cp}/weight"), criterion.weight, 1, 100);
            r.count(
                &format!("{cp}/levels"),
                criterion.levels.len(),
                2,
                6,
                "levels",
            );
            let mut labels = HashSet::new();
            for (l, level) in criterion.levels.iter().enumerate() {
                r.text(&format!("{cp}/levels/{l}/label"), &level.label, 2, 60);
                r.text(
                    &format!("{cp}/levels/{l}/description"),
                    &level.description,
                    10,
                    1000,
                );
                if !labels.insert(normalized(&level.label)) {
                    r.add(
                        format!("{cp}/levels/{l}/label"),
                        "repeats another level's label",
                    );
                }
            }
        }
        r.finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Constraint, Level};
    use crate::offline;

    fn brief() -> Brief {
        Brief {
            title: "Practical SQL for analysts".into(),
            audience: "Business analysts new to databases".into(),
            level: Level::Beginner,
            time_budget_hours: 6,
            teaching_style: "hands-on".into(),
            constraints: vec![Constraint::Practical],
            learning_outcomes: vec!["Write a query that joins two tables".into()],
            description: None,
            prerequisites: vec![],
            language: "en".into(),
            preferred_modules: None,
        }
    }

    fn paths(v: &Violations) -> Vec<&str> {
        v.0.iter().map(|x| x.path.as_str()).collect()
    }

    #[test]
    fn a_syllabus_reports_every_violation_at_once() {
        let mut s = offline::syllabus(&brief(), "t");
        s.title = "SQL".into();
        let dup = s.modules[0].lessons[0].id.clone();
        s.modules[0].lessons[1].id = dup;
        let later = s.modules[1].lessons[0].id.clone();
        s.modules[0].lessons[0].prerequisites = vec![later];
        s.modules[1].lessons[0].estimated_minutes += 200;
        s.modules[1].lessons[1].objectives.clear();
        let v = s.validate().expect_err("invalid");
        let p = paths(&v);
        assert!(p.contains(&"/title"), "{v}");
        assert!(p.contains(&"/modules/0/lessons/1/id"), "{v}");
        assert!(p.contains(&"/modules/0/lessons/0/prerequisites/0"), "{v}");
        assert!(p.contains(&"/modules"), "estimate check: {v}");
        assert!(p.contains(&"/modules/1/lessons/1/objectives"), "{v}");
        assert!(v.0.len() >= 5);
    }

    #[test]
    fn estimates_within_fifteen_percent_pass_and_beyond_fail() {
        let s = offline::syllabus(&brief(), "t");
        let budget = 6 * 60;
        let lessons: u32 = s.modules.iter().map(|m| m.lessons.len() as u32).sum();
        let mut ok = s.clone();
        ok.modules[0].lessons[0].estimated_minutes += budget * 14 / 100;
        assert!(ok.validate().is_ok());
        let mut bad = s;
        bad.modules[0].lessons[0].estimated_minutes += budget * 16 / 100;
        let v = bad.validate().expect_err("over");
        assert!(v.0[0].message.contains("+16%"), "{v} ({lessons} lessons)");
    }

    #[test]
    fn a_lesson_must_teach_every_planned_objective() {
        let s = offline::syllabus(&brief(), "t");
        let (m, p) = (&s.modules[0], &s.modules[0].lessons[0]);
        let mut l = offline::lesson(&s, m, p);
        l.explanation.concepts.truncate(1);
        l.explanation.concepts[0].addresses_objectives = vec![0, 7];
        l.key_takeaways.truncate(1);
        let v = l.validate_for(m, p).expect_err("invalid");
        let p = paths(&v);
        assert!(p.contains(&"/objectives/1"), "uncovered objective: {v}");
        assert!(
            p.contains(&"/explanation/concepts/0/addressesObjectives/1"),
            "{v}"
        );
        assert!(p.contains(&"/keyTakeaways"), "{v}");
    }

    #[test]
    fn quiz_options_are_four_and_distinct_and_answers_vary() {
        let s = offline::syllabus(&brief(), "t");
        let p = &s.modules[0].lessons[0];
        let l = offline::lesson(&s, &s.modules[0], p);
        let mut q = offline::quiz(p, &l);
        q.questions[0].options[1] = q.questions[0].options[0].to_uppercase();
        q.questions[1].options.pop();
        for question in &mut q.questions {
            question.correct_index = 2;
        }
        let v = q.validate_for(p).expect_err("invalid");
        let p = paths(&v);
        assert!(p.contains(&"/questions/0/options/1"), "{v}");
        assert!(p.contains(&"/questions/1/options"), "{v}");
        assert!(p.contains(&"/questions"), "same positions: {v}");
    }

    #[test]
    fn rubric_weights_must_add_up_to_one_hundred() {
        let s = offline::syllabus(&brief(), "t");
        let m = &s.modules[0];
        let mut pr = offline::project(m);
        pr.rubric[0].weight -= 10;
        let v = pr.validate_for(m).expect_err("invalid");
        assert_eq!(paths(&v), vec!["/rubric"]);
        assert!(v.0[0].message.contains("add up to 90"));
    }

    #[test]
    fn a_brief_rejects_short_fields_and_repeated_constraints() {
        let mut b = brief();
        b.title = "x".into();
        b.time_budget_hours = 0;
        b.constraints = vec![Constraint::Practical, Constraint::Practical];
        let v = b.validate().expect_err("invalid");
        assert_eq!(
            paths(&v),
            vec!["/title", "/timeBudgetHours", "/constraints"]
        );
    }

    #[test]
    fn a_brief_bounds_its_outcomes_description_prerequisites_language_and_modules() {
        let mut b = brief();
        b.learning_outcomes = (0..13).map(|i| format!("Outcome number {i}")).collect();
        b.learning_outcomes[1] = "short".into();
        b.description = Some("tiny".into());
        b.prerequisites = vec!["x".into()];
        b.language = "english please".into();
        b.preferred_modules = Some(21);
        let v = b.validate().expect_err("invalid");
        assert_eq!(
            paths(&v),
            vec![
                "/learningOutcomes",
                "/learningOutcomes/1",
                "/description",
                "/prerequisites/0",
                "/language",
                "/preferredModules"
            ]
        );
        let mut ok = brief();
        ok.language = "fr-CA".into();
        ok.preferred_modules = Some(20);
        ok.description = Some("A course about joining and grouping.".into());
        ok.validate().expect("valid");
        for tag in ["en", "de", "fr-CA", "zh-Hant-TW", "gsw"] {
            assert!(is_language_tag(tag), "{tag}");
        }
        for tag in ["", "e", "english", "en_US", "en-", "-en", "fr-C"] {
            assert!(!is_language_tag(tag), "{tag}");
        }
    }
}
