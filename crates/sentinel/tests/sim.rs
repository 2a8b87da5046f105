//! Deterministic simulation of a whole deployment: fake servers that replicate, and real
//! Sentinel cores talking to them and to each other through in-memory links, on a simulated
//! clock. A seed fixes every random choice, so a failing seed replays exactly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use resp::{Frame, Out, Protocol};
use sentinel::core::{Action, Event, Input, LinkId, LinkKind, Sentinel, SentinelConfig};
use std::collections::{BTreeMap, VecDeque};

/// A monitored server as far as Sentinel can tell: role, replication link, run id.
#[derive(Debug, Clone)]
struct FakeServer {
    port: u16,
    alive: bool,
    runid: String,
    /// None: a primary; Some(port): replica of that port.
    master: Option<u16>,
    priority: u32,
}

/// A link a sentinel opened.
#[derive(Debug, Clone)]
struct SimLink {
    target: u16,
    kind: LinkKind,
    connected: bool,
    /// SLAVEOF seen inside MULTI, applied at EXEC.
    queued_slaveof: Option<Option<u16>>,
}

struct World {
    now: i64,
    servers: BTreeMap<u16, FakeServer>,
    sentinels: Vec<Sentinel>,
    sentinel_ports: Vec<u16>,
    sentinel_alive: Vec<bool>,
    links: BTreeMap<(usize, LinkId), SimLink>,
    /// (sentinel, input) to deliver, in order.
    queue: VecDeque<(usize, Input)>,
    events: Vec<Vec<Event>>,
    rng: StdRng,
    /// FAILOVER commands primaries received: (primary, target).
    failovers: Vec<(u16, u16)>,
    /// A paused sentinel (SIGSTOP) runs again at this time; its inputs wait meanwhile.
    paused_until: Vec<i64>,
    held: Vec<VecDeque<Input>>,
}

const MASTER: u16 = 6379;

fn config(quorum: u32) -> SentinelConfig {
    let mut c = SentinelConfig::default();
    for line in [
        format!("monitor mymaster 127.0.0.1 {MASTER} {quorum}"),
        "down-after-milliseconds mymaster 1000".to_string(),
        "failover-timeout mymaster 5000".to_string(),
    ] {
        let args: Vec<String> = line.split(' ').map(str::to_string).collect();
        c.apply(&args).expect("config");
    }
    c
}

