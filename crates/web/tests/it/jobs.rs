use db::jobs::{Created, NewJob, Start};
use domain::{JobKind, Role};
use serde_json::{Value, json};

use crate::support::{TestApp, error_of};

async fn requested_job(app: &TestApp, tenant: uuid::Uuid, target: &str) -> uuid::Uuid {
    let mut tx = app.db.pool.begin().await.expect("begin");
    let created = db::jobs::create(
        &mut tx,
        NewJob {
            tenant_id: tenant,
            kind: &JobKind::parse("REGENERATE_LESSON").expect("kind"),
            target_type: "lesson",
            target_id: target,
            instruction: json!({ "note": "<script>alert(1)</script>", "target": target }),
            created_by: None,
            start: Start::Requested,
        },
    )
    .await
    .expect("create");
    tx.commit().await.expect("commit");
    match created {
        Created::New(j) => j.id,
        Created::Existing(_) => panic!("existing"),
    }
}

#[tokio::test]
async fn an_admin_lists_inspects_and_triggers_a_job_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    let first = requested_job(&app, t.id, "l1").await;
    let second = requested_job(&app, t.id, "l2").await;

    let list: Value = admin
        .get(app.url("/api/admin/regeneration-jobs?status=requested"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![second.to_string(), first.to_string()],
        "newest first"
    );
    assert!(
        list["items"][0].get("instruction").is_none(),
        "the list is minimal"
    );

    let one: Value = admin
        .get(app.url(&format!("/api/admin/regeneration-jobs/{first}")))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(one["job"]["instruction"]["target"], "l1");
    assert!(
        one["job"].get("claimToken").is_none(),
        "the claim token never leaves the server"
    );

    let url = format!("/api/admin/regeneration-jobs/{first}/trigger");
    let ok = app.csrf_post(&admin, &url).send().await.expect("post");
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["job"]["status"], "PENDING");
    // Queued is the effect under test; nothing here runs it.
    app.expect_pending(1);
    let again = error_of(app.csrf_post(&admin, &url).send().await.expect("post")).await;
    assert_eq!((again.0, again.1.as_str()), (409, "not_requested"));
    let retry = error_of(
        app.csrf_post(
            &admin,
            &format!("/api/admin/regeneration-jobs/{second}/retry"),
        )
        .send()
        .await
        .expect("post"),
    )
    .await;
    assert_eq!(retry.0, 409, "only FAILED jobs can be retried");

    let wrong_method = admin
        .delete(app.url(&url))
        .header("Origin", &app.base)
        .send()
        .await
        .expect("delete");
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "POST");
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY id")
            .bind(first.to_string())
            .fetch_all(&app.db.pool)
            .await
            .expect("audit");
    assert_eq!(actions, ["REGEN_JOB_CREATED", "REGEN_JOB_TRIGGERED"]);
}

#[tokio::test]
async fn learners_get_403_and_other_tenants_get_404() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;
    let job_a = requested_job(&app, a.id, "l1").await;
    let (learner, _) = app.signed_in(&a, "lee@a.test", Role::Learner).await;
    let (admin_b, _) = app.signed_in(&b, "bob@b.test", Role::Admin).await;

    assert_eq!(
        learner
            .get(app.url("/api/admin/regeneration-jobs"))
            .send()
            .await
            .expect("get")
            .status(),
        403
    );
    assert_eq!(
        app.csrf_post(
            &learner,
            &format!("/api/admin/regeneration-jobs/{job_a}/trigger")
        )
        .send()
        .await
        .expect("post")
        .status(),
        403
    );
    assert_eq!(
        learner
            .get(app.url("/admin/jobs"))
            .send()
            .await
            .expect("get")
            .status(),
        403
    );

    for res in [
        admin_b
            .get(app.url(&format!("/api/admin/regeneration-jobs/{job_a}")))
            .send()
            .await
            .expect("get"),
        app.csrf_post(
            &admin_b,
            &format!("/api/admin/regeneration-jobs/{job_a}/trigger"),
        )
        .send()
        .await
        .expect("post"),
        admin_b
            .get(app.url(&format!("/admin/jobs/{job_a}")))
            .send()
            .await
            .expect("get"),
    ] {
        assert_eq!(res.status(), 404);
    }
    let listed: Value = admin_b
        .get(app.url("/api/admin/regeneration-jobs"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));
    let status: String = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
        .bind(job_a)
        .fetch_one(&app.db.pool)
        .await
        .expect("status");
    assert_eq!(status, "REQUESTED", "nothing changed");
}

