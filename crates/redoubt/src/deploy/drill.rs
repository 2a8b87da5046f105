//! `redoubt drill <fault>`: break a running deployment while a client writes through sentinel
//! discovery, and report what happened: the sentinels' events on a timeline, how long writes
//! were impossible, which acknowledged writes the new primary lacks, and whether the old
//! primary came back as a replica.

use super::client::{info_field, text, Client};
use super::firewall;
use super::{Plan, Role};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Set (by a signal handler) to end a drill early; it still undoes its fault on the way out.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The faults a drill can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the primary, and start it again once a new one is in place.
    KillPrimary,
    /// SIGSTOP the primary for a while, then SIGCONT.
    PausePrimary,
    /// Stop the primary gracefully (SIGTERM) and start it again at once.
    RestartPrimary,
    /// SIGKILL a replica, then start it again.
    KillReplica,
    /// SIGKILL a sentinel, then start it again.
    KillSentinel,
    /// Cut the primary off from the replicas, the sentinels and new clients for a while, but
    /// not from the drill's writer, which keeps its open connection (split brain).
    PartitionPrimary,
}

impl Fault {
    /// Every fault's name, for messages.
    pub const NAMES: &'static str = "kill-primary, pause-primary, restart-primary, \
                                     kill-replica, kill-sentinel, partition-primary";

    /// Parses a fault's name as the command line gives it.
    pub fn parse(s: &str) -> Option<Fault> {
        Some(match s {
            "kill-primary" => Fault::KillPrimary,
            "pause-primary" => Fault::PausePrimary,
            "restart-primary" => Fault::RestartPrimary,
            "kill-replica" => Fault::KillReplica,
            "kill-sentinel" => Fault::KillSentinel,
            "partition-primary" => Fault::PartitionPrimary,
            _ => return None,
        })
    }

    fn touches_primary(self) -> bool {
        !matches!(self, Fault::KillReplica | Fault::KillSentinel)
    }
}

/// What a drill observed.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The primary before the fault.
    pub old_primary: String,
    /// The primary the sentinels agree on afterwards.
    pub new_primary: Option<String>,
    /// Sentinel events, ms after the fault: (ms, sentinel, event, message).
    pub timeline: Vec<(i64, String, String, String)>,
    /// The longest time without a successful write around the fault (ms).
    pub unavailable_ms: i64,
    /// The same, counting only the writes the new primary kept (ms).
    pub unavailable_kept_ms: i64,
    /// Writes the client saw acknowledged.
    pub acked: usize,
    /// Acknowledged writes missing from the new primary afterwards.
    pub lost: Vec<u64>,
    /// Whether the old primary runs as a replica of the new one at the end (None when the
    /// drill did not touch the primary).
    pub old_primary_rejoined: Option<bool>,
    /// Writes that failed, by reason.
    pub errors: Vec<(String, usize)>,
    /// partition-primary: what the old primary acknowledged once cut off.
    pub split: Option<Split>,
}

/// The old primary's side of a partition.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// How long the partition lasted (ms).
    pub partition_ms: i64,
    /// Writes the old primary acknowledged while cut off.
    pub acked_during: usize,
    /// Writes it acknowledged after the partition healed, until it was made a replica.
    pub acked_after: usize,
    /// How many of these the new primary lacks.
    pub lost: usize,
}

fn sentinels_of(plan: &Plan) -> Vec<u16> {
    plan.nodes()
        .iter()
        .filter(|n| n.role == Role::Sentinel)
        .map(|n| n.port)
        .collect()
}

/// The primary the sentinels name (the first that answers).
fn discover(plan: &Plan) -> Option<(String, u16)> {
    for port in sentinels_of(plan) {
        let Ok(mut c) = Client::connect(&plan.host, port, None, Duration::from_millis(300)) else {
            continue;
        };
        if let Ok(resp::Frame::Array(items)) =
            c.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &plan.master_name])
        {
            if items.len() == 2 {
                if let Ok(p) = text(&items[1]).parse() {
                    return Some((text(&items[0]), p));
                }
            }
        }
    }
    None
}

