//! Avatars and cover images, uploaded by the client straight to object storage.
//!
//! 1. [`request_upload`]: the client declares kind, content type and size and gets a
//!    presigned PUT URL for `media/{user}/{id}/upload`; a `pending` row remembers it.
//! 2. The client PUTs the bytes to storage itself.
//! 3. [`confirm_upload`] checks the stored object (real size, real type from its
//!    magic bytes, pixel size: [`images`]), writes the renditions beside it, deletes
//!    the upload, and makes the image the user's; the image it replaces is doomed.
//!
//! Nothing is deleted inside a transaction: what is to go is recorded (`doomed`, or
//! `pending` past `media.unconfirmed_after_secs`) and [`cleanup`] deletes it, on
//! every instance, each row claimed by exactly one.

pub mod cleanup;
pub mod images;

use std::time::Duration;

use chrono::Utc;
use echostream_shared::Error;
use echostream_shared::contracts::profile::ProfileMediaChanged;
use echostream_shared::events::outbox::Change;
use echostream_shared::objects::ObjectStore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::Profile;
use crate::entities::{media, profile};

/// Which of a user's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Avatar,
    Cover,
}

impl ImageKind {
    fn as_str(self) -> &'static str {
        match self {
            ImageKind::Avatar => "avatar",
            ImageKind::Cover => "cover",
        }
    }
}

/// Uploads one user may have waiting for confirmation at once.
pub const MAX_PENDING: u64 = 10;

/// Images decoded at once in this process: each may take tens of MiB, so a burst
/// of confirmations waits rather than exhausting memory.
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The types a client may declare (the real one is checked on confirmation).
pub const IMAGE_TYPES: [&str; 3] = ["image/png", "image/jpeg", "image/webp"];

/// Where an image's upload waits to be checked.
pub fn upload_key(prefix: &str) -> String {
    format!("{prefix}/upload")
}

/// Where an image's rendition of `size` pixels is.
pub fn rendition_key(prefix: &str, size: u32) -> String {
    format!("{prefix}/{size}")
}

/// Every object an image may have.
pub fn all_keys(prefix: &str) -> Vec<String> {
    let mut keys = vec![upload_key(prefix)];
    keys.extend(images::RENDITIONS.iter().map(|s| rendition_key(prefix, *s)));
    keys
}

/// A presigned upload handed to the client.
pub struct Upload {
    pub id: Uuid,
    pub url: String,
    pub content_type: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// Starts an upload of `me`'s `kind` image of `content_type` and `bytes`.
pub async fn request_upload(
    app: &Profile,
    me: Uuid,
    kind: ImageKind,
    content_type: &str,
    bytes: i64,
) -> Result<Upload, Error> {
    let limits = &app.ports.config.media;
    if !IMAGE_TYPES.contains(&content_type) {
        return Err(Error::bad_input(
            "contentType must be image/png, image/jpeg or image/webp",
        ));
    }
    if bytes < 1 || bytes as u64 > limits.max_image_bytes {
        return Err(Error::bad_input(format!(
            "byteSize must be 1 to {} (media.max_image_bytes)",
            limits.max_image_bytes
        )));
    }
    let pending = media::Entity::find()
        .filter(media::Column::UserId.eq(me))
        .filter(media::Column::State.eq("pending"))
        .count(&app.db)
        .await?;
    if pending >= MAX_PENDING {
        return Err(Error::TooMany(format!(
            "at most {MAX_PENDING} uploads may wait for confirmation; confirm them or let them expire"
        )));
    }
    let id = Uuid::now_v7();
    let prefix = format!("media/{me}/{id}");
    let ttl = Duration::from_secs(limits.upload_ttl_secs);
    let url = app
        .ports
        .objects
        .presign_put(&upload_key(&prefix), content_type, ttl)
        .await?;
    media::ActiveModel {
        id: Set(id),
        user_id: Set(me),
        kind: Set(kind.as_str().into()),
        key: Set(prefix),
        content_type: Set(content_type.into()),
        declared_bytes: Set(bytes),
        state: Set("pending".into()),
        since: Set(Utc::now()),
    }
    .insert(&app.db)
    .await?;
    Ok(Upload {
        id,
        url,
        content_type: content_type.into(),
        expires_at: Utc::now() + ttl,
    })
}

/// Checks `me`'s upload `id` and makes it their image. A refused upload is deleted
/// at once, with a `BAD_USER_INPUT` saying why.
pub async fn confirm_upload(app: &Profile, me: Uuid, id: Uuid) -> Result<(), Error> {
    let upload = media::Entity::find_by_id(id)
        .filter(media::Column::UserId.eq(me))
        .filter(media::Column::State.eq("pending"))
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("no such upload"))?;
    let objects = app.ports.objects.as_ref();
    let limits = &app.ports.config.media;
    let key = upload_key(&upload.key);
    let Some(size) = objects.size(&key).await? else {
        return Err(Error::bad_input(
            "nothing was uploaded: PUT the image to the upload URL first",
        ));
    };
    if size > limits.max_image_bytes || size != upload.declared_bytes as u64 {
        discard(app, &upload).await?;
        return Err(Error::bad_input(format!(
            "the upload is {size} bytes; {} were declared, at most {} are accepted",
            upload.declared_bytes, limits.max_image_bytes
        )));
    }
    let bytes = objects
        .get(&key)
        .await?
        .ok_or_else(|| Error::bad_input("the upload vanished; upload it again"))?;
    let (max_side, square) = (limits.max_image_pixels, upload.kind == "avatar");
    let permit = DECODES.acquire().await.map_err(Error::internal)?;
    let checked = tokio::task::spawn_blocking(move || images::accept(&bytes, max_side, square))
        .await
        .map_err(Error::internal)?;
    drop(permit);
    let accepted = match checked {
        Ok(accepted) => accepted,
        Err(refused) => {
            discard(app, &upload).await?;
            return Err(refused);
        }
    };
    for (size, bytes, content_type) in accepted.renditions {
        let key = rendition_key(&upload.key, size);
        objects.put(&key, bytes.into(), content_type).await?;
    }
    objects.delete(&key).await?;
    let kind = if upload.kind == "avatar" {
        ImageKind::Avatar
    } else {
        ImageKind::Cover
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
    upload: Option<media::Model>,
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
                    // Two confirmations of one upload: only the first makes it.
                    let claimed = media::Entity::delete_by_id(upload.id).exec(txn).await?;
                    if claimed.rows_affected == 0 {
                        return Err(Error::conflict("this upload was already confirmed"));
                    }
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
                    doom(txn, me, kind.as_str(), old).await?;
                }
                let event = ProfileMediaChanged {
                    user_id: me,
                    kind: kind.as_str().into(),
                    key: new_key,
                };
                Ok(Change::new(()).emit(&event, Some(me)))
            })
        })
        .await?;
    cleanup::wake(app);
    Ok(())
}

