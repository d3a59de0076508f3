//! Analytics events over HTTP: batches from the browser, validated one by one, idempotent
//! by id, named by the session only; and the events the server records with the actions it
//! witnesses, in the same transaction.

use domain::Role;
use reqwest::Client;
use serde_json::{Value, json};
use test_support::actor_of;
use uuid::Uuid;

use crate::support::{TestApp, error_of};

struct Fixture {
    app: TestApp,
    admin: Client,
    learner: Client,
    learner_id: Uuid,
    course: Uuid,
    /// Another tenant's published course.
    foreign: Uuid,
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

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
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
    let (gadmin, gadmin_user) = app
        .signed_in(&globex, "admin@globex.test", Role::Admin)
        .await;
    let foreign = app
        .approved_course(&actor_of(&gadmin_user), "Globex onboarding", 1)
        .await
        .course_id;
    publish(&app, &gadmin, foreign).await;
    Fixture {
        app,
        admin,
        learner,
        learner_id: learner_user.id,
        course,
        foreign,
    }
}

impl Fixture {
    async fn send(&self, body: &Value) -> reqwest::Response {
        self.app
            .csrf_post(&self.learner, "/api/analytics/event")
            .json(body)
            .send()
            .await
            .expect("request")
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.app
            .csrf_post(&self.learner, path)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// (type, lesson index, value) of every stored event, in a stable order.
    async fn events(&self) -> Vec<(String, Option<i32>, Option<i32>)> {
        sqlx::query_as(
            "SELECT type, lesson_index, value FROM analytics_events
             ORDER BY received_at, type, lesson_index NULLS FIRST, value NULLS FIRST",
        )
        .fetch_all(&self.app.db.pool)
        .await
        .expect("events")
    }

    async fn count(&self, kind: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM analytics_events WHERE type = $1")
            .bind(kind)
            .fetch_one(&self.app.db.pool)
            .await
            .expect("count")
    }
}

fn event(kind: &str, course: Uuid, extra: Value) -> Value {
    let mut e = json!({ "id": Uuid::new_v4(), "type": kind, "courseId": course });
    if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    e
}

#[tokio::test]
async fn a_batch_keeps_its_good_events_rejects_the_rest_by_name_and_a_retry_stores_nothing_twice() {
    let f = fixture().await;
    let c = f.course;
    let two_days_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let batch = json!({ "events": [
        event("course_viewed", c, json!({})),
        event("lesson_viewed", c, json!({ "lessonIndex": 1 })),
        event("lesson_time", c, json!({ "lessonIndex": 1, "seconds": 15 })),
        event("page_viewed", c, json!({})),
        event("enrolled", c, json!({})),
        event("course_viewed", f.foreign, json!({})),
        event("lesson_viewed", c, json!({ "lessonIndex": 99 })),
        event("lesson_time", c, json!({ "lessonIndex": 1 })),
        { "id": "not-a-uuid", "type": "course_viewed", "courseId": c },
        event("course_viewed", c, json!({ "occurredAt": two_days_ago })),
        event("course_viewed", c, json!({ "colour": "blue" })),
    ]});
    let res = f.send(&batch).await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["duplicates"], 0);
    let codes: Vec<(u64, &str)> = answer["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().expect("index"),
                r["code"].as_str().expect("code"),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (3, "unknown_type"),
            (4, "server_recorded"),
            (5, "unknown_course"),
            (6, "unknown_lesson"),
            (7, "bad_seconds"),
            (8, "bad_id"),
            (9, "bad_time"),
            (10, "unknown_field"),
        ]
    );
    assert_eq!(
        f.events().await,
        [
            ("course_viewed".into(), None, None),
            ("lesson_time".into(), Some(1), Some(15)),
            ("lesson_viewed".into(), Some(1), None),
        ]
    );
    let (user, tenant_ok): (Uuid, bool) = sqlx::query_as(
        "SELECT user_id, bool_and(tenant_id = (SELECT tenant_id FROM users WHERE id = user_id))
         FROM analytics_events GROUP BY user_id",
    )
    .fetch_one(&f.app.db.pool)
    .await
    .expect("who");
    assert_eq!(
        (user, tenant_ok),
        (f.learner_id, true),
        "the session names who sent them"
    );

    // The same batch again (a retry after a lost answer) stores nothing.
    let again: Value = f.send(&batch).await.json().await.expect("json");
    assert_eq!(
        (again["accepted"].clone(), again["duplicates"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(f.events().await.len(), 3);
    // One id twice in a batch: the second is refused.
    let e = event("course_viewed", c, json!({}));
    let answer: Value = f
        .send(&json!({ "events": [e, e] }))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["rejected"][0]["code"], "duplicate_id");
}

#[tokio::test]
async fn a_batch_that_names_a_user_or_breaks_its_shape_is_refused_whole() {
    let f = fixture().await;
    let c = f.course;
    let good = event("course_viewed", c, json!({}));
    let refused = [
        json!({ "userId": Uuid::new_v4(), "events": [good] }),
        json!({ "events": [good, event("course_viewed", c, json!({ "userId": f.learner_id }))] }),
        json!({ "events": [event("course_viewed", c, json!({ "tenantId": Uuid::new_v4() }))] }),
        json!({ "events": [] }),
        json!({ "events": (0..101).map(|_| event("course_viewed", c, json!({}))).collect::<Vec<_>>() }),
        json!({ "events": good }),
        json!([good]),
        json!({ "events": [good], "extra": 1 }),
    ];
    for body in refused {
        let (status, code, message) = error_of(f.send(&body).await).await;
        assert_eq!(
            (status, code.as_str()),
            (422, "validation_failed"),
            "{body}: {message}"
        );
    }
    assert!(
        f.events().await.is_empty(),
        "a refused batch stores nothing"
    );

    // A NUL, a body over the limit, no session, another method.
    let res = f
        .app
        .csrf_post(&f.learner, "/api/analytics/event")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"events":[{{"id":"{}","type":"course_viewed\u0000","courseId":"{c}"}}]}}"#,
            Uuid::new_v4()
        ))
        .send()
        .await
        .expect("request");
    let (status, _, _) = error_of(res).await;
    assert!(status == 400 || status == 422, "{status}");
    let big =
        json!({ "events": [event("course_viewed", c, json!({ "pad": "x".repeat(1 << 20) }))] });
    let (status, code, _) = error_of(f.send(&big).await).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    let anonymous = f.app.new_client();
    let res = f
        .app
        .csrf_post(&anonymous, "/api/analytics/event")
        .json(&json!({ "events": [good] }))
        .send()
        .await
        .expect("request");
    assert_eq!(error_of(res).await.0, 401);
    let res = f
        .learner
        .get(f.app.url("/api/analytics/event"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 405, "write-only");
    assert!(
        res.headers()["allow"]
            .to_str()
            .expect("allow")
            .contains("POST")
    );
    assert!(f.events().await.is_empty());

    // Past 120 batches in a minute: 429 with Retry-After, nothing stored.
    sqlx::query(
        "INSERT INTO analytics_ingest_windows (user_id, window_start, batches)
         VALUES ($1, date_trunc('minute', now()), 120)
         ON CONFLICT (user_id, window_start) DO UPDATE SET batches = 120",
    )
    .bind(f.learner_id)
    .execute(&f.app.db.pool)
    .await
    .expect("fill the window");
    let res = f.send(&json!({ "events": [good] })).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("h")
        .parse()
        .expect("secs");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(error_of(res).await.0, 429);
    assert!(f.events().await.is_empty());
}

