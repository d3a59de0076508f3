//! [`TestApp`]: the real router on a loopback port and the real worker in-process, over a
//! fresh database, both connected as the runtime role as in production.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use app::Actor;
use app::authoring::{Family, Submitted};
use db::tenants::Tenant;
use db::users::User;
use domain::{Email, Role, TenantName, TenantSlug};
use reqwest::{Client, RequestBuilder, Response, redirect};
use serde_json::json;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::oneshot;
use uuid::Uuid;
use web::{AppState, WebConfig};
use worker::{Finished, Registry, Worker, WorkerConfig};

use crate::TestDatabase;

/// The password of every user the harness makes.
pub const PASSWORD: &str = "correct horse battery staple";

/// `expect_pending` not called: no job may be left open.
const NONE_OPEN: i64 = 0;
/// `allow_pending_jobs` called: any number may be left open.
const ANY_OPEN: i64 = -1;

/// How a [`TestApp`] is started; [`TestApp::builder`] makes one with the defaults (a fresh
/// database, [`WebConfig::default`], the generation executors with the offline provider,
/// an in-memory object store).
pub struct TestAppBuilder {
    db: Option<TestDatabase>,
    web: WebConfig,
    provider: Arc<dyn llm::LlmProvider>,
    registry: Option<Registry>,
    objects: Option<store::Objects>,
    worker: WorkerConfig,
}

impl TestAppBuilder {
    /// Runs on `db` instead of a fresh database.
    pub fn database(mut self, db: TestDatabase) -> Self {
        self.db = Some(db);
        self
    }

    pub fn web_config(mut self, config: WebConfig) -> Self {
        self.web = config;
        self
    }

    /// The LLM provider of the generation executors (the offline one by default).
    pub fn provider(mut self, provider: Arc<dyn llm::LlmProvider>) -> Self {
        self.provider = provider;
        self
    }

    /// The worker's executors, instead of the generation executors.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The object store the server and the worker share.
    pub fn objects(mut self, objects: store::Objects) -> Self {
        self.objects = Some(objects);
        self
    }

    pub fn worker_config(mut self, config: WorkerConfig) -> Self {
        self.worker = config;
        self
    }

    pub async fn start(self) -> TestApp {
        let db = match self.db {
            Some(db) => db,
            None => TestDatabase::new().await,
        };
        let objects = self.objects.unwrap_or_else(store::Objects::in_memory);
        let registry = self.registry.unwrap_or_else(|| {
            let llm = worker::generation::llm(db.app_pool.clone(), self.provider, 4);
            worker::generation::register(Registry::new(), db.app_pool.clone(), llm)
        });
        let worker = Worker::new(db.app_pool.clone(), registry, objects.clone(), self.worker);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let state = AppState::new(db.app_pool.clone(), self.web, objects.clone());
        let served = state.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            web::serve(listener, served, async {
                let _ = stopped.await;
            })
            .await
            .expect("server");
        });
        TestApp {
            base: format!("http://{addr}"),
            addr,
            db,
            objects,
            state,
            client: new_client(),
            worker,
            open_jobs_allowed: AtomicI64::new(NONE_OPEN),
            stop: Some(stop),
            server: Some(server),
        }
    }
}

/// A course seeded through the use cases: approved syllabus, approved content.
#[derive(Debug, Clone, Copy)]
pub struct ApprovedCourse {
    pub course_id: Uuid,
    pub syllabus_id: Uuid,
}

