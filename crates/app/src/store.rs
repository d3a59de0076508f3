//! Selling a course without forking its content: a product points at a course, a PAID
//! purchase grants its buyer access (and enrolls them), a refund withdraws it at once
//! (progress is kept). Every change is audited with course, product and tenant, and a
//! purchase or refund writes its analytics event in the same transaction.

use db::PgPool;
use db::audit::{self, AuditEvent};
use db::store::{self as rows, NewProduct, NewPurchase, Product, Purchase, PurchaseFilter};
use domain::analytics::EventType;
use domain::store::{Currency, MAX_PRICE, Provider};
use domain::{AuditAction, Role};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::{ADMIN, Actor, AppError, analytics};

/// A product as an admin sends it (`POST /api/admin/products`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductInput {
    pub course_id: Uuid,
    pub title: String,
    /// In the currency's minor units (cents), 1 to 100 000 000.
    pub price_cents: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The fields of a product an admin changes (`PATCH /api/admin/products/{id}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductPatch {
    pub title: Option<String>,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub active: Option<bool>,
}

fn title(t: &str) -> Result<String, AppError> {
    let t = t.trim();
    if t.is_empty() || t.chars().count() > 200 {
        return Err(AppError::Invalid("title: 1 to 200 characters".into()));
    }
    Ok(t.to_owned())
}

fn price(p: i64) -> Result<i64, AppError> {
    if !(1..=MAX_PRICE).contains(&p) {
        return Err(AppError::Invalid(format!(
            "priceCents: a whole number of minor units from 1 to {MAX_PRICE}"
        )));
    }
    Ok(p)
}

fn currency(c: &str) -> Result<Currency, AppError> {
    Currency::parse(c).ok_or_else(|| {
        AppError::Invalid(format!(
            "currency: {c:?} is not an ISO 4217 code we accept (EUR, USD, GBP, JPY, …)"
        ))
    })
}

fn one_active() -> AppError {
    AppError::Conflict {
        code: "product_exists",
        message: "the course already has an active product: deactivate it first".into(),
    }
}

/// Creates a product for a course of the admin's tenant (another tenant's course is not
/// found); one active product per course.
pub async fn create_product(
    pool: &PgPool,
    actor: &Actor,
    input: &ProductInput,
) -> Result<Product, AppError> {
    actor.require(ADMIN)?;
    let title = title(&input.title)?;
    let price_cents = price(input.price_cents)?;
    let currency = currency(&input.currency)?;
    db::courses::get(pool, actor.tenant_id, input.course_id)
        .await?
        .ok_or_else(|| AppError::not_found("course"))?;
    let mut tx = pool.begin().await?;
    let id = rows::insert_product(
        &mut tx,
        &NewProduct {
            tenant_id: actor.tenant_id,
            course_id: input.course_id,
            title: &title,
            price_cents,
            currency: currency.code(),
            active: input.active,
            actor: actor.user_id,
        },
    )
    .await
    .map_err(|e| {
        if rows::violates(&e, rows::ONE_ACTIVE) {
            one_active()
        } else {
            e.into()
        }
    })?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::ProductCreated, "product", id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({
                "courseId": input.course_id, "productId": id, "tenantId": actor.tenant_id,
                "title": title, "priceCents": price_cents, "currency": currency.code(),
                "active": input.active,
            })),
    )
    .await;
    tx.commit().await?;
    rows::product(pool, actor.tenant_id, id)
        .await?
        .ok_or_else(|| AppError::Internal("the product just created is gone".into()))
}

/// Changes a product's title, price, currency or active flag. A price change never alters
/// a past purchase (each keeps what was paid).
pub async fn update_product(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    patch: &ProductPatch,
) -> Result<Product, AppError> {
    actor.require(ADMIN)?;
    let title = patch.title.as_deref().map(title).transpose()?;
    let price_cents = patch.price_cents.map(price).transpose()?;
    let currency = patch.currency.as_deref().map(currency).transpose()?;
    let mut tx = pool.begin().await?;
    let before = rows::product_locked(&mut tx, actor.tenant_id, id, true)
        .await?
        .ok_or_else(|| AppError::not_found("product"))?;
    rows::update_product(
        &mut tx,
        actor.tenant_id,
        id,
        title.as_deref(),
        price_cents,
        currency.map(Currency::code),
        patch.active,
        actor.user_id,
    )
    .await
    .map_err(|e| {
        if rows::violates(&e, rows::ONE_ACTIVE) {
            one_active()
        } else {
            e.into()
        }
    })?;
    let after = rows::product(&mut *tx, actor.tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("product"))?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::ProductUpdated, "product", id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({
                "courseId": after.course_id, "productId": id, "tenantId": actor.tenant_id,
                "before": { "title": before.title, "priceCents": before.price_cents,
                            "currency": before.currency, "active": before.active },
                "after": { "title": after.title, "priceCents": after.price_cents,
                           "currency": after.currency, "active": after.active },
            })),
    )
    .await;
    tx.commit().await?;
    Ok(after)
}

/// Every product of the admin's tenant, newest first.
pub async fn products(pool: &PgPool, actor: &Actor) -> Result<Vec<Product>, AppError> {
    actor.require(ADMIN)?;
    Ok(rows::products(pool, actor.tenant_id, false).await?)
}

/// What the caller's tenant sells now: active products of published courses.
pub async fn catalogue(pool: &PgPool, actor: &Actor) -> Result<Vec<Product>, AppError> {
    Ok(rows::products(pool, actor.tenant_id, true).await?)
}

/// What a purchase did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Purchased {
    pub purchase_id: Option<Uuid>,
    pub course_id: Uuid,
    /// False when the learner already held a PAID purchase (nothing was stored again).
    pub created: bool,
    /// Where the learner goes next: the course.
    pub url: String,
}

/// Records a PAID purchase of an active product of `buyer`'s tenant and enrolls the buyer,
/// in one transaction with its audit rows and analytics events. Another tenant's product,
/// or an inactive one, is not found. A second purchase of the same product while the first
/// is PAID stores nothing (`created: false`).
async fn record_purchase(
    pool: &PgPool,
    buyer: &Actor,
    recorded_by: Uuid,
    product_id: Uuid,
    provider: Provider,
    provider_ref: Option<&str>,
) -> Result<Purchased, AppError> {
    let mut tx = pool.begin().await?;
    // Read under a share lock: an admin's change of price or active flag waits for this
    // purchase, or this purchase sees it.
    let product = rows::product_locked(&mut tx, buyer.tenant_id, product_id, false)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| AppError::not_found("product"))?;
    let version = db::packages::active_version(&mut *tx, buyer.tenant_id, product.course_id)
        .await?
        .ok_or_else(crate::learning::not_published)?;
    // A learner who holds a PAID purchase of the course (of an earlier product) pays once.
    if rows::has_paid(&mut *tx, buyer.user_id, product.course_id).await? {
        crate::learning::enroll_in(&mut tx, buyer, product.course_id, version).await?;
        tx.commit().await?;
        return Ok(Purchased {
            purchase_id: None,
            course_id: product.course_id,
            created: false,
            url: format!("/learn/{}", product.course_id),
        });
    }
    let id = rows::insert_purchase(
        &mut tx,
        &NewPurchase {
            tenant_id: buyer.tenant_id,
            user_id: buyer.user_id,
            product_id,
            course_id: product.course_id,
            amount_cents: product.price_cents,
            currency: &product.currency,
            provider: provider.as_str(),
            provider_ref,
            created_by: recorded_by,
        },
    )
    .await?;
    if let Some(id) = id {
        analytics::witnessed(
            &mut tx,
            buyer,
            product.course_id,
            version,
            None,
            EventType::Purchased,
            None,
        )
        .await?;
        audit::record(
            &mut tx,
            AuditEvent::new(AuditAction::PurchaseCreated, "purchase", id)
                .tenant(buyer.tenant_id)
                .actor(Some(recorded_by))
                .metadata(json!({
                    "courseId": product.course_id, "productId": product_id,
                    "tenantId": buyer.tenant_id, "userId": buyer.user_id,
                    "amountCents": product.price_cents, "currency": product.currency,
                    "provider": provider.as_str(),
                })),
        )
        .await;
    }
    crate::learning::enroll_in(&mut tx, buyer, product.course_id, version).await?;
    tx.commit().await?;
    Ok(Purchased {
        purchase_id: id,
        course_id: product.course_id,
        created: id.is_some(),
        url: format!("/learn/{}", product.course_id),
    })
}

/// How learners pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checkout {
    /// No provider: admins grant purchases; a learner's purchase is refused.
    #[default]
    GrantOnly,
    /// The demo's test mode: a learner's purchase is recorded at once, unpaid, as `manual`
    /// (the pages say so in a banner).
    TestMode,
}

/// A learner buys a product of their tenant (`POST /api/store/purchase`).
pub async fn purchase(
    pool: &PgPool,
    actor: &Actor,
    checkout: Checkout,
    product_id: Uuid,
) -> Result<Purchased, AppError> {
    if actor.role != Role::Learner && actor.role != Role::Admin {
        return Err(AppError::Forbidden("only learners buy courses".into()));
    }
    // Before anything else: another tenant's product is not found, whatever the mode.
    rows::product(pool, actor.tenant_id, product_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| AppError::not_found("product"))?;
    match checkout {
        Checkout::GrantOnly => Err(AppError::Conflict {
            code: "payments_unavailable",
            message: "payments are not set up here: ask an admin to grant you the course".into(),
        }),
        Checkout::TestMode => {
            record_purchase(
                pool,
                actor,
                actor.user_id,
                product_id,
                Provider::Manual,
                None,
            )
            .await
        }
    }
}

/// An admin grants a product to a learner of the tenant (an invoice paid elsewhere, a
/// scholarship): a PAID `manual` purchase, and the learner enrolled.
pub async fn grant(
    pool: &PgPool,
    actor: &Actor,
    product_id: Uuid,
    user_id: Uuid,
) -> Result<Purchased, AppError> {
    actor.require(ADMIN)?;
    let user = db::users::get_in_tenant(pool, actor.tenant_id, user_id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let buyer = Actor {
        tenant_id: actor.tenant_id,
        user_id: user.id,
        role: user.role,
    };
    record_purchase(
        pool,
        &buyer,
        actor.user_id,
        product_id,
        Provider::Manual,
        None,
    )
    .await
}

/// Refunds a PAID purchase of the tenant with a reason: access ends at once, progress is
/// kept. A purchase already refunded is a conflict.
pub async fn refund(
    pool: &PgPool,
    actor: &Actor,
    purchase_id: Uuid,
    reason: &str,
) -> Result<Purchase, AppError> {
    actor.require(ADMIN)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(AppError::Invalid("reason: 1 to 2000 characters".into()));
    }
    let p = rows::purchase(pool, actor.tenant_id, purchase_id)
        .await?
        .ok_or_else(|| AppError::not_found("purchase"))?;
    let mut tx = pool.begin().await?;
    if !rows::refund(
        &mut tx,
        actor.tenant_id,
        purchase_id,
        reason,
        Some(actor.user_id),
    )
    .await?
    {
        return Err(AppError::Conflict {
            code: "already_refunded",
            message: "this purchase was refunded already".into(),
        });
    }
    let version = db::packages::active_version(&mut *tx, actor.tenant_id, p.course_id)
        .await?
        .unwrap_or(0);
    let learner = Actor {
        tenant_id: actor.tenant_id,
        user_id: p.user_id,
        role: Role::Learner,
    };
    analytics::witnessed(
        &mut tx,
        &learner,
        p.course_id,
        version,
        None,
        EventType::Refunded,
        None,
    )
    .await?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::PurchaseRefunded, "purchase", purchase_id)
            .tenant(actor.tenant_id)
            .actor(Some(actor.user_id))
            .metadata(json!({
                "courseId": p.course_id, "productId": p.product_id, "tenantId": actor.tenant_id,
                "userId": p.user_id, "amountCents": p.amount_cents, "currency": p.currency,
                "reason": reason,
            })),
    )
    .await;
    tx.commit().await?;
    rows::purchase(pool, actor.tenant_id, purchase_id)
        .await?
        .ok_or_else(|| AppError::not_found("purchase"))
}

/// The tenant's purchases, newest first, filtered.
pub async fn purchases(
    pool: &PgPool,
    actor: &Actor,
    filter: &PurchaseFilter,
) -> Result<Vec<Purchase>, AppError> {
    actor.require(ADMIN)?;
    Ok(rows::purchases(pool, actor.tenant_id, filter).await?)
}
