//! SeaORM entities of the chat schema.

/// A direct (two people) or group conversation.
pub mod conversation {
    use sea_orm::entity::prelude::*;

    pub use echostream_contracts::chat::ConversationKind;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "conversations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: ConversationKind,
        /// For direct conversations: the two user ids, sorted; keeps one per pair.
        #[sea_orm(unique)]
        pub direct_key: Option<String>,
        pub title: Option<String>,
        pub created_by: Uuid,
        /// The `seq` of the newest timeline item (message or system item).
        pub last_seq: i64,
        pub created_at: DateTimeUtc,
        pub description: Option<String>,
        /// The group's picture in object storage (its rendition keys derive from it).
        pub avatar_key: Option<String>,
        /// Only owners and admins may send.
        pub only_admins_send: bool,
        /// Whether people added later read what was written before they joined.
        pub new_members_see_history: bool,
        /// When the newest timeline item was added (the conversation list's order).
        pub last_activity_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A user's membership in a conversation, with their read position.
pub mod member {
    use sea_orm::entity::prelude::*;

    pub use crate::conversations::permissions::Role;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub conversation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub role: Role,
        /// Everything up to this `seq` has been read; unread counts derive from it.
        pub last_read_seq: i64,
        pub joined_at: DateTimeUtc,
        /// Everything up to this `seq` has reached one of the member's devices.
        pub delivered_seq: i64,
        /// The member reads only items after this `seq` (0: the whole history; the
        /// `seq` before they joined, when the group hides its history from new
        /// members).
        pub history_from_seq: i64,
        /// The first item the member marked unread again, at or before
        /// `last_read_seq` (null: none). Their own read position is the item before
        /// it; what others see of their reads stays at `last_read_seq`.
        pub unread_from_seq: Option<i64>,
        /// Whether the member muted the conversation: until `muted_until`, or, with
        /// no time, until they unmute it (see `mutes.rs`).
        pub muted: bool,
        pub muted_until: Option<DateTimeUtc>,
    }

    impl Model {
        /// The member's mute, as stored (whether it still holds depends on the time).
        pub fn mute(&self) -> echostream_contracts::chat::Mute {
            use echostream_contracts::chat::Mute;
            match (self.muted, self.muted_until) {
                (false, _) => Mute::Off,
                (true, Some(until)) => Mute::Until { until },
                (true, None) => Mute::Always,
            }
        }

