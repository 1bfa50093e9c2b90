//! SeaORM entities of the notification schema.

/// One entry of a user's notification feed.
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
        /// The event it was made from; one notification per (user, event).
        pub source_event: Uuid,
        pub payload: Json,
        pub created_at: DateTimeUtc,
        pub read_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
