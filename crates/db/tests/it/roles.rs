//! The runtime role: what the policy grants, what it refuses, and that it is enough.

use std::time::Duration;

use db::audit::Verification;
use db::jobs::{Created, NewJob, NewOutput, Start};
use db::roles::{self, POLICY, Update};
use domain::{Email, JobKind, Role, TenantName, TenantSlug};
use serde_json::json;
use test_support::{TEST_RUNTIME_ROLE, TestDatabase};

/// The SQLSTATE of a failed statement.
fn code(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(e) => e.code().map(|c| c.into_owned()).unwrap_or_default(),
        other => panic!("not a database error: {other}"),
    }
}

/// Runs `sql` as the runtime role and asserts PostgreSQL refused it for lack of privilege.
async fn refused(db: &TestDatabase, sql: &str) -> String {
    let err = sqlx::raw_sql(sql)
        .execute(&db.app_pool)
        .await
        .expect_err(sql);
    assert_eq!(code(&err), "42501", "{sql}: {err}");
    err.to_string()
}

async fn tenant_and_admin(pool: &db::PgPool) -> (uuid::Uuid, uuid::Uuid) {
    let tenant = db::tenants::create(
        pool,
        &TenantSlug::parse("acme").expect("slug"),
        &TenantName::parse("Acme").expect("name"),
    )
    .await
    .expect("tenant");
    let admin = db::users::create(
        pool,
        db::users::NewUser {
            tenant_id: tenant.id,
            email: &Email::parse("admin@acme.test").expect("email"),
            display_name: "Admin",
            role: Role::Admin,
            password_hash: "not-a-real-hash",
            is_platform_owner: false,
        },
    )
    .await
    .expect("admin");
    (tenant.id, admin.id)
}

/// A package version stored through the data layer as the runtime role (any body will do:
/// the database checks its hash and size, not its shape), published when `publish`.
async fn store_package(
    pool: &db::PgPool,
    tenant: uuid::Uuid,
    course: uuid::Uuid,
    admin: uuid::Uuid,
    publish: bool,
) -> db::packages::PackageRow {
    let syllabus = db::artifacts::newest_approved_syllabus(pool, tenant, course)
        .await
        .expect("syllabus")
        .expect("an approved syllabus");
    let mut tx = pool.begin().await.expect("begin");
    assert!(
        db::packages::try_lock_builds(&mut tx, course)
            .await
            .expect("lock")
    );
    let version = db::packages::next_version(&mut tx, course)
        .await
        .expect("next");
    let body = json!({ "title": "Pivots", "version": version });
    let row = db::packages::insert(
        &mut tx,
        db::packages::NewPackage {
            tenant_id: tenant,
            course_id: course,
            syllabus_id: syllabus.id,
            version,
            title: "Pivots",
            body: &body,
            content_hash: &"a".repeat(64),
            size_bytes: 40,
            created_by: Some(admin),
        },
    )
    .await
    .expect("insert package");
    if publish {
        db::packages::point_course(&mut tx, tenant, course, row.id, admin)
            .await
            .expect("publish");
    }
    tx.commit().await.expect("commit");
    row
}

#[tokio::test]
async fn every_table_and_function_in_the_schema_has_a_grant_policy() {
    let db = TestDatabase::new().await;
    let mut conn = db.pool.acquire().await.expect("conn");
    let schema = roles::schema_objects(&mut conn).await.expect("schema");
    assert!(schema.tables.len() >= 20, "{schema:?}");
    let (unclassified, stale) = roles::compare(&schema);
    assert!(
        unclassified.is_empty(),
        "not in db::roles::POLICY / FUNCTIONS: {unclassified:?}; decide what the runtime role may do with each (insert-only tables get no UPDATE or DELETE)"
    );
    assert!(
        stale.is_empty(),
        "db::roles names what the schema does not have: {stale:?}"
    );
}

