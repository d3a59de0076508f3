use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use test_support::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_coursewright");

/// The binary as production runs it: DATABASE_URL as the runtime role, the owner for
/// migrations.
fn cw_db(db: &TestDatabase) -> Command {
    let mut c = cw(&db.app_url);
    c.env("DATABASE_MIGRATION_URL", &db.url);
    c
}

/// The binary with a clean environment pointing at `url` (one role for everything).
fn cw(url: &str) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("COURSEWRIGHT_")
            || k.starts_with("LLM_")
            || k == "LOG_FORMAT"
            || k == "OBJECT_STORE_URL"
        {
            c.env_remove(k);
        }
    }
    c.env("DATABASE_URL", url)
        .env_remove("DATABASE_MIGRATION_URL")
        .env("RUST_LOG", "warn");
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// An empty database (no migrations), dropped afterwards.
struct EmptyDb {
    name: String,
    url: String,
    /// As the test runtime role.
    app_url: String,
}

impl EmptyDb {
    async fn new() -> Self {
        let server = test_support::server_options();
        let name = format!("cw_test_empty_{}", uuid::Uuid::new_v4().simple());
        db::connect::create_database_if_missing(server.clone(), &name)
            .await
            .expect("create");
        test_support::ensure_runtime_role().await;
        let at = |user: &str| {
            format!(
                "postgres://{user}@{}:{}/{name}",
                server.get_host(),
                server.get_port()
            )
        };
        let url = at(server.get_username());
        let app_url = at(test_support::TEST_RUNTIME_ROLE);
        Self { name, url, app_url }
    }
}

impl Drop for EmptyDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &test_support::server_url("postgres"),
                "-qXc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

#[tokio::test]
async fn check_fails_with_a_clear_line_when_the_database_is_missing() {
    let server = test_support::server_options();
    let url = format!(
        "postgres://{}@{}:{}/cw_no_such_db_{}",
        server.get_username(),
        server.get_host(),
        server.get_port(),
        std::process::id()
    );
    let dir = tempdir();
    let out = cw(&url)
        .arg("check")
        .env("COURSEWRIGHT_DATA_DIR", &dir)
        .output()
        .expect("run");
    let (stdout, _) = text(&out);
    assert!(!out.status.success());
    let line = stdout
        .lines()
        .find(|l| l.starts_with("FAIL database:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("does not exist"), "{line}");
    assert!(
        stdout.lines().any(|l| l.starts_with("OK   config:")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("OK   object store:")),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_passes_on_a_migrated_database_and_flags_bad_config_and_pending_migrations() {
    let db = TestDatabase::new().await;
    let dir = tempdir();
    let out = cw_db(&db)
        .arg("check")
        .env("COURSEWRIGHT_DATA_DIR", &dir)
        .output()
        .expect("run");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("OK   ")).count(),
        5,
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("OK   database role: cw_test_app owns nothing")),
        "{stdout}"
    );
    assert!(!stdout.contains("WARN"), "{stdout}");

    let bad = cw_db(&db)
        .arg("check")
        .env("LOG_FORMAT", "xml")
        .env("COURSEWRIGHT_BIND", "nowhere")
        .output()
        .expect("run");
    let (stdout, _) = text(&bad);
    assert!(!bad.status.success());
    assert!(
        stdout.contains("FAIL config: LOG_FORMAT")
            && stdout.contains("FAIL config: COURSEWRIGHT_BIND"),
        "{stdout}"
    );

    let empty = EmptyDb::new().await;
    let pending = cw(&empty.url)
        .arg("check")
        .env("COURSEWRIGHT_DATA_DIR", &dir)
        .output()
        .expect("run");
    let (stdout, _) = text(&pending);
    assert!(!pending.status.success());
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL migrations:") && l.contains("pending")),
        "{stdout}"
    );
}

