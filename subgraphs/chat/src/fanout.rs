//! Consumers: chat's own events fanned out to members' channels, and profile's
//! friendships projected into chat.

use echostream_shared::Error;
use echostream_shared::events::Delivery;
use echostream_shared::projections::friendships;
use echostream_shared::pubsub::PubSub;
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

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

/// Forgets a deleted account's friendships (its messages stay, from a sender whose
/// profile is gone).
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    friendships::apply_auth_event(db, "chat", delivery).await
}

/// Records friendships from profile's events.
pub async fn apply_profile_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    friendships::apply_profile_event(db, "chat", delivery).await
}
