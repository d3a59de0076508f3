//! Which migrations are applied, and applying the rest.

use sqlx::PgPool;

use crate::MIGRATOR;

/// A migration the database has not applied yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub version: i64,
    pub description: String,
}

/// The state of the schema against the migrations compiled into this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    Current,
    Pending(Vec<Pending>),
    /// The database has applied a migration this binary does not know (a newer release ran),
    /// or one whose checksum differs (a landed migration was edited).
    Diverged(String),
}

/// Compares applied migrations with the embedded ones without changing anything.
pub async fn state(pool: &PgPool) -> Result<SchemaState, sqlx::Error> {
    let table = sqlx::query_scalar!("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    // `_sqlx_migrations` is sqlx's own table, created by the first `run`; the macros check
    // this query against the one scripts/sqlx-prepare creates.
    let applied: Vec<(i64, Vec<u8>, bool)> = if table.is_some() {
        sqlx::query!("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.version, r.checksum, r.success))
            .collect()
    } else {
        Vec::new()
    };
    for (version, checksum, success) in &applied {
        if !success {
            return Ok(SchemaState::Diverged(format!(
                "migration {version} failed part-way"
            )));
        }
        match MIGRATOR.iter().find(|m| m.version == *version) {
            None => {
                return Ok(SchemaState::Diverged(format!(
                    "the database has migration {version}, which this binary does not know"
                )));
            }
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Ok(SchemaState::Diverged(format!(
                    "migration {version} ({}) was changed after it was applied",
                    m.description
                )));
            }
            Some(_) => {}
        }
    }
    let pending: Vec<Pending> = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .filter(|m| !applied.iter().any(|(v, _, _)| *v == m.version))
        .map(|m| Pending {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect();
    Ok(if pending.is_empty() {
        SchemaState::Current
    } else {
        SchemaState::Pending(pending)
    })
}

/// Applies every pending migration, each in its own transaction.
pub async fn run(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
