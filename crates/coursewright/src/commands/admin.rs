//! Administrative commands: tenants, users and the audit chain.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};
use app::admin::Operator;
use db::audit::{self, Verification};
use domain::{Email, Password, Role, TenantName, TenantSlug};

use crate::config::Config;

pub async fn create_tenant(config: &Config, slug: &str, name: &str) -> anyhow::Result<ExitCode> {
    let slug = TenantSlug::parse(slug)?;
    let name = TenantName::parse(name)?;
    let database = db::connect(&config.database).await?;
    let mut tx = database.pool.begin().await?;
    let tenant = app::admin::create_tenant(&mut tx, Operator::Console("cli"), &slug, &name)
        .await
        .map_err(refused)?;
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
    let mut tx = database.pool.begin().await?;
    let person = app::admin::NewPerson {
        tenant_id: tenant.id,
        email: &email,
        display_name: name,
        role,
        password: &password,
        platform_owner,
    };
    let user = app::admin::create_user(&mut tx, Operator::Console("cli"), person)
        .await
        .map_err(refused)?;
    tx.commit().await?;
    println!(
        "created {} {} in tenant {} with id {}",
        user.role, user.email, tenant.slug, user.id
    );
    Ok(ExitCode::SUCCESS)
}

/// A refusal as the CLI says it: the use case's own message.
fn refused(e: app::AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
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
