//! The generation executors: `GENERATE_SYLLABUS` (brief → syllabus draft) and
//! `GENERATE_CONTENT` (approved syllabus + module → lesson, quiz and project drafts). Their
//! drafts are inserted by the job's completion, so they appear only when the job completes.
//! A quiz is written after its lesson, from the lesson's text: the one drafted in the same
//! job, else the newest stored version of that lesson.

use std::sync::Arc;
use std::time::Duration;

use db::artifacts::{self, NewDraft};
use db::types::{ArtifactKind, ArtifactStatus};
use domain::package::PartKind;
use domain::{Brief, JobSpec, Lesson, Syllabus};
use futures_util::future::try_join_all;
use generate::{GenerateError, Generated, Llm, ResponseCache};
use llm::ChatResponse;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::executor::{BoxFuture, Executor, JobFailure, JobInput, JobOutput};

pub const GENERATE_SYLLABUS: &str = JobSpec::GENERATE_SYLLABUS;
pub const GENERATE_CONTENT: &str = JobSpec::GENERATE_CONTENT;
pub const REGENERATE_ARTIFACT: &str = JobSpec::REGENERATE_ARTIFACT;

/// The job's typed contract, read back from its kind and payload.
async fn spec(pool: &PgPool, input: &JobInput) -> Result<JobSpec, JobFailure> {
    // Content jobs stored before courses had ids name only their syllabus.
    let legacy_course = match input.instruction["syllabusId"].as_str() {
        Some(s) if input.instruction.get("courseId").is_none() => match s.parse() {
            Ok(id) => artifacts::get(pool, input.tenant_id, id)
                .await
                .map_err(db_failure)?
                .map(|a| a.course_id),
            Err(_) => None,
        },
        _ => None,
    };
    JobSpec::parse(&input.kind, &input.instruction, |_| legacy_course)
        .map_err(|e| JobFailure::new("bad_input", e.to_string()))?
        .ok_or_else(|| {
            JobFailure::new(
                "bad_input",
                format!("{} is not a generation job", input.kind),
            )
        })
}

/// The LLM response cache in PostgreSQL.
pub struct PgCache(pub PgPool);

impl ResponseCache for PgCache {
    fn get<'a>(&'a self, key: &'a str) -> llm::BoxFuture<'a, Option<ChatResponse>> {
        Box::pin(async move {
            let v = db::llm_cache::cached_response(&self.0, key)
                .await
                .ok()
                .flatten();
            v.and_then(|v| serde_json::from_value(v).ok())
        })
    }
    fn put<'a>(&'a self, key: &'a str, r: &'a ChatResponse) -> llm::BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(v) = serde_json::to_value(r) else {
                return;
            };
            if let Err(e) = db::llm_cache::cache_response(&self.0, key, &v).await {
                tracing::warn!(error = %e, "storing an LLM response in the cache failed");
            }
        })
    }
}

fn failure(e: GenerateError) -> JobFailure {
    let v = e.to_json();
    JobFailure::new(
        v["code"].as_str().unwrap_or("generation_failed"),
        v["message"].as_str().unwrap_or_default(),
    )
    .with_details(v.get("details").cloned().unwrap_or(Value::Null))
}

fn db_failure(e: sqlx::Error) -> JobFailure {
    JobFailure::new("database_error", e.to_string())
}

fn provenance<T>(g: &Generated<T>) -> Value {
    json!({
        "promptVersion": g.prompt_version,
        "offline": g.offline,
        "calls": g.calls,
        "provider": g.calls.last().map(|c| c.provider.clone()),
        "model": g.calls.last().map(|c| c.model.clone()),
    })
}

/// Builds the draft row for a generated artifact; the database numbers it when the job's
/// completion inserts it.
fn draft<T: Serialize>(
    kind: ArtifactKind,
    syllabus_id: Option<Uuid>,
    brief_id: Option<Uuid>,
    ref_id: &str,
    module_id: Option<&str>,
    title: &str,
    g: &Generated<T>,
) -> Result<NewDraft, JobFailure> {
    let body = serde_json::to_value(&g.value)
        .map_err(|e| JobFailure::new("invalid_output", e.to_string()))?;
    Ok(NewDraft {
        id: Uuid::new_v4(),
        kind,
        syllabus_id,
        brief_id,
        ref_id: ref_id.to_owned(),
        module_id: module_id.map(str::to_owned),
        parent_id: None,
        title: title.to_owned(),
        content_hash: artifacts::body_hash(&body),
        body,
        provenance: provenance(g),
    })
}

