//! Accessibility and phone layout, in a real browser: every page a person can reach, in a
//! realistic tenant (drafts, partial approvals, a built and a published version, a failed
//! job, an audit trail), at a desktop size (1280×900) and a phone size (390×844). On each
//! page axe-core (fetched from npm by scripts/axe-core, path in `AXE_CORE_JS`) must find no
//! violation of any impact, and nothing may scroll sideways. On the phone the header is
//! one line with a working Menu button, tables are stacked cards and the version actions
//! fit the screen. Screenshots of each page at both sizes land in target/browser/.

use std::time::{Duration, Instant};

use domain::Role;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use test_support::TestDatabase;
use uuid::Uuid;
use worker::{Registry, Worker, WorkerConfig};

use crate::browser::{acme, browser, people, serve, shot, sign_in_to, text, wait_for_text};

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// The source of axe.min.js; a missing file fails the test (it never skips).
fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
        panic!(
            "AXE_CORE_JS is not set. scripts/test fetches axe-core from npm and sets it; to run \
             this test alone: AXE_CORE_JS=$(scripts/axe-core) cargo nextest run -p coursewright \
             -E 'test(browser_a11y)'"
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("AXE_CORE_JS={path} cannot be read ({e}): run scripts/axe-core to fetch axe-core")
    })
}

/// A model that always answers with JSON that breaks the schema: its jobs fail.
struct Garbage;

impl llm::LlmProvider for Garbage {
    fn name(&self) -> &'static str {
        "garbage"
    }
    fn model(&self) -> &str {
        "garbage-1"
    }
    fn complete<'a>(
        &'a self,
        _req: &'a llm::ChatRequest,
    ) -> llm::BoxFuture<'a, Result<llm::ChatResponse, llm::LlmError>> {
        Box::pin(async {
            Ok(llm::ChatResponse {
                text: r#"{"title":"Tides","extra":true}"#.into(),
                provider: "garbage".into(),
                model: "garbage-1".into(),
                usage: llm::Usage {
                    input_tokens: 10,
                    output_tokens: 5,
                },
                latency_ms: 1,
                cached: false,
            })
        })
    }
}

fn brief(title: &str, hours: u32) -> domain::Valid<domain::Brief> {
    let b: domain::Brief = serde_json::from_value(json!({
        "title": title, "audience": "Dinghy sailors new to tides",
        "level": "beginner", "timeBudgetHours": hours, "teachingStyle": "hands-on"
    }))
    .expect("brief");
    b.validate().expect("valid")
}