/// Whether every sentinel names `addr` and its server accepts writes.
fn settled_on(plan: &Plan, addr: &(String, u16)) -> bool {
    let all = sentinels_of(plan).into_iter().all(|port| {
        Client::connect(&plan.host, port, None, Duration::from_millis(300))
            .and_then(|mut c| c.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &plan.master_name]))
            .is_ok_and(|f| matches!(f, resp::Frame::Array(ref i) if i.len() == 2 && text(&i[1]) == addr.1.to_string()))
    });
    all && Client::connect(
        &addr.0,
        addr.1,
        Some(&plan.password),
        Duration::from_millis(300),
    )
    .and_then(|mut c| c.call_text(&["INFO", "replication"]))
    .is_ok_and(|i| info_field(&i, "role").as_deref() == Some("master"))
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Acknowledged writes: (sequence number, when, the port of the server that acked it).
    acked: Mutex<Vec<(u64, Instant, u16)>>,
    errors: Mutex<Vec<String>>,
    events: Mutex<Vec<(Instant, String, String, String)>>,
    /// The writer's connection: (server port, its own local port).
    conn: Mutex<Option<(u16, u16)>>,
}

/// Our end's port of a connection, as the server saw it (CLIENT INFO's `addr`).
fn local_port(c: &mut Client) -> Option<u16> {
    let info = c.call_text(&["CLIENT", "INFO"]).ok()?;
    let addr = info
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))?;
    addr.rsplit_once(':')?.1.parse().ok()
}

