//! Providers against fake OpenAI and Anthropic servers on loopback, in their wire formats.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use llm::anthropic::Anthropic;
use llm::openai::OpenAi;
use llm::{ChatRequest, LlmError, LlmProvider, Offline, RetryPolicy, Retrying, Task};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// One scripted answer: status, headers, body, delay in ms.
type Step = (u16, Vec<(&'static str, &'static str)>, Value, u64);
type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A fake that answers the n-th call with `script[n]` (status, headers, body, delay).
async fn fake(path: &'static str, script: Vec<Step>) -> (String, Seen, Arc<AtomicUsize>) {
    let seen: Seen = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let (s, c) = (seen.clone(), calls.clone());
    let script = Arc::new(script);
    let app = axum::Router::new().route(
        path,
        post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                let (s, c, script) = (s.clone(), c.clone(), script.clone());
                async move {
                    s.lock().await.push((headers, body));
                    let n = c.fetch_add(1, Ordering::SeqCst).min(script.len() - 1);
                    let (status, hdrs, body, delay) = script[n].clone();
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    let mut res = (
                        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                        axum::Json(body),
                    )
                        .into_response();
                    for (k, v) in hdrs {
                        res.headers_mut().insert(k, v.parse().expect("header"));
                    }
                    res
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen, calls)
}

fn request() -> ChatRequest {
    ChatRequest {
        system: "You write syllabi as JSON.".into(),
        user: "Brief: ...".into(),
        schema: Some((
            "syllabus".into(),
            json!({"type": "object", "additionalProperties": false}),
        )),
        temperature: llm::DEFAULT_TEMPERATURE,
        max_tokens: 4096,
        prompt_version: "syllabus/v1".into(),
        task: None,
    }
}

fn openai_ok(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{ "index": 0, "finish_reason": "stop",
                      "message": { "role": "assistant", "content": content, "refusal": null } }],
        "usage": { "prompt_tokens": 120, "completion_tokens": 45, "total_tokens": 165 }
    })
}

