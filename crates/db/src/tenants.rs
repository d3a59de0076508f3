//! Tenants: the unit of isolation. Every tenant-owned row carries a `tenant_id`.

use domain::{TenantName, TenantSlug};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Inserts a tenant; a taken slug fails on `tenants_slug_key`.
pub async fn create(
    db: impl PgExecutor<'_>,
    slug: &TenantSlug,
    name: &TenantName,
) -> Result<Tenant, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)
         RETURNING id, slug, name, created_at",
        Uuid::new_v4(),
        slug.as_str(),
        name.as_str()
    )
    .fetch_one(db)
    .await
}

pub async fn find_by_slug(
    db: impl PgExecutor<'_>,
    slug: &str,
) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "SELECT id, slug, name, created_at FROM tenants WHERE slug = $1",
        slug
    )
    .fetch_optional(db)
    .await
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "SELECT id, slug, name, created_at FROM tenants WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn list(pool: &PgPool) -> Result<Vec<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "SELECT id, slug, name, created_at FROM tenants ORDER BY slug"
    )
    .fetch_all(pool)
    .await
}
