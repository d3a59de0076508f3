//! LLM providers behind one trait, with timeouts, bounded transport retries, usage
//! accounting and a cache key. Providers speak their vendors' wire formats over reqwest;
//! the offline provider needs no network and answers deterministically from the task.

pub mod anthropic;
pub mod offline;
pub mod openai;
pub mod retry;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use offline::Offline;
pub use retry::{RetryPolicy, Retrying};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the request asks for, in structured form. Real providers read the prompt; the
/// offline provider builds its answer from this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "camelCase")]
pub enum Task {
    Syllabus {
        brief: domain::Brief,
    },
    Lesson {
        syllabus: domain::Syllabus,
        lesson_id: String,
    },
    /// A quiz on a lesson already written: its questions test what `lesson` says.
    Quiz {
        syllabus: domain::Syllabus,
        lesson_id: String,
        lesson: Box<domain::Lesson>,
    },
    Project {
        syllabus: domain::Syllabus,
        module_id: String,
    },
}

/// One chat completion request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRequest {
    pub system: String,
    pub user: String,
    /// The JSON Schema the answer must match, with its name.
    pub schema: Option<(String, Value)>,
    pub temperature: f32,
    pub max_tokens: u32,
    /// The prompt contract's version, recorded with the artifact.
    pub prompt_version: String,
    #[serde(skip)]
    pub task: Option<Task>,
}

/// Token counts as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// One answer, with what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatResponse {
    pub text: String,
    pub provider: String,
    pub model: String,
    pub usage: Usage,
    pub latency_ms: u64,
    /// Served from the response cache: no tokens were spent.
    #[serde(default)]
    pub cached: bool,
}

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("the provider answered {status}: {body}")]
    Http {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach the provider: {0}")]
    Transport(String),
    #[error("the model refused: {0}")]
    Refusal(String),
    #[error("the provider's answer was not understood: {0}")]
    BadResponse(String),
    #[error("retries exhausted after {attempts} attempts; last error: {last}")]
    Exhausted { attempts: u32, last: Box<LlmError> },
}

impl LlmError {
    /// Transport-level failures worth another attempt: 429, 5xx, timeouts, connections.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => *status == 429 || *status >= 500,
            LlmError::Timeout(_) | LlmError::Transport(_) => true,
            _ => false,
        }
    }

    /// A short machine-readable code for a job's error JSON.
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Http { .. } => "llm_http_error",
            LlmError::Timeout(_) => "llm_timeout",
            LlmError::Transport(_) => "llm_unreachable",
            LlmError::Refusal(_) => "llm_refusal",
            LlmError::BadResponse(_) => "llm_bad_response",
            LlmError::Exhausted { .. } => "llm_retries_exhausted",
        }
    }
}

/// A model behind an API.
pub trait LlmProvider: Send + Sync {
    fn name(&self) -> &'static str;
    fn model(&self) -> &str;
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>>;
}

/// The response-cache key: provider, model, every parameter and the whole prompt.
pub fn cache_key(provider: &str, model: &str, req: &ChatRequest) -> String {
    let mut h = Sha256::new();
    let body = serde_json::json!({
        "provider": provider, "model": model, "system": req.system, "user": req.user,
        "schema": req.schema, "temperature": req.temperature, "maxTokens": req.max_tokens,
        "promptVersion": req.prompt_version,
    });
    h.update(body.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The default sampling temperature: low, for repeatable structure.
pub const DEFAULT_TEMPERATURE: f32 = 0.2;
/// How long one call may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Which provider to build, from `LLM_PROVIDER` and friends. Its `Debug` hides the keys.
#[derive(Clone)]
pub struct ProviderConfig {
    pub provider: String,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub openai_api_key: String,
    pub anthropic_api_key: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = |k: &str| if k.is_empty() { "(unset)" } else { "(set)" };
        f.debug_struct("ProviderConfig")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("openai_api_key", &key(&self.openai_api_key))
            .field("anthropic_api_key", &key(&self.anthropic_api_key))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Builds the configured provider, wrapped in bounded retries.
pub fn from_config(c: &ProviderConfig) -> Result<Box<dyn LlmProvider>, LlmError> {
    let client = reqwest::Client::builder()
        .timeout(c.timeout)
        .build()
        .map_err(|e| LlmError::Transport(e.to_string()))?;
    let policy = RetryPolicy::default();
    Ok(match c.provider.as_str() {
        "offline" => Box::new(Offline),
        "openai" => Box::new(Retrying::new(
            openai::OpenAi::new(
                client,
                c.base_url
                    .clone()
                    .unwrap_or_else(|| "https://api.openai.com/v1".into()),
                c.openai_api_key.clone(),
                c.model.clone().unwrap_or_else(|| "gpt-4o-mini".into()),
                c.timeout,
            ),
            policy,
        )),
        "ollama" => Box::new(Retrying::new(
            openai::OpenAi::new(
                client,
                c.base_url
                    .clone()
                    .unwrap_or_else(|| "http://127.0.0.1:11434/v1".into()),
                String::new(),
                c.model.clone().unwrap_or_else(|| "llama3.1".into()),
                c.timeout,
            )
            .named("ollama"),
            policy,
        )),
        "anthropic" => Box::new(Retrying::new(
            anthropic::Anthropic::new(
                client,
                c.base_url
                    .clone()
                    .unwrap_or_else(|| "https://api.anthropic.com".into()),
                c.anthropic_api_key.clone(),
                c.model
                    .clone()
                    .unwrap_or_else(|| "claude-sonnet-4-5".into()),
                c.timeout,
            ),
            policy,
        )),
        other => return Err(LlmError::BadResponse(format!("unknown provider {other:?}"))),
    })
}

/// Maps a reqwest failure to ours.
pub(crate) fn transport(e: reqwest::Error, timeout: Duration) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout(timeout)
    } else {
        LlmError::Transport(e.to_string())
    }
}

/// Reads a non-2xx answer, keeping `Retry-After` (seconds) when present.
pub(crate) async fn http_error(res: reqwest::Response) -> LlmError {
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let body: String = res
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(2_000)
        .collect();
    LlmError::Http {
        status,
        body,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_provider_config_never_prints_a_key() {
        let c = ProviderConfig {
            provider: "openai".into(),
            model: None,
            base_url: None,
            openai_api_key: "sk-live-0123456789".into(),
            anthropic_api_key: "sk-ant-9876543210".into(),
            timeout: DEFAULT_TIMEOUT,
        };
        let printed = format!("{c:?} {c:#?}");
        assert!(!printed.contains("0123456789"), "{printed}");
        assert!(!printed.contains("9876543210"), "{printed}");
        assert!(printed.contains("openai_api_key: \"(set)\""), "{printed}");
    }
}
