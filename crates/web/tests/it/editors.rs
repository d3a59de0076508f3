//! The form editors: each kind shown as a form and saved through the same rules as JSON,
//! problems listed at the top and kept beside their fields, list buttons that save nothing.

use domain::Role;
use serde_json::Value;
use uuid::Uuid;

use crate::authoring::{actor, drafted_content, page_html};
use crate::support::TestApp;

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// The controls of the editor form as a browser would submit them (without a button):
/// inputs (checkboxes only when ticked), textareas and the selected option of selects.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let start = html.find("id=\"editor\"").expect("the editor form");
    let form = &html[start..start + html[start..].find("</form>").expect("form end")];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let tag_end = rest.find('>').expect("tag end");
        let tag = &rest[..tag_end];
        if tag.starts_with("<input ") {
            let checkbox = attr(tag, "type").as_deref() == Some("checkbox");
            if let Some(name) = attr(tag, "name")
                && (!checkbox || tag.contains(" checked"))
            {
                out.push((name, attr(tag, "value").unwrap_or_default()));
            }
        } else if tag.starts_with("<textarea ") {
            let body = &rest[tag_end + 1..];
            let text = &body[..body.find("</textarea>").expect("textarea end")];
            // A browser drops one newline right after the opening tag.
            let text = text.strip_prefix('\n').unwrap_or(text);
            out.push((attr(tag, "name").expect("name"), unescape(text)));
        } else if tag.starts_with("<select ") {
            let body = &rest[tag_end..];
            let options = &body[..body.find("</select>").expect("select end")];
            let selected = options
                .split("<option ")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| options.split("<option ").nth(1))
                .expect("an option");
            let value = attr(&format!(" {selected}"), "value").expect("value");
            out.push((attr(tag, "name").expect("name"), value));
        }
        rest = &rest[1..];
    }
    out
}

/// Every element id the page repeats (links and labels need them unique).
fn repeated_ids(html: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    html.split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| !seen.insert(id.to_owned()))
        .map(str::to_owned)
        .collect()
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let f = fields
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    f.1 = value.to_owned();
}

fn with_op(fields: &[(String, String)], op: &str) -> Vec<(String, String)> {
    let mut f = fields.to_vec();
    f.push(("op".into(), op.into()));
    f
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(String, String)],
) -> (u16, String, Option<String>) {
    let res = app
        .csrf_post(client, path)
        .form(fields)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    (status, res.text().await.expect("body"), location)
}

async fn one(app: &TestApp, kind: &str) -> (Uuid, Value) {
    sqlx::query_as("SELECT id, body FROM artifacts WHERE kind = $1 ORDER BY ref_id LIMIT 1")
        .bind(kind)
        .fetch_one(&app.db.pool)
        .await
        .expect("artifact")
}

async fn newest(app: &TestApp, id: Uuid) -> (Uuid, i32, String, Value) {
    sqlx::query_as(
        "SELECT n.id, n.version, n.status::text, n.body FROM artifacts a
           JOIN artifacts n ON n.lineage_id = a.lineage_id
          WHERE a.id = $1 ORDER BY n.version DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&app.db.pool)
    .await
    .expect("newest")
}