#[tokio::test]
async fn no_table_whose_triggers_refuse_updates_or_deletes_is_granted_them() {
    let db = TestDatabase::new().await;
    // tgtype bits: 2 BEFORE, 8 DELETE, 16 UPDATE. Partitions carry their parent's triggers
    // and are reached through it, so the parent's policy is theirs.
    let guarded: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, bool_or(t.tgtype & 18 = 18), bool_or(t.tgtype & 10 = 10)
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE NOT t.tgisinternal AND NOT c.relispartition GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("triggers");
    for name in [
        "analytics_events",
        "audit_log",
        "briefs",
        "course_packages",
        "jobs",
        "quiz_attempts",
    ] {
        assert!(guarded.iter().any(|(t, ..)| t == name), "{guarded:?}");
    }
    for (table, guards_update, guards_delete) in guarded {
        let p = POLICY
            .iter()
            .find(|p| p.table == table)
            .unwrap_or_else(|| panic!("{table} has no policy"));
        if guards_update {
            assert!(
                p.update != Update::Any,
                "{table} has a BEFORE UPDATE trigger, so the runtime role may update at most the columns it allows"
            );
        }
        if guards_delete {
            assert!(
                !p.delete,
                "{table} refuses DELETE, so the runtime role gets none"
            );
        }
    }
}

#[tokio::test]
async fn the_runtime_role_holds_exactly_the_privileges_the_policy_names() {
    let db = TestDatabase::new().await;
    let has = |sql: &'static str| {
        let pool = db.pool.clone();
        move |table: String, what: String| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, bool>(sql)
                    .bind(TEST_RUNTIME_ROLE)
                    .bind(&table)
                    .bind(&what)
                    .fetch_one(&pool)
                    .await
                    .expect("privilege")
            }
        }
    };
    let table = has("SELECT has_table_privilege($1, $2, $3)");
    let column = has("SELECT has_any_column_privilege($1, $2, $3)");
    for p in POLICY {
        let t = p.table.to_owned();
        assert!(table(t.clone(), "SELECT".into()).await, "{t}");
        assert_eq!(
            table(t.clone(), "INSERT".into()).await,
            p.insert,
            "{t} INSERT"
        );
        assert_eq!(
            table(t.clone(), "DELETE".into()).await,
            p.delete,
            "{t} DELETE"
        );
        assert_eq!(
            table(t.clone(), "UPDATE".into()).await,
            p.update == Update::Any,
            "{t} UPDATE of every column"
        );
        assert_eq!(
            column(t.clone(), "UPDATE".into()).await,
            p.update != Update::Never,
            "{t} UPDATE of some column"
        );
        for never in ["TRUNCATE", "REFERENCES", "TRIGGER"] {
            assert!(!table(t.clone(), never.into()).await, "{t} {never}");
        }
    }
    // Column grants are exact: a reviewer's UPDATE reaches the review columns, not the body.
    let col: bool =
        sqlx::query_scalar("SELECT has_column_privilege($1, 'artifacts', 'body', 'UPDATE')")
            .bind(TEST_RUNTIME_ROLE)
            .fetch_one(&db.pool)
            .await
            .expect("column");
    assert!(!col);
    let (create, superuser): (bool, bool) = sqlx::query_as(
        "SELECT has_schema_privilege($1, 'public', 'CREATE'), rolsuper FROM pg_roles WHERE rolname = $1",
    )
    .bind(TEST_RUNTIME_ROLE)
    .fetch_one(&db.pool)
    .await
    .expect("role");
    assert!(!create && !superuser);
    let report = roles::report(&db.app_pool).await.expect("report");
    assert_eq!(report.role, TEST_RUNTIME_ROLE);
    assert!(!report.owner && !report.superuser, "{report:?}");
    assert!(roles::report(&db.pool).await.expect("report").superuser);
}

#[tokio::test]
async fn the_runtime_role_cannot_update_or_delete_the_audit_log() {
    let db = TestDatabase::new().await;
    let (tenant, _) = tenant_and_admin(&db.app_pool).await;
    db::audit::record_alone(
        &db.app_pool,
        db::audit::AuditEvent::new(domain::AuditAction::UserCreated, "user", 1).tenant(tenant),
    )
    .await;
    db::audit::seal(&db.app_pool).await.expect("seal");
    for sql in [
        "UPDATE audit_log SET action = 'LOGOUT'",
        "DELETE FROM audit_log",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
    ] {
        let e = refused(&db, sql).await;
        assert!(e.contains("permission denied"), "{sql}: {e}");
    }
    assert_eq!(
        db::audit::verify(&db.app_pool).await.expect("verify"),
        Verification::Intact { rows: 1 }
    );
}

