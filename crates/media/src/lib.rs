//! Images clients upload straight to object storage, for every subgraph that keeps
//! some (profile: avatars and covers; chat: group avatars). Each keeps its own
//! `media` table ([`stored`]) in its own schema.
//!
//! 1. [`request_upload`]: the client declares content type and size and gets a
//!    presigned PUT URL for `{prefix}/upload`; a `pending` row remembers it.
//! 2. The client PUTs the bytes to storage itself.
//! 3. [`check_upload`] checks the stored object (real size, real type from its
//!    magic bytes, pixel size: [`images`]), writes the renditions beside it and
//!    deletes the upload. The subgraph then [`claim`]s the row inside the
//!    transaction that makes the image someone's, and [`doom`]s the one it replaces.
//!
//! Nothing is deleted inside a transaction: what is to go is recorded (`doomed`, or
//! `pending` past `media.unconfirmed_after_secs`) and [`cleanup`] deletes it, on
//! every instance, each row claimed by exactly one. The same table and worker delete
//! objects that live only until a time ([`expire_at`]: data exports, whose link
//! expires with them).

pub mod cleanup;
pub mod images;

use std::time::Duration;

use async_graphql::SimpleObject;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use echostream_config::MediaConfig;
use echostream_ports::Error;
use echostream_ports::objects::ObjectStore;

pub use stored::{MediaKind, MediaState};

/// The `media` table: uploads waiting for confirmation, and images waiting to be
/// deleted.
pub mod stored {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "media")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Who uploaded it (or whose image it was).
        pub user_id: Uuid,
        pub kind: MediaKind,
        /// The key prefix of the image's objects.
        pub key: String,
        /// What the client declared it would upload.
        pub content_type: String,
        pub declared_bytes: i64,
        /// The name of the file an upload was asked for (attachments).
        pub file_name: Option<String>,
        pub state: MediaState,
        /// When it was asked for or doomed; for `Expires`, when it is to go.
        pub since: DateTimeUtc,
    }

    /// What an upload or an object is for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum MediaKind {
        /// A user's profile picture (profile).
        #[sea_orm(string_value = "avatar")]
        Avatar,
        /// A user's cover image (profile).
        #[sea_orm(string_value = "cover")]
        Cover,
        /// A group's picture (chat).
        #[sea_orm(string_value = "group")]
        GroupAvatar,
        /// A data export, one object with an expiring link (chat).
        #[sea_orm(string_value = "export")]
        Export,
        /// A file a message carries (chat), kept at `{key}/upload` with an image's
        /// thumbnails beside it.
        #[sea_orm(string_value = "attachment")]
        Attachment,
    }

    impl MediaKind {
        /// Whether the image's renditions are cropped to squares.
        pub fn square(self) -> bool {
            match self {
                MediaKind::Avatar | MediaKind::GroupAvatar => true,
                MediaKind::Cover | MediaKind::Export | MediaKind::Attachment => false,
            }
        }
    }

    /// Where a row stands: an upload waiting for confirmation, objects waiting to
    /// be deleted, or one object (`key` itself) to be deleted at `since`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum MediaState {
        #[sea_orm(string_value = "pending")]
        Pending,
        #[sea_orm(string_value = "doomed")]
        Doomed,
        #[sea_orm(string_value = "expires")]
        Expires,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Uploads one user may have waiting for confirmation at once (per subgraph).
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
    /// The exact size the PUT must have (signed: the store refuses any other).
    pub byte_size: u64,
    pub expires_at: chrono::DateTime<Utc>,
}

/// A header an upload must carry.
#[derive(SimpleObject)]
#[graphql(shareable)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

impl Upload {
    /// The headers the client's PUT must carry: the presigned content type and
    /// length (HTTP clients set the length from the body themselves).
    pub fn headers(&self) -> Vec<HttpHeader> {
        vec![
            HttpHeader {
                name: "Content-Type".into(),
                value: self.content_type.clone(),
            },
            HttpHeader {
                name: "Content-Length".into(),
                value: self.byte_size.to_string(),
            },
        ]
    }
}

/// A subgraph's images: its database (with its `media` table), the object store
/// and the limits.
pub struct Images<'a> {
    pub db: &'a DatabaseConnection,
    pub objects: &'a dyn ObjectStore,
    pub limits: &'a MediaConfig,
}

/// A new upload's id and the prefix its objects go under: `media/{owner}/{id}`.
pub fn new_prefix(owner: &str) -> (Uuid, String) {
    let id = Uuid::now_v7();
    (id, format!("media/{owner}/{id}"))
}

