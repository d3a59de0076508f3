//! Published packages, parsed once per process: packages never change, so each is loaded
//! once, checked against its hash, and kept with its learner JSON ready to send.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use db::packages;
use domain::CoursePackage;
use domain::package::redact_quiz;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::kit::error::WebError;

/// Packages kept in memory; beyond this the cache starts over.
const CACHE_ENTRIES: usize = 256;

/// A package loaded, checked against its hash, and prepared for learners.
pub struct Loaded {
    pub package: CoursePackage,
    pub hash: String,
    /// The whole package as learners may read it (quiz answers removed).
    pub learner_json: Bytes,
    /// Each lesson's learner JSON, by 0-based position.
    pub lesson_json: Vec<Bytes>,
}

/// Immutable packages by id.
#[derive(Default)]
pub struct PackageCache {
    entries: Mutex<HashMap<Uuid, Arc<Loaded>>>,
}

impl PackageCache {
    fn cached(&self, id: Uuid) -> Option<Arc<Loaded>> {
        self.entries.lock().ok()?.get(&id).cloned()
    }

    /// The package `id`, from memory or loaded once from the database.
    pub async fn get(&self, pool: &db::PgPool, id: Uuid) -> Result<Arc<Loaded>, WebError> {
        if let Some(hit) = self.cached(id) {
            return Ok(hit);
        }
        let (body, hash) = packages::body(pool, id)
            .await?
            .ok_or_else(|| WebError::not_found("course package"))?;
        let loaded = Arc::new(prepare(body, hash)?);
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= CACHE_ENTRIES {
                map.clear();
            }
            map.insert(id, loaded.clone());
        }
        Ok(loaded)
    }
}

fn prepare(body: Value, hash: String) -> Result<Loaded, WebError> {
    let package: CoursePackage = serde_json::from_value(body)
        .map_err(|e| WebError::Internal(anyhow::anyhow!("stored package does not parse: {e}")))?;
    let (_, actual) = domain::package::canonical(&package);
    if actual != hash {
        return Err(WebError::Internal(anyhow::anyhow!(
            "stored package fails its integrity check (hash {actual}, recorded {hash})"
        )));
    }
    let learner_json = Bytes::from(package.for_learner().to_string());
    let total = package.lessons.len();
    let lesson_json = (1..=total)
        .map(|i| Bytes::from(lesson_value(&package, i).to_string()))
        .collect();
    Ok(Loaded {
        package,
        hash,
        learner_json,
        lesson_json,
    })
}

/// One lesson as the lesson API returns it: the lesson, its quiz without answers, its
/// module, and where previous and next lead.
fn lesson_value(p: &CoursePackage, index: usize) -> Value {
    let Some((lesson, quiz)) = p.lesson(index) else {
        return Value::Null;
    };
    let mut quiz = quiz.map(|q| serde_json::to_value(q).unwrap_or_default());
    if let Some(q) = quiz.as_mut() {
        redact_quiz(q);
    }
    let module = p.module(&lesson.module_id);
    let total = p.lessons.len();
    json!({
        "courseId": p.course_id,
        "version": p.version,
        "index": index,
        "total": total,
        "module": module.map(|m| json!({ "id": m.id, "title": m.title })),
        "lesson": lesson,
        "quiz": quiz,
        "previous": (index > 1).then(|| index - 1),
        "next": (index < total).then(|| index + 1),
    })
}
