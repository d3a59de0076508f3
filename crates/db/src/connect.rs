//! Finding a PostgreSQL to talk to, as the owner (migrations) or as the runtime role.
//!
//! `DATABASE_URL` is the runtime role's connection (what `serve` and `worker` use);
//! `DATABASE_MIGRATION_URL` the owner's (what `migrate` uses; unset: `DATABASE_URL`). With
//! neither: the local server on 127.0.0.1:5432 (database `coursewright`, created if missing)
//! with `$PGUSER` (default `postgres`) as the owner and [`LOCAL_RUNTIME_ROLE`], which
//! `migrate` and `demo` create, as the runtime role; failing that, a private cluster under
//! the data dir, started with the machine's `initdb`/`pg_ctl` and stopped when the last
//! [`Database`] from it is dropped.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// Why no database could be had. Each message is one sentence a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{var} is not a valid PostgreSQL URL: {cause}")]
    BadUrl { var: &'static str, cause: String },
    #[error(
        "DATABASE_MIGRATION_URL is set but DATABASE_URL is not: set DATABASE_URL to the runtime role's connection too"
    )]
    MigrationUrlAlone,
    #[error("cannot connect to PostgreSQL at {target}: {cause}")]
    Unreachable { target: String, cause: String },
    #[error(
        "the database role {role} does not exist yet at {target}: run `coursewright migrate` (or `coursewright demo`), which creates it"
    )]
    NoRuntimeRole { role: String, target: String },
    #[error(
        "no PostgreSQL server was found: set DATABASE_URL to a PostgreSQL 13+ server, or install PostgreSQL (Debian: apt-get install postgresql) so Coursewright can use or start one"
    )]
    NoServer,
    #[error("could not start a private PostgreSQL cluster in {dir}: {cause}")]
    PrivateCluster { dir: String, cause: String },
    #[error("cannot create the database: {0}")]
    BadName(#[from] crate::ident::InvalidIdentifier),
}

/// Where to look for a database.
#[derive(Clone)]
pub struct ConnectConfig {
    /// The runtime role's connection (`DATABASE_URL`).
    pub database_url: Option<String>,
    /// The owner's connection for migrations (`DATABASE_MIGRATION_URL`).
    pub migration_url: Option<String>,
    pub data_dir: PathBuf,
    pub max_connections: u32,
}

// The URLs may carry passwords: Debug says only whether they are set.
impl std::fmt::Debug for ConnectConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |u: &Option<String>| if u.is_some() { "(set)" } else { "(unset)" };
        f.debug_struct("ConnectConfig")
            .field("database_url", &set(&self.database_url))
            .field("migration_url", &set(&self.migration_url))
            .field("data_dir", &self.data_dir)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The runtime role of the local default: a LOGIN role without a password (the local server
/// trusts loopback), granted only what the application needs.
pub const LOCAL_RUNTIME_ROLE: &str = "coursewright_app";

/// A pool and, when Coursewright started its own server, a share of the guard that stops it.
pub struct Database {
    pub pool: PgPool,
    /// Where the pool points, without any password, for messages.
    pub target: String,
    /// Held only to be dropped: the last one stops the private cluster, if we started one.
    _cluster: Option<Arc<PrivateCluster>>,
}

/// A located database: how its owner and its runtime role reach it.
pub struct Server {
    owner: PgConnectOptions,
    runtime: PgConnectOptions,
    /// The local default, whose runtime role `migrate` creates.
    local: bool,
    cluster: Option<Arc<PrivateCluster>>,
    max_connections: u32,
}

const LOCAL_ADDR: &str = "127.0.0.1:5432";
const LOCAL_DB: &str = "coursewright";

fn parse(var: &'static str, url: &str) -> Result<PgConnectOptions, DbError> {
    PgConnectOptions::from_str(url).map_err(|e| DbError::BadUrl {
        var,
        cause: e.to_string(),
    })
}

/// Finds (or starts) the server as described in the module documentation, creating the
/// local default's database if it is missing. Connects to nothing else.
pub async fn locate(cfg: &ConnectConfig) -> Result<Server, DbError> {
    let set = |u: &Option<String>| {
        u.as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(str::to_owned)
    };
    let (runtime_url, migration_url) = (set(&cfg.database_url), set(&cfg.migration_url));
    if let Some(url) = runtime_url {
        let runtime = parse("DATABASE_URL", &url)?;
        let owner = match migration_url {
            Some(m) => parse("DATABASE_MIGRATION_URL", &m)?,
            None => runtime.clone(),
        };
        return Ok(Server {
            owner,
            runtime,
            local: false,
            cluster: None,
            max_connections: cfg.max_connections,
        });
    }
    if migration_url.is_some() {
        return Err(DbError::MigrationUrlAlone);
    }

    let local: SocketAddr = LOCAL_ADDR.parse().map_err(|_| DbError::NoServer)?;
    let (base, cluster) = if TcpStream::connect_timeout(&local, Duration::from_millis(500)).is_ok()
    {
        let user = std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into());
        let base = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(5432)
            .username(&user);
        (base, None)
    } else {
        let cluster = PrivateCluster::start(&cfg.data_dir.join("postgres"))?;
        let base = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(cluster.port)
            .username("postgres");
        (base, Some(Arc::new(cluster)))
    };
    create_database_if_missing(base.clone(), LOCAL_DB).await?;
    let owner = base.database(LOCAL_DB);
    let runtime = owner.clone().username(LOCAL_RUNTIME_ROLE);
    Ok(Server {
        owner,
        runtime,
        local: true,
        cluster,
        max_connections: cfg.max_connections,
    })
}

