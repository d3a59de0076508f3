use domain::Role;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;

use crate::support::{TestApp, error_of};

#[tokio::test]
async fn unknown_paths_wrong_methods_and_big_bodies_answer_in_the_json_error_shape() {
    let app = TestApp::spawn().await;

    let (status, code, _) = error_of(
        app.client
            .get(app.url("/api/nothing-here"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "not_found"));

    let res = app
        .csrf_post(&app.client, "/api/auth/me")
        .send()
        .await
        .expect("post");
    let allow = res
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(allow.contains("GET"), "405 must carry Allow, got {allow:?}");
    let (status, code, _) = error_of(res).await;
    assert_eq!((status, code.as_str()), (405, "method_not_allowed"));

    let big = "x".repeat(3 * 1024 * 1024);
    let res = app
        .csrf_post(&app.client, "/api/auth/login")
        .header("content-type", "application/json")
        .body(format!(r#"{{"email":"{big}","password":"p"}}"#))
        .send()
        .await
        .expect("post");
    let (status, code, _) = error_of(res).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));

    let res = app
        .csrf_post(&app.client, "/api/auth/login")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(error_of(res).await.0, 400);
    let res = app
        .csrf_post(&app.client, "/api/auth/login")
        .json(&json!({"email": 5}))
        .send()
        .await
        .expect("post");
    assert_eq!(error_of(res).await.0, 422);
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    for path in ["/login", "/healthz", "/api/nothing"] {
        let res = app.client.get(app.url(path)).send().await.expect("get");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert_eq!(h["x-request-id"].to_str().unwrap_or("").len(), 36, "{path}");
    }
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("get");
    assert_eq!(
        res.headers()["x-request-id"],
        "trace-me-42",
        "a caller's request id is kept"
    );
}

#[tokio::test]
async fn readyz_is_503_while_the_database_is_unreachable() {
    // Nothing listens on port 1: every query fails to connect.
    let pool = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/none")
        .expect("lazy pool");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = web::AppState::new(pool, web::WebConfig::default(), store::Objects::in_memory());
    tokio::spawn(web::serve(listener, state, std::future::pending()));
    let res = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("get");
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        body,
        json!({ "status": "not_ready" }),
        "an anonymous caller learns nothing about the database"
    );
    // The process itself is alive.
    assert_eq!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .expect("get")
            .status(),
        200
    );
}

#[tokio::test]
async fn readyz_tells_only_a_signed_in_platform_owner_why() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user_with(&t, "root@acme.test", Role::Admin, true).await;
    let (admin, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;

    let anonymous: serde_json::Value = app
        .new_client()
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(anonymous, json!({ "status": "ready" }));
    let tenant_admin: serde_json::Value = admin
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(tenant_admin, json!({ "status": "ready" }));

    let owner = app.new_client();
    assert_eq!(app.login_as(&owner, "root@acme.test").await.status(), 200);
    let detailed: serde_json::Value = owner
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(detailed["status"], "ready");
    assert!(
        detailed["detail"]
            .as_str()
            .unwrap_or("")
            .contains("migrations current"),
        "{detailed}"
    );
}

