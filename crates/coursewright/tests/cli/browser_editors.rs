//! In a real browser: a reviewer edits a lesson in its form editor, moves a module in the
//! syllabus editor, meets the rule that move breaks at the top of the form, fixes it and
//! saves. Screenshots land in target/browser/.

use std::time::{Duration, Instant};

use domain::Role;
use fantoccini::{Client, Locator};
use test_support::TestDatabase;
use uuid::Uuid;

use crate::browser::{
    acme, browser, click, offline_worker, people, serve, shot, sign_in, text, wait_for_path,
    wait_for_text,
};

/// Replaces what the field `css` holds with `value`.
async fn retype(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn newest(db: &TestDatabase, kind: &str) -> (i32, String, serde_json::Value) {
    sqlx::query_as(
        "SELECT version, status::text, body FROM artifacts WHERE kind = $1 ORDER BY version DESC, ref_id LIMIT 1",
    )
    .bind(kind)
    .fetch_one(&db.pool)
    .await
    .expect("newest")
}

#[tokio::test]
async fn a_reviewer_edits_a_lesson_and_reorders_a_syllabus_in_the_form_editors_of_a_real_browser() {
    let db = TestDatabase::new().await;
    let objects = store::Objects::in_memory();
    let base = serve(&db, objects.clone()).await;
    let w = offline_worker(&db, objects);
    let run_jobs = || async { while w.run_one().await.expect("run").is_some() {} };
    let t = acme(&db).await;
    let ids = people(&db, t.id, &[("rey@acme.test", Role::Reviewer)]).await;
    let rey = app::Actor {
        tenant_id: t.id,
        user_id: ids[0],
        role: Role::Reviewer,
    };
    // Five hours: two modules, the second's first lesson building on the first's last.
    let brief: domain::Brief = serde_json::from_value(serde_json::json!({
        "title": "Reading tide tables", "audience": "Dinghy sailors new to tides",
        "level": "beginner", "timeBudgetHours": 5, "teachingStyle": "hands-on"
    }))
    .expect("brief");
    let brief = brief.validate().expect("valid");
    app::authoring::submit_brief(&db.pool, &rey, &brief)
        .await
        .expect("brief");
    run_jobs().await;
    let syllabus: Uuid = sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'SYLLABUS'")
        .fetch_one(&db.pool)
        .await
        .expect("syllabus");
    let family = app::authoring::Family::Syllabus;
    app::authoring::review(&db.pool, &rey, family, syllabus, true, None)
        .await
        .expect("approve");
    app::authoring::request_content(&db.pool, &rey, syllabus)
        .await
        .expect("content");
    run_jobs().await;
    let lesson: Uuid =
        sqlx::query_scalar("SELECT id FROM artifacts WHERE kind = 'LESSON' AND ref_id = 'm1-l1'")
            .fetch_one(&db.pool)
            .await
            .expect("lesson");

    let (_driver, c) = browser().await;
    c.set_window_size(1280, 900).await.expect("size");
    sign_in(&c, &base, "rey@acme.test").await;

    // The lesson, from its page to its form.
    c.goto(&format!("{base}/admin/content/{lesson}"))
        .await
        .expect("lesson page");
    click(&c, "//main//a[contains(., 'Edit this lesson')]").await;
    wait_for_path(&c, &format!("/admin/content/{lesson}/edit")).await;
    retype(&c, "#f-title", "Reading the first tide table").await;
    retype(
        &c,
        "#f-keyTakeaways-0",
        "High water comes about every twelve and a half hours",
    )
    .await;
    shot(&c, "editor-lesson").await;
    click(&c, "(//button[@value='save'])[1]").await;
    wait_for_text(&c, "Saved as version 2").await;
    let (version, status, body) = newest(&db, "LESSON").await;
    assert_eq!((version, status.as_str()), (2, "DRAFT"));
    assert_eq!(body["title"], "Reading the first tide table");
    assert_eq!(
        body["keyTakeaways"][0],
        "High water comes about every twelve and a half hours"
    );

    // The syllabus: move module 1 below module 2.
    c.goto(&format!("{base}/admin/syllabi/{syllabus}"))
        .await
        .expect("syllabus page");
    click(&c, "//main//a[contains(., 'Edit the syllabus')]").await;
    wait_for_path(&c, &format!("/admin/syllabi/{syllabus}/edit")).await;
    let second = c
        .find(Locator::Css("#f-modules-1-title"))
        .await
        .expect("module 2 title")
        .prop("value")
        .await
        .expect("value")
        .expect("a title");
    click(&c, "//button[@value='down:modules.0']").await;
    wait_for_text(&c, "Moved module 1 down").await;
    let first = c
        .find(Locator::Css("#f-modules-0-title"))
        .await
        .expect("module 1 title")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        first.as_deref(),
        Some(second.as_str()),
        "the modules swapped"
    );
    assert_eq!(newest(&db, "SYLLABUS").await.0, 1, "moving saved nothing");

    // Saving it breaks a rule: the new first lesson builds on one that now comes later.
    click(&c, "(//button[@value='save'])[1]").await;
    let page = wait_for_text(&c, "problem(s) to fix").await;
    assert!(page.contains("is not an earlier lesson"), "{page}");
    shot(&c, "editor-syllabus-error").await;
    click(&c, "//div[contains(@class, 'error-summary')]//a").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c
        .current_url()
        .await
        .expect("url")
        .as_str()
        .ends_with("#f-modules-0-lessons-0-prerequisites")
    {
        assert!(Instant::now() < deadline, "the link never led to the field");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        c.find(Locator::Css("#f-modules-0-title"))
            .await
            .expect("title")
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some(second.as_str()),
        "the moved order is kept on error"
    );
    c.find(Locator::Css(
        "#f-modules-0-lessons-0-prerequisites input:checked",
    ))
    .await
    .expect("the ticked prerequisite")
    .click()
    .await
    .expect("untick");
    click(&c, "(//button[@value='save'])[1]").await;
    wait_for_text(&c, "Saved as version 2").await;
    assert!(!text(&c).await.contains("problem(s) to fix"));
    shot(&c, "editor-syllabus-saved").await;
    let (version, status, body) = newest(&db, "SYLLABUS").await;
    assert_eq!((version, status.as_str()), (2, "DRAFT"));
    assert_eq!(body["modules"][0]["id"], "m2");
    assert_eq!(
        body["modules"][0]["lessons"][0]["prerequisites"],
        serde_json::json!([])
    );
    c.close().await.expect("close");
}
