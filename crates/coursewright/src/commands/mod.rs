//! One module per command.

pub mod admin;
pub mod check;
pub mod demo;
pub mod engine;
pub mod export;
pub mod serve;
pub mod worker;

/// Logs a warning when the runtime connection is a superuser or owns the schema: then nothing
/// but the triggers stands between the server and the insert-only tables.
pub async fn warn_if_privileged(pool: &db::PgPool) {
    match db::roles::report(pool).await {
        Ok(r) if r.superuser || r.owner => tracing::warn!(
            role = %r.role,
            superuser = r.superuser,
            owner = r.owner,
            "the runtime database role could alter the schema or disable its triggers; see `coursewright check`"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not inspect the runtime database role"),
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
