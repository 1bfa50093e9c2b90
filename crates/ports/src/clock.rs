//! The clock port: what time it is for the rules that depend on the wall clock
//! (a mute that ends, do-not-disturb, quiet hours, when a digest is due).
//!
//! Both profiles read the system clock. A process started with `clock.settable`
//! reads a clock that tests move (through the subgraphs' signed `POST /clock`), so a
//! digest due in an hour or quiet hours at 23:00 in Tokyo are tested without waiting.
//! Tokens, leases and timeouts keep the real time.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// What time it is.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock moved by an offset that can be set: for tests only.
#[derive(Default)]
pub struct SettableClock {
    offset_us: AtomicI64,
}

impl SettableClock {
    /// Makes it `at` now (and from here on it runs on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        let offset = at - Utc::now();
        self.offset_us.store(
            offset.num_microseconds().unwrap_or(i64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Moves it forward (or back) by `by`.
    pub fn advance(&self, by: TimeDelta) {
        self.offset_us
            .fetch_add(by.num_microseconds().unwrap_or(0), Ordering::SeqCst);
    }
}

impl Clock for SettableClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::microseconds(self.offset_us.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settable_clock_runs_on_from_where_it_was_set() {
        let clock = SettableClock::default();
        let at = "2030-01-01T22:30:00Z".parse::<DateTime<Utc>>().unwrap();
        clock.set(at);
        let now = clock.now();
        // Within what reading the system clock twice takes.
        let slack = TimeDelta::milliseconds(1);
        assert!(
            now >= at - slack && now - at < TimeDelta::seconds(5),
            "{now}"
        );
        clock.advance(TimeDelta::hours(2));
        assert!(clock.now() - at >= TimeDelta::hours(2) - slack);
    }
}
