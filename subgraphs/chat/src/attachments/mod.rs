//! Attachments: photos, videos, audio and voice notes, and documents that messages
//! carry, several to a message, with the message's text as their caption.
//!
//! 1. [`request_upload`]: a member who may send asks to upload a file of a declared
//!    type and exact size (per-kind limits, `attachments.*`) and gets a presigned
//!    PUT URL; the store refuses any other size (`echostream_media`'s upload flow,
//!    with its `media` row that deletes an upload never used).
//! 2. The client PUTs the bytes to storage itself.
//! 3. `sendMessage(attachments: [{uploadId}])` → [`check`] (before the message's
//!    transaction): the real size, the real type from the bytes ([`files`]),
//!    thumbnails and pixel size of a photo, the duration of audio and video where it
//!    can be read cheaply ([`durations`]). A refused upload is deleted at once.
//!    Then [`attach`] (inside the transaction that stores the message): the upload's
//!    `media` row is claimed, and the file gets its `attachments` row.
//!
//! A file is stored once however many messages carry it: a forward [`attach`]es the
//! same rows again (no re-upload), counted in `refs`. When a message is deleted for
//! everyone, or its sender's account is erased, [`release`] takes its files off it;
//! the last message to let a file go dooms its objects, which the media clean-up
//! worker deletes. URLs are presigned only for those who read the message
//! (`graphql/attachments.rs`), for an hour.

pub mod durations;
pub mod files;

use std::collections::HashMap;

use chrono::{SubsecRound, Utc};
use echostream_contracts::chat::AttachmentSummary;
use echostream_media::{self as media, MediaKind, Upload, stored, upload_key};
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::Chat;
use crate::conversations::{self, groups};
use crate::entities::attachment::{self, Kind};
use crate::entities::{message, message_attachment};

/// How much of a file's start is read to tell its type.
const HEAD: u64 = 64 * 1024;
/// Longest file name kept, in characters.
const MAX_FILE_NAME: usize = 255;

/// Where conversation `id`'s uploads are stored: `media/conversations/{id}/{upload}`.
fn owner(id: Uuid) -> String {
    format!("conversations/{id}")
}

/// The largest file of `kind` accepted, and the key that sets it.
fn limit(chat: &Chat, kind: Kind) -> (u64, &'static str) {
    let a = &chat.ports.config.attachments;
    match kind {
        Kind::Image => (a.max_image_bytes, "attachments.max_image_bytes"),
        Kind::Video => (a.max_video_bytes, "attachments.max_video_bytes"),
        Kind::Audio | Kind::Voice => (a.max_audio_bytes, "attachments.max_audio_bytes"),
        Kind::Document => (a.max_document_bytes, "attachments.max_document_bytes"),
    }
}

/// A file name as kept: its last path segment, without control characters, at most
/// [`MAX_FILE_NAME`] characters; `BAD_USER_INPUT` when nothing is left.
pub fn file_name(asked: &str) -> Result<String, Error> {
    let last = asked.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME)
        .collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::bad_input("fileName must name a file"));
    }
    Ok(name.to_string())
}

/// What a client asks to upload.
pub struct Requested<'a> {
    pub conversation_id: Uuid,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub byte_size: i64,
}

/// Starts an upload by `me` of a file for a message in a conversation where they
/// may send.
pub async fn request_upload(chat: &Chat, me: Uuid, asked: Requested<'_>) -> Result<Upload, Error> {
    let (conversation, member) =
        conversations::membership(&chat.db, asked.conversation_id, me).await?;
    if !groups::may_send(&conversation, member.role) {
        return Err(Error::forbidden("only admins may send in this group"));
    }
    let name = file_name(asked.file_name)?;
    let kind = files::kind_of(asked.content_type).ok_or_else(|| {
        Error::bad_input(format!(
            "contentType {} is not accepted (see the README's attachments section)",
            asked.content_type.chars().take(100).collect::<String>()
        ))
    })?;
    let (max, key) = limit(chat, kind);
    if asked.byte_size < 1 || asked.byte_size as u64 > max {
        return Err(Error::bad_input(format!(
            "byteSize must be 1 to {max} for this type ({key})"
        )));
    }
    let place = media::new_prefix(&owner(asked.conversation_id));
    chat.media()
        .request_file(
            me,
            MediaKind::Attachment,
            place,
            asked.content_type,
            asked.byte_size,
            Some(&name),
        )
        .await
}