#[tokio::test]
async fn audit_verify_passes_on_a_real_chain_and_names_a_tampered_row() {
    let db = TestDatabase::new().await;
    let tenant = db::tenants::create(
        &db.pool,
        &domain::TenantSlug::parse("acme").expect("slug"),
        &domain::TenantName::parse("Acme").expect("name"),
    )
    .await
    .expect("tenant");
    for i in 0..4 {
        db::audit::record_alone(
            &db.pool,
            db::audit::AuditEvent::new(domain::AuditAction::UserCreated, "user", i)
                .tenant(tenant.id),
        )
        .await;
    }
    let ok = cw_db(&db).args(["audit", "verify"]).output().expect("run");
    assert!(ok.status.success());
    assert!(text(&ok).0.contains("intact: 4 rows"), "{:?}", text(&ok));

    sqlx::raw_sql(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
         UPDATE audit_log SET entity_id = '999' WHERE id = 3;
         ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete;",
    )
    .execute(&db.pool)
    .await
    .expect("tamper");
    let broken = cw_db(&db).args(["audit", "verify"]).output().expect("run");
    assert!(!broken.status.success());
    assert!(
        text(&broken).0.contains("BROKEN at row 3"),
        "{:?}",
        text(&broken)
    );
}

#[tokio::test]
async fn check_warns_when_the_runtime_role_is_a_superuser_that_owns_the_schema() {
    let db = TestDatabase::new().await;
    let out = cw(&db.url)
        .arg("check")
        .env("COURSEWRIGHT_DATA_DIR", tempdir())
        .output()
        .expect("run");
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "a warning is not a failure: {stdout}{stderr}"
    );
    let warn = stdout
        .lines()
        .find(|l| l.starts_with("WARN database role:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        warn.contains("superuser") && warn.contains("DATABASE_MIGRATION_URL"),
        "{warn}"
    );
}

#[tokio::test]
async fn serve_refuses_to_start_with_pending_migrations_and_migrate_applies_them() {
    let empty = EmptyDb::new().await;
    let as_runtime = || {
        let mut c = cw(&empty.app_url);
        c.env("DATABASE_MIGRATION_URL", &empty.url);
        c
    };
    let out = as_runtime()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .expect("run");
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("pending") && stderr.contains("0001 foundation"),
        "{stderr}"
    );

    let migrated = as_runtime().arg("migrate").output().expect("run");
    assert!(migrated.status.success(), "{:?}", text(&migrated));
    assert!(text(&migrated).0.contains("applied 0001 foundation"));
    assert!(
        text(&migrated)
            .0
            .contains("granted the runtime role cw_test_app"),
        "{:?}",
        text(&migrated)
    );
    let again = as_runtime().arg("migrate").output().expect("run");
    assert!(text(&again).0.contains("nothing to apply"));
    let check = as_runtime()
        .arg("check")
        .env("COURSEWRIGHT_DATA_DIR", tempdir())
        .output()
        .expect("run");
    assert!(check.status.success(), "{:?}", text(&check));
    assert!(
        text(&check).0.contains("OK   migrations: current"),
        "the runtime role reads what migrate applied: {:?}",
        text(&check)
    );
    let one_role = cw(&empty.url).arg("migrate").output().expect("run");
    assert!(
        text(&one_role).0.contains("connects as the owner"),
        "{:?}",
        text(&one_role)
    );
}

#[tokio::test]
async fn serve_answers_ready_and_stops_cleanly_on_sigterm() {
    let db = TestDatabase::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = cw_db(&db)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "serve never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stops_cleanly_on_sigterm(&mut child, "serve").await;
}

