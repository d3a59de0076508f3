//! Integration tests of the execution plane on a real PostgreSQL and real worker code.

mod lifecycle;
mod processes;
mod scheduler;
mod support;