/// An upload to attach: which, and whether its sender recorded it as a voice note.
#[derive(Clone, Copy)]
pub struct Asked {
    pub upload_id: Uuid,
    pub voice_note: bool,
}

/// What a message is to carry: files just uploaded (checked), or files other
/// messages carry already (a forward).
pub enum Carried {
    Checked(Vec<Checked>),
    Copied(Vec<Uuid>),
}

/// An upload found to be what it claims, not yet attached.
pub struct Checked {
    upload: stored::Model,
    file: attachment::Model,
}

/// Checks `asked` (at most `attachments.max_per_message`, each once), uploaded by
/// `me` for `conversation`. The first refused upload is deleted and its reason
/// returned.
pub async fn check_all(
    chat: &Chat,
    me: Uuid,
    conversation: Uuid,
    asked: &[Asked],
) -> Result<Vec<Checked>, Error> {
    let most = chat.ports.config.attachments.max_per_message;
    if asked.len() as u64 > most {
        return Err(Error::bad_input(format!(
            "a message carries at most {most} attachments (attachments.max_per_message)"
        )));
    }
    let mut checked: Vec<Checked> = Vec::with_capacity(asked.len());
    for one in asked {
        if checked.iter().any(|c| c.file.id == one.upload_id) {
            return Err(Error::bad_input("an upload is attached once"));
        }
        checked.push(check(chat, me, conversation, *one).await?);
    }
    Ok(checked)
}

/// Checks one upload: there, of the size declared, of a type accepted and the same
/// as declared; then reads what it can of it (thumbnails, pixels, duration). An
/// upload refused for what it is (`BAD_USER_INPUT`) is deleted at once.
pub async fn check(
    chat: &Chat,
    me: Uuid,
    conversation: Uuid,
    asked: Asked,
) -> Result<Checked, Error> {
    let uploads = chat.media();
    let upload = uploads
        .pending(me, asked.upload_id, &owner(conversation))
        .await?;
    let key = upload_key(&upload.key);
    let Some(size) = chat.ports.objects.size(&key).await? else {
        return Err(Error::bad_input(
            "nothing was uploaded: PUT the file to the upload URL first",
        ));
    };
    match inspect(chat, &upload, size, asked.voice_note).await {
        Ok(mut file) => {
            file.conversation_id = conversation;
            Ok(Checked { upload, file })
        }
        Err(err) => {
            if err.code() == "BAD_USER_INPUT" {
                uploads.discard(&upload).await?;
            }
            Err(err)
        }
    }
}

/// What the `size` bytes of `upload` are.
async fn inspect(
    chat: &Chat,
    upload: &stored::Model,
    size: u64,
    voice_note: bool,
) -> Result<attachment::Model, Error> {
    let objects = chat.ports.objects.as_ref();
    let key = upload_key(&upload.key);
    if size != upload.declared_bytes as u64 {
        return Err(Error::bad_input(format!(
            "the upload is {size} bytes, not the {} declared",
            upload.declared_bytes
        )));
    }
    let head = objects
        .get_range(&key, 0, HEAD)
        .await?
        .ok_or_else(|| Error::bad_input("the upload vanished; upload it again"))?;
    let content_type = files::real_type(&head, &upload.content_type)?;
    let kind = match (files::kind_of(&content_type), voice_note) {
        (Some(Kind::Audio), true) => Kind::Voice,
        (Some(_), true) => return Err(Error::bad_input("a voice note must be audio")),
        (Some(kind), false) => kind,
        (None, _) => return Err(Error::bad_input("this type is not accepted")),
    };
    let (max, limit_key) = limit(chat, kind);
    if size > max {
        return Err(Error::bad_input(format!(
            "the file is {size} bytes; at most {max} are accepted ({limit_key})"
        )));
    }
    let mut file = attachment::Model {
        id: upload.id,
        conversation_id: Uuid::nil(),
        uploader_id: upload.user_id,
        key: upload.key.clone(),
        kind,
        content_type,
        file_name: upload.file_name.clone().unwrap_or_else(|| "file".into()),
        byte_size: size as i64,
        width: None,
        height: None,
        duration_ms: None,
        thumbnails: false,
        refs: 1,
        // As stored (microseconds), so the answer equals a later read.
        created_at: Utc::now().trunc_subsecs(6),
    };
    match kind {
        Kind::Image => picture(chat, &mut file, &key).await?,
        Kind::Video | Kind::Audio | Kind::Voice => {
            file.duration_ms =
                durations::read(objects, &key, size, &file.content_type, &head).await;
        }
        Kind::Document => {}
    }
    Ok(file)
}

