//! Integration tests of the db crate against a real PostgreSQL, a fresh database each.

use db::audit::{self, AuditEvent, Verification};
use domain::{AuditAction, TenantName, TenantSlug};
use serde_json::json;
use test_support::TestDatabase;

async fn tenant(db: &TestDatabase) -> uuid::Uuid {
    db::tenants::create(
        &db.pool,
        &TenantSlug::parse("acme").expect("slug"),
        &TenantName::parse("Acme").expect("name"),
    )
    .await
    .expect("tenant")
    .id
}

async fn write(db: &TestDatabase, tenant: uuid::Uuid, n: usize) {
    for i in 0..n {
        assert!(
            audit::record_alone(
                &db.pool,
                AuditEvent::new(AuditAction::UserCreated, "user", i)
                    .tenant(tenant)
                    .metadata(json!({"i": i, "note": "ünïcode ✓"}))
            )
            .await
        );
    }
}

#[tokio::test]
async fn update_delete_and_truncate_of_the_audit_log_fail_in_the_database() {
    let db = TestDatabase::new().await;
    let t = tenant(&db).await;
    write(&db, t, 2).await;
    db::audit::seal(&db.pool).await.expect("seal");
    for sql in [
        "UPDATE audit_log SET action = 'LOGOUT' WHERE id = 1",
        "UPDATE audit_log SET metadata = '{}'",
        "DELETE FROM audit_log WHERE id = 2",
        "TRUNCATE audit_log",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_chain",
    ] {
        let err = sqlx::query(sql).execute(&db.pool).await.expect_err(sql);
        // TRUNCATE of the log is stopped by the chain's foreign key before the trigger.
        let e = err.to_string();
        assert!(
            e.contains("insert-only") || e.contains("foreign key"),
            "{sql}: {err}"
        );
    }
    assert_eq!(
        audit::verify(&db.pool).await.expect("verify"),
        Verification::Intact { rows: 2 }
    );
}

#[tokio::test]
async fn verify_names_the_first_row_altered_behind_the_triggers_back() {
    let db = TestDatabase::new().await;
    let t = tenant(&db).await;
    write(&db, t, 10).await;
    assert_eq!(
        audit::verify(&db.pool).await.expect("verify"),
        Verification::Intact { rows: 10 }
    );

    // An attacker with superuser rights disables the trigger and edits row 6.
    sqlx::raw_sql(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
         UPDATE audit_log SET metadata = '{\"i\": 600}' WHERE id = 6;
         ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete;",
    )
    .execute(&db.pool)
    .await
    .expect("tamper");
    match audit::verify(&db.pool).await.expect("verify") {
        Verification::Broken {
            id,
            rows_checked,
            reason,
        } => {
            assert_eq!((id, rows_checked), (6, 5));
            assert!(reason.contains("altered"), "{reason}");
        }
        other => panic!("tampering went unnoticed: {other:?}"),
    }
}

#[tokio::test]
async fn verify_notices_a_removed_chain_entry_and_a_removed_row() {
    let db = TestDatabase::new().await;
    let t = tenant(&db).await;
    write(&db, t, 5).await;
    assert_eq!(
        audit::verify(&db.pool).await.expect("verify"),
        Verification::Intact { rows: 5 }
    );
    // The row itself cannot go while the chain references it; the attacker removes both.
    sqlx::raw_sql(
        "ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_no_update_delete;
         DELETE FROM audit_chain WHERE seq = 5;
         DELETE FROM audit_chain WHERE seq = 3;
         ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_no_update_delete;",
    )
    .execute(&db.pool)
    .await
    .expect("tamper");
    assert!(matches!(
        audit::verify(&db.pool).await.expect("verify"),
        Verification::Broken { id: 4, .. }
    ));
}

