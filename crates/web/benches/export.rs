//! The export benchmark (`bench/export.sh` runs it): a 40-lesson course (8 modules × 5
//! lessons, drafted by the offline provider through the real pipeline, built and published)
//! and, in one run:
//!
//! - the learner HTML of every lesson, fetched from the real server (the reference for SCORM,
//!   which renders the same lessons into SCOs);
//! - headless Chromium printing those same lessons, as one HTML document, with
//!   `--print-to-pdf` (what a user would do instead: the reference for our PDF);
//! - our PDF and our SCORM ZIP, rendered in-process from the stored package;
//! - an export served from the store (cached), and a revalidation answered 304, over HTTP.
//!
//! Prints a table of medians and the ratios the issue names. Not a test: numbers vary by
//! machine. Needs PostgreSQL (as the tests do) and Chromium (`CHROMIUM`, default `chromium`).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use app::exports::Limits;
use domain::{CoursePackage, Role};
use serde_json::json;
use test_support::{TestApp, actor_of};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// The `<main>` of a page, which holds the lesson.
fn main_of(html: &str) -> &str {
    let start = html.find("<main").unwrap_or(0);
    let end = html
        .rfind("</main>")
        .map_or(html.len(), |e| e + "</main>".len());
    &html[start..end]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let out =
        PathBuf::from(std::env::var("BENCH_OUT").unwrap_or_else(|_| "bench/out/export".into()));
    std::fs::create_dir_all(&out).expect("output folder");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());

    // The rate limit would stop the cached-export loop after three; the bench lifts it.
    let config = web::WebConfig {
        export_limits: Limits {
            per_window: i64::MAX,
            ..Limits::default()
        },
        ..web::WebConfig::default()
    };
    let app = TestApp::builder().web_config(config).start().await;
    app.allow_pending_jobs();
    let tenant = app.tenant("bench").await;
    let (admin, admin_user) = app
        .signed_in(&tenant, "admin@bench.test", Role::Admin)
        .await;
    let (learner, learner_user) = app
        .signed_in(&tenant, "learner@bench.test", Role::Learner)
        .await;
    eprintln!("drafting a 30-hour course with the offline provider…");
    let course = app
        .approved_course(&actor_of(&admin_user), "Practical SQL for analysts", 30)
        .await
        .course_id;
    let post = |c: &reqwest::Client, path: String, body: serde_json::Value| {
        app.csrf_post(c, &path).json(&body).send()
    };
    let res = post(
        &admin,
        format!("/api/admin/courses/{course}/packages"),
        json!({}),
    )
    .await
    .expect("build");
    assert_eq!(res.status(), 201, "build");
    let res = post(
        &admin,
        format!("/api/admin/courses/{course}/versions/1/publish"),
        json!({}),
    )
    .await
    .expect("publish");
    assert_eq!(res.status(), 200, "publish");
    let res = post(
        &learner,
        "/api/learn/enroll".into(),
        json!({ "courseId": course }),
    )
    .await
    .expect("enroll");
    assert_eq!(res.status(), 201, "enroll");
    let (body, _): (serde_json::Value, String) = sqlx::query_as(
        "SELECT body, content_hash FROM course_packages WHERE course_id = $1 AND version = 1",
    )
    .bind(course)
    .fetch_one(&app.db.pool)
    .await
    .expect("package");
    let package: CoursePackage = serde_json::from_value(body).expect("package parses");
    let lessons = package.lessons.len();
    assert_eq!(
        (package.modules.len(), lessons),
        (8, 40),
        "8 modules × 5 lessons"
    );

    // 1. The learner HTML of every lesson, from the server.
    let mut html_times = Vec::new();
    let mut pages = Vec::new();
    for round in 0..=rounds {
        let t = Instant::now();
        for i in 1..=lessons {
            let res = learner
                .get(app.url(&format!("/learn/{course}/lesson/{i}")))
                .send()
                .await
                .expect("lesson page");
            assert_eq!(res.status(), 200);
            let text = res.text().await.expect("html");
            if round == 0 {
                pages.push(text);
            }
        }
        // Round 0 warms the caches.
        if round > 0 {
            html_times.push(t.elapsed());
        }
    }
    let css = learner
        .get(app.url("/static/app.css"))
        .send()
        .await
        .expect("css")
        .text()
        .await
        .expect("css");
    let mut book = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{css}</style></head><body>",
        package.title
    );
    for p in &pages {
        book.push_str(main_of(p));
    }
    book.push_str("</body></html>");
    let book_path = std::fs::canonicalize(&out)
        .expect("out")
        .join("lessons.html");
    std::fs::write(&book_path, &book).expect("write the lessons");

    // 2. Chromium printing the same lessons.
    let chrome_pdf = book_path.with_file_name("chromium.pdf");
    let profile = book_path.with_file_name("chromium-profile");
    let mut chrome_times = Vec::new();
    for _ in 0..rounds.clamp(1, 3) {
        let _ = std::fs::remove_file(&chrome_pdf);
        let t = Instant::now();
        let status = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                &format!("--user-data-dir={}", profile.display()),
                &format!("--print-to-pdf={}", chrome_pdf.display()),
                &format!("file://{}", book_path.display()),
            ])
            .output()
            .expect("run chromium");
        chrome_times.push(t.elapsed());
        assert!(
            status.status.success() && chrome_pdf.exists(),
            "chromium printed nothing: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    let chrome_size = std::fs::metadata(&chrome_pdf).expect("chromium pdf").len();

    // 3. and 4. Our PDF and SCORM package, in-process.
    let mut pdf_times = Vec::new();
    let mut pdf = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        pdf = export::pdf::pdf(&package).expect("pdf");
        pdf_times.push(t.elapsed());
    }
    std::fs::write(out.join("coursewright.pdf"), &pdf).expect("write");
    let mut scorm_times = Vec::new();
    let mut zip = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        zip = export::scorm12(&package);
        export::checks::check_scorm12(&zip).expect("checks");
        scorm_times.push(t.elapsed());
    }
    std::fs::write(out.join("coursewright-scorm12.zip"), &zip).expect("write");

    // 5. Served: the first export renders and stores; the rest come from the store.
    let url = app.url(&format!("/api/learn/courses/{course}/export.pdf"));
    let t = Instant::now();
    let first = learner.get(&url).send().await.expect("export");
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    let served = first.bytes().await.expect("bytes");
    let cold = t.elapsed();
    assert_eq!(
        served.as_ref(),
        pdf.as_slice(),
        "the server renders the same bytes"
    );
    let n = 200;
    let mut cached = Vec::with_capacity(n);
    let mut revalidated = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let res = learner.get(&url).send().await.expect("export");
        assert_eq!(res.status(), 200);
        let _ = res.bytes().await.expect("bytes");
        cached.push(t.elapsed());
        let t = Instant::now();
        let res = learner
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("export");
        assert_eq!(res.status(), 304);
        revalidated.push(t.elapsed());
    }

    // The same cached export at the server: the use case alone, without HTTP.
    let limits = Limits {
        per_window: i64::MAX,
        ..Limits::default()
    };
    let who = app::exports::Requester::Learner(actor_of(&learner_user));
    let mut in_process = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let out = app::exports::export(
            &app.db.app_pool,
            &app.objects,
            who,
            course,
            app::exports::Format::Pdf,
            limits,
            None,
        )
        .await
        .expect("export");
        in_process.push(t.elapsed());
        assert!(matches!(out, app::exports::Outcome::Sent(ref e) if !e.rendered));
    }

    let html = median(html_times);
    let chrome = median(chrome_times);
    let ours_pdf = median(pdf_times);
    let ours_scorm = median(scorm_times);
    println!();
    println!(
        "export benchmark: {} ({} modules, {lessons} lessons), medians of {rounds} rounds",
        package.title,
        package.modules.len()
    );
    println!("{:<58} {:>10} {:>12}", "what", "ms", "bytes");
    println!(
        "{:<58} {:>10.1} {:>12}",
        "learner HTML of every lesson (server, 40 pages)",
        ms(html),
        book.len()
    );
    println!(
        "{:<58} {:>10.1} {:>12}",
        "Chromium --print-to-pdf of the same lessons",
        ms(chrome),
        chrome_size
    );
    println!(
        "{:<58} {:>10.1} {:>12}",
        "our PDF (typst; TOC, bookmarks, answer key)",
        ms(ours_pdf),
        pdf.len()
    );
    println!(
        "{:<58} {:>10.1} {:>12}",
        "our SCORM 1.2 ZIP (with our checks)",
        ms(ours_scorm),
        zip.len()
    );
    println!(
        "{:<58} {:>10.1} {:>12}",
        "first export over HTTP (render + store + audit)",
        ms(cold),
        served.len()
    );
    println!(
        "{:<58} {:>10.2} {:>12}",
        format!("cached export over HTTP, p50 of {n}"),
        ms(percentile(cached.clone(), 0.5)),
        served.len()
    );
    println!(
        "{:<58} {:>10.2} {:>12}",
        format!("cached export over HTTP, p99 of {n}"),
        ms(percentile(cached, 0.99)),
        ""
    );
    println!(
        "{:<58} {:>10.2} {:>12}",
        format!("revalidation answered 304, p50 of {n}"),
        ms(percentile(revalidated, 0.5)),
        0
    );
    println!(
        "{:<58} {:>10.2} {:>12}",
        format!("cached export at the server (the use case, no HTTP), p50 of {n}"),
        ms(percentile(in_process, 0.5)),
        served.len()
    );
    println!();
    println!(
        "PDF vs Chromium's print:   {:.2}× (goal ≤ 1×)",
        ours_pdf.as_secs_f64() / chrome.as_secs_f64()
    );
    println!(
        "SCORM vs the HTML render:  {:.2}× (goal ≤ 2×)",
        ours_scorm.as_secs_f64() / html.as_secs_f64()
    );
    println!("files: {}", out.display());
}