#[tokio::test]
async fn every_kind_shows_its_values_in_a_form_and_saving_it_unchanged_makes_an_equal_draft() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let (reviewer, _) = app.signed_in(&t, "rey@acme.test", Role::Reviewer).await;
    let d = drafted_content(&app, &actor(&ada)).await;
    let mut parts = Vec::new();
    for kind in ["LESSON", "QUIZ", "PROJECT"] {
        let (id, body) = one(&app, kind).await;
        parts.push((format!("/admin/content/{id}"), id, body));
    }
    parts.push((format!("/admin/syllabi/{}", d.syllabus), d.syllabus, d.body));
    for (page, id, body) in parts {
        let edit = format!("{page}/edit");
        let html = page_html(&app, &reviewer, &edit).await;
        let title = body["title"]
            .as_str()
            .or_else(|| body["questions"][0]["question"].as_str())
            .expect("a text of the body");
        assert!(
            html.contains(&format!("value=\"{title}\"")) || html.contains(&format!(">\n{title}<")),
            "{edit} shows {title:?} in a field: {html}"
        );
        assert!(html.contains("<summary>Advanced (JSON)</summary>"));
        assert_eq!(repeated_ids(&html), Vec::<String>::new(), "{edit}");
        let fields = form_fields(&html);
        assert!(fields.len() > 5, "{fields:?}");
        let (status, text, location) = post(&app, &admin, &edit, &with_op(&fields, "save")).await;
        assert_eq!(status, 303, "{edit}: {text}");
        let (new_id, version, status, new_body) = newest(&app, id).await;
        assert_eq!((version, status.as_str()), (2, "DRAFT"), "{edit}");
        assert_ne!(new_id, id);
        assert_eq!(new_body, body, "{edit}: the same content, field for field");
        assert_eq!(
            location.as_deref(),
            Some(page.replace(&id.to_string(), &new_id.to_string()).as_str())
        );
    }
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "CONTENT_EDITED").count(), 3);
    assert_eq!(
        actions.iter().filter(|a| *a == "SYLLABUS_EDITED").count(),
        1
    );
}

#[tokio::test]
async fn a_broken_rule_is_listed_at_the_top_linked_to_its_field_with_everything_typed_kept_and_nothing_saved()
 {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    drafted_content(&app, &actor(&ada)).await;
    let (lesson, _) = one(&app, "LESSON").await;
    let edit = format!("/admin/content/{lesson}/edit");
    let mut fields = form_fields(&page_html(&app, &admin, &edit).await);
    set(&mut fields, "title", "Tid");
    set(&mut fields, "durationMinutes", "ten minutes");
    set(
        &mut fields,
        "keyTakeaways[1]",
        "A takeaway a person typed <carefully>",
    );
    let before = app.count("artifacts").await;
    let (status, html, _) = post(&app, &admin, &edit, &with_op(&fields, "save")).await;
    assert_eq!(status, 422, "{html}");
    let top = html.find("error-summary").expect("a list of problems");
    assert!(
        top < html.find("id=\"editor\"").expect("form"),
        "above the form"
    );
    assert!(
        html.contains("<a href=\"#f-title\">Title: must be at least 5 characters")
            && html.contains("<a href=\"#f-durationMinutes\">Duration: enter a whole number"),
        "each problem links to its field: {html}"
    );
    assert!(
        html.contains(
            "id=\"f-title\" name=\"title\" value=\"Tid\" aria-invalid=\"true\" aria-describedby=\"f-title-err\""
        ) && html.contains("<p class=\"field-error\" id=\"f-title-err\">Must be at least 5 characters"),
        "the field is marked and says why: {html}"
    );
    assert!(
        html.contains("value=\"ten minutes\""),
        "a number typed as words is kept"
    );
    assert!(
        !html.contains("Must be between 5 and 600"),
        "and not reported twice"
    );
    let kept = form_fields(&html);
    assert!(kept.contains(&(
        "keyTakeaways[1]".into(),
        "A takeaway a person typed <carefully>".into()
    )));
    assert_eq!(app.count("artifacts").await, before, "nothing saved");

    // Fixed, it saves.
    let mut fixed = kept;
    set(&mut fixed, "title", "Tides, read by a person");
    set(&mut fixed, "durationMinutes", "40");
    let (status, _, _) = post(&app, &admin, &edit, &with_op(&fixed, "save")).await;
    assert_eq!(status, 303);
    let (_, version, _, body) = newest(&app, lesson).await;
    assert_eq!(version, 2);
    assert_eq!(body["title"], "Tides, read by a person");
    assert_eq!(body["durationMinutes"], 40);
    assert_eq!(
        body["keyTakeaways"][1],
        "A takeaway a person typed <carefully>"
    );
}

