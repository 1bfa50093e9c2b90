//! Consumers: chat's own events appended to the streams of the users they concern
//! (`stream.rs`), and profile's friendships, blocks and privacy settings projected
//! into chat.

use std::sync::Arc;

use echostream_shared::Error;
use echostream_shared::contracts::chat::{
    ChatFrame, ConversationUpdated, MembersChanged, MessageSent, ReceiptUpdated,
};
use echostream_shared::events::Delivery;
use echostream_shared::projections::{blocks, friendships, privacy};
use echostream_shared::pubsub::{PubSub, Retention};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::receipts::sees_reads;
use crate::stream;

/// What the fan-out needs: the streams, and chat's privacy projection (receipts).
#[derive(Clone)]
pub struct Fanout {
    pub pubsub: Arc<dyn PubSub>,
    pub db: DatabaseConnection,
    pub keep: Retention,
}

impl Fanout {
    /// Appends `frame` to the streams of `users`, once per `dedupe` (a repeated
    /// delivery of the same event appends nothing).
    async fn append(&self, users: &[Uuid], dedupe: String, frame: &ChatFrame) -> Result<(), Error> {
        if users.is_empty() {
            return Ok(());
        }
        let streams: Vec<String> = users.iter().map(|u| stream::name(*u)).collect();
        let data = stream::encode(frame);
        self.pubsub
            .append(&streams, &dedupe, &data, self.keep)
            .await?;
        Ok(())
    }
}

/// Appends a chat event to the streams of everyone it concerns.
///
/// Read positions go in full to those whose read-receipt settings and the reader's
/// let them see it (the reader included), and without the read position to the rest.
pub async fn fan_out(fanout: &Fanout, delivery: Delivery) -> Result<(), Error> {
    let event = &delivery.event;
    let id = event.id;
    if let Some(mut message) = event.decode::<MessageSent>()? {
        let members = std::mem::take(&mut message.member_ids);
        let frame = ChatFrame::Message { message };
        return fanout.append(&members, id.to_string(), &frame).await;
    }
    if let Some(receipt) = event.decode::<ReceiptUpdated>()? {
        let settings = privacy::of_many(&fanout.db, &receipt.member_ids).await?;
        let reader = settings[&receipt.user_id];
        let (see, blind): (Vec<Uuid>, Vec<Uuid>) = receipt
            .member_ids
            .iter()
            .partition(|m| **m == receipt.user_id || sees_reads(&settings[*m], &reader));
        let frame = |read_seq| ChatFrame::Receipt {
            conversation_id: receipt.conversation_id,
            user_id: receipt.user_id,
            delivered_seq: receipt.delivered_seq,
            read_seq,
            at: receipt.at,
        };
        fanout
            .append(&see, format!("{id}:r"), &frame(Some(receipt.read_seq)))
            .await?;
        return fanout.append(&blind, format!("{id}:d"), &frame(None)).await;
    }
    if let Some(change) = event.decode::<MembersChanged>()? {
        let conversation_id = change.conversation_id;
        if !change.added.is_empty() {
            let frame = ChatFrame::MembersJoined {
                conversation_id,
                user_ids: change.added.clone(),
            };
            fanout
                .append(&change.member_ids, format!("{id}:j"), &frame)
                .await?;
        }
        if !change.removed.is_empty() {
            let mut told = change.member_ids.clone();
            told.extend(&change.removed);
            let frame = ChatFrame::MembersLeft {
                conversation_id,
                user_ids: change.removed.clone(),
            };
            fanout.append(&told, format!("{id}:l"), &frame).await?;
        }
        return Ok(());
    }
    if let Some(update) = event.decode::<ConversationUpdated>()? {
        let frame = ChatFrame::ConversationChanged {
            conversation_id: update.conversation_id,
        };
        return fanout
            .append(&update.member_ids, id.to_string(), &frame)
            .await;
    }
    Ok(())
}

/// Forgets a deleted account's friendships, blocks and privacy settings (its messages stay, from a
/// sender whose profile is gone).
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    blocks::apply_auth_event(db, "chat-blocks", &delivery).await?;
    privacy::apply_auth_event(db, "chat-privacy", &delivery).await?;
    friendships::apply_auth_event(db, "chat", delivery).await
}

/// Records friendships, blocks and privacy settings from profile's events.
pub async fn apply_profile_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    blocks::apply_profile_event(db, "chat-blocks", &delivery).await?;
    privacy::apply_profile_event(db, "chat-privacy", &delivery).await?;
    friendships::apply_profile_event(db, "chat", delivery).await
}
