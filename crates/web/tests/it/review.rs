//! Review and readiness: regenerating existing parts only when confirmed, the review queue
//! with its filters and "approve and next", the readiness checklist and the unchanged-build
//! warning, and the one date format.

use app::authoring::{self, Family, Impact};
use domain::Role;
use serde_json::json;
use uuid::Uuid;

use crate::authoring::{actor, drafted_content, page_html};
use crate::support::{TestApp, error_of};

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .expect("count")
}

/// The newest version of each part of a course: (id, kind, status), in no particular order.
async fn newest_parts(app: &TestApp, course: Uuid) -> Vec<(Uuid, String, String)> {
    sqlx::query_as(
        "SELECT DISTINCT ON (kind, ref_id) id, kind, status FROM artifacts
         WHERE course_id = $1 AND kind <> 'SYLLABUS' ORDER BY kind, ref_id, version DESC",
    )
    .bind(course)
    .fetch_all(&app.db.pool)
    .await
    .expect("parts")
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn regenerating_existing_parts_names_what_it_supersedes_and_runs_only_as_confirmed() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let ada = actor(&ada);
    let d = drafted_content(&app, &ada).await;
    let (syllabus, course) = (d.syllabus, d.submitted.course.id);
    let pool = &app.db.app_pool;
    let parts = newest_parts(&app, course).await;
    let (lesson, _, _) = parts
        .iter()
        .find(|p| p.1 == "LESSON")
        .cloned()
        .expect("a lesson");
    let (quiz, _, _) = parts
        .iter()
        .find(|p| p.1 == "QUIZ")
        .cloned()
        .expect("a quiz");
    // One part approved, another edited by a person.
    authoring::review(pool, &ada, Family::Content, quiz, true, None)
        .await
        .expect("approve");
    let body: serde_json::Value = sqlx::query_scalar("SELECT body FROM artifacts WHERE id = $1")
        .bind(lesson)
        .fetch_one(&app.db.pool)
        .await
        .expect("body");
    let mut edited = body.clone();
    edited["title"] = json!("Tides, as a person explains them");
    let edit = authoring::edit(pool, &ada, Family::Content, lesson, edited)
        .await
        .expect("edit");
    let impact = authoring::content_impact(pool, &ada, syllabus)
        .await
        .expect("impact");
    assert_eq!(
        impact,
        Impact {
            parts: parts.len(),
            edited: 1,
            approved: 1
        }
    );

    let html = page_html(&app, &admin, &format!("/admin/syllabi/{syllabus}")).await;
    assert!(
        !html.contains("Generate lessons, quizzes and projects")
            && html.contains("Every lesson, quiz and project this syllabus plans has a version."),
        "nothing is missing, so nothing offers to generate: {html}"
    );
    assert!(
        html.contains(&format!("Regenerate the {} existing part(s)", parts.len()))
            && html.contains("<strong>1 edited by a person</strong>")
            && html.contains("<strong>1 approved</strong>"),
        "the action names what it supersedes: {html}"
    );
    // Generating again creates nothing: the content is complete.
    let again = app
        .csrf_post(&admin, &format!("/api/admin/syllabi/{syllabus}/content"))
        .send()
        .await
        .expect("post");
    assert_eq!(error_of(again).await.1, "content_complete");

    // A confirmation that does not match what it would supersede now is refused, with nothing
    // queued: here, one counted as approved that is not.
    let jobs_before = count(&app, "SELECT count(*) FROM jobs").await;
    let stale = app
        .csrf_post(
            &admin,
            &format!("/api/admin/syllabi/{syllabus}/content/regenerate"),
        )
        .json(&json!({
            "instruction": "Use harbour examples.",
            "confirm": { "parts": parts.len(), "edited": 1, "approved": 0 }
        }))
        .send()
        .await
        .expect("post");
    let (status, code, message) = error_of(stale).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "impact_changed"),
        "{message}"
    );
    assert!(
        message.contains("1 edited by a person and 1 approved"),
        "{message}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM jobs").await, jobs_before);

    // The page form carries the figures it showed: confirmed, one job per existing part.
    let res = app
        .csrf_post(
            &admin,
            &format!("/admin/syllabi/{syllabus}/content/regenerate"),
        )
        .form(&[
            ("instruction", "Use harbour examples."),
            ("parts", &parts.len().to_string()),
            ("edited", "1"),
            ("approved", "1"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 303);
    assert_eq!(
        count(&app, "SELECT count(*) FROM jobs").await,
        jobs_before + parts.len() as i64
    );
    // While its regeneration waits, the part cannot be edited: the draft would land on top.
    let mut later = body;
    later["title"] = json!("Tides, edited again while a draft is coming");
    let refused = app
        .csrf_post(&admin, &format!("/api/admin/content/{}/edit", edit.id))
        .json(&json!({ "body": later }))
        .send()
        .await
        .expect("post");
    let (status, code, _) = error_of(refused).await;
    assert_eq!((status, code.as_str()), (409, "regeneration_pending"));

    app.run_pending_jobs().await;
    let after = newest_parts(&app, course).await;
    assert_eq!(after.len(), parts.len());
    assert!(
        after.iter().all(|p| p.2 == "DRAFT"),
        "a new draft is on top of every part: {after:?}"
    );
    // The person's edit and the approval are kept as versions, below the new drafts.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM artifacts WHERE id IN ('{}', '{quiz}')",
                edit.id
            )
        )
        .await,
        2
    );
    let approved: String = sqlx::query_scalar("SELECT status FROM artifacts WHERE id = $1")
        .bind(quiz)
        .fetch_one(&app.db.pool)
        .await
        .expect("status");
    assert_eq!(approved, "APPROVED");
}

