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
    /// Whether the store answers now (`/ready`); the local directory always does.
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Stores `body` under `key`, replacing what was there.
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), ObjectError>;
    /// Reads `key`; `None` when absent.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, ObjectError>;
    /// Reads at most `max + 1` bytes of `key` (S3: a ranged GET), so that an object
    /// larger than `max` costs no more than that to find out; `None` when absent. A
    /// result longer than `max` means the object is too large.
    async fn get_at_most(&self, key: &str, max: u64) -> Result<Option<Bytes>, ObjectError> {
        self.get_range(key, 0, max.saturating_add(1)).await
    }
    /// Reads at most `len` bytes of `key` from byte `offset` on (S3: a ranged GET):
    /// a file's header or its tail, without loading the rest; fewer bytes when the
    /// object ends sooner, none past its end; `None` when absent.
    async fn get_range(
        &self,
        key: &str,
        offset: u64,
        len: u64,
    ) -> Result<Option<Bytes>, ObjectError>;
    /// The size of `key` in bytes; `None` when absent. Read before `get` to refuse an
    /// oversized upload without loading it.
    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError>;
    /// Removes `key` (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), ObjectError>;
    /// A URL a client can PUT `key` to, with this content type and exactly
    /// `byte_size` bytes (both are signed: the store refuses any other body), until
    /// `ttl` passes.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        byte_size: u64,
        ttl: Duration,
    ) -> Result<String, ObjectError>;
    /// A URL a client can GET `key` from until `ttl` passes.
    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, ObjectError>;
    /// A URL a client can GET `key` from until `ttl` passes, served as a download
    /// named `file_name` (S3: a signed `Content-Disposition: attachment`; the local
    /// store serves every file that is not an image as a download anyway).
    async fn presign_download(
        &self,
        key: &str,
        ttl: Duration,
        file_name: &str,
    ) -> Result<String, ObjectError> {
        let _ = file_name;
        self.presign_get(key, ttl).await
    }
    /// Starts writing `key` in parts, for what is too large to hold in memory
    /// (exports). The object appears under `key`, whole, only when the writer
    /// finishes; one dropped unfinished never appears.
    async fn writer(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<Box<dyn ObjectWriter>, ObjectError>;
    /// The local directory store, which serves its presigned URLs itself (see
    /// [`local::routes`]); `None` for stores that serve their own.
    fn as_local(&self) -> Option<&local::LocalObjects> {
        None
    }
}

/// An object being written in parts (see [`ObjectStore::writer`]): bytes are
/// appended in order and held only up to one part (S3: 8 MiB) at a time.
#[async_trait]
pub trait ObjectWriter: Send {
    /// Appends `bytes`.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ObjectError>;
    /// Completes the object; returns its size in bytes.
    async fn finish(self: Box<Self>) -> Result<u64, ObjectError>;
}

/// The image type `bytes` start like (PNG, JPEG, WebP or GIF), from their magic
/// bytes, whatever anyone declared.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
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
    fn images_are_told_by_their_magic_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"GIF89a\x01\0\x01\0"), Some("image/gif"));
        assert_eq!(sniff_image(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff_image(b"RIFF"), None);
    }

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
