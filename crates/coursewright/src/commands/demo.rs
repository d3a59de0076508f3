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
    let server = db::connect::locate(&config.database).await?;
    if let super::serve::Migrated::Diverged(why) = super::serve::apply_migrations(&server).await? {
        anyhow::bail!("the database schema does not match this binary: {why}");
    }
    // Seeding, the sample jobs and the server all run as the runtime role, as in production.
    let database = server.runtime().await?;
    let people = seed(&database.pool).await?;
    let objects = store::Objects::from_url(&config.object_store_url)?;
    let samples = prepare_samples(&database.pool, objects).await?;
    for line in &samples.notes {
        println!("{line}");
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
        "Courses: http://{bind}/admin/courses   Audit log: http://{bind}/admin/audit   Ops: http://{bind}/admin/ops"
    );
    if let Some(course) = samples.published {
        println!(
            "Learner: http://{bind}/learn   The published course: http://{bind}/learn/{course}   Lesson 1: http://{bind}/learn/{course}/lesson/1"
        );
    }
    if let Some(syllabus) = samples.awaiting_review {
        println!("A syllabus awaiting review: http://{bind}/admin/syllabi/{syllabus}");
    }
    println!("Press Ctrl-C to stop.");
    println!();
    super::serve::listen(config, args, database).await?;
    Ok(ExitCode::SUCCESS)
}

/// What the demo prepared.
#[derive(Debug, Default)]
pub struct Samples {
    pub notes: Vec<String>,
    /// The published sample course (its syllabus id).
    pub published: Option<uuid::Uuid>,
    /// The second sample's syllabus, left for a reviewer.
    pub awaiting_review: Option<uuid::Uuid>,
}

