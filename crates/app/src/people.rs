//! A tenant's people, managed by its admins: invitations and their one-time set-password
//! links, roles, deactivation. A tenant always keeps one admin who can sign in: every
//! change of a role or of deactivation first takes the tenant's people lock and locks its
//! active admins, so concurrent ones are decided one after another and the last admin stays.

use db::audit::{self, AuditEvent};
use db::users::{Person, User};
use db::{PgPool, Postgres, Transaction};
use domain::{AuditAction, DisplayName, Email, Password, Role};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{ADMIN, Actor, AppError};

/// How long a set-password link works.
pub const LINK_TTL: Duration = Duration::days(7);

/// A one-time set-password link's secret and expiry. The token is shown once, to the admin
/// who asked for it, and never stored; its Debug never prints it.
#[derive(Clone)]
pub struct Link {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

impl Link {
    /// The path that opens it on this site.
    pub fn path(&self) -> String {
        format!("/set-password/{}", self.token)
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("token", &"****")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Someone to invite.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    pub email: &'a Email,
    pub name: &'a DisplayName,
    pub role: Role,
}

fn event(action: AuditAction, actor: &Actor, target: Uuid) -> AuditEvent {
    AuditEvent::new(action, "user", target)
        .tenant(actor.tenant_id)
        .actor(Some(actor.user_id))
}

/// The tenant's active admins, locked, after checking that the actor is still one of them
/// (an admin demoted a moment ago may still hold a session that says otherwise).
async fn lock_admins(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
) -> Result<Vec<Uuid>, AppError> {
    actor.require(ADMIN)?;
    let admins = db::users::lock_active_admins(tx, actor.tenant_id).await?;
    if !admins.contains(&actor.user_id) {
        return Err(AppError::Forbidden("your role does not allow this".into()));
    }
    Ok(admins)
}

async fn locked_person(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    id: Uuid,
) -> Result<Person, AppError> {
    db::users::lock_person(tx, actor.tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

/// Refuses to take `target` out of `admins` when they are the last one.
fn keep_an_admin(admins: &[Uuid], target: &Person, doing: &str) -> Result<(), AppError> {
    if target.is_active_admin() && admins.iter().all(|a| *a == target.user.id) {
        return Err(AppError::conflict(
            "last_admin",
            format!(
                "{} is the tenant's last active admin; make someone else an admin before you {doing}",
                target.user.email
            ),
        ));
    }
    Ok(())
}

/// Invites a person: a user with no usable password (the hash of a secret no one holds, so
/// signing in as them fails like any wrong password, and as slowly) and a link to set one.
/// An email in use is the conflict `email_taken`.
#[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, role = %who.role.as_str()))]
pub async fn invite(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    who: Invitation<'_>,
) -> Result<(Person, Link), AppError> {
    actor.require(ADMIN)?;
    let secret = Password::parse(&Uuid::new_v4().simple().to_string())
        .map_err(|e| AppError::Internal(format!("the placeholder password: {e}")))?;
    let hash = crate::admin::hash_password(&secret).await?;
    let new = db::users::NewUser {
        tenant_id: actor.tenant_id,
        email: who.email,
        display_name: who.name.as_str(),
        role: who.role,
        password_hash: &hash,
        is_platform_owner: false,
    };
    let user = match db::users::create(&mut **tx, new).await {
        Ok(u) => u,
        Err(e) if db::is_constraint(&e, "users_email_key") => {
            return Err(AppError::conflict(
                "email_taken",
                format!("a user with email {} already exists", who.email),
            ));
        }
        // The database's lower() and ours disagree on some rare character.
        Err(e) if db::is_constraint(&e, "users_email_lower") => {
            return Err(AppError::Invalid("email: is not a valid address".into()));
        }
        Err(e) => return Err(e.into()),
    };
    db::users::mark_awaiting_password(&mut **tx, user.id).await?;
    let link = issue(tx, actor, user.id).await?;
    let meta = json!({ "email": user.email, "role": user.role, "linkExpiresAt": stamp(&link) });
    audit::record(
        tx,
        event(AuditAction::UserInvited, actor, user.id).metadata(meta),
    )
    .await;
    let person = locked_person(tx, actor, user.id).await?;
    Ok((person, link))
}

/// A new link for an invited person; the links issued before it stop working. Refused with
/// `not_invited` for someone who has set a password, `deactivated` for a deactivated person.
#[tracing::instrument(skip_all, fields(user = %id))]
pub async fn reissue_link(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    id: Uuid,
) -> Result<(Person, Link), AppError> {
    actor.require(ADMIN)?;
    let person = locked_person(tx, actor, id).await?;
    match person.status {
        domain::PersonStatus::Invited => {}
        domain::PersonStatus::Active => {
            return Err(AppError::conflict(
                "not_invited",
                format!(
                    "{} has already set a password; only an invited person gets a link",
                    person.user.email
                ),
            ));
        }
        domain::PersonStatus::Deactivated => {
            return Err(AppError::conflict(
                "deactivated",
                format!(
                    "{} is deactivated; reactivate them first",
                    person.user.email
                ),
            ));
        }
    }
    let replaced = db::password_links::revoke_unused(&mut **tx, id).await?;
    let link = issue(tx, actor, id).await?;
    let meta =
        json!({ "email": person.user.email, "replaced": replaced, "linkExpiresAt": stamp(&link) });
    audit::record(
        tx,
        event(AuditAction::UserInviteReissued, actor, id).metadata(meta),
    )
    .await;
    Ok((person, link))
}

async fn issue(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    user_id: Uuid,
) -> Result<Link, AppError> {
    let (token, expires_at) =
        db::password_links::create(&mut **tx, user_id, Some(actor.user_id), LINK_TTL).await?;
    Ok(Link { token, expires_at })
}

fn stamp(link: &Link) -> String {
    link.expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Gives a person another role. Demoting the tenant's last active admin is the conflict
/// `last_admin`; the same role again changes nothing and writes no audit row.
#[tracing::instrument(skip_all, fields(user = %id, role = %role.as_str()))]
pub async fn change_role(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    id: Uuid,
    role: Role,
) -> Result<Person, AppError> {
    let admins = lock_admins(tx, actor).await?;
    let mut person = locked_person(tx, actor, id).await?;
    if person.user.role == role {
        return Ok(person);
    }
    if role != Role::Admin {
        keep_an_admin(&admins, &person, "change their role")?;
    }
    db::users::set_role(&mut **tx, id, role).await?;
    let meta = json!({ "email": person.user.email, "from": person.user.role, "to": role });
    audit::record(
        tx,
        event(AuditAction::UserRoleChanged, actor, id).metadata(meta),
    )
    .await;
    person.user.role = role;
    Ok(person)
}

/// Deactivates a person: they can no longer sign in, every session of theirs ends in the
/// same transaction, and their unused links stop working. Deactivating the last active
/// admin (oneself included) is the conflict `last_admin`; a deactivated person stays so,
/// unaudited.
#[tracing::instrument(skip_all, fields(user = %id))]
pub async fn deactivate(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    id: Uuid,
) -> Result<Person, AppError> {
    let admins = lock_admins(tx, actor).await?;
    let person = locked_person(tx, actor, id).await?;
    if person.deactivated_at.is_some() {
        return Ok(person);
    }
    keep_an_admin(&admins, &person, "deactivate them")?;
    db::users::set_deactivated(&mut **tx, id, true).await?;
    let ended = db::sessions::delete_for_user(&mut **tx, id).await?;
    let revoked = db::password_links::revoke_unused(&mut **tx, id).await?;
    let meta =
        json!({ "email": person.user.email, "sessionsEnded": ended, "linksRevoked": revoked });
    audit::record(
        tx,
        event(AuditAction::UserDeactivated, actor, id).metadata(meta),
    )
    .await;
    locked_person(tx, actor, id).await
}

/// Lets a deactivated person sign in again with the password they had (an invited person
/// needs a new link). An active person stays so, unaudited.
#[tracing::instrument(skip_all, fields(user = %id))]
pub async fn reactivate(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    id: Uuid,
) -> Result<Person, AppError> {
    lock_admins(tx, actor).await?;
    let person = locked_person(tx, actor, id).await?;
    if person.deactivated_at.is_none() {
        return Ok(person);
    }
    db::users::set_deactivated(&mut **tx, id, false).await?;
    audit::record(
        tx,
        event(AuditAction::UserReactivated, actor, id)
            .metadata(json!({ "email": person.user.email })),
    )
    .await;
    locked_person(tx, actor, id).await
}

/// Who a set-password link is for: its holder's email and when it expires.
#[derive(Debug, Clone)]
pub struct LinkHolder {
    pub user_id: Uuid,
    pub email: String,
    pub expires_at: OffsetDateTime,
}

/// Why a link no longer works, in words for the person holding it.
fn check_link(
    link: Option<db::password_links::StoredLink>,
) -> Result<db::password_links::StoredLink, AppError> {
    let Some(link) = link else {
        return Err(AppError::NotFound(
            "this link is not valid: it may have been replaced by a newer one; ask your admin for a new link".into(),
        ));
    };
    if link.used_at.is_some() {
        return Err(AppError::conflict(
            "link_used",
            "this link has already been used; sign in with the password you set, or ask your admin for a new link",
        ));
    }
    if link.deactivated {
        return Err(AppError::conflict(
            "deactivated",
            "this account is deactivated; ask your admin",
        ));
    }
    if link.expires_at <= OffsetDateTime::now_utc() {
        return Err(AppError::conflict(
            "link_expired",
            "this link has expired; ask your admin for a new one",
        ));
    }
    Ok(link)
}

/// The person a link that still works is for. An unknown (or replaced) link is `NotFound`;
/// a used or expired one the conflict `link_used` or `link_expired`.
pub async fn link_holder(pool: &PgPool, token: &str) -> Result<LinkHolder, AppError> {
    let link = check_link(db::password_links::find(pool, token).await?)?;
    Ok(LinkHolder {
        user_id: link.user_id,
        email: link.email,
        expires_at: link.expires_at,
    })
}

/// Sets the password of the person a link is for, with the password rules of
/// [`domain::Password`], and uses the link up. Signs no one in: the person signs in next,
/// as anyone does. Audited as the person themselves.
#[tracing::instrument(skip_all)]
pub async fn set_password(
    pool: &PgPool,
    token: &str,
    password: &Password,
) -> Result<User, AppError> {
    // Checked before the slow hash, and again under the lock.
    link_holder(pool, token).await?;
    let hash = crate::admin::hash_password(password).await?;
    let mut tx = pool.begin().await?;
    let link = check_link(db::password_links::lock(&mut tx, token).await?)?;
    db::password_links::mark_used(&mut *tx, &link.id_hash).await?;
    db::password_links::revoke_unused(&mut *tx, link.user_id).await?;
    db::users::set_own_password(&mut *tx, link.user_id, &hash).await?;
    db::sessions::delete_for_user(&mut *tx, link.user_id).await?;
    let user = db::users::get_in_tenant(&mut *tx, link.tenant_id, link.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::UserPasswordSet, "user", user.id)
            .tenant(user.tenant_id)
            .actor(Some(user.id))
            .metadata(json!({ "email": user.email, "via": "link" })),
    )
    .await;
    tx.commit().await?;
    Ok(user)
}
