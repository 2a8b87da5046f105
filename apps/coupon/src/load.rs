//! `coupon load`: simulated users competing for a campaign, optionally through a fault, and
//! a check afterwards that what the clients were told matches what the database kept.
//!
//! It starts its own deployment (servers and sentinels through `redoubt up`, the API, the
//! workers and a SQLite file, all on free ports in a temporary directory) unless it is given a
//! running one (`--api`, or `--sentinel` to start only the API and the workers). With
//! `--drill` it runs `redoubt drill` so the fault lands in the middle of the load, and keeps
//! the load going until the drill has finished.
//!
//! Each user sends one request (and, for the `--duplicates` fraction, a second one with a new
//! idempotency key, which must get 409); on 503 or a connection error it retries the SAME
//! request (same idempotency key) until `--client-deadline-ms`. Once the workers have drained,
//! the report checks: coupons persisted ≤ quantity, each seq in range and unique, no user with
//! two, and every 201 a client received is in the database (else it counts as
//! confirmed-but-lost).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Parser};
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::model::Coupon;

/// A request slower than this counts as a sign of unavailability.
pub const SLOW_MS: f64 = 1_000.0;

/// How long after it starts `redoubt drill` injects its fault (it watches the deployment
/// for 2 s first).
pub const DRILL_LEAD: Duration = Duration::from_millis(2_300);

/// `coupon load` options.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Simulated users, each wanting one coupon.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Coupons in the campaign.
    #[arg(long, default_value_t = 1_000)]
    pub quantity: u64,
    /// Users arriving per second (0: as fast as --concurrency allows).
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,
    /// Most requests in flight at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Fraction of users who send a second request with a new idempotency key (must get 409).
    #[arg(long, default_value_t = 0.05)]
    pub duplicates: f64,
    /// How long a user keeps retrying one request on 503 / connection errors (ms).
    #[arg(long, default_value_t = 60_000)]
    pub client_deadline_ms: u64,
    /// A running API (`http://host:port`): use it instead of starting a deployment.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// A running deployment's sentinel (repeat): start only the API and workers against it.
    #[arg(long = "sentinel", value_name = "HOST:PORT")]
    pub sentinels: Vec<String>,
    /// The name the sentinels monitor the primary under.
    #[arg(long, default_value = "myprimary")]
    pub master_name: String,
    /// The data servers' password.
    #[arg(long, default_value = "1111")]
    pub password: String,
    /// A running deployment's directory (as given to `redoubt up`), for --drill.
    #[arg(long, value_name = "DIR")]
    pub deploy_dir: Option<PathBuf>,
    /// The database the self-started API and workers use (default: SQLite in the work dir).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// `async` or `replicated`, passed to the API and the workers.
    #[arg(long, default_value = "async", value_parser = ["async", "replicated"])]
    pub durability: String,
    /// Workers persisting the streams.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// The API's --deadline-ms (how long it waits for the store before 503).
    #[arg(long)]
    pub deadline_ms: Option<u64>,
    /// Break the deployment in the middle of the load: kill-primary, pause-primary,
    /// partition-primary (or any other `redoubt drill` fault).
    #[arg(long, value_name = "FAULT")]
    pub drill: Option<String>,
    /// The drill's --pause-ms.
    #[arg(long, default_value_t = 5_000)]
    pub pause_ms: u64,
    /// The drill's --settle-secs.
    #[arg(long, default_value_t = 60)]
    pub settle_secs: u64,
    /// Run this server program instead of Redoubt's (passed to `redoubt up`).
    #[arg(long)]
    pub server_bin: Option<String>,
    /// Run this sentinel program instead of Redoubt's (passed to `redoubt up`).
    #[arg(long)]
    pub sentinel_bin: Option<String>,
    /// The `redoubt` program (default: next to this one, then $PATH).
    #[arg(long)]
    pub redoubt_bin: Option<PathBuf>,
    /// The `coupon` program to run the API and workers with (default: this one).
    #[arg(long)]
    pub coupon_bin: Option<PathBuf>,
    /// The sentinels' down-after-milliseconds (default 1000 for a self-started deployment).
    #[arg(long)]
    pub down_after_ms: Option<u64>,
    /// The self-started primary's port (replicas follow; default: a free random range).
    #[arg(long)]
    pub base_port: Option<u16>,
    /// The self-started first sentinel's port (default: a free random range).
    #[arg(long)]
    pub sentinel_port: Option<u16>,
    /// Work in this directory and keep it (default: a temporary one, removed on success).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// How long to wait for the workers to drain (s).
    #[arg(long, default_value_t = 60)]
    pub drain_secs: u64,
}

#[derive(Parser)]
struct Wrap {
    #[command(flatten)]
    args: LoadArgs,
}

impl LoadArgs {
    /// Options from command-line words (without the program name), for tests.
    pub fn parse_from<I: IntoIterator<Item = S>, S: Into<String>>(
        words: I,
    ) -> Result<LoadArgs, String> {
        let mut all = vec!["load".to_string()];
        all.extend(words.into_iter().map(Into::into));
        Wrap::try_parse_from(all)
            .map(|w| w.args)
            .map_err(|e| e.to_string())
    }
}

/// What kind of request a user sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The user's request for a coupon.
    First,
    /// A second request with a new idempotency key: must get 409 if the user holds one.
    Duplicate,
    /// A winner sending its request again (same key) while a drill runs: must get the same
    /// coupon back.
    Replay,
}

/// What one HTTP attempt got.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An HTTP response.
    Status {
        /// Its status code.
        code: u16,
        /// The coupon in the body (201, 409).
        coupon: Option<String>,
        /// `replayed` in a 201's body.
        replayed: bool,
        /// `error` in the body.
        error: Option<String>,
    },
    /// No response: connection refused or reset, timeout …
    Transport(String),
}

impl Outcome {
    /// Whether the user retries this (same idempotency key).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Outcome::Transport(_) | Outcome::Status { code: 503, .. }
        )
    }

    /// Whether the store gave a definite answer (issued, duplicate, sold out, not started).
    pub fn definite(&self) -> bool {
        matches!(
            self,
            Outcome::Status {
                code: 200..=299 | 403 | 404 | 409 | 410,
                ..
            }
        )
    }

    /// The outcome's class, for counting.
    pub fn class(&self) -> String {
        match self {
            Outcome::Status {
                code: 201,
                replayed: true,
                ..
            } => "201 replayed".into(),
            Outcome::Status {
                code,
                error: Some(e),
                ..
            } if *code >= 400 => {
                format!("{code} {}", generic(e, 70))
            }
            Outcome::Status { code, .. } => code.to_string(),
            Outcome::Transport(e) => generic(e, 80),
        }
    }
}

