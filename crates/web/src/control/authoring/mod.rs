//! Briefs, syllabi and content: submitted, reviewed, edited and regenerated, as JSON
//! ([`api`]) and as pages ([`pages`], with the form editors in [`editors`]). Nothing here
//! calls a model; the worker does.

pub mod api;
pub mod editors;
pub mod pages;
pub mod queue;
