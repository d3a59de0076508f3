//! The learner pages' analytics script in a real browser: a lesson view reaches the server
//! even when the reader leaves before the batch's debounce would have sent it.

use std::time::Duration;

use domain::Role;
use test_support::TestDatabase;

use crate::browser::{acme, browser, people, serve, sign_in_to, wait_for_text};

async fn events(db: &TestDatabase, kind: &str) -> Vec<(Option<i32>, Option<i32>)> {
    sqlx::query_as(
        "SELECT lesson_index, value FROM analytics_events WHERE type = $1 ORDER BY received_at",
    )
    .bind(kind)
    .fetch_all(&db.pool)
    .await
    .expect("events")
}

#[tokio::test]
async fn views_and_reading_time_are_flushed_when_the_reader_leaves() {
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
    let course =
        test_support::seed::seed_approved_course(&db.pool, t.id, ids[0], "Practical SQL", 2).await;
    let actor = app::Actor {
        tenant_id: t.id,
        user_id: ids[0],
        role: Role::Admin,
    };
    let v1 = app::publishing::build_package(&db.pool, &actor, course)
        .await
        .expect("build");
    app::publishing::publish(&db.pool, &actor, course, v1.version)
        .await
        .expect("publish");

    let (_driver, c) = browser().await;
    sign_in_to(&c, &base, "lee@acme.test", "/learn").await;
    let lesson = |n: u32| format!("{base}/learn/{course}/lesson/{n}");

    // Leave lesson 1 at once, well inside the 2 s debounce of its view: the view goes out
    // as the page goes away.
    c.goto(&lesson(1)).await.expect("lesson 1");
    wait_for_text(&c, "Lesson 1 of").await;
    let before = events(&db, "lesson_viewed").await;
    c.goto(&lesson(2)).await.expect("lesson 2");
    wait_for_text(&c, "Lesson 2 of").await;
    assert!(
        before.is_empty(),
        "nothing was sent before leaving: {before:?}"
    );
    let viewed = wait_for(&db, "lesson_viewed", 1).await;
    assert_eq!(viewed[0], (Some(1), None), "{viewed:?}");

    // Read lesson 2 for about four seconds (time counts only with recent input; no
    // 15-second heartbeat falls due), then leave: the reading time goes out with the page.
    for _ in 0..4 {
        c.execute("window.dispatchEvent(new Event('scroll'))", vec![])
            .await
            .expect("scroll");
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    assert!(events(&db, "lesson_time").await.is_empty());
    c.goto(&format!("{base}/learn/{course}"))
        .await
        .expect("leave");
    wait_for_text(&c, "Course outline").await;
    let time = wait_for(&db, "lesson_time", 1).await;
    assert_eq!(time[0].0, Some(2));
    let seconds = time[0].1.expect("seconds");
    assert!(
        (2..=6).contains(&seconds),
        "about four seconds of reading: {seconds}"
    );
    assert_eq!(
        wait_for(&db, "lesson_viewed", 2).await[1],
        (Some(2), None),
        "lesson 2's view, sent after its debounce"
    );
    // And the course page's view arrives after its own debounce.
    wait_for(&db, "course_viewed", 1).await;
}

/// The events of `kind` once there are `n` of them (within 5 s).
async fn wait_for(db: &TestDatabase, kind: &str, n: usize) -> Vec<(Option<i32>, Option<i32>)> {
    for _ in 0..50 {
        let found = events(db, kind).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "fewer than {n} {kind} events arrived: {:?}",
        events(db, kind).await
    );
}
