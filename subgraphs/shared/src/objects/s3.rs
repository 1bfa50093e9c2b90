//! S3-compatible object storage (MinIO, SeaweedFS, AWS) through aws-sdk-s3.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::{ObjectError, ObjectStore, validate_key};
use crate::config::S3Config;

/// One bucket of an S3-compatible store, path-style addressed.
pub struct S3Objects {
    client: Client,
    bucket: String,
}

fn fail(err: impl std::fmt::Display) -> ObjectError {
    ObjectError::Unavailable(err.to_string())
}

impl S3Objects {
    /// Reads `key` whole, or its first `max + 1` bytes (a ranged GET); `None` when
    /// absent.
    async fn read(&self, key: &str, max: Option<u64>) -> Result<Option<Bytes>, ObjectError> {
        validate_key(key)?;
        let request = self.client.get_object().bucket(&self.bucket).key(key);
        let request = match max {
            Some(max) => request.range(format!("bytes=0-{max}")),
            None => request,
        };
        match request.send().await {
            Ok(out) => {
                let data = out.body.collect().await.map_err(fail)?;
                Ok(Some(data.into_bytes()))
            }
            Err(err) => {
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

    async fn get_at_most(&self, key: &str, max: u64) -> Result<Option<Bytes>, ObjectError> {
        self.read(key, Some(max)).await
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
}
