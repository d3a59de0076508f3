//! The prompt contracts in `prompts/`, one per artifact plus the repair prompt. Each file
//! starts with `version: NAME/vN`; the version is recorded on every artifact it produced.

/// One prompt template.
#[derive(Debug, Clone, Copy)]
pub struct Contract {
    pub name: &'static str,
    template: &'static str,
}

pub const SYLLABUS: Contract = Contract {
    name: "syllabus",
    template: include_str!("../../../prompts/syllabus.md"),
};
pub const LESSON: Contract = Contract {
    name: "lesson",
    template: include_str!("../../../prompts/lesson.md"),
};
pub const QUIZ: Contract = Contract {
    name: "quiz",
    template: include_str!("../../../prompts/quiz.md"),
};
pub const PROJECT: Contract = Contract {
    name: "project",
    template: include_str!("../../../prompts/project.md"),
};
pub const REPAIR: Contract = Contract {
    name: "repair",
    template: include_str!("../../../prompts/repair.md"),
};

impl Contract {
    /// `NAME/vN` from the file's first line.
    pub fn version(&self) -> &'static str {
        self.template
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("version:"))
            .map_or("unversioned", str::trim)
    }

    fn body(&self) -> &'static str {
        self.template
            .split_once("\n---\n")
            .map_or(self.template, |(_, b)| b)
    }

    /// The template with each `{{key}}` replaced by its value.
    pub fn render(&self, vars: &[(&str, &str)]) -> String {
        let mut out = self.body().to_owned();
        for (k, v) in vars {
            out = out.replace(&format!("{{{{{k}}}}}"), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_is_versioned_and_renders_every_placeholder() {
        for c in [SYLLABUS, LESSON, QUIZ, PROJECT] {
            assert!(
                c.version().starts_with(&format!("{}/v", c.name)),
                "{}",
                c.version()
            );
            let out = c.render(&[("schema", "SCHEMA"), ("input", "INPUT"), ("now", "NOW")]);
            assert!(
                out.contains("SCHEMA") && out.contains("INPUT"),
                "{}",
                c.name
            );
            assert!(!out.contains("{{"), "{} left a placeholder", c.name);
            assert!(
                out.contains("JSON object and\nnothing else")
                    || out.contains("JSON object\nand nothing else")
                    || out.contains("one JSON object"),
                "{}",
                c.name
            );
            assert!(!out.starts_with("version:"), "the header is not sent");
        }
        let r = REPAIR.render(&[("violations", "/title: too short"), ("previous", "{}")]);
        assert!(r.contains("/title: too short") && r.contains("{}") && !r.contains("{{"));
        assert_eq!(REPAIR.version(), "repair/v1");
    }
}