impl Images<'_> {
    /// Starts an upload by `uploader` of a `kind` image of `content_type` and `bytes`,
    /// to be stored under `prefix` (`media/{owner}/{id}`; see [`new_prefix`]).
    pub async fn request_upload(
        &self,
        uploader: Uuid,
        kind: MediaKind,
        place: (Uuid, String),
        content_type: &str,
        bytes: i64,
    ) -> Result<Upload, Error> {
        if !IMAGE_TYPES.contains(&content_type) {
            return Err(Error::bad_input(
                "contentType must be image/png, image/jpeg or image/webp",
            ));
        }
        if bytes < 1 || bytes as u64 > self.limits.max_image_bytes {
            return Err(Error::bad_input(format!(
                "byteSize must be 1 to {} (media.max_image_bytes)",
                self.limits.max_image_bytes
            )));
        }
        self.request_file(uploader, kind, place, content_type, bytes, None)
            .await
    }

    /// Starts an upload by `uploader` of a `kind` file of `content_type` and `bytes`,
    /// named `file_name`, which the caller has judged acceptable to ask for (the
    /// bytes are checked when the upload is used), at `{prefix}/upload`.
    pub async fn request_file(
        &self,
        uploader: Uuid,
        kind: MediaKind,
        (id, prefix): (Uuid, String),
        content_type: &str,
        bytes: i64,
        file_name: Option<&str>,
    ) -> Result<Upload, Error> {
        let Images {
            db,
            objects,
            limits,
        } = *self;
        let pending = stored::Entity::find()
            .filter(stored::Column::UserId.eq(uploader))
            .filter(stored::Column::State.eq(MediaState::Pending))
            .count(db)
            .await?;
        if pending >= MAX_PENDING {
            return Err(Error::TooMany(format!(
                "at most {MAX_PENDING} uploads may wait for confirmation; confirm them or let them expire"
            )));
        }
        let ttl = Duration::from_secs(limits.upload_ttl_secs);
        let url = objects
            .presign_put(&upload_key(&prefix), content_type, bytes as u64, ttl)
            .await?;
        stored::ActiveModel {
            id: Set(id),
            user_id: Set(uploader),
            kind: Set(kind),
            key: Set(prefix),
            content_type: Set(content_type.into()),
            declared_bytes: Set(bytes),
            file_name: Set(file_name.map(str::to_string)),
            state: Set(MediaState::Pending),
            since: Set(Utc::now()),
        }
        .insert(db)
        .await?;
        Ok(Upload {
            id,
            url,
            content_type: content_type.into(),
            byte_size: bytes as u64,
            expires_at: Utc::now() + ttl,
        })
    }

    /// `uploader`'s upload `id` still waiting, asked for under `owner` (the owner
    /// given to [`new_prefix`]); an upload asked for another owner is not found.
    pub async fn pending(
        &self,
        uploader: Uuid,
        id: Uuid,
        owner: &str,
    ) -> Result<stored::Model, Error> {
        stored::Entity::find_by_id(id)
            .filter(stored::Column::UserId.eq(uploader))
            .filter(stored::Column::State.eq(MediaState::Pending))
            .filter(stored::Column::Key.starts_with(format!("media/{owner}/")))
            .one(self.db)
            .await?
            .ok_or_else(|| Error::not_found("no such upload"))
    }

    /// Deletes a refused upload now: its objects and its row.
    pub async fn discard(&self, upload: &stored::Model) -> Result<(), Error> {
        discard(self.db, self.objects, upload).await
    }

    /// Checks `uploader`'s pending upload `id`, asked for under `owner` (the owner
    /// given to [`new_prefix`]), and writes its renditions (cropped to squares when
    /// its kind says so); returns its row, for the caller to [`claim`]. An upload asked for another owner is not found. A refused upload
    /// is deleted at once, with a `BAD_USER_INPUT` saying why.
    pub async fn check_upload(
        &self,
        uploader: Uuid,
        id: Uuid,
        owner: &str,
    ) -> Result<stored::Model, Error> {
        let Images {
            db,
            objects,
            limits,
        } = *self;
        let upload = self.pending(uploader, id, owner).await?;
        let key = upload_key(&upload.key);
        let Some(size) = objects.size(&key).await? else {
            return Err(Error::bad_input(
                "nothing was uploaded: PUT the image to the upload URL first",
            ));
        };
        if size > limits.max_image_bytes || size != upload.declared_bytes as u64 {
            discard(db, objects, &upload).await?;
            return Err(Error::bad_input(format!(
                "the upload is {size} bytes; {} were declared, at most {} are accepted",
                upload.declared_bytes, limits.max_image_bytes
            )));
        }
        // Read with a cap, and judged by what was read: the object may have been
        // replaced since it was measured, and nothing past the limit is ever loaded.
        let bytes = objects
            .get_at_most(&key, limits.max_image_bytes)
            .await?
            .ok_or_else(|| Error::bad_input("the upload vanished; upload it again"))?;
        if bytes.len() as u64 != upload.declared_bytes as u64 {
            discard(db, objects, &upload).await?;
            return Err(Error::bad_input(format!(
                "the upload is not the {} bytes declared (at most {} are accepted)",
                upload.declared_bytes, limits.max_image_bytes
            )));
        }
        let (max_side, square) = (limits.max_image_pixels, upload.kind.square());
        let permit = DECODES.acquire().await.map_err(Error::internal)?;
        let checked = tokio::task::spawn_blocking(move || images::accept(&bytes, max_side, square))
            .await
            .map_err(Error::internal)?;
        drop(permit);
        let accepted = match checked {
            Ok(accepted) => accepted,
            Err(refused) => {
                discard(db, objects, &upload).await?;
                return Err(refused);
            }
        };
        for (size, bytes, content_type) in accepted.renditions {
            let key = rendition_key(&upload.key, size);
            objects.put(&key, bytes.into(), content_type).await?;
        }
        objects.delete(&key).await?;
        Ok(upload)
    }
}

