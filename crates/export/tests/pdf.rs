//! The PDF book, read back the way a person's tools read it: poppler's `pdftotext`,
//! `pdfinfo` and `pdftoppm`, and `qpdf --json` for the bookmarks (Debian packages that
//! `scripts/test` installs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod common;

use domain::CoursePackage;

/// A package as the offline drafter and the real builder make it.
fn course(hours: u32) -> CoursePackage {
    common::offline_package(hours, |_| {})
}

fn exports_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp; the pictures go to <target>/exports.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("exports");
    std::fs::create_dir_all(&dir).expect("exports dir");
    dir
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = exports_dir().join(name);
    std::fs::write(&path, bytes).expect("write pdf");
    path
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test does): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn text_of(pdf: &Path, pages: Option<(usize, usize)>) -> String {
    let path = pdf.to_str().expect("path");
    match pages {
        Some((f, l)) => run(
            "pdftotext",
            &[
                "-layout",
                "-f",
                &f.to_string(),
                "-l",
                &l.to_string(),
                path,
                "-",
            ],
        ),
        None => run("pdftotext", &["-layout", path, "-"]),
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn page_count(pdf: &Path) -> usize {
    let info = run("pdfinfo", &[pdf.to_str().expect("path")]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("Pages line")
        .trim()
        .parse()
        .expect("page count")
}

/// The page number the contents gives for an entry.
fn page_in_contents(contents: &str, entry: &str) -> usize {
    let line = contents
        .lines()
        .find(|l| l.contains(entry))
        .unwrap_or_else(|| panic!("{entry} in the contents:\n{contents}"));
    line.split_whitespace()
        .last()
        // typst puts a word joiner (U+2060) before the number.
        .and_then(|n| n.trim_start_matches('\u{2060}').parse().ok())
        .unwrap_or_else(|| panic!("a page number ends {line:?}"))
}

#[test]
fn the_book_has_a_contents_with_true_page_numbers_and_every_lesson() {
    let p = course(6);
    assert!(
        p.lessons.len() >= 6,
        "a realistic package: {}",
        p.lessons.len()
    );
    let path = write("book.pdf", &export::pdf::pdf(&p).expect("renders"));
    let pages = page_count(&path);
    assert!(pages > 5, "a book, not a leaflet: {pages} pages");

    let info = run("pdfinfo", &[path.to_str().expect("path")]);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Title:") && l.contains(&p.title)),
        "document title metadata: {info}"
    );
    assert!(
        info.lines()
            .any(|l| l.starts_with("Tagged:") && l.trim_end().ends_with("yes")),
        "tagged PDF: {info}"
    );

    let title_page = text_of(&path, Some((1, 1)));
    for expected in [
        p.title.as_str(),
        p.audience.as_str(),
        "Beginner",
        "Version 3",
    ] {
        assert!(
            title_page.contains(expected),
            "{expected} on the title page: {title_page}"
        );
    }

    // The contents: every lesson with a page number, and that page really holds the lesson.
    let contents = text_of(&path, Some((2, 2)));
    assert!(contents.contains("Contents"), "{contents}");
    for lesson in &p.lessons {
        let page = page_in_contents(&contents, &lesson.title);
        assert!(page > 2 && page <= pages, "{} on page {page}", lesson.title);
        let there = text_of(&path, Some((page, page)));
        assert!(
            there.contains(&lesson.title),
            "page {page} holds {}:\n{there}",
            lesson.title
        );
    }
    for module in &p.modules {
        assert!(contents.contains(&module.title), "{}", module.title);
    }
    assert!(contents.contains("Answer key"), "{contents}");

    // The body: objectives, quiz, rubric, answer key, running header and "n / N" footer.
    let all = text_of(&path, None);
    for lesson in &p.lessons {
        assert!(all.matches(&lesson.title).count() >= 3, "{}", lesson.title);
    }
    for heading in [
        "Objectives",
        "Overview",
        "Concepts",
        "Key takeaways",
        "Practice",
        "Quiz",
        "Rubric",
        "Criterion",
        "Weight",
    ] {
        assert!(all.contains(heading), "{heading}");
    }
    assert!(all.contains(&format!("3 / {pages}")), "n / N page numbers");
    let last = text_of(&path, Some((pages, pages)));
    assert!(
        last.contains(&format!("{pages} / {pages}")),
        "last page number"
    );
    // The answer key names each question's correct option, with its letter.
    let key_page = page_in_contents(&contents, "Answer key");
    let key = squash(&text_of(&path, Some((key_page, pages))));
    assert!(
        key.starts_with("Answer key") || key.contains(" Answer key "),
        "{key}"
    );
    let q = &p.quizzes[0].questions[0];
    let letter = ["A", "B", "C", "D"][usize::from(q.correct_index)];
    let answer = format!("{letter}. {}", q.options[usize::from(q.correct_index)]);
    assert!(key.contains(&squash(&answer)), "{answer} in the key: {key}");
    // A running header with the course and the module on a lesson page.
    let page_of_module2 = text_of(&path, Some((pages - 2, pages - 2)));
    assert!(page_of_module2.contains(&p.title), "running header");

    // Pictures of the first pages for a person to look at.
    let prefix = exports_dir().join("book-page");
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "70",
            "-f",
            "1",
            "-l",
            "3",
            path.to_str().expect("path"),
            prefix.to_str().expect("path"),
        ],
    );
    let pngs = std::fs::read_dir(exports_dir())
        .expect("exports")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("book-page"))
        .count();
    assert!(pngs >= 3, "three pages as PNG in target/exports");
}

