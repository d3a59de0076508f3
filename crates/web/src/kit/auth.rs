//! Who is calling: sessions, the [`Caller`] extractor, role guards, password hashing and login.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use db::audit::{self, AuditEvent};
use db::sessions::SessionUser;
use domain::{AuditAction, Email, Role};
use uuid::Uuid;

use crate::AppState;
use crate::kit::error::WebError;

/// Failures within the window before an account is locked.
pub const ACCOUNT_THRESHOLD: i32 = 5;
/// Failures from one address before it is locked; higher, since many people share one NAT.
pub const ADDRESS_THRESHOLD: i32 = 20;

/// The signed-in user behind a request, with their tenant.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub tenant_slug: String,
    pub is_platform_owner: bool,
}

impl From<SessionUser> for Caller {
    fn from(s: SessionUser) -> Self {
        Self {
            user_id: s.user.id,
            email: s.user.email,
            display_name: s.user.display_name,
            role: s.user.role,
            tenant_id: s.user.tenant_id,
            tenant_name: s.tenant_name,
            tenant_slug: s.tenant_slug,
            is_platform_owner: s.user.is_platform_owner,
        }
    }
}

impl Caller {
    /// Passes when the caller holds one of `roles`; 403 otherwise.
    /// The caller as the use cases see them.
    pub fn actor(&self) -> app::Actor {
        app::Actor {
            tenant_id: self.tenant_id,
            user_id: self.user_id,
            role: self.role,
        }
    }

    pub fn require_role(&self, roles: &[Role]) -> Result<(), WebError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(WebError::forbidden())
        }
    }

    pub fn require_platform_owner(&self) -> Result<(), WebError> {
        if self.is_platform_owner {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "only a platform owner may manage tenants".into(),
            ))
        }
    }

    /// Where this caller lands after signing in.
    pub fn home(&self) -> &'static str {
        if self.role.is_staff() {
            "/admin"
        } else {
            "/learn"
        }
    }
}

/// The session cookie's name. `__Host-` pins it to this host over https.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-cw_session"
    } else {
        "cw_session"
    }
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A cached lookup, so a handler and the page layout share one query.
#[derive(Clone)]
struct Resolved(Option<Caller>);

async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<Caller>, WebError> {
    if let Some(Resolved(c)) = parts.extensions.get::<Resolved>() {
        return Ok(c.clone());
    }
    let token = cookie(&parts.headers, cookie_name(state.config.secure_cookies));
    let caller = match token {
        Some(t) => state.hot.session(&state.pool, t).await?.map(Caller::from),
        None => None,
    };
    parts.extensions.insert(Resolved(caller.clone()));
    Ok(caller)
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        resolve(parts, &AppState::from_ref(state))
            .await?
            .ok_or(WebError::Unauthorized)
    }
}

impl<S> OptionalFromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        resolve(parts, &AppState::from_ref(state)).await
    }
}

/// The client's address: the socket peer or, behind `trusted_proxies` proxies, the
/// `X-Forwarded-For` entry the outermost of them appended (never one the client wrote).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The hop `trusted` proxies vouch for: the `trusted`th entry from the right of every
/// `X-Forwarded-For` line taken as one list. `None` when there are fewer entries than
/// proxies (a misconfiguration, or a request that bypassed them) or the entry is no address.
pub fn forwarded_client(headers: &HeaderMap, trusted: usize) -> Option<IpAddr> {
    if trusted == 0 {
        return None;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let i = hops.len().checked_sub(trusted)?;
    hops[i].parse().ok()
}

impl<S> FromRequestParts<S> for ClientAddr
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if let Some(ip) = forwarded_client(&parts.headers, state.config.trusted_proxies) {
            return Ok(Self(Some(ip)));
        }
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A hash of a random password, verified against when the email is unknown so that both
/// failures take as long.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        app::admin::hash_password_blocking(&Uuid::new_v4().to_string()).unwrap_or_default()
    })
}