#[tokio::test]
async fn the_runtime_role_cannot_update_an_approved_artifact() {
    let db = TestDatabase::new().await;
    let (tenant, admin) = tenant_and_admin(&db.app_pool).await;
    let course =
        test_support::seed::seed_approved_course(&db.app_pool, tenant, admin, "Spreadsheets", 2)
            .await;
    let syllabus = db::artifacts::newest_approved_syllabus(&db.pool, tenant, course)
        .await
        .expect("query")
        .expect("syllabus")
        .id;
    // A column outside its grant: refused by the privilege system.
    let body = refused(
        &db,
        &format!("UPDATE artifacts SET body = '{{}}' WHERE id = '{syllabus}'"),
    )
    .await;
    assert!(body.contains("permission denied"), "{body}");
    // A review column it may write: refused by the trigger, because the row is approved.
    let status = refused(
        &db,
        &format!("UPDATE artifacts SET status = 'REJECTED' WHERE id = '{syllabus}'"),
    )
    .await;
    assert!(status.contains("immutable"), "{status}");
    let still: String = sqlx::query_scalar("SELECT status FROM artifacts WHERE id = $1")
        .bind(syllabus)
        .fetch_one(&db.pool)
        .await
        .expect("status");
    assert_eq!(still, "APPROVED");
}

#[tokio::test]
async fn the_runtime_role_cannot_delete_a_course_package() {
    let db = TestDatabase::new().await;
    let (tenant, admin) = tenant_and_admin(&db.app_pool).await;
    let course =
        test_support::seed::seed_approved_course(&db.app_pool, tenant, admin, "Pivots", 2).await;
    let built = store_package(&db.app_pool, tenant, course, admin, false).await;
    let e = refused(
        &db,
        &format!("DELETE FROM course_packages WHERE id = '{}'", built.id),
    )
    .await;
    assert!(e.contains("permission denied"), "{e}");
    let e = refused(
        &db,
        &format!(
            "UPDATE course_packages SET title = 'x' WHERE id = '{}'",
            built.id
        ),
    )
    .await;
    assert!(e.contains("permission denied"), "{e}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM course_packages")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(left, 1);
}

#[tokio::test]
async fn the_runtime_role_cannot_disable_a_trigger() {
    let db = TestDatabase::new().await;
    for sql in [
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
        "ALTER TABLE artifacts DISABLE TRIGGER ALL",
        "ALTER TABLE course_packages DISABLE TRIGGER course_packages_no_delete",
        "SET session_replication_role = replica",
    ] {
        let e = refused(&db, sql).await;
        assert!(
            e.contains("must be owner") || e.contains("permission denied"),
            "{sql}: {e}"
        );
    }
    let enabled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("triggers");
    assert_eq!(enabled, 0, "every trigger stays enabled");
}

#[tokio::test]
async fn the_runtime_role_cannot_truncate_any_table() {
    let db = TestDatabase::new().await;
    for p in POLICY {
        let e = refused(&db, &format!("TRUNCATE {}", p.table)).await;
        assert!(e.contains("permission denied"), "{}: {e}", p.table);
    }
}

#[tokio::test]
async fn the_runtime_role_cannot_create_drop_or_alter_schema_objects() {
    let db = TestDatabase::new().await;
    for sql in [
        "CREATE TABLE mischief (id int)",
        "CREATE FUNCTION mischief() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE SCHEMA mischief",
        "DROP TABLE llm_cache",
        "ALTER TABLE jobs ADD COLUMN mischief int",
        "CREATE OR REPLACE FUNCTION reject_mutation() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
    ] {
        let e = refused(&db, sql).await;
        assert!(
            e.contains("permission denied") || e.contains("must be owner"),
            "{sql}: {e}"
        );
    }
}

#[tokio::test]
async fn granting_refuses_a_table_the_policy_does_not_classify() {
    let db = TestDatabase::new().await;
    sqlx::raw_sql("CREATE TABLE mystery (id int)")
        .execute(&db.pool)
        .await
        .expect("create");
    let err = roles::grant_runtime(&db.pool, TEST_RUNTIME_ROLE)
        .await
        .expect_err("unclassified");
    assert!(
        matches!(&err, roles::RoleError::Unclassified(what) if what == "table mystery"),
        "{err}"
    );
    let granted: bool = sqlx::query_scalar("SELECT has_table_privilege($1, 'mystery', 'SELECT')")
        .bind(TEST_RUNTIME_ROLE)
        .fetch_one(&db.pool)
        .await
        .expect("privilege");
    assert!(!granted);
}

