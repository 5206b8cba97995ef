//! What else the machine was doing while a harness measured.
//!
//! Timing noise from other programs is one-sided, and steady contention slows
//! every repeat alike, so the spread of the repeats cannot reveal it. This
//! module reads what the operating system knows instead:
//!
//! - [`Facts`], read once per run: how many CPUs are online, which ones this
//!   process may run on (its affinity), its CPU quota (cgroup v2 `cpu.max`,
//!   cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`) and
//!   `available_parallelism`, which takes both into account;
//! - [`Contention`], for a stretch of time measured with a [`Probe`]: the CPU
//!   seconds other programs took from the CPUs this process can use
//!   (`/proc/stat` busy time of the CPUs of its affinity minus its own CPU
//!   time), the seconds during which some task waited for a CPU ("some" of
//!   its own cgroup's `cpu.pressure`, else of `/proc/pressure/cpu`), and the
//!   seconds the CPU quota held this process back (its cgroup's `cpu.stat`).
//!   [`scope`] decides what those figures cover, and [`Sources`] (in the
//!   facts) records where they were read: programs on CPUs this grading
//!   cannot use, and a container's neighbours that never made it wait, are
//!   never counted against it.
//!
//! Every figure that cannot be read on this machine (another OS, no pressure
//! accounting, no cgroup) is `None`: unknown, never zero. `/proc/stat` counts
//! in ticks of 10 ms, so over a short stretch the rest of the machine's CPU
//! time is coarse and may even come out slightly negative; add several
//! stretches up before judging them.

mod scope;

pub use scope::Sources;

use scope::Scope;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The kernel's `USER_HZ`: `/proc/stat` counts in hundredths of a second on
/// every architecture Rust targets on Linux.
const STAT_TICKS_PER_SECOND: f64 = 100.0;
const PROC_STAT: &str = "/proc/stat";
const PROC_SELF_STATUS: &str = "/proc/self/status";
const PROC_SELF_STAT: &str = "/proc/self/stat";
/// The unit of `/proc/<pid>/stat`'s times: USER_HZ, 100 on every Linux.
const USER_HZ: f64 = 100.0;
const PROC_SELF_CGROUP: &str = "/proc/self/cgroup";
const PROC_SELF_MOUNTINFO: &str = "/proc/self/mountinfo";

/// The CPU this process may use, read once: none of it changes during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// `std::thread::available_parallelism`: the cores this process may use,
    /// affinity and quota included. The grader's "cores".
    pub available_parallelism: usize,
    /// CPUs the kernel has online.
    #[serde(default)]
    pub online_cpus: Option<usize>,
    /// The CPUs this process may run on, as the kernel lists them (`0-1`).
    #[serde(default)]
    pub affinity: Option<String>,
    /// How many CPUs [`affinity`](Self::affinity) names.
    #[serde(default)]
    pub affinity_cpus: Option<usize>,
    /// The CPU quota; `None` when it could not be read.
    #[serde(default)]
    pub quota: Option<Quota>,
    /// Where the contention figures of the run were read; absent from files
    /// of older harnesses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Sources>,
}

/// A CPU quota of a cgroup this process belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quota {
    /// The CPU time allowed per wall second, in cores (0.5 is half a core);
    /// `None` when there is no limit.
    pub cores: Option<f64>,
    /// Where it was read, e.g. `cgroup v2 cpu.max`.
    pub source: String,
}

/// What the rest of the machine did during one stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Contention {
    /// The stretch's wall-clock seconds.
    pub seconds: f64,
    /// CPU seconds other programs took from the cores this process can use:
    /// the busy time of the CPUs it may run on (including time a hypervisor
    /// gave to other machines) minus its own CPU time, as far as [`scope`]
    /// counts it. In 10 ms ticks, so coarse over short stretches.
    #[serde(default)]
    pub others_cpu_seconds: Option<f64>,
    /// Seconds during which at least one task waited for a CPU: of this
    /// process's cgroup where its own pressure is readable, else of the
    /// whole machine ([`Sources::pressure`]).
    #[serde(default)]
    pub cpu_pressure_seconds: Option<f64>,
    /// Seconds this process's cgroup was throttled by its CPU quota.
    #[serde(default)]
    pub throttled_seconds: Option<f64>,
    /// CPU seconds this process used (all its threads): how much of the
    /// stretch was computing, which contention slows, rather than waiting.
    #[serde(default)]
    pub own_cpu_seconds: Option<f64>,
}

