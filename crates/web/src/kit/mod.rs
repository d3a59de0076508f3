//! What every plane shares: who is calling ([`auth`]), sign-in ([`sessions`]), the one error
//! type ([`error`]), extractors that refuse what PostgreSQL cannot store ([`extract`]), the
//! same-origin guard ([`csrf`]), the edge middleware ([`edge`]), the page layout ([`pages`]) and request metrics
//! ([`metrics`]).

pub mod auth;
pub mod csrf;
pub mod edge;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod pages;
pub mod sessions;
