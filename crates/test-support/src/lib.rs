//! Coursewright's test harness, shared by every crate's integration tests (a dev-dependency
//! only; nothing in production reaches it).
//!
//! - [`TestDatabase`]: a fresh database cloned from a migrated template, per test.
//! - [`TestApp`]: the real router on a loopback port and the real worker in-process over
//!   one such database, both as the runtime role; typed helpers sign people in and seed
//!   through the `app` use cases; [`TestApp::run_pending_jobs`] runs queued jobs through
//!   the worker with the offline LLM provider. A test that ends with a PENDING or RUNNING
//!   job it did not announce ([`TestApp::expect_pending`]) fails.
//! - [`wait_until`]: wait for a condition with a deadline, instead of sleeping and asserting.
//! - [`seed`]: raw INSERTs, for tests about the database itself.

mod database;
mod harness;
mod http;
pub mod seed;
mod wait;

pub use database::{
    TEST_RUNTIME_ROLE, TestDatabase, ensure_runtime_role, ident, server_options, server_url,
};
pub use harness::{ApprovedCourse, PASSWORD, TestApp, TestAppBuilder, actor_of};
pub use http::{error_of, set_cookie};
pub use wait::{wait_until, wait_until_some};
