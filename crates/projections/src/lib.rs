//! Read models that several subgraphs build from other domains' events, kept in each
//! subgraph's own schema (subgraphs never call each other).

pub mod blocks;
pub mod friendships;
pub mod people;
pub mod privacy;

use sea_orm::{DatabaseConnection, EntityTrait, QueryFilter};

use echostream_contracts::auth::UserDeleted;
use echostream_ports::Error;
use echostream_ports::events::Delivery;
use echostream_ports::events::consumer::{Work, apply_once};

/// On `auth.user.deleted`, deletes every row of `E` that names the account in column
/// `one` or `other`, once per `consumer`.
pub async fn erase_deleted_user<E>(
    db: &DatabaseConnection,
    consumer: &'static str,
    delivery: &Delivery,
    one: E::Column,
    other: E::Column,
) -> Result<(), Error>
where
    E: EntityTrait,
    E::Column: Send + 'static,
{
    let Some(UserDeleted { user_id }) = delivery.event.decode()? else {
        return Ok(());
    };
    let work: Work = Box::new(move |txn| {
        Box::pin(async move {
            E::delete_many()
                .filter(friendships::involving(one, other, user_id))
                .exec(txn)
                .await?;
            Ok(())
        })
    });
    apply_once(db, consumer, delivery.event.id, work).await
}
