//! The audit log's closed set of actions and its hash chain.
//!
//! Each row's hash is SHA-256 over the previous row's hash and a canonical encoding of the
//! row, so a changed, removed or reordered row breaks every hash after it.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sha2::{Digest, Sha256};

macro_rules! actions {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Every event the audit log may hold. Names come from the seeds; issues extend this.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction { $($variant),+ }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(AuditAction::$variant => $name),+ }
            }
        }

        impl FromStr for AuditAction {
            type Err = UnknownAction;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($name => Ok(AuditAction::$variant),)+ _ => Err(UnknownAction(s.to_owned())) }
            }
        }
    };
}

actions! {
    TenantCreated => "TENANT_CREATED",
    UserCreated => "USER_CREATED",
    UserPasswordReset => "USER_PASSWORD_RESET",
    UserInvited => "USER_INVITED",
    UserInviteReissued => "USER_INVITE_REISSUED",
    UserPasswordSet => "USER_PASSWORD_SET",
    UserRoleChanged => "USER_ROLE_CHANGED",
    UserDeactivated => "USER_DEACTIVATED",
    UserReactivated => "USER_REACTIVATED",
    LoginSucceeded => "LOGIN_SUCCEEDED",
    LoginFailed => "LOGIN_FAILED",
    LoginThrottled => "LOGIN_THROTTLED",
    Logout => "LOGOUT",
    RegenJobCreated => "REGEN_JOB_CREATED",
    RegenJobTriggered => "REGEN_JOB_TRIGGERED",
    RegenJobLocked => "REGEN_JOB_LOCKED",
    RegenJobStarted => "REGEN_JOB_STARTED",
    RegenJobCompleted => "REGEN_JOB_COMPLETED",
    RegenJobFailed => "REGEN_JOB_FAILED",
    RegenJobRetried => "REGEN_JOB_RETRIED",
    PromotionCandidateCreated => "PROMOTION_CANDIDATE_CREATED",
    PromotionApproved => "PROMOTION_APPROVED",
    PromotionRejected => "PROMOTION_REJECTED",
    SuggestionCreated => "SUGGESTION_CREATED",
    SuggestionAccepted => "SUGGESTION_ACCEPTED",
    SuggestionDismissed => "SUGGESTION_DISMISSED",
    BriefCreated => "BRIEF_CREATED",
    SyllabusCreated => "SYLLABUS_CREATED",
    SyllabusEdited => "SYLLABUS_EDITED",
    SyllabusApproved => "SYLLABUS_APPROVED",
    SyllabusRejected => "SYLLABUS_REJECTED",
    ContentCreated => "CONTENT_CREATED",
    ContentEdited => "CONTENT_EDITED",
    ContentApproved => "CONTENT_APPROVED",
    ContentRejected => "CONTENT_REJECTED",
    PackageBuilt => "PACKAGE_BUILT",
    PackagePublished => "PACKAGE_PUBLISHED",
    PackageArchived => "PACKAGE_ARCHIVED",
    EnrollmentCreated => "ENROLLMENT_CREATED",
    PdfExported => "PDF_EXPORTED",
    LmsExported => "LMS_EXPORTED",
    AnalyticsJobRun => "ANALYTICS_JOB_RUN",
    ProductCreated => "PRODUCT_CREATED",
    ProductUpdated => "PRODUCT_UPDATED",
    PurchaseCreated => "PURCHASE_CREATED",
    PurchaseRefunded => "PURCHASE_REFUNDED",
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action {0:?}")]
pub struct UnknownAction(pub String);

/// The hashed part of one audit row, exactly as stored.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord<'a> {
    /// The row's place in the chain.
    pub seq: i64,
    /// The audit row's own id.
    pub id: i64,
    pub tenant_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<&'a str>,
    pub metadata: &'a serde_json::Value,
    /// RFC 3339 with microseconds in UTC, the precision PostgreSQL keeps.
    pub created_at: &'a str,
}

/// The hash of the row before the first one.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditRecord<'_> {
    /// SHA-256 (hex) over the previous hash, a newline, and the canonical encoding of the row.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(canonical_json(&serde_json::to_value(self).unwrap_or_default()).as_bytes());
        hex::encode(h.finalize())
    }
}

/// JSON with object keys sorted and no insignificant white space. serde_json's default map is
/// ordered by key, so a `Value` printed compactly is already canonical.
pub fn canonical_json(v: &serde_json::Value) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(meta: &serde_json::Value) -> AuditRecord<'_> {
        AuditRecord {
            seq: 1,
            id: 1,
            tenant_id: Some("t"),
            actor_id: None,
            action: "LOGIN_SUCCEEDED",
            entity_type: "user",
            entity_id: Some("u"),
            metadata: meta,
            created_at: "2026-01-01T00:00:00.000000Z",
        }
    }

    #[test]
    fn actions_round_trip_through_their_names() {
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>(), Ok(*a));
        }
        assert!("DROP_TABLES".parse::<AuditAction>().is_err());
    }

    #[test]
    fn the_hash_depends_on_key_order_never_but_on_every_value() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":2}"#).expect("json");
        let b: serde_json::Value = serde_json::from_str(r#"{"a":2,"b":1}"#).expect("json");
        assert_eq!(
            record(&a).chain_hash(GENESIS_HASH),
            record(&b).chain_hash(GENESIS_HASH)
        );
        let c: serde_json::Value = serde_json::from_str(r#"{"a":3,"b":1}"#).expect("json");
        assert_ne!(
            record(&a).chain_hash(GENESIS_HASH),
            record(&c).chain_hash(GENESIS_HASH)
        );
        assert_ne!(
            record(&a).chain_hash(GENESIS_HASH),
            record(&a).chain_hash(&"1".repeat(64))
        );
    }
}
