//! Senders: who sent a message, named and pictured by chat itself.
//!
//! A client shows each message with its sender's name and avatar. Profile owns
//! both, but asking it for every delivered message (an entity fetch through the
//! gateway per member per message) would cost more than the message. So chat keeps
//! a projection of people (`echostream_projections::people`: names from auth's and
//! profile's events, avatars from profile's) and of blocks, and `Message.sender`
//! `@provides` `displayName` and `avatar`: the gateway asks profile nothing.
//!
//! A message sent out carries its sender's [`SenderCard`], read once by the fan-out
//! (one read of the person, one of the sender's blocks among the members), so a
//! live delivery asks nothing at all. A message read from the database, or replayed
//! from a stream, reads the sender as they are now, batched per response.
//!
//! The same rules as profile's: the name is the display name, else the username;
//! the avatar is hidden from someone the sender has blocked. Chat knows people from
//! the events after it started keeping them; someone it never heard of has no name
//! or avatar here.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use echostream_contracts::chat::SenderCard;
use echostream_projections::blocks::{self, block};
use echostream_projections::people::{self, person};
use echostream_service::Error;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::loaders::pairs_present;

/// `sender` as the `members` of a message see them; `None` when chat does not know
/// them.
pub async fn card(
    db: &DatabaseConnection,
    sender: Uuid,
    members: &[Uuid],
) -> Result<Option<SenderCard>, Error> {
    let Some(person) = people::named(db, &[sender]).await?.pop() else {
        return Ok(None);
    };
    let blocked = if person.avatar_key.is_some() {
        blocks::blocked_by(db, sender, members).await?
    } else {
        // No avatar to hide.
        Vec::new()
    };
    Ok(Some(SenderCard {
        name: person.name().to_string(),
        avatar_key: person.avatar_key,
        blocked,
    }))
}

/// The sender as one viewer sees them: name and avatar key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    pub name: Option<String>,
    pub avatar_key: Option<String>,
}

impl Seen {
    /// What `viewer` sees of a card.
    pub fn of_card(card: &SenderCard, viewer: Uuid) -> Seen {
        Seen {
            name: Some(card.name.clone()).filter(|n| !n.is_empty()),
            avatar_key: card
                .avatar_key
                .clone()
                .filter(|_| !card.blocked.contains(&viewer)),
        }
    }

    /// What a viewer sees of `person`, who has or has not `blocked` them.
    pub fn of_person(person: &person::Model, blocked: bool) -> Seen {
        Seen {
            name: Some(person.name().to_string()).filter(|n| !n.is_empty()),
            avatar_key: person.avatar_key.clone().filter(|_| !blocked),
        }
    }
}

/// Blocks by `(blocker, blocked)`: present when the one has blocked the other.
pub struct BlockedLoader(pub DatabaseConnection);

impl Loader<(Uuid, Uuid)> for BlockedLoader {
    type Value = ();
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        use block::{Column, Entity};
        pairs_present::<Entity>(&self.0, keys, Column::Blocker, Column::Blocked, |b| {
            (b.blocker, b.blocked)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_member_sees_the_name_but_no_avatar() {
        let blocked = Uuid::now_v7();
        let card = SenderCard {
            name: "Ann".into(),
            avatar_key: Some("avatars/ann".into()),
            blocked: vec![blocked],
        };
        assert_eq!(
            Seen::of_card(&card, blocked),
            Seen {
                name: Some("Ann".into()),
                avatar_key: None
            }
        );
        assert_eq!(
            Seen::of_card(&card, Uuid::now_v7()).avatar_key.as_deref(),
            Some("avatars/ann")
        );
    }

    #[test]
    fn a_person_without_a_display_name_is_called_by_username() {
        let person = person::Model {
            user_id: Uuid::now_v7(),
            username: "ann".into(),
            display_name: " ".into(),
            avatar_key: None,
        };
        assert_eq!(Seen::of_person(&person, false).name.as_deref(), Some("ann"));
    }
}