async fn id_of(db: &TestDatabase, sql: &str) -> Uuid {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// One page to visit: a short name for its screenshot, its path, and who looks at it
/// (`None`: signed out).
struct Page {
    name: String,
    path: String,
    who: Option<&'static str>,
}

fn page(name: &str, path: impl Into<String>, who: Option<&'static str>) -> Page {
    Page {
        name: name.into(),
        path: path.into(),
        who,
    }
}

const ADA: Option<&str> = Some("ada@acme.test");
const REY: Option<&str> = Some("rey@acme.test");
const LEE: Option<&str> = Some("lee@acme.test");
const KIM: Option<&str> = Some("kim@acme.test");

/// What the tenant holds, for the pages' addresses.
struct Seeded {
    /// Published v1, built v2.
    live: Uuid,
    live_syllabus: Uuid,
    /// Module 1 approved, the rest drafts; one lesson edited into a second draft.
    partial: Uuid,
    partial_syllabus: Uuid,
    draft_syllabus: Uuid,
    /// The newest version of lesson m1-l1 of the live course, and the one it replaced.
    lesson: Uuid,
    superseded: Uuid,
    edited_lesson: Uuid,
    quiz: Uuid,
    project: Uuid,
    failed_job: Uuid,
    done_job: Uuid,
}

async fn seed(db: &TestDatabase, objects: store::Objects) -> Seeded {
    let t = acme(db).await;
    let ids = people(
        db,
        t.id,
        &[
            ("ada@acme.test", Role::Admin),
            ("rey@acme.test", Role::Reviewer),
            ("lee@acme.test", Role::Learner),
            ("kim@acme.test", Role::Learner),
        ],
    )
    .await;
    // Ada also runs the platform: /admin/ops shows its scheduled jobs and alerts.
    sqlx::query("UPDATE users SET is_platform_owner = true WHERE id = $1")
        .bind(ids[0])
        .execute(&db.pool)
        .await
        .expect("owner");
    let actor = |i: usize, role| app::Actor {
        tenant_id: t.id,
        user_id: ids[i],
        role,
    };
    let (ada, rey, lee) = (
        actor(0, Role::Admin),
        actor(1, Role::Reviewer),
        actor(2, Role::Learner),
    );

    // A course built twice and published once.
    let live = test_support::seed::seed_approved_course(
        &db.pool,
        t.id,
        ids[0],
        "Practical SQL for analysts",
        4,
    )
    .await;
    let v1 = app::publishing::build_package(&db.pool, &ada, live)
        .await
        .expect("build v1");
    app::publishing::publish(&db.pool, &ada, live, v1.version)
        .await
        .expect("publish v1");
    let (live_syllabus, ref_id, module_id, mut body): (Uuid, String, String, Value) = sqlx::query_as(
        "SELECT a.syllabus_id, a.ref_id, a.module_id, a.body FROM artifacts a JOIN artifacts s ON s.id = a.syllabus_id
         JOIN briefs b ON b.id = s.brief_id JOIN courses c ON c.brief_id = b.id
         WHERE a.kind = 'LESSON' AND a.ref_id = 'm1-l1' AND c.id = $1",
    )
    .bind(live)
    .fetch_one(&db.pool)
    .await
    .expect("lesson");
    body["title"] = json!("Rewritten: first steps with SQL");
    test_support::seed::insert_approved(
        &db.pool,
        t.id,
        ids[0],
        "LESSON",
        Some(live_syllabus),
        None,
        &ref_id,
        Some(&module_id),
        "Rewritten: first steps with SQL",
        &body,
    )
    .await;
    app::publishing::build_package(&db.pool, &ada, live)
        .await
        .expect("build v2");
    app::learning::enroll(&db.pool, &lee, live)
        .await
        .expect("enroll");
    // A synthetic month of learners: the analytics pages have charts and signals to show.
    app::analytics_demo::seed_history(
        &db.pool,
        t.id,
        live,
        app::analytics_demo::HistorySpec::default(),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("history")
    .expect("seeded");

    // A course drafted by the worker: syllabus approved, module 1 approved, one lesson of
    // module 2 edited into a second draft.
    let llm = worker::generation::llm(db.app_pool.clone(), std::sync::Arc::new(llm::Offline), 4);
    let w = Worker::new(
        db.app_pool.clone(),
        worker::generation::register(Registry::new(), db.app_pool.clone(), llm),
        objects.clone(),
        WorkerConfig::default(),
    );
    app::authoring::submit_brief(&db.pool, &rey, &brief("Reading tide tables", 5))
        .await
        .expect("brief");
    while w.run_one().await.expect("run").is_some() {}
    let partial_syllabus = id_of(
        db,
        "SELECT id FROM artifacts WHERE kind = 'SYLLABUS' AND status = 'DRAFT'",
    )
    .await;
    let family = app::authoring::Family::Syllabus;
    app::authoring::review(
        &db.pool,
        &rey,
        family,
        partial_syllabus,
        true,
        Some("Good order"),
    )
    .await
    .expect("approve");
    app::authoring::request_content(&db.pool, &rey, partial_syllabus)
        .await
        .expect("content");
    while w.run_one().await.expect("run").is_some() {}
    app::authoring::approve_module(&db.pool, &rey, partial_syllabus, "m1")
        .await
        .expect("approve m1");
    let content = app::authoring::Family::Content;
    let m2_lesson = id_of(
        db,
        &format!("SELECT id FROM artifacts WHERE syllabus_id = '{partial_syllabus}' AND kind = 'LESSON' AND module_id = 'm2' ORDER BY ref_id LIMIT 1"),
    )
    .await;
    let mut body: Value = sqlx::query_scalar("SELECT body FROM artifacts WHERE id = $1")
        .bind(m2_lesson)
        .fetch_one(&db.pool)
        .await
        .expect("body");
    body["title"] = json!("Reading the second tide table");
    let edited = app::authoring::edit(&db.pool, &rey, content, m2_lesson, body)
        .await
        .expect("edit");
    let partial: Uuid = sqlx::query_scalar(
        "SELECT c.id FROM courses c JOIN artifacts s ON s.brief_id = c.brief_id WHERE s.id = $1",
    )
    .bind(partial_syllabus)
    .fetch_one(&db.pool)
    .await
    .expect("course");
    let done_job = id_of(db, "SELECT id FROM jobs WHERE status = 'COMPLETED' LIMIT 1").await;

    // A brief whose syllabus waits for review, and one whose generation failed.
    app::authoring::submit_brief(&db.pool, &ada, &brief("Knots for beginners", 3))
        .await
        .expect("brief");
    while w.run_one().await.expect("run").is_some() {}
    let draft_syllabus = id_of(
        db,
        "SELECT id FROM artifacts WHERE kind = 'SYLLABUS' AND status = 'DRAFT'",
    )
    .await;
    let bad = worker::generation::llm(db.app_pool.clone(), std::sync::Arc::new(Garbage), 4);
    let failing = Worker::new(
        db.app_pool.clone(),
        worker::generation::register(Registry::new(), db.app_pool.clone(), bad),
        objects,
        WorkerConfig::default(),
    );
    app::authoring::submit_brief(&db.pool, &ada, &brief("Anchoring in a tideway", 2))
        .await
        .expect("brief");
    while failing.run_one().await.expect("run").is_some() {}
    let failed_job = id_of(db, "SELECT id FROM jobs WHERE status = 'FAILED' LIMIT 1").await;

    let in_live = |kind: &str| {
        format!(
            "SELECT id FROM artifacts WHERE syllabus_id = '{live_syllabus}' AND kind = '{kind}' ORDER BY ref_id, version DESC LIMIT 1"
        )
    };
    Seeded {
        live,
        live_syllabus,
        partial,
        partial_syllabus,
        draft_syllabus,
        lesson: id_of(db, &in_live("LESSON")).await,
        superseded: id_of(
            db,
            &format!(
                "SELECT id FROM artifacts WHERE syllabus_id = '{live_syllabus}' AND kind = 'LESSON' AND ref_id = 'm1-l1' ORDER BY version LIMIT 1"
            ),
        )
        .await,
        edited_lesson: edited.id,
        quiz: id_of(db, &in_live("QUIZ")).await,
        project: id_of(db, &in_live("PROJECT")).await,
        failed_job,
        done_job,
    }
}

/// Every page a person can reach, grouped by who signs in (in this order).
fn pages(s: &Seeded) -> Vec<Page> {
    vec![
        page("login", "/login", None),
        page("not-found-signed-out", "/no/such/page", None),
        page("admin-home", "/admin", ADA),
        page("brief-new", "/admin/briefs/new", ADA),
        page("syllabi", "/admin/syllabi", ADA),
        page(
            "syllabus-approved",
            format!("/admin/syllabi/{}", s.live_syllabus),
            ADA,
        ),
        page(
            "syllabus-partial",
            format!("/admin/syllabi/{}", s.partial_syllabus),
            ADA,
        ),
        page(
            "syllabus-draft",
            format!("/admin/syllabi/{}", s.draft_syllabus),
            ADA,
        ),
        page(
            "syllabus-edit",
            format!("/admin/syllabi/{}/edit", s.partial_syllabus),
            ADA,
        ),
        page("content", "/admin/content", ADA),
        page("content-approved", "/admin/content?status=APPROVED", ADA),
        page(
            "content-lesson",
            format!("/admin/content/{}", s.lesson),
            ADA,
        ),
        page(
            "content-lesson-draft-v2",
            format!("/admin/content/{}", s.edited_lesson),
            ADA,
        ),
        page(
            "content-superseded",
            format!("/admin/content/{}", s.superseded),
            ADA,
        ),
        page(
            "edit-superseded",
            format!("/admin/content/{}/edit", s.superseded),
            ADA,
        ),
        page("content-quiz", format!("/admin/content/{}", s.quiz), ADA),
        page(
            "content-project",
            format!("/admin/content/{}", s.project),
            ADA,
        ),
        page(
            "edit-lesson",
            format!("/admin/content/{}/edit", s.lesson),
            ADA,
        ),
        page("edit-quiz", format!("/admin/content/{}/edit", s.quiz), ADA),
        page(
            "edit-project",
            format!("/admin/content/{}/edit", s.project),
            ADA,
        ),
        page("courses", "/admin/courses", ADA),
        page("course-live", format!("/admin/courses/{}", s.live), ADA),
        page(
            "course-partial",
            format!("/admin/courses/{}", s.partial),
            ADA,
        ),
        page("course-v1", format!("/admin/courses/{}/1", s.live), ADA),
        page("course-v2", format!("/admin/courses/{}/2", s.live), ADA),
        page("jobs", "/admin/jobs", ADA),
        page("job-failed", format!("/admin/jobs/{}", s.failed_job), ADA),
        page("job-completed", format!("/admin/jobs/{}", s.done_job), ADA),
        page("users", "/admin/users", ADA),
        page("ops", "/admin/ops", ADA),
        page("audit", "/admin/audit", ADA),
        page("analytics", "/admin/analytics", ADA),
        page(
            "analytics-course",
            format!("/admin/analytics/{}", s.live),
            ADA,
        ),
        page("not-found", format!("/admin/content/{}", Uuid::nil()), ADA),
        page("reviewer-home", "/admin", REY),
        page("reviewer-content", "/admin/content", REY),
        page("reviewer-course", format!("/admin/courses/{}", s.live), REY),
        page("learn", "/learn", LEE),
        page("learn-course", format!("/learn/{}", s.live), LEE),
        page("learn-lesson", format!("/learn/{}/lesson/1", s.live), LEE),
        page(
            "learn-quiz",
            format!("/learn/{}/lesson/1/quiz", s.live),
            LEE,
        ),
        page(
            "learn-project",
            format!("/learn/{}/project/m1", s.live),
            LEE,
        ),
        page("learn-unenrolled", "/learn", KIM),
        page("learn-course-unenrolled", format!("/learn/{}", s.live), KIM),
    ]
}

/// axe-core's violations on the current page, as lines to print; empty when none.
async fn axe(c: &Client, source: &str) -> Vec<String> {
    c.execute(&format!("{source}\n;return typeof window.axe;"), vec![])
        .await
        .expect("inject axe-core");
    let out = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               window.axe.run(document, { resultTypes: ["violations"] }).then(
                 r => done(r.violations.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => ({ target: n.target, html: n.html, why: n.failureSummary }))
                 }))),
                 e => done({ error: String(e) }));"#,
            vec![],
        )
        .await
        .expect("axe.run");
    if let Some(e) = out.get("error") {
        panic!("axe.run failed: {e}");
    }
    let mut lines = Vec::new();
    for v in out.as_array().expect("violations") {
        lines.push(format!(
            "  {} ({}): {}",
            v["id"].as_str().unwrap_or("?"),
            v["impact"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or("?")
        ));
        for n in v["nodes"].as_array().into_iter().flatten() {
            lines.push(format!(
                "    at {} {}\n      {}",
                n["target"],
                n["html"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect::<String>(),
                n["why"].as_str().unwrap_or("").replace('\n', "\n      ")
            ));
        }
    }
    lines
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// What is wrong with the layout of the current page at `size`; empty when nothing.
async fn layout_problems(c: &Client, phone: bool) -> Vec<String> {
    let mut out = Vec::new();
    let fit = js(
        c,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
    )
    .await;
    if fit[0].as_i64() > fit[1].as_i64() {
        out.push(format!(
            "  scrolls sideways: document {} px wide in a {} px window",
            fit[0], fit[1]
        ));
    }
    if phone {
        // Stacked cards: each cell a block or grid that names its column first.
        let cards = js(
            c,
            r#"return [...document.querySelectorAll("table.cards td")].map(td => {
                 const s = getComputedStyle(td), b = getComputedStyle(td, "::before");
                 return [td.dataset.label, s.display, b.content];
               });"#,
        )
        .await;
        for cell in cards.as_array().expect("cells") {
            let label = cell[0].as_str();
            let display = cell[1].as_str().unwrap_or("");
            let before = cell[2].as_str().unwrap_or("");
            if !matches!(display, "block" | "grid") {
                out.push(format!("  a card's cell {label:?} is display: {display}"));
            }
            match label {
                None => out.push("  a card's cell has no data-label".into()),
                Some("" | "Actions") => {}
                Some(l) if before != format!("\"{l}\"") => out.push(format!(
                    "  a card's cell labelled {l:?} shows {before} before it"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

async fn goto(c: &Client, base: &str, path: &str) {
    c.goto(&format!("{base}{path}"))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    text(c).await;
}

/// The header of a signed-in page on a phone: one line, a Menu button that opens and
/// (with Escape) closes the navigation.
async fn phone_header(c: &Client, label: &str, shot_name: &str) {
    let height = js(
        c,
        "return document.querySelector('header.top').getBoundingClientRect().height;",
    )
    .await
    .as_f64()
    .expect("height");
    assert!(
        height <= 64.0,
        "{label}: the phone header is {height} px tall"
    );
    let menu = c
        .find(Locator::Css("header.top button.menu-toggle"))
        .await
        .expect("menu button");
    assert!(
        menu.is_displayed().await.expect("shown"),
        "{label}: no Menu button"
    );
    assert_eq!(menu.text().await.expect("text"), "Menu");
    let nav = c.find(Locator::Css("header.top nav")).await.expect("nav");
    let expanded = || async { menu.attr("aria-expanded").await.expect("attr") };
    assert_eq!(expanded().await.as_deref(), Some("false"));
    assert!(
        !nav.is_displayed().await.expect("nav"),
        "{label}: the nav starts closed"
    );
    menu.click().await.expect("open the menu");
    assert_eq!(expanded().await.as_deref(), Some("true"), "{label}");
    assert!(
        nav.is_displayed().await.expect("nav"),
        "{label}: the menu opened the nav"
    );
    let link = c
        .find(Locator::Css("header.top nav a"))
        .await
        .expect("a link");
    assert!(link.is_displayed().await.expect("link"));
    shot(c, &format!("a11y-phone-menu-open-{shot_name}")).await;
    c.active_element()
        .await
        .expect("focus")
        .send_keys("\u{E00C}")
        .await
        .expect("Escape");
    assert_eq!(
        expanded().await.as_deref(),
        Some("false"),
        "{label}: Escape closes"
    );
    assert!(
        !nav.is_displayed().await.expect("nav"),
        "{label}: Escape hid the nav"
    );
    let focused = js(c, "return document.activeElement.className;").await;
    assert_eq!(
        focused,
        json!("menu-toggle"),
        "{label}: focus returns to the button"
    );
}

/// The header of a signed-in page on a desktop: the nav shows, no Menu button.
async fn desktop_header(c: &Client, label: &str) {
    let nav = c.find(Locator::Css("header.top nav")).await.expect("nav");
    assert!(
        nav.is_displayed().await.expect("nav"),
        "{label}: nav hidden on a desktop"
    );
    let menu = c
        .find(Locator::Css("header.top button.menu-toggle"))
        .await
        .expect("menu button");
    assert!(
        !menu.is_displayed().await.expect("menu"),
        "{label}: a desktop needs no Menu button"
    );
}

/// On a phone, the course page's Publish and Archive actions show inside the screen.
async fn version_actions_fit(c: &Client) {
    let boxes = js(
        c,
        r#"return [...document.querySelectorAll("table.cards td[data-label=Actions] summary")].map(s => {
             const r = s.getBoundingClientRect();
             return [s.textContent.trim(), r.left, r.right, r.width, r.height, window.innerWidth];
           });"#,
    )
    .await;
    let boxes = boxes.as_array().expect("actions");
    let names: Vec<&str> = boxes.iter().filter_map(|b| b[0].as_str()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("Publish"))
            && names.iter().any(|n| n.starts_with("Archive")),
        "the version table offers Publish and Archive: {names:?}"
    );
    for b in boxes {
        let (left, right, w, h, inner) = (
            b[1].as_f64().unwrap_or(-1.0),
            b[2].as_f64().unwrap_or(f64::MAX),
            b[3].as_f64().unwrap_or(0.0),
            b[4].as_f64().unwrap_or(0.0),
            b[5].as_f64().unwrap_or(0.0),
        );
        assert!(
            left >= 0.0 && right <= inner && w > 0.0 && h > 0.0,
            "{} is not inside the {inner} px screen: left {left}, right {right}",
            b[0]
        );
    }
}

/// Visits every page at one size in one browser session; returns what failed.
async fn visit_all(
    base: &str,
    pages: &[Page],
    (w, h): (u32, u32),
    axe_js: &str,
    s: &Seeded,
) -> Vec<String> {
    let phone = w < 640;
    let size = if phone { "phone" } else { "desktop" };
    let (_driver, c) = browser().await;
    c.set_window_rect(0, 0, w, h).await.expect("window");
    let inner = js(&c, "return window.innerWidth;").await;
    assert_eq!(inner, json!(w), "the window is {w} px wide inside");
    let mut failures = Vec::new();
    let mut signed_in: Option<&str> = None;
    let mut headers_checked = Vec::new();
    for p in pages {
        if p.who != signed_in {
            c.delete_all_cookies().await.expect("sign out");
            if let Some(email) = p.who {
                let lands_on = if email == "lee@acme.test" || email == "kim@acme.test" {
                    "/learn"
                } else {
                    "/admin"
                };
                sign_in_to(&c, base, email, lands_on).await;
            }
            signed_in = p.who;
        }
        goto(&c, base, &p.path).await;
        // The page itself, not a redirect to sign in or an error standing in for it.
        let at = c.current_url().await.expect("url");
        assert_eq!(
            at.path(),
            p.path.split('?').next().unwrap_or_default(),
            "{size} {}: redirected",
            p.name
        );
        let h1 = c
            .find(Locator::Css("main h1"))
            .await
            .unwrap_or_else(|e| panic!("{size} {}: no h1: {e}", p.name))
            .text()
            .await
            .expect("h1");
        let is_error = h1.starts_with("404 ·");
        assert_eq!(
            is_error,
            p.name.starts_with("not-found"),
            "{size} {}: the page shows {h1:?}",
            p.name
        );
        let mut problems = axe(&c, axe_js).await;
        problems.extend(layout_problems(&c, phone).await);
        shot(&c, &format!("a11y-{size}-{}", p.name)).await;
        // What closed confirmations and folds hold is checked too, once (on the desktop).
        if !phone
            && js(
                &c,
                "const d = document.querySelectorAll('details:not([open])'); \
                 d.forEach(x => x.open = true); return d.length > 0;",
            )
            .await
                == json!(true)
        {
            for line in axe(&c, axe_js).await {
                problems.push(format!(
                    "  with every <details> open: {}",
                    line.trim_start()
                ));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{size} {} ({}):\n{}",
                p.name,
                p.path,
                problems.join("\n")
            ));
        }
        // The admin lists are the stacked-card tables the cell check above looked at.
        if phone
            && ["courses", "course-live", "jobs", "audit", "content"].contains(&p.name.as_str())
        {
            let cells = js(
                &c,
                "return document.querySelectorAll('table.cards td').length;",
            )
            .await;
            assert!(
                cells.as_u64().unwrap_or(0) > 0,
                "{}: no stacked-card table to check",
                p.name
            );
        }
        // Each person's header, once: their nav differs by role.
        if let Some(who) = p.who
            && !headers_checked.contains(&who)
        {
            headers_checked.push(who);
            if phone {
                phone_header(&c, &format!("{who} on {}", p.path), &p.name).await;
            } else {
                desktop_header(&c, &format!("{who} on {}", p.path)).await;
            }
        }
        if phone && p.path == format!("/admin/courses/{}", s.live) && p.who == ADA {
            version_actions_fit(&c).await;
            js(
                &c,
                "document.querySelector('table.cards').scrollIntoView(); return true;",
            )
            .await;
            shot(&c, "a11y-phone-course-live-versions").await;
        }
        // The lesson editor after a save that breaks a rule: the error summary, the
        // invalid field. Nothing is saved.
        if p.name == "edit-lesson" {
            let title = c.find(Locator::Css("#f-title")).await.expect("title");
            title.clear().await.expect("clear");
            c.find(Locator::XPath("(//button[@value='save'])[1]"))
                .await
                .expect("save")
                .click()
                .await
                .expect("click");
            wait_for_text(&c, "problem(s) to fix").await;
            let invalid = c
                .find_all(Locator::Css("[aria-invalid=true]"))
                .await
                .expect("invalid");
            assert!(!invalid.is_empty(), "the empty title is marked invalid");
            let mut problems = axe(&c, axe_js).await;
            problems.extend(layout_problems(&c, phone).await);
            shot(&c, &format!("a11y-{size}-edit-lesson-error")).await;
            if !problems.is_empty() {
                failures.push(format!(
                    "{size} edit-lesson-error (saving {} with no title):\n{}",
                    p.path,
                    problems.join("\n")
                ));
            }
        }
        // The quiz, once answered, shows its result and the attempts.
        if p.name == "learn-quiz" {
            let questions = c
                .find_all(Locator::Css("fieldset.question"))
                .await
                .expect("questions")
                .len();
            assert!(questions >= 1, "the quiz has questions");
            for q in 1..=questions {
                c.find(Locator::Css(&format!("input[name=q{q}][value='0']")))
                    .await
                    .expect("option")
                    .click()
                    .await
                    .expect("choose");
            }
            c.find(Locator::XPath("//button[contains(., 'Submit answers')]"))
                .await
                .expect("submit")
                .click()
                .await
                .expect("click");
            wait_for_text(&c, "Your attempts").await;
            let mut problems = axe(&c, axe_js).await;
            problems.extend(layout_problems(&c, phone).await);
            shot(&c, &format!("a11y-{size}-learn-quiz-result")).await;
            if !problems.is_empty() {
                failures.push(format!(
                    "{size} learn-quiz-result (after submitting {}):\n{}",
                    p.path,
                    problems.join("\n")
                ));
            }
        }
    }
    // A failed form: the sign-in page with a wrong password.
    c.delete_all_cookies().await.expect("sign out");
    goto(&c, base, "/login").await;
    c.find(Locator::Css("#email"))
        .await
        .expect("email")
        .send_keys("ada@acme.test")
        .await
        .expect("type");
    c.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys("not the password")
        .await
        .expect("type");
    c.find(Locator::Css("main button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .find(Locator::Css("main [role=alert], main .error"))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the refused sign-in shows no error"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut problems = axe(&c, axe_js).await;
    problems.extend(layout_problems(&c, phone).await);
    shot(&c, &format!("a11y-{size}-login-refused")).await;
    if !problems.is_empty() {
        failures.push(format!("{size} login-refused:\n{}", problems.join("\n")));
    }
    c.close().await.expect("close");
    failures
}

#[tokio::test]
async fn every_page_passes_axe_and_fits_a_phone_in_a_real_browser() {
    let axe_js = axe_source();
    let db = TestDatabase::new().await;
    let objects = store::Objects::in_memory();
    let base = serve(&db, objects.clone()).await;
    let s = seed(&db, objects).await;
    let pages = pages(&s);

    let mut failures = visit_all(&base, &pages, DESKTOP, &axe_js, &s).await;
    failures.extend(visit_all(&base, &pages, PHONE, &axe_js, &s).await);
    assert!(
        failures.is_empty(),
        "{} page(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
