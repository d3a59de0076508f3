//! Login sessions, stored in PostgreSQL so web replicas stay stateless. The cookie carries a
//! random token; the table keeps only its SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::users::User;

/// The caller behind a valid session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub tenant_name: String,
    pub tenant_slug: String,
}

/// The SHA-256 of a session token: what the table stores.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a session and returns the token to put in the cookie.
pub async fn create(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    ttl: Duration,
) -> Result<String, sqlx::Error> {
    let mut raw = [0_u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    sqlx::query!(
        "INSERT INTO sessions (id_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        digest(&token),
        user_id,
        OffsetDateTime::now_utc() + ttl
    )
    .execute(db)
    .await?;
    Ok(token)
}

/// The user of an unexpired session; a deactivated user has none (deactivation also ends
/// their sessions, and this holds should one outlive it).
pub async fn lookup(pool: &PgPool, token: &str) -> Result<Option<SessionUser>, sqlx::Error> {
    if token.len() != 64 {
        return Ok(None);
    }
    Ok(lookup_digest(pool, &digest(token))
        .await?
        .map(|(user, _)| user))
}

/// [`lookup`] by the token's digest, with the session's expiry (for callers that cache).
pub async fn lookup_digest(
    pool: &PgPool,
    id_hash: &[u8],
) -> Result<Option<(SessionUser, OffsetDateTime)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT u.id, u.tenant_id, u.email, u.display_name, u.role, u.is_platform_owner,
                u.created_at, t.name AS tenant_name, t.slug AS tenant_slug, s.expires_at
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         JOIN tenants t ON t.id = u.tenant_id
         WHERE s.id_hash = $1 AND s.expires_at > now() AND u.deactivated_at IS NULL",
        id_hash
    )
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((
        SessionUser {
            user: User {
                id: r.id,
                tenant_id: r.tenant_id,
                email: r.email,
                display_name: r.display_name,
                role: r
                    .role
                    .parse()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                is_platform_owner: r.is_platform_owner,
                created_at: r.created_at,
            },
            tenant_name: r.tenant_name,
            tenant_slug: r.tenant_slug,
        },
        r.expires_at,
    )))
}

/// Ends one session; true if it existed.
pub async fn delete(db: impl PgExecutor<'_>, token: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!("DELETE FROM sessions WHERE id_hash = $1", digest(token))
        .execute(db)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends every session of a user (after a password change).
pub async fn delete_for_user(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!("DELETE FROM sessions WHERE user_id = $1", user_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected())
}

pub async fn delete_expired(db: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    let r = sqlx::query!("DELETE FROM sessions WHERE expires_at <= now()")
        .execute(db)
        .await?;
    Ok(r.rows_affected())
}
