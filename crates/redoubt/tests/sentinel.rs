//! Sentinel end to end: real processes on loopback. Redoubt sentinels discover and fail over
//! a primary with two replicas (Redoubt's or Debian's redis-server), mixed groups with Debian's
//! redis-sentinel agree and fail over together, replies are compared byte for byte (or key
//! order for descriptions) with a real redis-sentinel, and the rewritten config file survives
//! a restart.
//!
//! Every wait is bounded; every process is killed when its handle drops.

mod common;

use common::*;
use resp::Frame;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MASTER: &str = "mym";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn our_sentinel_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_redoubt-sentinel"))
}

fn real_sentinel_bin() -> PathBuf {
    let p = PathBuf::from("/usr/bin/redis-sentinel");
    assert!(
        p.exists(),
        "redis-sentinel is required for interop tests: apt-get install -y redis-sentinel"
    );
    p
}

/// Which implementation a sentinel process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Ours,
    Real,
}

/// A sentinel process with its own directory and config file, killed on drop.
struct Sentinel {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    conf: PathBuf,
    kind: Impl,
}

/// The usual `sentinel` lines for monitoring `MASTER` at `port`.
fn monitor_lines(master_port: u16, down_after: u64, failover_timeout: u64) -> String {
    format!(
        "sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n\
         sentinel down-after-milliseconds {MASTER} {down_after}\n\
         sentinel failover-timeout {MASTER} {failover_timeout}\n"
    )
}

impl Sentinel {
    /// Starts a sentinel whose config file is the standard header plus `body`.
    fn start(kind: Impl, body: &str) -> Sentinel {
        for _ in 0..5 {
            let port = free_port();
            let dir = scratch_dir("sentinel");
            let conf = dir.join("sentinel.conf");
            let text = format!(
                "port {port}\nbind 127.0.0.1\ndir \"{}\"\nlogfile \"{}\"\n{body}",
                dir.display(),
                dir.join("sentinel.log").display()
            );
            std::fs::write(&conf, text).expect("write conf");
            let mut s = Sentinel {
                child: None,
                port,
                dir,
                conf,
                kind,
            };
            if s.spawn() {
                return s;
            }
        }
        panic!("sentinel ({kind:?}) did not start");
    }

