//! Where the machine's CPU went during a phase of a bench (Linux `/proc`): the
//! whole machine, the platform, the bench client itself, and the services beside
//! them by process name. A phase whose machine is near 100% busy is bound by CPU,
//! whatever its figures say about the code.

use std::collections::BTreeMap;
use std::time::Instant;

/// Processes told apart, by `comm` (the kernel's name of a process).
const SERVICES: [(&str, &str); 5] = [
    ("postgres", "PostgreSQL"),
    ("redis-server", "Redis"),
    ("tansu", "tansu (broker)"),
    ("weed", "SeaweedFS"),
    ("node", "Node (mail, OpenID)"),
];

/// CPU time used so far, in clock ticks.
pub struct Snapshot {
    at: Instant,
    machine_busy: u64,
    machine_all: u64,
    /// The platform's processes by the service each runs (`all` when one process
    /// runs everything).
    platform: Vec<(&'static str, u32, u64)>,
    bench: u64,
    services: BTreeMap<&'static str, u64>,
}

/// What a phase used: seconds of CPU by party, over `seconds` of wall time.
pub struct Usage {
    pub seconds: f64,
    pub machine_busy_percent: f64,
    /// The platform's processes, by service.
    pub platform: Vec<(&'static str, f64)>,
    pub bench: f64,
    /// PostgreSQL, Redis, the broker and the rest, by name.
    pub services: Vec<(&'static str, f64)>,
}

impl Snapshot {
    /// The CPU used so far by the machine, the platform's `processes` (as
    /// `Platform::processes` lists them), this bench and the services beside them.
    pub fn take(processes: &[(&'static str, u32)]) -> Snapshot {
        let (machine_busy, machine_all) = machine_ticks().unwrap_or_default();
        let mut services = BTreeMap::new();
        for (pid, comm) in all_processes() {
            if let Some((_, label)) = SERVICES.iter().find(|(name, _)| *name == comm) {
                *services.entry(*label).or_default() += process_ticks(pid).unwrap_or(0);
            }
        }
        Snapshot {
            at: Instant::now(),
            machine_busy,
            machine_all,
            platform: processes
                .iter()
                .map(|(name, pid)| (*name, *pid, process_ticks(*pid).unwrap_or(0)))
                .collect(),
            bench: process_ticks(std::process::id()).unwrap_or(0),
            services,
        }
    }

    /// What was used since `self`.
    pub fn usage(&self) -> Usage {
        let processes: Vec<(&'static str, u32)> =
            self.platform.iter().map(|(n, pid, _)| (*n, *pid)).collect();
        let now = Snapshot::take(&processes);
        // Linux reports process times in USER_HZ, 100 per second on every platform
        // this bench runs on.
        let secs = |ticks: u64| ticks as f64 / 100.0;
        let busy = now.machine_busy.saturating_sub(self.machine_busy) as f64;
        let all = now.machine_all.saturating_sub(self.machine_all).max(1) as f64;
        Usage {
            seconds: now.at.duration_since(self.at).as_secs_f64().max(1e-3),
            machine_busy_percent: 100.0 * busy / all,
            platform: self
                .platform
                .iter()
                .zip(&now.platform)
                .map(|((name, _, before), (_, _, after))| {
                    (*name, secs(after.saturating_sub(*before)))
                })
                .collect(),
            bench: secs(now.bench.saturating_sub(self.bench)),
            services: now
                .services
                .iter()
                .map(|(label, ticks)| {
                    let before = self.services.get(label).copied().unwrap_or(0);
                    (*label, secs(ticks.saturating_sub(before)))
                })
                .collect(),
        }
    }
}

impl Usage {
    /// CPU seconds of the platform's processes together.
    pub fn platform_total(&self) -> f64 {
        self.platform.iter().map(|(_, s)| s).sum()
    }

    /// CPU seconds of the platform and the services it uses (not the bench).
    pub fn serving_total(&self) -> f64 {
        self.platform_total() + self.services.iter().map(|(_, s)| s).sum::<f64>()
    }

    /// ` (gateway …, auth …, …)`: each of the platform's processes shown by `show`
    /// (of its CPU seconds), when it runs as several; else nothing.
    fn by_process(&self, show: impl Fn(f64) -> String) -> String {
        if self.platform.len() < 2 {
            return String::new();
        }
        let parts: Vec<String> = self
            .platform
            .iter()
            .map(|(name, s)| format!("{name} {}", show(*s)))
            .collect();
        format!(" ({})", parts.join(", "))
    }

    /// Cores used on average, in all and by each party.
    pub fn line(&self) -> String {
        let cores = |s: f64| s / self.seconds;
        let mut line = format!(
            "machine {:.0}% busy; cores used: platform {:.2}",
            self.machine_busy_percent,
            cores(self.platform_total())
        );
        line.push_str(&self.by_process(|s| format!("{:.2}", cores(s))));
        line.push_str(&format!(", bench client {:.2}", cores(self.bench)));
        for (label, s) in &self.services {
            if cores(*s) >= 0.005 {
                line.push_str(&format!(", {label} {:.2}", cores(*s)));
            }
        }
        line
    }

    /// CPU per unit of work (`units` messages, deliveries, requests): the platform's
    /// (and each of its processes') and everything serving's, in microseconds.
    pub fn per(&self, units: usize, unit: &str) -> String {
        let us = |s: f64| s * 1e6 / units.max(1) as f64;
        let mut line = format!(
            "CPU per {unit}: platform {:.0} µs",
            us(self.platform_total())
        );
        line.push_str(&self.by_process(|s| format!("{:.0}", us(s))));
        line.push_str(&format!(
            "; with PostgreSQL, Redis, the broker: {:.0} µs",
            us(self.serving_total())
        ));
        line
    }
}

/// (busy, all) ticks of every CPU, from `/proc/stat`.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let all: u64 = fields.iter().sum();
    // idle and iowait
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some((all - idle, all))
}

/// User and system ticks of process `pid` (its threads included).
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name in parentheses may hold spaces; fields are counted after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Every process's pid and name.
fn all_processes() -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            Some((pid, comm.trim().to_string()))
        })
        .collect()
}
