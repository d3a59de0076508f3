//! `demo`: a ready-to-try tenant on a fresh machine.

use std::process::ExitCode;

use app::authoring::{self, Family};
use app::publishing;
use domain::{Email, Password, Role, TenantName, TenantSlug};
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

/// The demo seeds its tenant as an operator at the server.
const DEMO: app::admin::Operator = app::admin::Operator::Console("demo");

/// Creates (or refreshes) the demo tenant and its people; returns their credentials.
pub async fn seed(pool: &db::PgPool) -> anyhow::Result<Vec<(String, String, Role)>> {
    let mut tx = pool.begin().await?;
    let slug = TenantSlug::parse(TENANT_SLUG)?;
    let tenant = match db::tenants::find_by_slug(&mut *tx, TENANT_SLUG).await? {
        Some(t) => t,
        None => {
            let name = TenantName::parse(TENANT_NAME)?;
            app::admin::create_tenant(&mut tx, DEMO, &slug, &name).await?
        }
    };
    let mut credentials = Vec::new();
    for (email, name, role) in PEOPLE {
        let email = Email::parse(email)?;
        let password = Password::parse(&fresh_password())?;
        match db::users::credentials(&mut *tx, &email).await? {
            Some(existing) => {
                app::admin::reset_password(&mut tx, DEMO, &existing.user, &password).await?;
            }
            None => {
                let person = app::admin::NewPerson {
                    tenant_id: tenant.id,
                    email: &email,
                    display_name: name,
                    role,
                    password: &password,
                    // The demo admin may also try the platform's tenant API.
                    platform_owner: role == Role::Admin,
                };
                app::admin::create_user(&mut tx, DEMO, person).await?;
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
    let samples = prepare_samples(&database.pool, objects.clone()).await?;
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
        println!(
            "Analytics: http://{bind}/admin/analytics   The published course's dashboard: http://{bind}/admin/analytics/{course}"
        );
    }
    if let Some(syllabus) = samples.awaiting_review {
        println!("A syllabus awaiting review: http://{bind}/admin/syllabi/{syllabus}");
    }
    // The embedded default: briefs typed into the demo become syllabi without a second
    // process, through the same worker and scheduled jobs `coursewright worker` runs.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let engine = super::worker::Engine::start(
        config,
        &database.pool,
        objects,
        super::worker::worker_config(config, None),
        true,
        stopped,
    )?;
    println!(
        "Generation runs in this process: a worker ({} provider) and the scheduled jobs.",
        config.llm.provider
    );
    println!("Press Ctrl-C to stop.");
    println!();
    // The demo sells in test mode: a learner's purchase is recorded at once, unpaid, and the
    // course page says so.
    let mut demo_config = config.clone();
    demo_config.web.checkout = app::store::Checkout::TestMode;
    let served = super::serve::listen(&demo_config, args, database).await;
    let _ = stop.send(true);
    let finished = engine.finish().await;
    served?;
    finished?;
    Ok(ExitCode::SUCCESS)
}

/// What the demo prepared.
#[derive(Debug, Default)]
pub struct Samples {
    /// The published sample course (its course id).
    pub published: Option<uuid::Uuid>,
    /// The second sample's syllabus, awaiting review.
    pub awaiting_review: Option<uuid::Uuid>,
    pub notes: Vec<String>,
}

/// The demo's admin and reviewer, as the use cases see them.
async fn demo_people(
    pool: &db::PgPool,
    tenant_id: uuid::Uuid,
) -> anyhow::Result<(app::Actor, app::Actor)> {
    let actor = |email: &'static str, role: Role| async move {
        let user = db::users::credentials(pool, &Email::parse(email)?)
            .await?
            .map(|c| c.user.id)
            .ok_or_else(|| anyhow::anyhow!("{email} is missing"))?;
        Ok::<_, anyhow::Error>(app::Actor {
            tenant_id,
            user_id: user,
            role,
        })
    };
    Ok((
        actor(PEOPLE[0].0, Role::Admin).await?,
        actor(PEOPLE[1].0, Role::Reviewer).await?,
    ))
}

fn failed(what: &'static str) -> impl Fn(app::AppError) -> anyhow::Error {
    move |e| anyhow::anyhow!("{what}: {e}")
}

/// The tenant's course with this title, if there is one.
async fn course_titled(
    pool: &db::PgPool,
    tenant_id: uuid::Uuid,
    title: &str,
) -> anyhow::Result<Option<db::courses::CourseSummary>> {
    Ok(db::courses::list(pool, tenant_id)
        .await?
        .into_iter()
        .find(|c| c.title == title))
}