async fn verify_password(password: String, hash: Option<String>) -> Result<bool, WebError> {
    tokio::task::spawn_blocking(move || {
        let hash = hash.as_deref().unwrap_or_else(|| decoy_hash());
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| WebError::Internal(e.into()))
}

/// What a successful login yields: the caller and the new session's token.
pub struct LoggedIn {
    pub caller: Caller,
    pub token: String,
}

const BAD_CREDENTIALS: &str = "email or password is incorrect";

/// The longest email address a mailbox can have (RFC 5321's path limit, less its brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longer than any password manager makes, short enough that hashing it costs nothing extra.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Checks throttles and credentials, then opens a fresh session (ending `old_token`'s, so the
/// session id always changes at login).
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    addr: ClientAddr,
    old_token: Option<&str>,
) -> Result<LoggedIn, WebError> {
    if email.trim().is_empty() || password.is_empty() {
        return Err(WebError::Unprocessable(
            "email and password are both required".into(),
        ));
    }
    // Bounded before anything (a throttle key, a query) is built from them.
    if email.trim().len() > MAX_EMAIL_LEN {
        return Err(WebError::Unprocessable(format!(
            "an email address has at most {MAX_EMAIL_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(WebError::Unprocessable(format!(
            "a password has at most {MAX_PASSWORD_LEN} characters"
        )));
    }
    // A malformed address still counts against the throttle and gets the same answer.
    let parsed = Email::parse(email);
    let account_key = format!("account:{}", email.trim().to_lowercase());
    let ip_key = addr.0.map(|ip| format!("ip:{ip}"));
    let mut keys = vec![db::throttle::Counted {
        key: &account_key,
        threshold: ACCOUNT_THRESHOLD,
    }];
    if let Some(k) = &ip_key {
        keys.push(db::throttle::Counted {
            key: k,
            threshold: ADDRESS_THRESHOLD,
        });
    }
    // Counted before the password is checked, so racing attempts cannot outrun the lock.
    let lock = match db::throttle::admit(&state.pool, &keys).await? {
        db::throttle::Admission::Locked(wait) => {
            metrics::counter!("login_throttled_total").increment(1);
            return Err(WebError::TooManyRequests { retry_after: wait });
        }
        db::throttle::Admission::Admitted { lock } => lock,
    };

    let creds = match &parsed {
        Ok(e) => db::users::credentials(&state.pool, e).await?,
        Err(_) => None,
    };
    let ok = verify_password(
        password.to_owned(),
        creds.as_ref().map(|c| c.password_hash.clone()),
    )
    .await?;
    // The account, if the email names one; kept for the failure's audit row.
    let known = creds.as_ref().map(|c| (c.user.id, c.user.tenant_id));
    // A deactivated person gets the answer a wrong password gets, and is audited as one.
    let deactivated = creds.as_ref().is_some_and(|c| c.deactivated);
    let Some(creds) = creds.filter(|_| ok && !deactivated) else {
        metrics::counter!("login_failures_total").increment(1);
        if let Some((user_id, tenant_id)) = known {
            let event = AuditEvent::new(AuditAction::LoginFailed, "user", user_id)
                .tenant(tenant_id)
                .metadata(serde_json::json!({
                    "address": addr.0.map(|a| a.to_string()),
                    "locked_for_seconds": lock.map(|d| d.as_secs()),
                    "deactivated": deactivated,
                }));
            audit::record_alone(&state.pool, event).await;
        }
        return Err(match lock {
            Some(wait) => WebError::TooManyRequests { retry_after: wait },
            None => WebError::InvalidCredentials(BAD_CREDENTIALS.into()),
        });
    };

    db::throttle::clear(&state.pool, &account_key).await?;
    if let Some(k) = &ip_key {
        db::throttle::forgive(&state.pool, k).await?;
    }
    let mut tx = state.pool.begin().await?;
    if let Some(old) = old_token {
        db::sessions::delete(&mut *tx, old).await?;
        state.hot.forget_session(old);
    }
    let token = db::sessions::create(&mut *tx, creds.user.id, state.config.session_ttl).await?;
    db::users::record_sign_in(&mut *tx, creds.user.id).await?;
    audit::record(
        &mut tx,
        AuditEvent::new(AuditAction::LoginSucceeded, "user", creds.user.id)
            .tenant(creds.user.tenant_id)
            .actor(Some(creds.user.id))
            .metadata(serde_json::json!({ "address": addr.0.map(|a| a.to_string()) })),
    )
    .await;
    tx.commit().await?;
    let tenant = db::tenants::get(&state.pool, creds.user.tenant_id)
        .await?
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("the user's tenant is missing")))?;
    let caller = Caller::from(SessionUser {
        user: creds.user,
        tenant_name: tenant.name,
        tenant_slug: tenant.slug,
    });
    Ok(LoggedIn { caller, token })
}

/// Ends the session behind `token`, auditing it when it belonged to someone.
pub async fn logout(
    state: &AppState,
    caller: Option<&Caller>,
    token: &str,
) -> Result<(), WebError> {
    let mut tx = state.pool.begin().await?;
    let ended = db::sessions::delete(&mut *tx, token).await?;
    if let (true, Some(c)) = (ended, caller) {
        audit::record(
            &mut tx,
            AuditEvent::new(AuditAction::Logout, "user", c.user_id)
                .tenant(c.tenant_id)
                .actor(Some(c.user_id)),
        )
        .await;
    }
    tx.commit().await?;
    state.hot.forget_session(token);
    Ok(())
}

/// The `Set-Cookie` value that stores a session.
pub fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = state.config.secure_cookies;
    let v = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        cookie_name(secure),
        state.config.session_ttl.whole_seconds(),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    let v = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A retry hint for a throttled page, in whole seconds.
pub fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", HeaderValue::from_str(l).expect("value"));
        }
        h
    }

    #[test]
    fn the_forwarded_client_is_the_hop_the_outermost_trusted_proxy_appended() {
        let spoofed = xff(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(forwarded_client(&spoofed, 0), None);
        assert_eq!(
            forwarded_client(&spoofed, 1),
            Some("203.0.113.7".parse().expect("ip"))
        );
        let two = xff(&["6.6.6.6", "203.0.113.7, 10.0.0.2"]);
        assert_eq!(
            forwarded_client(&two, 2),
            Some("203.0.113.7".parse().expect("ip"))
        );
        assert_eq!(forwarded_client(&xff(&["203.0.113.7"]), 2), None);
        assert_eq!(forwarded_client(&xff(&["not-an-ip"]), 1), None);
        assert_eq!(forwarded_client(&HeaderMap::new(), 1), None);
    }
}
