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
    let domain = closure(&meta, "domain", Edges::WithTests, &[]);
    for io in ["sqlx", "tokio", "axum", "reqwest"] {
        assert!(
            !domain.contains(io),
            "domain is pure: it must not depend on {io}"
        );
    }
}
