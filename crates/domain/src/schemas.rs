//! The JSON Schemas of the artifacts, generated from their types. The checked-in copies in
//! `schemas/` are what prompts embed and providers enforce; a test fails when they drift.

use schemars::JsonSchema;

use crate::content::{Brief, Lesson, Project, Quiz, Syllabus};
use crate::package::CoursePackage;

fn schema_of<T: JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
}

/// `(file name, schema)` for every artifact.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("brief.schema.json", schema_of::<Brief>()),
        ("syllabus.schema.json", schema_of::<Syllabus>()),
        ("lesson.schema.json", schema_of::<Lesson>()),
        ("quiz.schema.json", schema_of::<Quiz>()),
        ("project.schema.json", schema_of::<Project>()),
        ("course-package.schema.json", schema_of::<CoursePackage>()),
    ]
}

/// A schema as its checked-in file holds it: pretty JSON with a final newline.
pub fn render(schema: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set `UPDATE_SCHEMAS=1` to rewrite the files after changing a type.
    #[test]
    fn checked_in_schemas_match_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
        for (name, schema) in all() {
            let path = dir.join(name);
            let want = render(&schema);
            if update {
                std::fs::create_dir_all(&dir).expect("schemas dir");
                std::fs::write(&path, &want).expect("write schema");
                continue;
            }
            let have = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!("{} is missing; run with UPDATE_SCHEMAS=1", path.display())
            });
            assert!(
                have == want,
                "{name} has drifted from its type; rerun with UPDATE_SCHEMAS=1 and commit"
            );
        }
    }

    #[test]
    fn quiz_schema_pins_four_options_and_the_answer_range() {
        let quiz = schema_of::<Quiz>();
        let q = &quiz["$defs"]["Question"]["properties"];
        assert_eq!(
            (
                q["options"]["minItems"].as_u64(),
                q["options"]["maxItems"].as_u64()
            ),
            (Some(4), Some(4))
        );
        assert_eq!(q["correctIndex"]["maximum"].as_u64(), Some(3));
        assert_eq!(quiz["additionalProperties"], serde_json::json!(false));
    }
}
