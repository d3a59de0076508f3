//! Landed migrations never change: each one's SHA-256 is checked in.

use std::path::Path;

use sha2::{Digest, Sha256};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
const LIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations.sha256");

/// (version, file name, sha256) for every line of the checked-in list.
fn listed() -> Vec<(i64, String, String)> {
    let text = std::fs::read_to_string(LIST).expect("read crates/db/migrations.sha256");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (hash, file) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("not `<sha256>  <file>`: {l:?}"));
            (version_of(file), file.to_owned(), hash.to_owned())
        })
        .collect()
}

fn version_of(file: &str) -> i64 {
    file.split_once('_')
        .and_then(|(v, _)| v.parse().ok())
        .unwrap_or_else(|| panic!("{file} is not named <version>_<name>.sql"))
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read migration")))
}

#[test]
fn no_landed_migration_has_changed_and_every_migration_is_listed() {
    let listed = listed();
    assert!(listed.len() >= 5, "{listed:?}");
    for (version, file, hash) in &listed {
        let path = Path::new(DIR).join(file);
        assert!(
            path.exists(),
            "migration {version} ({file}) is listed in crates/db/migrations.sha256 but gone: a landed migration is never removed"
        );
        let actual = sha256(&path);
        assert_eq!(
            &actual, hash,
            "migration {version} ({file}) changed after it landed: never edit a landed migration (databases that applied it will refuse this binary); put the change in a new migration instead"
        );
    }
    let mut files: Vec<String> = std::fs::read_dir(DIR)
        .expect("read migrations")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".sql"))
        .collect();
    files.sort();
    for file in &files {
        assert!(
            listed.iter().any(|(_, f, _)| f == file),
            "{file} is not in crates/db/migrations.sha256: append its line (`cd crates/db/migrations && sha256sum {file} >> ../migrations.sha256`) in the change that adds it"
        );
    }
    let versions: Vec<i64> = listed.iter().map(|(v, ..)| *v).collect();
    let mut sorted = versions.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        versions, sorted,
        "crates/db/migrations.sha256 is append-only: one line per version, oldest first"
    );
}

#[test]
fn the_embedded_migrations_are_the_listed_ones() {
    let listed: Vec<i64> = listed().iter().map(|(v, ..)| *v).collect();
    let embedded: Vec<i64> = db::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(embedded, listed);
}
