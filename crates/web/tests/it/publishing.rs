//! Packaging, publishing and delivery: versions, the pointer, learner guards, enrollment,
//! progress and quizzes, over HTTP against a real database.

use domain::{CoursePackage, Role};
use reqwest::Client;
use serde_json::{Value, json};
use test_support::seed::insert_approved;
use test_support::{actor_of, wait_until};
use uuid::Uuid;

use crate::support::{TestApp, error_of};

struct Course {
    app: TestApp,
    tenant: db::tenants::Tenant,
    admin: Client,
    admin_id: Uuid,
    learner: Client,
    course: Uuid,
}

async fn course() -> Course {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("acme").await;
    let (admin, admin_user) = app.signed_in(&tenant, "admin@acme.test", Role::Admin).await;
    let (learner, _) = app
        .signed_in(&tenant, "learner@acme.test", Role::Learner)
        .await;
    let course = app
        .approved_course(&actor_of(&admin_user), "Practical SQL", 4)
        .await
        .course_id;
    Course {
        app,
        tenant,
        admin,
        admin_id: admin_user.id,
        learner,
        course,
    }
}

impl Course {
    fn admin_actor(&self) -> app::Actor {
        app::Actor {
            tenant_id: self.tenant.id,
            user_id: self.admin_id,
            role: Role::Admin,
        }
    }

    async fn post(&self, c: &Client, path: &str, body: Value) -> reqwest::Response {
        self.app
            .csrf_post(c, path)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, c: &Client, path: &str) -> reqwest::Response {
        c.get(self.app.url(path)).send().await.expect("request")
    }