impl Server {
    /// A pool as the owner, for migrations and grants.
    pub async fn owner(&self) -> Result<Database, DbError> {
        self.open(self.owner.clone(), 2).await
    }

    /// A pool as the runtime role, for everything else.
    pub async fn runtime(&self) -> Result<Database, DbError> {
        match self.open(self.runtime.clone(), self.max_connections).await {
            Err(DbError::Unreachable { target, cause })
                if self.local && cause.contains("does not exist") && cause.contains("role") =>
            {
                Err(DbError::NoRuntimeRole {
                    role: self.runtime_role().to_owned(),
                    target,
                })
            }
            other => other,
        }
    }

    /// The role `serve` and `worker` connect as.
    pub fn runtime_role(&self) -> &str {
        self.runtime.get_username()
    }

    /// Whether `migrate` creates the runtime role (the local default) rather than expecting
    /// an administrator to have made it.
    pub fn creates_runtime_role(&self) -> bool {
        self.local
    }

    async fn open(&self, opts: PgConnectOptions, max: u32) -> Result<Database, DbError> {
        let target = match &self.cluster {
            Some(c) => format!(
                "{} (private cluster in {})",
                describe(&opts),
                c.dir.display()
            ),
            None => describe(&opts),
        };
        let pool = pool(opts, max, &target).await?;
        Ok(Database {
            pool,
            target,
            _cluster: self.cluster.clone(),
        })
    }
}

/// Connects as the runtime role.
pub async fn connect(cfg: &ConnectConfig) -> Result<Database, DbError> {
    locate(cfg).await?.runtime().await
}

async fn pool(opts: PgConnectOptions, max: u32, target: &str) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(max.max(1))
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts.log_statements(tracing::log::LevelFilter::Trace))
        .await
        .map_err(|e| DbError::Unreachable {
            target: target.to_owned(),
            cause: cause(&e),
        })
}

