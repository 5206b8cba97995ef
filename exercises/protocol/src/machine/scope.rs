//! Which part of the machine the contention figures cover.
//!
//! A grading often runs on part of a machine: pinned to some CPUs
//! (`taskset`, a Slurm cpuset, `docker --cpuset-cpus`) or held to a quota (a
//! Kubernetes CPU limit), beside other tenants whose work shows in the host's
//! `/proc/stat` and `/proc/pressure/cpu`. What runs on CPUs this process
//! cannot use never slows it, so:
//!
//! - others' CPU time is counted on the CPUs of this process's affinity only
//!   (`/proc/stat`'s `cpuN` lines), or on every CPU (its first line) when the
//!   affinity cannot be read;
//! - CPU pressure is this process's own cgroup's (cgroup v2 `cpu.pressure`
//!   of the cgroup it runs in: time its tasks waited for a CPU) when that
//!   cgroup is not the root one, else the machine's (`/proc/pressure/cpu`).
//!
//! [`Scope::others_cpu_seconds`] turns a stretch's counters into the CPU
//! seconds others took from the `C` cores this process can use
//! (`available_parallelism`), which the verdicts judge on `C` CPUs
//! ([`Sources::shared_cpus`]). Of a stretch of `w` seconds in which others
//! used `o` CPU seconds on the `n` CPUs counted:
//!
//! - a quota that lets this process use only `C < n` of them leaves the rest
//!   to others without slowing it (its threads move to a free CPU): others
//!   took at most `o - (n - C) w`. With `n = C` (no quota, or pinned) this
//!   is `o`; it is what makes `n / (n - o)`, the slowdown of fair sharing,
//!   `C / min(C, n - o)` under a quota;
//! - where its cgroup's own pressure says its tasks waited for a CPU `p`
//!   seconds, others took at most `p C`: neighbours that never made it wait
//!   took nothing from it. Its own threads waiting for each other raise `p`
//!   too, which is why this only ever lowers `o`, never raises it.

use super::busy_seconds_of_line;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The whole machine's CPU pressure.
pub(super) const PROC_PRESSURE_CPU: &str = "/proc/pressure/cpu";
/// No machine has more CPUs than this; a list that names more is not read.
const MAX_CPUS: usize = 1 << 16;

/// Where a run's contention figures were read, and what they cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    /// `/proc/stat`'s lines counted as others' CPU use: `cpu0`, `cpu0-1` (the
    /// online CPUs of this process's affinity), or `cpu` (its first line:
    /// every CPU, the affinity unknown). `None`: not readable.
    pub others_cpu: Option<String>,
    /// The cores others' CPU time is counted against: the `n` of a slowdown
    /// `n / (n - others' cores)`.
    pub shared_cpus: usize,
    /// The CPU pressure file read, `None` when there is none.
    pub pressure: Option<String>,
    /// `pressure` is this process's own cgroup's: others' CPU time then
    /// counts only as far as its tasks waited for a CPU.
    #[serde(default)]
    pub own_pressure: bool,
    /// The file whose throttled time says how long a CPU quota held this
    /// process back, with its key (`cpu.stat throttled_usec`).
    pub throttle: Option<String>,
}