#[tokio::test]
async fn concurrent_writers_produce_one_valid_chain() {
    let db = TestDatabase::new().await;
    let t = tenant(&db).await;
    let writers = 16;
    let each = 25;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..each {
                // Each write rides in a transaction that also changes something, as in real use.
                let mut tx = pool.begin().await.expect("begin");
                sqlx::query("SELECT 1")
                    .execute(&mut *tx)
                    .await
                    .expect("work");
                assert!(
                    audit::record(
                        &mut tx,
                        AuditEvent::new(AuditAction::LoginSucceeded, "user", format!("{w}-{i}"))
                            .tenant(t)
                    )
                    .await
                );
                if i % 5 == 4 {
                    // A rolled-back transaction must leave no gap and no fork.
                    tx.rollback().await.expect("rollback");
                } else {
                    tx.commit().await.expect("commit");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let committed = (writers * each * 4 / 5) as u64;
    assert_eq!(
        audit::verify(&db.pool).await.expect("verify"),
        Verification::Intact { rows: committed }
    );
    let forks: i64 =
        sqlx::query_scalar("SELECT count(*) - count(DISTINCT prev_hash) FROM audit_chain")
            .fetch_one(&db.pool)
            .await
            .expect("forks");
    assert_eq!(forks, 0);
}

#[tokio::test]
async fn login_throttle_locks_after_the_threshold_and_doubles() {
    use db::throttle::{Admission, Counted, admit};
    let db = TestDatabase::new().await;
    let key = "account:ada@acme.test";
    let keys = [
        Counted { key, threshold: 3 },
        Counted {
            key: "ip:10.0.0.1",
            threshold: 20,
        },
    ];
    for _ in 0..2 {
        assert_eq!(
            admit(&db.pool, &keys).await.expect("admit"),
            Admission::Admitted { lock: None }
        );
    }
    let Admission::Admitted { lock: Some(first) } = admit(&db.pool, &keys).await.expect("admit")
    else {
        panic!("the third attempt is admitted and sets the lock");
    };
    assert!(
        first.as_secs_f64() > 25.0 && first.as_secs_f64() <= 30.0,
        "{first:?}"
    );
    let Admission::Locked(wait) = admit(&db.pool, &keys).await.expect("admit") else {
        panic!("a locked key admits nothing");
    };
    assert!(wait.as_secs_f64() <= 30.0, "{wait:?}");
    let ip_failures: i32 =
        sqlx::query_scalar("SELECT failures FROM login_throttle WHERE key = 'ip:10.0.0.1'")
            .fetch_one(&db.pool)
            .await
            .expect("ip row");
    assert_eq!(ip_failures, 3, "a refused attempt counts against no key");

    // Once the lock has passed, the next failure locks for twice as long.
    sqlx::query("UPDATE login_throttle SET locked_until = now() - interval '1 second'")
        .execute(&db.pool)
        .await
        .expect("expire lock");
    let Admission::Admitted { lock: Some(second) } = admit(&db.pool, &keys).await.expect("admit")
    else {
        panic!("the attempt after the lock is admitted and locks again");
    };
    assert!(
        second.as_secs_f64() > 55.0 && second.as_secs_f64() <= 60.0,
        "{second:?}"
    );
    db::throttle::clear(&db.pool, key).await.expect("clear");
    assert_eq!(
        admit(&db.pool, &keys).await.expect("admit"),
        Admission::Admitted { lock: None }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_attempts_are_admitted_no_more_often_than_the_threshold() {
    use db::throttle::{Admission, Counted, admit};
    let db = TestDatabase::new().await;
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let pool = db.pool.clone();
            tokio::spawn(async move {
                let keys = [Counted {
                    key: "account:ada@acme.test",
                    threshold: 5,
                }];
                admit(&pool, &keys).await.expect("admit")
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        if matches!(t.await.expect("task"), Admission::Admitted { .. }) {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5);
}

#[tokio::test]
async fn emails_are_unique_across_tenants_and_stored_lower_case() {
    let db = TestDatabase::new().await;
    let t = tenant(&db).await;
    let err = sqlx::query("INSERT INTO users (id, tenant_id, email, password_hash, role) VALUES ($1, $2, 'Ada@X.org', 'h', 'ADMIN')")
        .bind(uuid::Uuid::new_v4())
        .bind(t)
        .execute(&db.pool)
        .await
        .expect_err("upper case refused");
    assert!(db::is_constraint(&err, "users_email_lower"));
    let err = sqlx::query("INSERT INTO users (id, tenant_id, email, password_hash, role) VALUES ($1, $2, 'ada@x.org', 'h', 'OWNER')")
        .bind(uuid::Uuid::new_v4())
        .bind(t)
        .execute(&db.pool)
        .await
        .expect_err("unknown role refused");
    assert!(db::is_constraint(&err, "users_role_check"));
}

mod analytics;
mod course_migration;
mod functions;
mod migrations;
mod roles;
