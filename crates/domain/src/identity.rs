//! Identity newtypes: once one of these exists, it is valid.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a raw value was refused. The message is safe to show to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl ParseError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A role within one tenant. Platform ownership is a separate flag on the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Reviewer,
    Learner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Reviewer, Role::Learner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Reviewer => "REVIEWER",
            Role::Learner => "LEARNER",
        }
    }

    /// Staff see the control plane (drafts, review, audit); learners never do.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Reviewer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "ADMIN" => Ok(Role::Admin),
            "REVIEWER" => Ok(Role::Reviewer),
            "LEARNER" => Ok(Role::Learner),
            other => Err(ParseError::new(
                "role",
                format!("unknown role {other:?}; expected ADMIN, REVIEWER or LEARNER"),
            )),
        }
    }
}

/// Where a person stands in their tenant: signing in, invited but with no password yet, or
/// deactivated (no sign-in, no session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PersonStatus {
    Active,
    Invited,
    Deactivated,
}

impl PersonStatus {
    /// Deactivation wins over a pending invitation: neither can sign in, but only
    /// reactivation undoes it.
    pub fn of(deactivated: bool, awaiting_password: bool) -> Self {
        match (deactivated, awaiting_password) {
            (true, _) => Self::Deactivated,
            (false, true) => Self::Invited,
            (false, false) => Self::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Invited => "INVITED",
            Self::Deactivated => "DEACTIVATED",
        }
    }

    /// How a page names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Invited => "invited",
            Self::Deactivated => "deactivated",
        }
    }
}

/// A person's name as others see it: trimmed, 1 to 120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_LEN: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        // Bounded before trimming walks a huge input twice.
        if raw.len() > 4 * Self::MAX_LEN + 64 {
            return Err(ParseError::new(
                "name",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let s = raw.trim();
        if s.is_empty() {
            return Err(ParseError::new("name", "is required"));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(ParseError::new(
                "name",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::new(
                "name",
                "may not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, trimmed and lower-cased so that lookups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(ParseError::new("email", "is required"));
        }
        if s.len() > 254 {
            return Err(ParseError::new("email", "is longer than 254 characters"));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(ParseError::new("email", "must contain @"));
        };
        let bad = |c: char| c.is_whitespace() || c.is_control() || c == '@' || c == '<' || c == '>';
        if local.is_empty()
            || domain.is_empty()
            || local.chars().any(bad)
            || domain.chars().any(bad)
        {
            return Err(ParseError::new("email", "is not a valid address"));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(ParseError::new(
                "email",
                "needs a domain such as example.org",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy. Its Debug never prints it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 12;
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let n = raw.chars().count();
        if n < Self::MIN_LEN {
            return Err(ParseError::new(
                "password",
                format!("must be at least {} characters", Self::MIN_LEN),
            ));
        }
        if n > Self::MAX_LEN {
            return Err(ParseError::new(
                "password",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(****)")
    }
}

/// A tenant's URL-safe short name: lower-case letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.len() < 2 || s.len() > 48 {
            return Err(ParseError::new("slug", "must be 2 to 48 characters"));
        }
        let ok = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if !ok {
            return Err(ParseError::new(
                "slug",
                "may hold only lower-case letters, digits and single hyphens inside",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tenant's display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ParseError::new("name", "is required"));
        }
        if s.chars().count() > 120 {
            return Err(ParseError::new("name", "must be at most 120 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::new(
                "name",
                "may not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_bad_ones_refused() {
        assert_eq!(
            Email::parse("  Ada@Example.ORG ").map(|e| e.0),
            Ok("ada@example.org".into())
        );
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "ada@localhost",
            "a da@x.org",
            "a@b@c.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn roles_parse_case_insensitively_and_reject_unknown_ones() {
        assert_eq!("reviewer".parse::<Role>(), Ok(Role::Reviewer));
        assert!("OWNER".parse::<Role>().is_err());
        assert!(Role::Admin.is_staff() && !Role::Learner.is_staff());
    }

    #[test]
    fn passwords_have_a_minimum_length_and_never_print() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse battery").expect("long enough");
        assert_eq!(format!("{p:?}"), "Password(****)");
    }

    #[test]
    fn display_names_are_trimmed_bounded_and_printable() {
        assert_eq!(
            DisplayName::parse("  Ada Lovelace ").map(|n| n.0),
            Ok("Ada Lovelace".into())
        );
        assert!(DisplayName::parse("x".repeat(120).as_str()).is_ok());
        for bad in ["", "   ", "a\u{7}b", "tab\there"] {
            assert!(
                DisplayName::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(DisplayName::parse(&"x".repeat(121)).is_err());
        assert!(DisplayName::parse(&"é".repeat(1_000_000)).is_err());
    }

    #[test]
    fn a_deactivated_person_is_deactivated_even_while_invited() {
        assert_eq!(PersonStatus::of(true, true), PersonStatus::Deactivated);
        assert_eq!(PersonStatus::of(false, true), PersonStatus::Invited);
        assert_eq!(PersonStatus::of(false, false), PersonStatus::Active);
    }

    #[test]
    fn slugs_are_url_safe() {
        assert!(TenantSlug::parse("acme-learning").is_ok());
        for bad in ["A", "Acme", "-acme", "acme-", "ac--me", "ac me", "é"] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
