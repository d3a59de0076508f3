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
    assert_eq!(body["status"], "not_ready");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "{body}"
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
async fn readyz_is_503_while_migrations_are_pending_and_200_once_applied() {
    let server = db::testing::server_options();
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
    assert!(res.text().await.expect("body").contains("pending"));
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while waiting().await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the login never reached the database"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let stopping = app.stop();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(app.addr).await.is_err(),
        "no new connections once stopping"
    );
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
