//! "No API route can call a generator" holds because `web` cannot reach `llm` or `generate`.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Every package `root` depends on, directly or not (normal, build and dev edges alike).
fn closure(meta: &Value, root: &str) -> BTreeSet<String> {
    let packages = meta["packages"].as_array().expect("packages");
    let name_of: HashMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes = meta["resolve"]["nodes"].as_array().expect("resolve.nodes");
    let deps: HashMap<&str, Vec<&str>> = nodes
        .iter()
        .filter_map(|n| {
            let id = n["id"].as_str()?;
            let d = n["dependencies"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
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
        for d in deps.get(id).into_iter().flatten() {
            if seen.insert(name_of.get(d).copied().unwrap_or(d).to_owned()) {
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
    let web = closure(&meta, "web");
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
    let app = closure(&meta, "app");
    assert!(app.contains("db") && app.contains("domain"), "{app:?}");
    for forbidden in ["llm", "generate", "worker", "web", "axum"] {
        assert!(
            !app.contains(forbidden),
            "the use cases must not depend on {forbidden}, directly or not"
        );
    }
    assert!(web.contains("app"), "web calls the use cases");
    let generate = closure(&meta, "generate");
    for other in ["db", "web", "worker", "store", "telemetry", "sqlx"] {
        assert!(
            !generate.contains(other),
            "generate depends on domain and llm only, not {other}"
        );
    }
    let domain = closure(&meta, "domain");
    for io in ["sqlx", "tokio", "axum", "reqwest"] {
        assert!(
            !domain.contains(io),
            "domain is pure: it must not depend on {io}"
        );
    }
}