/// `s` with every word holding a digit (ids, addresses, counts) replaced by `*`, shortened
/// to `n` characters, so that messages about different users count as one kind.
fn generic(s: &str, n: usize) -> String {
    let words: Vec<&str> = s
        .split(' ')
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                "*"
            } else {
                w
            }
        })
        .collect();
    short(&words.join(" "), n)
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// One HTTP attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When it was sent (ms after the load started).
    pub sent_ms: f64,
    /// How long until the answer (or failure) (ms).
    pub latency_ms: f64,
    /// What it got.
    pub outcome: Outcome,
}

impl Attempt {
    /// When it completed (ms after the load started).
    pub fn done_ms(&self) -> f64 {
        self.sent_ms + self.latency_ms
    }
}

/// One logical request: a user, an idempotency key, its attempts.
#[derive(Debug, Clone)]
pub struct Req {
    /// The user.
    pub user: String,
    /// The idempotency key (the same for every attempt).
    pub key: String,
    /// Why it was sent.
    pub kind: Kind,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// The user gave up (client deadline) while it still failed.
    pub gave_up: bool,
    /// When the user wanted to send it (ms after the load started); earlier than the first
    /// attempt when every slot (--concurrency) was busy.
    pub arrived_ms: f64,
}

impl Req {
    /// The last attempt's outcome.
    pub fn last(&self) -> Option<&Outcome> {
        self.attempts.last().map(|a| &a.outcome)
    }

    /// The coupon a 201 confirmed to the client, if any.
    pub fn confirmed(&self) -> Option<&str> {
        self.attempts.iter().find_map(|a| match &a.outcome {
            Outcome::Status {
                code: 201,
                coupon: Some(c),
                ..
            } => Some(c.as_str()),
            _ => None,
        })
    }

    /// From wanting to send to the last answer (ms): what the user waited, including
    /// retries and waiting for a free slot.
    pub fn latency_ms(&self) -> f64 {
        self.attempts
            .last()
            .map(|b| b.done_ms() - self.arrived_ms)
            .unwrap_or(0.0)
    }
}

/// The invariants, checked over the requests and the database's coupons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Check {
    /// Coupons in the database.
    pub persisted: usize,
    /// More coupons persisted than exist.
    pub over_quantity: bool,
    /// Coupons whose seq is 0 or above the quantity.
    pub out_of_range: Vec<String>,
    /// Coupon ids or seqs persisted more than once.
    pub duplicate_coupons: Vec<String>,
    /// Users holding two coupons in the database.
    pub users_with_two: Vec<String>,
    /// Users who received 201s with two different coupons.
    pub clients_with_two: Vec<String>,
    /// Distinct (user, coupon) pairs clients received a 201 for.
    pub confirmed: usize,
    /// Confirmed coupons missing from the database (or held there by someone else).
    pub lost: Vec<String>,
    /// Definite answers denying a coupon the user had been confirmed: a second request
    /// answered other than 409, or a replay not given the same coupon.
    pub denied: Vec<String>,
}

impl Check {
    /// Whether every invariant holds.
    pub fn holds(&self) -> bool {
        !self.over_quantity
            && self.out_of_range.is_empty()
            && self.duplicate_coupons.is_empty()
            && self.users_with_two.is_empty()
            && self.clients_with_two.is_empty()
            && self.lost.is_empty()
            && self.denied.is_empty()
    }
}

/// Checks the invariants over what the clients received and what the database holds.
pub fn check(quantity: u64, reqs: &[Req], db: &[Coupon]) -> Check {
    let mut c = Check {
        persisted: db.len(),
        over_quantity: db.len() as u64 > quantity,
        ..Check::default()
    };
    let mut ids = HashSet::new();
    let mut seqs = HashSet::new();
    let mut by_user: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut holder: HashMap<&str, &str> = HashMap::new();
    for k in db {
        if k.seq == 0 || k.seq > quantity {
            c.out_of_range.push(k.coupon.clone());
        }
        if !ids.insert(k.coupon.as_str()) {
            c.duplicate_coupons.push(k.coupon.clone());
        } else if !seqs.insert(k.seq) {
            c.duplicate_coupons.push(format!("seq {}", k.seq));
        }
        by_user.entry(&k.user).or_default().push(&k.coupon);
        holder.insert(&k.coupon, &k.user);
    }
    for (user, coupons) in by_user {
        if coupons.len() > 1 {
            c.users_with_two
                .push(format!("{user} ({})", coupons.join(", ")));
        }
    }
    // What each user was confirmed, over all its requests.
    let mut told: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in reqs {
        for a in &r.attempts {
            if let Outcome::Status {
                code: 201,
                coupon: Some(k),
                ..
            } = &a.outcome
            {
                let v = told.entry(&r.user).or_default();
                if !v.contains(&k.as_str()) {
                    v.push(k);
                }
            }
        }
    }
    for (user, coupons) in &told {
        if coupons.len() > 1 {
            c.clients_with_two
                .push(format!("{user} ({})", coupons.join(", ")));
        }
        for k in coupons {
            c.confirmed += 1;
            match holder.get(k) {
                Some(u) if u == user => {}
                Some(u) => c
                    .lost
                    .push(format!("{k} (confirmed to {user}, persisted for {u})")),
                None => c.lost.push(format!("{k} (confirmed to {user})")),
            }
        }
    }
    for r in reqs.iter().filter(|r| r.kind != Kind::First) {
        let Some(held) = told.get(r.user.as_str()) else {
            continue;
        };
        // Only answers after the coupon was confirmed count.
        let first_confirm = reqs
            .iter()
            .filter(|o| o.user == r.user)
            .flat_map(|o| o.attempts.iter())
            .filter(|a| matches!(a.outcome, Outcome::Status { code: 201, .. }))
            .map(Attempt::done_ms)
            .fold(f64::INFINITY, f64::min);
        for a in r
            .attempts
            .iter()
            .filter(|a| a.sent_ms >= first_confirm && a.outcome.definite())
        {
            let ok = match (&a.outcome, r.kind) {
                (Outcome::Status { code: 409, .. }, Kind::Duplicate) => true,
                (
                    Outcome::Status {
                        code: 201,
                        coupon: Some(k),
                        ..
                    },
                    Kind::Replay,
                ) => held.contains(&k.as_str()),
                _ => false,
            };
            if !ok {
                c.denied
                    .push(format!("{} {:?}: {}", r.user, r.kind, a.outcome.class()));
            }
        }
    }
    c
}

/// The `q` quantile (0..=1) of sorted values by nearest rank; 0 when there are none.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50, p99 and max of some latencies (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

impl Latency {
    /// Of these values.
    pub fn of(mut v: Vec<f64>) -> Latency {
        v.sort_by(f64::total_cmp);
        Latency {
            p50: percentile(&v, 0.5),
            p99: percentile(&v, 0.99),
            max: v.last().copied().unwrap_or(0.0),
        }
    }
}

