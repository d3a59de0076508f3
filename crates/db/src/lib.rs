//! PostgreSQL for Coursewright. Query functions are grouped by aggregate and take an executor
//! or a transaction, so the caller decides what commits together.

pub mod alerts;
pub mod analytics;
pub mod artifacts;
pub mod audit;
pub mod connect;
pub mod courses;
pub mod exports;
pub mod ident;
pub mod jobs;
pub mod llm_cache;
pub mod migrate;
pub mod ops;
pub mod packages;
pub mod password_links;
pub mod roles;
pub mod runs;
pub mod sessions;
pub mod store;
pub mod tenants;
pub mod throttle;
pub mod types;
pub mod users;
pub mod workers;

pub use connect::{Database, DbError, connect};
pub use sqlx::{PgPool, Postgres, Transaction};

/// The embedded migrations of this crate.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// True when `err` is a violation of the named constraint, so callers can turn it into a
/// friendly error instead of a 500.
pub fn is_constraint(err: &sqlx::Error, name: &str) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.constraint() == Some(name))
}