/// The server and the worker under test, over a database of their own.
///
/// When it is dropped at the end of a test that has not already failed, it fails the test
/// if a job is still PENDING or RUNNING, unless the test said so beforehand with
/// [`TestApp::expect_pending`] (exactly that many) or [`TestApp::allow_pending_jobs`].
pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub db: TestDatabase,
    pub objects: store::Objects,
    /// The server's state: what it keeps in memory, for tests that look at it.
    pub state: AppState,
    /// A client with its own cookie jar that follows no redirects.
    pub client: Client,
    worker: Worker,
    open_jobs_allowed: AtomicI64,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            db: None,
            web: WebConfig::default(),
            provider: Arc::new(llm::Offline),
            registry: None,
            objects: None,
            worker: WorkerConfig::default(),
        }
    }

    /// The defaults of [`TestApp::builder`].
    pub async fn spawn() -> Self {
        Self::builder().start().await
    }

    pub async fn spawn_with(config: WebConfig) -> Self {
        Self::builder().web_config(config).start().await
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

    pub async fn tenant(&self, slug: &str) -> Tenant {
        let name = format!("Tenant {slug}");
        db::tenants::create(
            &self.db.pool,
            &TenantSlug::parse(slug).expect("slug"),
            &TenantName::parse(&name).expect("name"),
        )
        .await
        .expect("create tenant")
    }

    /// A user of `tenant` whose password is [`PASSWORD`].
    pub async fn user(&self, tenant: &Tenant, email: &str, role: Role) -> User {
        self.user_with(tenant, email, role, false).await
    }

    pub async fn user_with(
        &self,
        tenant: &Tenant,
        email: &str,
        role: Role,
        platform_owner: bool,
    ) -> User {
        let hash = app::admin::hash_password_blocking(PASSWORD).expect("hash");
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
    pub async fn signed_in(&self, tenant: &Tenant, email: &str, role: Role) -> (Client, User) {
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

    /// A client signed in as a new admin of `tenant`, `admin@<slug>.test`.
    pub async fn login_as_admin(&self, tenant: &Tenant) -> (Client, User) {
        let email = format!("admin@{}.test", tenant.slug);
        self.signed_in(tenant, &email, Role::Admin).await
    }

    /// Submits a brief for `hours` of learning through `app::authoring::submit_brief`: a
    /// course and its PENDING syllabus job.
    pub async fn submit_brief(&self, actor: &Actor, title: &str, hours: u32) -> Submitted {
        app::authoring::submit_brief(&self.db.app_pool, actor, &brief(title, hours))
            .await
            .expect("submit the brief")
    }

    /// A course whose syllabus and every lesson, quiz and project are approved, made the way
    /// people make one: the brief through the use case, the syllabus and the content by the
    /// worker with this app's provider, each approved through the use cases by `actor`.
    /// Runs every pending job on the way, the test's own included.
    pub async fn approved_course(&self, actor: &Actor, title: &str, hours: u32) -> ApprovedCourse {
        let submitted = self.submit_brief(actor, title, hours).await;
        self.run_jobs_to_success("the syllabus").await;
        let course_id = submitted.course.id;
        let syllabus_id: Uuid = sqlx::query_scalar(
            "SELECT id FROM artifacts WHERE course_id = $1 AND kind = 'SYLLABUS'
             ORDER BY version DESC LIMIT 1",
        )
        .bind(course_id)
        .fetch_one(&self.db.pool)
        .await
        .expect("the generated syllabus");
        let pool = &self.db.app_pool;
        app::authoring::review(pool, actor, Family::Syllabus, syllabus_id, true, None)
            .await
            .expect("approve the syllabus");
        let modules = app::authoring::request_content(pool, actor, syllabus_id)
            .await
            .expect("request the content");
        self.run_jobs_to_success("the content").await;
        for m in modules {
            app::authoring::approve_module(pool, actor, syllabus_id, &m.module_id)
                .await
                .expect("approve a module");
        }
        ApprovedCourse {
            course_id,
            syllabus_id,
        }
    }

    async fn run_jobs_to_success(&self, what: &str) {
        let ran = self.run_pending_jobs().await;
        assert!(
            !ran.is_empty() && ran.iter().all(|f| *f == Finished::Completed),
            "generating {what} ended {ran:?}"
        );
    }

    /// The worker over this app's database, executors and object store.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Runs queued jobs through the real worker, one after another, until none is PENDING
    /// (jobs they enqueue included); returns how each ended, in order.
    pub async fn run_pending_jobs(&self) -> Vec<Finished> {
        let mut ran = Vec::new();
        while let Some((_, finished)) = self.worker.run_one().await.expect("claim a job") {
            ran.push(finished);
            assert!(ran.len() < 10_000, "jobs keep enqueueing jobs");
        }
        ran
    }

    /// This test ends with exactly `n` jobs PENDING or RUNNING, on purpose.
    pub fn expect_pending(&self, n: usize) {
        let n = i64::try_from(n).expect("a job count");
        self.open_jobs_allowed.store(n, Ordering::SeqCst);
    }

    /// This test may end with any number of jobs PENDING or RUNNING (it is about the queue,
    /// not about finishing its work).
    pub fn allow_pending_jobs(&self) {
        self.open_jobs_allowed.store(ANY_OPEN, Ordering::SeqCst);
    }

    /// The jobs PENDING or RUNNING now, as (kind, status, id), oldest first.
    pub async fn open_jobs(&self) -> Vec<(String, String, Uuid)> {
        sqlx::query_as(OPEN_JOBS)
            .fetch_all(&self.db.pool)
            .await
            .expect("open jobs")
    }

    /// The audit actions written so far, oldest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(&self.db.pool)
            .await
            .expect("audit rows")
    }

    /// The rows of `table`, counted as the owner.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {}", crate::ident(table)))
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

const OPEN_JOBS: &str = "SELECT kind::text, status::text, id FROM jobs
                         WHERE status IN ('PENDING', 'RUNNING') ORDER BY created_at, id";

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let allowed = self.open_jobs_allowed.load(Ordering::SeqCst);
        if std::thread::panicking() || allowed == ANY_OPEN {
            return;
        }
        let options = self.db.server.clone().database(&self.db.name);
        // Drop cannot await, and may run on a runtime it must not block on: a thread of its
        // own with a runtime of its own reads the jobs before the database goes.
        let open = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let mut conn = options.connect().await.map_err(|e| e.to_string())?;
                let open: Vec<(String, String, Uuid)> = sqlx::query_as(OPEN_JOBS)
                    .fetch_all(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok::<_, String>(open)
            })
        })
        .join();
        let open = match open {
            Ok(Ok(open)) => open,
            Ok(Err(e)) => panic!("could not look for jobs left behind: {e}"),
            Err(_) => panic!("could not look for jobs left behind"),
        };
        if i64::try_from(open.len()).ok() != Some(allowed) {
            panic!(
                "the test ended with {} job(s) PENDING or RUNNING, {allowed} expected \
                 (run them with run_pending_jobs(), or say so with expect_pending(n)): {open:?}",
                open.len()
            );
        }
    }
}

/// The actor a signed-in `user` is to the use cases.
pub fn actor_of(user: &User) -> Actor {
    Actor {
        tenant_id: user.tenant_id,
        user_id: user.id,
        role: user.role,
    }
}

/// The brief the seeders use: `title`, `hours` of learning, for beginners.
fn brief(title: &str, hours: u32) -> domain::Valid<domain::Brief> {
    let brief: domain::Brief = serde_json::from_value(json!({
        "title": title,
        "audience": "Analysts who are new to the subject",
        "level": "beginner",
        "timeBudgetHours": hours,
        "teachingStyle": "hands-on, one worked example per idea",
        "constraints": ["practical"]
    }))
    .expect("a brief");
    brief.validate().expect("a valid brief")
}

fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}
