//! The authoring pages as a course team sees them.

use domain::Role;

use crate::support::TestApp;

pub(crate) fn actor(user: &db::users::User) -> app::Actor {
    app::Actor {
        tenant_id: user.tenant_id,
        user_id: user.id,
        role: user.role,
    }
}

/// The HTML of `path` as `client` sees it; the page must answer 200.
pub(crate) async fn page_html(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let res = client.get(app.url(path)).send().await.expect("get");
    assert_eq!(res.status(), 200, "GET {path}");
    res.text().await.expect("html")
}

async fn syllabi_page(app: &TestApp, client: &reqwest::Client) -> String {
    page_html(app, client, "/admin/syllabi").await
}

#[tokio::test]
async fn a_brief_is_listed_from_its_submission_with_where_its_generation_stands_and_links_its_job()
{
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let (reviewer, _) = app.signed_in(&t, "rey@acme.test", Role::Reviewer).await;

    let queued = app
        .submit_brief(&actor(&ada), "Reading tide tables", 3)
        .await;
    let failing = app.submit_brief(&actor(&ada), "Knots for sailors", 2).await;
    let html = syllabi_page(&app, &admin).await;
    assert!(html.contains("Briefs being drafted"), "{html}");
    assert!(
        html.contains("Reading tide tables") && html.contains(">queued<"),
        "a submitted brief is listed as queued: {html}"
    );
    assert!(
        html.contains(&format!("/admin/jobs/{}", queued.job.id)),
        "admins get a link to the job"
    );
    let html = syllabi_page(&app, &reviewer).await;
    assert!(html.contains("Reading tide tables") && html.contains(">queued<"));
    let job = format!("/admin/jobs/{}", queued.job.id);
    assert!(html.contains(&job), "reviewers get the link too");
    let page = reviewer.get(app.url(&job)).send().await.expect("get");
    assert_eq!(page.status(), 200, "a reviewer reads their tenant's job");
    let page = page.text().await.expect("html");
    assert!(
        !page.contains("/trigger") && !page.contains("/retry"),
        "read-only for reviewers"
    );
    let trigger = app
        .csrf_post(
            &reviewer,
            &format!("/api/admin/regeneration-jobs/{}/trigger", queued.job.id),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(trigger.status(), 403, "only admins act on jobs");

    // One generation fails (claimed and failed as a worker would), the other runs.
    let claimed = db::jobs::claim_among(
        &app.db.pool,
        "test-worker",
        std::time::Duration::from_secs(60),
        Some(&[failing.job.id]),
    )
    .await
    .expect("claim")
    .expect("the job");
    let error = serde_json::json!({
        "code": "provider_error",
        "message": "the provider refused the request"
    });
    assert!(
        db::jobs::fail(
            &app.db.pool,
            claimed.id,
            claimed.claim_token.expect("token"),
            &error
        )
        .await
        .expect("fail")
    );
    assert_eq!(app.run_pending_jobs().await.len(), 1);
    let html = syllabi_page(&app, &admin).await;
    assert!(
        html.contains("Knots for sailors")
            && html.contains(">failed<")
            && html.contains("the provider refused the request"),
        "a failed generation stays listed with its reason: {html}"
    );
    assert!(
        html.contains(&format!("action=\"/admin/jobs/{}/retry\"", claimed.id)),
        "an admin can retry it from where the brief is"
    );
    assert!(
        !syllabi_page(&app, &reviewer).await.contains("/retry\""),
        "reviewers cannot retry"
    );
    let drafting = html
        .split("Briefs being drafted")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("the drafting table");
    assert!(
        !drafting.contains("Reading tide tables"),
        "a brief with its syllabus leaves the list"
    );
    assert!(
        html.contains("/admin/syllabi/") && html.matches("Reading tide tables").count() == 1,
        "its syllabus is listed below instead: {html}"
    );
}

const PAUSED: &str = "Generation is paused: no worker is running.";

#[tokio::test]
async fn staff_pages_say_generation_is_paused_while_no_worker_is_alive() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.login_as_admin(&t).await;
    let (learner, _) = app.signed_in(&t, "lee@acme.test", Role::Learner).await;
    assert!(
        page_html(&app, &admin, "/admin").await.contains(PAUSED),
        "no worker has ever run"
    );
    assert!(!page_html(&app, &learner, "/learn").await.contains(PAUSED));

    db::workers::beat(&app.db.app_pool, "host-1-77", 4)
        .await
        .expect("beat");
    assert!(
        !syllabi_page(&app, &admin).await.contains(PAUSED),
        "a live worker lifts the banner"
    );

    // A worker that stopped beating a while ago counts as gone.
    sqlx::query("UPDATE worker_heartbeats SET seen_at = now() - interval '5 minutes'")
        .execute(&app.db.pool)
        .await
        .expect("age the heartbeat");
    assert!(
        page_html(&app, &admin, "/admin/syllabi")
            .await
            .contains(PAUSED)
    );
}

