//! The chat subgraph's GraphQL edge.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, Schema, Subscription};
use chrono::{DateTime, Utc};
use echostream_shared::Error;
use echostream_shared::resolver::{RequestExt, parse_id};
use futures::Stream;
use uuid::Uuid;

use async_graphql::dataloader::DataLoader;

use crate::entities::{conversation, member};
use crate::loaders::{ConversationLoader, MembersLoader, MessageLoader};
use crate::messages::{self, Draft};
use crate::{Chat, conversations};
use echostream_shared::contracts::chat::{ChatFrame, MessageSent, user_channel};

/// The chat subgraph's schema type.
pub type ChatSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with its context.
pub fn schema(app: Option<Arc<Chat>>) -> ChatSchema {
    let mut builder = Schema::build(Query, Mutation, Subscription)
        .enable_federation()
        .enable_subscription_in_federation();
    if let Some(app) = app {
        let db = app.db.clone();
        builder = builder
            .extension(app.ports.request_checks())
            .data(DataLoader::new(
                ConversationLoader(db.clone()),
                tokio::spawn,
            ))
            .data(DataLoader::new(MessageLoader(db.clone()), tokio::spawn))
            .data(DataLoader::new(MembersLoader(db), tokio::spawn))
            .data(app);
    }
    builder.finish()
}

fn app<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Chat>, Error> {
    ctx.state()
}

/// The members of a conversation, batched across the whole response.
async fn members_of(ctx: &Context<'_>, conversation: Uuid) -> Result<Vec<member::Model>> {
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

/// A user, as far as chat goes; other subgraphs resolve the rest.
pub struct User {
    pub id: ID,
}

#[Object]
impl User {
    async fn id(&self) -> &ID {
        &self.id
    }

    /// Everything chat holds about this user (conversations, messages sent), as JSON;
    /// only for its owner.
    async fn chat_export(
        &self,
        ctx: &Context<'_>,
    ) -> Result<async_graphql::Json<serde_json::Value>> {
        let me = ctx.viewer()?;
        me.must_be(parse_id(&self.id, "id")?)?;
        Ok(async_graphql::Json(
            messages::export(&app(ctx)?.db, me.user_id).await?,
        ))
    }
}

fn user(id: Uuid) -> User {
    User {
        id: ID(id.to_string()),
    }
}

/// A message.
pub struct Message(pub MessageSent);

#[Object]
impl Message {
    async fn id(&self) -> ID {
        ID(self.0.message_id.to_string())
    }

    async fn conversation_id(&self) -> ID {
        ID(self.0.conversation_id.to_string())
    }

    /// Position in the conversation: 1, 2, 3… without gaps.
    async fn seq(&self) -> i64 {
        self.0.seq
    }

    async fn sender(&self) -> User {
        user(self.0.sender_id)
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Direct or group.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ConversationKind {
    Direct,
    Group,
}

/// A member's place in a conversation.
pub struct Member(member::Model);

#[Object]
impl Member {
    async fn user(&self) -> User {
        user(self.0.user_id)
    }

    async fn role(&self) -> &str {
        &self.0.role
    }

    /// The member has read everything up to this `seq`.
    async fn last_read_seq(&self) -> i64 {
        self.0.last_read_seq
    }
}

/// A conversation.
pub struct Conversation(conversation::Model);

#[Object]
impl Conversation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> ConversationKind {
        if self.0.kind == "group" {
            ConversationKind::Group
        } else {
            ConversationKind::Direct
        }
    }

    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    /// The `seq` of the newest message (0 when empty).
    async fn last_seq(&self) -> i64 {
        self.0.last_seq
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    // Batched across the whole response: one query for every conversation's members.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        let found = members_of(ctx, self.0.id).await?;
        Ok(found.into_iter().map(Member).collect())
    }

    /// Up to `last` messages before `beforeSeq` (the newest when absent), oldest first.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] last: i32,
        before_seq: Option<i64>,
    ) -> Result<Vec<Message>> {
        if !(1..=200).contains(&last) {
            return Err(Error::bad_input("last must be between 1 and 200").into());
        }
        let page = messages::history(&app(ctx)?.db, self.0.id, before_seq, last as u64).await?;
        Ok(page.iter().map(|m| Message(messages::sent(m))).collect())
    }
}

/// A message to send.
#[derive(InputObject)]
pub struct SendMessageInput {
    conversation_id: ID,
    body: String,
    /// Made by the client once per message and reused on every retry; the server
    /// stores the message once per (device, key).
    idempotency_key: String,
}

/// Reads.
pub struct Query;

#[Object]
impl Query {
    /// The viewer's conversations, newest first.
    async fn conversations(&self, ctx: &Context<'_>) -> Result<Vec<Conversation>> {
        let me = ctx.viewer()?.user_id;
        let found = conversations::of_user(&app(ctx)?.db, me).await?;
        Ok(found.into_iter().map(Conversation).collect())
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
        let me = ctx.viewer()?.user_id;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let loader = ctx.loader::<MessageLoader>()?;
        let Some(found) = loader.load_one(id).await? else {
            return Ok(None);
        };
        if !is_member(ctx, found.conversation_id, me).await? {
            return Ok(None);
        }
        Ok(Some(Message(messages::sent(&found))))
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> User {
        User { id }
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

/// Writes.
pub struct Mutation;

#[Object]
impl Mutation {
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
        let draft = Draft {
            conversation_id: parse_id(&input.conversation_id, "conversationId")?,
            body: &input.body,
            idempotency_key: &input.idempotency_key,
        };
        let saved = messages::send(app(ctx)?, me.user_id, &me.device_id, draft).await?;
        Ok(Message(messages::sent(&saved)))
    }
}

/// Live updates.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Messages arriving in the viewer's conversations (or in one of them).
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> Result<impl Stream<Item = Message> + use<>> {
        let viewer = ctx.viewer()?;
        let me = viewer.user_id;
        let only = conversation_id
            .map(|id| parse_id(&id, "conversationId"))
            .transpose()?;
        // Refused at once, rather than a stream that silently never yields.
        if let Some(id) = only {
            conversations::for_member(&app(ctx)?.db, id, me).await?;
        }
        let keep = move |frame| match frame {
            ChatFrame::Message { message } => only
                .is_none_or(|c| c == message.conversation_id)
                .then_some(Message(message)),
        };
        Ok(app(ctx)?
            .ports
            .live(viewer, vec![user_channel(me)], keep)
            .await?)
    }
}