#[test]
fn bookmarks_mirror_modules_and_lessons() {
    let p = course(6);
    let path = write("book-outline.pdf", &export::pdf::pdf(&p).expect("renders"));
    let json = run(
        "qpdf",
        &[
            "--json",
            "--json-key=outlines",
            path.to_str().expect("path"),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("qpdf json");
    let top = v["outlines"].as_array().expect("outlines");
    let title = |o: &serde_json::Value| o["title"].as_str().expect("title").to_owned();
    // Modules, then the answer key; numbering may lead a title.
    assert_eq!(top.len(), p.modules.len() + 1, "{json}");
    assert!(title(top.last().expect("last")).ends_with("Answer key"));
    for (o, m) in top.iter().zip(&p.modules) {
        assert!(title(o).ends_with(&m.title), "{} vs {}", title(o), m.title);
        let kids: Vec<String> = o["kids"]
            .as_array()
            .expect("kids")
            .iter()
            .map(title)
            .collect();
        let mut expected: Vec<String> = m
            .lesson_ids
            .iter()
            .map(|id| {
                p.lessons
                    .iter()
                    .find(|l| &l.lesson_id == id)
                    .expect("lesson")
                    .title
                    .clone()
            })
            .collect();
        expected.push(p.project(&m.id).expect("project").title.clone());
        assert_eq!(kids.len(), expected.len(), "{kids:?}");
        for (k, e) in kids.iter().zip(&expected) {
            assert!(k.ends_with(e.as_str()), "{k} vs {e}");
        }
        for kid in o["kids"].as_array().expect("kids") {
            assert!(
                kid["kids"].as_array().is_none_or(|k| k.is_empty()),
                "no bookmarks below lessons"
            );
        }
    }
}

#[test]
fn markup_characters_in_a_lesson_print_literally() {
    let mut p = course(6);
    let nasty = "Tricky #set [x] $y$ <script>alert(1)</script> @ref *b* _i_";
    p.lessons[0].explanation.concepts[0].title = nasty.into();
    p.lessons[0].key_takeaways[0] = "#pagebreak() ]) [ #{ panic() } \\ // not a comment".into();
    let path = write("book-literal.pdf", &export::pdf::pdf(&p).expect("renders"));
    let all = squash(&text_of(&path, None));
    assert!(all.contains(nasty), "{nasty} in:\n{all}");
    assert!(
        all.contains("#pagebreak() ]) [ #{ panic() } \\ // not a comment"),
        "{all}"
    );
}

#[test]
fn the_same_package_gives_the_same_bytes() {
    let p = course(6);
    let a = export::pdf::pdf(&p).expect("renders");
    let b = export::pdf::pdf(&p.clone()).expect("renders");
    assert!(a.starts_with(b"%PDF-"));
    assert!(a == b, "byte-identical output");
    let mut other = p.clone();
    other.title.push_str(" II");
    assert!(
        export::pdf::pdf(&other).expect("renders") != a,
        "a different package gives a different book"
    );
}

#[test]
fn forty_lessons_render_time() {
    let p = course(30);
    assert_eq!(p.lessons.len(), 40, "8 modules x 5 lessons");
    let start = Instant::now();
    let bytes = export::pdf::pdf(&p).expect("renders");
    let took = start.elapsed();
    let path = write("book-40.pdf", &bytes);
    eprintln!(
        "40-lesson book: {} pages, {} bytes, rendered in {took:?}",
        page_count(&path),
        bytes.len()
    );
}