impl Contention {
    /// The sum of several stretches: a figure is known only when it is
    /// known for every stretch.
    pub fn total<'a>(stretches: impl IntoIterator<Item = &'a Contention>) -> Option<Contention> {
        stretches.into_iter().copied().reduce(|a, b| Contention {
            seconds: a.seconds + b.seconds,
            others_cpu_seconds: add(a.others_cpu_seconds, b.others_cpu_seconds),
            cpu_pressure_seconds: add(a.cpu_pressure_seconds, b.cpu_pressure_seconds),
            throttled_seconds: add(a.throttled_seconds, b.throttled_seconds),
            own_cpu_seconds: add(a.own_cpu_seconds, b.own_cpu_seconds),
        })
    }

    /// The cores' worth of CPU the rest of the machine used on average.
    pub fn others_cores(&self) -> Option<f64> {
        self.per_second(self.others_cpu_seconds)
    }

    /// The fraction of the time some task waited for a CPU.
    pub fn pressure(&self) -> Option<f64> {
        self.per_second(self.cpu_pressure_seconds)
    }

    /// The fraction of the time the CPU quota held this process back, at
    /// most 1: `cpu.stat` adds up the throttled time of every CPU's run
    /// queue, so on two CPUs it can exceed the wall time.
    pub fn throttled(&self) -> Option<f64> {
        self.per_second(self.throttled_seconds).map(|t| t.min(1.0))
    }

    /// One phrase for people, e.g. `other programs used 0.95 cores, tasks
    /// waited for a CPU 40% of the time, not held back by a CPU quota`.
    pub fn describe(&self) -> String {
        let others = match self.others_cores() {
            Some(cores) => format!("other programs used {:.2} cores", cores.max(0.0)),
            None => "other programs' CPU use unknown".to_owned(),
        };
        let pressure = match self.pressure() {
            Some(p) => format!(
                "tasks waited for a CPU {:.0}% of the time",
                p.clamp(0.0, 1.0) * 100.0
            ),
            None => "CPU pressure unknown".to_owned(),
        };
        let throttled = match self.throttled() {
            Some(t) if t > 0.0 => {
                format!(
                    ", the CPU quota held this process back {:.0}% of the time",
                    t * 100.0
                )
            }
            _ => String::new(),
        };
        format!("{others}, {pressure}{throttled}")
    }

    fn per_second(&self, figure: Option<f64>) -> Option<f64> {
        figure
            .filter(|_| self.seconds > 0.0)
            .map(|x| x / self.seconds)
    }
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

/// Measures the [`Contention`] of a stretch of time: start it, do the work,
/// stop it. Reading the counters takes a few microseconds.
pub struct Probe {
    wall: Instant,
    counters: Counters,
}

impl Probe {
    pub fn start() -> Probe {
        let counters = Counters::read();
        Probe {
            wall: Instant::now(),
            counters,
        }
    }

    /// The contention since [`start`](Self::start).
    pub fn stop(&self) -> Contention {
        let seconds = self.wall.elapsed().as_secs_f64();
        let end = Counters::read();
        let delta = |f: fn(&Counters) -> Option<f64>| Some(f(&end)? - f(&self.counters)?);
        let own = end.own_cpu_seconds - self.counters.own_cpu_seconds;
        let pressure = delta(|c| c.pressure_some_seconds);
        Contention {
            seconds,
            others_cpu_seconds: delta(|c| c.busy_seconds)
                .map(|busy| round(scope().others_cpu_seconds(busy, own, seconds, pressure))),
            cpu_pressure_seconds: pressure.map(round),
            throttled_seconds: delta(|c| c.throttled_seconds).map(round),
            own_cpu_seconds: Some(round(own)),
        }
    }
}

