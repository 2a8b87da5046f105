//! Hand-overs between a primary and its replicas that lose nothing: FAILOVER (the coordinated
//! switch-over), a graceful shutdown that waits for replicas, and a replica that keeps serving
//! its old data while it loads a new snapshot (`repl-diskless-load swapdb`).

mod common;

use common::*;
use std::time::{Duration, Instant};

fn fast_primary(extra: &[&str]) -> Server {
    let mut args = vec!["--repl-diskless-sync-delay", "0", "--save", ""];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn replica_of(primary: &Server, extra: &[&str]) -> Server {
    let port = primary.port.to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", &port, "--save", ""];
    args.extend_from_slice(extra);
    let r = Server::start(&args);
    wait_field(&mut r.raw(), "replication", "master_link_status", "up");
    r
}

fn wait_online(primary: &Server, replicas: usize) {
    wait_until(
        &mut primary.raw(),
        "replication",
        "connected_slaves",
        |v| v == replicas.to_string(),
        "all replicas",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut c = primary.raw();
    loop {
        let info = c.call_str(&["INFO", "replication"]);
        let online = info.matches("state=online").count();
        if online == replicas {
            return;
        }
        assert!(Instant::now() < deadline, "replicas not online: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn failover_hands_over_to_the_replica_with_every_write() {
    let p = fast_primary(&[]);
    let r = replica_of(&p, &[]);
    wait_online(&p, 1);
    let mut c = p.raw();
    for i in 0..200 {
        assert_eq!(
            c.call(&["SET", &format!("k{i}"), &i.to_string()]),
            b"+OK\r\n"
        );
    }
    let target = r.port.to_string();
    assert_eq!(
        c.call(&["FAILOVER", "TO", "127.0.0.1", &target, "TIMEOUT", "5000"]),
        b"+OK\r\n"
    );
    let mut rc = r.raw();
    wait_field(&mut rc, "replication", "role", "master");
    wait_field(&mut c, "replication", "role", "slave");
    wait_field(&mut c, "replication", "master_link_status", "up");
    wait_field(
        &mut c,
        "replication",
        "master_failover_state",
        "no-failover",
    );
    assert_eq!(rc.call(&["GET", "k199"]), b"$3\r\n199\r\n");
    assert_eq!(rc.call(&["DBSIZE"]), b":200\r\n");
    // The old primary continued partially from the new one and is read-only now.
    assert_eq!(info_field(&mut rc, "stats", "sync_partial_ok"), "1");
    assert_eq!(
        c.call(&["SET", "x", "1"]),
        b"-READONLY You can't write against a read only replica.\r\n"
    );
    assert_eq!(rc.call(&["SET", "x", "1"]), b"+OK\r\n");
}

#[test]
fn failover_arguments_and_states_as_redis() {
    let p = fast_primary(&[]);
    let mut c = p.raw();
    assert_eq!(
        c.call(&["FAILOVER"]),
        b"-ERR FAILOVER requires connected replicas.\r\n"
    );
    assert_eq!(
        c.call(&["FAILOVER", "ABORT"]),
        b"-ERR No failover in progress.\r\n"
    );
    assert_eq!(
        c.call(&["FAILOVER", "TIMEOUT", "0"]),
        b"-ERR FAILOVER timeout must be greater than 0\r\n"
    );
    assert_eq!(
        c.call(&["FAILOVER", "FORCE"]),
        b"-ERR FAILOVER requires connected replicas.\r\n"
    );
    assert_eq!(c.call(&["FAILOVER", "BOGUS"]), b"-ERR syntax error\r\n");
    assert_eq!(
        c.call(&["FAILOVER", "TO", "127.0.0.1", "x"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    let r = replica_of(&p, &[]);
    wait_online(&p, 1);
    assert_eq!(
        c.call(&["FAILOVER", "FORCE"]),
        b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"
    );
    assert_eq!(
        c.call(&["FAILOVER", "TO", "127.0.0.1", "1"]),
        b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n"
    );
    assert_eq!(
        r.raw().call(&["FAILOVER"]),
        b"-ERR FAILOVER is not valid when server is a replica.\r\n"
    );
    assert_eq!(
        info_field(&mut c, "replication", "master_failover_state"),
        "no-failover"
    );
}

#[test]
fn failover_with_a_lagging_replica_times_out_and_resumes_writes() {
    let p = fast_primary(&[]);
    let r = replica_of(&p, &[]);
    wait_online(&p, 1);
    // A paused replica acknowledges nothing.
    let pid = r.child.id() as i32;
    // SAFETY: stopping and resuming our own child process.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let mut c = p.raw();
    assert_eq!(c.call(&["SET", "a", "1"]), b"+OK\r\n");
    assert_eq!(c.call(&["FAILOVER", "TIMEOUT", "300"]), b"+OK\r\n");
    assert_eq!(
        info_field(&mut c, "replication", "master_failover_state"),
        "waiting-for-sync"
    );
    wait_field(
        &mut c,
        "replication",
        "master_failover_state",
        "no-failover",
    );
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(info_field(&mut c, "replication", "role"), "master");
    assert_eq!(c.call(&["SET", "b", "2"]), b"+OK\r\n");
}

#[test]
fn a_graceful_shutdown_waits_until_replicas_have_every_write() {
    let p = fast_primary(&["--shutdown-timeout", "10"]);
    let r = replica_of(&p, &[]);
    wait_online(&p, 1);
    let mut c = p.raw();
    let big = "v".repeat(1000);
    for i in 0..2000 {
        c.cmd(&[b"SET", format!("k{i}").as_bytes(), big.as_bytes()]);
    }
    for _ in 0..2000 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    c.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(c.read_to_close().is_empty());
    let mut rc = r.raw();
    assert_eq!(rc.call(&["DBSIZE"]), b":2000\r\n");
}

#[test]
fn swapdb_load_keeps_serving_the_old_data() {
    let p = fast_primary(&[]);
    let mut c = p.raw();
    assert_eq!(c.call(&["SET", "fresh", "1"]), b"+OK\r\n");
    let r = Server::start(&["--save", "", "--repl-diskless-load", "swapdb"]);
    let mut rc = r.raw();
    assert_eq!(rc.call(&["SET", "old", "1"]), b"+OK\r\n");
    let port = p.port.to_string();
    assert_eq!(rc.call(&["REPLICAOF", "127.0.0.1", &port]), b"+OK\r\n");
    wait_field(&mut rc, "replication", "master_link_status", "up");
    assert_eq!(rc.call(&["GET", "fresh"]), b"$1\r\n1\r\n");
    assert_eq!(rc.call(&["EXISTS", "old"]), b":0\r\n");
    // With swapdb nothing goes through the RDB file.
    assert!(!r.dir.join("dump.rdb").exists());
}

#[test]
fn wait_answers_as_soon_as_replicas_acknowledge() {
    let p = fast_primary(&[]);
    let _r1 = replica_of(&p, &[]);
    let _r2 = replica_of(&p, &[]);
    wait_online(&p, 2);
    let mut c = p.raw();
    assert_eq!(c.call(&["WAIT", "0", "0"]), b":2\r\n");
    assert_eq!(c.call(&["SET", "w", "1"]), b"+OK\r\n");
    assert_eq!(c.call(&["WAIT", "2", "5000"]), b":2\r\n");
    assert_eq!(c.call(&["SET", "w", "2"]), b"+OK\r\n");
    assert_eq!(c.call(&["WAIT", "3", "200"]), b":2\r\n");
    assert_eq!(
        c.call(&["WAIT", "1", "x"]),
        b"-ERR timeout is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.call(&["WAIT", "1", "-1"]),
        b"-ERR timeout is negative\r\n"
    );
}
