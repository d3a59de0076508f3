//! Exports: a published package as a PDF book or a SCORM 1.2 package, for the learners who
//! may read it and for staff (any version).
//!
//! Packages never change and the `export` crate is deterministic, so each (package hash,
//! format, renderer revision) is rendered once, kept in the object store and served from
//! there afterwards with its own hash as a strong ETag. A person may export a course 3 times
//! per 10 minutes (both formats together), counted in PostgreSQL so every replica agrees;
//! every export served writes a `PDF_EXPORTED` or `LMS_EXPORTED` audit row in the same
//! transaction as its count. A revalidation that finds the client's copy current (304)
//! sends nothing, so it is neither counted nor audited.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use db::PgPool;
use db::audit::{self, AuditEvent};
use db::exports::{self as rows, Rendered};
use db::packages;
use domain::{AuditAction, CoursePackage};
use serde_json::json;
use uuid::Uuid;

use crate::{Actor, AppError, STAFF};

/// Names the export code's revision: part of the cache key, so a changed template or
/// manifest renders afresh instead of serving bytes made by older code. Bump it with any
/// change to what `export` produces.
pub const RENDERER: &str = "export-2";

/// The formats a package exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Pdf,
    Scorm12,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Scorm12 => "scorm12",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Scorm12 => "application/zip",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Scorm12 => "zip",
        }
    }

    fn action(self) -> AuditAction {
        match self {
            Self::Pdf => AuditAction::PdfExported,
            Self::Scorm12 => AuditAction::LmsExported,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pdf" => Some(Self::Pdf),
            "scorm12" => Some(Self::Scorm12),
            _ => None,
        }
    }
}

/// The rate limit and the size limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Exports one person may make of one course within `window`.
    pub per_window: i64,
    pub window: Duration,
    /// Packages larger than this (canonical JSON bytes) are refused before rendering.
    pub max_package_bytes: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_window: 3,
            window: Duration::from_secs(600),
            max_package_bytes: domain::package::MAX_PACKAGE_BYTES as i64,
        }
    }
}

/// Who asks for an export.
#[derive(Debug, Clone, Copy)]
pub enum Requester {
    /// A learner: the course's active version, once enrolled.
    Learner(Actor),
    /// Admins and reviewers: any version of their tenant's course.
    Staff(Actor, i32),
    /// An operator at the command line: any version (the active one when `None`), no rate
    /// limit; audited without an actor.
    Operator(Option<i32>),
}

/// An export ready to send.
#[derive(Debug, Clone)]
pub struct Exported {
    pub format: Format,
    /// Shared with the in-memory copy, so sending it copies nothing.
    pub bytes: Arc<[u8]>,
    /// SHA-256 (hex) of `bytes`.
    pub content_hash: String,
    /// A file name for `Content-Disposition`: the course title and version.
    pub file_name: String,
    /// Whether this request rendered the bytes (false: they came from the store).
    pub rendered: bool,
    pub version: i32,
}

/// The answer to an export request.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent(Exported),
    /// The client's copy (its `If-None-Match`) is current; the hash is the ETag.
    NotModified(String),
}

static RENDERS: AtomicU64 = AtomicU64::new(0);

/// How many renderings this process has made (a cached export makes none).
pub fn renders() -> u64 {
    RENDERS.load(Ordering::Relaxed)
}

/// The package an export is of.
struct Target {
    tenant_id: Uuid,
    package_id: Uuid,
    version: i32,
    title: String,
    package_hash: String,
    size_bytes: i64,
}

async fn target(pool: &PgPool, who: Requester, course_id: Uuid) -> Result<Target, AppError> {
    let (tenant_id, version) = match who {
        Requester::Learner(a) => {
            let view = packages::learner_view(pool, a.tenant_id, course_id, a.user_id)
                .await?
                .ok_or_else(crate::learning::not_published)?;
            if view.needs_purchase() {
                return Err(crate::learning::purchase_required());
            }
            if !view.enrolled {
                return Err(AppError::Forbidden(
                    "enroll in the course before exporting it".into(),
                ));
            }
            (a.tenant_id, view.active.version)
        }
        Requester::Staff(a, v) => {
            a.require(STAFF)?;
            (a.tenant_id, v)
        }
        Requester::Operator(v) => {
            let tenant = rows::course_tenant(pool, course_id)
                .await?
                .ok_or_else(|| AppError::not_found("course"))?;
            match v {
                Some(v) => (tenant, v),
                None => {
                    let active = packages::active_version(pool, tenant, course_id)
                        .await?
                        .ok_or_else(crate::learning::not_published)?;
                    (tenant, active)
                }
            }
        }
    };
    let versions = packages::versions(pool, tenant_id, course_id).await?;
    let row = versions
        .into_iter()
        .find(|r| r.version == version)
        .ok_or_else(|| AppError::not_found("course version"))?;
    Ok(Target {
        tenant_id,
        package_id: row.id,
        version,
        title: row.title,
        package_hash: row.content_hash,
        size_bytes: i64::from(row.size_bytes),
    })
}

