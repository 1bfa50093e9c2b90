//! Replayable streams (after Centrifugo's history streams): each stream keeps its
//! newest entries, numbered 1, 2, 3… by `offset` within an `epoch`, and publishes each
//! entry live on the channel of the same name as `"{epoch}:{offset} {data}"`.
//!
//! A reader who knows the last (epoch, offset) it saw reads what it missed with
//! [`PubSub::history`](super::PubSub::history) and follows live frames after it. The
//! epoch changes whenever a stream is lost (expired, or the broker restarted
//! empty), so a reader can always tell a gap it cannot fill from one it can.
//! Ephemeral frames (typing) are published as `"- {data}"`: live only, never kept.
//!
//! An entry may *supersede* the stream's earlier entry of the same key (say, "this
//! message changed", whose reader reads the message's current state): the earlier
//! one leaves the window when the later one is appended. Live readers hear both; a
//! reader resuming from before the first reads only the later one, which tells it
//! everything the earlier one did. So a message changed a hundred times holds one
//! place in each window, not a hundred. Offsets of superseded entries are holes a
//! reader skips; only entries trimmed by the window (below the stream's `floor`)
//! are a gap it cannot fill.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a stream keeps what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Entries kept (at least this many, the newest).
    pub window: u64,
    /// A stream with no new entry for this long is dropped (its epoch with it).
    pub ttl: Duration,
}

impl Retention {
    /// How users' chat streams keep their events (`chat.stream_window`,
    /// `chat.stream_ttl_secs`).
    pub fn of_chat(chat: &echostream_config::ChatConfig) -> Retention {
        Retention {
            window: chat.stream_window,
            ttl: Duration::from_secs(chat.stream_ttl_secs),
        }
    }

    /// How users' live notification feeds keep their changes
    /// (`notifications.stream_window`, `notifications.stream_ttl_secs`).
    pub fn of_notifications(n: &echostream_config::NotificationsConfig) -> Retention {
        Retention {
            window: n.stream_window,
            ttl: Duration::from_secs(n.stream_ttl_secs),
        }
    }
}

/// How long an `append` is remembered so that a repeat of it is a no-op.
pub const DEDUPE_TTL: Duration = Duration::from_secs(600);

/// One kept entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub offset: u64,
    pub data: String,
}

/// What a stream holds after some offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub epoch: String,
    /// The newest offset (0 when nothing was ever appended in this epoch).
    pub top: u64,
    /// Entries after the offset asked for, oldest first.
    pub entries: Vec<Entry>,
    /// Whether `entries` start right after the offset asked for: false when the
    /// ones between were trimmed away (or the offset is beyond `top`).
    pub complete: bool,
}

impl History {
    /// Builds a history read after `after`, judging whether it is complete: whether
    /// nothing after `after` was trimmed by the window, the newest offset trimmed
    /// being `floor` (unknown for a stream written before floors were kept: then
    /// complete when the first entry follows `after` directly).
    pub fn read(
        epoch: String,
        top: u64,
        after: u64,
        entries: Vec<Entry>,
        floor: Option<u64>,
    ) -> History {
        let complete = if after > top {
            false
        } else if after == top {
            true
        } else {
            match floor {
                Some(floor) => after >= floor,
                None => entries.first().is_some_and(|e| e.offset == after + 1),
            }
        };
        History {
            epoch,
            top,
            entries,
            complete,
        }
    }
}

/// A frame heard live on a stream's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live<'a> {
    /// A kept entry.
    Entry {
        epoch: &'a str,
        offset: u64,
        data: &'a str,
    },
    /// An ephemeral frame, never kept.
    Ephemeral(&'a str),
}

/// The live frame of an entry.
pub fn entry_frame(epoch: &str, offset: u64, data: &str) -> String {
    format!("{epoch}:{offset} {data}")
}

/// The live frame of an ephemeral message.
pub fn ephemeral_frame(data: &str) -> String {
    format!("- {data}")
}

/// Reads a live frame; `None` for anything else.
pub fn parse(frame: &str) -> Option<Live<'_>> {
    let (head, data) = frame.split_once(' ')?;
    if head == "-" {
        return Some(Live::Ephemeral(data));
    }
    let (epoch, offset) = head.split_once(':')?;
    Some(Live::Entry {
        epoch,
        offset: offset.parse().ok()?,
        data,
    })
}

