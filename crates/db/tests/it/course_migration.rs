//! Migration 0006 moves data made before courses had rows of their own: a brief whose
//! syllabus was approved twice (two "courses" then) becomes one course, its packages are
//! renumbered in build order, one pointer survives, and what learners wrote follows.

use sqlx::{ConnectOptions, Connection, Executor};
use uuid::Uuid;

const BEFORE: [&str; 5] = [
    include_str!("../../migrations/0001_foundation.sql"),
    include_str!("../../migrations/0002_jobs.sql"),
    include_str!("../../migrations/0003_content.sql"),
    include_str!("../../migrations/0004_publishing.sql"),
    include_str!("../../migrations/0005_queue_speed.sql"),
];
const COURSES: &str = include_str!("../../migrations/0006_courses.sql");

/// A scratch database of its own (not the migrated template), dropped at the end.
struct Scratch {
    name: String,
    conn: sqlx::PgConnection,
}

impl Scratch {
    async fn new() -> Self {
        let server = test_support::server_options();
        let name = format!("cw_legacy_{}", Uuid::new_v4().simple());
        let mut admin = server
            .clone()
            .database("postgres")
            .connect()
            .await
            .expect("admin");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create");
        let conn = server.database(&name).connect().await.expect("connect");
        Self { name, conn }
    }

    async fn drop_it(self) {
        let _ = self.conn.close().await;
        let server = test_support::server_options();
        let mut admin = server.database("postgres").connect().await.expect("admin");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .expect("drop");
    }
}

