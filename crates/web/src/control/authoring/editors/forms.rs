//! The four editors' models: each content type read from its form, its lists changed by
//! the form's buttons, and laid out as fields (name, id, value, problem) for its template.
//! The forms follow the domain types field for field; what a person cannot change (ids of
//! the plan, a lesson's objectives, metadata) is carried over from the version edited.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use db::types::ArtifactKind;
use domain::content::{
    AssessmentHook, AssessmentKind, Concept, Explanation, Level, Module, PlannedLesson, Practice,
    Question, RubricCriterion, RubricLevel,
};
use domain::{Lesson, Project, Quiz, Syllabus};
use serde_json::Value;

use super::fields::{ListOp, Reader, id_of, name_of};

/// One form control: its name, its element id, what it shows, and its problem.
#[derive(Debug, Clone, Default)]
pub struct Field {
    pub name: String,
    pub id: String,
    pub value: String,
    pub error: Option<String>,
}

/// One item of a list, with what its buttons need.
pub struct Item<T> {
    /// 1-based, for people.
    pub n: usize,
    /// The item in a button's value: `modules.0.lessons.2`.
    pub key: String,
    pub first: bool,
    pub last: bool,
    /// The item as a whole (its fieldset), where a rule about all of it points.
    pub anchor: Field,
    pub v: T,
}

/// A list of items and its add button.
pub struct List<T> {
    /// The add button's value: `add:modules.0.lessons`.
    pub add: String,
    pub anchor: Field,
    pub items: Vec<Item<T>>,
}

/// One checkbox of a group sharing a name.
pub struct Check {
    pub name: String,
    pub id: String,
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// A select: the field and its choices (value, label, selected).
pub struct Select {
    pub f: Field,
    pub choices: Vec<(String, String, bool)>,
}

/// Lays out a form: gives every field its name and id, the value to show (what was typed,
/// where it did not parse) and its problem, and remembers which pointers it rendered so a
/// rule's path can be pointed at the nearest field that shows it.
pub struct Build<'a> {
    raw: &'a BTreeMap<String, String>,
    errors: &'a BTreeMap<String, Vec<String>>,
    pub rendered: BTreeSet<String>,
}

fn key_of(ptr: &str) -> String {
    ptr.trim_start_matches('/').replace('/', ".")
}

impl<'a> Build<'a> {
    pub fn new(
        raw: &'a BTreeMap<String, String>,
        errors: &'a BTreeMap<String, Vec<String>>,
    ) -> Self {
        Self {
            raw,
            errors,
            rendered: BTreeSet::new(),
        }
    }

    fn field(&mut self, ptr: &str, value: impl ToString) -> Field {
        self.rendered.insert(ptr.to_owned());
        Field {
            name: name_of(ptr),
            id: id_of(ptr),
            value: self
                .raw
                .get(ptr)
                .cloned()
                .unwrap_or_else(|| value.to_string()),
            error: self.errors.get(ptr).map(|m| m.join(" ")),
        }
    }

    /// A hidden field: sent back, but nothing a problem can point at.
    fn hidden(&self, ptr: &str, value: &str) -> Field {
        Field {
            name: name_of(ptr),
            id: id_of(ptr),
            value: value.to_owned(),
            error: None,
        }
    }

    fn select(&mut self, ptr: &str, value: &str, choices: &[(&str, &str)]) -> Select {
        let f = self.field(ptr, value);
        let choices = choices
            .iter()
            .map(|(v, l)| ((*v).to_owned(), (*l).to_owned(), f.value == *v))
            .collect();
        Select { f, choices }
    }

    /// A checkbox group at `ptr`: one box per (value, label), ticked where selected.
    fn checks(
        &mut self,
        ptr: &str,
        options: Vec<(String, String)>,
        selected: &[String],
    ) -> (Field, Vec<Check>) {
        let group = self.field(ptr, "");
        let boxes = options
            .into_iter()
            .enumerate()
            .map(|(k, (value, label))| Check {
                name: group.name.clone(),
                id: format!("{}-{k}", group.id),
                checked: selected.contains(&value),
                value,
                label,
            })
            .collect();
        (group, boxes)
    }

