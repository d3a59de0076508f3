//! The harness is `test-support`'s: the real router on a loopback port and the real worker
//! in-process over a fresh database. The web tests need nothing of their own beyond it.

pub use test_support::{PASSWORD, TestApp, error_of, set_cookie};