/// A file name of plain ASCII letters, digits and dashes (safe in any header and any
/// file system): `practical-sql-v3.pdf`.
fn file_name(title: &str, version: i32, format: Format) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "course" } else { slug };
    let suffix = match format {
        Format::Pdf => "",
        Format::Scorm12 => "-scorm12",
    };
    format!("{slug}-v{version}{suffix}.{}", format.extension())
}

/// Renders a package on a blocking thread (typst takes a while for a long course) and
/// checks a SCORM package against our own rules before anyone may download it.
async fn render(package: CoursePackage, format: Format) -> Result<Vec<u8>, AppError> {
    let out = tokio::task::spawn_blocking(move || match format {
        Format::Pdf => export::pdf::pdf(&package).map_err(|e| e.to_string()),
        Format::Scorm12 => {
            let zip = export::scorm12(&package);
            export::checks::check_scorm12(&zip)
                .map(|()| zip)
                .map_err(|problems| {
                    format!(
                        "the SCORM package fails its checks: {}",
                        problems.join("; ")
                    )
                })
        }
    })
    .await
    .map_err(|e| AppError::Internal(format!("export thread: {e}")))?
    .map_err(|e| AppError::Internal(format!("rendering the {} export: {e}", format.as_str())))?;
    RENDERS.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("export_renders_total", "format" => format.as_str()).increment(1);
    Ok(out)
}

/// Stored exports kept in memory: they are content-addressed and never change, so a copy
/// is always right; past [`hot::BUDGET`] bytes the copies start over.
mod hot {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    pub const BUDGET: usize = 256 * 1024 * 1024;

    type Copies = (usize, HashMap<String, Arc<[u8]>>);

    fn copies() -> &'static Mutex<Copies> {
        static COPIES: OnceLock<Mutex<Copies>> = OnceLock::new();
        COPIES.get_or_init(Mutex::default)
    }

    pub fn get(path: &str) -> Option<Arc<[u8]>> {
        copies().lock().ok()?.1.get(path).cloned()
    }

    pub fn put(path: &str, bytes: &Arc<[u8]>) {
        if bytes.len() > BUDGET / 4 {
            return;
        }
        if let Ok(mut c) = copies().lock() {
            if c.0 + bytes.len() > BUDGET {
                *c = Copies::default();
            }
            if c.1.insert(path.to_owned(), bytes.clone()).is_none() {
                c.0 += bytes.len();
            }
        }
    }
}

/// The bytes of a stored export: from memory, or read once from the object store (which
/// checks them against the hash in their path).
async fn stored_bytes(objects: &store::Objects, path: &str) -> Result<Arc<[u8]>, AppError> {
    if let Some(b) = hot::get(path) {
        return Ok(b);
    }
    let bytes: Arc<[u8]> = objects
        .get(path)
        .await
        .map_err(|e| AppError::Internal(format!("reading a stored export: {e}")))?
        .into();
    hot::put(path, &bytes);
    Ok(bytes)
}

fn matches(if_none_match: Option<&str>, hash: &str) -> bool {
    let etag = format!("\"{hash}\"");
    if_none_match.is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|t| t == etag || t == "*" || t.strip_prefix("W/") == Some(etag.as_str()))
    })
}

