//! Course exports: bytes in, bytes out. No database, no async.

pub mod checks;
pub mod pdf;
pub mod scorm12;

pub use scorm12::scorm12;
