//! Products, purchases and refunds. A product points at a course; a PAID purchase grants its
//! buyer access to that course and a refund withdraws it.

use sqlx::{PgExecutor, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// A product, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: Uuid,
    pub course_id: Uuid,
    /// The course's title.
    pub course_title: String,
    pub title: String,
    pub price_cents: i64,
    pub currency: String,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A new product.
#[derive(Debug, Clone)]
pub struct NewProduct<'a> {
    pub tenant_id: Uuid,
    pub course_id: Uuid,
    pub title: &'a str,
    pub price_cents: i64,
    pub currency: &'a str,
    pub active: bool,
    pub actor: Uuid,
}

/// Whether `e` is the unique violation of `constraint`.
pub fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some(constraint))
}

/// The constraint that keeps one active product per course.
pub const ONE_ACTIVE: &str = "products_one_active_idx";

pub async fn insert_product(
    tx: &mut Transaction<'_, Postgres>,
    p: &NewProduct<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO products (id, tenant_id, course_id, title, price_cents, currency, active,
                               created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        id,
        p.tenant_id,
        p.course_id,
        p.title,
        p.price_cents,
        p.currency,
        p.active,
        p.actor
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A product of `tenant_id`.
pub async fn product(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as!(
        Product,
        "SELECT p.id, p.course_id, c.title AS course_title, p.title, p.price_cents, p.currency,
                p.active, p.created_at, p.updated_at
         FROM products p JOIN courses c ON c.id = p.course_id
         WHERE p.tenant_id = $1 AND p.id = $2",
        tenant_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// A product of `tenant_id`, locked in `tx` against changes (`FOR SHARE`, so purchases of
/// it do not wait for each other) or, with `for_update`, for a change.
pub async fn product_locked(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    id: Uuid,
    for_update: bool,
) -> Result<Option<Product>, sqlx::Error> {
    let product = if for_update {
        sqlx::query_as!(
            Product,
            "SELECT p.id, p.course_id, c.title AS course_title, p.title, p.price_cents, p.currency,
                    p.active, p.created_at, p.updated_at
             FROM products p JOIN courses c ON c.id = p.course_id
             WHERE p.tenant_id = $1 AND p.id = $2 FOR UPDATE OF p",
            tenant_id,
            id
        )
        .fetch_optional(&mut **tx)
        .await?
    } else {
        sqlx::query_as!(
            Product,
            "SELECT p.id, p.course_id, c.title AS course_title, p.title, p.price_cents, p.currency,
                    p.active, p.created_at, p.updated_at
             FROM products p JOIN courses c ON c.id = p.course_id
             WHERE p.tenant_id = $1 AND p.id = $2 FOR SHARE OF p",
            tenant_id,
            id
        )
        .fetch_optional(&mut **tx)
        .await?
    };
    Ok(product)
}

/// Whether `user_id` holds a PAID purchase of `course_id` (of any of its products).
pub async fn has_paid(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    course_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM purchases WHERE user_id = $1 AND course_id = $2
                          AND status = 'PAID') AS "x!""#,
        user_id,
        course_id
    )
    .fetch_one(db)
    .await
}

/// Every product of `tenant_id`, newest first; with `active_only`, only the active ones of
/// published courses (what learners may buy).
pub async fn products(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    active_only: bool,
) -> Result<Vec<Product>, sqlx::Error> {
    sqlx::query_as!(
        Product,
        "SELECT p.id, p.course_id, c.title AS course_title, p.title, p.price_cents, p.currency,
                p.active, p.created_at, p.updated_at
         FROM products p JOIN courses c ON c.id = p.course_id
         WHERE p.tenant_id = $1
           AND (NOT $2 OR (p.active AND EXISTS (
                 SELECT 1 FROM published_outputs o
                 WHERE o.scope = 'COURSE' AND o.course_id = p.course_id AND o.tenant_id = $1)))
         ORDER BY p.created_at DESC, p.id DESC",
        tenant_id,
        active_only
    )
    .fetch_all(db)
    .await
}

/// Changes a product (the fields given), locking it; `None` when it is not `tenant_id`'s.
#[allow(clippy::too_many_arguments)]
pub async fn update_product(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    id: Uuid,
    title: Option<&str>,
    price_cents: Option<i64>,
    currency: Option<&str>,
    active: Option<bool>,
    actor: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE products SET title = coalesce($3, title), price_cents = coalesce($4, price_cents),
                currency = coalesce($5, currency), active = coalesce($6, active),
                updated_by = $7, updated_at = clock_timestamp()
         WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        title,
        price_cents,
        currency,
        active,
        actor
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// A purchase, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Purchase {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub product_id: Uuid,
    pub course_id: Uuid,
    pub course_title: String,
    pub amount_cents: i64,
    pub currency: String,
    pub provider: String,
    pub provider_ref: String,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub refunded_at: Option<OffsetDateTime>,
    pub refund_reason: Option<String>,
}

/// A new PAID purchase.
#[derive(Debug, Clone)]
pub struct NewPurchase<'a> {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub product_id: Uuid,
    pub course_id: Uuid,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub provider: &'a str,
    /// `None`: a manual purchase, whose reference is its own id.
    pub provider_ref: Option<&'a str>,
    pub created_by: Uuid,
}

/// Stores a PAID purchase; `None` when the learner already holds a PAID purchase of the
/// product (a double purchase stores one) or the provider's reference was stored before.
pub async fn insert_purchase(
    tx: &mut Transaction<'_, Postgres>,
    p: &NewPurchase<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id = Uuid::new_v4();
    let reference = p.provider_ref.map_or_else(|| id.to_string(), str::to_owned);
    sqlx::query_scalar!(
        "INSERT INTO purchases (id, tenant_id, user_id, product_id, course_id, amount_cents,
                                currency, provider, provider_ref, status, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'PAID', $10)
         ON CONFLICT DO NOTHING RETURNING id",
        id,
        p.tenant_id,
        p.user_id,
        p.product_id,
        p.course_id,
        p.amount_cents,
        p.currency,
        p.provider,
        reference,
        p.created_by
    )
    .fetch_optional(&mut **tx)
    .await
}