#[tokio::test]
async fn a_regenerated_version_shows_its_instruction_and_that_the_offline_provider_ignores_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let ada = actor(&ada);
    app.submit_brief(&ada, "Reading tide tables", 3).await;
    app.run_pending_jobs().await;
    let (syllabus,): (uuid::Uuid,) =
        sqlx::query_as("SELECT id FROM artifacts WHERE kind = 'SYLLABUS'")
            .fetch_one(&app.db.pool)
            .await
            .expect("syllabus");
    assert!(
        !page_html(&app, &admin, &format!("/admin/syllabi/{syllabus}"))
            .await
            .contains("Regenerated with the instruction")
    );

    app::authoring::regenerate(
        &app.db.app_pool,
        &ada,
        app::authoring::Family::Syllabus,
        syllabus,
        "use harbour examples <everywhere>",
    )
    .await
    .expect("regenerate");
    app.run_pending_jobs().await;
    let (newer,): (uuid::Uuid,) = sqlx::query_as(
        "SELECT id FROM artifacts WHERE kind = 'SYLLABUS' ORDER BY version DESC LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("the new version");
    assert_ne!(newer, syllabus);
    let html = page_html(&app, &admin, &format!("/admin/syllabi/{newer}")).await;
    assert!(
        html.contains(
            "Regenerated with the instruction <q>use harbour examples &#60;everywhere&#62;</q>"
        ) || html.contains(
            "Regenerated with the instruction <q>use harbour examples &lt;everywhere&gt;</q>"
        ),
        "the instruction, escaped: {html}"
    );
    assert!(html.contains("The offline provider ignores instructions"));
}

