//! What a learner's page needs on every request, kept in memory: the session's caller and
//! the learner's view of a course (the active version, enrollment, progress).
//!
//! Correctness comes from PostgreSQL: triggers `pg_notify('cw_cache', …)` when a session
//! ends, a user changes, a course's pointer moves or a learner enrolls or records progress,
//! and every web process listens and forgets what changed. The cache is used only while
//! the listener is connected (on any error it is emptied and bypassed until the listener is
//! back), an epoch counter stops a read that raced an invalidation from storing what it read,
//! and the process that made a change forgets it at once, before the notification arrives.
//! A time limit bounds every entry besides.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use db::packages::LearnerView;
use db::sessions::SessionUser;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use time::OffsetDateTime;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 100_000;

/// How often the cache answered, and how often it had to ask the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Default)]
pub struct Hot {
    live: AtomicBool,
    epoch: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    sessions: Mutex<HashMap<Vec<u8>, (SessionUser, OffsetDateTime, Instant)>>,
    learners: Mutex<HashMap<(Uuid, Uuid), (LearnerView, Instant)>>,
}

impl Hot {
    /// The caller behind a session token, if the session is valid.
    pub async fn session(
        &self,
        pool: &PgPool,
        token: &str,
    ) -> Result<Option<SessionUser>, sqlx::Error> {
        if token.len() != 64 {
            return Ok(None);
        }
        let key = db::sessions::digest(token);
        let epoch = self.begin();
        if epoch.is_some()
            && let Ok(map) = self.sessions.lock()
            && let Some((user, expires, at)) = map.get(&key)
            && at.elapsed() < TTL
            && *expires > OffsetDateTime::now_utc()
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(user.clone()));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let found = db::sessions::lookup_digest(pool, &key).await?;
        if let (Some(epoch), Some((user, expires))) = (epoch, &found) {
            self.store(
                &self.sessions,
                epoch,
                key,
                (user.clone(), *expires, Instant::now()),
            );
        }
        Ok(found.map(|(user, _)| user))
    }

    /// A learner's view of a course; `None` when it is not published for their tenant.
    pub async fn learner_view(
        &self,
        pool: &PgPool,
        tenant_id: Uuid,
        course_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<LearnerView>, sqlx::Error> {
        let key = (user_id, course_id);
        let epoch = self.begin();
        if epoch.is_some()
            && let Ok(map) = self.learners.lock()
            && let Some((view, at)) = map.get(&key)
            && at.elapsed() < TTL
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(view.clone()));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let found = db::packages::learner_view(pool, tenant_id, course_id, user_id).await?;
        if let (Some(epoch), Some(view)) = (epoch, &found) {
            self.store(&self.learners, epoch, key, (view.clone(), Instant::now()));
        }
        Ok(found)
    }

    /// Reads answered from memory and reads that went to the database, since start.
    pub fn counts(&self) -> Counts {
        Counts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The epoch a read starts in, or `None` while the cache is off.
    fn begin(&self) -> Option<u64> {
        self.live
            .load(Ordering::Acquire)
            .then(|| self.epoch.load(Ordering::Acquire))
    }

    /// Stores what a read found, unless an invalidation happened since it began.
    fn store<K: std::hash::Hash + Eq, V>(
        &self,
        map: &Mutex<HashMap<K, V>>,
        epoch: u64,
        key: K,
        value: V,
    ) {
        if let Ok(mut m) = map.lock()
            && self.live.load(Ordering::Acquire)
            && self.epoch.load(Ordering::Acquire) == epoch
        {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(key, value);
        }
    }

    /// Applies one notification payload (`session:<hex>`, `user:<id>`, `course:<id>`,
    /// `learner:<id>`); anything else empties the cache.
    pub fn forget(&self, payload: &str) {
        // Bump first: a read that began before this cannot store afterwards.
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let (what, id) = payload.split_once(':').unwrap_or(("", ""));
        match (what, id) {
            ("session", hex_id) => {
                if let (Ok(key), Ok(mut m)) = (hex::decode(hex_id), self.sessions.lock()) {
                    m.remove(&key);
                }
            }
            ("user", id) => {
                if let (Ok(id), Ok(mut m)) = (id.parse::<Uuid>(), self.sessions.lock()) {
                    m.retain(|_, (u, _, _)| u.user.id != id);
                }
                self.forget_learner_entries(|user, _| user.to_string() == id);
            }
            ("course", id) => self.forget_learner_entries(|_, course| course.to_string() == id),
            ("learner", id) => self.forget_learner_entries(|user, _| user.to_string() == id),
            _ => self.clear(),
        }
    }

    fn forget_learner_entries(&self, hit: impl Fn(&Uuid, &Uuid) -> bool) {
        if let Ok(mut m) = self.learners.lock() {
            m.retain(|(user, course), _| !hit(user, course));
        }
    }

    pub fn forget_course(&self, course_id: Uuid) {
        self.forget(&format!("course:{course_id}"));
    }

    pub fn forget_learner(&self, user_id: Uuid) {
        self.forget(&format!("learner:{user_id}"));
    }

    pub fn forget_session(&self, token: &str) {
        self.forget(&format!(
            "session:{}",
            hex::encode(db::sessions::digest(token))
        ));
    }

    fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut m) = self.sessions.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.learners.lock() {
            m.clear();
        }
    }

    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
        self.clear();
    }

    /// Listens for invalidations until the process ends, reconnecting after errors. The
    /// cache is on only while this is connected.
    pub async fn listen(&self, pool: PgPool) {
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => match listener.listen("cw_cache").await {
                    Ok(()) => {
                        self.set_live(true);
                        // `None` or an error: the connection dropped and notifications
                        // may have been lost.
                        while let Ok(Some(n)) = listener.try_recv().await {
                            self.forget(n.payload());
                        }
                        self.set_live(false);
                    }
                    Err(e) => tracing::warn!(error = %e, "cache listener could not LISTEN"),
                },
                Err(e) => tracing::warn!(error = %e, "cache listener could not connect"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(course: Uuid, version: i32) -> LearnerView {
        LearnerView {
            active: db::packages::Active {
                course_id: course,
                package_id: Uuid::nil(),
                version,
                title: "t".into(),
                content_hash: "h".into(),
            },
            enrolled: false,
            completed: vec![],
            price: None,
            purchased: false,
        }
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_stored() {
        let hot = Hot::default();
        hot.set_live(true);
        let (user, course) = (Uuid::new_v4(), Uuid::new_v4());
        let before = hot.begin().expect("live");
        hot.forget_course(course);
        hot.store(
            &hot.learners,
            before,
            (user, course),
            (view(course, 1), Instant::now()),
        );
        assert!(
            hot.learners.lock().expect("lock").is_empty(),
            "stale read stored"
        );
        let now = hot.begin().expect("live");
        hot.store(
            &hot.learners,
            now,
            (user, course),
            (view(course, 2), Instant::now()),
        );
        assert_eq!(hot.learners.lock().expect("lock").len(), 1);
        hot.forget(&format!("learner:{user}"));
        assert!(hot.learners.lock().expect("lock").is_empty());
    }

    #[test]
    fn nothing_is_cached_while_the_listener_is_down() {
        let hot = Hot::default();
        assert_eq!(hot.begin(), None);
        hot.set_live(true);
        let (user, course) = (Uuid::new_v4(), Uuid::new_v4());
        let e = hot.begin().expect("live");
        hot.store(
            &hot.learners,
            e,
            (user, course),
            (view(course, 1), Instant::now()),
        );
        hot.set_live(false);
        assert!(
            hot.learners.lock().expect("lock").is_empty(),
            "going down empties it"
        );
        assert_eq!(hot.begin(), None);
    }
}
