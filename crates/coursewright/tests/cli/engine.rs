//! The syllabus and content engine end to end: the real router over HTTP, the real worker
//! with the offline provider, one fresh database.

use std::sync::Arc;

use domain::Role;
use reqwest::Client;
use serde_json::{Value, json};
use test_support::TestApp;
use worker::Finished;

/// The shared harness with this file's HTTP shorthands.
struct Engine(TestApp);

impl std::ops::Deref for Engine {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.0
    }
}

/// A provider whose every answer breaks the rules; it counts its calls.
struct Garbage(std::sync::atomic::AtomicUsize);

impl llm::LlmProvider for Garbage {
    fn name(&self) -> &'static str {
        "garbage"
    }
    fn model(&self) -> &str {
        "garbage-1"
    }
    fn complete<'a>(
        &'a self,
        _req: &'a llm::ChatRequest,
    ) -> llm::BoxFuture<'a, Result<llm::ChatResponse, llm::LlmError>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async {
            Ok(llm::ChatResponse {
                text: r#"{"title":"SQL","extra":true}"#.into(),
                provider: "garbage".into(),
                model: "garbage-1".into(),
                usage: llm::Usage {
                    input_tokens: 10,
                    output_tokens: 5,
                },
                latency_ms: 1,
                cached: false,
            })
        })
    }
}

impl Engine {
    async fn start() -> Self {
        Self::start_with(Arc::new(llm::Offline)).await
    }

    async fn start_with(provider: Arc<dyn llm::LlmProvider>) -> Self {
        Self(TestApp::builder().provider(provider).start().await)
    }

