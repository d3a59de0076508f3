//! The audit writer, the sealer and the chain verifier.
//!
//! Every write goes through [`record`], inside the caller's transaction and within a
//! savepoint: a failed audit insert is rolled back to the savepoint, logged and counted, and
//! the caller's change still commits. Writers take no lock, so audited transactions never
//! queue behind each other. The sealer ([`seal`]) then appends committed rows to the hash
//! chain, one sealer at a time (a transaction advisory lock serializes the chain head), in
//! the order it finds them committed. A watermark of transaction ids (everything below it is
//! sealed) keeps each run from rescanning the whole log.

use domain::audit::{AuditAction, AuditRecord, GENESIS_HASH};
use serde::Serialize;
use sqlx::{Acquire, PgPool, Postgres, Transaction};
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

/// Counts and logs an audit row that could not be written.
pub fn count_failure(action: &str, cause: &dyn std::fmt::Display) {
    metrics::counter!("audit_write_failures_total").increment(1);
    tracing::error!(error = %cause, action, "audit write failed; the change it describes goes ahead");
}

/// Appends `event` inside `tx`. Returns whether the row was written; a failure never
/// propagates, it is logged and counted in `audit_write_failures_total`.
pub async fn record(tx: &mut Transaction<'_, Postgres>, event: AuditEvent) -> bool {
    match write_in_savepoint(tx, &event).await {
        Ok(()) => true,
        Err(e) => {
            count_failure(event.action.as_str(), &e);
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
            count_failure(event.action.as_str(), &e);
            return false;
        }
    };
    let written = record(&mut tx, event.clone()).await;
    if let Err(e) = tx.commit().await {
        count_failure(event.action.as_str(), &e);
        return false;
    }
    written
}

async fn write_in_savepoint(
    tx: &mut Transaction<'_, Postgres>,
    event: &AuditEvent,
) -> Result<(), sqlx::Error> {
    let mut savepoint = tx.begin().await?;
    let inserted = sqlx::query!(
        "INSERT INTO audit_log (tenant_id, actor_id, action, entity_type, entity_id, metadata)
         VALUES ($1, $2, $3, $4, $5, $6)",
        event.tenant_id,
        event.actor_id,
        event.action.as_str(),
        event.entity_type,
        event.entity_id,
        event.metadata,
    )
    .execute(&mut *savepoint)
    .await;
    match inserted {
        Ok(_) => savepoint.commit().await,
        Err(e) => {
            savepoint.rollback().await?;
            Err(e)
        }
    }
}

fn format_stamp(t: OffsetDateTime) -> Result<String, sqlx::Error> {
    t.to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))
}

struct Row {
    id: i64,
    tenant_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    metadata: serde_json::Value,
    created_at: OffsetDateTime,
}

fn chain_hash(seq: i64, r: &Row, prev_hash: &str) -> Result<String, sqlx::Error> {
    let tenant = r.tenant_id.map(|u| u.to_string());
    let actor = r.actor_id.map(|u| u.to_string());
    let stamp = format_stamp(r.created_at)?;
    Ok(AuditRecord {
        seq,
        id: r.id,
        tenant_id: tenant.as_deref(),
        actor_id: actor.as_deref(),
        action: &r.action,
        entity_type: &r.entity_type,
        entity_id: r.entity_id.as_deref(),
        metadata: &r.metadata,
        created_at: &stamp,
    }
    .chain_hash(prev_hash))
}

/// Appends every audit row whose transaction has finished to the chain; returns how many.
pub async fn seal(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut sealed = 0;
    loop {
        let n = seal_batch(pool, 5_000).await?;
        sealed += n;
        if n < 5_000 {
            return Ok(sealed);
        }
    }
}