/// One purchase of `tenant_id`.
pub async fn purchase(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Purchase>, sqlx::Error> {
    sqlx::query_as!(
        Purchase,
        r#"SELECT pu.id, pu.user_id, u.email, pu.product_id, pu.course_id, c.title AS course_title,
                  pu.amount_cents, pu.currency, pu.provider, pu.provider_ref, pu.status, pu.created_at,
                  pu.refunded_at, r.reason AS "refund_reason?"
           FROM purchases pu JOIN users u ON u.id = pu.user_id JOIN courses c ON c.id = pu.course_id
             LEFT JOIN refunds r ON r.purchase_id = pu.id
           WHERE pu.tenant_id = $1 AND pu.id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Filters for the purchases list; `None` is any.
#[derive(Debug, Clone, Default)]
pub struct PurchaseFilter {
    pub course_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub status: Option<String>,
    pub limit: i64,
}

/// The purchases of `tenant_id`, newest first.
pub async fn purchases(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    f: &PurchaseFilter,
) -> Result<Vec<Purchase>, sqlx::Error> {
    sqlx::query_as!(
        Purchase,
        r#"SELECT pu.id, pu.user_id, u.email, pu.product_id, pu.course_id, c.title AS course_title,
                  pu.amount_cents, pu.currency, pu.provider, pu.provider_ref, pu.status, pu.created_at,
                  pu.refunded_at, r.reason AS "refund_reason?"
           FROM purchases pu JOIN users u ON u.id = pu.user_id JOIN courses c ON c.id = pu.course_id
             LEFT JOIN refunds r ON r.purchase_id = pu.id
           WHERE pu.tenant_id = $1 AND ($2::uuid IS NULL OR pu.course_id = $2)
             AND ($3::uuid IS NULL OR pu.user_id = $3) AND ($4::text IS NULL OR pu.status = $4)
           ORDER BY pu.created_at DESC, pu.id DESC LIMIT $5"#,
        tenant_id,
        f.course_id,
        f.user_id,
        f.status,
        f.limit
    )
    .fetch_all(db)
    .await
}

/// Refunds a PAID purchase of `tenant_id` with its reason; `false` when it is not PAID
/// (already refunded) or not found.
pub async fn refund(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    id: Uuid,
    reason: &str,
    actor: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query!(
        "UPDATE purchases SET status = 'REFUNDED', refunded_at = clock_timestamp()
         WHERE tenant_id = $1 AND id = $2 AND status = 'PAID'",
        tenant_id,
        id
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if moved {
        sqlx::query!(
            "INSERT INTO refunds (id, tenant_id, purchase_id, reason, actor_id) VALUES ($1, $2, $3, $4, $5)",
            Uuid::new_v4(),
            tenant_id,
            id,
            reason,
            actor
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(moved)
}
