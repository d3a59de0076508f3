//! The SCORM 1.2 package of a realistic offline-drafted course: valid against the vendored
//! XSDs, passing our own checks (which catch what the XSDs cannot), deterministic, escaped,
//! offline, and free of SCORM 2004.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use domain::CoursePackage;
use domain::content::Lesson;
use export::checks::check_scorm12;
use export::scorm12;

const NASTY: &str = "<script>alert(1)</script> & \"quotes\" # [ ] $ @";

/// A course drafted by the offline provider, built into a package; `tweak` may change the
/// first lesson before building.
fn package_with(tweak: impl Fn(&mut Lesson)) -> CoursePackage {
    common::offline_package(6, tweak)
}

fn package() -> CoursePackage {
    package_with(|_| {})
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let name = entry.name().expect("name").into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read entry");
        out.insert(name, data);
    }
    out
}

fn text(files: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(
        files
            .get(path)
            .unwrap_or_else(|| panic!("{path} in zip"))
            .clone(),
    )
    .expect("utf-8")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scorm");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

#[test]
fn the_manifest_validates_against_the_scorm_1_2_xsds() {
    let files = unzip(&scorm12(&package()));
    let manifest = scratch("imsmanifest.xml");
    std::fs::write(&manifest, text(&files, "imsmanifest.xml")).expect("write manifest");
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("xsd/scorm12/all.xsd");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&manifest)
        .output()
        .expect("xmllint (Debian's libxml2-utils) is installed");
    assert!(
        out.status.success(),
        "xmllint rejects the manifest:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("validates"));

    // And a manifest that breaks the XSD fails, so the call above is really validating.
    let broken = text(&files, "imsmanifest.xml").replace("<organization ", "<organisation ");
    let broken = broken.replace("</organization>", "</organisation>");
    std::fs::write(&manifest, broken).expect("write manifest");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&manifest)
        .output()
        .expect("xmllint");
    assert!(!out.status.success(), "xmllint must reject <organisation>");
}

#[test]
fn the_package_has_one_sco_per_lesson_quiz_and_project_and_a_shared_asset() {
    let p = package();
    let zip = scorm12(&p);
    assert_eq!(check_scorm12(&zip), Ok(()));
    let files = unzip(&zip);
    let manifest = text(&files, "imsmanifest.xml");
    assert!(manifest.contains("<schema>ADL SCORM</schema>"));
    assert!(manifest.contains("<schemaversion>1.2</schemaversion>"));
    let scos = manifest.matches("adlcp:scormtype=\"sco\"").count();
    assert_eq!(
        scos,
        p.lessons.len() + p.quizzes.len() + p.projects.len(),
        "{manifest}"
    );
    assert_eq!(manifest.matches("adlcp:scormtype=\"asset\"").count(), 1);
    assert_eq!(
        manifest
            .matches("<adlcp:masteryscore>80</adlcp:masteryscore>")
            .count(),
        p.quizzes.len()
    );
    assert_eq!(
        manifest
            .matches("<dependency identifierref=\"RES-SHARED\"/>")
            .count(),
        scos
    );
    // Modules become items holding their lessons' items, in course order.
    for (m, module) in p.modules.iter().enumerate() {
        assert!(manifest.contains(&format!("<item identifier=\"ITEM-M{}\"", m + 1)));
        assert!(manifest.contains(&format!("<title>{}</title>", module.title)));
    }
    let first = manifest.find(&p.lessons[0].title).expect("first lesson");
    let last = manifest
        .find(&p.lessons[p.lessons.len() - 1].title)
        .expect("last lesson");
    assert!(first < last);
    // Lesson pages carry the whole lesson and an end marker.
    let lesson = text(&files, "sco/lesson-001.html");
    let l = &p.lessons[0];
    for part in [
        l.objectives[0].as_str(),
        l.explanation.concepts[0].title.as_str(),
        l.key_takeaways[0].as_str(),
        "Practice",
        "id=\"sco-end\"",
        "../shared/scorm12.js",
    ] {
        assert!(lesson.contains(part), "lesson page lacks {part:?}");
    }
    // Quiz pages: radio options and the answer key as data.
    let quiz = text(&files, "sco/quiz-001.html");
    let q = &p.quizzes[0];
    assert_eq!(
        quiz.matches("type=\"radio\"").count(),
        q.questions.len() * 4
    );
    let key: Vec<String> = q
        .questions
        .iter()
        .map(|q| q.correct_index.to_string())
        .collect();
    assert!(quiz.contains(&format!(
        "<script type=\"application/json\" id=\"sco-key\">[{}]</script>",
        key.join(",")
    )));
    for (path, data) in &files {
        assert!(!path.starts_with('/') && !path.contains('\\'), "{path}");
        assert!(!data.is_empty(), "{path} is empty");
    }
}

