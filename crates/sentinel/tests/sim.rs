//! Deterministic simulation of whole deployments: fake servers that replicate, and real
//! Sentinel cores talking to them and to each other through a simulated network, on a
//! simulated clock (see `simworld`). A seed fixes every random choice, so a failing seed
//! replays exactly:
//!
//! ```text
//! SIM_SEED=<n> cargo test --release -p sentinel --test sim thousands_of_seeds -- --nocapture
//! ```
//!
//! runs only seed `n` and prints a trace of its faults, events and promotions.
//! `SIM_SEEDS=<count>` changes how many seeds the chaos test runs, `SIM_FIRST_SEED=<n>` where
//! they start.

mod simworld;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simworld::{Node, Setup, World, MASTER};
use std::collections::BTreeSet;

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
    // The SLAVEOF transaction's CLIENT KILL drops every sentinel's links to a replica being
    // reconfigured, so with down-after-milliseconds at 1 s the leader may see one down for a
    // moment: only the master's and the old primary's +sdown count here.
    let old_primary = format!("slave 127.0.0.1:{MASTER} ");
    let kinds: Vec<&str> = w.events[leader]
        .iter()
        .filter(|e| {
            e.kind != "+sdown"
                || e.message.starts_with("master")
                || e.message.starts_with(&old_primary)
        })
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
    w.crash_sentinel(1);
    w.crash_sentinel(2);
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
    w.sentinel_cmd(i, args)
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
fn simple_chaos(seed: u64) -> (usize, usize) {
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
                w.pause_sentinel(i, pause);
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
        let (s, t) = simple_chaos(seed);
        switches += s;
        tilts += t;
    }
    // The faults did bite: failovers happened and paused sentinels went into TILT.
    assert!(
        switches > 30 && tilts > 5,
        "{switches} switches, {tilts} tilts"
    );
}

