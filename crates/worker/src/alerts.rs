//! Alerts: a failed scheduled run emits `JOB_FAILED` through the router, which stores it,
//! deduplicates and rate-limits per job, and hands it to its sinks (the log, and a webhook
//! when `ALERT_WEBHOOK_URL` is set).

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use time::format_description::well_known::Rfc3339;

/// Routes alerts; cheap to clone.
#[derive(Clone)]
pub struct AlertRouter {
    pool: PgPool,
    webhook: Option<String>,
    client: reqwest::Client,
    /// At most one alert per job within this window.
    pub window: Duration,
}

/// What became of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    Sent { id: i64, delivered_to: Vec<String> },
    Suppressed,
}

impl AlertRouter {
    pub fn new(pool: PgPool, webhook: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            pool,
            webhook,
            client,
            window: Duration::from_secs(15 * 60),
        }
    }

    /// Emits `JOB_FAILED` for `job` unless one was emitted within the window.
    pub async fn job_failed(&self, job: &str, summary: &str) -> anyhow::Result<Routed> {
        let mut tx = self.pool.begin().await?;
        // One router at a time per job, across replicas, so two failures make one alert.
        db::alerts::lock_job(&mut tx, job).await?;
        let recent = db::alerts::raised_within(&mut tx, job, self.window.as_secs_f64()).await?;
        if recent {
            tx.commit().await?;
            metrics::counter!("alerts_suppressed_total", "job" => job.to_owned()).increment(1);
            return Ok(Routed::Suppressed);
        }
        let summary: String = summary.chars().take(2_000).collect();
        let (id, at) = db::alerts::insert_job_failed(&mut tx, job, &summary).await?;
        tx.commit().await?;

        let time = at.format(&Rfc3339).unwrap_or_default();
        tracing::error!(alert = "JOB_FAILED", job, error = %summary, time = %time, "alert");
        let mut delivered_to = vec!["log".to_owned()];
        let mut delivery_error = None;
        if let Some(url) = &self.webhook {
            let body = json!({ "alert": "JOB_FAILED", "job": job, "error": summary, "time": time });
            match self
                .client
                .post(url)
                .json(&body)
                .send()
                .await
                .and_then(|r| r.error_for_status())
            {
                Ok(_) => delivered_to.push("webhook".into()),
                Err(e) => {
                    tracing::warn!(error = %e, "alert webhook failed");
                    delivery_error = Some(e.to_string());
                }
            }
        }
        db::alerts::set_delivery(&self.pool, id, &delivered_to, delivery_error.as_deref()).await?;
        metrics::counter!("alerts_sent_total", "job" => job.to_owned()).increment(1);
        Ok(Routed::Sent { id, delivered_to })
    }
}
