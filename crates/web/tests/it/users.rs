//! People management by a tenant's admins: invitations and set-password links, roles,
//! deactivation, the last-admin guard, and their audit rows.

use db::tenants::Tenant;
use domain::Role;
use reqwest::Client;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{PASSWORD, TestApp, error_of, set_cookie};

const NEW_PASSWORD: &str = "a brand new passphrase";

fn patch(app: &TestApp, client: &Client, id: Uuid, body: Value) -> reqwest::RequestBuilder {
    client
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .header("Origin", &app.base)
        .json(&body)
}

/// Invites `email` as `role` through the JSON API; answers the body (user and link).
async fn invite(app: &TestApp, admin: &Client, email: &str, role: &str) -> Value {
    let res = app
        .csrf_post(admin, "/api/admin/users")
        .json(&json!({ "email": email, "displayName": "Rey Reviewer", "role": role }))
        .send()
        .await
        .expect("invite");
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.json().await.expect("json")
}

fn id_of(body: &Value) -> Uuid {
    body["user"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a user id")
}

fn path_of(body: &Value) -> String {
    body["link"]["path"]
        .as_str()
        .expect("a link path")
        .to_owned()
}

/// Posts the set-password form at `path` (a link's path) from a browser without a session.
async fn set_password(
    app: &TestApp,
    path: &str,
    password: &str,
    confirm: &str,
) -> reqwest::Response {
    app.csrf_post(&app.new_client(), path)
        .form(&[("password", password), ("confirm", confirm)])
        .send()
        .await
        .expect("set password")
}

async fn me(app: &TestApp, client: &Client) -> reqwest::Response {
    client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .expect("me")
}

async fn person(app: &TestApp, admin: &Client, id: Uuid) -> Value {
    let res = admin
        .get(app.url(&format!("/api/admin/users/{id}")))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.expect("json")["user"].clone()
}

/// The audit rows with `action`: (actor, entity id, metadata), oldest first.
async fn audited(app: &TestApp, action: &str) -> Vec<(Option<Uuid>, Option<String>, Value)> {
    sqlx::query_as(
        "SELECT actor_id, entity_id, metadata FROM audit_log WHERE action = $1 ORDER BY id",
    )
    .bind(action)
    .fetch_all(&app.db.pool)
    .await
    .expect("audit rows")
}

async fn active_admins(app: &TestApp, t: &Tenant) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE tenant_id = $1 AND role = 'ADMIN' AND deactivated_at IS NULL",
    )
    .bind(t.id)
    .fetch_one(&app.db.pool)
    .await
    .expect("count")
}

