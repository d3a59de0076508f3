//! Quoted identifiers for the few statements that take no bind parameters.
//!
//! PostgreSQL binds values, never names: `CREATE DATABASE`, `CREATE ROLE`, `ALTER ROLE` and
//! `GRANT … TO` must spell the database or role in the statement itself. Those statements
//! in `connect` and `roles` build their text with [`quote`] and nothing else; every other
//! query of the application is a compile-time-checked macro.

/// The longest identifier PostgreSQL keeps (NAMEDATALEN − 1 bytes); a longer one is
/// silently truncated, which would name a different object.
pub const MAX_LEN: usize = 63;

/// Why a name cannot be an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIdentifier {
    #[error("an SQL identifier cannot be empty")]
    Empty,
    #[error("the SQL identifier {0:?} contains a NUL byte")]
    Nul(String),
    #[error(
        "the SQL identifier {0:?} is longer than {MAX_LEN} bytes, which PostgreSQL would truncate"
    )]
    TooLong(String),
}

/// `name` as a double-quoted identifier (`"a""b"` for `a"b`), so it is taken literally and
/// can never end the identifier early. Refuses what PostgreSQL would reject or truncate.
pub fn quote(name: &str) -> Result<String, InvalidIdentifier> {
    if name.is_empty() {
        return Err(InvalidIdentifier::Empty);
    }
    if name.contains('\0') {
        return Err(InvalidIdentifier::Nul(name.to_owned()));
    }
    if name.len() > MAX_LEN {
        return Err(InvalidIdentifier::TooLong(name.to_owned()));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

impl From<InvalidIdentifier> for sqlx::Error {
    fn from(e: InvalidIdentifier) -> Self {
        sqlx::Error::Configuration(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_quoted_and_its_quotes_doubled() {
        assert_eq!(
            quote("coursewright_app").as_deref(),
            Ok("\"coursewright_app\"")
        );
        assert_eq!(quote("Mixed Case").as_deref(), Ok("\"Mixed Case\""));
        assert_eq!(
            quote("x\"; DROP TABLE jobs; --").as_deref(),
            Ok("\"x\"\"; DROP TABLE jobs; --\"")
        );
    }

    #[test]
    fn empty_nul_and_over_long_names_are_refused() {
        assert_eq!(quote(""), Err(InvalidIdentifier::Empty));
        assert!(matches!(quote("a\0b"), Err(InvalidIdentifier::Nul(_))));
        assert!(quote(&"a".repeat(MAX_LEN)).is_ok());
        assert!(matches!(
            quote(&"a".repeat(MAX_LEN + 1)),
            Err(InvalidIdentifier::TooLong(_))
        ));
    }
}
