//! `/api/openapi.json`: every JSON route, its parameters and its request body, the bodies'
//! schemas generated from the very types the handlers deserialize. A test fails when a
//! JSON route is missing here, and CI sends generated requests at a running server and
//! fails on any 5xx.

use axum::Router;
use axum::routing::get;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::AppState;

/// How a request body is described: the schema of the type the handler takes.
type Body = fn(&mut SchemaGenerator) -> schemars::Schema;

fn body<T: JsonSchema>(g: &mut SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<T>()
}

/// One operation.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<Body>,
    /// Query parameters: name and JSON type.
    query: &'static [(&'static str, &'static str)],
    /// Answered without a session.
    public: bool,
}

const fn op(method: &'static str, path: &'static str, summary: &'static str) -> Op {
    Op {
        method,
        path,
        summary,
        body: None,
        query: &[],
        public: false,
    }
}

const fn with_body(mut o: Op, b: Body) -> Op {
    o.body = Some(b);
    o
}

const fn with_query(mut o: Op, q: &'static [(&'static str, &'static str)]) -> Op {
    o.query = q;
    o
}

const fn public(mut o: Op) -> Op {
    o.public = true;
    o
}

fn ops() -> Vec<Op> {
    use crate::control::authoring::api as authoring;
    use crate::control::users;
    use crate::kit::sessions;
    use crate::learner::player::api as player;
    use crate::platform::tenants;
    vec![
        public(with_body(
            op(
                "post",
                "/api/auth/login",
                "Sign in; sets the session cookie",
            ),
            body::<sessions::LoginJson>,
        )),
        op("post", "/api/auth/logout", "Sign out"),
        op("get", "/api/auth/me", "The signed-in user"),
        op("get", "/api/admin/users", "The tenant's users"),
        with_body(
            op(
                "post",
                "/api/admin/users",
                "Invite a person; answers their one-time set-password link",
            ),
            body::<users::InviteBody>,
        ),
        op("get", "/api/admin/users/{id}", "One user of the tenant"),
        with_body(
            op(
                "patch",
                "/api/admin/users/{id}",
                "Change a person's role, deactivate or reactivate them",
            ),
            body::<users::PersonChange>,
        ),
        op(
            "post",
            "/api/admin/users/{id}/invite-link",
            "A new set-password link for an invited person; earlier ones stop working",
        ),
        with_query(
            op(
                "get",
                "/api/admin/audit",
                "The tenant's audit log, newest first",
            ),
            &[
                ("action", "string"),
                ("actor", "string"),
                ("entity", "string"),
                ("before", "integer"),
                ("limit", "integer"),
            ],
        ),
        op(
            "get",
            "/api/platform/tenants",
            "Every tenant (platform owners)",
        ),
        with_body(
            op(
                "post",
                "/api/platform/tenants",
                "Create a tenant (platform owners)",
            ),
            body::<tenants::NewTenant>,
        ),
        with_query(
            op(
                "get",
                "/api/admin/regeneration-jobs",
                "The tenant's jobs, newest first",
            ),
            &[
                ("status", "string"),
                ("kind", "string"),
                ("before", "string"),
                ("limit", "integer"),
            ],
        ),
        op("get", "/api/admin/regeneration-jobs/{id}", "One job"),
        op(
            "post",
            "/api/admin/regeneration-jobs/{id}/trigger",
            "REQUESTED → PENDING",
        ),
        op(
            "post",
            "/api/admin/regeneration-jobs/{id}/retry",
            "A new job for a FAILED one",
        ),
        with_body(
            op(
                "post",
                "/api/admin/briefs",
                "A new course and its syllabus job",
            ),
            body::<domain::Brief>,
        ),
        op("get", "/api/admin/syllabi", "The tenant's syllabi"),
        op("get", "/api/admin/syllabi/{id}", "One syllabus"),
        with_body(
            op(
                "post",
                "/api/admin/syllabi/{id}/approve",
                "Approve a draft syllabus",
            ),
            body::<authoring::Review>,
        ),
        with_body(
            op(
                "post",
                "/api/admin/syllabi/{id}/reject",
                "Reject a draft syllabus",
            ),
            body::<authoring::Review>,
        ),
        with_body(
            op(
                "post",
                "/api/admin/syllabi/{id}/edit",
                "A new draft version",
            ),
            body::<authoring::Edit>,
        ),
        op(
            "post",
            "/api/admin/syllabi/{id}/content",
            "One content job per module",
        ),
        with_query(
            op(
                "get",
                "/api/admin/briefs/jobs",
                "Where the syllabus generation of briefs stands, by job id",
            ),
            &[("ids", "string")],
        ),
        op(
            "get",
            "/api/admin/syllabi/{id}/content/impact",
            "What regenerating the existing content would supersede",
        ),
        with_body(
            op(
                "post",
                "/api/admin/syllabi/{id}/content/regenerate",
                "A new draft of every existing part, confirmed against the impact",
            ),
            body::<authoring::RegenerateAllBody>,
        ),
        op(
            "get",
            "/api/admin/syllabi/{id}/jobs",
            "A syllabus's generation jobs and whether any is still working",
        ),
        with_body(
            op("post", "/api/admin/syllabi/{id}/regenerate", "Regenerate"),
            body::<authoring::RegenerateBody>,
        ),
        with_query(
            op("get", "/api/admin/content", "Lessons, quizzes and projects"),
            &[
                ("courseId", "uuid"),
                ("syllabusId", "uuid"),
                ("kind", "string"),
            ],
        ),
        op(
            "get",
            "/api/admin/content/{id}",
            "One lesson, quiz or project",
        ),
        with_body(
            op("post", "/api/admin/content/{id}/approve", "Approve a draft"),
            body::<authoring::Review>,
        ),
        with_body(
            op("post", "/api/admin/content/{id}/reject", "Reject a draft"),
            body::<authoring::Review>,
        ),
        with_body(
            op(
                "post",
                "/api/admin/content/{id}/edit",
                "A new draft version",
            ),
            body::<authoring::Edit>,
        ),
        with_body(
            op("post", "/api/admin/content/{id}/regenerate", "Regenerate"),
            body::<authoring::RegenerateBody>,
        ),
        with_query(
            op(
                "get",
                "/api/admin/analytics/course/{course}",
                "A course's daily analytics (aggregates only)",
            ),
            &[("from", "string"), ("to", "string")],
        ),
        op(
            "get",
            "/api/admin/analytics/funnel/{course}",
            "A course's funnels and lesson reach (counts only)",
        ),
        op(
            "get",
            "/api/admin/analytics/signals/{course}",
            "A course's rule-based signals of the last 90 days",
        ),
        op("get", "/api/courses", "The tenant's courses"),
        op(
            "get",
            "/api/courses/{course}",
            "A course's versions and history",
        ),
        op(
            "get",
            "/api/courses/{course}/{version}",
            "One package version",
        ),
        op(
            "get",
            "/api/courses/{course}/{version}/export.pdf",
            "One version as a PDF book",
        ),
        op(
            "get",
            "/api/courses/{course}/{version}/export/scorm12.zip",
            "One version as a SCORM 1.2 package",
        ),
        op(
            "post",
            "/api/admin/courses/{course}/packages",
            "Build the next version",
        ),
        op(
            "post",
            "/api/admin/courses/{course}/versions/{version}/publish",
            "Make a version active",
        ),
        op(
            "post",
            "/api/admin/courses/{course}/versions/{version}/archive",
            "Withdraw a version",
        ),
        op("get", "/api/learn/courses", "Published courses"),
        op(
            "get",
            "/api/learn/courses/{course}",
            "A published course, as learners read it",
        ),
        op(
            "get",
            "/api/learn/courses/{course}/lessons/{index}",
            "One lesson (1-based)",
        ),
        op(
            "get",
            "/api/learn/courses/{course}/export.pdf",
            "The active version as a PDF book",
        ),
        op(
            "get",
            "/api/learn/courses/{course}/export/scorm12.zip",
            "The active version as a SCORM 1.2 package",
        ),
        op("get", "/api/store/products", "What the tenant sells"),
        with_body(
            op(
                "post",
                "/api/store/purchase",
                "Buy a product (test mode) and enroll",
            ),
            body::<crate::learner::store::PurchaseBody>,
        ),
        op("get", "/api/admin/products", "The tenant's products"),
        with_body(
            op(
                "post",
                "/api/admin/products",
                "Create a product for a course",
            ),
            body::<crate::control::store::ProductBody>,
        ),
        with_body(
            op("patch", "/api/admin/products/{id}", "Change a product"),
            body::<crate::control::store::ProductPatchBody>,
        ),
        with_query(
            op("get", "/api/admin/purchases", "The tenant's purchases"),
            &[
                ("courseId", "string"),
                ("userId", "string"),
                ("status", "string"),
                ("limit", "integer"),
            ],
        ),
        with_body(
            op(
                "post",
                "/api/admin/purchases",
                "Grant a product to a learner",
            ),
            body::<crate::control::store::GrantBody>,
        ),
        with_body(
            op(
                "post",
                "/api/admin/purchases/{id}/refund",
                "Refund a purchase",
            ),
            body::<crate::control::store::RefundBody>,
        ),
        with_body(
            op(
                "post",
                "/api/analytics/event",
                "A batch of browser events (write-only)",
            ),
            body::<crate::learner::analytics::Batch>,
        ),
        with_body(
            op("post", "/api/learn/enroll", "Enroll"),
            body::<player::EnrollBody>,
        ),
        with_body(
            op("post", "/api/learn/progress", "Record a lesson's progress"),
            body::<player::ProgressBody>,
        ),
        op(
            "get",
            "/api/learn/progress/{course}",
            "The caller's progress",
        ),
        with_body(
            op("post", "/api/learn/quiz-attempts", "Submit a quiz"),
            body::<player::AttemptBody>,
        ),
        public(op("get", "/healthz", "Alive")),
        public(op("get", "/readyz", "Ready to serve")),
        public(op("get", "/api/openapi.json", "This document")),
    ]
}

