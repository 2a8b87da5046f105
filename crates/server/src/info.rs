//! INFO: the sections and fields of Redis 7.0's `INFO`, in its order and format, plus what
//! feeds them that Redis keeps in `server.*`: per-command latency histograms (HdrHistogram
//! compatible, so `latencystats` and `LATENCY HISTOGRAM` print the same numbers as Redis),
//! the instantaneous metrics sampled by the cron, and the memory peak.

use crate::client::ClientKind;
use crate::state::State;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------------
// Latency histograms
// ---------------------------------------------------------------------------------------------

/// Smallest value a histogram tracks (ns), as Redis's `LATENCY_HISTOGRAM_MIN_VALUE`.
const HIST_MIN: u64 = 1;
/// Largest value a histogram tracks (ns), as Redis's `LATENCY_HISTOGRAM_MAX_VALUE`.
const HIST_MAX: u64 = 1_000_000_000;

/// A command's latency distribution with the buckets of an HdrHistogram of 2 significant
/// figures and unit 1 ns (what Redis 7.0 keeps per command), stored sparsely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Count per bucket, keyed by the bucket's lowest equivalent value (ns).
    counts: BTreeMap<u64, u64>,
    /// Values recorded.
    total: u64,
}

/// The HdrHistogram bucket of `v`: (lowest equivalent value, size of the equivalence range).
fn hdr_bucket(v: u64) -> (u64, u64) {
    // sub_bucket_count = 256 (2 significant figures), unit magnitude 0.
    let bucket = (64 - (v | 255).leading_zeros()) as u64 - 8;
    let sub = v >> bucket;
    (sub << bucket, 1u64 << bucket)
}

/// HdrHistogram's `highest_equivalent_value`.
fn hdr_highest(v: u64) -> u64 {
    let (low, size) = hdr_bucket(v);
    low + size - 1
}

impl Histogram {
    /// Records one call that took `micros` microseconds (Redis records `duration*1000` ns).
    pub fn record(&mut self, micros: u64) {
        let ns = micros.saturating_mul(1000).clamp(HIST_MIN, HIST_MAX);
        *self.counts.entry(hdr_bucket(ns).0).or_default() += 1;
        self.total += 1;
    }

