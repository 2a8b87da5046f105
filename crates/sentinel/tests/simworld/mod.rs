//! The simulated world of `tests/sim.rs`: fake servers that replicate, real Sentinel cores,
//! and a network between them, all on one simulated clock and one seeded random generator.
//!
//! Everything happens as timed events in one queue ordered by (time, sequence number), so a
//! seed replays exactly. The network is TCP-like: every link delivers in order in each
//! direction, with a small random latency. Faults:
//!
//! - a crashed process loses its connections (the other side sees them drop) and comes back
//!   with a new run id and what its config file says: a server with the role of its last
//!   `CONFIG REWRITE`, a sentinel with its last saved state (epochs, votes, known instances);
//! - a paused process (SIGSTOP) answers nothing, but its connections stay up and new ones
//!   are accepted by the kernel; what arrives meanwhile is processed when it resumes;
//! - a partition splits the nodes in two sides: what is sent across waits on the link until
//!   the partition heals, or until the link times out and is reset; new connections across
//!   fail after a connect timeout;
//! - message loss: a lost segment is retransmitted late (everything after it on the link
//!   waits, as TCP does), and now and then the connection is reset instead.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use resp::{Frame, Out, Protocol};
use sentinel::core::config::load_pass;
use sentinel::core::{Action, Event, Input, LinkId, LinkKind, Sentinel, SentinelConfig};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The port of the initial primary.
pub const MASTER: u16 = 6379;
/// The port of the first sentinel.
pub const SENTINEL_PORT: u16 = 26379;
/// The monitored master's name.
pub const NAME: &str = "mymaster";
/// down-after-milliseconds.
pub const DOWN_AFTER: i64 = 1000;
/// failover-timeout.
pub const FAILOVER_TIMEOUT: i64 = 5000;
/// A replica may be promoted only if it answered a PING this recently (5 PING periods).
pub const PING_FRESH: i64 = 5 * 1000;

/// A process of the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// A server, by port.
    Server(u16),
    /// A sentinel, by index.
    Sentinel(usize),
}

/// A monitored server as far as Sentinel can tell: role, replication link, run id.
#[derive(Debug, Clone)]
pub struct FakeServer {
    pub port: u16,
    pub alive: bool,
    /// Stopped (SIGSTOP) until this time; 0 when running.
    pub paused_until: i64,
    pub runid: String,
    /// None: a primary; Some(port): replica of that port.
    pub master: Option<u16>,
    /// The role its config file names (as of its last CONFIG REWRITE): a restart comes back so.
    pub persisted_master: Option<u16>,
    pub priority: u32,
    pub offset: u64,
    /// When its replication link was first seen down (for master_link_down_since_seconds).
    pub link_down_since: Option<i64>,
    /// Requests that arrived while paused.
    held: VecDeque<Req>,
}

/// A command on its way from a sentinel to the instance at the other end of its link.
#[derive(Debug, Clone)]
pub struct Req {
    s: usize,
    link: LinkId,
    uid: u64,
    argv: Vec<Vec<u8>>,
    /// For a promotion (SLAVEOF NO ONE, FAILOVER): the sender's failover epoch.
    epoch: Option<u64>,
}

/// A connection a sentinel opened, as the network and the far end see it.
#[derive(Debug)]
struct SimLink {
    uid: u64,
    target: Node,
    kind: LinkKind,
    /// Commands queued after MULTI, executed at EXEC.
    multi: Option<Vec<Req>>,
    /// SUBSCRIBE was processed: PUBLISHed messages reach it.
    subscribed: bool,
    /// In-order delivery: the time of the last message scheduled in each direction.
    clock_up: i64,
    clock_down: i64,
    /// Messages held back by a partition (or queued behind one), in order.
    backlog: VecDeque<Ev>,
    blocked_since: i64,
}

/// A scheduled happening.
#[derive(Debug)]
enum Ev {
    /// An input for a sentinel's core. `uid`: the link it arrives on (dropped if that link
    /// was reset meanwhile).
    ToSentinel {
        s: usize,
        gen: u64,
        uid: Option<u64>,
        input: Input,
    },
    /// A command arriving at a link's far end.
    ToTarget(Req),
    Tick {
        s: usize,
        gen: u64,
    },
    ResumeSentinel {
        s: usize,
        at: i64,
    },
    ResumeServer {
        port: u16,
        at: i64,
    },
    Heal {
        id: u64,
    },
    LossEnd {
        id: u64,
    },
    LinkTimeout {
        s: usize,
        link: LinkId,
        uid: u64,
        since: i64,
    },
}

/// A sentinel process around its core.
#[derive(Debug)]
pub struct SimSentinel {
    pub port: u16,
    pub alive: bool,
    /// Incremented at every crash and restart: what was addressed to an older incarnation
    /// is dropped.
    gen: u64,
    pub paused_until: i64,
    held: VecDeque<Ev>,
    /// The state lines of its last config save.
    pub saved: Vec<String>,
}

/// A promotion a server executed.
#[derive(Debug, Clone)]
pub struct Promotion {
    pub epoch: u64,
    pub by: usize,
    pub port: u16,
    pub at: i64,
}

/// What a deployment is made of.
#[derive(Debug, Clone)]
pub struct Setup {
    pub sentinels: usize,
    /// Priority of each replica (0: never to be promoted).
    pub priorities: Vec<u32>,
    pub quorum: u32,
    /// Largest one-way latency (ms).
    pub latency: i64,
    /// down-after-milliseconds (at least 1000, the PING period).
    pub down_after: i64,
    /// failover-timeout.
    pub failover_timeout: i64,
}