    fn list<T>(
        &mut self,
        ptr: &str,
        n: usize,
        mut each: impl FnMut(&mut Self, &str, usize) -> T,
    ) -> List<T> {
        let anchor = self.field(ptr, "");
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let p = format!("{ptr}/{i}");
            let item_anchor = self.field(&p, "");
            let v = each(self, &p, i);
            items.push(Item {
                n: i + 1,
                key: key_of(&p),
                first: i == 0,
                last: i + 1 == n,
                anchor: item_anchor,
                v,
            });
        }
        List {
            add: format!("add:{}", key_of(ptr)),
            anchor,
            items,
        }
    }

    fn texts(&mut self, ptr: &str, items: &[String]) -> List<Field> {
        self.list(ptr, items.len(), |b, p, i| b.field(p, &items[i]))
    }
}

/// A content type being edited.
#[derive(Debug, Clone)]
pub enum Draft {
    Syllabus(Syllabus),
    Lesson(Box<Lesson>),
    Quiz(Quiz),
    Project(Project),
}

/// A draft laid out for its template.
pub enum View {
    Syllabus(Box<SyllabusView>),
    Lesson(Box<LessonView>),
    Quiz(QuizView),
    Project(Box<ProjectView>),
}

pub struct SyllabusView {
    pub title: Field,
    pub audience: Field,
    pub level: Select,
    pub hours: Field,
    pub modules: List<ModuleView>,
}

pub struct ModuleView {
    pub id: Field,
    pub title: Field,
    pub summary: Field,
    pub lessons: List<PlanView>,
}

pub struct PlanView {
    pub id: Field,
    pub title: Field,
    pub minutes: Field,
    pub objectives: List<Field>,
    pub prerequisites: Field,
    pub prerequisite_boxes: Vec<Check>,
    pub hooks: List<HookView>,
}

pub struct HookView {
    pub kind: Select,
    pub description: Field,
}

pub struct LessonView {
    pub title: Field,
    pub duration: Field,
    pub objectives_anchor: Field,
    pub objectives: Vec<Field>,
    pub overview: Field,
    pub concepts: List<ConceptView>,
    pub takeaways: List<Field>,
    pub prompt: Field,
    pub outcome: Field,
}

pub struct ConceptView {
    pub title: Field,
    pub explanation: Field,
    pub example: Field,
    pub teaches: Field,
    pub teaches_boxes: Vec<Check>,
}

pub struct QuizView {
    pub questions: List<QuestionView>,
}

pub struct QuestionView {
    pub question: Field,
    pub options_anchor: Field,
    pub options: Vec<Field>,
    pub correct: Select,
    pub explanation: Field,
}

pub struct ProjectView {
    pub title: Field,
    pub problem: Field,
    pub constraints: List<Field>,
    pub deliverables: List<Field>,
    pub rubric: List<CriterionView>,
}

pub struct CriterionView {
    pub criterion: Field,
    pub weight: Field,
    pub levels: List<LevelView>,
}

pub struct LevelView {
    pub label: Field,
    pub description: Field,
    pub points: Field,
}

const LEVELS: &[(&str, &str)] = &[
    ("beginner", "Beginner"),
    ("intermediate", "Intermediate"),
    ("advanced", "Advanced"),
];
const HOOK_KINDS: &[(&str, &str)] = &[
    ("quiz", "Quiz"),
    ("project", "Project"),
    ("practice", "Practice"),
];

/// The JSON word of a unit enum value (`beginner`, `quiz`).
fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The first of `prefix1`, `prefix2`, … that `used` does not hold.
fn fresh(used: &HashSet<String>, prefix: &str) -> String {
    (1..)
        .map(|n| format!("{prefix}{n}"))
        .find(|c| !used.contains(c))
        .unwrap_or_default()
}

fn blank_lesson(id: String) -> PlannedLesson {
    PlannedLesson {
        id,
        title: String::new(),
        objectives: vec![String::new()],
        prerequisites: Vec::new(),
        // A start a person adjusts; the time budget check says by how much.
        estimated_minutes: 30,
        assessment_hooks: Vec::new(),
    }
}

