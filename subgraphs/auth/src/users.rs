//! Finding accounts: by id, email, username or either. The one place that knows
//! accounts are matched on their lower-cased keys.

use echostream_ports::db::Unique;
use echostream_service::Error;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::user;

/// One account per email address, whatever its case (migrations/src/auth.rs).
pub const UNIQUE_EMAIL: Unique = Unique {
    name: "users_email_key_key",
    table: "users",
    columns: &["email_key"],
    message: "an account with that email exists",
};

/// One account per username, whatever its case (migrations/src/auth.rs).
pub const UNIQUE_USERNAME: Unique = Unique {
    name: "users_username_key_key",
    table: "users",
    columns: &["username_key"],
    message: "that username is taken",
};

/// The key an email address or username is matched on.
pub fn key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// The account with this email address, in any case.
pub async fn by_email(db: &DatabaseConnection, email: &str) -> Result<Option<user::Model>, Error> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailKey.eq(key(email)))
        .one(db)
        .await?)
}

/// The account with this username, in any case.
pub async fn by_username(
    db: &DatabaseConnection,
    username: &str,
) -> Result<Option<user::Model>, Error> {
    Ok(user::Entity::find()
        .filter(user::Column::UsernameKey.eq(key(username)))
        .one(db)
        .await?)
}

/// The account a sign-in names: an email address (it has an `@`) or a username.
pub async fn by_login(db: &DatabaseConnection, login: &str) -> Result<Option<user::Model>, Error> {
    if login.contains('@') {
        by_email(db, login).await
    } else {
        by_username(db, login).await
    }
}

/// The account `id` of a signed-in caller; `UNAUTHENTICATED` when it was deleted
/// meanwhile.
pub async fn existing(db: &DatabaseConnection, id: Uuid) -> Result<user::Model, Error> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Unauthenticated("this account no longer exists".into()))
}

/// Finds accounts by id (the entity loader's query).
pub async fn by_ids(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<user::Model>, Error> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}
