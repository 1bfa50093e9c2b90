//! Objects as files under a local directory, for the embedded profile.
//!
//! Presigned URLs point at `{base_url}/objects/{key}` with an expiry and an
//! HMAC-SHA256 signature over method, key, content type, length (uploads) and
//! expiry, so they carry the same guarantees as S3's: they cannot be altered or
//! reused after they expire, and an upload must be exactly the size it was signed for.
//! [`routes`] serves those URLs (mounted by the subgraph whose address they carry).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderMap, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{ObjectError, ObjectStore, ObjectWriter, validate_key};

/// A directory of objects.
pub struct LocalObjects {
    root: PathBuf,
    base_url: String,
    secret: Vec<u8>,
}

fn io(err: std::io::Error) -> ObjectError {
    ObjectError::Unavailable(err.to_string())
}

impl LocalObjects {
    /// Stores objects under `root`; presigned URLs start with `base_url` and are signed
    /// with `secret`.
    pub fn new(root: PathBuf, base_url: String, secret: Vec<u8>) -> LocalObjects {
        LocalObjects {
            root,
            base_url,
            secret,
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, ObjectError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn mac(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        len: Option<u64>,
        expires: i64,
    ) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        let len = len.map(|n| n.to_string()).unwrap_or_default();
        mac.update(format!("{method}\n{key}\n{content_type}\n{len}\n{expires}").as_bytes());
        mac
    }

    fn sign(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        len: Option<u64>,
        ttl: Duration,
    ) -> String {
        let expires = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
        let mac = self.mac(method, key, content_type, len, expires);
        let sig =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let len = len.map(|n| format!("&len={n}")).unwrap_or_default();
        format!(
            "{}/objects/{key}?expires={expires}{len}&sig={sig}",
            self.base_url
        )
    }

    /// Checks a presigned request: right signature for this method, key, content
    /// type and length (uploads), and not expired.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        len: Option<u64>,
        expires: i64,
        sig: &str,
    ) -> bool {
        if expires < chrono::Utc::now().timestamp() || validate_key(key).is_err() {
            return false;
        }
        let mac = self.mac(method, key, content_type, len, expires);
        match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) {
            Ok(raw) => mac.verify_slice(&raw).is_ok(),
            Err(_) => false,
        }
    }
}

#[async_trait]
impl ObjectStore for LocalObjects {
    async fn put(&self, key: &str, body: Bytes, _content_type: &str) -> Result<(), ObjectError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        // Write beside, then rename: readers never see half an object.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::now_v7()));
        tokio::fs::write(&tmp, &body).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn writer(
        &self,
        key: &str,
        _content_type: &str,
    ) -> Result<Box<dyn ObjectWriter>, ObjectError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::now_v7()));
        let file = tokio::fs::File::create(&tmp).await.map_err(io)?;
        Ok(Box::new(FileWriter {
            file: tokio::io::BufWriter::new(file),
            tmp: Some(tmp),
            path,
            written: 0,
        }))
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, ObjectError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn get_range(
        &self,
        key: &str,
        offset: u64,
        len: u64,
    ) -> Result<Option<Bytes>, ObjectError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = match tokio::fs::File::open(self.path(key)?).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(io)?;
        let mut data = Vec::new();
        file.take(len).read_to_end(&mut data).await.map_err(io)?;
        Ok(Some(Bytes::from(data)))
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        byte_size: u64,
        ttl: Duration,
    ) -> Result<String, ObjectError> {
        validate_key(key)?;
        Ok(self.sign("PUT", key, content_type, Some(byte_size), ttl))
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, ObjectError> {
        validate_key(key)?;
        Ok(self.sign("GET", key, "", None, ttl))
    }

    fn as_local(&self) -> Option<&LocalObjects> {
        Some(self)
    }
}

/// The query of a presigned URL.
#[derive(serde::Deserialize)]
struct Signed {
    expires: i64,
    /// The exact length an upload was signed for.
    len: Option<u64>,
    sig: String,
}

/// Serves `store`'s presigned URLs when it is the local directory (no routes
/// otherwise): PUT with the signed content type and at most `max_put_bytes`, and GET
/// with the type an image's magic bytes give (anything else as an attachment of
/// unknown type), never sniffed by the browser.
pub fn routes(store: Arc<dyn ObjectStore>, max_put_bytes: usize) -> Router {
    if store.as_local().is_none() {
        return Router::new();
    }
    Router::new()
        .route("/objects/{*key}", get(serve_get).put(serve_put))
        .with_state((store, max_put_bytes))
}

type RouteState = (Arc<dyn ObjectStore>, usize);

fn status(code: StatusCode, text: &'static str) -> Response {
    (code, text).into_response()
}