fn blank_level(points: u32) -> RubricLevel {
    RubricLevel {
        label: String::new(),
        description: String::new(),
        points,
    }
}

impl Draft {
    /// The stored body of an artifact of `kind` as a draft.
    pub fn from_body(kind: ArtifactKind, body: &Value) -> Result<Self, serde_json::Error> {
        let b = body.clone();
        Ok(match kind {
            ArtifactKind::Syllabus => Self::Syllabus(serde_json::from_value(b)?),
            ArtifactKind::Lesson => Self::Lesson(Box::new(serde_json::from_value(b)?)),
            ArtifactKind::Quiz => Self::Quiz(serde_json::from_value(b)?),
            ArtifactKind::Project => Self::Project(serde_json::from_value(b)?),
        })
    }

    pub fn to_value(&self) -> Value {
        match self {
            Self::Syllabus(s) => serde_json::to_value(s),
            Self::Lesson(l) => serde_json::to_value(l),
            Self::Quiz(q) => serde_json::to_value(q),
            Self::Project(p) => serde_json::to_value(p),
        }
        .unwrap_or_default()
    }

    /// What the form says, over `self` (the version edited) for what it does not show.
    pub fn read(&self, r: &mut Reader) -> Self {
        match self {
            Self::Syllabus(base) => Self::Syllabus(read_syllabus(base, r)),
            Self::Lesson(base) => Self::Lesson(Box::new(read_lesson(base, r))),
            Self::Quiz(base) => Self::Quiz(Quiz {
                lesson_id: base.lesson_id.clone(),
                questions: (0..r.len("/questions"))
                    .map(|q| {
                        let qp = format!("/questions/{q}");
                        let correct = r.number(&format!("{qp}/correctIndex"));
                        Question {
                            question: r.text(&format!("{qp}/question")),
                            options: r.texts(&format!("{qp}/options")),
                            correct_index: u8::try_from(correct).unwrap_or(u8::MAX),
                            explanation: r.text(&format!("{qp}/explanation")),
                        }
                    })
                    .collect(),
            }),
            Self::Project(base) => Self::Project(read_project(base, r)),
        }
    }