async fn sessions_of(app: &TestApp, user: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.db.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn an_invited_person_sets_a_password_from_the_link_and_then_signs_in() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;

    let body = invite(&app, &admin, "Rey@Acme.test", "REVIEWER").await;
    let rey = id_of(&body);
    assert_eq!(body["user"]["email"], "rey@acme.test");
    assert_eq!(body["user"]["status"], "INVITED");
    assert_eq!(body["user"]["role"], "REVIEWER");
    let path = path_of(&body);
    let token = path
        .strip_prefix("/set-password/")
        .expect("the link's path");
    assert_eq!(token.len(), 64);
    assert_eq!(body["link"]["url"], app.url(&path));

    // Only the token's SHA-256 is stored.
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT id_hash FROM password_links WHERE user_id = $1")
            .bind(rey)
            .fetch_one(&app.db.pool)
            .await
            .expect("the link");
    assert_eq!(stored, db::sessions::digest(token));

    // Invited, nobody can sign in as them: not with the harness password, not with none.
    let before = app
        .login_with(&app.new_client(), "rey@acme.test", PASSWORD)
        .await;
    assert_eq!(error_of(before).await.1, "invalid_credentials");

    let page = app
        .new_client()
        .get(app.url(&path))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let html = page.text().await.expect("html");
    assert!(
        html.contains("rey@acme.test") && html.contains(r#"name="confirm""#),
        "{html}"
    );

    let differ = set_password(&app, &path, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(differ.status(), 422);
    assert!(differ.text().await.expect("html").contains("differ"));
    let short = set_password(&app, &path, "short", "short").await;
    assert_eq!(short.status(), 422);
    assert!(
        short
            .text()
            .await
            .expect("html")
            .contains("at least 12 characters")
    );
    assert!(audited(&app, "USER_PASSWORD_SET").await.is_empty());

    let sessions_before = app.count("sessions").await;
    let done = set_password(&app, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    assert!(set_cookie(&done, "cw_flash").is_some_and(|c| c.contains("Password%20set")));
    assert!(
        set_cookie(&done, "cw_session").is_none(),
        "setting a password signs no one in"
    );
    assert_eq!(app.count("sessions").await, sessions_before);

    let rey_client = app.new_client();
    let signed_in = app
        .login_with(&rey_client, "rey@acme.test", NEW_PASSWORD)
        .await;
    assert_eq!(signed_in.status(), 200);
    let who: Value = me(&app, &rey_client).await.json().await.expect("json");
    assert_eq!(who["user"]["role"], "REVIEWER");

    let now = person(&app, &admin, rey).await;
    assert_eq!(now["status"], "ACTIVE");
    assert!(now["lastSignInAt"].is_string(), "{now}");
    assert_eq!(now["displayName"], "Rey Reviewer");

    let invited = audited(&app, "USER_INVITED").await;
    assert_eq!(invited.len(), 1);
    assert_eq!(invited[0].0, Some(ada.id));
    assert_eq!(invited[0].1, Some(rey.to_string()));
    assert_eq!(invited[0].2["role"], "REVIEWER");
    let set = audited(&app, "USER_PASSWORD_SET").await;
    assert_eq!(set.len(), 1);
    assert_eq!(
        (set[0].0, set[0].1.clone()),
        (Some(rey), Some(rey.to_string()))
    );
}

#[tokio::test]
async fn a_link_works_once_and_a_used_expired_or_unknown_one_is_a_clear_4xx_page() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.login_as_admin(&t).await;

    let used = path_of(&invite(&app, &admin, "one@acme.test", "LEARNER").await);
    assert_eq!(
        set_password(&app, &used, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        303
    );
    let again = set_password(
        &app,
        &used,
        "another long password",
        "another long password",
    )
    .await;
    assert_eq!(again.status(), 409);
    assert!(
        again
            .text()
            .await
            .expect("html")
            .contains("already been used")
    );
    let page = app.client.get(app.url(&used)).send().await.expect("page");
    assert_eq!(page.status(), 409);
    // The password set first still holds.
    assert_eq!(
        app.login_with(&app.new_client(), "one@acme.test", NEW_PASSWORD)
            .await
            .status(),
        200
    );

    let body = invite(&app, &admin, "two@acme.test", "LEARNER").await;
    let expired = path_of(&body);
    sqlx::query(
        "UPDATE password_links SET created_at = now() - interval '8 days',
                                   expires_at = now() - interval '1 day'
         WHERE user_id = $1",
    )
    .bind(id_of(&body))
    .execute(&app.db.pool)
    .await
    .expect("age the link");
    let page = app
        .client
        .get(app.url(&expired))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 409);
    assert!(page.text().await.expect("html").contains("expired"));
    assert_eq!(
        set_password(&app, &expired, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        409
    );
    assert_eq!(
        person(&app, &admin, id_of(&body)).await["status"],
        "INVITED",
        "an expired link sets nothing"
    );

    let unknown = format!("/set-password/{}", "ab".repeat(32));
    for path in [
        unknown.as_str(),
        "/set-password/not-a-token",
        "/set-password/%20",
    ] {
        let res = app.client.get(app.url(path)).send().await.expect("page");
        assert_eq!(res.status(), 404, "{path}");
        let res = set_password(&app, path, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    let huge = format!("/set-password/{}", "a".repeat(4000));
    assert_eq!(
        app.client
            .get(app.url(&huge))
            .send()
            .await
            .expect("page")
            .status(),
        404
    );
    assert_eq!(audited(&app, "USER_PASSWORD_SET").await.len(), 1);
}

#[tokio::test]
async fn a_new_link_for_an_invited_person_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let body = invite(&app, &admin, "rey@acme.test", "REVIEWER").await;
    let rey = id_of(&body);
    let old = path_of(&body);

    let res = app
        .csrf_post(&admin, &format!("/api/admin/users/{rey}/invite-link"))
        .send()
        .await
        .expect("reissue");
    assert_eq!(res.status(), 201);
    let reissued: Value = res.json().await.expect("json");
    let new = path_of(&reissued);
    assert_ne!(old, new);

    assert_eq!(
        app.client
            .get(app.url(&old))
            .send()
            .await
            .expect("old")
            .status(),
        404
    );
    assert_eq!(
        set_password(&app, &old, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        404
    );
    assert_eq!(
        set_password(&app, &new, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .status(),
        303
    );

    // Once they have a password there is nothing to invite them to.
    let (status, code, _) = error_of(
        app.csrf_post(&admin, &format!("/api/admin/users/{rey}/invite-link"))
            .send()
            .await
            .expect("reissue"),
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "not_invited"));

    let rows = audited(&app, "USER_INVITE_REISSUED").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0, rows[0].1.clone()),
        (Some(ada.id), Some(rey.to_string()))
    );
    assert_eq!(rows[0].2["replaced"], 1);
}

#[tokio::test]
async fn an_admin_changes_a_role_and_the_persons_open_session_follows() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let (learner, lee) = app.signed_in(&t, "lee@acme.test", Role::Learner).await;
    assert_eq!(
        learner
            .get(app.url("/api/admin/syllabi"))
            .send()
            .await
            .expect("get")
            .status(),
        403
    );

    let res = patch(&app, &admin, lee.id, json!({ "role": "REVIEWER" }))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["user"]["role"], "REVIEWER");

    let who: Value = me(&app, &learner).await.json().await.expect("json");
    assert_eq!(
        who["user"]["role"], "REVIEWER",
        "the session sees the new role"
    );
    assert_eq!(
        learner
            .get(app.url("/api/admin/syllabi"))
            .send()
            .await
            .expect("get")
            .status(),
        200
    );

    // The same role again changes nothing and is not audited twice.
    let same = patch(&app, &admin, lee.id, json!({ "role": "REVIEWER" }))
        .send()
        .await
        .expect("patch");
    assert_eq!(same.status(), 200);
    let rows = audited(&app, "USER_ROLE_CHANGED").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0, rows[0].1.clone()),
        (Some(ada.id), Some(lee.id.to_string()))
    );
    assert_eq!(
        (&rows[0].2["from"], &rows[0].2["to"]),
        (&json!("LEARNER"), &json!("REVIEWER"))
    );

    for bad in [
        json!({}),
        json!({ "role": "OWNER" }),
        json!({ "role": "reviewer" }),
        json!({ "role": "REVIEWER", "email": "x@y.org" }),
        json!({ "active": "no" }),
        json!({ "role": "x".repeat(1 << 20) }),
    ] {
        let res = patch(&app, &admin, lee.id, bad.clone())
            .send()
            .await
            .expect("patch");
        assert_eq!(
            res.status(),
            422,
            "{}",
            bad.to_string().chars().take(80).collect::<String>()
        );
    }
    assert_eq!(audited(&app, "USER_ROLE_CHANGED").await.len(), 1);
}

