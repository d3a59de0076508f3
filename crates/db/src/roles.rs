//! The runtime role: what `serve` and `worker` may do to the schema.
//!
//! Migrations run as the owner. The server and the worker connect as a role that owns
//! nothing, so it can neither change the schema nor switch off the triggers that keep the
//! insert-only tables insert-only (only an owner or a superuser may `ALTER TABLE … DISABLE
//! TRIGGER`). [`POLICY`] says, for every table of the schema, what that role may do to it;
//! [`grant_runtime`] applies it after every migration, so a table added by a later
//! migration is granted as soon as it exists. A table the policy does not name is an error
//! (and a failing test), so a new table forces a decision instead of a silent default.

use std::fmt::Write as _;

use sqlx::{PgConnection, PgPool};

// CREATE ROLE, ALTER ROLE, GRANT and REVOKE take no bind parameters: the statements below
// are built from the policy's own names and the configured role name, each quoted by
// `ident` (which refuses what PostgreSQL would reject or truncate).
use crate::ident::quote as ident;

/// What the runtime role may UPDATE in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    Never,
    /// Only these columns (a column-level grant).
    Columns(&'static [&'static str]),
    Any,
}

/// What the runtime role may do to one table. SELECT is always granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TablePolicy {
    pub table: &'static str,
    pub insert: bool,
    pub update: Update,
    pub delete: bool,
}

const fn read(table: &'static str) -> TablePolicy {
    TablePolicy {
        table,
        insert: false,
        update: Update::Never,
        delete: false,
    }
}

/// Insert-only: SELECT and INSERT.
const fn append(table: &'static str) -> TablePolicy {
    TablePolicy {
        insert: true,
        ..read(table)
    }
}

/// Insert-only but for some columns, which a trigger usually guards as well.
const fn append_updating(table: &'static str, columns: &'static [&'static str]) -> TablePolicy {
    TablePolicy {
        update: Update::Columns(columns),
        ..append(table)
    }
}

/// The application's own working state: every row may change or go.
const fn read_write(table: &'static str) -> TablePolicy {
    TablePolicy {
        table,
        insert: true,
        update: Update::Any,
        delete: true,
    }
}

/// Every table of the schema and what the runtime role may do to it. A new table gets a
/// line here in the change that creates it.
pub const POLICY: &[TablePolicy] = &[
    // `serve`, `worker` and `check` compare the applied migrations with their own.
    read("_sqlx_migrations"),
    append("tenants"),
    // Passwords, roles, deactivation and the last sign-in; email, tenant and platform
    // ownership never change.
    append_updating(
        "users",
        &[
            "password_hash",
            "role",
            "deactivated_at",
            "awaiting_password",
            "last_sign_in_at",
        ],
    ),
    // One-time set-password links: marked used once, and deleted when a newer one replaces them.
    TablePolicy {
        update: Update::Columns(&["used_at"]),
        delete: true,
        ..append("password_links")
    },
    // Signing out and pruning delete; a session is never changed.
    TablePolicy {
        delete: true,
        ..append("sessions")
    },
    // Back-off counters: upserted, reset and pruned.
    read_write("login_throttle"),
    append("audit_log"),
    // The sealer appends to the chain and moves its watermark.
    append("audit_chain"),
    TablePolicy {
        update: Update::Columns(&["sealed_below"]),
        ..read("audit_seal_state")
    },
    // The lifecycle columns, exactly those jobs_guard_update lets change.
    append_updating(
        "jobs",
        &[
            "status",
            "output_ref",
            "error",
            "triggered_by",
            "triggered_at",
            "claimed_by",
            "claim_token",
            "started_at",
            "heartbeat_at",
            "lease_expires_at",
            "finished_at",
        ],
    ),
    append("job_outputs"),
    // One row per scheduled run, finished in place and pruned after the retention period.
    read_write("job_runs"),
    append_updating("alerts", &["delivered_to", "delivery_error"]),
    append("briefs"),
    // Review: the columns artifacts_guard_update lets a draft change once.
    append_updating(
        "artifacts",
        &["status", "reviewed_by", "reviewed_at", "review_note"],
    ),
    append("llm_cache"),
    // Archiving a version changes its status, nothing else.
    append_updating("course_packages", &["status"]),
    // Moving the pointer; scope, tenant and id never change.
    append_updating(
        "published_outputs",
        &["output_ref", "package_id", "promoted_by", "promoted_at"],
    ),
    // Written by the published_outputs trigger, which runs with the caller's rights.
    append("publish_history"),
    append("enrollments"),
    append_updating("lesson_progress", &["completed", "version", "updated_at"]),
    append("quiz_attempts"),
    // One row per brief, never changed.
    append("courses"),
    // Workers renew their own row, remove it when they stop, and prune stale ones.
    read_write("worker_heartbeats"),
    // Rendered exports: written once per (package hash, format, renderer), never changed.
    append("package_exports"),
    // The export rate limit's window: appended per export, pruned after a day.
    TablePolicy {
        delete: true,
        ..append("export_requests")
    },
    // Raw learner events: insert-only (retention drops whole partitions, as the owner).
    append("analytics_events"),
    // Stored event ids for idempotent retries, pruned after a week.
    TablePolicy {
        delete: true,
        ..append("analytics_event_ids")
    },
    // The ingest rate limit's per-minute counters: upserted and pruned.
    read_write("analytics_ingest_windows"),
    // Daily aggregates: a day's rows are replaced whole by the aggregation job.
    read_write("analytics_course_daily"),
    read_write("analytics_lesson_daily"),
    // Per learner and course, merged by each aggregation run (never deleted).
    TablePolicy {
        update: Update::Any,
        ..append("analytics_learner_courses")
    },
    // The aggregation's watermark, moved by each run.
    read_write("analytics_watermarks"),
    // Rule-based signals: insert-only (retention deletes year-old ones, as the owner).
    append("analytics_signals"),
    // Products: created, and their price, title and active flag changed by admins.
    append_updating(
        "products",
        &[
            "title",
            "price_cents",
            "currency",
            "active",
            "updated_by",
            "updated_at",
        ],
    ),
    // Purchases: insert-only but for PAID → REFUNDED (a trigger guards it too).
    append_updating("purchases", &["status", "refunded_at"]),
    // Each refund, insert-only.
    append("refunds"),
];

/// How the runtime role uses a function of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionUse {
    /// Called by the application, directly or from another function it calls: EXECUTE.
    Execute,
    /// Only ever run as a trigger, which needs no EXECUTE privilege: none.
    Trigger,
}

