//! `syllabus generate|show|approve` and `content generate`: the engine from the terminal.
//! Requests become jobs exactly as they do from the web; `--wait` runs them in-process.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use domain::{Email, JobKind, Role};
use serde_json::json;
use uuid::Uuid;

use crate::cli::BriefArgs;
use crate::config::Config;

struct Ctx {
    database: db::Database,
    tenant: Uuid,
    actor: Uuid,
}

async fn ctx(config: &Config, tenant: &str, actor: &str) -> anyhow::Result<Ctx> {
    let database = db::connect(&config.database).await?;
    let t = db::tenants::find_by_slug(&database.pool, tenant)
        .await?
        .with_context(|| format!("no tenant has the slug {tenant:?}"))?;
    let creds = db::users::credentials(&database.pool, &Email::parse(actor)?).await?;
    let user = creds
        .map(|c| c.user)
        .filter(|u| u.tenant_id == t.id)
        .with_context(|| format!("{actor} is not a user of {tenant}"))?;
    if !matches!(user.role, Role::Admin | Role::Reviewer) {
        bail!(
            "{actor} is a {}; only an ADMIN or REVIEWER may do this",
            user.role
        );
    }
    Ok(Ctx {
        database,
        tenant: t.id,
        actor: user.id,
    })
}

/// Runs every PENDING job of this database in-process, printing progress.
async fn run_here(config: &Config, pool: &db::PgPool, total: usize) -> anyhow::Result<bool> {
    let objects = store::Objects::from_url(&config.object_store_url)?;
    let w = worker::Worker::new(
        pool.clone(),
        super::worker::registry(config, pool.clone())?,
        objects,
        worker::WorkerConfig {
            id: "cli".into(),
            ..Default::default()
        },
    );
    let mut done = 0;
    let mut ok = true;
    eprint!("\r[{}] 0/{total}", " ".repeat(30));
    while let Some((job, finished)) = w.run_one().await? {
        done += 1;
        let filled = 30 * done.min(total) / total.max(1);
        eprint!(
            "\r[{}{}] {done}/{total} {} {:?}   ",
            "#".repeat(filled),
            " ".repeat(30 - filled),
            job.kind,
            finished
        );
        let _ = std::io::stderr().flush();
        ok &= finished == worker::Finished::Completed;
    }
    eprintln!();
    Ok(ok)
}

pub async fn generate_syllabus(config: &Config, a: BriefArgs) -> anyhow::Result<ExitCode> {
    let c = ctx(config, &a.tenant, &a.actor).await?;
    let brief: domain::Brief = serde_json::from_value(json!({
        "title": a.title, "audience": a.audience, "level": a.level.to_lowercase(), "timeBudgetHours": a.hours,
        "teachingStyle": a.style, "constraints": a.constraints,
    }))
    .context("the brief is malformed (level: beginner|intermediate|advanced; constraint: exam-focused|project-based|practical|theoretical|self-paced)")?;
    let brief = brief
        .validate()
        .map_err(|v| anyhow::anyhow!("the brief is invalid: {v}"))?;
    let mut tx = c.database.pool.begin().await?;
    let brief_id =
        db::artifacts::create_brief(&mut tx, c.tenant, &serde_json::to_value(&*brief)?, c.actor)
            .await?;
    let created = db::jobs::create(
        &mut tx,
        db::jobs::NewJob {
            tenant_id: c.tenant,
            kind: &JobKind::parse("GENERATE_SYLLABUS")?,
            target_type: "brief",
            target_id: &brief_id.to_string(),
            instruction: json!({ "briefId": brief_id }),
            created_by: Some(c.actor),
            start: db::jobs::Start::Pending,
        },
    )
    .await?;
    tx.commit().await?;
    println!("brief {brief_id}; job {} is PENDING", created.job().id);
    if !a.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let ok = run_here(config, &c.database.pool, 1).await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM artifacts WHERE brief_id = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(brief_id)
    .fetch_optional(&c.database.pool)
    .await?;
    match id {
        Some(id) => println!("syllabus {id} is a DRAFT awaiting review"),
        None => println!(
            "the job failed; see `coursewright` logs or /admin/jobs/{}",
            created.job().id
        ),
    }
    Ok(if ok && id.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn show(config: &Config, tenant: &str, id: &str) -> anyhow::Result<ExitCode> {
    let database = db::connect(&config.database).await?;
    let t = db::tenants::find_by_slug(&database.pool, tenant)
        .await?
        .with_context(|| format!("no tenant {tenant:?}"))?;
    let id: Uuid = id.parse().context("the id is not a UUID")?;
    let a = db::artifacts::get(&database.pool, t.id, id)
        .await?
        .filter(|a| a.kind == "SYLLABUS")
        .context("no such syllabus")?;
    let s: domain::Syllabus = serde_json::from_value(a.body)?;
    println!(
        "{} — version {}, {}{}",
        s.title,
        a.version,
        a.status,
        if a.provenance["offline"] == true {
            " (offline draft)"
        } else {
            ""
        }
    );
    println!(
        "for {} · {:?} · {} h",
        s.audience, s.level, s.time_budget_hours
    );
    for m in &s.modules {
        println!("\n{} ({})", m.title, m.id);
        for l in &m.lessons {
            println!(
                "  {:<8} {:<40} {:>4} min",
                l.id, l.title, l.estimated_minutes
            );
            for o in &l.objectives {
                println!("           - {o}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn approve(
    config: &Config,
    tenant: &str,
    id: &str,
    actor: &str,
    note: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let c = ctx(config, tenant, actor).await?;
    let id: Uuid = id.parse().context("the id is not a UUID")?;
    let mut tx = c.database.pool.begin().await?;
    let a = db::artifacts::review(&mut tx, c.tenant, id, c.actor, true, note)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    println!(
        "{} {} version {} is APPROVED",
        a.kind.to_lowercase(),
        a.id,
        a.version
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn generate_content(
    config: &Config,
    tenant: &str,
    id: &str,
    actor: &str,
    wait: bool,
) -> anyhow::Result<ExitCode> {
    let c = ctx(config, tenant, actor).await?;
    let id: Uuid = id.parse().context("the id is not a UUID")?;
    let a = db::artifacts::get(&c.database.pool, c.tenant, id)
        .await?
        .filter(|a| a.kind == "SYLLABUS")
        .context("no such syllabus")?;
    if a.status != "APPROVED" {
        bail!(
            "content is generated from an APPROVED syllabus only; this one is {}",
            a.status
        );
    }
    let s: domain::Syllabus = serde_json::from_value(a.body)?;
    let kind = JobKind::parse("GENERATE_CONTENT")?;
    let mut tx = c.database.pool.begin().await?;
    for m in &s.modules {
        db::jobs::create(
            &mut tx,
            db::jobs::NewJob {
                tenant_id: c.tenant,
                kind: &kind,
                target_type: "syllabus_module",
                target_id: &format!("{id}/{}", m.id),
                instruction: json!({ "syllabusId": id, "moduleId": m.id }),
                created_by: Some(c.actor),
                start: db::jobs::Start::Pending,
            },
        )
        .await?;
    }
    tx.commit().await?;
    println!("{} GENERATE_CONTENT job(s) PENDING", s.modules.len());
    if wait && !run_here(config, &c.database.pool, s.modules.len()).await? {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
