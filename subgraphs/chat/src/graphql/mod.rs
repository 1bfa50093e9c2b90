//! The chat subgraph's GraphQL edge: thin resolvers over the domain modules.
//! Types live in `types.rs`, group mutations in `groups.rs`.

mod attachments;
mod avatar;
mod badge;
mod exports;
mod forwards;
mod groups;
mod message;
mod mutes;
mod pins;
mod reactions;
mod scheduling;
mod search;
mod stream;
mod threads;
mod types;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{
    Context, ID, InputObject, MergedObject, MergedSubscription, Object, Result, Schema,
};
use echostream_service::Error;
use echostream_service::pages::{FromEdges, Page, cursor};
use echostream_service::resolver::{RequestExt, parse_id};
use uuid::Uuid;

use crate::conversations::Filter;
use crate::entities::member;
use crate::loaders::{
    AttachmentsLoader, ConversationLoader, HiddenLoader, ItemLoader, MembersLoader, MessageLoader,
    PinsLoader, PrivacyLoader, ReactionsLoader, ReadMarksLoader, ThreadReadersLoader,
    ThreadReadsLoader, ThreadsLoader, UnreadLoader, VersionsLoader,
};
use crate::messages::{self, Draft};
use crate::receipts::{self, Mark};
use crate::senders::BlockedLoader;
use crate::{Chat, conversations, unread};
use echostream_projections::people::PeopleLoader;
pub use message::Message;
pub use types::{Conversation, ConversationConnection, User};

/// The chat subgraph's schema type.
pub type ChatSchema = Schema<Query, Mutation, Subscription>;

/// Every read of the subgraph.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    MessagingQuery,
    badge::BadgeQuery,
    search::SearchQuery,
    scheduling::SchedulingQuery,
    stream::StreamQuery,
);

/// Every write of the subgraph.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    MessagingMutation,
    attachments::AttachmentMutation,
    threads::ThreadMutation,
    reactions::ReactionMutation,
    pins::PinMutation,
    mutes::MuteMutation,
    exports::ExportMutation,
    forwards::ForwardMutation,
    scheduling::SchedulingMutation,
    groups::GroupMutation,
    avatar::AvatarMutation,
    stream::TypingMutation,
);

/// Every live stream of the subgraph.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct Subscription(stream::StreamSubscription);

