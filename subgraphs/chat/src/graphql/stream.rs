//! The one live stream of everything in the viewer's conversations (`chatEvents`),
//! its HTTP catch-up (`changesSince`), and typing (`setTyping`). The resume contract
//! is told in `stream.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, Interface, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use echostream_contracts::chat::ChatFrame;
use echostream_service::resolver::{RequestExt, parse_id};
use futures::{Stream, StreamExt};
use uuid::Uuid;

use super::app;
use super::types::{Conversation, Message, User, user};
use crate::loaders::{HiddenLoader, MessageLoader};
use crate::stream::{self, Event, Position};
use crate::{conversations, typing};
use async_graphql::dataloader::DataLoader;

/// Events one `changesSince` call returns at most.
const MAX_CHANGES: i32 = 500;

/// A new message or system item in one of the viewer's conversations.
#[derive(SimpleObject)]
pub struct MessageAdded {
    pub position: String,
    /// Boxed: the other events are a few ids.
    pub message: Box<Message>,
}

/// A message was edited or deleted for everyone: `current` is the message as it is
/// now (null when the viewer may not read it: it is before their history, or they
/// deleted it for themselves). Not `message`, which `MessageAdded` has non-null.
pub struct MessageChanged {
    pub position: String,
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub seq: i64,
}

#[Object]
impl MessageChanged {
    async fn position(&self) -> &str {
        &self.position
    }

    async fn conversation_id(&self) -> ID {
        ID(self.conversation_id.to_string())
    }

    async fn message_id(&self) -> ID {
        ID(self.message_id.to_string())
    }

    async fn seq(&self) -> i64 {
        self.seq
    }

    async fn current(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let me = ctx.viewer()?.user_id;
        if !super::reads(ctx, self.conversation_id, self.seq, me).await? {
            return Ok(None);
        }
        let hidden = ctx.data::<DataLoader<HiddenLoader>>()?;
        if hidden.load_one((me, self.message_id)).await?.is_some() {
            return Ok(None);
        }
        let loader = ctx.data::<DataLoader<MessageLoader>>()?;
        Ok(loader
            .load_one(self.message_id)
            .await?
            .as_ref()
            .map(Message::of))
    }
}

/// The viewer deleted a message for themselves (here or on another device): drop
/// it from their view of the conversation.
#[derive(SimpleObject)]
pub struct MessageHidden {
    pub position: String,
    pub conversation_id: ID,
    pub message_id: ID,
    pub seq: i64,
}

/// The viewer's own delivered or read position moved (on another of their devices,
/// or this one): their unread counts and read state follow it.
#[derive(SimpleObject)]
pub struct ReceiptChanged {
    pub position: String,
    pub conversation_id: ID,
    pub user: User,
    pub delivered_seq: i64,
    pub read_seq: Option<i64>,
    pub at: DateTime<Utc>,
}

/// How far the viewer's own messages in a conversation have gone: every other member
/// has received everything up to `deliveredSeq` and read everything up to `readSeq`
/// (null when some member's reads do not show to the viewer). Messages of the
/// viewer's up to those positions are now DELIVERED or READ (`Message.status`). Sent
/// only when it moves past one of the viewer's messages; who read what is
/// `Message.seenBy`.
#[derive(SimpleObject)]
pub struct MessagesStatusChanged {
    pub position: String,
    pub conversation_id: ID,
    pub delivered_seq: i64,
    pub read_seq: Option<i64>,
}

/// A conversation's title, description, settings or roles changed.
pub struct ConversationChanged {
    pub position: String,
    pub conversation_id: Uuid,
}

#[Object]
impl ConversationChanged {
    async fn position(&self) -> &str {
        &self.position
    }

    async fn conversation_id(&self) -> ID {
        ID(self.conversation_id.to_string())
    }

    /// The conversation as it is now (null if the viewer is no longer in it).
    async fn conversation(&self, ctx: &Context<'_>) -> Result<Option<Conversation>> {
        let me = ctx.viewer()?.user_id;
        let found = conversations::for_member(&app(ctx)?.db, self.conversation_id, me).await;
        Ok(found.ok().map(Conversation))
    }
}

