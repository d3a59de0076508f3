//! Where generated artifacts live. Objects are written once at a path derived from their
//! owner and their content hash, so a path names exactly one content forever.
//!
//! `file:///abs/dir` (or `file://relative/dir`) is a local folder; `s3://bucket/prefix` is
//! any S3-compatible bucket, configured by the usual `AWS_*` variables (`AWS_ENDPOINT` for
//! MinIO and friends).

use std::sync::Arc;
use std::time::SystemTime;

use futures_util::TryStreamExt;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("OBJECT_STORE_URL {0:?} must start with file:// or s3://")]
    BadUrl(String),
    #[error("object store: {0}")]
    Backend(#[from] object_store::Error),
    #[error("object store folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("object {path} does not match its hash")]
    Corrupt { path: String },
}

/// One stored object's address and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub path: String,
    pub content_hash: String,
    pub size_bytes: i64,
}

/// One object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub path: String,
    /// When it was written (objects are written once).
    pub last_modified: SystemTime,
    pub size_bytes: u64,
}

/// The object store, cheap to clone.
#[derive(Clone)]
pub struct Objects {
    inner: Arc<dyn ObjectStore>,
    /// For messages: where this store points.
    pub location: String,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objects({})", self.location)
    }
}

/// SHA-256 of `bytes`, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Objects {
    /// Opens the store named by `url`, creating a local folder if needed.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: dir.to_owned(),
                source,
            })?;
            let fs = LocalFileSystem::new_with_prefix(dir)?;
            return Ok(Self {
                inner: Arc::new(fs),
                location: url.to_owned(),
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let bucket = rest.split('/').next().unwrap_or_default();
            if bucket.is_empty() {
                return Err(StoreError::BadUrl(url.to_owned()));
            }
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?;
            let prefix = rest[bucket.len()..].trim_matches('/').to_owned();
            let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
            };
            return Ok(Self {
                inner,
                location: url.to_owned(),
            });
        }
        Err(StoreError::BadUrl(url.to_owned()))
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Self {
        Self {
            inner: Arc::new(object_store::memory::InMemory::new()),
            location: "memory://".into(),
        }
    }

    /// Writes `bytes` under `{owner}/{sha256}.{ext}` and returns where. Writing the same
    /// content twice lands on the same path with the same bytes.
    pub async fn put(&self, owner: &str, ext: &str, bytes: Vec<u8>) -> Result<Stored, StoreError> {
        let content_hash = content_hash(&bytes);
        let path = format!("{owner}/{content_hash}.{ext}");
        let size_bytes = bytes.len() as i64;
        self.inner
            .put(&Path::from(path.as_str()), PutPayload::from(bytes))
            .await?;
        Ok(Stored {
            path,
            content_hash,
            size_bytes,
        })
    }

    /// Reads an object back, checking it against the hash in its path.
    pub async fn get(&self, path: &str) -> Result<Vec<u8>, StoreError> {
        let bytes = self
            .inner
            .get(&Path::from(path))
            .await?
            .bytes()
            .await?
            .to_vec();
        let expected = path
            .rsplit('/')
            .next()
            .and_then(|f| f.split('.').next())
            .unwrap_or_default();
        if expected.len() == 64 && content_hash(&bytes) != expected {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
            });
        }
        Ok(bytes)
    }

    /// Every object below the folder `prefix`, in no particular order; none when it is missing.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let prefix = Path::from(prefix);
        let listed = self.inner.list(Some(&prefix)).try_collect::<Vec<_>>().await;
        let metas = match listed {
            Ok(m) => m,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(metas
            .into_iter()
            .map(|m| Listed {
                path: m.location.to_string(),
                last_modified: m.last_modified.into(),
                size_bytes: m.size,
            })
            .collect())
    }

    /// Removes an object nobody references (an abandoned job's output). Missing is fine.
    pub async fn delete(&self, path: &str) -> Result<(), StoreError> {
        match self.inner.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_folder_round_trips_and_names_objects_by_hash() {
        let dir = std::env::temp_dir().join(format!("cw-store-{}", uuid::Uuid::new_v4().simple()));
        let store = Objects::from_url(&format!("file://{}", dir.display())).expect("store");
        let stored = store
            .put("jobs/j1", "json", br#"{"a":1}"#.to_vec())
            .await
            .expect("put");
        assert_eq!(
            stored.path,
            format!("jobs/j1/{}.json", content_hash(br#"{"a":1}"#))
        );
        assert!(dir.join(&stored.path).is_file());
        assert_eq!(store.get(&stored.path).await.expect("get"), br#"{"a":1}"#);
        // Tampering on disk is noticed on read.
        std::fs::write(dir.join(&stored.path), b"{}").expect("tamper");
        assert!(matches!(
            store.get(&stored.path).await,
            Err(StoreError::Corrupt { .. })
        ));
        store.delete(&stored.path).await.expect("delete");
        store
            .delete(&stored.path)
            .await
            .expect("deleting twice is fine");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_listing_names_every_object_below_a_folder_with_its_age() {
        let dir = std::env::temp_dir().join(format!("cw-store-{}", uuid::Uuid::new_v4().simple()));
        let store = Objects::from_url(&format!("file://{}", dir.display())).expect("store");
        assert!(store.list("jobs").await.expect("empty").is_empty());
        let a = store
            .put("jobs/a", "json", b"1".to_vec())
            .await
            .expect("put");
        let b = store
            .put("jobs/b", "json", b"22".to_vec())
            .await
            .expect("put");
        store.put("other", "txt", b"x".to_vec()).await.expect("put");
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(dir.join(&a.path))
            .and_then(|f| f.set_modified(old))
            .expect("age the file");
        let mut listed = store.list("jobs").await.expect("list");
        listed.sort_by(|x, y| x.path.cmp(&y.path));
        let paths: Vec<_> = listed
            .iter()
            .map(|l| (l.path.as_str(), l.size_bytes))
            .collect();
        assert_eq!(paths, vec![(a.path.as_str(), 1), (b.path.as_str(), 2)]);
        assert!(listed[0].last_modified <= old + std::time::Duration::from_secs(1));
        assert!(listed[1].last_modified > old + std::time::Duration::from_secs(60));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn unknown_schemes_are_refused_clearly() {
        let err = Objects::from_url("ftp://x").expect_err("refused");
        assert!(err.to_string().contains("file:// or s3://"));
    }
}
