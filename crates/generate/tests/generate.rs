//! The validate → repair loop, against a fake OpenAI server on loopback and the offline
//! provider.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use domain::{Brief, Level};
use generate::{GenerateError, Llm, Options, ResponseCache};
use llm::{ChatResponse, Offline};
use serde_json::{Value, json};

fn brief() -> domain::Valid<Brief> {
    Brief {
        title: "Practical SQL for analysts".into(),
        audience: "Business analysts new to databases".into(),
        level: Level::Beginner,
        time_budget_hours: 6,
        teaching_style: "hands-on".into(),
        constraints: vec![],
        learning_outcomes: vec!["Write a query that joins two tables".into()],
        description: Some("Querying the data analysts already have.".into()),
        prerequisites: vec![],
        language: "en".into(),
        preferred_modules: None,
    }
    .validate()
    .expect("valid brief")
}

/// A fake OpenAI server answering each call with the next scripted content; it keeps the
/// request bodies.
async fn fake_openai(answers: Vec<String>) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let s = seen.clone();
    let answers = Arc::new(answers);
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |axum::Json(body): axum::Json<Value>| {
            let (s, answers) = (s.clone(), answers.clone());
            async move {
                let n = {
                    let mut s = s.lock().expect("lock");
                    s.push(body);
                    s.len() - 1
                };
                let content = answers[n.min(answers.len() - 1)].clone();
                axum::Json(json!({
                    "model": "gpt-4o-mini", "choices": [{ "finish_reason": "stop", "message": { "content": content, "refusal": null } }],
                    "usage": { "prompt_tokens": 1000, "completion_tokens": 500 }
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn openai_llm(url: String) -> Llm {
    let p = llm::openai::OpenAi::new(
        reqwest::Client::new(),
        url,
        "sk-test".into(),
        "gpt-4o-mini".into(),
        Duration::from_secs(5),
    );
    Llm::new(Arc::new(p), None, 4)
}

fn good_syllabus() -> Value {
    serde_json::to_value(domain::offline::syllabus(&brief(), "2026-01-01T00:00:00Z")).expect("json")
}

#[tokio::test]
async fn a_valid_first_answer_is_accepted_with_its_usage_recorded() {
    let (url, seen) = fake_openai(vec![good_syllabus().to_string()]).await;
    let g = generate::syllabus(&openai_llm(url), &brief(), &Options::cached())
        .await
        .expect("generated");
    assert_eq!(g.prompt_version, "syllabus/v2");
    assert_eq!(g.calls.len(), 1);
    let call = &g.calls[0];
    assert_eq!(
        (
            call.input_tokens,
            call.output_tokens,
            call.prompt_version.as_str()
        ),
        (1000, 500, "syllabus/v2")
    );
    assert!((call.estimated_cost_usd - (1000.0 * 0.15 + 500.0 * 0.60) / 1e6).abs() < 1e-12);
    let body = seen.lock().expect("lock")[0].clone();
    let prompt = body["messages"][1]["content"].as_str().unwrap_or("");
    assert!(
        prompt.contains("\"timeBudgetHours\": 6") && prompt.contains("\"$schema\""),
        "the prompt embeds input and schema"
    );
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["title"],
        "Syllabus"
    );
}

#[tokio::test]
async fn a_schema_violation_is_fixed_by_one_repair_round() {
    let mut bad = good_syllabus();
    bad["modules"][0]["lessons"][0]["estimatedMinutes"] = json!(1);
    bad["surplus"] = json!(true);
    let (url, seen) = fake_openai(vec![
        bad.to_string(),
        format!("```json\n{}\n```", good_syllabus()),
    ])
    .await;
    let g = generate::syllabus(&openai_llm(url), &brief(), &Options::cached())
        .await
        .expect("repaired");
    assert_eq!(g.calls.len(), 2);
    assert_eq!(g.calls[1].prompt_version, "syllabus/v2+repair/v1");
    let repair = seen.lock().expect("lock")[1]["messages"][1]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        repair.contains("/modules/0/lessons/0/estimatedMinutes"),
        "violations are sent back: {repair}"
    );
    assert!(repair.contains("surplus"), "{repair}");
}

#[tokio::test]
async fn an_answer_never_fixed_fails_with_every_violation_after_two_repairs() {
    let mut bad = good_syllabus();
    bad["title"] = json!("SQL");
    bad["modules"][0]["lessons"][1]["prerequisites"] = json!(["nowhere"]);
    let (url, seen) = fake_openai(vec!["not json at all".into(), bad.to_string()]).await;
    let err = generate::syllabus(&openai_llm(url), &brief(), &Options::cached())
        .await
        .expect_err("fails");
    match &err {
        GenerateError::Invalid {
            rounds,
            violations,
            calls,
        } => {
            assert_eq!((*rounds, calls.len()), (2, 3));
            let paths: Vec<&str> = violations.0.iter().map(|v| v.path.as_str()).collect();
            assert!(
                paths.contains(&"/title")
                    || violations.0.iter().any(|v| v.message.contains("title")),
                "{violations}"
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(seen.lock().expect("lock").len(), 3);
    assert_eq!(err.to_json()["code"], "validation_failed");
    assert!(
        err.to_json()["details"]["violations"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
}

#[tokio::test]
async fn unparseable_answers_fail_the_same_way() {
    let (url, _) = fake_openai(vec!["Sure! Here is your syllabus: ...".into()]).await;
    let err = generate::syllabus(&openai_llm(url), &brief(), &Options::cached())
        .await
        .expect_err("fails");
    assert!(matches!(err, GenerateError::Invalid { .. }));
    assert!(err.to_string().contains("not JSON"), "{err}");
}

/// A response cache in memory that counts its hits and stores.
#[derive(Default)]
struct MemoryCache {
    entries: Mutex<HashMap<String, ChatResponse>>,
    hits: AtomicUsize,
    puts: AtomicUsize,
}

impl MemoryCache {
    /// (hits, stores) so far.
    fn counts(&self) -> (usize, usize) {
        (
            self.hits.load(Ordering::SeqCst),
            self.puts.load(Ordering::SeqCst),
        )
    }
}

impl ResponseCache for MemoryCache {
    fn get<'a>(&'a self, key: &'a str) -> llm::BoxFuture<'a, Option<ChatResponse>> {
        Box::pin(async move {
            let found = self.entries.lock().ok()?.get(key).cloned();
            if found.is_some() {
                self.hits.fetch_add(1, Ordering::SeqCst);
            }
            found
        })
    }
    fn put<'a>(&'a self, key: &'a str, r: &'a ChatResponse) -> llm::BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Ok(mut m) = self.entries.lock() {
                m.insert(key.to_owned(), r.clone());
                self.puts.fetch_add(1, Ordering::SeqCst);
            }
        })
    }
}

#[tokio::test]
async fn a_cached_replay_is_byte_identical_and_costs_nothing() {
    let (url, seen) = fake_openai(vec![good_syllabus().to_string()]).await;
    let p = llm::openai::OpenAi::new(
        reqwest::Client::new(),
        url,
        "k".into(),
        "gpt-4o-mini".into(),
        Duration::from_secs(5),
    );
    let cache = Arc::new(MemoryCache::default());
    let llm = Llm::new(Arc::new(p), Some(cache.clone()), 2);
    let first = generate::syllabus(&llm, &brief(), &Options::cached())
        .await
        .expect("first");
    assert_eq!(cache.counts(), (0, 1), "a miss, then the answer is stored");
    assert_eq!(seen.lock().expect("lock").len(), 1);
    let again = generate::syllabus(&llm, &brief(), &Options::cached())
        .await
        .expect("replay");
    assert_eq!(cache.counts(), (1, 1), "the replay is one cache hit");
    assert_eq!(
        serde_json::to_vec(&first.value).expect("json"),
        serde_json::to_vec(&again.value).expect("json")
    );
    assert!(
        again
            .calls
            .iter()
            .all(|c| c.cached && c.input_tokens + c.output_tokens == 0)
    );
    assert_eq!(
        seen.lock().expect("lock").len(),
        1,
        "the replay never reached the provider"
    );
    generate::syllabus(&llm, &brief(), &Options::bypass())
        .await
        .expect("bypass");
    assert_eq!(
        seen.lock().expect("lock").len(),
        2,
        "bypassing the cache calls the provider"
    );
    assert_eq!(cache.counts().0, 1, "bypassing the cache does not read it");
}

#[tokio::test]
async fn the_offline_provider_generates_a_whole_course_deterministically() {
    let llm = Llm::new(Arc::new(Offline), None, 4);
    let s = generate::syllabus(&llm, &brief(), &Options::cached())
        .await
        .expect("syllabus");
    assert!(s.offline);
    let again = generate::syllabus(&llm, &brief(), &Options::cached())
        .await
        .expect("syllabus");
    assert_eq!(
        serde_json::to_vec(&s.value).expect("json"),
        serde_json::to_vec(&again.value).expect("json")
    );
    let syllabus = s.value;
    for module in &syllabus.modules {
        generate::project(&llm, &syllabus, &module.id, &Options::cached())
            .await
            .expect("project");
        for lesson in &module.lessons {
            let l = generate::lesson(&llm, &syllabus, &lesson.id, &Options::cached())
                .await
                .expect("lesson");
            let q = generate::quiz(&llm, &syllabus, &l.value, &Options::cached())
                .await
                .expect("quiz");
            assert_eq!(q.calls.len(), 1, "the offline quiz is grounded at once");
        }
    }
    assert!(matches!(
        generate::lesson(&llm, &syllabus, "no-such-lesson", &Options::cached()).await,
        Err(GenerateError::Input(_))
    ));
}

/// The offline syllabus, its first planned lesson and a lesson written for it whose first
/// concept says something specific.
fn written_lesson() -> (domain::Valid<domain::Syllabus>, domain::Lesson) {
    let s = domain::offline::syllabus(&brief(), "2026-01-01T00:00:00Z")
        .validate()
        .expect("valid");
    let (m, p) = (&s.modules[0], &s.modules[0].lessons[0]);
    let mut lesson = domain::offline::lesson(&s, m, p);
    lesson.explanation.concepts[0].explanation =
        "An inner join keeps only the rows whose key appears in both tables; a left join keeps every row of the left table.".into();
    (s, lesson)
}

#[tokio::test]
async fn a_quiz_prompt_carries_the_lesson_text_and_an_ungrounded_question_is_repaired() {
    let (s, lesson) = written_lesson();
    let p = &s.modules[0].lessons[0];
    let good = domain::offline::quiz(p, &lesson);
    let mut bad = good.clone();
    let c = bad.questions[2].correct_index as usize;
    bad.questions[2].options[c] = "Paris hosted the Olympic Games".into();
    bad.questions[2].explanation = "Paris hosted them alongside its World Fair in 1900.".into();
    let (url, seen) = fake_openai(vec![
        serde_json::to_string(&bad).expect("json"),
        serde_json::to_string(&good).expect("json"),
    ])
    .await;
    let g = generate::quiz(&openai_llm(url), &s, &lesson, &Options::cached())
        .await
        .expect("repaired");
    assert_eq!(g.prompt_version, "quiz/v2");
    assert_eq!(g.calls.len(), 2, "one repair round");
    assert_eq!(g.calls[1].prompt_version, "quiz/v2+repair/v1");
    assert_eq!(*g.value, good);
    let seen = seen.lock().expect("lock");
    let first = seen[0]["messages"][1]["content"].as_str().unwrap_or("");
    assert!(
        first.contains("An inner join keeps only the rows whose key appears in both tables")
            && first.contains(&lesson.key_takeaways[0]),
        "the quiz prompt carries the lesson's text: {first}"
    );
    let repair = seen[1]["messages"][1]["content"].as_str().unwrap_or("");
    assert!(
        repair.contains("/questions/2: the correct option and explanation are not grounded"),
        "the grounding violation is sent back: {repair}"
    );
    assert!(!repair.contains("/questions/0:") && !repair.contains("/questions/1:"));
}

#[tokio::test]
async fn a_quiz_never_grounded_in_its_lesson_fails_after_two_repairs() {
    let (s, lesson) = written_lesson();
    let p = &s.modules[0].lessons[0];
    let mut bad = domain::offline::quiz(p, &lesson);
    for q in &mut bad.questions {
        q.options[q.correct_index as usize] = "Stockholm hosted the Olympic Games".into();
        q.explanation = "Stockholm hosted them in 1912, with electric timing.".into();
    }
    let (url, seen) = fake_openai(vec![serde_json::to_string(&bad).expect("json")]).await;
    let err = generate::quiz(&openai_llm(url), &s, &lesson, &Options::cached())
        .await
        .expect_err("never grounded");
    let GenerateError::Invalid { violations, .. } = &err else {
        panic!("{err}");
    };
    let paths: Vec<&str> = violations.0.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["/questions/0", "/questions/1", "/questions/2"]);
    assert_eq!(seen.lock().expect("lock").len(), 3);
}
