//! In a real browser (Debian's headless Chromium through chromedriver): an admin fills the
//! brief form, the worker runs, a reviewer approves the syllabus and then the content.
//! Screenshots land in target/browser/ for CI to keep.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use db::testing::TestDatabase;
use domain::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use worker::{Registry, Worker, WorkerConfig};

const PASSWORD: &str = "a long enough password";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary(name: &str, debian: &str) -> String {
    for p in [
        format!("/usr/bin/{name}"),
        format!("/usr/lib/chromium/{name}"),
    ] {
        if std::path::Path::new(&p).exists() {
            return p;
        }
    }
    panic!("{name} is not installed: apt-get install {debian} (scripts/test does this)");
}

async fn browser() -> (Driver, Client) {
    let driver = binary("chromedriver", "chromium-driver");
    let chromium = binary("chromium", "chromium");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver");
    let guard = Driver(child);
    let profile = std::env::temp_dir().join(format!("cw-chrome-{}", uuid::Uuid::new_v4().simple()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", format!("--user-data-dir={}", profile.display())]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // chromedriver is on loopback: plain HTTP, no TLS stack.
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps.clone());
        match builder.connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(c) => return (guard, c),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    }
}

async fn shot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
    std::fs::create_dir_all(&dir).expect("dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write");
}

async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.expect("login page");
    c.find(Locator::Css("#email"))
        .await
        .expect("email")
        .send_keys(email)
        .await
        .expect("type");
    c.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys(PASSWORD)
        .await
        .expect("type");
    c.find(Locator::Css("main button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    wait_for_path(c, "/admin").await;
}

async fn wait_for_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = c.current_url().await.expect("url");
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {path}; at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The visible text of `main`, retried while a navigation replaces the page under us.
async fn text(c: &Client) -> String {
    let mut last = None;
    for _ in 0..40 {
        match c.find(Locator::Css("main")).await {
            Ok(main) => match main.text().await {
                Ok(t) => return t,
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no readable <main>: {last:?}");
}

#[tokio::test]
async fn an_admin_briefs_and_a_reviewer_approves_in_a_real_browser() {
    let db = TestDatabase::new().await;
    let objects = store::Objects::in_memory();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(
        listener,
        web::AppState::new(db.pool.clone(), web::WebConfig::default(), objects.clone()),
        std::future::pending(),
    ));
    let llm = worker::generation::llm(db.pool.clone(), std::sync::Arc::new(llm::Offline), 4);
    let w = Worker::new(
        db.pool.clone(),
        worker::generation::register(Registry::new(), db.pool.clone(), llm),
        objects,
        WorkerConfig::default(),
    );
    let run_jobs = || async { while w.run_one().await.expect("run").is_some() {} };
    let t = db::tenants::create(
        &db.pool,
        &domain::TenantSlug::parse("acme").expect("slug"),
        &domain::TenantName::parse("Acme Learning").expect("name"),
    )
    .await
    .expect("tenant");
    let hash = web::auth::hash_password_blocking(PASSWORD).expect("hash");
    for (email, role) in [
        ("ada@acme.test", Role::Admin),
        ("rey@acme.test", Role::Reviewer),
    ] {
        db::users::create(
            &db.pool,
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
    }

    let (_driver, c) = browser().await;
    c.set_window_size(1280, 900).await.expect("size");
    sign_in(&c, &base, "ada@acme.test").await;
    c.goto(&format!("{base}/admin/briefs/new"))
        .await
        .expect("form");
    for (field, value) in [
        ("#title", "Practical SQL for analysts"),
        ("#audience", "Business analysts new to databases"),
        ("#hours", "5"),
        ("#style", "hands-on"),
    ] {
        c.find(Locator::Css(field))
            .await
            .expect("field")
            .send_keys(value)
            .await
            .expect("type");
    }
    c.find(Locator::Css("input[name=practical]"))
        .await
        .expect("checkbox")
        .click()
        .await
        .expect("tick");
    shot(&c, "brief-form").await;
    c.find(Locator::Css("form.brief-form button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    wait_for_path(&c, "/admin/syllabi").await;
    assert!(text(&c).await.contains("Brief saved"));
    run_jobs().await;

    c.delete_all_cookies().await.expect("sign out");
    sign_in(&c, &base, "rey@acme.test").await;
    c.goto(&format!("{base}/admin/syllabi"))
        .await
        .expect("list");
    c.find(Locator::Css("table a"))
        .await
        .expect("syllabus link")
        .click()
        .await
        .expect("open");
    let body = text(&c).await;
    assert!(
        body.contains("Practical SQL for analysts")
            && body.contains("DRAFT")
            && body.contains("m1-l1"),
        "{body}"
    );
    c.find(Locator::Css("#note"))
        .await
        .expect("note")
        .send_keys("Structure is right")
        .await
        .expect("type");
    c.find(Locator::Css("button[value=approve]"))
        .await
        .expect("approve")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text(&c).await.contains("Generate lessons") {
        assert!(Instant::now() < deadline, "the approval never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.find(Locator::Css("form.inline button"))
        .await
        .expect("generate")
        .click()
        .await
        .expect("click");
    // The jobs exist once the redirect after the POST shows its flash.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text(&c).await.contains("Content generation requested") {
        assert!(
            Instant::now() < deadline,
            "the content request never showed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run_jobs().await;
    let url = c.current_url().await.expect("url");
    c.goto(url.as_str()).await.expect("reload");
    shot(&c, "syllabus-approved").await;

    // Approve a module's drafts at once, then check one lesson renders for review.
    c.find(Locator::Css("details.confirm summary"))
        .await
        .expect("approve-all")
        .click()
        .await
        .expect("open");
    c.find(Locator::Css("details.confirm[open] button"))
        .await
        .expect("confirm")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text(&c).await.contains("Approved") {
        assert!(Instant::now() < deadline, "module approval never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lesson: uuid::Uuid = sqlx::query_scalar(
        "SELECT id FROM artifacts WHERE kind = 'LESSON' AND module_id = 'm1' LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("lesson");
    c.goto(&format!("{base}/admin/content/{lesson}"))
        .await
        .expect("lesson page");
    let body = text(&c).await;
    assert!(
        body.contains("Key takeaways") && body.contains("APPROVED"),
        "{body}"
    );
    c.set_window_size(390, 844).await.expect("phone");
    shot(&c, "lesson-review-phone").await;

    let statuses: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, status FROM artifacts WHERE kind = 'SYLLABUS' OR module_id = 'm1'",
    )
    .fetch_all(&db.pool)
    .await
    .expect("rows");
    assert!(
        statuses.iter().all(|(_, s)| s == "APPROVED"),
        "{statuses:?}"
    );
    let note: Option<String> =
        sqlx::query_scalar("SELECT review_note FROM artifacts WHERE kind = 'SYLLABUS'")
            .fetch_one(&db.pool)
            .await
            .expect("note");
    assert_eq!(note.as_deref(), Some("Structure is right"));
    c.close().await.expect("close");
}