#[tokio::test]
async fn deactivating_ends_every_session_at_once_and_reactivating_restores_sign_in() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let (laptop, lee) = app.signed_in(&t, "lee@acme.test", Role::Reviewer).await;
    let phone = app.new_client();
    assert_eq!(app.login_as(&phone, "lee@acme.test").await.status(), 200);
    // Both sessions have been used, so the server holds them in memory too.
    for c in [&laptop, &phone] {
        assert_eq!(me(&app, c).await.status(), 200);
    }
    assert_eq!(sessions_of(&app, lee.id).await, 2);

    let res = patch(&app, &admin, lee.id, json!({ "active": false }))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["user"]["status"], "DEACTIVATED");
    assert!(body["user"]["deactivatedAt"].is_string());

    for c in [&laptop, &phone] {
        assert_eq!(
            me(&app, c).await.status(),
            401,
            "an old cookie is signed out"
        );
    }
    assert_eq!(sessions_of(&app, lee.id).await, 0);
    let refused = app.login_as(&app.new_client(), "lee@acme.test").await;
    assert_eq!(error_of(refused).await.1, "invalid_credentials");
    assert_eq!(sessions_of(&app, lee.id).await, 0);

    let rows = audited(&app, "USER_DEACTIVATED").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0, rows[0].1.clone()),
        (Some(ada.id), Some(lee.id.to_string()))
    );
    assert_eq!(rows[0].2["sessionsEnded"], 2);

    let res = patch(&app, &admin, lee.id, json!({ "active": true }))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.expect("json")["user"]["status"],
        "ACTIVE"
    );
    let back = app.new_client();
    assert_eq!(app.login_as(&back, "lee@acme.test").await.status(), 200);
    assert_eq!(me(&app, &back).await.status(), 200);
    let rows = audited(&app, "USER_REACTIVATED").await;
    assert_eq!((rows.len(), rows[0].0), (1, Some(ada.id)));
}