impl Setup {
    /// `sentinels` sentinels with quorum 2, `replicas` replicas of priority 100.
    pub fn plain(sentinels: usize, replicas: usize) -> Setup {
        Setup {
            sentinels,
            priorities: vec![100; replicas],
            quorum: 2,
            latency: 2,
            down_after: DOWN_AFTER,
            failover_timeout: FAILOVER_TIMEOUT,
        }
    }
}

pub struct World {
    pub now: i64,
    seq: u64,
    queue: BTreeMap<(i64, u64), Ev>,
    pub rng: StdRng,
    pub setup: Setup,
    pub servers: BTreeMap<u16, FakeServer>,
    /// The sentinels' cores.
    pub sentinels: Vec<Sentinel>,
    /// The sentinels' processes.
    pub sen: Vec<SimSentinel>,
    links: BTreeMap<(usize, LinkId), SimLink>,
    next_uid: u64,
    /// Every event each sentinel emitted (all incarnations).
    pub events: Vec<Vec<Event>>,
    /// FAILOVER commands primaries executed: (primary, target).
    pub failovers: Vec<(u16, u16)>,
    /// Every promotion a server executed.
    pub promotions: Vec<Promotion>,
    /// Who was elected leader in each epoch.
    pub leaders: BTreeMap<u64, usize>,
    /// The primary each config epoch names, as the first sentinel to hold it saw it.
    pub configs: BTreeMap<u64, (u16, usize)>,
    /// Broken invariants, as they were seen.
    pub violations: Vec<String>,
    /// The nodes on one side of the current partition.
    pub partition: Option<BTreeSet<Node>>,
    partition_id: u64,
    /// Probability that a message is lost.
    pub loss: f64,
    loss_id: u64,
    /// Per (sentinel, server port): when the sentinel last received a PONG from it.
    last_pong: BTreeMap<(usize, u16), i64>,
    /// Print a trace of what happens.
    pub trace: bool,
}

fn base_config(setup: &Setup) -> Vec<String> {
    vec![
        format!(
            "sentinel monitor {NAME} 127.0.0.1 {MASTER} {}",
            setup.quorum
        ),
        format!(
            "sentinel down-after-milliseconds {NAME} {}",
            setup.down_after
        ),
        format!(
            "sentinel failover-timeout {NAME} {}",
            setup.failover_timeout
        ),
    ]
}

/// A config from `sentinel ...` lines, loaded in Redis's three passes.
fn config_from_lines(lines: &[String]) -> SentinelConfig {
    let parsed: Vec<Vec<String>> = lines
        .iter()
        .filter_map(|l| resp::split_args(l.as_bytes()))
        .filter(|a| a.len() > 1)
        .map(|a| {
            a[1..]
                .iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect()
        })
        .collect();
    let mut c = SentinelConfig::default();
    for pass in 1..=3 {
        for args in &parsed {
            if load_pass(args) == pass {
                c.apply(args).expect("saved config loads");
            }
        }
    }
    c
}

fn upper(a: &[u8]) -> String {
    String::from_utf8_lossy(a).to_ascii_uppercase()
}

fn input_link(input: &Input) -> Option<LinkId> {
    match input {
        Input::Connected { link, .. }
        | Input::Disconnected { link }
        | Input::Reply { link, .. }
        | Input::Message { link, .. } => Some(*link),
        Input::Tick | Input::Resolved { .. } => None,
    }
}

fn ok() -> Frame {
    Frame::Simple(b"OK".to_vec())
}

impl World {
    /// A deployment of `sentinels` sentinels (quorum 2) and a primary with `replicas`
    /// replicas, all started.
    pub fn new(seed: u64, sentinels: usize, replicas: usize) -> World {
        World::with(
            StdRng::seed_from_u64(seed),
            Setup::plain(sentinels, replicas),
        )
    }

    /// A deployment as `setup` says, drawing every random choice from `rng`.
    pub fn with(rng: StdRng, setup: Setup) -> World {
        let mut w = World {
            now: 1_000_000,
            seq: 0,
            queue: BTreeMap::new(),
            rng,
            setup: setup.clone(),
            servers: BTreeMap::new(),
            sentinels: Vec::new(),
            sen: Vec::new(),
            links: BTreeMap::new(),
            next_uid: 1,
            events: Vec::new(),
            failovers: Vec::new(),
            promotions: Vec::new(),
            leaders: BTreeMap::new(),
            configs: BTreeMap::new(),
            violations: Vec::new(),
            partition: None,
            partition_id: 0,
            loss: 0.0,
            loss_id: 0,
            last_pong: BTreeMap::new(),
            trace: std::env::var_os("SIM_TRACE").is_some(),
        };
        let priorities = std::iter::once(100).chain(setup.priorities.iter().copied());
        for (i, priority) in priorities.enumerate() {
            let port = MASTER + i as u16;
            let master = (i > 0).then_some(MASTER);
            let runid = w.new_runid();
            w.servers.insert(
                port,
                FakeServer {
                    port,
                    alive: true,
                    paused_until: 0,
                    runid,
                    master,
                    persisted_master: master,
                    priority,
                    offset: 0,
                    link_down_since: None,
                    held: VecDeque::new(),
                },
            );
        }
        for i in 0..setup.sentinels {
            w.sen.push(SimSentinel {
                port: SENTINEL_PORT + i as u16,
                alive: false,
                gen: 0,
                paused_until: 0,
                held: VecDeque::new(),
                saved: base_config(&setup),
            });
            w.events.push(Vec::new());
            let placeholder = Sentinel::new(SentinelConfig::default(), 0, 0, w.now);
            w.sentinels.push(placeholder);
            w.start_sentinel(i);
        }
        w
    }

    fn new_runid(&mut self) -> String {
        format!("{:040x}", self.rng.gen::<u128>())
    }

