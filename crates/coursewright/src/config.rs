//! Typed configuration, read once from the environment. Every variable is documented in
//! `.env.sample`; none is required.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use db::connect::ConnectConfig;
use web::WebConfig;

/// A secret that never prints.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "(unset)"
        } else {
            "(set)"
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Which LLM provider generation uses; validated now, used by the worker.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub provider: String,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub openai_api_key: Secret,
    pub anthropic_api_key: Secret,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: ConnectConfig,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub object_store_url: String,
    pub log_format: LogFormat,
    pub web: WebConfig,
    pub llm: LlmConfig,
    /// Chat webhooks carry their token in the URL, so it is a secret too.
    pub alert_webhook_url: Option<Secret>,
    pub job_dry_run: bool,
    pub worker: WorkerSettings,
}

/// The execution plane's settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub concurrency: usize,
    /// LLM calls in flight at once per worker.
    pub llm_concurrency: usize,
    pub lease: Duration,
    pub bind: SocketAddr,
    /// How old an object nothing references must be before the orphan sweep removes it.
    pub orphan_grace: Duration,
}

/// A variable with a value we cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn flag(name: &'static str) -> Result<bool, ConfigError> {
    match var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => Err(ConfigError {
            var: name,
            message: format!("{other:?} is not a boolean (use 1 or 0)"),
        }),
    }
}

/// How many proxies to trust: a count, or a boolean meaning none or one.
fn proxies(name: &'static str) -> Result<usize, ConfigError> {
    match var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "no" | "off") => Ok(0),
        Some("true" | "yes" | "on") => Ok(1),
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 10)
            .ok_or(ConfigError {
                var: name,
                message: format!("{n:?} is not a number of proxies from 0 to 10 (or true/false)"),
            }),
    }
}

fn seconds(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or(ConfigError {
            var: name,
            message: format!("{v:?} is not a positive whole number"),
        }),
    }
}

fn take<T>(errors: &mut Vec<ConfigError>, r: Result<T, ConfigError>, default: T) -> T {
    r.unwrap_or_else(|e| {
        errors.push(e);
        default
    })
}

impl Config {
    /// Reads the environment; every problem is reported, not just the first.
    pub fn from_env() -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();

