//! `coursewright export`: a course as a PDF book or a SCORM 1.2 package, written to a file.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use app::exports::{self, Format, Limits, Outcome, Requester};

use crate::cli::ExportArgs;
use crate::config::Config;

pub async fn run(config: &Config, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(&args.format).ok_or_else(|| anyhow!("unknown format"))?;
    let database = db::connect(&config.database).await?;
    let objects = store::Objects::from_url(&config.object_store_url)?;
    let pool = database.pool.clone();
    let course = args.course;
    let version = args.version;
    let work = tokio::spawn(async move {
        exports::export(
            &pool,
            &objects,
            Requester::Operator(version),
            course,
            format,
            Limits::default(),
            None,
        )
        .await
    });
    let started = Instant::now();
    let outcome = progress(work, format, started).await?;
    let exported = match outcome.map_err(|e| anyhow!("{e}"))? {
        Outcome::Sent(e) => e,
        Outcome::NotModified(_) => unreachable!("no If-None-Match was sent"),
    };
    let tmp = args.out.with_extension("part");
    std::fs::write(&tmp, &exported.bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out)
        .with_context(|| format!("moving the export to {}", args.out.display()))?;
    println!(
        "wrote {} ({} bytes, version {}, sha256 {}; {} in {:.2} s)",
        args.out.display(),
        exported.bytes.len(),
        exported.version,
        exported.content_hash,
        if exported.rendered {
            "rendered"
        } else {
            "from the export cache"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Waits for `work`, drawing a progress bar on standard error while it runs (rendering is
/// one call into typst, so the bar moves with time and fills when the work ends).
async fn progress<T>(
    mut work: tokio::task::JoinHandle<T>,
    format: Format,
    started: Instant,
) -> anyhow::Result<T> {
    let what = match format {
        Format::Pdf => "rendering the PDF",
        Format::Scorm12 => "building the SCORM package",
    };
    let tty = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_millis(if tty { 100 } else { 1000 }));
    let mut err = std::io::stderr();
    loop {
        tokio::select! {
            done = &mut work => {
                let _ = writeln!(err, "\r{what} [{}] 100% {:.1} s", "#".repeat(30), started.elapsed().as_secs_f64());
                return done.context("the export task failed");
            }
            _ = tick.tick() => {
                // An estimate that approaches but never reaches the end: 1 - e^(-t/1.5 s).
                let t = started.elapsed().as_secs_f64();
                let share = 1.0 - (-t / 1.5).exp();
                let filled = ((share * 29.0) as usize).min(29);
                let line = format!("{what} [{}{}] {:>3}% {t:.1} s", "#".repeat(filled), " ".repeat(30 - filled), (share * 99.0) as u32);
                if tty { let _ = write!(err, "\r{line}"); } else { let _ = writeln!(err, "{line}"); }
                let _ = err.flush();
            }
        }
    }
}
