//! `check`: startup validation, one line per check.

use std::process::ExitCode;

use db::migrate::SchemaState;

use crate::config::{Config, ConfigError};

fn line(ok: bool, what: &str, detail: &str) -> bool {
    println!("{} {what}: {detail}", if ok { "OK  " } else { "FAIL" });
    ok
}

/// Not a failure (a single-role setup still works), but worth fixing.
fn warn(what: &str, detail: &str) {
    println!("WARN {what}: {detail}");
}

const PRIVILEGED: &str = "set DATABASE_URL to a role of its own (`coursewright migrate` grants it what it needs) and DATABASE_MIGRATION_URL to the owner";

pub async fn run(config: Result<Config, Vec<ConfigError>>) -> ExitCode {
    let config = match config {
        Ok(c) => {
            line(
                true,
                "config",
                &format!("valid (LLM provider {}, bind {})", c.llm.provider, c.bind),
            );
            c
        }
        Err(errors) => {
            for e in errors {
                line(false, "config", &e.to_string());
            }
            return ExitCode::FAILURE;
        }
    };
    let mut all_ok = true;

    match db::connect(&config.database).await {
        Err(e) => {
            all_ok &= line(false, "database", &e.to_string());
            line(false, "migrations", "not checked: no database");
        }
        Ok(database) => {
            match db::connect::server_version(&database.pool).await {
                Ok(v) => line(
                    true,
                    "database",
                    &format!("connected to {} (PostgreSQL {v})", database.target),
                ),
                Err(e) => {
                    all_ok &= line(false, "database", &db::connect::cause(&e));
                    false
                }
            };
            match db::migrate::state(&database.pool).await {
                Ok(SchemaState::Current) => line(
                    true,
                    "migrations",
                    &format!("current ({} applied)", db::MIGRATOR.iter().count()),
                ),
                Ok(SchemaState::Pending(p)) => {
                    let names: Vec<String> = p
                        .iter()
                        .map(|m| format!("{:04} {}", m.version, m.description))
                        .collect();
                    all_ok &= line(
                        false,
                        "migrations",
                        &format!(
                            "{} pending ({}); run `coursewright migrate`",
                            p.len(),
                            names.join(", ")
                        ),
                    );
                    false
                }
                Ok(SchemaState::Diverged(why)) => {
                    all_ok &= line(false, "migrations", &why);
                    false
                }
                Err(e) => {
                    all_ok &= line(false, "migrations", &db::connect::cause(&e));
                    false
                }
            };
            match db::roles::report(&database.pool).await {
                Ok(r) if r.superuser => warn(
                    "database role",
                    &format!(
                        "{} is a superuser, so it could disable the insert-only triggers; {PRIVILEGED}",
                        r.role
                    ),
                ),
                Ok(r) if r.owner => warn(
                    "database role",
                    &format!(
                        "{} owns the schema, so it could alter tables and disable their triggers; {PRIVILEGED}",
                        r.role
                    ),
                ),
                Ok(r) => {
                    line(
                        true,
                        "database role",
                        &format!("{} owns nothing and is not a superuser", r.role),
                    );
                }
                Err(e) => warn("database role", &db::connect::cause(&e)),
            }
            database.pool.close().await;
        }
    }

    // The same probe for a folder and a bucket: write an object, read it back, delete it.
    let probe = async {
        let objects = store::Objects::from_url(&config.object_store_url)?;
        let stored = objects
            .put(
                ".check",
                "txt",
                uuid::Uuid::new_v4().to_string().into_bytes(),
            )
            .await?;
        objects.get(&stored.path).await?;
        objects.delete(&stored.path).await
    };
    all_ok &= match probe.await {
        Ok(()) => line(
            true,
            "object store",
            &format!("{} is writable", config.object_store_url),
        ),
        Err(e) => line(
            false,
            "object store",
            &format!("{}: {e}", config.object_store_url),
        ),
    };
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
