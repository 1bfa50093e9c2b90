//! SeaORM entities of the profile schema.

/// A user's public profile, created when the account is verified.
pub mod profile {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "profiles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        /// Copied from auth's events, for search and friend requests by username.
        pub username: String,
        #[sea_orm(unique)]
        pub username_key: String,
        pub display_name: String,
        pub bio: Option<String>,
        pub location: Option<String>,
        /// An http(s) URL.
        pub website: Option<String>,
        pub birthdate: Option<Date>,
        /// SHA-256 of the account's email address (from auth's events): found by its
        /// exact address only; the address itself stays in auth.
        pub email_digest: Option<String>,
        /// Where the avatar's images are stored (`media::keys`), if there is one.
        pub avatar_key: Option<String>,
        /// Where the cover image's are stored, if there is one.
        pub cover_key: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A request from one user to become friends with another.
pub mod friend_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "friend_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub from_user: Uuid,
        pub to_user: Uuid,
        pub status: Status,
        pub created_at: DateTimeUtc,
        pub responded_at: Option<DateTimeUtc>,
    }

    /// Where a request stands: waiting for an answer, or answered (accepted,
    /// declined) or taken back (by its sender, or by a block).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum Status {
        #[sea_orm(string_value = "pending")]
        Pending,
        #[sea_orm(string_value = "accepted")]
        Accepted,
        #[sea_orm(string_value = "declined")]
        Declined,
        #[sea_orm(string_value = "cancelled")]
        Cancelled,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One direction of a friendship (each friendship is stored both ways).
pub mod friendship {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "friendships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub friend_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