impl Sources {
    /// One line a source, for people: (what, where from).
    pub fn lines(&self) -> [(&'static str, String); 3] {
        let others = match &self.others_cpu {
            Some(cpu) if cpu == "cpu" => {
                "/proc/stat cpu (every CPU: this process's affinity is unknown)".to_owned()
            }
            Some(cpus) => format!("/proc/stat {cpus} (the CPUs this process may run on)"),
            None => "unknown (no /proc/stat)".to_owned(),
        };
        let cores = match self.shared_cpus {
            1 => "1 core".to_owned(),
            n => format!("{n} cores"),
        };
        let others = format!("{others}, out of {cores}");
        let pressure = match (&self.pressure, self.own_pressure) {
            (Some(file), true) => format!("{file} (this process's cgroup)"),
            (Some(file), false) => format!("{file} (the whole machine)"),
            (None, _) => "unknown (no pressure accounting)".to_owned(),
        };
        let throttle = self
            .throttle
            .clone()
            .unwrap_or_else(|| "unknown (no cgroup CPU controller)".to_owned());
        [
            ("others' CPU", others),
            ("CPU pressure", pressure),
            ("throttling", throttle),
        ]
    }

    /// One phrase for people: `others' CPU: /proc/stat cpu0 (...); CPU
    /// pressure: ...; throttling: ...`.
    pub fn describe(&self) -> String {
        self.lines()
            .map(|(what, source)| format!("{what}: {source}"))
            .join("; ")
    }
}

/// What this process's contention figures cover, found once per process.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scope {
    /// The CPUs whose `/proc/stat` lines count; `None`: the first line.
    cpus: Option<BTreeSet<usize>>,
    /// How many CPUs the counted lines cover (`n`).
    counted: Option<usize>,
    /// The cores this process can use (`C`).
    cores: usize,
    /// The pressure file, and whether it is this process's cgroup's.
    pressure: Option<(PathBuf, bool)>,
}

impl Scope {
    /// The scope of a process whose `/proc/self/status` affinity is
    /// `affinity`, that can use `cores` cores and whose cgroup v2 directory
    /// is `cgroup`, on a machine whose `/proc/stat` is `stat`.
    pub(super) fn new(
        stat: Option<&str>,
        affinity: Option<&str>,
        cores: usize,
        cgroup: Option<&Path>,
        read: impl Fn(&Path) -> Option<String>,
    ) -> Scope {
        let online = stat.map(online_cpu_ids).unwrap_or_default();
        let cpus = affinity
            .and_then(parse_cpu_list)
            .map(|allowed| &allowed & &online)
            .filter(|cpus| !cpus.is_empty());
        let counted = match &cpus {
            Some(cpus) => Some(cpus.len()),
            None => Some(online.len()).filter(|&n| n > 0),
        };
        Scope {
            cpus,
            counted,
            cores: cores.max(1),
            pressure: pressure_file(cgroup, &read),
        }
    }

    /// The busy seconds of the counted CPUs in `/proc/stat`'s text; `None`
    /// when a counted CPU's line is missing (it went offline).
    pub(super) fn busy_seconds(&self, stat: &str) -> Option<f64> {
        let Some(cpus) = &self.cpus else {
            let line = stat.lines().find(|l| l.starts_with("cpu "))?;
            return busy_seconds_of_line(line);
        };
        let mut seen = 0;
        let mut busy = 0.0;
        for line in stat.lines() {
            let Some(id) = cpu_line_id(line) else {
                continue;
            };
            if cpus.contains(&id) {
                busy += busy_seconds_of_line(line)?;
                seen += 1;
            }
        }
        (seen == cpus.len()).then_some(busy)
    }

    /// The pressure file to read.
    pub(super) fn pressure_file(&self) -> Option<&Path> {
        self.pressure.as_ref().map(|(file, _)| file.as_path())
    }

    /// The CPU seconds others took from the cores this process can use,
    /// over a stretch of `seconds` in which the counted CPUs were busy
    /// `busy` seconds, this process used `own` of them, and (when the
    /// pressure is its cgroup's own) its tasks waited for a CPU `pressure`
    /// seconds. See the module's documentation.
    pub(super) fn others_cpu_seconds(
        &self,
        busy: f64,
        own: f64,
        seconds: f64,
        pressure: Option<f64>,
    ) -> f64 {
        let mut others = busy - own;
        let free_for_others = self
            .counted
            .unwrap_or(self.cores)
            .saturating_sub(self.cores);
        if free_for_others > 0 {
            others = (others - free_for_others as f64 * seconds).max(0.0);
        }
        match pressure {
            Some(waited) if self.own_pressure() => others.min(waited.max(0.0) * self.cores as f64),
            _ => others,
        }
    }

    fn own_pressure(&self) -> bool {
        self.pressure.as_ref().is_some_and(|(_, own)| *own)
    }