/// Microseconds are plenty, and keep the measurements file readable.
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The cumulative counters a [`Probe`] subtracts.
struct Counters {
    /// The busy time of the CPUs [`scope`] counts.
    busy_seconds: Option<f64>,
    own_cpu_seconds: f64,
    pressure_some_seconds: Option<f64>,
    throttled_seconds: Option<f64>,
}

impl Counters {
    fn read() -> Counters {
        Counters {
            busy_seconds: read(PROC_STAT)
                .as_deref()
                .and_then(|stat| scope().busy_seconds(stat)),
            // A worker process's CPU is ours too (ex03, ex04 start them): it
            // joins the children's times once the worker has been waited for.
            own_cpu_seconds: cpu_time().as_secs_f64()
                + read(PROC_SELF_STAT)
                    .as_deref()
                    .and_then(children_cpu_seconds)
                    .unwrap_or(0.0),
            pressure_some_seconds: scope()
                .pressure_file()
                .and_then(read)
                .as_deref()
                .and_then(pressure_some_seconds),
            throttled_seconds: cgroups().throttle.as_ref().and_then(Throttle::seconds),
        }
    }
}

impl Facts {
    /// Read the facts of this machine and process.
    pub fn read() -> Facts {
        let status = read(PROC_SELF_STATUS);
        let affinity = status.as_deref().and_then(allowed_cpus);
        let throttle = cgroups().throttle.as_ref().map(Throttle::source);
        Facts {
            available_parallelism: cores(),
            online_cpus: read(PROC_STAT).as_deref().and_then(online_cpus),
            affinity_cpus: affinity.as_deref().and_then(count_cpus),
            affinity,
            quota: cgroups().quota.clone(),
            sources: Some(scope().sources(throttle)),
        }
    }

    /// The CPUs the rest of the machine shared with this run, on which its
    /// others' CPU time counts: [`Sources::shared_cpus`], or every online
    /// CPU for files of older harnesses, which counted machine-wide.
    pub fn shared_cpus(&self) -> Option<usize> {
        match &self.sources {
            Some(sources) => Some(sources.shared_cpus),
            None => self.online_cpus,
        }
    }

    /// One line for people, e.g. `2 of 2 CPUs (affinity 0-1), no CPU quota`.
    pub fn describe(&self) -> String {
        let online = self.online_cpus.map_or("?".to_owned(), |n| n.to_string());
        let affinity = self
            .affinity
            .as_deref()
            .map_or(String::new(), |a| format!(" (affinity {a})"));
        let quota = match &self.quota {
            None => "CPU quota unknown".to_owned(),
            Some(Quota { cores: None, .. }) => "no CPU quota".to_owned(),
            Some(Quota {
                cores: Some(cores),
                source,
            }) => format!("CPU quota {cores:.2} cores ({source})"),
        };
        format!(
            "{} of {online} CPUs usable{affinity}, {quota}",
            self.available_parallelism
        )
    }
}

/// The CPU time this process has used so far, on all its threads.
pub fn cpu_time() -> Duration {
    cpu_time::ProcessTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default()
}

/// How many cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// What this process's contention figures cover, found once: its affinity
/// and cgroup do not change during a run.
fn scope() -> &'static Scope {
    static SCOPE: OnceLock<Scope> = OnceLock::new();
    SCOPE.get_or_init(|| {
        let status = read(PROC_SELF_STATUS);
        Scope::new(
            read(PROC_STAT).as_deref(),
            status.as_deref().and_then(allowed_cpus).as_deref(),
            cores(),
            cgroups().v2_dir.as_deref(),
            |p| read(p),
        )
    })
}

