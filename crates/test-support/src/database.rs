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

use db::MIGRATOR;

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
    pub(crate) server: PgConnectOptions,
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

/// A name quoted as a PostgreSQL identifier, by the one helper production code uses. Test
/// databases' names are generated here, so a refusal is a bug in this crate.
pub fn ident(name: &str) -> String {
    db::ident::quote(name).unwrap_or_else(|e| panic!("{name:?} is not an identifier: {e}"))
}

fn template_name() -> String {
    let mut h = Sha256::new();
    for m in MIGRATOR.iter() {
        h.update(m.version.to_le_bytes());
        h.update(&m.checksum);
    }
    // A changed grant policy makes a new template too.
    h.update(format!("{:?}{:?}", db::roles::POLICY, db::roles::FUNCTIONS));
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
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(&building)
        ))
        .execute(&mut conn)
        .await
        .expect("drop stale template");
        sqlx::raw_sql(&format!("CREATE DATABASE {}", ident(&building)))
            .execute(&mut conn)
            .await
            .expect("create template");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(server.clone().database(&building))
            .await
            .expect("connect to template");
        MIGRATOR.run(&pool).await.expect("migrate template");
        db::roles::ensure_login_role(&pool, TEST_RUNTIME_ROLE)
            .await
            .expect("create the test runtime role");
        if let Err(e) = db::roles::grant_runtime(&pool, TEST_RUNTIME_ROLE).await {
            panic!("granting the test runtime role failed: {e}");
        }
        pool.close().await;
        sqlx::raw_sql(&format!(
            "ALTER DATABASE {} RENAME TO {}",
            ident(&building),
            ident(&name)
        ))
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
    db::roles::ensure_login_role(&pool, TEST_RUNTIME_ROLE)
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
        sqlx::raw_sql(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            ident(&name),
            ident(&template)
        ))
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
                sqlx::raw_sql(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    ident(&name)
                ))
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