    /// Number of recorded values.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// HdrHistogram's `hdr_value_at_percentile`, in ns.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let p = percentile.min(100.0);
        let want = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let want = want.max(1);
        let mut seen = 0;
        for (&low, &n) in &self.counts {
            seen += n;
            if seen >= want {
                return if percentile == 0.0 {
                    low
                } else {
                    hdr_highest(low)
                };
            }
        }
        0
    }

    /// The cumulative distribution as `LATENCY HISTOGRAM` reports it: (µs, calls so far) at
    /// power-of-two steps from 1024 ns, skipping steps that add nothing.
    pub fn cdf(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        if self.total == 0 {
            return out;
        }
        let mut level: u64 = 1024;
        let mut prev = 0;
        loop {
            let level_low = hdr_bucket(level).0;
            let cum: u64 = self.counts.range(..=level_low).map(|(_, n)| n).sum();
            if cum > prev {
                out.push((hdr_highest(level) / 1000, cum));
            }
            prev = cum;
            if cum >= self.total || level > HIST_MAX * 2 {
                break;
            }
            level *= 2;
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Instantaneous metrics, memory peak
// ---------------------------------------------------------------------------------------------

const METRIC_SAMPLES: usize = 16;

/// One sampled rate (`trackInstantaneousMetric`).
#[derive(Debug, Clone, Default)]
struct Metric {
    samples: [u64; METRIC_SAMPLES],
    idx: usize,
    last_time: i64,
    last_count: u64,
}

impl Metric {
    fn track(&mut self, now_ms: i64, reading: u64) {
        let t = now_ms - self.last_time;
        let ops = reading.saturating_sub(self.last_count);
        self.samples[self.idx] = if t > 0 { ops * 1000 / t as u64 } else { 0 };
        self.idx = (self.idx + 1) % METRIC_SAMPLES;
        self.last_time = now_ms;
        self.last_count = reading;
    }

    fn value(&self) -> u64 {
        self.samples.iter().sum::<u64>() / METRIC_SAMPLES as u64
    }
}

/// What INFO needs that is sampled over time: the instantaneous rates and memory figures.
#[derive(Debug, Clone, Default)]
pub struct InfoState {
    ops: Metric,
    net_in: Metric,
    net_out: Metric,
    last_sample_ms: i64,
    /// Highest `used_memory` seen.
    pub peak_memory: u64,
    /// `used_memory` right after start (0 until the first sample).
    pub startup_memory: u64,
    /// The latest `used_memory` sample (taken ten times a second), for the maxmemory check.
    pub used_memory_sample: u64,
}

impl InfoState {
    /// Clears the instantaneous metrics (CONFIG RESETSTAT).
    pub fn reset_metrics(&mut self, now_ms: i64) {
        let (peak, startup) = (self.peak_memory, self.startup_memory);
        *self = InfoState {
            peak_memory: peak,
            startup_memory: startup,
            ..InfoState::default()
        };
        self.last_sample_ms = now_ms;
    }
}

/// Called from the server cron: samples the instantaneous metrics every 100 ms (as Redis's
/// `serverCron` does) and tracks the memory peak.
pub fn cron(st: &mut State, now_ms: i64) {
    if now_ms - st.info.last_sample_ms < 100 {
        return;
    }
    st.info.last_sample_ms = now_ms;
    let (ops, input, output) = (
        st.stats.total_commands_processed,
        st.stats.net_input_bytes,
        st.stats.net_output_bytes,
    );
    st.info.ops.track(now_ms, ops);
    st.info.net_in.track(now_ms, input);
    st.info.net_out.track(now_ms, output);
    let used = used_memory();
    st.info.used_memory_sample = used;
    if st.info.startup_memory == 0 {
        st.info.startup_memory = used;
    }
    st.info.peak_memory = st.info.peak_memory.max(used);
}

// ---------------------------------------------------------------------------------------------
// Memory and process figures
// ---------------------------------------------------------------------------------------------

/// Figures from the memory allocator, when the binary's allocator can report them.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocatorStats {
    /// Bytes allocated by the program (`used_memory`, `allocator_allocated`).
    pub allocated: u64,
    /// Bytes in active pages (`allocator_active`).
    pub active: u64,
    /// Bytes resident in the allocator (`allocator_resident`).
    pub resident: u64,
    /// The allocator's name and version (`mem_allocator`), e.g. `jemalloc-5.3.0`.
    pub name: &'static str,
}

static ALLOCATOR_PROBE: OnceLock<fn() -> Option<AllocatorStats>> = OnceLock::new();

/// Installs a function that reads the allocator's statistics (e.g. jemalloc's `stats.*`
/// through `tikv-jemalloc-ctl` in the binary). Without one, memory figures come from the RSS.
pub fn set_allocator_probe(probe: fn() -> Option<AllocatorStats>) {
    let _ = ALLOCATOR_PROBE.set(probe);
}

fn allocator_stats() -> Option<AllocatorStats> {
    ALLOCATOR_PROBE.get().and_then(|f| f())
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

/// The process's resident set size in bytes (`used_memory_rss`).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * page_size())
        .unwrap_or(0)
}

/// `used_memory`: the allocator's allocated bytes, or the RSS when the allocator cannot tell.
pub fn used_memory() -> u64 {
    match allocator_stats() {
        Some(a) => a.allocated,
        None => rss_bytes(),
    }
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size()
    } else {
        0
    }
}

/// Redis's `bytesToHuman`.
pub fn bytes_to_human(n: u64) -> String {
    const K: f64 = 1024.0;
    let d = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1024 * 1024 {
        format!("{:.2}K", d / K)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2}M", d / (K * K))
    } else if n < 1024u64.pow(4) {
        format!("{:.2}G", d / (K * K * K))
    } else if n < 1024u64.pow(5) {
        format!("{:.2}T", d / (K * K * K * K))
    } else if n < 1024u64.pow(6) {
        format!("{:.2}P", d / (K * K * K * K * K))
    } else {
        format!("{n}B")
    }
}

fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage fills the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (tv(ru.ru_stime), tv(ru.ru_utime))
}

fn uname() -> String {
    // SAFETY: uname fills the zeroed struct we own; its fields are NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        let f = |s: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(s.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
    }
}

