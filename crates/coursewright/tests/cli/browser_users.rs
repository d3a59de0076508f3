//! People management in a real browser: an admin invites a reviewer and reads the link off
//! the page, the reviewer sets a password in a browser of their own and signs in, then the
//! admin deactivates them and their open session ends.

use domain::Role;
use fantoccini::{Client, Locator};
use test_support::TestDatabase;

use crate::browser::{
    PASSWORD, acme, browser, click, confirm, people, serve, shot, sign_in, text, wait_for_path,
    wait_for_text,
};

async fn type_into(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

#[tokio::test]
async fn an_admin_invites_a_reviewer_who_sets_a_password_signs_in_and_is_deactivated_in_a_real_browser()
 {
    let db = TestDatabase::new().await;
    let base = serve(&db, store::Objects::in_memory()).await;
    let t = acme(&db).await;
    people(&db, t.id, &[("ada@acme.test", Role::Admin)]).await;

    let (_admin_driver, admin) = browser().await;
    admin.set_window_size(1280, 900).await.expect("size");
    sign_in(&admin, &base, "ada@acme.test").await;
    admin
        .goto(&format!("{base}/admin/users"))
        .await
        .expect("users page");
    type_into(&admin, "#invite-email", "rey@acme.test").await;
    type_into(&admin, "#invite-name", "Rey Reviewer").await;
    click(
        &admin,
        "//select[@id='invite-role']/option[@value='REVIEWER']",
    )
    .await;
    click(
        &admin,
        "//form[contains(@class, 'invite-form')]//button[@type='submit']",
    )
    .await;
    wait_for_text(&admin, "rey@acme.test is invited").await;
    let link = admin
        .find(Locator::Css("#invite-link"))
        .await
        .expect("the link field")
        .prop("value")
        .await
        .expect("its value")
        .expect("a link");
    assert!(link.starts_with(&format!("{base}/set-password/")), "{link}");
    shot(&admin, "users-invite-link").await;

    // The reviewer, in a browser of their own.
    let (_rey_driver, rey) = browser().await;
    rey.set_window_size(390, 844).await.expect("size");
    rey.goto(&link).await.expect("the link");
    assert!(text(&rey).await.contains("rey@acme.test"));
    type_into(&rey, "#password", PASSWORD).await;
    type_into(&rey, "#confirm", PASSWORD).await;
    shot(&rey, "users-set-password").await;
    click(&rey, "//main//button[@type='submit']").await;
    wait_for_path(&rey, "/login").await;
    wait_for_text(&rey, "Password set for rey@acme.test").await;
    sign_in(&rey, &base, "rey@acme.test").await;

    admin
        .goto(&format!("{base}/admin/users"))
        .await
        .expect("users page");
    let list = text(&admin).await;
    assert!(
        list.contains("Rey Reviewer") && list.contains("active"),
        "{list}"
    );
    confirm(&admin, "Deactivate rey@acme.test").await;
    let after = wait_for_text(&admin, "rey@acme.test is deactivated").await;
    assert!(after.contains("Reactivate"), "{after}");
    shot(&admin, "users-deactivated").await;

    // Rey's open session is over: the next page sends them to sign in.
    rey.goto(&format!("{base}/admin/syllabi"))
        .await
        .expect("a page");
    wait_for_path(&rey, "/login").await;
    // Deactivation ended the session in the same transaction, before its page answered.
    let sessions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.email = 'rey@acme.test'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(sessions, 0);
    let deactivated: bool = sqlx::query_scalar(
        "SELECT deactivated_at IS NOT NULL FROM users WHERE email = 'rey@acme.test'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("rey");
    assert!(deactivated);
    rey.close().await.expect("close");
    admin.close().await.expect("close");
}