    /// The sources, for the measurements and `grader doctor`; `throttle`
    /// names the throttled-time file, found with the quota.
    pub(super) fn sources(&self, throttle: Option<String>) -> Sources {
        let others_cpu = match (&self.cpus, self.counted) {
            (Some(cpus), _) => Some(format!("cpu{}", cpu_list(cpus))),
            (None, Some(_)) => Some("cpu".to_owned()),
            (None, None) => None,
        };
        Sources {
            others_cpu,
            shared_cpus: self.cores,
            pressure: self
                .pressure
                .as_ref()
                .map(|(file, _)| file.display().to_string()),
            own_pressure: self.own_pressure(),
            throttle,
        }
    }
}

/// This process's cgroup's own `cpu.pressure` when it is readable and the
/// cgroup is not the root one (only non-root cgroups have
/// `cgroup.events`; the root's pressure is the machine's), else the
/// machine's, else none.
fn pressure_file(
    cgroup: Option<&Path>,
    read: &impl Fn(&Path) -> Option<String>,
) -> Option<(PathBuf, bool)> {
    let own = cgroup.map(|dir| dir.join("cpu.pressure")).filter(|file| {
        let dir = file.parent().unwrap_or(file);
        read(&dir.join("cgroup.events")).is_some()
            && read(file).is_some_and(|text| super::pressure_some_seconds(&text).is_some())
    });
    if let Some(file) = own {
        return Some((file, true));
    }
    let machine = Path::new(PROC_PRESSURE_CPU);
    read(machine)
        .and_then(|text| super::pressure_some_seconds(&text))
        .map(|_| (machine.to_path_buf(), false))
}

/// The number N of a `/proc/stat` line `cpuN ...`.
fn cpu_line_id(line: &str) -> Option<usize> {
    let (name, _) = line.split_once(char::is_whitespace)?;
    name.strip_prefix("cpu")?.parse().ok()
}

/// The CPUs `/proc/stat` has a line for: the online ones.
fn online_cpu_ids(stat: &str) -> BTreeSet<usize> {
    stat.lines().filter_map(cpu_line_id).collect()
}

/// The CPUs a kernel CPU list such as `0-3,8,10-11` names; `None` when it
/// does not parse.
pub(super) fn parse_cpu_list(list: &str) -> Option<BTreeSet<usize>> {
    let mut cpus = BTreeSet::new();
    for range in list.trim().split(',') {
        let (lo, hi) = match range.split_once('-') {
            Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
            None => {
                let cpu: usize = range.trim().parse().ok()?;
                (cpu, cpu)
            }
        };
        if lo > hi || hi >= MAX_CPUS {
            return None;
        }
        cpus.extend(lo..=hi);
    }
    Some(cpus)
}

