//! Avatars and cover images, uploaded by the client straight to object storage
//! through the shared flow (`echostream_media`): ask for an upload URL, PUT
//! the bytes, confirm. Confirming makes the image the user's and dooms the one it
//! replaces; the shared clean-up worker deletes what is doomed.

use chrono::Utc;
pub use echostream_contracts::profile::ImageKind;
use echostream_contracts::profile::ProfileMediaChanged;
use echostream_media::{self as media, Images, MediaKind, MediaState, Upload, stored};
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::Profile;
use crate::entities::profile;

/// What the `media` table calls a user's `kind` image.
fn stored_kind(kind: ImageKind) -> MediaKind {
    match kind {
        ImageKind::Avatar => MediaKind::Avatar,
        ImageKind::Cover => MediaKind::Cover,
    }
}

fn images(app: &Profile) -> Images<'_> {
    Images {
        db: &app.db,
        objects: app.ports.objects.as_ref(),
        limits: &app.ports.config.media,
    }
}

/// Starts an upload of `me`'s `kind` image of `content_type` and `bytes`.
pub async fn request_upload(
    app: &Profile,
    me: Uuid,
    kind: ImageKind,
    content_type: &str,
    bytes: i64,
) -> Result<Upload, Error> {
    let place = media::new_prefix(&me.to_string());
    images(app)
        .request_upload(me, stored_kind(kind), place, content_type, bytes)
        .await
}

/// Checks `me`'s upload `id` and makes it their image. A refused upload is deleted
/// at once, with a `BAD_USER_INPUT` saying why.
pub async fn confirm_upload(app: &Profile, me: Uuid, id: Uuid) -> Result<(), Error> {
    let upload = images(app).check_upload(me, id, &me.to_string()).await?;
    let kind = match upload.kind {
        MediaKind::Avatar => ImageKind::Avatar,
        MediaKind::Cover => ImageKind::Cover,
        // Profile asks for no other kind under a user's prefix.
        MediaKind::GroupAvatar | MediaKind::Export | MediaKind::Attachment => {
            return Err(Error::not_found("no such upload"));
        }
    };
    set_image(app, me, kind, Some(upload)).await
}

/// Removes `me`'s `kind` image, if any.
pub async fn remove(app: &Profile, me: Uuid, kind: ImageKind) -> Result<(), Error> {
    set_image(app, me, kind, None).await
}

/// Makes `upload` (or nothing) `me`'s `kind` image; the one it replaces is doomed.
async fn set_image(
    app: &Profile,
    me: Uuid,
    kind: ImageKind,
    upload: Option<stored::Model>,
) -> Result<(), Error> {
    app.relay
        .write(move |txn| {
            Box::pin(async move {
                let row = profile::Entity::find_by_id(me)
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("no such profile"))?;
                let new_key = upload.as_ref().map(|u| u.key.clone());
                if let Some(upload) = &upload {
                    media::claim(txn, upload).await?;
                }
                let old = match kind {
                    ImageKind::Avatar => row.avatar_key.clone(),
                    ImageKind::Cover => row.cover_key.clone(),
                };
                if old.is_none() && new_key.is_none() {
                    return Ok(Change::new(()));
                }
                let mut changed: profile::ActiveModel = row.into();
                match kind {
                    ImageKind::Avatar => changed.avatar_key = Set(new_key.clone()),
                    ImageKind::Cover => changed.cover_key = Set(new_key.clone()),
                }
                changed.updated_at = Set(Utc::now());
                changed.update(txn).await?;
                if let Some(old) = old {
                    media::doom(txn, me, stored_kind(kind), old).await?;
                }
                let event = ProfileMediaChanged {
                    user_id: me,
                    kind,
                    key: new_key,
                };
                Ok(Change::new(()).emit(&event, Some(me)))
            })
        })
        .await?;
    app.cleanup.wake();
    Ok(())
}

/// Dooms everything of a deleted account: its images and unconfirmed uploads
/// (inside the transaction that erases it).
pub async fn doom_all_of(db: &impl ConnectionTrait, user: Uuid) -> Result<(), Error> {
    stored::Entity::update_many()
        .col_expr(
            stored::Column::State,
            sea_orm::sea_query::Expr::value(MediaState::Doomed),
        )
        .filter(stored::Column::UserId.eq(user))
        .exec(db)
        .await?;
    if let Some(row) = profile::Entity::find_by_id(user).one(db).await? {
        for (kind, key) in [
            (MediaKind::Avatar, row.avatar_key),
            (MediaKind::Cover, row.cover_key),
        ] {
            if let Some(key) = key {
                media::doom(db, user, kind, key).await?;
            }
        }
    }
    Ok(())
}
