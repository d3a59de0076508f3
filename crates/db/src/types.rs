//! Kinds and statuses stored as text, as Rust enums: a row read back is always one of the
//! values the CHECK constraints allow, and code never compares strings to literals.
//!
//! The enums defined here are `sqlx::Type`s themselves. `domain::JobStatus` cannot be, since
//! `domain` does not depend on sqlx: [`Stored`] reads it from its text column instead.

use std::fmt;
use std::str::FromStr;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// A value the database held that no variant names.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { what: $what, value: s.to_owned() }),
                }
            }
        }

        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<&str as Decode<Postgres>>::decode(value)?.parse()?)
            }
        }
    };
}

text_enum!(
    /// What an artifact is.
    ArtifactKind, "artifact kind" {
        Syllabus => "SYLLABUS",
        Lesson => "LESSON",
        Quiz => "QUIZ",
        Project => "PROJECT",
    }
);

text_enum!(
    /// Where an artifact is in review: a DRAFT is approved or rejected once.
    ArtifactStatus, "artifact status" {
        Draft => "DRAFT",
        Approved => "APPROVED",
        Rejected => "REJECTED",
    }
);

text_enum!(
    /// A package version may be made active while PUBLISHED; ARCHIVED is final.
    PackageStatus, "package status" {
        Published => "PUBLISHED",
        Archived => "ARCHIVED",
    }
);

text_enum!(
    /// What a published pointer covers.
    Scope, "publish scope" {
        Course => "COURSE",
        Module => "MODULE",
        Lesson => "LESSON",
    }
);

text_enum!(
    /// How a scheduled run (`job_runs`) stands: RUNNING until its runner records the end.
    RunStatus, "run status" {
        Running => "RUNNING",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        TimedOut => "TIMED_OUT",
        SkippedOverlap => "SKIPPED_OVERLAP",
    }
);

impl ArtifactKind {
    /// Content is everything made from a syllabus.
    pub const CONTENT: &'static [ArtifactKind] = &[
        ArtifactKind::Lesson,
        ArtifactKind::Quiz,
        ArtifactKind::Project,
    ];

    pub fn is_syllabus(self) -> bool {
        self == ArtifactKind::Syllabus
    }

    /// The name audit rows and URLs use for the entity.
    pub fn entity(self) -> &'static str {
        if self.is_syllabus() {
            "syllabus"
        } else {
            "content"
        }
    }
}

impl ArtifactStatus {
    pub fn is_draft(self) -> bool {
        self == ArtifactStatus::Draft
    }

    pub fn is_approved(self) -> bool {
        self == ArtifactStatus::Approved
    }
}

/// A text column read as a `domain` type that parses from its text (`FromStr`), for
/// `query_as!`: `status AS "status: Stored<JobStatus>"` decodes the column and the macro
/// converts it into the struct's `JobStatus` field (through the `From` impls below). A value
/// that does not parse is a decode error, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored<T>(pub T);

impl<T> Type<Postgres> for Stored<T> {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl<'r, T> Decode<'r, Postgres> for Stored<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Stored(<&str as Decode<Postgres>>::decode(value)?.parse()?))
    }
}

impl From<Stored<domain::JobStatus>> for domain::JobStatus {
    fn from(s: Stored<domain::JobStatus>) -> Self {
        s.0
    }
}