/// The writer: SET drill:<n> through whatever primary the sentinels name, rediscovering it
/// after any error.
fn writer(plan: Plan, shared: Arc<Shared>) {
    let mut seq = 0u64;
    let mut conn: Option<(Client, u16)> = None;
    while !shared.stop.load(Ordering::SeqCst) {
        if conn.is_none() {
            *shared.conn.lock().unwrap_or_else(|e| e.into_inner()) = None;
            conn = discover(&plan).and_then(|(h, p)| {
                let mut c =
                    Client::connect(&h, p, Some(&plan.password), Duration::from_millis(200))
                        .ok()?;
                if let Some(local) = local_port(&mut c) {
                    *shared.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some((p, local));
                }
                Some((c, p))
            });
            if conn.is_none() {
                shared
                    .errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push("no primary".into());
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        }
        seq += 1;
        let key = format!("drill:{seq}");
        let value = seq.to_string();
        let r = conn
            .as_mut()
            .map(|(c, port)| (c.call(&["SET", &key, &value]), *port));
        match r {
            Some((Ok(resp::Frame::Simple(ok)), port)) if ok == b"OK" => {
                shared
                    .acked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((seq, Instant::now(), port));
            }
            Some((Ok(resp::Frame::Error(e)), _)) => {
                let e = String::from_utf8_lossy(&e)
                    .split(' ')
                    .next()
                    .unwrap_or("ERR")
                    .to_string();
                shared
                    .errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(e);
                conn = None;
            }
            _ => {
                shared
                    .errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push("timeout or closed".into());
                conn = None;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn listen(plan: &Plan, port: u16, shared: Arc<Shared>) {
    let name = format!("{}:{port}", plan.host);
    while !shared.stop.load(Ordering::SeqCst) {
        if let Ok(mut c) = Client::connect(&plan.host, port, None, Duration::from_millis(300)) {
            if c.call(&["PSUBSCRIBE", "*"]).is_ok() {
                let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
                loop {
                    if shared.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    match c.read_frame() {
                        Ok(resp::Frame::Array(items)) if items.len() == 4 => {
                            shared
                                .events
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((
                                    Instant::now(),
                                    name.clone(),
                                    text(&items[2]),
                                    text(&items[3]),
                                ));
                        }
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn signal(plan: &Plan, name: &str, sig: i32) -> Result<i32, String> {
    let pid = super::pid_of(&plan.dir, name).ok_or_else(|| format!("no pid for {name}"))?;
    // SAFETY: signalling a process of this deployment.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(format!("{name} (pid {pid}) is not running"));
    }
    Ok(pid)
}

fn wait_gone(pid: i32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while super::running(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn restart(plan: &Plan, name: &str) -> Result<(), String> {
    let node = plan
        .nodes()
        .into_iter()
        .find(|n| n.name == name)
        .ok_or_else(|| format!("no node {name}"))?;
    let child = plan.start_node(&node, false)?;
    super::record_pid(&plan.dir, name, child.id() as i32);
    Ok(())
}

/// Sleeps for `d`, or less if the drill is interrupted.
fn nap(d: Duration) -> Result<(), String> {
    let end = Instant::now() + d;
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err("interrupted".into());
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// The drill's client threads: the writer and a listener per sentinel. Dropping it stops them.
struct Watch {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Watch {
    fn start(plan: &Plan) -> Watch {
        let shared = Arc::new(Shared::default());
        let mut threads = Vec::new();
        for port in sentinels_of(plan) {
            let (p, s) = (plan.clone(), shared.clone());
            threads.push(std::thread::spawn(move || listen(&p, port, s)));
        }
        let (p, s) = (plan.clone(), shared.clone());
        threads.push(std::thread::spawn(move || writer(p, s)));
        Watch { shared, threads }
    }

    /// The local port of the writer's connection to the server on `port`, once it has one.
    fn writer_on(&self, port: u16, timeout: Duration) -> Option<u16> {
        let deadline = Instant::now() + timeout;
        loop {
            let conn = *self.shared.conn.lock().unwrap_or_else(|e| e.into_inner());
            match conn {
                Some((p, local)) if p == port => return Some(local),
                _ if Instant::now() > deadline => return None,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The longest time from `t0` on between two of `times` (in order).
fn longest_gap(t0: Instant, times: impl Iterator<Item = Instant>) -> i64 {
    let mut last = t0;
    let mut gap = 0;
    for at in times.filter(|at| *at >= t0) {
        gap = gap.max(at.duration_since(last).as_millis() as i64);
        last = at;
    }
    gap
}

/// Whether the server on `port` is a replica (of the server on `of`, with its link up, when
/// given).
fn is_replica(plan: &Plan, host: &str, port: u16, of: Option<u16>, timeout: Duration) -> bool {
    Client::connect(host, port, Some(&plan.password), timeout)
        .and_then(|mut c| c.call_text(&["INFO", "replication"]))
        .is_ok_and(|i| {
            info_field(&i, "role").as_deref() == Some("slave")
                && of.is_none_or(|of| {
                    info_field(&i, "master_port").as_deref() == Some(&of.to_string())
                        && info_field(&i, "master_link_status").as_deref() == Some("up")
                })
        })
}

/// Runs a drill against the deployment in `plan.dir`; `pause` is how long pause-primary
/// stops the primary, kill-replica and kill-sentinel keep their victim down, and
/// partition-primary keeps the primary cut off; `settle` bounds the wait for a new stable
/// state.
pub fn run(plan: &Plan, fault: Fault, pause: Duration, settle: Duration) -> Result<Report, String> {
    if fault == Fault::PartitionPrimary {
        firewall::check().map_err(|e| format!("partition-primary cannot cut the network: {e}"))?;
    }
    let (old_host, old_port) =
        discover(plan).ok_or("no sentinel names a primary: is the deployment up?")?;
    let old_name = plan
        .nodes()
        .into_iter()
        .find(|n| n.port == old_port && n.role != Role::Sentinel)
        .map(|n| n.name)
        .ok_or("the primary is not one of this deployment's servers")?;
    let mut watch = Watch::start(plan);
    nap(Duration::from_secs(2))?;
    // The connection the partition must spare.
    let keep = match fault {
        Fault::PartitionPrimary => Some(
            watch
                .writer_on(old_port, Duration::from_secs(10))
                .ok_or("the drill's writer found no connection to the primary to keep")?,
        ),
        _ => None,
    };
    let t0 = Instant::now();
    let deadline = t0 + settle;
    // When a partition healed.
    let mut healed_at = None;
    match fault {
        Fault::KillPrimary => {
            let pid = signal(plan, &old_name, libc::SIGKILL)?;
            wait_gone(pid, Duration::from_secs(5));
            // Back once the sentinels moved on (or at the deadline), as a primary that must
            // be turned into a replica.
            while Instant::now() < deadline {
                if discover(plan).is_some_and(|a| a.1 != old_port)
                    || nap(Duration::from_millis(100)).is_err()
                {
                    break;
                }
            }
            restart(plan, &old_name)?;
        }
        Fault::PausePrimary => {
            signal(plan, &old_name, libc::SIGSTOP)?;
            let slept = nap(pause);
            signal(plan, &old_name, libc::SIGCONT)?;
            slept?;
        }
        Fault::RestartPrimary => {
            let pid = signal(plan, &old_name, libc::SIGTERM)?;
            wait_gone(pid, Duration::from_secs(30));
            restart(plan, &old_name)?;
        }
        Fault::KillReplica | Fault::KillSentinel => {
            let role = if fault == Fault::KillReplica {
                Role::Replica
            } else {
                Role::Sentinel
            };
            let victim = plan
                .nodes()
                .into_iter()
                .find(|n| n.role == role && n.port != old_port)
                .ok_or("nothing to kill")?;
            let pid = signal(plan, &victim.name, libc::SIGKILL)?;
            wait_gone(pid, Duration::from_secs(5));
            let slept = nap(pause);
            restart(plan, &victim.name)?;
            slept?;
        }
        Fault::PartitionPrimary => {
            // On an early return (error, interruption) or a panic, dropping the cut heals it.
            let cut = firewall::Cut::isolate(old_port, keep.unwrap_or_default())?;
            nap(pause)?;
            cut.heal()?;
            healed_at = Some(Instant::now());
        }
    }
    // Settled: one primary every sentinel names, accepting writes, and the old primary (when
    // touched) following it.
    let mut report = Report {
        old_primary: format!("{old_host}:{old_port}"),
        ..Report::default()
    };
    loop {
        let now_primary = discover(plan);
        let settled = now_primary.as_ref().is_some_and(|a| settled_on(plan, a));
        let rejoined = match &now_primary {
            Some(a) if a.1 != old_port => is_replica(
                plan,
                &old_host,
                old_port,
                Some(a.1),
                Duration::from_millis(300),
            ),
            _ => true,
        };
        let done = settled
            && (rejoined || !fault.touches_primary())
            && t0.elapsed() > Duration::from_secs(2);
        if done || Instant::now() > deadline {
            report.new_primary = now_primary.map(|a| format!("{}:{}", a.0, a.1));
            break;
        }
        nap(Duration::from_millis(200))?;
    }
    nap(Duration::from_secs(1))?;
    watch.stop();
    let shared = &watch.shared;
    let acked = std::mem::take(&mut *shared.acked.lock().unwrap_or_else(|e| e.into_inner()));
    report.acked = acked.len();
    if let Some(p) = &report.new_primary {
        if let Some((h, port)) = p.rsplit_once(':') {
            let mut c = Client::connect(
                h,
                port.parse().unwrap_or(0),
                Some(&plan.password),
                Duration::from_secs(5),
            )
            .map_err(|e| format!("cannot read back the writes: {e}"))?;
            for chunk in acked.chunks(500) {
                let keys: Vec<String> =
                    chunk.iter().map(|(s, _, _)| format!("drill:{s}")).collect();
                let mut args = vec!["MGET"];
                args.extend(keys.iter().map(String::as_str));
                if let Ok(resp::Frame::Array(vals)) = c.call(&args) {
                    for ((seq, _, _), v) in chunk.iter().zip(vals) {
                        if matches!(v, resp::Frame::Null) {
                            report.lost.push(*seq);
                        }
                    }
                }
            }
        }
    }
    let lost: HashSet<u64> = report.lost.iter().copied().collect();
    report.unavailable_ms = longest_gap(t0, acked.iter().map(|(_, at, _)| *at));
    report.unavailable_kept_ms = longest_gap(
        t0,
        acked
            .iter()
            .filter(|(seq, _, _)| !lost.contains(seq))
            .map(|(_, at, _)| *at),
    );
    if let Some(healed) = healed_at {
        let mut split = Split {
            partition_ms: healed.duration_since(t0).as_millis() as i64,
            ..Split::default()
        };
        for (seq, at, _) in acked
            .iter()
            .filter(|(_, at, port)| *at >= t0 && *port == old_port)
        {
            if *at < healed {
                split.acked_during += 1;
            } else {
                split.acked_after += 1;
            }
            split.lost += usize::from(lost.contains(seq));
        }
        report.split = Some(split);
    }
    if fault.touches_primary() {
        report.old_primary_rejoined = Some(is_replica(
            plan,
            &old_host,
            old_port,
            None,
            Duration::from_millis(500),
        ));
    }
    let events = std::mem::take(&mut *shared.events.lock().unwrap_or_else(|e| e.into_inner()));
    report.timeline = events
        .into_iter()
        .map(|(at, s, k, m)| {
            let ms = if at >= t0 {
                at.duration_since(t0).as_millis() as i64
            } else {
                -(t0.duration_since(at).as_millis() as i64)
            };
            (ms, s, k, m)
        })
        .collect();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for e in shared
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        match counts.iter_mut().find(|(k, _)| k == e) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.clone(), 1)),
        }
    }
    report.errors = counts;
    Ok(report)
}

impl Report {
    /// The report as text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("timeline (ms after the fault):\n");
        for (ms, s, k, m) in &self.timeline {
            out.push_str(&format!("{ms:>8}  {s:<16} {k} {m}\n"));
        }
        out.push_str(&format!("\nprimary before: {}\n", self.old_primary));
        out.push_str(&format!(
            "primary after:  {}\n",
            self.new_primary.as_deref().unwrap_or("none agreed")
        ));
        out.push_str(&format!(
            "writes acknowledged: {}; longest time without a write: {} ms",
            self.acked, self.unavailable_ms
        ));
        if !self.lost.is_empty() {
            out.push_str(&format!(
                " ({} ms counting only the writes that were kept)",
                self.unavailable_kept_ms
            ));
        }
        out.push('\n');
        if let Some(s) = &self.split {
            out.push_str(&format!(
                "old primary's side of the {} ms partition: {} writes acknowledged while cut off, \
                 {} more after healing until it was made a replica; lost: {}\n",
                s.partition_ms, s.acked_during, s.acked_after, s.lost
            ));
        }
        out.push_str(&format!(
            "acknowledged writes missing on the new primary: {}{}\n",
            self.lost.len(),
            if self.lost.is_empty() {
                String::new()
            } else {
                format!(
                    " (drill:{}{})",
                    self.lost
                        .iter()
                        .take(10)
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", drill:"),
                    if self.lost.len() > 10 { ", ..." } else { "" }
                )
            }
        ));
        if !self.errors.is_empty() {
            let e: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect();
            out.push_str(&format!("failed writes: {}\n", e.join(", ")));
        }
        if let Some(r) = self.old_primary_rejoined {
            out.push_str(&format!(
                "old primary rejoined as a replica: {}\n",
                if r { "yes" } else { "no" }
            ));
        }
        out
    }
}
