//! Cross-site request forgery: every state-changing request must come from our own origin.
//!
//! Browsers send `Origin` on every cross-origin request and on same-origin POSTs, so a strict
//! check of `Origin` (falling back to `Referer`) against our own origin stops forged form
//! posts and forged `fetch` calls alike, with no token to thread through forms. A request
//! with neither header is refused too: it can only come from a non-browser client, which has
//! no business using a cookie session.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::WebError;

fn authority_of(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
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
    let expected = match &state.config.public_origin {
        Some(o) => authority_of(o).map(str::to_owned),
        None => h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let ok = match (claimed.and_then(authority_of), expected.as_deref()) {
        (Some(got), Some(want)) => got.eq_ignore_ascii_case(want),
        _ => false,
    };
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
    use super::authority_of;

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