/// The renditions of an image (of any shape, never upscaled) at most `max_side`
/// pixels a side, made on the blocking pool under the process's bound on decodes.
pub async fn thumbnails(bytes: bytes::Bytes, max_side: u32) -> Result<images::Accepted, Error> {
    let permit = DECODES.acquire().await.map_err(Error::internal)?;
    let made = tokio::task::spawn_blocking(move || images::accept(&bytes, max_side, false))
        .await
        .map_err(Error::internal)?;
    drop(permit);
    made
}

/// Takes a checked upload's row (inside the transaction that makes it someone's
/// image): of two confirmations of one upload, only the first gets it.
pub async fn claim(txn: &impl ConnectionTrait, upload: &stored::Model) -> Result<(), Error> {
    let claimed = stored::Entity::delete_by_id(upload.id).exec(txn).await?;
    if claimed.rows_affected == 0 {
        return Err(Error::conflict("this upload was already confirmed"));
    }
    Ok(())
}

/// Records an image's objects for deletion.
pub async fn doom(
    db: &impl ConnectionTrait,
    user: Uuid,
    kind: MediaKind,
    prefix: String,
) -> Result<(), Error> {
    stored::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        kind: Set(kind),
        key: Set(prefix),
        content_type: Set(String::new()),
        declared_bytes: Set(0),
        file_name: Set(None),
        state: Set(MediaState::Doomed),
        since: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records that the one object at `key` (not an image prefix) is to be deleted at
/// `at`, by the clean-up worker.
pub async fn expire_at(
    db: &impl ConnectionTrait,
    user: Uuid,
    kind: MediaKind,
    key: &str,
    at: chrono::DateTime<Utc>,
) -> Result<(), Error> {
    stored::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        kind: Set(kind),
        key: Set(key.into()),
        content_type: Set(String::new()),
        declared_bytes: Set(0),
        file_name: Set(None),
        state: Set(MediaState::Expires),
        since: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Brings forward to now the deletion of every object of `user` of `kind` recorded
/// with [`expire_at`] (an account deleted: its exports go at once).
pub async fn expire_now(
    db: &impl ConnectionTrait,
    user: Uuid,
    kind: MediaKind,
) -> Result<(), Error> {
    use sea_orm::sea_query::Expr;
    stored::Entity::update_many()
        .col_expr(stored::Column::Since, Expr::value(Utc::now()))
        .filter(stored::Column::UserId.eq(user))
        .filter(stored::Column::Kind.eq(kind))
        .filter(stored::Column::State.eq(MediaState::Expires))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a refused upload now.
async fn discard(
    db: &DatabaseConnection,
    objects: &dyn ObjectStore,
    upload: &stored::Model,
) -> Result<(), Error> {
    delete_objects(objects, &upload.key).await?;
    stored::Entity::delete_by_id(upload.id).exec(db).await?;
    Ok(())
}

/// Deletes every object of the image at `prefix` (absent ones are fine).
pub async fn delete_objects(objects: &dyn ObjectStore, prefix: &str) -> Result<(), Error> {
    for key in all_keys(prefix) {
        objects.delete(&key).await?;
    }
    Ok(())
}

/// URLs of an image's renditions, each valid for an hour.
pub struct ImageUrls {
    pub small: String,
    pub medium: String,
    pub large: String,
}

/// URLs of an image's renditions, each valid for an hour.
// A user's avatar or cover as clients see it. Shareable: profile serves a user's images, chat a message's sender's avatar.
#[derive(SimpleObject)]
#[graphql(shareable)]
pub struct ProfileImage {
    /// 64 pixels (avatars: 64×64).
    small: String,
    /// 256 pixels (avatars: square).
    medium: String,
    /// Up to 1024 pixels, never larger than the upload.
    large: String,
}

/// The user's image at `prefix` (none without one), as URLs.
pub async fn profile_image(
    objects: &dyn ObjectStore,
    prefix: Option<&str>,
) -> Result<Option<ProfileImage>, Error> {
    let Some(prefix) = prefix else {
        return Ok(None);
    };
    let urls = urls(objects, prefix).await?;
    Ok(Some(ProfileImage {
        small: urls.small,
        medium: urls.medium,
        large: urls.large,
    }))
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
