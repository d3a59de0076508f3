//! Course exports: bytes in, bytes out. No database, no async.

pub mod pdf;
