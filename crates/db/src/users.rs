//! Users: one tenant each, one role within it, and optionally platform ownership.

use domain::{Email, PersonStatus, Role};
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

/// What login needs: the user, their tenant, the stored hash, and whether they may sign in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub deactivated: bool,
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
        "SELECT id, tenant_id, email, display_name, role, is_platform_owner, created_at, password_hash,
                deactivated_at IS NOT NULL AS \"deactivated!\"
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
        deactivated: r.deactivated,
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

/// A person as the people pages see them: the user, where they stand, and when they last
/// signed in (if they have since it was recorded).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    #[serde(flatten)]
    pub user: User,
    pub status: PersonStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deactivated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
}

struct PersonRow {
    id: Uuid,
    tenant_id: Uuid,
    email: String,
    display_name: String,
    role: String,
    is_platform_owner: bool,
    created_at: OffsetDateTime,
    deactivated_at: Option<OffsetDateTime>,
    awaiting_password: bool,
    last_sign_in_at: Option<OffsetDateTime>,
}

impl TryFrom<PersonRow> for Person {
    type Error = sqlx::Error;
    fn try_from(r: PersonRow) -> Result<Self, Self::Error> {
        let user = User::try_from(Row {
            id: r.id,
            tenant_id: r.tenant_id,
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            is_platform_owner: r.is_platform_owner,
            created_at: r.created_at,
        })?;
        Ok(Person {
            user,
            status: PersonStatus::of(r.deactivated_at.is_some(), r.awaiting_password),
            deactivated_at: r.deactivated_at,
            last_sign_in_at: r.last_sign_in_at,
        })
    }
}

impl Person {
    /// An admin who can sign in: one of those the last-admin guard counts.
    pub fn is_active_admin(&self) -> bool {
        self.user.role == Role::Admin && self.deactivated_at.is_none()
    }
}

/// The people of `tenant_id`, oldest first.
pub async fn people_in_tenant(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<Person>, sqlx::Error> {
    sqlx::query_as!(
        PersonRow,
        "SELECT id, tenant_id, email, display_name, role, is_platform_owner, created_at,
                deactivated_at, awaiting_password, last_sign_in_at
         FROM users WHERE tenant_id = $1 ORDER BY created_at, email",
        tenant_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(Person::try_from)
    .collect()
}

/// A person of `tenant_id`; another tenant's is `None`, exactly like a missing one.
pub async fn person_in_tenant(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Person>, sqlx::Error> {
    sqlx::query_as!(
        PersonRow,
        "SELECT id, tenant_id, email, display_name, role, is_platform_owner, created_at,
                deactivated_at, awaiting_password, last_sign_in_at
         FROM users WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id
    )
    .fetch_optional(db)
    .await?
    .map(Person::try_from)
    .transpose()
}

/// [`person_in_tenant`], locking the row until the transaction ends. `NO KEY UPDATE`, the
/// lock an UPDATE of its columns takes: it queues other changes to the person, not the
/// inserts that merely refer to them (a session, an audit row).
pub async fn lock_person(
    tx: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Person>, sqlx::Error> {
    sqlx::query_as!(
        PersonRow,
        "SELECT id, tenant_id, email, display_name, role, is_platform_owner, created_at,
                deactivated_at, awaiting_password, last_sign_in_at
         FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        tenant_id,
        id
    )
    .fetch_optional(tx)
    .await?
    .map(Person::try_from)
    .transpose()
}

/// Serializes changes to the people of `tenant_id` until the transaction ends, then locks
/// its active admins and returns their ids, read after the lock is granted, so that a
/// change committed by the previous holder is seen. Locking the admin rows alone can
/// deadlock: a row that fails the re-check after a wait stays locked by the waiter.
pub async fn lock_active_admins(
    tx: &mut sqlx::PgConnection,
    tenant_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let key = format!("tenant_people:{tenant_id}");
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        .execute(&mut *tx)
        .await?;
    sqlx::query_scalar!(
        "SELECT id FROM users
         WHERE tenant_id = $1 AND role = 'ADMIN' AND deactivated_at IS NULL
         ORDER BY id FOR NO KEY UPDATE",
        tenant_id
    )
    .fetch_all(tx)
    .await
}

pub async fn set_role(db: impl PgExecutor<'_>, id: Uuid, role: Role) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE users SET role = $2 WHERE id = $1",
        id,
        role.as_str()
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deactivates (`true`, stamped now) or reactivates (`false`) a user.
pub async fn set_deactivated(
    db: impl PgExecutor<'_>,
    id: Uuid,
    deactivated: bool,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE users
         SET deactivated_at = CASE WHEN $2 THEN coalesce(deactivated_at, now()) END
         WHERE id = $1",
        id,
        deactivated
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks a user as invited: they have no password of their own until they set one.
pub async fn mark_awaiting_password(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE users SET awaiting_password = true WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Stores the password a person chose, which ends their invitation.
pub async fn set_own_password(
    db: impl PgExecutor<'_>,
    id: Uuid,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE users SET password_hash = $2, awaiting_password = false WHERE id = $1",
        id,
        password_hash
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records a successful sign-in.
pub async fn record_sign_in(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET last_sign_in_at = now() WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}
