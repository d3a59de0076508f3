//! The course as its own row: one course per brief whatever syllabus versions it goes
//! through, only the newest version of a lineage reviewable, routes that name their kind,
//! and concurrent edits and builds that answer 201 or 409, never 500.

use domain::Role;
use reqwest::Client;
use serde_json::{Value, json};
use test_support::actor_of;
use uuid::Uuid;

use crate::support::{TestApp, error_of};

struct Seeded {
    app: TestApp,
    admin: Client,
    course: Uuid,
    syllabus: Uuid,
}

async fn seeded() -> Seeded {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("acme").await;
    let (admin, user) = app.signed_in(&tenant, "admin@acme.test", Role::Admin).await;
    let seeded = app
        .approved_course(&actor_of(&user), "Practical SQL", 4)
        .await;
    let (course, syllabus) = (seeded.course_id, seeded.syllabus_id);
    Seeded {
        app,
        admin,
        course,
        syllabus,
    }
}

impl Seeded {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.app
            .csrf_post(&self.admin, path)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .admin
            .get(self.app.url(path))
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn body_of(&self, id: Uuid) -> Value {
        sqlx::query_scalar("SELECT body FROM artifacts WHERE id = $1")
            .bind(id)
            .fetch_one(&self.app.db.pool)
            .await
            .expect("body")
    }