/// The busy time of one `/proc/stat` CPU line (`cpu` or `cpuN`): everything
/// but idle and I/O wait. Guest time is already inside user time; steal
/// (time a hypervisor gave to other machines) counts as busy, since this
/// machine could not use it either.
fn busy_seconds_of_line(line: &str) -> Option<f64> {
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| ticks.get(i).copied().unwrap_or(0))
        .sum();
    (ticks.len() >= 4).then(|| busy as f64 / STAT_TICKS_PER_SECOND)
}

fn online_cpus(stat: &str) -> Option<usize> {
    let n = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    (n > 0).then_some(n)
}

/// The CPU seconds of this process's waited-for children (`cutime` plus
/// `cstime`, fields 16 and 17 of `/proc/self/stat`).
fn children_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name, field 2, is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3.
    let ticks = |field: usize| fields.get(field - 3)?.parse::<f64>().ok();
    Some((ticks(16)? + ticks(17)?) / USER_HZ)
}

/// The `total=` microseconds of the `some` line of a pressure file.
fn pressure_some_seconds(pressure: &str) -> Option<f64> {
    let line = pressure.lines().find(|l| l.starts_with("some "))?;
    let total = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("total="))?;
    Some(total.parse::<u64>().ok()? as f64 / 1e6)
}

fn allowed_cpus(status: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|list| list.trim().to_owned())
}

/// How many CPUs a kernel CPU list such as `0-3,8,10-11` names.
fn count_cpus(list: &str) -> Option<usize> {
    scope::parse_cpu_list(list).map(|cpus| cpus.len())
}

/// The cgroup files this process's CPU is limited by, found once.
struct Cgroups {
    quota: Option<Quota>,
    throttle: Option<Throttle>,
    /// This process's cgroup v2 directory, whatever its controllers.
    v2_dir: Option<PathBuf>,
}

/// A cgroup's `cpu.stat`, whose throttled time grows while its quota holds
/// its processes back.
struct Throttle {
    file: PathBuf,
    /// `throttled_usec` (v2) or `throttled_time` in nanoseconds (v1).
    key: &'static str,
    per_second: f64,
}

impl Throttle {
    fn seconds(&self) -> Option<f64> {
        let stat = read(&self.file)?;
        let value = stat.lines().find_map(|l| {
            let (key, value) = l.split_once(' ')?;
            (key == self.key).then(|| value.trim().parse::<u64>().ok())?
        })?;
        Some(value as f64 / self.per_second)
    }

    /// The file and key, e.g. `/sys/fs/cgroup/cpu.stat throttled_usec`.
    fn source(&self) -> String {
        format!("{} {}", self.file.display(), self.key)
    }
}

fn cgroups() -> &'static Cgroups {
    static CGROUPS: OnceLock<Cgroups> = OnceLock::new();
    CGROUPS.get_or_init(|| {
        let (Some(membership), Some(mounts)) = (read(PROC_SELF_CGROUP), read(PROC_SELF_MOUNTINFO))
        else {
            return Cgroups {
                quota: None,
                throttle: None,
                v2_dir: None,
            };
        };
        find_cgroups(&membership, &mounts, |p| read(p))
    })
}

/// The cgroup hierarchy of one version: where it is mounted and which
/// directory of it holds this process.
struct Hierarchy {
    version: u8,
    dir: PathBuf,
    mount: PathBuf,
}

