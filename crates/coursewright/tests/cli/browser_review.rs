//! In a real browser, what a course team sees while the AI works and while they review: the
//! paused banner until a worker beats, a submitted brief followed live from queued to ready
//! without a reload, the confirmed regeneration of existing parts naming what it supersedes,
//! "approve and next", and the readiness checklist, on a desktop and on a phone.

use std::time::{Duration, Instant};

use domain::Role;
use fantoccini::{Client, Locator};
use test_support::TestDatabase;
use uuid::Uuid;

use crate::browser::{
    acme, browser, click, offline_worker, people, serve, shot, sign_in, text, wait_for_path,
    wait_for_text,
};

async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.expect("script")
}

#[tokio::test]
async fn a_team_follows_generation_live_and_reviews_through_the_queue_in_a_real_browser() {
    let db = TestDatabase::new().await;
    let objects = store::Objects::in_memory();
    let base = serve(&db, objects.clone()).await;
    let w = offline_worker(&db, objects);
    let t = acme(&db).await;
    let ids = people(&db, t.id, &[("ada@acme.test", Role::Admin)]).await;
    let ada = app::Actor {
        tenant_id: t.id,
        user_id: ids[0],
        role: Role::Admin,
    };

    let (_driver, c) = browser().await;
    c.set_window_size(1280, 900).await.expect("size");
    sign_in(&c, &base, "ada@acme.test").await;
    // No worker has ever beaten: staff pages say generation waits, and what to start.
    let page = wait_for_text(&c, "Generation is paused: no worker is running.").await;
    assert!(page.contains("coursewright worker"), "{page}");
    db::workers::beat(&db.app_pool, "browser-test-worker", 1)
        .await
        .expect("beat");
    c.goto(&format!("{base}/admin/briefs/new"))
        .await
        .expect("form");
    assert!(
        !text(&c).await.contains("Generation is paused"),
        "a live worker clears the banner"
    );
    for (field, value) in [
        ("#title", "Reading tide tables"),
        ("#audience", "Dinghy sailors new to tides"),
        ("#hours", "3"),
        ("#style", "hands-on"),
    ] {
        c.find(Locator::Css(field))
            .await
            .expect("field")
            .send_keys(value)
            .await
            .expect("type");
    }
    c.find(Locator::Css("form.brief-form button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    wait_for_path(&c, "/admin/syllabi").await;
    let page = text(&c).await;
    assert!(
        page.contains("Briefs being drafted")
            && page.contains("Reading tide tables")
            && page.contains("queued"),
        "listed from the moment it is submitted: {page}"
    );
    shot(&c, "review-brief-queued").await;
    // The page follows its job: the worker drafts the syllabus and the row says so, with no
    // reload (a reload would clear this marker).
    js(&c, "window.__stayed = true; return null;").await;
    while w.run_one().await.expect("run").is_some() {}
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = text(&c).await;
        if t.contains("ready") && t.contains("The jobs are done: reload to see the new drafts.") {
            break;
        }
        assert!(Instant::now() < deadline, "the row never turned ready: {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        js(&c, "return window.__stayed === true;").await,
        serde_json::Value::Bool(true),
        "updated in place, not by reloading"
    );
    shot(&c, "review-brief-ready-live").await;

    // Approve the syllabus and draft its content, then review through the queue.
    let (syllabus, course): (Uuid, Uuid) =
        sqlx::query_as("SELECT id, course_id FROM artifacts WHERE kind = 'SYLLABUS'")
            .fetch_one(&db.pool)
            .await
            .expect("syllabus");
    app::authoring::review(
        &db.app_pool,
        &ada,
        app::authoring::Family::Syllabus,
        syllabus,
        true,
        None,
    )
    .await
    .expect("approve");
    app::authoring::request_content(&db.app_pool, &ada, syllabus)
        .await
        .expect("content");
    while w.run_one().await.expect("run").is_some() {}
    let parts: i64 = sqlx::query_scalar("SELECT count(*) FROM artifacts WHERE kind <> 'SYLLABUS'")
        .fetch_one(&db.pool)
        .await
        .expect("parts");

    c.goto(&format!("{base}/admin/syllabi/{syllabus}"))
        .await
        .expect("syllabus");
    let page = text(&c).await;
    assert!(
        page.contains("Every lesson, quiz and project this syllabus plans has a version.")
            && !page.contains("Generate lessons, quizzes and projects"),
        "{page}"
    );
    click(
        &c,
        "//details[summary[contains(., 'Regenerate the')]]/summary",
    )
    .await;
    let page = text(&c).await;
    assert!(
        page.contains(&format!("Regenerate the {parts} existing part(s)"))
            && page.contains("superseding 0 edited by a person and 0 approved"),
        "the confirmation names what it supersedes: {page}"
    );
    shot(&c, "review-regenerate-confirm").await;

    c.goto(&format!("{base}/admin/content"))
        .await
        .expect("queue");
    let page = wait_for_text(&c, &format!("{parts} draft(s) waiting for review")).await;
    assert!(page.contains("lesson") && page.contains("quiz"), "{page}");
    let first: Uuid =
        sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'LESSON' AND ref_id = 'm1-l1'")
            .fetch_one(&db.pool)
            .await
            .expect("first lesson");
    let quiz: Uuid =
        sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'QUIZ' AND ref_id = 'm1-l1'")
            .fetch_one(&db.pool)
            .await
            .expect("its quiz");
    c.goto(&format!("{base}/admin/content/{first}"))
        .await
        .expect("lesson");
    assert!(text(&c).await.contains(&format!("Part 1 of {parts}")));
    c.find(Locator::Css("button[value=approve-next]"))
        .await
        .expect("approve and next")
        .click()
        .await
        .expect("click");
    wait_for_path(&c, &format!("/admin/content/{quiz}")).await;
    let page = wait_for_text(&c, "The next draft waiting for review:").await;
    assert!(page.contains("Part 2 of"), "{page}");

    // The course page lists, in red and by title, what keeps it from being built.
    c.goto(&format!("{base}/admin/courses/{course}"))
        .await
        .expect("course");
    let page = wait_for_text(&c, "Before you build").await;
    assert!(
        page.contains(&format!(
            "{} planned part(s) are missing or not approved",
            parts - 1
        )),
        "{page}"
    );
    let red = js(
        &c,
        "return getComputedStyle(document.querySelector('ul.gaps')).color;",
    )
    .await;
    assert_eq!(
        red,
        serde_json::json!("rgb(180, 35, 24)"),
        "the list reads red"
    );
    c.set_window_size(390, 844).await.expect("phone");
    c.refresh().await.expect("reload");
    let items = js(
        &c,
        "return [...document.querySelectorAll('ul.gaps li a')].filter(a => { \
           const r = a.getBoundingClientRect(); return r.width > 0 && r.right <= innerWidth; }).length;",
    )
    .await;
    assert_eq!(
        items,
        serde_json::json!(parts - 1),
        "every gap is a link within a phone's width"
    );
    shot(&c, "review-readiness-phone").await;
    c.close().await.expect("close");
}