/// Cache use and a reviewer's instruction, from the job's instruction JSON.
fn options(input: &JobInput) -> generate::Options {
    generate::Options {
        bypass_cache: input.instruction["bypassCache"].as_bool().unwrap_or(false),
        instruction: input.instruction["reviewerInstruction"]
            .as_str()
            .map(str::to_owned),
    }
}

/// Brief → syllabus draft.
pub struct GenerateSyllabus {
    pub pool: PgPool,
    pub llm: Llm,
}

impl GenerateSyllabus {
    #[tracing::instrument(name = "generate_syllabus", skip_all)]
    async fn go(&self, input: JobInput) -> Result<JobOutput, JobFailure> {
        let JobSpec::GenerateSyllabus { brief_id } = spec(&self.pool, &input).await? else {
            return Err(JobFailure::new("bad_input", "not a syllabus job"));
        };
        let body = db::courses::brief(&self.pool, input.tenant_id, brief_id)
            .await
            .map_err(db_failure)?
            .ok_or_else(|| JobFailure::new("bad_input", "the brief does not exist"))?;
        let brief: Brief = serde_json::from_value(body)
            .map_err(|e| JobFailure::new("bad_input", e.to_string()))?;
        let brief = brief
            .validate()
            .map_err(|v| JobFailure::new("bad_input", v.to_string()))?;
        let g = generate::syllabus(&self.llm, &brief, &options(&input))
            .await
            .map_err(failure)?;
        let title = g.value.title.clone();
        let d = draft(
            ArtifactKind::Syllabus,
            None,
            Some(brief_id),
            &brief_id.to_string(),
            None,
            &title,
            &g,
        )?;
        Ok(JobOutput {
            value: json!({ "artifacts": [{ "id": d.id, "kind": d.kind }], "syllabus": d.body, "provenance": d.provenance }),
            drafts: vec![d],
        })
    }
}

impl Executor for GenerateSyllabus {
    fn kind(&self) -> &'static str {
        GENERATE_SYLLABUS
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(20 * 60)
    }
    fn run(&self, input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        Box::pin(self.go(input))
    }
}

/// Loads an approved syllabus; anything else is refused.
pub async fn approved_syllabus(
    pool: &PgPool,
    tenant: Uuid,
    id: Uuid,
) -> Result<domain::Valid<Syllabus>, JobFailure> {
    let a = artifacts::get(pool, tenant, id)
        .await
        .map_err(db_failure)?
        .filter(|a| a.kind.is_syllabus())
        .ok_or_else(|| JobFailure::new("bad_input", "the syllabus does not exist"))?;
    if a.status != ArtifactStatus::Approved {
        return Err(JobFailure::new(
            "syllabus_not_approved",
            format!(
                "content is generated from an APPROVED syllabus only; this one is {}",
                a.status
            ),
        ));
    }
    let s: Syllabus =
        serde_json::from_value(a.body).map_err(|e| JobFailure::new("bad_input", e.to_string()))?;
    s.validate()
        .map_err(|v| JobFailure::new("bad_input", v.to_string()))
}

/// The newest stored version of lesson `lesson_id` of the course, whatever its state: what
/// a quiz drafted or regenerated now is grounded in.
async fn newest_lesson(
    pool: &PgPool,
    tenant: Uuid,
    course_id: Uuid,
    lesson_id: &str,
) -> Result<Option<Lesson>, JobFailure> {
    let Some(n) = artifacts::newest(pool, course_id, ArtifactKind::Lesson, lesson_id)
        .await
        .map_err(db_failure)?
    else {
        return Ok(None);
    };
    let Some(a) = artifacts::get(pool, tenant, n.id)
        .await
        .map_err(db_failure)?
    else {
        return Ok(None);
    };
    serde_json::from_value(a.body).map(Some).map_err(|e| {
        JobFailure::new(
            "bad_input",
            format!(
                "lesson {lesson_id:?} version {} is not a lesson: {e}",
                a.version
            ),
        )
    })
}

/// Approved syllabus + one module → lesson, quiz and project drafts.
pub struct GenerateContent {
    pub pool: PgPool,
    pub llm: Llm,
}

