use domain::Role;
use serde_json::Value;

use crate::support::{PASSWORD, TestApp, error_of, set_cookie};

#[tokio::test]
async fn login_sets_a_locked_down_cookie_and_identifies_the_caller() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;

    let res = app.login_as(&app.client, "ADA@acme.test ").await;
    assert_eq!(res.status(), 200);
    let cookie = set_cookie(&res, "cw_session").expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not mark the cookie Secure: {cookie}"
    );
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["user"]["email"], "ada@acme.test");
    assert_eq!(body["user"]["role"], "ADMIN");
    assert_eq!(body["user"]["tenant"]["slug"], "acme");

    let me: Value = app
        .client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["email"], "ada@acme.test");
    assert!(
        app.audit_actions()
            .await
            .contains(&"LOGIN_SUCCEEDED".to_owned())
    );
}

#[tokio::test]
async fn the_session_id_changes_at_every_login_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;
    let first = set_cookie(
        &app.login_as(&app.client, "ada@acme.test").await,
        "cw_session",
    )
    .expect("cookie");
    let second = set_cookie(
        &app.login_as(&app.client, "ada@acme.test").await,
        "cw_session",
    )
    .expect("cookie");
    let token = |c: &str| c.split(';').next().unwrap_or_default().to_owned();
    assert_ne!(token(&first), token(&second));

    let replay = app.new_client();
    let res = replay
        .get(app.url("/api/auth/me"))
        .header("Cookie", token(&first))
        .send()
        .await
        .expect("me");
    assert_eq!(
        res.status(),
        401,
        "the session from before the second login must be gone"
    );
    assert_eq!(app.count("sessions").await, 1);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;

    let wrong = error_of(
        app.login_with(&app.client, "ada@acme.test", "not the password")
            .await,
    )
    .await;
    let unknown = error_of(
        app.login_with(&app.client, "nobody@acme.test", PASSWORD)
            .await,
    )
    .await;
    assert_eq!(wrong.0, 401);
    assert_eq!(
        wrong, unknown,
        "the answer must not reveal whether the email exists"
    );
    assert_eq!(app.count("sessions").await, 0);
    // Failures against a real account are audited for its tenant; unknown emails write nothing.
    assert_eq!(app.audit_actions().await, vec!["LOGIN_FAILED"]);
}

#[tokio::test]
async fn repeated_failures_back_off_with_retry_after_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;

    for i in 1..web::auth::ACCOUNT_THRESHOLD {
        let res = app.login_with(&app.client, "ada@acme.test", "guess").await;
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    let locked = app.login_with(&app.client, "ada@acme.test", "guess").await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=30).contains(&retry), "first lock is 30 s, got {retry}");
    assert_eq!(error_of(locked).await.1, "too_many_requests");

    let right = app.login_as(&app.client, "ada@acme.test").await;
    assert_eq!(
        right.status(),
        429,
        "a locked account refuses even the right password"
    );
    assert_eq!(app.count("sessions").await, 0);

    // An unknown email locks the same way, so throttling reveals nothing either.
    for _ in 0..web::auth::ACCOUNT_THRESHOLD {
        app.login_with(&app.client, "ghost@acme.test", "guess")
            .await;
    }
    assert_eq!(
        app.login_with(&app.client, "ghost@acme.test", "guess")
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (client, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;

    let res = app
        .csrf_post(&client, "/api/auth/logout")
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 204);
    let cleared = set_cookie(&res, "cw_session").expect("clearing cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        client
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .expect("me")
            .status(),
        401
    );
    assert_eq!(app.count("sessions").await, 0);
    assert!(app.audit_actions().await.contains(&"LOGOUT".to_owned()));
}

#[tokio::test]
async fn the_login_form_signs_in_redirects_to_next_and_shows_errors_inline() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;

    let page = app
        .client
        .get(app.url("/login?next=/admin/audit"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"<label for="email">"#) && html.contains(r#"value="/admin/audit""#));

    let bad = app
        .csrf_post(&app.client, "/login")
        .form(&[
            ("email", "ada@acme.test"),
            ("password", "nope"),
            ("next", "/admin/audit"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 401);
    assert!(
        bad.text()
            .await
            .expect("html")
            .contains("Email or password is incorrect.")
    );

    let good = app
        .csrf_post(&app.client, "/login")
        .form(&[
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
            ("next", "/admin/audit"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(good.status(), 303);
    assert_eq!(good.headers()["location"], "/admin/audit");

    // A next that leaves the site is ignored.
    let offsite = app
        .csrf_post(&app.new_client(), "/login")
        .form(&[
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(offsite.headers()["location"], "/admin");
}

#[tokio::test]
async fn a_page_asks_an_anonymous_visitor_to_sign_in_and_the_api_answers_401() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(app.url("/admin/audit?action=LOGOUT"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        "/login?next=/admin/audit%3Faction%3DLOGOUT"
    );
    let api = app
        .client
        .get(app.url("/api/admin/users"))
        .send()
        .await
        .expect("api");
    assert_eq!(error_of(api).await.1, "unauthorized");
}

#[tokio::test]
async fn cookies_are_secure_when_configured_for_https() {
    let cfg = web::WebConfig {
        secure_cookies: true,
        ..Default::default()
    };
    let app = TestApp::spawn_with(cfg).await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;
    let res = app.login_as(&app.client, "ada@acme.test").await;
    let cookie = set_cookie(&res, "__Host-cw_session").expect("secure cookie");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
}
