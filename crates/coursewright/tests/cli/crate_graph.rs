//! "No API route can call a generator" holds because `web` cannot reach `llm` or `generate`.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Which dependency edges a closure follows.
#[derive(Clone, Copy, PartialEq)]
enum Edges {
    /// Normal and build edges: what the built crate links, what a route could call.
    Production,
    /// The root's dev edges too: what the crate's tests link. (A dependency's own
    /// dev-dependencies are never linked into anything of the root.)
    WithTests,
}

/// Every package `root` depends on, directly or not, along `edges`, never entering `skip`.
fn closure(meta: &Value, root: &str, edges: Edges, skip: &[&str]) -> BTreeSet<String> {
    let packages = meta["packages"].as_array().expect("packages");
    let name_of: HashMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes = meta["resolve"]["nodes"].as_array().expect("resolve.nodes");
    // Per package: (dependency, whether the edge is dev-only).
    let deps: HashMap<&str, Vec<(&str, bool)>> = nodes
        .iter()
        .filter_map(|n| {
            let id = n["id"].as_str()?;
            let d = n["deps"]
                .as_array()?
                .iter()
                .filter_map(|d| {
                    let dev_only = d["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .all(|k| k["kind"].as_str() == Some("dev"));
                    Some((d["pkg"].as_str()?, dev_only))
                })
                .collect();
            Some((id, d))
        })
        .collect();
    let start = name_of
        .iter()
        .find(|(_, n)| **n == root)
        .map(|(id, _)| *id)
        .expect("root package");
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        let follow_dev = edges == Edges::WithTests && id == start;
        for d in deps
            .get(id)
            .into_iter()
            .flatten()
            .filter(|(_, dev_only)| follow_dev || !dev_only)
            .map(|(d, _)| d)
        {
            let name = name_of.get(d).copied().unwrap_or(d);
            if !skip.contains(&name) && seen.insert(name.to_owned()) {
                stack.push(d);
            }
        }
    }
    seen
}

#[test]
fn web_never_depends_on_llm_or_generate() {
    // The host's graph only: other platforms' crates are never downloaded here.
    let host = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("host triple");
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let web = closure(&meta, "web", Edges::Production, &[]);
    assert!(
        web.contains("db") && web.contains("domain"),
        "the check sees web's real graph: {web:?}"
    );
    for forbidden in ["llm", "generate", "worker"] {
        assert!(
            !web.contains(forbidden),
            "web must not depend on {forbidden}, directly or not"
        );
    }
    let app = closure(&meta, "app", Edges::WithTests, &[]);
    assert!(app.contains("db") && app.contains("domain"), "{app:?}");
    for forbidden in ["llm", "generate", "worker", "web", "axum"] {
        assert!(
            !app.contains(forbidden),
            "the use cases must not depend on {forbidden}, directly or not"
        );
    }
    assert!(web.contains("app"), "web calls the use cases");
    // web's tests run the real worker beside the router, through the shared harness and
    // nothing else; and the harness is never linked into anything that ships.
    let web_tests = closure(&meta, "web", Edges::WithTests, &["test-support"]);
    for forbidden in ["llm", "generate", "worker"] {
        assert!(
            !web_tests.contains(forbidden),
            "web's tests reach {forbidden} only through test-support"
        );
    }
    for package in [
        "domain",
        "db",
        "app",
        "llm",
        "generate",
        "store",
        "telemetry",
        "web",
        "worker",
        "coursewright",
    ] {
        assert!(
            !closure(&meta, package, Edges::Production, &[]).contains("test-support"),
            "test-support is a dev-dependency only, yet {package} links it"
        );
    }
    let generate = closure(&meta, "generate", Edges::WithTests, &[]);
    for other in ["db", "web", "worker", "store", "telemetry", "sqlx"] {
        assert!(
            !generate.contains(other),
            "generate depends on domain and llm only, not {other}"
        );
    }
    // Exports are bytes in, bytes out: no database, no async, no HTTP.
    let export = closure(&meta, "export", Edges::WithTests, &[]);
    assert!(
        export.contains("domain") && export.contains("typst"),
        "{export:?}"
    );
    for io in ["db", "sqlx", "tokio", "axum", "reqwest", "app", "web"] {
        assert!(
            !export.contains(io),
            "export is bytes in, bytes out: it must not depend on {io}"
        );
    }
    let domain = closure(&meta, "domain", Edges::WithTests, &[]);
    for io in ["sqlx", "tokio", "axum", "reqwest"] {
        assert!(
            !domain.contains(io),
            "domain is pure: it must not depend on {io}"
        );
    }
}