    async fn build(&self) -> Value {
        let res = self
            .post(
                &self.admin,
                &format!("/api/admin/courses/{}/packages", self.course),
                json!({}),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("json")
    }

    async fn publish(&self, version: i32) -> reqwest::Response {
        self.post(
            &self.admin,
            &format!(
                "/api/admin/courses/{}/versions/{version}/publish",
                self.course
            ),
            json!({}),
        )
        .await
    }

    async fn learner_course(&self, c: &Client) -> (u16, Value) {
        let res = self
            .get(c, &format!("/api/learn/courses/{}", self.course))
            .await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn versions_are_insert_only_distinct_under_concurrency_and_frozen_in_the_database() {
    let c = course().await;
    let pool = c.app.db.pool.clone();
    let admin = c.admin_actor();
    let builds = (0..6).map(|_| {
        let pool = pool.clone();
        let course = c.course;
        tokio::spawn(async move { app::publishing::build_package(&pool, &admin, course).await })
    });
    let mut versions = Vec::new();
    for b in builds {
        match b.await.expect("task") {
            Ok(row) => versions.push(row.version),
            Err(app::AppError::Conflict {
                code: "build_in_progress",
                ..
            }) => {}
            Err(e) => panic!("a concurrent build failed: {e}"),
        }
    }
    while versions.len() < 6 {
        let row = app::publishing::build_package(&pool, &admin, c.course)
            .await
            .expect("build");
        versions.push(row.version);
    }
    versions.sort_unstable();
    let expected: Vec<i32> = (1..=i32::try_from(versions.len()).expect("few")).collect();
    assert_eq!(
        versions, expected,
        "every build got its own version, in order"
    );

    // Same approved inputs: the same content except the version number.
    let (_, v1) = db::packages::version(&pool, c.tenant.id, c.course, 1)
        .await
        .expect("q")
        .expect("v1");
    let (_, v2) = db::packages::version(&pool, c.tenant.id, c.course, 2)
        .await
        .expect("q")
        .expect("v2");
    let mut v2_as_1 = v2.clone();
    v2_as_1["version"] = 1.into();
    assert_eq!(v1, v2_as_1);

    let dup = sqlx::query(
        "INSERT INTO course_packages (id, tenant_id, course_id, syllabus_id, version, title, body, content_hash, size_bytes)
         SELECT gen_random_uuid(), tenant_id, course_id, syllabus_id, version, title, body, content_hash, size_bytes
         FROM course_packages WHERE version = 1",
    )
    .execute(&pool)
    .await
    .expect_err("duplicate version");
    assert!(
        db::is_constraint(&dup, "course_packages_course_version_key"),
        "{dup}"
    );

    app::publishing::publish(&pool, &admin, c.course, 2)
        .await
        .expect("publish");
    for sql in [
        "UPDATE course_packages SET status = 'ARCHIVED' WHERE version = 2",
        "UPDATE course_packages SET body = jsonb_set(body, '{title}', '\"changed\"') WHERE version = 1",
        "UPDATE course_packages SET content_hash = repeat('0', 64) WHERE version = 1",
        "UPDATE course_packages SET status = 'ARCHIVED', title = 'x' WHERE version = 1",
        "DELETE FROM course_packages WHERE version = 1",
        "UPDATE publish_history SET scope = 'x'",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        let pg = err
            .as_database_error()
            .and_then(|e| e.code())
            .unwrap_or_default()
            .into_owned();
        assert_eq!(pg, "42501", "{sql}: {err}");
    }
    // The recorded hash is the SHA-256 of the stored body's canonical JSON.
    let (body, hash): (Value, String) =
        sqlx::query_as("SELECT body, content_hash FROM course_packages WHERE version = 3")
            .fetch_one(&pool)
            .await
            .expect("row");
    let package: CoursePackage = serde_json::from_value(body).expect("parses");
    assert_eq!(domain::package::canonical(&package).1, hash);
    let built = c
        .app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "PACKAGE_BUILT")
        .count();
    assert_eq!(built, 6);
}

#[tokio::test]
async fn a_course_with_unapproved_parts_is_refused_naming_them_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("acme").await;
    let (admin, admin_user) = app.signed_in(&tenant, "admin@acme.test", Role::Admin).await;
    // The first lesson is still a draft and the first project was rejected.
    let course = test_support::seed::seed_course_with(
        &app.db.pool,
        tenant.id,
        admin_user.id,
        "Practical SQL",
        4,
        |kind, r| match (kind, r) {
            ("LESSON", "m1-l1") => "DRAFT",
            ("PROJECT", _) => "REJECTED",
            _ => "APPROVED",
        },
    )
    .await;
    let res = app
        .csrf_post(&admin, &format!("/api/admin/courses/{course}/packages"))
        .send()
        .await
        .expect("request");
    let (status, code, message) = error_of(res).await;
    assert_eq!((status, code.as_str()), (409, "not_ready"));
    assert!(
        message.contains("project for module") && message.contains("REJECTED"),
        "{message}"
    );
    assert!(
        message
            .contains("lesson `m1-l1` (module `m1`) is not approved (latest: version 1 is DRAFT)"),
        "{message}"
    );
    assert_eq!(app.count("course_packages").await, 0);
    assert!(
        !app.audit_actions()
            .await
            .iter()
            .any(|a| a == "PACKAGE_BUILT")
    );
}

#[tokio::test]
async fn a_package_over_five_megabytes_is_refused_with_413() {
    let c = course().await;
    let pool = &c.app.db.pool;
    let (ref_id, module_id, syllabus_id, mut body): (String, String, Uuid, Value) = sqlx::query_as(
        "SELECT ref_id, module_id, syllabus_id, body FROM artifacts WHERE kind = 'LESSON' LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("lesson");
    body["explanation"]["overview"] = "A long overview. ".repeat(320_000).into();
    insert_approved(
        pool,
        c.tenant.id,
        c.admin_id,
        "LESSON",
        Some(syllabus_id),
        None,
        &ref_id,
        Some(&module_id),
        "A very long lesson",
        &body,
    )
    .await;
    let res = c
        .post(
            &c.admin,
            &format!("/api/admin/courses/{}/packages", c.course),
            json!({}),
        )
        .await;
    let (status, code, message) = error_of(res).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    assert!(message.contains("limit is 5 MB"), "{message}");
    assert_eq!(c.app.count("course_packages").await, 0);
}

#[tokio::test]
async fn learners_read_only_the_active_version_of_their_own_tenant() {
    let c = course().await;
    let other = c.app.tenant("globex").await;
    let (outsider, _) = c
        .app
        .signed_in(&other, "learner@globex.test", Role::Learner)
        .await;
    let (reviewer, _) = c
        .app
        .signed_in(&c.tenant, "rev@acme.test", Role::Reviewer)
        .await;

    // Built but not published: not reachable.
    c.build().await;
    let (status, body) = c.learner_course(&c.learner).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], "course not published");
    let res = c
        .get(
            &c.learner,
            &format!("/api/learn/courses/{}/lessons/1", c.course),
        )
        .await;
    assert_eq!(res.status(), 404);
    let list: Value = c
        .get(&c.learner, "/api/learn/courses")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"], json!([]));

