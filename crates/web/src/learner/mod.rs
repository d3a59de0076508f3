//! The learner plane: what a tenant's learners read and write. It reads published packages
//! and records enrollment, progress and quiz attempts; it cannot build or publish (a test
//! reads these modules' source and fails if one names `app::publishing`, `app::authoring` or
//! the control plane).

pub mod analytics;
pub mod exports;
pub mod hot;
pub mod packages;
pub mod player;
pub mod store;