#[tokio::test]
async fn the_last_active_admin_can_be_neither_demoted_nor_deactivated() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    // Another admin who is deactivated does not count.
    let (_, bo) = app.signed_in(&t, "bo@acme.test", Role::Admin).await;
    assert_eq!(
        patch(&app, &admin, bo.id, json!({ "active": false }))
            .send()
            .await
            .expect("patch")
            .status(),
        200
    );
    let audit_before = app.count("audit_log").await;

    for change in [
        json!({ "role": "REVIEWER" }),
        json!({ "role": "LEARNER" }),
        json!({ "active": false }),
        json!({ "role": "ADMIN", "active": false }),
    ] {
        let (status, code, message) = error_of(
            patch(&app, &admin, ada.id, change)
                .send()
                .await
                .expect("patch"),
        )
        .await;
        assert_eq!((status, code.as_str()), (409, "last_admin"));
        assert!(message.contains("last active admin"), "{message}");
    }
    // The page refuses the same way, in red on the list.
    let res = app
        .csrf_post(&admin, &format!("/admin/users/{}/deactivate", ada.id))
        .send()
        .await
        .expect("form");
    assert_eq!(res.status(), 303);
    assert!(set_cookie(&res, "cw_flash").is_some_and(|c| c.contains("r%3ANot%20deactivated")));
    assert_eq!(active_admins(&app, &t).await, 1);
    assert_eq!(me(&app, &admin).await.status(), 200);
    assert_eq!(app.count("audit_log").await, audit_before);

    // With a second active admin, either may step down, themselves included.
    assert_eq!(
        patch(&app, &admin, bo.id, json!({ "active": true }))
            .send()
            .await
            .expect("patch")
            .status(),
        200
    );
    let res = patch(&app, &admin, ada.id, json!({ "role": "REVIEWER" }))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    assert_eq!(active_admins(&app, &t).await, 1);
    // Ada is a reviewer now and her session says so: she manages no one.
    assert_eq!(
        patch(&app, &admin, bo.id, json!({ "role": "LEARNER" }))
            .send()
            .await
            .expect("patch")
            .status(),
        403
    );
}

#[tokio::test]
async fn twenty_concurrent_demotions_of_two_admins_leave_exactly_one() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (a_client, a) = app.signed_in(&t, "a@acme.test", Role::Admin).await;
    let (b_client, b) = app.signed_in(&t, "b@acme.test", Role::Admin).await;

    // Each demotes the other and themselves, five times each, all at once.
    let mut sends = Vec::new();
    for i in 0..20 {
        let (client, target) = match i % 4 {
            0 => (&a_client, b.id),
            1 => (&b_client, a.id),
            2 => (&a_client, a.id),
            _ => (&b_client, b.id),
        };
        let change = if i % 8 < 4 {
            json!({ "role": "REVIEWER" })
        } else {
            json!({ "active": false })
        };
        sends.push(patch(&app, client, target, change).send());
    }
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("patch").status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| [200, 401, 403, 409].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_eq!(active_admins(&app, &t).await, 1, "{statuses:?}");
    assert!(
        statuses.contains(&409) || statuses.contains(&403),
        "{statuses:?}"
    );
    // The one left is still signed in and still an admin.
    let mut left = 0;
    for client in [&a_client, &b_client] {
        let res = me(&app, client).await;
        if res.status() == 200
            && res.json::<Value>().await.expect("json")["user"]["role"] == "ADMIN"
        {
            left += 1;
        }
    }
    assert_eq!(left, 1, "{statuses:?}");
}

