//! Generation jobs through the shared harness: briefs submitted through the use cases, the
//! real worker and its PostgreSQL LLM cache, a provider that counts its calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use llm::LlmProvider;

use serde_json::Value;
use test_support::{TestApp, actor_of};
use worker::Finished;

static OFFLINE: llm::Offline = llm::Offline;

/// The offline provider, counting the calls that reach it.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Counting {
    fn calls(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl LlmProvider for Counting {
    fn name(&self) -> &'static str {
        OFFLINE.name()
    }
    fn model(&self) -> &str {
        "offline-drafts-v1"
    }
    fn complete<'a>(
        &'a self,
        req: &'a llm::ChatRequest,
    ) -> llm::BoxFuture<'a, Result<llm::ChatResponse, llm::LlmError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        OFFLINE.complete(req)
    }
}

#[tokio::test]
async fn a_second_identical_brief_is_drafted_from_the_llm_cache_without_calling_the_provider() {
    let provider = Arc::new(Counting::default());
    let app = TestApp::builder().provider(provider.clone()).start().await;
    let tenant = app.tenant("acme").await;
    let (_, admin) = app.login_as_admin(&tenant).await;
    let admin = actor_of(&admin);

    app.submit_brief(&admin, "Practical SQL", 4).await;
    assert_eq!(app.run_pending_jobs().await, [Finished::Completed]);
    let calls = provider.calls();
    assert!(calls >= 1, "the first draft asks the provider");
    assert_eq!(
        app.count("llm_cache").await,
        i64::try_from(calls).expect("calls"),
        "every answer is stored in the cache"
    );

    app.submit_brief(&admin, "Practical SQL", 4).await;
    assert_eq!(app.run_pending_jobs().await, [Finished::Completed]);
    assert_eq!(
        provider.calls(),
        calls,
        "the second draft is made of cache hits only"
    );
    let provenance: Vec<Value> = sqlx::query_scalar(
        "SELECT provenance FROM artifacts WHERE kind = 'SYLLABUS' ORDER BY created_at, id",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("syllabi");
    let cached = |p: &Value| -> Vec<bool> {
        p["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .map(|c| c["cached"] == true)
            .collect()
    };
    assert_eq!(provenance.len(), 2);
    assert_eq!(cached(&provenance[0]), vec![false; calls]);
    assert_eq!(
        cached(&provenance[1]),
        vec![true; calls],
        "recorded as hits"
    );
}

/// Every content row of a course: (kind, ref, version, created by a person).
async fn content_rows(app: &TestApp, course: uuid::Uuid) -> Vec<(String, String, i32, bool)> {
    sqlx::query_as(
        "SELECT kind, ref_id, version, job_id IS NULL FROM artifacts
         WHERE course_id = $1 AND kind <> 'SYLLABUS' ORDER BY kind, ref_id, version",
    )
    .bind(course)
    .fetch_all(&app.db.pool)
    .await
    .expect("content")
}

#[tokio::test]
async fn content_generation_makes_only_missing_parts_and_never_drafts_over_a_human_edit() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("acme").await;
    let (_, admin) = app.login_as_admin(&tenant).await;
    let admin = actor_of(&admin);
    let course = app.approved_course(&admin, "Practical SQL", 4).await;
    let pool = &app.db.app_pool;

    // A person edits one lesson: a new draft version written by a human.
    let (lesson_id, body): (uuid::Uuid, Value) = sqlx::query_as(
        "SELECT id, body FROM artifacts WHERE course_id = $1 AND kind = 'LESSON'
         ORDER BY ref_id LIMIT 1",
    )
    .bind(course.course_id)
    .fetch_one(&app.db.pool)
    .await
    .expect("a lesson");
    let mut edited = body.clone();
    edited["title"] = Value::String("Questions an analyst actually asks".into());
    let human = app::authoring::edit(
        pool,
        &admin,
        app::authoring::Family::Content,
        lesson_id,
        edited,
    )
    .await
    .expect("edit");
    let before = content_rows(&app, course.course_id).await;

    // Asking for content again finds nothing missing: no job, no draft.
    let again = app::authoring::request_content(pool, &admin, course.syllabus_id).await;
    assert!(
        matches!(
            again,
            Err(app::AppError::Conflict {
                code: "content_complete",
                ..
            })
        ),
        "{again:?}"
    );
    assert!(app.run_pending_jobs().await.is_empty(), "no job was queued");
    assert_eq!(content_rows(&app, course.course_id).await, before);

    // A new syllabus version plans one more lesson in its first module.
    let (syllabus_body,): (Value,) = sqlx::query_as("SELECT body FROM artifacts WHERE id = $1")
        .bind(course.syllabus_id)
        .fetch_one(&app.db.pool)
        .await
        .expect("syllabus");
    let mut next = syllabus_body.clone();
    let first = next["modules"][0]["lessons"][0].clone();
    let mut added = first.clone();
    added["id"] = Value::String("window-functions-in-practice".into());
    added["title"] = Value::String("Window functions in practice".into());
    added["prerequisites"] = Value::Array(vec![]);
    // Its minutes come out of the first lesson's, so the course keeps its time budget.
    let minutes = first["estimatedMinutes"].as_u64().expect("minutes");
    added["estimatedMinutes"] = Value::from(10);
    next["modules"][0]["lessons"][0]["estimatedMinutes"] = Value::from(minutes - 10);
    next["modules"][0]["lessons"]
        .as_array_mut()
        .expect("lessons")
        .push(added);
    let v2 = app::authoring::edit(
        pool,
        &admin,
        app::authoring::Family::Syllabus,
        course.syllabus_id,
        next,
    )
    .await
    .expect("edit the syllabus");
    app::authoring::review(
        pool,
        &admin,
        app::authoring::Family::Syllabus,
        v2.id,
        true,
        None,
    )
    .await
    .expect("approve it");
    let jobs = app::authoring::request_content(pool, &admin, v2.id)
        .await
        .expect("request the missing content");
    let first_module = syllabus_body["modules"][0]["id"]
        .as_str()
        .expect("module id");
    assert_eq!(
        jobs.iter()
            .map(|j| j.module_id.as_str())
            .collect::<Vec<_>>(),
        [first_module],
        "only the module with a missing part gets a job"
    );
    assert_eq!(app.run_pending_jobs().await, [Finished::Completed]);

    let after = content_rows(&app, course.course_id).await;
    let new: Vec<_> = after.iter().filter(|r| !before.contains(r)).collect();
    assert_eq!(
        new.iter()
            .map(|(k, r, v, _)| (k.as_str(), r.as_str(), *v))
            .collect::<Vec<_>>(),
        [
            ("LESSON", "window-functions-in-practice", 1),
            ("QUIZ", "window-functions-in-practice", 1)
        ],
        "exactly the new lesson and its quiz are drafted"
    );
    let newest: (uuid::Uuid, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT id, job_id FROM artifacts WHERE lineage_id = (SELECT lineage_id FROM artifacts WHERE id = $1)
         ORDER BY version DESC LIMIT 1",
    )
    .bind(lesson_id)
    .fetch_one(&app.db.pool)
    .await
    .expect("newest");
    assert_eq!(
        newest,
        (human.id, None),
        "the human edit is still the newest version"
    );
}

#[tokio::test]
async fn a_running_worker_keeps_a_heartbeat_and_removes_it_when_it_stops() {
    let app = TestApp::spawn().await;
    let beats = || async {
        sqlx::query_scalar::<_, String>("SELECT worker FROM worker_heartbeats")
            .fetch_all(&app.db.pool)
            .await
            .expect("heartbeats")
    };
    assert!(beats().await.is_empty());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let w = app.worker().clone();
    let running = tokio::spawn(async move {
        w.run(async {
            let _ = stopped.await;
        })
        .await
    });
    test_support::wait_until(
        std::time::Duration::from_secs(10),
        "the worker's first heartbeat",
        || async { beats().await.len() == 1 },
    )
    .await;
    let _ = stop.send(());
    running
        .await
        .expect("join")
        .expect("the worker stops cleanly");
    assert!(
        beats().await.is_empty(),
        "a stopped worker removes its heartbeat"
    );
}

/// The offline provider, keeping every request's task and prompt in the order they came.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<(llm::Task, String)>>);

impl Recording {
    /// (lesson id, prompt) of every quiz request, in order.
    fn quizzes(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|(t, user)| match t {
                llm::Task::Quiz { lesson_id, .. } => Some((lesson_id.clone(), user.clone())),
                _ => None,
            })
            .collect()
    }

    /// Where the first request for `what` of `lesson` came, if it came.
    fn position(&self, what: &str, lesson: &str) -> Option<usize> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .position(|(t, _)| match t {
                llm::Task::Lesson { lesson_id, .. } => what == "lesson" && lesson_id == lesson,
                llm::Task::Quiz { lesson_id, .. } => what == "quiz" && lesson_id == lesson,
                _ => false,
            })
    }
}

