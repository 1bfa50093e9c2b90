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

/// The names notifications are written with: usernames from auth's events, display
/// names from profile's (a projection, so rendering a feed asks no other service).
pub mod person {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "people")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub username: String,
        pub display_name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// What a person is called in a notification: their display name, else their
        /// username.
        pub fn name(&self) -> &str {
            match self.display_name.trim() {
                "" => &self.username,
                name => name,
            }
        }
    }
}
