//! The chat types clients see: conversations, members, timeline items.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_contracts::chat::{MessageSent, SystemAction};
use echostream_contracts::profile::PrivacySettings;
use echostream_service::pages::FromEdges;
use echostream_service::resolver::{RequestExt, parse_id};
use std::collections::HashMap;
use uuid::Uuid;

use super::{app, members_of};
use crate::conversations::{self, permissions::Role};
use crate::entities::{conversation, member, message};
use crate::history::{self, Arguments, Window};
use crate::loaders::{ItemLoader, PrivacyLoader, ReadMarksLoader, UnreadLoader};
use crate::receipts::{self, Status};
use crate::{exports, timeline};

/// A user, as far as chat goes; other subgraphs resolve the rest.
pub struct User {
    pub id: ID,
}

#[Object]
impl User {
    async fn id(&self) -> &ID {
        &self.id
    }

    /// Everything chat holds about this user (conversations, messages sent), as one
    /// JSON document written to storage (`{"conversations": […], "messagesSent":
    /// […]}`): a link to download it, valid for an hour, after which the export is
    /// deleted. Only for its owner.
    async fn chat_export(&self, ctx: &Context<'_>) -> Result<DataExport> {
        let me = ctx.viewer()?;
        me.must_be(parse_id(&self.id, "id")?)?;
        let export = exports::export(app(ctx)?, me.user_id).await?;
        Ok(DataExport {
            url: export.url,
            expires_at: export.expires_at,
            byte_size: i64::try_from(export.byte_size).unwrap_or(i64::MAX),
        })
    }
}

/// A file written for its owner to download.
#[derive(SimpleObject)]
pub struct DataExport {
    /// Where to download it (a plain GET, no token), until `expiresAt`.
    pub url: String,
    /// When the link ends and the file is deleted.
    pub expires_at: DateTime<Utc>,
    /// Its size in bytes.
    pub byte_size: i64,
}

/// The `User` reference for `id`.
pub fn user(id: Uuid) -> User {
    User {
        id: ID(id.to_string()),
    }
}

/// Privacy settings of `users`, batched across the response.
async fn settings_of(ctx: &Context<'_>, users: &[Uuid]) -> Result<HashMap<Uuid, PrivacySettings>> {
    let loader = ctx.loader::<PrivacyLoader>()?;
    Ok(loader.load_many(users.iter().copied()).await?)
}

/// A message or a system item.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MessageKind {
    /// Something a member wrote.
    Text,
    /// A membership or info change (see `system`).
    System,
}

/// A membership or info change in the timeline: `sender` did `action` to `users`
/// (`text`: the new title, description or role, or the sending setting:
/// `admins_only` / `everyone`).
#[derive(SimpleObject)]
pub struct SystemItem {
    pub action: SystemAction,
    pub users: Vec<User>,
    pub text: Option<String>,
}

/// An item of a conversation's timeline: a message, or a system item.
pub struct Message(pub MessageSent);