/// People joined a conversation.
#[derive(SimpleObject)]
pub struct MembersJoined {
    pub position: String,
    pub conversation_id: ID,
    pub users: Vec<User>,
}

/// People left or were removed from a conversation (the viewer, too: then the
/// conversation is gone for them).
#[derive(SimpleObject)]
pub struct MembersLeft {
    pub position: String,
    pub conversation_id: ID,
    pub users: Vec<User>,
}

/// Someone started or stopped typing. Ephemeral: never replayed; `position` is the
/// last kept event's.
#[derive(SimpleObject)]
pub struct TypingChanged {
    pub position: String,
    pub conversation_id: ID,
    pub user: User,
    pub typing: bool,
}

/// The viewer read a thread up to `readSeq` (on another of their devices, or this
/// one): its unread count follows.
#[derive(SimpleObject)]
pub struct ThreadReadChanged {
    pub position: String,
    pub conversation_id: ID,
    /// The thread's root message.
    pub root_id: ID,
    /// Never null (nullable as `readSeq` of the other events is).
    pub read_seq: Option<i64>,
}

/// What came before `position` cannot be replayed (it is older than the replay
/// window, or the stream was lost): refetch through queries, then go on from
/// `position`.
#[derive(SimpleObject)]
pub struct ResyncRequired {
    pub position: String,
    pub reason: String,
}

/// Something that happened in the viewer's conversations, at a stream position.
#[derive(Interface)]
#[graphql(field(name = "position", ty = "String"))]
pub enum ChatEvent {
    MessageAdded(MessageAdded),
    MessageChanged(MessageChanged),
    MessageHidden(MessageHidden),
    ReceiptChanged(ReceiptChanged),
    MessagesStatusChanged(MessagesStatusChanged),
    ConversationChanged(ConversationChanged),
    MembersJoined(MembersJoined),
    MembersLeft(MembersLeft),
    TypingChanged(TypingChanged),
    ThreadReadChanged(ThreadReadChanged),
    ResyncRequired(ResyncRequired),
}

fn users(ids: Vec<Uuid>) -> Vec<User> {
    ids.into_iter().map(user).collect()
}

fn id(uuid: Uuid) -> ID {
    ID(uuid.to_string())
}

impl ChatEvent {
    fn of(event: Event) -> Option<ChatEvent> {
        let (position, frame, replayed) = match event {
            Event::ResyncRequired { position, reason } => {
                return Some(ChatEvent::ResyncRequired(ResyncRequired {
                    position: position.encode(),
                    reason: reason.into(),
                }));
            }
            Event::Kept {
                position,
                frame,
                trace,
                replayed,
            } => {
                // The hand-off to the subscriber, in the trace of the event (when
                // traced): the last span of a message's way, closed (and so
                // recorded) as it is handed on.
                let position = position.encode();
                if trace.is_some() {
                    let span = tracing::info_span!("deliver chat event", %position);
                    echostream_telemetry::follow(&span, trace.as_deref());
                }
                (position, frame, replayed)
            }
            Event::Passing { position, frame } => (position.encode(), frame, false),
        };
        Some(match frame {
            ChatFrame::Message { message, sender } => ChatEvent::MessageAdded(MessageAdded {
                position,
                message: Box::new(Message::from_frame(*message, sender, replayed)),
            }),
            ChatFrame::MessageChanged {
                conversation_id,
                message_id,
                seq,
            } => ChatEvent::MessageChanged(MessageChanged {
                position,
                conversation_id,
                message_id,
                seq,
            }),
            ChatFrame::MessageHidden {
                conversation_id,
                message_id,
                seq,
            } => ChatEvent::MessageHidden(MessageHidden {
                position,
                conversation_id: id(conversation_id),
                message_id: id(message_id),
                seq,
            }),
            ChatFrame::Receipt {
                conversation_id,
                user_id,
                delivered_seq,
                read_seq,
                at,
            } => ChatEvent::ReceiptChanged(ReceiptChanged {
                position,
                conversation_id: id(conversation_id),
                user: user(user_id),
                delivered_seq,
                read_seq,
                at,
            }),
            ChatFrame::Status {
                conversation_id,
                delivered_seq,
                read_seq,
            } => ChatEvent::MessagesStatusChanged(MessagesStatusChanged {
                position,
                conversation_id: id(conversation_id),
                delivered_seq,
                read_seq,
            }),
            ChatFrame::ConversationChanged { conversation_id } => {
                ChatEvent::ConversationChanged(ConversationChanged {
                    position,
                    conversation_id,
                })
            }
            ChatFrame::MembersJoined {
                conversation_id,
                user_ids,
            } => ChatEvent::MembersJoined(MembersJoined {
                position,
                conversation_id: id(conversation_id),
                users: users(user_ids),
            }),
            ChatFrame::MembersLeft {
                conversation_id,
                user_ids,
            } => ChatEvent::MembersLeft(MembersLeft {
                position,
                conversation_id: id(conversation_id),
                users: users(user_ids),
            }),
            ChatFrame::Typing {
                conversation_id,
                user_id,
                typing,
            } => ChatEvent::TypingChanged(TypingChanged {
                position,
                conversation_id: id(conversation_id),
                user: user(user_id),
                typing,
            }),
            ChatFrame::ThreadRead {
                conversation_id,
                root_id,
                read_seq,
            } => ChatEvent::ThreadReadChanged(ThreadReadChanged {
                position,
                conversation_id: id(conversation_id),
                root_id: id(root_id),
                read_seq: Some(read_seq),
            }),
        })
    }
}