/// Every function of the schema. EXECUTE is revoked from PUBLIC (PostgreSQL grants it by
/// default) and granted to the runtime role only where it is called.
pub const FUNCTIONS: &[(&str, FunctionUse)] = &[
    ("cw_audit", FunctionUse::Execute),
    ("cw_job_meta", FunctionUse::Execute),
    ("cw_claim_job", FunctionUse::Execute),
    ("cw_complete_job", FunctionUse::Execute),
    ("cw_fail_job", FunctionUse::Execute),
    // Owner's rights: the scheduled analytics jobs keep monthly partitions ahead and drop
    // expired ones, which the runtime role could not do itself.
    ("cw_analytics_partitions", FunctionUse::Execute),
    ("cw_analytics_drop_partitions", FunctionUse::Execute),
    ("cw_analytics_expire_signals", FunctionUse::Execute),
    ("reject_mutation", FunctionUse::Trigger),
    ("jobs_guard_update", FunctionUse::Trigger),
    ("artifacts_guard_update", FunctionUse::Trigger),
    ("course_packages_guard_update", FunctionUse::Trigger),
    ("published_outputs_guard", FunctionUse::Trigger),
    ("published_outputs_history", FunctionUse::Trigger),
    ("cw_notify_cache", FunctionUse::Trigger),
    ("analytics_signals_guard", FunctionUse::Trigger),
    ("purchases_guard_update", FunctionUse::Trigger),
    ("artifacts_allocate_version", FunctionUse::Trigger),
];