#[tokio::test]
async fn readyz_is_503_while_migrations_are_pending_and_200_once_applied() {
    let server = test_support::server_options();
    let name = format!("cw_test_empty_{}", uuid::Uuid::new_v4().simple());
    db::connect::create_database_if_missing(server.clone(), &name)
        .await
        .expect("create");
    let pool = PgPoolOptions::new()
        .connect_with(server.clone().database(&name))
        .await
        .expect("pool");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(web::serve(
        listener,
        web::AppState::new(
            pool.clone(),
            web::WebConfig::default(),
            store::Objects::in_memory(),
        ),
        std::future::pending(),
    ));

    let res = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("get");
    assert_eq!(res.status(), 503);
    let body = res.text().await.expect("body");
    assert_eq!(
        body, r#"{"status":"not_ready"}"#,
        "no migration names or counts for an anonymous caller"
    );
    db::migrate::run(&pool).await.expect("migrate");
    assert_eq!(
        reqwest::get(format!("http://{addr}/readyz"))
            .await
            .expect("get")
            .status(),
        200
    );

    pool.close().await;
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&server.database("postgres"))
            .await
            .expect("admin");
    sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_not_raw_path() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    for _ in 0..3 {
        admin
            .get(app.url(&format!("/api/admin/users/{}", uuid::Uuid::new_v4())))
            .send()
            .await
            .expect("get");
    }
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(r#"route="/api/admin/users/{id}""#)
                && l.contains(r#"status="404""#)
        })
        .unwrap_or_else(|| panic!("no series for the route template in:\n{text}"));
    assert!(line.ends_with(" 3"), "{line}");
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "a histogram, not a summary"
    );
    assert!(
        !text.contains("/api/admin/users/0") && !text.contains("users/1"),
        "no raw ids as labels"
    );
    assert!(text.contains("audit_write_failures_total"));
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let mut app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user(&t, "ada@acme.test", Role::Admin).await;
    // Hold a lock the login handler needs, so the request is provably in flight.
    let mut blocker = app.db.pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE login_throttle IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let client = app.new_client();
    let url = app.url("/api/auth/login");
    let origin = app.base.clone();
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .header("Origin", origin)
            .json(&json!({"email": "ada@acme.test", "password": crate::support::PASSWORD}))
            .send()
            .await
    });
    let db_name = app.db.name.clone();
    let waiting = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        )
        .bind(&db_name)
        .fetch_one(&app.db.pool)
        .await
        .expect("pg_stat_activity")
    };
    test_support::wait_until(
        std::time::Duration::from_secs(20),
        "the login to reach the database",
        || async { waiting().await > 0 },
    )
    .await;
    let stopping = app.stop();
    let addr = app.addr;
    test_support::wait_until(
        std::time::Duration::from_secs(5),
        "the stopping server to refuse new connections",
        || async { tokio::net::TcpStream::connect(addr).await.is_err() },
    )
    .await;
    assert!(
        !stopping.is_finished(),
        "the server waits for the in-flight request"
    );
    blocker.commit().await.expect("release");
    let res = in_flight
        .await
        .expect("join")
        .expect("the in-flight request completes");
    assert_eq!(res.status(), 200);
    stopping.await.expect("server stopped");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(sessions, 1, "the login finished its work");
}

#[tokio::test]
async fn without_a_public_url_the_origin_is_the_address_reached_never_the_host_header() {
    let app = TestApp::spawn().await;
    let login = |origin: String, host: Option<&'static str>| {
        let mut req = app
            .client
            .post(app.url("/api/auth/login"))
            .header("Origin", origin)
            .json(&json!({ "email": "ghost@acme.test", "password": "x" }));
        if let Some(h) = host {
            req = req.header("Host", h);
        }
        req.send()
    };
    let port = app.addr.port();
    // A page of evil.example that makes the browser send `Host: evil.example` (DNS
    // rebinding) names its own origin, and is refused.
    let forged = login("http://evil.example".into(), Some("evil.example"))
        .await
        .expect("post");
    let (status, code, _) = error_of(forged).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let forged = login(format!("http://evil.example:{port}"), Some("evil.example"))
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    // This loopback server answers to its address and to localhost at its port.
    for origin in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        let res = login(origin.clone(), None).await.expect("post");
        assert_eq!(res.status(), 401, "{origin} is this site");
    }
    let other_port = login(format!("http://localhost:{}", port + 1), None)
        .await
        .expect("post");
    assert_eq!(other_port.status(), 403);
}

#[tokio::test]
async fn with_a_public_url_only_that_origin_may_post() {
    let app = TestApp::spawn_with(web::WebConfig {
        public_origin: Some("https://learn.example".into()),
        ..Default::default()
    })
    .await;
    let post = |origin: String| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("Origin", origin)
            .json(&json!({ "email": "ghost@acme.test", "password": "x" }))
            .send()
    };
    assert_eq!(
        post("https://learn.example".into())
            .await
            .expect("post")
            .status(),
        401
    );
    assert_eq!(post(app.base.clone()).await.expect("post").status(), 403);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(web::WebConfig {
        header_read_timeout: std::time::Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let started = std::time::Instant::now();
    let mut slow = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HT").await.expect("write");
    let mut buf = [0u8; 1024];
    // The server closes the connection; the deadline only bounds a failing test.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection was still open after 10 s");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(400),
        "closed before the timeout: {:?}",
        started.elapsed()
    );
    // A client that finishes in time is served as usual.
    let res = reqwest::get(app.url("/healthz")).await.expect("get");
    assert_eq!(res.status(), 200);
}
