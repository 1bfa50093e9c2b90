//! The object storage port: S3 in the services profile, a local directory otherwise.
//!
//! Clients upload and download media straight from storage through presigned URLs;
//! services only sign, inspect and clean up.

pub mod local;
pub mod s3;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

/// Failures of the object store.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("invalid object key: {0}")]
    InvalidKey(String),
    #[error("object storage unavailable: {0}")]
    Unavailable(String),
}

impl From<ObjectError> for crate::Error {
    fn from(err: ObjectError) -> Self {
        match err {
            ObjectError::InvalidKey(k) => {
                crate::Error::bad_input(format!("invalid object key {k}"))
            }
            other => crate::Error::internal(other),
        }
    }
}

/// Blob storage addressed by key.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores `body` under `key`, replacing what was there.
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), ObjectError>;
    /// Reads `key`; `None` when absent.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, ObjectError>;
    /// Removes `key` (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), ObjectError>;
    /// A URL a client can PUT `key` to, with this content type, until `ttl` passes.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        ttl: Duration,
    ) -> Result<String, ObjectError>;
    /// A URL a client can GET `key` from until `ttl` passes.
    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, ObjectError>;
}

/// Keys are relative paths of safe segments: no `..`, no leading `/`, no control bytes.
pub fn validate_key(key: &str) -> Result<(), ObjectError> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && !key.starts_with('/')
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(ObjectError::InvalidKey(key.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_their_root() {
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "a/./b", "a b", "ä"] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
        for good in ["avatars/u1/original.png", "a", "x-y_z.1"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
    }
}
