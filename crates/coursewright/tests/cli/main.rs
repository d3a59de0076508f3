//! Tests of the `coursewright` executable and of the crate graph.

mod browser;
mod browser_a11y;
mod browser_analytics;
mod browser_editors;
mod browser_review;
mod browser_users;
mod commands;
mod crate_graph;
mod engine;
