//! What every plane shares: who is calling ([`auth`]), sign-in ([`sessions`]) and
//! setting a password from an invitation link ([`set_password`]), the one error
//! type ([`error`]), extractors that refuse what PostgreSQL cannot store ([`extract`]), the
//! same-origin guard ([`csrf`]), the edge middleware ([`edge`]), the page layout ([`pages`]) and request metrics
//! ([`metrics`]).

pub mod auth;
pub mod charts;
pub mod csrf;
pub mod download;
pub mod edge;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod pages;
pub mod sessions;
pub mod set_password;

/// The one way JSON shows a moment: RFC 3339 (`2026-12-01T20:05:09.123Z`).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