/// A fresh epoch: random, so a stream made again never reuses an old one.
pub fn new_epoch() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// The embedded profile's streams, in memory, with the same semantics as Redis's.
#[derive(Default)]
pub struct MemoryStreams {
    streams: HashMap<String, Kept>,
    dedupe: HashMap<String, Instant>,
}

struct Kept {
    epoch: String,
    top: u64,
    /// The newest offset trimmed by the window (0: none yet).
    floor: u64,
    entries: VecDeque<(Entry, Option<String>)>,
    /// The offset of the newest entry of each supersede key still in the window.
    latest: HashMap<String, u64>,
    expires: Instant,
}

impl Kept {
    fn new(expires: Instant) -> Kept {
        Kept {
            epoch: new_epoch(),
            top: 0,
            floor: 0,
            entries: VecDeque::new(),
            latest: HashMap::new(),
            expires,
        }
    }

    /// Removes the entry at `offset`, when it is still kept.
    fn remove(&mut self, offset: u64) {
        if let Ok(i) = self
            .entries
            .binary_search_by_key(&offset, |(e, _)| e.offset)
        {
            self.entries.remove(i);
        }
    }
}

impl MemoryStreams {
    fn stream(&mut self, name: &str, now: Instant, keep: Retention) -> &mut Kept {
        let kept = self
            .streams
            .entry(name.to_string())
            .or_insert_with(|| Kept::new(now + keep.ttl));
        if kept.expires <= now {
            *kept = Kept::new(now + keep.ttl);
        }
        kept
    }

    /// Appends `data` to each stream, unless `dedupe` was seen lately, removing the
    /// entry it `supersedes` (the stream's earlier one of that key); returns the
    /// live frames to publish, per stream, in order.
    pub fn append(
        &mut self,
        streams: &[String],
        dedupe: &str,
        data: &str,
        supersedes: Option<&str>,
        keep: Retention,
    ) -> Vec<(String, String)> {
        let now = Instant::now();
        if self.dedupe.len() > 100_000 {
            self.dedupe.retain(|_, until| *until > now);
        }
        if self.dedupe.get(dedupe).is_some_and(|until| *until > now) {
            return Vec::new();
        }
        self.dedupe.insert(dedupe.to_string(), now + DEDUPE_TTL);
        let mut frames = Vec::with_capacity(streams.len());
        for name in streams {
            let kept = self.stream(name, now, keep);
            kept.top += 1;
            kept.expires = now + keep.ttl;
            if let Some(key) = supersedes
                && let Some(older) = kept.latest.insert(key.to_string(), kept.top)
            {
                kept.remove(older);
            }
            let entry = Entry {
                offset: kept.top,
                data: data.to_string(),
            };
            kept.entries
                .push_back((entry, supersedes.map(str::to_string)));
            while kept.entries.len() as u64 > keep.window {
                let Some((trimmed, key)) = kept.entries.pop_front() else {
                    break;
                };
                kept.floor = trimmed.offset;
                if let Some(key) = key
                    && kept.latest.get(&key) == Some(&trimmed.offset)
                {
                    kept.latest.remove(&key);
                }
            }
            frames.push((name.clone(), entry_frame(&kept.epoch, kept.top, data)));
        }
        if self.streams.len() > 10_000 {
            self.streams.retain(|_, k| k.expires > now);
        }
        frames
    }

    /// Up to `limit` entries after `after`; a missing stream is made.
    pub fn history(&mut self, name: &str, after: u64, limit: usize, keep: Retention) -> History {
        let kept = self.stream(name, Instant::now(), keep);
        let entries = kept
            .entries
            .iter()
            .map(|(e, _)| e)
            .filter(|e| e.offset > after)
            .take(limit)
            .cloned()
            .collect();
        History::read(
            kept.epoch.clone(),
            kept.top,
            after,
            entries,
            Some(kept.floor),
        )
    }

    /// Starts each stream anew (a new epoch, nothing kept); returns the live frame
    /// announcing it, per stream.
    pub fn restart(&mut self, streams: &[String], keep: Retention) -> Vec<(String, String)> {
        let now = Instant::now();
        streams
            .iter()
            .map(|name| {
                let kept = Kept::new(now + keep.ttl);
                let frame = entry_frame(&kept.epoch, 0, "");
                self.streams.insert(name.clone(), kept);
                (name.clone(), frame)
            })
            .collect()
    }

