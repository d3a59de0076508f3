//! Selling a course: products, purchases, refunds and the access rule, over HTTP.

use domain::Role;
use reqwest::Client;
use serde_json::{Value, json};
use test_support::{TestApp, actor_of};
use uuid::Uuid;

use crate::support::error_of;

struct Shop {
    app: TestApp,
    admin: Client,
    learner: Client,
    learner_id: Uuid,
    course: Uuid,
    /// Another tenant's course and its admin.
    foreign_course: Uuid,
    foreign_admin: Client,
}

async fn publish(app: &TestApp, admin: &Client, course: Uuid) {
    for path in [
        format!("/api/admin/courses/{course}/packages"),
        format!("/api/admin/courses/{course}/versions/1/publish"),
    ] {
        let res = app
            .csrf_post(admin, &path)
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
}

async fn shop(app: TestApp) -> Shop {
    let acme = app.tenant("acme").await;
    let (admin, admin_user) = app.signed_in(&acme, "admin@acme.test", Role::Admin).await;
    let (learner, learner_user) = app
        .signed_in(&acme, "learner@acme.test", Role::Learner)
        .await;
    let course = app
        .approved_course(&actor_of(&admin_user), "Practical SQL", 2)
        .await
        .course_id;
    publish(&app, &admin, course).await;
    let globex = app.tenant("globex").await;
    let (foreign_admin, gadmin) = app
        .signed_in(&globex, "admin@globex.test", Role::Admin)
        .await;
    let foreign_course = app
        .approved_course(&actor_of(&gadmin), "Globex onboarding", 1)
        .await
        .course_id;
    publish(&app, &foreign_admin, foreign_course).await;
    Shop {
        app,
        admin,
        learner,
        learner_id: learner_user.id,
        course,
        foreign_course,
        foreign_admin,
    }
}

impl Shop {
    async fn send(&self, c: &Client, method: &str, path: &str, body: Value) -> (u16, Value) {
        let req = match method {
            "PATCH" => c
                .patch(self.app.url(path))
                .header("Origin", self.app.url("").trim_end_matches('/')),
            _ => self.app.csrf_post(c, path),
        };
        let res = req.json(&body).send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, c: &Client, path: &str) -> (u16, Value) {
        let res = c.get(self.app.url(path)).send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn product(&self, price: i64) -> Value {
        let (status, p) = self
            .send(
                &self.admin,
                "POST",
                "/api/admin/products",
                json!({ "courseId": self.course, "title": "Practical SQL, full access",
                        "priceCents": price, "currency": "EUR" }),
            )
            .await;
        assert_eq!(status, 201, "{p}");
        p
    }

    async fn lesson_status(&self) -> u16 {
        self.get(
            &self.learner,
            &format!("/api/learn/courses/{}/lessons/1", self.course),
        )
        .await
        .0
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.app.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

#[tokio::test]
async fn products_are_validated_one_active_per_course_and_tenant_scoped() {
    let s = shop(TestApp::spawn().await).await;
    let p = s.product(4900).await;
    assert_eq!(
        (
            p["priceCents"].clone(),
            p["currency"].clone(),
            p["active"].clone()
        ),
        (json!(4900), json!("EUR"), json!(true))
    );
    assert_eq!(p["courseTitle"], "Practical SQL");
    let (status, e) = s
        .send(
            &s.admin,
            "POST",
            "/api/admin/products",
            json!({ "courseId": s.course, "title": "Again", "priceCents": 100, "currency": "EUR" }),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].clone()),
        (409, json!("product_exists"))
    );
    for (body, field) in [
        (
            json!({ "courseId": s.course, "title": " ", "priceCents": 1, "currency": "EUR", "active": false }),
            "title",
        ),
        (
            json!({ "courseId": s.course, "title": "T", "priceCents": 0, "currency": "EUR", "active": false }),
            "priceCents",
        ),
        (
            json!({ "courseId": s.course, "title": "T", "priceCents": 100_000_001, "currency": "EUR", "active": false }),
            "priceCents",
        ),
        (
            json!({ "courseId": s.course, "title": "T", "priceCents": 5, "currency": "eur", "active": false }),
            "currency",
        ),
        (
            json!({ "courseId": s.course, "title": "T", "priceCents": 5, "currency": "XXX", "active": false }),
            "currency",
        ),
    ] {
        let (status, e) = s.send(&s.admin, "POST", "/api/admin/products", body).await;
        assert_eq!(status, 422, "{field}: {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{e}"
        );
    }
    // Another tenant's course, and another tenant's product, are not found.
    let (status, _) = s
        .send(
            &s.admin,
            "POST",
            "/api/admin/products",
            json!({ "courseId": s.foreign_course, "title": "Theirs", "priceCents": 1, "currency": "EUR" }),
        )
        .await;
    assert_eq!(status, 404);
    let id = p["id"].as_str().expect("id");
    let (status, _) = s
        .send(
            &s.foreign_admin,
            "PATCH",
            &format!("/api/admin/products/{id}"),
            json!({ "priceCents": 1 }),
        )
        .await;
    assert_eq!(status, 404);
    let (_, theirs) = s.get(&s.foreign_admin, "/api/admin/products").await;
    assert_eq!(theirs["items"], json!([]));
    // Learners neither list nor create products as admins do.
    assert_eq!(s.get(&s.learner, "/api/admin/products").await.0, 403);
    let (status, _) = s
        .send(
            &s.learner,
            "POST",
            "/api/admin/products",
            json!({ "courseId": s.course, "title": "Mine", "priceCents": 1, "currency": "EUR" }),
        )
        .await;
    assert_eq!(status, 403);
    let res = s
        .admin
        .delete(s.app.url(&format!("/api/admin/products/{id}")))
        .header("Origin", s.app.url("").trim_end_matches('/'))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 405);
    assert!(
        res.headers()["allow"]
            .to_str()
            .expect("allow")
            .contains("PATCH")
    );
    let audited = s
        .scalar("SELECT count(*) FROM audit_log WHERE action = 'PRODUCT_CREATED'")
        .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_sold_course_opens_with_a_purchase_and_closes_with_its_refund() {
    let s = shop(TestApp::spawn().await).await;
    // Free: readable as today.
    assert_eq!(s.lesson_status().await, 200);
    let p = s.product(4900).await;
    let product = p["id"].as_str().expect("id").to_owned();

    // Sold and not bought: listed with its price; lessons, enrollment and purchase refused.
    let (_, listed) = s.get(&s.learner, "/api/store/products").await;
    assert_eq!(listed["items"][0]["price"], "49.00 EUR", "{listed}");
    assert_eq!(s.lesson_status().await, 409);
    for path in [
        format!("/api/learn/courses/{}", s.course),
        format!("/api/learn/progress/{}", s.course),
    ] {
        let (status, e) = s.get(&s.learner, &path).await;
        assert_eq!(
            (status, e["error"]["code"].clone()),
            (409, json!("purchase_required")),
            "{path}"
        );
    }
    let page = s
        .learner
        .get(s.app.url(&format!("/learn/{}", s.course)))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Ask an admin of your organisation to grant you access."),
        "{page}"
    );
    assert!(
        !page.contains("Test mode"),
        "no test purchase without test mode"
    );
    let (status, e) = s
        .send(
            &s.learner,
            "POST",
            "/api/learn/enroll",
            json!({ "courseId": s.course }),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].clone()),
        (409, json!("purchase_required"))
    );
    let (status, e) = s
        .send(
            &s.learner,
            "POST",
            "/api/store/purchase",
            json!({ "productId": product }),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].clone()),
        (409, json!("payments_unavailable")),
        "without a provider, admins grant"
    );
    let (_, foreign) = s
        .send(
            &s.foreign_admin,
            "POST",
            "/api/admin/purchases",
            json!({ "productId": product, "userId": s.learner_id }),
        )
        .await;
    assert_eq!(foreign["error"]["code"], "not_found", "{foreign}");

    // An admin grants it: the learner is enrolled and reads at once.
    let (status, granted) = s
        .send(
            &s.admin,
            "POST",
            "/api/admin/purchases",
            json!({ "productId": product, "userId": s.learner_id }),
        )
        .await;
    assert_eq!(status, 201, "{granted}");
    assert_eq!(s.lesson_status().await, 200);
    let (status, again) = s
        .send(
            &s.admin,
            "POST",
            "/api/admin/purchases",
            json!({ "productId": product, "userId": s.learner_id }),
        )
        .await;
    assert_eq!((status, again["created"].clone()), (200, json!(false)));
    let (status, _) = s
        .send(
            &s.learner,
            "POST",
            "/api/learn/progress",
            json!({ "courseId": s.course, "lessonIndex": 1, "completed": true }),
        )
        .await;
    assert_eq!(status, 200);

    // A new price keeps the purchase as paid.
    let (status, changed) = s
        .send(
            &s.admin,
            "PATCH",
            &format!("/api/admin/products/{product}"),
            json!({ "priceCents": 9900 }),
        )
        .await;
    assert_eq!((status, changed["priceCents"].clone()), (200, json!(9900)));
    let (_, bought) = s.get(&s.admin, "/api/admin/purchases").await;
    let purchase = bought["items"][0].clone();
    assert_eq!(
        (
            purchase["amountCents"].clone(),
            purchase["status"].clone(),
            bought["items"].as_array().map(Vec::len)
        ),
        (json!(4900), json!("PAID"), Some(1)),
        "{bought}"
    );

    // The refund withdraws access at once and keeps the progress; once.
    let id = purchase["id"].as_str().expect("id");
    let (status, refunded) = s
        .send(
            &s.admin,
            "POST",
            &format!("/api/admin/purchases/{id}/refund"),
            json!({ "reason": "Bought for the wrong team" }),
        )
        .await;
    assert_eq!(
        (status, refunded["status"].clone()),
        (200, json!("REFUNDED")),
        "{refunded}"
    );
    assert_eq!(refunded["refundReason"], "Bought for the wrong team");
    assert_eq!(s.lesson_status().await, 409, "access ends with the refund");
    let export = s
        .learner
        .get(
            s.app
                .url(&format!("/api/learn/courses/{}/export.pdf", s.course)),
        )
        .send()
        .await
        .expect("export");
    assert_eq!(export.status(), 409);
    let (status, e) = s
        .send(
            &s.admin,
            "POST",
            &format!("/api/admin/purchases/{id}/refund"),
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].clone()),
        (409, json!("already_refunded"))
    );
    assert_eq!(
        s.scalar("SELECT count(*) FROM lesson_progress WHERE completed")
            .await,
        1,
        "progress is kept"
    );
    // Decided rows stay decided, whatever SQL tries.
    let err = sqlx::query("UPDATE purchases SET status = 'PAID', refunded_at = NULL")
        .execute(&s.app.db.pool)
        .await
        .expect_err("refunded stays refunded");
    assert!(err.to_string().contains("PAID → REFUNDED"), "{err}");
    assert!(
        sqlx::query("DELETE FROM refunds")
            .execute(&s.app.db.pool)
            .await
            .is_err()
    );
    // Audited with course, product and tenant; analytics saw the purchase and the refund.
    let (actions, events): (Vec<String>, Vec<String>) = sqlx::query_as(
        "SELECT ARRAY(SELECT action || ' ' || (metadata ? 'courseId' AND metadata ? 'productId' AND metadata ? 'tenantId')::text
                      FROM audit_log WHERE action LIKE 'PRODUCT%' OR action LIKE 'PURCHASE%' ORDER BY id),
                ARRAY(SELECT type FROM analytics_events WHERE type IN ('purchased', 'refunded') ORDER BY occurred_at)",
    )
    .fetch_one(&s.app.db.pool)
    .await
    .expect("audit");
    assert_eq!(
        actions,
        [
            "PRODUCT_CREATED true",
            "PURCHASE_CREATED true",
            "PRODUCT_UPDATED true",
            "PURCHASE_REFUNDED true"
        ]
    );
    assert_eq!(events, ["purchased", "refunded"]);
    // The refunded learner may be granted the course again.
    let (status, _) = s
        .send(
            &s.admin,
            "POST",
            "/api/admin/purchases",
            json!({ "productId": product, "userId": s.learner_id }),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(s.lesson_status().await, 200);

    // A new product for the course: its holder of a PAID purchase pays once.
    let (status, _) = s
        .send(
            &s.admin,
            "PATCH",
            &format!("/api/admin/products/{product}"),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(status, 200);
    let newer = s.product(2900).await;
    let (status, same) = s
        .send(
            &s.admin,
            "POST",
            "/api/admin/purchases",
            json!({ "productId": newer["id"], "userId": s.learner_id }),
        )
        .await;
    assert_eq!((status, same["created"].clone()), (200, json!(false)));
    assert_eq!(
        s.scalar("SELECT count(*) FROM purchases WHERE status = 'PAID'")
            .await,
        1
    );
}

#[tokio::test]
async fn in_test_mode_twenty_racing_purchases_store_one() {
    let config = web::WebConfig {
        checkout: app::store::Checkout::TestMode,
        ..web::WebConfig::default()
    };
    let s = shop(TestApp::builder().web_config(config).start().await).await;
    let p = s.product(1500).await;
    // The pages: the course page says what access requires and offers the test purchase;
    // a lesson page sends the learner back to it.
    let html = |path: String| {
        let req = s.learner.get(s.app.url(&path));
        async move { req.send().await.expect("page").text().await.expect("html") }
    };
    let page = html(format!("/learn/{}", s.course)).await;
    assert!(page.contains("This course is sold: 15.00 EUR."), "{page}");
    assert!(page.contains("Test mode:"), "{page}");
    assert!(page.contains("Buy for 15.00 EUR (test mode)"), "{page}");
    let home = html("/learn".into()).await;
    assert!(home.contains("15.00 EUR"), "{home}");
    let back = s
        .learner
        .get(s.app.url(&format!("/learn/{}/lesson/1", s.course)))
        .send()
        .await
        .expect("lesson page");
    assert_eq!(back.status(), 303);
    assert_eq!(
        back.headers()["location"].to_str().expect("location"),
        format!("/learn/{}", s.course)
    );
    let body = json!({ "productId": p["id"] });
    let mut racing = Vec::new();
    for _ in 0..20 {
        let req = s
            .app
            .csrf_post(&s.learner, "/api/store/purchase")
            .json(&body)
            .send();
        racing.push(tokio::spawn(req));
    }
    let mut created = 0;
    for r in racing {
        let res = r.await.expect("task").expect("response");
        match res.status().as_u16() {
            201 => created += 1,
            200 => {}
            other => panic!("{other}: {:?}", error_of(res).await),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(
        s.scalar("SELECT count(*) FROM purchases WHERE status = 'PAID'")
            .await,
        1
    );
    assert_eq!(s.scalar("SELECT count(*) FROM enrollments").await, 1);
    assert_eq!(s.lesson_status().await, 200);
    // Another tenant's product is not found, even in test mode.
    let (status, _) = s
        .send(
            &s.foreign_admin,
            "POST",
            "/api/store/purchase",
            json!({ "productId": p["id"] }),
        )
        .await;
    assert_eq!(status, 404);
}