impl World {
    fn new(seed: u64, sentinels: usize, replicas: usize) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut servers = BTreeMap::new();
        for i in 0..=replicas {
            let port = MASTER + i as u16;
            servers.insert(
                port,
                FakeServer {
                    port,
                    alive: true,
                    runid: format!("{:040x}", rng.gen::<u128>()),
                    master: (i > 0).then_some(MASTER),
                    priority: 100,
                },
            );
        }
        let mut w = World {
            now: 1_000_000,
            servers,
            sentinels: Vec::new(),
            sentinel_ports: Vec::new(),
            sentinel_alive: Vec::new(),
            links: BTreeMap::new(),
            queue: VecDeque::new(),
            events: Vec::new(),
            rng,
            failovers: Vec::new(),
            paused_until: vec![0; sentinels],
            held: vec![VecDeque::new(); sentinels],
        };
        for i in 0..sentinels {
            let port = 26379 + i as u16;
            let seed = w.rng.gen();
            let mut s = Sentinel::new(config(2), port, seed, w.now);
            let actions = s.start(w.now);
            w.sentinels.push(s);
            w.sentinel_ports.push(port);
            w.sentinel_alive.push(true);
            w.events.push(Vec::new());
            w.apply(i, actions);
        }
        w
    }

    fn apply(&mut self, who: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Connect {
                    link, port, kind, ..
                } => {
                    let up = self.target_alive(port);
                    self.links.insert(
                        (who, link),
                        SimLink {
                            target: port,
                            kind,
                            connected: up,
                            queued_slaveof: None,
                        },
                    );
                    self.queue.push_back((
                        who,
                        if up {
                            Input::Connected {
                                link,
                                local_ip: "127.0.0.1".into(),
                                peer_ip: "127.0.0.1".into(),
                            }
                        } else {
                            Input::Disconnected { link }
                        },
                    ));
                }
                Action::Close { link } => {
                    self.links.remove(&(who, link));
                }
                Action::Send { link, argv } => self.send(who, link, argv),
                Action::Event(e) => self.events[who].push(e),
                Action::Log { .. } | Action::SaveConfig | Action::RunScript { .. } => {}
            }
        }
    }

    fn target_alive(&self, port: u16) -> bool {
        if let Some(s) = self.servers.get(&port) {
            return s.alive;
        }
        self.sentinel_ports
            .iter()
            .position(|p| *p == port)
            .is_some_and(|i| self.sentinel_alive[i])
    }

    fn send(&mut self, who: usize, link: LinkId, argv: Vec<Vec<u8>>) {
        let Some(l) = self.links.get(&(who, link)).cloned() else {
            return;
        };
        if !l.connected || !self.target_alive(l.target) {
            return;
        }
        let cmd = String::from_utf8_lossy(&argv[0]).to_ascii_uppercase();
        let reply = if let Some(i) = self.sentinel_ports.iter().position(|p| *p == l.target) {
            // What the shell answers itself; the rest is the core's.
            if cmd == "PING" {
                self.queue.push_back((
                    who,
                    Input::Reply {
                        link,
                        reply: Frame::Simple(b"PONG".to_vec()),
                    },
                ));
                return;
            }
            if cmd == "CLIENT" || cmd == "AUTH" {
                self.queue.push_back((
                    who,
                    Input::Reply {
                        link,
                        reply: Frame::Simple(b"OK".to_vec()),
                    },
                ));
                return;
            }
            let mut out = Out::new(Protocol::Resp2);
            let actions = self.sentinels[i].command(self.now, &argv, &mut out);
            self.apply(i, actions);
            resp::parse_frame(&out.buf).ok().flatten().map(|(f, _)| f)
        } else {
            Some(self.server_reply(who, link, &l, &cmd, &argv))
        };
        if let Some(reply) = reply {
            self.queue.push_back((who, Input::Reply { link, reply }));
        }
    }

    fn server_reply(
        &mut self,
        who: usize,
        link: LinkId,
        l: &SimLink,
        cmd: &str,
        argv: &[Vec<u8>],
    ) -> Frame {
        let ok = Frame::Simple(b"OK".to_vec());
        match cmd {
            "PING" => Frame::Simple(b"PONG".to_vec()),
            "INFO" => Frame::Bulk(self.info(l.target).into_bytes()),
            "PUBLISH" => {
                // Delivered to every sentinel subscribed on this server.
                let subscribers: Vec<(usize, LinkId)> = self
                    .links
                    .iter()
                    .filter(|(_, x)| {
                        x.target == l.target && x.kind == LinkKind::PubSub && x.connected
                    })
                    .map(|(k, _)| *k)
                    .collect();
                for (s, lk) in &subscribers {
                    self.queue.push_back((
                        *s,
                        Input::Message {
                            link: *lk,
                            channel: argv[1].clone(),
                            payload: argv[2].clone(),
                        },
                    ));
                }
                Frame::Integer(subscribers.len() as i64)
            }
            "SLAVEOF" => {
                let host = String::from_utf8_lossy(&argv[1]).to_ascii_uppercase();
                let target = if host == "NO" {
                    None
                } else {
                    String::from_utf8_lossy(&argv[2]).parse::<u16>().ok()
                };
                if let Some(x) = self.links.get_mut(&(who, link)) {
                    x.queued_slaveof = Some(target);
                }
                Frame::Simple(b"QUEUED".to_vec())
            }
            "EXEC" => {
                if let Some(t) = self
                    .links
                    .get_mut(&(who, link))
                    .and_then(|x| x.queued_slaveof.take())
                {
                    if let Some(s) = self.servers.get_mut(&l.target) {
                        s.master = t;
                    }
                }
                Frame::Array(vec![])
            }
            "FAILOVER" => {
                // The primary hands over to the named replica (writes are paused meanwhile,
                // so the replica has everything).
                let port: u16 = String::from_utf8_lossy(&argv[3]).parse().unwrap_or(0);
                self.failovers.push((l.target, port));
                if let Some(t) = self.servers.get_mut(&port) {
                    t.master = None;
                }
                if let Some(me) = self.servers.get_mut(&l.target) {
                    me.master = Some(port);
                }
                ok
            }
            "MULTI" => ok,
            "SUBSCRIBE" => Frame::Array(vec![
                Frame::Bulk(b"subscribe".to_vec()),
                Frame::Bulk(argv[1].clone()),
                Frame::Integer(1),
            ]),
            _ => ok,
        }
    }

    fn info(&self, port: u16) -> String {
        let s = &self.servers[&port];
        let mut t = format!("# Server\r\nrun_id:{}\r\n# Replication\r\n", s.runid);
        match s.master {
            None => {
                t.push_str("role:master\r\n");
                let replicas: Vec<&FakeServer> = self
                    .servers
                    .values()
                    .filter(|r| r.master == Some(port) && r.alive)
                    .collect();
                t.push_str(&format!("connected_slaves:{}\r\n", replicas.len()));
                for (i, r) in replicas.iter().enumerate() {
                    t.push_str(&format!(
                        "slave{i}:ip=127.0.0.1,port={},state=online,offset=100,lag=0\r\n",
                        r.port
                    ));
                }
            }
            Some(m) => {
                let up = self
                    .servers
                    .get(&m)
                    .is_some_and(|x| x.alive && x.master.is_none());
                t.push_str(&format!(
                    "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:{m}\r\nmaster_link_status:{}\r\n",
                    if up { "up" } else { "down" }
                ));
                if !up {
                    t.push_str("master_link_down_since_seconds:1\r\n");
                }
                t.push_str(&format!(
                    "slave_repl_offset:100\r\nslave_priority:{}\r\nreplica_announced:1\r\n",
                    s.priority
                ));
            }
        }
        t
    }

    /// Kills a server: its links drop, new connections fail.
    fn kill(&mut self, port: u16) {
        if let Some(s) = self.servers.get_mut(&port) {
            s.alive = false;
        }
        let dropped: Vec<(usize, LinkId)> = self
            .links
            .iter()
            .filter(|(_, l)| l.target == port)
            .map(|(k, _)| *k)
            .collect();
        for (s, link) in dropped {
            self.links.remove(&(s, link));
            self.queue.push_back((s, Input::Disconnected { link }));
        }
    }

    /// Restarts a server with a new run id, as the primary it was configured to be.
    fn restart_as_primary(&mut self, port: u16) {
        let runid = format!("{:040x}", self.rng.gen::<u128>());
        if let Some(s) = self.servers.get_mut(&port) {
            s.alive = true;
            s.master = None;
            s.runid = runid;
        }
    }

    /// Advances the clock by `ms` in ticks of 50–100 ms, delivering everything queued.
    fn run(&mut self, ms: i64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += self.rng.gen_range(50..100);
            for i in 0..self.sentinels.len() {
                if self.paused_until[i] != 0 && self.paused_until[i] <= self.now {
                    self.paused_until[i] = 0;
                    while let Some(input) = self.held[i].pop_front() {
                        self.queue.push_back((i, input));
                    }
                }
                if self.sentinel_alive[i] && self.paused_until[i] == 0 {
                    self.queue.push_back((i, Input::Tick));
                }
            }
            let mut budget = 100_000;
            while let Some((i, input)) = self.queue.pop_front() {
                budget -= 1;
                assert!(budget > 0, "message storm");
                if !self.sentinel_alive[i] {
                    continue;
                }
                if self.paused_until[i] != 0 {
                    self.held[i].push_back(input);
                    continue;
                }
                let actions = self.sentinels[i].handle(self.now, input);
                self.apply(i, actions);
            }
        }
    }

    fn events_of(&self, i: usize, kind: &str) -> Vec<String> {
        self.events[i]
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.message.clone())
            .collect()
    }

    fn master_addr(&mut self, i: usize) -> String {
        let mut out = Out::new(Protocol::Resp2);
        let argv: Vec<Vec<u8>> = ["SENTINEL", "get-master-addr-by-name", "mymaster"]
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        self.sentinels[i].command(self.now, &argv, &mut out);
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    fn primaries(&self) -> Vec<u16> {
        self.servers
            .values()
            .filter(|s| s.alive && s.master.is_none())
            .map(|s| s.port)
            .collect()
    }
}

