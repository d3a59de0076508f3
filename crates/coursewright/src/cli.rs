//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Coursewright turns a learning brief into a reviewed, versioned, published course.
///
/// Configuration comes from the environment (see .env.sample); without any, it uses the
/// PostgreSQL on 127.0.0.1:5432 (database `coursewright`) or starts a private one.
#[derive(Debug, Parser)]
#[command(name = "coursewright", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application and API. Refuses to start while migrations are pending.
    Serve(ServeArgs),
    /// Apply pending database migrations, then list what was applied.
    Migrate,
    /// Check configuration, database connectivity, migrations and the object store; prints
    /// one OK/FAIL line per check and exits non-zero on any FAIL.
    Check,
    /// Migrate, create a demo tenant with an admin, a reviewer and a learner (printing their
    /// fresh passwords), and serve until Ctrl-C. Safe to run again.
    Demo(ServeArgs),
    /// Run the execution plane: claim and run jobs, and run the scheduled jobs. Serves only
    /// /healthz and /metrics (on COURSEWRIGHT_WORKER_BIND).
    Worker(WorkerArgs),
    /// Scheduled jobs: list them with their last runs, or run one now.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Syllabi: generate one from a brief, show one, approve one.
    #[command(subcommand)]
    Syllabus(SyllabusCommand),
    /// Content: generate the lessons, quizzes and projects of an approved syllabus.
    #[command(subcommand)]
    Content(ContentCommand),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Export a published course as a PDF book or a SCORM 1.2 package, for operators: any
    /// version, no rate limit, audited like a download. Uses (and fills) the export cache.
    #[command(disable_version_flag = true)]
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The course's id.
    #[arg(long)]
    pub course: uuid::Uuid,
    /// The version to export; the active one when omitted.
    #[arg(long)]
    pub version: Option<i32>,
    /// pdf or scorm12.
    #[arg(long, value_parser = ["pdf", "scorm12"])]
    pub format: String,
    /// Where to write the file (written whole, then moved into place).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides COURSEWRIGHT_BIND).
    #[arg(long)]
    pub bind: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Jobs run at once (overrides COURSEWRIGHT_WORKER_CONCURRENCY).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Address for /healthz and /metrics (overrides COURSEWRIGHT_WORKER_BIND).
    #[arg(long)]
    pub bind: Option<String>,
    /// Only claim and run jobs; leave scheduled jobs to other replicas.
    #[arg(long)]
    pub no_schedule: bool,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List the scheduled jobs with their schedule and last runs.
    List,
    /// Run one scheduled job now, whatever its schedule; records the run like any other.
    Run {
        /// The job's name, as `jobs list` shows it.
        name: String,
        /// Record and log the run without doing the work.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct BriefArgs {
    /// The tenant (slug) the course belongs to.
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// Email of the ADMIN or REVIEWER the request is made as (audited).
    #[arg(long = "as")]
    pub actor: String,
    #[arg(long)]
    pub title: String,
    #[arg(long)]
    pub audience: String,
    /// beginner, intermediate or advanced.
    #[arg(long)]
    pub level: String,
    /// Total learner time in hours.
    #[arg(long)]
    pub hours: u32,
    /// How the course teaches, e.g. "hands-on, one worked example per idea".
    #[arg(long)]
    pub style: String,
    /// exam-focused, project-based, practical, theoretical or self-paced; repeatable.
    #[arg(long = "constraint")]
    pub constraints: Vec<String>,
    /// Run the job here and now (with progress) instead of leaving it to a worker.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum SyllabusCommand {
    /// Create a brief and its GENERATE_SYLLABUS job.
    Generate(BriefArgs),
    /// Print a syllabus as modules and lessons, with its status and version.
    Show {
        id: String,
        #[arg(long, default_value = "demo")]
        tenant: String,
    },
    /// Approve a DRAFT syllabus.
    Approve {
        id: String,
        #[arg(long, default_value = "demo")]
        tenant: String,
        /// Email of the ADMIN or REVIEWER approving (audited).
        #[arg(long = "as")]
        actor: String,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Create one GENERATE_CONTENT job per module of an APPROVED syllabus.
    Generate {
        syllabus_id: String,
        #[arg(long, default_value = "demo")]
        tenant: String,
        #[arg(long = "as")]
        actor: String,
        /// Run the jobs here and now instead of leaving them to a worker.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// URL-safe short name: lower-case letters, digits and hyphens (e.g. acme-learning).
        #[arg(long)]
        slug: String,
        /// Display name shown in the header of every page.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is not a terminal
    /// (one line), otherwise prompted for twice; it is never taken from the command line.
    Create {
        #[arg(long)]
        email: String,
        /// ADMIN, REVIEWER or LEARNER.
        #[arg(long)]
        role: String,
        /// The slug of the user's tenant.
        #[arg(long)]
        tenant: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Also allow managing tenants across the platform.
        #[arg(long)]
        platform_owner: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and name the first row that does not fit.
    Verify,
}

/// Where relative defaults live.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from(".coursewright")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn every_subcommand_s_arguments_are_consistent() {
        // clap checks a subcommand only when it is parsed; this checks them all at once
        // (a `--version` of our own beside clap's, say).
        Cli::command().debug_assert();
    }
}
