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

    for i in 1..web::kit::auth::ACCOUNT_THRESHOLD {
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
    for _ in 0..web::kit::auth::ACCOUNT_THRESHOLD {
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

/// The form body of a sign-in as ada with the right password and a raw (already encoded)
/// `next`.
fn ada_form(next: &str) -> String {
    format!(
        "email=ada%40acme.test&password={}&next={next}",
        PASSWORD.replace(' ', "+")
    )
}

#[tokio::test]
async fn a_next_with_a_control_character_or_a_tab_falls_back_to_the_landing_page() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;

    for next in [
        "%2F%0B",
        "%2F%0C",
        "%2F%00",
        "%2F%01",
        "%2F%7F",
        "/%09/evil.example",
        "%2F%09%2Fevil.example",
        "/%2509/evil.example",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
    ] {
        let client = app.new_client();
        let res = app
            .csrf_post(&client, "/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(ada_form(next))
            .send()
            .await
            .expect("post");
        let status = res.status().as_u16();
        if next.contains("%00") {
            // A NUL is refused at the edge, before any sign-in.
            assert_eq!(status, 400, "{next}");
            continue;
        }
        assert_eq!(status, 303, "{next}");
        assert_eq!(res.headers()["location"], "/admin", "{next}");
        assert!(set_cookie(&res, "cw_session").is_some(), "{next}");
        let me = client
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .expect("me");
        assert_eq!(me.status(), 200, "the session works after next={next}");

        let page = client
            .get(app.url(&format!("/login?next={next}")))
            .send()
            .await
            .expect("page");
        assert!(page.status().as_u16() < 500, "login page with next={next}");
    }
    // The login page of an anonymous visitor keeps no such next in its form either.
    let page = app
        .new_client()
        .get(app.url("/login?next=/%09/evil.example"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(!page.text().await.expect("html").contains("evil.example"));
}

#[tokio::test]
async fn a_nul_in_login_json_or_form_is_refused_with_the_error_shape() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;

    for body in [
        r#"{"email":"ada@acme.test\u0000","password":"x"}"#,
        r#"{"email":"ada@acme.test","password":"x\u0000y"}"#,
    ] {
        let res = app
            .csrf_post(&app.client, "/api/auth/login")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        let (status, code, message) = error_of(res).await;
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{body}");
        assert!(message.contains("NUL"), "{message}");
    }
    let raw = app
        .csrf_post(&app.client, "/api/auth/login")
        .header("content-type", "application/json")
        .body(b"{\"email\":\"a\0b\",\"password\":\"x\"}".to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(error_of(raw).await.0, 400);

    let form = app
        .csrf_post(&app.client, "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=ada%00%40acme.test&password=x")
        .send()
        .await
        .expect("post");
    assert_eq!(form.status(), 400);
    assert!(
        form.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html"),
        "a page route answers with an error page"
    );
    assert_eq!(app.count("login_throttle").await, 0, "nothing was counted");
}

#[tokio::test]
async fn an_overlong_email_or_password_is_refused_without_touching_the_throttle() {
    let app = TestApp::spawn().await;
    let long_email = format!("{}@acme.test", "a".repeat(1024 * 1024));
    let res = app.login_with(&app.client, &long_email, "x").await;
    let (status, code, message) = error_of(res).await;
    assert_eq!((status, code.as_str()), (422, "validation_failed"));
    assert!(message.contains("254"), "{message}");

    let res = app
        .login_with(&app.client, "ada@acme.test", &"p".repeat(2000))
        .await;
    assert_eq!(error_of(res).await.0, 422);

    let form = app
        .csrf_post(&app.client, "/login")
        .form(&[("email", long_email.as_str()), ("password", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(form.status(), 422);
    assert!(
        form.text().await.expect("html").len() < 100_000,
        "the address is not echoed"
    );
    assert_eq!(app.count("login_throttle").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_racing_wrong_passwords_check_no_more_than_the_threshold() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;

    let mut racing = tokio::task::JoinSet::new();
    for i in 0..30 {
        racing.spawn(
            app.csrf_post(&app.new_client(), "/api/auth/login")
                .json(&serde_json::json!({ "email": "ada@acme.test", "password": format!("guess {i}") }))
                .send(),
        );
    }
    let mut statuses = Vec::new();
    while let Some(res) = racing.join_next().await {
        statuses.push(res.expect("task").expect("post").status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        refused >= 30 - web::kit::auth::ACCOUNT_THRESHOLD as usize,
        "{statuses:?}"
    );
    let checked = app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "LOGIN_FAILED")
        .count();
    assert_eq!(
        checked,
        web::kit::auth::ACCOUNT_THRESHOLD as usize,
        "only the admitted attempts had their password checked"
    );

    let right = app.login_as(&app.new_client(), "ada@acme.test").await;
    assert_eq!(
        right.status(),
        429,
        "the account is locked, right password or not"
    );
    assert_eq!(app.count("sessions").await, 0);
}

#[tokio::test]
async fn behind_one_trusted_proxy_the_address_is_the_hop_the_proxy_appended() {
    let app = TestApp::spawn_with(web::WebConfig {
        trusted_proxies: 1,
        ..Default::default()
    })
    .await;
    let res = app
        .csrf_post(&app.client, "/api/auth/login")
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .json(&serde_json::json!({ "email": "ghost@acme.test", "password": "x" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM login_throttle ORDER BY key")
        .fetch_all(&app.db.pool)
        .await
        .expect("keys");
    assert_eq!(keys, ["account:ghost@acme.test", "ip:203.0.113.7"]);

    // Without a trusted proxy, the header is the client's word and is ignored.
    let direct = TestApp::spawn().await;
    direct
        .csrf_post(&direct.client, "/api/auth/login")
        .header("x-forwarded-for", "203.0.113.7")
        .json(&serde_json::json!({ "email": "ghost@acme.test", "password": "x" }))
        .send()
        .await
        .expect("post");
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM login_throttle ORDER BY key")
        .fetch_all(&direct.db.pool)
        .await
        .expect("keys");
    assert_eq!(keys, ["account:ghost@acme.test", "ip:127.0.0.1"]);
}
