//! The month partitions of raw analytics events: created ahead through the owner's
//! function (the runtime role cannot create tables), dropped whole for retention.

use test_support::TestDatabase;
use time::macros::{date, datetime};

#[tokio::test]
async fn partitions_are_created_ahead_once_and_dropped_whole_with_a_dry_run_first() {
    let db = TestDatabase::new().await;
    let before = db::analytics::partitions(&db.pool).await.expect("list");
    assert_eq!(
        before.len(),
        4,
        "the migration made last month to two ahead: {before:?}"
    );

    // Far ahead and far back, through the runtime role.
    let made = db::analytics::ensure_partitions(&db.app_pool, date!(2031 - 11 - 15), 3)
        .await
        .expect("create");
    assert_eq!(
        made,
        [
            "analytics_events_y2031m11",
            "analytics_events_y2031m12",
            "analytics_events_y2032m01"
        ]
    );
    let again = db::analytics::ensure_partitions(&db.app_pool, date!(2031 - 12 - 01), 2)
        .await
        .expect("again");
    assert!(again.is_empty(), "nothing twice: {again:?}");
    db::analytics::ensure_partitions(&db.app_pool, date!(2020 - 01 - 01), 2)
        .await
        .expect("old months");
    assert!(
        db::analytics::ensure_partitions(&db.app_pool, date!(2020 - 01 - 01), 25)
            .await
            .is_err()
    );
    // The runtime role cannot create one itself.
    let direct = sqlx::raw_sql(
        "CREATE TABLE analytics_events_y2040m01 PARTITION OF analytics_events
         FOR VALUES FROM ('2040-01-01') TO ('2040-02-01')",
    )
    .execute(&db.app_pool)
    .await;
    assert!(direct.is_err());

    // An event in January 2020 and one in December 2031 (as the owner: the rows are the point).
    for at in ["2020-01-15T10:00:00Z", "2031-12-01T00:00:00Z"] {
        sqlx::query(
            "INSERT INTO analytics_events (id, tenant_id, user_id, course_id, version, type, occurred_at)
             VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1, 'course_viewed', $1::timestamptz)",
        )
        .bind(at)
        .execute(&db.pool)
        .await
        .expect("event");
    }
    let cut = datetime!(2020-02-01 00:00 UTC);
    let named = db::analytics::drop_partitions(&db.app_pool, cut, true)
        .await
        .expect("dry run");
    assert_eq!(named, ["analytics_events_y2020m01"]);
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM analytics_events")
            .fetch_one(&db.pool)
            .await
            .expect("count")
    };
    assert_eq!(count().await, 2, "a dry run drops nothing");
    let dropped = db::analytics::drop_partitions(&db.app_pool, cut, false)
        .await
        .expect("drop");
    assert_eq!(dropped, named);
    assert_eq!(count().await, 1, "the old month went whole; the rest stays");
    assert!(
        !db::analytics::partitions(&db.pool)
            .await
            .expect("list")
            .contains(&named[0])
    );
    // Rows themselves cannot be deleted, by anyone.
    let deleted = sqlx::raw_sql("DELETE FROM analytics_events")
        .execute(&db.pool)
        .await;
    assert!(deleted.is_err(), "insert-only");
}