impl GenerateContent {
    #[tracing::instrument(name = "generate_content", skip_all)]
    async fn go(&self, input: JobInput) -> Result<JobOutput, JobFailure> {
        let JobSpec::GenerateContent {
            course_id,
            syllabus_id,
            module_id,
        } = spec(&self.pool, &input).await?
        else {
            return Err(JobFailure::new("bad_input", "not a content job"));
        };
        let syllabus = approved_syllabus(&self.pool, input.tenant_id, syllabus_id).await?;
        let module = syllabus
            .modules
            .iter()
            .find(|m| m.id == module_id)
            .ok_or_else(|| {
                JobFailure::new(
                    "bad_input",
                    format!("the syllabus has no module {module_id:?}"),
                )
            })?;
        // Only what does not exist yet: a part someone edited, approved or rejected is
        // never drafted over by a content job (a regeneration names the part it replaces).
        let existing = artifacts::existing_parts(&self.pool, input.tenant_id, course_id)
            .await
            .map_err(db_failure)?;
        let missing = |kind: PartKind, r: &str| !existing.contains(&(kind, r.to_owned()));
        // A quiz to draft whose lesson exists already is grounded in its newest version.
        let mut stored = std::collections::HashMap::new();
        for l in &module.lessons {
            if missing(PartKind::Quiz, &l.id) && !missing(PartKind::Lesson, &l.id) {
                match newest_lesson(&self.pool, input.tenant_id, course_id, &l.id).await? {
                    Some(lesson) => {
                        stored.insert(l.id.as_str(), lesson);
                    }
                    None => {
                        return Err(JobFailure::new(
                            "bad_input",
                            format!("lesson {:?} is gone", l.id),
                        ));
                    }
                }
            }
        }
        let by = &options(&input);
        let (llm, s, stored) = (&self.llm, &syllabus, &stored);
        // Every lesson of the module at once, each lesson's quiz as soon as its lesson is
        // written; the Llm's semaphore bounds what is in flight.
        let lessons = try_join_all(module.lessons.iter().map(|l| async move {
            let lesson = if missing(PartKind::Lesson, &l.id) {
                Some(generate::lesson(llm, s, &l.id, by).await?)
            } else {
                None
            };
            let quiz = if missing(PartKind::Quiz, &l.id) {
                let text = match (&lesson, stored.get(l.id.as_str())) {
                    (Some(g), _) => &*g.value,
                    (None, Some(stored)) => stored,
                    (None, None) => {
                        return Err(GenerateError::Input(format!("lesson {:?} is gone", l.id)));
                    }
                };
                Some(generate::quiz(llm, s, text, by).await?)
            } else {
                None
            };
            Ok::<_, GenerateError>((l, lesson, quiz))
        }));
        let project = async {
            if missing(PartKind::Project, &module_id) {
                generate::project(llm, s, &module_id, by).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (lessons, project) = tokio::try_join!(lessons, project).map_err(failure)?;
        let mut drafts = Vec::new();
        let (s, m) = (Some(syllabus_id), Some(module_id.as_str()));
        let mut calls = 0;
        for (planned, lesson, quiz) in &lessons {
            if let Some(lesson) = lesson {
                calls += lesson.calls.len();
                drafts.push(draft(
                    ArtifactKind::Lesson,
                    s,
                    None,
                    &planned.id,
                    m,
                    &planned.title,
                    lesson,
                )?);
            }
            if let Some(quiz) = quiz {
                calls += quiz.calls.len();
                let quiz_title = format!("Quiz: {}", planned.title);
                drafts.push(draft(
                    ArtifactKind::Quiz,
                    s,
                    None,
                    &planned.id,
                    m,
                    &quiz_title,
                    quiz,
                )?);
            }
        }
        if let Some(project) = &project {
            calls += project.calls.len();
            let title = &project.value.title;
            drafts.push(draft(
                ArtifactKind::Project,
                s,
                None,
                &module_id,
                m,
                title,
                project,
            )?);
        }
        let summary: Vec<Value> = drafts
            .iter()
            .map(|d| json!({ "id": d.id, "kind": d.kind, "refId": d.ref_id }))
            .collect();
        Ok(JobOutput {
            value: json!({ "artifacts": summary, "llmCalls": calls }),
            drafts,
        })
    }
}

impl Executor for GenerateContent {
    fn kind(&self) -> &'static str {
        GENERATE_CONTENT
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(30 * 60)
    }
    fn run(&self, input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        Box::pin(self.go(input))
    }
}

/// Any artifact, generated again with a reviewer's instruction: a new DRAFT version whose
/// parent is the artifact regenerated.
pub struct Regenerate {
    pub pool: PgPool,
    pub llm: Llm,
}

impl Regenerate {
    #[tracing::instrument(name = "regenerate", skip_all)]
    async fn go(&self, input: JobInput) -> Result<JobOutput, JobFailure> {
        let JobSpec::Regenerate { artifact_id, .. } = spec(&self.pool, &input).await? else {
            return Err(JobFailure::new("bad_input", "not a regeneration job"));
        };
        let a = artifacts::get(&self.pool, input.tenant_id, artifact_id)
            .await
            .map_err(db_failure)?
            .ok_or_else(|| JobFailure::new("bad_input", "the artifact does not exist"))?;
        let opts = options(&input);
        let t = input.tenant_id;
        let m = a.module_id.as_deref();
        let mut d = if a.kind.is_syllabus() {
            let brief_id = a
                .brief_id
                .ok_or_else(|| JobFailure::new("bad_input", "the syllabus has no brief"))?;
            let body = db::courses::brief(&self.pool, t, brief_id)
                .await
                .map_err(db_failure)?
                .ok_or_else(|| JobFailure::new("bad_input", "the brief is gone"))?;
            let brief: Brief = serde_json::from_value(body)
                .map_err(|e| JobFailure::new("bad_input", e.to_string()))?;
            let brief = brief
                .validate()
                .map_err(|v| JobFailure::new("bad_input", v.to_string()))?;
            let g = generate::syllabus(&self.llm, &brief, &opts)
                .await
                .map_err(failure)?;
            let title = g.value.title.clone();
            draft(a.kind, None, Some(brief_id), &a.ref_id, None, &title, &g)?
        } else {
            let sid = a
                .syllabus_id
                .ok_or_else(|| JobFailure::new("bad_input", "the content has no syllabus"))?;
            let s = approved_syllabus(&self.pool, t, sid).await?;
            let (llm, r) = (&self.llm, a.ref_id.as_str());
            match a.kind {
                ArtifactKind::Lesson => {
                    let g = generate::lesson(llm, &s, r, &opts).await.map_err(failure)?;
                    draft(a.kind, Some(sid), None, r, m, &a.title, &g)?
                }
                ArtifactKind::Quiz => {
                    // Grounded in the lesson as it stands now, edits included.
                    let lesson = newest_lesson(&self.pool, t, a.course_id, r)
                        .await?
                        .ok_or_else(|| {
                            JobFailure::new(
                                "lesson_missing",
                                format!("lesson {r:?} has no version to write its quiz from; generate the lesson first"),
                            )
                        })?;
                    let g = generate::quiz(llm, &s, &lesson, &opts)
                        .await
                        .map_err(failure)?;
                    draft(a.kind, Some(sid), None, r, m, &a.title, &g)?
                }
                _ => {
                    let g = generate::project(llm, &s, r, &opts)
                        .await
                        .map_err(failure)?;
                    let title = g.value.title.clone();
                    draft(a.kind, Some(sid), None, r, m, &title, &g)?
                }
            }
        };
        d.parent_id = Some(a.id);
        d.provenance["reviewerInstruction"] = json!(opts.instruction);
        Ok(JobOutput {
            value: json!({ "artifacts": [{ "id": d.id, "kind": d.kind, "parentId": a.id }] }),
            drafts: vec![d],
        })
    }
}

impl Executor for Regenerate {
    fn kind(&self) -> &'static str {
        REGENERATE_ARTIFACT
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(20 * 60)
    }
    fn run(&self, input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>> {
        Box::pin(self.go(input))
    }
}

/// A registry with the generation executors over one LLM.
pub fn register(registry: crate::Registry, pool: PgPool, llm: Llm) -> crate::Registry {
    registry
        .register(GenerateSyllabus {
            pool: pool.clone(),
            llm: llm.clone(),
        })
        .register(GenerateContent {
            pool: pool.clone(),
            llm: llm.clone(),
        })
        .register(Regenerate { pool, llm })
}

/// The LLM for generation: the configured provider through the PostgreSQL cache.
pub fn llm(pool: PgPool, provider: Arc<dyn llm::LlmProvider>, max_in_flight: usize) -> Llm {
    Llm::new(provider, Some(Arc::new(PgCache(pool))), max_in_flight)
}
