//! Generators: a prompt contract, one LLM call, then validation against the JSON Schema and
//! the rules; on failure the violations go back with the repair prompt, at most twice. Only
//! a value that passed everything leaves here, so nothing partial is ever stored.

pub mod prompts;

use std::sync::Arc;

use domain::validate::{Valid, Violation, Violations};
use domain::{Brief, Lesson, Project, Quiz, Syllabus};
use llm::{ChatRequest, ChatResponse, LlmError, LlmProvider, Task};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use prompts::Contract;

/// How one generation runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Call the provider even when the cache has the answer.
    pub bypass_cache: bool,
    /// A reviewer's instruction for a regeneration, added to the prompt.
    pub instruction: Option<String>,
}

impl Options {
    pub fn cached() -> Self {
        Self::default()
    }
    pub fn bypass() -> Self {
        Self {
            bypass_cache: true,
            instruction: None,
        }
    }
}

/// Repair rounds after the first answer.
pub const MAX_REPAIRS: usize = 2;

/// What one LLM call cost, stored with the artifact it produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub provider: String,
    pub model: String,
    pub prompt_version: String,
    pub input_hash: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_ms: u64,
    pub estimated_cost_usd: f64,
    pub cached: bool,
}

/// A valid artifact and how it was made.
#[derive(Debug, Clone)]
pub struct Generated<T> {
    pub value: Valid<T>,
    pub prompt_version: &'static str,
    pub calls: Vec<CallRecord>,
    pub offline: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("still invalid after {rounds} repair round(s): {violations}")]
    Invalid {
        rounds: usize,
        violations: Violations,
        calls: Vec<CallRecord>,
    },
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("{0}")]
    Input(String),
}

impl GenerateError {
    /// The job error JSON: a code, a message and every violation.
    pub fn to_json(&self) -> Value {
        match self {
            GenerateError::Invalid {
                rounds, violations, ..
            } => serde_json::json!({
                "code": "validation_failed",
                "message": format!("the model's answer was still invalid after {rounds} repair round(s)"),
                "details": { "violations": violations },
            }),
            GenerateError::Llm(e) => {
                serde_json::json!({ "code": e.code(), "message": e.to_string() })
            }
            GenerateError::Input(m) => serde_json::json!({ "code": "bad_input", "message": m }),
        }
    }
}

/// A response cache, keyed by [`llm::cache_key`]. The worker stores it in PostgreSQL.
pub trait ResponseCache: Send + Sync {
    fn get<'a>(&'a self, key: &'a str) -> llm::BoxFuture<'a, Option<ChatResponse>>;
    fn put<'a>(&'a self, key: &'a str, response: &'a ChatResponse) -> llm::BoxFuture<'a, ()>;
}

/// The provider, an optional cache, and a bound on calls in flight.
#[derive(Clone)]
pub struct Llm {
    pub provider: Arc<dyn LlmProvider>,
    pub cache: Option<Arc<dyn ResponseCache>>,
    limit: Arc<Semaphore>,
}