/// When user `i` arrives, at `rate` users per second (0: all at once).
pub fn arrival(i: usize, rate: f64) -> Duration {
    if rate <= 0.0 || !rate.is_finite() {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(i as f64 / rate)
}

/// When to start a drill that injects its fault `lead` after it starts, so the fault lands
/// in the middle of `users` arrivals; the second value says whether it can only land later.
pub fn drill_start(users: usize, rate: f64, lead: Duration) -> (Duration, bool) {
    let mid = arrival(users, rate) / 2;
    (mid.saturating_sub(lead), mid < lead)
}

/// Whether user `i` sends a second request with a new key: exactly `fraction` of the users,
/// spread evenly.
pub fn sends_duplicate(i: usize, fraction: f64) -> bool {
    let f = fraction.clamp(0.0, 1.0);
    ((i + 1) as f64 * f).floor() > (i as f64 * f).floor()
}

/// How available the service looked to the clients.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Unavailability {
    /// From the first failed or slow (> [`SLOW_MS`]) attempt's send to the last one's end (ms
    /// after the start), if there was any.
    pub window: Option<(f64, f64)>,
    /// Attempts that failed (no definite answer) or were slow.
    pub bad_attempts: usize,
    /// The longest time between two definite answers (ms), and when it began.
    pub longest_gap: (f64, f64),
}

impl Unavailability {
    /// The window's length (ms), 0 without one.
    pub fn window_ms(&self) -> f64 {
        self.window.map(|(a, b)| b - a).unwrap_or(0.0)
    }
}

/// The unavailability seen over these attempts.
pub fn unavailability<'a>(attempts: impl IntoIterator<Item = &'a Attempt>) -> Unavailability {
    let mut u = Unavailability::default();
    let mut answers = Vec::new();
    for a in attempts {
        if !a.outcome.definite() || a.latency_ms > SLOW_MS {
            u.bad_attempts += 1;
            u.window = Some(match u.window {
                None => (a.sent_ms, a.done_ms()),
                Some((s, e)) => (s.min(a.sent_ms), e.max(a.done_ms())),
            });
        }
        if a.outcome.definite() {
            answers.push(a.done_ms());
        }
    }
    answers.sort_by(f64::total_cmp);
    for w in answers.windows(2) {
        if w[1] - w[0] > u.longest_gap.0 {
            u.longest_gap = (w[1] - w[0], w[0]);
        }
    }
    u
}

/// Counts of each class of outcome.
pub fn tally<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Vec<(String, usize)> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for o in outcomes {
        *m.entry(o.class()).or_default() += 1;
    }
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// What a load run saw and checked.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// The campaign's id.
    pub campaign: String,
    /// Its quantity.
    pub quantity: u64,
    /// Simulated users.
    pub users: usize,
    /// The durability the API ran with (as far as we know).
    pub durability: String,
    /// What ran the store (`redoubt`, a program, or `external`).
    pub store: String,
    /// The drill's fault, if any.
    pub drill: Option<String>,
    /// What the drill printed.
    pub drill_output: String,
    /// Every logical request.
    pub reqs: Vec<Req>,
    /// From the first arrival to the last answer (s).
    pub load_secs: f64,
    /// The campaign's stats after draining.
    pub stats: Option<Value>,
    /// The workers drained within the wait.
    pub drained: bool,
    /// Conflicts the workers recorded.
    pub conflicts: Vec<String>,
    /// The invariants.
    pub check: Check,
    /// Remarks (late drill, …).
    pub notes: Vec<String>,
    /// Where the logs are, when kept.
    pub dir: Option<PathBuf>,
}

impl LoadReport {
    /// Whether every invariant held (and the workers drained so they could be checked).
    pub fn invariants_hold(&self) -> bool {
        self.drained && self.check.holds()
    }

    /// Attempts over all requests.
    pub fn attempts(&self) -> impl Iterator<Item = &Attempt> {
        self.reqs.iter().flat_map(|r| r.attempts.iter())
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let c = &self.check;
        let line = |o: &mut String, s: String| {
            o.push_str(&s);
            o.push('\n');
        };
        if !self.drill_output.is_empty() {
            line(
                &mut o,
                format!(
                    "--- redoubt drill {} ---",
                    self.drill.as_deref().unwrap_or("")
                ),
            );
            o.push_str(&self.drill_output);
            if !self.drill_output.ends_with('\n') {
                o.push('\n');
            }
            line(&mut o, "---".into());
        }
        line(
            &mut o,
            format!(
                "campaign {} ({} coupons), {} users, store {}, durability {}{}",
                self.campaign,
                self.quantity,
                self.users,
                self.store,
                self.durability,
                self.drill
                    .as_ref()
                    .map(|d| format!(", drill {d}"))
                    .unwrap_or_default()
            ),
        );
        let attempts = self.attempts().count();
        let retried = self.reqs.iter().filter(|r| r.attempts.len() > 1).count();
        line(
            &mut o,
            format!(
                "requests: {} ({} attempts, {} retried) in {:.1} s: {:.0} requests/s",
                self.reqs.len(),
                attempts,
                retried,
                self.load_secs,
                self.reqs.len() as f64 / self.load_secs.max(1e-3)
            ),
        );
        for kind in [Kind::First, Kind::Duplicate, Kind::Replay] {
            let of: Vec<&Req> = self.reqs.iter().filter(|r| r.kind == kind).collect();
            if of.is_empty() {
                continue;
            }
            let t = tally(of.iter().filter_map(|r| r.last()));
            let gave_up = of.iter().filter(|r| r.gave_up).count();
            let parts: Vec<String> = t.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            line(
                &mut o,
                format!(
                    "  {:<9} {}: {}{}",
                    format!("{kind:?}").to_lowercase(),
                    of.len(),
                    parts.join(", "),
                    if gave_up > 0 {
                        format!(" (gave up after the client deadline: {gave_up})")
                    } else {
                        String::new()
                    }
                ),
            );
        }
        let failed: Vec<&Outcome> = self
            .attempts()
            .map(|a| &a.outcome)
            .filter(|o| !o.definite())
            .collect();
        if !failed.is_empty() {
            let parts: Vec<String> = tally(failed.iter().copied())
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect();
            line(&mut o, format!("failed attempts: {}", parts.join(", ")));
        }
        let lat = Latency::of(self.reqs.iter().map(Req::latency_ms).collect());
        let att = Latency::of(self.attempts().map(|a| a.latency_ms).collect());
        line(
            &mut o,
            format!(
                "latency (ms): request p50 {:.1} p99 {:.1} max {:.0}; attempt p50 {:.1} p99 {:.1} max {:.0}",
                lat.p50, lat.p99, lat.max, att.p50, att.p99, att.max
            ),
        );
        let u = unavailability(self.attempts());
        line(
            &mut o,
            match u.window {
                Some((s, e)) => format!(
                    "unavailability: {:.0} ms ({} failed or slow attempts from {:.0} to {:.0} ms); longest gap between answers {:.0} ms at {:.0} ms",
                    e - s,
                    u.bad_attempts,
                    s,
                    e,
                    u.longest_gap.0,
                    u.longest_gap.1
                ),
                None => format!(
                    "unavailability: none (no failed or slow attempt); longest gap between answers {:.0} ms at {:.0} ms",
                    u.longest_gap.0, u.longest_gap.1
                ),
            },
        );
        if let Some(s) = &self.stats {
            line(&mut o, format!("stats after drain: {s}"));
        }
        let verdict = |ok: bool| if ok { "ok" } else { "BROKEN" };
        line(
            &mut o,
            format!(
                "checks{}:",
                if self.drained {
                    ""
                } else {
                    " (the workers did NOT drain: BROKEN)"
                }
            ),
        );
        line(
            &mut o,
            format!(
                "  {:<6} coupons persisted {} ≤ quantity {}",
                verdict(!c.over_quantity),
                c.persisted,
                self.quantity
            ),
        );
        line(
            &mut o,
            format!(
                "  {:<6} seqs in 1..={} and unique{}",
                verdict(c.out_of_range.is_empty() && c.duplicate_coupons.is_empty()),
                self.quantity,
                listing(&[&c.out_of_range[..], &c.duplicate_coupons[..]].concat())
            ),
        );
        line(
            &mut o,
            format!(
                "  {:<6} no user with two coupons{}",
                verdict(c.users_with_two.is_empty() && c.clients_with_two.is_empty()),
                listing(&[&c.users_with_two[..], &c.clients_with_two[..]].concat())
            ),
        );
        line(
            &mut o,
            format!(
                "  {:<6} every 201 is in the database: {} confirmed, confirmed-but-lost {}{}",
                verdict(c.lost.is_empty()),
                c.confirmed,
                c.lost.len(),
                listing(&c.lost)
            ),
        );
        line(
            &mut o,
            format!(
                "  {:<6} later requests of confirmed users: none denied their coupon{}",
                verdict(c.denied.is_empty()),
                listing(&c.denied)
            ),
        );
        if !self.conflicts.is_empty() {
            line(
                &mut o,
                format!(
                    "conflicts recorded by the workers: {}{}",
                    self.conflicts.len(),
                    listing(&self.conflicts)
                ),
            );
        }
        for n in &self.notes {
            line(&mut o, format!("note: {n}"));
        }
        if let Some(d) = &self.dir {
            line(&mut o, format!("logs in {}", d.display()));
        }
        line(
            &mut o,
            format!(
                "invariants {}",
                if self.invariants_hold() {
                    "hold"
                } else {
                    "BROKEN"
                }
            ),
        );
        o
    }
}