/// A page of what the viewer missed.
#[derive(SimpleObject)]
pub struct Changes {
    /// In stream order; may begin with `ResyncRequired`.
    pub events: Vec<ChatEvent>,
    /// Where to ask from next.
    pub position: String,
    /// Whether more events wait after `position`.
    pub has_more: bool,
}

/// Reads of the stream.
#[derive(Default)]
pub struct StreamQuery;

#[Object]
impl StreamQuery {
    /// The viewer's stream position now: take it before fetching state through
    /// queries, then subscribe to `chatEvents(since:)` with it to miss nothing.
    async fn stream_position(&self, ctx: &Context<'_>) -> Result<String> {
        let me = ctx.viewer()?.user_id;
        let chat = app(ctx)?;
        let keep = echostream_ports::pubsub::Retention::of_chat(&chat.ports.config.chat);
        let head =
            echostream_service::stream::head(chat.ports.pubsub.as_ref(), &stream::name(me), keep)
                .await
                .map_err(echostream_service::Error::from)?;
        Ok(head.encode())
    }

    /// What the viewer missed after `position` (at most `first`, 1 to 500, default
    /// 100), the same events `chatEvents(since:)` replays, over HTTP. Typing is never
    /// replayed.
    async fn changes_since(
        &self,
        ctx: &Context<'_>,
        position: String,
        first: Option<i32>,
    ) -> Result<Changes> {
        let me = ctx.viewer()?.user_id;
        let since = Position::decode(&position, "position")?;
        let first = first.unwrap_or(100);
        if !(1..=MAX_CHANGES).contains(&first) {
            return Err(echostream_service::Error::bad_input(format!(
                "first must be between 1 and {MAX_CHANGES}"
            ))
            .into());
        }
        let chat = app(ctx)?;
        let keep = echostream_ports::pubsub::Retention::of_chat(&chat.ports.config.chat);
        let (events, next, has_more) = echostream_service::stream::changes_since(
            chat.ports.pubsub.as_ref(),
            &stream::name(me),
            &since,
            first as usize,
            keep,
        )
        .await?;
        let events = stream::Readable::new(chat.db.clone(), me)
            .filter(events)
            .await;
        Ok(Changes {
            events: events.into_iter().filter_map(ChatEvent::of).collect(),
            position: next.encode(),
            has_more,
        })
    }
}

/// Typing.
#[derive(Default)]
pub struct TypingMutation;