#[tokio::test]
async fn granting_again_takes_back_privileges_the_policy_does_not_give() {
    let db = TestDatabase::new().await;
    sqlx::raw_sql(&format!(
        "GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO {TEST_RUNTIME_ROLE}"
    ))
    .execute(&db.pool)
    .await
    .expect("grant");
    roles::grant_runtime(&db.pool, TEST_RUNTIME_ROLE)
        .await
        .expect("grant runtime");
    let any: bool = sqlx::query_scalar(
        "SELECT has_table_privilege($1, 'audit_log', 'UPDATE')
             OR has_table_privilege($1, 'audit_log', 'DELETE')
             OR has_table_privilege($1, 'audit_log', 'TRUNCATE')",
    )
    .bind(TEST_RUNTIME_ROLE)
    .fetch_one(&db.pool)
    .await
    .expect("privilege");
    assert!(!any);
}

#[tokio::test]
async fn preparing_the_runtime_role_as_itself_grants_nothing() {
    let db = TestDatabase::new().await;
    let owner: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&db.pool)
        .await
        .expect("user");
    assert_eq!(
        roles::prepare_runtime(&db.pool, &owner, false)
            .await
            .expect("prepare"),
        roles::Prepared::SameAsOwner
    );
    assert_eq!(
        roles::prepare_runtime(&db.pool, TEST_RUNTIME_ROLE, false)
            .await
            .expect("prepare"),
        roles::Prepared::Granted
    );
    let missing = roles::prepare_runtime(&db.pool, "cw_no_such_role", false)
        .await
        .expect_err("missing");
    assert!(
        matches!(missing, roles::RoleError::MissingRole(_)),
        "{missing}"
    );
}