fn listing(v: &[String]) -> String {
    if v.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = v.iter().take(5).map(String::as_str).collect();
    format!(
        ": {}{}",
        shown.join("; "),
        if v.len() > 5 {
            format!("; … ({} in all)", v.len())
        } else {
            String::new()
        }
    )
}

// ---------------------------------------------------------------------------------------
// Processes

/// Children that are stopped (SIGTERM, then SIGKILL) when this is dropped, last started first.
#[derive(Default)]
struct Procs {
    list: Vec<(String, Child)>,
    /// Remove this directory once they are stopped.
    remove: Option<PathBuf>,
}

impl Procs {
    fn stop(&mut self, name: &str) -> Option<std::process::ExitStatus> {
        let i = self.list.iter().position(|(n, _)| n == name)?;
        let (_, mut child) = self.list.remove(i);
        Some(stop_child(&mut child))
    }

    fn stop_all(&mut self) {
        while let Some((_, mut child)) = self.list.pop() {
            stop_child(&mut child);
        }
    }
}

fn stop_child(child: &mut Child) -> std::process::ExitStatus {
    if let Ok(Some(s)) = child.try_wait() {
        return s;
    }
    // SAFETY: signalling our own child, which has not been reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child
        .wait()
        .unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(9))
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop_all();
        if let Some(d) = self.remove.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The lines a child printed, and a channel that gets each as it comes.
struct Output {
    lines: Arc<Mutex<Vec<String>>>,
    rx: mpsc::Receiver<String>,
}

impl Output {
    fn text(&self) -> String {
        let l = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        l.iter().map(|s| format!("{s}\n")).collect()
    }
}

/// Starts `program args`, its stderr (and stdout unless captured) into `log`; dies with us.
fn spawn(
    procs: &mut Procs,
    name: &str,
    program: &Path,
    args: &[String],
    log: &Path,
    capture: bool,
) -> Result<Option<Output>, String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut c = Command::new(program);
    c.args(args)
        .stdin(Stdio::null())
        .stderr(file.try_clone().map_err(|e| e.to_string())?);
    c.stdout(if capture {
        Stdio::piped()
    } else {
        Stdio::from(file)
    });
    // SAFETY: prctl between fork and exec only sets the child's death signal.
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = c
        .spawn()
        .map_err(|e| format!("cannot start {name} ({}): {e}", program.display()))?;
    let out = child.stdout.take().map(|stdout| {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let (l, log) = (lines.clone(), log.to_path_buf());
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new().append(true).open(log).ok();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(f) = file.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
                l.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line.clone());
                let _ = tx.send(line);
            }
        });
        Output { lines, rx }
    });
    procs.list.push((name.to_string(), child));
    Ok(out)
}

