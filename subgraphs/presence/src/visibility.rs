//! Who may see whose presence: oneself always; anyone else only if neither blocked
//! the other and both privacy settings admit the other (reciprocal, see
//! `echostream_projections::privacy::sees_presence`). Everything is read from
//! presence's own projections of profile's events.

use std::collections::HashSet;

use echostream_projections::friendships::friendship;
use echostream_projections::{blocks, friendships, privacy};
use echostream_service::Error;
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

#[cfg(test)]
mod tests {
    use super::*;
    use echostream_config::{Config, Profile, Subgraph};
    use echostream_contracts::profile::{Audience, PrivacySettings};
    use echostream_migrations::MigratorTrait;
    use echostream_projections::blocks::block;
    use sea_orm::{ActiveModelTrait, Set};

    /// Presence's own database (SQLite, as on one machine), migrated.
    async fn database(dir: &std::path::Path) -> DatabaseConnection {
        let config = Config {
            profile: Profile::Embedded,
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
        let db = echostream_ports::db::connect(&config, Subgraph::Presence)
            .await
            .unwrap();
        echostream_migrations::presence::Migrator::up(&db, None)
            .await
            .unwrap();
        db
    }

    async fn befriend(db: &DatabaseConnection, a: Uuid, b: Uuid) {
        for (user, friend) in [(a, b), (b, a)] {
            friendship::ActiveModel {
                user_id: Set(user),
                friend_id: Set(friend),
            }
            .insert(db)
            .await
            .unwrap();
        }
    }

    async fn presence_for(db: &DatabaseConnection, user: Uuid, audience: Audience) {
        let settings = PrivacySettings {
            presence: audience,
            ..PrivacySettings::default()
        };
        privacy::save(db, user, settings).await.unwrap();
    }

    #[tokio::test]
    async fn who_sees_whose_presence() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path()).await;
        let [me, friend, stranger, open, hidden, blocker] = [(); 6].map(|_| Uuid::now_v7());
        befriend(&db, me, friend).await;
        befriend(&db, me, hidden).await;
        befriend(&db, me, blocker).await;
        presence_for(&db, open, Audience::Everyone).await;
        presence_for(&db, hidden, Audience::Nobody).await;
        block::ActiveModel {
            blocker: Set(blocker),
            blocked: Set(me),
        }
        .insert(&db)
        .await
        .unwrap();
        let everyone = [me, friend, stranger, open, hidden, blocker];

        // Defaults (friends see each other): myself and my friend; not a stranger,
        // not a friend who hides, not one who blocked me; someone open to everyone
        // is not seen while mine admits only friends (reciprocal).
        let seen = visible(&db, me, &everyone).await.unwrap();
        assert_eq!(seen, HashSet::from([me, friend]));
        assert_eq!(
            visible_friends(&db, me, &[friend, hidden, blocker])
                .await
                .unwrap(),
            HashSet::from([friend])
        );

        // Open to everyone myself: now I see the one open to everyone too.
        presence_for(&db, me, Audience::Everyone).await;
        let seen = visible(&db, me, &everyone).await.unwrap();
        assert_eq!(seen, HashSet::from([me, friend, open]));

        // Hiding mine, I see nobody but myself: reciprocity.
        presence_for(&db, me, Audience::Nobody).await;
        let seen = visible(&db, me, &everyone).await.unwrap();
        assert_eq!(seen, HashSet::from([me]));

        // A block hides both ways: the blocker does not see me either.
        presence_for(&db, me, Audience::Friends).await;
        let seen = visible(&db, blocker, &[me, blocker]).await.unwrap();
        assert_eq!(seen, HashSet::from([blocker]));
    }
}
