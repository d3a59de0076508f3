//! The test harness: a real router on port 0 over a fresh database, with a cookie client.

use std::net::SocketAddr;

use db::users::User;
use domain::{Email, Role, TenantName, TenantSlug};
use reqwest::{Client, RequestBuilder, Response, redirect};
use serde_json::{Value, json};
use test_support::TestDatabase;
use tokio::sync::oneshot;
use web::{AppState, WebConfig};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub db: TestDatabase,
    /// A client with its own cookie jar that follows no redirects.
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(WebConfig::default()).await
    }

    pub async fn spawn_with(config: WebConfig) -> Self {
        let db = TestDatabase::new().await;
        Self::spawn_on(db, config).await
    }

    pub async fn spawn_on(db: TestDatabase, config: WebConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = AppState::new(db.app_pool.clone(), config, store::Objects::in_memory());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        Self {
            base: format!("http://{addr}"),
            addr,
            db,
            client: new_client(),
            stop: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A second browser: its own cookie jar.
    pub fn new_client(&self) -> Client {
        new_client()
    }

    /// A state-changing request as our own pages send it (same Origin).
    pub fn csrf_post(&self, client: &Client, path: &str) -> RequestBuilder {
        client.post(self.url(path)).header("Origin", &self.base)
    }

    pub async fn tenant(&self, slug: &str) -> db::tenants::Tenant {
        let name = format!("Tenant {slug}");
        db::tenants::create(
            &self.db.pool,
            &TenantSlug::parse(slug).expect("slug"),
            &TenantName::parse(&name).expect("name"),
        )
        .await
        .expect("create tenant")
    }

    pub async fn user(&self, tenant: &db::tenants::Tenant, email: &str, role: Role) -> User {
        self.user_with(tenant, email, role, false).await
    }

    pub async fn user_with(
        &self,
        tenant: &db::tenants::Tenant,
        email: &str,
        role: Role,
        platform_owner: bool,
    ) -> User {
        let hash = web::auth::hash_password_blocking(PASSWORD).expect("hash");
        db::users::create(
            &self.db.pool,
            db::users::NewUser {
                tenant_id: tenant.id,
                email: &Email::parse(email).expect("email"),
                display_name: "",
                role,
                password_hash: &hash,
                is_platform_owner: platform_owner,
            },
        )
        .await
        .expect("create user")
    }

    /// Signs `client` in through the JSON API.
    pub async fn login_as(&self, client: &Client, email: &str) -> Response {
        self.login_with(client, email, PASSWORD).await
    }

    pub async fn login_with(&self, client: &Client, email: &str, password: &str) -> Response {
        self.csrf_post(client, "/api/auth/login")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    /// A client already signed in as a new user of `tenant` with `role`.
    pub async fn signed_in(
        &self,
        tenant: &db::tenants::Tenant,
        email: &str,
        role: Role,
    ) -> (Client, User) {
        let user = self.user(tenant, email, role).await;
        let client = self.new_client();
        let res = self.login_as(&client, email).await;
        assert_eq!(
            res.status(),
            200,
            "login of {email} failed: {}",
            res.text().await.unwrap_or_default()
        );
        (client, user)
    }

    /// The audit actions written so far, oldest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(&self.db.pool)
            .await
            .expect("audit rows")
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.db.pool)
            .await
            .expect("count")
    }

    /// Asks the server to stop (as SIGTERM would) and returns its task, which ends once
    /// in-flight requests have finished. The database stays until `self` is dropped.
    pub fn stop(&mut self) -> tokio::task::JoinHandle<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.server.take().unwrap_or_else(|| tokio::spawn(async {}))
    }
}

fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// The body of a JSON error, asserting its shape.
pub async fn error_of(res: Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/json"),
        "error content-type was {ct:?}"
    );
    let v: Value = res.json().await.expect("json body");
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {v}"))
        .to_owned();
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {v}"))
        .to_owned();
    (status, code, message)
}

/// The session cookie set by a response, if any.
pub fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}
