//! Test databases: each test gets a fresh database cloned from a migrated template, so tests
//! run in parallel (also across processes) and never see each other's rows.
//!
//! The server is `TEST_DATABASE_URL`, else `DATABASE_URL`, else the local one on
//! 127.0.0.1:5432 as user `postgres`. The template's name carries a hash of the migrations,
//! so a changed migration makes a new template; creating it is serialized with an advisory
//! lock on the server.

use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::MIGRATOR;

/// A database of one's own, dropped when this value is.
pub struct TestDatabase {
    pub pool: PgPool,
    pub name: String,
    /// A URL that reaches this database (for child processes such as the CLI).
    pub url: String,
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
        let url = url_for(&server, &name);
        Self {
            pool,
            name,
            url,
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