#[test]
fn sentinels_discover_replicas_and_each_other() {
    let mut w = World::new(1, 3, 2);
    w.run(5_000);
    for i in 0..3 {
        assert_eq!(w.events_of(i, "+slave").len(), 2, "sentinel {i}");
        assert_eq!(w.events_of(i, "+sentinel").len(), 2, "sentinel {i}");
        assert!(w.events_of(i, "+sdown").is_empty());
    }
}

fn failover_after_primary_death(seed: u64) {
    let mut w = World::new(seed, 3, 2);
    w.run(5_000);
    w.kill(MASTER);
    w.run(15_000);
    let primaries = w.primaries();
    assert_eq!(
        primaries.len(),
        1,
        "seed {seed}: exactly one new primary, got {primaries:?}"
    );
    let new = primaries[0];
    assert_ne!(new, MASTER);
    for i in 0..3 {
        let switches = w.events_of(i, "+switch-master");
        assert_eq!(
            switches,
            vec![format!("mymaster 127.0.0.1 {MASTER} 127.0.0.1 {new}")],
            "seed {seed}: sentinel {i} events {:?}",
            w.events[i]
        );
        assert!(w.master_addr(i).contains(&new.to_string()));
    }
    let leaders: usize = (0..3)
        .filter(|i| !w.events_of(*i, "+elected-leader").is_empty())
        .count();
    assert_eq!(leaders, 1, "seed {seed}: one leader");
    // The other replica follows the new primary.
    for s in w.servers.values() {
        if s.alive && s.port != new {
            assert_eq!(
                s.master,
                Some(new),
                "seed {seed}: {} follows the new primary",
                s.port
            );
        }
    }
    // The old primary comes back as a primary and is turned into a replica.
    w.restart_as_primary(MASTER);
    w.run(30_000);
    assert_eq!(
        w.servers[&MASTER].master,
        Some(new),
        "seed {seed}: old primary converted"
    );
    assert!((0..3).any(|i| !w.events_of(i, "+convert-to-slave").is_empty()));
    assert_eq!(w.primaries(), vec![new]);
}