async fn serve_put(
    State((store, max)): State<RouteState>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(local) = store.as_local() else {
        return status(StatusCode::NOT_FOUND, "not found");
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(len) = signed.len else {
        return status(StatusCode::FORBIDDEN, "signature does not match or expired");
    };
    if !local.verify(
        "PUT",
        &key,
        content_type,
        Some(len),
        signed.expires,
        &signed.sig,
    ) {
        return status(StatusCode::FORBIDDEN, "signature does not match or expired");
    }
    // Read no more than was signed for (nor than the store takes at all).
    let limit = usize::try_from(len).unwrap_or(usize::MAX).min(max);
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE, "larger than signed for");
    };
    if bytes.len() as u64 != len {
        return status(StatusCode::BAD_REQUEST, "not the length signed for");
    }
    match store.put(&key, bytes, content_type).await {
        Ok(()) => status(StatusCode::OK, ""),
        Err(err) => {
            tracing::warn!(%key, %err, "upload not stored");
            status(StatusCode::INTERNAL_SERVER_ERROR, "not stored")
        }
    }
}

async fn serve_get(
    State((store, _)): State<RouteState>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
) -> Response {
    let Some(local) = store.as_local() else {
        return status(StatusCode::NOT_FOUND, "not found");
    };
    if signed.len.is_some() || !local.verify("GET", &key, "", None, signed.expires, &signed.sig) {
        return status(StatusCode::FORBIDDEN, "signature does not match or expired");
    }
    match store.get(&key).await {
        Ok(Some(bytes)) => {
            let (content_type, disposition) = match super::sniff_image(&bytes) {
                Some(image) => (image, "inline"),
                None => ("application/octet-stream", "attachment"),
            };
            let headers = [
                (CONTENT_TYPE, content_type),
                (CONTENT_DISPOSITION, disposition),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (CACHE_CONTROL, "private, max-age=3600"),
            ];
            (headers, bytes).into_response()
        }
        Ok(None) => status(StatusCode::NOT_FOUND, "not found"),
        Err(err) => {
            tracing::warn!(%key, %err, "object not read");
            status(StatusCode::INTERNAL_SERVER_ERROR, "not read")
        }
    }
}

/// An object written in parts: into a file beside its place, renamed into it when
/// finished (removed when dropped unfinished).
struct FileWriter {
    file: tokio::io::BufWriter<tokio::fs::File>,
    /// The file being written; `None` once it was renamed into place.
    tmp: Option<PathBuf>,
    path: PathBuf,
    written: u64,
}

#[async_trait]
impl ObjectWriter for FileWriter {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ObjectError> {
        use tokio::io::AsyncWriteExt;
        self.file.write_all(bytes).await.map_err(io)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<u64, ObjectError> {
        use tokio::io::AsyncWriteExt;
        self.file.flush().await.map_err(io)?;
        if let Some(tmp) = self.tmp.take() {
            tokio::fs::rename(&tmp, &self.path).await.map_err(io)?;
        }
        Ok(self.written)
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &tempfile::TempDir) -> LocalObjects {
        LocalObjects::new(
            dir.path().to_path_buf(),
            "http://x".into(),
            b"secret".to_vec(),
        )
    }

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        s.put("a/b.txt", Bytes::from_static(b"hi"), "text/plain")
            .await
            .unwrap();
        assert_eq!(
            s.get("a/b.txt").await.unwrap().unwrap(),
            Bytes::from_static(b"hi")
        );
        assert_eq!(
            s.get_at_most("a/b.txt", 1).await.unwrap().unwrap().len(),
            2,
            "one byte past the cap tells it is too large"
        );
        s.delete("a/b.txt").await.unwrap();
        assert!(s.get("a/b.txt").await.unwrap().is_none());
        assert!(s.get_at_most("a/b.txt", 1).await.unwrap().is_none());
        assert!(s.get("../escape").await.is_err());
    }

    #[tokio::test]
    async fn presigned_urls_verify_and_tampering_fails() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let url = s
            .presign_put("k/1.png", "image/png", 42, Duration::from_secs(60))
            .await
            .unwrap();
        let query = url.split('?').nth(1).unwrap();
        let mut expires = 0;
        let mut sig = "";
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            match k {
                "expires" => expires = v.parse().unwrap(),
                "sig" => sig = v,
                _ => {}
            }
        }
        let len = Some(42);
        assert!(url.contains("&len=42&"), "{url}");
        assert!(s.verify("PUT", "k/1.png", "image/png", len, expires, sig));
        assert!(!s.verify("PUT", "k/2.png", "image/png", len, expires, sig));
        assert!(!s.verify("PUT", "k/1.png", "text/html", len, expires, sig));
        assert!(!s.verify("PUT", "k/1.png", "image/png", Some(43), expires, sig));
        assert!(!s.verify("PUT", "k/1.png", "image/png", None, expires, sig));
        assert!(!s.verify("GET", "k/1.png", "image/png", len, expires, sig));
        assert!(!s.verify("PUT", "k/1.png", "image/png", len, expires + 1, sig));
        assert!(!s.verify("PUT", "k/1.png", "image/png", len, 1, sig));
    }
}
