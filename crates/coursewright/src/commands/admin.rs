//! Administrative commands: tenants, users and the audit chain.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};
use db::audit::{self, AuditEvent, Verification};
use domain::{AuditAction, Email, Password, Role, TenantName, TenantSlug};
use serde_json::json;

use crate::config::Config;

pub async fn create_tenant(config: &Config, slug: &str, name: &str) -> anyhow::Result<ExitCode> {
    let slug = TenantSlug::parse(slug)?;
    let name = TenantName::parse(name)?;
    let database = db::connect(&config.database).await?;
    let mut tx = database.pool.begin().await?;
    let tenant = match db::tenants::create(&mut *tx, &slug, &name).await {
        Ok(t) => t,
        Err(e) if db::is_constraint(&e, "tenants_slug_key") => {
            bail!("a tenant with slug {:?} already exists", slug.as_str())
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::TenantCreated, "tenant", tenant.id)
            .tenant(tenant.id)
            .metadata(json!({ "slug": tenant.slug, "name": tenant.name, "via": "cli" })),
    )
    .await;
    tx.commit().await?;
    println!(
        "created tenant {} ({}) with id {}",
        tenant.name, tenant.slug, tenant.id
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads a password without ever taking it from argv: one line of standard input when that
/// is not a terminal, otherwise a prompt (twice, to catch typos).
fn read_password() -> anyhow::Result<Password> {
    let raw = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat password: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(Password::parse(&raw)?)
}

pub async fn create_user(
    config: &Config,
    email: &str,
    role: &str,
    tenant: &str,
    name: &str,
    platform_owner: bool,
) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email)?;
    let role: Role = role.parse()?;
    let password = read_password()?;
    let database = db::connect(&config.database).await?;
    let Some(tenant) = db::tenants::find_by_slug(&database.pool, tenant).await? else {
        bail!("no tenant has the slug {tenant:?}; create it with `coursewright tenant create`");
    };
    let hash = hash(&password).await?;
    let mut tx = database.pool.begin().await?;
    let new = db::users::NewUser {
        tenant_id: tenant.id,
        email: &email,
        display_name: name.trim(),
        role,
        password_hash: &hash,
        is_platform_owner: platform_owner,
    };
    let user = match db::users::create(&mut *tx, new).await {
        Ok(u) => u,
        Err(e) if db::is_constraint(&e, "users_email_key") => {
            bail!("a user with email {email} already exists")
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::UserCreated, "user", user.id)
            .tenant(tenant.id)
            .metadata(json!({ "email": user.email, "role": user.role, "platformOwner": platform_owner, "via": "cli" })),
    )
    .await;
    tx.commit().await?;
    println!(
        "created {} {} in tenant {} with id {}",
        user.role, user.email, tenant.slug, user.id
    );
    Ok(ExitCode::SUCCESS)
}

/// Hashes on a blocking thread: argon2 takes tens of milliseconds of CPU.
pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let p = password.expose().to_owned();
    tokio::task::spawn_blocking(move || web::kit::auth::hash_password_blocking(&p)).await?
}

pub async fn verify_audit(config: &Config) -> anyhow::Result<ExitCode> {
    let database = db::connect(&config.database).await?;
    match audit::verify(&database.pool).await? {
        Verification::Intact { rows } => {
            println!("audit chain intact: {rows} rows verified");
            Ok(ExitCode::SUCCESS)
        }
        Verification::Broken {
            rows_checked,
            id,
            reason,
        } => {
            println!(
                "audit chain BROKEN at row {id}: {reason} ({rows_checked} rows before it verified)"
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
