//! Test databases: each test gets a fresh database cloned from a migrated template, so tests
//! run in parallel (also across processes) and never see each other's rows.
//!
//! The server is `TEST_DATABASE_URL`, else `DATABASE_URL`, else the local one on
//! 127.0.0.1:5432 as user `postgres`. The template's name carries a hash of the migrations,
//! so a changed migration makes a new template; creating it is serialized with an advisory
//! lock on the server.
//!
//! The template is granted to [`TEST_RUNTIME_ROLE`] exactly as `migrate` grants the runtime
//! role, and each test database offers a pool as that role ([`TestDatabase::app_pool`]) for
//! the server and the worker under test, so the tests prove the grants suffice.

use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::MIGRATOR;

/// The runtime role of test databases: a LOGIN role without a password, granted the policy.
pub const TEST_RUNTIME_ROLE: &str = "cw_test_app";

/// A database of one's own, dropped when this value is.
pub struct TestDatabase {
    /// As the owner (the test server's user): for seeding and inspecting, and for what only an
    /// owner may do.
    pub pool: PgPool,
    /// As [`TEST_RUNTIME_ROLE`]: what the server and the worker under test use.
    pub app_pool: PgPool,
    pub name: String,
    /// A URL that reaches this database as the owner (for `DATABASE_MIGRATION_URL`, psql).
    pub url: String,
    /// A URL that reaches this database as the runtime role (for `DATABASE_URL`).
    pub app_url: String,
    server: PgConnectOptions,
}

/// The server the tests use, as connect options (no database chosen).
pub fn server_options() -> PgConnectOptions {
    let url = std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL/DATABASE_URL is not a PostgreSQL URL: {e}"))
        .log_statements(tracing::log::LevelFilter::Trace)
}

/// A URL for database `db` on the test server (for psql and child processes).
pub fn server_url(db: &str) -> String {
    url_for(&server_options(), db)
}

fn url_for(opts: &PgConnectOptions, db: &str) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        opts.get_username(),
        opts.get_host(),
        opts.get_port(),
        db
    )
}

fn template_name() -> String {
    let mut h = Sha256::new();
    for m in MIGRATOR.iter() {
        h.update(m.version.to_le_bytes());
        h.update(&m.checksum);
    }
    // A changed grant policy makes a new template too.
    h.update(format!(
        "{:?}{:?}",
        crate::roles::POLICY,
        crate::roles::FUNCTIONS
    ));
    format!("cw_template_{}", &hex::encode(h.finalize())[..16])
}

async fn admin_conn(server: &PgConnectOptions) -> PgConnection {
    server
        .clone()
        .database("postgres")
        .connect()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "tests need PostgreSQL ({}): {e}",
                url_for(server, "postgres")
            )
        })
}

async fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
        .expect("look up template")
}

async fn ensure_template(server: &PgConnectOptions) -> String {
    let name = template_name();
    let mut conn = admin_conn(server).await;
    if database_exists(&mut conn, &name).await {
        return name;
    }
    // 'cw-tmpl' in ASCII: one process builds the template while the others wait.
    sqlx::query("SELECT pg_advisory_lock(x'63772d746d706c'::bigint)")
        .execute(&mut conn)
        .await
        .expect("template lock");
    if !database_exists(&mut conn, &name).await {
        let building = format!("{name}_building");
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop stale template");
        sqlx::raw_sql(&format!("CREATE DATABASE {building}"))
            .execute(&mut conn)
            .await
            .expect("create template");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(server.clone().database(&building))
            .await
            .expect("connect to template");
        MIGRATOR.run(&pool).await.expect("migrate template");
        crate::roles::ensure_login_role(&pool, TEST_RUNTIME_ROLE)
            .await
            .expect("create the test runtime role");
        if let Err(e) = crate::roles::grant_runtime(&pool, TEST_RUNTIME_ROLE).await {
            panic!("granting the test runtime role failed: {e}");
        }
        pool.close().await;
        sqlx::raw_sql(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut conn)
            .await
            .expect("publish template");
    }
    sqlx::query("SELECT pg_advisory_unlock(x'63772d746d706c'::bigint)")
        .execute(&mut conn)
        .await
        .expect("template unlock");
    let _ = conn.close().await;
    name
}

/// Creates [`TEST_RUNTIME_ROLE`] on the test server if it is missing (the template does this
/// too), for tests that migrate a database of their own.
pub async fn ensure_runtime_role() {
    let server = server_options();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(server.clone().database("postgres"))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "tests need PostgreSQL ({}): {e}",
                url_for(&server, "postgres")
            )
        });
    crate::roles::ensure_login_role(&pool, TEST_RUNTIME_ROLE)
        .await
        .expect("create the test runtime role");
    pool.close().await;
}

