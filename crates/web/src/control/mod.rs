//! The control plane: what staff of a tenant do. Authoring (briefs, syllabi, content and
//! their reviews), courses and their packages (build, publish, roll back, archive), jobs,
//! users, the audit log and the dashboard. Each resource's JSON and pages sit side by side;
//! every state change is a call into `app`.

pub mod analytics;
pub mod audit;
pub mod authoring;
pub mod courses;
pub mod home;
pub mod jobs;
pub mod store;
pub mod users;
