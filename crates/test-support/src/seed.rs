//! Raw seeding, straight INSERTs as the owner: for tests about the database itself (grants,
//! triggers, migrations) and for states the use cases cannot reach in a few steps (a course
//! whose parts are half approved, a second approved version of one lineage). Everything
//! else seeds through [`crate::TestApp`], which calls the `app` use cases.

use sqlx::PgPool;

/// An approved course for tests: a brief, its approved syllabus (made by the offline
/// drafter for `hours` of learning) and an approved lesson and quiz for every planned
/// lesson and a project for every module, inserted directly. Returns the course id.
pub async fn seed_approved_course(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    title: &str,
    hours: u32,
) -> uuid::Uuid {
    seed_course_with(pool, tenant_id, reviewer, title, hours, |_, _| "APPROVED").await
}

/// [`seed_approved_course`] with each part's status (DRAFT, APPROVED or REJECTED) chosen
/// by `status_of(kind, ref_id)`; the syllabus is always approved.
pub async fn seed_course_with(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    title: &str,
    hours: u32,
    status_of: impl Fn(&str, &str) -> &'static str,
) -> uuid::Uuid {
    use domain::offline;
    use serde_json::json;

    let brief: domain::Brief = serde_json::from_value(json!({
        "title": title,
        "audience": "Analysts who are new to the subject",
        "level": "beginner",
        "timeBudgetHours": hours,
        "teachingStyle": "hands-on, one worked example per idea",
        "constraints": ["practical"]
    }))
    .expect("brief");
    let syllabus = offline::syllabus(&brief, "2026-01-01T00:00:00Z");
    let brief_id = uuid::Uuid::new_v4();
    let course_id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO briefs (id, tenant_id, body, created_by) VALUES ($1, $2, $3, $4)")
        .bind(brief_id)
        .bind(tenant_id)
        .bind(serde_json::to_value(&brief).expect("brief json"))
        .bind(reviewer)
        .execute(pool)
        .await
        .expect("insert brief");
    sqlx::query("INSERT INTO courses (id, tenant_id, brief_id, title, created_by) VALUES ($1, $2, $3, $4, $5)")
        .bind(course_id)
        .bind(tenant_id)
        .bind(brief_id)
        .bind(title)
        .bind(reviewer)
        .execute(pool)
        .await
        .expect("insert course");
    let syllabus_id = insert_artifact(
        pool,
        tenant_id,
        reviewer,
        "APPROVED",
        "SYLLABUS",
        None,
        Some(brief_id),
        &brief_id.to_string(),
        None,
        &syllabus.title,
        &serde_json::to_value(&syllabus).expect("syllabus json"),
    )
    .await;
    for module in &syllabus.modules {
        for planned in &module.lessons {
            let lesson = offline::lesson(&syllabus, module, planned);
            let quiz = offline::quiz(planned, &lesson);
            insert_artifact(
                pool,
                tenant_id,
                reviewer,
                status_of("LESSON", &planned.id),
                "LESSON",
                Some(syllabus_id),
                None,
                &planned.id,
                Some(&module.id),
                &lesson.title,
                &serde_json::to_value(&lesson).expect("lesson"),
            )
            .await;
            insert_artifact(
                pool,
                tenant_id,
                reviewer,
                status_of("QUIZ", &planned.id),
                "QUIZ",
                Some(syllabus_id),
                None,
                &planned.id,
                Some(&module.id),
                &format!("Quiz: {}", planned.title),
                &serde_json::to_value(&quiz).expect("quiz"),
            )
            .await;
        }
        let project = offline::project(module);
        insert_artifact(
            pool,
            tenant_id,
            reviewer,
            status_of("PROJECT", &module.id),
            "PROJECT",
            Some(syllabus_id),
            None,
            &module.id,
            Some(&module.id),
            &project.title,
            &serde_json::to_value(&project).expect("project"),
        )
        .await;
    }
    course_id
}

/// Inserts one APPROVED artifact as the next version of its (course, kind, ref) lineage.
#[expect(clippy::too_many_arguments)]
pub async fn insert_approved(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    kind: &str,
    syllabus_id: Option<uuid::Uuid>,
    brief_id: Option<uuid::Uuid>,
    ref_id: &str,
    module_id: Option<&str>,
    title: &str,
    body: &serde_json::Value,
) -> uuid::Uuid {
    insert_artifact(
        pool,
        tenant_id,
        reviewer,
        "APPROVED",
        kind,
        syllabus_id,
        brief_id,
        ref_id,
        module_id,
        title,
        body,
    )
    .await
}

/// Inserts one artifact with `status` as the next version of its lineage.
#[expect(clippy::too_many_arguments)]
pub async fn insert_artifact(
    pool: &PgPool,
    tenant_id: uuid::Uuid,
    reviewer: uuid::Uuid,
    status: &str,
    kind: &str,
    syllabus_id: Option<uuid::Uuid>,
    brief_id: Option<uuid::Uuid>,
    ref_id: &str,
    module_id: Option<&str>,
    title: &str,
    body: &serde_json::Value,
) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO artifacts (id, tenant_id, kind, syllabus_id, brief_id, ref_id, module_id, lineage_id,
                                version, parent_id, status, title, body, provenance, content_hash,
                                created_by, reviewed_by, reviewed_at, review_note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $1, 0, NULL, $13, $8, $9, $10, $11, $12,
                 CASE WHEN $13 <> 'DRAFT' THEN $12 END,
                 CASE WHEN $13 <> 'DRAFT' THEN clock_timestamp() END, 'seeded by a test')",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(kind)
    .bind(syllabus_id)
    .bind(brief_id)
    .bind(ref_id)
    .bind(module_id)
    .bind(title)
    .bind(body)
    .bind(serde_json::json!({ "promptVersion": format!("{}@test", kind.to_lowercase()) }))
    .bind(db::artifacts::body_hash(body))
    .bind(reviewer)
    .bind(status)
    .execute(pool)
    .await
    .expect("insert artifact");
    id
}
