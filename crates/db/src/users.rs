//! Users: one tenant each, one role within it, and optionally platform ownership.

use domain::{Email, Role};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// A user as the rest of the system sees it (never the password hash).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub is_platform_owner: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What login needs: the user, their tenant, and the stored hash.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

struct Row {
    id: Uuid,
    tenant_id: Uuid,
    email: String,
    display_name: String,
    role: String,
    is_platform_owner: bool,
    created_at: OffsetDateTime,
}

impl TryFrom<Row> for User {
    type Error = sqlx::Error;
    fn try_from(r: Row) -> Result<Self, Self::Error> {
        Ok(User {
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
        })
    }
}

/// The fields of a new user.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub tenant_id: Uuid,
    pub email: &'a Email,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub is_platform_owner: bool,
}

/// Inserts a user; a taken email fails on `users_email_key`.
pub async fn create(db: impl PgExecutor<'_>, u: NewUser<'_>) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, is_platform_owner)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, tenant_id, email, display_name, role, is_platform_owner, created_at",
        Uuid::new_v4(),
        u.tenant_id,
        u.email.as_str(),
        u.display_name,
        u.role.as_str(),
        u.password_hash,
        u.is_platform_owner
    )
    .fetch_one(db)
    .await?
    .try_into()
}

pub async fn credentials(
    db: impl PgExecutor<'_>,
    email: &Email,
) -> Result<Option<Credentials>, sqlx::Error> {
    let Some(r) = sqlx::query!(
        "SELECT id, tenant_id, email, display_name, role, is_platform_owner, created_at, password_hash
         FROM users WHERE email = $1",
        email.as_str()
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let user = Row {
        id: r.id,
        tenant_id: r.tenant_id,
        email: r.email,
        display_name: r.display_name,
        role: r.role,
        is_platform_owner: r.is_platform_owner,
        created_at: r.created_at,
    }
    .try_into()?;
    Ok(Some(Credentials {
        user,
        password_hash: r.password_hash,
    }))
}

/// A user of `tenant_id`; another tenant's user is `None`, exactly like a missing one.
pub async fn get_in_tenant(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "SELECT id, tenant_id, email, display_name, role, is_platform_owner, created_at
         FROM users WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id
    )
    .fetch_optional(db)
    .await?
    .map(User::try_from)
    .transpose()
}

pub async fn list_in_tenant(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "SELECT id, tenant_id, email, display_name, role, is_platform_owner, created_at
         FROM users WHERE tenant_id = $1 ORDER BY created_at, email",
        tenant_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(User::try_from)
    .collect()
}

pub async fn set_password(
    db: impl PgExecutor<'_>,
    id: Uuid,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        id,
        password_hash
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
