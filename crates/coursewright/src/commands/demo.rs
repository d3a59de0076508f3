//! `demo`: a ready-to-try tenant on a fresh machine.

use std::process::ExitCode;

use db::audit::{self, AuditEvent};
use domain::{AuditAction, Email, Password, Role, TenantName, TenantSlug};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;

use crate::cli::ServeArgs;
use crate::config::Config;

const TENANT_SLUG: &str = "demo";
const TENANT_NAME: &str = "Demo Academy";
const PEOPLE: [(&str, &str, Role); 3] = [
    ("admin@demo.test", "Ada Admin", Role::Admin),
    ("reviewer@demo.test", "Rey Reviewer", Role::Reviewer),
    ("learner@demo.test", "Lee Learner", Role::Learner),
];

fn fresh_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

/// Creates (or refreshes) the demo tenant and its people; returns their credentials.
pub async fn seed(pool: &db::PgPool) -> anyhow::Result<Vec<(String, String, Role)>> {
    let mut tx = pool.begin().await?;
    let slug = TenantSlug::parse(TENANT_SLUG)?;
    let tenant = match db::tenants::find_by_slug(&mut *tx, TENANT_SLUG).await? {
        Some(t) => t,
        None => {
            let t = db::tenants::create(&mut *tx, &slug, &TenantName::parse(TENANT_NAME)?).await?;
            audit::record(
                &mut tx,
                AuditEvent::new(AuditAction::TenantCreated, "tenant", t.id)
                    .tenant(t.id)
                    .metadata(json!({ "slug": t.slug, "name": t.name, "via": "demo" })),
            )
            .await;
            t
        }
    };
    let mut credentials = Vec::new();
    for (email, name, role) in PEOPLE {
        let email = Email::parse(email)?;
        let password = Password::parse(&fresh_password())?;
        let hash = super::admin::hash(&password).await?;
        match db::users::credentials(&mut *tx, &email).await? {
            Some(existing) => {
                db::users::set_password(&mut *tx, existing.user.id, &hash).await?;
                db::sessions::delete_for_user(&mut *tx, existing.user.id).await?;
                audit::record(
                    &mut tx,
                    AuditEvent::new(AuditAction::UserPasswordReset, "user", existing.user.id)
                        .tenant(existing.user.tenant_id)
                        .metadata(json!({ "via": "demo" })),
                )
                .await;
            }
            None => {
                let user = db::users::create(
                    &mut *tx,
                    db::users::NewUser {
                        tenant_id: tenant.id,
                        email: &email,
                        display_name: name,
                        role,
                        password_hash: &hash,
                        // The demo admin may also try the platform's tenant API.
                        is_platform_owner: role == Role::Admin,
                    },
                )
                .await?;
                audit::record(
                    &mut tx,
                    AuditEvent::new(AuditAction::UserCreated, "user", user.id)
                        .tenant(tenant.id)
                        .metadata(json!({ "email": user.email, "role": role, "via": "demo" })),
                )
                .await;
            }
        }
        credentials.push((email.to_string(), password.expose().to_owned(), role));
    }
    tx.commit().await?;
    Ok(credentials)
}

pub async fn run(config: &Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let database = db::connect(&config.database).await?;
    db::migrate::run(&database.pool).await?;
    let people = seed(&database.pool).await?;
    let bind = args.bind.clone().unwrap_or_else(|| config.bind.to_string());
    println!();
    println!(
        "Coursewright demo: tenant {TENANT_NAME} ({TENANT_SLUG}) on {}",
        database.target
    );
    println!("Sign in at http://{bind}/login with (passwords are new on every run):");
    for (email, password, role) in &people {
        println!("  {:<9} {:<22} {}", role.as_str(), email, password);
    }
    println!(
        "Admin pages: http://{bind}/admin   Audit log: http://{bind}/admin/audit   Learner: http://{bind}/learn"
    );
    println!("Press Ctrl-C to stop.");
    println!();
    super::serve::listen(config, args, database).await?;
    Ok(ExitCode::SUCCESS)
}