#[Object]
impl TypingMutation {
    /// Tells the other members the viewer is typing (refresh every few seconds; it
    /// ends by itself after `chat.typing_ttl_secs`) or stopped. Rate limited.
    async fn set_typing(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        typing: bool,
    ) -> Result<bool> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&conversation_id, "conversationId")?;
        typing::set(app(ctx)?, me, id, typing).await?;
        Ok(typing)
    }
}

/// The viewer's events from `since` (or from now), then live. See [`stream`].
pub async fn events(
    ctx: &Context<'_>,
    since: Option<String>,
) -> Result<impl Stream<Item = Result<ChatEvent, async_graphql::Error>> + Send + 'static + use<>> {
    let viewer = ctx.viewer()?;
    let since = since.map(|s| Position::decode(&s, "since")).transpose()?;
    let chat = app(ctx)?;
    let ports = &chat.ports;
    let slot = ports
        .subscriptions
        .open(viewer, ports.pubsub.as_ref())
        .await?;
    let keep = echostream_ports::pubsub::Retention::of_chat(&ports.config.chat);
    let ttl = Duration::from_secs(ports.config.chat.typing_ttl_secs);
    let followed = echostream_service::stream::follow(
        Arc::clone(&ports.pubsub),
        stream::name(viewer.user_id),
        since,
        keep,
        ttl,
    )
    .await
    .map_err(echostream_service::Error::from)?;
    // Each event is handed out only while the viewer is a member of its
    // conversation (see `stream::Readable`).
    let gate = Arc::new(tokio::sync::Mutex::new(stream::Readable::new(
        chat.db.clone(),
        viewer.user_id,
    )));
    // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
    let items = followed
        .then(move |event| {
            let gate = Arc::clone(&gate);
            Box::pin(async move { gate.lock().await.filter(vec![event]).await })
        })
        .flat_map(futures::stream::iter)
        .filter_map(|e| futures::future::ready(ChatEvent::of(e)));
    Ok(echostream_service::subscriptions::serve(
        slot,
        Arc::clone(&ports.presence),
        viewer.clone(),
        items,
    ))
}

/// The stream's subscription fields.
#[derive(Default)]
pub struct StreamSubscription;

#[Subscription]
impl StreamSubscription {
    /// Everything that happens in the viewer's conversations: messages and system
    /// items, receipts, conversation changes, members joining and leaving, typing.
    /// Each event carries an opaque `position`; after a disconnect, subscribe again
    /// with `since: <the last position seen>` to receive exactly what was missed, in
    /// order, then live events, with no gap and no duplicate. If that cannot be done
    /// (the position is older than the replay window, or the stream was lost), the
    /// first event is `ResyncRequired`: refetch, then go on from its position.
    async fn chat_events(
        &self,
        ctx: &Context<'_>,
        since: Option<String>,
    ) -> Result<impl Stream<Item = Result<ChatEvent, async_graphql::Error>> + use<>> {
        // Boxed: see `echostream_service::subscriptions` (memory of an idle subscription).
        Box::pin(events(ctx, since)).await
    }

    /// Messages arriving in the viewer's conversations (or in one of them), from now
    /// on: `chatEvents` narrowed to new messages, without resume.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<Message, async_graphql::Error>> + use<>> {
        let me = ctx.viewer()?.user_id;
        let only = conversation_id
            .map(|id| parse_id(&id, "conversationId"))
            .transpose()?;
        // Refused at once, rather than a stream that silently never yields.
        if let Some(id) = only {
            Box::pin(conversations::for_member(&app(ctx)?.db, id, me)).await?;
        }
        let events = Box::pin(events(ctx, None)).await?;
        Ok(events.filter_map(move |event| {
            futures::future::ready(match event {
                Ok(ChatEvent::MessageAdded(added))
                    if only.is_none_or(|c| c == added.message.item.conversation_id) =>
                {
                    Some(Ok(*added.message))
                }
                Ok(_) => None,
                Err(ended) => Some(Err(ended)),
            })
        }))
    }
}
