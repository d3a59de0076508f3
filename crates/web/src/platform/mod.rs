//! The platform plane: what runs the service rather than a tenant's courses. Tenants (for
//! platform owners), `/admin/ops`, health and metrics endpoints, and the OpenAPI document.

pub mod health;
pub mod openapi;
pub mod ops;
pub mod tenants;
