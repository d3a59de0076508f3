//! In a real browser (Debian's headless Chromium through chromedriver): an admin fills the
//! brief form, the worker runs, a reviewer approves the syllabus and then the content.
//! Screenshots land in target/browser/ for CI to keep.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use domain::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use test_support::TestDatabase;
use uuid::Uuid;
use worker::{Registry, Worker, WorkerConfig};

pub(crate) const PASSWORD: &str = "a long enough password";

pub(crate) struct Driver(Child);

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

pub(crate) async fn browser() -> (Driver, Client) {
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

/// The web server on a free loopback port over `db` (as its runtime role) and `objects`,
/// running until the test ends; its base URL.
pub(crate) async fn serve(db: &TestDatabase, objects: store::Objects) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(
        listener,
        web::AppState::new(db.app_pool.clone(), web::WebConfig::default(), objects),
        std::future::pending(),
    ));
    base
}

/// A worker over the offline model that the test runs job by job (`run_one`).
pub(crate) fn offline_worker(db: &TestDatabase, objects: store::Objects) -> Worker {
    let llm = worker::generation::llm(db.app_pool.clone(), std::sync::Arc::new(llm::Offline), 4);
    Worker::new(
        db.app_pool.clone(),
        worker::generation::register(Registry::new(), db.app_pool.clone(), llm),
        objects,
        WorkerConfig::default(),
    )
}

/// The tenant every browser test signs in to: `acme`, "Acme Learning".
pub(crate) async fn acme(db: &TestDatabase) -> db::tenants::Tenant {
    db::tenants::create(
        &db.pool,
        &domain::TenantSlug::parse("acme").expect("slug"),
        &domain::TenantName::parse("Acme Learning").expect("name"),
    )
    .await
    .expect("tenant")
}

/// Users of tenant `tenant_id` with [`PASSWORD`]; their ids in order.
pub(crate) async fn people(
    db: &TestDatabase,
    tenant_id: uuid::Uuid,
    who: &[(&str, Role)],
) -> Vec<uuid::Uuid> {
    let hash = app::admin::hash_password_blocking(PASSWORD).expect("hash");
    let mut ids = Vec::new();
    for (email, role) in who {
        let u = db::users::create(
            &db.pool,
            db::users::NewUser {
                tenant_id,
                email: &domain::Email::parse(email).expect("email"),
                display_name: "",
                role: *role,
                password_hash: &hash,
                is_platform_owner: false,
            },
        )
        .await
        .expect("user");
        ids.push(u.id);
    }
    ids
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
    std::fs::create_dir_all(&dir).expect("dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write");
}

pub(crate) async fn sign_in(c: &Client, base: &str, email: &str) {
    sign_in_to(c, base, email, "/admin").await;
}

pub(crate) async fn sign_in_to(c: &Client, base: &str, email: &str, lands_on: &str) {
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
    wait_for_path(c, lands_on).await;
}