#[tokio::test]
async fn moving_adding_and_removing_items_shows_the_changed_form_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let d = drafted_content(&app, &actor(&ada)).await;
    let edit = format!("/admin/syllabi/{}/edit", d.syllabus);
    let html = page_html(&app, &admin, &edit).await;
    assert!(
        html.contains("<legend>Module 1</legend>")
            && html.contains("Move down<span class=\"vh\"> lesson 1 of module 1</span>")
            && html.contains("Remove lesson 2 of module 1"),
        "fieldsets with legends, buttons that say what they act on: {html}"
    );
    let mut fields = form_fields(&html);
    set(&mut fields, "title", "Reading tide tables, revised");
    let before = app.count("artifacts").await;
    let audit = app.audit_actions().await.len();
    let first = |html: &str, n: usize| {
        let name = format!("name=\"modules[0].lessons[{n}].id\" value=\"");
        let at = html.find(&name).expect("lesson id") + name.len();
        html[at..at + html[at..].find('"').expect("end")].to_owned()
    };
    assert_eq!(
        (first(&html, 0), first(&html, 1)),
        ("m1-l1".into(), "m1-l2".into())
    );

    let (status, moved, _) = post(
        &app,
        &admin,
        &edit,
        &with_op(&fields, "up:modules.0.lessons.1"),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (first(&moved, 0), first(&moved, 1)),
        ("m1-l2".into(), "m1-l1".into())
    );
    assert!(moved.contains("Moved module 1, lesson 2 up. Nothing is saved until you press Save."));
    assert!(
        moved.contains("value=\"Reading tide tables, revised\""),
        "what was typed stays"
    );

    // A drag (editor.js) posts a move from one place to another, the same way.
    let (status, dragged, _) = post(
        &app,
        &admin,
        &edit,
        &with_op(&fields, "move:modules.0.lessons.1.0"),
    )
    .await;
    assert_eq!(status, 200, "{dragged}");
    assert_eq!(
        (first(&dragged, 0), first(&dragged, 1)),
        ("m1-l2".into(), "m1-l1".into())
    );
    assert!(
        dragged.contains("Moved module 1, lesson 2 to place 1.")
            && dragged.contains("data-item=\"modules.0.lessons.1\"")
            && dragged.contains("/static/editor.js"),
        "{dragged}"
    );

    // Saving the moved order breaks a rule: m1-l2 builds on m1-l1, now after it.
    let moved_fields = form_fields(&moved);
    let (status, html, _) = post(&app, &admin, &edit, &with_op(&moved_fields, "save")).await;
    assert_eq!(status, 422);
    assert!(
        unescape(&html).contains("<a href=\"#f-modules-0-lessons-0-prerequisites\">Module 1, lesson 1, prerequisite 1: \"m1-l1\" is not an earlier lesson"),
        "{html}"
    );

    let (status, added, _) = post(&app, &admin, &edit, &with_op(&fields, "add:modules")).await;
    assert_eq!(status, 200);
    assert!(
        added.contains("<legend>Module 2</legend>")
            && added.contains("name=\"modules[1].id\" value=\"m2\"")
            && added.contains("name=\"modules[1].lessons[0].id\" value=\"m2-l1\""),
        "a new module with a fresh id and one lesson: {added}"
    );
    let (status, removed, _) = post(
        &app,
        &admin,
        &edit,
        &with_op(&fields, "remove:modules.0.lessons.0"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first(&removed, 0), "m1-l2");
    assert!(removed.contains("Removed module 1, lesson 1."));

    let (quiz, body) = one(&app, "QUIZ").await;
    let qedit = format!("/admin/content/{quiz}/edit");
    let qfields = form_fields(&page_html(&app, &admin, &qedit).await);
    let n = body["questions"].as_array().expect("questions").len();
    let (_, html, _) = post(&app, &admin, &qedit, &with_op(&qfields, "add:questions")).await;
    assert!(html.contains(&format!("<legend>Question {}</legend>", n + 1)));
    assert!(html.contains(&format!("name=\"questions[{n}].options[3]\" value=\"\"")));
    let (_, html, _) = post(
        &app,
        &admin,
        &qedit,
        &with_op(&qfields, "remove:questions.0"),
    )
    .await;
    assert!(!html.contains(&format!("<legend>Question {n}</legend>")));

    assert_eq!(
        app.count("artifacts").await,
        before,
        "no button saved anything"
    );
    assert_eq!(app.audit_actions().await.len(), audit);
}

