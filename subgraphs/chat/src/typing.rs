//! Typing indicators: ephemeral, published straight to the other members' channels
//! (never the event log, never kept in a stream, never replayed), hidden from anyone
//! with a block either way, and rate limited. A subscriber's stream ends an
//! indicator by itself when it is not refreshed within `chat.typing_ttl_secs`.

use std::time::Duration;

use echostream_contracts::chat::ChatFrame;
use echostream_ports::pubsub::stream::ephemeral_frame;
use echostream_projections::blocks;
use echostream_service::Error;
use uuid::Uuid;

use crate::conversations::{self, groups};
use crate::entities::conversation::ConversationKind;
use crate::{Chat, stream};

/// Calls allowed per user and conversation in each [`WINDOW`].
pub const PER_WINDOW: i64 = 20;
/// The rate limit's window.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Tells the other members that `user` is (or stopped) typing in `conversation`.
pub async fn set(chat: &Chat, user: Uuid, conversation: Uuid, typing: bool) -> Result<(), Error> {
    let (found, me) = conversations::membership(&chat.db, conversation, user).await?;
    if !groups::may_send(&found, me.role) {
        return Err(Error::forbidden("only admins may send in this group"));
    }
    let others: Vec<Uuid> = conversations::member_ids(&chat.db, conversation)
        .await?
        .into_iter()
        .filter(|m| *m != user)
        .collect();
    let blocked = blocks::blocked_among(&chat.db, user, &others).await?;
    let direct = match found.kind {
        ConversationKind::Direct => true,
        ConversationKind::Group => false,
    };
    if direct && !blocked.is_empty() {
        return Err(Error::forbidden(
            "this conversation is read-only: one of you has blocked the other",
        ));
    }
    let key = format!("typing-rate:{user}:{conversation}");
    let (count, left) = chat.ports.pubsub.increment(&key, WINDOW).await?;
    if count > PER_WINDOW {
        return Err(Error::TooMany(format!(
            "too many typing updates; try again in {left} s"
        )));
    }
    let frame = ChatFrame::Typing {
        conversation_id: conversation,
        user_id: user,
        typing,
    };
    let frame = ephemeral_frame(&echostream_service::stream::encode(&frame));
    for member in others.into_iter().filter(|m| !blocked.contains(m)) {
        chat.ports
            .pubsub
            .publish(&stream::name(member), &frame)
            .await?;
    }
    Ok(())
}
