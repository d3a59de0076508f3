//! OpenAI's Chat Completions API, and every server that speaks it (vLLM, llama.cpp's
//! server, LM Studio, Ollama's `/v1`), chosen by base URL.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    BoxFuture, ChatRequest, ChatResponse, LlmError, LlmProvider, Usage, http_error, transport,
};

pub struct OpenAi {
    client: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    timeout: Duration,
    name: &'static str,
}

impl OpenAi {
    pub fn new(
        client: reqwest::Client,
        base_url: String,
        api_key: String,
        model: String,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model,
            timeout,
            name: "openai",
        }
    }

    /// The same wire format under another provider name (for usage records).
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The request body, in OpenAI's format: structured output when a schema is given.
    pub fn body(&self, req: &ChatRequest) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": [
                { "role": "system", "content": req.system },
                { "role": "user", "content": req.user },
            ],
            "temperature": req.temperature,
            "max_tokens": req.max_tokens,
        });
        body["response_format"] = match &req.schema {
            Some((name, schema)) => json!({
                "type": "json_schema",
                "json_schema": { "name": name, "schema": schema, "strict": false },
            }),
            None => json!({ "type": "json_object" }),
        };
        body
    }

    async fn call(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let mut builder = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .json(&self.body(req));
        if !self.api_key.is_empty() {
            builder = builder.bearer_auth(&self.api_key);
        }
        let res = builder
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout))?;
        if !res.status().is_success() {
            return Err(http_error(res).await);
        }
        let v: Value = res
            .json()
            .await
            .map_err(|e| LlmError::BadResponse(e.to_string()))?;
        let choice = &v["choices"][0];
        if let Some(refusal) = choice["message"]["refusal"].as_str() {
            return Err(LlmError::Refusal(refusal.to_owned()));
        }
        if choice["finish_reason"] == "length" {
            return Err(LlmError::BadResponse(
                "the answer was cut off at max_tokens".into(),
            ));
        }
        let text = choice["message"]["content"]
            .as_str()
            .ok_or_else(|| {
                LlmError::BadResponse(format!("no message content in {}", truncate(&v)))
            })?
            .to_owned();
        Ok(ChatResponse {
            text,
            provider: self.name.to_owned(),
            model: v["model"].as_str().unwrap_or(&self.model).to_owned(),
            usage: Usage {
                input_tokens: v["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
                output_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
            },
            latency_ms: started.elapsed().as_millis() as u64,
            cached: false,
        })
    }
}

pub(crate) fn truncate(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

impl LlmProvider for OpenAi {
    fn name(&self) -> &'static str {
        self.name
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(self.call(req))
    }
}