pub(crate) async fn wait_for_path(c: &Client, path: &str) {
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
pub(crate) async fn text(c: &Client) -> String {
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
    let base = serve(&db, objects.clone()).await;
    let w = offline_worker(&db, objects);
    let run_jobs = || async { while w.run_one().await.expect("run").is_some() {} };
    let t = acme(&db).await;
    people(
        &db,
        t.id,
        &[
            ("ada@acme.test", Role::Admin),
            ("rey@acme.test", Role::Reviewer),
        ],
    )
    .await;

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
    // By its words: the page's first confirmation is now "Regenerate the existing parts".
    confirm(&c, "Approve all").await;
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

/// Waits until `main` shows `needle`.
pub(crate) async fn wait_for_text(c: &Client, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = text(c).await;
        if t.contains(needle) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "never showed {needle:?}; page: {t}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn click(c: &Client, xpath: &str) {
    c.find(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {xpath}: {e}"));
}

/// Opens a confirmation (a `<details>` whose summary has `summary`) and confirms it.
pub(crate) async fn confirm(c: &Client, summary: &str) {
    click(
        c,
        &format!("//details[summary[contains(., '{summary}')]]/summary"),
    )
    .await;
    click(
        c,
        &format!("//details[summary[contains(., '{summary}')]]//button"),
    )
    .await;
}

/// Whether the page fits the window's width (nothing scrolls sideways).
async fn fits_width(c: &Client) -> bool {
    c.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth;",
        vec![],
    )
    .await
    .expect("script")
    .as_bool()
    .unwrap_or(false)
}

#[tokio::test]
async fn a_learner_takes_a_published_course_and_follows_publish_and_rollback() {
    let db = TestDatabase::new().await;
    let base = serve(&db, store::Objects::in_memory()).await;
    let t = acme(&db).await;
    let ids = people(
        &db,
        t.id,
        &[
            ("ada@acme.test", Role::Admin),
            ("lee@acme.test", Role::Learner),
        ],
    )
    .await;
    let admin = ids[0];
    let course = test_support::seed::seed_approved_course(
        &db.pool,
        t.id,
        admin,
        "Practical SQL for analysts",
        4,
    )
    .await;
    let actor = app::Actor {
        tenant_id: t.id,
        user_id: admin,
        role: Role::Admin,
    };
    let v1 = app::publishing::build_package(&db.pool, &actor, course)
        .await
        .expect("build");
    app::publishing::publish(&db.pool, &actor, course, v1.version)
        .await
        .expect("publish");

    let (_driver, c) = browser().await;
    c.set_window_size(1280, 900).await.expect("size");
    sign_in_to(&c, &base, "lee@acme.test", "/learn").await;
    wait_for_text(&c, "Practical SQL for analysts").await;
    click(&c, "//main//a[contains(., 'View course')]").await;
    wait_for_text(&c, "Course outline").await;
    click(&c, "//button[contains(., 'Enroll in this course')]").await;
    wait_for_path(&c, &format!("/learn/{course}/lesson/1")).await;
    let body = wait_for_text(&c, "You are enrolled").await;
    assert!(
        body.contains("Lesson 1 of")
            && body.contains("Key takeaways")
            && body.contains("course version 1"),
        "{body}"
    );
    let first_title = c
        .find(Locator::Css("main h1"))
        .await
        .expect("h1")
        .text()
        .await
        .expect("title");
    shot(&c, "learner-lesson-desktop").await;
    assert!(fits_width(&c).await, "the lesson fits a desktop window");
    c.set_window_size(390, 844).await.expect("phone");
    c.refresh().await.expect("reload");
    wait_for_text(&c, "Key takeaways").await;
    assert!(fits_width(&c).await, "the lesson fits a phone screen");
    shot(&c, "learner-lesson-phone").await;
    c.set_window_size(1280, 900).await.expect("desktop");

    // Keyboard: the first Tab reaches the skip link.
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .send_keys("\u{E004}")
        .await
        .expect("tab");
    let focused = c
        .execute("return document.activeElement.className;", vec![])
        .await
        .expect("script");
    assert_eq!(focused, json!("skip"), "Tab first reaches the skip link");

    click(&c, "//button[contains(., 'Mark complete')]").await;
    wait_for_path(&c, &format!("/learn/{course}/lesson/2")).await;
    wait_for_text(&c, "Lesson 1 done").await;
    click(&c, "//a[contains(., 'Take the quiz')]").await;
    wait_for_path(&c, &format!("/learn/{course}/lesson/2/quiz")).await;
    let questions = c
        .find_all(Locator::Css("fieldset.question"))
        .await
        .expect("questions")
        .len();
    assert!(questions >= 1);
    for q in 1..=questions {
        c.find(Locator::Css(&format!("input[name=q{q}][value='0']")))
            .await
            .expect("option")
            .click()
            .await
            .expect("choose");
    }
    click(&c, "//button[contains(., 'Submit answers')]").await;
    let body = wait_for_text(&c, "Your attempts").await;
    assert!(
        body.contains(&format!("/ {questions}")) && body.contains("correct answer"),
        "{body}"
    );
    shot(&c, "learner-quiz-result").await;
    c.goto(&format!("{base}/learn")).await.expect("catalogue");
    let body = wait_for_text(&c, "Enrolled").await;
    assert!(
        body.contains("1 of"),
        "the catalogue shows progress: {body}"
    );

    // The admin rewrites lesson 1, builds and publishes version 2.
    let (syllabus, ref_id, module_id, mut lesson): (Uuid, String, String, serde_json::Value) = sqlx::query_as(
        "SELECT syllabus_id, ref_id, module_id, body FROM artifacts WHERE kind = 'LESSON' AND ref_id = 'm1-l1'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("lesson");
    lesson["title"] = json!("Rewritten: first steps with SQL");
    test_support::seed::insert_approved(
        &db.pool,
        t.id,
        admin,
        "LESSON",
        Some(syllabus),
        None,
        &ref_id,
        Some(&module_id),
        "Rewritten: first steps with SQL",
        &lesson,
    )
    .await;
    c.delete_all_cookies().await.expect("sign out");
    sign_in(&c, &base, "ada@acme.test").await;
    c.goto(&format!("{base}/admin/courses/{course}"))
        .await
        .expect("course page");
    confirm(&c, "Build version 2").await;
    wait_for_text(&c, "Built version 2").await;
    confirm(&c, "Publish v2").await;
    wait_for_text(&c, "learners now get version 2").await;
    shot(&c, "admin-course-versions").await;

    c.delete_all_cookies().await.expect("sign out");
    sign_in_to(&c, &base, "lee@acme.test", "/learn").await;
    c.goto(&format!("{base}/learn/{course}/lesson/1"))
        .await
        .expect("lesson 1");
    let body = wait_for_text(&c, "course version 2").await;
    assert!(
        body.contains("Rewritten: first steps with SQL") && body.contains("1 of"),
        "version 2, progress kept: {body}"
    );

    // Rollback brings version 1 back.
    c.delete_all_cookies().await.expect("sign out");
    sign_in(&c, &base, "ada@acme.test").await;
    c.goto(&format!("{base}/admin/courses/{course}"))
        .await
        .expect("course page");
    confirm(&c, "Roll back to v1").await;
    wait_for_text(&c, "Rolled back").await;
    c.delete_all_cookies().await.expect("sign out");
    sign_in_to(&c, &base, "lee@acme.test", "/learn").await;
    c.goto(&format!("{base}/learn/{course}/lesson/1"))
        .await
        .expect("lesson 1");
    let body = wait_for_text(&c, "course version 1").await;
    assert!(body.contains(&first_title), "{body}");
    assert!(!body.contains("Rewritten"), "{body}");
    c.close().await.expect("close");
}