#[tokio::test]
async fn another_tenants_people_answer_404_and_stay_as_they_were() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;
    let (admin_a, _) = app.login_as_admin(&a).await;
    let (stranger_client, stranger) = app.signed_in(&b, "stranger@b.test", Role::Admin).await;
    let audit_before = app.count("audit_log").await;

    for change in [json!({ "role": "LEARNER" }), json!({ "active": false })] {
        let (status, code, _) = error_of(
            patch(&app, &admin_a, stranger.id, change)
                .send()
                .await
                .expect("patch"),
        )
        .await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
    }
    let link = app
        .csrf_post(
            &admin_a,
            &format!("/api/admin/users/{}/invite-link", stranger.id),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(link.status(), 404);
    for action in ["role", "deactivate", "reactivate", "invite-link"] {
        let res = app
            .csrf_post(&admin_a, &format!("/admin/users/{}/{action}", stranger.id))
            .form(&[("role", "LEARNER")])
            .send()
            .await
            .expect("form");
        assert_eq!(res.status(), 404, "{action}");
    }
    assert_eq!(me(&app, &stranger_client).await.status(), 200);
    assert_eq!(app.count("audit_log").await, audit_before);
    let html = admin_a
        .get(app.url("/admin/users"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(!html.contains("stranger@b.test"));
}

#[tokio::test]
async fn reviewers_and_learners_may_not_manage_people() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (_, ada) = app.login_as_admin(&t).await;
    let users_before = app.count("users").await;
    for (email, role) in [
        ("rey@acme.test", Role::Reviewer),
        ("lee@acme.test", Role::Learner),
    ] {
        let (client, _) = app.signed_in(&t, email, role).await;
        let page = client
            .get(app.url("/admin/users"))
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), 403, "{email}");
        let invite = app
            .csrf_post(&client, "/api/admin/users")
            .json(&json!({ "email": "new@acme.test", "displayName": "New", "role": "ADMIN" }))
            .send()
            .await
            .expect("invite");
        assert_eq!(invite.status(), 403, "{email}");
        let form = app
            .csrf_post(&client, "/admin/users/invite")
            .form(&[
                ("email", "new@acme.test"),
                ("name", "New"),
                ("role", "ADMIN"),
            ])
            .send()
            .await
            .expect("form");
        assert_eq!(form.status(), 403, "{email}");
        let demote = patch(&app, &client, ada.id, json!({ "active": false }))
            .send()
            .await
            .expect("patch");
        assert_eq!(demote.status(), 403, "{email}");
        let form = app
            .csrf_post(&client, &format!("/admin/users/{}/deactivate", ada.id))
            .send()
            .await
            .expect("form");
        assert_eq!(form.status(), 403, "{email}");
    }
    assert_eq!(app.count("users").await, users_before + 2);
    assert_eq!(active_admins(&app, &t).await, 1);
    assert!(
        !app.audit_actions()
            .await
            .iter()
            .any(|a| a.starts_with("USER_")),
        "nothing was changed, so nothing was audited"
    );
}