    /// Spawns the process on its config file; true once it answers PING.
    fn spawn(&mut self) -> bool {
        let bin = match self.kind {
            Impl::Ours => our_sentinel_bin(),
            Impl::Real => real_sentinel_bin(),
        };
        let mut child = Command::new(bin)
            .arg(&self.conf)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sentinel");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                if s.write_all(b"PING\r\n").is_ok() {
                    let mut b = [0u8; 7];
                    // `-NOAUTH` with requirepass: up as well.
                    if s.read_exact(&mut b).is_ok() && (&b == b"+PONG\r\n" || &b == b"-NOAUTH") {
                        self.child = Some(child);
                        return true;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills the process and starts it again on the same file and port.
    fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.spawn() {
            assert!(Instant::now() < deadline, "sentinel did not restart");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    fn call(&self, args: &[&str]) -> Vec<u8> {
        self.raw().call(args)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sentinel.log")).unwrap_or_default()
    }

    fn conf_text(&self) -> String {
        std::fs::read_to_string(&self.conf).unwrap_or_default()
    }

    /// The address GET-MASTER-ADDR-BY-NAME reports.
    fn master_addr(&self) -> Option<(String, u16)> {
        let f = parse(&self.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER]));
        match f {
            Frame::Array(v) if v.len() == 2 => Some((text(&v[0]), text(&v[1]).parse().ok()?)),
            _ => None,
        }
    }

    fn count(&self, sub: &str) -> usize {
        match parse(&self.call(&["SENTINEL", sub, MASTER])) {
            Frame::Array(v) => v.len(),
            _ => 0,
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Logs of every sentinel, for failure messages.
fn logs(ss: &[&Sentinel]) -> String {
    let mut out = String::new();
    for s in ss {
        out.push_str(&format!(
            "\n===== {:?} sentinel on port {} ({}) =====\n{}",
            s.kind,
            s.port,
            s.dir.display(),
            s.log()
        ));
    }
    out
}

/// Polls `f` until it returns Some, for at most `secs` seconds.
fn wait_for<T>(
    secs: u64,
    what: &str,
    ctx: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {secs} s waiting for {what}{}", ctx());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One command on a fresh connection (failovers kill client connections with CLIENT KILL);
/// None when the server cannot be reached or closes the connection.
fn try_call(port: u16, args: &[&str]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(&resp::encode_command(args)).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Ok(Some((_, n))) = resp::parse_frame(&buf) {
            buf.truncate(n);
            return Some(buf);
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// An INFO replication field of the server at `port`, read on a fresh connection.
fn repl_field(port: u16, name: &str) -> Option<String> {
    let info = try_call(port, &["INFO", "replication"])?;
    field_of(&text(&parse(&info)), name)
}

/// Waits until the server at `port` reports role `role` (and, for replicas, follows
/// `master` with its link up).
fn wait_role(port: u16, role: &str, master: Option<u16>, what: &str, ctx: impl Fn() -> String) {
    wait_for(60, what, ctx, || {
        let ok = repl_field(port, "role").as_deref() == Some(role)
            && master.is_none_or(|m| {
                repl_field(port, "master_port") == Some(m.to_string())
                    && repl_field(port, "master_link_status").as_deref() == Some("up")
            });
        ok.then_some(())
    });
}

fn parse(bytes: &[u8]) -> Frame {
    resp::parse_frame(bytes)
        .expect("valid reply")
        .expect("complete reply")
        .0
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) | Frame::Error(b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        Frame::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A flat key/value array (RESP2) or a map (RESP3) as pairs.
fn pairs(f: &Frame) -> Vec<(String, String)> {
    match f {
        Frame::Array(v) => v.chunks(2).map(|c| (text(&c[0]), text(&c[1]))).collect(),
        Frame::Map(v) => v.iter().map(|(k, v)| (text(k), text(v))).collect(),
        other => panic!("not a description: {other:?}"),
    }
}

fn keys(f: &Frame) -> Vec<String> {
    pairs(f).into_iter().map(|(k, _)| k).collect()
}

fn field(f: &Frame, name: &str) -> String {
    pairs(f)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// A primary and two replicas of Redoubt (or Debian's redis-server), synced.
struct Group {
    primary: Server,
    replicas: Vec<Server>,
}

fn server_args(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["--repl-diskless-sync-delay", "0", "--save", ""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn start_server(real: bool, extra: &[&str]) -> Server {
    let args = server_args(extra);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    if real {
        Server::start_redis(&a)
    } else {
        Server::start(&a)
    }
}

/// Starts a server on a given port (to bring an old primary back where it was).
fn start_server_on(real: bool, port: u16, extra: &[&str]) -> Server {
    let dir = scratch_dir("srv-again");
    let bin = if real { require_redis() } else { redoubt_bin() };
    let port_s = port.to_string();
    let mut args: Vec<String> = vec!["--port".into(), port_s, "--bind".into(), "127.0.0.1".into()];
    if real {
        args.extend(["--appendonly".to_string(), "no".to_string()]);
    }
    args.extend(server_args(extra));
    let child = Command::new(bin)
        .args(&args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let srv = Server { child, port, dir };
    wait_for(10, "the server to come back", String::new, || {
        TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
    });
    srv.wait_loaded();
    srv
}

impl Group {
    fn start(real: bool) -> Group {
        let primary = start_server(real, &[]);
        let p = primary.port.to_string();
        let replicas: Vec<Server> = (0..2)
            .map(|_| start_server(real, &["--replicaof", "127.0.0.1", &p]))
            .collect();
        for r in &replicas {
            wait_field(&mut r.raw(), "replication", "master_link_status", "up");
        }
        Group { primary, replicas }
    }
}

/// Waits until every sentinel knows both replicas and the other sentinels.
fn wait_discovery(ss: &[&Sentinel]) {
    let others = ss.len() - 1;
    for s in ss {
        wait_for(
            30,
            "discovery of replicas and sentinels",
            || logs(ss),
            || (s.count("REPLICAS") == 2 && s.count("SENTINELS") == others).then_some(()),
        );
        // Replicas have answered INFO (they are candidates for promotion).
        wait_for(
            30,
            "INFO from the replicas",
            || logs(ss),
            || {
                let Frame::Array(v) = parse(&s.call(&["SENTINEL", "REPLICAS", MASTER])) else {
                    return None;
                };
                v.iter()
                    .all(|r| {
                        field(r, "flags") == "slave"
                            && field(r, "master-link-status") == "ok"
                            && field(r, "role-reported") == "slave"
                    })
                    .then_some(())
            },
        );
    }
}

/// A pub/sub connection reading messages with a deadline.
struct Subscriber {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Subscriber {
    fn psubscribe(port: u16, pattern: &str) -> Subscriber {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        s.write_all(&resp::encode_command(&["PSUBSCRIBE", pattern]))
            .unwrap();
        let mut sub = Subscriber { s, buf: Vec::new() };
        let first = sub
            .next(Duration::from_secs(5))
            .expect("psubscribe confirmation");
        assert_eq!(text(&first[0]), "psubscribe");
        sub
    }

    /// The next pub/sub frame's parts, or None at the deadline.
    fn next(&mut self, within: Duration) -> Option<Vec<Frame>> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some((f, n))) = resp::parse_frame(&self.buf) {
                self.buf.drain(..n);
                return match f {
                    Frame::Array(v) | Frame::Push(v) => Some(v),
                    other => Some(vec![other]),
                };
            }
            if Instant::now() >= deadline {
                return None;
            }
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
        }
    }

    /// Waits for a `pmessage` on `channel`; returns its message.
    fn wait_channel(&mut self, channel: &str, secs: u64) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(parts) = self.next(Duration::from_millis(500)) {
                if parts.len() == 4 && text(&parts[0]) == "pmessage" && text(&parts[2]) == channel {
                    return Some(text(&parts[3]));
                }
            }
        }
        None
    }
}

/// Kills the primary and checks that the sentinels agree on a promoted replica that accepts
/// writes and that the other replica follows. Returns the new primary's port.
fn kill_primary_and_check_failover(g: &mut Group, ss: &[&Sentinel], sub: &mut Subscriber) -> u16 {
    let old = g.primary.port;
    let _ = g.primary.child.kill();
    let _ = g.primary.child.wait();
    let killed_at = Instant::now();
    let msg = sub.wait_channel("+switch-master", 60).unwrap_or_else(|| {
        panic!(
            "no +switch-master within 60 s of killing the primary{}",
            logs(ss)
        )
    });
    let parts: Vec<&str> = msg.split(' ').collect();
    assert_eq!(parts.len(), 5, "{msg}");
    assert_eq!(parts[0], MASTER);
    assert_eq!(parts[2], old.to_string(), "{msg}");
    let new_port: u16 = parts[4].parse().unwrap();
    assert!(
        g.replicas.iter().any(|r| r.port == new_port),
        "promoted {new_port} is not one of the replicas: {msg}"
    );
    eprintln!(
        "switch-master {:.1} s after the kill",
        killed_at.elapsed().as_secs_f64()
    );
    for s in ss {
        wait_for(
            30,
            "every sentinel to report the new primary",
            || logs(ss),
            || (s.master_addr() == Some(("127.0.0.1".into(), new_port))).then_some(()),
        );
    }
    wait_role(
        new_port,
        "master",
        None,
        "the promoted replica to be a primary",
        || logs(ss),
    );
    wait_for(
        10,
        "a write on the new primary",
        || logs(ss),
        || {
            (try_call(new_port, &["SET", "after-failover", "1"]).as_deref() == Some(b"+OK\r\n"))
                .then_some(())
        },
    );
    let other = g.replicas.iter().find(|r| r.port != new_port).unwrap().port;
    wait_role(
        other,
        "slave",
        Some(new_port),
        "the other replica to follow the new primary",
        || logs(ss),
    );
    wait_for(
        30,
        "the write to reach the other replica",
        || logs(ss),
        || {
            (try_call(other, &["GET", "after-failover"]).as_deref() == Some(b"$1\r\n1\r\n"))
                .then_some(())
        },
    );
    new_port
}

/// Brings the old primary back as a primary and waits until the sentinels turn it into a
/// replica of the new one.
fn old_primary_rejoins(g: &mut Group, real: bool, old: u16, new: u16, ss: &[&Sentinel]) {
    g.primary = start_server_on(real, old, &[]);
    wait_role(
        old,
        "slave",
        Some(new),
        "the old primary to become a replica of the new one",
        || logs(ss),
    );
    assert!(
        ss.iter().any(|s| s.log().contains(&format!(
            "+convert-to-slave slave 127.0.0.1:{old} 127.0.0.1 {old} @ {MASTER} 127.0.0.1 {new}"
        ))),
        "no +convert-to-slave logged{}",
        logs(ss)
    );
}

fn start_group_sentinels(
    kinds: &[Impl],
    g: &Group,
    down_after: u64,
    timeout: u64,
) -> Vec<Sentinel> {
    kinds
        .iter()
        .map(|&k| Sentinel::start(k, &monitor_lines(g.primary.port, down_after, timeout)))
        .collect()
}

fn failover_scenario(kinds: &[Impl], real_servers: bool, rejoin: bool) {
    let mut g = Group::start(real_servers);
    let sentinels = start_group_sentinels(kinds, &g, 1500, 6000);
    let ss: Vec<&Sentinel> = sentinels.iter().collect();
    wait_discovery(&ss);
    let watcher = ss.iter().find(|s| s.kind == Impl::Ours).unwrap_or(&ss[0]);
    let mut sub = Subscriber::psubscribe(watcher.port, "*");
    let old = g.primary.port;
    let new = kill_primary_and_check_failover(&mut g, &ss, &mut sub);
    if rejoin {
        old_primary_rejoins(&mut g, real_servers, old, new, &ss);
    }
    // The group is consistent: everyone knows the three servers.
    for s in &ss {
        wait_for(
            30,
            "the replica list to settle",
            || logs(&ss),
            || (s.count("REPLICAS") == 2).then_some(()),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Failover
// ---------------------------------------------------------------------------------------------

#[test]
fn redoubt_sentinels_fail_over_redoubt_servers() {
    failover_scenario(&[Impl::Ours, Impl::Ours, Impl::Ours], false, true);
}

#[test]
fn redoubt_sentinels_fail_over_real_redis_servers() {
    failover_scenario(&[Impl::Ours, Impl::Ours, Impl::Ours], true, false);
}

#[test]
fn mixed_group_two_redoubt_one_real_sentinel_fail_over() {
    failover_scenario(&[Impl::Ours, Impl::Real, Impl::Ours], false, false);
}

#[test]
fn mixed_group_one_redoubt_two_real_sentinels_fail_over() {
    failover_scenario(&[Impl::Real, Impl::Ours, Impl::Real], false, false);
}

#[test]
fn forced_failover_with_sentinel_failover() {
    let g = Group::start(false);
    let sentinels = start_group_sentinels(&[Impl::Ours, Impl::Ours, Impl::Ours], &g, 2000, 6000);
    let ss: Vec<&Sentinel> = sentinels.iter().collect();
    wait_discovery(&ss);
    let mut sub = Subscriber::psubscribe(ss[1].port, "+switch-master");
    let old = g.primary.port;
    let mut c = ss[0].raw();
    assert_eq!(
        c.call(&["SENTINEL", "FAILOVER", "nosuch"]),
        b"-ERR No such master with that name\r\n"
    );
    assert_eq!(c.call(&["SENTINEL", "FAILOVER", MASTER]), b"+OK\r\n");
    assert_eq!(
        c.call(&["SENTINEL", "FAILOVER", MASTER]),
        b"-INPROG Failover already in progress\r\n"
    );
    let msg = sub
        .wait_channel("+switch-master", 60)
        .unwrap_or_else(|| panic!("no +switch-master after SENTINEL FAILOVER{}", logs(&ss)));
    let parts: Vec<&str> = msg.split(' ').collect();
    assert_eq!(parts[2], old.to_string(), "{msg}");
    let new: u16 = parts[4].parse().unwrap();
    assert!(g.replicas.iter().any(|r| r.port == new));
    for s in &ss {
        wait_for(
            30,
            "every sentinel to report the new primary",
            || logs(&ss),
            || (s.master_addr() == Some(("127.0.0.1".into(), new))).then_some(()),
        );
    }
    wait_role(
        new,
        "master",
        None,
        "the promoted replica to be a primary",
        || logs(&ss),
    );
    wait_for(
        10,
        "a write on the new primary",
        || logs(&ss),
        || (try_call(new, &["SET", "forced", "1"]).as_deref() == Some(b"+OK\r\n")).then_some(()),
    );
    // The old primary was not told anything: the sentinels convert it.
    wait_role(
        old,
        "slave",
        Some(new),
        "the old primary to be converted into a replica",
        || logs(&ss),
    );
}

// ---------------------------------------------------------------------------------------------
// Reply shapes against a real redis-sentinel
// ---------------------------------------------------------------------------------------------

/// One of ours and one real sentinel on the same group, each seeing the other.
fn ours_and_real() -> (Group, Sentinel, Sentinel) {
    let g = Group::start(false);
    let ours = Sentinel::start(Impl::Ours, &monitor_lines(g.primary.port, 5000, 60000));
    let real = Sentinel::start(Impl::Real, &monitor_lines(g.primary.port, 5000, 60000));
    for s in [&ours, &real] {
        wait_for(
            30,
            "discovery",
            || logs(&[&ours, &real]),
            || (s.count("REPLICAS") == 2 && s.count("SENTINELS") == 1).then_some(()),
        );
    }
    // Both have INFO from every replica (role-reported etc. are stable).
    for s in [&ours, &real] {
        wait_for(
            30,
            "replica INFO",
            || logs(&[&ours, &real]),
            || {
                let f = parse(&s.call(&["SENTINEL", "REPLICAS", MASTER]));
                let Frame::Array(v) = f else { return None };
                v.iter()
                    .all(|r| field(r, "master-link-status") == "ok")
                    .then_some(())
            },
        );
    }
    (g, ours, real)
}

/// Sends `args` to both and asserts identical bytes.
fn same_reply(ours: &mut Raw, real: &mut Raw, args: &[&str]) {
    let a = ours.call(args);
    let b = real.call(args);
    assert_eq!(
        lossy(&a),
        lossy(&b),
        "reply to {args:?} differs (left: ours, right: redis-sentinel)"
    );
}

#[test]
fn replies_match_a_real_sentinel() {
    let (g, ours, real) = ours_and_real();
    let p = g.primary.port.to_string();
    let mut a = ours.raw();
    let mut b = real.raw();
    for args in [
        vec!["PING"],
        vec!["PING", "hello"],
        vec!["ROLE"],
        vec!["COMMAND", "COUNT"],
        vec!["GET", "a", "b"],
        vec!["QUIT"],
        vec!["SELECT", "0"],
        vec!["CONFIG", "GET", "port"],
        vec!["SHUTDOWN", "foo"],
        vec!["INFO", "nosuchsection"],
        vec!["PUBLISH", "chan", "msg"],
        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER],
        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            &p,
            "0",
            "*",
        ],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "10.9.9.9",
            "1",
            "0",
            "*",
        ],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            "x",
            "0",
            "*",
        ],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            &p,
            "y",
            "*",
        ],
        vec!["SENTINEL", "CKQUORUM", MASTER],
        vec!["SENTINEL", "CKQUORUM", "nosuch"],
        vec!["SENTINEL", "MASTER", "nosuch"],
        vec!["SENTINEL", "REPLICAS", "nosuch"],
        vec!["SENTINEL", "SENTINELS", "nosuch"],
        vec!["SENTINEL", "MASTERS", "extra"],
        vec!["SENTINEL", "FOO"],
        vec!["SENTINEL"],
        vec!["SENTINEL", "MONITOR", "x", "127.0.0.1", "1234", "q"],
        vec!["SENTINEL", "MONITOR", "x", "127.0.0.1", "p", "2"],
        vec!["SENTINEL", "MONITOR", "x", "127.0.0.1", "1234", "0"],
        vec!["SENTINEL", "MONITOR", "x", "not-an-ip!", "1234", "2"],
        vec!["SENTINEL", "MONITOR", MASTER, "127.0.0.1", "1234", "2"],
        vec!["SENTINEL", "REMOVE", "nosuch"],
        vec!["SENTINEL", "SET", MASTER, "nosuchoption", "1"],
        vec!["SENTINEL", "SET", MASTER, "down-after-milliseconds", "-5"],
        vec!["SENTINEL", "SET", MASTER, "quorum", "0"],
        vec![
            "SENTINEL",
            "SET",
            MASTER,
            "notification-script",
            "/bin/true",
        ],
        vec!["SENTINEL", "SET", "nosuch", "quorum", "2"],
        vec!["SENTINEL", "FAILOVER", "nosuch"],
        vec!["SENTINEL", "DEBUG"],
        vec!["SENTINEL", "CONFIG", "SET", "nosuch", "1"],
        vec!["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe"],
        vec!["SENTINEL", "SIMULATE-FAILURE", "HELP"],
        vec!["SENTINEL", "PENDING-SCRIPTS"],
        vec!["SENTINEL", "RESET", "nomatch*"],
        vec!["CLIENT", "SETNAME", "a b"],
        vec!["CLIENT", "FOO"],
        vec!["CLIENT"],
        vec!["CLIENT", "KILL", "1.2.3.4:5"],
        vec!["CLIENT", "HELP"],
        vec!["ACL", "WHOAMI"],
        vec!["ACL", "CAT", "nosuch"],
        vec!["AUTH", "x"],
        vec!["HELLO", "4"],
        vec!["COMMAND", "HELP"],
        vec!["COMMAND", "INFO", "nosuch"],
        vec![
            "COMMAND", "INFO", "ping", "auth", "hello", "info", "publish", "role",
        ],
        vec![
            "COMMAND",
            "INFO",
            "subscribe",
            "psubscribe",
            "unsubscribe",
            "punsubscribe",
        ],
        vec![
            "COMMAND",
            "INFO",
            "shutdown",
            "client|kill",
            "acl|whoami",
            "sentinel|masters",
        ],
        vec![
            "COMMAND",
            "INFO",
            "command|count",
            "client|list",
            "sentinel|help",
        ],
        vec!["COMMAND", "GETKEYS", "ping", "x", "y"],
        vec!["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
        vec!["COMMAND", "LIST", "x"],
        vec!["ACL", "CAT"],
        vec!["ACL", "USERS"],
        vec!["ACL", "LIST"],
        vec!["ACL", "GETUSER", "default"],
        vec!["ACL", "GETUSER", "nobody"],
        vec!["ACL", "LOG"],
        vec!["ACL", "LOG", "x"],
        vec!["ACL", "HELP"],
        vec!["ACL", "GENPASS", "x"],
        vec!["ACL", "GENPASS", "0"],
        vec!["ACL", "DRYRUN", "default", "ping"],
        vec!["ACL", "DRYRUN", "default", "get", "x"],
        vec!["ACL", "DRYRUN", "nobody", "ping"],
        vec!["ACL", "LOAD"],
        vec!["ACL", "WHOAMI", "x"],
        vec!["CLIENT", "GETREDIR"],
        vec!["CLIENT", "TRACKINGINFO"],
        vec!["CLIENT", "UNBLOCK", "1"],
        vec!["CLIENT", "CACHING", "yes"],
        vec!["CLIENT", "KILL", "ID", "99999"],
        vec!["CLIENT", "KILL", "TYPE", "foo"],
        vec!["CLIENT", "LIST", "TYPE", "foo"],
        vec!["CLIENT", "LIST", "ID", "x"],
        vec!["CLIENT", "PAUSE", "x"],
        vec!["CLIENT", "REPLY", "foo"],
        vec!["CLIENT", "NO-EVICT", "maybe"],
        vec!["SHUTDOWN", "ABORT"],
        vec!["HELLO", "x"],
        vec!["HELLO", "3", "FOO"],
        vec!["INFO", "sentinel", "sentinel"],
    ] {
        same_reply(&mut a, &mut b, &args);
    }
    // HELLO: same shape, only the client id differs.
    let mask_id = |v: Vec<u8>| {
        let f = parse(&v);
        pairs(&f)
            .into_iter()
            .map(|(k, v)| if k == "id" { (k, "?".into()) } else { (k, v) })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mask_id(a.call(&["HELLO", "3"])),
        mask_id(b.call(&["HELLO", "3"]))
    );
    same_reply(
        &mut a,
        &mut b,
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"],
    );
    same_reply(&mut a, &mut b, &["SENTINEL", "CKQUORUM", MASTER]);
    same_reply(&mut a, &mut b, &["INFO", "nosuchsection"]);
}

#[test]
fn descriptions_have_the_real_key_order() {
    let (_g, ours, real) = ours_and_real();
    let mut a = ours.raw();
    let mut b = real.raw();
    for proto in ["2", "3"] {
        let _ = a.call(&["HELLO", proto]);
        let _ = b.call(&["HELLO", proto]);
        let m_a = parse(&a.call(&["SENTINEL", "MASTER", MASTER]));
        let m_b = parse(&b.call(&["SENTINEL", "MASTER", MASTER]));
        assert_eq!(keys(&m_a), keys(&m_b), "SENTINEL MASTER keys (RESP{proto})");
        assert_eq!(field(&m_a, "flags"), "master");
        assert_eq!(field(&m_a, "num-slaves"), "2");
        assert_eq!(field(&m_a, "num-other-sentinels"), "1");
        let list = |f: Frame| match f {
            Frame::Array(v) => v,
            other => panic!("{other:?}"),
        };
        let r_a = list(parse(&a.call(&["SENTINEL", "REPLICAS", MASTER])));
        let r_b = list(parse(&b.call(&["SENTINEL", "SLAVES", MASTER])));
        assert_eq!(r_a.len(), 2);
        assert_eq!(r_b.len(), 2);
        for (x, y) in r_a.iter().zip(&r_b) {
            assert_eq!(keys(x), keys(y), "SENTINEL REPLICAS keys (RESP{proto})");
            assert_eq!(field(x, "flags"), "slave");
            assert_eq!(field(x, "master-link-status"), "ok");
        }
        let s_a = list(parse(&a.call(&["SENTINEL", "SENTINELS", MASTER])));
        let s_b = list(parse(&b.call(&["SENTINEL", "SENTINELS", MASTER])));
        assert_eq!(s_a.len(), 1);
        assert_eq!(s_b.len(), 1);
        assert_eq!(
            keys(&s_a[0]),
            keys(&s_b[0]),
            "SENTINEL SENTINELS keys (RESP{proto})"
        );
        // Each lists the other.
        assert_eq!(field(&s_a[0], "port"), real.port.to_string());
        assert_eq!(field(&s_b[0], "port"), ours.port.to_string());
        let masters_a = list(parse(&a.call(&["SENTINEL", "MASTERS"])));
        let masters_b = list(parse(&b.call(&["SENTINEL", "MASTERS"])));
        assert_eq!(keys(&masters_a[0]), keys(&masters_b[0]));
        // CONFIG GET: the same parameters.
        let mut c_a = keys(&parse(&a.call(&["SENTINEL", "CONFIG", "GET", "*"])));
        let mut c_b = keys(&parse(&b.call(&["SENTINEL", "CONFIG", "GET", "*"])));
        c_a.sort();
        c_b.sort();
        assert_eq!(c_a, c_b);
    }
    // INFO: same fields in the same sections.
    let fields = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .filter(|k| k != "redoubt_version")
            .collect()
    };
    let info_a = text(&parse(&a.call(&["INFO"])));
    let info_b = text(&parse(&b.call(&["INFO"])));
    assert_eq!(fields(&info_a), fields(&info_b));
    let sec_a = text(&parse(&a.call(&["INFO", "sentinel"])));
    let sec_b = text(&parse(&b.call(&["INFO", "sentinel"])));
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| {
                l.replace(&ours.port.to_string(), "P")
                    .replace(&real.port.to_string(), "P")
            })
            .collect()
    };
    assert_eq!(strip(&sec_a), strip(&sec_b), "INFO sentinel");
    assert!(sec_a.contains("slaves=2,sentinels=2"), "{sec_a}");
    // COMMAND LIST: the same names (order is a hash order in Redis).
    let names = |r: &mut Raw| {
        let mut v: Vec<String> = match parse(&r.call(&["COMMAND", "LIST"])) {
            Frame::Array(v) => v.iter().map(text).collect(),
            other => panic!("{other:?}"),
        };
        v.sort();
        v
    };
    assert_eq!(names(&mut a), names(&mut b));
}

#[test]
fn pubsub_and_client_commands_behave_as_on_redis() {
    let (_g, ours, real) = ours_and_real();
    for s in [&ours, &real] {
        let mut c = s.raw();
        assert_eq!(
            c.call(&["SUBSCRIBE", "a", "b"]),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
        );
        let second = c.read_reply();
        assert_eq!(second, b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
        assert_eq!(c.call(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(
            c.call(&["ROLE"]),
            b"-ERR Can't execute 'role': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        );
        assert_eq!(
            c.call(&["PSUBSCRIBE", "x*"]),
            b"*3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:3\r\n"
        );
        assert_eq!(
            c.call(&["PUNSUBSCRIBE"]),
            b"*3\r\n$12\r\npunsubscribe\r\n$2\r\nx*\r\n:2\r\n"
        );
        let mut c = s.raw();
        assert_eq!(c.call(&["CLIENT", "SETNAME", "probe"]), b"+OK\r\n");
        assert_eq!(c.call(&["CLIENT", "GETNAME"]), b"$5\r\nprobe\r\n");
        let list = c.call_str(&["CLIENT", "LIST"]);
        assert!(list.contains(" name=probe "), "{list}");
        assert!(list.contains(" cmd=client|list "), "{list}");
        c.cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
        c.cmd(&[b"PING", b"skipped"]);
        assert_eq!(c.call(&["PING", "seen"]), b"$4\r\nseen\r\n");
        // RESP3: the subscribe confirmations are pushes, INFO stays a plain bulk string.
        let mut c = s.raw();
        let _ = c.call(&["HELLO", "3"]);
        assert_eq!(
            c.call(&["SUBSCRIBE", "z"]),
            b">3\r\n$9\r\nsubscribe\r\n$1\r\nz\r\n:1\r\n"
        );
        assert!(c.call(&["INFO", "server"]).starts_with(b"$"));
        assert_eq!(
            c.call(&["GET", "x"]),
            b"-ERR unknown command 'GET', with args beginning with: 'x' \r\n"
        );
    }
}

#[test]
fn sentinel_with_requirepass() {
    let g = Group::start(false);
    let mut body = monitor_lines(g.primary.port, 5000, 60000);
    body.push_str("requirepass s3cret\n");
    let ours = Sentinel::start(Impl::Ours, &body);
    let real = Sentinel::start(Impl::Real, &body);
    for s in [&ours, &real] {
        let mut c = s.raw();
        assert_eq!(c.call(&["PING"]), b"-NOAUTH Authentication required.\r\n");
        assert_eq!(
            c.call(&["GET", "x"]),
            b"-ERR unknown command 'GET', with args beginning with: 'x' \r\n"
        );
        assert_eq!(
            c.call(&["AUTH", "bad"]),
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert!(c
            .call_str(&["HELLO", "3"])
            .starts_with("-NOAUTH HELLO must be called"));
        assert_eq!(c.call(&["AUTH", "s3cret"]), b"+OK\r\n");
        assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
        assert_eq!(c.call(&["ACL", "WHOAMI"]), b"$7\r\ndefault\r\n");
        let mut c = s.raw();
        let hello = c.call(&["HELLO", "2", "AUTH", "default", "s3cret"]);
        assert!(hello.starts_with(b"*12\r\n"), "{}", lossy(&hello));
    }
    let mut a = ours.raw();
    let mut b = real.raw();
    for c in [&mut a, &mut b] {
        assert_eq!(c.call(&["AUTH", "s3cret"]), b"+OK\r\n");
    }
    same_reply(&mut a, &mut b, &["ACL", "LIST"]);
    same_reply(&mut a, &mut b, &["ACL", "GETUSER", "default"]);
    same_reply(&mut a, &mut b, &["AUTH", "default", "nope"]);
    same_reply(&mut a, &mut b, &["AUTH", "other", "s3cret"]);
}

// ---------------------------------------------------------------------------------------------
// Start-up and the config file
// ---------------------------------------------------------------------------------------------

#[test]
fn config_rewrite_keeps_user_lines_and_survives_a_restart() {
    let g = Group::start(false);
    let body = format!(
        "# my own comment\nloglevel notice\n{}sentinel parallel-syncs {MASTER} 1\n",
        monitor_lines(g.primary.port, 5000, 60000)
    );
    let mut s1 = Sentinel::start(Impl::Ours, &body);
    let s2 = Sentinel::start(Impl::Ours, &body);
    wait_discovery(&[&s1, &s2]);
    let myid = lossy(&s1.call(&["SENTINEL", "MYID"]));
    let conf = wait_for(
        10,
        "known-* lines in the config file",
        || s1.conf_text(),
        || {
            let t = s1.conf_text();
            (t.matches("sentinel known-replica").count() == 2
                && t.contains("sentinel known-sentinel"))
            .then_some(t)
        },
    );
    assert!(
        conf.starts_with(&format!("port {}\nbind 127.0.0.1\n", s1.port)),
        "{conf}"
    );
    assert!(
        conf.contains("# my own comment\nloglevel notice\n"),
        "{conf}"
    );
    assert!(conf.contains(&format!(
        "sentinel monitor {MASTER} 127.0.0.1 {} 2\n",
        g.primary.port
    )));
    assert!(conf.contains(&format!("sentinel down-after-milliseconds {MASTER} 5000\n")));
    let id = myid.lines().nth(1).unwrap_or("").to_string();
    assert_eq!(id.len(), 40, "{myid}");
    assert!(conf.contains(&format!("sentinel myid {id}\n")), "{conf}");
    assert!(conf.contains("sentinel current-epoch 0\n"), "{conf}");
    for r in &g.replicas {
        assert!(
            conf.contains(&format!(
                "sentinel known-replica {MASTER} 127.0.0.1 {}\n",
                r.port
            )),
            "{conf}"
        );
    }
    let s2_id = lossy(&s2.call(&["SENTINEL", "MYID"]));
    let s2_id = s2_id.lines().nth(1).unwrap_or("");
    assert!(
        conf.contains(&format!(
            "sentinel known-sentinel {MASTER} 127.0.0.1 {} {s2_id}\n",
            s2.port
        )),
        "{conf}"
    );
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(&s1.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    s1.restart();
    assert_eq!(lossy(&s1.call(&["SENTINEL", "MYID"])), myid);
    // The known replicas and sentinel are there from the start.
    assert_eq!(s1.count("REPLICAS"), 2);
    assert_eq!(s1.count("SENTINELS"), 1);
    let after = s1.conf_text();
    assert!(
        after.contains("# my own comment\nloglevel notice\n"),
        "{after}"
    );
    assert_eq!(after.matches("sentinel myid").count(), 1, "{after}");
}

fn run_ours(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(our_sentinel_bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        lossy(&out.stdout),
        lossy(&out.stderr),
    )
}

#[test]
fn fatal_config_errors_and_missing_file() {
    let dir = scratch_dir("sentinel-errors");
    let (code, out, _) = run_ours(&[], &dir);
    assert_eq!(code, 1);
    assert!(
        out.contains(":X ")
            && out.contains("# Sentinel needs config file on disk to save state. Exiting..."),
        "{out}"
    );
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        "port 0\n# comment\nsentinel monitor m 127.0.0.1 6379 0\n",
    )
    .unwrap();
    let (code, _, err) = run_ours(&[conf.to_str().unwrap()], &dir);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> 'sentinel monitor m 127.0.0.1 6379 0'\nQuorum must be 1 or greater.\n"
    );
    std::fs::write(&conf, "sentinel down-after-milliseconds m 100\nsentinel monitor m 127.0.0.1 6379 1\nsentinel foo\n").unwrap();
    let (code, _, err) = run_ours(&[conf.to_str().unwrap()], &dir);
    assert_eq!(code, 1);
    assert!(
        err.ends_with(
            "at line 3\n>>> 'sentinel foo'\nUnrecognized sentinel configuration statement.\n"
        ),
        "{err}"
    );
    let (code, out, _) = run_ours(&["/nonexistent/dir/s.conf"], &dir);
    assert_eq!(code, 1);
    assert!(
        out.contains("Fatal error, can't open config file '/nonexistent/dir/s.conf': No such file or directory"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redoubt_server_with_sentinel_flag_runs_a_sentinel() {
    let dir = scratch_dir("sentinel-flag");
    let port = free_port();
    let conf = dir.join("s.conf");
    std::fs::write(
        &conf,
        format!("port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\nsentinel monitor {MASTER} 127.0.0.1 1 2\n"),
    )
    .unwrap();
    let child = Command::new(redoubt_bin())
        .arg(&conf)
        .arg("--sentinel")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let srv = Server {
        child,
        port,
        dir: dir.clone(),
    };
    wait_for(10, "the sentinel to answer", String::new, || {
        TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
    });
    let mut c = srv.raw();
    assert_eq!(info_field(&mut c, "server", "redis_mode"), "sentinel");
    assert_eq!(c.call(&["COMMAND", "COUNT"]), b":15\r\n");
    assert_eq!(
        c.call(&["ROLE"]),
        format!("*2\r\n$8\r\nsentinel\r\n*1\r\n$3\r\n{MASTER}\r\n").as_bytes()
    );
}

// ---------------------------------------------------------------------------------------------
// A client library discovering the primary through the sentinels
// ---------------------------------------------------------------------------------------------

#[test]
fn redis_rs_sentinel_client_keeps_writing_across_a_failover() {
    use redis::sentinel::{SentinelClient, SentinelServerType};
    let mut g = Group::start(false);
    let sentinels = start_group_sentinels(&[Impl::Ours, Impl::Ours, Impl::Ours], &g, 1500, 6000);
    let ss: Vec<&Sentinel> = sentinels.iter().collect();
    wait_discovery(&ss);
    let urls: Vec<String> = ss
        .iter()
        .map(|s| format!("redis://127.0.0.1:{}/", s.port))
        .collect();
    let mut client =
        SentinelClient::build(urls, MASTER.to_string(), None, SentinelServerType::Master)
            .expect("sentinel client");
    let connect = |client: &mut SentinelClient| -> Option<redis::Connection> {
        let c = client.get_connection().ok()?;
        c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        Some(c)
    };
    let mut conn = connect(&mut client).expect("a connection to the primary");
    let old = g.primary.port;
    let mut acked: Vec<u64> = Vec::new();
    let mut i: u64 = 0;
    let mut killed = false;
    let mut reconnects = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked_after_kill = 0;
    while acked_after_kill < 50 {
        assert!(
            Instant::now() < deadline,
            "the client did not resume writing within 60 s ({reconnects} reconnects){}",
            logs(&ss)
        );
        if i == 100 && !killed {
            let _ = g.primary.child.kill();
            let _ = g.primary.child.wait();
            killed = true;
        }
        let res: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut conn);
        match res {
            Ok(()) => {
                acked.push(i);
                if killed {
                    acked_after_kill += 1;
                }
                i += 1;
            }
            Err(_) => {
                reconnects += 1;
                std::thread::sleep(Duration::from_millis(100));
                if let Some(c) = connect(&mut client) {
                    conn = c;
                }
            }
        }
    }
    // The writes acknowledged after the failover are on the new primary.
    let new = ss[0].master_addr().expect("a primary").1;
    assert_ne!(new, old);
    let last = *acked.last().unwrap();
    assert_eq!(
        try_call(new, &["GET", &format!("k{last}")]),
        Some(format!("${}\r\n{last}\r\n", last.to_string().len()).into_bytes())
    );
}

#[test]
fn state_file_keeps_the_config_file_untouched_and_survives_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    let g = Group::start(false);
    let body = format!(
        "sentinel state-file sentinel.state\n{}",
        monitor_lines(g.primary.port, 5000, 60000)
    );
    let mut s1 = Sentinel::start(Impl::Ours, &body);
    let s2 = Sentinel::start(Impl::Ours, &body);
    // Read-only (as root this does not stop writes: the bytes are checked below instead).
    std::fs::set_permissions(&s1.conf, std::fs::Permissions::from_mode(0o444)).unwrap();
    let conf_before = std::fs::read(&s1.conf).unwrap();
    assert!(!lossy(&conf_before).contains("sentinel myid"));
    let state_path = s1.dir.join("sentinel.state");
    let state_text = || std::fs::read_to_string(&state_path).unwrap_or_default();
    wait_discovery(&[&s1, &s2]);
    let myid = lossy(&s1.call(&["SENTINEL", "MYID"]));
    let id = myid.lines().nth(1).unwrap_or("").to_string();
    assert_eq!(id.len(), 40, "{myid}");
    let state = wait_for(
        10,
        "known-* lines in the state file",
        || format!("{}{}", state_text(), logs(&[&s1])),
        || {
            let t = state_text();
            (t.matches("sentinel known-replica").count() == 2
                && t.contains("sentinel known-sentinel"))
            .then_some(t)
        },
    );
    assert!(state.contains(&format!("sentinel myid {id}\n")), "{state}");
    assert!(
        state.contains(&format!(
            "sentinel monitor {MASTER} 127.0.0.1 {} 2\n",
            g.primary.port
        )),
        "{state}"
    );
    for r in &g.replicas {
        assert!(
            state.contains(&format!(
                "sentinel known-replica {MASTER} 127.0.0.1 {}\n",
                r.port
            )),
            "{state}"
        );
    }
    // A run-time change goes to the state file too.
    assert_eq!(
        s1.call(&["SENTINEL", "SET", MASTER, "down-after-milliseconds", "4000"]),
        b"+OK\r\n"
    );
    wait_for(
        10,
        "the new down-after in the state file",
        state_text,
        || {
            state_text()
                .contains(&format!("sentinel down-after-milliseconds {MASTER} 4000\n"))
                .then_some(())
        },
    );
    assert_eq!(std::fs::read(&s1.conf).unwrap(), conf_before);
    let log = s1.log();
    assert!(log.contains("Sentinel new state saved on disk"), "{log}");
    assert!(!log.contains("not able to save"), "{log}");
    let leftovers: Vec<_> = std::fs::read_dir(&s1.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Restart: the state file is read after the config file and wins.
    s1.restart();
    assert_eq!(lossy(&s1.call(&["SENTINEL", "MYID"])), myid);
    assert_eq!(s1.count("REPLICAS"), 2);
    assert_eq!(s1.count("SENTINELS"), 1);
    let master = parse(&s1.call(&["SENTINEL", "MASTER", MASTER]));
    assert_eq!(field(&master, "down-after-milliseconds"), "4000");
    assert_eq!(std::fs::read(&s1.conf).unwrap(), conf_before);
    assert_eq!(state_text().matches("sentinel myid").count(), 1);
}

/// Notification scripts show in INFO and SENTINEL PENDING-SCRIPTS while they run, with the
/// fields a real sentinel gives.
#[test]
fn running_scripts_show_in_pending_scripts_and_info() {
    let dir = scratch_dir("notify");
    let script = dir.join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 4\n").expect("write script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut shapes = Vec::new();
    for kind in [Impl::Ours, Impl::Real] {
        let body = format!(
            "{}sentinel notification-script {MASTER} {}\n",
            monitor_lines(free_port(), 60_000, 180_000),
            script.display()
        );
        let s = Sentinel::start(kind, &body);
        // +monitor at start is a warning about the master: it runs the script.
        let entry = wait_for(
            10,
            "a running script",
            || format!(" ({kind:?})"),
            || {
                let info = lossy(&try_call(s.port, &["INFO", "sentinel"])?);
                if !info.contains("sentinel_running_scripts:1") {
                    return None;
                }
                match parse(&try_call(s.port, &["SENTINEL", "PENDING-SCRIPTS"])?) {
                    Frame::Array(items) if !items.is_empty() => Some(items[0].clone()),
                    _ => None,
                }
            },
        );
        let p = pairs(&entry);
        let names: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["argv", "flags", "pid", "run-time", "retry-num"],
            "{kind:?}"
        );
        assert_eq!(field(&entry, "flags"), "running", "{kind:?}");
        assert_ne!(field(&entry, "pid"), "0", "{kind:?}");
        let argv = match &entry {
            Frame::Array(items) => items[1].clone(),
            _ => Frame::Null,
        };
        match argv {
            Frame::Array(a) => {
                assert_eq!(text(&a[0]), script.display().to_string());
                assert_eq!(text(&a[1]), "+monitor");
            }
            other => panic!("{kind:?}: argv {other:?}"),
        }
        shapes.push(names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    }
    assert_eq!(shapes[0], shapes[1]);
}

/// `resolve-hostnames yes` with the primary monitored as `localhost`: with
/// `announce-hostnames no` both implementations show the resolved address (replies, the
/// `+monitor` event, hellos, the rewritten config), with `yes` the name.
#[test]
fn hostnames_are_announced_as_a_real_sentinel_does() {
    let primary = start_server(false, &[]);
    let p = primary.port;
    for announce in ["no", "yes"] {
        let shown = if announce == "yes" {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let body = format!(
            "sentinel resolve-hostnames yes\nsentinel announce-hostnames {announce}\n\
             sentinel monitor {MASTER} localhost {p} 2\n\
             sentinel down-after-milliseconds {MASTER} 5000\n"
        );
        let ours = Sentinel::start(Impl::Ours, &body);
        let real = Sentinel::start(Impl::Real, &body);
        let ctx = || logs(&[&ours, &real]);
        let mut a = ours.raw();
        let mut b = real.raw();
        same_reply(
            &mut a,
            &mut b,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER],
        );
        assert_eq!(
            ours.master_addr(),
            Some((shown.to_string(), p)),
            "{}",
            ctx()
        );
        for s in [&ours, &real] {
            let m = parse(&s.call(&["SENTINEL", "MASTER", MASTER]));
            assert_eq!(
                field(&m, "ip"),
                shown,
                "{:?} SENTINEL MASTER{}",
                s.kind,
                ctx()
            );
            let line = format!("+monitor master {MASTER} {shown} {p} quorum 2");
            wait_for(10, &line, ctx, || s.log().contains(&line).then_some(()));
            let monitor = format!("sentinel monitor {MASTER} {shown} {p} 2");
            wait_for(10, &monitor, ctx, || {
                s.conf_text().contains(&monitor).then_some(())
            });
        }
        // The hellos both sentinels publish name the primary the same way.
        let ids: Vec<String> = [&ours, &real]
            .iter()
            .map(|s| text(&parse(&s.call(&["SENTINEL", "MYID"]))))
            .collect();
        let mut sub = Subscriber::psubscribe(p, "__sentinel__:hello");
        let mut seen = [false, false];
        wait_for(20, "a hello from each sentinel", ctx, || {
            let hello = sub.wait_channel("__sentinel__:hello", 1)?;
            let f: Vec<&str> = hello.split(',').collect();
            if let Some(i) = ids.iter().position(|id| f.get(2) == Some(&id.as_str())) {
                assert_eq!(f[5], shown, "hello {hello}{}", ctx());
                seen[i] = true;
            }
            (seen == [true, true]).then_some(())
        });
    }
}

// ---------------------------------------------------------------------------------------------
// include, the rewritten file, REMOVE/MONITOR across restarts (against a real redis-sentinel)
// ---------------------------------------------------------------------------------------------

/// A sentinel of `kind` on `conf` (already written in `dir`, which is its working directory),
/// listening on `port`.
fn spawn_in(kind: Impl, dir: &Path, conf: &str, port: u16) -> Sentinel {
    let mut s = Sentinel {
        child: None,
        port,
        dir: dir.to_path_buf(),
        conf: dir.join(conf),
        kind,
    };
    assert!(s.spawn(), "{kind:?} sentinel did not start:\n{}", s.log());
    s
}

/// The file with the values that differ between runs replaced (ports, ids, the directory),
/// and the generic lines Redis appends after the signature in a random order sorted.
fn normalized_conf(text: &str, dir: &Path, ports: &[u16]) -> Vec<String> {
    let mut t = text.replace(&dir.display().to_string(), "<DIR>");
    for (i, p) in ports.iter().enumerate() {
        t = t.replace(&p.to_string(), &format!("<P{i}>"));
    }
    let mut lines: Vec<String> = t
        .split('\n')
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            if w.len() >= 3 && w[0] == "sentinel" && (w[1] == "myid" || w[1] == "known-sentinel") {
                let mut w: Vec<String> = w.iter().map(|s| s.to_string()).collect();
                let last = w.len() - 1;
                w[last] = "<ID>".into();
                w.join(" ")
            } else {
                l.to_string()
            }
        })
        .collect();
    if let Some(sig) = lines
        .iter()
        .position(|l| l == "# Generated by CONFIG REWRITE")
    {
        let end = lines[sig..]
            .iter()
            .position(|l| l.starts_with("sentinel ") || l.starts_with("user "))
            .map_or(lines.len(), |i| sig + i);
        lines[sig + 1..end].sort();
    }
    lines
}

#[test]
fn include_rewrite_and_restart_match_a_real_sentinel() {
    let mut results = Vec::new();
    for kind in [Impl::Real, Impl::Ours] {
        let dir = scratch_dir("sentinel-include");
        let (port, dead) = (free_port(), free_port());
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        // Relative includes are from the working directory (nested ones too).
        std::fs::write(
            dir.join("sub/inc.conf"),
            format!(
                "sentinel monitor {MASTER} 127.0.0.1 {dead} 1\n# inc comment\ninclude inner.conf\n\
                 sentinel auth-pass {MASTER} secret\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("inner.conf"),
            format!("sentinel down-after-milliseconds {MASTER} 3000\n"),
        )
        .unwrap();
        let inc_before = std::fs::read(dir.join("sub/inc.conf")).unwrap();
        std::fs::write(
            dir.join("s.conf"),
            format!(
                "port {port}\nbind 127.0.0.1\nlogfile \"{}\"\n# top\ninclude sub/inc.conf\n\
                 loglevel notice\nsave \"\"\nlist-max-ziplist-entries 5\n",
                dir.join("sentinel.log").display()
            ),
        )
        .unwrap();
        let mut s = spawn_in(kind, &dir, "s.conf", port);
        let master = parse(&s.call(&["SENTINEL", "MASTER", MASTER]));
        assert_eq!(field(&master, "down-after-milliseconds"), "3000");
        assert_eq!(s.call(&["SENTINEL", "FLUSHCONFIG"]), b"+OK\r\n");
        let conf = s.conf_text();
        s.kill();
        assert_eq!(std::fs::read(dir.join("sub/inc.conf")).unwrap(), inc_before);
        // The included file still names the master, now in the main file too: the restart
        // fails.
        let out = Command::new(match kind {
            Impl::Ours => our_sentinel_bin(),
            Impl::Real => real_sentinel_bin(),
        })
        .arg("s.conf")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
        let missing = {
            std::fs::write(
                dir.join("m.conf"),
                format!("port {port}\ninclude nope.conf\n"),
            )
            .unwrap();
            let o = Command::new(match kind {
                Impl::Ours => our_sentinel_bin(),
                Impl::Real => real_sentinel_bin(),
            })
            .arg("m.conf")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
            let text = lossy(&o.stdout);
            let line = text
                .lines()
                .find(|l| l.contains("Fatal error"))
                .map(|l| l[l.find('#').unwrap_or(0)..].to_string());
            (o.status.code(), line)
        };
        results.push((
            normalized_conf(&conf, &dir, &[port, dead]),
            out.status.code(),
            lossy(&out.stderr).replace(&dead.to_string(), "<P1>"),
            missing,
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (real, ours) = (&results[0], &results[1]);
    assert_eq!(ours.0, real.0, "rewritten file");
    assert!(
        real.0.iter().any(|l| l == "include sub/inc.conf"),
        "{:?}",
        real.0
    );
    assert_eq!((ours.1, &ours.2), (real.1, &real.2), "restart");
    assert!(real.2.contains("Duplicate master name."), "{}", real.2);
    assert_eq!(ours.3, real.3, "missing include");
    assert_eq!(
        real.3 .1.as_deref(),
        Some("# Fatal error, can't open config file 'nope.conf': No such file or directory")
    );
}

fn master_names(s: &Sentinel) -> Vec<String> {
    let Frame::Array(v) = parse(&s.call(&["SENTINEL", "MASTERS"])) else {
        return Vec::new();
    };
    let mut names: Vec<String> = v.iter().map(|m| field(m, "name")).collect();
    names.sort();
    names
}

#[test]
fn removed_and_added_masters_stay_so_across_a_restart() {
    // (implementation, with a state file)
    for (kind, state) in [(Impl::Real, false), (Impl::Ours, false), (Impl::Ours, true)] {
        let dir = scratch_dir("sentinel-remove");
        let (port, a, b, c) = (free_port(), free_port(), free_port(), free_port());
        let conf = format!(
            "port {port}\nbind 127.0.0.1\nlogfile \"{}\"\n{}sentinel monitor a 127.0.0.1 {a} 2\n\
             sentinel monitor b 127.0.0.1 {b} 2\n",
            dir.join("sentinel.log").display(),
            if state {
                "sentinel state-file sentinel.state\n"
            } else {
                ""
            }
        );
        std::fs::write(dir.join("s.conf"), &conf).unwrap();
        let mut s = spawn_in(kind, &dir, "s.conf", port);
        let ctx = || format!(" ({kind:?}, state file: {state})");
        assert_eq!(
            s.call(&["SENTINEL", "REMOVE", "a"]),
            b"+OK\r\n",
            "{}",
            ctx()
        );
        let c_port = c.to_string();
        assert_eq!(
            s.call(&["SENTINEL", "MONITOR", "c", "127.0.0.1", &c_port, "1"]),
            b"+OK\r\n"
        );
        assert_eq!(master_names(&s), ["b", "c"], "{}", ctx());
        s.restart();
        assert_eq!(master_names(&s), ["b", "c"], "after a restart{}", ctx());
        // Once more (the removal is still written down).
        assert_eq!(s.call(&["SENTINEL", "FLUSHCONFIG"]), b"+OK\r\n");
        s.restart();
        assert_eq!(master_names(&s), ["b", "c"], "after two restarts{}", ctx());
        if state {
            assert_eq!(std::fs::read_to_string(dir.join("s.conf")).unwrap(), conf);
        } else {
            let text = s.conf_text();
            assert!(!text.contains("monitor a "), "{text}");
        }
        s.kill();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
