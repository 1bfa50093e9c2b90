//! The chat types clients see: conversations, members, timeline items.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_contracts::chat::Mute;
use echostream_contracts::profile::PrivacySettings;
use echostream_media::ProfileImage;
use echostream_service::pages::FromEdges;
use echostream_service::resolver::{RequestExt, parse_id};
use std::collections::HashMap;
use uuid::Uuid;

pub use super::message::{Message, MessageConnection};
use super::{app, members_of};
use crate::conversations::{self, permissions::Role};
use crate::entities::{conversation, member};
use crate::exports;
use crate::history::{self, Arguments, Window};
use crate::loaders::{HiddenLoader, ItemLoader, PrivacyLoader, UnreadLoader};
use crate::receipts;
use crate::senders::{BlockedLoader, Seen};
use echostream_projections::people::PeopleLoader;

/// A user, as far as chat goes; other subgraphs resolve the rest, except a
/// message's sender's name and avatar (`senders.rs`).
pub struct User {
    pub id: ID,
    /// The sender as the viewer sees them, when already at hand (a live message).
    pub seen: Option<Seen>,
}

impl User {
    /// Name and avatar as the viewer sees them: at hand, or read from chat's
    /// projection of people and blocks (batched per response).
    async fn seen(&self, ctx: &Context<'_>) -> Result<Seen> {
        if let Some(seen) = &self.seen {
            return Ok(seen.clone());
        }
        let id = parse_id(&self.id, "id")?;
        let Some(person) = ctx.data::<DataLoader<PeopleLoader>>()?.load_one(id).await? else {
            return Ok(Seen::default());
        };
        let blocked = match (&person.avatar_key, ctx.viewer_opt()) {
            (Some(_), Some(viewer)) => ctx
                .data::<DataLoader<BlockedLoader>>()?
                .load_one((id, viewer.user_id))
                .await?
                .is_some(),
            _ => false,
        };
        Ok(Seen::of_person(&person, blocked))
    }
}

#[Object]
impl User {
    async fn id(&self) -> &ID {
        &self.id
    }

    // Profile's, provided with a message's sender (`senders.rs`); described as
    // profile describes it.
    /// The name shown in chats; defaults to the username.
    #[graphql(external)]
    async fn display_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.seen(ctx).await?.name)
    }

    // Profile's, provided with a message's sender.
    /// The avatar, if any; null for someone the user has blocked.
    #[graphql(external)]
    async fn avatar(&self, ctx: &Context<'_>) -> Result<Option<ProfileImage>> {
        let prefix = self.seen(ctx).await?.avatar_key;
        let objects = app(ctx)?.ports.objects.as_ref();
        Ok(echostream_media::profile_image(objects, prefix.as_deref()).await?)
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
        seen: None,
    }
}

/// Privacy settings of `users`, batched across the response.
pub(super) async fn settings_of(
    ctx: &Context<'_>,
    users: &[Uuid],
) -> Result<HashMap<Uuid, PrivacySettings>> {
    let loader = ctx.loader::<PrivacyLoader>()?;
    Ok(loader.load_many(users.iter().copied()).await?)
}

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

    /// The newest timeline item the viewer reads (a message deleted for everyone
    /// is its tombstone; one the viewer deleted for themselves is skipped).
    async fn last_item(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let Some(mine) = self.mine(ctx).await? else {
            return Ok(None);
        };
        if self.0.last_seq <= mine.history_from_seq {
            return Ok(None);
        }
        let loader = ctx.data::<DataLoader<ItemLoader>>()?;
        let Some(found) = loader.load_one((self.0.id, self.0.last_seq)).await? else {
            return Ok(None);
        };
        let hidden = ctx.data::<DataLoader<HiddenLoader>>()?;
        if found.in_timeline && hidden.load_one((mine.user_id, found.id)).await?.is_none() {
            return Ok(Some(Message::of(&found)));
        }
        // The newest item is a reply kept in its thread, or (rare) one the viewer
        // deleted for themselves: the newest of the timeline they read.
        let reader = history::Reader {
            conversation: self.0.id,
            user: mine.user_id,
            from: mine.history_from_seq,
            thread: None,
        };
        let window = Window::Backward {
            before: None,
            size: 1,
        };
        let page = history::page(&app(ctx)?.db, reader, window).await?;
        Ok(page.items.first().map(Message::of))
    }

    /// The messages pinned here that the viewer reads, newest pin first (at most
    /// `chat.max_pins_per_conversation`).
    async fn pinned_messages(&self, ctx: &Context<'_>) -> Result<Vec<Message>> {
        match self.mine(ctx).await? {
            Some(mine) => super::pins::pinned(ctx, &mine).await,
            None => Ok(Vec::new()),
        }
    }

    /// The viewer's role here.
    async fn my_role(&self, ctx: &Context<'_>) -> Result<Role> {
        Ok(self
            .mine(ctx)
            .await?
            .map(|m| m.role)
            .unwrap_or(Role::Member))
    }

    /// The viewer's read position (before the first item they marked unread, if they
    /// did; what others see of their reads does not move back).
    async fn last_read_seq(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self
            .mine(ctx)
            .await?
            .map(|m| m.read_position())
            .unwrap_or(0))
    }

    /// Whether the viewer has muted it now (see `muteConversation`).
    async fn muted(&self, ctx: &Context<'_>) -> Result<bool> {
        match self.mine(ctx).await? {
            Some(mine) => super::mutes::holds(ctx, mine.mute()),
            None => Ok(false),
        }
    }

    /// When the viewer's mute ends by itself (null when not muted, or muted until
    /// unmuted).
    async fn muted_until(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let Some(mine) = self.mine(ctx).await? else {
            return Ok(None);
        };
        Ok(match mine.mute() {
            Mute::Until { until } if super::mutes::holds(ctx, mine.mute())? => Some(until),
            _ => None,
        })
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
        let me = ctx.viewer()?.user_id;
        let from = self.mine(ctx).await?.map_or(0, |m| m.history_from_seq);
        let window = Window::new(db, self.0.id, from, args).await?;
        let reader = history::Reader {
            conversation: self.0.id,
            user: me,
            from,
            thread: None,
        };
        let page = history::page(db, reader, window).await?;
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
