//! Course packages: an approved syllabus and its approved lessons, quizzes and
//! projects, assembled into one frozen [`CoursePackage`]. Pure composition: no model, no IO.
//! The same inputs give byte-identical canonical JSON and so the same SHA-256.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::content::{Lesson, Level, Project, Quiz, Syllabus};

/// The largest package we store: its canonical JSON, in bytes.
pub const MAX_PACKAGE_BYTES: usize = 5 * 1024 * 1024;

/// The shape of [`CoursePackage`]; bumped when it changes incompatibly.
pub const PACKAGE_FORMAT: u32 = 1;

/// A module as learners see it: its lessons by id, in order, and its project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackagedModule {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// The module's lessons' ids, in the order they are taken.
    pub lesson_ids: Vec<String>,
}

/// Where one part of a package came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartSource {
    /// SYLLABUS, LESSON, QUIZ or PROJECT.
    pub kind: String,
    /// The lesson or module id the part is for (the syllabus: its own artifact id).
    pub ref_id: String,
    pub artifact_id: String,
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<String>,
    /// SHA-256 of the artifact body's canonical JSON.
    pub content_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    pub syllabus: PartSource,
    /// Every lesson, quiz and project, in package order.
    pub parts: Vec<PartSource>,
}

/// A published course, frozen: what learners read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoursePackage {
    pub format_version: u32,
    /// The course's id.
    pub course_id: String,
    /// The package version, 1, 2, … per course.
    #[schemars(range(min = 1))]
    pub version: u32,
    pub title: String,
    pub audience: String,
    pub level: Level,
    pub time_budget_hours: u32,
    pub modules: Vec<PackagedModule>,
    /// Every lesson, in the order the course is taken (module by module).
    pub lessons: Vec<Lesson>,
    /// One quiz per lesson, in lesson order.
    pub quizzes: Vec<Quiz>,
    /// One project per module, in module order.
    pub projects: Vec<Project>,
    pub provenance: Provenance,
}

impl CoursePackage {
    /// The lesson at 1-based `index`, with its quiz.
    pub fn lesson(&self, index: usize) -> Option<(&Lesson, Option<&Quiz>)> {
        let lesson = self.lessons.get(index.checked_sub(1)?)?;
        let quiz = self
            .quizzes
            .iter()
            .find(|q| q.lesson_id == lesson.lesson_id);
        Some((lesson, quiz))
    }

    /// The 1-based index of the lesson with this stable id.
    pub fn index_of(&self, lesson_id: &str) -> Option<usize> {
        self.lessons
            .iter()
            .position(|l| l.lesson_id == lesson_id)
            .map(|i| i + 1)
    }

    pub fn module(&self, id: &str) -> Option<&PackagedModule> {
        self.modules.iter().find(|m| m.id == id)
    }

    pub fn project(&self, module_id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.module_id == module_id)
    }

    /// Total minutes of all lessons.
    pub fn minutes(&self) -> u32 {
        self.lessons.iter().map(|l| l.duration_minutes).sum()
    }

    /// The package as a learner may read it: quiz answers and explanations removed, since
    /// quizzes are graded on the server.
    pub fn for_learner(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(quizzes) = v.get_mut("quizzes").and_then(|q| q.as_array_mut()) {
            for quiz in quizzes {
                redact_quiz(quiz);
            }
        }
        v
    }
}

/// Removes what would give a quiz's answers away.
pub fn redact_quiz(quiz: &mut serde_json::Value) {
    if let Some(questions) = quiz.get_mut("questions").and_then(|q| q.as_array_mut()) {
        for q in questions {
            if let Some(o) = q.as_object_mut() {
                o.remove("correctIndex");
                o.remove("explanation");
            }
        }
    }
}

/// What an artifact given to the builder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartKind {
    Syllabus,
    Lesson,
    Quiz,
    Project,
}

impl PartKind {
    /// The name packages record in their sources (and storage uses).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Syllabus => "SYLLABUS",
            Self::Lesson => "LESSON",
            Self::Quiz => "QUIZ",
            Self::Project => "PROJECT",
        }
    }
}