    assert_eq!(c.publish(1).await.status(), 200);
    let (status, v1) = c.learner_course(&c.learner).await;
    assert_eq!(status, 200);
    assert_eq!(v1["version"], 1);
    assert!(
        !v1["quizzes"].to_string().contains("correctIndex"),
        "answers must not reach learners"
    );
    let list: Value = c
        .get(&c.learner, "/api/learn/courses")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"][0]["courseId"], json!(c.course));
    assert_eq!(list["items"][0]["version"], 1);

    // Another tenant's learner gets 404, never a hint.
    let (status, _) = c.learner_course(&outsider).await;
    assert_eq!(status, 404);
    let res = c
        .get(
            &outsider,
            &format!("/api/learn/courses/{}/lessons/1", c.course),
        )
        .await;
    assert_eq!(res.status(), 404);
    let list: Value = c
        .get(&outsider, "/api/learn/courses")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"], json!([]));
    let res = c
        .post(
            &outsider,
            "/api/learn/enroll",
            json!({ "courseId": c.course }),
        )
        .await;
    assert_eq!(res.status(), 404);

    // Staff APIs: reviewers read, learners may not, only admins act.
    assert_eq!(c.get(&c.learner, "/api/courses").await.status(), 403);
    let courses: Value = c
        .get(&reviewer, "/api/courses")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(courses["items"][0]["activeVersion"], 1);
    let res = c
        .post(
            &reviewer,
            &format!("/api/admin/courses/{}/packages", c.course),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = c
        .get(&outsider, &format!("/api/courses/{}", c.course))
        .await;
    assert_eq!(res.status(), 403);

    // Read-only: other methods are 405 with Allow.
    let res = c
        .post(
            &c.learner,
            &format!("/api/learn/courses/{}", c.course),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET,HEAD")
    );

    // Strong ETag: the package hash; a match answers 304 with no body.
    let res = c
        .get(
            &c.learner,
            &format!("/api/learn/courses/{}/lessons/2", c.course),
        )
        .await;
    let etag = res
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let lesson: Value = res.json().await.expect("json");
    assert_eq!(
        (
            lesson["index"].as_u64(),
            lesson["previous"].as_u64(),
            lesson["next"].as_u64()
        ),
        (Some(2), Some(1), Some(3))
    );
    assert!(lesson["quiz"]["questions"][0].get("correctIndex").is_none());
    let hash: String =
        sqlx::query_scalar("SELECT content_hash FROM course_packages WHERE version = 1")
            .fetch_one(&c.app.db.pool)
            .await
            .expect("hash");
    assert_eq!(etag, format!("\"{hash}\""));
    let res = c
        .learner
        .get(
            c.app
                .url(&format!("/api/learn/courses/{}/lessons/2", c.course)),
        )
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.expect("body").is_empty());
    let res = c
        .get(
            &c.learner,
            &format!("/api/learn/courses/{}/lessons/99", c.course),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = c
        .get(
            &c.learner,
            &format!("/api/learn/courses/{}/lessons/0", c.course),
        )
        .await;
    assert_eq!(res.status(), 404);

    // A new version with one lesson rewritten; publishing it switches what learners get.
    let (ref_id, module_id, syllabus_id, mut body): (String, String, Uuid, Value) = sqlx::query_as(
        "SELECT ref_id, module_id, syllabus_id, body FROM artifacts WHERE kind = 'LESSON' ORDER BY created_at, id LIMIT 1",
    )
    .fetch_one(&c.app.db.pool)
    .await
    .expect("lesson");
    body["title"] = "Rewritten first lesson".into();
    insert_approved(
        &c.app.db.pool,
        c.tenant.id,
        c.admin_id,
        "LESSON",
        Some(syllabus_id),
        None,
        &ref_id,
        Some(&module_id),
        "Rewritten first lesson",
        &body,
    )
    .await;
    assert_eq!(c.build().await["version"], 2);
    let (_, still) = c.learner_course(&c.learner).await;
    assert_eq!(
        still["version"], 1,
        "a built version is not live until published"
    );
    assert_eq!(c.publish(2).await.status(), 200);
    let (_, v2) = c.learner_course(&c.learner).await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["lessons"][0]["title"], "Rewritten first lesson");
    let res = c
        .learner
        .get(
            c.app
                .url(&format!("/api/learn/courses/{}/lessons/2", c.course)),
        )
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "the old ETag no longer matches");

    // Archiving the active version is refused; rolling back restores version 1.
    let archive = |v: i32| format!("/api/admin/courses/{}/versions/{v}/archive", c.course);
    let res = c.post(&c.admin, &archive(2), json!({})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(c.publish(2).await.status(), 409, "already active");
    let res = c.publish(1).await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.expect("json");
    assert_eq!(
        (done["rollback"].as_bool(), done["previousVersion"].as_i64()),
        (Some(true), Some(2))
    );
    let (_, back) = c.learner_course(&c.learner).await;
    assert_eq!(back, v1);
    assert_eq!(c.post(&c.admin, &archive(2), json!({})).await.status(), 200);
    assert_eq!(c.post(&c.admin, &archive(2), json!({})).await.status(), 409);
    let res = c.publish(2).await;
    let (status, _, message) = error_of(res).await;
    assert_eq!(status, 409);
    assert!(message.contains("archived"), "{message}");
    assert_eq!(c.publish(7).await.status(), 404);

    // Every move of the pointer is in the history, and in the audit log.
    let versions: Value = c
        .get(&reviewer, &format!("/api/courses/{}", c.course))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(versions["activeVersion"], 1);
    let listed: Vec<i64> = versions["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["version"].as_i64())
        .collect();
    assert_eq!(listed, vec![2, 1], "newest first");
    let moves: Vec<(Option<i64>, Option<i64>)> = versions["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (h["version"].as_i64(), h["previousVersion"].as_i64()))
        .collect();
    assert_eq!(
        moves,
        vec![(Some(1), Some(2)), (Some(2), Some(1)), (Some(1), None)]
    );
    assert_eq!(c.app.count("publish_history").await, 3);
    let full = c
        .get(&reviewer, &format!("/api/courses/{}/2", c.course))
        .await;
    assert_eq!(full.status(), 200);
    let full: Value = full.json().await.expect("json");
    assert!(
        full["quizzes"].to_string().contains("correctIndex"),
        "staff see the whole package"
    );
    let actions = c.app.audit_actions().await;
    for (action, n) in [
        ("PACKAGE_BUILT", 2),
        ("PACKAGE_PUBLISHED", 3),
        ("PACKAGE_ARCHIVED", 1),
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            n,
            "{action}"
        );
    }

    // The database holds the line on its own too.
    let err = sqlx::query("DELETE FROM published_outputs")
        .execute(&c.app.db.pool)
        .await
        .expect_err("delete");
    assert!(err.to_string().contains("never removed"), "{err}");
    let err = sqlx::query(
        "UPDATE published_outputs SET package_id = p.id, output_ref = p.id::text
         FROM course_packages p WHERE p.version = 2",
    )
    .execute(&c.app.db.pool)
    .await
    .expect_err("pointing at an archived package");
    assert!(err.to_string().contains("not a PUBLISHED version"), "{err}");
}

#[tokio::test]
async fn progress_needs_enrollment_is_idempotent_and_survives_a_new_version() {
    let c = course().await;
    c.build().await;
    assert_eq!(c.publish(1).await.status(), 200);
    let course = c.course;

    let res = c
        .post(
            &c.learner,
            "/api/learn/progress",
            json!({ "courseId": course, "lessonIndex": 1 }),
        )
        .await;
    let (status, _, message) = error_of(res).await;
    assert_eq!(status, 403);
    assert!(message.contains("enroll"), "{message}");
    let res = c
        .post(
            &c.learner,
            "/api/learn/quiz-attempts",
            json!({ "courseId": course, "lessonIndex": 1, "answers": [0, 0, 0] }),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        c.app.count("lesson_progress").await + c.app.count("quiz_attempts").await,
        0
    );

    let res = c
        .post(
            &c.learner,
            "/api/learn/enroll",
            json!({ "courseId": course }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = c
        .post(
            &c.learner,
            "/api/learn/enroll",
            json!({ "courseId": course }),
        )
        .await;
    assert_eq!(res.status(), 200, "a repeat enrollment changes nothing");
    assert_eq!(c.app.count("enrollments").await, 1);
    let enrolled = c
        .app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "ENROLLMENT_CREATED")
        .count();
    assert_eq!(enrolled, 1);
    let res = c
        .post(
            &c.learner,
            "/api/learn/enroll",
            json!({ "courseId": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = c
        .post(
            &c.learner,
            "/api/learn/enroll",
            json!({ "courseId": course, "userId": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(
        res.status(),
        422,
        "no userId may be passed: the session decides"
    );

    let lessons: Value = c.learner_course(&c.learner).await.1["lessons"].clone();
    let first = lessons[0]["lessonId"].as_str().expect("id").to_owned();
    let second = lessons[1]["lessonId"].as_str().expect("id").to_owned();
    for _ in 0..3 {
        let res = c
            .post(
                &c.learner,
                "/api/learn/progress",
                json!({ "courseId": course, "lessonIndex": 1 }),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let res = c
        .post(
            &c.learner,
            "/api/learn/progress",
            json!({ "courseId": course, "lessonId": second }),
        )
        .await;
    let p: Value = res.json().await.expect("json");
    assert_eq!(
        p["completedLessons"],
        json!([first.clone(), second.clone()])
    );
    assert_eq!(p["resumeAt"], 3);
    assert_eq!(
        c.app.count("lesson_progress").await,
        2,
        "repeated writes leave one row each"
    );
    let res = c
        .post(
            &c.learner,
            "/api/learn/progress",
            json!({ "courseId": course, "lessonId": "no-such-lesson" }),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = c
        .post(
            &c.learner,
            "/api/learn/progress",
            json!({ "courseId": course }),
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = c
        .post(
            &c.learner,
            "/api/learn/progress",
            json!({ "courseId": course, "lessonId": second, "completed": false }),
        )
        .await;
    let p: Value = res.json().await.expect("json");
    assert_eq!(p["completedLessons"], json!([first.clone()]));
    assert_eq!(p["resumeAt"], 2);

    // A quiz is graded on the server and every attempt kept.
    let full: Value = c
        .get(&c.admin, &format!("/api/courses/{course}/1"))
        .await
        .json()
        .await
        .expect("json");
    let key: Vec<u64> = full["quizzes"][0]["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .filter_map(|q| q["correctIndex"].as_u64())
        .collect();
    let mut answers: Vec<u64> = key.clone();
    answers[0] = (answers[0] + 1) % 4;
    let res = c
        .post(
            &c.learner,
            "/api/learn/quiz-attempts",
            json!({ "courseId": course, "lessonIndex": 1, "answers": answers }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let graded: Value = res.json().await.expect("json");
    assert_eq!(
        (graded["score"].as_u64(), graded["total"].as_u64()),
        (Some(key.len() as u64 - 1), Some(key.len() as u64))
    );
    assert_eq!(graded["results"][0]["correct"], false);
    assert_eq!(graded["results"][0]["correctIndex"], key[0]);
    assert!(
        graded["results"][0]["explanation"]
            .as_str()
            .is_some_and(|e| e.len() > 10)
    );
    let res = c
        .post(
            &c.learner,
            "/api/learn/quiz-attempts",
            json!({ "courseId": course, "lessonIndex": 1, "answers": [0] }),
        )
        .await;
    assert_eq!(res.status(), 422, "one answer per question");
    assert_eq!(c.app.count("quiz_attempts").await, 1);

    // Version 2 keeps every lesson: progress, keyed to lesson ids, carries over.
    c.build().await;
    assert_eq!(c.publish(2).await.status(), 200);
    let p: Value = c
        .get(&c.learner, &format!("/api/learn/progress/{course}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(p["version"], 2);
    assert_eq!(p["completedLessons"], json!([first]));
    assert_eq!(p["enrolled"], true);

    // Another learner sees only their own progress (no userId in any query string).
    let (other, _) = c
        .app
        .signed_in(&c.tenant, "second@acme.test", Role::Learner)
        .await;
    let p: Value = c
        .get(&other, &format!("/api/learn/progress/{course}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (p["enrolled"].as_bool(), p["completedLessons"].clone()),
        (Some(false), json!([]))
    );
}

#[tokio::test]
async fn learner_pages_render_the_active_course_and_take_forms() {
    let c = course().await;
    c.build().await;
    let res = c.get(&c.learner, &format!("/learn/{}", c.course)).await;
    assert_eq!(res.status(), 404);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains("course not published")
    );
    assert_eq!(c.publish(1).await.status(), 200);

    let html = c
        .get(&c.learner, "/learn")
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains(&format!("/learn/{}", c.course)),
        "catalogue lists the course"
    );
    let html = c
        .get(&c.learner, &format!("/learn/{}", c.course))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Enroll in this course") && html.contains("Course outline"));

    let form = |path: String, fields: Vec<(&'static str, String)>| {
        let req = c.app.csrf_post(&c.learner, &path).form(&fields);
        async move { req.send().await.expect("request") }
    };
    let res = form(format!("/learn/{}/enroll", c.course), vec![]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/learn/{}/lesson/1", c.course).as_str()
    );
    let html = c
        .get(&c.learner, &format!("/learn/{}/lesson/1", c.course))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Key takeaways")
            && html.contains("Mark complete")
            && html.contains("rel=\"next\"")
    );
    let res = form(
        format!("/learn/{}/lesson/1/complete", c.course),
        vec![("completed", "true".into())],
    )
    .await;
    assert_eq!(
        res.headers()["location"],
        format!("/learn/{}/lesson/2", c.course).as_str()
    );
    let html = c
        .get(&c.learner, &format!("/learn/{}", c.course))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Resume at lesson 2"),
        "overview resumes where the learner left off"
    );

    // The quiz: graded on the server, the result page shows the explanations.
    let res = form(
        format!("/learn/{}/lesson/1/quiz", c.course),
        vec![("q1", "0".into()), ("q2", "1".into())],
    )
    .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(to.contains("?attempt="), "{to}");
    let html = c.get(&c.learner, &to).await.text().await.expect("html");
    assert!(
        html.contains("(your answer)") && html.contains("correct answer"),
        "graded page"
    );
    assert_eq!(c.app.count("quiz_attempts").await, 1);

    let module: String =
        sqlx::query_scalar("SELECT ref_id FROM artifacts WHERE kind = 'PROJECT' LIMIT 1")
            .fetch_one(&c.app.db.pool)
            .await
            .expect("module");
    let html = c
        .get(&c.learner, &format!("/learn/{}/project/{module}", c.course))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("How it is graded") && html.contains("What to hand in"));

    // The admin pages: list, versions with actions, a preview and the JSON download.
    let html = c
        .get(&c.admin, "/admin/courses")
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains(">live</span>") && html.contains(&format!("/admin/courses/{}", c.course)),
        "the published course is labelled live"
    );
    let html = c
        .get(&c.admin, &format!("/admin/courses/{}", c.course))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains(">live</span>") && html.contains("Build version 2"));
    let html = c
        .get(&c.admin, &format!("/admin/courses/{}/1", c.course))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Preview, as a learner sees it") && html.contains("data-json-viewer"));
    let res = c
        .get(&c.admin, &format!("/admin/courses/{}/1/download", c.course))
        .await;
    let hash = res.headers()["etag"]
        .to_str()
        .expect("etag")
        .trim_matches('"')
        .to_owned();
    let bytes = res.bytes().await.expect("bytes");
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(
        domain::canonical_json(&v).as_bytes(),
        &bytes[..],
        "the download is canonical JSON"
    );
    assert_eq!(
        db::artifacts::body_hash(&v),
        hash,
        "whose SHA-256 is the recorded hash"
    );
    assert_eq!(c.get(&c.learner, "/admin/courses").await.status(), 403);
}

#[tokio::test]
async fn what_another_process_changes_reaches_learners_of_this_one() {
    let c = course().await;
    c.build().await;
    c.build().await;
    assert_eq!(c.publish(1).await.status(), 200);
    // The invalidation listener is connected once the runtime role has a session waiting
    // on LISTEN; then warm this process's caches.
    let listening = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                            WHERE datname = current_database() AND query LIKE 'LISTEN%cw_cache%')",
        )
        .fetch_one(&c.app.db.pool)
        .await
        .expect("pg_stat_activity")
    };
    wait_until(WITHIN, "the cache listener to connect", listening).await;
    let before = c.app.state.hot.counts();
    for _ in 0..3 {
        assert_eq!(c.learner_course(&c.learner).await.1["version"], 1);
    }
    // Each request reads the session and the learner's view: the first read of each goes
    // to the database, the other two requests' come from memory.
    let warm = c.app.state.hot.counts();
    assert_eq!(warm.misses - before.misses, 2, "{before:?} then {warm:?}");
    assert_eq!(warm.hits - before.hits, 4, "{before:?} then {warm:?}");

    // Another replica moves the pointer straight in the database.
    app::publishing::publish(&c.app.db.pool, &c.admin_actor(), c.course, 2)
        .await
        .expect("publish elsewhere");
    wait_until(WITHIN, "the pointer move to reach this process", || async {
        c.learner_course(&c.learner).await.1["version"] == 2
    })
    .await;
    assert!(
        c.app.state.hot.counts().misses > warm.misses,
        "the moved pointer was read from the database again"
    );

    // Another replica enrolls the learner and records progress.
    let learner = app::Actor {
        tenant_id: c.tenant.id,
        user_id: learner_id(&c).await,
        role: Role::Learner,
    };
    app::learning::enroll(&c.app.db.pool, &learner, c.course)
        .await
        .expect("enroll elsewhere");
    wait_until(WITHIN, "the enrollment to reach this process", || async {
        let p: Value = c
            .get(&c.learner, &format!("/api/learn/progress/{}", c.course))
            .await
            .json()
            .await
            .expect("json");
        p["enrolled"] == true
    })
    .await;

    // A session ended elsewhere (a password reset, say) stops working here.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(learner_id(&c).await)
        .execute(&c.app.db.pool)
        .await
        .expect("end sessions");
    wait_until(
        WITHIN,
        "the ended session to reach this process",
        || async { c.get(&c.learner, "/api/learn/courses").await.status() == 401 },
    )
    .await;
}

/// How long a change made elsewhere may take to reach this process.
const WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

async fn learner_id(c: &Course) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = 'learner@acme.test'")
        .fetch_one(&c.app.db.pool)
        .await
        .expect("learner")
}

#[tokio::test]
async fn a_quiz_attempt_with_every_answer_null_is_refused_and_reveals_nothing() {
    let c = course().await;
    c.build().await;
    assert_eq!(c.publish(1).await.status(), 200);
    let course = c.course;
    let res = c
        .post(
            &c.learner,
            "/api/learn/enroll",
            json!({ "courseId": course }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let lesson: Value = c
        .get(
            &c.learner,
            &format!("/api/learn/courses/{course}/lessons/1"),
        )
        .await
        .json()
        .await
        .expect("json");
    let questions = lesson["quiz"]["questions"].as_array().map_or(0, Vec::len);
    assert!(questions > 0, "lesson 1 has a quiz: {lesson}");

    let res = c
        .post(
            &c.learner,
            "/api/learn/quiz-attempts",
            json!({ "courseId": course, "lessonIndex": 1, "answers": vec![Value::Null; questions] }),
        )
        .await;
    let status = res.status().as_u16();
    let body = res.text().await.expect("body");
    assert_eq!(status, 422, "{body}");
    assert!(!body.contains("correctIndex"), "no answer key: {body}");
    assert!(body.contains("validation_failed"), "{body}");
    assert_eq!(c.app.count("quiz_attempts").await, 0, "nothing is stored");
}

#[tokio::test]
async fn a_nul_anywhere_in_api_input_is_refused_before_the_database() {
    let c = course().await;
    let before = c.app.count("audit_log").await;
    let course = c.course;
    // JSON at depth, a query filter and a path segment, on admin and learner routes.
    let brief = json!({
        "title": "SQL\u{0}", "audience": "analysts", "level": "beginner",
        "timeBudgetHours": 4, "teachingStyle": "hands-on",
        "constraints": ["ok", "bad\u{0}"], "learningOutcomes": ["joins"],
    });
    let res = c.post(&c.admin, "/api/admin/briefs", brief).await;
    let (status, code, _) = error_of(res).await;
    assert_eq!((status, code.as_str()), (400, "bad_request"));
    let res = c
        .post(
            &c.learner,
            "/api/learn/enroll",
            json!({ "courseId": course, "note": { "deep": ["\u{0}"] } }),
        )
        .await;
    assert_eq!(error_of(res).await.0, 400);
    for path in [
        "/api/admin/audit?action=%00".to_owned(),
        "/api/admin/regeneration-jobs?kind=A%00".to_owned(),
        "/api/admin/syllabi/%00".to_owned(),
        format!("/api/courses/{course}/1%00"),
    ] {
        let res = c.get(&c.admin, &path).await;
        let (status, code, _) = error_of(res).await;
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{path}");
    }
    let page = c.get(&c.admin, "/admin/audit?action=%00").await;
    assert_eq!(page.status(), 400);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert_eq!(c.app.count("enrollments").await, 0);
    assert_eq!(
        c.app.count("audit_log").await,
        before,
        "nothing was written"
    );
}