#[tokio::test]
async fn the_job_page_shows_a_read_only_viewer_and_only_the_allowed_buttons() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    let id = requested_job(&app, t.id, "l1").await;
    let html = admin
        .get(app.url(&format!("/admin/jobs/{id}")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(html.contains("data-json-viewer") && html.contains(r#"src="/static/json-viewer.js""#));
    assert!(
        !html.contains("<script>alert(1)"),
        "instruction text is escaped inside the data block"
    );
    assert!(html.contains(r#"\u003cscript\u003e"#));
    assert!(html.contains(&format!(r#"action="/admin/jobs/{id}/trigger""#)));
    assert!(
        !html.contains("/retry\""),
        "no retry button for a REQUESTED job"
    );
    assert!(
        !html.contains("<input") && !html.contains("<textarea"),
        "the viewer is read-only"
    );

    let res = app
        .csrf_post(&admin, &format!("/admin/jobs/{id}/trigger"))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 303);
    let page = admin
        .get(app.url(&format!("/admin/jobs/{id}")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Job triggered"),
        "flash shown after the redirect"
    );
    assert!(
        !page.contains("/trigger\""),
        "no trigger button once PENDING"
    );
    app.expect_pending(1);

    let list = admin
        .get(app.url("/admin/jobs?status=PENDING"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(list.contains(&id.to_string()) && list.contains("status-pending"));
    let js = app
        .client
        .get(app.url("/static/json-viewer.js"))
        .send()
        .await
        .expect("get");
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn the_ops_page_shows_runs_and_alerts_to_platform_owners_and_job_health_to_admins() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    app.user_with(&t, "ada@acme.test", Role::Admin, true).await;
    let admin = app.new_client();
    app.login_as(&admin, "ada@acme.test").await;
    let (tenant_admin, _) = app.signed_in(&t, "tad@acme.test", Role::Admin).await;
    let (reviewer, _) = app.signed_in(&t, "rey@acme.test", Role::Reviewer).await;
    sqlx::query("INSERT INTO job_runs (job, slot, runner, status, duration_ms) VALUES ('reap-expired-leases', 's1', 'host-a-41', 'SUCCEEDED', 12)")
        .execute(&app.db.pool)
        .await
        .expect("run");
    sqlx::query("INSERT INTO alerts (kind, job, summary, delivered_to) VALUES ('JOB_FAILED', 'prune-job-runs', 'disk <full>', '{log}')")
        .execute(&app.db.pool)
        .await
        .expect("alert");
    let html = admin
        .get(app.url("/admin/ops"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(html.contains("reap-expired-leases") && html.contains("12 ms"));
    assert!(
        html.contains("Hosts (last 24 hours)") && html.contains("<code>host-a-41</code>"),
        "the runner is listed as a host"
    );
    assert!(
        html.contains("disk &lt;full&gt;") || html.contains("disk &#60;full&#62;"),
        "alert text escaped"
    );
    let html = tenant_admin
        .get(app.url("/admin/ops"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Job health"),
        "a tenant admin sees their job health"
    );
    assert!(
        !html.contains("reap-expired-leases")
            && !html.contains("disk")
            && !html.contains("host-a-41"),
        "platform-wide runs and alerts are for platform owners only"
    );
    assert_eq!(
        reviewer
            .get(app.url("/admin/ops"))
            .send()
            .await
            .expect("get")
            .status(),
        403
    );
}

/// A job of `tenant` that ran and FAILED.
async fn failed_job(app: &TestApp, tenant: uuid::Uuid, target: &str) -> uuid::Uuid {
    let mut tx = app.db.pool.begin().await.expect("begin");
    let created = db::jobs::create(
        &mut tx,
        NewJob {
            tenant_id: tenant,
            kind: &JobKind::parse("REGENERATE_LESSON").expect("kind"),
            target_type: "lesson",
            target_id: target,
            instruction: json!({ "target": target }),
            created_by: None,
            start: Start::Pending,
        },
    )
    .await
    .expect("create");
    tx.commit().await.expect("commit");
    let Created::New(job) = created else {
        panic!("existing")
    };
    let claimed = db::jobs::claim(&app.db.pool, "test", std::time::Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("a pending job");
    assert_eq!(claimed.id, job.id);
    let token = claimed.claim_token.expect("token");
    assert!(
        db::jobs::fail(&app.db.pool, job.id, token, &json!({ "code": "boom" }))
            .await
            .expect("fail")
    );
    job.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_retries_of_one_failed_job_make_exactly_one_retry() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    let failed = failed_job(&app, t.id, "l1").await;
    let url = format!("/api/admin/regeneration-jobs/{failed}/retry");

    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..20 {
        sends.spawn(app.csrf_post(&admin, &url).send());
    }
    let mut created = 0;
    let mut conflicts = Vec::new();
    while let Some(res) = sends.join_next().await {
        let res = res.expect("task").expect("post");
        match res.status().as_u16() {
            201 => created += 1,
            409 => conflicts.push(error_of(res).await.1),
            other => panic!(
                "unexpected {other}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    assert_eq!(created, 1, "exactly one retry is created");
    assert_eq!(conflicts.len(), 19);
    assert!(
        conflicts.iter().all(|c| c == "already_retried"),
        "{conflicts:?}"
    );
    let retries: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE retry_of = $1")
        .bind(failed)
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(retries, 1);
    app.expect_pending(1);
}

#[tokio::test]
async fn a_failed_job_whose_retry_failed_too_is_not_retried_again_but_its_retry_is() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    let failed = failed_job(&app, t.id, "l1").await;
    let res = app
        .csrf_post(
            &admin,
            &format!("/api/admin/regeneration-jobs/{failed}/retry"),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201);
    // The retry runs and fails as well: it is no longer live, so only the index refuses.
    let claimed = db::jobs::claim(&app.db.pool, "test", std::time::Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("the retry");
    assert_eq!(claimed.retry_of, Some(failed));
    db::jobs::fail(
        &app.db.pool,
        claimed.id,
        claimed.claim_token.expect("token"),
        &json!({ "code": "boom" }),
    )
    .await
    .expect("fail");

    let again = error_of(
        app.csrf_post(
            &admin,
            &format!("/api/admin/regeneration-jobs/{failed}/retry"),
        )
        .send()
        .await
        .expect("post"),
    )
    .await;
    assert_eq!((again.0, again.1.as_str()), (409, "already_retried"));
    let next = app
        .csrf_post(
            &admin,
            &format!("/api/admin/regeneration-jobs/{}/retry", claimed.id),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(next.status(), 201, "the retry itself can be retried");
    app.expect_pending(1);
}