/// The tightest quota (cores, and the cgroup that sets it) of `hierarchy`'s
/// cgroup and its ancestors, and whether any of them had quota files.
fn tightest_quota(
    hierarchy: &Hierarchy,
    read: &impl Fn(&Path) -> Option<String>,
) -> (Option<(f64, PathBuf)>, bool) {
    let mut dir = hierarchy.dir.clone();
    let mut tightest: Option<(f64, PathBuf)> = None;
    let mut readable = false;
    loop {
        let limit = match hierarchy.version {
            2 => read(&dir.join("cpu.max")).map(|max| parse_cpu_max(&max)),
            _ => read(&dir.join("cpu.cfs_quota_us")).map(|quota| {
                let period = read(&dir.join("cpu.cfs_period_us"));
                parse_cfs(&quota, period.as_deref().unwrap_or(""))
            }),
        };
        if let Some(limit) = limit {
            readable = true;
            if let Some(cores) = limit {
                if tightest.as_ref().is_none_or(|(t, _)| cores < *t) {
                    tightest = Some((cores, dir.clone()));
                }
            }
        }
        if dir == hierarchy.mount || !dir.pop() {
            break;
        }
    }
    (tightest, readable)
}

/// The quota and throttle files of this process's cgroups: cgroup v2 where
/// it has the cpu controller, else v1's `cpu` hierarchy. The tightest quota
/// of the process's cgroup and its ancestors applies.
fn find_cgroups(
    membership: &str,
    mountinfo: &str,
    read: impl Fn(&Path) -> Option<String>,
) -> Cgroups {
    let hierarchies = hierarchies(membership, mountinfo);
    let mut found = Cgroups {
        quota: None,
        throttle: None,
        v2_dir: hierarchies
            .iter()
            .find(|h| h.version == 2)
            .map(|h| h.dir.clone()),
    };
    for hierarchy in hierarchies {
        let (tightest, mut readable) = tightest_quota(&hierarchy, &read);
        // The root cgroup has no quota files even where the cpu controller is on.
        let controllers = read(&hierarchy.mount.join("cgroup.controllers"));
        readable |= hierarchy.version == 2
            && hierarchy.dir == hierarchy.mount
            && controllers.is_some_and(|c| c.split_whitespace().any(|c| c == "cpu"));
        if !readable {
            continue; // this hierarchy has no cpu controller here
        }
        let source = match hierarchy.version {
            2 => "cgroup v2 cpu.max",
            _ => "cgroup v1 cpu.cfs_quota_us",
        };
        let throttle_dir = tightest.as_ref().map_or(&hierarchy.dir, |(_, d)| d);
        found.throttle = Some(match hierarchy.version {
            2 => Throttle {
                file: throttle_dir.join("cpu.stat"),
                key: "throttled_usec",
                per_second: 1e6,
            },
            _ => Throttle {
                file: throttle_dir.join("cpu.stat"),
                key: "throttled_time",
                per_second: 1e9,
            },
        });
        found.quota = Some(Quota {
            cores: tightest.map(|(cores, _)| cores),
            source: source.to_owned(),
        });
        return found;
    }
    found
}

/// The cgroup v2 hierarchy first, then v1's `cpu` one, each with the
/// directory this process is in.
fn hierarchies(membership: &str, mountinfo: &str) -> Vec<Hierarchy> {
    let mut found = Vec::new();
    for version in [2, 1] {
        let path = membership.lines().find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let wanted = match version {
                2 => id == "0" && controllers.is_empty(),
                _ => controllers.split(',').any(|c| c == "cpu"),
            };
            wanted.then_some(path)
        });
        let mount = mountinfo.lines().find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split_whitespace().collect();
            let right: Vec<&str> = right.split_whitespace().collect();
            let wanted = match version {
                2 => right.first() == Some(&"cgroup2"),
                _ => {
                    right.first() == Some(&"cgroup")
                        && right
                            .get(2)
                            .is_some_and(|opts| opts.split(',').any(|o| o == "cpu"))
                }
            };
            // Fields 4 and 5: the mount's root inside the hierarchy, its mount point.
            wanted.then(|| (left.get(3).copied(), left.get(4).copied()))
        });
        if let (Some(path), Some((Some(root), Some(mount)))) = (path, mount) {
            // Inside a container the mount's root is the container's cgroup.
            let inside = path.strip_prefix(root).unwrap_or(path);
            let dir = Path::new(mount).join(inside.trim_start_matches('/'));
            found.push(Hierarchy {
                version,
                dir,
                mount: PathBuf::from(mount),
            });
        }
    }
    found
}

