//! A subgraph's own copy of what people are called and look like, built from
//! auth's and profile's events: a user's username when they register, their display
//! name when they change it, their avatar when they set or remove one, nothing once
//! they are deleted. Notification writes its items with the names; chat hands out a
//! message's sender with name and avatar (`Message.sender`, `@provides`) so that the
//! gateway does not ask profile for them with every message.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use echostream_contracts::auth::{UserDeleted, UserRegistered};
use echostream_contracts::profile::{ImageKind, ProfileMediaChanged, ProfileUpdated};
use echostream_ports::Error;
use echostream_ports::events::Delivery;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, Set};

/// The `people` table.
pub mod person {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "people")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub username: String,
        pub display_name: String,
        /// The avatar's key prefix in object storage (`echostream_media::urls`).
        pub avatar_key: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// What a person is called: their display name, else their username (as
        /// profile's `displayName`, which starts as the username).
        pub fn name(&self) -> &str {
            match self.display_name.trim() {
                "" => &self.username,
                name => name,
            }
        }
    }
}

/// What one event says about a person.
enum Change {
    Registered(String),
    Named(String),
    Pictured(Option<String>),
}

/// Follows one event of auth's or profile's; whether it was one of these (a deleted
/// account is forgotten but not counted: other projections erase it too).
pub async fn follow(db: &impl ConnectionTrait, delivery: &Delivery) -> Result<bool, Error> {
    let event = &delivery.event;
    let change = if let Some(UserRegistered {
        user_id, username, ..
    }) = event.decode()?
    {
        (user_id, Change::Registered(username))
    } else if let Some(ProfileUpdated {
        user_id,
        display_name,
        ..
    }) = event.decode()?
    {
        (user_id, Change::Named(display_name))
    } else if let Some(ProfileMediaChanged { user_id, kind, key }) = event.decode()? {
        if kind != ImageKind::Avatar {
            return Ok(true);
        }
        (user_id, Change::Pictured(key))
    } else {
        if let Some(UserDeleted { user_id }) = event.decode()? {
            person::Entity::delete_by_id(user_id).exec(db).await?;
        }
        return Ok(false);
    };
    upsert(db, change.0, change.1).await?;
    Ok(true)
}

/// Writes one change; a person not known yet is made with it alone (events of auth
/// and profile come on different topics, in any order between them).
async fn upsert(db: &impl ConnectionTrait, user: Uuid, change: Change) -> Result<(), Error> {
    let mut row = person::ActiveModel {
        user_id: Set(user),
        username: Set(String::new()),
        display_name: Set(String::new()),
        avatar_key: Set(None),
    };
    let column = match change {
        Change::Registered(name) => {
            row.username = Set(name);
            person::Column::Username
        }
        Change::Named(name) => {
            row.display_name = Set(name);
            person::Column::DisplayName
        }
        Change::Pictured(key) => {
            row.avatar_key = Set(key);
            person::Column::AvatarKey
        }
    };
    person::Entity::insert(row)
        .on_conflict(
            OnConflict::column(person::Column::UserId)
                .update_column(column)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The people of `ids` that are known.
pub async fn named(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<person::Model>, Error> {
    Ok(person::Entity::find()
        .filter(person::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// People by id, batched: a page asks once for everyone it names.
pub struct PeopleLoader(pub DatabaseConnection);

impl Loader<Uuid> for PeopleLoader {
    type Value = person::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = named(&self.0, keys).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|p| (p.user_id, p)).collect())
    }
}
