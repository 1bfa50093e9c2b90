//! Privacy settings and the rules that read them.
//!
//! Profile owns the settings (`updatePrivacySettings`) and announces every change
//! with `profile.privacy_changed`, which carries them whole; chat and presence keep
//! this same table as their projection, so each decides without calling profile. A
//! user without a row has the defaults ([`PrivacySettings::default`]).

use std::collections::HashMap;

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, Set};

use echostream_config::DirectMessagePolicy;
use echostream_contracts::profile::{PrivacyChanged, PrivacySettings};
use echostream_ports::Error;
use echostream_ports::events::Delivery;
use echostream_ports::events::consumer::{Work, apply_once};

/// The `privacy_settings` table.
pub mod setting {
    use echostream_contracts::profile::Audience;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "privacy_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub direct_messages: Audience,
        pub presence: Audience,
        pub read_receipts: bool,
        pub group_adds: Audience,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

impl From<setting::Model> for PrivacySettings {
    fn from(row: setting::Model) -> Self {
        PrivacySettings {
            direct_messages: row.direct_messages,
            presence: row.presence,
            read_receipts: row.read_receipts,
            group_adds: row.group_adds,
        }
    }
}

/// One user's settings.
pub async fn of(db: &impl ConnectionTrait, user: Uuid) -> Result<PrivacySettings, Error> {
    Ok(setting::Entity::find_by_id(user)
        .one(db)
        .await?
        .map(PrivacySettings::from)
        .unwrap_or_default())
}

/// Several users' settings in one query (every one of `users` is in the map).
pub async fn of_many(
    db: &impl ConnectionTrait,
    users: &[Uuid],
) -> Result<HashMap<Uuid, PrivacySettings>, Error> {
    let mut found: HashMap<Uuid, PrivacySettings> = setting::Entity::find()
        .filter(setting::Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.user_id, row.into()))
        .collect();
    for user in users {
        found.entry(*user).or_default();
    }
    Ok(found)
}

/// Stores `user`'s settings whole, replacing what was there.
pub async fn save(
    db: &impl ConnectionTrait,
    user: Uuid,
    settings: PrivacySettings,
) -> Result<(), Error> {
    use setting::Column;
    setting::Entity::insert(setting::ActiveModel {
        user_id: Set(user),
        direct_messages: Set(settings.direct_messages),
        presence: Set(settings.presence),
        read_receipts: Set(settings.read_receipts),
        group_adds: Set(settings.group_adds),
    })
    .on_conflict(
        OnConflict::column(Column::UserId)
            .update_columns([
                Column::DirectMessages,
                Column::Presence,
                Column::ReadReceipts,
                Column::GroupAdds,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Whether `viewer` sees `user`'s online status and last seen: `user`'s setting must
/// admit the viewer, and — reciprocity, as in WhatsApp — the viewer's own setting
/// must admit `user`: who hides their presence from someone sees none of theirs.
/// Blocks are the caller's to check first.
pub fn sees_presence(viewer: &PrivacySettings, user: &PrivacySettings, friends: bool) -> bool {
    user.presence.admits(friends) && viewer.presence.admits(friends)
}

/// Whether a sender may message `recipient` directly: the instance's policy first
/// (friends only, unless it lets anyone), then the recipient's own setting.
pub fn may_message(
    policy: DirectMessagePolicy,
    recipient: &PrivacySettings,
    friends: bool,
) -> bool {
    match policy {
        DirectMessagePolicy::Friends => friends && recipient.direct_messages.admits(true),
        DirectMessagePolicy::Anyone => recipient.direct_messages.admits(friends),
    }
}

/// Records profile's privacy changes, once per `consumer`.
pub async fn apply_profile_event(
    db: &DatabaseConnection,
    consumer: &'static str,
    delivery: &Delivery,
) -> Result<(), Error> {
    let Some(PrivacyChanged { user_id, settings }) = delivery.event.decode()? else {
        return Ok(());
    };
    let work: Work = Box::new(move |txn| Box::pin(save(txn, user_id, settings)));
    apply_once(db, consumer, delivery.event.id, work).await
}

/// Forgets a deleted account's settings, once per `consumer`.
pub async fn apply_auth_event(
    db: &DatabaseConnection,
    consumer: &'static str,
    delivery: &Delivery,
) -> Result<(), Error> {
    let user = setting::Column::UserId;
    super::erase_deleted_user::<setting::Entity>(db, consumer, delivery, user, user).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use echostream_contracts::profile::Audience;

    fn with_presence(presence: Audience) -> PrivacySettings {
        PrivacySettings {
            presence,
            ..PrivacySettings::default()
        }
    }

    #[test]
    fn presence_is_reciprocal() {
        let everyone = with_presence(Audience::Everyone);
        let friends = with_presence(Audience::Friends);
        let nobody = with_presence(Audience::Nobody);
        assert!(sees_presence(&everyone, &everyone, false));
        assert!(
            !sees_presence(&friends, &everyone, false),
            "I hide mine from strangers: I see none of theirs"
        );
        assert!(sees_presence(&friends, &everyone, true));
        assert!(
            !sees_presence(&nobody, &everyone, true),
            "I hide mine: I see nobody's"
        );
        assert!(!sees_presence(&everyone, &nobody, true));
    }

    #[test]
    fn the_instance_policy_caps_direct_messages() {
        let open = PrivacySettings {
            direct_messages: Audience::Everyone,
            ..PrivacySettings::default()
        };
        let closed = PrivacySettings {
            direct_messages: Audience::Nobody,
            ..PrivacySettings::default()
        };
        let default = PrivacySettings::default();
        assert!(!may_message(DirectMessagePolicy::Friends, &open, false));
        assert!(may_message(DirectMessagePolicy::Friends, &open, true));
        assert!(may_message(DirectMessagePolicy::Anyone, &open, false));
        assert!(!may_message(DirectMessagePolicy::Anyone, &default, false));
        assert!(may_message(DirectMessagePolicy::Anyone, &default, true));
        assert!(!may_message(DirectMessagePolicy::Friends, &closed, true));
    }
}
