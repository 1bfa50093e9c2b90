//! SeaORM entities of the auth schema.

/// An account.
pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// As typed by the user.
        pub email: String,
        /// Lower-cased, for case-insensitive uniqueness.
        #[sea_orm(unique)]
        pub email_key: String,
        pub username: String,
        #[sea_orm(unique)]
        pub username_key: String,
        pub password_hash: String,
        pub email_verified_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A one-time code sent by email, stored hashed.
pub mod email_code {
    use sea_orm::entity::prelude::*;

    pub use crate::codes::Purpose;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub purpose: Purpose,
        pub code_hash: String,
        pub attempts: i32,
        pub expires_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub consumed_at: Option<DateTimeUtc>,
        /// What the code confirms, when it is not the account's own address (the new
        /// address of an email change).
        pub target: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A signed-in device: holds the hash of its current refresh token.
pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub device_id: String,
        pub device_name: String,
        #[sea_orm(unique)]
        pub refresh_hash: String,
        pub created_at: DateTimeUtc,
        pub last_used_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
        /// Client address at sign-in or the last refresh.
        pub ip: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An Ed25519 key that signs access tokens.
pub mod signing_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub private_pem: String,
        /// The public key, base64url, as the JWK `x` member.
        pub public_x: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A refresh token that has been used once; presenting it again means it leaked.
pub mod spent_refresh_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "spent_refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub hash: String,
        /// The session (token family) it belonged to.
        pub session_id: Uuid,
        pub spent_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An account at an OpenID Connect provider, linked to an EchoStream account.
pub mod identity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "identities")]
    pub struct Model {
        /// The provider's configured name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        /// The provider's `sub` for the person: stable, unlike their email.
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject: String,
        pub user_id: Uuid,
        pub email: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A mail auth sends for another domain (a notification digest), by its id: taken
/// before sending, so it is never sent twice (`mails.rs`).
pub mod mail_sent {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "mails_sent")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub state: State,
        /// When it was taken, then when it was sent or skipped.
        pub at: DateTimeUtc,
    }

    /// Where a mail stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Text")]
    pub enum State {
        /// Taken, being sent (or its sender died sending it: it stays unsent).
        #[sea_orm(string_value = "sending")]
        Sending,
        #[sea_orm(string_value = "sent")]
        Sent,
        /// Not sent: the account was deleted or its address is not verified.
        #[sea_orm(string_value = "skipped")]
        Skipped,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