impl Message {
    /// The stored item.
    pub fn of(m: &message::Model) -> Message {
        Message(timeline::sent(m, Vec::new()))
    }
}

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

    /// Who wrote it (or, for a system item, who made the change).
    async fn sender(&self) -> User {
        user(self.0.sender_id)
    }

    async fn kind(&self) -> MessageKind {
        if self.0.system.is_some() {
            MessageKind::System
        } else {
            MessageKind::Text
        }
    }

    /// The text; null for a system item.
    async fn body(&self) -> Option<&str> {
        self.0.system.is_none().then_some(self.0.body.as_str())
    }

    /// What a system item tells; null for a message.
    async fn system(&self) -> Option<SystemItem> {
        self.0.system.as_ref().map(|s| SystemItem {
            action: s.action,
            users: s.user_ids.iter().map(|u| user(*u)).collect(),
            text: s.text.clone(),
        })
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// For its sender, while a member: SENT, DELIVERED (to every other member) or
    /// READ (by every other member whose read receipts show). Null for anyone else.
    async fn status(&self, ctx: &Context<'_>) -> Result<Option<Status>> {
        let me = ctx.viewer()?.user_id;
        if me != self.0.sender_id || self.0.system.is_some() {
            return Ok(None);
        }
        let members = members_of(ctx, self.0.conversation_id).await?;
        // A sender who is no longer a member no longer watches who reads.
        if !members.iter().any(|m| m.user_id == me) {
            return Ok(None);
        }
        let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        let settings = settings_of(ctx, &ids).await?;
        Ok(Some(receipts::status(me, self.0.seq, &members, &settings)))
    }

    /// For its sender, while a member: the other members who read it, with when,
    /// earliest first (only those whose read receipts show, reciprocally). Null for
    /// anyone else.
    async fn seen_by(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<SeenByConnection>> {
        let me = ctx.viewer()?.user_id;
        if me != self.0.sender_id || self.0.system.is_some() {
            return Ok(None);
        }
        let page = echostream_service::pages::Page::new(first, after.as_deref())?;
        let members = members_of(ctx, self.0.conversation_id).await?;
        if !members.iter().any(|m| m.user_id == me) {
            return Ok(None);
        }
        let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        let settings = settings_of(ctx, &ids).await?;
        let marks = ctx
            .loader_of::<ReadMarksLoader, (Uuid, i64)>()?
            .load_one((self.0.conversation_id, self.0.seq))
            .await?
            .unwrap_or_default();
        let seen = receipts::seen_by(me, &self.0, &marks, &settings);
        let present: Vec<(Uuid, DateTime<Utc>)> =
            seen.into_iter().filter(|(u, _)| ids.contains(u)).collect();
        let rest: Vec<(Uuid, DateTime<Utc>)> = match page.after {
            Some(after) => present
                .into_iter()
                .filter(|(u, at)| (*at, *u) > after)
                .collect(),
            None => present,
        };
        let more = rest.len() as u64 > page.first;
        let edges = rest
            .into_iter()
            .take(page.first as usize)
            .map(|(u, at)| {
                (
                    echostream_service::pages::cursor(at, u),
                    Reader {
                        user: user(u),
                        read_at: at,
                    },
                )
            })
            .collect();
        Ok(Some(SeenByConnection::from_edges(
            edges,
            page.after.is_some(),
            more,
        )))
    }
}

/// A member who read a message, and when.
#[derive(SimpleObject)]
pub struct Reader {
    pub user: User,
    pub read_at: DateTime<Utc>,
}

echostream_service::connection!(SeenByConnection, SeenByEdge, Reader);
echostream_service::connection!(MessageConnection, MessageEdge, Message);
echostream_service::connection!(ConversationConnection, ConversationEdge, Conversation);

/// Direct or group.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "echostream_contracts::chat::ConversationKind")]
pub enum ConversationKind {
    Direct,
    Group,
}

/// A member's place in a conversation.
pub struct Member(pub member::Model);

#[Object]
impl Member {
    async fn user(&self) -> User {
        user(self.0.user_id)
    }

    async fn role(&self) -> Role {
        self.0.role
    }

    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }

    /// Everything up to this `seq` reached one of the member's devices (raised by
    /// their reads only when their reads show at all).
    async fn delivered_seq(&self, ctx: &Context<'_>) -> Result<i64> {
        let settings = settings_of(ctx, &[self.0.user_id]).await?;
        Ok(receipts::delivered_position(
            &self.0,
            &settings.get(&self.0.user_id).copied().unwrap_or_default(),
        ))
    }

    /// The member has read everything up to this `seq`; null when their read
    /// receipts do not show to the viewer (reciprocal, as in WhatsApp).
    async fn last_read_seq(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        let me = ctx.viewer()?.user_id;
        if me == self.0.user_id {
            return Ok(Some(self.0.last_read_seq));
        }
        let settings = settings_of(ctx, &[me, self.0.user_id]).await?;
        let shows = receipts::sees_reads(
            &settings.get(&me).copied().unwrap_or_default(),
            &settings.get(&self.0.user_id).copied().unwrap_or_default(),
        );
        Ok(shows.then_some(self.0.last_read_seq))
    }
}

/// URLs of a group avatar's renditions (squares), each valid for an hour.
#[derive(SimpleObject)]
pub struct GroupAvatar {
    /// 64×64 pixels.
    small: String,
    /// Up to 256×256.
    medium: String,
    /// Up to 1024×1024, never larger than the upload.
    large: String,
}

