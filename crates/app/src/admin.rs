//! Platform commands: tenants and their people. A platform owner runs them through the
//! API; an operator at the server runs them through the CLI (with the database's
//! credentials, so with no one signed in), and the demo seeds its tenant with them.

use db::audit::{self, AuditEvent};
use db::tenants::Tenant;
use db::users::User;
use db::{Postgres, Transaction};
use domain::{AuditAction, Email, Password, Role, TenantName, TenantSlug};
use serde_json::json;
use uuid::Uuid;

use crate::AppError;

/// Who runs a platform command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// A signed-in platform owner (the caller has checked that they are one).
    Owner(Uuid),
    /// Someone at the server: the CLI or the demo, named in the audit row.
    Console(&'static str),
}

impl Operator {
    fn stamp(self, event: AuditEvent, mut meta: serde_json::Value) -> AuditEvent {
        match self {
            Self::Owner(user) => event.actor(Some(user)).metadata(meta),
            Self::Console(via) => {
                meta["via"] = json!(via);
                event.metadata(meta)
            }
        }
    }
}

/// Creates a tenant, audited; a slug in use is the conflict `slug_taken`.
#[tracing::instrument(skip_all, fields(slug = slug.as_str()))]
pub async fn create_tenant(
    tx: &mut Transaction<'_, Postgres>,
    by: Operator,
    slug: &TenantSlug,
    name: &TenantName,
) -> Result<Tenant, AppError> {
    let tenant = match db::tenants::create(&mut **tx, slug, name).await {
        Ok(t) => t,
        Err(e) if db::is_constraint(&e, "tenants_slug_key") => {
            return Err(AppError::conflict(
                "slug_taken",
                format!("a tenant with slug {:?} already exists", slug.as_str()),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let event = AuditEvent::new(AuditAction::TenantCreated, "tenant", tenant.id).tenant(tenant.id);
    audit::record(
        tx,
        by.stamp(event, json!({ "slug": tenant.slug, "name": tenant.name })),
    )
    .await;
    Ok(tenant)
}

/// A person to add to a tenant.
#[derive(Debug)]
pub struct NewPerson<'a> {
    pub tenant_id: Uuid,
    pub email: &'a Email,
    pub display_name: &'a str,
    pub role: Role,
    pub password: &'a Password,
    pub platform_owner: bool,
}

/// Adds a person, with their password hashed and an audit row; an email in use is the
/// conflict `email_taken`.
#[tracing::instrument(skip_all, fields(tenant = %p.tenant_id, role = %p.role.as_str()))]
pub async fn create_user(
    tx: &mut Transaction<'_, Postgres>,
    by: Operator,
    p: NewPerson<'_>,
) -> Result<User, AppError> {
    let hash = hash_password(p.password).await?;
    let new = db::users::NewUser {
        tenant_id: p.tenant_id,
        email: p.email,
        display_name: p.display_name.trim(),
        role: p.role,
        password_hash: &hash,
        is_platform_owner: p.platform_owner,
    };
    let user = match db::users::create(&mut **tx, new).await {
        Ok(u) => u,
        Err(e) if db::is_constraint(&e, "users_email_key") => {
            return Err(AppError::conflict(
                "email_taken",
                format!("a user with email {} already exists", p.email),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let event = AuditEvent::new(AuditAction::UserCreated, "user", user.id).tenant(p.tenant_id);
    let meta = json!({ "email": user.email, "role": user.role, "platformOwner": p.platform_owner });
    audit::record(tx, by.stamp(event, meta)).await;
    Ok(user)
}

/// Sets a person's password and ends their sessions, audited. An invited person's
/// invitation ends with it: their set-password links stop working.
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn reset_password(
    tx: &mut Transaction<'_, Postgres>,
    by: Operator,
    user: &User,
    password: &Password,
) -> Result<(), AppError> {
    let hash = hash_password(password).await?;
    db::users::set_own_password(&mut **tx, user.id, &hash).await?;
    db::password_links::revoke_unused(&mut **tx, user.id).await?;
    db::sessions::delete_for_user(&mut **tx, user.id).await?;
    let event =
        AuditEvent::new(AuditAction::UserPasswordReset, "user", user.id).tenant(user.tenant_id);
    audit::record(tx, by.stamp(event, json!({}))).await;
    Ok(())
}

/// Hashes with argon2id off the async runtime: it takes tens of milliseconds of CPU.
pub async fn hash_password(password: &Password) -> Result<String, AppError> {
    let p = password.expose().to_owned();
    tokio::task::spawn_blocking(move || hash_password_blocking(&p))
        .await
        .map_err(|e| AppError::Internal(format!("the hashing thread failed: {e}")))?
}

/// Hashes with argon2id (default parameters: 19 MiB, 2 passes).
pub fn hash_password_blocking(password: &str) -> Result<String, AppError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
}
