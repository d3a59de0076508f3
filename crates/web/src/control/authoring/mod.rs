//! Briefs, syllabi and content: submitted, reviewed, edited and regenerated, as JSON
//! ([`api`]) and as pages ([`pages`]). Nothing here calls a model; the worker does.

pub mod api;
pub mod pages;
pub mod queue;