#[tokio::test]
async fn user_create_reads_the_password_from_stdin_and_audits_it() {
    let db = TestDatabase::new().await;
    let t = cw_db(&db)
        .args([
            "tenant",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme Learning",
        ])
        .output()
        .expect("run");
    assert!(t.status.success(), "{:?}", text(&t));
    let dup = cw_db(&db)
        .args(["tenant", "create", "--slug", "acme", "--name", "Again"])
        .output()
        .expect("run");
    assert!(!dup.status.success() && text(&dup).1.contains("already exists"));

    let create = |email: &str, tenant: &str, password: &str| {
        let mut child = cw_db(&db)
            .args([
                "user", "create", "--email", email, "--role", "reviewer", "--tenant", tenant,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{password}\n").as_bytes())
            .expect("write");
        child.wait_with_output().expect("run")
    };
    let short = create("rey@acme.test", "acme", "short");
    assert!(!short.status.success());
    assert!(text(&short).1.contains("at least 12"), "{:?}", text(&short));
    let nowhere = create("rey@acme.test", "nope", "a long enough password");
    assert!(
        text(&nowhere).1.contains("no tenant has the slug"),
        "{:?}",
        text(&nowhere)
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(users, 0, "failed creations leave nothing behind");

    let ok = create("Rey@Acme.test", "acme", "a long enough password");
    assert!(ok.status.success(), "{:?}", text(&ok));
    let creds = db::users::credentials(
        &db.pool,
        &domain::Email::parse("rey@acme.test").expect("email"),
    )
    .await
    .expect("query")
    .expect("user");
    assert_eq!(creds.user.role, domain::Role::Reviewer);
    assert!(
        creds.password_hash.starts_with("$argon2id$"),
        "{}",
        creds.password_hash
    );
    assert!(!creds.password_hash.contains("a long enough password"));
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .expect("audit");
    assert_eq!(actions, vec!["TENANT_CREATED", "USER_CREATED"]);
}

#[tokio::test]
async fn demo_seeding_twice_keeps_one_tenant_and_gives_fresh_passwords() {
    let db = TestDatabase::new().await;
    let first = coursewright::commands::demo::seed(&db.app_pool)
        .await
        .expect("seed");
    let second = coursewright::commands::demo::seed(&db.app_pool)
        .await
        .expect("seed again");
    assert_eq!(first.len(), 3);
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!((tenants, users), (1, 3));
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.0, b.0);
        assert_ne!(a.1, b.1, "each run prints a new password");
    }

    let objects = store::Objects::in_memory();
    let samples = coursewright::commands::demo::prepare_samples(&db.app_pool, objects.clone())
        .await
        .expect("samples");
    let course = samples.published.expect("a published course");
    let review = samples.awaiting_review.expect("a syllabus awaiting review");
    // Its synthetic history, through ingest's checks and the aggregation: charts and signals
    // (the drop-off before lesson 5 of 8 and the hard quiz of lesson 2) on a fresh machine.
    let history = || async {
        sqlx::query_as::<_, (i64, i64, Vec<String>)>(
            "SELECT (SELECT count(*) FROM analytics_events),
                    (SELECT count(*) FROM analytics_course_daily),
                    ARRAY(SELECT DISTINCT type || ' ' || target_kind FROM analytics_signals ORDER BY 1)",
        )
        .fetch_one(&db.pool)
        .await
        .expect("history")
    };
    let (events, days, signals) = history().await;
    assert!(events > 5_000, "{events}");
    assert!(days >= 28, "{days} days with activity");
    for expected in ["HIGH_DROP_OFF LESSON", "LOW_QUIZ_PASS_RATE QUIZ"] {
        assert!(
            signals.iter().any(|s| s == expected),
            "{expected}: {signals:?} {:?}",
            samples.notes
        );
    }
    assert!(
        samples.notes.iter().any(|n| n.contains("300 learners")),
        "{:?}",
        samples.notes
    );
    let again = coursewright::commands::demo::prepare_samples(&db.app_pool, objects)
        .await
        .expect("again");
    assert_eq!(
        (again.published, again.awaiting_review),
        (Some(course), Some(review))
    );
    assert!(again.notes.is_empty(), "once per tenant: {:?}", again.notes);
    assert_eq!(history().await.0, events, "the history is seeded once");

    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, status, count(*) FROM artifacts GROUP BY kind, status ORDER BY kind, status",
    )
    .fetch_all(&db.pool)
    .await
    .expect("artifacts");
    let statuses = |k: &str| {
        rows.iter()
            .filter(|r| r.0 == k)
            .map(|r| r.1.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses("SYLLABUS"), vec!["APPROVED", "DRAFT"], "{rows:?}");
    for k in ["LESSON", "QUIZ", "PROJECT"] {
        assert_eq!(
            statuses(k),
            vec!["APPROVED"],
            "the sample's content is approved: {rows:?}"
        );
    }
    let published: Vec<(i32, String)> = sqlx::query_as(
        "SELECT p.version, p.status FROM published_outputs o JOIN course_packages p ON p.id = o.package_id
         WHERE o.scope_ref = $1",
    )
    .bind(course.to_string())
    .fetch_all(&db.pool)
    .await
    .expect("pointer");
    assert_eq!(published, vec![(1, "PUBLISHED".to_owned())]);
    let notes: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT review_note FROM artifacts WHERE kind <> 'SYLLABUS'")
            .fetch_all(&db.pool)
            .await
            .expect("notes");
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("coursewright demo"), "{notes:?}");
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status <> 'COMPLETED'")
        .fetch_one(&db.pool)
        .await
        .expect("jobs");
    assert_eq!(failed, 0);
}