#[tokio::test]
async fn an_invitation_with_bad_or_huge_fields_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.login_as_admin(&t).await;
    app.user(&t, "taken@acme.test", Role::Learner).await;
    let users_before = app.count("users").await;
    let huge = "x".repeat(1 << 20);
    for (body, status) in [
        (
            json!({ "email": "not an email", "displayName": "N", "role": "LEARNER" }),
            422,
        ),
        (
            json!({ "email": "n@acme.test", "displayName": "  ", "role": "LEARNER" }),
            422,
        ),
        (
            json!({ "email": "n@acme.test", "displayName": huge, "role": "LEARNER" }),
            422,
        ),
        (
            json!({ "email": format!("{huge}@acme.test"), "displayName": "N", "role": "LEARNER" }),
            422,
        ),
        (
            json!({ "email": "n@acme.test", "displayName": "N", "role": "OWNER" }),
            422,
        ),
        (json!({ "email": "n@acme.test", "displayName": "N" }), 422),
        (
            json!({ "email": "taken@acme.test", "displayName": "N", "role": "LEARNER" }),
            409,
        ),
    ] {
        let res = app
            .csrf_post(&admin, "/api/admin/users")
            .json(&body)
            .send()
            .await
            .expect("invite");
        assert_eq!(res.status(), status);
    }
    let (_, code, _) = error_of(
        app.csrf_post(&admin, "/api/admin/users")
            .json(&json!({ "email": "TAKEN@acme.test", "displayName": "N", "role": "LEARNER" }))
            .send()
            .await
            .expect("invite"),
    )
    .await;
    assert_eq!(code, "email_taken");
    let form = app
        .csrf_post(&admin, "/admin/users/invite")
        .form(&[
            ("email", "n@acme.test"),
            ("name", huge.as_str()),
            ("role", "LEARNER"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 303);
    assert!(set_cookie(&form, "cw_flash").is_some_and(|c| c.contains("r%3ANot%20invited")));
    assert_eq!(app.count("users").await, users_before);
    assert_eq!(app.count("password_links").await, 0);
}

#[tokio::test]
async fn the_users_page_lists_people_and_its_forms_invite_change_and_deactivate() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, _) = app.login_as_admin(&t).await;
    let (lee_client, lee) = app.signed_in(&t, "lee@acme.test", Role::Learner).await;

    let res = app
        .csrf_post(&admin, "/admin/users/invite")
        .form(&[
            ("email", "rey@acme.test"),
            ("name", "Rey Reviewer"),
            ("role", "reviewer"),
        ])
        .send()
        .await
        .expect("invite");
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    let start = html
        .find("/set-password/")
        .expect("the link is on the page");
    let token: String = html[start + "/set-password/".len()..]
        .chars()
        .take(64)
        .collect();
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert_eq!(
        app.client
            .get(app.url(&format!("/set-password/{token}")))
            .send()
            .await
            .expect("page")
            .status(),
        200
    );

    let res = app
        .csrf_post(&admin, &format!("/admin/users/{}/role", lee.id))
        .form(&[("role", "REVIEWER")])
        .send()
        .await
        .expect("role");
    assert_eq!(res.status(), 303);
    assert!(set_cookie(&res, "cw_flash").is_some_and(|c| c.contains("d%3Alee%40acme.test")));
    let res = app
        .csrf_post(&admin, &format!("/admin/users/{}/deactivate", lee.id))
        .send()
        .await
        .expect("deactivate");
    assert_eq!(res.status(), 303);
    assert_eq!(me(&app, &lee_client).await.status(), 401);

    let html = admin
        .get(app.url("/admin/users"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    for needle in [
        "Rey Reviewer",
        "rey@acme.test",
        ">invited<",
        ">deactivated<",
        ">active<",
        "(you)",
        &format!("/admin/users/{}/reactivate", lee.id),
        "New invitation link",
    ] {
        assert!(html.contains(needle), "{needle} missing from the page");
    }
    let row = &html[html
        .find(r#"data-email="lee@acme.test""#)
        .expect("lee's row")..];
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(
        row.contains(r#"<option value="REVIEWER" selected>"#),
        "{row}"
    );

    let res = app
        .csrf_post(&admin, &format!("/admin/users/{}/reactivate", lee.id))
        .send()
        .await
        .expect("reactivate");
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.login_as(&app.new_client(), "lee@acme.test")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.audit_actions()
            .await
            .into_iter()
            .filter(|a| a.starts_with("USER_"))
            .collect::<Vec<_>>(),
        [
            "USER_INVITED",
            "USER_ROLE_CHANGED",
            "USER_DEACTIVATED",
            "USER_REACTIVATED"
        ]
    );
}