impl GroupAvatar {
    /// The avatar stored at `prefix`, as URLs.
    async fn at(ctx: &Context<'_>, prefix: Option<&str>) -> Result<Option<GroupAvatar>> {
        let Some(prefix) = prefix else {
            return Ok(None);
        };
        let urls = echostream_media::urls(app(ctx)?.ports.objects.as_ref(), prefix).await?;
        Ok(Some(GroupAvatar {
            small: urls.small,
            medium: urls.medium,
            large: urls.large,
        }))
    }
}

/// A conversation.
pub struct Conversation(pub conversation::Model);

impl Conversation {
    async fn mine(&self, ctx: &Context<'_>) -> Result<Option<member::Model>> {
        let me = ctx.viewer()?.user_id;
        Ok(members_of(ctx, self.0.id)
            .await?
            .into_iter()
            .find(|m| m.user_id == me))
    }
}

#[Object]
impl Conversation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> ConversationKind {
        self.0.kind.into()
    }

    /// A group's title (null for a direct conversation).
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// A group's avatar (null when it has none, and for a direct conversation).
    async fn avatar(&self, ctx: &Context<'_>) -> Result<Option<GroupAvatar>> {
        GroupAvatar::at(ctx, self.0.avatar_key.as_deref()).await
    }

    /// Whether only owners and admins may send.
    async fn only_admins_send(&self) -> bool {
        self.0.only_admins_send
    }

    /// Whether people added later read what was written before they joined (a
    /// group setting, on by default; off, a new member's history starts at the item
    /// telling they were added).
    async fn new_members_see_history(&self) -> bool {
        self.0.new_members_see_history
    }

    /// The `seq` of the newest timeline item (0 when empty).
    async fn last_seq(&self) -> i64 {
        self.0.last_seq
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the newest item was added: the conversation list's order.
    async fn last_activity_at(&self) -> DateTime<Utc> {
        conversations::last_activity(&self.0)
    }

    /// The newest timeline item.
    async fn last_item(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        if self.0.last_seq == 0 {
            return Ok(None);
        }
        let loader = ctx.data::<DataLoader<ItemLoader>>()?;
        let found = loader.load_one((self.0.id, self.0.last_seq)).await?;
        Ok(found.as_ref().map(Message::of))
    }

    /// The viewer's role here.
    async fn my_role(&self, ctx: &Context<'_>) -> Result<Role> {
        Ok(self
            .mine(ctx)
            .await?
            .map(|m| m.role)
            .unwrap_or(Role::Member))
    }

    /// The viewer's read position.
    async fn last_read_seq(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.mine(ctx).await?.map(|m| m.last_read_seq).unwrap_or(0))
    }

    /// Messages from others after the viewer's read position.
    async fn unread_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let me = ctx.viewer()?.user_id;
        let loader = ctx.data::<DataLoader<UnreadLoader>>()?;
        Ok(loader.load_one((me, self.0.id)).await?.unwrap_or(0))
    }

    // Batched across the whole response: one query for every conversation's members.
    /// Members, longest-standing first.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        let found = members_of(ctx, self.0.id).await?;
        Ok(found.into_iter().map(Member).collect())
    }

    async fn member_count(&self, ctx: &Context<'_>) -> Result<usize> {
        Ok(members_of(ctx, self.0.id).await?.len())
    }

    /// The timeline, paged by `seq`: `first`/`after` forward, `last`/`before`
    /// backward (the newest `last` items when no argument is given), or `around` a
    /// message (with `first` as the page size). Pages hold 1 to 100 items (50 by
    /// default); cursors are opaque and bound to this conversation.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        around: Option<ID>,
    ) -> Result<MessageConnection> {
        let db = &app(ctx)?.db;
        let around = around.map(|id| parse_id(&id, "around")).transpose()?;
        let args = Arguments {
            first,
            after: after.as_deref(),
            last,
            before: before.as_deref(),
            around,
        };
        let from = self.mine(ctx).await?.map_or(0, |m| m.history_from_seq);
        let window = Window::new(db, self.0.id, from, args).await?;
        let page = history::page(db, self.0.id, from, window).await?;
        let edges = page
            .items
            .iter()
            .map(|m| (history::cursor(self.0.id, m.seq), Message::of(m)))
            .collect();
        Ok(MessageConnection::from_edges(
            edges,
            page.has_previous,
            page.has_next,
        ))
    }
}