impl std::fmt::Display for PartKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parts a module's content consists of, in order: a lesson and its quiz for each
/// planned lesson (keyed by the lesson's id), then the module's project (keyed by the
/// module's id). Content generation makes only those of them that do not exist yet.
pub fn module_parts(module: &crate::content::Module) -> Vec<(PartKind, &str)> {
    let mut parts: Vec<(PartKind, &str)> = module
        .lessons
        .iter()
        .flat_map(|l| {
            [
                (PartKind::Lesson, l.id.as_str()),
                (PartKind::Quiz, l.id.as_str()),
            ]
        })
        .collect();
    parts.push((PartKind::Project, module.id.as_str()));
    parts
}

/// Where an artifact given to the builder is in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStatus {
    Draft,
    Approved,
    Rejected,
}

impl std::fmt::Display for PartStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Draft => "DRAFT",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
        })
    }
}

/// One artifact as the builder receives it from storage.
#[derive(Debug, Clone)]
pub struct Part {
    pub artifact_id: String,
    pub kind: PartKind,
    pub ref_id: String,
    pub version: u32,
    pub status: PartStatus,
    pub prompt_version: Option<String>,
    pub content_hash: String,
    pub body: serde_json::Value,
}

impl Part {
    fn source(&self) -> PartSource {
        PartSource {
            kind: self.kind.as_str().to_owned(),
            ref_id: self.ref_id.clone(),
            artifact_id: self.artifact_id.clone(),
            version: self.version,
            prompt_version: self.prompt_version.clone(),
            content_hash: self.content_hash.clone(),
        }
    }
}

/// Why a course cannot be packaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Parts that are missing or not approved, each named.
    #[error("the course cannot be packaged yet: {}", .0.join("; "))]
    NotReady(Vec<String>),
    /// An approved part whose body does not fit its type or its place.
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the package would be {size} bytes ({:.1} MB); the limit is 5 MB",
        *size as f64 / 1_048_576.0
    )]
    TooLarge { size: usize },
}

/// A package with its canonical JSON, hash and size.
#[derive(Debug, Clone)]
pub struct Built {
    pub package: CoursePackage,
    /// Canonical JSON: keys sorted, no whitespace.
    pub json: String,
    /// SHA-256 (hex) of `json`.
    pub hash: String,
}

impl Built {
    pub fn size(&self) -> usize {
        self.json.len()
    }
}

/// Canonical JSON and its SHA-256 (hex) for a package.
pub fn canonical(package: &CoursePackage) -> (String, String) {
    let json = crate::canonical_json(&serde_json::to_value(package).unwrap_or_default());
    let hash = hex::encode(Sha256::digest(json.as_bytes()));
    (json, hash)
}

/// The newest APPROVED version among `parts` for (`kind`, `ref_id`), or why there is none.
fn pick<'a>(
    parts: &'a [Part],
    kind: PartKind,
    ref_id: &str,
    what: &str,
) -> Result<&'a Part, String> {
    let mut candidates: Vec<&Part> = parts
        .iter()
        .filter(|p| p.kind == kind && p.ref_id == ref_id)
        .collect();
    candidates.sort_by_key(|p| std::cmp::Reverse(p.version));
    if let Some(p) = candidates.iter().find(|p| p.status == PartStatus::Approved) {
        return Ok(p);
    }
    match candidates.first() {
        None => Err(format!("{what} is missing")),
        Some(latest) => Err(format!(
            "{what} is not approved (latest: version {} is {})",
            latest.version, latest.status
        )),
    }
}

fn parse<T: serde::de::DeserializeOwned>(part: &Part, what: &str) -> Result<T, BuildError> {
    serde_json::from_value(part.body.clone()).map_err(|e| {
        BuildError::Invalid(format!(
            "{what} (artifact {}) does not fit its schema: {e}",
            part.artifact_id
        ))
    })
}

