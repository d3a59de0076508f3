//! Integration tests of the web crate: the real router over HTTP on a fresh database each.

mod audit;
mod auth;
mod authoring;
mod courses;
mod guards;
mod http;
mod jobs;
mod publishing;
mod support;
mod users;