async fn seal_batch(pool: &PgPool, limit: i64) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
        .execute(&mut *tx)
        .await?;
    // Every transaction below `to` has ended, so after this seal all of their rows are in the
    // chain and the next seal can start there. Rows of later transactions that are already
    // committed are sealed now too; those still in flight are sealed by a later run (the
    // chain is in sealing order, not id order).
    let window = sqlx::query!(
        r#"SELECT s.sealed_below::text AS "from!", pg_snapshot_xmin(pg_current_snapshot())::text AS "to!"
           FROM audit_seal_state s"#
    )
    .fetch_one(&mut *tx)
    .await?;
    let rows = sqlx::query_as!(
        Row,
        "SELECT a.id, a.tenant_id, a.actor_id, a.action, a.entity_type, a.entity_id, a.metadata, a.created_at
         FROM audit_log a
         WHERE a.xid >= $1::text::xid8
           AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)
         ORDER BY a.id
         LIMIT $2",
        window.from,
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    let head = sqlx::query!("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?;
    let (mut seq, mut prev) = head.map_or((0, GENESIS_HASH.to_owned()), |h| (h.seq, h.hash));
    let (mut seqs, mut ids, mut prevs, mut hashes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in &rows {
        seq += 1;
        let hash = chain_hash(seq, r, &prev)?;
        seqs.push(seq);
        ids.push(r.id);
        prevs.push(std::mem::replace(&mut prev, hash.clone()));
        hashes.push(hash);
    }
    if !rows.is_empty() {
        sqlx::query!(
            "INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])",
            &seqs,
            &ids,
            &prevs,
            &hashes
        )
        .execute(&mut *tx)
        .await?;
    }
    // Only a full batch may leave rows of the window behind; then the window stays.
    if (rows.len() as i64) < limit {
        sqlx::query!(
            "UPDATE audit_seal_state SET sealed_below = $1::text::xid8",
            window.to
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
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

/// Seals what can be sealed, then recomputes the whole chain in order and names the first
/// audit row that does not fit. A committed row missing from the chain is reported too.
pub async fn verify(pool: &PgPool) -> Result<Verification, sqlx::Error> {
    const PAGE: i64 = 5_000;
    seal(pool).await?;
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut expected_seq = 1_i64;
    let mut rows = 0_u64;
    loop {
        let page = sqlx::query!(
            r#"SELECT c.seq, c.audit_id, c.prev_hash, c.hash,
                      a.id AS "id?", a.tenant_id, a.actor_id, a.action AS "action?", a.entity_type AS "entity_type?",
                      a.entity_id, a.metadata AS "metadata?", a.created_at AS "created_at?"
               FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id
               WHERE c.seq >= $1 ORDER BY c.seq LIMIT $2"#,
            expected_seq,
            PAGE
        )
        .fetch_all(pool)
        .await?;
        let n = page.len();
        for c in page {
            let broken = |reason: String| Verification::Broken {
                rows_checked: rows,
                id: c.audit_id,
                reason,
            };
            if c.seq != expected_seq {
                return Ok(broken(format!(
                    "chain entry {expected_seq} is missing (the next is {})",
                    c.seq
                )));
            }
            if c.prev_hash != expected_prev {
                return Ok(broken(
                    "prev_hash does not match the previous entry's hash".into(),
                ));
            }
            let (Some(id), Some(action), Some(entity_type), Some(metadata), Some(created_at)) =
                (c.id, c.action, c.entity_type, c.metadata, c.created_at)
            else {
                return Ok(broken("the audit row is gone".into()));
            };
            let row = Row {
                id,
                tenant_id: c.tenant_id,
                actor_id: c.actor_id,
                action,
                entity_type,
                entity_id: c.entity_id,
                metadata,
                created_at,
            };
            if chain_hash(c.seq, &row, &c.prev_hash)? != c.hash {
                return Ok(broken(
                    "its contents do not match its hash (the row was altered)".into(),
                ));
            }
            expected_prev = c.hash;
            expected_seq += 1;
            rows += 1;
        }
        if n < PAGE as usize {
            break;
        }
    }
    let stray = sqlx::query_scalar!(
        r#"SELECT min(a.id) AS "id" FROM audit_log a
           WHERE a.xid < (SELECT sealed_below FROM audit_seal_state)
             AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)"#
    )
    .fetch_one(pool)
    .await?;
    if let Some(id) = stray {
        return Ok(Verification::Broken {
            rows_checked: rows,
            id,
            reason: "the row is missing from the chain (its chain entry was removed)".into(),
        });
    }
    Ok(Verification::Intact { rows })
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
