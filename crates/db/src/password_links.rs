//! One-time links to set a password, for invited people. The link carries a random token;
//! the table keeps only its SHA-256, like sessions.

use rand::RngCore;
use sqlx::PgExecutor;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::sessions::digest;

/// A link as it is stored, with the person it is for.
#[derive(Debug, Clone)]
pub struct StoredLink {
    pub id_hash: Vec<u8>,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub deactivated: bool,
}

/// Whether `token` could be one of ours (64 hex digits); anything else names no link.
fn plausible(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Stores a new link for `user_id` that expires after `ttl`; returns the token and expiry.
pub async fn create(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    created_by: Option<Uuid>,
    ttl: Duration,
) -> Result<(String, OffsetDateTime), sqlx::Error> {
    let mut raw = [0_u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let expires_at = sqlx::query_scalar!(
        "INSERT INTO password_links (id_hash, user_id, created_by, expires_at)
         VALUES ($1, $2, $3, now() + $4::bigint * interval '1 second')
         RETURNING expires_at",
        digest(&token),
        user_id,
        created_by,
        ttl.whole_seconds()
    )
    .fetch_one(db)
    .await?;
    Ok((token, expires_at))
}

/// Deletes the links of `user_id` not used yet, so that none of them works any more.
pub async fn revoke_unused(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM password_links WHERE user_id = $1 AND used_at IS NULL",
        user_id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// The link behind `token`, used or not, expired or not.
pub async fn find(db: impl PgExecutor<'_>, token: &str) -> Result<Option<StoredLink>, sqlx::Error> {
    if !plausible(token) {
        return Ok(None);
    }
    let found = sqlx::query_as!(
        StoredLink,
        r#"SELECT l.id_hash, l.user_id, u.tenant_id, u.email, l.expires_at, l.used_at,
                  u.deactivated_at IS NOT NULL AS "deactivated!"
           FROM password_links l JOIN users u ON u.id = l.user_id
           WHERE l.id_hash = $1"#,
        digest(token)
    )
    .fetch_optional(db)
    .await?;
    Ok(found)
}

/// [`find`], locking the link until the transaction ends, so it is used at most once.
pub async fn lock(
    tx: &mut sqlx::PgConnection,
    token: &str,
) -> Result<Option<StoredLink>, sqlx::Error> {
    if !plausible(token) {
        return Ok(None);
    }
    sqlx::query_as!(
        StoredLink,
        r#"SELECT l.id_hash, l.user_id, u.tenant_id, u.email, l.expires_at, l.used_at,
                  u.deactivated_at IS NOT NULL AS "deactivated!"
           FROM password_links l JOIN users u ON u.id = l.user_id
           WHERE l.id_hash = $1
           FOR UPDATE OF l"#,
        digest(token)
    )
    .fetch_optional(tx)
    .await
}

/// Marks a link used; false if it already was.
pub async fn mark_used(db: impl PgExecutor<'_>, id_hash: &[u8]) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE password_links SET used_at = now() WHERE id_hash = $1 AND used_at IS NULL",
        id_hash
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