/// Reads a photo's pixel size and, when it is small enough to decode, writes its
/// thumbnails beside it.
async fn picture(chat: &Chat, file: &mut attachment::Model, key: &str) -> Result<(), Error> {
    let objects = chat.ports.objects.as_ref();
    let bytes = objects
        .get_at_most(key, file.byte_size as u64)
        .await?
        .ok_or_else(|| Error::bad_input("the upload vanished; upload it again"))?;
    let (_, _, width, height) = media::images::dimensions(&bytes)?;
    file.width = i32::try_from(width).ok();
    file.height = i32::try_from(height).ok();
    let most = chat.ports.config.attachments.max_thumbnail_source_pixels;
    if width.max(height) > most || width == 0 || height == 0 {
        return Ok(());
    }
    let made = media::thumbnails(bytes, most).await?;
    for (size, bytes, content_type) in made.renditions {
        objects
            .put(
                &media::rendition_key(&file.key, size),
                bytes.into(),
                content_type,
            )
            .await?;
    }
    file.thumbnails = true;
    Ok(())
}

/// Makes message `message` carry `carried`, in order (inside the transaction that
/// stores it): uploads are claimed (an upload attaches to one message: a second
/// claim is `CONFLICT`), copies counted once more (a file deleted meanwhile is
/// `CONFLICT`). Returns the files, for the event.
pub async fn attach(
    txn: &DatabaseTransaction,
    message: Uuid,
    carried: Carried,
) -> Result<Vec<attachment::Model>, Error> {
    let files = match carried {
        Carried::Checked(checked) => {
            let mut files = Vec::with_capacity(checked.len());
            for Checked { upload, file } in checked {
                media::claim(txn, &upload)
                    .await
                    .map_err(|_| Error::conflict("this upload was already sent, or it expired"))?;
                files.push(file.into_active_model().insert(txn).await?);
            }
            files
        }
        Carried::Copied(ids) => {
            let mut files = Vec::with_capacity(ids.len());
            for id in ids {
                let counted = attachment::Entity::update_many()
                    .col_expr(
                        attachment::Column::Refs,
                        Expr::col(attachment::Column::Refs).add(1),
                    )
                    .filter(attachment::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                if counted.rows_affected == 0 {
                    return Err(Error::conflict("an attachment was deleted meanwhile"));
                }
                let row = attachment::Entity::find_by_id(id)
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::conflict("an attachment was deleted meanwhile"))?;
                files.push(row);
            }
            files
        }
    };
    for (position, file) in files.iter().enumerate() {
        message_attachment::ActiveModel {
            message_id: sea_orm::Set(message),
            position: sea_orm::Set(position as i32),
            attachment_id: sea_orm::Set(file.id),
        }
        .insert(txn)
        .await?;
    }
    Ok(files)
}