#[test]
fn every_command_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["check", "--help"],
        vec!["demo", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["user", "create", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["export", "--help"],
    ] {
        let out = Command::new(BIN).args(&args).output().expect("run");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{args:?}"
        );
    }
    let help = Command::new(BIN)
        .args(["user", "create", "--help"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&help.stdout).contains("never taken from the command line"));
}

/// Sends SIGTERM and asserts the process exits successfully within 15 s.
async fn stops_cleanly_on_sigterm(child: &mut std::process::Child, what: &str) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "{what} did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{what}: {status:?}");
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cw-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).expect("tempdir");
    d
}

#[tokio::test]
async fn jobs_run_records_a_run_and_jobs_list_shows_it() {
    let db = TestDatabase::new().await;
    let dry = cw_db(&db)
        .args(["jobs", "run", "prune-job-runs", "--dry-run"])
        .output()
        .expect("run");
    assert!(dry.status.success(), "{:?}", text(&dry));
    assert!(
        text(&dry).0.contains("prune-job-runs SUCCEEDED"),
        "{:?}",
        text(&dry)
    );
    let real = cw_db(&db)
        .args(["jobs", "run", "reap-expired-leases"])
        .output()
        .expect("run");
    assert!(real.status.success(), "{:?}", text(&real));
    let missing = cw_db(&db)
        .args(["jobs", "run", "no-such-job"])
        .output()
        .expect("run");
    assert!(!missing.status.success() && text(&missing).1.contains("no scheduled job is named"));
    let rows: Vec<(String, bool, String)> =
        sqlx::query_as("SELECT job, dry_run, status FROM job_runs ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("runs");
    assert_eq!(
        rows,
        vec![
            ("prune-job-runs".into(), true, "SUCCEEDED".into()),
            ("reap-expired-leases".into(), false, "SUCCEEDED".into())
        ]
    );
    let list = cw_db(&db).args(["jobs", "list"]).output().expect("run");
    let (stdout, _) = text(&list);
    for name in [
        "reap-expired-leases",
        "prune-job-runs",
        "prune-sessions",
        "queue-metrics",
    ] {
        assert!(stdout.contains(name), "{stdout}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("reap-expired-leases") && l.contains("SUCCEEDED")),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_worker_serves_health_and_metrics_runs_its_schedule_and_stops_on_sigterm() {
    let db = TestDatabase::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempdir();
    let mut child = cw_db(&db)
        .args(["worker", "--bind", &format!("127.0.0.1:{port}")])
        .env("COURSEWRIGHT_DATA_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
            let text = r.text().await.unwrap_or_default();
            if text.contains("jobs_queue_depth") && text.contains("job_runs_total") {
                break text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the worker never published its metrics"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        metrics.contains(r#"jobs_queue_depth{status="PENDING"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("job_last_success_timestamp_seconds"),
        "{metrics}"
    );
    assert_eq!(
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .expect("get")
            .status(),
        200
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM job_runs")
        .fetch_one(&db.pool)
        .await
        .expect("runs");
    assert!(runs >= 4, "every built-in job ran its first slot ({runs})");
    stops_cleanly_on_sigterm(&mut child, "worker").await;
}

#[tokio::test]
async fn the_cli_generates_shows_and_approves_a_syllabus_then_its_content() {
    let db = TestDatabase::new().await;
    coursewright::commands::demo::seed(&db.pool)
        .await
        .expect("seed");
    let dir = tempdir();
    let run = |args: &[&str]| {
        cw_db(&db)
            .args(args)
            .env("COURSEWRIGHT_DATA_DIR", &dir)
            .output()
            .expect("run")
    };
    let brief = [
        "syllabus",
        "generate",
        "--as",
        "reviewer@demo.test",
        "--title",
        "Practical SQL for analysts",
        "--audience",
        "Business analysts",
        "--level",
        "Beginner",
        "--hours",
        "4",
        "--style",
        "hands-on",
        "--constraint",
        "practical",
    ];
    let learner = run(&[&brief[..2], &["--as", "learner@demo.test"], &brief[4..]].concat());
    assert!(
        !learner.status.success() && text(&learner).1.contains("only an ADMIN or REVIEWER"),
        "{:?}",
        text(&learner)
    );
    let out = run(&[&brief[..], &["--wait"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("1/1"), "a progress bar: {stderr}");
    let id = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("syllabus ")
                .and_then(|r| r.split_whitespace().next())
        })
        .expect("syllabus id")
        .to_owned();

    let shown = run(&["syllabus", "show", &id]);
    let (s, _) = text(&shown);
    assert!(
        s.contains("version 1, DRAFT (offline draft)") && s.contains("m1-l1"),
        "{s}"
    );
    let early = run(&["content", "generate", &id, "--as", "admin@demo.test"]);
    assert!(!early.status.success() && text(&early).1.contains("APPROVED syllabus only"));
    let ok = run(&[
        "syllabus",
        "approve",
        &id,
        "--as",
        "reviewer@demo.test",
        "--note",
        "fine",
    ]);
    assert!(ok.status.success(), "{:?}", text(&ok));
    let content = run(&[
        "content",
        "generate",
        &id,
        "--as",
        "admin@demo.test",
        "--wait",
    ]);
    assert!(content.status.success(), "{:?}", text(&content));
    let drafts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM artifacts WHERE syllabus_id = $1::uuid AND status = 'DRAFT'",
    )
    .bind(&id)
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert!(drafts >= 3, "lessons, quizzes and a project: {drafts}");
}

/// `coursewright demo` as the README starts it: a brief submitted to it becomes a syllabus
/// draft with no other process running, because the demo embeds a worker.
#[tokio::test]
async fn the_demo_turns_a_submitted_brief_into_a_syllabus_with_its_own_worker() {
    let db = TestDatabase::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let data = tempdir();
    let log = data.join("demo.log");
    let mut child = cw_db(&db)
        .args(["demo", "--bind", &format!("127.0.0.1:{port}")])
        .env("COURSEWRIGHT_DATA_DIR", &data)
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    let printed = loop {
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        if out.contains("Press Ctrl-C") {
            break out;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the demo exited: {out}"
        );
        assert!(Instant::now() < deadline, "the demo never started: {out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        printed.contains("Generation runs in this process"),
        "{printed}"
    );
    let password = printed
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("ADMIN") && w.next() == Some("admin@demo.test"))
                .then(|| w.next().map(str::to_owned))
                .flatten()
        })
        .expect("the admin's password in the output");

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let login = client
        .post(format!("{base}/api/auth/login"))
        .header("Origin", &base)
        .json(&serde_json::json!({ "email": "admin@demo.test", "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let brief = serde_json::json!({
        "title": "Reading tide tables",
        "audience": "Sea kayakers planning their first coastal trips",
        "level": "beginner",
        "timeBudgetHours": 3,
        "teachingStyle": "Worked examples from real tide tables",
        "constraints": []
    });
    let submitted: serde_json::Value = client
        .post(format!("{base}/api/admin/briefs"))
        .header("Origin", &base)
        .json(&brief)
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    let course = submitted["courseId"].as_str().expect("courseId").to_owned();
    let job = submitted["job"]["id"].as_str().expect("job id").to_owned();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1::uuid")
                .bind(&job)
                .fetch_optional(&db.pool)
                .await
                .expect("job");
        let drafts: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM artifacts WHERE course_id = $1::uuid AND kind = 'SYLLABUS' AND status = 'DRAFT'",
        )
        .bind(&course)
        .fetch_one(&db.pool)
        .await
        .expect("drafts");
        if status.as_deref() == Some("COMPLETED") && drafts == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo's worker never ran the brief's job (status {status:?}, {drafts} drafts)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stops_cleanly_on_sigterm(&mut child, "demo").await;
}

#[tokio::test]
async fn export_writes_the_active_or_a_named_version_and_audits_it_without_an_actor() {
    let app = test_support::TestApp::spawn().await;
    let tenant = app.tenant("acme").await;
    let (_, admin) = app.login_as_admin(&tenant).await;
    let actor = test_support::actor_of(&admin);
    let course = app
        .approved_course(&actor, "Practical SQL", 2)
        .await
        .course_id;
    app::publishing::build_package(&app.db.pool, &actor, course)
        .await
        .expect("build");
    let dir = tempdir();
    let objects = format!("file://{}", dir.join("objects").display());
    let out = dir.join("course.pdf");
    let export = |extra: &[&str]| {
        let mut c = cw_db(&app.db);
        c.env("OBJECT_STORE_URL", &objects)
            .env("COURSEWRIGHT_DATA_DIR", &dir)
            .args(["export", "--course", &course.to_string()])
            .args(extra);
        c.output().expect("run")
    };

    // Built but never published: there is no active version, so it must be named.
    let refused = export(&["--format", "pdf", "--out", out.to_str().expect("path")]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).1.contains("not published"),
        "{:?}",
        text(&refused)
    );
    assert!(!out.exists(), "a refused export writes no file");

    let ok = export(&[
        "--version",
        "1",
        "--format",
        "pdf",
        "--out",
        out.to_str().expect("path"),
    ]);
    let (stdout, stderr) = text(&ok);
    assert!(ok.status.success(), "{stdout} {stderr}");
    assert!(
        stderr.contains("rendering the PDF [") && stderr.contains("100%"),
        "{stderr}"
    );
    assert!(stdout.contains("rendered"), "{stdout}");
    let pdf = std::fs::read(&out).expect("the file");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(stdout.contains(&store::content_hash(&pdf)), "{stdout}");

    // Again: the same bytes, from the store this time.
    let again = export(&[
        "--version",
        "1",
        "--format",
        "pdf",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert!(
        text(&again).0.contains("from the export cache"),
        "{:?}",
        text(&again)
    );
    assert_eq!(std::fs::read(&out).expect("the file"), pdf);

    let zip = dir.join("course.zip");
    let ok = export(&[
        "--version",
        "1",
        "--format",
        "scorm12",
        "--out",
        zip.to_str().expect("path"),
    ]);
    assert!(ok.status.success(), "{:?}", text(&ok));
    export::checks::check_scorm12(&std::fs::read(&zip).expect("zip")).expect("checks");

    let rows: Vec<(String, Option<uuid::Uuid>, serde_json::Value)> = sqlx::query_as(
        "SELECT action, actor_id, metadata FROM audit_log
         WHERE action IN ('PDF_EXPORTED', 'LMS_EXPORTED') ORDER BY id",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("audit");
    let actions: Vec<_> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, ["PDF_EXPORTED", "PDF_EXPORTED", "LMS_EXPORTED"]);
    assert!(rows.iter().all(|r| r.1.is_none() && r.2["via"] == "cli"));
    assert_eq!(
        app.count("export_requests").await,
        0,
        "operators are not rate limited"
    );

    let bad = export(&["--format", "docx", "--out", "x"]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses an unknown format");
}