#[tokio::test]
async fn the_review_queue_filters_by_status_and_approve_and_next_walks_the_drafts() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (reviewer, rey) = app.signed_in(&t, "rey@acme.test", Role::Reviewer).await;
    let rey = actor(&rey);
    let d = drafted_content(&app, &rey).await;
    let course = d.submitted.course.id;
    let drafts = newest_parts(&app, course).await.len();

    let html = page_html(&app, &reviewer, "/admin/content").await;
    assert!(
        html.contains(&format!("{drafts} draft(s) waiting for review")),
        "drafts are the default: {html}"
    );
    let html = page_html(&app, &reviewer, "/admin/content?status=approved").await;
    assert!(
        html.contains("Approved: 0") && html.contains("Nothing here."),
        "{html}"
    );
    let bad = reviewer
        .get(app.url("/admin/content?status=DRAFT'--"))
        .send()
        .await
        .expect("get");
    assert_eq!(bad.status(), 400);
    let other = app.tenant("other").await;
    let (_, olga) = app.signed_in(&other, "olga@other.test", Role::Admin).await;
    let foreign = app
        .submit_brief(&actor(&olga), "Someone else's course", 2)
        .await;
    let res = reviewer
        .get(app.url(&format!("/admin/content?course={}", foreign.course.id)))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404, "another tenant's course is not found");
    app.run_pending_jobs().await;

    // The first part in syllabus order: a lesson with no previous part.
    let plan = d.body;
    let first_lesson = plan["modules"][0]["lessons"][0]["id"]
        .as_str()
        .expect("lesson id")
        .to_owned();
    let (first, _): (Uuid, String) = sqlx::query_as(
        "SELECT id, title FROM artifacts WHERE course_id = $1 AND kind = 'LESSON' AND ref_id = $2",
    )
    .bind(course)
    .bind(&first_lesson)
    .fetch_one(&app.db.pool)
    .await
    .expect("first lesson");
    let (quiz,): (Uuid,) = sqlx::query_as(
        "SELECT id FROM artifacts WHERE course_id = $1 AND kind = 'QUIZ' AND ref_id = $2",
    )
    .bind(course)
    .bind(&first_lesson)
    .fetch_one(&app.db.pool)
    .await
    .expect("its quiz");
    let html = page_html(&app, &reviewer, &format!("/admin/content/{first}")).await;
    assert!(
        html.contains(&format!("Part 1 of {drafts}")) && !html.contains("rel=\"prev\""),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<a href=\"/admin/content/{quiz}\" rel=\"next\">quiz:"
        )),
        "next is the lesson's quiz: {html}"
    );
    assert!(html.contains("value=\"approve-next\""), "{html}");

    let res = app
        .csrf_post(&reviewer, &format!("/admin/content/{first}/review"))
        .form(&[("decision", "approve-next"), ("note", "")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/admin/content/{quiz}"));
    let html = page_html(&app, &reviewer, &format!("/admin/content/{quiz}")).await;
    assert!(
        html.contains("version 1 approved. The next draft waiting for review:")
            && html.contains(&format!("<a href=\"/admin/content/{first}\" rel=\"prev\">")),
        "{html}"
    );
    let html = page_html(&app, &reviewer, "/admin/content").await;
    assert!(html.contains(&format!("{} draft(s) waiting for review", drafts - 1)));
}

#[tokio::test]
async fn the_course_page_lists_what_blocks_a_build_and_warns_before_repeating_a_version() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let ada = actor(&ada);
    let d = drafted_content(&app, &ada).await;
    let course = d.submitted.course.id;
    let page = format!("/admin/courses/{course}");
    let parts = newest_parts(&app, course).await;
    let lesson_title = d.body["modules"][0]["lessons"][0]["title"]
        .as_str()
        .expect("title")
        .to_owned();

    let html = page_html(&app, &admin, &page).await;
    assert!(
        html.contains("Before you build")
            && html.contains(&format!(
                "{} planned part(s) are missing or not approved",
                parts.len()
            )),
        "{html}"
    );
    assert!(
        html.contains(&format!(">{lesson_title}</a></strong>: version 1 is draft")),
        "each gap by its title, linked, with its state: {html}"
    );

    for (id, _, _) in &parts {
        authoring::review(&app.db.app_pool, &ada, Family::Content, *id, true, None)
            .await
            .expect("approve");
    }
    let html = page_html(&app, &admin, &page).await;
    assert!(
        html.contains("Every lesson, quiz and project the syllabus plans has an approved version.")
            && !html.contains("Nothing changed since"),
        "{html}"
    );
    let home = page_html(&app, &admin, "/admin").await;
    assert!(
        home.contains(&format!("<a href=\"{page}\">1 course ready to build</a>")),
        "the dashboard says what waits: {home}"
    );
    let res = app
        .csrf_post(&admin, &format!("{page}/build"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .expect("build");
    assert_eq!(res.status(), 303);
    assert_eq!(count(&app, "SELECT count(*) FROM course_packages").await, 1);
    let home = page_html(&app, &admin, "/admin").await;
    assert!(!home.contains("ready to build"), "built: {home}");

    // Nothing changed: the page warns, and a build that did not see the warning is not made.
    let html = page_html(&app, &admin, &page).await;
    assert!(
        html.contains("Nothing changed since version 1:")
            && html.contains("name=\"unchanged_since\" value=\"1\"")
            && html.contains("Build version 2 anyway"),
        "{html}"
    );
    let res = app
        .csrf_post(&admin, &format!("{page}/build"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .expect("build");
    assert_eq!(res.status(), 303);
    let html = page_html(&app, &admin, &page).await;
    assert!(
        html.contains("Not built: nothing changed since version 1"),
        "{html}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM course_packages").await, 1);
    let res = app
        .csrf_post(&admin, &format!("{page}/build"))
        .form(&[("unchanged_since", "1")])
        .send()
        .await
        .expect("build");
    assert_eq!(res.status(), 303);
    assert_eq!(count(&app, "SELECT count(*) FROM course_packages").await, 2);
}

#[tokio::test]
async fn pages_show_moments_relative_with_the_exact_time_on_hover() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    app.submit_brief(&actor(&ada), "Reading tide tables", 3)
        .await;
    app.run_pending_jobs().await;
    for path in [
        "/admin/syllabi",
        "/admin/jobs",
        "/admin/audit",
        "/admin/users",
    ] {
        let html = page_html(&app, &admin, path).await;
        let at = html
            .find("<time datetime=\"")
            .unwrap_or_else(|| panic!("{path} shows a <time>: {html}"));
        let tag = &html[at..at + 120];
        assert!(
            tag.contains(" UTC\">just now</time>") || tag.contains(" minute"),
            "{path}: relative text, exact time in the title: {tag}"
        );
    }
}

#[tokio::test]
async fn the_syllabi_page_follows_briefs_being_drafted_through_json() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let queued = app
        .submit_brief(&actor(&ada), "Reading tide tables", 3)
        .await;
    let other = app.tenant("other").await;
    let (_, olga) = app.signed_in(&other, "olga@other.test", Role::Admin).await;
    let foreign = app
        .submit_brief(&actor(&olga), "Someone else's brief", 2)
        .await;

    let html = page_html(&app, &admin, "/admin/syllabi").await;
    let live = format!(
        "data-live-jobs=\"/api/admin/briefs/jobs?ids={}\"",
        queued.job.id
    );
    assert!(
        html.contains(&live)
            && html.contains(&format!("data-job=\"{}\">queued<", queued.job.id))
            && html.contains("/static/live.js"),
        "{html}"
    );
    let url = format!(
        "/api/admin/briefs/jobs?ids={},{}",
        queued.job.id, foreign.job.id
    );
    let body: serde_json::Value = admin
        .get(app.url(&url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body,
        json!({ "jobs": [{ "id": queued.job.id, "status": "PENDING", "label": "queued", "class": "pending" }], "working": true }),
        "another tenant's job is left out"
    );
    let bad = admin
        .get(app.url("/api/admin/briefs/jobs?ids=not-a-job"))
        .send()
        .await
        .expect("get");
    assert_eq!(error_of(bad).await.0, 400);

    app.run_pending_jobs().await;
    let body: serde_json::Value = admin
        .get(app.url(&url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(body["working"], false);
    assert_eq!(body["jobs"][0]["label"], "ready");
    let html = page_html(&app, &admin, "/admin/syllabi").await;
    assert!(
        !html.contains("data-live-jobs"),
        "nothing left to follow: {html}"
    );
}
