//! `redoubt drill <fault>`: break a running deployment while a client writes through sentinel
//! discovery, and report what happened: the sentinels' events on a timeline, how long writes
//! were impossible, which acknowledged writes the new primary lacks, and whether the old
//! primary came back as a replica.

use super::client::{info_field, text, Client};
use super::{Plan, Role};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
}

impl Fault {
    /// Parses a fault's name as the command line gives it.
    pub fn parse(s: &str) -> Option<Fault> {
        Some(match s {
            "kill-primary" => Fault::KillPrimary,
            "pause-primary" => Fault::PausePrimary,
            "restart-primary" => Fault::RestartPrimary,
            "kill-replica" => Fault::KillReplica,
            "kill-sentinel" => Fault::KillSentinel,
            _ => return None,
        })
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
    /// Writes the client saw acknowledged.
    pub acked: usize,
    /// Acknowledged writes missing from the new primary afterwards.
    pub lost: Vec<u64>,
    /// Whether the old primary runs as a replica of the new one at the end (None when the
    /// drill did not touch the primary).
    pub old_primary_rejoined: Option<bool>,
    /// Writes that failed, by reason.
    pub errors: Vec<(String, usize)>,
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

struct Shared {
    stop: AtomicBool,
    acked: Mutex<Vec<(u64, Instant)>>,
    errors: Mutex<Vec<String>>,
    events: Mutex<Vec<(Instant, String, String, String)>>,
}

/// The writer: SET drill:<n> through whatever primary the sentinels name, rediscovering it
/// after any error.
fn writer(plan: Plan, shared: Arc<Shared>) {
    let mut seq = 0u64;
    let mut conn: Option<Client> = None;
    while !shared.stop.load(Ordering::SeqCst) {
        if conn.is_none() {
            conn = discover(&plan).and_then(|(h, p)| {
                Client::connect(&h, p, Some(&plan.password), Duration::from_millis(200)).ok()
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
        let r = conn.as_mut().map(|c| c.call(&["SET", &key, &value]));
        match r {
            Some(Ok(resp::Frame::Simple(ok))) if ok == b"OK" => {
                shared
                    .acked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((seq, Instant::now()));
            }
            Some(Ok(resp::Frame::Error(e))) => {
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

/// Runs a drill against the deployment in `plan.dir`; `pause` is how long pause-primary
/// stops the primary; `settle` bounds the wait for a new stable state.
pub fn run(plan: &Plan, fault: Fault, pause: Duration, settle: Duration) -> Result<Report, String> {
    let (old_host, old_port) =
        discover(plan).ok_or("no sentinel names a primary: is the deployment up?")?;
    let old_name = plan
        .nodes()
        .into_iter()
        .find(|n| n.port == old_port && n.role != Role::Sentinel)
        .map(|n| n.name)
        .ok_or("the primary is not one of this deployment's servers")?;
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        acked: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        events: Mutex::new(Vec::new()),
    });
    let mut threads = Vec::new();
    for port in sentinels_of(plan) {
        let (p, s) = (plan.clone(), shared.clone());
        threads.push(std::thread::spawn(move || listen(&p, port, s)));
    }
    {
        let (p, s) = (plan.clone(), shared.clone());
        threads.push(std::thread::spawn(move || writer(p, s)));
    }
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    let touches_primary = matches!(
        fault,
        Fault::KillPrimary | Fault::PausePrimary | Fault::RestartPrimary
    );
    let deadline = t0 + settle;
    match fault {
        Fault::KillPrimary => {
            let pid = signal(plan, &old_name, libc::SIGKILL)?;
            wait_gone(pid, Duration::from_secs(5));
            // Back once the sentinels moved on (or at the deadline), as a primary that must
            // be turned into a replica.
            while Instant::now() < deadline {
                if discover(plan).is_some_and(|a| a.1 != old_port) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            restart(plan, &old_name)?;
        }
        Fault::PausePrimary => {
            signal(plan, &old_name, libc::SIGSTOP)?;
            std::thread::sleep(pause);
            signal(plan, &old_name, libc::SIGCONT)?;
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
            std::thread::sleep(pause);
            restart(plan, &victim.name)?;
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
            Some(a) if a.1 != old_port => Client::connect(
                &old_host,
                old_port,
                Some(&plan.password),
                Duration::from_millis(300),
            )
            .and_then(|mut c| c.call_text(&["INFO", "replication"]))
            .is_ok_and(|i| {
                info_field(&i, "role").as_deref() == Some("slave")
                    && info_field(&i, "master_port").as_deref() == Some(&a.1.to_string())
                    && info_field(&i, "master_link_status").as_deref() == Some("up")
            }),
            _ => true,
        };
        if settled && (rejoined || !touches_primary) && t0.elapsed() > Duration::from_secs(2) {
            report.new_primary = now_primary.map(|a| format!("{}:{}", a.0, a.1));
            break;
        }
        if Instant::now() > deadline {
            report.new_primary = now_primary.map(|a| format!("{}:{}", a.0, a.1));
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    shared.stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    let acked = std::mem::take(&mut *shared.acked.lock().unwrap_or_else(|e| e.into_inner()));
    report.acked = acked.len();
    // The longest gap between acknowledged writes from just before the fault on.
    let mut last = t0;
    for (_, at) in acked.iter().filter(|(_, at)| *at >= t0) {
        report.unavailable_ms = report
            .unavailable_ms
            .max(at.duration_since(last).as_millis() as i64);
        last = *at;
    }
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
                let keys: Vec<String> = chunk.iter().map(|(s, _)| format!("drill:{s}")).collect();
                let mut args = vec!["MGET"];
                args.extend(keys.iter().map(String::as_str));
                if let Ok(resp::Frame::Array(vals)) = c.call(&args) {
                    for ((seq, _), v) in chunk.iter().zip(vals) {
                        if matches!(v, resp::Frame::Null) {
                            report.lost.push(*seq);
                        }
                    }
                }
            }
        }
    }
    if touches_primary {
        report.old_primary_rejoined = Some(
            Client::connect(
                &old_host,
                old_port,
                Some(&plan.password),
                Duration::from_millis(500),
            )
            .and_then(|mut c| c.call_text(&["INFO", "replication"]))
            .is_ok_and(|i| info_field(&i, "role").as_deref() == Some("slave")),
        );
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
            "writes acknowledged: {}; longest time without a write: {} ms\n",
            self.acked, self.unavailable_ms
        ));
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