/// Why the runtime role could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error(
        "the schema has tables or functions the runtime role's grant policy does not classify: {0}; add each to db::roles::POLICY or db::roles::FUNCTIONS"
    )]
    Unclassified(String),
    #[error(
        "the runtime role's grant policy names tables or functions the schema does not have: {0}; remove them from db::roles"
    )]
    Stale(String),
    #[error(
        "the runtime role {0:?} (the user of DATABASE_URL) does not exist; create it (CREATE ROLE … LOGIN PASSWORD …) and run `coursewright migrate` again"
    )]
    MissingRole(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What the schema holds, to compare with the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaObjects {
    pub tables: Vec<String>,
    pub functions: Vec<String>,
}

/// The tables (partitions excepted: access goes through their parent) and functions
/// (extensions' excepted) of the `public` schema.
pub async fn schema_objects(conn: &mut PgConnection) -> Result<SchemaObjects, sqlx::Error> {
    let tables = sqlx::query_scalar!(
        r#"SELECT c.relname::text AS "name!"
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND NOT c.relispartition
           ORDER BY 1"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let functions = sqlx::query_scalar!(
        r#"SELECT DISTINCT p.proname::text AS "name!"
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d
                             WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                               AND d.deptype = 'e')
           ORDER BY 1"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(SchemaObjects { tables, functions })
}

/// Tables and functions the schema has and the policy does not classify, then those the
/// policy names and the schema does not have.
pub fn compare(schema: &SchemaObjects) -> (Vec<String>, Vec<String>) {
    let mut unclassified: Vec<String> = schema
        .tables
        .iter()
        .filter(|t| !POLICY.iter().any(|p| p.table == t.as_str()))
        .map(|t| format!("table {t}"))
        .collect();
    unclassified.extend(
        schema
            .functions
            .iter()
            .filter(|f| !FUNCTIONS.iter().any(|(name, _)| name == f))
            .map(|f| format!("function {f}")),
    );
    let mut stale: Vec<String> = POLICY
        .iter()
        .filter(|p| !schema.tables.iter().any(|t| t == p.table))
        .map(|p| format!("table {}", p.table))
        .collect();
    stale.extend(
        FUNCTIONS
            .iter()
            .filter(|(name, _)| !schema.functions.iter().any(|f| f == name))
            .map(|(name, _)| format!("function {name}")),
    );
    (unclassified, stale)
}

/// Creates `name` as a LOGIN role without superuser, CREATEDB, CREATEROLE, REPLICATION or
/// BYPASSRLS, or takes those attributes away from an existing one. No password: this is for
/// a local server that trusts loopback connections.
pub async fn ensure_login_role(pool: &PgPool, name: &str) -> Result<(), sqlx::Error> {
    let attrs = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS";
    let existing = sqlx::query!(
        r#"SELECT rolcanlogin AS "login!", rolsuper AS "superuser!", rolcreatedb AS "createdb!",
                  rolcreaterole AS "createrole!", rolreplication AS "replication!",
                  rolbypassrls AS "bypassrls!"
           FROM pg_roles WHERE rolname = $1"#,
        name
    )
    .fetch_optional(pool)
    .await?;
    match existing {
        None => {
            // No bind parameter can name a role: quoted instead (see `ident`).
            let sql = format!("CREATE ROLE {} {attrs}", ident(name)?);
            match sqlx::raw_sql(&sql).execute(pool).await {
                Ok(_) => tracing::info!(role = name, "created the runtime database role"),
                // Another process created it between our look and our create.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42710") => {}
                Err(e) => return Err(e),
            }
        }
        Some(r)
            if !r.login
                || r.superuser
                || r.createdb
                || r.createrole
                || r.replication
                || r.bypassrls =>
        {
            // As above: ALTER ROLE names its role in the statement.
            sqlx::raw_sql(&format!("ALTER ROLE {} {attrs}", ident(name)?))
                .execute(pool)
                .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Grants `role` exactly what [`POLICY`] and [`FUNCTIONS`] say, after revoking whatever it
/// had, in one transaction (a running server never sees a gap). Fails, granting nothing,
/// when the schema and the policy disagree.
pub async fn grant_runtime(pool: &PgPool, role: &str) -> Result<(), RoleError> {
    let mut tx = pool.begin().await?;
    // Concurrent GRANTs on one object fail ("tuple concurrently updated"): one at a time.
    // 'cw-role' in ASCII.
    sqlx::query!("SELECT pg_advisory_xact_lock(x'63772d726f6c65'::bigint)")
        .execute(&mut *tx)
        .await?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS "exists!""#,
        role
    )
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        return Err(RoleError::MissingRole(role.to_owned()));
    }
    let schema = schema_objects(&mut tx).await?;
    let (unclassified, stale) = compare(&schema);
    if !unclassified.is_empty() {
        return Err(RoleError::Unclassified(unclassified.join(", ")));
    }
    if !stale.is_empty() {
        return Err(RoleError::Stale(stale.join(", ")));
    }
    let sequences = sqlx::query!(
        r#"SELECT t.relname::text AS "table!", s.relname::text AS "sequence!"
           FROM pg_class s
           JOIN pg_namespace n ON n.oid = s.relnamespace
           JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
           JOIN pg_class t ON t.oid = d.refobjid
           WHERE s.relkind = 'S' AND n.nspname = 'public'
           ORDER BY 1, 2"#
    )
    .fetch_all(&mut *tx)
    .await?;

    let r = ident(role).map_err(sqlx::Error::from)?;
    let mut sql = String::new();
    // PostgreSQL before 15 lets every role create tables in `public`.
    sql.push_str("REVOKE CREATE ON SCHEMA public FROM PUBLIC;\n");
    let _ = writeln!(sql, "REVOKE ALL ON SCHEMA public FROM {r};");
    let _ = writeln!(sql, "GRANT USAGE ON SCHEMA public TO {r};");
    // Table-level revokes take the column-level grants with them.
    let _ = writeln!(sql, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r};");
    let _ = writeln!(
        sql,
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r};"
    );
    let _ = writeln!(
        sql,
        "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, {r};"
    );
    for p in POLICY {
        let table = ident(p.table).map_err(sqlx::Error::from)?;
        let mut privileges = vec!["SELECT"];
        if p.insert {
            privileges.push("INSERT");
        }
        if p.update == Update::Any {
            privileges.push("UPDATE");
        }
        if p.delete {
            privileges.push("DELETE");
        }
        let _ = writeln!(
            sql,
            "GRANT {} ON TABLE {table} TO {r};",
            privileges.join(", ")
        );
        if let Update::Columns(columns) = p.update {
            let columns = columns
                .iter()
                .map(|c| ident(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(sqlx::Error::from)?;
            let _ = writeln!(
                sql,
                "GRANT UPDATE ({}) ON TABLE {table} TO {r};",
                columns.join(", ")
            );
        }
        for s in sequences.iter().filter(|s| s.table == p.table && p.insert) {
            let _ = writeln!(
                sql,
                "GRANT USAGE ON SEQUENCE {} TO {r};",
                ident(&s.sequence).map_err(sqlx::Error::from)?
            );
        }
    }
    // Every overload of a function the application calls: the catalog gives each one's
    // exact signature, since a bare name is ambiguous once a function has two.
    let called: Vec<String> = FUNCTIONS
        .iter()
        .filter(|(_, use_)| *use_ == FunctionUse::Execute)
        .map(|(name, _)| (*name).to_owned())
        .collect();
    let signatures = sqlx::query_scalar!(
        r#"SELECT p.oid::regprocedure::text AS "signature!"
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND p.proname = ANY($1) ORDER BY 1"#,
        &called
    )
    .fetch_all(&mut *tx)
    .await?;
    // regprocedure's text is PostgreSQL's own quoting of the name and argument types.
    for signature in &signatures {
        let _ = writeln!(sql, "GRANT EXECUTE ON FUNCTION {signature} TO {r};");
    }
    // GRANT and REVOKE take no bind parameters: every name above is quoted, and the batch
    // runs in this transaction.
    sqlx::raw_sql(&sql).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// What preparing the runtime role did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// The role was granted the policy.
    Granted,
    /// The runtime connects as the owner itself: there is nothing to grant (and nothing
    /// protects the triggers; `coursewright check` warns).
    SameAsOwner,
}

/// After migrating, as the owner: creates `role` when `create` (the local default), then
/// grants it the policy, unless it is the owner itself.
pub async fn prepare_runtime(
    owner: &PgPool,
    role: &str,
    create: bool,
) -> Result<Prepared, RoleError> {
    let me = sqlx::query_scalar!(r#"SELECT current_user::text AS "me!""#)
        .fetch_one(owner)
        .await?;
    if me == role {
        return Ok(Prepared::SameAsOwner);
    }
    if create {
        ensure_login_role(owner, role).await?;
    }
    grant_runtime(owner, role).await?;
    Ok(Prepared::Granted)
}

/// What the connected role could do beyond the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleReport {
    pub role: String,
    pub superuser: bool,
    /// It owns (or is a member of a role that owns) a table of the schema, so it could alter
    /// the table or disable its triggers.
    pub owner: bool,
}

/// Who `pool` connects as, and whether that role is a superuser or an owner of the schema.
pub async fn report(pool: &PgPool) -> Result<RoleReport, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT current_user::text AS "role!",
                  coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
                      AS "superuser!",
                  EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                            AND pg_has_role(current_user, c.relowner, 'USAGE')) AS "owner!""#
    )
    .fetch_one(pool)
    .await?;
    Ok(RoleReport {
        role: r.role,
        superuser: r.superuser,
        owner: r.owner,
    })
}