        /// Where the member's own reading stands: their read position, or before
        /// what they marked unread.
        pub fn read_position(&self) -> i64 {
            self.unread_from_seq.map_or(self.last_read_seq, |from| {
                (from - 1).min(self.last_read_seq)
            })
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A message, ordered within its conversation by `seq`.
pub mod message {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "messages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub conversation_id: Uuid,
        pub seq: i64,
        pub sender_id: Uuid,
        /// The device that sent it; idempotency keys are scoped to it.
        pub sender_device: String,
        /// The client's idempotency key.
        pub client_key: String,
        pub body: String,
        pub created_at: DateTimeUtc,
        pub kind: Kind,
        /// What a system item records (`contracts::chat::SystemItem`).
        pub system: Option<Json>,
        /// When its sender last changed its text (earlier texts: [`super::message_version`]).
        pub edited_at: Option<DateTimeUtc>,
        /// When it was deleted for everyone: then its text is empty and only this
        /// tombstone, with `deleted_by`, keeps its place.
        pub deleted_at: Option<DateTimeUtc>,
        pub deleted_by: Option<Uuid>,
        /// The message this one answers, in the same conversation, and its sender.
        pub reply_to_id: Option<Uuid>,
        pub reply_to_sender_id: Option<Uuid>,
        /// The message this one was forwarded from, and its sender.
        pub forwarded_from_id: Option<Uuid>,
        pub forwarded_sender_id: Option<Uuid>,
        /// Who its text mentions (`contracts::chat::Mentions`), read again on edit.
        pub mentions: Option<Json>,
        /// The message whose thread this one replies in (`threads.rs`).
        pub thread_root_id: Option<Uuid>,
        /// Whether it shows in the conversation's timeline and counts as unread
        /// there: every message but a reply kept in its thread.
        pub in_timeline: bool,
    }

    /// Something a member wrote, or a membership or info change (told by `system`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum Kind {
        #[sea_orm(string_value = "text")]
        Text,
        #[sea_orm(string_value = "system")]
        System,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A message's earlier texts, numbered 1, 2, 3… in the order they were replaced.
pub mod message_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "message_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub message_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        pub body: String,
        /// When this text was written (sent, or put in by an earlier edit).
        pub written_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A message one member deleted for themselves: gone from their history and counts.
pub mod hidden_message {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "hidden_messages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub message_id: Uuid,
        pub conversation_id: Uuid,
        pub seq: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A member's reaction to a message: one emoji each row.
pub mod reaction {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "reactions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub message_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub emoji: String,
        pub conversation_id: Uuid,
        pub reacted_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A user's username, as chat reads `@username` (lower-cased; from auth's events).
pub mod username {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "usernames")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub username: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A message pinned in its conversation.
pub mod pin {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "pins")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub conversation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub message_id: Uuid,
        /// The pinned message's place in its timeline.
        pub seq: i64,
        pub pinned_by: Uuid,
        pub pinned_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A message a member asked to send later, and how that went.
pub mod scheduled_message {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "scheduled_messages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub conversation_id: Uuid,
        pub sender_id: Uuid,
        pub sender_device: String,
        pub body: String,
        pub reply_to_id: Option<Uuid>,
        pub send_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub state: State,
        /// When a worker took it to send (a worker that stopped midway is
        /// relieved after a while).
        pub claimed_at: Option<DateTimeUtc>,
        /// The message it became.
        pub message_id: Option<Uuid>,
        /// Why it could not be sent.
        pub failure: Option<String>,
    }

    /// Where a scheduled message stands.
    #[derive(
        Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, async_graphql::Enum,
    )]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    #[graphql(name = "ScheduledMessageState")]
    pub enum State {
        /// Waiting for its time; may be edited or cancelled.
        #[sea_orm(string_value = "pending")]
        Pending,
        /// Being sent now.
        #[sea_orm(string_value = "sending")]
        Sending,
        /// Sent: see its message.
        #[sea_orm(string_value = "sent")]
        Sent,
        /// Cancelled by its sender.
        #[sea_orm(string_value = "cancelled")]
        Cancelled,
        /// Refused when its time came (no longer a member, blocked…): see `failure`.
        #[sea_orm(string_value = "failed")]
        Failed,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// When a member's read position passed a `seq`: one row per advance, so "seen by"
/// can say when each member read a message.
pub mod read_mark {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "read_marks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub conversation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Chat's projection of profile's friendships (shared with presence).
pub use echostream_projections::friendships::friendship;

/// A file messages carry, stored once however many messages carry it (a forward
/// shares it): `refs` counts them, and the last one to go dooms its objects.
pub mod attachment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "attachments")]
    pub struct Model {
        /// The upload's id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Where it was uploaded (first sent).
        pub conversation_id: Uuid,
        pub uploader_id: Uuid,
        /// The prefix of its objects: the file at `{key}/upload`, an image's
        /// thumbnails beside it (`echostream_media`).
        pub key: String,
        pub kind: Kind,
        /// The real type, read from its bytes.
        pub content_type: String,
        pub file_name: String,
        pub byte_size: i64,
        pub width: Option<i32>,
        pub height: Option<i32>,
        pub duration_ms: Option<i64>,
        /// Whether thumbnails were made (images small enough to decode).
        pub thumbnails: bool,
        /// How many messages carry it.
        pub refs: i32,
        pub created_at: DateTimeUtc,
    }

    pub use echostream_contracts::chat::AttachmentKind as Kind;

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Which message carries which attachment, in order.
pub mod message_attachment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "message_attachments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub message_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub attachment_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// How far a member read a thread.
pub mod thread_read {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "thread_reads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub root_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub conversation_id: Uuid,
        /// The `seq` of the last reply they read.
        pub read_seq: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
