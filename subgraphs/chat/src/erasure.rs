//! What chat does when an account is deleted (`auth.user.deleted`): every
//! membership ends, as leaving would (a group's owner hands the group over, the
//! others are told), the bodies and files of the messages the account sent are
//! erased (a file someone else forwarded stays with their copy), and its data
//! exports are deleted.
//! What stays: each of those messages keeps its place in its timeline (`seq`, time,
//! sender id, an empty body) so that the others' history keeps its order and unread
//! counts stay exact, and the frames already in other members' replay streams, which
//! expire with them (`chat.stream_ttl_secs`).

use echostream_contracts::chat::MembersChanged;
use echostream_media as media;
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::Chat;
use crate::attachments;
use crate::conversations::{self, groups};
use crate::entities::conversation::ConversationKind;
use crate::entities::{member, message};
use crate::receipts;

/// Ends `user`'s memberships and erases what they wrote. Safe to run again (a
/// re-delivered event): what is done already is skipped.
pub async fn erase(chat: &Chat, user: Uuid) -> Result<(), Error> {
    for conversation in conversations::of_user(&chat.db, user).await? {
        let ended = match conversation.kind {
            ConversationKind::Group => groups::leave(chat, user, conversation.id).await.map(drop),
            ConversationKind::Direct => leave_direct(chat, user, conversation.id).await,
        };
        match ended {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
    }
    media::expire_now(&chat.db, user, media::MediaKind::Export).await?;
    chat.cleanup.wake();
    message::Entity::update_many()
        .col_expr(message::Column::Body, Expr::value(""))
        .filter(message::Column::SenderId.eq(user))
        .filter(message::Column::Kind.eq(message::Kind::Text))
        .exec(&chat.db)
        .await?;
    attachments::release_sent_by(chat, user).await?;
    chat.cleanup.wake();
    Ok(())
}

/// Ends `user`'s membership of a direct conversation; the other member keeps it
/// (read-only: nobody is left to write to) and is told.
async fn leave_direct(chat: &Chat, user: Uuid, id: Uuid) -> Result<(), Error> {
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let gone = member::Entity::delete_by_id((id, user)).exec(txn).await?;
                if gone.rows_affected == 0 {
                    return Err(Error::not_found("no such conversation"));
                }
                receipts::forget(txn, id, user).await?;
                let rest: Vec<Uuid> = conversations::members(txn, id)
                    .await?
                    .iter()
                    .map(|m| m.user_id)
                    .collect();
                let change = MembersChanged {
                    conversation_id: id,
                    added: vec![],
                    removed: vec![user],
                    member_ids: rest,
                };
                Ok(Change::new(()).emit(&change, Some(user)))
            })
        })
        .await
}