#[test]
fn a_dead_primary_is_replaced_exactly_once() {
    for seed in 1..=20 {
        failover_after_primary_death(seed);
    }
}

#[test]
fn the_leader_sequence_matches_redis() {
    let mut w = World::new(7, 3, 2);
    w.run(5_000);
    w.kill(MASTER);
    w.run(15_000);
    let leader = (0..3)
        .find(|i| !w.events_of(*i, "+elected-leader").is_empty())
        .expect("a leader");
    let kinds: Vec<&str> = w.events[leader]
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| {
            [
                "+sdown",
                "+odown",
                "+try-failover",
                "+elected-leader",
                "+failover-state-select-slave",
                "+selected-slave",
                "+failover-state-send-slaveof-noone",
                "+failover-state-wait-promotion",
                "+promoted-slave",
                "+failover-state-reconf-slaves",
                "+slave-reconf-sent",
                "+slave-reconf-inprog",
                "+slave-reconf-done",
                "+failover-end",
                "+switch-master",
            ]
            .contains(k)
        })
        .collect();
    let want = [
        "+sdown",
        "+odown",
        "+try-failover",
        "+elected-leader",
        "+failover-state-select-slave",
        "+selected-slave",
        "+failover-state-send-slaveof-noone",
        "+failover-state-wait-promotion",
        "+promoted-slave",
        "+failover-state-reconf-slaves",
        "+slave-reconf-sent",
        "+slave-reconf-inprog",
        "+slave-reconf-done",
        "+failover-end",
        "+switch-master",
    ];
    // Sentinel-level +sdown of the others may interleave; the failover steps come in order.
    let mut steps: Vec<&str> = kinds
        .into_iter()
        .skip_while(|k| *k != "+try-failover")
        .collect();
    // Then the old primary, now listed as a replica, is seen down.
    assert_eq!(steps.pop(), Some("+sdown"));
    assert_eq!(steps, want[2..].to_vec(), "{:?}", w.events[leader]);
}

#[test]
fn no_failover_without_quorum() {
    let mut w = World::new(3, 3, 2);
    w.run(5_000);
    // Two sentinels die: the last one sees the primary down but cannot reach the quorum.
    w.sentinel_alive[1] = false;
    w.sentinel_alive[2] = false;
    let p1 = w.sentinel_ports[1];
    let p2 = w.sentinel_ports[2];
    w.kill(p1);
    w.kill(p2);
    w.kill(MASTER);
    w.run(20_000);
    assert!(w
        .events_of(0, "+sdown")
        .iter()
        .any(|m| m.starts_with("master")));
    assert!(w.events_of(0, "+odown").is_empty());
    assert!(w.events_of(0, "+switch-master").is_empty());
}

fn sentinel_cmd(w: &mut World, i: usize, args: &[&str]) -> String {
    let mut out = Out::new(Protocol::Resp2);
    let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let actions = w.sentinels[i].command(w.now, &argv, &mut out);
    w.apply(i, actions);
    String::from_utf8_lossy(&out.buf).into_owned()
}

