//! Consumers: chat's own events appended to the streams of the users they concern
//! (`stream.rs`; a message with its sender's card, `senders.rs`), and profile's
//! friendships, blocks, privacy settings, names and avatars projected into chat.

use std::sync::Arc;

use echostream_contracts::chat::{
    ChatFrame, ConversationUpdated, MembersChanged, MessageDeleted, MessageEdited, MessageHidden,
    MessageReacted, MessageSent, MuteChanged, ReceiptUpdated, StatusChanged, ThreadReadUpdated,
};
use echostream_ports::events::Delivery;
use echostream_ports::pubsub::{PubSub, Retention};
use echostream_projections::{blocks, friendships, people, privacy};
use echostream_service::Error;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{senders, stream};

/// What the fan-out needs: the streams, and chat's privacy projection (receipts).
#[derive(Clone)]
pub struct Fanout {
    pub pubsub: Arc<dyn PubSub>,
    pub db: DatabaseConnection,
    pub keep: Retention,
}

impl Fanout {
    /// Appends `frame` to the streams of `users`, once per `dedupe` (a repeated
    /// delivery of the same event appends nothing), in place of the frame it
    /// supersedes ([`StreamFrame::supersedes`](echostream_contracts::StreamFrame::supersedes)).
    async fn append(&self, users: &[Uuid], dedupe: String, frame: &ChatFrame) -> Result<(), Error> {
        let streams: Vec<String> = users.iter().map(|u| stream::name(*u)).collect();
        echostream_service::stream::append(
            self.pubsub.as_ref(),
            &streams,
            &dedupe,
            frame,
            self.keep,
        )
        .await
    }
}

/// Appends a chat event to the streams of everyone it concerns: a message or a
/// membership or info change to the members, a receipt to the reader alone, a
/// status to the member whose messages it is about.
pub async fn fan_out(fanout: &Fanout, delivery: Delivery) -> Result<(), Error> {
    let event = &delivery.event;
    let id = event.id;
    if let Some(mut message) = event.decode::<MessageSent>()? {
        let members = std::mem::take(&mut message.member_ids);
        let sender = senders::card(&fanout.db, message.sender_id, &members).await?;
        let frame = ChatFrame::Message {
            message: Box::new(message),
            sender: sender.map(Box::new),
        };
        return fanout.append(&members, id.to_string(), &frame).await;
    }
    // A change to a message reaches the members as a frame without its text: the
    // message is read from the database when the frame is handed out. Each takes
    // the place of the message's earlier one in a member's window, so a message
    // with a hundred reactions costs each window one entry (each reaction costs one
    // append and one live publish per member).
    let changed = if let Some(e) = event.decode::<MessageEdited>()? {
        Some((e.conversation_id, e.message_id, e.seq, e.member_ids))
    } else if let Some(d) = event.decode::<MessageDeleted>()? {
        Some((d.conversation_id, d.message_id, d.seq, d.member_ids))
    } else {
        event
            .decode::<MessageReacted>()?
            .map(|r| (r.conversation_id, r.message_id, r.seq, r.member_ids))
    };
    // A mute is the member's own: their other devices hear that the conversation
    // changed for them.
    if let Some(mute) = event.decode::<MuteChanged>()? {
        let frame = ChatFrame::ConversationChanged {
            conversation_id: mute.conversation_id,
        };
        return fanout.append(&[mute.user_id], id.to_string(), &frame).await;
    }
    if let Some((conversation_id, message_id, seq, members)) = changed {
        let frame = ChatFrame::MessageChanged {
            conversation_id,
            message_id,
            seq,
        };
        return fanout.append(&members, id.to_string(), &frame).await;
    }
    if let Some(hidden) = event.decode::<MessageHidden>()? {
        let frame = ChatFrame::MessageHidden {
            conversation_id: hidden.conversation_id,
            message_id: hidden.message_id,
            seq: hidden.seq,
        };
        return fanout
            .append(&[hidden.user_id], id.to_string(), &frame)
            .await;
    }
    if let Some(receipt) = event.decode::<ReceiptUpdated>()? {
        // The reader's own devices follow their read state; what the others need
        // comes as their own messages' status (`receipts.rs`).
        let frame = ChatFrame::Receipt {
            conversation_id: receipt.conversation_id,
            user_id: receipt.user_id,
            delivered_seq: receipt.delivered_seq,
            read_seq: Some(receipt.read_seq),
            at: receipt.at,
        };
        return fanout
            .append(&[receipt.user_id], id.to_string(), &frame)
            .await;
    }
    if let Some(read) = event.decode::<ThreadReadUpdated>()? {
        // The reader's own devices follow where they are in the thread.
        let frame = ChatFrame::ThreadRead {
            conversation_id: read.conversation_id,
            root_id: read.root_id,
            read_seq: read.read_seq,
        };
        return fanout.append(&[read.user_id], id.to_string(), &frame).await;
    }
    if let Some(status) = event.decode::<StatusChanged>()? {
        let frame = ChatFrame::Status {
            conversation_id: status.conversation_id,
            delivered_seq: status.delivered_seq,
            read_seq: status.read_seq,
        };
        return fanout
            .append(&[status.user_id], id.to_string(), &frame)
            .await;
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

/// Tells the users a parked chat event concerned that their streams missed it: their
/// streams start anew, so every client of theirs, live or resuming, gets
/// `ResyncRequired` and refetches. The users are read from the payload as far as it
/// can be read (a chat event names its `memberIds`, a change of members its
/// `removed` too, and one addressed to one user its `userId`), whatever its version;
/// an event with no readable payload names nobody, and is logged as such.
pub async fn parked(fanout: &Fanout, delivery: Delivery) -> Result<(), Error> {
    let payload = &delivery.event.payload;
    let mut users: Vec<Uuid> = ["memberIds", "removed"]
        .iter()
        .filter_map(|field| payload.get(*field)?.as_array())
        .flatten()
        .chain(payload.get("userId"))
        .filter_map(|id| Uuid::parse_str(id.as_str()?).ok())
        .collect();
    users.sort_unstable();
    users.dedup();
    if users.is_empty() {
        tracing::error!(event = %delivery.event.id, kind = %delivery.event.kind,
            "a parked chat event names nobody: whoever it concerned is not told");
        return Ok(());
    }
    tracing::warn!(event = %delivery.event.id, users = users.len(),
        "a chat event was parked: its users' streams start anew (ResyncRequired)");
    let streams: Vec<String> = users.iter().map(|u| stream::name(*u)).collect();
    fanout.pubsub.restart_streams(&streams, fanout.keep).await?;
    Ok(())
}

/// Forgets a deleted account's friendships, blocks, privacy settings and name (its
/// messages stay, from a sender whose profile is gone); keeps a new one's username.
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    people::follow(db, &delivery).await?;
    blocks::apply_auth_event(db, "chat-blocks", &delivery).await?;
    privacy::apply_auth_event(db, "chat-privacy", &delivery).await?;
    friendships::apply_auth_event(db, "chat", delivery).await
}

/// Records friendships, blocks, privacy settings, names and avatars from profile's
/// events.
pub async fn apply_profile_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    people::follow(db, &delivery).await?;
    blocks::apply_profile_event(db, "chat-blocks", &delivery).await?;
    privacy::apply_profile_event(db, "chat-privacy", &delivery).await?;
    friendships::apply_profile_event(db, "chat", delivery).await
}
