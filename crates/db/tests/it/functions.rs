//! A SQL function lives once: `crates/db/functions/<name>.sql` is its live definition, and
//! the migrated schema must define it exactly so. Migrations are history (a landed one never
//! changes); to change a function, edit its file and add a migration with the same
//! `CREATE OR REPLACE`. These tests fail while the two disagree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqlx::{PgConnection, Row};
use test_support::TestDatabase;

const FUNCTIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/functions");
const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");

/// The `.sql` files of a directory, sorted, with their names without `.sql`.
fn sql_files(dir: &str) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
            (stem, p)
        })
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Whitespace runs as one space: indentation is not a difference.
fn normalized(def: &str) -> String {
    def.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every function of the `public` schema by signature, as PostgreSQL prints it back.
async fn definitions(conn: &mut PgConnection) -> BTreeMap<String, String> {
    sqlx::query(
        "SELECT p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS def
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public'",
    )
    .fetch_all(conn)
    .await
    .expect("function definitions")
    .iter()
    .map(|r| (r.get("signature"), normalized(r.get("def"))))
    .collect()
}

/// The statements of a migration that define, replace, alter or drop `name`.
fn touches(migration: &str, name: &str) -> bool {
    [
        "CREATE FUNCTION",
        "CREATE OR REPLACE FUNCTION",
        "ALTER FUNCTION",
        "DROP FUNCTION",
        "DROP FUNCTION IF EXISTS",
    ]
    .iter()
    .any(|verb| migration.contains(&format!("{verb} {name}(")))
}

#[tokio::test]
async fn every_function_of_the_schema_has_one_file_and_every_file_a_function() {
    let db = TestDatabase::new().await;
    let mut conn = db.pool.acquire().await.expect("connection");
    let schema = db::roles::schema_objects(&mut conn).await.expect("schema");
    let files: Vec<String> = sql_files(FUNCTIONS).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        files, schema.functions,
        "crates/db/functions/ must hold one <name>.sql per function of the migrated schema"
    );
}

#[tokio::test]
async fn each_file_in_functions_is_the_live_definition_of_its_function() {
    let db = TestDatabase::new().await;
    let migrations = sql_files(MIGRATIONS);
    for (name, path) in sql_files(FUNCTIONS) {
        let text = read(&path);
        let file = format!("crates/db/functions/{name}.sql");

        // The file defines its own function, every overload of it, and nothing else.
        let statements =
            text.matches("FUNCTION ").count() - text.matches("EXECUTE FUNCTION ").count();
        let own = text
            .matches(&format!("CREATE OR REPLACE FUNCTION {name}("))
            .count();
        assert!(
            own > 0,
            "{file} has no CREATE OR REPLACE FUNCTION {name}(…)"
        );
        assert_eq!(
            statements, own,
            "{file} may only CREATE OR REPLACE {name}, each overload once"
        );

        // Applying the file to the migrated schema changes no function: the migrations leave
        // every overload exactly as the file defines it.
        let mut tx = db.pool.begin().await.expect("begin");
        let before = definitions(&mut tx).await;
        let overloads = before
            .keys()
            .filter(|s| s.starts_with(&format!("{name}(")))
            .count();
        assert_eq!(
            own, overloads,
            "{file} defines {own} overload(s) of {name}; the migrated schema has {overloads}"
        );
        sqlx::raw_sql(&text)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{file} does not apply: {e}"));
        let after = definitions(&mut tx).await;
        tx.rollback().await.expect("rollback");
        let changed: Vec<&String> = after
            .iter()
            .filter(|(sig, def)| before.get(*sig) != Some(def))
            .map(|(sig, _)| sig)
            .collect();
        assert!(
            changed.is_empty(),
            "{file} is not what the migrations left in the database for {changed:?}: a change \
             to a function is its file and a new migration with the same CREATE OR REPLACE \
             (CONTRIBUTING.md, \"SQL functions\")"
        );

        // Its header names the migration that applied it last.
        let last = migrations
            .iter()
            .filter(|(_, p)| touches(&read(p), &name))
            .map(|(m, _)| m.clone())
            .next_back()
            .unwrap_or_else(|| panic!("no migration creates {name}"));
        assert!(
            text.contains(&format!("last applied by migrations/{last}.sql")),
            "{file} must say it was last applied by migrations/{last}.sql, the newest migration that defines it"
        );
    }
}