impl TestDatabase {
    /// A fresh, migrated database. Panics (this is test code) when no server is reachable.
    pub async fn new() -> Self {
        let server = server_options();
        let template = ensure_template(&server).await;
        let name = format!("cw_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin_conn(&server).await;
        sqlx::raw_sql(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut conn)
            .await
            .expect("clone template");
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(server.clone().database(&name))
            .await
            .expect("connect to test database");
        let app = server.clone().username(TEST_RUNTIME_ROLE).database(&name);
        // Lazy: most tests that never run the app as the runtime role open no connection.
        let app_pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_lazy_with(app);
        let url = url_for(&server, &name);
        let app_url = url_for(&server.clone().username(TEST_RUNTIME_ROLE), &name);
        Self {
            pool,
            app_pool,
            name,
            url,
            app_url,
            server,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime we could block on, so use a thread of our own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let mut conn = server.database("postgres").connect().await.ok()?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// An approved course for tests: a brief, its approved syllabus (made by the offline
/// drafter for `hours` of learning) and an approved lesson and quiz for every planned
/// lesson and a project for every module, inserted directly. Returns the course id.
pub async fn seed_approved_course(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    title: &str,
    hours: u32,
) -> uuid::Uuid {
    seed_course_with(pool, tenant_id, reviewer, title, hours, |_, _| "APPROVED").await
}

/// [`seed_approved_course`] with each part's status (DRAFT, APPROVED or REJECTED) chosen
/// by `status_of(kind, ref_id)`; the syllabus is always approved.
pub async fn seed_course_with(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    title: &str,
    hours: u32,
    status_of: impl Fn(&str, &str) -> &'static str,
) -> uuid::Uuid {
    use domain::offline;
    use serde_json::json;

    let brief: domain::Brief = serde_json::from_value(json!({
        "title": title,
        "audience": "Analysts who are new to the subject",
        "level": "beginner",
        "timeBudgetHours": hours,
        "teachingStyle": "hands-on, one worked example per idea",
        "constraints": ["practical"]
    }))
    .expect("brief");
    let syllabus = offline::syllabus(&brief, "2026-01-01T00:00:00Z");
    let brief_id = uuid::Uuid::new_v4();
    let course_id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO briefs (id, tenant_id, body, created_by) VALUES ($1, $2, $3, $4)")
        .bind(brief_id)
        .bind(tenant_id)
        .bind(serde_json::to_value(&brief).expect("brief json"))
        .bind(reviewer)
        .execute(pool)
        .await
        .expect("insert brief");
    sqlx::query("INSERT INTO courses (id, tenant_id, brief_id, title, created_by) VALUES ($1, $2, $3, $4, $5)")
        .bind(course_id)
        .bind(tenant_id)
        .bind(brief_id)
        .bind(title)
        .bind(reviewer)
        .execute(pool)
        .await
        .expect("insert course");
    let syllabus_id = insert_artifact(
        pool,
        tenant_id,
        reviewer,
        "APPROVED",
        "SYLLABUS",
        None,
        Some(brief_id),
        &brief_id.to_string(),
        None,
        &syllabus.title,
        &serde_json::to_value(&syllabus).expect("syllabus json"),
    )
    .await;
    for module in &syllabus.modules {
        for planned in &module.lessons {
            let lesson = offline::lesson(&syllabus, module, planned);
            let quiz = offline::quiz(planned);
            insert_artifact(
                pool,
                tenant_id,
                reviewer,
                status_of("LESSON", &planned.id),
                "LESSON",
                Some(syllabus_id),
                None,
                &planned.id,
                Some(&module.id),
                &lesson.title,
                &serde_json::to_value(&lesson).expect("lesson"),
            )
            .await;
            insert_artifact(
                pool,
                tenant_id,
                reviewer,
                status_of("QUIZ", &planned.id),
                "QUIZ",
                Some(syllabus_id),
                None,
                &planned.id,
                Some(&module.id),
                &format!("Quiz: {}", planned.title),
                &serde_json::to_value(&quiz).expect("quiz"),
            )
            .await;
        }
        let project = offline::project(module);
        insert_artifact(
            pool,
            tenant_id,
            reviewer,
            status_of("PROJECT", &module.id),
            "PROJECT",
            Some(syllabus_id),
            None,
            &module.id,
            Some(&module.id),
            &project.title,
            &serde_json::to_value(&project).expect("project"),
        )
        .await;
    }
    course_id
}

/// Inserts one APPROVED artifact as the next version of its (course, kind, ref) lineage.
#[allow(clippy::too_many_arguments)]
pub async fn insert_approved(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    kind: &str,
    syllabus_id: Option<uuid::Uuid>,
    brief_id: Option<uuid::Uuid>,
    ref_id: &str,
    module_id: Option<&str>,
    title: &str,
    body: &serde_json::Value,
) -> uuid::Uuid {
    insert_artifact(
        pool,
        tenant_id,
        reviewer,
        "APPROVED",
        kind,
        syllabus_id,
        brief_id,
        ref_id,
        module_id,
        title,
        body,
    )
    .await
}

/// Inserts one artifact with `status` as the next version of its lineage.
#[allow(clippy::too_many_arguments)]
pub async fn insert_artifact(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    status: &str,
    kind: &str,
    syllabus_id: Option<uuid::Uuid>,
    brief_id: Option<uuid::Uuid>,
    ref_id: &str,
    module_id: Option<&str>,
    title: &str,
    body: &serde_json::Value,
) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO artifacts (id, tenant_id, kind, syllabus_id, brief_id, ref_id, module_id, lineage_id,
                                version, parent_id, status, title, body, provenance, content_hash,
                                created_by, reviewed_by, reviewed_at, review_note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $1, 0, NULL, $13, $8, $9, $10, $11, $12,
                 CASE WHEN $13 <> 'DRAFT' THEN $12 END,
                 CASE WHEN $13 <> 'DRAFT' THEN clock_timestamp() END, 'seeded by a test')",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(kind)
    .bind(syllabus_id)
    .bind(brief_id)
    .bind(ref_id)
    .bind(module_id)
    .bind(title)
    .bind(body)
    .bind(serde_json::json!({ "promptVersion": format!("{}@test", kind.to_lowercase()) }))
    .bind(crate::artifacts::body_hash(body))
    .bind(reviewer)
    .bind(status)
    .execute(pool)
    .await
    .expect("insert artifact");
    id
}