/// A planned part that keeps a course from being built, by title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub kind: PartKind,
    pub ref_id: String,
    pub module_id: String,
    /// The planned lesson's or module's title.
    pub title: String,
    /// The newest version that exists, if any: (artifact id, version, status).
    pub newest: Option<(String, u32, PartStatus)>,
}

/// What a build of `plan` would take from `parts` right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Every planned part with no approved version, in syllabus order.
    pub gaps: Vec<Gap>,
    /// The artifact ids the build would take, sorted, when there are no gaps.
    pub chosen: Vec<String>,
}

/// The parts a build of `plan` would take, or the ones missing or unapproved, in the
/// syllabus's order. The same choice [`build`] makes.
pub fn readiness(plan: &Syllabus, parts: &[Part]) -> Readiness {
    let mut out = Readiness::default();
    for module in &plan.modules {
        let planned = module
            .lessons
            .iter()
            .flat_map(|l| [(PartKind::Lesson, l), (PartKind::Quiz, l)])
            .map(|(k, l)| (k, l.id.as_str(), l.title.as_str()))
            .chain([(PartKind::Project, module.id.as_str(), module.title.as_str())]);
        for (kind, ref_id, title) in planned {
            match pick(parts, kind, ref_id, "") {
                Ok(p) => out.chosen.push(p.artifact_id.clone()),
                Err(_) => {
                    let newest = parts
                        .iter()
                        .filter(|p| p.kind == kind && p.ref_id == ref_id)
                        .max_by_key(|p| p.version)
                        .map(|p| (p.artifact_id.clone(), p.version, p.status));
                    out.gaps.push(Gap {
                        kind,
                        ref_id: ref_id.to_owned(),
                        module_id: module.id.clone(),
                        title: title.to_owned(),
                        newest,
                    });
                }
            }
        }
    }
    if out.gaps.is_empty() {
        out.chosen.sort();
    } else {
        out.chosen.clear();
    }
    out
}

impl CoursePackage {
    /// The artifact ids this package was built from (its syllabus and parts), sorted.
    pub fn part_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .provenance
            .parts
            .iter()
            .map(|p| p.artifact_id.clone())
            .collect();
        ids.sort();
        ids
    }
}

