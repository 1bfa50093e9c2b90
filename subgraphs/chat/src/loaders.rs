//! DataLoaders: every entity and list lookup that could fan out is batched into one
//! query per request tick.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use echostream_shared::Error;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entities::{conversation, member, message};

/// Conversations by id.
pub struct ConversationLoader(pub DatabaseConnection);

impl Loader<Uuid> for ConversationLoader {
    type Value = conversation::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = conversation::Entity::find()
            .filter(conversation::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(Error::from(e)))?;
        Ok(found.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// Messages by id.
pub struct MessageLoader(pub DatabaseConnection);

impl Loader<Uuid> for MessageLoader {
    type Value = message::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = message::Entity::find()
            .filter(message::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(Error::from(e)))?;
        Ok(found.into_iter().map(|m| (m.id, m)).collect())
    }
}

/// The members of each conversation, by conversation id.
pub struct MembersLoader(pub DatabaseConnection);

impl Loader<Uuid> for MembersLoader {
    type Value = Vec<member::Model>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = member::Entity::find()
            .filter(member::Column::ConversationId.is_in(keys.iter().copied()))
            .order_by_asc(member::Column::JoinedAt)
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(Error::from(e)))?;
        let mut by_conversation: HashMap<Uuid, Vec<member::Model>> = HashMap::new();
        for m in found {
            by_conversation
                .entry(m.conversation_id)
                .or_default()
                .push(m);
        }
        Ok(by_conversation)
    }
}
