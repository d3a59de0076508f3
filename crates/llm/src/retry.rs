//! Bounded transport retries: only for 429, 5xx, timeouts and connection failures, with
//! exponential backoff, honouring `Retry-After` up to a cap.

use std::time::Duration;

use crate::{BoxFuture, ChatRequest, ChatResponse, LlmError, LlmProvider};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    /// No wait, `Retry-After` included, is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

pub struct Retrying<P> {
    inner: P,
    policy: RetryPolicy,
}

impl<P> Retrying<P> {
    pub fn new(inner: P, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }
}

impl<P: LlmProvider> LlmProvider for Retrying<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn model(&self) -> &str {
        self.inner.model()
    }
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.inner.complete(req).await {
                    Ok(r) => return Ok(r),
                    Err(e) if e.is_retryable() && attempt < self.policy.attempts => {
                        let backoff = self.policy.base_delay * 2_u32.pow(attempt - 1);
                        let wait = match &e {
                            LlmError::Http {
                                retry_after: Some(ra),
                                ..
                            } => *ra,
                            _ => backoff,
                        }
                        .min(self.policy.max_delay);
                        tracing::warn!(provider = self.inner.name(), attempt, error = %e, wait_ms = wait.as_millis() as u64, "retrying the LLM call");
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) if e.is_retryable() => {
                        return Err(LlmError::Exhausted {
                            attempts: attempt,
                            last: Box::new(e),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }
}
