//! DataLoaders: every entity and list lookup that could fan out is batched into one
//! query per request tick.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use echostream_contracts::profile::PrivacySettings;
use echostream_projections::privacy;
use echostream_service::Error;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entities::{conversation, member, message, read_mark};
use crate::unread;

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

/// The read marks that passed each (conversation, seq): "seen by" of every message
/// of a response in one query, however many conversations and messages it shows.
pub struct ReadMarksLoader(pub DatabaseConnection);

impl Loader<(Uuid, i64)> for ReadMarksLoader {
    type Value = Vec<read_mark::Model>;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, i64)],
    ) -> Result<HashMap<(Uuid, i64), Self::Value>, Self::Error> {
        // Per conversation, the marks from its lowest asked seq on; each key then
        // takes its own from them.
        let mut lowest: HashMap<Uuid, i64> = HashMap::new();
        for (conversation, seq) in keys {
            let at = lowest.entry(*conversation).or_insert(*seq);
            *at = (*at).min(*seq);
        }
        let any = lowest.iter().fold(Condition::any(), |any, (c, seq)| {
            any.add(
                Condition::all()
                    .add(read_mark::Column::ConversationId.eq(*c))
                    .add(read_mark::Column::Seq.gte(*seq)),
            )
        });
        let found = read_mark::Entity::find()
            .filter(any)
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(Error::from(e)))?;
        Ok(keys
            .iter()
            .map(|(conversation, seq)| {
                let marks = found
                    .iter()
                    .filter(|m| m.conversation_id == *conversation && m.seq >= *seq)
                    .cloned()
                    .collect();
                ((*conversation, *seq), marks)
            })
            .collect())
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

/// Users' privacy settings (chat's projection), by user id.
pub struct PrivacyLoader(pub DatabaseConnection);

impl Loader<Uuid> for PrivacyLoader {
    type Value = PrivacySettings;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        privacy::of_many(&self.0, keys).await.map_err(Arc::new)
    }
}

/// Unread counts, by (viewer, conversation): one query per viewer and batch.
pub struct UnreadLoader(pub DatabaseConnection);

impl Loader<(Uuid, Uuid)> for UnreadLoader {
    type Value = i64;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let by_viewer = echostream_service::resolver::by_viewer(keys);
        let mut out = HashMap::new();
        for (viewer, conversations) in by_viewer {
            let counts = unread::counts(&self.0, viewer, Some(&conversations))
                .await
                .map_err(Arc::new)?;
            for conversation in conversations {
                let n = counts.get(&conversation).copied().unwrap_or(0);
                out.insert((viewer, conversation), n);
            }
        }
        Ok(out)
    }
}

/// Timeline items by (conversation, seq): the last item of each listed conversation.
pub struct ItemLoader(pub DatabaseConnection);

impl Loader<(Uuid, i64)> for ItemLoader {
    type Value = message::Model;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, i64)],
    ) -> Result<HashMap<(Uuid, i64), Self::Value>, Self::Error> {
        let mut wanted = Condition::any();
        for (conversation, seq) in keys {
            wanted = wanted.add(
                message::Column::ConversationId
                    .eq(*conversation)
                    .and(message::Column::Seq.eq(*seq)),
            );
        }
        let found = message::Entity::find()
            .filter(wanted)
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(Error::from(e)))?;
        Ok(found
            .into_iter()
            .map(|m| ((m.conversation_id, m.seq), m))
            .collect())
    }
}

/// Earlier texts of edited messages, oldest first per message.
pub struct VersionsLoader(pub DatabaseConnection);

impl Loader<Uuid> for VersionsLoader {
    type Value = Vec<crate::entities::message_version::Model>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = crate::messages::edits::versions(&self.0, keys)
            .await
            .map_err(Arc::new)?;
        let mut out: HashMap<Uuid, Self::Value> = HashMap::new();
        for version in found {
            out.entry(version.message_id).or_default().push(version);
        }
        Ok(out)
    }
}

/// The reactions of messages as a viewer sees them, keyed (message, viewer).
pub struct ReactionsLoader(pub DatabaseConnection);