/// Every path a Rust file names: `a::b::c` as written, and `use a::{b, c::d}` expanded.
fn paths_named(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let flat: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ");
    // `use p::{a, b::c, self}` becomes `p::a p::b::c p`.
    let mut expanded = String::new();
    let mut rest = flat.as_str();
    while let Some(i) = rest.find("::{") {
        let start = rest[..i]
            .rfind(|c: char| !(ident(c) || c == ':'))
            .map_or(0, |s| s + 1);
        let prefix = &rest[start..i];
        expanded.push_str(&rest[..start]);
        let Some(close) = rest[i..].find('}') else {
            break;
        };
        for item in rest[i + 3..i + close].split(',') {
            let item = item.split(" as ").next().unwrap_or("").trim();
            match item {
                "" => {}
                "self" => expanded.push_str(&format!(" {prefix} ")),
                _ => expanded.push_str(&format!(" {prefix}::{item} ")),
            }
        }
        rest = &rest[i + close + 1..];
    }
    expanded.push_str(rest);
    for word in expanded.split(|c: char| !(ident(c) || c == ':')) {
        if word.contains("::") {
            out.insert(word.trim_matches(':').to_owned());
        }
    }
    out
}

fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(p);
            }
        }
    }
    files
}

#[test]
fn the_learner_plane_cannot_reach_building_or_publishing() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    // What the learner plane may use: its own modules and the shared kit.
    let mut named = BTreeSet::new();
    for dir in ["learner", "kit"] {
        for f in rust_files(&web.join(dir)) {
            let text = std::fs::read_to_string(&f).expect("read source");
            for p in paths_named(&text) {
                named.insert((p, f.display().to_string()));
            }
        }
    }
    assert!(
        named.iter().any(|(p, _)| p.starts_with("app::learning")),
        "the scan sees the learner plane's calls into app::learning"
    );
    assert!(
        named.iter().any(|(p, _)| p == "db::packages::LearnerView"),
        "the scan expands grouped imports"
    );
    // Building, publishing, archiving and authoring, in the use cases and in data access.
    let forbidden = [
        "app::publishing",
        "app::authoring",
        "crate::control",
        "db::artifacts",
        "db::jobs",
        "db::packages::insert",
        "db::packages::next_version",
        "db::packages::try_lock_builds",
        "db::packages::lock_version",
        "db::packages::lock_active",
        "db::packages::point_course",
        "db::packages::set_archived",
        "packages::insert",
        "packages::point_course",
        "packages::set_archived",
    ];
    let reached: Vec<_> = named
        .iter()
        .filter(|(p, _)| {
            forbidden
                .iter()
                .any(|f| p == f || p.starts_with(&format!("{f}::")))
        })
        .collect();
    assert!(
        reached.is_empty(),
        "the learner plane (web/src/learner, web/src/kit) must not build or publish: {reached:?}"
    );
}

#[test]
fn the_path_scan_sees_what_a_file_names() {
    let named = paths_named(
        "use app::publishing::{self, build_package as build};\n// app::authoring in a comment\nlet _ = db::packages::point_course(&pool);",
    );
    for p in [
        "app::publishing",
        "app::publishing::build_package",
        "db::packages::point_course",
    ] {
        assert!(named.contains(p), "{p} in {named:?}");
    }
    assert!(!named.iter().any(|p| p.starts_with("app::authoring")));
}