/// Exports a course for `who`: the bytes (from the store, or rendered once and stored) or
/// "not modified" when `if_none_match` names them. Refused with 404 for a course that is
/// not the caller's or not published, 403 before enrollment, 413 for a package over the
/// size limit (before any rendering), 429 past the rate limit. A refused or failed export
/// writes nothing.
#[tracing::instrument(skip_all, fields(course = %course_id, format = format.as_str()))]
pub async fn export(
    pool: &PgPool,
    objects: &store::Objects,
    who: Requester,
    course_id: Uuid,
    format: Format,
    limits: Limits,
    if_none_match: Option<&str>,
) -> Result<Outcome, AppError> {
    let t = target(pool, who, course_id).await?;
    if t.size_bytes > limits.max_package_bytes {
        return Err(AppError::TooLarge(format!(
            "this package is {} bytes; exports are made of packages up to {} bytes",
            t.size_bytes, limits.max_package_bytes
        )));
    }
    let key = (t.package_hash.as_str(), format.as_str(), RENDERER);
    let known = rows::rendered(pool, key.0, key.1, key.2).await?;
    if let Some(r) = &known
        && matches(if_none_match, &r.content_hash)
    {
        return Ok(Outcome::NotModified(r.content_hash.clone()));
    }

    let person = match who {
        Requester::Learner(a) | Requester::Staff(a, _) => Some(a),
        Requester::Operator(_) => None,
    };
    let mut tx = pool.begin().await?;
    if let Some(a) = person {
        let window =
            rows::lock_window(&mut tx, a.user_id, course_id, limits.window.as_secs_f64()).await?;
        if window.used >= limits.per_window {
            tx.rollback().await?;
            return Err(AppError::RateLimited {
                retry_after: Duration::from_secs_f64(window.frees_in_secs.max(1.0)),
            });
        }
    }

    let (bytes, stored, rendered) = match known {
        Some(r) => (stored_bytes(objects, &r.object_path).await?, r, false),
        None => {
            // Rendered by one request at a time, across replicas: whoever waited finds the
            // rendering made meanwhile.
            rows::lock_render(&mut tx, key.0, key.1, key.2).await?;
            match rows::rendered(&mut *tx, key.0, key.1, key.2).await? {
                Some(r) => (stored_bytes(objects, &r.object_path).await?, r, false),
                None => {
                    let (body, hash) = packages::body(&mut *tx, t.package_id)
                        .await?
                        .ok_or_else(|| AppError::not_found("course package"))?;
                    let package: CoursePackage = serde_json::from_value(body).map_err(|e| {
                        AppError::Corrupt(format!("stored package does not parse: {e}"))
                    })?;
                    if domain::package::canonical(&package).1 != hash {
                        return Err(AppError::Corrupt(format!(
                            "package {} fails its integrity check",
                            t.package_id
                        )));
                    }
                    let bytes = render(package, format).await?;
                    let owner = format!("exports/{}", t.package_hash);
                    let s = objects
                        .put(&owner, format.extension(), bytes.clone())
                        .await
                        .map_err(|e| AppError::Internal(format!("storing an export: {e}")))?;
                    let r = Rendered {
                        object_path: s.path,
                        content_hash: s.content_hash,
                        size_bytes: s.size_bytes,
                    };
                    rows::record_rendered(&mut *tx, key.0, key.1, key.2, &r).await?;
                    let bytes: Arc<[u8]> = bytes.into();
                    hot::put(&r.object_path, &bytes);
                    (bytes, r, true)
                }
            }
        }
    };

    if let Some(a) = person {
        rows::count_export(&mut tx, t.tenant_id, a.user_id, course_id, format.as_str()).await?;
    }
    if let Requester::Learner(a) = who {
        crate::analytics::witnessed(
            &mut tx,
            &a,
            course_id,
            t.version,
            None,
            domain::analytics::EventType::ExportDownloaded,
            None,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        AuditEvent::new(format.action(), "course_package", t.package_id)
            .tenant(t.tenant_id)
            .actor(person.map(|a| a.user_id))
            .metadata(json!({
                "courseId": course_id, "version": t.version, "packageHash": t.package_hash,
                "userId": person.map(|a| a.user_id), "format": format.as_str(),
                "exportHash": stored.content_hash, "bytes": stored.size_bytes,
                "rendered": rendered, "via": match who {
                    Requester::Learner(_) => "learner",
                    Requester::Staff(..) => "staff",
                    Requester::Operator(_) => "cli",
                },
            })),
    )
    .await;
    tx.commit().await?;
    metrics::counter!("exports_served_total", "format" => format.as_str()).increment(1);
    Ok(Outcome::Sent(Exported {
        format,
        bytes,
        content_hash: stored.content_hash,
        file_name: file_name(&t.title, t.version, format),
        rendered,
        version: t.version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_ascii_slugs_with_the_version() {
        assert_eq!(
            file_name("Practical SQL: Joins & \"Windows\"", 3, Format::Pdf),
            "practical-sql-joins-windows-v3.pdf"
        );
        assert_eq!(
            file_name("Ünïcode ✓ only", 1, Format::Scorm12),
            "n-code-only-v1-scorm12.zip"
        );
        assert_eq!(file_name("✓✓", 2, Format::Pdf), "course-v2.pdf");
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let h = "ab".repeat(32);
        assert!(matches(Some(&format!("\"{h}\"")), &h));
        assert!(matches(Some(&format!("\"x\", W/\"{h}\"")), &h));
        assert!(matches(Some("*"), &h));
        assert!(!matches(Some("\"other\""), &h));
        assert!(!matches(None, &h));
    }
}