/// A set of CPUs as the kernel lists them: `0-3,8`.
fn cpu_list(cpus: &BTreeSet<usize>) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &cpu in cpus {
        match ranges.last_mut() {
            Some((_, hi)) if *hi + 1 == cpu => *hi = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    ranges
        .iter()
        .map(|&(lo, hi)| match lo == hi {
            true => lo.to_string(),
            false => format!("{lo}-{hi}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::tests::files;

    /// Two CPUs, recorded while `taskset -c 1 yes` ran: CPU 1 all user time.
    const STAT: &str = "cpu  28524 0 5482 17615 181 0 27 17 0 0\n\
                        cpu0 4000 0 2700 18800 90 0 13 8 0 0\n\
                        cpu1 24524 0 2782 815 91 0 14 9 0 0\n\
                        intr 123\nctxt 456\n";
    const PSI: &str = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n\
                       full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";

    fn scope(affinity: Option<&str>, cores: usize) -> Scope {
        Scope::new(Some(STAT), affinity, cores, None, files(&[]))
    }

    #[test]
    fn cpu_lists_parse_and_print_as_the_kernel_writes_them() {
        let cpus = parse_cpu_list("0-3,8,10-11\n").unwrap();
        assert_eq!(cpus.len(), 7);
        assert_eq!(cpu_list(&cpus), "0-3,8,10-11");
        assert_eq!(cpu_list(&parse_cpu_list("1").unwrap()), "1");
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("0-99999999"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn only_the_cpus_of_the_affinity_count() {
        let pinned = scope(Some("0"), 1);
        let cpu0 = (4000.0 + 2700.0 + 13.0 + 8.0) / 100.0;
        assert!((pinned.busy_seconds(STAT).unwrap() - cpu0).abs() < 1e-9);
        assert_eq!(pinned.sources(None).others_cpu.as_deref(), Some("cpu0"));
        let both = scope(Some("0-1"), 2);
        let all = (28524.0 + 5482.0 + 27.0 + 17.0) / 100.0;
        assert!((both.busy_seconds(STAT).unwrap() - all).abs() < 1e-9);
        assert_eq!(both.sources(None).others_cpu.as_deref(), Some("cpu0-1"));
    }

    #[test]
    fn an_unknown_affinity_counts_every_cpu_and_a_vanished_cpu_is_unknown() {
        let unknown = scope(None, 2);
        assert_eq!(unknown.sources(None).others_cpu.as_deref(), Some("cpu"));
        assert!(unknown.busy_seconds(STAT).is_some());
        // Affinity lists may name CPUs that are not online: only online ones count.
        let wide = scope(Some("0-7"), 2);
        assert_eq!(wide.counted, Some(2));
        let cpu1_gone = "cpu  1 0 0 0\ncpu0 1 0 0 0\n";
        assert_eq!(wide.busy_seconds(cpu1_gone), None);
        assert_eq!(scope(Some("0"), 1).busy_seconds("intr 1\n"), None);
    }

    #[test]
    fn a_pinned_run_beside_a_busy_loop_on_another_cpu_sees_no_one() {
        // taskset -c 0 beside taskset -c 1 yes, over 2 s: CPU 0 busy 1.02 s,
        // of which the harness used 1.0 s; CPU 1 busy all 2 s.
        let pinned = scope(Some("0"), 1);
        let others = pinned.others_cpu_seconds(1.02, 1.0, 2.0, None);
        assert!((others - 0.02).abs() < 1e-9);
    }

    #[test]
    fn a_recorded_stretch_counts_only_what_shared_the_cpu() {
        // /proc/stat and the cgroup's cpu.pressure before and after 2 s of a
        // harness crunching on CPU 0 (1.98 s of CPU) while `yes` ran on CPU 1
        // and a short job on CPU 0 took 0.04 s, making the harness wait 0.03 s.
        let before = "cpu  10000 0 2000 50000 100 0 10 0 0 0\n\
                      cpu0 5000 0 1000 25000 50 0 5 0 0 0\n\
                      cpu1 5000 0 1000 25000 50 0 5 0 0 0\n";
        let after = "cpu  10398 0 2004 50000 100 0 10 0 0 0\n\
                     cpu0 5200 0 1002 25000 50 0 5 0 0 0\n\
                     cpu1 5198 0 1002 25000 50 0 5 0 0 0\n";
        let psi = |total: u64| format!("some avg10=1.00 avg60=0.50 avg300=0.10 total={total}\n");
        let waited = super::super::pressure_some_seconds(&psi(2_030_000)).unwrap()
            - super::super::pressure_some_seconds(&psi(2_000_000)).unwrap();
        let own = files(&[
            ("/job/cgroup.events", "populated 1\n"),
            ("/job/cpu.pressure", &psi(2_000_000)),
        ]);
        let pinned = Scope::new(Some(before), Some("0"), 1, Some(Path::new("/job")), own);
        let busy = pinned.busy_seconds(after).unwrap() - pinned.busy_seconds(before).unwrap();
        assert!((busy - 2.02).abs() < 1e-9);
        let others = pinned.others_cpu_seconds(busy, 1.98, 2.0, Some(waited));
        assert!((others - 0.03).abs() < 1e-9, "{others}");
        // Counted on every CPU, as before, `yes` was most of a core.
        let everywhere = scope(None, 2);
        let busy =
            everywhere.busy_seconds(after).unwrap() - everywhere.busy_seconds(before).unwrap();
        assert!((everywhere.others_cpu_seconds(busy, 1.98, 2.0, None) - 2.04).abs() < 1e-9);
    }

    #[test]
    fn a_quota_leaves_the_cpus_it_cannot_use_to_others() {
        // A 2-core quota on 8 CPUs, 1 s: others used 7 of them; at most one
        // of this process's 2 cores.
        let s = Scope::new(Some(&eight_cpus()), Some("0-7"), 2, None, files(&[]));
        assert!((s.others_cpu_seconds(8.5, 1.5, 1.0, None) - 1.0).abs() < 1e-9);
        // Others on 5 of them leave this process its 2 cores.
        assert_eq!(s.others_cpu_seconds(6.5, 1.5, 1.0, None), 0.0);
    }

    fn eight_cpus() -> String {
        let mut stat = "cpu  8 0 0 0\n".to_owned();
        for cpu in 0..8 {
            stat.push_str(&format!("cpu{cpu} 1 0 0 0\n"));
        }
        stat
    }

    #[test]
    fn the_cgroups_own_pressure_is_preferred_over_the_machines() {
        let cgroup = Path::new("/sys/fs/cgroup/job");
        let own = files(&[
            (
                "/sys/fs/cgroup/job/cgroup.events",
                "populated 1\nfrozen 0\n",
            ),
            ("/sys/fs/cgroup/job/cpu.pressure", PSI),
            (PROC_PRESSURE_CPU, PSI),
        ]);
        let s = Scope::new(Some(STAT), Some("0-1"), 2, Some(cgroup), own);
        let sources = s.sources(None);
        assert_eq!(
            sources.pressure.as_deref(),
            Some("/sys/fs/cgroup/job/cpu.pressure")
        );
        assert!(sources.own_pressure);
        // The root cgroup has no cgroup.events: its pressure is the machine's.
        let root = files(&[
            ("/sys/fs/cgroup/cpu.pressure", PSI),
            (PROC_PRESSURE_CPU, PSI),
        ]);
        let s = Scope::new(Some(STAT), None, 2, Some(Path::new("/sys/fs/cgroup")), root);
        let sources = s.sources(None);
        assert_eq!(sources.pressure.as_deref(), Some(PROC_PRESSURE_CPU));
        assert!(!sources.own_pressure);
        // No pressure accounting at all.
        let none = Scope::new(Some(STAT), None, 2, Some(cgroup), files(&[]));
        assert_eq!(none.sources(None).pressure, None);
    }

    #[test]
    fn with_its_own_pressure_others_count_only_as_far_as_they_made_it_wait() {
        let own = files(&[
            ("/job/cgroup.events", "populated 1\n"),
            ("/job/cpu.pressure", PSI),
        ]);
        let s = Scope::new(Some(STAT), Some("0-1"), 2, Some(Path::new("/job")), own);
        // Neighbours used 1.9 of 2 CPUs for 1 s; this cgroup waited 0.05 s.
        let others = s.others_cpu_seconds(2.5, 0.6, 1.0, Some(0.05));
        assert!((others - 0.1).abs() < 1e-9);
        // Waiting for its own threads, beside idle neighbours, is no one's.
        assert!((s.others_cpu_seconds(1.02, 1.0, 1.0, Some(0.8)) - 0.02).abs() < 1e-9);
        // The machine's pressure never limits what others took.
        let machine = scope(Some("0-1"), 2);
        assert!((machine.others_cpu_seconds(2.5, 0.6, 1.0, Some(0.05)) - 1.9).abs() < 1e-9);
    }

    #[test]
    fn sources_say_where_each_figure_comes_from() {
        let sources = Sources {
            others_cpu: Some("cpu0".into()),
            shared_cpus: 1,
            pressure: Some("/sys/fs/cgroup/job/cpu.pressure".into()),
            own_pressure: true,
            throttle: None,
        };
        assert_eq!(
            sources.describe(),
            "others' CPU: /proc/stat cpu0 (the CPUs this process may run on), out of 1 core; \
             CPU pressure: /sys/fs/cgroup/job/cpu.pressure (this process's cgroup); \
             throttling: unknown (no cgroup CPU controller)"
        );
    }
}