#[tokio::test]
async fn the_json_edit_stays_as_the_advanced_section_and_a_refusal_shows_the_editor_again() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    drafted_content(&app, &actor(&ada)).await;
    let (project, body) = one(&app, "PROJECT").await;
    let edit = format!("/admin/content/{project}/edit");
    let bad = vec![("body".to_owned(), "{not json".to_owned())];
    let (status, html, _) = post(&app, &admin, &edit, &bad).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("<details class=\"card\" id=\"advanced\" open>")
            && html.contains("does not parse")
            && html.contains(">\n{not json</textarea>")
            && html.contains("id=\"editor\""),
        "{html}"
    );
    let mut body = body;
    body["rubric"][0]["weight"] = serde_json::json!(1);
    let (status, html, _) = post(
        &app,
        &admin,
        &edit,
        &[("body".to_owned(), body.to_string())],
    )
    .await;
    assert_eq!(status, 422, "the same rules: weights add up to 100");
    assert!(html.contains("add up to 100"), "{html}");
    body["rubric"][0]["weight"] = serde_json::json!(50);
    body["title"] = serde_json::json!("Project: tides by hand");
    let (status, _, _) = post(
        &app,
        &admin,
        &edit,
        &[("body".to_owned(), body.to_string())],
    )
    .await;
    assert_eq!(status, 303);
    let (_, version, _, saved) = newest(&app, project).await;
    assert_eq!((version, saved), (2, body));

    // The first version is superseded now: its editor says so and refuses to save.
    let html = page_html(&app, &admin, &edit).await;
    assert!(html.contains("is superseded by version 2"), "{html}");
    assert!(!html.contains("id=\"editor\""), "no form to fill in vain");
}

#[tokio::test]
async fn the_edit_url_answers_a_reload_and_keeps_other_tenants_and_learners_out() {
    let app = TestApp::spawn().await;
    let t = app.tenant("acme").await;
    let other = app.tenant("globex").await;
    let (admin, ada) = app.login_as_admin(&t).await;
    let (stranger, _) = app.login_as_admin(&other).await;
    let (learner, _) = app.signed_in(&t, "lee@acme.test", Role::Learner).await;
    let d = drafted_content(&app, &actor(&ada)).await;
    let (lesson, _) = one(&app, "LESSON").await;
    let edits = [
        format!("/admin/content/{lesson}/edit"),
        format!("/admin/syllabi/{}/edit", d.syllabus),
    ];
    let save = vec![("op".to_owned(), "save".to_owned())];
    let before = app.count("artifacts").await;
    for edit in &edits {
        let res = admin.get(app.url(edit)).send().await.expect("get");
        assert_eq!(res.status(), 200, "GET {edit} shows the editor, not 405");
        for (who, client, status) in [
            ("another tenant", &stranger, 404),
            ("a learner", &learner, 403),
        ] {
            let res = client.get(app.url(edit)).send().await.expect("get");
            assert_eq!(res.status(), status, "{who} GET {edit}");
            let (got, _, _) = post(&app, client, edit, &save).await;
            assert_eq!(got, status, "{who} POST {edit}");
        }
    }
    let crossed = format!("/admin/syllabi/{lesson}/edit");
    let res = admin.get(app.url(&crossed)).send().await.expect("get");
    assert_eq!(res.status(), 404, "a lesson is not a syllabus");
    assert_eq!(app.count("artifacts").await, before);
}