/// The demo's content, each step once per tenant: the first sample generated, its content
/// approved by the demo reviewer and version 1 published by the demo admin; the second
/// sample's syllabus generated and left awaiting review.
pub async fn prepare_samples(
    pool: &db::PgPool,
    objects: store::Objects,
) -> anyhow::Result<Samples> {
    let mut out = Samples::default();
    let Some(tenant) = db::tenants::find_by_slug(pool, TENANT_SLUG).await? else {
        return Ok(out);
    };
    if generate_sample(pool, objects.clone()).await? {
        out.notes.push(
            "Generated a sample course with the offline provider; its syllabus is approved.".into(),
        );
    }
    let user = |email: &'static str| async move {
        db::users::credentials(pool, &Email::parse(email)?)
            .await?
            .map(|c| c.user.id)
            .ok_or_else(|| anyhow::anyhow!("{email} is missing"))
    };
    let (admin, reviewer) = (user(PEOPLE[0].0).await?, user(PEOPLE[1].0).await?);
    let syllabus: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT a.id FROM artifacts a JOIN briefs b ON b.id = a.brief_id
         WHERE a.tenant_id = $1 AND a.kind = 'SYLLABUS' AND a.status = 'APPROVED' AND b.body->>'title' = $2
         ORDER BY a.created_at LIMIT 1",
    )
    .bind(tenant.id)
    .bind(sample_brief()["title"].as_str())
    .fetch_optional(pool)
    .await?;
    if let Some(course) = syllabus {
        let packaged = db::packages::versions(pool, tenant.id, course)
            .await?
            .is_some_and(|v| !v.is_empty());
        if !packaged {
            let drafts: Vec<uuid::Uuid> = sqlx::query_scalar(
                "SELECT id FROM artifacts WHERE syllabus_id = $1 AND status = 'DRAFT' ORDER BY created_at, id",
            )
            .bind(course)
            .fetch_all(pool)
            .await?;
            let mut tx = pool.begin().await?;
            for id in &drafts {
                db::artifacts::review(
                    &mut tx,
                    tenant.id,
                    *id,
                    reviewer,
                    true,
                    Some("Approved by `coursewright demo` so that the sample course can be published"),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            tx.commit().await?;
            let built = db::packages::build(pool, tenant.id, course, Some(admin))
                .await
                .map_err(|e| anyhow::anyhow!("building the sample course: {e}"))?;
            db::packages::publish(pool, tenant.id, course, built.version, admin)
                .await
                .map_err(|e| anyhow::anyhow!("publishing the sample course: {e}"))?;
            out.notes.push(format!(
                "Approved its {} content drafts (as the demo reviewer) and published version {} for learners.",
                drafts.len(),
                built.version
            ));
        }
        let active = db::packages::versions(pool, tenant.id, course)
            .await?
            .is_some_and(|v| v.iter().any(|p| p.active));
        out.published = active.then_some(course);
    }
    out.awaiting_review = second_sample(pool, objects, tenant.id, admin).await?;
    Ok(out)
}

/// The second sample brief: its syllabus is generated and left for a reviewer.
fn second_brief() -> serde_json::Value {
    json!({
        "title": "Data visualisation that people read",
        "audience": "Analysts and team leads who present numbers to colleagues",
        "level": "intermediate",
        "timeBudgetHours": 4,
        "teachingStyle": "critique real charts, then redraw them",
        "constraints": ["practical"]
    })
}

/// Generates the second sample's syllabus once; returns it while it awaits review.
async fn second_sample(
    pool: &db::PgPool,
    objects: store::Objects,
    tenant_id: uuid::Uuid,
    admin: uuid::Uuid,
) -> anyhow::Result<Option<uuid::Uuid>> {
    let title = second_brief()["title"].as_str().map(str::to_owned);
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM briefs WHERE tenant_id = $1 AND body->>'title' = $2)",
    )
    .bind(tenant_id)
    .bind(&title)
    .fetch_one(pool)
    .await?;
    if !exists {
        generate_syllabus(pool, objects, tenant_id, admin, &second_brief()).await?;
    }
    Ok(sqlx::query_scalar(
        "SELECT a.id FROM artifacts a JOIN briefs b ON b.id = a.brief_id
         WHERE a.tenant_id = $1 AND a.kind = 'SYLLABUS' AND a.status = 'DRAFT' AND b.body->>'title' = $2
         ORDER BY a.created_at DESC LIMIT 1",
    )
    .bind(tenant_id)
    .bind(&title)
    .fetch_optional(pool)
    .await?)
}

/// Stores `brief` and runs its syllabus generation here, through the real worker.
async fn generate_syllabus(
    pool: &db::PgPool,
    objects: store::Objects,
    tenant_id: uuid::Uuid,
    admin: uuid::Uuid,
    brief: &serde_json::Value,
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let brief_id = db::artifacts::create_brief(&mut tx, tenant_id, brief, admin).await?;
    db::jobs::create(
        &mut tx,
        db::jobs::NewJob {
            tenant_id,
            kind: &domain::JobKind::parse("GENERATE_SYLLABUS")?,
            target_type: "brief",
            target_id: &brief_id.to_string(),
            instruction: json!({ "briefId": brief_id }),
            created_by: Some(admin),
            start: db::jobs::Start::Pending,
        },
    )
    .await?;
    tx.commit().await?;
    let w = offline_worker(pool, objects);
    while w.run_one().await?.is_some() {}
    Ok(())
}

/// A worker that runs queued jobs in-process with the offline provider.
fn offline_worker(pool: &db::PgPool, objects: store::Objects) -> worker::Worker {
    let llm = worker::generation::llm(pool.clone(), std::sync::Arc::new(llm::Offline), 4);
    let registry = worker::generation::register(worker::Registry::new(), pool.clone(), llm);
    worker::Worker::new(
        pool.clone(),
        registry,
        objects,
        worker::WorkerConfig {
            id: "demo".into(),
            ..Default::default()
        },
    )
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
    generate_syllabus(pool, objects.clone(), tenant.id, admin, &sample_brief()).await?;
    let w = offline_worker(pool, objects);

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
