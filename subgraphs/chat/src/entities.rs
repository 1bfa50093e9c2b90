//! SeaORM entities of the chat schema.

/// A direct (two people) or group conversation.
pub mod conversation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "conversations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `direct` or `group`.
        pub kind: String,
        /// For direct conversations: the two user ids, sorted; keeps one per pair.
        #[sea_orm(unique)]
        pub direct_key: Option<String>,
        pub title: Option<String>,
        pub created_by: Uuid,
        /// The `seq` of the newest message.
        pub last_seq: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A user's membership in a conversation, with their read position.
pub mod member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub conversation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// `owner`, `admin` or `member`.
        pub role: String,
        /// Everything up to this `seq` has been read; unread counts derive from it.
        pub last_read_seq: i64,
        pub joined_at: DateTimeUtc,
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
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Chat's projection of profile's friendships (shared with presence).
pub use echostream_shared::projections::friendships::friendship;
