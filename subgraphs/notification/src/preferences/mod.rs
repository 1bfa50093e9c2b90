//! Notification preferences: which kinds go to which channel (in app, email, push),
//! do-not-disturb, daily quiet hours in the user's time zone, and whether mentions
//! break through a mute (`rules.rs` decides; this module stores and reads), and the
//! conversations users muted, followed from chat's events (`mutes.rs`).

pub mod mutes;
pub mod rules;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use echostream_contracts::notification::NotificationKind;
use echostream_service::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entities::preference;
pub use rules::{Channel, Channels, Preferences, QuietHours};

/// The longest do-not-disturb may be set for.
pub const MAX_DND_DAYS: i64 = 366;

impl Preferences {
    fn of(row: preference::Model) -> Preferences {
        let channels: BTreeMap<NotificationKind, Channels> =
            serde_json::from_value(row.channels).unwrap_or_default();
        let quiet_hours = match (row.quiet_from, row.quiet_to, row.time_zone) {
            (Some(from), Some(to), Some(zone)) => Some(QuietHours {
                from: rules::time_of_day(from).unwrap_or(NaiveTime::MIN),
                to: rules::time_of_day(to).unwrap_or(NaiveTime::MIN),
                zone: zone.parse().unwrap_or(Tz::UTC),
            }),
            _ => None,
        };
        Preferences {
            channels,
            dnd_until: row.dnd_until,
            quiet_hours,
            mentions_break_mute: row.mentions_break_mute,
        }
    }

    fn row(&self, user: Uuid, now: DateTime<Utc>) -> preference::ActiveModel {
        let quiet = self.quiet_hours.as_ref();
        preference::ActiveModel {
            user_id: Set(user),
            channels: Set(serde_json::to_value(&self.channels).unwrap_or_default()),
            dnd_until: Set(self.dnd_until),
            quiet_from: Set(quiet.map(|q| rules::minutes(q.from))),
            quiet_to: Set(quiet.map(|q| rules::minutes(q.to))),
            time_zone: Set(quiet.map(|q| q.zone.name().to_string())),
            mentions_break_mute: Set(self.mentions_break_mute),
            updated_at: Set(now),
        }
    }
}

/// `user`'s preferences (the defaults when they changed none).
pub async fn of(db: &impl ConnectionTrait, user: Uuid) -> Result<Preferences, Error> {
    Ok(preference::Entity::find_by_id(user)
        .one(db)
        .await?
        .map(Preferences::of)
        .unwrap_or_default())
}

/// The preferences of each of `users` who changed any (the rest keep the defaults):
/// one query for a message's every recipient.
pub async fn of_many(
    db: &impl ConnectionTrait,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Preferences>, Error> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(preference::Entity::find()
        .filter(preference::Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.user_id, Preferences::of(row)))
        .collect())
}

/// One change a user makes to their preferences.
pub enum Change {
    /// Turns one channel of one kind on or off.
    Channel {
        kind: NotificationKind,
        channel: Channel,
        on: bool,
    },
    /// Do not disturb until then (`None` ends it).
    DoNotDisturb(Option<DateTime<Utc>>),
    /// Daily quiet hours (`None` clears them).
    QuietHours(Option<QuietHours>),
    /// Whether mentions break through a mute.
    MentionsBreakMute(bool),
    /// No kind by email (an unsubscribe link).
    NoEmail,
}

/// Applies `change` to `user`'s preferences at `now`; returns them as they are
/// now. `BAD_USER_INPUT` for do-not-disturb not in the future or more than
/// [`MAX_DND_DAYS`] ahead, and for empty quiet hours.
pub async fn change(
    db: &impl ConnectionTrait,
    user: Uuid,
    change: Change,
    now: DateTime<Utc>,
) -> Result<Preferences, Error> {
    let mut prefs = of(db, user).await?;
    match change {
        Change::Channel { kind, channel, on } => {
            let channels = prefs.channels(kind).with(channel, on);
            if channels == rules::defaults(kind) {
                prefs.channels.remove(&kind);
            } else {
                prefs.channels.insert(kind, channels);
            }
        }
        Change::DoNotDisturb(until) => {
            if let Some(until) = until {
                if until <= now {
                    return Err(Error::bad_input("until must be in the future"));
                }
                if until - now > TimeDelta::days(MAX_DND_DAYS) {
                    return Err(Error::bad_input(format!(
                        "until may be at most {MAX_DND_DAYS} days ahead"
                    )));
                }
            }
            prefs.dnd_until = until;
        }
        Change::QuietHours(hours) => {
            if hours.as_ref().is_some_and(|q| q.from == q.to) {
                return Err(Error::bad_input(
                    "quiet hours must not start and end at once",
                ));
            }
            prefs.quiet_hours = hours;
        }
        Change::MentionsBreakMute(on) => prefs.mentions_break_mute = on,
        Change::NoEmail => {
            for kind in NotificationKind::ALL {
                let channels = prefs.channels(kind).with(Channel::Email, false);
                prefs.channels.insert(kind, channels);
            }
            prefs
                .channels
                .retain(|kind, c| *c != rules::defaults(*kind));
        }
    }
    preference::Entity::insert(prefs.row(user, now))
        .on_conflict(
            OnConflict::column(preference::Column::UserId)
                .update_columns([
                    preference::Column::Channels,
                    preference::Column::DndUntil,
                    preference::Column::QuietFrom,
                    preference::Column::QuietTo,
                    preference::Column::TimeZone,
                    preference::Column::MentionsBreakMute,
                    preference::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(prefs)
}

/// Reads `"HH:MM"` (00:00 to 23:59); `BAD_USER_INPUT` naming `name` otherwise.
pub fn parse_time(value: &str, name: &str) -> Result<NaiveTime, Error> {
    NaiveTime::parse_from_str(value, "%H:%M")
        .map_err(|_| Error::bad_input(format!("{name} must be a time of day as HH:MM")))
}

/// Reads an IANA time zone name; `BAD_USER_INPUT` naming `name` otherwise.
pub fn parse_zone(value: &str, name: &str) -> Result<Tz, Error> {
    value
        .parse()
        .map_err(|_| Error::bad_input(format!("{name} must be an IANA time zone name")))
}

/// Forgets a deleted account's preferences.
pub async fn forget(db: &impl ConnectionTrait, user: Uuid) -> Result<(), Error> {
    preference::Entity::delete_by_id(user).exec(db).await?;
    mutes::forget(db, user).await
}

/// Where each of `items` goes by its recipient's preferences and mute at `now`;
/// items that go nowhere are dropped. Two queries whatever the number of
/// recipients (their preferences, and their mutes of the conversation).
pub async fn reach(
    db: &impl ConnectionTrait,
    mut items: Vec<crate::feed::items::Item>,
    now: DateTime<Utc>,
) -> Result<Vec<crate::feed::items::Item>, Error> {
    let users: Vec<Uuid> = items.iter().map(|i| i.user).collect();
    let prefs = of_many(db, &users).await?;
    let conversation = items.iter().find_map(|i| i.conversation_id);
    let muted = match conversation {
        Some(conversation) => mutes::of(db, conversation, &users).await?,
        None => HashMap::new(),
    };
    let default = Preferences::default();
    for item in &mut items {
        let prefs = prefs.get(&item.user).unwrap_or(&default);
        let mute = muted
            .get(&item.user)
            .copied()
            .unwrap_or(echostream_contracts::chat::Mute::Off);
        item.reach = prefs.reach(item.kind, mute, now);
    }
    items.retain(|i| i.reach.any());
    Ok(items)
}
