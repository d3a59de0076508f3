//! Cross-site request forgery: every state-changing request must come from our own origin.
//!
//! Browsers send `Origin` on every cross-origin request and on same-origin POSTs, so a strict
//! check of `Origin` (falling back to `Referer`) against our own origin stops forged form
//! posts and forged `fetch` calls alike, with no token to thread through forms. A request
//! with neither header is refused too: it can only come from a non-browser client, which has
//! no business using a cookie session.
//!
//! This site's origin is `COURSEWRIGHT_PUBLIC_URL` when it is set. Unset, it is the address
//! the connection reached (`http://IP:PORT`) and, when that is a loopback address, also
//! `localhost`, `127.0.0.1` and `[::1]` at that port. The `Host` header is never trusted: a
//! page on another site can make a browser send any `Host` it likes to a name it controls.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::kit::error::WebError;
use crate::{AppState, LocalAddr};

fn authority_of(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// The authorities this site answers to when no public URL is configured.
pub fn own_authorities(local: SocketAddr) -> Vec<String> {
    let mut own = vec![local.to_string()];
    if local.ip().is_loopback() {
        let port = local.port();
        for name in ["localhost", "127.0.0.1", "[::1]"] {
            let a = format!("{name}:{port}");
            if !own.contains(&a) {
                own.push(a);
            }
        }
    }
    own
}

/// Refuses unsafe methods whose `Origin` (or `Referer`) is not this site, with 403 and
/// before the handler runs, so nothing is written.
pub async fn require_same_origin(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return next.run(req).await;
    }
    let h = req.headers();
    let claimed = h
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .or_else(|| h.get(header::REFERER).and_then(|v| v.to_str().ok()));
    let expected: Vec<String> = match &state.config.public_origin {
        Some(o) => authority_of(o).map(str::to_owned).into_iter().collect(),
        None => req
            .extensions()
            .get::<LocalAddr>()
            .map(|l| own_authorities(l.0))
            .unwrap_or_default(),
    };
    let ok = claimed
        .and_then(authority_of)
        .is_some_and(|got| expected.iter().any(|want| got.eq_ignore_ascii_case(want)));
    if !ok {
        metrics::counter!("csrf_rejections_total").increment(1);
        return WebError::Forbidden(
            "cross-site request refused: the Origin header must name this site".into(),
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::{authority_of, own_authorities};

    #[test]
    fn only_a_loopback_bind_answers_to_localhost() {
        assert_eq!(
            own_authorities("127.0.0.1:8080".parse().expect("addr")),
            ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"]
        );
        assert_eq!(
            own_authorities("192.0.2.10:8080".parse().expect("addr")),
            ["192.0.2.10:8080"]
        );
    }

    #[test]
    fn authority_is_host_and_port_only() {
        assert_eq!(
            authority_of("http://127.0.0.1:8080"),
            Some("127.0.0.1:8080")
        );
        assert_eq!(authority_of("https://x.org/path?q"), Some("x.org"));
        assert_eq!(authority_of("nonsense"), None);
    }
}
