//! Consumers: chat's own events fanned out to members' channels, and profile's
//! friendships projected into chat.

use echostream_shared::Error;
use echostream_shared::events::Delivery;
use echostream_shared::events::consumer::{Work, apply_once};
use echostream_shared::pubsub::PubSub;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::entities::friendship;
use crate::messages::SentMessage;

/// The pub/sub channel of everything addressed to one user.
pub fn user_channel(user: Uuid) -> String {
    format!("user:{user}")
}

/// Pushes a sent message to each member's channel.
///
/// Publishing twice (after a re-delivery) is harmless: clients deduplicate by
/// message id and order by `seq`.
pub async fn fan_out(pubsub: &dyn PubSub, delivery: Delivery) -> Result<(), Error> {
    if delivery.event.kind != "chat.message.sent" {
        return Ok(());
    }
    let message: SentMessage = delivery.event.payload_as().map_err(Error::internal)?;
    let frame = json!({ "type": "message", "message": message }).to_string();
    for member in &message.member_ids {
        pubsub.publish(&user_channel(*member), &frame).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FriendshipCreated {
    user_ids: [Uuid; 2],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserDeleted {
    user_id: Uuid,
}

/// Forgets a deleted account's friendships (its messages stay, from a sender whose
/// profile is gone).
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    if delivery.event.kind != "auth.user.deleted" {
        return Ok(());
    }
    let UserDeleted { user_id } = delivery.event.payload_as().map_err(Error::internal)?;
    let work: Work = Box::new(move |txn| {
        Box::pin(async move {
            friendship::Entity::delete_many()
                .filter(
                    Condition::any()
                        .add(friendship::Column::UserId.eq(user_id))
                        .add(friendship::Column::FriendId.eq(user_id)),
                )
                .exec(txn)
                .await?;
            Ok(())
        })
    });
    apply_once(db, "chat", delivery.event.id, work).await
}

/// Records friendships from profile's events.
pub async fn apply_profile_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    if delivery.event.kind != "profile.friendship.created" {
        return Ok(());
    }
    let payload: FriendshipCreated = delivery.event.payload_as().map_err(Error::internal)?;
    let work: Work = Box::new(move |txn| {
        Box::pin(async move {
            let [a, b] = payload.user_ids;
            for (user, friend) in [(a, b), (b, a)] {
                friendship::Entity::insert(friendship::ActiveModel {
                    user_id: Set(user),
                    friend_id: Set(friend),
                })
                .on_conflict(
                    OnConflict::columns([friendship::Column::UserId, friendship::Column::FriendId])
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec(txn)
                .await?;
            }
            Ok(())
        })
    });
    apply_once(db, "chat", delivery.event.id, work).await
}
