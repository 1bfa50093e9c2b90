//! A group's avatar, on the same presigned-upload path as profile avatars
//! (`echostream_media`): an owner or admin asks for an upload URL, PUTs the
//! image, confirms. Confirming checks the image, makes it the group's and dooms the
//! one it replaces; the change is a system item ("ann changed the group photo") like
//! every other change of info.

use echostream_contracts::chat::SystemAction;
use echostream_media::{self as media, MediaKind, Upload, stored};
use echostream_service::Error;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::groups::{locked_group, must_be_group, require, told};
use super::member_ids;
use super::membership;
use super::permissions::Action;
use crate::Chat;
use crate::entities::conversation;
use crate::timeline::Item;

/// Where group `id`'s images are stored: `media/groups/{id}/{upload}`.
fn owner(id: Uuid) -> String {
    format!("groups/{id}")
}

/// Starts an upload of a new avatar for group `id` by `actor` (owners and admins).
pub async fn request_upload(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    content_type: &str,
    bytes: i64,
) -> Result<Upload, Error> {
    let (group, me) = membership(&chat.db, id, actor).await?;
    must_be_group(&group)?;
    require(&me, Action::ChangeInfo)?;
    let place = media::new_prefix(&owner(id));
    chat.media()
        .request_upload(actor, MediaKind::GroupAvatar, place, content_type, bytes)
        .await
}

/// Checks `actor`'s upload `upload` and makes it group `id`'s avatar.
pub async fn confirm(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    upload: Uuid,
) -> Result<conversation::Model, Error> {
    let checked = chat.media().check_upload(actor, upload, &owner(id)).await?;
    set(chat, actor, id, Some(checked)).await
}

/// Removes group `id`'s avatar (owners and admins).
pub async fn remove(chat: &Chat, actor: Uuid, id: Uuid) -> Result<conversation::Model, Error> {
    set(chat, actor, id, None).await
}

/// Makes `upload` (or nothing) group `id`'s avatar; the one it replaces is doomed.
async fn set(
    chat: &Chat,
    actor: Uuid,
    id: Uuid,
    upload: Option<stored::Model>,
) -> Result<conversation::Model, Error> {
    let changed = chat
        .relay
        .write(move |txn| {
            Box::pin(async move {
                let (group, me) = locked_group(txn, id, actor).await?;
                // Checked again: the role may have changed since the upload began.
                require(&me, Action::ChangeInfo)?;
                if let Some(upload) = &upload {
                    media::claim(txn, upload).await?;
                }
                let new_key = upload.map(|u| u.key);
                let old = group.avatar_key.clone();
                if old.is_none() && new_key.is_none() {
                    return Ok(echostream_ports::events::outbox::Change::new(group));
                }
                let removed = new_key.is_none();
                let mut edit: conversation::ActiveModel = group.into();
                edit.avatar_key = Set(new_key);
                edit.update(txn).await?;
                if let Some(old) = old {
                    media::doom(txn, actor, MediaKind::GroupAvatar, old).await?;
                }
                let told_text = removed.then(|| "removed".to_string());
                let item = Item::system(actor, SystemAction::AvatarChanged, vec![], told_text);
                let everyone = member_ids(txn, id).await?;
                told(txn, id, actor, vec![item], everyone, None).await
            })
        })
        .await?;
    chat.cleanup.wake();
    Ok(changed)
}
