use domain::Role;
use serde_json::{Value, json};

use crate::support::{TestApp, error_of};

#[tokio::test]
async fn a_request_without_origin_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user_with(&t, "owner@acme.test", Role::Admin, true)
        .await;
    let client = app.new_client();
    assert_eq!(app.login_as(&client, "owner@acme.test").await.status(), 200);
    let tenants_before = app.count("tenants").await;
    let audit_before = app.count("audit_log").await;

    let bare = client
        .post(app.url("/api/platform/tenants"))
        .json(&json!({ "slug": "evil", "name": "Evil" }))
        .send()
        .await
        .expect("post");
    let (status, code, _) = error_of(bare).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));

    let forged = client
        .post(app.url("/api/platform/tenants"))
        .header("Origin", "https://evil.example")
        .json(&json!({ "slug": "evil", "name": "Evil" }))
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);

    // The form logout is protected too: the session survives a forged post.
    let logout = client
        .post(app.url("/logout"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("post");
    assert_eq!(logout.status(), 403);
    assert_eq!(
        client
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .expect("me")
            .status(),
        200
    );

    assert_eq!(app.count("tenants").await, tenants_before);
    assert_eq!(app.count("audit_log").await, audit_before);

    let same_origin = app
        .csrf_post(&client, "/api/platform/tenants")
        .json(&json!({ "slug": "good", "name": "Good" }))
        .send()
        .await
        .expect("post");
    assert_eq!(same_origin.status(), 201);
    assert_eq!(app.count("tenants").await, tenants_before + 1);
}

#[tokio::test]
async fn a_referer_from_this_site_stands_in_for_a_missing_origin() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (client, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    let res = client
        .post(app.url("/api/auth/logout"))
        .header("Referer", app.url("/admin"))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn another_tenants_id_answers_404_exactly_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;
    let (admin_a, _) = app.signed_in(&a, "admin@a.test", Role::Admin).await;
    let own = app.user(&a, "colleague@a.test", Role::Learner).await;
    let foreign = app.user(&b, "stranger@b.test", Role::Learner).await;

    let ok = admin_a
        .get(app.url(&format!("/api/admin/users/{}", own.id)))
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["user"]["email"], "colleague@a.test");

    let cross = error_of(
        admin_a
            .get(app.url(&format!("/api/admin/users/{}", foreign.id)))
            .send()
            .await
            .expect("get"),
    )
    .await;
    let missing = error_of(
        admin_a
            .get(app.url(&format!("/api/admin/users/{}", uuid::Uuid::new_v4())))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(cross.0, 404);
    assert_eq!(
        cross, missing,
        "a foreign id must look exactly like a missing one"
    );

    let listed: Value = admin_a
        .get(app.url("/api/admin/users"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let emails: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert!(
        emails.contains(&"colleague@a.test") && !emails.contains(&"stranger@b.test"),
        "{emails:?}"
    );
}

#[tokio::test]
async fn a_learner_gets_403_from_admin_routes_as_json_and_as_a_page() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (learner, _) = app.signed_in(&t, "lee@acme.test", Role::Learner).await;

    let api = error_of(
        learner
            .get(app.url("/api/admin/users"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!((api.0, api.1.as_str()), (403, "forbidden"));
    let audit = learner
        .get(app.url("/api/admin/audit"))
        .send()
        .await
        .expect("get");
    assert_eq!(audit.status(), 403);

    for path in ["/admin", "/admin/audit", "/admin/users"] {
        let page = learner.get(app.url(path)).send().await.expect("get");
        assert_eq!(page.status(), 403, "{path}");
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("text/html")
        );
        assert!(page.text().await.expect("html").contains("403"));
    }
    assert_eq!(
        learner
            .get(app.url("/learn"))
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
}

#[tokio::test]
async fn a_reviewer_sees_the_dashboard_but_not_the_audit_log() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (reviewer, _) = app.signed_in(&t, "rey@acme.test", Role::Reviewer).await;
    let dash = reviewer.get(app.url("/admin")).send().await.expect("get");
    assert_eq!(dash.status(), 200);
    let html = dash.text().await.expect("html");
    assert!(
        html.contains("Tenant acme") && html.contains("rey@acme.test"),
        "layout shows tenant and user"
    );
    assert!(
        !html.contains(r#"href="/admin/audit""#),
        "a reviewer's navigation has no audit link"
    );
    assert_eq!(
        reviewer
            .get(app.url("/admin/audit"))
            .send()
            .await
            .expect("get")
            .status(),
        403
    );
}

#[tokio::test]
async fn only_a_platform_owner_manages_tenants_with_clear_errors() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    let denied = app
        .csrf_post(&admin, "/api/platform/tenants")
        .json(&json!({"slug":"x1","name":"X"}))
        .send()
        .await
        .expect("post");
    assert_eq!(denied.status(), 403);

    app.user_with(&t, "owner@acme.test", Role::Admin, true)
        .await;
    let owner = app.new_client();
    app.login_as(&owner, "owner@acme.test").await;
    let created = app
        .csrf_post(&owner, "/api/platform/tenants")
        .json(&json!({"slug":"beta","name":"Beta Corp"}))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    let dup = error_of(
        app.csrf_post(&owner, "/api/platform/tenants")
            .json(&json!({"slug":"beta","name":"Again"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!((dup.0, dup.1.as_str()), (409, "slug_taken"));
    let invalid = error_of(
        app.csrf_post(&owner, "/api/platform/tenants")
            .json(&json!({"slug":"Not OK","name":"x"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!((invalid.0, invalid.1.as_str()), (422, "validation_failed"));
    assert!(invalid.2.contains("slug"), "{}", invalid.2);
    assert_eq!(app.count("tenants").await, 2);
    assert!(
        app.audit_actions()
            .await
            .contains(&"TENANT_CREATED".to_owned())
    );
}
