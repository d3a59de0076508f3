//! The use cases of Coursewright, one function each. Every function takes an authorized
//! [`Actor`] and returns an [`AppError`]; the JSON API, the pages, the CLI and the demo
//! are thin callers of this crate, so each rule has one home.
//!
//! This crate never calls a model: work that needs one becomes a job (see
//! [`domain::JobSpec`]) enqueued in the same transaction as the change that asks for it.

pub mod admin;
pub mod analytics;
pub mod analytics_demo;
pub mod authoring;
pub mod exports;
pub mod jobs;
pub mod learning;
pub mod people;
pub mod publishing;
pub mod store;

use std::time::Duration;

use domain::Role;
use uuid::Uuid;

/// Who is acting: a signed-in user of one tenant, with their role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

/// Admins and reviewers: the people who review and request generation.
pub const STAFF: &[Role] = &[Role::Admin, Role::Reviewer];
/// Admins alone build, publish and archive.
pub const ADMIN: &[Role] = &[Role::Admin];

impl Actor {
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden("your role does not allow this".into()))
        }
    }
}

/// Why a use case refused or failed. `web` maps each to one status, in one place.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing, or another tenant's (the two are indistinguishable).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// The request is valid but the state does not allow it; `code` names the reason.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The input breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("too many requests; try again in {} seconds", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A stored row that no longer fits its type: a bug or a manual edit, never user input.
    #[error("{0}")]
    Corrupt(String),
    /// Something of ours failed (a blocking thread, a hash); never the caller's doing.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<domain::Violations> for AppError {
    fn from(v: domain::Violations) -> Self {
        Self::Invalid(
            v.0.iter()
                .map(|x| format!("{}: {}", x.path, x.message))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// A job for `spec`, created in `tx` (a live job for the same target is found instead).
pub(crate) async fn enqueue(
    tx: &mut db::Transaction<'_, db::Postgres>,
    actor: &Actor,
    spec: &domain::JobSpec,
) -> Result<db::jobs::Created, sqlx::Error> {
    let kind = spec.kind();
    let (target_type, target_id) = spec.target();
    db::jobs::create(
        tx,
        db::jobs::NewJob {
            tenant_id: actor.tenant_id,
            kind: &kind,
            target_type,
            target_id: &target_id,
            instruction: spec.payload(),
            created_by: Some(actor.user_id),
            start: db::jobs::Start::Pending,
        },
    )
    .await
}
