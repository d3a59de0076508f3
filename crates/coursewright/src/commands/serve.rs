//! `serve` and `migrate`.

use std::process::ExitCode;

use anyhow::Context;
use db::migrate::SchemaState;

use crate::cli::ServeArgs;
use crate::config::Config;

/// Serves until a shutdown signal, on a database whose migrations are all applied.
pub async fn serve(config: &Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let database = db::connect(&config.database).await?;
    match db::migrate::state(&database.pool).await? {
        SchemaState::Current => {}
        SchemaState::Pending(pending) => {
            eprintln!(
                "error: {} migration(s) are pending; run `coursewright migrate` first:",
                pending.len()
            );
            for p in pending {
                eprintln!("  {:04} {}", p.version, p.description);
            }
            return Ok(ExitCode::FAILURE);
        }
        SchemaState::Diverged(why) => {
            eprintln!("error: the database schema does not match this binary: {why}");
            return Ok(ExitCode::FAILURE);
        }
    }
    super::warn_if_privileged(&database.pool).await;
    listen(config, args, database).await?;
    Ok(ExitCode::SUCCESS)
}

/// Binds and serves on an open, migrated database.
pub async fn listen(
    config: &Config,
    args: ServeArgs,
    database: db::Database,
) -> anyhow::Result<()> {
    let bind = match args.bind {
        Some(b) => b
            .parse()
            .with_context(|| format!("--bind {b:?} is not an address such as 127.0.0.1:8080"))?,
        None => config.bind,
    };
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %database.target, "serving");
    println!("Coursewright is serving on http://{addr}");
    let objects = store::Objects::from_url(&config.object_store_url)?;
    let state = web::AppState::new(database.pool.clone(), config.web.clone(), objects);
    // The web process seals the audit chain too, so a deployment without a worker (the demo)
    // still has one; the sealer's lock makes concurrent sealers safe.
    let sealer = tokio::spawn(seal_forever(database.pool.clone()));
    web::serve(listener, state, super::shutdown_signal()).await?;
    sealer.abort();
    database.pool.close().await;
    // Dropping the database stops a private cluster, if we started one.
    drop(database);
    Ok(())
}

async fn seal_forever(pool: db::PgPool) {
    loop {
        if let Err(e) = db::audit::seal(&pool).await {
            tracing::warn!(error = %e, "sealing the audit chain failed; retrying");
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// What applying migrations did.
pub enum Migrated {
    Applied {
        applied: Vec<db::migrate::Pending>,
        role: String,
        prepared: db::roles::Prepared,
    },
    /// The database has migrations this binary does not know, or changed ones: nothing done.
    Diverged(String),
}

/// Applies pending migrations as the owner, then grants the runtime role what the policy
/// says (creating the role first on the local default).
pub async fn apply_migrations(server: &db::connect::Server) -> anyhow::Result<Migrated> {
    let owner = server.owner().await?;
    let before = db::migrate::state(&owner.pool).await?;
    let applied = match before {
        SchemaState::Diverged(why) => return Ok(Migrated::Diverged(why)),
        SchemaState::Pending(p) => p,
        SchemaState::Current => Vec::new(),
    };
    db::migrate::run(&owner.pool)
        .await
        .context("migration failed")?;
    let role = server.runtime_role().to_owned();
    let prepared = db::roles::prepare_runtime(&owner.pool, &role, server.creates_runtime_role())
        .await
        .with_context(|| format!("granting the runtime role {role} failed"))?;
    owner.pool.close().await;
    Ok(Migrated::Applied {
        applied,
        role,
        prepared,
    })
}

/// Applies pending migrations and grants the runtime role.
pub async fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    let server = db::connect::locate(&config.database).await?;
    match apply_migrations(&server).await? {
        Migrated::Diverged(why) => {
            eprintln!("error: the database schema does not match this binary: {why}");
            Ok(ExitCode::FAILURE)
        }
        Migrated::Applied {
            applied,
            role,
            prepared,
        } => {
            if applied.is_empty() {
                println!("nothing to apply: the schema is current");
            }
            for m in applied {
                println!("applied {:04} {}", m.version, m.description);
            }
            match prepared {
                db::roles::Prepared::Granted => {
                    println!("granted the runtime role {role} what the application needs")
                }
                db::roles::Prepared::SameAsOwner => println!(
                    "note: DATABASE_URL connects as the owner ({role}), so the server could alter the schema and disable its triggers; set DATABASE_MIGRATION_URL to the owner and DATABASE_URL to a role of its own"
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