    /// Forgets everything, as a broker restarted empty would (for tests).
    pub fn lose_everything(&mut self) {
        self.streams.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Retention = Retention {
        window: 3,
        ttl: Duration::from_secs(60),
    };

    #[test]
    fn frames_round_trip() {
        let frame = entry_frame("e1", 7, "{\"a\":1} x");
        assert_eq!(
            parse(&frame),
            Some(Live::Entry {
                epoch: "e1",
                offset: 7,
                data: "{\"a\":1} x"
            })
        );
        assert_eq!(
            parse(&ephemeral_frame("hi there")),
            Some(Live::Ephemeral("hi there"))
        );
        assert_eq!(parse("nonsense"), None);
    }

    #[test]
    fn history_says_when_it_cannot_fill_a_gap() {
        let mut s = MemoryStreams::default();
        let names = vec!["u".to_string()];
        for i in 0..5 {
            s.append(&names, &format!("ev{i}"), &format!("d{i}"), None, KEEP);
        }
        // A repeated append is a no-op.
        assert!(s.append(&names, "ev4", "d4", None, KEEP).is_empty());
        let all = s.history("u", 2, 10, KEEP);
        assert!(all.complete);
        assert_eq!(all.top, 5);
        assert_eq!(
            all.entries.iter().map(|e| e.offset).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        // Offsets 1 and 2 were trimmed (window 3): reading after 1 has a hole.
        assert!(!s.history("u", 1, 10, KEEP).complete);
        assert!(s.history("u", 5, 10, KEEP).complete, "caught up");
        assert!(!s.history("u", 9, 10, KEEP).complete, "from the future");
        let epoch = all.epoch;
        s.lose_everything();
        let fresh = s.history("u", 5, 10, KEEP);
        assert_ne!(
            fresh.epoch, epoch,
            "a lost stream comes back with a new epoch"
        );
        assert_eq!(fresh.top, 0);
    }

    #[test]
    fn a_superseding_entry_takes_its_predecessors_place_without_a_gap() {
        let mut s = MemoryStreams::default();
        let names = vec!["u".to_string()];
        s.append(&names, "a", "added m1", None, KEEP);
        for i in 0..5 {
            s.append(
                &names,
                &format!("c{i}"),
                &format!("m1 changed {i}"),
                Some("m1"),
                KEEP,
            );
        }
        // Window 3: five changes of one message hold one place.
        let all = s.history("u", 0, 10, KEEP);
        assert!(
            all.complete,
            "nothing was trimmed: superseded offsets are no gap"
        );
        assert_eq!(all.top, 6);
        let kept: Vec<(u64, &str)> = all
            .entries
            .iter()
            .map(|e| (e.offset, e.data.as_str()))
            .collect();
        assert_eq!(kept, [(1, "added m1"), (6, "m1 changed 4")]);
        // A reader that saw the second change resumes to the last one.
        let resumed = s.history("u", 3, 10, KEEP);
        assert!(resumed.complete);
        assert_eq!(
            resumed.entries.iter().map(|e| e.offset).collect::<Vec<_>>(),
            [6]
        );
        // Three more entries trim offsets 1 and 6: a reader at 0 has a real gap now.
        for i in 0..3 {
            s.append(&names, &format!("n{i}"), "other", None, KEEP);
        }
        assert!(!s.history("u", 0, 10, KEEP).complete);
        assert!(s.history("u", 6, 10, KEEP).complete);
        // The trimmed entry's key is forgotten: a new change of m1 removes nothing.
        s.append(&names, "c5", "m1 changed 5", Some("m1"), KEEP);
        let offsets: Vec<u64> = s
            .history("u", 6, 10, KEEP)
            .entries
            .iter()
            .map(|e| e.offset)
            .collect();
        assert_eq!(offsets, [8, 9, 10]);
    }

    #[test]
    fn a_restarted_stream_has_a_new_epoch_and_announces_it_live() {
        let mut s = MemoryStreams::default();
        let names = vec!["u".to_string()];
        for i in 0..3 {
            s.append(&names, &format!("ev{i}"), &format!("d{i}"), None, KEEP);
        }
        let before = s.history("u", 0, 10, KEEP);
        let frames = s.restart(&names, KEEP);
        let after = s.history("u", 3, 10, KEEP);
        assert_ne!(after.epoch, before.epoch);
        assert_eq!(after.top, 0);
        assert!(after.entries.is_empty());
        let [(channel, frame)] = frames.as_slice() else {
            panic!("one frame per stream: {frames:?}");
        };
        assert_eq!(channel, "u");
        assert_eq!(
            parse(frame),
            Some(Live::Entry {
                epoch: &after.epoch,
                offset: 0,
                data: ""
            }),
            "live readers hear the new epoch"
        );
    }
}