#[test]
fn the_same_package_gives_the_same_bytes() {
    let a = scorm12(&package());
    let b = scorm12(&package());
    assert_eq!(a, b);
    let mut archive = zip::ZipArchive::new(Cursor::new(&a)).expect("zip");
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("name").into_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names.len(), sorted.len());
    for i in 0..archive.len() {
        let entry = archive.by_index(i).expect("entry");
        let t = entry.last_modified().expect("a timestamp");
        assert_eq!((t.year(), t.month(), t.day()), (1980, 1, 1));
        assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
    }
    // Entries are stored in path order.
    let in_order: Vec<String> = (0..archive.len())
        .map(|i| {
            archive
                .by_index(i)
                .expect("entry")
                .name()
                .expect("name")
                .into_owned()
        })
        .collect();
    assert_eq!(in_order, sorted);
    // A different package gives different bytes.
    let c = scorm12(&package_with(|l| {
        l.title = "Another first lesson title".into()
    }));
    assert_ne!(a, c);
}

#[test]
fn the_checks_catch_what_the_xsd_cannot() {
    let p = package();
    let files = scorm12::files(&p);
    assert_eq!(check_scorm12(&scorm12::zip(&files)), Ok(()));

    let with_manifest = |edit: &dyn Fn(&str) -> String| {
        let mut f = files.clone();
        let m = String::from_utf8(f["imsmanifest.xml"].clone()).expect("utf-8");
        let edited = edit(&m);
        assert_ne!(edited, m, "the edit changes the manifest");
        f.insert("imsmanifest.xml".into(), edited.into_bytes());
        check_scorm12(&scorm12::zip(&f)).expect_err("the broken package fails")
    };
    let dangling = with_manifest(&|m| {
        m.replacen(
            "identifierref=\"RES-L1\"",
            "identifierref=\"RES-NOWHERE\"",
            1,
        )
    });
    assert!(
        dangling.iter().any(|e| e.contains("RES-NOWHERE")),
        "{dangling:?}"
    );
    let dep = with_manifest(&|m| {
        m.replacen(
            "<dependency identifierref=\"RES-SHARED\"/>",
            "<dependency identifierref=\"RES-GONE\"/>",
            1,
        )
    });
    assert!(dep.iter().any(|e| e.contains("RES-GONE")), "{dep:?}");
    let org = with_manifest(&|m| m.replace("default=\"ORG-1\"", "default=\"ORG-2\""));
    assert!(org.iter().any(|e| e.contains("ORG-2")), "{org:?}");
    let version = with_manifest(&|m| {
        m.replace(
            "<schemaversion>1.2</schemaversion>",
            "<schemaversion>2004 4th Edition</schemaversion>",
        )
    });
    assert!(
        version.iter().any(|e| e.contains("schemaversion")),
        "{version:?}"
    );

    // A file the manifest lists but the ZIP lacks.
    let mut missing = files.clone();
    missing.remove("sco/quiz-001.html").expect("the quiz page");
    let errors = check_scorm12(&scorm12::zip(&missing)).expect_err("missing file fails");
    assert!(
        errors.iter().any(|e| e.contains("sco/quiz-001.html")),
        "{errors:?}"
    );
    // A file in the ZIP the manifest does not list.
    let mut extra = files.clone();
    extra.insert("sco/stray.html".into(), b"<p>stray</p>".to_vec());
    let errors = check_scorm12(&scorm12::zip(&extra)).expect_err("unlisted file fails");
    assert!(
        errors.iter().any(|e| e.contains("sco/stray.html")),
        "{errors:?}"
    );
    // No manifest at all, and not a zip at all.
    let mut none = files.clone();
    none.remove("imsmanifest.xml");
    assert!(check_scorm12(&scorm12::zip(&none)).is_err());
    assert!(check_scorm12(b"not a zip").is_err());
}