    async fn user(&self, tenant: &str, email: &str, role: Role) -> Client {
        let t = match db::tenants::find_by_slug(&self.db.pool, tenant)
            .await
            .expect("find")
        {
            Some(t) => t,
            None => db::tenants::create(
                &self.db.pool,
                &domain::TenantSlug::parse(tenant).expect("slug"),
                &domain::TenantName::parse(tenant).expect("name"),
            )
            .await
            .expect("tenant"),
        };
        let hash = app::admin::hash_password_blocking("a long enough password").expect("hash");
        db::users::create(
            &self.db.pool,
            db::users::NewUser {
                tenant_id: t.id,
                email: &domain::Email::parse(email).expect("email"),
                display_name: "",
                role,
                password_hash: &hash,
                is_platform_owner: false,
            },
        )
        .await
        .expect("user");
        let c = Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        let r = self
            .post(
                &c,
                "/api/auth/login",
                json!({"email": email, "password": "a long enough password"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        c
    }

    async fn post(&self, c: &Client, path: &str, body: Value) -> reqwest::Response {
        c.post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .json(&body)
            .send()
            .await
            .expect("post")
    }

    async fn get(&self, c: &Client, path: &str) -> (u16, Value) {
        let r = c
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Runs every pending job; returns how each ended.
    async fn run_jobs(&self) -> Vec<Finished> {
        self.run_pending_jobs().await
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.pool)
            .await
            .expect("count")
    }
}

fn brief() -> Value {
    json!({ "title": "Practical SQL for analysts", "audience": "Business analysts new to databases", "level": "beginner",
            "timeBudgetHours": 6, "teachingStyle": "hands-on", "constraints": ["practical"] })
}

#[tokio::test]
async fn a_brief_becomes_a_reviewed_syllabus_and_reviewed_content() {
    let e = Engine::start().await;
    let admin = e.user("acme", "ada@acme.test", Role::Admin).await;
    let reviewer = e.user("acme", "rey@acme.test", Role::Reviewer).await;
    let learner = e.user("acme", "lee@acme.test", Role::Learner).await;
    let stranger = e.user("other", "bob@other.test", Role::Admin).await;

    // A bad brief is refused whole: nothing written, every problem named.
    let mut bad = brief();
    bad["title"] = json!("SQL");
    bad["timeBudgetHours"] = json!(0);
    let r = e.post(&admin, "/api/admin/briefs", bad).await;
    assert_eq!(r.status(), 422);
    let msg = r.json::<Value>().await.expect("json")["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        msg.contains("/title") && msg.contains("/timeBudgetHours"),
        "{msg}"
    );
    assert_eq!(
        e.count("SELECT count(*) FROM briefs").await + e.count("SELECT count(*) FROM jobs").await,
        0
    );
    assert_eq!(
        e.post(&learner, "/api/admin/briefs", brief())
            .await
            .status(),
        403
    );

    let r = e.post(&admin, "/api/admin/briefs", brief()).await;
    assert_eq!(r.status(), 201);
    assert_eq!(e.run_jobs().await, vec![Finished::Completed]);
    let (_, list) = e.get(&reviewer, "/api/admin/syllabi").await;
    let s = &list["items"][0];
    assert_eq!(
        (
            s["status"].as_str(),
            s["version"].as_i64(),
            s["offline"].as_bool()
        ),
        (Some("DRAFT"), Some(1), Some(true))
    );
    let sid = s["id"].as_str().expect("id").to_owned();
    assert_eq!(
        e.get(&learner, &format!("/api/admin/syllabi/{sid}"))
            .await
            .0,
        403,
        "drafts are staff-only"
    );
    assert_eq!(
        e.get(&stranger, &format!("/api/admin/syllabi/{sid}"))
            .await
            .0,
        404,
        "another tenant's id is not found"
    );

    // No content from an unapproved syllabus.
    let r = e
        .post(
            &admin,
            &format!("/api/admin/syllabi/{sid}/content"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        e.count("SELECT count(*) FROM jobs WHERE kind = 'GENERATE_CONTENT'")
            .await,
        0
    );

    let r = e
        .post(
            &reviewer,
            &format!("/api/admin/syllabi/{sid}/approve"),
            json!({"note": "Looks right"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        e.post(
            &reviewer,
            &format!("/api/admin/syllabi/{sid}/approve"),
            json!({})
        )
        .await
        .status(),
        409
    );
    let err = sqlx::query("UPDATE artifacts SET body = '{}' WHERE id = $1::uuid")
        .bind(&sid)
        .execute(&e.db.pool)
        .await
        .expect_err("immutable");
    assert!(err.to_string().contains("immutable"), "{err}");

    let r = e
        .post(
            &admin,
            &format!("/api/admin/syllabi/{sid}/content"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let jobs = r.json::<Value>().await.expect("json")["jobs"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(jobs >= 1);
    let again = e
        .post(
            &admin,
            &format!("/api/admin/syllabi/{sid}/content"),
            json!({}),
        )
        .await
        .json::<Value>()
        .await
        .expect("json");
    assert!(
        again["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .all(|j| j["alreadyRunning"] == true),
        "a double click makes no new jobs"
    );
    assert!(e.run_jobs().await.iter().all(|f| *f == Finished::Completed));

    let (_, content) = e
        .get(&reviewer, &format!("/api/admin/content?syllabusId={sid}"))
        .await;
    let items = content["items"].as_array().expect("items").clone();
    let of = |k: &str| items.iter().filter(|i| i["kind"] == k).count() as i64;
    let lessons = e.count("SELECT sum(jsonb_array_length(m->'lessons'))::bigint FROM artifacts, jsonb_array_elements(body->'modules') m WHERE kind = 'SYLLABUS'").await;
    assert_eq!(
        (of("LESSON"), of("QUIZ"), of("PROJECT")),
        (lessons, lessons, jobs as i64)
    );

    let lesson = items
        .iter()
        .find(|i| i["kind"] == "LESSON")
        .expect("a lesson")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        e.post(
            &reviewer,
            &format!("/api/admin/content/{lesson}/approve"),
            json!({})
        )
        .await
        .status(),
        200
    );
    let quiz_id = items.iter().find(|i| i["kind"] == "QUIZ").expect("a quiz")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, quiz) = e
        .get(&reviewer, &format!("/api/admin/content/{quiz_id}"))
        .await;
    let mut body = quiz["artifact"]["body"].clone();
    body["questions"][0]["options"] = json!(["a", "a", "b", "c"]);
    assert_eq!(
        e.post(
            &reviewer,
            &format!("/api/admin/content/{quiz_id}/edit"),
            json!({"body": body})
        )
        .await
        .status(),
        422
    );
    body["questions"][0]["options"] = json!([
        "Alpha answer",
        "Beta answer",
        "Gamma answer",
        "Delta answer"
    ]);
    let r = e
        .post(
            &reviewer,
            &format!("/api/admin/content/{quiz_id}/edit"),
            json!({"body": body}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let edited = r.json::<Value>().await.expect("json");
    assert_eq!(
        (
            edited["artifact"]["version"].as_i64(),
            edited["artifact"]["parentId"].as_str()
        ),
        (Some(2), Some(quiz_id.as_str()))
    );

    let actions: Vec<String> = sqlx::query_scalar("SELECT DISTINCT action FROM audit_log")
        .fetch_all(&e.db.pool)
        .await
        .expect("audit");
    for a in [
        "BRIEF_CREATED",
        "SYLLABUS_CREATED",
        "SYLLABUS_APPROVED",
        "CONTENT_CREATED",
        "CONTENT_APPROVED",
        "CONTENT_EDITED",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn the_content_executor_refuses_a_syllabus_that_is_not_approved() {
    let e = Engine::start().await;
    let admin = e.user("acme", "ada@acme.test", Role::Admin).await;
    assert_eq!(
        e.post(&admin, "/api/admin/briefs", brief()).await.status(),
        201
    );
    e.run_jobs().await;
    let (sid, tenant): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT id, tenant_id FROM artifacts")
            .fetch_one(&e.db.pool)
            .await
            .expect("syllabus");
    // Straight into the queue, past the API's check.
    let mut tx = e.db.pool.begin().await.expect("begin");
    db::jobs::create(
        &mut tx,
        db::jobs::NewJob {
            tenant_id: tenant,
            kind: &domain::JobKind::parse("GENERATE_CONTENT").expect("kind"),
            target_type: "syllabus_module",
            target_id: "x",
            instruction: json!({ "syllabusId": sid, "moduleId": "m1" }),
            created_by: None,
            start: db::jobs::Start::Pending,
        },
    )
    .await
    .expect("job");
    tx.commit().await.expect("commit");
    assert_eq!(
        e.run_jobs().await,
        vec![Finished::Failed("syllabus_not_approved".into())]
    );
    assert_eq!(
        e.count("SELECT count(*) FROM artifacts WHERE kind <> 'SYLLABUS'")
            .await,
        0
    );
}

async fn form(e: &Engine, c: &Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    c.post(format!("{}{path}", e.base))
        .header("Origin", &e.base)
        .form(fields)
        .send()
        .await
        .expect("post")
}

async fn page(e: &Engine, c: &Client, path: &str) -> (u16, String) {
    let r = c
        .get(format!("{}{path}", e.base))
        .send()
        .await
        .expect("get");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn the_review_pages_take_a_brief_show_the_syllabus_and_review_and_edit_content() {
    let e = Engine::start().await;
    let reviewer = e.user("acme", "rey@acme.test", Role::Reviewer).await;
    let learner = e.user("acme", "lee@acme.test", Role::Learner).await;
    assert_eq!(page(&e, &learner, "/admin/briefs/new").await.0, 403);

    let bad = form(
        &e,
        &reviewer,
        "/admin/briefs",
        &[
            ("title", "SQL"),
            ("audience", ""),
            ("level", "beginner"),
            ("hours", "x"),
            ("style", "hands-on"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.expect("html");
    assert!(
        html.contains("Must be at least 5 characters (has 3).")
            && html.contains("Enter a whole number of hours"),
        "field errors"
    );
    assert!(html.contains(r#"value="SQL""#), "what was typed is kept");
    assert_eq!(e.count("SELECT count(*) FROM briefs").await, 0);

    let ok = form(
        &e,
        &reviewer,
        "/admin/briefs",
        &[
            ("title", "Practical SQL for analysts"),
            ("audience", "Business analysts"),
            ("level", "beginner"),
            ("hours", "4"),
            ("style", "hands-on"),
            ("practical", "on"),
        ],
    )
    .await;
    assert_eq!(ok.url().path(), "/admin/syllabi");
    assert!(ok.text().await.expect("html").contains("Brief saved"));
    e.run_jobs().await;
    let sid: uuid::Uuid = sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'SYLLABUS'")
        .fetch_one(&e.db.pool)
        .await
        .expect("syllabus");
    let constraints: Value = sqlx::query_scalar("SELECT body->'constraints' FROM briefs")
        .fetch_one(&e.db.pool)
        .await
        .expect("brief");
    assert_eq!(constraints, json!(["practical"]));

    let (_, html) = page(&e, &reviewer, &format!("/admin/syllabi/{sid}")).await;
    assert!(
        html.contains("m1-l1")
            && html.contains("offline draft")
            && html.contains(r#"value="approve""#)
    );
    let r = form(
        &e,
        &reviewer,
        &format!("/admin/syllabi/{sid}/review"),
        &[("decision", "approve"), ("note", "ok")],
    )
    .await;
    assert!(
        r.text().await.expect("html").contains("approved"),
        "flash after approval"
    );
    let (_, html) = page(&e, &reviewer, &format!("/admin/syllabi/{sid}")).await;
    assert!(!html.contains(r#"value="approve""#) && html.contains("Generate lessons"));
    form(&e, &reviewer, &format!("/admin/syllabi/{sid}/content"), &[]).await;
    e.run_jobs().await;

    let quiz: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'QUIZ' LIMIT 1")
            .fetch_one(&e.db.pool)
            .await
            .expect("quiz");
    let (status, html) = page(&e, &reviewer, &format!("/admin/content/{quiz}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"class="correct""#) && html.contains("<textarea"),
        "rendered with the answer marked, and an edit form"
    );
    let bad = form(
        &e,
        &reviewer,
        &format!("/admin/content/{quiz}/edit"),
        &[("body", "{not json")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.expect("html").contains("does not parse"));
    let (body,): (Value,) = sqlx::query_as("SELECT body FROM artifacts WHERE id = $1")
        .bind(quiz)
        .fetch_one(&e.db.pool)
        .await
        .expect("body");
    let mut body = body;
    body["questions"][0]["question"] = json!("Which statement best matches the first objective?");
    let good = form(
        &e,
        &reviewer,
        &format!("/admin/content/{quiz}/edit"),
        &[("body", &body.to_string())],
    )
    .await;
    let html = good.text().await.expect("html");
    assert!(
        html.contains("Saved as version 2") && html.contains("best matches the first objective"),
        "the new version is shown"
    );
    let (_, html) = page(&e, &reviewer, &format!("/admin/syllabi/{sid}")).await;
    assert!(html.contains("approve-all"));
    let done = form(
        &e,
        &reviewer,
        &format!("/admin/syllabi/{sid}/modules/m1/approve-all"),
        &[],
    )
    .await;
    assert!(
        done.text()
            .await
            .expect("html")
            .contains("1 superseded draft(s) were left as they are"),
        "the flash says what was skipped"
    );
    let newest_drafts: i64 = e.count(&format!(
        "SELECT count(*) FROM artifacts a WHERE module_id = 'm1' AND status = 'DRAFT' AND syllabus_id = '{sid}'
           AND NOT EXISTS (SELECT 1 FROM artifacts n WHERE n.lineage_id = a.lineage_id AND n.version > a.version)"
    )).await;
    assert_eq!(
        newest_drafts, 0,
        "every newest draft of the module is approved"
    );
    let superseded: i64 = e
        .count(&format!(
            "SELECT count(*) FROM artifacts WHERE id = '{quiz}' AND status = 'DRAFT'"
        ))
        .await;
    assert_eq!(
        superseded, 1,
        "the quiz's superseded first version is left alone"
    );
}

#[tokio::test]
async fn regenerating_with_an_instruction_makes_a_new_draft_version_of_its_parent() {
    let e = Engine::start().await;
    let reviewer = e.user("acme", "rey@acme.test", Role::Reviewer).await;
    assert_eq!(
        e.post(&reviewer, "/api/admin/briefs", brief())
            .await
            .status(),
        201
    );
    e.run_jobs().await;
    let sid: uuid::Uuid = sqlx::query_scalar("SELECT id FROM artifacts")
        .fetch_one(&e.db.pool)
        .await
        .expect("syllabus");
    let r = e
        .post(
            &reviewer,
            &format!("/api/admin/syllabi/{sid}/regenerate"),
            json!({"instruction": "no"}),
        )
        .await;
    assert_eq!(r.status(), 422, "an instruction says something");
    let r = e
        .post(
            &reviewer,
            &format!("/api/admin/syllabi/{sid}/regenerate"),
            json!({"instruction": "Use retail sales data in every example"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(e.run_jobs().await, vec![Finished::Completed]);
    let (version, parent, status, note): (i32, Option<uuid::Uuid>, String, Value) = sqlx::query_as(
        "SELECT version, parent_id, status, provenance->'reviewerInstruction' FROM artifacts ORDER BY version DESC LIMIT 1",
    )
    .fetch_one(&e.db.pool)
    .await
    .expect("new version");
    assert_eq!((version, parent, status.as_str()), (2, Some(sid), "DRAFT"));
    assert_eq!(note, json!("Use retail sales data in every example"));
    let (_, html) = e.get(&reviewer, &format!("/api/admin/syllabi/{sid}")).await;
    assert_eq!(
        html["artifact"]["status"], "DRAFT",
        "the original is untouched"
    );

    // Content regenerates only from an approved syllabus.
    let q: uuid::Uuid = uuid::Uuid::new_v4();
    assert_eq!(
        e.post(
            &reviewer,
            &format!("/api/admin/content/{q}/regenerate"),
            json!({"instruction": "shorter please"})
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn a_model_that_never_gets_it_right_fails_the_job_with_every_violation_and_stores_nothing() {
    let garbage = Arc::new(Garbage(Default::default()));
    let e = Engine::start_with(garbage.clone()).await;
    let admin = e.user("acme", "ada@acme.test", Role::Admin).await;
    assert_eq!(
        e.post(&admin, "/api/admin/briefs", brief()).await.status(),
        201
    );
    assert_eq!(
        e.run_jobs().await,
        vec![Finished::Failed("validation_failed".into())]
    );
    let error: Value = sqlx::query_scalar("SELECT error FROM jobs")
        .fetch_one(&e.db.pool)
        .await
        .expect("error");
    let violations = error["details"]["violations"]
        .as_array()
        .expect("violations");
    assert!(
        violations.len() >= 3,
        "every violation, not the first: {error}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v["message"].as_str().unwrap_or("").contains("extra")),
        "{error}"
    );
    assert_eq!(
        e.count("SELECT count(*) FROM artifacts").await,
        0,
        "nothing stored"
    );
    assert_eq!(e.count("SELECT count(*) FROM job_outputs").await, 0);
    let calls = garbage.0.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        calls, 3,
        "the first answer and two repair rounds, none replayed from the cache"
    );
}
