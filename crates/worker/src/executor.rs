//! Executors: one per job kind, behind one trait.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

/// What an executor is given: the job as created, nothing mutable.
#[derive(Debug, Clone)]
pub struct JobInput {
    pub job_id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub target_type: String,
    pub target_id: String,
    pub instruction: Value,
}

/// What an executor produced. It is validated whole by the executor before it returns; the
/// worker stores it and only then makes it visible.
#[derive(Debug, Clone)]
pub struct JobOutput {
    pub value: Value,
    /// Artifacts to insert as DRAFTs in the same transaction that completes the job.
    pub drafts: Vec<db::artifacts::NewDraft>,
}

impl JobOutput {
    pub fn new(value: Value) -> Self {
        Self {
            value,
            drafts: Vec::new(),
        }
    }
}

/// Why a job failed, as stored in its `error` JSON.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct JobFailure {
    pub code: String,
    pub message: String,
    pub details: Value,
}

impl JobFailure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({ "code": self.code, "message": self.message });
        if !self.details.is_null() {
            v["details"] = self.details.clone();
        }
        v
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs jobs of one kind.
pub trait Executor: Send + Sync + 'static {
    /// The job kind this executor runs, e.g. `GENERATE_SYLLABUS`.
    fn kind(&self) -> &'static str;

    /// How long one run may take before it is failed with `timeout`.
    fn timeout(&self) -> Duration {
        Duration::from_secs(15 * 60)
    }

    fn run(&self, input: JobInput) -> BoxFuture<'_, Result<JobOutput, JobFailure>>;
}

/// The executors a worker knows, by kind.
#[derive(Clone, Default)]
pub struct Registry {
    by_kind: HashMap<&'static str, Arc<dyn Executor>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an executor; a second one for the same kind replaces the first.
    pub fn register(mut self, executor: impl Executor) -> Self {
        self.by_kind.insert(executor.kind(), Arc::new(executor));
        self
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn Executor>> {
        self.by_kind.get(kind).cloned()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.by_kind.keys().copied().collect();
        k.sort_unstable();
        k
    }
}