#[test]
fn a_forced_failover_needs_no_agreement() {
    let mut w = World::new(11, 3, 2);
    w.run(5_000);
    assert_eq!(
        sentinel_cmd(&mut w, 0, &["SENTINEL", "FAILOVER", "mymaster"]),
        "+OK\r\n"
    );
    assert_eq!(
        sentinel_cmd(&mut w, 0, &["SENTINEL", "FAILOVER", "mymaster"]),
        "-INPROG Failover already in progress\r\n"
    );
    w.run(15_000);
    let primaries = w.primaries();
    assert_eq!(primaries.len(), 1);
    assert_ne!(primaries[0], MASTER);
    assert!(
        w.failovers.is_empty(),
        "a plain forced failover sends SLAVEOF NO ONE"
    );
    for i in 0..3 {
        assert_eq!(w.events_of(i, "+switch-master").len(), 1, "sentinel {i}");
    }
}

#[test]
fn a_coordinated_failover_asks_the_primary_to_hand_over() {
    let mut w = World::new(12, 3, 2);
    w.run(5_000);
    assert_eq!(
        sentinel_cmd(
            &mut w,
            1,
            &["SENTINEL", "FAILOVER", "mymaster", "COORDINATED"]
        ),
        "+OK\r\n"
    );
    w.run(15_000);
    let primaries = w.primaries();
    assert_eq!(primaries.len(), 1);
    let new = primaries[0];
    assert_eq!(w.failovers, vec![(MASTER, new)]);
    assert_eq!(w.servers[&MASTER].master, Some(new));
    for i in 0..3 {
        assert_eq!(
            w.events_of(i, "+switch-master"),
            vec![format!("mymaster 127.0.0.1 {MASTER} 127.0.0.1 {new}")]
        );
    }
    assert_eq!(
        sentinel_cmd(&mut w, 1, &["SENTINEL", "FAILOVER", "mymaster", "BOGUS"]),
        "-ERR wrong number of arguments for 'sentinel|failover' command\r\n"
    );
}

/// Random faults — primaries killed and brought back as primaries, sentinels paused (which
/// sends them into TILT) — then everything healed: the deployment must settle on exactly one
/// primary that every server follows and every sentinel names.
fn chaos(seed: u64) -> (usize, usize) {
    let mut w = World::new(seed, 3, 2);
    w.run(5_000);
    for _ in 0..8 {
        match w.rng.gen_range(0..4) {
            0 | 1 => {
                if let Some(&p) = w.primaries().first() {
                    w.kill(p);
                }
            }
            2 => {
                let dead: Vec<u16> = w
                    .servers
                    .values()
                    .filter(|s| !s.alive)
                    .map(|s| s.port)
                    .collect();
                if let Some(&p) = dead.first() {
                    w.restart_as_primary(p);
                }
            }
            _ => {
                let i = w.rng.gen_range(0..3);
                let pause = w.rng.gen_range(1_000..4_000);
                w.paused_until[i] = w.now + pause;
            }
        }
        let wait = w.rng.gen_range(2_000..20_000);
        w.run(wait);
    }
    let dead: Vec<u16> = w
        .servers
        .values()
        .filter(|s| !s.alive)
        .map(|s| s.port)
        .collect();
    for p in dead {
        w.restart_as_primary(p);
    }
    w.run(120_000);
    let primaries = w.primaries();
    assert_eq!(
        primaries.len(),
        1,
        "seed {seed}: primaries {primaries:?}, servers {:?}",
        w.servers
    );
    let p = primaries[0];
    for s in w.servers.values() {
        if s.port != p {
            assert_eq!(s.master, Some(p), "seed {seed}: {} follows {p}", s.port);
        }
    }
    for i in 0..3 {
        let addr = w.master_addr(i);
        assert!(
            addr.contains(&format!("\r\n{p}\r\n")),
            "seed {seed}: sentinel {i} says {addr:?}, primary is {p}"
        );
    }
    let count = |kind: &str| (0..3).map(|i| w.events_of(i, kind).len()).sum::<usize>();
    (count("+switch-master"), count("+tilt"))
}

#[test]
fn random_faults_settle_on_one_primary() {
    let (mut switches, mut tilts) = (0, 0);
    for seed in 100..130 {
        let (s, t) = chaos(seed);
        switches += s;
        tilts += t;
    }
    // The faults did bite: failovers happened and paused sentinels went into TILT.
    assert!(
        switches > 30 && tilts > 5,
        "{switches} switches, {tilts} tilts"
    );
}