/// Takes every file off `messages` (deleted for everyone, or erased): the last
/// message to let a file go dooms its objects (deleted by the clean-up worker,
/// which the caller wakes after commit). Returns how many files were doomed.
pub async fn release(txn: &impl ConnectionTrait, messages: &[Uuid]) -> Result<usize, Error> {
    if messages.is_empty() {
        return Ok(0);
    }
    let carried = message_attachment::Entity::find()
        .filter(message_attachment::Column::MessageId.is_in(messages.iter().copied()))
        .all(txn)
        .await?;
    if carried.is_empty() {
        return Ok(0);
    }
    message_attachment::Entity::delete_many()
        .filter(message_attachment::Column::MessageId.is_in(messages.iter().copied()))
        .exec(txn)
        .await?;
    let mut doomed = 0;
    for link in carried {
        // Counting down locks the row (PostgreSQL), so a forward that counts it up
        // waits, and finds it gone if this was the last message carrying it.
        attachment::Entity::update_many()
            .col_expr(
                attachment::Column::Refs,
                Expr::col(attachment::Column::Refs).sub(1),
            )
            .filter(attachment::Column::Id.eq(link.attachment_id))
            .exec(txn)
            .await?;
        let Some(file) = attachment::Entity::find_by_id(link.attachment_id)
            .one(txn)
            .await?
        else {
            continue;
        };
        if file.refs <= 0 {
            attachment::Entity::delete_by_id(file.id).exec(txn).await?;
            media::doom(txn, file.uploader_id, MediaKind::Attachment, file.key).await?;
            doomed += 1;
        }
    }
    Ok(doomed)
}

/// Takes every file off the messages `user` sent (their account is erased), a
/// batch of messages per transaction. Safe to run again.
pub async fn release_sent_by(chat: &Chat, user: Uuid) -> Result<(), Error> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::Query;
    loop {
        let sent = Query::select()
            .column(message::Column::Id)
            .from(message::Entity)
            .and_where(message::Column::SenderId.eq(user))
            .to_owned();
        let batch: Vec<Uuid> = message_attachment::Entity::find()
            .select_only()
            .column(message_attachment::Column::MessageId)
            .distinct()
            .filter(message_attachment::Column::MessageId.in_subquery(sent))
            .limit(200)
            .into_tuple()
            .all(&chat.db)
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        chat.relay
            .write(move |txn| {
                Box::pin(async move {
                    release(txn, &batch).await?;
                    Ok(echostream_ports::events::outbox::Change::new(()))
                })
            })
            .await?;
    }
}

/// The files each of `messages` carries, in order.
pub async fn of_messages(
    db: &impl ConnectionTrait,
    messages: &[Uuid],
) -> Result<HashMap<Uuid, Vec<attachment::Model>>, Error> {
    let links = message_attachment::Entity::find()
        .filter(message_attachment::Column::MessageId.is_in(messages.iter().copied()))
        .order_by_asc(message_attachment::Column::Position)
        .all(db)
        .await?;
    if links.is_empty() {
        return Ok(HashMap::new());
    }
    let files: HashMap<Uuid, attachment::Model> = attachment::Entity::find()
        .filter(attachment::Column::Id.is_in(links.iter().map(|l| l.attachment_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let mut by_message: HashMap<Uuid, Vec<attachment::Model>> = HashMap::new();
    for link in links {
        if let Some(file) = files.get(&link.attachment_id) {
            by_message
                .entry(link.message_id)
                .or_default()
                .push(file.clone());
        }
    }
    Ok(by_message)
}

/// What an event says of a file.
pub fn summary(file: &attachment::Model) -> AttachmentSummary {
    AttachmentSummary {
        kind: file.kind,
        content_type: file.content_type.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_keeps_its_last_segment_and_no_control_characters() {
        assert_eq!(file_name("report.pdf").unwrap(), "report.pdf");
        assert_eq!(file_name("C:\\Users\\ann\\photo.jpg").unwrap(), "photo.jpg");
        assert_eq!(file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(file_name("a\u{0}b\r\n.txt").unwrap(), "ab.txt");
        assert_eq!(file_name(&"x".repeat(300)).unwrap().chars().count(), 255);
        for bad in ["", "  ", "dir/", "..", "\u{7}"] {
            assert_eq!(
                file_name(bad).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad:?}"
            );
        }
    }
}