#[tokio::test]
async fn the_server_records_what_it_witnesses_with_the_action_and_only_then() {
    let f = fixture().await;
    let c = f.course;
    // Refused actions record nothing.
    let res = f
        .post(
            "/api/learn/quiz-attempts",
            json!({ "courseId": c, "lessonIndex": 1, "answers": [0, 0, 0] }),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(f.events().await.is_empty());

    assert_eq!(
        f.post("/api/learn/enroll", json!({ "courseId": c }))
            .await
            .status(),
        201
    );
    assert_eq!(
        f.post("/api/learn/enroll", json!({ "courseId": c }))
            .await
            .status(),
        200
    );
    assert_eq!(
        f.count("enrolled").await,
        1,
        "a repeated enrollment is not a second one"
    );

    for completed in [true, true, false, true] {
        let res = f
            .post(
                "/api/learn/progress",
                json!({ "courseId": c, "lessonIndex": 1, "completed": completed }),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        f.count("lesson_completed").await,
        2,
        "each time it becomes completed"
    );

    // The answers, as staff see them.
    let package: Value = f
        .admin
        .get(f.app.url(&format!("/api/courses/{c}/1")))
        .send()
        .await
        .expect("package")
        .json()
        .await
        .expect("json");
    let questions = package["package"]["quizzes"][0]["questions"]
        .as_array()
        .or_else(|| package["quizzes"][0]["questions"].as_array())
        .unwrap_or_else(|| panic!("quiz questions in {package}"))
        .clone();
    let right: Vec<u64> = questions
        .iter()
        .map(|q| q["correctIndex"].as_u64().expect("i"))
        .collect();
    let wrong: Vec<u64> = right.iter().map(|r| (r + 1) % 4).collect();
    for answers in [&right, &wrong] {
        let res = f
            .post(
                "/api/learn/quiz-attempts",
                json!({ "courseId": c, "lessonIndex": 1, "answers": answers }),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    let quiz: Vec<(String, Option<i32>, Option<i32>)> = f
        .events()
        .await
        .into_iter()
        .filter(|e| e.0.starts_with("quiz"))
        .collect();
    assert_eq!(
        quiz,
        [
            ("quiz_attempted".into(), Some(1), Some(100)),
            ("quiz_passed".into(), Some(1), Some(100)),
            ("quiz_attempted".into(), Some(1), Some(0)),
        ]
    );

    let res = f
        .learner
        .get(
            f.app
                .url(&format!("/api/learn/courses/{c}/export/scorm12.zip")),
        )
        .send()
        .await
        .expect("export");
    assert_eq!(res.status(), 200);
    assert_eq!(f.count("export_downloaded").await, 1);
}

#[tokio::test]
async fn an_event_that_cannot_be_stored_takes_its_action_with_it() {
    let f = fixture().await;
    // No partition for this month: the enrollment's event cannot be written, so the
    // enrollment is not written either.
    let month = time::OffsetDateTime::now_utc();
    let part = format!(
        "analytics_events_y{}m{:02}",
        month.year(),
        u8::from(month.month())
    );
    sqlx::raw_sql(&format!("DROP TABLE {part}"))
        .execute(&f.app.db.pool)
        .await
        .expect("drop this month's partition");
    let res = f
        .post("/api/learn/enroll", json!({ "courseId": f.course }))
        .await;
    assert!(res.status().is_server_error(), "{}", res.status());
    assert_eq!(f.app.count("enrollments").await, 0);
    assert!(
        !f.app
            .audit_actions()
            .await
            .iter()
            .any(|a| a == "ENROLLMENT_CREATED")
    );

    // The scheduled job's function puts the partition back; then it all works.
    let created = db::analytics::ensure_partitions_ahead(&f.app.db.app_pool, 3)
        .await
        .expect("the runtime role may create partitions through the function");
    assert!(created.contains(&part), "{created:?}");
    let res = f
        .post("/api/learn/enroll", json!({ "courseId": f.course }))
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(f.count("enrolled").await, 1);
}

#[tokio::test]
async fn admins_read_aggregates_of_their_own_courses_only() {
    let f = fixture().await;
    let c = f.course;
    assert_eq!(
        f.post("/api/learn/enroll", json!({ "courseId": c }))
            .await
            .status(),
        201
    );
    let batch = json!({ "events": [
        event("course_viewed", c, json!({})),
        event("lesson_viewed", c, json!({ "lessonIndex": 1 })),
        event("lesson_time", c, json!({ "lessonIndex": 1, "seconds": 40 })),
    ]});
    assert_eq!(f.send(&batch).await.status(), 200);
    let run = db::analytics::aggregate_daily(&f.app.db.app_pool)
        .await
        .expect("aggregate");
    assert!(run.days >= 1, "{run:?}");

    let url = |q: &str| f.app.url(&format!("/api/admin/analytics/course/{c}{q}"));
    let res = f.admin.get(url("")).send().await.expect("report");
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("body");
    assert!(
        !text.contains(&f.learner_id.to_string()),
        "no learner in a report: {text}"
    );
    let report: Value = serde_json::from_str(&text).expect("json");
    let day = &report["days"][0];
    assert_eq!(
        (
            day["views"].clone(),
            day["learners"].clone(),
            day["enrollments"].clone()
        ),
        (json!(2), json!(1), json!(1)),
        "{report}"
    );
    assert_eq!(day["activeSeconds"], 40);
    assert_eq!(report["lessons"][0]["lessonIndex"], 1);
    assert_eq!(report["lessons"][0]["views"], 1);

    // Only admins, only their tenant's courses, only GET, only sensible ranges.
    assert_eq!(
        f.learner.get(url("")).send().await.expect("r").status(),
        403
    );
    let res = f.admin.get(
        f.app
            .url(&format!("/api/admin/analytics/course/{}", f.foreign)),
    );
    assert_eq!(res.send().await.expect("r").status(), 404);
    let res = f
        .app
        .csrf_post(&f.admin, &format!("/api/admin/analytics/course/{c}"))
        .json(&json!({}));
    let res = res.send().await.expect("r");
    assert_eq!(res.status(), 405);
    assert!(
        res.headers()["allow"]
            .to_str()
            .expect("allow")
            .contains("GET")
    );
    for q in [
        "?from=yesterday",
        "?from=2026-12-02&to=2026-12-01",
        "?from=2020-01-01&to=2026-12-01",
        "?to=-9999-01-01",
        "?from=-5000-01-01&to=-5000-01-02",
        "?from=1899-12-31&to=1900-01-01",
    ] {
        let (status, code, message) = error_of(f.admin.get(url(q)).send().await.expect("r")).await;
        assert_eq!(
            (status, code.as_str()),
            (422, "validation_failed"),
            "{q}: {message}"
        );
    }
    let empty: Value = f
        .admin
        .get(url("?from=2026-01-01&to=2026-01-31"))
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("json");
    assert_eq!(empty["days"], json!([]));

    // The funnel: one learner viewed and enrolled; completing every lesson completes it.
    let funnel = |f: &Fixture| {
        let req = f
            .admin
            .get(f.app.url(&format!("/api/admin/analytics/funnel/{c}")));
        async move {
            req.send()
                .await
                .expect("r")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let before = funnel(&f).await;
    assert_eq!(
        (
            before["viewed"].clone(),
            before["viewedEnrolled"].clone(),
            before["viewedEnrolledCompleted"].clone()
        ),
        (json!(1), json!(1), json!(0)),
        "{before}"
    );
    let lessons = before["lessons"].as_u64().expect("lessons");
    assert_eq!(
        before["reach"].as_array().map(Vec::len),
        Some(lessons as usize)
    );
    assert_eq!(before["reach"][0], 1);
    assert_eq!(before["reach"][1], 0);
    for i in 1..=lessons {
        let res = f
            .post(
                "/api/learn/progress",
                json!({ "courseId": c, "lessonIndex": i, "completed": true }),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    db::analytics::aggregate_daily(&f.app.db.app_pool)
        .await
        .expect("again");
    let after = funnel(&f).await;
    assert_eq!(after["viewedEnrolledCompleted"], 1, "{after}");
    assert_eq!(after["reach"][lessons as usize - 1], 1);
    assert_eq!(after["purchased"], 0, "no purchases exist yet");
    assert_eq!(
        f.learner
            .get(f.app.url(&format!("/api/admin/analytics/funnel/{c}")))
            .send()
            .await
            .expect("r")
            .status(),
        403
    );
    // Running again over the same events changes nothing.
    db::analytics::aggregate_daily(&f.app.db.app_pool)
        .await
        .expect("third");
    assert_eq!(funnel(&f).await, after);
}

/// Stores, for the week starting `monday`, `learners` learners who view lesson 1, `onward`
/// of whom also reach the last lesson, and `attempts` attempts at lesson 1's quiz of which
/// `passes` pass; every event on the week's Wednesday.
#[allow(clippy::too_many_arguments)]
async fn week_of_events(
    f: &Fixture,
    tag: u32,
    monday: time::Date,
    lessons: &[String],
    learners: i32,
    onward: i32,
    attempts: i32,
    passes: i32,
) {
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM courses WHERE id = $1")
        .bind(f.course)
        .fetch_one(&f.app.db.pool)
        .await
        .expect("tenant");
    let wednesday = (monday + time::Duration::days(2)).midnight().assume_utc();
    let last = lessons.len() as i32;
    sqlx::query(
        "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, lesson_id,
                                       lesson_index, type, value, occurred_at)
         SELECT gen_random_uuid(), $1, md5($3::text || '-' || u)::uuid, $2, 1, $4::text, 1,
                'lesson_viewed', NULL::int, $5 + make_interval(mins => u)
           FROM generate_series(1, $6) AS u
         UNION ALL
         SELECT gen_random_uuid(), $1, md5($3::text || '-' || u)::uuid, $2, 1, $7::text, $8::int,
                'lesson_viewed', NULL::int, $5 + make_interval(mins => u + 1)
           FROM generate_series(1, $9) AS u
         UNION ALL
         SELECT gen_random_uuid(), $1, md5($3::text || '-' || u)::uuid, $2, 1, $4, 1,
                'quiz_attempted', 50, $5 + make_interval(mins => u + 2)
           FROM generate_series(1, $10) AS u
         UNION ALL
         SELECT gen_random_uuid(), $1, md5($3::text || '-' || u)::uuid, $2, 1, $4, 1,
                'quiz_passed', 90, $5 + make_interval(mins => u + 2)
           FROM generate_series(1, $11) AS u",
    )
    .bind(tenant)
    .bind(f.course)
    .bind(tag as i32)
    .bind(&lessons[0])
    .bind(wednesday)
    .bind(learners)
    .bind(&lessons[lessons.len() - 1])
    .bind(last)
    .bind(onward)
    .bind(attempts)
    .bind(passes)
    .execute(&f.app.db.pool)
    .await
    .expect("events");
}

#[tokio::test]
async fn signals_fire_past_their_thresholds_once_per_week_and_show_to_their_tenant_only() {
    let f = fixture().await;
    let c = f.course;
    db::analytics::ensure_partitions_ahead(&f.app.db.pool, 1)
        .await
        .expect("partitions");
    let tenant: Uuid = sqlx::query_scalar("SELECT tenant_id FROM courses WHERE id = $1")
        .bind(c)
        .fetch_one(&f.app.db.pool)
        .await
        .expect("tenant");
    let (_, lessons) = db::analytics::active_lessons(&f.app.db.pool, tenant, c)
        .await
        .expect("lessons")
        .expect("published");
    assert!(lessons.len() >= 2, "{lessons:?}");
    let now = time::OffsetDateTime::now_utc();
    let weeks = domain::analytics::signals::settled_windows(now, 2);
    let (newest, older) = (weeks[0], weeks[1]);
    // The newest week sits exactly at the thresholds (40 → 28 is a 30% drop; 10 of 20
    // attempts is a 50% pass rate): nothing. The week before is one learner and one pass
    // past them: a drop-off on the last lesson's path and a low pass rate on lesson 1's quiz.
    week_of_events(&f, 1, newest.0, &lessons, 40, 28, 20, 10).await;
    week_of_events(&f, 2, older.0, &lessons, 40, 27, 20, 9).await;
    db::analytics::aggregate_daily(&f.app.db.app_pool)
        .await
        .expect("aggregate");
    let thresholds = domain::analytics::signals::Thresholds::default();
    let run = db::analytics::find_signals(&f.app.db.app_pool, &thresholds, now)
        .await
        .expect("signals");
    assert_eq!((run.found, run.stored), (2, 2), "{run:?}");
    let again = db::analytics::find_signals(&f.app.db.app_pool, &thresholds, now)
        .await
        .expect("again");
    assert_eq!((again.found, again.stored), (2, 0), "a re-run adds nothing");

    let stored: Vec<(String, String, String, time::Date, String, Value)> = sqlx::query_as(
        "SELECT type, target_kind, target_ref, window_start, severity, evidence
         FROM analytics_signals ORDER BY type",
    )
    .fetch_all(&f.app.db.pool)
    .await
    .expect("signals");
    assert_eq!(stored.len(), 2, "{stored:?}");
    let (kind, target, target_ref, start, severity, evidence) = &stored[0];
    assert_eq!(
        (
            kind.as_str(),
            target.as_str(),
            target_ref,
            *start,
            severity.as_str()
        ),
        ("HIGH_DROP_OFF", "LESSON", &lessons[1], older.0, "MEDIUM")
    );
    assert_eq!(
        (evidence["previousReach"].clone(), evidence["reach"].clone()),
        (json!(40), json!(27))
    );
    assert_eq!(evidence["dropPercent"], 32.5);
    let (kind, target, target_ref, _, _, evidence) = &stored[1];
    assert_eq!(
        (kind.as_str(), target.as_str(), target_ref),
        ("LOW_QUIZ_PASS_RATE", "QUIZ", &lessons[0])
    );
    assert_eq!(
        (evidence["attempts"].clone(), evidence["passes"].clone()),
        (json!(20), json!(9))
    );

    // Stored signals are never changed, and only retention deletes them, once a year old.
    for sql in [
        "UPDATE analytics_signals SET severity = 'HIGH'",
        "DELETE FROM analytics_signals",
    ] {
        let err = sqlx::query(sql)
            .execute(&f.app.db.pool)
            .await
            .expect_err(sql);
        assert!(err.to_string().contains("insert-only"), "{sql}: {err}");
    }
    sqlx::query(
        "INSERT INTO analytics_signals (tenant_id, course_id, type, target_kind, target_ref,
             window_start, window_end, severity, evidence, version)
         VALUES ($1, $2, 'LOW_COMPLETION', 'COURSE', 'course', current_date - 373,
                 current_date - 366, 'HIGH', '{}', 1)",
    )
    .bind(tenant)
    .bind(c)
    .execute(&f.app.db.pool)
    .await
    .expect("a year-old signal");
    let dry = db::analytics::apply_retention(&f.app.db.app_pool, true)
        .await
        .expect("dry run");
    assert_eq!((dry.dry_run, dry.signal_rows), (true, 1), "{dry:?}");
    let kept = db::analytics::apply_retention(&f.app.db.app_pool, false)
        .await
        .expect("retention");
    assert_eq!(kept.signal_rows, 1, "{kept:?}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics_signals")
        .fetch_one(&f.app.db.pool)
        .await
        .expect("count");
    assert_eq!(left, 2, "this year's signals stay");

    // Over HTTP: the course's admins only, dates as dates, each with its sentence.
    let url = f.app.url(&format!("/api/admin/analytics/signals/{c}"));
    let body: Value = f
        .admin
        .get(&url)
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("json");
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{body}");
    assert_eq!(items[0]["windowStart"], json!(older.0.to_string()));
    assert!(
        items.iter().any(|s| s["headline"]
            == "The quiz of lesson 1 passes 9 of 20 attempts: 45% (threshold 50%)."),
        "{body}"
    );
    assert_eq!(f.learner.get(&url).send().await.expect("r").status(), 403);
    let foreign = f
        .app
        .url(&format!("/api/admin/analytics/signals/{}", f.foreign));
    assert_eq!(f.admin.get(&foreign).send().await.expect("r").status(), 404);

    // The dashboard: the course in the overview, its signals and charts on its page.
    let page = |path: String| {
        let req = f.admin.get(f.app.url(&path));
        async move {
            let res = req.send().await.expect("page");
            (res.status().as_u16(), res.text().await.expect("html"))
        }
    };
    let (status, home) = page("/admin/analytics".into()).await;
    assert_eq!(status, 200);
    assert!(
        home.contains(&format!("href=\"/admin/analytics/{c}\"")),
        "{home}"
    );
    assert!(
        !home.contains("Globex onboarding"),
        "another tenant's course"
    );
    let from = older.0;
    let (status, html) = page(format!("/admin/analytics/{c}?from={from}&to={}", newest.1)).await;
    assert_eq!(status, 200);
    for needle in [
        "High drop-off",
        "Low quiz pass rate",
        r#"<svg class="chart" id="activity""#,
        r#"<svg class="chart" id="reach""#,
        r#"<svg class="chart" id="quizzes""#,
        "<title id=\"quizzes-t\">",
        "passes 9 of 20 attempts",
    ] {
        assert!(html.contains(needle), "{needle} is missing");
    }
    assert!(
        !html.contains(&f.learner_id.to_string()),
        "no learner on the dashboard"
    );
    let (status, _) = page(format!("/admin/analytics/{}", f.foreign)).await;
    assert_eq!(status, 404);
    let res = f
        .learner
        .get(f.app.url(&format!("/admin/analytics/{c}")))
        .send()
        .await
        .expect("r");
    assert_eq!(res.status(), 403);
    let (status, _) = page(format!("/admin/analytics/{c}?from=soon")).await;
    assert_eq!(status, 422);
}
