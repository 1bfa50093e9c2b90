//! Mute: a member silences a conversation for themselves, for a time or until they
//! unmute it. Chat keeps it as member state (`members.muted`, `muted_until`) and
//! tells it on the log (`MuteChanged`); the notification subgraph, which decides
//! who hears of what, follows it. The conversation's unread count still shows: a
//! mute silences notifications, not the conversation. A mute with a time ends by
//! itself when the time comes (read against the clock port), without an event.

use echostream_contracts::chat::{Mute, MuteChanged};
use echostream_ports::events::outbox::Change;
use echostream_service::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::Chat;
use crate::conversations::membership;
use crate::entities::{conversation, member};

/// The longest a timed mute may run (longer: mute until unmuted).
pub const MAX_DAYS: i64 = 366;

/// Sets `user`'s mute of conversation `id` (`Mute::Off` unmutes); returns the
/// conversation. `NOT_FOUND` for a non-member; `BAD_USER_INPUT` for a time not in
/// the future, or more than [`MAX_DAYS`] ahead.
pub async fn set(
    chat: &Chat,
    user: Uuid,
    id: Uuid,
    mute: Mute,
) -> Result<conversation::Model, Error> {
    let (found, _) = membership(&chat.db, id, user).await?;
    if let Mute::Until { until } = mute {
        let now = chat.ports.clock.now();
        if until <= now {
            return Err(Error::bad_input("until must be in the future"));
        }
        if until - now > chrono::TimeDelta::days(MAX_DAYS) {
            return Err(Error::bad_input(format!(
                "until may be at most {MAX_DAYS} days ahead; leave it out to mute until unmuted"
            )));
        }
    }
    let (muted, until) = match mute {
        Mute::Off => (false, None),
        Mute::Until { until } => (true, Some(until)),
        Mute::Always => (true, None),
    };
    chat.relay
        .write(move |txn| {
            Box::pin(async move {
                let changed = member::Entity::update_many()
                    .col_expr(member::Column::Muted, Expr::value(muted))
                    .col_expr(member::Column::MutedUntil, Expr::value(until))
                    .filter(member::Column::ConversationId.eq(id))
                    .filter(member::Column::UserId.eq(user))
                    .exec(txn)
                    .await?
                    .rows_affected;
                if changed == 0 {
                    // Left between the check and the write.
                    return Err(Error::not_found("no such conversation"));
                }
                let event = MuteChanged {
                    conversation_id: id,
                    user_id: user,
                    mute,
                };
                Ok(Change::new(found).emit(&event, Some(user)))
            })
        })
        .await
}
