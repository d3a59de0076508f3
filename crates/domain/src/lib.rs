//! Pure types and rules of Coursewright. Nothing here does IO or is async, so every rule can be
//! tested without a database and reused by the web, the worker and the CLI alike.

pub mod analytics;
pub mod audit;
pub mod brief;
pub mod content;
pub mod grounding;
pub mod identity;
pub mod jobs;
pub mod offline;
pub mod package;
pub mod schemas;
pub mod store;
pub mod validate;

pub use audit::{AuditAction, AuditRecord, canonical_json};
pub use content::{Brief, Lesson, Level, Project, Quiz, Syllabus};
pub use identity::{
    DisplayName, Email, ParseError, Password, PersonStatus, Role, TenantName, TenantSlug,
};
pub use jobs::{JobKind, JobSpec, JobStatus};
pub use package::{BuildError, Built, CoursePackage};
pub use validate::{Valid, Violation, Violations};