/// cgroup v2 `cpu.max`: `max 100000` (no limit) or `50000 100000`.
/// `None` inside: no limit.
fn parse_cpu_max(max: &str) -> Option<f64> {
    let mut fields = max.split_whitespace();
    let quota = fields.next()?.parse::<f64>().ok()?;
    let period = fields.next()?.parse::<f64>().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// cgroup v1 `cpu.cfs_quota_us` (-1: no limit) and `cpu.cfs_period_us`.
fn parse_cfs(quota: &str, period: &str) -> Option<f64> {
    let quota = quota.trim().parse::<f64>().ok()?;
    let period = period.trim().parse::<f64>().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn childrens_cpu_is_read_from_proc_self_stat() {
        let stat = "4242 (a (strange) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 30 120 15 20 0 1 0 100 1000 100";
        assert_eq!(children_cpu_seconds(stat), Some(1.35));
        assert_eq!(children_cpu_seconds("4242 (x) S 1"), None);
    }
    use std::collections::HashMap;

    const STAT: &str = "cpu  28524 0 5482 17615 181 0 27 17 0 0\n\
                        cpu0 14000 0 2700 8800 90 0 13 8 0 0\n\
                        cpu1 14524 0 2782 8815 91 0 14 9 0 0\n\
                        intr 123\nctxt 456\n";

    #[test]
    fn busy_time_is_everything_but_idle_and_iowait() {
        let first = STAT.lines().next().unwrap();
        let busy = busy_seconds_of_line(first).unwrap();
        assert!((busy - (28524.0 + 5482.0 + 27.0 + 17.0) / 100.0).abs() < 1e-9);
        assert_eq!(online_cpus(STAT), Some(2));
        assert_eq!(busy_seconds_of_line("cpu0 1 x 3 4"), None);
    }

    #[test]
    fn pressure_reads_the_some_total_in_microseconds() {
        let psi = "some avg10=82.72 avg60=39.79 avg300=13.08 total=49223557\n\
                   full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(pressure_some_seconds(psi), Some(49.223557));
        assert_eq!(pressure_some_seconds("full total=3\n"), None);
    }

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(count_cpus("0-1"), Some(2));
        assert_eq!(count_cpus("0"), Some(1));
        assert_eq!(count_cpus("0-3,8,10-11"), Some(7));
        assert_eq!(count_cpus("3-1"), None);
        assert_eq!(
            allowed_cpus("Name:\tx\nCpus_allowed_list:\t0-1\n").as_deref(),
            Some("0-1")
        );
    }

    #[test]
    fn quotas_parse_with_no_limit_as_none() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(0.5));
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("150000\n", "100000\n"), Some(1.5));
    }

    const HYBRID_MOUNTS: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A reader of the files `entries` gives, path and content; no other.
    pub(super) fn files(entries: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = entries
            .iter()
            .map(|(p, c)| (PathBuf::from(p), (*c).to_owned()))
            .collect();
        move |p: &Path| map.get(p).cloned()
    }

    #[test]
    fn a_v1_quota_is_found_when_v2_has_no_cpu_controller() {
        let membership = "1:cpu:/grading\n0::/\n";
        let found = find_cgroups(
            membership,
            HYBRID_MOUNTS,
            files(&[
                ("/sys/fs/cgroup/cpu/grading/cpu.cfs_quota_us", "50000"),
                ("/sys/fs/cgroup/cpu/grading/cpu.cfs_period_us", "100000"),
                ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"),
                ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000"),
            ]),
        );
        let quota = found.quota.unwrap();
        assert_eq!(quota.cores, Some(0.5));
        assert!(quota.source.contains("v1"));
        let throttle = found.throttle.unwrap();
        assert_eq!(
            throttle.file,
            PathBuf::from("/sys/fs/cgroup/cpu/grading/cpu.stat")
        );
        // Its cgroup v2 directory, though v2 has no cpu controller here.
        assert_eq!(found.v2_dir, Some(PathBuf::from("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn the_tightest_v2_quota_of_the_ancestors_applies_inside_a_container() {
        let mounts = "29 1 0:26 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let membership = "0::/ctr/job\n";
        let found = find_cgroups(
            membership,
            mounts,
            files(&[
                ("/sys/fs/cgroup/job/cpu.max", "max 100000"),
                ("/sys/fs/cgroup/cpu.max", "50000 100000"),
            ]),
        );
        assert_eq!(found.quota.unwrap().cores, Some(0.5));
        let throttle = found.throttle.unwrap();
        assert_eq!(throttle.file, PathBuf::from("/sys/fs/cgroup/cpu.stat"));
        assert_eq!(throttle.key, "throttled_usec");
        assert_eq!(throttle.source(), "/sys/fs/cgroup/cpu.stat throttled_usec");
        // Its own cgroup, where its own pressure is read.
        assert_eq!(found.v2_dir, Some(PathBuf::from("/sys/fs/cgroup/job")));
    }

    #[test]
    fn no_readable_quota_is_unknown_and_no_limit_is_known() {
        let unknown = find_cgroups("0::/\n", HYBRID_MOUNTS, files(&[]));
        assert!(unknown.quota.is_none() && unknown.throttle.is_none());
        let unlimited = find_cgroups(
            "1:cpu:/\n0::/\n",
            HYBRID_MOUNTS,
            files(&[
                ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"),
                ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000"),
            ]),
        );
        assert_eq!(unlimited.quota.unwrap().cores, None);
    }

    #[test]
    fn totals_know_a_figure_only_when_every_stretch_knows_it() {
        let known = Contention {
            seconds: 1.0,
            others_cpu_seconds: Some(0.5),
            cpu_pressure_seconds: Some(0.1),
            throttled_seconds: None,
            own_cpu_seconds: Some(0.2),
        };
        let unknown = Contention {
            others_cpu_seconds: None,
            ..known
        };
        let total = Contention::total([&known, &known]).unwrap();
        assert_eq!(total.others_cores(), Some(0.5));
        assert_eq!(
            total.describe(),
            "other programs used 0.50 cores, tasks waited for a CPU 10% of the time"
        );
        assert!(unknown.describe().contains("CPU use unknown"));
        assert_eq!(total.pressure(), Some(0.1));
        assert_eq!(total.throttled(), None);
        assert_eq!(
            Contention::total([&known, &unknown])
                .unwrap()
                .others_cores(),
            None
        );
        assert_eq!(Contention::total([]), None);
    }

    #[test]
    fn a_quota_holds_back_at_most_all_of_the_time() {
        // Throttled on both CPUs' run queues for most of one second.
        let throttled = Contention {
            seconds: 1.0,
            others_cpu_seconds: Some(0.0),
            cpu_pressure_seconds: Some(0.5),
            throttled_seconds: Some(1.43),
            own_cpu_seconds: Some(0.5),
        };
        assert_eq!(throttled.throttled(), Some(1.0));
        assert!(
            throttled
                .describe()
                .ends_with("held this process back 100% of the time"),
            "{}",
            throttled.describe()
        );
    }

    #[test]
    fn this_machine_reads_its_facts_and_a_probe_measures_a_stretch() {
        let facts = Facts::read();
        assert!(facts.available_parallelism >= 1);
        assert!(
            facts.describe().contains("CPUs usable"),
            "{}",
            facts.describe()
        );
        let probe = Probe::start();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let c = probe.stop();
        assert!(c.seconds >= 0.005);
        if cfg!(target_os = "linux") {
            assert!(facts.online_cpus.is_some() && c.others_cpu_seconds.is_some());
            let sources = facts.sources.unwrap();
            assert!(sources.others_cpu.is_some(), "{sources:?}");
            assert_eq!(sources.shared_cpus, facts.available_parallelism);
        }
    }
}
