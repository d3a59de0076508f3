//! Coursewright's test harness, shared by every crate's integration tests (a dev-dependency
//! only; nothing in production reaches it).
//!
//! - [`TestDatabase`]: a fresh database cloned from a migrated template, per test.
//! - [`seed`]: raw INSERTs, for tests about the database itself.

mod database;
pub mod seed;

pub use database::{
    TEST_RUNTIME_ROLE, TestDatabase, ensure_runtime_role, ident, server_options, server_url,
};
