//! The LLM response cache: a response stored by its cache key (a hash of the provider,
//! model, prompt version and request), so that an identical request is answered without
//! calling the provider again.

use serde_json::Value;
use sqlx::PgExecutor;

/// A cached LLM response by its cache key.
pub async fn cached_response(
    db: impl PgExecutor<'_>,
    key: &str,
) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar!("SELECT response FROM llm_cache WHERE key = $1", key)
        .fetch_optional(db)
        .await
}

/// Caches an LLM response; the first one stored for a key stays.
pub async fn cache_response(
    db: impl PgExecutor<'_>,
    key: &str,
    response: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO llm_cache (key, response) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        key,
        response
    )
    .execute(db)
    .await?;
    Ok(())
}