    pub fn note(&self, line: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("[{:>7}.{:03}] {}", self.now / 1000, self.now % 1000, line());
        }
    }

    // -------------------------------------------------------------------------------------
    // The event queue.
    // -------------------------------------------------------------------------------------

    fn at(&mut self, t: i64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((t.max(self.now), self.seq), ev);
    }

    fn lat(&mut self) -> i64 {
        self.rng.gen_range(0..=self.setup.latency)
    }

    /// Advances the clock by `ms`, processing everything due.
    pub fn run(&mut self, ms: i64) {
        let end = self.now + ms;
        let mut budget: u64 = 50_000_000;
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > end {
                break;
            }
            let ((t, _), ev) = entry.remove_entry();
            self.now = t;
            budget -= 1;
            assert!(budget > 0, "message storm");
            self.process(ev);
        }
        self.now = end;
    }

    fn process(&mut self, ev: Ev) {
        match ev {
            Ev::ToSentinel { s, gen, uid, input } => self.deliver_input(s, gen, uid, input),
            Ev::ToTarget(req) => self.deliver_request(req),
            Ev::Tick { s, gen } => {
                let x = &self.sen[s];
                if !x.alive || x.gen != gen || x.paused_until != 0 {
                    return;
                }
                let actions = self.sentinels[s].handle(self.now, Input::Tick);
                self.apply(s, actions);
                let next = self.now + self.rng.gen_range(50..=100);
                self.at(next, Ev::Tick { s, gen });
            }
            Ev::ResumeSentinel { s, at } => {
                if self.sen[s].paused_until == at {
                    self.resume_sentinel(s);
                }
            }
            Ev::ResumeServer { port, at } => {
                if self.servers[&port].paused_until == at {
                    self.resume_server(port);
                }
            }
            Ev::Heal { id } => {
                if self.partition_id == id {
                    self.heal();
                }
            }
            Ev::LossEnd { id } => {
                if self.loss_id == id && self.loss > 0.0 {
                    self.note(|| "message loss ends".into());
                    self.loss = 0.0;
                }
            }
            Ev::LinkTimeout {
                s,
                link,
                uid,
                since,
            } => {
                let stuck = self.links.get(&(s, link)).is_some_and(|l| {
                    l.uid == uid && !l.backlog.is_empty() && l.blocked_since == since
                });
                if stuck {
                    self.reset_link(s, link);
                }
            }
        }
    }

    // -------------------------------------------------------------------------------------
    // The network.
    // -------------------------------------------------------------------------------------

    /// The two nodes are on different sides of the partition.
    pub fn crossing(&self, a: Node, b: Node) -> bool {
        self.partition
            .as_ref()
            .is_some_and(|p| p.contains(&a) != p.contains(&b))
    }

    fn node_of_port(&self, port: u16) -> Option<Node> {
        if self.servers.contains_key(&port) {
            return Some(Node::Server(port));
        }
        self.sen
            .iter()
            .position(|x| x.port == port)
            .map(Node::Sentinel)
    }

    /// Sends `ev` over link `(s, link)`: towards its far end (`up`) or back to sentinel `s`.
    fn transmit(&mut self, s: usize, link: LinkId, ev: Ev, up: bool) {
        let Some(target) = self.links.get(&(s, link)).map(|l| l.target) else {
            return;
        };
        let crossing = self.crossing(Node::Sentinel(s), target);
        let blocked = crossing || !self.links[&(s, link)].backlog.is_empty();
        if blocked {
            let first = self.links[&(s, link)].backlog.is_empty();
            if first {
                let rto = self.rng.gen_range(3_000..20_000);
                let (now, uid) = (self.now, self.links[&(s, link)].uid);
                self.at(
                    now + rto,
                    Ev::LinkTimeout {
                        s,
                        link,
                        uid,
                        since: now,
                    },
                );
            }
            let now = self.now;
            let l = self.links.get_mut(&(s, link)).expect("link");
            if first {
                l.blocked_since = now;
            }
            l.backlog.push_back(ev);
            return;
        }
        let mut delay = self.lat();
        if self.loss > 0.0 && self.rng.gen_bool(self.loss) {
            if self.rng.gen_range(0..100) < 15 {
                self.note(|| format!("s{s} link {link} to {target:?}: reset by message loss"));
                self.reset_link(s, link);
                return;
            }
            delay += self.rng.gen_range(200..1_500);
        }
        self.schedule_on(s, link, ev, up, delay);
    }

    fn schedule_on(&mut self, s: usize, link: LinkId, ev: Ev, up: bool, delay: i64) {
        let now = self.now;
        let Some(l) = self.links.get_mut(&(s, link)) else {
            return;
        };
        let clock = if up {
            &mut l.clock_up
        } else {
            &mut l.clock_down
        };
        let t = (now + delay).max(*clock);
        *clock = t;
        self.at(t, ev);
    }

    /// Delivers what partitions held back on links that no longer cross one.
    fn flush_backlogs(&mut self) {
        let keys: Vec<(usize, LinkId)> = self
            .links
            .iter()
            .filter(|(_, l)| !l.backlog.is_empty())
            .map(|(k, _)| *k)
            .collect();
        for (s, link) in keys {
            let target = self.links[&(s, link)].target;
            if self.crossing(Node::Sentinel(s), target) {
                continue;
            }
            let backlog =
                std::mem::take(&mut self.links.get_mut(&(s, link)).expect("link").backlog);
            for ev in backlog {
                let up = matches!(ev, Ev::ToTarget(_));
                let delay = self.lat();
                self.schedule_on(s, link, ev, up, delay);
            }
        }
    }

    /// The connection breaks: sentinel `s` is told, what was in flight is lost.
    fn reset_link(&mut self, s: usize, link: LinkId) {
        if self.links.remove(&(s, link)).is_none() || !self.sen[s].alive {
            return;
        }
        let gen = self.sen[s].gen;
        let t = self.now + self.lat();
        self.at(
            t,
            Ev::ToSentinel {
                s,
                gen,
                uid: None,
                input: Input::Disconnected { link },
            },
        );
    }

    fn reply_to(&mut self, s: usize, link: LinkId, reply: Frame) {
        let Some(uid) = self.links.get(&(s, link)).map(|l| l.uid) else {
            return;
        };
        let gen = self.sen[s].gen;
        self.transmit(
            s,
            link,
            Ev::ToSentinel {
                s,
                gen,
                uid: Some(uid),
                input: Input::Reply { link, reply },
            },
            false,
        );
    }

    // -------------------------------------------------------------------------------------
    // Sentinels.
    // -------------------------------------------------------------------------------------

    /// Starts sentinel `i` from its saved config.
    fn start_sentinel(&mut self, i: usize) {
        let config = config_from_lines(&self.sen[i].saved);
        let seed = self.rng.gen();
        let mut core = Sentinel::new(config, self.sen[i].port, seed, self.now);
        let actions = core.start(self.now);
        self.sentinels[i] = core;
        let x = &mut self.sen[i];
        x.alive = true;
        x.gen += 1;
        x.paused_until = 0;
        x.held.clear();
        let gen = x.gen;
        self.apply(i, actions);
        let t = self.now + self.rng.gen_range(0..=100);
        self.at(t, Ev::Tick { s: i, gen });
    }

    fn deliver_input(&mut self, s: usize, gen: u64, uid: Option<u64>, input: Input) {
        let x = &self.sen[s];
        if !x.alive || x.gen != gen {
            return;
        }
        let link = input_link(&input);
        let target = match (uid, link) {
            (Some(u), Some(link)) => match self.links.get(&(s, link)) {
                Some(l) if l.uid == u => Some(l.target),
                _ => return,
            },
            _ => None,
        };
        if self.sen[s].paused_until != 0 {
            self.sen[s]
                .held
                .push_back(Ev::ToSentinel { s, gen, uid, input });
            return;
        }
        if let (Some(Node::Server(port)), Input::Reply { reply, .. }) = (target, &input) {
            if *reply == Frame::Simple(b"PONG".to_vec()) {
                self.last_pong.insert((s, port), self.now);
            }
        }
        let actions = self.sentinels[s].handle(self.now, input);
        self.apply(s, actions);
    }

    /// Carries out what sentinel `who` decided.
    pub fn apply(&mut self, who: usize, actions: Vec<Action>) {
        let mut save = false;
        for a in actions {
            match a {
                Action::Connect {
                    link, port, kind, ..
                } => self.connect(who, link, port, kind),
                Action::Close { link } => {
                    self.links.remove(&(who, link));
                }
                Action::Send { link, argv } => self.send(who, link, argv),
                Action::Event(e) => self.on_event(who, e),
                Action::SaveConfig => save = true,
                Action::Log { .. } | Action::RunScript { .. } => {}
            }
        }
        self.check_config(who);
        if save {
            self.sen[who].saved = self.sentinels[who]
                .state_lines()
                .into_iter()
                .map(|(_, l)| l)
                .collect();
        }
    }

    fn connect(&mut self, s: usize, link: LinkId, port: u16, kind: LinkKind) {
        let gen = self.sen[s].gen;
        let node = self.node_of_port(port);
        let reachable = match node {
            Some(Node::Server(p)) => self.servers[&p].alive,
            Some(Node::Sentinel(j)) => self.sen[j].alive,
            None => false,
        };
        let fail_after = |world: &mut Self, delay: i64| {
            let t = world.now + delay;
            let input = Input::Disconnected { link };
            world.at(
                t,
                Ev::ToSentinel {
                    s,
                    gen,
                    uid: None,
                    input,
                },
            );
        };
        let Some(target) = node.filter(|_| reachable) else {
            // Connection refused.
            let delay = self.lat();
            fail_after(self, delay);
            return;
        };
        if self.crossing(Node::Sentinel(s), target) {
            // Connect timeout.
            fail_after(self, 1_000);
            return;
        }
        let uid = self.next_uid;
        self.next_uid += 1;
        self.links.insert(
            (s, link),
            SimLink {
                uid,
                target,
                kind,
                multi: None,
                subscribed: false,
                clock_up: 0,
                clock_down: 0,
                backlog: VecDeque::new(),
                blocked_since: 0,
            },
        );
        // A paused process's kernel still accepts the connection.
        let delay = self.lat();
        self.schedule_on(
            s,
            link,
            Ev::ToSentinel {
                s,
                gen,
                uid: Some(uid),
                input: Input::Connected {
                    link,
                    local_ip: "127.0.0.1".into(),
                    peer_ip: "127.0.0.1".into(),
                },
            },
            false,
            delay,
        );
    }

    fn send(&mut self, s: usize, link: LinkId, argv: Vec<Vec<u8>>) {
        let Some(l) = self.links.get(&(s, link)) else {
            return;
        };
        let uid = l.uid;
        let cmd = upper(&argv[0]);
        let promotion = ((cmd == "SLAVEOF" || cmd == "REPLICAOF")
            && argv.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"NO")))
            || cmd == "FAILOVER";
        let epoch = promotion.then(|| self.sentinels[s].masters[NAME].failover_epoch);
        if promotion {
            let target = l.target;
            self.note(|| format!("s{s} sends {cmd} (promotion, epoch {epoch:?}) to {target:?}"));
        }
        let req = Req {
            s,
            link,
            uid,
            argv,
            epoch,
        };
        self.transmit(s, link, Ev::ToTarget(req), true);
    }

    /// A config epoch names one primary, whichever sentinel holds it (0: the initial one).
    fn check_config(&mut self, s: usize) {
        let m = &self.sentinels[s].masters[NAME];
        let (epoch, port) = (m.config_epoch, m.current_address().1);
        let known = if epoch == 0 {
            Some((MASTER, s))
        } else {
            self.configs.get(&epoch).copied()
        };
        match known {
            None => {
                self.configs.insert(epoch, (port, s));
            }
            Some((p, first)) if p != port => self.violations.push(format!(
                "t={}: sentinel {s} holds config epoch {epoch} with primary {port}, \
                 sentinel {first} with {p}",
                self.now
            )),
            Some(_) => {}
        }
    }

    fn on_event(&mut self, s: usize, e: Event) {
        if e.kind != "+slave" && e.kind != "+sentinel" && !e.kind.ends_with("role-change") {
            self.note(|| format!("s{s} {} {}", e.kind, e.message));
        }
        match e.kind.as_str() {
            "+elected-leader" => {
                let epoch = self.sentinels[s].masters[NAME].failover_epoch;
                match self.leaders.get(&epoch) {
                    Some(&other) if other != s => self.violations.push(format!(
                        "t={}: sentinels {other} and {s} both elected leader in epoch {epoch}",
                        self.now
                    )),
                    _ => {
                        self.leaders.insert(epoch, s);
                    }
                }
            }
            "+selected-slave" => {
                // "slave <ip:port> <ip> <port> @ <master> <ip> <port>"
                let port: Option<u16> = e.message.split(' ').nth(3).and_then(|p| p.parse().ok());
                match port.and_then(|p| self.servers.get(&p)) {
                    None => self.violations.push(format!(
                        "t={}: sentinel {s} selected an unknown replica: {}",
                        self.now, e.message
                    )),
                    Some(r) => {
                        let port = r.port;
                        if r.priority == 0 {
                            self.violations.push(format!(
                                "t={}: sentinel {s} selected {port}, which has priority 0",
                                self.now
                            ));
                        }
                        let fresh = self
                            .last_pong
                            .get(&(s, port))
                            .is_some_and(|t| self.now - t <= PING_FRESH);
                        if !fresh {
                            self.violations.push(format!(
                                "t={}: sentinel {s} selected {port}, which has not answered it \
                                 a PING for {PING_FRESH} ms (last {:?})",
                                self.now,
                                self.last_pong.get(&(s, port))
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        self.events[s].push(e);
    }

    /// A SENTINEL (or other) command given to sentinel `i` by a client.
    pub fn sentinel_cmd(&mut self, i: usize, args: &[&str]) -> String {
        let mut out = Out::new(Protocol::Resp2);
        let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let actions = self.sentinels[i].command(self.now, &argv, &mut out);
        self.apply(i, actions);
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    // -------------------------------------------------------------------------------------
    // The far end of a link.
    // -------------------------------------------------------------------------------------

    fn deliver_request(&mut self, req: Req) {
        let Some(target) = self
            .links
            .get(&(req.s, req.link))
            .filter(|l| l.uid == req.uid)
            .map(|l| l.target)
        else {
            return;
        };
        match target {
            Node::Server(port) => {
                let srv = &self.servers[&port];
                if !srv.alive {
                    return;
                }
                if srv.paused_until != 0 {
                    self.servers
                        .get_mut(&port)
                        .expect("server")
                        .held
                        .push_back(req);
                    return;
                }
                let (s, link) = (req.s, req.link);
                if let Some(reply) = self.server_exec(port, req) {
                    self.reply_to(s, link, reply);
                }
            }
            Node::Sentinel(j) => {
                if !self.sen[j].alive {
                    return;
                }
                if self.sen[j].paused_until != 0 {
                    self.sen[j].held.push_back(Ev::ToTarget(req));
                    return;
                }
                let cmd = upper(&req.argv[0]);
                // What the shell answers itself; the rest is the core's.
                let reply = match cmd.as_str() {
                    "PING" => Some(Frame::Simple(b"PONG".to_vec())),
                    "CLIENT" | "AUTH" => Some(ok()),
                    _ => {
                        let mut out = Out::new(Protocol::Resp2);
                        let actions = self.sentinels[j].command(self.now, &req.argv, &mut out);
                        self.apply(j, actions);
                        resp::parse_frame(&out.buf).ok().flatten().map(|(f, _)| f)
                    }
                };
                if let Some(reply) = reply {
                    self.reply_to(req.s, req.link, reply);
                }
            }
        }
    }

    fn server_exec(&mut self, port: u16, req: Req) -> Option<Frame> {
        let cmd = upper(&req.argv[0]);
        let key = (req.s, req.link);
        if cmd != "EXEC" && cmd != "DISCARD" {
            if let Some(q) = self.links.get_mut(&key).and_then(|l| l.multi.as_mut()) {
                q.push(req);
                return Some(Frame::Simple(b"QUEUED".to_vec()));
            }
        }
        Some(match cmd.as_str() {
            "PING" => Frame::Simple(b"PONG".to_vec()),
            "INFO" => Frame::Bulk(self.info(port).into_bytes()),
            "PUBLISH" => {
                let n = self.publish(port, &req.argv[1], &req.argv[2]);
                Frame::Integer(n)
            }
            "SUBSCRIBE" => {
                if let Some(l) = self.links.get_mut(&key) {
                    l.subscribed = true;
                }
                Frame::Array(vec![
                    Frame::Bulk(b"subscribe".to_vec()),
                    Frame::Bulk(req.argv[1].clone()),
                    Frame::Integer(1),
                ])
            }
            "MULTI" => {
                if let Some(l) = self.links.get_mut(&key) {
                    l.multi = Some(Vec::new());
                }
                ok()
            }
            "DISCARD" => {
                if let Some(l) = self.links.get_mut(&key) {
                    l.multi = None;
                }
                ok()
            }
            "EXEC" => {
                let queued = self
                    .links
                    .get_mut(&key)
                    .and_then(|l| l.multi.take())
                    .unwrap_or_default();
                let mut results = Vec::new();
                for q in queued {
                    results.push(self.exec_one(port, q));
                }
                Frame::Array(results)
            }
            _ => self.exec_one(port, req),
        })
    }

    fn exec_one(&mut self, port: u16, req: Req) -> Frame {
        let cmd = upper(&req.argv[0]);
        let arg = |i: usize| {
            req.argv
                .get(i)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .unwrap_or_default()
        };
        match cmd.as_str() {
            "SLAVEOF" | "REPLICAOF" => {
                if arg(1).eq_ignore_ascii_case("no") {
                    self.record_promotion(port, req.s, req.epoch, "SLAVEOF NO ONE");
                    self.servers.get_mut(&port).expect("server").master = None;
                } else if let Ok(p) = arg(2).parse::<u16>() {
                    let s = req.s;
                    self.note(|| format!("{port} becomes a replica of {p} (asked by s{s})"));
                    self.servers.get_mut(&port).expect("server").master = Some(p);
                }
                ok()
            }
            "CONFIG" if arg(1).eq_ignore_ascii_case("rewrite") => {
                let srv = self.servers.get_mut(&port).expect("server");
                srv.persisted_master = srv.master;
                ok()
            }
            "CLIENT" if arg(1).eq_ignore_ascii_case("kill") => {
                // TYPE normal: every other command connection; TYPE pubsub: every subscriber.
                let pubsub = arg(3).eq_ignore_ascii_case("pubsub");
                let me = (req.s, req.link);
                let victims: Vec<(usize, LinkId)> = self
                    .links
                    .iter()
                    .filter(|(k, l)| {
                        l.target == Node::Server(port)
                            && **k != me
                            && (l.kind == LinkKind::PubSub) == pubsub
                    })
                    .map(|(k, _)| *k)
                    .collect();
                let n = victims.len() as i64;
                for (s, link) in victims {
                    self.reset_link(s, link);
                }
                Frame::Integer(n)
            }
            "FAILOVER" => {
                // The primary hands over to the named replica (writes are paused meanwhile,
                // so the replica has everything).
                let target: u16 = arg(3).parse().unwrap_or(0);
                let is_replica = self
                    .servers
                    .get(&target)
                    .is_some_and(|t| t.alive && t.master == Some(port));
                if !is_replica {
                    return Frame::Error(
                        b"ERR FAILOVER target HOST and PORT is not a replica.".to_vec(),
                    );
                }
                self.failovers.push((port, target));
                self.record_promotion(target, req.s, req.epoch, "FAILOVER");
                self.servers.get_mut(&target).expect("server").master = None;
                self.servers.get_mut(&port).expect("server").master = Some(target);
                ok()
            }
            _ => ok(),
        }
    }

    fn record_promotion(&mut self, port: u16, by: usize, epoch: Option<u64>, how: &str) {
        let epoch = epoch.unwrap_or(0);
        self.note(|| {
            format!("PROMOTION: {port} becomes a primary ({how} from s{by}, epoch {epoch})")
        });
        let now = self.now;
        if self.servers[&port].priority == 0 {
            self.violations.push(format!(
                "t={now}: {port} (priority 0) promoted by sentinel {by} in epoch {epoch}"
            ));
        }
        for p in &self.promotions {
            if p.epoch == epoch && (p.port != port || p.by != by) {
                self.violations.push(format!(
                    "t={now}: two promotions in epoch {epoch}: {} by sentinel {} at t={}, \
                     then {port} by sentinel {by}",
                    p.port, p.by, p.at
                ));
            }
        }
        self.promotions.push(Promotion {
            epoch,
            by,
            port,
            at: now,
        });
    }

    fn publish(&mut self, port: u16, channel: &[u8], payload: &[u8]) -> i64 {
        let subscribers: Vec<(usize, LinkId, u64)> = self
            .links
            .iter()
            .filter(|(_, l)| l.target == Node::Server(port) && l.subscribed)
            .map(|(k, l)| (k.0, k.1, l.uid))
            .collect();
        for &(s, link, uid) in &subscribers {
            let gen = self.sen[s].gen;
            self.transmit(
                s,
                link,
                Ev::ToSentinel {
                    s,
                    gen,
                    uid: Some(uid),
                    input: Input::Message {
                        link,
                        channel: channel.to_vec(),
                        payload: payload.to_vec(),
                    },
                },
                false,
            );
        }
        subscribers.len() as i64
    }

    /// The replica's link to its primary works.
    fn replication_up(&self, port: u16) -> bool {
        let Some(m) = self.servers[&port].master else {
            return false;
        };
        self.servers
            .get(&m)
            .is_some_and(|x| x.alive && x.paused_until == 0)
            && !self.crossing(Node::Server(port), Node::Server(m))
    }

    fn info(&mut self, port: u16) -> String {
        let now = self.now;
        let up = self.replication_up(port);
        let master = self.servers[&port].master;
        let master_offset = master
            .and_then(|m| self.servers.get(&m))
            .map_or(0, |m| m.offset);
        let mut t = format!(
            "# Server\r\nrun_id:{}\r\n# Replication\r\n",
            self.servers[&port].runid
        );
        match master {
            None => {
                self.servers.get_mut(&port).expect("server").offset += 1000;
                t.push_str("role:master\r\n");
                let replicas: Vec<(u16, u64)> = self
                    .servers
                    .values()
                    .filter(|r| {
                        r.master == Some(port)
                            && r.alive
                            && !self.crossing(Node::Server(r.port), Node::Server(port))
                    })
                    .map(|r| (r.port, r.offset))
                    .collect();
                t.push_str(&format!("connected_slaves:{}\r\n", replicas.len()));
                for (i, (p, o)) in replicas.iter().enumerate() {
                    t.push_str(&format!(
                        "slave{i}:ip=127.0.0.1,port={p},state=online,offset={o},lag=0\r\n"
                    ));
                }
            }
            Some(m) => {
                let srv = self.servers.get_mut(&port).expect("server");
                if up {
                    srv.offset = srv.offset.max(master_offset);
                    srv.link_down_since = None;
                } else if srv.link_down_since.is_none() {
                    srv.link_down_since = Some(now);
                }
                t.push_str(&format!(
                    "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:{m}\r\nmaster_link_status:{}\r\n",
                    if up { "up" } else { "down" }
                ));
                if let Some(since) = srv.link_down_since {
                    t.push_str(&format!(
                        "master_link_down_since_seconds:{}\r\n",
                        (now - since) / 1000
                    ));
                }
                t.push_str(&format!(
                    "slave_repl_offset:{}\r\nslave_priority:{}\r\nreplica_announced:1\r\n",
                    srv.offset, srv.priority
                ));
            }
        }
        t
    }

    // -------------------------------------------------------------------------------------
    // Faults.
    // -------------------------------------------------------------------------------------

    /// Kills a server: its links drop, new connections fail.
    pub fn kill(&mut self, port: u16) {
        self.note(|| format!("FAULT: server {port} crashes"));
        let srv = self.servers.get_mut(&port).expect("server");
        srv.alive = false;
        srv.paused_until = 0;
        srv.held.clear();
        self.drop_links_to(Node::Server(port));
    }

    fn drop_links_to(&mut self, node: Node) {
        let dropped: Vec<(usize, LinkId)> = self
            .links
            .iter()
            .filter(|(_, l)| l.target == node)
            .map(|(k, _)| *k)
            .collect();
        for (s, link) in dropped {
            self.reset_link(s, link);
        }
    }

    /// Restarts a dead server with a new run id and the role its config file names.
    pub fn restart(&mut self, port: u16) {
        let runid = self.new_runid();
        let srv = self.servers.get_mut(&port).expect("server");
        srv.alive = true;
        srv.paused_until = 0;
        srv.runid = runid;
        srv.master = srv.persisted_master;
        srv.link_down_since = None;
        let m = srv.master;
        self.note(|| format!("FAULT: server {port} restarts (replicaof {m:?})"));
    }

    /// Restarts a server as the primary it was first configured to be.
    pub fn restart_as_primary(&mut self, port: u16) {
        self.servers
            .get_mut(&port)
            .expect("server")
            .persisted_master = None;
        self.restart(port);
    }

    /// Stops a server (SIGSTOP) for `ms`.
    pub fn pause_server(&mut self, port: u16, ms: i64) {
        let at = (self.now + ms).max(self.servers[&port].paused_until);
        self.note(|| format!("FAULT: server {port} paused until {at}"));
        self.servers.get_mut(&port).expect("server").paused_until = at;
        self.at(at, Ev::ResumeServer { port, at });
    }

    fn resume_server(&mut self, port: u16) {
        self.note(|| format!("server {port} resumes"));
        let srv = self.servers.get_mut(&port).expect("server");
        srv.paused_until = 0;
        let held = std::mem::take(&mut srv.held);
        for req in held {
            self.at(self.now, Ev::ToTarget(req));
        }
    }

    /// Kills sentinel `i`: its connections close, the other sentinels' links to it drop.
    pub fn crash_sentinel(&mut self, i: usize) {
        self.note(|| format!("FAULT: sentinel {i} crashes"));
        let x = &mut self.sen[i];
        x.alive = false;
        x.gen += 1;
        x.paused_until = 0;
        x.held.clear();
        self.links.retain(|(s, _), _| *s != i);
        self.last_pong.retain(|(s, _), _| *s != i);
        self.drop_links_to(Node::Sentinel(i));
    }

    /// Restarts a dead sentinel from its saved config.
    pub fn restart_sentinel(&mut self, i: usize) {
        self.note(|| format!("FAULT: sentinel {i} restarts"));
        self.start_sentinel(i);
    }

    /// Stops sentinel `i` (SIGSTOP) for `ms`.
    pub fn pause_sentinel(&mut self, i: usize, ms: i64) {
        let at = (self.now + ms).max(self.sen[i].paused_until);
        self.note(|| format!("FAULT: sentinel {i} paused until {at}"));
        self.sen[i].paused_until = at;
        self.at(at, Ev::ResumeSentinel { s: i, at });
    }

    fn resume_sentinel(&mut self, i: usize) {
        self.note(|| format!("sentinel {i} resumes"));
        let x = &mut self.sen[i];
        x.paused_until = 0;
        let held = std::mem::take(&mut x.held);
        let gen = x.gen;
        for ev in held {
            self.at(self.now, ev);
        }
        self.at(self.now, Ev::Tick { s: i, gen });
    }

    /// Splits the nodes: `side` on one side, the rest on the other, for `ms`.
    pub fn partition(&mut self, side: BTreeSet<Node>, ms: i64) {
        self.note(|| format!("FAULT: partition for {ms} ms, one side: {side:?}"));
        self.partition = Some(side);
        self.partition_id += 1;
        let id = self.partition_id;
        self.at(self.now + ms, Ev::Heal { id });
        self.flush_backlogs();
    }

    /// Ends the partition.
    pub fn heal(&mut self) {
        if self.partition.is_some() {
            self.note(|| "partition heals".into());
        }
        self.partition = None;
        self.partition_id += 1;
        self.flush_backlogs();
    }

    /// Loses a fraction `p` of the messages for `ms`.
    pub fn lose(&mut self, p: f64, ms: i64) {
        self.note(|| format!("FAULT: message loss {p:.3} for {ms} ms"));
        self.loss = p;
        self.loss_id += 1;
        let id = self.loss_id;
        self.at(self.now + ms, Ev::LossEnd { id });
    }

    /// Ends every fault: the partition heals, loss stops, paused processes resume and dead
    /// ones restart.
    pub fn heal_everything(&mut self) {
        self.heal();
        self.loss = 0.0;
        self.loss_id += 1;
        let ports: Vec<u16> = self.servers.keys().copied().collect();
        for p in ports {
            if !self.servers[&p].alive {
                self.restart(p);
            } else if self.servers[&p].paused_until != 0 {
                self.servers.get_mut(&p).expect("server").paused_until = 0;
                self.resume_server(p);
            }
        }
        for i in 0..self.sen.len() {
            if !self.sen[i].alive {
                self.restart_sentinel(i);
            } else if self.sen[i].paused_until != 0 {
                self.resume_sentinel(i);
            }
        }
    }

    // -------------------------------------------------------------------------------------
    // Looking at it.
    // -------------------------------------------------------------------------------------

    pub fn events_of(&self, i: usize, kind: &str) -> Vec<String> {
        self.events[i]
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.message.clone())
            .collect()
    }

    pub fn master_addr(&mut self, i: usize) -> String {
        self.sentinel_cmd(i, &["SENTINEL", "get-master-addr-by-name", NAME])
    }

    /// Live servers that say they are primaries.
    pub fn primaries(&self) -> Vec<u16> {
        self.servers
            .values()
            .filter(|s| s.alive && s.master.is_none())
            .map(|s| s.port)
            .collect()
    }

    /// Every sentinel knows every other one.
    pub fn discovered(&self) -> bool {
        let n = self.sen.len();
        self.sentinels
            .iter()
            .all(|c| c.masters[NAME].sentinels.len() == n - 1)
    }

    /// The deployment agrees with itself: every live sentinel names the same primary in the
    /// same config epoch, that server is a primary and every other live server replicates
    /// it directly; `quiet` also wants no failover running, no TILT, nobody seeing it down.
    pub fn converged(&mut self, quiet: bool) -> Result<(u16, u64), String> {
        let mut views: Vec<(usize, u16, u64)> = Vec::new();
        for i in 0..self.sen.len() {
            if !self.sen[i].alive {
                continue;
            }
            let m = &self.sentinels[i].masters[NAME];
            let (_, port) = m.current_address();
            views.push((i, port, m.config_epoch));
            if quiet
                && (m
                    .inst
                    .flags
                    .has(sentinel::core::Flags::FAILOVER_IN_PROGRESS)
                    || m.inst.flags.has(sentinel::core::Flags::S_DOWN)
                    || self.sentinels[i].in_tilt())
            {
                return Err(format!(
                    "sentinel {i} is not quiet: flags {}, tilt {}",
                    m.inst.flags_text(),
                    self.sentinels[i].in_tilt()
                ));
            }
        }
        let Some(&(_, p, epoch)) = views.first() else {
            return Err("no live sentinel".into());
        };
        if views.iter().any(|v| (v.1, v.2) != (p, epoch)) {
            return Err(format!(
                "sentinels disagree (sentinel, primary, config epoch): {views:?}"
            ));
        }
        for i in 0..self.sen.len() {
            if self.sen[i].alive {
                let addr = self.master_addr(i);
                if !addr.contains(&format!("\r\n{p}\r\n")) {
                    return Err(format!("sentinel {i} answers {addr:?}, primary is {p}"));
                }
            }
        }
        let srv = &self.servers[&p];
        if !srv.alive || srv.master.is_some() {
            return Err(format!(
                "sentinels name {p} (epoch {epoch}), which is {}",
                if srv.alive {
                    format!("a replica of {:?}", srv.master)
                } else {
                    "dead".into()
                }
            ));
        }
        for s in self.servers.values() {
            if s.alive && s.port != p && s.master != Some(p) {
                return Err(format!(
                    "{} replicates {:?}, not the primary {p}",
                    s.port, s.master
                ));
            }
        }
        if let Some(x) = self
            .promotions
            .iter()
            .find(|x| x.epoch == epoch && epoch > 0)
        {
            if x.port != p {
                return Err(format!(
                    "config epoch {epoch} names {p}, but {} was promoted in it",
                    x.port
                ));
            }
        }
        Ok((p, epoch))
    }

    /// A summary of the state for failure messages.
    pub fn describe(&self) -> String {
        let mut t = String::new();
        for s in self.servers.values() {
            t.push_str(&format!(
                "  server {}: alive {} paused {} master {:?} persisted {:?} priority {}\n",
                s.port, s.alive, s.paused_until, s.master, s.persisted_master, s.priority
            ));
        }
        for (i, c) in self.sentinels.iter().enumerate() {
            let m = &c.masters[NAME];
            t.push_str(&format!(
                "  sentinel {i}: alive {} epoch {} master {:?} config-epoch {} state {} flags {} tilt {}\n",
                self.sen[i].alive,
                c.current_epoch,
                m.current_address(),
                m.config_epoch,
                m.failover_state.name(),
                m.inst.flags_text(),
                c.in_tilt()
            ));
        }
        t.push_str(&format!("  promotions: {:?}\n", self.promotions));
        t
    }
}