/// Creates `name` through the server's `postgres` database unless it exists.
pub async fn create_database_if_missing(base: PgConnectOptions, name: &str) -> Result<(), DbError> {
    let admin = base.clone().database("postgres");
    let target = describe(&admin);
    let mut conn = admin.connect().await.map_err(|e| DbError::Unreachable {
        target: target.clone(),
        cause: cause(&e),
    })?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS "exists!""#,
        name
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| DbError::Unreachable {
        target: target.clone(),
        cause: cause(&e),
    })?;
    if !exists {
        // CREATE DATABASE takes no bind parameter for the name: it is quoted instead.
        let sql = format!("CREATE DATABASE {}", crate::ident::quote(name)?);
        match sqlx::raw_sql(&sql).execute(&mut conn).await {
            Ok(_) => tracing::info!(database = name, "created database"),
            // Another process created it between our look and our create.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => {
                return Err(DbError::Unreachable {
                    target,
                    cause: cause(&e),
                });
            }
        }
    }
    let _ = conn.close().await;
    Ok(())
}

/// The server's version, as `SHOW server_version` gives it.
pub async fn server_version(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT current_setting('server_version') AS "version!""#)
        .fetch_one(pool)
        .await
}

/// `user@host:port/db`, never the password.
pub fn describe(opts: &PgConnectOptions) -> String {
    format!(
        "{}@{}:{}/{}",
        opts.get_username(),
        opts.get_host(),
        opts.get_port(),
        opts.get_database().unwrap_or("(default)")
    )
}

/// The most specific message of a sqlx error, for one-line reports.
pub fn cause(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// A PostgreSQL cluster of our own, stopped when dropped.
struct PrivateCluster {
    dir: PathBuf,
    port: u16,
    pg_ctl: PathBuf,
}

impl PrivateCluster {
    fn start(dir: &Path) -> Result<Self, DbError> {
        let (Some(initdb), Some(pg_ctl)) = (find_binary("initdb"), find_binary("pg_ctl")) else {
            return Err(DbError::NoServer);
        };
        let fail = |cause: String| DbError::PrivateCluster {
            dir: dir.display().to_string(),
            cause,
        };
        if is_root() {
            return Err(fail(
                "PostgreSQL refuses to run as root; run as an ordinary user or set DATABASE_URL"
                    .into(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        let dir = dir.canonicalize().map_err(|e| fail(e.to_string()))?;
        if !dir.join("PG_VERSION").exists() {
            let out = Command::new(&initdb)
                .args([
                    "--auth=trust",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "-D",
                ])
                .arg(&dir)
                .output()
                .map_err(|e| fail(e.to_string()))?;
            if !out.status.success() {
                return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| fail(e.to_string()))?
            .port();
        let out = Command::new(&pg_ctl)
            .arg("-D")
            .arg(&dir)
            .arg("-l")
            .arg(dir.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {}",
                dir.display()
            ))
            .args(["-w", "start"])
            .output()
            .map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(format!(
                "pg_ctl start failed ({}); see {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                dir.join("server.log").display()
            )));
        }
        tracing::info!(dir = %dir.display(), port, "started a private PostgreSQL cluster");
        Ok(Self { dir, port, pg_ctl })
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let status = Command::new(&self.pg_ctl)
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "fast", "-w", "stop"])
            .output();
        match status {
            Ok(o) if o.status.success() => tracing::info!("stopped the private PostgreSQL cluster"),
            Ok(o) => {
                tracing::warn!(stderr = %String::from_utf8_lossy(&o.stderr), "pg_ctl stop failed")
            }
            Err(e) => tracing::warn!(error = %e, "pg_ctl stop failed"),
        }
    }
}

fn find_binary(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // Debian keeps the server binaries off PATH, one folder per major version.
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    debian.sort();
    debian.reverse();
    on_path.into_iter().chain(debian).find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_connect_config_never_prints_the_password() {
        for url in [
            "postgres://cw:hunter2-secret@db.internal:5432/coursewright",
            "postgres://cw@db.internal/coursewright?password=hunter2-secret",
            "not a url hunter2-secret",
        ] {
            let c = ConnectConfig {
                database_url: Some(url.into()),
                migration_url: Some(url.into()),
                data_dir: PathBuf::from("/tmp"),
                max_connections: 4,
            };
            let printed = format!("{c:?} {c:#?}");
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(
                printed.contains("(set)") && printed.contains("/tmp"),
                "{printed}"
            );
        }
    }
}