/// Builds the schema with its context.
pub fn schema(app: Option<Arc<Chat>>) -> ChatSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .enable_federation()
    .enable_subscription_in_federation();
    if let Some(app) = app {
        let db = app.db.clone();
        builder = builder
            .extension(echostream_service::metrics::Observe::new(
                echostream_config::Subgraph::Chat,
            ))
            .extension(app.ports.request_checks())
            .data(DataLoader::new(
                ConversationLoader(db.clone()),
                tokio::spawn,
            ))
            .data(DataLoader::new(MessageLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(MembersLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(ReadMarksLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(PrivacyLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(UnreadLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(VersionsLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(HiddenLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(ReactionsLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(PinsLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(AttachmentsLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(ThreadsLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(ThreadReadsLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(
                ThreadReadersLoader(db.clone()),
                tokio::spawn,
            ))
            .data(DataLoader::new(PeopleLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(BlockedLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(ItemLoader(db), tokio::spawn))
            .data(app);
    }
    builder.finish()
}

pub(crate) fn app<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Chat>, Error> {
    ctx.state()
}

/// The members of a conversation, batched across the whole response.
pub(crate) async fn members_of(
    ctx: &Context<'_>,
    conversation: Uuid,
) -> Result<Vec<member::Model>> {
    let loader = ctx.loader::<MembersLoader>()?;
    Ok(loader.load_one(conversation).await?.unwrap_or_default())
}

/// Whether `user` is a member of `conversation`.
async fn is_member(ctx: &Context<'_>, conversation: Uuid, user: Uuid) -> Result<bool> {
    Ok(members_of(ctx, conversation)
        .await?
        .iter()
        .any(|m| m.user_id == user))
}

/// Whether `user` reads the item at `seq` of `conversation`: only a member, and only
/// from where their history starts (batched through the members loader).
pub(crate) async fn reads(
    ctx: &Context<'_>,
    conversation: Uuid,
    seq: i64,
    user: Uuid,
) -> Result<bool> {
    Ok(members_of(ctx, conversation)
        .await?
        .iter()
        .any(|m| m.user_id == user && seq > m.history_from_seq))
}

/// Message `id` as it is now, when the viewer reads it (batched through the message
/// and members loaders): an entity fetch, a quote, a pin's or a schedule's message.
pub(crate) async fn readable_message(ctx: &Context<'_>, id: Uuid) -> Result<Option<Message>> {
    let me = ctx.viewer()?.user_id;
    let Some(found) = ctx.loader::<MessageLoader>()?.load_one(id).await? else {
        return Ok(None);
    };
    if !reads(ctx, found.conversation_id, found.seq, me).await? {
        return Ok(None);
    }
    Ok(Some(Message::of(&found)))
}

/// A message to send.
#[derive(InputObject)]
pub struct SendMessageInput {
    conversation_id: ID,
    /// The text; with attachments, their caption, which may be empty.
    #[graphql(default)]
    body: String,
    /// Made by the client once per message and reused on every retry; the server
    /// stores the message once per (device, key).
    idempotency_key: String,
    /// The message this one answers (quotes), in the same conversation.
    reply_to: Option<ID>,
    /// Files uploaded with `requestAttachmentUpload`, in the order shown (at most
    /// `attachments.max_per_message`).
    #[graphql(default)]
    attachments: Vec<attachments::AttachmentInput>,
    /// Replies in the thread of this message (of the same conversation; a reply in
    /// a thread names its root's thread).
    thread_root_id: Option<ID>,
    /// With `threadRootId`: also show the reply in the conversation's timeline.
    #[graphql(default)]
    also_send_to_conversation: bool,
}

/// Conversations and their timelines.
#[derive(Default)]
pub struct MessagingQuery;

#[Object]
impl MessagingQuery {
    /// The viewer's conversations, most recently active first: `first` (1 to 100,
    /// default 20) after the cursor `after`, all or only direct ones or groups.
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<Filter>,
    ) -> Result<ConversationConnection> {
        let me = ctx.viewer()?.user_id;
        let page = Page::new(first, after.as_deref())?;
        let filter = filter.unwrap_or(Filter::All);
        let mut rows = conversations::list(&app(ctx)?.db, me, filter, &page).await?;
        let more = rows.len() as u64 > page.first;
        rows.truncate(page.first as usize);
        let edges = rows
            .into_iter()
            .map(|c| {
                (
                    cursor(conversations::last_activity(&c), c.id),
                    Conversation(c),
                )
            })
            .collect();
        Ok(ConversationConnection::from_edges(
            edges,
            page.after.is_some(),
            more,
        ))
    }

    /// The viewer's unread messages over all their conversations.
    async fn unread_total(&self, ctx: &Context<'_>) -> Result<i64> {
        let me = ctx.viewer()?.user_id;
        Ok(unread::total(&app(ctx)?.db, me).await?)
    }

    /// Resolves a `Conversation` reference for the gateway; only members see it.
    #[graphql(entity)]
    async fn find_conversation_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<Conversation>> {
        let me = ctx.viewer()?.user_id;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        if !is_member(ctx, id, me).await? {
            return Ok(None);
        }
        let loader = ctx.loader::<ConversationLoader>()?;
        Ok(loader.load_one(id).await?.map(Conversation))
    }

    /// Resolves a `Message` reference for the gateway; only members of its
    /// conversation see it.
    #[graphql(entity)]
    async fn find_message_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Message>> {
        ctx.viewer()?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        readable_message(ctx, id).await
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> User {
        User { id, seen: None }
    }

    /// One message of the viewer's conversations (a link, a search hit, a
    /// notification's target): `NOT_FOUND` unless the viewer reads it now, and for
    /// one they deleted for themselves.
    async fn message(&self, ctx: &Context<'_>, id: ID) -> Result<Message> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        let db = &app(ctx)?.db;
        let (found, _, _) = messages::readable(db, id, me).await?;
        if !messages::deletions::hidden_among(db, me, &[id])
            .await?
            .is_empty()
        {
            return Err(Error::not_found("no such message").into());
        }
        Ok(Message::of(&found))
    }

    /// One of the viewer's conversations.
    async fn conversation(&self, ctx: &Context<'_>, id: ID) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&id, "id")?;
        Ok(Conversation(
            conversations::for_member(&app(ctx)?.db, id, me).await?,
        ))
    }
}

/// Messaging: conversations, messages and receipts.
#[derive(Default)]
pub struct MessagingMutation;

#[Object]
impl MessagingMutation {
    /// Opens (or returns) the direct conversation with a friend.
    async fn start_direct_conversation(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let other = parse_id(&user_id, "userId")?;
        Ok(Conversation(
            conversations::start_direct(app(ctx)?, me, other).await?,
        ))
    }

    /// Sends a text message; retrying with the same idempotency key is safe.
    async fn send_message(&self, ctx: &Context<'_>, input: SendMessageInput) -> Result<Message> {
        let me = ctx.viewer()?;
        let files = attachments::AttachmentInput::parse(&input.attachments)?;
        let draft = Draft {
            conversation_id: parse_id(&input.conversation_id, "conversationId")?,
            body: &input.body,
            idempotency_key: &input.idempotency_key,
            reply_to: input
                .reply_to
                .map(|id| parse_id(&id, "replyTo"))
                .transpose()?,
            forwarded: None,
            files: messages::Files::Uploaded(&files),
            thread: input
                .thread_root_id
                .map(|id| parse_id(&id, "threadRootId"))
                .transpose()?
                .map(|root| (root, input.also_send_to_conversation)),
        };
        let saved = messages::send(app(ctx)?, me.user_id, &me.device_id, draft).await?;
        Ok(Message::of(&saved))
    }

    /// Changes the text of one of the viewer's messages, within
    /// `chat.edit_window_secs` of sending; the earlier text joins its `edits`.
    async fn edit_message(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        body: String,
    ) -> Result<Message> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&message_id, "messageId")?;
        let saved = messages::edits::edit(app(ctx)?, me, id, &body).await?;
        Ok(Message::of(&saved))
    }

    /// Deletes a message for everyone: its sender within `chat.delete_window_secs`,
    /// a group's owner and admins at any time. Returns its tombstone.
    async fn delete_message_for_everyone(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
    ) -> Result<Message> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&message_id, "messageId")?;
        let saved = messages::deletions::for_everyone(app(ctx)?, me, id).await?;
        Ok(Message::of(&saved))
    }

    /// Deletes a message from the viewer's own history and counts (any member, any
    /// message they read); returns its id.
    async fn delete_message_for_me(&self, ctx: &Context<'_>, message_id: ID) -> Result<ID> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&message_id, "messageId")?;
        messages::deletions::for_me(app(ctx)?, me, id).await?;
        Ok(message_id)
    }

    /// Marks a message the viewer read, and everything after it, unread again: their
    /// unread count, `lastReadSeq` and devices go back to before it; what others see
    /// of their reads stays. Reading on (`markRead`) moves the mark.
    async fn mark_unread(&self, ctx: &Context<'_>, message_id: ID) -> Result<Conversation> {
        let me = ctx.viewer()?.user_id;
        let id = parse_id(&message_id, "messageId")?;
        let app = app(ctx)?;
        let member = unread::mark_unread(app, me, id).await?;
        Ok(Conversation(
            conversations::for_member(&app.db, member.conversation_id, me).await?,
        ))
    }

    /// Records that everything up to `upToSeq` reached one of the viewer's devices.
    /// Positions only move forward: an older or repeated mark changes nothing.
    async fn mark_delivered(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        up_to_seq: i64,
    ) -> Result<Conversation> {
        mark(ctx, conversation_id, up_to_seq, Mark::Delivered).await
    }

    /// Records that the viewer read everything up to `upToSeq` (so it is delivered
    /// too); unread counts follow. Positions only move forward.
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        up_to_seq: i64,
    ) -> Result<Conversation> {
        mark(ctx, conversation_id, up_to_seq, Mark::Read).await
    }
}

async fn mark(
    ctx: &Context<'_>,
    conversation: ID,
    up_to: i64,
    which: Mark,
) -> Result<Conversation> {
    let me = ctx.viewer()?.user_id;
    let id = parse_id(&conversation, "conversationId")?;
    let app = app(ctx)?;
    receipts::mark(app, me, id, up_to, which).await?;
    Ok(Conversation(
        conversations::for_member(&app.db, id, me).await?,
    ))
}