impl LlmProvider for Recording {
    fn name(&self) -> &'static str {
        OFFLINE.name()
    }
    fn model(&self) -> &str {
        "offline-drafts-v1"
    }
    fn complete<'a>(
        &'a self,
        req: &'a llm::ChatRequest,
    ) -> llm::BoxFuture<'a, Result<llm::ChatResponse, llm::LlmError>> {
        if let Some(t) = &req.task {
            self.0
                .lock()
                .expect("lock")
                .push((t.clone(), req.user.clone()));
        }
        OFFLINE.complete(req)
    }
}

const WINDOWS: &str =
    "A window function computes over a frame of rows without collapsing them into groups.";

async fn body_of(app: &TestApp, course: uuid::Uuid, kind: &str, ref_id: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT body FROM artifacts WHERE course_id = $1 AND kind = $2 AND ref_id = $3
         ORDER BY version",
    )
    .bind(course)
    .bind(kind)
    .bind(ref_id)
    .fetch_all(&app.db.pool)
    .await
    .expect("bodies")
}

#[tokio::test]
async fn a_quiz_is_written_after_its_lesson_from_the_lesson_text_or_the_newest_stored_lesson() {
    let provider = Arc::new(Recording::default());
    let app = TestApp::builder().provider(provider.clone()).start().await;
    let tenant = app.tenant("acme").await;
    let (_, admin) = app.login_as_admin(&tenant).await;
    let admin = actor_of(&admin);
    let submitted = app.submit_brief(&admin, "Practical SQL", 4).await;
    assert_eq!(app.run_pending_jobs().await, [Finished::Completed]);
    let course = submitted.course.id;
    let (syllabus_id, body): (uuid::Uuid, Value) =
        sqlx::query_as("SELECT id, body FROM artifacts WHERE course_id = $1 AND kind = 'SYLLABUS'")
            .bind(course)
            .fetch_one(&app.db.pool)
            .await
            .expect("syllabus");
    let pool = &app.db.app_pool;
    app::authoring::review(
        pool,
        &admin,
        app::authoring::Family::Syllabus,
        syllabus_id,
        true,
        None,
    )
    .await
    .expect("approve");

    // A person has written the first lesson already; its quiz is still missing.
    let s: domain::Syllabus = serde_json::from_value(body).expect("syllabus");
    let (m, first) = (&s.modules[0], &s.modules[0].lessons[0]);
    let mut written = domain::offline::lesson(&s, m, first);
    written.explanation.concepts[0].explanation = WINDOWS.into();
    test_support::seed::insert_artifact(
        &app.db.pool,
        tenant.id,
        admin.user_id,
        "DRAFT",
        "LESSON",
        Some(syllabus_id),
        None,
        &first.id,
        Some(&m.id),
        &first.title,
        &serde_json::to_value(&written).expect("json"),
    )
    .await;

    app::authoring::request_content(pool, &admin, syllabus_id)
        .await
        .expect("request content");
    let ran = app.run_pending_jobs().await;
    assert!(ran.iter().all(|f| *f == Finished::Completed), "{ran:?}");

    assert_eq!(
        body_of(&app, course, "LESSON", &first.id).await.len(),
        1,
        "the written lesson is not drafted over"
    );
    let quizzes = provider.quizzes();
    let planned: usize = s.modules.iter().map(|m| m.lessons.len()).sum();
    assert_eq!(quizzes.len(), planned, "one quiz request per lesson");
    for (lesson_id, prompt) in &quizzes {
        let lessons = body_of(&app, course, "LESSON", lesson_id).await;
        let lesson: domain::Lesson =
            serde_json::from_value(lessons.last().expect("a lesson").clone()).expect("lesson");
        for text in lesson
            .explanation
            .concepts
            .iter()
            .map(|c| &c.explanation)
            .chain(&lesson.key_takeaways)
        {
            let quoted = serde_json::to_string(text).expect("json");
            assert!(
                prompt.contains(&quoted),
                "the quiz prompt for {lesson_id} carries {quoted}"
            );
        }
        if lesson_id != &first.id {
            assert!(
                provider.position("lesson", lesson_id) < provider.position("quiz", lesson_id),
                "the quiz of {lesson_id} is asked for after its lesson"
            );
        } else {
            assert_eq!(provider.position("lesson", lesson_id), None);
        }
    }
    let quiz = body_of(&app, course, "QUIZ", &first.id).await;
    assert_eq!(quiz.len(), 1);
    assert!(
        quiz[0].to_string().contains(WINDOWS),
        "the offline quiz asks about what the written lesson says: {}",
        quiz[0]
    );
}

