//! The course both export suites render: drafted by the offline provider and built into a
//! package by the real builder, every part approved.

use domain::CoursePackage;
use domain::content::{Brief, Lesson};
use domain::offline;
use domain::package::{Part, PartKind, PartStatus, build};
use sha2::{Digest, Sha256};

fn part(kind: PartKind, ref_id: &str, body: &impl serde::Serialize) -> Part {
    let body = serde_json::to_value(body).expect("body");
    Part {
        artifact_id: format!("{}-{ref_id}-1", kind.as_str().to_lowercase()),
        kind,
        ref_id: ref_id.into(),
        version: 1,
        status: PartStatus::Approved,
        prompt_version: Some("offline@1".into()),
        content_hash: hex::encode(Sha256::digest(domain::canonical_json(&body).as_bytes())),
        body,
    }
}

/// A `hours`-hour course; `tweak` may change the first lesson before it is built.
pub fn offline_package(hours: u32, tweak: impl Fn(&mut Lesson)) -> CoursePackage {
    let brief: Brief = serde_json::from_value(serde_json::json!({
        "title": "Practical SQL for analysts",
        "audience": "Business analysts new to databases",
        "level": "beginner",
        "timeBudgetHours": hours,
        "teachingStyle": "hands-on",
        "constraints": ["practical"]
    }))
    .expect("brief");
    let syllabus = offline::syllabus(&brief, "2026-01-01T00:00:00Z");
    let mut parts = Vec::new();
    let mut first = true;
    for module in &syllabus.modules {
        for planned in &module.lessons {
            let mut lesson = offline::lesson(&syllabus, module, planned);
            if first {
                tweak(&mut lesson);
                first = false;
            }
            let quiz = offline::quiz(planned, &lesson);
            parts.push(part(PartKind::Lesson, &planned.id, &lesson));
            parts.push(part(PartKind::Quiz, &planned.id, &quiz));
        }
        parts.push(part(
            PartKind::Project,
            &module.id,
            &offline::project(module),
        ));
    }
    let syllabus = part(PartKind::Syllabus, "syllabus", &syllabus);
    build("course-1", &syllabus, &parts, 3)
        .expect("the offline course builds")
        .package
}
