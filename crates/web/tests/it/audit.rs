use db::audit::{AuditEvent, Verification};
use domain::{AuditAction, Role};
use serde_json::Value;

use crate::support::TestApp;

#[tokio::test]
async fn a_failing_audit_write_is_counted_and_never_blocks_the_change() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let mut tx = app.db.pool.begin().await.expect("begin");
    sqlx::query("UPDATE tenants SET name = 'Renamed' WHERE id = $1")
        .bind(t.id)
        .execute(&mut *tx)
        .await
        .expect("change");
    // A tenant id that does not exist violates the foreign key: the audit insert fails.
    let written = db::audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::TenantCreated, "tenant", t.id).tenant(uuid::Uuid::new_v4()),
    )
    .await;
    assert!(!written);
    // The transaction is still usable after the savepoint rollback, and a good row still goes in.
    assert!(
        db::audit::record(
            &mut tx,
            AuditEvent::new(AuditAction::TenantCreated, "tenant", t.id).tenant(t.id)
        )
        .await
    );
    tx.commit().await.expect("the change commits");

    let name: String = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(t.id)
        .fetch_one(&app.db.pool)
        .await
        .expect("name");
    assert_eq!(name, "Renamed");
    assert_eq!(app.count("audit_log").await, 1);
    assert_eq!(
        db::audit::verify(&app.db.pool).await.expect("verify"),
        Verification::Intact { rows: 1 }
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let failures: f64 = metrics
        .lines()
        .find(|l| l.starts_with("audit_write_failures_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("counter");
    assert!(failures >= 1.0, "{failures}");
}

#[tokio::test]
async fn the_audit_api_and_page_filter_paginate_and_stay_within_the_tenant() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let (admin, admin_user) = app.signed_in(&t, "ada@acme.test", Role::Admin).await;
    let mut tx = app.db.pool.begin().await.expect("begin");
    for i in 0..60 {
        db::audit::record(
            &mut tx,
            AuditEvent::new(AuditAction::UserCreated, "user", i)
                .tenant(t.id)
                .actor(Some(admin_user.id)),
        )
        .await;
    }
    db::audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::UserCreated, "user", "foreign").tenant(other.id),
    )
    .await;
    tx.commit().await.expect("commit");

    let page1: Value = admin
        .get(app.url("/api/admin/audit?action=USER_CREATED"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let items = page1["items"].as_array().expect("items");
    assert_eq!(items.len(), 50);
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(
        items.iter().all(|i| i["entityId"] != "foreign"),
        "no other tenant's rows"
    );
    let before = page1["nextBefore"].as_i64().expect("a next page");
    let page2: Value = admin
        .get(app.url(&format!(
            "/api/admin/audit?action=USER_CREATED&before={before}"
        )))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(page2["items"].as_array().expect("items").len(), 10);
    assert_eq!(page2["nextBefore"], Value::Null);

    let by_entity: Value = admin
        .get(app.url("/api/admin/audit?entity_type=user&entity_id=7"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(by_entity["items"].as_array().expect("items").len(), 1);
    let by_actor: Value = admin
        .get(app.url("/api/admin/audit?actor=ADA@acme.test&limit=5"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(by_actor["items"].as_array().expect("items").len(), 5);
    let bad = admin
        .get(app.url("/api/admin/audit?action=DROP_TABLES"))
        .send()
        .await
        .expect("get");
    assert_eq!(bad.status(), 400);

    let html = admin
        .get(app.url("/admin/audit?action=USER_CREATED"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Older →"), "the page links to older rows");
    assert!(html.contains(r#"<option value="USER_CREATED" selected>"#));
    assert_eq!(
        html.matches(r#"<span title="USER_CREATED">User created</span>"#)
            .count(),
        50
    );
}