/// Records an image's objects for deletion.
async fn doom(
    db: &impl ConnectionTrait,
    user: Uuid,
    kind: &str,
    prefix: String,
) -> Result<(), Error> {
    media::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        kind: Set(kind.into()),
        key: Set(prefix),
        content_type: Set(String::new()),
        declared_bytes: Set(0),
        state: Set("doomed".into()),
        since: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Dooms everything of a deleted account: its images and unconfirmed uploads
/// (inside the transaction that erases it).
pub async fn doom_all_of(db: &impl ConnectionTrait, user: Uuid) -> Result<(), Error> {
    media::Entity::update_many()
        .col_expr(media::Column::State, "doomed".into())
        .filter(media::Column::UserId.eq(user))
        .exec(db)
        .await?;
    if let Some(row) = profile::Entity::find_by_id(user).one(db).await? {
        for (kind, key) in [("avatar", row.avatar_key), ("cover", row.cover_key)] {
            if let Some(key) = key {
                doom(db, user, kind, key).await?;
            }
        }
    }
    Ok(())
}

/// Deletes a refused upload now.
async fn discard(app: &Profile, upload: &media::Model) -> Result<(), Error> {
    delete_objects(app.ports.objects.as_ref(), &upload.key).await?;
    media::Entity::delete_by_id(upload.id).exec(&app.db).await?;
    Ok(())
}

/// Deletes every object of the image at `prefix` (absent ones are fine).
pub async fn delete_objects(objects: &dyn ObjectStore, prefix: &str) -> Result<(), Error> {
    for key in all_keys(prefix) {
        objects.delete(&key).await?;
    }
    Ok(())
}

/// URLs a browser can load an image's renditions from, valid for an hour.
pub struct ImageUrls {
    pub small: String,
    pub medium: String,
    pub large: String,
}

/// How long an image URL handed out stays valid.
pub const URL_TTL: Duration = Duration::from_secs(3600);

/// Presigns the renditions of the image at `prefix`.
pub async fn urls(objects: &dyn ObjectStore, prefix: &str) -> Result<ImageUrls, Error> {
    let [small, medium, large] = images::RENDITIONS;
    Ok(ImageUrls {
        small: objects
            .presign_get(&rendition_key(prefix, small), URL_TTL)
            .await?,
        medium: objects
            .presign_get(&rendition_key(prefix, medium), URL_TTL)
            .await?,
        large: objects
            .presign_get(&rendition_key(prefix, large), URL_TTL)
            .await?,
    })
}
