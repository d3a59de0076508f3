//! Generation jobs through the shared harness: briefs submitted through the use cases, the
//! real worker and its PostgreSQL LLM cache, a provider that counts its calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use llm::LlmProvider;

use serde_json::Value;
use test_support::{TestApp, actor_of};
use worker::Finished;

static OFFLINE: llm::Offline = llm::Offline;

/// The offline provider, counting the calls that reach it.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Counting {
    fn calls(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl LlmProvider for Counting {
    fn name(&self) -> &'static str {
        OFFLINE.name()
    }
    fn model(&self) -> &str {
        "offline-drafts-v1"
    }
    fn complete<'a>(
        &'a self,
        req: &'a llm::ChatRequest,
    ) -> llm::BoxFuture<'a, Result<llm::ChatResponse, llm::LlmError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        OFFLINE.complete(req)
    }
}

#[tokio::test]
async fn a_second_identical_brief_is_drafted_from_the_llm_cache_without_calling_the_provider() {
    let provider = Arc::new(Counting::default());
    let app = TestApp::builder().provider(provider.clone()).start().await;
    let tenant = app.tenant("acme").await;
    let (_, admin) = app.login_as_admin(&tenant).await;
    let admin = actor_of(&admin);

    app.submit_brief(&admin, "Practical SQL", 4).await;
    assert_eq!(app.run_pending_jobs().await, [Finished::Completed]);
    let calls = provider.calls();
    assert!(calls >= 1, "the first draft asks the provider");
    assert_eq!(
        app.count("llm_cache").await,
        i64::try_from(calls).expect("calls"),
        "every answer is stored in the cache"
    );

    app.submit_brief(&admin, "Practical SQL", 4).await;
    assert_eq!(app.run_pending_jobs().await, [Finished::Completed]);
    assert_eq!(
        provider.calls(),
        calls,
        "the second draft is made of cache hits only"
    );
    let provenance: Vec<Value> = sqlx::query_scalar(
        "SELECT provenance FROM artifacts WHERE kind = 'SYLLABUS' ORDER BY created_at, id",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("syllabi");
    let cached = |p: &Value| -> Vec<bool> {
        p["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .map(|c| c["cached"] == true)
            .collect()
    };
    assert_eq!(provenance.len(), 2);
    assert_eq!(cached(&provenance[0]), vec![false; calls]);
    assert_eq!(
        cached(&provenance[1]),
        vec![true; calls],
        "recorded as hits"
    );
}
