//! Consumers: chat's own events fanned out to members' channels, and profile's
//! friendships, blocks and privacy settings projected into chat.

use echostream_shared::Error;
use echostream_shared::contracts::chat::{ChatFrame, MessageSent, user_channel};
use echostream_shared::events::Delivery;
use echostream_shared::projections::{blocks, friendships, privacy};
use echostream_shared::pubsub::PubSub;
use echostream_shared::service::publish;
use sea_orm::DatabaseConnection;

/// Pushes a sent message to each member's channel.
///
/// Publishing twice (after a re-delivery) is harmless: clients deduplicate by
/// message id and order by `seq`.
pub async fn fan_out(pubsub: &dyn PubSub, delivery: Delivery) -> Result<(), Error> {
    let Some(message) = delivery.event.decode::<MessageSent>()? else {
        return Ok(());
    };
    let members = message.member_ids.clone();
    let frame = ChatFrame::Message { message };
    for member in members {
        publish(pubsub, &user_channel(member), &frame).await?;
    }
    Ok(())
}

/// Forgets a deleted account's friendships, blocks and privacy settings (its messages stay, from a
/// sender whose profile is gone).
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    blocks::apply_auth_event(db, "chat-blocks", &delivery).await?;
    privacy::apply_auth_event(db, "chat-privacy", &delivery).await?;
    friendships::apply_auth_event(db, "chat", delivery).await
}

/// Records friendships, blocks and privacy settings from profile's events.
pub async fn apply_profile_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    blocks::apply_profile_event(db, "chat-blocks", &delivery).await?;
    privacy::apply_profile_event(db, "chat-privacy", &delivery).await?;
    friendships::apply_profile_event(db, "chat", delivery).await
}
