//! Coursewright's HTTP surface, by plane: [`control`] (staff authoring and publishing),
//! [`learner`] (the player), [`platform`] (tenants, operations, health, the OpenAPI
//! document), and [`kit`], what they share (sign-in, guards, errors, extractors, pages). This crate never depends on `llm` or `generate`: no route can call a
//! generator, because it cannot compile.

pub mod control;
pub mod kit;
pub mod learner;
pub mod platform;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use kit::error::WebError;

/// The web server's settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `https://host[:port]` the site is reached at; when set, the origin check compares
    /// against it. Unset, this site is the address a connection reached (and, on loopback,
    /// `localhost` and `127.0.0.1` at that port), never what a `Host` header claims.
    pub public_origin: Option<String>,
    /// Mark cookies `Secure` (and name the session cookie `__Host-…`).
    pub secure_cookies: bool,
    /// How many reverse proxies stand in front of this server (0: none). With `n`, the client
    /// is the `n`th `X-Forwarded-For` entry from the right, the one the outermost proxy
    /// appended; everything left of it is whatever the client chose to send.
    pub trusted_proxies: usize,
    pub session_ttl: time::Duration,
    pub request_timeout: Duration,
    /// How long a connection may take to send a request's headers before it is closed, so
    /// that clients which never finish them cannot hold connections open.
    pub header_read_timeout: Duration,
    pub max_body_bytes: usize,
    /// A worker not heard from for this long counts as gone: staff pages then say that
    /// generation is paused.
    pub worker_stale: Duration,
    /// Exports: 3 per person per course per 10 minutes, of packages up to 5 MB.
    pub export_limits: app::exports::Limits,
    /// How learners pay: by default admins grant purchases; the demo runs in test mode.
    pub checkout: app::store::Checkout,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_origin: None,
            secure_cookies: false,
            trusted_proxies: 0,
            session_ttl: time::Duration::hours(12),
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_body_bytes: 2 * 1024 * 1024,
            worker_stale: Duration::from_secs(60),
            export_limits: app::exports::Limits::default(),
            checkout: app::store::Checkout::default(),
        }
    }
}

/// Everything a handler may need. Cheap to clone: one reference count, however many parts
/// it holds (the router clones it for every request, several times).
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

/// What [`AppState`] holds; reached through it by `Deref` (`state.pool`).
pub struct Parts {
    pub pool: PgPool,
    /// Where job outputs are read from.
    pub objects: store::Objects,
    pub config: WebConfig,
    pub metrics: PrometheusHandle,
    /// Published packages, parsed once (they never change).
    pub packages: learner::packages::PackageCache,
    /// Sessions and learners' views, kept in memory while invalidations are heard.
    pub hot: Arc<learner::hot::Hot>,
}

impl std::ops::Deref for AppState {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl AppState {
    pub fn new(pool: PgPool, config: WebConfig, objects: store::Objects) -> Self {
        Self(Arc::new(Parts {
            pool,
            objects,
            config,
            metrics: kit::metrics::install(),
            packages: Default::default(),
            hot: Arc::default(),
        }))
    }
}

const STYLESHEET: &str = include_str!("../static/app.css");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

const JSON_VIEWER: &str = include_str!("../static/json-viewer.js");

async fn json_viewer() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JSON_VIEWER,
    )
}

const LIVE: &str = include_str!("../static/live.js");

async fn live_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        LIVE,
    )
}

const MENU: &str = include_str!("../static/menu.js");
const ANALYTICS: &str = include_str!("../static/analytics.js");

async fn analytics_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        ANALYTICS,
    )
}
const EDITOR: &str = include_str!("../static/editor.js");

async fn editor_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        EDITOR,
    )
}

async fn menu_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        MENU,
    )
}

async fn not_found() -> WebError {
    WebError::NotFound("no such page or resource".into())
}

/// The whole application: every resource's router, merged here and only here.
pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let routes = Router::new()
        .merge(platform::health::router())
        .merge(kit::sessions::router())
        .merge(kit::set_password::router())
        .merge(control::home::router())
        .merge(control::users::router())
        .merge(control::audit::router())
        .merge(control::analytics::router())
        .merge(control::store::router())
        .merge(control::authoring::api::router())
        .merge(control::authoring::pages::router())
        .merge(control::authoring::queue::router())
        .merge(control::courses::router())
        .merge(control::jobs::router())
        .merge(learner::player::api::router())
        .merge(learner::exports::router())
        .merge(learner::analytics::router())
        .merge(learner::store::router())
        .merge(learner::player::pages::router())
        .merge(platform::tenants::router())
        .merge(platform::ops::router())
        .merge(platform::openapi::router())
        .route("/static/app.css", get(stylesheet))
        .route("/static/json-viewer.js", get(json_viewer))
        .route("/static/live.js", get(live_script))
        .route("/static/menu.js", get(menu_script))
        .route("/static/editor.js", get(editor_script))
        .route("/static/analytics.js", get(analytics_script))
        .route_layer(middleware::from_fn(kit::metrics::track))
        .fallback(not_found);

    // Each `layer` wraps everything added before it: the last one added runs first.
    routes
        .layer(middleware::from_fn_with_state(state.clone(), kit::csrf::require_same_origin))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.config.request_timeout,
        ))
        .layer(middleware::from_fn(kit::edge::edge))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The local address a connection reached, as an extension of each of its requests.
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr(pub SocketAddr);

/// Serves `app` on `listener` until `shutdown` resolves; in-flight requests finish first.
///
/// HTTP/1.1 over hyper directly rather than `axum::serve`, for the header read timeout: a
/// client that never finishes its headers is cut off after `header_read_timeout`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let (hot, pool) = (state.hot.clone(), state.pool.clone());
    let listening = tokio::spawn(async move { hot.listen(pool).await });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.header_read_timeout);
    let router = app(state);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let local = SocketAddr::new(local.ip().to_canonical(), local.port());
        let service = router.clone().map_request(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req.extensions_mut().insert(LocalAddr(local));
                req
            },
        );
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    listening.abort();
    Ok(())
}
