//! Attachments at the edge: asking to upload a file, and the files a message
//! carries, with URLs presigned for whoever reads the message (the message itself is
//! only resolved for a member who reads it).

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_media::{HttpHeader, URL_TTL, rendition_key, upload_key};
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use crate::attachments::{self, Requested};
use crate::entities::attachment;

/// What kind of file an attachment is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    name = "AttachmentKind",
    remote = "echostream_contracts::chat::AttachmentKind"
)]
pub enum AttachmentKind {
    Image,
    Video,
    Audio,
    /// Audio its sender recorded as a voice note.
    Voice,
    Document,
}

/// A file a message carries.
pub struct Attachment(pub attachment::Model);

#[Object]
impl Attachment {
    /// The file's id: the same in every message that carries it (a forward).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> AttachmentKind {
        self.0.kind.into()
    }

    /// Its real type, read from its bytes.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }

    async fn file_name(&self) -> &str {
        &self.0.file_name
    }

    async fn byte_size(&self) -> i64 {
        self.0.byte_size
    }

    /// Pixels (photos).
    async fn width(&self) -> Option<i32> {
        self.0.width
    }

    async fn height(&self) -> Option<i32> {
        self.0.height
    }

    /// How long it plays, in milliseconds, where that could be read from the file
    /// (MP4, QuickTime, M4A, WAV, Ogg); null otherwise.
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }

    /// The file, downloaded under its name, for an hour.
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        let objects = app(ctx)?.ports.objects.as_ref();
        let key = upload_key(&self.0.key);
        Ok(objects
            .presign_download(&key, URL_TTL, &self.0.file_name)
            .await
            .map_err(echostream_service::Error::from)?)
    }

    /// A photo's thumbnails, each valid for an hour; null for other files and for
    /// photos too large to decode (`attachments.max_thumbnail_source_pixels`).
    async fn thumbnails(&self, ctx: &Context<'_>) -> Result<Option<Thumbnails>> {
        if !self.0.thumbnails {
            return Ok(None);
        }
        let objects = app(ctx)?.ports.objects.as_ref();
        let [small, medium, large] = echostream_media::images::RENDITIONS;
        let sign = |size| async move {
            objects
                .presign_get(&rendition_key(&self.0.key, size), URL_TTL)
                .await
                .map_err(echostream_service::Error::from)
        };
        Ok(Some(Thumbnails {
            small: sign(small).await?,
            medium: sign(medium).await?,
            large: sign(large).await?,
        }))
    }
}

/// URLs of a photo's thumbnails: at most 64, 256 and 1024 pixels on their longer
/// side, never larger than the photo; re-encoded, so they carry none of its
/// metadata.
#[derive(SimpleObject)]
pub struct Thumbnails {
    small: String,
    medium: String,
    large: String,
}

/// A file to attach to a message being sent.
#[derive(InputObject)]
pub struct AttachmentInput {
    /// From `requestAttachmentUpload`, after the PUT.
    upload_id: ID,
    /// Audio recorded as a voice note (shown as one, not as a file).
    #[graphql(default)]
    voice_note: bool,
}

impl AttachmentInput {
    /// The uploads asked for, parsed.
    pub fn parse(inputs: &[AttachmentInput]) -> Result<Vec<attachments::Asked>> {
        inputs
            .iter()
            .map(|input| {
                Ok(attachments::Asked {
                    upload_id: parse_id(&input.upload_id, "uploadId")?,
                    voice_note: input.voice_note,
                })
            })
            .collect()
    }
}

/// A file about to be uploaded.
#[derive(InputObject)]
pub struct AttachmentUploadInput {
    conversation_id: ID,
    /// Its name, as it is to be downloaded (the last path segment is kept).
    file_name: String,
    /// One of the types the README lists; the bytes must be of it.
    content_type: String,
    /// Its exact size, at most the limit of its kind (`attachments.max_*_bytes`).
    byte_size: i64,
}

/// Where and how to upload a file: PUT the bytes to `url` with `headers` before
/// `expiresAt`, then send a message with `attachments: [{ uploadId: id }]`.
#[derive(SimpleObject)]
pub struct AttachmentUpload {
    id: ID,
    url: String,
    method: String,
    headers: Vec<HttpHeader>,
    expires_at: DateTime<Utc>,
}

/// Attachment writes.
#[derive(Default)]
pub struct AttachmentMutation;

#[Object]
impl AttachmentMutation {
    /// Starts an upload of a file to send in a conversation where the viewer may
    /// send. An upload not sent within `media.unconfirmed_after_secs` is deleted.
    async fn request_attachment_upload(
        &self,
        ctx: &Context<'_>,
        input: AttachmentUploadInput,
    ) -> Result<AttachmentUpload> {
        let me = ctx.viewer()?.user_id;
        let asked = Requested {
            conversation_id: parse_id(&input.conversation_id, "conversationId")?,
            file_name: &input.file_name,
            content_type: &input.content_type,
            byte_size: input.byte_size,
        };
        let upload = attachments::request_upload(app(ctx)?, me, asked).await?;
        Ok(AttachmentUpload {
            id: ID(upload.id.to_string()),
            headers: upload.headers(),
            url: upload.url,
            method: "PUT".into(),
            expires_at: upload.expires_at,
        })
    }
}