/// The JSON type of a path parameter, from its name.
fn path_param(name: &str) -> Value {
    match name {
        "version" | "index" => json!({ "type": "integer", "minimum": 1 }),
        _ => json!({ "type": "string", "format": "uuid" }),
    }
}

fn query_param(ty: &str) -> Value {
    match ty {
        "uuid" => json!({ "type": "string", "format": "uuid" }),
        "integer" => json!({ "type": "integer", "minimum": 1, "maximum": 200 }),
        other => json!({ "type": other }),
    }
}

/// The document.
pub fn document() -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut g = settings.into_generator();
    let mut paths: Map<String, Value> = Map::new();
    let error = json!({ "$ref": "#/components/schemas/Error" });
    for o in ops() {
        let mut params: Vec<Value> = o
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": path_param(name) }))
            .collect();
        params.extend(o.query.iter().map(|(name, ty)| {
            json!({ "name": name, "in": "query", "required": false, "schema": query_param(ty) })
        }));
        let mut operation = json!({
            "summary": o.summary,
            "operationId": format!("{} {}", o.method, o.path),
            "parameters": params,
            "responses": {
                "200": { "description": "done", "content": { "application/json": { "schema": {} } } },
                "201": { "description": "created", "content": { "application/json": { "schema": {} } } },
                "202": { "description": "accepted", "content": { "application/json": { "schema": {} } } },
                "4XX": { "description": "refused", "content": { "application/json": { "schema": error } } },
            },
        });
        if let Some(b) = o.body {
            let schema = b(&mut g);
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema } },
            });
        }
        if !o.public {
            operation["security"] = json!([{ "session": [] }]);
        }
        let entry = paths
            .entry(o.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[o.method] = operation;
    }
    let mut schemas: Map<String, Value> = g.take_definitions(true).into_iter().collect();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": { "error": {
                "type": "object", "required": ["code", "message"],
                "properties": { "code": { "type": "string" }, "message": { "type": "string" } },
            } },
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Coursewright", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "session": { "type": "apiKey", "in": "cookie", "name": "cw_session" } },
        },
    })
}

