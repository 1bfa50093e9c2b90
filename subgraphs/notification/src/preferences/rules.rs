//! Who hears of what, on which channel, and when: pure functions of a user's
//! preferences, their mute of the conversation, and the time, so the whole matrix
//! reads (and is tested) apart from storage.
//!
//! - **Channels per kind**: each kind goes to the feed (in app), by email (in a
//!   digest) and by push as the user chose, else as [`defaults`] say.
//! - **Mute** (a conversation's, chat's member state): nothing of its messages,
//!   replies or reactions reaches the user on any channel; a mention does, unless
//!   the user turned `mentionsBreakMute` off. Group changes about the user (added,
//!   removed, role) still do: they are about them, not the conversation's chatter.
//! - **Do not disturb** and **quiet hours** hold alerts back (no push; a digest
//!   waits until they end); the feed fills as ever.

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use echostream_contracts::chat::Mute;
use echostream_contracts::notification::NotificationKind;
use serde::{Deserialize, Serialize};

/// Where a notification of one kind goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channels {
    pub in_app: bool,
    pub email: bool,
    pub push: bool,
}

impl Channels {
    /// Nowhere.
    pub const NONE: Channels = Channels {
        in_app: false,
        email: false,
        push: false,
    };

    /// Whether it goes anywhere.
    pub fn any(&self) -> bool {
        self.in_app || self.email || self.push
    }
}

/// One of the channels a notification may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    InApp,
    Email,
    Push,
}

impl Channels {
    /// These channels with `channel` on or off.
    pub fn with(mut self, channel: Channel, on: bool) -> Channels {
        match channel {
            Channel::InApp => self.in_app = on,
            Channel::Email => self.email = on,
            Channel::Push => self.push = on,
        }
        self
    }
}

/// Where each kind goes for a user who changed nothing: everything to the feed;
/// what someone wrote or asked of the user by email and push too; reactions and
/// group housekeeping only to the feed; an accepted request by push, not email.
pub fn defaults(kind: NotificationKind) -> Channels {
    use NotificationKind::*;
    let (email, push) = match kind {
        Message | Mention | Reply | FriendRequest | AddedToGroup => (true, true),
        FriendRequestAccepted => (false, true),
        Reaction | RemovedFromGroup | RoleChanged => (false, false),
    };
    Channels {
        in_app: true,
        email,
        push,
    }
}

/// Daily quiet hours: from `from` up to `to` (across midnight when `to` is
/// earlier), in time zone `zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietHours {
    pub from: NaiveTime,
    pub to: NaiveTime,
    pub zone: Tz,
}

impl QuietHours {
    /// Whether `at` falls in them.
    pub fn hold(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.zone).time();
        if self.from <= self.to {
            self.from <= local && local < self.to
        } else {
            local >= self.from || local < self.to
        }
    }

    /// When the quiet hours holding at `at` end.
    pub fn end_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.zone);
        let mut day = local.date_naive();
        if local.time() >= self.to {
            day = day.succ_opt().unwrap_or(day);
        }
        let end = day.and_time(self.to);
        // A time skipped by a clock change ends the quiet hours at the first
        // instant after it.
        self.zone
            .from_local_datetime(&end)
            .earliest()
            .or_else(|| {
                self.zone
                    .from_local_datetime(&(end + TimeDelta::hours(1)))
                    .earliest()
            })
            .map_or(at + TimeDelta::hours(1), |t| t.with_timezone(&Utc))
    }
}

/// Minutes after midnight as a time of day.
pub fn time_of_day(minutes: i32) -> Option<NaiveTime> {
    let minutes = u32::try_from(minutes).ok().filter(|m| *m < 24 * 60)?;
    NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)
}

/// A time of day as minutes after midnight.
pub fn minutes(time: NaiveTime) -> i32 {
    (time.hour() * 60 + time.minute()) as i32
}

/// Everything that decides one user's notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct Preferences {
    /// The kinds whose channels differ from [`defaults`].
    pub channels: std::collections::BTreeMap<NotificationKind, Channels>,
    pub dnd_until: Option<DateTime<Utc>>,
    pub quiet_hours: Option<QuietHours>,
    pub mentions_break_mute: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            channels: Default::default(),
            dnd_until: None,
            quiet_hours: None,
            mentions_break_mute: true,
        }
    }
}

impl Preferences {
    /// Where `kind` goes by the user's choice.
    pub fn channels(&self, kind: NotificationKind) -> Channels {
        self.channels
            .get(&kind)
            .copied()
            .unwrap_or_else(|| defaults(kind))
    }

    /// Where a notification of `kind` about a conversation the user muted as `mute`
    /// goes at `now`.
    pub fn reach(&self, kind: NotificationKind, mute: Mute, now: DateTime<Utc>) -> Channels {
        use NotificationKind::*;
        let chosen = self.channels(kind);
        if !mute.holds(now) {
            return chosen;
        }
        match kind {
            Mention if self.mentions_break_mute => chosen,
            Message | Mention | Reply | Reaction => Channels::NONE,
            FriendRequest
            | FriendRequestAccepted
            | AddedToGroup
            | RemovedFromGroup
            | RoleChanged => chosen,
        }
    }

    /// Whether alerts wait at `now` (do not disturb, or quiet hours).
    pub fn quiet(&self, now: DateTime<Utc>) -> bool {
        self.dnd_until.is_some_and(|until| until > now)
            || self.quiet_hours.as_ref().is_some_and(|q| q.hold(now))
    }