fn openai(url: &str, timeout: Duration) -> OpenAi {
    OpenAi::new(
        reqwest::Client::new(),
        format!("{url}/v1"),
        "sk-test".into(),
        "gpt-4o-mini".into(),
        timeout,
    )
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn openai_sends_the_schema_and_parameters_and_reads_text_and_usage() {
    let (url, seen, _) = fake(
        "/v1/chat/completions",
        vec![(200, vec![], openai_ok(r#"{"title":"x"}"#), 0)],
    )
    .await;
    let r = openai(&url, Duration::from_secs(5))
        .complete(&request())
        .await
        .expect("answer");
    assert_eq!(r.text, r#"{"title":"x"}"#);
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (120, 45));
    assert_eq!(
        (r.provider.as_str(), r.model.as_str()),
        ("openai", "gpt-4o-mini-2024-07-18")
    );
    let (headers, body) = seen.lock().await[0].clone();
    assert_eq!(headers["authorization"], "Bearer sk-test");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert!((body["temperature"].as_f64().unwrap_or(0.0) - 0.2).abs() < 1e-6);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "syllabus");
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["additionalProperties"],
        false
    );
    assert_eq!(body["messages"][0]["role"], "system");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let (url, _, calls) = fake(
        "/v1/chat/completions",
        vec![
            (
                429,
                vec![("retry-after", "1")],
                json!({"error": {"message": "slow down"}}),
                0,
            ),
            (200, vec![], openai_ok("{}"), 0),
        ],
    )
    .await;
    let started = Instant::now();
    let r = Retrying::new(openai(&url, Duration::from_secs(5)), quick())
        .complete(&request())
        .await
        .expect("answer");
    assert_eq!(r.text, "{}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times_and_client_errors_never() {
    let (url, _, calls) = fake(
        "/v1/chat/completions",
        vec![(503, vec![], json!({"error": "down"}), 0)],
    )
    .await;
    let err = Retrying::new(openai(&url, Duration::from_secs(5)), quick())
        .complete(&request())
        .await
        .expect_err("fails");
    assert!(
        matches!(err, LlmError::Exhausted { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let (url, _, calls) = fake(
        "/v1/chat/completions",
        vec![(400, vec![], json!({"error": "bad schema"}), 0)],
    )
    .await;
    let err = Retrying::new(openai(&url, Duration::from_secs(5)), quick())
        .complete(&request())
        .await
        .expect_err("fails");
    assert!(matches!(err, LlmError::Http { status: 400, .. }), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_slow_provider_times_out() {
    let (url, _, _) = fake(
        "/v1/chat/completions",
        vec![(200, vec![], openai_ok("{}"), 3_000)],
    )
    .await;
    let policy = RetryPolicy {
        attempts: 2,
        ..quick()
    };
    let err = Retrying::new(openai(&url, Duration::from_millis(200)), policy)
        .complete(&request())
        .await
        .expect_err("times out");
    match err {
        LlmError::Exhausted { attempts: 2, last } => {
            assert!(matches!(*last, LlmError::Timeout(_)), "{last}")
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_refusal_is_reported_as_such() {
    let mut body = openai_ok("");
    body["choices"][0]["message"]["refusal"] = json!("I can't help with that.");
    body["choices"][0]["message"]["content"] = Value::Null;
    let (url, _, _) = fake("/v1/chat/completions", vec![(200, vec![], body, 0)]).await;
    let err = openai(&url, Duration::from_secs(5))
        .complete(&request())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, LlmError::Refusal(ref m) if m.contains("can't")),
        "{err}"
    );
    assert_eq!(err.code(), "llm_refusal");
}

#[tokio::test]
async fn anthropic_forces_a_tool_call_with_the_schema_and_reads_its_input() {
    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [{ "type": "tool_use", "id": "toolu_1", "name": "syllabus", "input": { "title": "SQL" } }],
        "stop_reason": "tool_use",
        "usage": { "input_tokens": 300, "output_tokens": 80 }
    });
    let (url, seen, _) = fake("/v1/messages", vec![(200, vec![], answer, 0)]).await;
    let p = Anthropic::new(
        reqwest::Client::new(),
        url,
        "sk-ant-test".into(),
        "claude-sonnet-4-5".into(),
        Duration::from_secs(5),
    );
    let r = p.complete(&request()).await.expect("answer");
    assert_eq!(
        serde_json::from_str::<Value>(&r.text).expect("json"),
        json!({"title": "SQL"})
    );
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (300, 80));
    let (headers, body) = seen.lock().await[0].clone();
    assert_eq!(headers["x-api-key"], "sk-ant-test");
    assert_eq!(headers["anthropic-version"], llm::anthropic::API_VERSION);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "syllabus"})
    );
    assert_eq!(
        body["tools"][0]["input_schema"]["additionalProperties"],
        false
    );
    assert_eq!(body["system"], "You write syllabi as JSON.");
    assert!((body["temperature"].as_f64().unwrap_or(0.0) - 0.2).abs() < 1e-6);
}

#[tokio::test]
async fn the_offline_provider_is_deterministic_and_free() {
    let brief = domain::Brief {
        title: "Practical SQL for analysts".into(),
        audience: "Business analysts".into(),
        level: domain::Level::Beginner,
        time_budget_hours: 6,
        teaching_style: "hands-on".into(),
        constraints: vec![],
        learning_outcomes: vec!["Join two tables on a shared key".into()],
        description: None,
        prerequisites: vec![],
        language: "en".into(),
        preferred_modules: Some(2),
    };
    let mut req = request();
    req.task = Some(Task::Syllabus { brief });
    let a = Offline.complete(&req).await.expect("answer");
    let b = Offline.complete(&req).await.expect("answer");
    assert_eq!(a.text, b.text);
    assert_eq!((a.usage.input_tokens, a.usage.output_tokens), (0, 0));
    let s: domain::Syllabus = serde_json::from_str(&a.text).expect("a syllabus");
    let s = s.validate().expect("valid");
    assert_eq!(s.modules.len(), 2, "the preferred module count is honoured");
    assert_eq!(
        s.modules[0].lessons[0].objectives[0],
        "Join two tables on a shared key"
    );

    // A quiz is built from the lesson it is given, not from the plan alone.
    let lesson_id = s.modules[0].lessons[0].id.clone();
    let (m, p) = s.lesson(&lesson_id).expect("planned");
    let mut lesson = domain::offline::lesson(&s, m, p);
    lesson.explanation.concepts[0].explanation =
        "A foreign key names the primary key of another table, so a join can follow it.".into();
    let mut quiz_req = request();
    quiz_req.task = Some(Task::Quiz {
        syllabus: (*s).clone(),
        lesson_id: lesson_id.clone(),
        lesson: Box::new(lesson.clone()),
    });
    let q = Offline.complete(&quiz_req).await.expect("quiz");
    assert!(
        q.text.contains("A foreign key names the primary key"),
        "{}",
        q.text
    );
    let quiz: domain::Quiz = serde_json::from_str(&q.text).expect("a quiz");
    quiz.validate_grounded(p, &lesson).expect("grounded");

    let k = llm::cache_key("offline", "m", &req);
    assert_eq!(k, llm::cache_key("offline", "m", &req));
    let mut warmer = req.clone();
    warmer.temperature = 0.7;
    assert_ne!(k, llm::cache_key("offline", "m", &warmer));
    assert_ne!(k, llm::cache_key("openai", "m", &req));
}
