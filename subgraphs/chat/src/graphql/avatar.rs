//! Group avatar writes at the edge: thin translations to `conversations::avatar`
//! (`Conversation.avatar`, the URLs, is in `types.rs`).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_media::HttpHeader;
use echostream_service::resolver::{RequestExt, parse_id};

use super::app;
use super::types::Conversation;
use crate::conversations::avatar;

/// Where and how to upload a group avatar: PUT the bytes to `url` with `headers`
/// before `expiresAt`, then call `confirmGroupAvatarUpload`.
#[derive(SimpleObject)]
pub struct GroupAvatarUpload {
    id: ID,
    url: String,
    method: String,
    headers: Vec<HttpHeader>,
    expires_at: DateTime<Utc>,
}

/// Avatar writes (owners and admins, as `permissions.rs` allows changing info).
#[derive(Default)]
pub struct AvatarMutation;

#[Object]
impl AvatarMutation {
    /// Starts an upload of a group's avatar: image/png, image/jpeg or image/webp of
    /// exactly `byteSize` bytes (at most `media.max_image_bytes`).
    async fn request_group_avatar_upload(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        content_type: String,
        byte_size: i64,
    ) -> Result<GroupAvatarUpload> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        let upload = avatar::request_upload(app(ctx)?, me, id, &content_type, byte_size).await?;
        Ok(GroupAvatarUpload {
            id: ID(upload.id.to_string()),
            headers: upload.headers(),
            url: upload.url,
            method: "PUT".into(),
            expires_at: upload.expires_at,
        })
    }

    /// Checks an upload (size, real type, pixels) and makes it the group's avatar,
    /// replacing (and deleting) the one before; a refused upload is deleted.
    async fn confirm_group_avatar_upload(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        upload_id: ID,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        let upload = parse_id(&upload_id, "uploadId")?;
        Ok(Conversation(
            avatar::confirm(app(ctx)?, me, id, upload).await?,
        ))
    }

    /// Removes (and deletes) a group's avatar.
    async fn remove_group_avatar(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        Ok(Conversation(avatar::remove(app(ctx)?, me, id).await?))
    }
}