/// The application's path through the data layer, every step as the runtime role: a brief
/// and its job claimed, heartbeaten, completed and failed, a draft approved, packages built,
/// published and archived, a learner enrolled with progress and a quiz attempt, a session,
/// a password change, the login back-off, and the audit chain sealed and verified.
#[tokio::test]
async fn the_runtime_role_can_run_the_whole_course_lifecycle() {
    let db = TestDatabase::new().await;
    let pool = &db.app_pool;
    let (tenant, admin) = tenant_and_admin(pool).await;

    let mut tx = pool.begin().await.expect("begin");
    let brief = db::courses::create_with_brief(
        &mut tx,
        tenant,
        "Pivots",
        &json!({"title": "Pivots"}),
        admin,
    )
    .await
    .expect("brief")
    .brief_id;
    let kind = JobKind::parse("GENERATE_SYLLABUS").expect("kind");
    let created = db::jobs::create(
        &mut tx,
        NewJob {
            tenant_id: tenant,
            kind: &kind,
            target_type: "brief",
            target_id: &brief.to_string(),
            instruction: json!({}),
            created_by: Some(admin),
            start: Start::Requested,
        },
    )
    .await
    .expect("job");
    tx.commit().await.expect("commit");
    let Created::New(job) = created else {
        panic!("a new job")
    };
    let mut tx = pool.begin().await.expect("begin");
    db::jobs::lock(&mut tx, tenant, job.id)
        .await
        .expect("lock")
        .expect("the job");
    db::jobs::set_triggered(&mut tx, job.id, admin)
        .await
        .expect("trigger")
        .expect("a REQUESTED job");
    tx.commit().await.expect("commit");
    let claimed = db::jobs::claim(pool, "w1", Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("a job");
    let token = claimed.claim_token.expect("token");
    assert!(
        db::jobs::heartbeat(pool, claimed.id, token, Duration::from_secs(60))
            .await
            .expect("heartbeat")
    );
    let output = NewOutput {
        path: format!("jobs/{}.json", claimed.id),
        content_hash: "0".repeat(64),
        content_type: "application/json".into(),
        size_bytes: 2,
    };
    assert!(
        db::jobs::complete(pool, claimed.id, token, &output, &[])
            .await
            .expect("complete")
    );
    assert!(
        db::jobs::output_of(pool, tenant, claimed.id)
            .await
            .expect("output")
            .is_some()
    );

    let mut tx = pool.begin().await.expect("begin");
    let other = JobKind::parse("GENERATE_CONTENT").expect("kind");
    let Created::New(doomed) = db::jobs::create(
        &mut tx,
        NewJob {
            tenant_id: tenant,
            kind: &other,
            target_type: "brief",
            target_id: &brief.to_string(),
            instruction: json!({}),
            created_by: Some(admin),
            start: Start::Pending,
        },
    )
    .await
    .expect("job") else {
        panic!("a new job")
    };
    tx.commit().await.expect("commit");
    let claimed = db::jobs::claim(pool, "w1", Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(claimed.id, doomed.id);
    assert!(
        db::jobs::fail(
            pool,
            claimed.id,
            claimed.claim_token.expect("token"),
            &json!({"code": "boom"})
        )
        .await
        .expect("fail")
    );
    assert!(db::jobs::reap(pool).await.expect("reap").is_empty());

    let course = test_support::seed::seed_approved_course(pool, tenant, admin, "Pivots", 2).await;
    let filter = db::artifacts::Filter {
        kinds: vec![db::types::ArtifactKind::Lesson],
        course_id: Some(course),
        ..Default::default()
    };
    let lesson = db::artifacts::list(pool, tenant, &filter, 100)
        .await
        .expect("lessons")
        .into_iter()
        .next()
        .expect("a lesson");
    let mut tx = pool.begin().await.expect("begin");
    let draft = db::artifacts::insert_edit(&mut tx, &lesson, admin, "Pivots, again", &lesson.body)
        .await
        .expect("edit");
    tx.commit().await.expect("commit");
    let mut tx = pool.begin().await.expect("begin");
    db::artifacts::set_review(
        &mut tx,
        draft.id,
        db::types::ArtifactStatus::Approved,
        admin,
        Some("fine"),
    )
    .await
    .expect("approve")
    .expect("was a draft");
    tx.commit().await.expect("commit");

    let v1 = store_package(pool, tenant, course, admin, true).await;
    let v2 = store_package(pool, tenant, course, admin, true).await;
    let mut tx = pool.begin().await.expect("begin");
    db::packages::set_archived(&mut tx, v1.id)
        .await
        .expect("archive v1");
    tx.commit().await.expect("commit");
    let archived = db::packages::versions(pool, tenant, course)
        .await
        .expect("versions")
        .into_iter()
        .find(|p| p.id == v1.id)
        .expect("v1");
    assert_eq!(archived.status, db::types::PackageStatus::Archived);
    assert_eq!(
        db::packages::history(pool, tenant, course)
            .await
            .expect("history")
            .len(),
        2
    );

    let learner = db::users::create(
        pool,
        db::users::NewUser {
            tenant_id: tenant,
            email: &Email::parse("learner@acme.test").expect("email"),
            display_name: "",
            role: Role::Learner,
            password_hash: "x",
            is_platform_owner: false,
        },
    )
    .await
    .expect("learner");
    let mut tx = pool.begin().await.expect("begin");
    assert!(
        db::packages::insert_enrollment(&mut tx, tenant, learner.id, course)
            .await
            .expect("enroll")
            .is_some()
    );
    tx.commit().await.expect("commit");
    db::packages::set_progress(
        pool,
        tenant,
        learner.id,
        course,
        &lesson.ref_id,
        true,
        v2.version,
    )
    .await
    .expect("progress");
    db::packages::set_progress(
        pool,
        tenant,
        learner.id,
        course,
        &lesson.ref_id,
        false,
        v2.version,
    )
    .await
    .expect("progress again");
    db::packages::insert_attempt(
        pool,
        db::packages::NewAttempt {
            tenant_id: tenant,
            user_id: learner.id,
            course_id: course,
            package_id: v2.id,
            lesson_id: &lesson.ref_id,
            answers: &json!([0]),
            score: 1,
            total: 1,
        },
    )
    .await
    .expect("attempt")
    .expect("enrolled");

    let token = db::sessions::create(pool, learner.id, time::Duration::hours(1))
        .await
        .expect("session");
    assert!(
        db::sessions::lookup(pool, &token)
            .await
            .expect("lookup")
            .is_some()
    );
    db::users::set_password(pool, learner.id, "y")
        .await
        .expect("password");
    assert!(db::sessions::delete(pool, &token).await.expect("sign out"));
    db::sessions::delete_expired(pool).await.expect("prune");
    db::throttle::admit(
        pool,
        &[db::throttle::Counted {
            key: "account:learner@acme.test",
            threshold: 5,
        }],
    )
    .await
    .expect("throttle");
    db::throttle::forgive(pool, "account:learner@acme.test")
        .await
        .expect("forgive");
    db::throttle::clear(pool, "account:learner@acme.test")
        .await
        .expect("clear");

    let sealed = db::audit::seal(pool).await.expect("seal");
    assert!(sealed > 5, "{sealed}");
    assert!(matches!(
        db::audit::verify(pool).await.expect("verify"),
        Verification::Intact { .. }
    ));
    assert!(matches!(
        db::migrate::state(pool).await.expect("state"),
        db::migrate::SchemaState::Current
    ));
}