    /// Edits the syllabus `id` (a new draft with a new title); returns the new version's id.
    async fn edit_syllabus(&self, id: Uuid, title: &str) -> Uuid {
        let mut body = self.body_of(id).await;
        body["title"] = json!(title);
        let res = self
            .post(
                &format!("/api/admin/syllabi/{id}/edit"),
                json!({ "body": body }),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let v: Value = res.json().await.expect("json");
        v["artifact"]["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id")
    }
}

#[tokio::test]
async fn approving_a_newer_syllabus_keeps_one_course_and_the_next_build_uses_it() {
    let s = seeded().await;
    let v2 = s.edit_syllabus(s.syllabus, "Practical SQL, revised").await;
    let res = s
        .post(&format!("/api/admin/syllabi/{v2}/approve"), json!({}))
        .await;
    assert_eq!(res.status(), 200);

    let (_, list) = s.get("/api/courses").await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(
        items.len(),
        1,
        "one course, not one per approved syllabus: {list}"
    );
    assert_eq!(items[0]["courseId"], json!(s.course));
    assert_eq!(items[0]["syllabusId"], json!(v2));
    assert_eq!(items[0]["syllabusVersion"], 2);

    let res = s
        .post(
            &format!("/api/admin/courses/{}/packages", s.course),
            json!({}),
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let row: Value = res.json().await.expect("json");
    assert_eq!(
        row["syllabusId"],
        json!(v2),
        "built from the newest approved syllabus"
    );
    let (_, package) = s.get(&format!("/api/courses/{}/1", s.course)).await;
    assert_eq!(package["title"], "Practical SQL, revised");
    assert_eq!(package["courseId"], json!(s.course.to_string()));
}

#[tokio::test]
async fn approving_a_superseded_version_is_a_conflict_naming_the_newer_version() {
    let s = seeded().await;
    let v2 = s.edit_syllabus(s.syllabus, "Second").await;
    let v3 = s.edit_syllabus(v2, "Third").await;
    let res = s
        .post(&format!("/api/admin/syllabi/{v2}/approve"), json!({}))
        .await;
    let (status, code, message) = error_of(res).await;
    assert_eq!((status, code.as_str()), (409, "superseded"));
    assert!(message.contains("superseded by version 3"), "{message}");
    // Editing an old version is refused the same way: nobody overwrites an unseen edit.
    let mut body = s.body_of(v2).await;
    body["title"] = json!("Fourth");
    let res = s
        .post(
            &format!("/api/admin/syllabi/{v2}/edit"),
            json!({ "body": body }),
        )
        .await;
    assert_eq!(error_of(res).await.1, "superseded");
    let res = s
        .post(&format!("/api/admin/syllabi/{v3}/approve"), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let statuses: Vec<(i32, String)> = sqlx::query_as(
        "SELECT version, status FROM artifacts WHERE kind = 'SYLLABUS' ORDER BY version",
    )
    .fetch_all(&s.app.db.pool)
    .await
    .expect("rows");
    assert_eq!(
        statuses,
        vec![
            (1, "APPROVED".to_owned()),
            (2, "DRAFT".to_owned()),
            (3, "APPROVED".to_owned())
        ]
    );
}

#[tokio::test]
async fn ten_parallel_edits_of_one_version_make_one_new_version_and_nine_conflicts() {
    let s = seeded().await;
    let lesson: Uuid =
        sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'LESSON' AND ref_id = 'm1-l1'")
            .fetch_one(&s.app.db.pool)
            .await
            .expect("lesson");
    let mut body = s.body_of(lesson).await;
    body["title"] = json!("Edited in parallel");
    let path = format!("/api/admin/content/{lesson}/edit");
    let sends = (0..10).map(|_| {
        s.app
            .csrf_post(&s.admin, &path)
            .json(&json!({ "body": body }))
            .send()
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("request").status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![201], vec![409; 9]].concat());
    let versions: Vec<i32> = sqlx::query_scalar(
        "SELECT version FROM artifacts WHERE kind = 'LESSON' AND ref_id = 'm1-l1' ORDER BY version",
    )
    .fetch_all(&s.app.db.pool)
    .await
    .expect("versions");
    assert_eq!(versions, vec![1, 2]);
}

#[tokio::test]
async fn twenty_parallel_builds_answer_201_or_409_and_never_starve_other_requests() {
    let s = seeded().await;
    let path = format!("/api/admin/courses/{}/packages", s.course);
    let builds = (0..20).map(|_| s.app.csrf_post(&s.admin, &path).send());
    let reads = (0..10).map(|_| s.admin.get(s.app.url("/api/courses")).send());
    let (builds, reads) = tokio::join!(
        futures_util::future::join_all(builds),
        futures_util::future::join_all(reads)
    );
    let mut created = 0;
    for r in builds {
        let r = r.expect("request");
        match r.status().as_u16() {
            201 => created += 1,
            409 => assert_eq!(error_of(r).await.1, "build_in_progress"),
            other => panic!(
                "a build answered {other}: {}",
                r.text().await.unwrap_or_default()
            ),
        }
    }
    assert!(created >= 1);
    for r in reads {
        assert_eq!(
            r.expect("request").status(),
            200,
            "reads are served meanwhile"
        );
    }
    let versions: Vec<i32> =
        sqlx::query_scalar("SELECT version FROM course_packages ORDER BY version")
            .fetch_all(&s.app.db.pool)
            .await
            .expect("versions");
    assert_eq!(versions, (1..=created).collect::<Vec<i32>>());
}

#[tokio::test]
async fn a_route_serves_only_its_own_kind_of_artifact() {
    let s = seeded().await;
    let lesson: Uuid = sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'LESSON' LIMIT 1")
        .fetch_one(&s.app.db.pool)
        .await
        .expect("lesson");
    let (status, _) = s.get(&format!("/api/admin/syllabi/{lesson}")).await;
    assert_eq!(status, 404);
    let (status, _) = s.get(&format!("/api/admin/content/{}", s.syllabus)).await;
    assert_eq!(status, 404);
    let res = s
        .post(&format!("/api/admin/syllabi/{lesson}/approve"), json!({}))
        .await;
    assert_eq!(error_of(res).await.0, 404);
    let (status, v) = s.get(&format!("/api/admin/syllabi/{}", s.syllabus)).await;
    assert_eq!(
        (status, v["artifact"]["kind"].as_str()),
        (200, Some("SYLLABUS"))
    );
}

#[tokio::test]
async fn approve_all_of_a_missing_or_foreign_syllabus_is_the_same_404() {
    let s = seeded().await;
    let other = s.app.tenant("other").await;
    let (_, other_admin) = s
        .app
        .signed_in(&other, "admin@other.test", Role::Admin)
        .await;
    let foreign_syllabus = s
        .app
        .approved_course(&actor_of(&other_admin), "Theirs", 4)
        .await
        .syllabus_id;
    let mut answers = Vec::new();
    for id in [foreign_syllabus, Uuid::new_v4()] {
        let res = s
            .app
            .csrf_post(
                &s.admin,
                &format!("/admin/syllabi/{id}/modules/m1/approve-all"),
            )
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let html = res.text().await.expect("html");
        answers.push((status, html.contains("syllabus not found")));
    }
    assert_eq!(answers, vec![(404, true), (404, true)]);
}