/// A stable 16-hex-digit id of this build (`redis_build_id`).
fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut h = sha1_smol::Sha1::new();
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(crate::REDIS_VERSION.as_bytes());
        h.update(
            std::env::current_exe()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_bytes(),
        );
        h.digest().to_string()[..16].to_string()
    })
}

/// Memory figures of one client, as CLIENT LIST and INFO memory estimate them.
pub struct ClientMem {
    /// Bytes waiting in the output queue (`omem`).
    pub omem: u64,
    /// Total estimate (`tot-mem`).
    pub total: u64,
}

/// Size of a client's fixed part (Redis's `sizeof(client)` plus its reply buffer).
pub const CLIENT_FIXED_BYTES: u64 = 1024 + 1000;

/// Estimates the memory of client `info`, adding `argv_mem` for the command it is running.
pub fn client_mem(info: &crate::client::ClientInfo, argv_mem: u64) -> ClientMem {
    let omem = info.handle.outbox.lock().len() as u64;
    ClientMem {
        omem,
        total: CLIENT_FIXED_BYTES + info.qbuf as u64 + argv_mem + omem,
    }
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

/// The sections in INFO's order, with whether plain `INFO` / `INFO default` includes them.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// Which sections an INFO call asked for: `None` = all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    all: bool,
    names: Vec<String>,
}

impl Selection {
    /// Parses INFO's arguments (7.0: several section names, `default`, `all`, `everything`).
    pub fn parse<T: AsRef<[u8]>>(args: &[T]) -> Selection {
        let mut sel = Selection {
            all: false,
            names: Vec::new(),
        };
        let defaults = || {
            SECTIONS
                .iter()
                .filter(|(_, d)| *d)
                .map(|(n, _)| n.to_string())
        };
        if args.is_empty() {
            sel.names.extend(defaults());
            return sel;
        }
        for a in args {
            let name = String::from_utf8_lossy(a.as_ref()).to_ascii_lowercase();
            match name.as_str() {
                "default" => sel.names.extend(defaults()),
                "all" | "everything" => sel.all = true,
                "module_list" => sel.names.push("modules".into()),
                _ => sel.names.push(name),
            }
        }
        sel
    }

    /// True if section `name` is to be printed.
    pub fn has(&self, name: &str) -> bool {
        self.all || self.names.iter().any(|n| n == name)
    }

    /// The selected sections in INFO's order.
    pub fn sections(&self) -> impl Iterator<Item = &'static str> + '_ {
        SECTIONS
            .iter()
            .map(|(n, _)| *n)
            .filter(move |n| self.has(n))
    }
}

/// Builds INFO text: `# Title` headers, `name:value` lines, CRLF line ends, a blank line
/// between sections.
struct Text {
    buf: String,
    sections: usize,
}

impl Text {
    fn header(&mut self, title: &str) {
        if self.sections > 0 {
            self.buf.push_str("\r\n");
        }
        self.sections += 1;
        self.buf.push_str("# ");
        self.buf.push_str(title);
        self.buf.push_str("\r\n");
    }

    fn field(&mut self, name: &str, value: impl std::fmt::Display) {
        let _ = write!(self.buf, "{name}:{value}\r\n");
    }
}

/// Generates the INFO text for the sections in `sel`.
pub fn generate(st: &mut State, sel: &Selection, now_ms: i64) -> String {
    let mut t = Text {
        buf: String::with_capacity(4096),
        sections: 0,
    };
    for name in sel.sections() {
        match name {
            "server" => server(&mut t, st, now_ms),
            "clients" => clients(&mut t, st),
            "memory" => memory(&mut t, st),
            "persistence" => persistence(&mut t, st),
            "stats" => stats(&mut t, st),
            "replication" => replication(&mut t, st),
            "cpu" => cpu(&mut t),
            "modules" => t.header("Modules"),
            "commandstats" => commandstats(&mut t, st),
            "errorstats" => errorstats(&mut t, st),
            "latencystats" => latencystats(&mut t, st),
            "cluster" => {
                t.header("Cluster");
                t.field("cluster_enabled", 0);
            }
            "keyspace" => keyspace(&mut t, st),
            _ => {}
        }
    }
    t.buf
}