    /// Applies a list button; where the changed list's items went, or `None` when the
    /// button names no list of this type.
    pub fn apply(&mut self, op: &ListOp) -> Option<Vec<Option<usize>>> {
        let segs: Vec<&str> = op.list.split('/').skip(1).collect();
        let ix = |s: &str| s.parse::<usize>().ok();
        match self {
            Self::Syllabus(s) => {
                let lesson_ids: HashSet<String> = s
                    .modules
                    .iter()
                    .flat_map(|m| &m.lessons)
                    .map(|l| l.id.clone())
                    .collect();
                match segs.as_slice() {
                    ["modules"] => {
                        let used = s.modules.iter().map(|m| m.id.clone()).collect();
                        let id = fresh(&used, "m");
                        let lesson = fresh(&lesson_ids, &format!("{id}-l"));
                        op.apply(&mut s.modules, || Module {
                            id,
                            title: String::new(),
                            summary: String::new(),
                            lessons: vec![blank_lesson(lesson)],
                        })
                    }
                    ["modules", m, "lessons"] => {
                        let m = s.modules.get_mut(ix(m)?)?;
                        let id = fresh(&lesson_ids, &format!("{}-l", m.id));
                        op.apply(&mut m.lessons, || blank_lesson(id))
                    }
                    ["modules", m, "lessons", l, list] => {
                        let lesson = s.modules.get_mut(ix(m)?)?.lessons.get_mut(ix(l)?)?;
                        match *list {
                            "objectives" => op.apply(&mut lesson.objectives, String::new),
                            "assessmentHooks" => {
                                op.apply(&mut lesson.assessment_hooks, || AssessmentHook {
                                    kind: AssessmentKind::Quiz,
                                    description: String::new(),
                                })
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
            Self::Lesson(l) => match segs.as_slice() {
                ["explanation", "concepts"] => op.apply(&mut l.explanation.concepts, || Concept {
                    title: String::new(),
                    explanation: String::new(),
                    example: None,
                    addresses_objectives: Vec::new(),
                }),
                ["keyTakeaways"] => op.apply(&mut l.key_takeaways, String::new),
                _ => None,
            },
            Self::Quiz(q) => match segs.as_slice() {
                ["questions"] => op.apply(&mut q.questions, || Question {
                    question: String::new(),
                    options: vec![String::new(); 4],
                    correct_index: 0,
                    explanation: String::new(),
                }),
                _ => None,
            },
            Self::Project(p) => match segs.as_slice() {
                ["constraints"] => op.apply(&mut p.constraints, String::new),
                ["deliverables"] => op.apply(&mut p.deliverables, String::new),
                ["rubric"] => op.apply(&mut p.rubric, || RubricCriterion {
                    criterion: String::new(),
                    weight: 0,
                    levels: vec![blank_level(1), blank_level(2)],
                }),
                ["rubric", c, "levels"] => {
                    let c = p.rubric.get_mut(ix(c)?)?;
                    let next = c.levels.iter().map(|l| l.points).max().unwrap_or(0) + 1;
                    op.apply(&mut c.levels, || blank_level(next))
                }
                _ => None,
            },
        }
    }

    /// Lays the draft out as fields.
    pub fn view(&self, b: &mut Build) -> View {
        match self {
            Self::Syllabus(s) => View::Syllabus(Box::new(view_syllabus(s, b))),
            Self::Lesson(l) => View::Lesson(Box::new(view_lesson(l, b))),
            Self::Quiz(q) => View::Quiz(QuizView {
                questions: b.list("/questions", q.questions.len(), |b, qp, i| {
                    let question = &q.questions[i];
                    let options_anchor = b.field(&format!("{qp}/options"), "");
                    let options = question
                        .options
                        .iter()
                        .enumerate()
                        .map(|(o, text)| b.field(&format!("{qp}/options/{o}"), text))
                        .collect();
                    let letters = [("0", "A"), ("1", "B"), ("2", "C"), ("3", "D")];
                    QuestionView {
                        question: b.field(&format!("{qp}/question"), &question.question),
                        options_anchor,
                        options,
                        correct: b.select(
                            &format!("{qp}/correctIndex"),
                            &question.correct_index.to_string(),
                            &letters,
                        ),
                        explanation: b.field(&format!("{qp}/explanation"), &question.explanation),
                    }
                }),
            }),
            Self::Project(p) => View::Project(Box::new(ProjectView {
                title: b.field("/title", &p.title),
                problem: b.field("/problemStatement", &p.problem_statement),
                constraints: b.texts("/constraints", &p.constraints),
                deliverables: b.texts("/deliverables", &p.deliverables),
                rubric: b.list("/rubric", p.rubric.len(), |b, cp, i| {
                    let c = &p.rubric[i];
                    CriterionView {
                        criterion: b.field(&format!("{cp}/criterion"), &c.criterion),
                        weight: b.field(&format!("{cp}/weight"), c.weight),
                        levels: b.list(&format!("{cp}/levels"), c.levels.len(), |b, lp, k| {
                            let l = &c.levels[k];
                            LevelView {
                                label: b.field(&format!("{lp}/label"), &l.label),
                                description: b.field(&format!("{lp}/description"), &l.description),
                                points: b.field(&format!("{lp}/points"), l.points),
                            }
                        }),
                    }
                }),
            })),
        }
    }
}

fn read_syllabus(base: &Syllabus, r: &mut Reader) -> Syllabus {
    let modules = (0..r.len("/modules"))
        .map(|m| {
            let mp = format!("/modules/{m}");
            let lessons = (0..r.len(&format!("{mp}/lessons")))
                .map(|l| {
                    let lp = format!("{mp}/lessons/{l}");
                    let hooks = (0..r.len(&format!("{lp}/assessmentHooks")))
                        .map(|h| {
                            let hp = format!("{lp}/assessmentHooks/{h}");
                            AssessmentHook {
                                kind: r.choice(&format!("{hp}/kind"), AssessmentKind::Quiz),
                                description: r.text(&format!("{hp}/description")),
                            }
                        })
                        .collect();
                    PlannedLesson {
                        id: r.text(&format!("{lp}/id")),
                        title: r.text(&format!("{lp}/title")),
                        objectives: r.texts(&format!("{lp}/objectives")),
                        prerequisites: r.checked(&format!("{lp}/prerequisites")).to_vec(),
                        estimated_minutes: r.number(&format!("{lp}/estimatedMinutes")),
                        assessment_hooks: hooks,
                    }
                })
                .collect();
            Module {
                id: r.text(&format!("{mp}/id")),
                title: r.text(&format!("{mp}/title")),
                summary: r.text(&format!("{mp}/summary")),
                lessons,
            }
        })
        .collect();
    Syllabus {
        title: r.text("/title"),
        audience: r.text("/audience"),
        level: r.choice::<Level>("/level", base.level),
        time_budget_hours: r.number("/timeBudgetHours"),
        modules,
        // The course's language comes from its brief; the form does not change it.
        language: base.language.clone(),
        metadata: base.metadata.clone(),
    }
}

fn read_lesson(base: &Lesson, r: &mut Reader) -> Lesson {
    let concepts = (0..r.len("/explanation/concepts"))
        .map(|c| {
            let cp = format!("/explanation/concepts/{c}");
            let mut teaches = Vec::new();
            for v in r.checked(&format!("{cp}/addressesObjectives")).to_vec() {
                match v.parse() {
                    Ok(n) => teaches.push(n),
                    Err(_) => r.problems.push(domain::Violation {
                        path: format!("{cp}/addressesObjectives"),
                        message: format!("{v:?} is not an objective"),
                    }),
                }
            }
            Concept {
                title: r.text(&format!("{cp}/title")),
                explanation: r.text(&format!("{cp}/explanation")),
                example: r.optional(&format!("{cp}/example")),
                addresses_objectives: teaches,
            }
        })
        .collect();
    Lesson {
        lesson_id: base.lesson_id.clone(),
        module_id: base.module_id.clone(),
        title: r.text("/title"),
        duration_minutes: r.number("/durationMinutes"),
        objectives: base.objectives.clone(),
        explanation: Explanation {
            overview: r.text("/explanation/overview"),
            concepts,
        },
        key_takeaways: r.texts("/keyTakeaways"),
        practice: Practice {
            prompt: r.text("/practice/prompt"),
            expected_outcome: r.text("/practice/expectedOutcome"),
        },
        metadata: base.metadata.clone(),
    }
}

fn read_project(base: &Project, r: &mut Reader) -> Project {
    let rubric = (0..r.len("/rubric"))
        .map(|c| {
            let cp = format!("/rubric/{c}");
            let levels = (0..r.len(&format!("{cp}/levels")))
                .map(|l| {
                    let lp = format!("{cp}/levels/{l}");
                    RubricLevel {
                        label: r.text(&format!("{lp}/label")),
                        description: r.text(&format!("{lp}/description")),
                        points: r.number(&format!("{lp}/points")),
                    }
                })
                .collect();
            RubricCriterion {
                criterion: r.text(&format!("{cp}/criterion")),
                weight: r.number(&format!("{cp}/weight")),
                levels,
            }
        })
        .collect();
    Project {
        module_id: base.module_id.clone(),
        title: r.text("/title"),
        problem_statement: r.text("/problemStatement"),
        constraints: r.texts("/constraints"),
        deliverables: r.texts("/deliverables"),
        rubric,
    }
}

fn view_syllabus(s: &Syllabus, b: &mut Build) -> SyllabusView {
    // Every lesson in order, for each lesson's choice of earlier ones it builds on.
    let order: Vec<(&str, &str)> = s
        .modules
        .iter()
        .flat_map(|m| &m.lessons)
        .map(|l| (l.id.as_str(), l.title.as_str()))
        .collect();
    let mut seen = 0;
    SyllabusView {
        title: b.field("/title", &s.title),
        audience: b.field("/audience", &s.audience),
        level: b.select("/level", &word(&s.level), LEVELS),
        hours: b.field("/timeBudgetHours", s.time_budget_hours),
        modules: b.list("/modules", s.modules.len(), |b, mp, m| {
            let module = &s.modules[m];
            ModuleView {
                id: b.hidden(&format!("{mp}/id"), &module.id),
                title: b.field(&format!("{mp}/title"), &module.title),
                summary: b.field(&format!("{mp}/summary"), &module.summary),
                lessons: b.list(
                    &format!("{mp}/lessons"),
                    module.lessons.len(),
                    |b, lp, l| {
                        let lesson = &module.lessons[l];
                        // Earlier lessons, and whatever is ticked that is not one (a rule
                        // then says so beside it).
                        let mut options: Vec<(String, String)> = order[..seen]
                            .iter()
                            .map(|(id, title)| ((*id).to_owned(), format!("{title} ({id})")))
                            .collect();
                        for p in &lesson.prerequisites {
                            if !options.iter().any(|(id, _)| id == p) {
                                let title = order
                                    .iter()
                                    .find(|(id, _)| id == p)
                                    .map(|(_, t)| format!("{t} ({p}, not earlier)"))
                                    .unwrap_or_else(|| format!("{p} (no such lesson)"));
                                options.push((p.clone(), title));
                            }
                        }
                        seen += 1;
                        let (prerequisites, prerequisite_boxes) = b.checks(
                            &format!("{lp}/prerequisites"),
                            options,
                            &lesson.prerequisites,
                        );
                        PlanView {
                            id: b.hidden(&format!("{lp}/id"), &lesson.id),
                            title: b.field(&format!("{lp}/title"), &lesson.title),
                            minutes: b
                                .field(&format!("{lp}/estimatedMinutes"), lesson.estimated_minutes),
                            objectives: b.texts(&format!("{lp}/objectives"), &lesson.objectives),
                            prerequisites,
                            prerequisite_boxes,
                            hooks: b.list(
                                &format!("{lp}/assessmentHooks"),
                                lesson.assessment_hooks.len(),
                                |b, hp, h| {
                                    let hook = &lesson.assessment_hooks[h];
                                    HookView {
                                        kind: b.select(
                                            &format!("{hp}/kind"),
                                            &word(&hook.kind),
                                            HOOK_KINDS,
                                        ),
                                        description: b
                                            .field(&format!("{hp}/description"), &hook.description),
                                    }
                                },
                            ),
                        }
                    },
                ),
            }
        }),
    }
}

fn view_lesson(l: &Lesson, b: &mut Build) -> LessonView {
    let objectives_anchor = b.field("/objectives", "");
    let objectives: Vec<Field> = l
        .objectives
        .iter()
        .enumerate()
        .map(|(o, text)| b.field(&format!("/objectives/{o}"), text))
        .collect();
    let options: Vec<(String, String)> = l
        .objectives
        .iter()
        .enumerate()
        .map(|(o, text)| (o.to_string(), text.clone()))
        .collect();
    LessonView {
        title: b.field("/title", &l.title),
        duration: b.field("/durationMinutes", l.duration_minutes),
        objectives_anchor,
        objectives,
        overview: b.field("/explanation/overview", &l.explanation.overview),
        concepts: b.list(
            "/explanation/concepts",
            l.explanation.concepts.len(),
            |b, cp, c| {
                let concept = &l.explanation.concepts[c];
                let selected: Vec<String> = concept
                    .addresses_objectives
                    .iter()
                    .map(u32::to_string)
                    .collect();
                let mut options = options.clone();
                for s in &selected {
                    if !options.iter().any(|(v, _)| v == s) {
                        options.push((s.clone(), format!("objective {s} (there is none)")));
                    }
                }
                let (teaches, teaches_boxes) =
                    b.checks(&format!("{cp}/addressesObjectives"), options, &selected);
                ConceptView {
                    title: b.field(&format!("{cp}/title"), &concept.title),
                    explanation: b.field(&format!("{cp}/explanation"), &concept.explanation),
                    example: b.field(
                        &format!("{cp}/example"),
                        concept.example.as_deref().unwrap_or_default(),
                    ),
                    teaches,
                    teaches_boxes,
                }
            },
        ),
        takeaways: b.texts("/keyTakeaways", &l.key_takeaways),
        prompt: b.field("/practice/prompt", &l.practice.prompt),
        outcome: b.field("/practice/expectedOutcome", &l.practice.expected_outcome),
    }
}
