//! Anthropic's Messages API. Structured output is a forced tool call whose input schema is
//! the artifact's JSON Schema.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::openai::truncate;
use crate::{
    BoxFuture, ChatRequest, ChatResponse, LlmError, LlmProvider, Usage, http_error, transport,
};

pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    client: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    timeout: Duration,
}

impl Anthropic {
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
        }
    }

    pub fn body(&self, req: &ChatRequest) -> Value {
        let mut body = json!({
            "model": self.model,
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "system": req.system,
            "messages": [{ "role": "user", "content": req.user }],
        });
        if let Some((name, schema)) = &req.schema {
            body["tools"] = json!([{
                "name": name,
                "description": format!("Return the {name} as this tool's input, matching its schema exactly."),
                "input_schema": schema,
            }]);
            body["tool_choice"] = json!({ "type": "tool", "name": name });
        }
        body
    }

    async fn call(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let res = self
            .client
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(&self.body(req))
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
        match v["stop_reason"].as_str() {
            Some("refusal") => {
                return Err(LlmError::Refusal("the model declined to answer".into()));
            }
            Some("max_tokens") => {
                return Err(LlmError::BadResponse(
                    "the answer was cut off at max_tokens".into(),
                ));
            }
            _ => {}
        }
        let blocks = v["content"].as_array().cloned().unwrap_or_default();
        let text = if req.schema.is_some() {
            blocks
                .iter()
                .find(|b| b["type"] == "tool_use")
                .map(|b| b["input"].to_string())
                .ok_or_else(|| {
                    LlmError::BadResponse(format!("no tool_use block in {}", truncate(&v)))
                })?
        } else {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("")
        };
        Ok(ChatResponse {
            text,
            provider: "anthropic".into(),
            model: v["model"].as_str().unwrap_or(&self.model).to_owned(),
            usage: Usage {
                input_tokens: v["usage"]["input_tokens"].as_u64().unwrap_or(0),
                output_tokens: v["usage"]["output_tokens"].as_u64().unwrap_or(0),
            },
            latency_ms: started.elapsed().as_millis() as u64,
            cached: false,
        })
    }
}

impl LlmProvider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
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