#[tokio::test]
async fn a_brief_approved_twice_becomes_one_course_with_its_packages_pointer_and_learners() {
    let mut s = Scratch::new().await;
    for sql in BEFORE {
        sqlx::raw_sql(sql)
            .execute(&mut s.conn)
            .await
            .expect("old migration");
    }
    let (tenant, user, brief, draft_brief) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let (s1, s2, s3, l1, l2) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let (p1, p2) = (Uuid::new_v4(), Uuid::new_v4());
    let seed = format!(
        r#"
        INSERT INTO tenants (id, slug, name) VALUES ('{tenant}', 'acme', 'Acme');
        INSERT INTO users (id, tenant_id, email, password_hash, role) VALUES ('{user}', '{tenant}', 'l@acme.test', 'x', 'LEARNER');
        INSERT INTO briefs (id, tenant_id, body) VALUES ('{brief}', '{tenant}', '{{"title": "Pivots"}}'),
                                                         ('{draft_brief}', '{tenant}', '{{"title": "Charts"}}');
        INSERT INTO artifacts (id, tenant_id, kind, brief_id, ref_id, lineage_id, version, parent_id, status, title,
                               body, provenance, content_hash, reviewed_at, created_at)
        VALUES ('{s1}', '{tenant}', 'SYLLABUS', '{brief}', '{brief}', '{s1}', 1, NULL, 'APPROVED', 'Pivots', '{{}}', '{{}}', 'h', now() - interval '2 days', now() - interval '3 days'),
               ('{s2}', '{tenant}', 'SYLLABUS', '{brief}', '{brief}', '{s1}', 2, '{s1}', 'APPROVED', 'Pivots v2', '{{}}', '{{}}', 'h', now() - interval '1 day', now() - interval '2 days'),
               ('{s3}', '{tenant}', 'SYLLABUS', '{draft_brief}', '{draft_brief}', '{s3}', 1, NULL, 'DRAFT', 'Charts', '{{}}', '{{}}', 'h', NULL, now());
        INSERT INTO artifacts (id, tenant_id, kind, syllabus_id, ref_id, module_id, lineage_id, version, status, title,
                               body, provenance, content_hash, reviewed_at)
        VALUES ('{l1}', '{tenant}', 'LESSON', '{s1}', 'm1-l1', 'm1', '{l1}', 1, 'APPROVED', 'One', '{{}}', '{{}}', 'h', now()),
               ('{l2}', '{tenant}', 'LESSON', '{s2}', 'm1-l1', 'm1', '{l2}', 1, 'APPROVED', 'One again', '{{}}', '{{}}', 'h', now());
        INSERT INTO course_packages (id, tenant_id, syllabus_id, version, title, body, content_hash, size_bytes, created_at)
        VALUES ('{p1}', '{tenant}', '{s1}', 1, 'Pivots', '{{}}', repeat('a', 64), 2, now() - interval '2 days'),
               ('{p2}', '{tenant}', '{s2}', 1, 'Pivots v2', '{{}}', repeat('b', 64), 2, now() - interval '1 day');
        INSERT INTO published_outputs (id, tenant_id, scope, scope_ref, output_ref, package_id, promoted_at)
        VALUES (gen_random_uuid(), '{tenant}', 'COURSE', '{s1}', '{p1}', '{p1}', now() - interval '2 days'),
               (gen_random_uuid(), '{tenant}', 'COURSE', '{s2}', '{p2}', '{p2}', now() - interval '1 day');
        INSERT INTO enrollments (id, tenant_id, user_id, course_id, created_at)
        VALUES (gen_random_uuid(), '{tenant}', '{user}', '{s1}', now() - interval '2 days'),
               (gen_random_uuid(), '{tenant}', '{user}', '{s2}', now() - interval '1 day');
        INSERT INTO lesson_progress (tenant_id, user_id, course_id, lesson_id, completed, version, updated_at)
        VALUES ('{tenant}', '{user}', '{s1}', 'm1-l1', false, 1, now() - interval '2 days'),
               ('{tenant}', '{user}', '{s2}', 'm1-l1', true, 1, now() - interval '1 day');
        INSERT INTO quiz_attempts (id, tenant_id, user_id, course_id, package_id, lesson_id, answers, score, total)
        VALUES (gen_random_uuid(), '{tenant}', '{user}', '{s2}', '{p2}', 'm1-l1', '[0]', 1, 1);
        "#
    );
    sqlx::raw_sql(&seed)
        .execute(&mut s.conn)
        .await
        .expect("legacy rows");
    sqlx::raw_sql(COURSES)
        .execute(&mut s.conn)
        .await
        .expect("0006");

    let courses: Vec<(Uuid, Uuid, String)> =
        sqlx::query_as("SELECT id, brief_id, title FROM courses ORDER BY title DESC")
            .fetch_all(&mut s.conn)
            .await
            .expect("courses");
    assert_eq!(
        courses,
        vec![
            (s1, brief, "Pivots".to_owned()),
            (draft_brief, draft_brief, "Charts".to_owned())
        ],
        "one course per brief, keyed by its first approved syllabus when it has one"
    );
    let of_course: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT id, course_id FROM artifacts ORDER BY created_at, id")
            .fetch_all(&mut s.conn)
            .await
            .expect("artifacts");
    for (id, course) in of_course {
        let expected = if id == s3 { draft_brief } else { s1 };
        assert_eq!(course, expected, "artifact {id}");
    }
    let packages: Vec<(Uuid, i32, Uuid)> =
        sqlx::query_as("SELECT id, version, course_id FROM course_packages ORDER BY version")
            .fetch_all(&mut s.conn)
            .await
            .expect("packages");
    assert_eq!(
        packages,
        vec![(p1, 1, s1), (p2, 2, s1)],
        "renumbered in build order"
    );
    let pointers: Vec<(Uuid, String, Uuid)> =
        sqlx::query_as("SELECT course_id, scope_ref, package_id FROM published_outputs")
            .fetch_all(&mut s.conn)
            .await
            .expect("pointers");
    assert_eq!(
        pointers,
        vec![(s1, s1.to_string(), p2)],
        "the newest move wins"
    );
    let enrollments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrollments WHERE course_id = $1")
            .bind(s1)
            .fetch_one(&mut s.conn)
            .await
            .expect("enrollments");
    assert_eq!(enrollments, 1);
    let progress: Vec<(Uuid, bool)> =
        sqlx::query_as("SELECT course_id, completed FROM lesson_progress")
            .fetch_all(&mut s.conn)
            .await
            .expect("progress");
    assert_eq!(
        progress,
        vec![(s1, true)],
        "the newest state of the lesson is kept"
    );
    let attempts: Uuid = sqlx::query_scalar("SELECT course_id FROM quiz_attempts")
        .fetch_one(&mut s.conn)
        .await
        .expect("attempt");
    assert_eq!(attempts, s1);
    // The pointer is unique per course now, and a second brief can get one of its own.
    let unique: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'published_outputs_course_scope_key'",
    )
    .fetch_one(&mut s.conn)
    .await
    .expect("constraint");
    assert_eq!(unique, "UNIQUE (tenant_id, course_id, scope, scope_ref)");
    s.drop_it().await;
}
