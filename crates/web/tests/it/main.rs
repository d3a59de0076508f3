//! Integration tests of the web crate: the real router over HTTP on a fresh database each.

mod analytics;
mod audit;
mod auth;
mod authoring;
mod courses;
mod editors;
mod exports;
mod guards;
mod http;
mod jobs;
mod publishing;
mod review;
mod store;
mod support;
mod users;
