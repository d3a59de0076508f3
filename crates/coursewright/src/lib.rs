//! The commands behind the `coursewright` executable.

pub mod cli;
pub mod commands;
pub mod config;

use std::process::ExitCode;

use cli::{
    AuditCommand, Cli, Command, ContentCommand, JobsCommand, SyllabusCommand, TenantCommand,
    UserCommand,
};
use config::{Config, LogFormat};

/// Runs one command to completion and says how it ended.
pub fn run(cli: Cli) -> ExitCode {
    let config = Config::from_env();
    init_logging(
        config
            .as_ref()
            .map(|c| c.log_format)
            .unwrap_or(LogFormat::Pretty),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `check` reports configuration problems as FAIL lines; everything else stops on them.
    if let Command::Check = cli.command {
        return runtime.block_on(commands::check::run(config));
    }
    let config = match config {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                eprintln!("configuration error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::serve(&config, args).await,
            Command::Migrate => commands::serve::migrate(&config).await,
            Command::Demo(args) => commands::demo::run(&config, args).await,
            Command::Check => unreachable!("handled above"),
            Command::Syllabus(SyllabusCommand::Generate(args)) => {
                commands::engine::generate_syllabus(&config, args).await
            }
            Command::Syllabus(SyllabusCommand::Show { id, tenant }) => {
                commands::engine::show(&config, &tenant, &id).await
            }
            Command::Syllabus(SyllabusCommand::Approve {
                id,
                tenant,
                actor,
                note,
            }) => commands::engine::approve(&config, &tenant, &id, &actor, note.as_deref()).await,
            Command::Content(ContentCommand::Generate {
                syllabus_id,
                tenant,
                actor,
                wait,
            }) => {
                commands::engine::generate_content(&config, &tenant, &syllabus_id, &actor, wait)
                    .await
            }
            Command::Worker(args) => commands::worker::run(&config, args).await,
            Command::Jobs(JobsCommand::List) => commands::worker::list(&config).await,
            Command::Jobs(JobsCommand::Run { name, dry_run }) => {
                commands::worker::run_now(&config, &name, dry_run).await
            }
            Command::Tenant(TenantCommand::Create { slug, name }) => {
                commands::admin::create_tenant(&config, &slug, &name).await
            }
            Command::User(UserCommand::Create {
                email,
                role,
                tenant,
                name,
                platform_owner,
            }) => {
                commands::admin::create_user(&config, &email, &role, &tenant, &name, platform_owner)
                    .await
            }
            Command::Audit(AuditCommand::Verify) => commands::admin::verify_audit(&config).await,
            Command::Export(args) => commands::export::run(&config, args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
