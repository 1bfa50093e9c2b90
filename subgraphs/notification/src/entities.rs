//! SeaORM entities of the notification schema.

/// One item of a user's notification feed: made by an event, and, while unread,
/// collapsing the later events of its `group_key` into itself (`feed.rs`).
pub mod notification {
    use sea_orm::entity::prelude::*;

    pub use echostream_contracts::notification::NotificationKind;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub kind: NotificationKind,
        /// The newest event it was made from or collapsed; one item per (user, event).
        pub source_event: Uuid,
        /// What renders it beyond the columns: the newest message's `preview`, an
        /// `emoji`, a `role`, a friend request's `answer`.
        pub payload: Json,
        pub created_at: DateTimeUtc,
        pub read_at: Option<DateTimeUtc>,
        /// What it collapses by: at most one unread, undismissed item per user and
        /// key (`conversation:{id}`, `reply:{message}`, `reaction:{message}`…).
        pub group_key: String,
        /// How many events it collapses (messages, replies, reactions).
        pub count: i32,
        /// Who caused it, in order of first appearance (at most [`MAX_ACTORS`]).
        pub actor_ids: Json,
        /// What a client opens: the conversation, the message, the user.
        pub conversation_id: Option<Uuid>,
        pub message_id: Option<Uuid>,
        pub subject_id: Option<Uuid>,
        /// The messages it covers, by `seq`: reading the conversation up to
        /// `last_seq` reads it.
        pub first_seq: Option<i64>,
        pub last_seq: Option<i64>,
        /// When it last changed (made, collapsed into): the feed's order.
        pub updated_at: DateTimeUtc,
        pub dismissed_at: Option<DateTimeUtc>,
        /// Whether it shows in the feed (the user's in-app preference for its kind
        /// when it was made); one that does not exists for other channels only.
        pub in_app: bool,
        /// Whether it may go out in an email digest.
        pub email: bool,
        /// The digest it went out in (at most one).
        pub digest_id: Option<Uuid>,
        /// When it was last pushed to the user's devices (reading it withdraws that).
        pub pushed_at: Option<DateTimeUtc>,
    }

    /// The actors an item names at most ("ann, bob and 9 others" counts the rest).
    pub const MAX_ACTORS: usize = 10;

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// Its actors.
        pub fn actors(&self) -> Vec<Uuid> {
            serde_json::from_value(self.actor_ids.clone()).unwrap_or_default()
        }
    }
}

/// A user's notification preferences, where they differ from the defaults (see
/// `preferences/`).
pub mod preference {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "preferences")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// The kinds whose channels the user changed: `{"reaction": {"inApp": true,
        /// "email": false, "push": false}}`.
        pub channels: Json,
        /// Do not disturb until then (no push, no email; the feed still fills).
        pub dnd_until: Option<DateTimeUtc>,
        /// Daily quiet hours, minutes after midnight in `time_zone`, from `quiet_from`
        /// up to `quiet_to` (across midnight when `quiet_to` is smaller).
        pub quiet_from: Option<i32>,
        pub quiet_to: Option<i32>,
        /// An IANA time zone name (`Europe/Paris`).
        pub time_zone: Option<String>,
        /// Whether a mention reaches the user from a conversation they muted.
        pub mentions_break_mute: bool,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The conversations users muted, as chat tells them (`chat.member.muted`): a row
/// while muted, until `until` (null: until unmuted).
pub mod mute {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "mutes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub conversation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub until: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The email digests sent: one row each, with how many notifications it carried.
pub mod digest {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "digests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub items: i32,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Each user's last digest: the row instances contend for (see `digests/`).
pub mod digest_slot {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "digest_slots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub last_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The subgraph's own keys, by name (`links`: what links in mail are signed with),
/// each made by whichever instance needs it first.
pub mod secret {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// Random bytes, hex.
        pub secret: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A device's Web Push subscription, registered under a session and ending with it.
pub mod push_subscription {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "push_subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub session_id: Uuid,
        /// The push service's URL for this device (unique: a device registering it
        /// again takes it over).
        #[sea_orm(unique)]
        pub endpoint: String,
        /// The device's P-256 public key and auth secret, base64url.
        pub p256dh: String,
        pub auth: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A push waiting to be sent: claimed by one instance, deleted once done.
pub mod push_job {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "push_jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub notification_id: Uuid,
        pub action: Action,
        pub created_at: DateTimeUtc,
        /// When an instance took it (null: waiting).
        pub claimed_at: Option<DateTimeUtc>,
    }

    /// What a push does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum Action {
        /// Shows the notification as it is now.
        #[sea_orm(string_value = "show")]
        Show,
        /// Takes a shown one back (read elsewhere): replaces it at the push service
        /// if undelivered, and tells the service worker to close it.
        #[sea_orm(string_value = "withdraw")]
        Withdraw,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
