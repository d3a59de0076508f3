//! The middleware every request passes first: one layer rather than three, because each
//! layer of `from_fn` costs a service clone and a boxed future on every request.
//!
//! In order: a path or query that decodes to NUL is refused before routing; a flash cookie a
//! page has shown is cleared; every error response is rendered in the shape its route calls
//! for (HTML pages and sign-in redirects for pages, the JSON envelope for the API).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{error, extract, pages};

pub async fn edge(req: Request, next: Next) -> Response {
    let page = error::is_page(req.uri().path()).then(|| req.uri().clone());
    let res = if extract::uri_has_nul(req.uri()) {
        extract::nul_refused().into_response()
    } else {
        let had_flash = pages::has_flash(req.headers());
        pages::clear_shown_flash(had_flash, next.run(req).await)
    };
    error::shape(res, page.as_ref())
}
