//! Preferences as clients see them: `notificationPreferences`, and the mutations
//! that change one thing each (see `preferences/`).

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use echostream_service::resolver::RequestExt;

use super::{NotificationKind, app};
use crate::preferences::{self, Change, Preferences, QuietHours};

/// A way notifications reach people.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::preferences::Channel")]
pub enum NotificationChannel {
    /// The feed (`notifications`, `notificationEvents`), and the unread count.
    InApp,
    /// The email digest sent to people who are away.
    Email,
    /// Web Push to the user's registered devices.
    Push,
}

/// Where notifications of one kind go.
#[derive(SimpleObject)]
pub struct KindChannels {
    pub kind: NotificationKind,
    pub in_app: bool,
    pub email: bool,
    pub push: bool,
}

/// Daily quiet hours, in the user's time zone.
#[derive(SimpleObject)]
#[graphql(name = "QuietHours")]
pub struct QuietHoursOut {
    /// Start, `HH:MM`.
    pub from: String,
    /// End, `HH:MM` (earlier than `from`: across midnight).
    pub to: String,
    /// An IANA time zone name.
    pub time_zone: String,
}

/// Daily quiet hours to set.
#[derive(InputObject)]
pub struct QuietHoursInput {
    /// Start, `HH:MM` (24-hour).
    pub from: String,
    /// End, `HH:MM`; earlier than `from` for hours across midnight (22:00 to 07:00).
    pub to: String,
    /// An IANA time zone name (`Europe/Paris`, `America/New_York`).
    pub time_zone: String,
}

/// The viewer's notification preferences (see the GraphQL description).
pub struct NotificationPreferences {
    prefs: Preferences,
    now: DateTime<Utc>,
}

/// Who hears of what, on which channel, and when. Defaults: every kind shows in
/// the feed; messages, mentions, replies, friend requests and being added to a group
/// also go by email (in a digest when away) and push; an accepted friend request by
/// push; reactions, removals and role changes only to the feed. Do-not-disturb and
/// quiet hours hold email and push back (the feed fills as ever).
#[Object]
impl NotificationPreferences {
    /// Every kind, with where it goes.
    async fn kinds(&self) -> Vec<KindChannels> {
        echostream_contracts::notification::NotificationKind::ALL
            .iter()
            .map(|kind| {
                let c = self.prefs.channels(*kind);
                KindChannels {
                    kind: (*kind).into(),
                    in_app: c.in_app,
                    email: c.email,
                    push: c.push,
                }
            })
            .collect()
    }

    /// Do not disturb until then (null: off).
    async fn do_not_disturb_until(&self) -> Option<DateTime<Utc>> {
        self.prefs.dnd_until.filter(|until| *until > self.now)
    }

    /// Daily quiet hours (null: none).
    async fn quiet_hours(&self) -> Option<QuietHoursOut> {
        self.prefs.quiet_hours.as_ref().map(|q| QuietHoursOut {
            from: q.from.format("%H:%M").to_string(),
            to: q.to.format("%H:%M").to_string(),
            time_zone: q.zone.name().to_string(),
        })
    }

    /// Whether a mention reaches the user from a conversation they muted.
    async fn mentions_break_mute(&self) -> bool {
        self.prefs.mentions_break_mute
    }

    /// Whether email and push are held back now (do not disturb, or quiet hours).
    async fn quiet_now(&self) -> bool {
        self.prefs.quiet(self.now)
    }
}

/// Reads of preferences.
#[derive(Default)]
pub struct PreferencesQuery;

#[Object]
impl PreferencesQuery {
    /// The viewer's notification preferences.
    async fn notification_preferences(&self, ctx: &Context<'_>) -> Result<NotificationPreferences> {
        let me = ctx.viewer()?.user_id;
        let app = app(ctx)?;
        Ok(NotificationPreferences {
            prefs: preferences::of(&app.db, me).await?,
            now: app.ports.clock.now(),
        })
    }
}

/// Changes of preferences: one thing each; each returns them as they are now.
#[derive(Default)]
pub struct PreferencesMutation;

#[Object]
impl PreferencesMutation {
    /// Turns one channel of one kind on or off.
    async fn set_notification_channel(
        &self,
        ctx: &Context<'_>,
        kind: NotificationKind,
        channel: NotificationChannel,
        enabled: bool,
    ) -> Result<NotificationPreferences> {
        let change = Change::Channel {
            kind: kind.into(),
            channel: channel.into(),
            on: enabled,
        };
        apply(ctx, change).await
    }

    /// Do not disturb until `until` (at most 366 days ahead); null ends it.
    async fn set_do_not_disturb(
        &self,
        ctx: &Context<'_>,
        until: Option<DateTime<Utc>>,
    ) -> Result<NotificationPreferences> {
        apply(ctx, Change::DoNotDisturb(until)).await
    }

    /// Sets daily quiet hours; null clears them.
    async fn set_quiet_hours(
        &self,
        ctx: &Context<'_>,
        hours: Option<QuietHoursInput>,
    ) -> Result<NotificationPreferences> {
        let hours = match hours {
            Some(h) => Some(QuietHours {
                from: preferences::parse_time(&h.from, "from")?,
                to: preferences::parse_time(&h.to, "to")?,
                zone: preferences::parse_zone(&h.time_zone, "timeZone")?,
            }),
            None => None,
        };
        apply(ctx, Change::QuietHours(hours)).await
    }

    /// Whether a mention reaches the viewer from a conversation they muted
    /// (default: it does).
    async fn set_mentions_break_mute(
        &self,
        ctx: &Context<'_>,
        enabled: bool,
    ) -> Result<NotificationPreferences> {
        apply(ctx, Change::MentionsBreakMute(enabled)).await
    }
}

async fn apply(ctx: &Context<'_>, change: Change) -> Result<NotificationPreferences> {
    let me = ctx.viewer()?.user_id;
    let app = app(ctx)?;
    let now = app.ports.clock.now();
    let prefs = preferences::change(&app.db, me, change, now).await?;
    Ok(NotificationPreferences { prefs, now })
}

// The defaults the description above tells must be the rules' own.
#[cfg(test)]
mod tests {
    use crate::preferences::rules;
    use echostream_contracts::notification::NotificationKind as Kind;

    #[test]
    fn the_documented_defaults_are_the_rules() {
        let email: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| rules::defaults(*k).email)
            .collect();
        assert_eq!(
            email,
            [
                Kind::Message,
                Kind::Mention,
                Kind::Reply,
                Kind::FriendRequest,
                Kind::AddedToGroup
            ]
        );
        let push_only: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| rules::defaults(*k).push && !rules::defaults(*k).email)
            .collect();
        assert_eq!(push_only, [Kind::FriendRequestAccepted]);
    }
}
