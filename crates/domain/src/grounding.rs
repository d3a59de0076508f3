//! The grounding rule: a quiz tests what its lesson says. Each question's correct option and
//! explanation must share significant words with the lesson's overview, concepts (titles,
//! explanations, examples) and key takeaways. "Significant" is deliberately plain: words of
//! four or more letters, lower-cased, a trailing plural `s` dropped, minus English function
//! words and the words every quiz uses about itself ("lesson", "correct", "answer", …).
//! In another language the function words are not filtered, so the rule is weaker there,
//! never stricter.

use std::collections::{BTreeSet, HashSet};

use crate::content::{Lesson, Quiz};
use crate::validate::Violation;

/// Distinct significant words a question's answer must share with its lesson.
pub const MIN_SHARED_WORDS: usize = 2;

const STOPWORDS: &[&str] = &[
    // English function words of four or more letters.
    "about",
    "above",
    "after",
    "again",
    "against",
    "also",
    "always",
    "another",
    "anything",
    "around",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "cannot",
    "could",
    "does",
    "doing",
    "done",
    "down",
    "during",
    "each",
    "either",
    "else",
    "even",
    "ever",
    "every",
    "from",
    "further",
    "have",
    "having",
    "here",
    "however",
    "into",
    "itself",
    "just",
    "least",
    "less",
    "like",
    "made",
    "make",
    "makes",
    "many",
    "more",
    "most",
    "much",
    "must",
    "near",
    "need",
    "needs",
    "neither",
    "never",
    "none",
    "only",
    "other",
    "others",
    "ought",
    "over",
    "quite",
    "rather",
    "same",
    "should",
    "since",
    "some",
    "something",
    "such",
    "than",
    "that",
    "their",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "together",
    "under",
    "unless",
    "until",
    "upon",
    "very",
    "want",
    "well",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "whom",
    "whose",
    "will",
    "with",
    "within",
    "without",
    "would",
    "your",
    "yours",
    "yourself",
    // What quizzes and lessons say about themselves, whatever their subject.
    "answer",
    "answers",
    "because",
    "concept",
    "correct",
    "course",
    "explain",
    "explains",
    "explanation",
    "incorrect",
    "learner",
    "lesson",
    "module",
    "objective",
    "option",
    "question",
    "reading",
    "right",
    "statement",
    "true",
    "false",
    "wrong",
    "offline",
    "draft",
    "part",
];

/// The significant words of `text`.
pub fn content_words(text: &str) -> BTreeSet<String> {
    let stop: HashSet<&str> = STOPWORDS.iter().copied().collect();
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(|w| {
            let w = w.to_lowercase();
            // A plural and its singular count as one word ("joins" and "join").
            match w.strip_suffix('s') {
                Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem.to_owned(),
                _ => w,
            }
        })
        .filter(|w| !stop.contains(w.as_str()) && !w.chars().all(|c| c.is_numeric()))
        .collect()
}

/// The significant words of what a lesson teaches.
pub fn lesson_words(lesson: &Lesson) -> BTreeSet<String> {
    let e = &lesson.explanation;
    let mut texts: Vec<&str> = vec![&e.overview];
    for c in &e.concepts {
        texts.push(&c.title);
        texts.push(&c.explanation);
        if let Some(x) = &c.example {
            texts.push(x);
        }
    }
    texts.extend(lesson.key_takeaways.iter().map(String::as_str));
    texts.iter().flat_map(|t| content_words(t)).collect()
}

/// A violation for every question whose correct option and explanation share fewer than
/// [`MIN_SHARED_WORDS`] significant words with `lesson`.
pub fn ungrounded(quiz: &Quiz, lesson: &Lesson) -> Vec<Violation> {
    let taught = lesson_words(lesson);
    quiz.questions
        .iter()
        .enumerate()
        .filter_map(|(q, question)| {
            let correct = question
                .options
                .get(question.correct_index as usize)
                .map_or("", String::as_str);
            let said = content_words(&format!("{correct} {}", question.explanation));
            let shared: Vec<&String> = said.intersection(&taught).collect();
            (shared.len() < MIN_SHARED_WORDS).then(|| Violation {
                path: format!("/questions/{q}"),
                message: format!(
                    "the correct option and explanation are not grounded in the lesson: they share {} significant word(s) with its concepts, explanations and takeaways{} (at least {MIN_SHARED_WORDS} needed); ask about what the lesson teaches and explain the answer in its terms",
                    shared.len(),
                    if shared.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({})",
                            shared.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    }
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Brief, Level, Question};
    use crate::offline;

    fn lesson_and_quiz() -> (crate::content::PlannedLesson, Lesson, Quiz) {
        let brief = Brief {
            title: "Practical SQL for analysts".into(),
            audience: "Business analysts new to databases".into(),
            level: Level::Beginner,
            time_budget_hours: 6,
            teaching_style: "hands-on".into(),
            constraints: vec![],
            learning_outcomes: vec!["Join two tables on a shared key".into()],
            description: None,
            prerequisites: vec![],
            language: "en".into(),
            preferred_modules: None,
        };
        let s = offline::syllabus(&brief, "t");
        let (m, p) = (&s.modules[0], &s.modules[0].lessons[0]);
        let mut lesson = offline::lesson(&s, m, p);
        lesson.explanation.concepts[0].explanation = "An inner join keeps only the rows whose key appears in both tables; a left join keeps every row of the left table.".into();
        let quiz = offline::quiz(p, &lesson);
        (p.clone(), lesson, quiz)
    }

    #[test]
    fn content_words_drop_function_words_short_words_and_plurals() {
        let w = content_words("Which of these joins keeps the rows of BOTH tables? The join.");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["join", "keep", "row", "table"]
        );
    }

    #[test]
    fn an_offline_quiz_is_grounded_in_its_lesson() {
        let (p, lesson, quiz) = lesson_and_quiz();
        assert_eq!(ungrounded(&quiz, &lesson), vec![]);
        quiz.validate_grounded(&p, &lesson)
            .expect("the offline quiz passes every rule");
    }

    #[test]
    fn a_question_about_something_the_lesson_never_says_is_reported() {
        let (p, lesson, mut quiz) = lesson_and_quiz();
        quiz.questions[1] = Question {
            question: "Which city hosted the 1900 Olympic Games?".into(),
            options: vec![
                "Paris, in France".into(),
                "London".into(),
                "Athens".into(),
                "Stockholm".into(),
            ],
            correct_index: 0,
            explanation: "Paris hosted them alongside its World Fair.".into(),
        };
        let v = ungrounded(&quiz, &lesson);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].path, "/questions/1");
        assert!(v[0].message.contains("share 0"), "{}", v[0].message);
        let err = quiz.validate_grounded(&p, &lesson).expect_err("ungrounded");
        assert!(err.0.iter().any(|x| x.path == "/questions/1"), "{err}");
    }

    #[test]
    fn one_shared_word_is_not_enough_and_two_are() {
        let (_, lesson, mut quiz) = lesson_and_quiz();
        let q = &mut quiz.questions[0];
        let c = q.correct_index as usize;
        q.options[c] = "Only the tables".into();
        q.explanation = "Paris hosted the Olympic Games in 1900.".into();
        let v = ungrounded(&quiz, &lesson);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].message.contains("share 1 significant word(s)"),
            "{v:?}"
        );
        let q = &mut quiz.questions[0];
        q.explanation = "An inner join drops rows missing from either side.".into();
        assert_eq!(ungrounded(&quiz, &lesson), vec![]);
    }
}
