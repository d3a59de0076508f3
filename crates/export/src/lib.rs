//! Course packages as files: bytes in, bytes out; no database, no async.

pub mod checks;
pub mod scorm12;

pub use scorm12::scorm12;