/// Every path the document names, with its method (for the test that compares them with
/// the router's JSON routes).
pub fn operations() -> Vec<(&'static str, &'static str)> {
    ops().into_iter().map(|o| (o.method, o.path)).collect()
}

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/openapi.json",
        get(|| async { axum::Json(document()) }),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `.route("/api/…", get(…).post(…))` and the ops routes in this crate's source.
    fn json_routes_in_source() -> BTreeSet<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut out = BTreeSet::new();
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                // This file quotes routes in its docs; its one route is added below.
                if path.ends_with("openapi.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("read");
                for chunk in text.split(".route(").skip(1) {
                    let Some(rest) = chunk.trim_start().strip_prefix('"') else {
                        continue;
                    };
                    let Some((route, handlers)) = rest.split_once('"') else {
                        continue;
                    };
                    if !(route.starts_with("/api/") || route == "/healthz" || route == "/readyz") {
                        continue;
                    }
                    // The handlers end where the `.route(…)` call does.
                    let end = handlers.find(")\n").map_or(handlers.len(), |i| i + 1);
                    let handlers = &handlers[..end];
                    for method in ["get", "post", "patch", "put", "delete"] {
                        let called = format!("{method}(");
                        if handlers.contains(&called) {
                            out.insert((method.to_owned(), route.to_owned()));
                        }
                    }
                }
            }
        }
        out.insert(("get".into(), "/api/openapi.json".into()));
        out
    }

    #[test]
    fn every_json_route_is_in_the_document_and_nothing_else_is() {
        let in_source = json_routes_in_source();
        assert!(
            in_source.len() > 30,
            "the scan sees the routes: {in_source:?}"
        );
        let documented: BTreeSet<(String, String)> = operations()
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect();
        let missing: Vec<_> = in_source.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from /api/openapi.json: {missing:?}"
        );
        let stale: Vec<_> = documented.difference(&in_source).collect();
        assert!(
            stale.is_empty(),
            "documented routes that do not exist: {stale:?}"
        );
    }

    #[test]
    fn request_bodies_come_from_the_handlers_types() {
        let doc = document();
        let enroll = &doc["paths"]["/api/learn/enroll"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        let name = enroll["$ref"].as_str().expect("a reference");
        let schema = &doc["components"]["schemas"][name.rsplit('/').next().unwrap_or_default()];
        assert_eq!(schema["required"], json!(["courseId"]), "{schema}");
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
