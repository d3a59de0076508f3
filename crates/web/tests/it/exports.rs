//! Exports over HTTP: a learner's PDF and SCORM package of the active version, staff exports
//! of any version, the store-backed cache, the rate limit, the size limit and the audit.

use app::exports::{Limits, renders};
use domain::Role;
use reqwest::Client;
use serde_json::{Value, json};
use test_support::actor_of;
use uuid::Uuid;

use crate::support::{TestApp, error_of};

struct Published {
    app: TestApp,
    tenant: db::tenants::Tenant,
    admin: Client,
    learner: Client,
    learner_id: Uuid,
    course: Uuid,
}

/// A 2-hour course, built and published, with an admin and an enrolled learner.
async fn published(config: web::WebConfig) -> Published {
    let app = TestApp::spawn_with(config).await;
    let tenant = app.tenant("acme").await;
    let (admin, admin_user) = app.signed_in(&tenant, "admin@acme.test", Role::Admin).await;
    let (learner, learner_user) = app
        .signed_in(&tenant, "learner@acme.test", Role::Learner)
        .await;
    let course = app
        .approved_course(
            &actor_of(&admin_user),
            "Practical SQL: joins & <windows>",
            2,
        )
        .await
        .course_id;
    let p = Published {
        app,
        tenant,
        admin,
        learner,
        learner_id: learner_user.id,
        course,
    };
    let res = p
        .post(
            &p.admin,
            &format!("/api/admin/courses/{course}/packages"),
            json!({}),
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let res = p
        .post(
            &p.admin,
            &format!("/api/admin/courses/{course}/versions/1/publish"),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    p
}

impl Published {
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

    async fn enroll(&self) {
        let res = self
            .post(
                &self.learner,
                "/api/learn/enroll",
                json!({ "courseId": self.course }),
            )
            .await;
        assert_eq!(res.status(), 201);
    }

    fn pdf(&self) -> String {
        format!("/api/learn/courses/{}/export.pdf", self.course)
    }

    fn scorm(&self) -> String {
        format!("/api/learn/courses/{}/export/scorm12.zip", self.course)
    }

    /// The metadata of every export audit row, oldest first.
    async fn export_audit(&self) -> Vec<(String, Option<Uuid>, Value)> {
        sqlx::query_as(
            "SELECT action, actor_id, metadata FROM audit_log
             WHERE action IN ('PDF_EXPORTED', 'LMS_EXPORTED') ORDER BY id",
        )
        .fetch_all(&self.app.db.pool)
        .await
        .expect("audit")
    }
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_learner_exports_the_active_version_rendered_once_then_served_from_the_store() {
    let p = published(web::WebConfig::default()).await;
    let other = p.app.tenant("globex").await;
    let (outsider, _) = p
        .app
        .signed_in(&other, "learner@globex.test", Role::Learner)
        .await;

    // Not enrolled yet: refused, nothing rendered, nothing counted.
    let (status, code, message) = error_of(p.get(&p.learner, &p.pdf()).await).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"), "{message}");
    assert!(message.contains("enroll"), "{message}");
    // Another tenant's learner cannot tell the course exists.
    let (status, _, _) = error_of(p.get(&outsider, &p.pdf()).await).await;
    assert_eq!(status, 404);
    let (status, _, _) = error_of(p.get(&outsider, &p.scorm()).await).await;
    assert_eq!(status, 404);
    // Nor can anyone name a course that is not there.
    let missing = format!("/api/learn/courses/{}/export.pdf", Uuid::new_v4());
    assert_eq!(error_of(p.get(&p.learner, &missing).await).await.0, 404);
    assert_eq!(renders(), 0);
    assert_eq!(p.app.count("export_requests").await, 0);

    p.enroll().await;
    let page = p.get(&p.learner, &format!("/learn/{}", p.course)).await;
    let html = page.text().await.expect("course page");
    assert!(
        html.contains(&format!("href=\"/learn/{}/export.pdf\"", p.course)),
        "{html}"
    );
    assert!(html.contains("Download for your LMS (SCORM 1.2)"));

    let res = p.get(&p.learner, &p.pdf()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/pdf");
    assert_eq!(
        header(&res, "content-disposition"),
        "attachment; filename=\"practical-sql-joins-windows-v1.pdf\""
    );
    let etag = header(&res, "etag");
    let pdf = res.bytes().await.expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF file");
    assert_eq!(
        etag,
        format!("\"{}\"", store::content_hash(&pdf)),
        "strong ETag of the bytes"
    );
    assert_eq!(renders(), 1);

    let res = p.get(&p.learner, &p.scorm()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/zip");
    let zip = res.bytes().await.expect("zip");
    export::checks::check_scorm12(&zip).expect("the served package passes our checks");
    assert_eq!(renders(), 2);

    // The second PDF comes from the store: the same bytes, no rendering.
    let res = p.get(&p.learner, &p.pdf()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "etag"), etag);
    assert_eq!(res.bytes().await.expect("pdf"), pdf);
    assert_eq!(renders(), 2, "a cached export renders nothing");

    // A client holding the current copy gets 304, which neither counts nor audits.
    let res = p
        .learner
        .get(p.app.url(&p.pdf()))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 304);
    assert_eq!(header(&res, "etag"), etag);

    // The fourth export in ten minutes (either format) is refused with Retry-After.
    let res = p.get(&p.learner, &p.scorm()).await;
    let retry: u64 = header(&res, "retry-after")
        .parse()
        .expect("Retry-After seconds");
    assert!((1..=600).contains(&retry), "{retry}");
    let (status, code, _) = error_of(res).await;
    assert_eq!((status, code.as_str()), (429, "too_many_requests"));
    // The page twin answers an error page, not JSON.
    let res = p
        .get(&p.learner, &format!("/learn/{}/export.pdf", p.course))
        .await;
    assert_eq!(res.status(), 429);
    assert!(header(&res, "content-type").starts_with("text/html"));
    assert_eq!(p.app.count("export_requests").await, 3);

    // One audit row per export served, naming course, version, package and person.
    let rows = p.export_audit().await;
    let actions: Vec<_> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, ["PDF_EXPORTED", "LMS_EXPORTED", "PDF_EXPORTED"]);
    let hash: String = sqlx::query_scalar("SELECT content_hash FROM course_packages")
        .fetch_one(&p.app.db.pool)
        .await
        .expect("hash");
    for (i, (_, actor, m)) in rows.iter().enumerate() {
        assert_eq!(*actor, Some(p.learner_id));
        assert_eq!(m["courseId"], json!(p.course));
        assert_eq!(m["version"], 1);
        assert_eq!(m["packageHash"], json!(hash));
        assert_eq!(m["userId"], json!(p.learner_id));
        assert_eq!(m["rendered"], json!(i < 2), "row {i}: {m}");
    }
    // The admin, counted apart, still may export.
    let res = p
        .get(&p.admin, &format!("/api/courses/{}/1/export.pdf", p.course))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.expect("pdf"), pdf);
    assert_eq!(renders(), 2);
}

#[tokio::test]
async fn twenty_racing_exports_are_counted_one_by_one_and_rendered_once() {
    let p = published(web::WebConfig::default()).await;
    p.enroll().await;
    let answers = futures_util::future::join_all((0..20).map(|i| {
        let url = p.app.url(&if i % 2 == 0 { p.pdf() } else { p.scorm() });
        let c = p.learner.clone();
        async move { c.get(url).send().await.expect("request").status().as_u16() }
    }))
    .await;
    let ok = answers.iter().filter(|s| **s == 200).count();
    let limited = answers.iter().filter(|s| **s == 429).count();
    assert_eq!((ok, limited), (3, 17), "{answers:?}");
    assert_eq!(p.app.count("export_requests").await, 3);
    assert_eq!(p.export_audit().await.len(), 3);
    assert!(renders() <= 2, "at most once per format: {}", renders());
    assert_eq!(p.app.count("package_exports").await, renders() as i64);
}

#[tokio::test]
async fn staff_export_any_version_and_learners_cannot_use_the_staff_route() {
    let p = published(web::WebConfig::default()).await;
    let (reviewer, _) = p
        .app
        .signed_in(&p.tenant, "rev@acme.test", Role::Reviewer)
        .await;
    // Version 2, built but never published: staff export it, learners never see it.
    let res = p
        .post(
            &p.admin,
            &format!("/api/admin/courses/{}/packages", p.course),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let page = p
        .get(&p.admin, &format!("/admin/courses/{}/2", p.course))
        .await
        .text()
        .await
        .expect("version page");
    assert!(page.contains(&format!(
        "href=\"/admin/courses/{}/2/export/scorm12.zip\"",
        p.course
    )));
    assert!(
        page.contains(&format!("href=\"/admin/courses/{}\"", p.course)),
        "back link names the course"
    );

    let res = p
        .get(
            &reviewer,
            &format!("/admin/courses/{}/2/export/scorm12.zip", p.course),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "content-disposition"),
        "attachment; filename=\"practical-sql-joins-windows-v2-scorm12.zip\""
    );
    let zip = res.bytes().await.expect("zip");
    export::checks::check_scorm12(&zip).expect("checks");

    let staff_route = format!("/api/courses/{}/2/export.pdf", p.course);
    let (status, _, _) = error_of(p.get(&p.learner, &staff_route).await).await;
    assert_eq!(status, 403);
    let missing = format!("/api/courses/{}/9/export.pdf", p.course);
    let (status, _, message) = error_of(p.get(&p.admin, &missing).await).await;
    assert_eq!(status, 404, "{message}");
    let metadata: Value =
        sqlx::query_scalar("SELECT metadata FROM audit_log WHERE action = 'LMS_EXPORTED'")
            .fetch_one(&p.app.db.pool)
            .await
            .expect("audit");
    assert_eq!(metadata["version"], 2);
    assert_eq!(metadata["via"], "staff");
}

#[tokio::test]
async fn a_package_over_the_size_limit_answers_413_before_anything_is_rendered() {
    // Packages over 5 MB cannot be built (nor stored: the table checks it), so the limit is
    // lowered here to exercise the refusal with a real package.
    let config = web::WebConfig {
        export_limits: Limits {
            max_package_bytes: 1000,
            ..Limits::default()
        },
        ..web::WebConfig::default()
    };
    let p = published(config).await;
    p.enroll().await;
    let before = p.app.audit_actions().await.len();
    for path in [p.pdf(), p.scorm()] {
        let (status, code, message) = error_of(p.get(&p.learner, &path).await).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"));
        assert!(message.contains("up to 1000 bytes"), "{message}");
    }
    assert_eq!(renders(), 0);
    assert_eq!(p.app.count("export_requests").await, 0);
    assert_eq!(p.app.count("package_exports").await, 0);
    assert_eq!(p.app.audit_actions().await.len(), before);
}
