//! Avatars and covers at the edge: ask for an upload URL, confirm the upload,
//! remove an image; `User.avatar` and `User.cover` give loadable URLs.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
pub use echostream_media::ProfileImage;
use echostream_service::resolver::{RequestExt, parse_id};

use super::{User, app};
use echostream_media::HttpHeader;

use crate::media;

/// Which of a user's images.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::media::ImageKind")]
pub enum ProfileImageKind {
    Avatar,
    Cover,
}

/// What the client is about to upload.
#[derive(InputObject)]
pub struct ProfileImageUploadInput {
    kind: ProfileImageKind,
    /// image/png, image/jpeg or image/webp.
    content_type: String,
    /// The exact size of the file, in bytes (at most `media.max_image_bytes`).
    byte_size: i64,
}

/// Where and how to upload an image: PUT the bytes to `url` with `headers` before
/// `expiresAt`, then call `confirmProfileImageUpload(id)`.
#[derive(SimpleObject)]
pub struct ProfileImageUpload {
    id: ID,
    url: String,
    method: String,
    headers: Vec<HttpHeader>,
    expires_at: DateTime<Utc>,
}

/// The image at `prefix`, as URLs.
pub async fn image(ctx: &Context<'_>, prefix: Option<String>) -> Result<Option<ProfileImage>> {
    let objects = app(ctx)?.ports.objects.as_ref();
    Ok(echostream_media::profile_image(objects, prefix.as_deref()).await?)
}

/// Writes.
#[derive(Default)]
pub struct MediaMutation;

#[Object]
impl MediaMutation {
    /// Starts an upload of the viewer's avatar or cover image.
    async fn request_profile_image_upload(
        &self,
        ctx: &Context<'_>,
        input: ProfileImageUploadInput,
    ) -> Result<ProfileImageUpload> {
        let me = ctx.viewer()?.user_id;
        let upload = media::request_upload(
            app(ctx)?,
            me,
            input.kind.into(),
            &input.content_type,
            input.byte_size,
        )
        .await?;
        Ok(ProfileImageUpload {
            id: ID(upload.id.to_string()),
            headers: upload.headers(),
            url: upload.url,
            method: "PUT".into(),
            expires_at: upload.expires_at,
        })
    }

    /// Checks an upload (size, real type, pixels) and makes it the viewer's image,
    /// replacing (and deleting) the one before; a refused upload is deleted.
    /// Returns the viewer.
    async fn confirm_profile_image_upload(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        media::confirm_upload(app(ctx)?, me, id).await?;
        Ok(User { id: me })
    }

    /// Removes (and deletes) the viewer's avatar or cover image. Returns the viewer.
    async fn remove_profile_image(
        &self,
        ctx: &Context<'_>,
        kind: ProfileImageKind,
    ) -> Result<User> {
        let me = ctx.viewer()?.user_id;
        media::remove(app(ctx)?, me, kind.into()).await?;
        Ok(User { id: me })
    }
}
