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
    let objects = store::Objects::from_url(&config.object_store_url)?;
    if generate_sample(&database.pool, objects).await? {
        println!(
            "Generated a sample course (offline drafts): its syllabus is approved, its content awaits review."
        );
    }
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
        "Admin: http://{bind}/admin   Syllabi to review: http://{bind}/admin/syllabi   Jobs: http://{bind}/admin/jobs"
    );
    println!(
        "Audit log: http://{bind}/admin/audit   Ops: http://{bind}/admin/ops   Learner: http://{bind}/learn"
    );
    println!("Press Ctrl-C to stop.");
    println!();
    super::serve::listen(config, args, database).await?;
    Ok(ExitCode::SUCCESS)
}

/// The sample brief the demo generates from.
fn sample_brief() -> serde_json::Value {
    json!({
        "title": "Practical SQL for analysts",
        "audience": "Business analysts who work in spreadsheets and are new to databases",
        "level": "beginner",
        "timeBudgetHours": 6,
        "teachingStyle": "hands-on, one worked example per idea",
        "constraints": ["practical", "project-based"]
    })
}

/// Once per tenant: a syllabus generated by the offline provider and approved by the demo
/// reviewer (so content could be made from it), and its lessons, quizzes and projects left
/// as drafts awaiting review. Runs the jobs in-process, through the real worker code.
pub async fn generate_sample(pool: &db::PgPool, objects: store::Objects) -> anyhow::Result<bool> {
    let Some(tenant) = db::tenants::find_by_slug(pool, TENANT_SLUG).await? else {
        return Ok(false);
    };
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM artifacts WHERE tenant_id = $1")
        .bind(tenant.id)
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        return Ok(false);
    }
    let user = |email: &'static str| async move {
        db::users::credentials(pool, &Email::parse(email)?)
            .await?
            .map(|c| c.user.id)
            .ok_or_else(|| anyhow::anyhow!("{email} is missing"))
    };
    let (admin, reviewer) = (user(PEOPLE[0].0).await?, user(PEOPLE[1].0).await?);
    let kind = |k: &str| domain::JobKind::parse(k);
    let mut tx = pool.begin().await?;
    let brief_id = db::artifacts::create_brief(&mut tx, tenant.id, &sample_brief(), admin).await?;
    db::jobs::create(
        &mut tx,
        db::jobs::NewJob {
            tenant_id: tenant.id,
            kind: &kind("GENERATE_SYLLABUS")?,
            target_type: "brief",
            target_id: &brief_id.to_string(),
            instruction: json!({ "briefId": brief_id }),
            created_by: Some(admin),
            start: db::jobs::Start::Pending,
        },
    )
    .await?;
    tx.commit().await?;

    let llm = worker::generation::llm(pool.clone(), std::sync::Arc::new(llm::Offline), 4);
    let registry = worker::generation::register(worker::Registry::new(), pool.clone(), llm);
    let w = worker::Worker::new(
        pool.clone(),
        registry,
        objects,
        worker::WorkerConfig {
            id: "demo".into(),
            ..Default::default()
        },
    );
    while w.run_one().await?.is_some() {}

    let (syllabus_id, body): (uuid::Uuid, serde_json::Value) =
        sqlx::query_as("SELECT id, body FROM artifacts WHERE tenant_id = $1 AND kind = 'SYLLABUS'")
            .bind(tenant.id)
            .fetch_one(pool)
            .await?;
    let mut tx = pool.begin().await?;
    db::artifacts::review(
        &mut tx,
        tenant.id,
        syllabus_id,
        reviewer,
        true,
        Some("Approved by `coursewright demo` so that its content could be generated"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let syllabus: domain::Syllabus = serde_json::from_value(body)?;
    for module in &syllabus.modules {
        db::jobs::create(
            &mut tx,
            db::jobs::NewJob {
                tenant_id: tenant.id,
                kind: &kind("GENERATE_CONTENT")?,
                target_type: "syllabus_module",
                target_id: &format!("{syllabus_id}/{}", module.id),
                instruction: json!({ "syllabusId": syllabus_id, "moduleId": module.id }),
                created_by: Some(admin),
                start: db::jobs::Start::Pending,
            },
        )
        .await?;
    }
    tx.commit().await?;
    while w.run_one().await?.is_some() {}
    Ok(true)
}