impl Llm {
    pub fn new(
        provider: Arc<dyn LlmProvider>,
        cache: Option<Arc<dyn ResponseCache>>,
        max_in_flight: usize,
    ) -> Self {
        Self {
            provider,
            cache,
            limit: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }

    /// One call, through the cache unless `bypass_cache`.
    pub async fn call(
        &self,
        req: &ChatRequest,
        bypass_cache: bool,
    ) -> Result<(ChatResponse, CallRecord), LlmError> {
        let key = llm::cache_key(self.provider.name(), self.provider.model(), req);
        let cached = match (&self.cache, bypass_cache) {
            (Some(c), false) => c.get(&key).await,
            _ => None,
        };
        let response = match cached {
            Some(mut r) => {
                r.cached = true;
                r.usage = llm::Usage::default();
                r.latency_ms = 0;
                r
            }
            None => {
                let _slot = self
                    .limit
                    .acquire()
                    .await
                    .map_err(|e| LlmError::Transport(e.to_string()))?;
                let r = self.provider.complete(req).await?;
                if let Some(c) = &self.cache {
                    c.put(&key, &r).await;
                }
                r
            }
        };
        let record = CallRecord {
            provider: response.provider.clone(),
            model: response.model.clone(),
            prompt_version: req.prompt_version.clone(),
            input_hash: hex::encode(Sha256::digest(
                format!("{}\n{}", req.system, req.user).as_bytes(),
            )),
            input_tokens: response.usage.input_tokens,
            output_tokens: response.usage.output_tokens,
            latency_ms: response.latency_ms,
            estimated_cost_usd: estimated_cost(&response.model, response.usage),
            cached: response.cached,
        };
        Ok((response, record))
    }
}

/// US dollars per million input and output tokens, by model family; unknown models cost 0.
pub fn estimated_cost(model: &str, usage: llm::Usage) -> f64 {
    const PRICES: &[(&str, f64, f64)] = &[
        ("gpt-4o-mini", 0.15, 0.60),
        ("gpt-4o", 2.50, 10.0),
        ("gpt-4.1-mini", 0.40, 1.60),
        ("claude-3-5-haiku", 0.80, 4.0),
        ("claude-haiku", 1.0, 5.0),
        ("claude-sonnet", 3.0, 15.0),
        ("claude-opus", 15.0, 75.0),
    ];
    PRICES
        .iter()
        .find(|(prefix, _, _)| model.starts_with(prefix))
        .map_or(0.0, |(_, i, o)| {
            (usage.input_tokens as f64 * i + usage.output_tokens as f64 * o) / 1e6
        })
}

fn schema_violations(schema: &Value, value: &Value) -> Vec<Violation> {
    match jsonschema::validator_for(schema) {
        Ok(v) => v
            .iter_errors(value)
            .map(|e| Violation {
                path: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect(),
        Err(e) => vec![Violation {
            path: String::new(),
            message: format!("schema error: {e}"),
        }],
    }
}

/// Strips a code fence some models add despite the rules.
fn unfence(text: &str) -> &str {
    let t = text.trim();
    t.strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|s| s.strip_suffix("```"))
        .map_or(t, str::trim)
}

/// The validate → repair loop, shared by every artifact.
async fn generate<T: DeserializeOwned>(
    llm: &Llm,
    contract: Contract,
    schema: Value,
    input: &Value,
    task: Task,
    opts: &Options,
    validate: impl Fn(T) -> Result<Valid<T>, Violations>,
) -> Result<Generated<T>, GenerateError> {
    let schema_text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    let input_text = serde_json::to_string_pretty(input).unwrap_or_default();
    let first = contract.render(&[
        ("schema", &schema_text),
        ("input", &input_text),
        ("now", "1970-01-01T00:00:00Z"),
    ]);
    let mut first = first;
    if let Some(i) = opts
        .instruction
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        first.push_str(&format!(
            "\n\nA reviewer asked for this version (follow it within the rules above):\n{i}\n"
        ));
    }
    let system = format!(
        "You are Coursewright's course author. You answer with JSON only. Prompt contract: {}.",
        contract.version()
    );
    let mut calls = Vec::new();
    let mut user = first.clone();
    let mut version = contract.version().to_owned();
    let offline = llm.provider.name() == "offline";
    let mut asked = std::collections::HashSet::new();
    for round in 0..=MAX_REPAIRS {
        let req = ChatRequest {
            system: system.clone(),
            user: user.clone(),
            schema: Some((contract.name.to_owned(), schema.clone())),
            temperature: llm::DEFAULT_TEMPERATURE,
            max_tokens: 8_192,
            prompt_version: version.clone(),
            task: Some(task.clone()),
        };
        // A repeat of a request whose answer just failed must reach the model, not the cache.
        let repeat = !asked.insert(user.clone());
        let (response, record) = llm.call(&req, opts.bypass_cache || repeat).await?;
        calls.push(record);
        let violations = match serde_json::from_str::<Value>(unfence(&response.text)) {
            Err(e) => vec![Violation {
                path: String::new(),
                message: format!("the answer is not JSON: {e}"),
            }],
            Ok(value) => {
                let mut v = schema_violations(&schema, &value);
                if v.is_empty() {
                    match serde_json::from_value::<T>(value)
                        .map_err(|e| e.to_string())
                        .map(&validate)
                    {
                        Ok(Ok(valid)) => {
                            return Ok(Generated {
                                value: valid,
                                prompt_version: contract.version(),
                                calls,
                                offline,
                            });
                        }
                        Ok(Err(rules)) => v = rules.0,
                        Err(e) => v.push(Violation {
                            path: String::new(),
                            message: e,
                        }),
                    }
                }
                v
            }
        };
        tracing::info!(
            contract = contract.name,
            round,
            violations = violations.len(),
            "answer rejected"
        );
        if round == MAX_REPAIRS {
            return Err(GenerateError::Invalid {
                rounds: MAX_REPAIRS,
                violations: Violations(violations),
                calls,
            });
        }
        let listed: Vec<String> = violations
            .iter()
            .map(|v| format!("- {}: {}", v.path, v.message))
            .collect();
        let repair = prompts::REPAIR.render(&[
            ("violations", &listed.join("\n")),
            ("previous", &response.text),
        ]);
        user = format!("{first}\n\n{repair}");
        version = format!("{}+{}", contract.version(), prompts::REPAIR.version());
    }
    unreachable!("the loop returns on its last round")
}

fn schema_named(name: &str) -> Value {
    domain::schemas::all()
        .into_iter()
        .find(|(n, _)| n.starts_with(name))
        .map(|(_, s)| s)
        .unwrap_or_default()
}

/// Brief → syllabus draft.
pub async fn syllabus(
    llm: &Llm,
    brief: &Valid<Brief>,
    opts: &Options,
) -> Result<Generated<Syllabus>, GenerateError> {
    let input = serde_json::to_value(&**brief).map_err(|e| GenerateError::Input(e.to_string()))?;
    let task = Task::Syllabus {
        brief: (**brief).clone(),
    };
    generate(
        llm,
        prompts::SYLLABUS,
        schema_named("syllabus."),
        &input,
        task,
        opts,
        Syllabus::validate,
    )
    .await
}

fn lesson_input(syllabus: &Syllabus, lesson_id: &str) -> Result<Value, GenerateError> {
    let (m, p) = syllabus
        .lesson(lesson_id)
        .ok_or_else(|| GenerateError::Input(format!("no lesson {lesson_id:?}")))?;
    Ok(
        serde_json::json!({ "syllabus": { "title": syllabus.title, "audience": syllabus.audience, "level": syllabus.level, "language": syllabus.language },
                           "module": { "id": m.id, "title": m.title, "summary": m.summary }, "lesson": p }),
    )
}

/// One planned lesson of an approved syllabus → lesson draft.
pub async fn lesson(
    llm: &Llm,
    syllabus: &Valid<Syllabus>,
    lesson_id: &str,
    opts: &Options,
) -> Result<Generated<Lesson>, GenerateError> {
    let input = lesson_input(syllabus, lesson_id)?;
    let (m, p) = syllabus
        .lesson(lesson_id)
        .ok_or_else(|| GenerateError::Input(lesson_id.into()))?;
    let task = Task::Lesson {
        syllabus: (**syllabus).clone(),
        lesson_id: lesson_id.into(),
    };
    generate(
        llm,
        prompts::LESSON,
        schema_named("lesson."),
        &input,
        task,
        opts,
        |l: Lesson| l.validate_for(m, p),
    )
    .await
}

/// A lesson already written → a quiz on it. The prompt carries the lesson's text, and every
/// question must be grounded in it ([`domain::Quiz::validate_grounded`]), so the repair loop
/// sends an ungrounded question back like any other violation.
pub async fn quiz(
    llm: &Llm,
    syllabus: &Valid<Syllabus>,
    lesson: &Lesson,
    opts: &Options,
) -> Result<Generated<Quiz>, GenerateError> {
    let lesson_id = lesson.lesson_id.as_str();
    let mut input = lesson_input(syllabus, lesson_id)?;
    let (_, p) = syllabus
        .lesson(lesson_id)
        .ok_or_else(|| GenerateError::Input(lesson_id.into()))?;
    input["lessonText"] = serde_json::json!({
        "title": lesson.title,
        "overview": lesson.explanation.overview,
        "concepts": lesson.explanation.concepts,
        "keyTakeaways": lesson.key_takeaways,
    });
    let task = Task::Quiz {
        syllabus: (**syllabus).clone(),
        lesson_id: lesson_id.into(),
        lesson: Box::new(lesson.clone()),
    };
    generate(
        llm,
        prompts::QUIZ,
        schema_named("quiz."),
        &input,
        task,
        opts,
        |q: Quiz| q.validate_grounded(p, lesson),
    )
    .await
}

/// One module → project draft.
pub async fn project(
    llm: &Llm,
    syllabus: &Valid<Syllabus>,
    module_id: &str,
    opts: &Options,
) -> Result<Generated<Project>, GenerateError> {
    let m = syllabus
        .modules
        .iter()
        .find(|m| m.id == module_id)
        .ok_or_else(|| GenerateError::Input(format!("no module {module_id:?}")))?;
    let input = serde_json::json!({ "syllabus": { "title": syllabus.title, "audience": syllabus.audience, "level": syllabus.level, "language": syllabus.language }, "module": m });
    let task = Task::Project {
        syllabus: (**syllabus).clone(),
        module_id: module_id.into(),
    };
    generate(
        llm,
        prompts::PROJECT,
        schema_named("project."),
        &input,
        task,
        opts,
        |p: Project| p.validate_for(m),
    )
    .await
}