/// Assembles version `version` of course `course_id` from its approved syllabus `syllabus` and
/// `parts` (every lesson, quiz and project artifact made for it, any status). For each
/// planned lesson it takes the newest approved lesson and quiz, and for each module the
/// newest approved project. Refuses, naming every gap, when any is missing or unapproved.
pub fn build(
    course_id: &str,
    syllabus: &Part,
    parts: &[Part],
    version: u32,
) -> Result<Built, BuildError> {
    if syllabus.kind != PartKind::Syllabus {
        return Err(BuildError::Invalid(format!(
            "artifact {} is a {}, not a syllabus",
            syllabus.artifact_id, syllabus.kind
        )));
    }
    if syllabus.status != PartStatus::Approved {
        return Err(BuildError::NotReady(vec![format!(
            "the syllabus (version {}) is {}, not APPROVED",
            syllabus.version, syllabus.status
        )]));
    }
    let plan: Syllabus = parse(syllabus, "the syllabus")?;

    let mut gaps = Vec::new();
    let mut chosen: Vec<(&Part, String)> = Vec::new();
    for module in &plan.modules {
        for planned in &module.lessons {
            for (kind, label) in [
                (PartKind::Lesson, "lesson"),
                (PartKind::Quiz, "quiz for lesson"),
            ] {
                let what = format!("{label} `{}` (module `{}`)", planned.id, module.id);
                match pick(parts, kind, &planned.id, &what) {
                    Ok(p) => chosen.push((p, what)),
                    Err(gap) => gaps.push(gap),
                }
            }
        }
        let what = format!("project for module `{}`", module.id);
        match pick(parts, PartKind::Project, &module.id, &what) {
            Ok(p) => chosen.push((p, what)),
            Err(gap) => gaps.push(gap),
        }
    }
    if !gaps.is_empty() {
        return Err(BuildError::NotReady(gaps));
    }

    let mut lessons = Vec::new();
    let mut quizzes = Vec::new();
    let mut projects = Vec::new();
    let mut sources = Vec::new();
    for (part, what) in &chosen {
        match part.kind {
            PartKind::Lesson => {
                let l: Lesson = parse(part, what)?;
                if l.lesson_id != part.ref_id {
                    return Err(BuildError::Invalid(format!(
                        "{what} carries lesson id `{}`",
                        l.lesson_id
                    )));
                }
                lessons.push(l);
            }
            PartKind::Quiz => {
                let q: Quiz = parse(part, what)?;
                if q.lesson_id != part.ref_id {
                    return Err(BuildError::Invalid(format!(
                        "{what} carries lesson id `{}`",
                        q.lesson_id
                    )));
                }
                quizzes.push(q);
            }
            _ => {
                let p: Project = parse(part, what)?;
                if p.module_id != part.ref_id {
                    return Err(BuildError::Invalid(format!(
                        "{what} carries module id `{}`",
                        p.module_id
                    )));
                }
                projects.push(p);
            }
        }
        sources.push(part.source());
    }

    let package = CoursePackage {
        format_version: PACKAGE_FORMAT,
        course_id: course_id.to_owned(),
        version,
        title: plan.title.clone(),
        audience: plan.audience.clone(),
        level: plan.level,
        time_budget_hours: plan.time_budget_hours,
        modules: plan
            .modules
            .iter()
            .map(|m| PackagedModule {
                id: m.id.clone(),
                title: m.title.clone(),
                summary: m.summary.clone(),
                lesson_ids: m.lessons.iter().map(|l| l.id.clone()).collect(),
            })
            .collect(),
        lessons,
        quizzes,
        projects,
        provenance: Provenance {
            syllabus: syllabus.source(),
            parts: sources,
        },
    };
    let (json, hash) = canonical(&package);
    if json.len() > MAX_PACKAGE_BYTES {
        return Err(BuildError::TooLarge { size: json.len() });
    }
    Ok(Built {
        package,
        json,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline;

    /// An approved syllabus and every part it needs, from the offline drafts.
    fn course() -> (Part, Vec<Part>) {
        let brief: crate::Brief = serde_json::from_value(serde_json::json!({
            "title": "Practical SQL for analysts",
            "audience": "Business analysts new to databases",
            "level": "beginner",
            "timeBudgetHours": 6,
            "teachingStyle": "hands-on",
            "constraints": ["practical"]
        }))
        .expect("brief");
        let syllabus = offline::syllabus(&brief, "2026-01-01T00:00:00Z");
        let mut parts = Vec::new();
        for module in &syllabus.modules {
            for planned in &module.lessons {
                let lesson = offline::lesson(&syllabus, module, planned);
                let quiz = offline::quiz(planned, &lesson);
                parts.push(part(
                    PartKind::Lesson,
                    &planned.id,
                    1,
                    PartStatus::Approved,
                    &lesson,
                ));
                parts.push(part(
                    PartKind::Quiz,
                    &planned.id,
                    1,
                    PartStatus::Approved,
                    &quiz,
                ));
            }
            let project = offline::project(module);
            parts.push(part(
                PartKind::Project,
                &module.id,
                1,
                PartStatus::Approved,
                &project,
            ));
        }
        (
            part(
                PartKind::Syllabus,
                "syllabus",
                1,
                PartStatus::Approved,
                &syllabus,
            ),
            parts,
        )
    }

    fn part(
        kind: PartKind,
        ref_id: &str,
        version: u32,
        status: PartStatus,
        body: &impl Serialize,
    ) -> Part {
        let body = serde_json::to_value(body).expect("body");
        Part {
            artifact_id: format!("{kind}-{ref_id}-{version}").to_lowercase(),
            kind,
            ref_id: ref_id.into(),
            version,
            status,
            prompt_version: Some(format!("{}@1", kind.as_str().to_lowercase())),
            content_hash: hex::encode(Sha256::digest(crate::canonical_json(&body).as_bytes())),
            body,
        }
    }

    #[test]
    fn same_inputs_give_the_same_bytes_and_hash() {
        let (s, mut parts) = course();
        let a = build("course-1", &s, &parts, 1).expect("builds");
        parts.reverse();
        let b = build("course-1", &s, &parts, 1).expect("builds");
        assert_eq!(a.json, b.json);
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.hash.len(), 64);
        let c = build("course-1", &s, &parts, 2).expect("builds");
        assert_ne!(a.hash, c.hash, "the version is part of the package");
        // The canonical form survives a round trip through a JSON value (as jsonb stores it).
        let back: serde_json::Value = serde_json::from_str(&a.json).expect("json");
        assert_eq!(crate::canonical_json(&back), a.json);
    }

    #[test]
    fn lessons_are_in_syllabus_order_with_their_quizzes_and_projects() {
        let (s, parts) = course();
        let built = build("course-1", &s, &parts, 1).expect("builds");
        let plan: Syllabus = serde_json::from_value(s.body.clone()).expect("syllabus");
        let planned: Vec<&str> = plan
            .modules
            .iter()
            .flat_map(|m| m.lessons.iter().map(|l| l.id.as_str()))
            .collect();
        let got: Vec<&str> = built
            .package
            .lessons
            .iter()
            .map(|l| l.lesson_id.as_str())
            .collect();
        assert_eq!(got, planned);
        assert_eq!(built.package.quizzes.len(), planned.len());
        assert_eq!(built.package.projects.len(), plan.modules.len());
        assert_eq!(
            built.package.provenance.parts.len(),
            planned.len() * 2 + plan.modules.len()
        );
        let (first, quiz) = built.package.lesson(1).expect("lesson 1");
        assert_eq!(first.lesson_id, planned[0]);
        assert_eq!(quiz.map(|q| q.lesson_id.as_str()), Some(planned[0]));
        assert!(built.package.lesson(0).is_none());
        assert!(built.package.lesson(planned.len() + 1).is_none());
        assert_eq!(built.package.index_of(planned[1]), Some(2));
    }

    #[test]
    fn the_newest_approved_version_wins_and_drafts_are_skipped() {
        let (s, mut parts) = course();
        let first = parts[0].clone();
        let mut newer = first.clone();
        newer.version = 2;
        newer.artifact_id = "lesson-newer".into();
        let mut draft = first.clone();
        draft.version = 3;
        draft.status = PartStatus::Draft;
        draft.artifact_id = "lesson-draft".into();
        parts.push(newer);
        parts.push(draft);
        let built = build("course-1", &s, &parts, 1).expect("builds");
        assert_eq!(
            built.package.provenance.parts[0].artifact_id,
            "lesson-newer"
        );
        assert_eq!(built.package.provenance.parts[0].version, 2);
    }

    #[test]
    fn refuses_unapproved_or_missing_parts_naming_each() {
        let (s, mut parts) = course();
        let lesson_ref = parts[0].ref_id.clone();
        parts[0].status = PartStatus::Draft;
        let project_at = parts
            .iter()
            .position(|p| p.kind == PartKind::Project)
            .expect("project");
        let module = parts[project_at].ref_id.clone();
        parts.remove(project_at);
        let Err(BuildError::NotReady(gaps)) = build("course-1", &s, &parts, 1) else {
            panic!("must refuse");
        };
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(gaps[0].contains(&format!("lesson `{lesson_ref}`")) && gaps[0].contains("DRAFT"));
        assert!(
            gaps[1].contains(&format!("project for module `{module}`"))
                && gaps[1].contains("missing")
        );

        let (mut s, parts) = course();
        s.status = PartStatus::Draft;
        let err = build("course-1", &s, &parts, 1).expect_err("unapproved syllabus");
        assert!(err.to_string().contains("syllabus"), "{err}");

        let (s, mut parts) = course();
        parts[1].status = PartStatus::Rejected;
        let err = build("course-1", &s, &parts, 1).expect_err("rejected quiz");
        assert!(err.to_string().contains("REJECTED"), "{err}");
    }

    #[test]
    fn readiness_names_each_gap_by_title_in_syllabus_order_and_picks_what_build_picks() {
        let (s, mut parts) = course();
        let plan: Syllabus = serde_json::from_value(s.body.clone()).expect("syllabus");
        let ready = readiness(&plan, &parts);
        assert!(ready.gaps.is_empty());
        let built = build("course-1", &s, &parts, 1).expect("builds");
        assert_eq!(ready.chosen, built.package.part_ids());

        let first = &plan.modules[0];
        let quiz_at = parts
            .iter()
            .position(|p| p.kind == PartKind::Quiz && p.ref_id == first.lessons[0].id)
            .expect("quiz");
        parts[quiz_at].status = PartStatus::Draft;
        parts.retain(|p| !(p.kind == PartKind::Project && p.ref_id == first.id));
        let ready = readiness(&plan, &parts);
        assert!(
            ready.chosen.is_empty(),
            "nothing is chosen while gaps remain"
        );
        assert_eq!(ready.gaps.len(), 2, "{:?}", ready.gaps);
        let (quiz, project) = (&ready.gaps[0], &ready.gaps[1]);
        assert_eq!(
            (quiz.kind, quiz.title.as_str()),
            (PartKind::Quiz, first.lessons[0].title.as_str())
        );
        assert_eq!(quiz.newest.as_ref().map(|n| n.2), Some(PartStatus::Draft));
        assert_eq!(
            (
                project.kind,
                project.title.as_str(),
                project.newest.is_none()
            ),
            (PartKind::Project, first.title.as_str(), true)
        );
    }

    #[test]
    fn refuses_a_part_that_does_not_fit() {
        let (s, mut parts) = course();
        parts[0].body["lessonId"] = "somewhere-else".into();
        let err = build("course-1", &s, &parts, 1).expect_err("wrong lesson id");
        assert!(matches!(err, BuildError::Invalid(_)), "{err}");
        let (s, mut parts) = course();
        parts[0].body["surprise"] = true.into();
        assert!(matches!(
            build("course-1", &s, &parts, 1),
            Err(BuildError::Invalid(_))
        ));
    }

    #[test]
    fn refuses_a_package_over_five_megabytes() {
        let (s, mut parts) = course();
        let big = "x".repeat(MAX_PACKAGE_BYTES);
        parts[0].body["explanation"]["overview"] = big.into();
        let err = build("course-1", &s, &parts, 1).expect_err("too large");
        assert!(matches!(err, BuildError::TooLarge { .. }));
        assert!(err.to_string().contains("limit is 5 MB"), "{err}");
    }

    #[test]
    fn learners_never_get_quiz_answers() {
        let (s, parts) = course();
        let built = build("course-1", &s, &parts, 1).expect("builds");
        let v = built.package.for_learner();
        let quizzes = v["quizzes"].to_string();
        // Keys, not words: an option may well quote a lesson that says "explanation".
        let keys: std::collections::BTreeSet<&str> = v["quizzes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|q| q["questions"].as_array().into_iter().flatten())
            .flat_map(|q| q.as_object().into_iter().flatten().map(|(k, _)| k.as_str()))
            .collect();
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            ["options", "question"],
            "answers leaked: {quizzes}"
        );
        assert!(
            v["quizzes"][0]["questions"][0]["options"]
                .as_array()
                .is_some_and(|o| o.len() == 4)
        );
        // The lesson explanations themselves stay.
        assert!(v["lessons"][0]["explanation"]["overview"].is_string());
    }

    #[test]
    fn the_package_matches_its_schema() {
        let (s, parts) = course();
        let built = build("course-1", &s, &parts, 1).expect("builds");
        let schema = serde_json::to_value(schemars::schema_for!(CoursePackage)).expect("schema");
        let validator = jsonschema::validator_for(&schema).expect("compiles");
        let instance: serde_json::Value = serde_json::from_str(&built.json).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let mut broken = instance.clone();
        broken["version"] = 0.into();
        assert!(!validator.is_valid(&broken), "version 0 must not validate");
    }
}
