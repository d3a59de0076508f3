//! The offline provider: no network, deterministic, answers from the structured task with
//! drafts that pass the schema and every rule (see `domain::offline`).

use crate::{BoxFuture, ChatRequest, ChatResponse, LlmError, LlmProvider, Task, Usage};

/// `createdAt` of offline syllabi, fixed so the same brief gives byte-identical output.
pub const OFFLINE_CREATED_AT: &str = "1970-01-01T00:00:00Z";

pub struct Offline;

fn answer(task: &Task) -> Result<serde_json::Value, LlmError> {
    let missing = |what: &str| LlmError::BadResponse(format!("the syllabus has no {what}"));
    let json = |v: Result<serde_json::Value, serde_json::Error>| {
        v.map_err(|e| LlmError::BadResponse(e.to_string()))
    };
    match task {
        Task::Syllabus { brief } => json(serde_json::to_value(domain::offline::syllabus(
            brief,
            OFFLINE_CREATED_AT,
        ))),
        Task::Lesson {
            syllabus,
            lesson_id,
        } => {
            let (m, p) = syllabus
                .lesson(lesson_id)
                .ok_or_else(|| missing(lesson_id))?;
            json(serde_json::to_value(domain::offline::lesson(
                syllabus, m, p,
            )))
        }
        Task::Quiz {
            syllabus,
            lesson_id,
            lesson,
        } => {
            let (_, p) = syllabus
                .lesson(lesson_id)
                .ok_or_else(|| missing(lesson_id))?;
            json(serde_json::to_value(domain::offline::quiz(p, lesson)))
        }
        Task::Project {
            syllabus,
            module_id,
        } => {
            let m = syllabus
                .modules
                .iter()
                .find(|m| &m.id == module_id)
                .ok_or_else(|| missing(module_id))?;
            json(serde_json::to_value(domain::offline::project(m)))
        }
    }
}

impl LlmProvider for Offline {
    fn name(&self) -> &'static str {
        "offline"
    }
    fn model(&self) -> &str {
        "offline-drafts-v1"
    }
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(async move {
            let task = req.task.as_ref().ok_or_else(|| {
                LlmError::BadResponse("the offline provider needs a structured task".into())
            })?;
            Ok(ChatResponse {
                text: answer(task)?.to_string(),
                provider: "offline".into(),
                model: self.model().into(),
                usage: Usage::default(),
                latency_ms: 0,
                cached: false,
            })
        })
    }
}