impl Loader<(Uuid, Uuid)> for ReactionsLoader {
    type Value = Vec<crate::messages::reactions::Summary>;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut by_viewer: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (message, viewer) in keys {
            by_viewer.entry(*viewer).or_default().push(*message);
        }
        let mut out = HashMap::new();
        for (viewer, messages) in by_viewer {
            let found = crate::messages::reactions::summaries(&self.0, viewer, &messages)
                .await
                .map_err(Arc::new)?;
            out.extend(found.into_iter().map(|(m, s)| ((m, viewer), s)));
        }
        Ok(out)
    }
}

/// The pin of each message that is pinned.
pub struct PinsLoader(pub DatabaseConnection);

impl Loader<Uuid> for PinsLoader {
    type Value = crate::entities::pin::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = crate::messages::pins::of_messages(&self.0, keys)
            .await
            .map_err(Arc::new)?;
        Ok(found.into_iter().map(|p| (p.message_id, p)).collect())
    }
}

/// Which (user, message) pairs the user deleted for themselves: present when so.
pub struct HiddenLoader(pub DatabaseConnection);

impl Loader<(Uuid, Uuid)> for HiddenLoader {
    type Value = ();
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        use crate::entities::hidden_message::{Column, Entity};
        pairs_present::<Entity>(&self.0, keys, Column::UserId, Column::MessageId, |h| {
            (h.user_id, h.message_id)
        })
        .await
    }
}

/// Which of the pairs `keys` are rows of `E`, matched on its columns `a` and `b`, in
/// one query: present when so (`pair` reads a row's pair).
pub async fn pairs_present<E: EntityTrait>(
    db: &DatabaseConnection,
    keys: &[(Uuid, Uuid)],
    a: E::Column,
    b: E::Column,
    pair: fn(&E::Model) -> (Uuid, Uuid),
) -> Result<HashMap<(Uuid, Uuid), ()>, Arc<Error>> {
    let any = keys.iter().fold(Condition::any(), |any, (one, other)| {
        any.add(Condition::all().add(a.eq(*one)).add(b.eq(*other)))
    });
    let found = E::find()
        .filter(any)
        .all(db)
        .await
        .map_err(|e| Arc::new(Error::from(e)))?;
    Ok(found.iter().map(|row| (pair(row), ())).collect())
}

/// The files each message carries, in order (`Message.attachments`).
pub struct AttachmentsLoader(pub DatabaseConnection);

impl Loader<Uuid> for AttachmentsLoader {
    type Value = Vec<crate::entities::attachment::Model>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::attachments::of_messages(&self.0, keys)
            .await
            .map_err(Arc::new)
    }
}

/// The summaries of threads, by their root (`Message.thread`).
pub struct ThreadsLoader(pub DatabaseConnection);

impl Loader<Uuid> for ThreadsLoader {
    type Value = crate::threads::Summary;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        crate::threads::summaries(&self.0, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Where a user stands in threads: (read position, unread replies), by (user, root).
pub struct ThreadReadsLoader(pub DatabaseConnection);

impl Loader<(Uuid, Uuid)> for ThreadReadsLoader {
    type Value = (i64, i64);
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut by_user: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (user, root) in keys {
            by_user.entry(*user).or_default().push(*root);
        }
        let mut out = HashMap::new();
        for (user, roots) in by_user {
            let reads = crate::threads::reads(&self.0, user, &roots)
                .await
                .map_err(Arc::new)?;
            out.extend(reads.into_iter().map(|(root, read)| ((user, root), read)));
        }
        Ok(out)
    }
}

/// Every member's read position in threads, by root: a thread reply's `status`.
pub struct ThreadReadersLoader(pub DatabaseConnection);

impl Loader<Uuid> for ThreadReadersLoader {
    type Value = HashMap<Uuid, i64>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = crate::entities::thread_read::Entity::find()
            .filter(crate::entities::thread_read::Column::RootId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(Error::from(e)))?;
        let mut out: HashMap<Uuid, Self::Value> = HashMap::new();
        for read in found {
            out.entry(read.root_id)
                .or_default()
                .insert(read.user_id, read.read_seq);
        }
        Ok(out)
    }
}
