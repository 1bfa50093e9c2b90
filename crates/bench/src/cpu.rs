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
    platform: u64,
    bench: u64,
    services: BTreeMap<&'static str, u64>,
}

impl Snapshot {
    pub fn take(platform_pid: u32) -> Snapshot {
        let (machine_busy, machine_all) = machine_ticks().unwrap_or_default();
        let mut services = BTreeMap::new();
        for (pid, comm) in processes() {
            if let Some((_, label)) = SERVICES.iter().find(|(name, _)| *name == comm) {
                *services.entry(*label).or_default() += process_ticks(pid).unwrap_or(0);
            }
        }
        Snapshot {
            at: Instant::now(),
            machine_busy,
            machine_all,
            platform: process_ticks(platform_pid).unwrap_or(0),
            bench: process_ticks(std::process::id()).unwrap_or(0),
            services,
        }
    }

    /// One line: cores used on average since `self`, in all and by each party.
    pub fn report_since(&self, platform_pid: u32) -> String {
        let now = Snapshot::take(platform_pid);
        let seconds = now.at.duration_since(self.at).as_secs_f64().max(1e-3);
        // Linux reports process times in USER_HZ, 100 per second on every platform
        // this bench runs on.
        let cores = |ticks: u64| ticks as f64 / 100.0 / seconds;
        let busy = now.machine_busy.saturating_sub(self.machine_busy) as f64;
        let all = now.machine_all.saturating_sub(self.machine_all).max(1) as f64;
        let mut line = format!(
            "machine {:.0}% busy; cores used: platform {:.2}, bench client {:.2}",
            100.0 * busy / all,
            cores(now.platform.saturating_sub(self.platform)),
            cores(now.bench.saturating_sub(self.bench)),
        );
        for (label, ticks) in &now.services {
            let before = self.services.get(label).copied().unwrap_or(0);
            let used = cores(ticks.saturating_sub(before));
            if used >= 0.005 {
                line.push_str(&format!(", {label} {used:.2}"));
            }
        }
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
fn processes() -> Vec<(u32, String)> {
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