fn exited(procs: &mut Procs, name: &str) -> Option<std::process::ExitStatus> {
    procs
        .list
        .iter_mut()
        .find(|(n, _)| n == name)
        .and_then(|(_, c)| c.try_wait().ok().flatten())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// A program next to this one (or next to its directory, for test binaries), else in $PATH.
fn sibling(name: &str) -> PathBuf {
    if let Ok(me) = std::env::current_exe() {
        let mut dir = me.parent().map(Path::to_path_buf);
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let p = d.join(name);
            if p.is_file() {
                return p;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    PathBuf::from(name)
}

fn coupon_program(args: &LoadArgs) -> PathBuf {
    if let Some(p) = &args.coupon_bin {
        return p.clone();
    }
    match std::env::current_exe() {
        Ok(me) if me.file_stem().is_some_and(|s| s == "coupon") => me,
        _ => sibling("coupon"),
    }
}

/// A range of `n` consecutive ports from `base` that all bind now.
fn ports_free(base: u16, n: u16) -> bool {
    (0..n).all(|i| {
        base.checked_add(i)
            .is_some_and(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
    })
}

fn pick_ports(args: &LoadArgs) -> Result<(u16, u16), String> {
    let mut rng = rand::thread_rng();
    for _ in 0..100 {
        let base = args
            .base_port
            .unwrap_or_else(|| rng.gen_range(20_000..50_000));
        let sent = args.sentinel_port.unwrap_or_else(|| base + 10);
        if ports_free(base, 3) && ports_free(sent, 3) {
            return Ok((base, sent));
        }
        if args.base_port.is_some() && args.sentinel_port.is_some() {
            break;
        }
    }
    Err("found no free ports for the deployment (give --base-port and --sentinel-port)".into())
}

async fn redis_query<T: redis::FromRedisValue>(url: &str, cmd: &redis::Cmd) -> Result<T, String> {
    let work = async {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let mut c = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        cmd.query_async::<T>(&mut c)
            .await
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(Duration::from_secs(1), work)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// Whether every server answers, both replicas are linked, and each sentinel knows the
/// replicas and the other sentinels; the first thing missing otherwise.
async fn deployment_ready(
    base: u16,
    sent: u16,
    password: &str,
    master: &str,
) -> Result<(), String> {
    let server = |p: u16| format!("redis://:{password}@127.0.0.1:{p}");
    let pong: String = redis_query(&server(base), &redis::cmd("PING"))
        .await
        .map_err(|e| format!("primary: {e}"))?;
    if pong != "PONG" {
        return Err(format!("primary answered {pong}"));
    }
    for p in [base + 1, base + 2] {
        let info: String = redis_query(&server(p), redis::cmd("INFO").arg("replication")).await?;
        if !info.lines().any(|l| l.trim() == "master_link_status:up") {
            return Err(format!("replica {p} not linked"));
        }
    }
    for p in sent..sent + 3 {
        let m: HashMap<String, String> = redis_query(
            &format!("redis://127.0.0.1:{p}"),
            redis::cmd("SENTINEL").arg("MASTER").arg(master),
        )
        .await?;
        if m.get("num-slaves").map(String::as_str) != Some("2")
            || m.get("num-other-sentinels").map(String::as_str) != Some("2")
        {
            return Err(format!("sentinel {p} does not know everyone yet"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// HTTP

struct Ctx {
    http: reqwest::Client,
    base: String,
    campaign: String,
    t0: Instant,
    deadline: Duration,
    slots: Semaphore,
}

async fn attempt(ctx: &Ctx, user: &str, key: &str, timeout: Duration) -> Outcome {
    let url = format!("{}/campaigns/{}/issue", ctx.base, ctx.campaign);
    let sent = ctx
        .http
        .post(url)
        .json(&json!({"user": user, "idempotency_key": key}))
        .timeout(timeout)
        .send()
        .await;
    match sent {
        Err(e) => Outcome::Transport(transport(&e)),
        Ok(resp) => {
            let code = resp.status().as_u16();
            match resp.json::<Value>().await {
                Ok(v) => Outcome::Status {
                    code,
                    coupon: v.get("coupon").and_then(Value::as_str).map(str::to_string),
                    replayed: v.get("replayed").and_then(Value::as_bool).unwrap_or(false),
                    error: v.get("error").and_then(Value::as_str).map(str::to_string),
                },
                Err(e) if code == 201 => {
                    Outcome::Transport(format!("201 with an unreadable body: {}", transport(&e)))
                }
                Err(_) => Outcome::Status {
                    code,
                    coupon: None,
                    replayed: false,
                    error: None,
                },
            }
        }
    }
}

fn transport(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "client timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "connection failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut root = None;
    while let Some(s) = source {
        root = Some(s.to_string());
        source = s.source();
    }
    match root {
        Some(r) if !e.is_timeout() => format!("{what} ({})", short(&r, 50)),
        _ => what.to_string(),
    }
}

/// Sends one logical request, retrying it (same key) on 503 / transport errors until the
/// client deadline.
async fn request(ctx: &Ctx, user: String, key: String, kind: Kind) -> Req {
    let start = Instant::now();
    let mut req = Req {
        user,
        key,
        kind,
        attempts: Vec::new(),
        gave_up: false,
        arrived_ms: start.duration_since(ctx.t0).as_secs_f64() * 1e3,
    };
    let mut pause = Duration::from_millis(50);
    loop {
        let left = ctx.deadline.saturating_sub(start.elapsed());
        let outcome = {
            let _slot = ctx.slots.acquire().await;
            let sent = Instant::now();
            let outcome = attempt(
                ctx,
                &req.user,
                &req.key,
                left.max(Duration::from_millis(100)),
            )
            .await;
            req.attempts.push(Attempt {
                sent_ms: sent.duration_since(ctx.t0).as_secs_f64() * 1e3,
                latency_ms: sent.elapsed().as_secs_f64() * 1e3,
                outcome: outcome.clone(),
            });
            outcome
        };
        if !outcome.retryable() {
            return req;
        }
        if start.elapsed() + pause >= ctx.deadline {
            req.gave_up = true;
            return req;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

async fn http_json(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let mut r = http.request(method, url).timeout(Duration::from_secs(40));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.map_err(|e| transport(&e))?;
    let code = resp.status().as_u16();
    let v = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((code, v))
}

// ---------------------------------------------------------------------------------------
// The run

/// `coupon load`: runs and prints the report; 0 if the invariants held, 1 if not, 2 if the
/// run itself failed.
pub async fn main(args: LoadArgs) -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("coupon load: {e}");
            return 2;
        }
    };
    tokio::select! {
        r = run(args) => match r {
            Ok(report) => {
                print!("{}", report.render());
                if report.invariants_hold() { 0 } else { 1 }
            }
            Err(e) => {
                eprintln!("coupon load: {e}");
                2
            }
        },
        _ = tokio::signal::ctrl_c() => { eprintln!("coupon load: interrupted; stopping everything"); 130 }
        _ = term.recv() => { eprintln!("coupon load: terminated; stopping everything"); 143 }
    }
}

fn progress(t: Instant, msg: impl std::fmt::Display) {
    eprintln!("[{:>7.2}s] {msg}", t.elapsed().as_secs_f64());
}

/// Runs the load described by `args` (starting whatever it must) and checks the result.
pub async fn run(args: LoadArgs) -> Result<LoadReport, String> {
    let started = Instant::now();
    if args.users == 0 || args.concurrency == 0 {
        return Err("--users and --concurrency must be at least 1".into());
    }
    let mut procs = Procs::default();
    let dir = match &args.keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!(
            "coupon-load-{}-{:06x}",
            std::process::id(),
            rand::thread_rng().gen::<u32>() & 0xff_ffff
        )),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dir = dir.canonicalize().unwrap_or(dir);
    let mut report = LoadReport {
        quantity: args.quantity,
        users: args.users,
        durability: args.durability.clone(),
        drill: args.drill.clone(),
        ..LoadReport::default()
    };
    let result = run_in(&args, &dir, &mut procs, &mut report, started).await;
    progress(started, "stopping the processes");
    procs.stop_all();
    let keep = args.keep.is_some() || result.is_err() || !report.invariants_hold();
    if keep {
        report.dir = Some(dir.clone());
        if let Err(e) = &result {
            return Err(format!("{e}\n(logs in {})", dir.display()));
        }
    } else {
        procs.remove = Some(dir);
    }
    result.map(|_| report)
}

async fn run_in(
    args: &LoadArgs,
    dir: &Path,
    procs: &mut Procs,
    report: &mut LoadReport,
    started: Instant,
) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let redoubt = args
        .redoubt_bin
        .clone()
        .unwrap_or_else(|| sibling("redoubt"));
    let mut deploy_dir = args.deploy_dir.clone();
    // The store.
    let sentinels: Vec<String> = if args.api.is_some() {
        report.store = "external".into();
        Vec::new()
    } else if !args.sentinels.is_empty() {
        report.store = "external".into();
        args.sentinels.clone()
    } else {
        report.store = match &args.server_bin {
            Some(b) => Path::new(b)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| b.clone()),
            None => "redoubt".into(),
        };
        let (base, sent) = pick_ports(args)?;
        let mut a: Vec<String> = vec![
            "up".into(),
            "--dir".into(),
            dir.display().to_string(),
            "--base-port".into(),
            base.to_string(),
            "--sentinel-port".into(),
            sent.to_string(),
            "--down-after-ms".into(),
            args.down_after_ms.unwrap_or(1_000).to_string(),
        ];
        if let Some(b) = &args.server_bin {
            a.extend(["--server-bin".into(), b.clone()]);
        }
        if let Some(b) = &args.sentinel_bin {
            a.extend(["--sentinel-bin".into(), b.clone()]);
        }
        progress(
            started,
            format!(
                "starting `{} up` on ports {base}-{} and {sent}-{} in {}",
                redoubt.display(),
                base + 2,
                sent + 2,
                dir.display()
            ),
        );
        spawn(procs, "up", &redoubt, &a, &dir.join("up.log"), true)?;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let why = match deployment_ready(base, sent, &args.password, &args.master_name).await {
                Ok(()) => break,
                Err(e) => e,
            };
            if let Some(s) = exited(procs, "up") {
                return Err(format!(
                    "`redoubt up` exited ({s}): {}",
                    tail(&dir.join("up.log"), 10)
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("the deployment is not ready after 90 s: {why}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        deploy_dir = Some(dir.to_path_buf());
        progress(started, "deployment ready");
        (sent..sent + 3).map(|p| format!("127.0.0.1:{p}")).collect()
    };
    // The API and the workers.
    let base_url = match &args.api {
        Some(a) if a.starts_with("http://") || a.starts_with("https://") => {
            a.trim_end_matches('/').to_string()
        }
        Some(a) => format!("http://{}", a.trim_end_matches('/')),
        None => {
            let coupon = coupon_program(args);
            let db = args
                .db
                .clone()
                .unwrap_or_else(|| format!("sqlite:{}", dir.join("coupon.db").display()));
            let mut store: Vec<String> = Vec::new();
            for s in &sentinels {
                store.extend(["--sentinel".into(), s.clone()]);
            }
            store.extend([
                "--master-name".into(),
                args.master_name.clone(),
                "--password".into(),
                args.password.clone(),
                "--durability".into(),
                args.durability.clone(),
            ]);
            if let Some(d) = args.deadline_ms {
                store.extend(["--deadline-ms".into(), d.to_string()]);
            }
            store.extend(["--db".into(), db]);
            let mut a = vec!["api".to_string(), "--listen".into(), "127.0.0.1:0".into()];
            a.extend(store.iter().cloned());
            let out = spawn(procs, "api", &coupon, &a, &dir.join("api.log"), true)?
                .ok_or("no api output")?;
            let deadline = Instant::now() + Duration::from_secs(30);
            let addr = loop {
                match out.rx.try_recv() {
                    Ok(l) => {
                        if let Some(addr) = l.strip_prefix("listening on ") {
                            break addr.trim().to_string();
                        }
                    }
                    Err(mpsc::TryRecvError::Disconnected) => {
                        return Err(format!(
                            "`coupon api` exited: {}",
                            tail(&dir.join("api.log"), 10)
                        ));
                    }
                    Err(mpsc::TryRecvError::Empty) => {
                        if Instant::now() > deadline {
                            return Err(
                                "`coupon api` did not say where it listens within 30 s".into()
                            );
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            };
            for i in 1..=args.workers {
                let mut a = vec!["worker".to_string()];
                a.extend(store.iter().cloned());
                a.extend(["--consumer".into(), format!("load-w{i}")]);
                spawn(
                    procs,
                    &format!("worker{i}"),
                    &coupon,
                    &a,
                    &dir.join(format!("worker{i}.log")),
                    false,
                )?;
            }
            let url = format!("http://{addr}");
            progress(started, format!("api on {url}, {} workers", args.workers));
            url
        }
    };
    // Healthy, then the campaign.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match http_json(
            &http,
            reqwest::Method::GET,
            &format!("{base_url}/health"),
            None,
        )
        .await
        {
            Ok((200, _)) => break,
            r if Instant::now() > deadline => {
                return Err(format!("the API is not healthy after 30 s: {r:?}"))
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let tag = format!("{:06x}", rand::thread_rng().gen::<u32>() & 0xff_ffff);
    let body = json!({"name": format!("load {tag}"), "quantity": args.quantity});
    let (code, v) = http_json(
        &http,
        reqwest::Method::POST,
        &format!("{base_url}/campaigns"),
        Some(body),
    )
    .await?;
    let campaign = match (code, v.get("id").and_then(Value::as_str)) {
        (200 | 201, Some(id)) => id.to_string(),
        _ => return Err(format!("creating the campaign got {code} {v}")),
    };
    report.campaign = campaign.clone();
    progress(
        started,
        format!(
            "campaign {campaign}: {} users for {} coupons at {}/s",
            args.users, args.quantity, args.rate
        ),
    );
    // The users.
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        base: base_url.clone(),
        campaign: campaign.clone(),
        t0: Instant::now(),
        deadline: Duration::from_millis(args.client_deadline_ms),
        slots: Semaphore::new(args.concurrency),
    });
    let drill_done = Arc::new(AtomicBool::new(args.drill.is_none()));
    let winners: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let load = {
        let (ctx, done, winners) = (ctx.clone(), drill_done.clone(), winners.clone());
        let (users, rate, dups) = (args.users, args.rate, args.duplicates);
        tokio::spawn(async move {
            let mut tasks = Vec::new();
            for i in 0..users {
                tokio::time::sleep_until((ctx.t0 + arrival(i, rate)).into()).await;
                let (ctx, winners, tag) = (ctx.clone(), winners.clone(), tag.clone());
                tasks.push(tokio::spawn(async move {
                    let user = format!("u{tag}-{i}");
                    let first = request(&ctx, user.clone(), format!("{user}-a"), Kind::First).await;
                    if first.confirmed().is_some() {
                        winners
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((user.clone(), first.key.clone()));
                    }
                    let mut out = vec![first];
                    if sends_duplicate(i, dups) {
                        out.push(
                            request(&ctx, user.clone(), format!("{user}-b"), Kind::Duplicate).await,
                        );
                    }
                    out
                }));
            }
            // While the drill runs, winners keep asking again (same key) at the same rate.
            let t1 = Instant::now();
            let mut n = 0usize;
            while !done.load(Ordering::SeqCst) {
                let pick = {
                    let w = winners.lock().unwrap_or_else(|e| e.into_inner());
                    (!w.is_empty()).then(|| w[n % w.len()].clone())
                };
                match pick {
                    Some((user, key)) => {
                        let ctx = ctx.clone();
                        tasks.push(tokio::spawn(async move {
                            vec![request(&ctx, user, key, Kind::Replay).await]
                        }));
                        n += 1;
                        tokio::time::sleep_until((t1 + arrival(n, rate)).into()).await;
                    }
                    None => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            let mut reqs = Vec::new();
            for t in tasks {
                if let Ok(v) = t.await {
                    reqs.extend(v);
                }
            }
            reqs
        })
    };
    if let Some(fault) = &args.drill {
        let (at, late) = drill_start(args.users, args.rate, DRILL_LEAD);
        if late {
            report.notes.push(format!(
                "the arrivals take {:.1} s, shorter than the drill's lead of {:.1} s: the fault lands after their midpoint (winners keep re-sending while it runs)",
                arrival(args.users, args.rate).as_secs_f64(),
                DRILL_LEAD.as_secs_f64()
            ));
        }
        tokio::time::sleep_until((ctx.t0 + at).into()).await;
        match &deploy_dir {
            None => report
                .notes
                .push("--drill needs --deploy-dir with a running deployment: no drill ran".into()),
            Some(d) => {
                let a: Vec<String> = vec![
                    "drill".into(),
                    fault.clone(),
                    "--dir".into(),
                    d.display().to_string(),
                    "--pause-ms".into(),
                    args.pause_ms.to_string(),
                    "--settle-secs".into(),
                    args.settle_secs.to_string(),
                ];
                progress(started, format!("redoubt drill {fault}"));
                match spawn(procs, "drill", &redoubt, &a, &dir.join("drill.log"), true) {
                    Err(e) => report.notes.push(e),
                    Ok(out) => {
                        let limit = Instant::now()
                            + Duration::from_secs(args.settle_secs + 60)
                            + Duration::from_millis(args.pause_ms);
                        let status = loop {
                            if let Some(s) = exited(procs, "drill") {
                                break Some(s);
                            }
                            if Instant::now() > limit {
                                break None;
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        };
                        // Stops it if it still runs; reaps it either way.
                        let _ = procs.stop("drill");
                        // Its stdout reader ends with it.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        report.drill_output = out.map(|o| o.text()).unwrap_or_default();
                        let errs = tail(&dir.join("drill.log"), 5);
                        match status {
                            Some(s) if s.success() => {}
                            Some(s) => report.notes.push(format!(
                                "the drill failed ({s}): {}",
                                errs.lines().last().unwrap_or("")
                            )),
                            None => report
                                .notes
                                .push("the drill did not finish in time and was stopped".into()),
                        }
                        progress(started, "drill finished");
                    }
                }
            }
        }
        drill_done.store(true, Ordering::SeqCst);
    }
    let reqs = load
        .await
        .map_err(|e| format!("the load task failed: {e}"))?;
    report.load_secs = reqs
        .iter()
        .flat_map(|r| r.attempts.iter())
        .map(Attempt::done_ms)
        .fold(0.0, f64::max)
        / 1e3;
    progress(
        started,
        format!(
            "{} requests answered; waiting for the workers to drain",
            reqs.len()
        ),
    );
    report.reqs = reqs;
    // Drain: nothing queued and the persisted count stable for a second.
    let stats_url = format!("{base_url}/campaigns/{campaign}/stats");
    let deadline = Instant::now() + Duration::from_secs(args.drain_secs);
    let mut last: Option<(u64, Instant)> = None;
    while Instant::now() < deadline {
        if let Ok((200, v)) = http_json(&http, reqwest::Method::GET, &stats_url, None).await {
            let queued = v.get("queued").and_then(Value::as_u64);
            let persisted = v.get("persisted").and_then(Value::as_u64).unwrap_or(0);
            report.stats = Some(v.clone());
            match (queued, last) {
                (Some(0), Some((p, since))) if p == persisted => {
                    if since.elapsed() >= Duration::from_secs(1) {
                        report.drained = true;
                        break;
                    }
                }
                _ => last = Some((persisted, Instant::now())),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !report.drained {
        report.notes.push(format!(
            "the workers did not drain within {} s (last stats {:?})",
            args.drain_secs, report.stats
        ));
    }
    let (code, v) = http_json(
        &http,
        reqwest::Method::GET,
        &format!("{base_url}/campaigns/{campaign}/coupons"),
        None,
    )
    .await?;
    let db: Vec<Coupon> = match code {
        200 => serde_json::from_value(v).map_err(|e| format!("GET coupons: {e}"))?,
        _ => return Err(format!("GET /campaigns/{campaign}/coupons got {code} {v}")),
    };
    let (code, v) = http_json(
        &http,
        reqwest::Method::GET,
        &format!("{base_url}/campaigns/{campaign}/conflicts"),
        None,
    )
    .await?;
    if code == 200 {
        report.conflicts = serde_json::from_value(v).unwrap_or_default();
    } else {
        report.notes.push(format!("GET conflicts got {code} {v}"));
    }
    report.check = check(args.quantity, &report.reqs, &db);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupon(seq: u64, user: &str) -> Coupon {
        Coupon {
            coupon: format!("c-{seq}"),
            campaign: "c".into(),
            user: user.into(),
            seq,
            idempotency_key: format!("{user}-a"),
            issued_at_ms: 0,
        }
    }

    fn status(code: u16, coupon: Option<&str>) -> Outcome {
        Outcome::Status {
            code,
            coupon: coupon.map(str::to_string),
            replayed: false,
            error: None,
        }
    }

    fn req(user: &str, kind: Kind, outcomes: &[(f64, f64, Outcome)]) -> Req {
        Req {
            user: user.into(),
            key: format!("{user}-{kind:?}"),
            kind,
            attempts: outcomes
                .iter()
                .map(|(s, l, o)| Attempt {
                    sent_ms: *s,
                    latency_ms: *l,
                    outcome: o.clone(),
                })
                .collect(),
            gave_up: false,
            arrived_ms: outcomes.first().map(|o| o.0).unwrap_or(0.0),
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        let l = Latency::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((l.p50, l.p99, l.max), (2.0, 3.0, 3.0));
    }

    #[test]
    fn pacing() {
        assert_eq!(arrival(0, 1000.0), Duration::ZERO);
        assert_eq!(arrival(1000, 1000.0), Duration::from_secs(1));
        assert_eq!(arrival(5, 0.0), Duration::ZERO);
        assert_eq!(arrival(3, 2.0), Duration::from_millis(1500));
        // 10 s of arrivals: the drill starts 2.3 s before the middle.
        assert_eq!(
            drill_start(10_000, 1000.0, DRILL_LEAD),
            (Duration::from_millis(2700), false)
        );
        // 2 s of arrivals: it can only start at once, and lands late.
        assert_eq!(
            drill_start(2000, 1000.0, DRILL_LEAD),
            (Duration::ZERO, true)
        );
    }

    #[test]
    fn duplicates_are_an_exact_spread_fraction() {
        let n = (0..1000).filter(|&i| sends_duplicate(i, 0.05)).count();
        assert_eq!(n, 50);
        assert_eq!((0..1000).filter(|&i| sends_duplicate(i, 0.0)).count(), 0);
        assert_eq!((0..1000).filter(|&i| sends_duplicate(i, 1.0)).count(), 1000);
        assert!(!sends_duplicate(0, 0.05) && sends_duplicate(19, 0.05));
    }

    #[test]
    fn outcomes_classify() {
        assert!(Outcome::Transport("x".into()).retryable());
        assert!(status(503, None).retryable());
        assert!(!status(410, None).retryable());
        assert!(status(409, Some("c-1")).definite());
        assert!(!status(500, None).definite());
        let t = tally(&[
            status(201, Some("a")),
            status(201, Some("b")),
            status(410, None),
        ]);
        assert_eq!(t, vec![("201".to_string(), 2), ("410".to_string(), 1)]);
    }

    #[test]
    fn a_clean_run_holds() {
        let reqs = vec![
            req("u1", Kind::First, &[(0.0, 5.0, status(201, Some("c-1")))]),
            // Retried through a failover, then answered as a replay: counts once.
            req(
                "u2",
                Kind::First,
                &[
                    (1.0, 3000.0, Outcome::Transport("cannot connect".into())),
                    (
                        3001.0,
                        5.0,
                        Outcome::Status {
                            code: 201,
                            coupon: Some("c-2".into()),
                            replayed: true,
                            error: None,
                        },
                    ),
                ],
            ),
            req(
                "u2",
                Kind::Duplicate,
                &[(3010.0, 5.0, status(409, Some("c-2")))],
            ),
            req("u3", Kind::First, &[(2.0, 5.0, status(410, None))]),
            req(
                "u1",
                Kind::Replay,
                &[(4000.0, 5.0, status(201, Some("c-1")))],
            ),
        ];
        let db = vec![coupon(1, "u1"), coupon(2, "u2")];
        let c = check(2, &reqs, &db);
        assert!(c.holds(), "{c:?}");
        assert_eq!(c.confirmed, 2);
        assert_eq!(c.persisted, 2);
    }

    #[test]
    fn broken_invariants_are_found() {
        let reqs = vec![
            req("u1", Kind::First, &[(0.0, 5.0, status(201, Some("c-1")))]),
            req("u2", Kind::First, &[(1.0, 5.0, status(201, Some("c-2")))]),
            req("u3", Kind::First, &[(2.0, 5.0, status(201, Some("c-3")))]),
            // The store forgot u1 and issued again.
            req(
                "u1",
                Kind::Duplicate,
                &[(10.0, 5.0, status(201, Some("c-4")))],
            ),
            req("u3", Kind::Replay, &[(10.0, 5.0, status(410, None))]),
        ];
        // c-2 lost; c-3 went to someone else; u1 holds two; seq 4 out of range.
        let db = vec![
            coupon(1, "u1"),
            coupon(3, "u9"),
            coupon(4, "u1"),
            coupon(3, "u8"),
        ];
        let c = check(3, &reqs, &db);
        assert!(!c.holds());
        assert!(c.over_quantity);
        assert_eq!(c.out_of_range, vec!["c-4".to_string()]);
        assert_eq!(c.duplicate_coupons, vec!["c-3".to_string()]);
        assert_eq!(c.users_with_two.len(), 1);
        assert_eq!(c.clients_with_two.len(), 1);
        assert_eq!(c.lost.len(), 2, "{:?}", c.lost);
        assert_eq!(c.denied.len(), 2, "{:?}", c.denied);
    }

    #[test]
    fn a_409_before_the_confirmation_is_not_a_denial() {
        // The duplicate raced the first request; any definite answer before the 201 is fine.
        let reqs = vec![
            req("u1", Kind::First, &[(0.0, 50.0, status(201, Some("c-1")))]),
            req("u1", Kind::Duplicate, &[(1.0, 5.0, status(410, None))]),
        ];
        assert!(check(1, &reqs, &[coupon(1, "u1")]).holds());
    }

    #[test]
    fn unavailability_window_and_gap() {
        let a = |s: f64, l: f64, o: Outcome| Attempt {
            sent_ms: s,
            latency_ms: l,
            outcome: o,
        };
        let v = vec![
            a(0.0, 5.0, status(201, Some("c-1"))),
            a(10.0, 5.0, status(410, None)),
            a(20.0, 2500.0, status(201, Some("c-2"))),
            a(30.0, 100.0, status(503, None)),
            a(40.0, 1000.0, Outcome::Transport("cannot connect".into())),
            a(3000.0, 5.0, status(410, None)),
        ];
        let u = unavailability(&v);
        assert_eq!(u.window, Some((20.0, 2520.0)));
        assert_eq!(u.bad_attempts, 3);
        assert_eq!(u.window_ms(), 2500.0);
        assert_eq!(u.longest_gap, (2505.0, 15.0));
        assert_eq!(unavailability(&[]), Unavailability::default());
    }

    #[test]
    fn options_parse() {
        let a = LoadArgs::parse_from([
            "--users",
            "20",
            "--drill",
            "kill-primary",
            "--durability",
            "replicated",
        ])
        .unwrap();
        assert_eq!((a.users, a.quantity, a.workers), (20, 1000, 2));
        assert_eq!(a.drill.as_deref(), Some("kill-primary"));
        assert!(LoadArgs::parse_from(["--durability", "sometimes"]).is_err());
    }
}
