//! The audit writer and the chain verifier.
//!
//! Every write goes through [`record`], inside the caller's transaction and within a
//! savepoint: a failed audit insert is rolled back to the savepoint, logged and counted, and
//! the caller's change still commits. The chain head is serialized with a transaction-level
//! advisory lock, so concurrent writers still produce one chain (ids contiguous, each row's
//! `prev_hash` the hash of the row before it).

use domain::audit::{AuditAction, AuditRecord, GENESIS_HASH};
use serde::Serialize;
use sqlx::{Acquire, PgConnection, PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use uuid::Uuid;

/// The advisory lock key that serializes the chain head ("cw-audit" in ASCII).
const CHAIN_LOCK: i64 = 0x63772d6175646974;

const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// One event to append.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub tenant_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: AuditAction,
    pub entity_type: &'static str,
    pub entity_id: Option<String>,
    pub metadata: serde_json::Value,
}

impl AuditEvent {
    pub fn new(action: AuditAction, entity_type: &'static str, entity_id: impl ToString) -> Self {
        Self {
            tenant_id: None,
            actor_id: None,
            action,
            entity_type,
            entity_id: Some(entity_id.to_string()),
            metadata: serde_json::json!({}),
        }
    }
    pub fn tenant(mut self, tenant_id: Uuid) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }
    pub fn actor(mut self, actor_id: Option<Uuid>) -> Self {
        self.actor_id = actor_id;
        self
    }
    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }
}

/// Appends `event` inside `tx`. Returns whether the row was written; a failure never
/// propagates, it is logged and counted in `audit_write_failures_total`.
pub async fn record(tx: &mut Transaction<'_, Postgres>, event: AuditEvent) -> bool {
    match write_in_savepoint(tx, &event).await {
        Ok(()) => true,
        Err(e) => {
            metrics::counter!("audit_write_failures_total").increment(1);
            tracing::error!(
                error = %e,
                action = event.action.as_str(),
                entity_type = event.entity_type,
                entity_id = event.entity_id.as_deref().unwrap_or(""),
                "audit write failed; the change it describes goes ahead"
            );
            false
        }
    }
}

/// Appends `event` in a transaction of its own, for events that change nothing else
/// (a failed login, say).
pub async fn record_alone(pool: &PgPool, event: AuditEvent) -> bool {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            metrics::counter!("audit_write_failures_total").increment(1);
            tracing::error!(error = %e, action = event.action.as_str(), "audit write failed");
            return false;
        }
    };
    let written = record(&mut tx, event).await;
    if let Err(e) = tx.commit().await {
        metrics::counter!("audit_write_failures_total").increment(1);
        tracing::error!(error = %e, "audit commit failed");
        return false;
    }
    written
}

async fn write_in_savepoint(
    tx: &mut Transaction<'_, Postgres>,
    event: &AuditEvent,
) -> Result<(), sqlx::Error> {
    let mut savepoint = tx.begin().await?;
    match insert(&mut savepoint, event).await {
        Ok(()) => savepoint.commit().await,
        Err(e) => {
            savepoint.rollback().await?;
            Err(e)
        }
    }
}

async fn insert(conn: &mut PgConnection, event: &AuditEvent) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
        .execute(&mut *conn)
        .await?;
    let head = sqlx::query!("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (id, prev_hash) = match head {
        Some(h) => (h.id + 1, h.hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let now = OffsetDateTime::now_utc();
    // PostgreSQL keeps microseconds; hash exactly what will be read back.
    let created_at = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let tenant = event.tenant_id.map(|u| u.to_string());
    let actor = event.actor_id.map(|u| u.to_string());
    let stamp = format_stamp(created_at)?;
    let hash = AuditRecord {
        id,
        tenant_id: tenant.as_deref(),
        actor_id: actor.as_deref(),
        action: event.action.as_str(),
        entity_type: event.entity_type,
        entity_id: event.entity_id.as_deref(),
        metadata: &event.metadata,
        created_at: &stamp,
    }
    .chain_hash(&prev_hash);
    sqlx::query!(
        "INSERT INTO audit_log
            (id, tenant_id, actor_id, action, entity_type, entity_id, metadata, created_at,
             prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id,
        event.tenant_id,
        event.actor_id,
        event.action.as_str(),
        event.entity_type,
        event.entity_id,
        event.metadata,
        created_at,
        prev_hash,
        hash,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn format_stamp(t: OffsetDateTime) -> Result<String, sqlx::Error> {
    t.to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Intact {
        rows: u64,
    },
    Broken {
        rows_checked: u64,
        id: i64,
        reason: String,
    },
}

/// Recomputes the whole chain in id order and names the first row that does not fit.
pub async fn verify(pool: &PgPool) -> Result<Verification, sqlx::Error> {
    const PAGE: i64 = 5_000;
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut expected_id = 1_i64;
    let mut rows = 0_u64;
    loop {
        let page = sqlx::query!(
            "SELECT id, tenant_id, actor_id, action, entity_type, entity_id, metadata,
                    created_at, prev_hash, hash
             FROM audit_log WHERE id >= $1 ORDER BY id LIMIT $2",
            expected_id,
            PAGE
        )
        .fetch_all(pool)
        .await?;
        let n = page.len();
        for r in page {
            let broken = |reason: String| Verification::Broken {
                rows_checked: rows,
                id: r.id,
                reason,
            };
            if r.id != expected_id {
                return Ok(Verification::Broken {
                    rows_checked: rows,
                    id: r.id,
                    reason: format!("row {expected_id} is missing (the next row is {})", r.id),
                });
            }
            if r.prev_hash != expected_prev {
                return Ok(broken(
                    "prev_hash does not match the previous row's hash".into(),
                ));
            }
            let tenant = r.tenant_id.map(|u| u.to_string());
            let actor = r.actor_id.map(|u| u.to_string());
            let stamp = format_stamp(r.created_at)?;
            let hash = AuditRecord {
                id: r.id,
                tenant_id: tenant.as_deref(),
                actor_id: actor.as_deref(),
                action: &r.action,
                entity_type: &r.entity_type,
                entity_id: r.entity_id.as_deref(),
                metadata: &r.metadata,
                created_at: &stamp,
            }
            .chain_hash(&r.prev_hash);
            if hash != r.hash {
                return Ok(broken(
                    "its contents do not match its hash (the row was altered)".into(),
                ));
            }
            expected_prev = r.hash;
            expected_id += 1;
            rows += 1;
        }
        if n < PAGE as usize {
            return Ok(Verification::Intact { rows });
        }
    }
}

/// One row as the audit page and API show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub metadata: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Filters for [`list`]; empty strings mean "any".
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor_email: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Keyset pagination: only rows with an id below this one.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// A tenant's audit rows, newest first.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    f: &AuditFilter,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as!(
        AuditEntry,
        r#"SELECT a.id, a.actor_id, u.email AS "actor_email?", a.action, a.entity_type,
                  a.entity_id, a.metadata, a.created_at
           FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
           WHERE a.tenant_id = $1
             AND ($2::text IS NULL OR a.action = $2)
             AND ($3::text IS NULL OR u.email = $3)
             AND ($4::text IS NULL OR a.entity_type = $4)
             AND ($5::text IS NULL OR a.entity_id = $5)
             AND ($6::bigint IS NULL OR a.id < $6)
           ORDER BY a.id DESC
           LIMIT $7"#,
        tenant_id,
        f.action,
        f.actor_email,
        f.entity_type,
        f.entity_id,
        f.before_id,
        f.limit,
    )
    .fetch_all(pool)
    .await
}