/// A paused primary (SIGSTOP: no replies, connections stay up) is failed over; when it
/// resumes, still a primary, it is turned into a replica of the new one.
#[test]
fn a_paused_primary_is_converted_when_it_resumes() {
    let mut w = World::new(21, 3, 2);
    w.run(5_000);
    w.pause_server(MASTER, 15_000);
    w.run(14_000);
    let new = w
        .primaries()
        .into_iter()
        .find(|p| *p != MASTER)
        .expect("a new primary");
    w.run(30_000);
    assert_eq!(w.servers[&MASTER].master, Some(new), "{}", w.describe());
    assert!((0..3).any(|i| !w.events_of(i, "+convert-to-slave").is_empty()));
    assert_eq!(w.converged(true), Ok((new, 1)), "{}", w.describe());
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

/// The primary and one sentinel are cut off: the majority fails over, the minority keeps
/// its stale view until the partition heals, then everyone agrees and the old primary
/// follows the new one.
#[test]
fn a_partitioned_primary_is_replaced_and_rejoins_as_a_replica() {
    let mut w = World::new(22, 3, 2);
    w.run(5_000);
    let side: BTreeSet<Node> = [Node::Server(MASTER), Node::Sentinel(0)].into();
    w.partition(side, 20_000);
    w.run(15_000);
    // The minority sentinel cannot fail over (no majority) and still names the old primary.
    assert_eq!(
        w.sentinels[0].masters["mymaster"].current_address().1,
        MASTER
    );
    let new = w
        .primaries()
        .into_iter()
        .find(|p| *p != MASTER)
        .expect("a new primary");
    assert_eq!(w.sentinels[1].masters["mymaster"].current_address().1, new);
    w.run(40_000);
    assert_eq!(w.converged(true), Ok((new, 1)), "{}", w.describe());
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

/// A replica with replica-priority 0 is never chosen, even when it is the only one left.
#[test]
fn a_priority_zero_replica_is_never_promoted() {
    let mut setup = Setup::plain(3, 2);
    setup.priorities = vec![0, 100];
    let mut w = World::with(StdRng::seed_from_u64(23), setup);
    w.run(5_000);
    w.kill(MASTER + 2);
    w.run(2_000);
    w.kill(MASTER);
    w.run(30_000);
    assert!(w.promotions.is_empty(), "{:?}", w.promotions);
    assert_eq!(w.primaries(), Vec::<u16>::new());
    assert!((0..3).any(|i| !w.events_of(i, "-failover-abort-no-good-slave").is_empty()));
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

// ---------------------------------------------------------------------------------------------
// Thousands of seeds.
// ---------------------------------------------------------------------------------------------

/// Seeds the chaos test runs by default: about a minute on two cores in release mode (a
/// debug build runs far fewer).
const SEEDS: u64 = if cfg!(debug_assertions) { 200 } else { 4000 };

/// How a deployment of a seed looks: 3–5 sentinels, 2–4 replicas (some of priority 0, at
/// least one promotable), a quorum from 2 to a majority, 1–20 ms of latency, various
/// down-after-milliseconds and failover-timeout.
fn chaos_setup(rng: &mut StdRng) -> Setup {
    let sentinels = rng.gen_range(3..=5);
    let replicas = rng.gen_range(2..=4);
    let mut priorities: Vec<u32> = (0..replicas)
        .map(|_| match rng.gen_range(0..6) {
            0 | 1 => 0,
            2 => 10,
            3 => 50,
            _ => 100,
        })
        .collect();
    if priorities.iter().all(|p| *p == 0) {
        let k = rng.gen_range(0..replicas);
        priorities[k] = 100;
    }
    Setup {
        sentinels,
        priorities,
        quorum: rng.gen_range(2..=sentinels as u32 / 2 + 1),
        latency: rng.gen_range(1..=20),
        down_after: [1_000, 1_000, 2_000, 5_000][rng.gen_range(0..4)],
        failover_timeout: [3_000, 5_000, 5_000, 10_000, 20_000][rng.gen_range(0..5)],
    }
}

fn pick<T: Copy>(rng: &mut StdRng, v: &[T]) -> Option<T> {
    (!v.is_empty()).then(|| v[rng.gen_range(0..v.len())])
}

/// One random fault.
fn inject(w: &mut World) {
    let alive: Vec<u16> = w
        .servers
        .values()
        .filter(|s| s.alive)
        .map(|s| s.port)
        .collect();
    let dead: Vec<u16> = w
        .servers
        .values()
        .filter(|s| !s.alive)
        .map(|s| s.port)
        .collect();
    let primaries = w.primaries();
    let live_sentinels: Vec<usize> = (0..w.sen.len()).filter(|i| w.sen[*i].alive).collect();
    let dead_sentinels: Vec<usize> = (0..w.sen.len()).filter(|i| !w.sen[*i].alive).collect();
    // Faults aim at a primary more often than not: that is what makes failovers.
    let victim = |w: &mut World| {
        if w.rng.gen_bool(0.6) {
            pick(&mut w.rng, &primaries).or_else(|| pick(&mut w.rng, &alive))
        } else {
            pick(&mut w.rng, &alive)
        }
    };
    match w.rng.gen_range(0..100) {
        0..=14 => {
            if let Some(p) = victim(w) {
                w.kill(p);
            }
        }
        15..=24 => {
            if let Some(p) = pick(&mut w.rng, &dead) {
                w.restart(p);
            }
        }
        25..=39 => {
            if let Some(p) = victim(w) {
                let ms = w.rng.gen_range(500..30_000);
                w.pause_server(p, ms);
            }
        }
        40..=47 => {
            if let Some(i) = pick(&mut w.rng, &live_sentinels) {
                w.crash_sentinel(i);
            }
        }
        48..=55 => {
            if let Some(i) = pick(&mut w.rng, &dead_sentinels) {
                w.restart_sentinel(i);
            }
        }
        56..=67 => {
            if let Some(i) = pick(&mut w.rng, &live_sentinels) {
                let ms = w.rng.gen_range(500..20_000);
                w.pause_sentinel(i, ms);
            }
        }
        68..=84 => {
            let mut nodes: Vec<Node> = w.servers.keys().map(|p| Node::Server(*p)).collect();
            nodes.extend((0..w.sen.len()).map(Node::Sentinel));
            let side: BTreeSet<Node> = nodes
                .iter()
                .copied()
                .filter(|_| w.rng.gen_bool(0.5))
                .collect();
            if !side.is_empty() && side.len() < nodes.len() {
                let ms = w.rng.gen_range(1_000..30_000);
                w.partition(side, ms);
            }
        }
        _ => {
            let p = w.rng.gen_range(0.01..0.3);
            let ms = w.rng.gen_range(2_000..30_000);
            w.lose(p, ms);
        }
    }
}

/// What one seed did, to check that the faults bite.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    promotions: usize,
    switches: usize,
    converts: usize,
    tilts: usize,
    settle_ms: i64,
}

/// Faults settle after at most this long (simulated), or the seed fails.
const SETTLE_MAX: i64 = 400_000;

/// One seed: a random deployment, random faults, then everything healed; checks the
/// invariants all along and agreement at the end.
fn chaos(seed: u64, trace: bool) -> Result<Outcome, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let setup = chaos_setup(&mut rng);
    let mut w = World::with(rng, setup);
    w.trace = trace;
    w.note(|| format!("seed {seed}: {:?}", w.setup));
    let start = w.now;
    w.run(5_000);
    while !w.discovered() {
        if w.now - start > 60_000 {
            return Err("the sentinels did not discover each other".into());
        }
        w.run(1_000);
    }
    // Some seeds pile faults up quickly, others space them out.
    let faults = w.rng.gen_range(4..=16);
    let spacing = if w.rng.gen_bool(0.3) { 3_000 } else { 15_000 };
    for _ in 0..faults {
        inject(&mut w);
        let wait = w.rng.gen_range(200..spacing);
        w.run(wait);
    }
    w.note(|| "HEAL: every fault ends".into());
    w.heal_everything();
    let healed = w.now;
    // Long enough for TILT to end (30 s) and a failover or two to run; then the same
    // agreement, with nothing in progress, at two checks 10 s apart.
    w.run(40_000);
    let mut last: Option<(u16, u64)> = None;
    loop {
        match w.converged(true) {
            Ok(v) if last == Some(v) => break,
            Ok(v) => last = Some(v),
            Err(e) => {
                last = None;
                if w.now - healed > SETTLE_MAX {
                    return Err(format!(
                        "no agreement {} s after healing: {e}\n{}",
                        SETTLE_MAX / 1000,
                        w.describe()
                    ));
                }
            }
        }
        w.run(10_000);
    }
    if !w.violations.is_empty() {
        return Err(format!("{}\n{}", w.violations.join("\n"), w.describe()));
    }
    let count = |kind: &str| {
        (0..w.sen.len())
            .map(|i| w.events_of(i, kind).len())
            .sum::<usize>()
    };
    let outcome = Outcome {
        promotions: w.promotions.len(),
        switches: count("+switch-master"),
        converts: count("+convert-to-slave"),
        tilts: count("+tilt"),
        settle_ms: w.now - healed,
    };
    w.note(|| format!("seed {seed} passed: {outcome:?}\n{}", w.describe()));
    Ok(outcome)
}

fn reproduce(seed: u64) -> String {
    format!(
        "SIM_SEED={seed} cargo test --release -p sentinel --test sim thousands_of_seeds -- --nocapture"
    )
}

/// Runs thousands of seeds on all cores (or only `SIM_SEED`, traced); every failing seed is
/// printed with the command that replays it.
#[test]
fn thousands_of_seeds() {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.trim().parse().expect("SIM_SEED is a number");
        if let Err(e) = chaos(seed, true) {
            panic!("seed {seed} failed: {e}");
        }
        return;
    }
    let count: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(SEEDS);
    let first: u64 = std::env::var("SIM_FIRST_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicU64::new(first);
    let results = std::sync::Mutex::new(Vec::new());
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seed >= first + count {
                    break;
                }
                let r = std::panic::catch_unwind(|| chaos(seed, false)).unwrap_or_else(|p| {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(format!("panicked: {msg}"))
                });
                results.lock().expect("results").push((seed, r));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(s, _)| *s);
    let mut total = Outcome::default();
    let mut failed = Vec::new();
    for (seed, r) in &results {
        match r {
            Ok(o) => {
                total.promotions += o.promotions;
                total.switches += o.switches;
                total.converts += o.converts;
                total.tilts += o.tilts;
                total.settle_ms = total.settle_ms.max(o.settle_ms);
            }
            Err(e) => {
                eprintln!(
                    "seed {seed} FAILED: {e}\n  reproduce: {}\n",
                    reproduce(*seed)
                );
                failed.push(*seed);
            }
        }
    }
    eprintln!(
        "{count} seeds from {first} in {:.1} s on {threads} threads: {} failed; {} promotions, \
         {} switch-master, {} convert-to-slave, {} tilt events; longest settle {} s",
        started.elapsed().as_secs_f64(),
        failed.len(),
        total.promotions,
        total.switches,
        total.converts,
        total.tilts,
        total.settle_ms / 1000
    );
    assert!(
        failed.is_empty(),
        "{} of {count} seeds failed: {failed:?}; replay one with {}",
        failed.len(),
        reproduce(failed[0])
    );
    if count >= 100 {
        // The faults did bite.
        assert!(total.promotions as u64 > count && total.converts > 0 && total.tilts > 0);
    }
}