fn server(t: &mut Text, st: &State, now_ms: i64) {
    let uptime = (now_ms - st.start_ms).max(0) / 1000;
    let supervised = match st.cfg.supervised {
        crate::config::Supervised::Upstart => "upstart",
        crate::config::Supervised::Systemd => "systemd",
        _ => "no",
    };
    t.header("Server");
    t.field("redis_version", crate::REDIS_VERSION);
    t.field("redoubt_version", env!("CARGO_PKG_VERSION"));
    t.field("redis_git_sha1", "00000000");
    t.field("redis_git_dirty", 0);
    t.field("redis_build_id", build_id());
    t.field("redis_mode", "standalone");
    t.field("os", uname());
    t.field("arch_bits", usize::BITS);
    t.field("monotonic_clock", "POSIX clock_gettime");
    t.field("multiplexing_api", "epoll");
    t.field("atomicvar_api", "c11-builtin");
    t.field("gcc_version", "0.0.0");
    t.field("process_id", std::process::id());
    t.field("process_supervised", supervised);
    t.field("run_id", &st.run_id);
    t.field("tcp_port", st.bound_port);
    t.field("server_time_usec", crate::clock::unix_us());
    t.field("uptime_in_seconds", uptime);
    t.field("uptime_in_days", uptime / 86400);
    t.field("hz", st.cfg.hz);
    t.field("configured_hz", st.cfg.hz);
    t.field("lru_clock", (now_ms / 1000) & 0xFF_FFFF);
    t.field(
        "executable",
        std::env::current_exe()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    t.field("config_file", st.cfg.config_file.as_deref().unwrap_or(""));
    t.field("io_threads_active", 0);
}

fn clients(t: &mut Text, st: &State) {
    let normal = st
        .clients
        .values()
        .filter(|c| c.kind != ClientKind::Replica)
        .count();
    let max_in = st.clients.values().map(|c| c.qbuf).max().unwrap_or(0);
    let max_out = st
        .clients
        .values()
        .map(|c| c.handle.outbox.lock().len())
        .max()
        .unwrap_or(0);
    t.header("Clients");
    t.field("connected_clients", normal);
    t.field("cluster_connections", 0);
    t.field("maxclients", st.cfg.maxclients);
    t.field("client_recent_max_input_buffer", max_in);
    t.field("client_recent_max_output_buffer", max_out);
    t.field(
        "blocked_clients",
        st.clients.values().filter(|c| c.blocked).count(),
    );
    t.field("tracking_clients", 0);
    t.field("clients_in_timeout_table", 0);
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn memory(t: &mut Text, st: &mut State) {
    let alloc = allocator_stats();
    let rss = rss_bytes();
    let used = alloc.map(|a| a.allocated).unwrap_or(rss);
    st.info.peak_memory = st.info.peak_memory.max(used);
    if st.info.startup_memory == 0 {
        st.info.startup_memory = used;
    }
    let peak = st.info.peak_memory;
    let startup = st.info.startup_memory.min(used);
    let clients_normal: u64 = st
        .clients
        .values()
        .filter(|c| c.kind != ClientKind::Replica)
        .map(|c| client_mem(c, 0).total)
        .sum();
    let keys_overhead: u64 = st
        .ks
        .dbs
        .iter()
        .map(|d| d.data.len() as u64 * 48 + d.expires.len() as u64 * 40)
        .sum();
    let overhead = (startup + clients_normal + keys_overhead).min(used);
    let dataset = used - overhead;
    let net = if used > startup { used - startup } else { 1 };
    let (allocated, active, resident, name) = match alloc {
        Some(a) => (a.allocated, a.active, a.resident, a.name),
        None => (used, used, rss, "libc"),
    };
    let frag = ratio(rss, used);
    let max = st.cfg.maxmemory;
    t.header("Memory");
    t.field("used_memory", used);
    t.field("used_memory_human", bytes_to_human(used));
    t.field("used_memory_rss", rss);
    t.field("used_memory_rss_human", bytes_to_human(rss));
    t.field("used_memory_peak", peak);
    t.field("used_memory_peak_human", bytes_to_human(peak));
    t.field(
        "used_memory_peak_perc",
        format!("{:.2}%", ratio(used * 100, peak) as f32),
    );
    t.field("used_memory_overhead", overhead);
    t.field("used_memory_startup", startup);
    t.field("used_memory_dataset", dataset);
    t.field(
        "used_memory_dataset_perc",
        format!("{:.2}%", ratio(dataset * 100, net) as f32),
    );
    t.field("allocator_allocated", allocated);
    t.field("allocator_active", active);
    t.field("allocator_resident", resident);
    t.field("total_system_memory", total_system_memory());
    t.field(
        "total_system_memory_human",
        bytes_to_human(total_system_memory()),
    );
    // Scripting: an interpreter not created yet counts as Redis's idle one.
    let sc = &st.scripting;
    let vm_eval = match sc.eval_memory() {
        0 => 32768,
        n => n,
    };
    let vm_functions = match sc.functions_memory() {
        0 => 33792,
        n => n,
    };
    let (libraries, functions) = sc.function_counts();
    let scripts_eval = sc.cached_scripts() * 168;
    let functions_mem = 200 + libraries * 120 + functions * 100;
    t.field("used_memory_lua", vm_eval);
    t.field("used_memory_vm_eval", vm_eval);
    t.field("used_memory_lua_human", bytes_to_human(vm_eval as u64));
    t.field("used_memory_scripts_eval", scripts_eval);
    t.field("number_of_cached_scripts", sc.cached_scripts());
    t.field("number_of_functions", functions);
    t.field("number_of_libraries", libraries);
    t.field("used_memory_vm_functions", vm_functions);
    t.field("used_memory_vm_total", vm_eval + vm_functions);
    t.field(
        "used_memory_vm_total_human",
        bytes_to_human((vm_eval + vm_functions) as u64),
    );
    t.field("used_memory_functions", functions_mem);
    t.field("used_memory_scripts", scripts_eval + functions_mem);
    t.field(
        "used_memory_scripts_human",
        bytes_to_human((scripts_eval + functions_mem) as u64),
    );
    t.field("maxmemory", max);
    t.field("maxmemory_human", bytes_to_human(max));
    t.field("maxmemory_policy", st.cfg.maxmemory_policy.as_str());
    t.field(
        "allocator_frag_ratio",
        format!("{:.2}", ratio(active, allocated) as f32),
    );
    t.field("allocator_frag_bytes", active.saturating_sub(allocated));
    t.field(
        "allocator_rss_ratio",
        format!("{:.2}", ratio(resident, active) as f32),
    );
    t.field("allocator_rss_bytes", resident as i64 - active as i64);
    t.field(
        "rss_overhead_ratio",
        format!("{:.2}", ratio(rss, resident) as f32),
    );
    t.field("rss_overhead_bytes", rss as i64 - resident as i64);
    t.field("mem_fragmentation_ratio", format!("{:.2}", frag as f32));
    t.field("mem_fragmentation_bytes", rss as i64 - used as i64);
    t.field("mem_not_counted_for_evict", 0);
    t.field("mem_replication_backlog", 0);
    t.field("mem_total_replication_buffers", 0);
    t.field("mem_clients_slaves", 0);
    t.field("mem_clients_normal", clients_normal);
    t.field("mem_cluster_links", 0);
    t.field("mem_aof_buffer", 0);
    t.field("mem_allocator", name);
    t.field("active_defrag_running", 0);
    t.field("lazyfree_pending_objects", 0);
    t.field("lazyfreed_objects", 0);
}

fn persistence(t: &mut Text, st: &State) {
    let p = &st.persist;
    let now = crate::clock::unix_ms() / 1000;
    let rdb_child = p.child_of(crate::child::ChildKind::Rdb);
    t.header("Persistence");
    t.field("loading", u8::from(st.loading.is_some()));
    t.field("async_loading", 0);
    t.field("current_cow_peak", 0);
    t.field("current_cow_size", 0);
    t.field("current_cow_size_age", 0);
    t.field("current_fork_perc", "0.00");
    t.field("current_save_keys_processed", 0);
    t.field("current_save_keys_total", 0);
    t.field("rdb_changes_since_last_save", st.ks.dirty);
    t.field("rdb_bgsave_in_progress", u8::from(rdb_child.is_some()));
    t.field("rdb_last_save_time", p.lastsave);
    t.field(
        "rdb_last_bgsave_status",
        if p.lastbgsave_ok { "ok" } else { "err" },
    );
    t.field("rdb_last_bgsave_time_sec", p.last_bgsave_secs);
    t.field(
        "rdb_current_bgsave_time_sec",
        rdb_child.map_or(-1, |c| now - c.start_unix),
    );
    t.field("rdb_saves", st.persist.rdb_saves);
    t.field("rdb_last_cow_size", p.rdb_last_cow_size);
    t.field(
        "rdb_last_load_keys_expired",
        st.persist.last_load_keys_expired,
    );
    t.field(
        "rdb_last_load_keys_loaded",
        st.persist.last_load_keys_loaded,
    );
    let aof = &st.aof;
    let aof_child = p.child_of(crate::child::ChildKind::Aof);
    let aof_on = aof.status != crate::aof::Status::Off;
    t.field("aof_enabled", u8::from(aof_on));
    t.field("aof_rewrite_in_progress", u8::from(aof_child.is_some()));
    t.field("aof_rewrite_scheduled", u8::from(aof.rewrite_scheduled));
    t.field("aof_last_rewrite_time_sec", aof.last_rewrite_secs);
    t.field(
        "aof_current_rewrite_time_sec",
        aof_child.map_or(-1, |c| now - c.start_unix),
    );
    t.field(
        "aof_last_bgrewrite_status",
        if aof.last_rewrite_ok { "ok" } else { "err" },
    );
    t.field("aof_rewrites", aof.rewrites);
    t.field(
        "aof_rewrites_consecutive_failures",
        aof.consecutive_failures,
    );
    let write_error = aof_on && aof.writer.last_error().is_some();
    t.field(
        "aof_last_write_status",
        if write_error { "err" } else { "ok" },
    );
    t.field("aof_last_cow_size", p.aof_last_cow_size);
    t.field("module_fork_in_progress", 0);
    t.field("module_fork_last_cow_size", 0);
    if let Some(l) = &st.loading {
        use std::sync::atomic::Ordering::Relaxed;
        let (total, done) = (l.total_bytes.load(Relaxed), l.loaded_bytes.load(Relaxed));
        let elapsed = (now - l.start_unix).max(0);
        let perc = if total > 0 {
            done as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let eta = if done > 0 {
            (elapsed as f64 * (total.saturating_sub(done)) as f64 / done as f64) as i64
        } else {
            1
        };
        t.field("loading_start_time", l.start_unix);
        t.field("loading_total_bytes", total);
        t.field("loading_rdb_used_mem", 0);
        t.field("loading_loaded_bytes", done);
        t.field("loading_loaded_perc", format!("{perc:.2}"));
        t.field("loading_eta_seconds", eta);
    }
    if aof_on {
        t.field("aof_current_size", aof.current_size());
        t.field("aof_base_size", aof.rewrite_base_size);
        t.field("aof_pending_rewrite", u8::from(aof.rewrite_scheduled));
        t.field("aof_buffer_length", aof.writer.buffer_len());
        t.field("aof_pending_bio_fsync", 0);
        t.field("aof_delayed_fsync", 0);
    }
}

fn stats(t: &mut Text, st: &State) {
    let s = &st.stats;
    let ks = &st.ks.stats;
    let kbps = |m: &Metric| format!("{:.2}", m.value() as f32 / 1024.0);
    t.header("Stats");
    t.field("total_connections_received", s.total_connections_received);
    t.field("total_commands_processed", s.total_commands_processed);
    t.field("instantaneous_ops_per_sec", st.info.ops.value());
    t.field("total_net_input_bytes", s.net_input_bytes);
    t.field("total_net_output_bytes", s.net_output_bytes);
    t.field("total_net_repl_input_bytes", 0);
    t.field("total_net_repl_output_bytes", st.repl.stats.output_bytes);
    t.field("instantaneous_input_kbps", kbps(&st.info.net_in));
    t.field("instantaneous_output_kbps", kbps(&st.info.net_out));
    t.field("instantaneous_input_repl_kbps", "0.00");
    t.field("instantaneous_output_repl_kbps", "0.00");
    t.field("rejected_connections", s.rejected_connections);
    t.field("sync_full", st.repl.stats.full);
    t.field("sync_partial_ok", st.repl.stats.partial_ok);
    t.field("sync_partial_err", st.repl.stats.partial_err);
    t.field("expired_keys", ks.expired_keys);
    t.field(
        "expired_stale_perc",
        format!("{:.2}", ks.expired_stale_perc),
    );
    t.field(
        "expired_time_cap_reached_count",
        ks.expired_time_cap_reached_count,
    );
    t.field("expire_cycle_cpu_milliseconds", 0);
    t.field("evicted_keys", 0);
    t.field("evicted_clients", 0);
    t.field("total_eviction_exceeded_time", 0);
    t.field("current_eviction_exceeded_time", 0);
    t.field("keyspace_hits", ks.keyspace_hits);
    t.field("keyspace_misses", ks.keyspace_misses);
    t.field("pubsub_channels", st.pubsub.channels.len());
    t.field("pubsub_patterns", st.pubsub.patterns.len());
    t.field("pubsubshard_channels", 0);
    t.field("latest_fork_usec", st.persist.latest_fork_usec);
    t.field("total_forks", st.persist.total_forks);
    t.field("migrate_cached_sockets", 0);
    t.field("slave_expires_tracked_keys", 0);
    t.field("active_defrag_hits", 0);
    t.field("active_defrag_misses", 0);
    t.field("active_defrag_key_hits", 0);
    t.field("active_defrag_key_misses", 0);
    t.field("total_active_defrag_time", 0);
    t.field("current_active_defrag_time", 0);
    t.field("tracking_total_keys", 0);
    t.field("tracking_total_items", 0);
    t.field("tracking_total_prefixes", 0);
    t.field("unexpected_error_replies", 0);
    t.field("total_error_replies", s.total_error_replies);
    t.field("dump_payload_sanitizations", 0);
    t.field("total_reads_processed", 0);
    t.field("total_writes_processed", 0);
    t.field("io_threaded_reads_processed", 0);
    t.field("io_threaded_writes_processed", 0);
    t.field("reply_buffer_shrinks", 0);
    t.field("reply_buffer_expands", 0);
}

fn replication(t: &mut Text, st: &State) {
    t.header("Replication");
    for (k, v) in crate::repl::info_fields(st, crate::clock::unix_ms()) {
        t.field(&k, v);
    }
}

fn cpu(t: &mut Text) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    let (msys, muser) = rusage(libc::RUSAGE_THREAD);
    t.header("CPU");
    t.field("used_cpu_sys", sys);
    t.field("used_cpu_user", user);
    t.field("used_cpu_sys_children", csys);
    t.field("used_cpu_user_children", cuser);
    t.field("used_cpu_sys_main_thread", msys);
    t.field("used_cpu_user_main_thread", muser);
}

/// Every command name with its table entry, containers followed by their subcommands.
fn all_command_names() -> impl Iterator<Item = String> {
    crate::commands::COMMANDS.iter().flat_map(|c| {
        std::iter::once(c.name.to_string()).chain(
            c.subcommands
                .iter()
                .map(move |s| format!("{}|{}", c.name, s.name)),
        )
    })
}

fn commandstats(t: &mut Text, st: &State) {
    t.header("Commandstats");
    for name in all_command_names() {
        let Some(c) = st.stats.commands.get(name.as_str()) else {
            continue;
        };
        if c.calls == 0 && c.failed_calls == 0 && c.rejected_calls == 0 {
            continue;
        }
        let per_call = if c.calls == 0 {
            0.0
        } else {
            c.usec as f32 / c.calls as f32
        };
        t.field(
            &format!("cmdstat_{name}"),
            format_args!(
                "calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                c.calls, c.usec, per_call, c.rejected_calls, c.failed_calls
            ),
        );
    }
}

fn errorstats(t: &mut Text, st: &State) {
    t.header("Errorstats");
    let mut codes: Vec<(&String, &u64)> = st.stats.error_codes.iter().collect();
    codes.sort();
    for (code, n) in codes {
        t.field(&format!("errorstat_{code}"), format_args!("count={n}"));
    }
}

/// Formats a percentile as Redis does (`%f`, trailing zeros trimmed): 50 → `50`, 99.9 → `99.9`.
pub fn percentile_name(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn latencystats(t: &mut Text, st: &State) {
    t.header("Latencystats");
    let percentiles = st.cfg.latency_tracking_info_percentiles.clone();
    for name in all_command_names() {
        let Some(c) = st.stats.commands.get(name.as_str()) else {
            continue;
        };
        if c.latency.total() == 0 {
            continue;
        }
        let mut v = String::new();
        for (i, p) in percentiles.iter().enumerate() {
            if i > 0 {
                v.push(',');
            }
            let us = c.latency.value_at_percentile(*p) as f64 / 1000.0;
            let _ = write!(v, "p{}={:.3}", percentile_name(*p), us);
        }
        t.field(&format!("latency_percentiles_usec_{name}"), v);
    }
}

fn keyspace(t: &mut Text, st: &State) {
    t.header("Keyspace");
    for (i, db) in st.ks.dbs.iter().enumerate() {
        let keys = db.data.len();
        if keys == 0 {
            continue;
        }
        t.field(
            &format!("db{i}"),
            format_args!(
                "keys={},expires={},avg_ttl={}",
                keys,
                db.expires.len(),
                db.avg_ttl
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_matches_hdr_buckets() {
        // Observed on Redis 7.0.15: two SET calls of 4 µs and 9 µs.
        let mut h = Histogram::default();
        h.record(4);
        h.record(9);
        assert_eq!(h.value_at_percentile(50.0), 4015);
        assert_eq!(h.value_at_percentile(99.0), 9023);
        assert_eq!(h.value_at_percentile(99.9), 9023);
        let mut z = Histogram::default();
        z.record(0);
        assert_eq!(z.value_at_percentile(50.0), 1);
        assert_eq!(hdr_highest(16_000), 16_063);
        assert_eq!(hdr_highest(186_000), 186_367);
    }

    #[test]
    fn histogram_cdf_like_latency_histogram() {
        // Redis: DEBUG calls -> 8:3 16:6 66:9 132:11 (values in µs).
        let mut h = Histogram::default();
        for us in [5, 6, 7, 10, 12, 15, 40, 50, 60, 100, 120] {
            h.record(us);
        }
        assert_eq!(h.cdf(), vec![(8, 3), (16, 6), (66, 9), (132, 11)]);
        let mut one = Histogram::default();
        one.record(2);
        assert_eq!(one.cdf(), vec![(2, 1)]);
        let mut zero = Histogram::default();
        zero.record(0);
        assert_eq!(zero.cdf(), vec![(1, 1)]);
    }

    #[test]
    fn section_selection() {
        let all: Vec<&str> = Selection::parse::<&[u8]>(&[]).sections().collect();
        assert_eq!(
            all,
            [
                "server",
                "clients",
                "memory",
                "persistence",
                "stats",
                "replication",
                "cpu",
                "modules",
                "errorstats",
                "cluster",
                "keyspace"
            ]
        );
        let sel = Selection::parse(&["Keyspace", "CLUSTER", "nosuch"]);
        assert_eq!(sel.sections().collect::<Vec<_>>(), ["cluster", "keyspace"]);
        let sel = Selection::parse(&["default", "commandstats"]);
        assert!(sel.has("commandstats") && sel.has("server") && !sel.has("latencystats"));
        let sel = Selection::parse(&["everything"]);
        assert_eq!(sel.sections().count(), SECTIONS.len());
        assert_eq!(
            Selection::parse(&["all"]).sections().count(),
            SECTIONS.len()
        );
        assert_eq!(Selection::parse(&["foo"]).sections().count(), 0);
        assert!(Selection::parse(&["module_list"]).has("modules"));
    }

    #[test]
    fn human_units_and_percentiles() {
        assert_eq!(bytes_to_human(1000), "1000B");
        assert_eq!(bytes_to_human(961_936), "939.39K");
        assert_eq!(bytes_to_human(12_353_536), "11.78M");
        assert_eq!(bytes_to_human(25_276_502_016), "23.54G");
        assert_eq!(percentile_name(50.0), "50");
        assert_eq!(percentile_name(99.9), "99.9");
        assert_eq!(percentile_name(99.99), "99.99");
    }
}