        let data_dir = var("COURSEWRIGHT_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(crate::cli::default_data_dir);
        let bind_raw = var("COURSEWRIGHT_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = take(
            &mut errors,
            bind_raw.parse::<SocketAddr>().map_err(|_| ConfigError {
                var: "COURSEWRIGHT_BIND",
                message: format!("{bind_raw:?} is not an address such as 127.0.0.1:8080"),
            }),
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        );
        let object_store_url = var("OBJECT_STORE_URL")
            .unwrap_or_else(|| format!("file://{}", data_dir.join("objects").display()));
        let object_ok =
            object_store_url.starts_with("file://") || object_store_url.starts_with("s3://");
        if !object_ok {
            errors.push(ConfigError {
                var: "OBJECT_STORE_URL",
                message: format!("{object_store_url:?} must start with file:// or s3://"),
            });
        }
        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(ConfigError {
                    var: "LOG_FORMAT",
                    message: format!("{other:?} is not pretty or json"),
                });
                LogFormat::Pretty
            }
        };
        let public_origin =
            var("COURSEWRIGHT_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_origin
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            errors.push(ConfigError {
                var: "COURSEWRIGHT_PUBLIC_URL",
                message: format!("{u:?} must start with http:// or https://"),
            });
        }
        let secure_default = public_origin
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let secure_cookies = match var("COURSEWRIGHT_SECURE_COOKIES") {
            None => secure_default,
            Some(_) => take(
                &mut errors,
                flag("COURSEWRIGHT_SECURE_COOKIES"),
                secure_default,
            ),
        };
        let trusted_proxies = take(&mut errors, proxies("COURSEWRIGHT_TRUST_PROXY"), 0);
        let session_hours = take(&mut errors, seconds("COURSEWRIGHT_SESSION_HOURS", 12), 12);
        let timeout = take(
            &mut errors,
            seconds("COURSEWRIGHT_REQUEST_TIMEOUT_SECS", 30),
            30,
        );
        let header_timeout = take(
            &mut errors,
            seconds("COURSEWRIGHT_HEADER_TIMEOUT_SECS", 10),
            10,
        );
        let worker_stale = take(
            &mut errors,
            seconds("COURSEWRIGHT_WORKER_STALE_SECS", 60),
            60,
        );
        let provider = var("LLM_PROVIDER")
            .unwrap_or_else(|| "offline".into())
            .to_ascii_lowercase();
        if !["offline", "openai", "anthropic", "ollama"].contains(&provider.as_str()) {
            errors.push(ConfigError {
                var: "LLM_PROVIDER",
                message: format!("{provider:?} is not one of offline, openai, anthropic, ollama"),
            });
        }
        let openai_api_key = Secret(var("OPENAI_API_KEY").unwrap_or_default());
        let anthropic_api_key = Secret(var("ANTHROPIC_API_KEY").unwrap_or_default());
        if provider == "anthropic" && anthropic_api_key.expose().is_empty() {
            errors.push(ConfigError {
                var: "ANTHROPIC_API_KEY",
                message: "is required when LLM_PROVIDER=anthropic".into(),
            });
        }
        if provider == "openai"
            && openai_api_key.expose().is_empty()
            && var("LLM_BASE_URL").is_none()
        {
            errors.push(ConfigError {
                var: "OPENAI_API_KEY",
                message: "is required when LLM_PROVIDER=openai (unless LLM_BASE_URL names a local server)".into(),
            });
        }
        let job_dry_run = take(&mut errors, flag("JOB_DRY_RUN"), false);
        let concurrency = take(
            &mut errors,
            seconds("COURSEWRIGHT_WORKER_CONCURRENCY", 4),
            4,
        );
        let lease = take(
            &mut errors,
            seconds("COURSEWRIGHT_WORKER_LEASE_SECS", 60),
            60,
        );
        let llm_concurrency = take(&mut errors, seconds("COURSEWRIGHT_LLM_CONCURRENCY", 4), 4);
        let orphan_grace_hours = take(
            &mut errors,
            seconds("COURSEWRIGHT_ORPHAN_GRACE_HOURS", 24),
            24,
        );
        let worker_bind_raw =
            var("COURSEWRIGHT_WORKER_BIND").unwrap_or_else(|| "127.0.0.1:8081".into());
        let worker_bind = take(
            &mut errors,
            worker_bind_raw
                .parse::<SocketAddr>()
                .map_err(|_| ConfigError {
                    var: "COURSEWRIGHT_WORKER_BIND",
                    message: format!(
                        "{worker_bind_raw:?} is not an address such as 127.0.0.1:8081"
                    ),
                }),
            SocketAddr::from(([127, 0, 0, 1], 8081)),
        );
        let alert_webhook_url = var("ALERT_WEBHOOK_URL");
        if let Some(u) = &alert_webhook_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            errors.push(ConfigError {
                var: "ALERT_WEBHOOK_URL",
                message: format!("{u:?} must be an http(s) URL"),
            });
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            database: ConnectConfig {
                database_url: var("DATABASE_URL"),
                migration_url: var("DATABASE_MIGRATION_URL"),
                data_dir: data_dir.clone(),
                max_connections: 16,
            },
            bind,
            data_dir,
            object_store_url,
            log_format,
            web: WebConfig {
                public_origin,
                secure_cookies,
                trusted_proxies,
                session_ttl: time::Duration::hours(session_hours as i64),
                request_timeout: Duration::from_secs(timeout),
                header_read_timeout: Duration::from_secs(header_timeout),
                worker_stale: Duration::from_secs(worker_stale),
                ..WebConfig::default()
            },
            llm: LlmConfig {
                provider,
                model: var("LLM_MODEL"),
                base_url: var("LLM_BASE_URL"),
                openai_api_key,
                anthropic_api_key,
            },
            alert_webhook_url: alert_webhook_url.map(Secret),
            job_dry_run,
            worker: WorkerSettings {
                concurrency: concurrency as usize,
                llm_concurrency: llm_concurrency as usize,
                lease: Duration::from_secs(lease),
                bind: worker_bind,
                orphan_grace: Duration::from_secs(orphan_grace_hours * 3600),
            },
        })
    }

    /// The provider settings for the `llm` crate.
    pub fn provider_config(&self) -> llm::ProviderConfig {
        llm::ProviderConfig {
            provider: self.llm.provider.clone(),
            model: self.llm.model.clone(),
            base_url: self.llm.base_url.clone(),
            openai_api_key: self.llm.openai_api_key.expose().to_owned(),
            anthropic_api_key: self.llm.anthropic_api_key.expose().to_owned(),
            timeout: llm::DEFAULT_TIMEOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_config_prints_no_secret() {
        let config = Config {
            database: ConnectConfig {
                database_url: Some("postgres://cw:db-pass-3141@db.internal/cw".into()),
                migration_url: Some("postgres://owner:owner-pass-2236@db.internal/cw".into()),
                data_dir: PathBuf::from("/var/lib/cw"),
                max_connections: 16,
            },
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("/var/lib/cw"),
            object_store_url: "s3://bucket/prefix".into(),
            log_format: LogFormat::Json,
            web: WebConfig::default(),
            llm: LlmConfig {
                provider: "openai".into(),
                model: None,
                base_url: None,
                openai_api_key: Secret("sk-openai-2718".into()),
                anthropic_api_key: Secret("sk-ant-1618".into()),
            },
            alert_webhook_url: Some(Secret(
                "https://hooks.example/services/T0/B0/webhook-token-1414".into(),
            )),
            job_dry_run: false,
            worker: WorkerSettings {
                concurrency: 4,
                llm_concurrency: 4,
                lease: Duration::from_secs(60),
                bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
                orphan_grace: Duration::from_secs(24 * 3600),
            },
        };
        let provider = config.provider_config();
        let printed = format!("{config:?}\n{config:#?}\n{provider:?}");
        for secret in [
            "db-pass-3141",
            "owner-pass-2236",
            "sk-openai-2718",
            "sk-ant-1618",
            "webhook-token-1414",
        ] {
            assert!(!printed.contains(secret), "{secret} printed in {printed}");
        }
        assert!(
            printed.contains("/var/lib/cw") && printed.contains("(set)"),
            "the rest still prints: {printed}"
        );
    }
}
