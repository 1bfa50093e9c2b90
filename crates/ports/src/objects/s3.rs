//! S3-compatible object storage (MinIO, SeaweedFS, AWS) through aws-sdk-s3.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::{ObjectError, ObjectStore, ObjectWriter, validate_key};
use echostream_config::S3Config;

/// One bucket of an S3-compatible store, path-style addressed.
pub struct S3Objects {
    client: Client,
    bucket: String,
}

fn fail(err: impl std::fmt::Display) -> ObjectError {
    ObjectError::Unavailable(err.to_string())
}

impl S3Objects {
    /// Reads `key` whole, or `len` bytes of it from `offset` on (a ranged GET);
    /// `None` when absent.
    async fn read(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<Bytes>, ObjectError> {
        validate_key(key)?;
        let request = self.client.get_object().bucket(&self.bucket).key(key);
        let request = match range {
            Some((_, 0)) => return Ok(self.size(key).await?.map(|_| Bytes::new())),
            Some((offset, len)) => {
                request.range(format!("bytes={offset}-{}", offset.saturating_add(len - 1)))
            }
            None => request,
        };
        match request.send().await {
            Ok(out) => {
                let data = out.body.collect().await.map_err(fail)?;
                Ok(Some(data.into_bytes()))
            }
            Err(err) => {
                // A range wholly past the end of the object: nothing of it to read.
                if err.raw_response().map(|r| r.status().as_u16()) == Some(416) {
                    return Ok(Some(Bytes::new()));
                }
                let service = err.into_service_error();
                if service.is_no_such_key() {
                    Ok(None)
                } else {
                    Err(fail(service))
                }
            }
        }
    }

    /// Connects and makes sure the bucket exists.
    pub async fn connect(config: &S3Config) -> Result<S3Objects, ObjectError> {
        let credentials = Credentials::new(
            &config.access_key,
            &config.secret_key,
            None,
            None,
            "echostream-config",
        );
        let s3_config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .endpoint_url(&config.endpoint)
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        let store = S3Objects {
            client: Client::from_conf(s3_config),
            bucket: config.bucket.clone(),
        };
        store.ensure_bucket().await?;
        Ok(store)
    }

    async fn ensure_bucket(&self) -> Result<(), ObjectError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => {
                let service = err.into_service_error();
                if service.is_bucket_already_owned_by_you() || service.is_bucket_already_exists() {
                    Ok(())
                } else {
                    Err(fail(service))
                }
            }
        }
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn writer(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<Box<dyn ObjectWriter>, ObjectError> {
        validate_key(key)?;
        Ok(Box::new(S3Writer {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_string(),
            content_type: content_type.to_string(),
            buffer: Vec::new(),
            upload: None,
            parts: Vec::new(),
            written: 0,
        }))
    }

    async fn check(&self) -> Result<(), String> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(drop)
            .map_err(|e| e.into_service_error().to_string())
    }

    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), ObjectError> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| fail(e.into_service_error()))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, ObjectError> {
        self.read(key, None).await
    }

    async fn get_range(
        &self,
        key: &str,
        offset: u64,
        len: u64,
    ) -> Result<Option<Bytes>, ObjectError> {
        self.read(key, Some((offset, len))).await
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        validate_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.content_length().unwrap_or(0).max(0) as u64)),
            Err(err) => {
                let service = err.into_service_error();
                if service.is_not_found() {
                    Ok(None)
                } else {
                    Err(fail(service))
                }
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail(e.into_service_error()))?;
        Ok(())
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        byte_size: u64,
        ttl: Duration,
    ) -> Result<String, ObjectError> {
        validate_key(key)?;
        let presign = PresigningConfig::expires_in(ttl).map_err(fail)?;
        // Content-Length is a signed header: S3 refuses a body of any other size, so
        // the store itself bounds what a client can put there.
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(byte_size).map_err(fail)?)
            .presigned(presign)
            .await
            .map_err(fail)?;
        Ok(request.uri().to_string())
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, ObjectError> {
        validate_key(key)?;
        let presign = PresigningConfig::expires_in(ttl).map_err(fail)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presign)
            .await
            .map_err(fail)?;
        Ok(request.uri().to_string())
    }

    async fn presign_download(
        &self,
        key: &str,
        ttl: Duration,
        file_name: &str,
    ) -> Result<String, ObjectError> {
        validate_key(key)?;
        let presign = PresigningConfig::expires_in(ttl).map_err(fail)?;
        // RFC 6266: an ASCII fallback and the UTF-8 name (RFC 8187), so that a
        // browser saves the file under its name and never renders it in our origin.
        let ascii: String = file_name
            .chars()
            .map(|c| match c {
                ' '..='~' if c != '"' && c != '\\' => c,
                _ => '_',
            })
            .collect();
        let encoded =
            percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
            ))
            .presigned(presign)
            .await
            .map_err(fail)?;
        Ok(request.uri().to_string())
    }
}

/// How much of an object written in parts is held before it is sent as one part of
/// a multipart upload (S3's least part size is 5 MiB, except the last).
const PART_BYTES: usize = 8 * 1024 * 1024;

/// An object written in parts: one `PutObject` when it stays under one part, else a
/// multipart upload, aborted when the writer is dropped unfinished.
struct S3Writer {
    client: Client,
    bucket: String,
    key: String,
    content_type: String,
    buffer: Vec<u8>,
    /// The multipart upload's id, once the first part was sent.
    upload: Option<String>,
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
    written: u64,
}

impl S3Writer {
    /// Sends what is buffered as the next part (starting the upload first).
    async fn send_part(&mut self) -> Result<(), ObjectError> {
        let upload = match &self.upload {
            Some(upload) => upload.clone(),
            None => {
                let started = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .content_type(&self.content_type)
                    .send()
                    .await
                    .map_err(|e| fail(e.into_service_error()))?;
                let id = started
                    .upload_id()
                    .ok_or_else(|| fail("the store gave no upload id"))?
                    .to_string();
                self.upload = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::take(&mut self.buffer);
        let sent = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| fail(e.into_service_error()))?;
        self.parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }
}

#[async_trait]
impl ObjectWriter for S3Writer {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ObjectError> {
        self.buffer.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        if self.buffer.len() >= PART_BYTES {
            self.send_part().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<u64, ObjectError> {
        if self.upload.is_none() {
            let body = std::mem::take(&mut self.buffer);
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type(&self.content_type)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| fail(e.into_service_error()))?;
            return Ok(self.written);
        }
        if !self.buffer.is_empty() {
            self.send_part().await?;
        }
        let upload = self.upload.take().unwrap_or_default();
        let parts = std::mem::take(&mut self.parts);
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        if let Err(err) = completed {
            self.upload = Some(upload); // aborted on drop
            return Err(fail(err.into_service_error()));
        }
        Ok(self.written)
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        let (Some(upload), Ok(runtime)) =
            (self.upload.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let abort = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload);
        runtime.spawn(async move {
            if let Err(err) = abort.send().await {
                tracing::warn!(err = %err.into_service_error(), "an unfinished upload was not aborted");
            }
        });
    }
}
