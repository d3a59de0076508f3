//! `syllabus generate|show|approve` and `content generate`: the engine from the terminal.
//! Requests become jobs exactly as they do from the web; `--wait` runs them in-process.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use app::authoring::{self, Family};
use domain::{Email, Role};
use serde_json::json;
use uuid::Uuid;

use crate::cli::BriefArgs;
use crate::config::Config;

struct Ctx {
    database: db::Database,
    actor: app::Actor,
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
        actor: app::Actor {
            tenant_id: t.id,
            user_id: user.id,
            role: user.role,
        },
    })
}

/// Runs the jobs `ids` (and no others) in-process, printing progress.
async fn run_here(config: &Config, pool: &db::PgPool, ids: &[Uuid]) -> anyhow::Result<bool> {
    let total = ids.len();
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
    while let Some((job, finished)) = w.run_one_of(Some(ids)).await? {
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
    let done = authoring::submit_brief(&c.database.pool, &c.actor, &brief).await?;
    let (course, job) = (done.course, done.job);
    println!(
        "course {} (brief {}); job {} is PENDING",
        course.id, course.brief_id, job.id
    );
    if !a.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let ok = run_here(config, &c.database.pool, &[job.id]).await?;
    let filter = db::artifacts::Filter {
        kinds: vec![db::types::ArtifactKind::Syllabus],
        course_id: Some(course.id),
        ..Default::default()
    };
    let drafted = db::artifacts::list(&c.database.pool, c.actor.tenant_id, &filter, 1).await?;
    match drafted.first() {
        Some(s) => println!("syllabus {} is a DRAFT awaiting review", s.id),
        None => println!(
            "the job failed; see `coursewright` logs or /admin/jobs/{}",
            job.id
        ),
    }
    Ok(if ok && !drafted.is_empty() {
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
        .filter(|a| a.kind.is_syllabus())
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
    let a = authoring::review(&c.database.pool, &c.actor, Family::Syllabus, id, true, note)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("syllabus {} version {} is APPROVED", a.id, a.version);
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
    let jobs = authoring::request_content(&c.database.pool, &c.actor, id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{} GENERATE_CONTENT job(s) PENDING", jobs.len());
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.job.id).collect();
    if wait && !run_here(config, &c.database.pool, &ids).await? {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