#[test]
fn lesson_text_is_escaped_in_its_sco() {
    let p = package_with(|l| {
        l.title = format!("Lesson {NASTY}");
        l.explanation.overview = format!("{NASTY} {}", l.explanation.overview);
        l.explanation.concepts[0].example = Some(NASTY.into());
        l.key_takeaways[0] = NASTY.into();
    });
    let zip = scorm12(&p);
    assert_eq!(check_scorm12(&zip), Ok(()));
    let files = unzip(&zip);
    let page = text(&files, "sco/lesson-001.html");
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; # [ ] $ @";
    assert!(
        page.matches(escaped).count() >= 4,
        "title, overview, example, takeaway: {page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    // The manifest's title too.
    assert!(text(&files, "imsmanifest.xml").contains(&format!("<title>Lesson {escaped}</title>")));
    // The quiz built from that lesson quotes it escaped, if at all.
    assert!(!text(&files, "sco/quiz-001.html").contains("<script>alert"));
}

#[test]
fn nothing_is_fetched_from_the_web_and_nothing_is_scorm_2004() {
    let files = unzip(&scorm12(&package()));
    for (path, data) in &files {
        let mut t = String::from_utf8(data.clone()).expect("utf-8");
        if path == "imsmanifest.xml" {
            // Namespace names and schema locations on the root element are identifiers, not
            // requests: drop those attribute values, and check everything else.
            let root_end = t
                .find("<manifest")
                .and_then(|i| t[i..].find('>').map(|j| i + j));
            let root_end = root_end.expect("a manifest element");
            let (root, rest) = t.split_at(root_end);
            let mut kept = String::new();
            let pieces: Vec<&str> = root.split('"').collect();
            for (i, piece) in pieces.iter().enumerate() {
                let name = if i % 2 == 1 {
                    pieces[i - 1].trim().rsplit(char::is_whitespace).next()
                } else {
                    None
                };
                let identifier =
                    name.is_some_and(|n| n.starts_with("xmlns") || n == "xsi:schemaLocation=");
                if !identifier {
                    kept.push_str(piece);
                }
            }
            assert_ne!(kept, root, "the root names its namespaces");
            t = kept + rest;
        }
        assert!(
            !t.contains("http://") && !t.contains("https://") && !t.contains("//cdn"),
            "{path} names a URL"
        );
        for s2004 in [
            "API_1484_11",
            "cmi.completion_status",
            "cmi.success_status",
            "adlseq",
            "imsss",
        ] {
            assert!(!t.contains(s2004), "{path} mentions SCORM 2004's {s2004}");
        }
    }
    let js = text(&files, "shared/scorm12.js");
    for call in [
        "LMSInitialize(\"\")",
        "LMSCommit(\"\")",
        "LMSFinish(\"\")",
        "win.opener",
        "steps < 500",
    ] {
        assert!(js.contains(call), "the runtime lacks {call}");
    }
}

/// The shared runtime run in Node against a recording fake LMS: discovery through parents and
/// the opener, the order of calls of a quiz and of a suspended lesson, and suspend_data size.
#[test]
fn the_runtime_talks_scorm_1_2_to_a_fake_lms() {
    let files = unzip(&scorm12(&package()));
    let js = scratch("scorm12.js");
    std::fs::write(&js, text(&files, "shared/scorm12.js")).expect("write js");
    let script = format!(
        r#"
const rt = require({js:?});
const assert = require("assert");
function lms(values) {{
  const calls = [];
  return {{
    calls,
    LMSInitialize(a) {{ calls.push(["init", a]); return "true"; }},
    LMSGetValue(k) {{ calls.push(["get", k]); return values[k] || ""; }},
    LMSSetValue(k, v) {{ calls.push(["set", k, v]); values[k] = v; return "true"; }},
    LMSCommit(a) {{ calls.push(["commit", a]); return "true"; }},
    LMSFinish(a) {{ calls.push(["finish", a]); return "true"; }},
    LMSGetLastError() {{ return "0"; }},
  }};
}}
// Discovery: three frames up, then through the opener's parent.
const top = {{ API: lms({{}}) }}; top.parent = top;
let w = top; for (let i = 0; i < 3; i++) {{ const c = {{ parent: w }}; w = c; }}
assert.strictEqual(rt.findAPI(w), top.API);
const alone = {{}}; alone.parent = alone;
assert.strictEqual(rt.findAPI(alone), null);
const popup = {{ opener: {{ parent: top }} }}; popup.parent = popup;
assert.strictEqual(rt.findAPI(popup), top.API);
let deep = top; for (let i = 0; i < 600; i++) {{ deep = {{ parent: deep }}; }}
assert.strictEqual(rt.findAPI(deep), null, "gives up after 500 parents");

// A quiz: score, min, max, then status against the mastery score, then commit and finish.
const q = lms({{ "cmi.core.lesson_status": "not attempted" }});
let s = new rt.Session(q, 0);
assert.ok(s.start());
const key = [1, 0, 2, 3, 1];
const score = rt.grade([1, 0, 2, 3, 0], key);
assert.strictEqual(score, 80);
s.suspend(rt.encodeAnswers([1, 0, 2, 3, 0]));
s.score(score, s.mastery(80));
s.finish(61000);
const sets = q.calls.filter(c => c[0] !== "get").map(c => c.slice(0, 3).join(" "));
assert.deepStrictEqual(sets, [
  "init ",
  "set cmi.core.lesson_status incomplete",
  "set cmi.suspend_data a=1.0.2.3.0",
  "set cmi.core.score.raw 80",
  "set cmi.core.score.min 0",
  "set cmi.core.score.max 100",
  "set cmi.core.lesson_status passed",
  "set cmi.core.exit ",
  "set cmi.core.session_time 0000:01:01.00",
  "commit ",
  "finish ",
]);
// The LMS's mastery score wins over ours, and a low score fails.
const f = lms({{ "cmi.student_data.mastery_score": "90" }});
s = new rt.Session(f, 0); s.start();
s.score(rt.grade([1, 0, 2, 3, 0], key), s.mastery(80));
assert.strictEqual(f.calls.filter(c => c[1] === "cmi.core.lesson_status").pop()[2], "failed");

// A lesson left before its end: incomplete, exit suspend; reaching the end: completed, exit "".
const l = lms({{}});
s = new rt.Session(l, 0); s.start(); s.suspend("y=1200"); s.finish(1000);
assert.ok(l.calls.some(c => c[1] === "cmi.core.exit" && c[2] === "suspend"));
assert.ok(!l.calls.some(c => c[2] === "completed"));
const done = lms({{}});
s = new rt.Session(done, 0); s.start(); s.complete(); s.finish(1000);
assert.ok(done.calls.some(c => c[1] === "cmi.core.lesson_status" && c[2] === "completed"));
assert.ok(done.calls.some(c => c[1] === "cmi.core.exit" && c[2] === ""));
assert.strictEqual(done.calls.filter(c => c[0] === "finish").length, 1);
s.finish(2000);
assert.strictEqual(done.calls.filter(c => c[0] === "finish").length, 1, "finishes once");

// suspend_data never reaches 4096 characters.
assert.strictEqual(rt.SUSPEND_MAX, {max});
assert.strictEqual(rt.fitSuspend("x".repeat(4095)).length, 4095);
assert.strictEqual(rt.fitSuspend("x".repeat(4096)), "");
const big = lms({{}});
s = new rt.Session(big, 0); s.start(); s.suspend("y".repeat(10000));
assert.ok(big.calls.filter(c => c[1] === "cmi.suspend_data").every(c => c[2].length < 4096));
// The largest quiz (20 questions) fits with room to spare, and round-trips.
const answers = Array.from({{ length: 20 }}, (_, i) => i % 4);
assert.ok(rt.encodeAnswers(answers).length < 100);
assert.deepStrictEqual(rt.decodeAnswers(rt.encodeAnswers(answers), 20), answers);
assert.deepStrictEqual(rt.decodeAnswers("a=1.-.3", 3), [1, null, 3]);
assert.deepStrictEqual(rt.decodeAnswers("garbage", 2), [null, null]);
console.log("runtime ok");
"#,
        js = js.display().to_string(),
        max = scorm12::SUSPEND_DATA_MAX,
    );
    let out = Command::new("node")
        .arg("-e")
        .arg(&script)
        .output()
        .expect("node is installed");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("runtime ok"),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The unzipped package and a launcher page beside it in a scratch folder; the launcher makes
/// npm's scorm-again the LMS (`window.API`), opens one SCO in a frame, drives it as `mode` says,
/// and prints what the runtime recorded.
fn scorm_again_run(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    sco: &str,
    mode: &str,
) -> serde_json::Value {
    let js = std::env::var("SCORM_AGAIN_JS").unwrap_or_else(|_| {
        panic!(
            "SCORM_AGAIN_JS is not set. scripts/test fetches scorm-again from npm and sets it; to \
             run this test alone: SCORM_AGAIN_JS=$(scripts/scorm-again) cargo nextest run -p \
             export -E 'test(scorm_again)'"
        )
    });
    std::fs::copy(&js, dir.join("scorm-again.js")).expect("copy scorm-again");
    for (path, data) in files {
        let to = dir.join("pkg").join(path);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::write(&to, data).expect("write package file");
    }
    std::fs::write(dir.join("launcher.html"), LAUNCHER).expect("launcher");
    let url = format!(
        "file://{}?sco={sco}&mode={mode}",
        dir.join("launcher.html").display()
    );
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("Debian's chromium is installed");
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"out\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "no result in the DOM: {dom}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let json = json
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

const LAUNCHER: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><script src="scorm-again.js"></script></head>
<body><pre id="out">pending</pre><iframe id="f" style="width:800px;height:600px"></iframe>
<script>
var log = [];
var q = new URLSearchParams(location.search);
var sco = q.get("sco"), mode = q.get("mode");
var api = new Scorm12API({ logLevel: 5, autocommit: false });
["LMSInitialize", "LMSFinish", "LMSCommit", "LMSGetValue", "LMSSetValue"].forEach(function (n) {
  var orig = api[n].bind(api);
  api[n] = function (a, b) {
    var r = orig(a, b);
    log.push([n, a === undefined ? null : String(a), b === undefined ? null : String(b), String(r), String(api.LMSGetLastError())]);
    return r;
  };
});
window.API = api;
function report() {
  document.getElementById("out").textContent = JSON.stringify({
    log: log, status: api.cmi.core.lesson_status, raw: String(api.cmi.core.score.raw),
    min: String(api.cmi.core.score.min), max: String(api.cmi.core.score.max),
    // cmi.core.exit is write-only, so its last value set is read from the log.
    exit: log.filter(function (c) { return c[0] === "LMSSetValue" && c[1] === "cmi.core.exit"; })
      .map(function (c) { return c[2]; }).pop(),
    suspend: api.cmi.suspend_data });
}
var f = document.getElementById("f"), started = false;
f.onload = function () {
  if (started) { return; }
  started = true;
  var d = f.contentDocument;
  setTimeout(function () {
    if (mode === "end") { d.getElementById("sco-end").scrollIntoView(); }
    setTimeout(function () {
      if (mode === "end") { d.getElementById("sco-finish").click(); }
      if (mode === "pass" || mode === "fail") {
        var key = JSON.parse(d.getElementById("sco-key").textContent);
        key.forEach(function (k, i) {
          var pick = mode === "pass" ? k : (k + 1) % 4;
          d.querySelector('input[name="q' + i + '"][value="' + pick + '"]').checked = true;
        });
        d.querySelector('#sco-quiz button[type="submit"]').click();
      }
      if (mode === "leave") { f.src = "about:blank"; }
      setTimeout(report, 500);
    }, 500);
  }, 500);
};
f.src = "pkg/" + sco;
</script></body></html>
"#;

fn calls(run: &serde_json::Value, name: &str) -> usize {
    run["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter(|c| c[0] == name)
        .count()
}

/// A real SCORM 1.2 runtime, npm's scorm-again, as the LMS in headless Chromium.
#[test]
fn scorm_again_tracks_lessons_and_quizzes() {
    let files = unzip(&scorm12(&package()));
    let base = scratch("scorm-again");
    let run = |sco: &str, mode: &str| {
        let dir = base.join(format!("{}-{mode}", sco.replace('/', "-")));
        std::fs::create_dir_all(&dir).expect("dir");
        scorm_again_run(&dir, &files, sco, mode)
    };
    for (sco, mode, status, exit) in [
        ("sco/lesson-001.html", "end", "completed", ""),
        ("sco/project-001.html", "end", "completed", ""),
        ("sco/lesson-001.html", "leave", "incomplete", "suspend"),
        ("sco/quiz-001.html", "pass", "passed", ""),
        ("sco/quiz-001.html", "fail", "failed", ""),
    ] {
        let r = run(sco, mode);
        assert_eq!(r["status"], status, "{sco} {mode}: {r}");
        assert_eq!(r["exit"], exit, "{sco} {mode}: {r}");
        assert_eq!(calls(&r, "LMSInitialize"), 1, "{r}");
        assert_eq!(calls(&r, "LMSFinish"), 1, "{r}");
        assert!(calls(&r, "LMSCommit") >= 1, "{r}");
        for c in r["log"].as_array().expect("log") {
            assert_eq!(c[4], "0", "the runtime reports an error for {c}");
        }
        if mode == "pass" {
            assert_eq!(
                (&r["raw"], &r["min"], &r["max"]),
                (&"100".into(), &"0".into(), &"100".into()),
                "{r}"
            );
        }
        if mode == "pass" || mode == "fail" {
            // Score first, then the status, then commit and finish, last.
            let log = r["log"].as_array().expect("log");
            let at = |pred: &dyn Fn(&serde_json::Value) -> bool| {
                log.iter().position(pred).unwrap_or_else(|| panic!("{r}"))
            };
            let raw = at(&|c| c[0] == "LMSSetValue" && c[1] == "cmi.core.score.raw");
            let max = at(&|c| c[0] == "LMSSetValue" && c[1] == "cmi.core.score.max");
            let graded = at(&|c| c[0] == "LMSSetValue" && c[2] == status);
            let commit = at(&|c| c[0] == "LMSCommit" && c[1] == "");
            assert!(raw < max && max < graded && graded < commit, "{r}");
            assert_eq!(log.last().map(|c| &c[0]), Some(&"LMSFinish".into()), "{r}");
        }
        if mode == "fail" {
            assert_eq!(r["raw"], "0", "{r}");
        }
        if mode == "leave" {
            assert!(
                r["suspend"].as_str().expect("suspend").starts_with("y="),
                "{r}"
            );
        }
    }
}