#[tokio::test]
async fn a_syllabus_with_running_jobs_follows_them_through_json_instead_of_refreshing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let ada = actor(&ada);
    let d = approved_syllabus(&app, &ada).await;
    let syllabus = d.syllabus;
    let pool = &app.db.app_pool;
    let modules = app::authoring::request_content(pool, &ada, syllabus)
        .await
        .expect("content");

    let html = page_html(&app, &admin, &format!("/admin/syllabi/{syllabus}")).await;
    assert!(!html.contains("http-equiv=\"refresh\""), "no meta refresh");
    let live = format!("data-live-jobs=\"/api/admin/syllabi/{syllabus}/jobs\"");
    assert!(
        html.contains(&live) && html.contains("/static/live.js"),
        "{html}"
    );
    assert!(
        html.contains(&format!("/admin/syllabi/{syllabus}\">Refresh</a>")),
        "without JavaScript, a refresh link"
    );
    let script = admin
        .get(app.url("/static/live.js"))
        .send()
        .await
        .expect("script");
    assert_eq!(script.status(), 200);

    let status = |client: reqwest::Client| {
        let url = app.url(&format!("/api/admin/syllabi/{syllabus}/jobs"));
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("get")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let body = status(admin.clone()).await;
    assert_eq!(body["working"], true);
    let pending = body["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| j["status"] == "PENDING")
        .count();
    assert_eq!(pending, modules.len(), "{body}");

    app.run_pending_jobs().await;
    let body = status(admin.clone()).await;
    assert_eq!(body["working"], false, "{body}");
    let html = page_html(&app, &admin, &format!("/admin/syllabi/{syllabus}")).await;
    assert!(!html.contains("data-live-jobs"), "nothing left to follow");
}

#[tokio::test]
async fn a_refused_build_is_a_red_list_of_what_is_missing_and_a_rejection_is_not_green() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let ada = actor(&ada);
    let d = drafted_content(&app, &ada).await;
    let submitted = d.submitted;

    let course = submitted.course.id;
    let res = app
        .csrf_post(&admin, &format!("/admin/courses/{course}/build"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .expect("build");
    assert_eq!(res.status(), 303);
    let html = page_html(&app, &admin, &format!("/admin/courses/{course}")).await;
    let flash = html
        .split("class=\"flash flash-refused\" role=\"alert\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_else(|| panic!("a red refusal: {html}"));
    assert!(
        flash.contains("Not built") && flash.matches("<li>").count() >= 2,
        "each missing part is an item: {flash}"
    );

    // Rejecting a draft is news, not success.
    let (lesson,): (uuid::Uuid,) =
        sqlx::query_as("SELECT id FROM artifacts WHERE kind = 'LESSON' LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .expect("lesson");
    app.csrf_post(&admin, &format!("/admin/content/{lesson}/review"))
        .form(&[("decision", "reject"), ("note", "too long")])
        .send()
        .await
        .expect("reject");
    let html = page_html(&app, &admin, &format!("/admin/content/{lesson}")).await;
    assert!(
        html.contains("class=\"flash flash-info\" role=\"status\"") && html.contains("rejected."),
        "{html}"
    );
}

#[tokio::test]
async fn the_dashboard_says_what_waits_for_the_signed_in_role() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let (reviewer, _) = app.signed_in(&t, "rey@acme.test", Role::Reviewer).await;
    let ada = actor(&ada);
    assert!(
        page_html(&app, &admin, "/admin")
            .await
            .contains("Nothing waits for you")
    );

    app.submit_brief(&ada, "Reading tide tables", 3).await;
    let html = page_html(&app, &reviewer, "/admin").await;
    assert!(html.contains("1 brief being drafted"), "{html}");
    app.run_pending_jobs().await;
    app.submit_brief(&ada, "Knots for sailors", 2).await;
    app.run_pending_jobs().await;
    let html = page_html(&app, &reviewer, "/admin").await;
    assert!(
        html.contains("2 drafts to review in 2 courses") && !html.contains("being drafted"),
        "{html}"
    );
}

#[tokio::test]
async fn each_module_counts_its_approved_parts_and_tucks_earlier_versions_away() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let ada = actor(&ada);
    let d = drafted_content(&app, &ada).await;
    let syllabus = d.syllabus;
    let body = d.body;
    let pool = &app.db.app_pool;
    let module = body["modules"][0]["id"]
        .as_str()
        .expect("module")
        .to_owned();
    let planned = body["modules"][0]["lessons"]
        .as_array()
        .expect("lessons")
        .len()
        * 2
        + 1;
    assert!(
        page_html(&app, &admin, &format!("/admin/syllabi/{syllabus}"))
            .await
            .contains(&format!("0 of {planned} approved")),
        "nothing approved yet"
    );
    // Approve the first lesson, then edit it: a newer draft above the approved version.
    let (lesson, lesson_body): (uuid::Uuid, serde_json::Value) = sqlx::query_as(
        "SELECT id, body FROM artifacts WHERE kind = 'LESSON' AND module_id = $1 ORDER BY ref_id LIMIT 1",
    )
    .bind(&module)
    .fetch_one(&app.db.pool)
    .await
    .expect("lesson");
    app::authoring::review(
        pool,
        &ada,
        app::authoring::Family::Content,
        lesson,
        true,
        None,
    )
    .await
    .expect("approve the lesson");
    let mut edited = lesson_body;
    edited["title"] = serde_json::Value::String("Tides, read by a person".into());
    app::authoring::edit(pool, &ada, app::authoring::Family::Content, lesson, edited)
        .await
        .expect("edit");
    let html = page_html(&app, &admin, &format!("/admin/syllabi/{syllabus}")).await;
    assert!(html.contains(&format!("1 of {planned} approved")), "{html}");
    assert!(
        html.contains("<details><summary>1 earlier version(s)</summary>"),
        "the approved version 1 is tucked away under the newer draft: {html}"
    );
}

/// What [`approved_syllabus`] made.
pub(crate) struct Approved {
    pub(crate) submitted: app::authoring::Submitted,
    pub(crate) syllabus: uuid::Uuid,
    pub(crate) body: serde_json::Value,
}

/// A brief submitted and drafted by the worker, its syllabus approved through the use case.
pub(crate) async fn approved_syllabus(app: &TestApp, ada: &app::Actor) -> Approved {
    let submitted = app.submit_brief(ada, "Reading tide tables", 3).await;
    app.run_pending_jobs().await;
    let (syllabus, body): (uuid::Uuid, serde_json::Value) =
        sqlx::query_as("SELECT id, body FROM artifacts WHERE course_id = $1 AND kind = 'SYLLABUS'")
            .bind(submitted.course.id)
            .fetch_one(&app.db.pool)
            .await
            .expect("syllabus");
    app::authoring::review(
        &app.db.app_pool,
        ada,
        app::authoring::Family::Syllabus,
        syllabus,
        true,
        None,
    )
    .await
    .expect("approve");
    Approved {
        submitted,
        syllabus,
        body,
    }
}

/// [`approved_syllabus`], with its content requested and drafted by the worker.
pub(crate) async fn drafted_content(app: &TestApp, ada: &app::Actor) -> Approved {
    let d = approved_syllabus(app, ada).await;
    app::authoring::request_content(&app.db.app_pool, ada, d.syllabus)
        .await
        .expect("content");
    app.run_pending_jobs().await;
    d
}

#[tokio::test]
async fn a_fuller_brief_from_the_form_is_stored_and_shown_with_its_warnings_beside_its_syllabus() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.login_as_admin(&t).await;
    let res = app
        .csrf_post(&admin, "/admin/briefs")
        .form(&[
            ("title", "Reading tide tables"),
            ("audience", "Sea kayakers planning coastal trips"),
            ("level", "beginner"),
            ("hours", "2"),
            ("style", "worked examples from real tables"),
            ("exam_focused", "on"),
            ("project_based", "on"),
            (
                "outcomes",
                "Read a tide table for a harbour\r\n\r\n  Plan a crossing at slack water  \r\n",
            ),
            ("description", "Tides for people who paddle."),
            ("prerequisites", "Advanced chart work"),
            ("language", "fr-CA"),
            ("modules", "4"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 303);
    let flash = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flash.contains("3%20warning"),
        "the warnings are flashed: {flash}"
    );
    let body: serde_json::Value = sqlx::query_scalar("SELECT body FROM briefs")
        .fetch_one(&app.db.pool)
        .await
        .expect("the brief");
    assert_eq!(
        body["learningOutcomes"],
        serde_json::json!([
            "Read a tide table for a harbour",
            "Plan a crossing at slack water"
        ])
    );
    assert_eq!(
        (
            &body["language"],
            &body["preferredModules"],
            &body["prerequisites"]
        ),
        (
            &serde_json::json!("fr-CA"),
            &serde_json::json!(4),
            &serde_json::json!(["Advanced chart work"])
        )
    );

    app.run_pending_jobs().await;
    let (id, syllabus): (uuid::Uuid, serde_json::Value) =
        sqlx::query_as("SELECT id, body FROM artifacts WHERE kind = 'SYLLABUS'")
            .fetch_one(&app.db.pool)
            .await
            .expect("the syllabus");
    assert_eq!(syllabus["modules"].as_array().map(Vec::len), Some(4));
    assert_eq!(syllabus["language"], "fr-CA");
    let html = page_html(&app, &admin, &format!("/admin/syllabi/{id}")).await;
    for shown in [
        "The brief",
        "Read a tide table for a harbour",
        "Plan a crossing at slack water",
        "Tides for people who paddle.",
        "Advanced chart work",
        "<code>fr-CA</code>",
        "4 preferred, 4 planned",
        "exam-focused, project-based",
        "3 warning(s) about the brief",
        "Exam-focused and project-based pull apart",
        "4 modules in 2 hour(s)",
        "asks for advanced knowledge",
    ] {
        assert!(html.contains(shown), "the syllabus page shows {shown:?}");
    }
}

#[tokio::test]
async fn a_brief_whose_new_fields_are_out_of_bounds_is_refused_field_by_field_and_nothing_is_stored()
 {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.login_as_admin(&t).await;
    let res = app
        .csrf_post(&admin, "/admin/briefs")
        .form(&[
            ("title", "Reading tide tables"),
            ("audience", "Sea kayakers planning coastal trips"),
            ("level", "beginner"),
            ("hours", "2"),
            ("style", "worked examples"),
            ("outcomes", "Read a tide table for a harbour\nshort"),
            ("language", "english"),
            ("modules", "30"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 422);
    let html = res.text().await.expect("html");
    for id in ["outcomes-err", "language-err", "modules-err"] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "{id} is shown: {html}"
        );
    }
    assert!(
        html.contains("Read a tide table for a harbour\nshort"),
        "the form keeps what was typed"
    );

    let bad = serde_json::json!({
        "title": "Reading tide tables", "audience": "Sea kayakers", "level": "beginner",
        "timeBudgetHours": 2, "teachingStyle": "worked examples", "language": "english",
        "preferredModules": 21, "learningOutcomes": ["short"],
    });
    let res = app
        .csrf_post(&admin, "/api/admin/briefs")
        .json(&bad)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 422);
    let err = res.text().await.expect("body");
    for path in ["/language", "/preferredModules", "/learningOutcomes/0"] {
        assert!(err.contains(path), "{path} in {err}");
    }
    assert_eq!(app.count("briefs").await, 0);

    let ok = serde_json::json!({
        "title": "Reading tide tables", "audience": "Sea kayakers", "level": "beginner",
        "timeBudgetHours": 2, "teachingStyle": "worked examples",
        "constraints": ["practical", "theoretical"], "preferredModules": 3,
        "learningOutcomes": ["Read a tide table for a harbour"],
    });
    let res = app
        .csrf_post(&admin, "/api/admin/briefs")
        .json(&ok)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201);
    let done: serde_json::Value = res.json().await.expect("json");
    let paths: Vec<&str> = done["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["path"].as_str())
        .collect();
    assert_eq!(paths, ["/constraints", "/preferredModules"]);
    app.expect_pending(1);
}