    /// When alerts held back at `now` may go (`now` when none are).
    pub fn loud_again(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut at = now;
        // Do-not-disturb may end inside quiet hours and quiet hours inside
        // do-not-disturb: step until neither holds (a few steps at most).
        for _ in 0..4 {
            if let Some(until) = self.dnd_until.filter(|u| *u > at) {
                at = until;
            }
            match &self.quiet_hours {
                Some(q) if q.hold(at) => at = q.end_after(at),
                _ => break,
            }
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NotificationKind::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn tokyo_nights() -> QuietHours {
        QuietHours {
            from: time_of_day(22 * 60).unwrap(),
            to: time_of_day(7 * 60).unwrap(),
            zone: "Asia/Tokyo".parse().unwrap(),
        }
    }

    #[test]
    fn the_defaults_send_what_people_wrote_everywhere_and_housekeeping_to_the_feed() {
        assert_eq!(
            defaults(Mention),
            Channels {
                in_app: true,
                email: true,
                push: true
            }
        );
        assert_eq!(
            defaults(Reaction),
            Channels {
                in_app: true,
                email: false,
                push: false
            }
        );
        assert!(NotificationKind::ALL.iter().all(|k| defaults(*k).in_app));
    }

    #[test]
    fn a_mute_silences_chatter_but_a_mention_breaks_through_by_choice() {
        let now = at("2030-01-01T12:00:00Z");
        let muted = Mute::Until {
            until: at("2030-01-01T13:00:00Z"),
        };
        let mut prefs = Preferences::default();
        for kind in [Message, Reply, Reaction] {
            assert_eq!(prefs.reach(kind, muted, now), Channels::NONE, "{kind:?}");
            assert_eq!(prefs.reach(kind, Mute::Always, now), Channels::NONE);
        }
        assert_eq!(prefs.reach(Mention, muted, now), defaults(Mention));
        assert_eq!(
            prefs.reach(AddedToGroup, muted, now),
            defaults(AddedToGroup)
        );
        prefs.mentions_break_mute = false;
        assert_eq!(prefs.reach(Mention, muted, now), Channels::NONE);
        // Once the mute's time has passed, everything is as chosen again.
        let later = at("2030-01-01T13:00:01Z");
        assert_eq!(prefs.reach(Message, muted, later), defaults(Message));
        assert_eq!(prefs.reach(Message, Mute::Off, now), defaults(Message));
    }

    #[test]
    fn a_channel_turned_off_stays_off_and_the_others_keep_their_defaults() {
        let mut prefs = Preferences::default();
        prefs
            .channels
            .insert(Message, defaults(Message).with(Channel::Push, false));
        let reach = prefs.reach(Message, Mute::Off, at("2030-01-01T12:00:00Z"));
        assert!(reach.in_app && reach.email && !reach.push);
        assert_eq!(prefs.channels(Reply), defaults(Reply));
    }

    #[test]
    fn quiet_hours_hold_at_night_in_the_users_zone_across_midnight() {
        let q = tokyo_nights();
        // 22:30 and 06:59 in Tokyo (UTC+9) are quiet; 07:00 and 21:59 are not.
        assert!(q.hold(at("2030-01-01T13:30:00Z")));
        assert!(q.hold(at("2030-01-01T21:59:00Z")));
        assert!(!q.hold(at("2030-01-01T22:00:00Z")));
        assert!(!q.hold(at("2030-01-01T12:59:00Z")));
        assert_eq!(
            q.end_after(at("2030-01-01T13:30:00Z")),
            at("2030-01-01T22:00:00Z")
        );
        assert_eq!(
            q.end_after(at("2030-01-01T16:00:00Z")),
            at("2030-01-01T22:00:00Z")
        );
        let day = QuietHours {
            from: time_of_day(9 * 60).unwrap(),
            to: time_of_day(17 * 60).unwrap(),
            zone: Tz::UTC,
        };
        assert!(day.hold(at("2030-01-01T09:00:00Z")));
        assert!(!day.hold(at("2030-01-01T17:00:00Z")));
    }

    #[test]
    fn do_not_disturb_and_quiet_hours_hold_alerts_until_both_end() {
        let now = at("2030-01-01T12:00:00Z");
        let mut prefs = Preferences::default();
        assert!(!prefs.quiet(now));
        assert_eq!(prefs.loud_again(now), now);
        // Do not disturb until 14:00 UTC (23:00 in Tokyo), then Tokyo's night.
        prefs.dnd_until = Some(at("2030-01-01T14:00:00Z"));
        assert!(prefs.quiet(now));
        assert_eq!(prefs.loud_again(now), at("2030-01-01T14:00:00Z"));
        prefs.quiet_hours = Some(tokyo_nights());
        assert_eq!(prefs.loud_again(now), at("2030-01-01T22:00:00Z"));
        assert!(!prefs.quiet(at("2030-01-01T22:00:00Z")));
    }

    #[test]
    fn times_of_day_are_minutes_after_midnight() {
        assert_eq!(time_of_day(22 * 60 + 30).map(minutes), Some(22 * 60 + 30));
        assert_eq!(time_of_day(24 * 60), None);
        assert_eq!(time_of_day(-1), None);
    }
}
