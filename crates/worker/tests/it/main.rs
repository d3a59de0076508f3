//! Integration tests of the execution plane on a real PostgreSQL and real worker code.

mod generation;
mod lifecycle;
mod outages;
mod processes;
mod proxy;
mod scheduler;
mod support;
mod sweeps;