/// The two sample courses, made once: the first generated, its syllabus and content
/// approved by the demo reviewer and version 1 published by the demo admin; the second
/// generated and left for review.
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
    let (admin, reviewer) = demo_people(pool, tenant.id).await?;
    let title = sample_title(&sample_brief());
    if let Some(course) = course_titled(pool, tenant.id, &title).await? {
        if course.syllabus_id.is_some() && course.versions == 0 {
            let filter = db::artifacts::Filter {
                kinds: db::types::ArtifactKind::CONTENT.to_vec(),
                course_id: Some(course.id),
                status: Some(db::types::ArtifactStatus::Draft),
                ..Default::default()
            };
            let drafts = db::artifacts::list(pool, tenant.id, &filter, 10_000).await?;
            for d in &drafts {
                authoring::review(
                    pool,
                    &reviewer,
                    Family::Content,
                    d.id,
                    true,
                    Some("Approved by `coursewright demo` so that the sample course can be published"),
                )
                .await
                .map_err(failed("approving the sample content"))?;
            }
            let built = publishing::build_package(pool, &admin, course.id)
                .await
                .map_err(failed("building the sample course"))?;
            publishing::publish(pool, &admin, course.id, built.version)
                .await
                .map_err(failed("publishing the sample course"))?;
            out.notes.push(format!(
                "Approved its {} content drafts (as the demo reviewer) and published version {} for learners.",
                drafts.len(),
                built.version
            ));
        }
        let active = db::packages::active_version(pool, tenant.id, course.id).await?;
        out.published = active.map(|_| course.id);
        if active.is_some() {
            let seeded = app::analytics_demo::seed_history(
                pool,
                tenant.id,
                course.id,
                app::analytics_demo::HistorySpec::default(),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(failed("seeding the sample course's learner history"))?;
            if let Some(s) = seeded {
                out.notes.push(format!(
                    "Seeded a synthetic 30-day history of {} learners ({} events) for its analytics: they drop off before lesson {} and find the quiz of lesson {} hard; {} signals fired.",
                    s.learners, s.events, s.drop_off_lesson, s.hard_quiz_lesson, s.signals
                ));
            }
        }
    }
    out.awaiting_review = second_sample(pool, objects, &admin).await?;
    Ok(out)
}

fn sample_title(brief: &serde_json::Value) -> String {
    brief["title"].as_str().unwrap_or_default().to_owned()
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
    admin: &app::Actor,
) -> anyhow::Result<Option<uuid::Uuid>> {
    let title = sample_title(&second_brief());
    let course = match course_titled(pool, admin.tenant_id, &title).await? {
        Some(c) => c.id,
        None => generate_syllabus(pool, objects, admin, &second_brief()).await?,
    };
    let filter = db::artifacts::Filter {
        kinds: vec![db::types::ArtifactKind::Syllabus],
        course_id: Some(course),
        status: Some(db::types::ArtifactStatus::Draft),
        ..Default::default()
    };
    Ok(db::artifacts::list(pool, admin.tenant_id, &filter, 1)
        .await?
        .first()
        .map(|a| a.id))
}

/// Submits `brief` and runs its syllabus generation here, through the real worker;
/// returns the course.
async fn generate_syllabus(
    pool: &db::PgPool,
    objects: store::Objects,
    admin: &app::Actor,
    brief: &serde_json::Value,
) -> anyhow::Result<uuid::Uuid> {
    let brief: domain::Brief = serde_json::from_value(brief.clone())?;
    let brief = brief
        .validate()
        .map_err(|v| anyhow::anyhow!("the sample brief is invalid: {v}"))?;
    let done = authoring::submit_brief(pool, admin, &brief)
        .await
        .map_err(failed("submitting the sample brief"))?;
    let w = offline_worker(pool, objects);
    while w.run_one_of(Some(&[done.job.id])).await?.is_some() {}
    Ok(done.course.id)
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
    if !db::courses::list(pool, tenant.id).await?.is_empty() {
        return Ok(false);
    }
    let (admin, reviewer) = demo_people(pool, tenant.id).await?;
    let course = generate_syllabus(pool, objects.clone(), &admin, &sample_brief()).await?;
    let filter = db::artifacts::Filter {
        kinds: vec![db::types::ArtifactKind::Syllabus],
        course_id: Some(course),
        ..Default::default()
    };
    let syllabus = db::artifacts::list(pool, tenant.id, &filter, 1)
        .await?
        .first()
        .map(|a| a.id)
        .ok_or_else(|| anyhow::anyhow!("the sample syllabus was not generated"))?;
    authoring::review(
        pool,
        &reviewer,
        Family::Syllabus,
        syllabus,
        true,
        Some("Approved by `coursewright demo` so that its content could be generated"),
    )
    .await
    .map_err(failed("approving the sample syllabus"))?;
    let jobs = authoring::request_content(pool, &admin, syllabus)
        .await
        .map_err(failed("requesting the sample content"))?;
    let ids: Vec<uuid::Uuid> = jobs.iter().map(|j| j.job.id).collect();
    let w = offline_worker(pool, objects);
    while w.run_one_of(Some(&ids)).await?.is_some() {}
    Ok(true)
}
