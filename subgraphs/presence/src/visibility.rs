//! Who may see whose presence: oneself always; anyone else only if neither blocked
//! the other and both privacy settings admit the other (reciprocal, see
//! `echostream_shared::projections::privacy::sees_presence`). Everything is read from
//! presence's own projections of profile's events.

use std::collections::HashSet;

use echostream_shared::Error;
use echostream_shared::projections::friendships::friendship;
use echostream_shared::projections::{blocks, friendships, privacy};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The ones of `users` whose presence `viewer` may see, in three queries however
/// many users are asked about.
pub async fn visible(
    db: &DatabaseConnection,
    viewer: Uuid,
    users: &[Uuid],
) -> Result<HashSet<Uuid>, Error> {
    rules(db, viewer, users, false).await
}

/// Like [`visible`] for users known to be `viewer`'s friends (one query fewer).
pub async fn visible_friends(
    db: &DatabaseConnection,
    viewer: Uuid,
    friends: &[Uuid],
) -> Result<HashSet<Uuid>, Error> {
    rules(db, viewer, friends, true).await
}

async fn rules(
    db: &DatabaseConnection,
    viewer: Uuid,
    users: &[Uuid],
    all_friends: bool,
) -> Result<HashSet<Uuid>, Error> {
    let others: Vec<Uuid> = users.iter().copied().filter(|u| *u != viewer).collect();
    let mut seen: HashSet<Uuid> = users.iter().copied().filter(|u| *u == viewer).collect();
    if others.is_empty() {
        return Ok(seen);
    }
    let friends: HashSet<Uuid> = if all_friends {
        others.iter().copied().collect()
    } else {
        friendships::friends_among(db, viewer, &others).await?
    };
    let blocked = blocks::blocked_among(db, viewer, &others).await?;
    let mut everyone = others.clone();
    everyone.push(viewer);
    let settings = privacy::of_many(db, &everyone).await?;
    let mine = settings[&viewer];
    seen.extend(others.into_iter().filter(|user| {
        !blocked.contains(user)
            && privacy::sees_presence(&mine, &settings[user], friends.contains(user))
    }));
    Ok(seen)
}

/// `viewer`'s friends, by presence's projection.
pub async fn friends_of(db: &DatabaseConnection, viewer: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(friendship::Entity::find()
        .filter(friendship::Column::UserId.eq(viewer))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.friend_id)
        .collect())
}