#[tokio::test]
async fn a_regenerated_quiz_is_grounded_in_the_lesson_as_edited() {
    let provider = Arc::new(Recording::default());
    let app = TestApp::builder().provider(provider.clone()).start().await;
    let tenant = app.tenant("acme").await;
    let (_, admin) = app.login_as_admin(&tenant).await;
    let admin = actor_of(&admin);
    let course = app.approved_course(&admin, "Practical SQL", 4).await;
    let pool = &app.db.app_pool;
    let (lesson_id, ref_id, body): (uuid::Uuid, String, Value) = sqlx::query_as(
        "SELECT id, ref_id, body FROM artifacts WHERE course_id = $1 AND kind = 'LESSON'
         ORDER BY ref_id LIMIT 1",
    )
    .bind(course.course_id)
    .fetch_one(&app.db.pool)
    .await
    .expect("a lesson");
    let mut edited = body.clone();
    edited["explanation"]["concepts"][0]["explanation"] = Value::String(WINDOWS.into());
    app::authoring::edit(
        pool,
        &admin,
        app::authoring::Family::Content,
        lesson_id,
        edited,
    )
    .await
    .expect("edit");
    let quiz_id: uuid::Uuid = sqlx::query_scalar(
        "SELECT id FROM artifacts WHERE course_id = $1 AND kind = 'QUIZ' AND ref_id = $2",
    )
    .bind(course.course_id)
    .bind(&ref_id)
    .fetch_one(&app.db.pool)
    .await
    .expect("its quiz");
    let before = provider.quizzes().len();
    app::authoring::regenerate(
        pool,
        &admin,
        app::authoring::Family::Content,
        quiz_id,
        "Ask about window functions",
    )
    .await
    .expect("regenerate");
    assert_eq!(app.run_pending_jobs().await, [Finished::Completed]);
    let quizzes = provider.quizzes();
    assert_eq!(quizzes.len(), before + 1);
    let (asked_for, prompt) = quizzes.last().expect("the regeneration's request");
    assert_eq!(asked_for, &ref_id);
    assert!(
        prompt.contains(WINDOWS),
        "the prompt carries the edited lesson"
    );
    let versions = body_of(&app, course.course_id, "QUIZ", &ref_id).await;
    assert_eq!(versions.len(), 2);
    assert!(!versions[0].to_string().contains(WINDOWS));
    assert!(versions[1].to_string().contains(WINDOWS));
}
