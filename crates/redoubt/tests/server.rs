//! End-to-end tests of redoubt-server as a process: protocol, auth, pub/sub, transactions,
//! config loading, and clients (redis-rs, redis-cli).

mod common;

use common::{scratch_dir, Raw, Server};
use std::process::Command;
use std::time::Duration;

#[test]
fn redis_rs_client_round_trip() {
    let srv = Server::start(&[]);
    let mut c = srv.client();
    let _: () = redis::cmd("SET")
        .arg("greeting")
        .arg("hello")
        .query(&mut c)
        .unwrap();
    let v: String = redis::cmd("GET").arg("greeting").query(&mut c).unwrap();
    assert_eq!(v, "hello");
    let n: i64 = redis::cmd("INCRBY").arg("n").arg(41).query(&mut c).unwrap();
    assert_eq!(n, 41);
    let missing: Option<String> = redis::cmd("GET").arg("nope").query(&mut c).unwrap();
    assert_eq!(missing, None);
}

#[test]
fn deep_pipeline_is_answered_in_order() {
    let srv = Server::start(&[]);
    let mut raw = srv.raw();
    let mut req = Vec::new();
    for i in 0..5000 {
        req.extend(resp::encode_command(&[
            "SET".as_bytes(),
            format!("k{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
        req.extend(resp::encode_command(&[
            "GET".as_bytes(),
            format!("k{i}").as_bytes(),
        ]));
    }
    raw.send(&req);
    for i in 0..5000 {
        assert_eq!(raw.read_reply(), b"+OK\r\n");
        let v = format!("{i}");
        assert_eq!(
            raw.read_reply(),
            format!("${}\r\n{}\r\n", v.len(), v).as_bytes()
        );
    }
}

#[test]
fn inline_commands_and_protocol_errors_close_after_reply() {
    let srv = Server::start(&[]);
    let mut raw = srv.raw();
    raw.send(b"PING\r\n\n\nECHO \"a b\"\r\n");
    assert_eq!(raw.read_reply(), b"+PONG\r\n");
    assert_eq!(raw.read_reply(), b"$3\r\na b\r\n");

    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*a\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$-1\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n+PING\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"ping \"abc\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"PING\r\n*1\r\n$04\r\nPING\r\n",
            b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    for (req, reply) in cases {
        let mut raw = srv.raw();
        raw.send(req);
        assert_eq!(
            raw.read_to_close(),
            *reply,
            "request {:?}",
            String::from_utf8_lossy(req)
        );
    }
    let mut raw = srv.raw();
    raw.send(b"*0\r\n*-1\r\nPING\r\n");
    assert_eq!(raw.read_reply(), b"+PONG\r\n");
    let mut raw = srv.raw();
    raw.send(b"POST / HTTP/1.1\r\n");
    assert_eq!(raw.read_to_close(), b"");
}

#[test]
fn requirepass_limits_and_auth() {
    let srv = Server::start(&["--requirepass", "1111"]);
    let mut raw = srv.raw();
    assert_eq!(
        raw.call(&["GET", "k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.call(&["AUTH", "wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.call(&["AUTH", "default", "1111"]), b"+OK\r\n");
    assert_eq!(raw.call(&["PING"]), b"+PONG\r\n");
    let mut raw = srv.raw();
    raw.send(b"*11\r\n");
    assert_eq!(
        raw.read_to_close(),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    let mut raw = srv.raw();
    raw.send(b"*2\r\n$3\r\nGET\r\n$16385\r\n");
    assert_eq!(
        raw.read_to_close(),
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    // Once authenticated, the limits are the normal ones.
    let mut raw = srv.raw();
    assert_eq!(raw.call(&["AUTH", "1111"]), b"+OK\r\n");
    let big = "x".repeat(20000);
    assert_eq!(raw.call(&["SET", "big", &big]), b"+OK\r\n");
    let mut hello = srv.raw();
    let reply = hello.call_str(&["HELLO", "3", "AUTH", "default", "1111"]);
    assert!(reply.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"), "{reply}");
}

#[test]
fn pubsub_delivers_messages_and_restricts_resp2_context() {
    let srv = Server::start(&[]);
    let mut sub = srv.raw();
    assert_eq!(
        sub.call(&["SUBSCRIBE", "news"]),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    assert_eq!(
        sub.call(&["PSUBSCRIBE", "n*"]),
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n"
    );
    let mut publisher = srv.raw();
    assert_eq!(publisher.call(&["PUBLISH", "news", "hi"]), b":2\r\n");
    assert_eq!(
        sub.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        sub.read_reply(),
        b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        sub.call(&["GET", "x"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(sub.call(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(
        publisher.call(&["PUBSUB", "NUMSUB", "news", "other"]),
        b"*4\r\n$4\r\nnews\r\n:1\r\n$5\r\nother\r\n:0\r\n"
    );
    assert_eq!(publisher.call(&["PUBSUB", "NUMPAT"]), b":1\r\n");

    let mut push = srv.raw();
    push.call(&["HELLO", "3"]);
    assert_eq!(
        push.call(&["SUBSCRIBE", "c"]),
        b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
    );
    assert_eq!(push.call(&["SET", "k", "v"]), b"+OK\r\n");
    publisher.call(&["PUBLISH", "c", "m"]);
    assert_eq!(
        push.read_reply(),
        b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
    );
}

#[test]
fn keyspace_notifications_are_published() {
    let srv = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = srv.raw();
    sub.call(&["SUBSCRIBE", "__keyevent@0__:set", "__keyspace@0__:k"]);
    sub.read_reply();
    let mut c = srv.raw();
    c.call(&["SET", "k", "v"]);
    let a = String::from_utf8_lossy(&sub.read_reply()).into_owned();
    let b = String::from_utf8_lossy(&sub.read_reply()).into_owned();
    assert!(a.contains("__keyspace@0__:k") && a.contains("set"), "{a}");
    assert!(
        b.contains("__keyevent@0__:set") && b.ends_with("$1\r\nk\r\n"),
        "{b}"
    );
}

#[test]
fn watch_is_broken_by_another_client_and_by_expiry() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    a.call(&["SET", "w", "1"]);
    a.call(&["WATCH", "w"]);
    b.call(&["SET", "w", "2"]);
    a.call(&["MULTI"]);
    assert_eq!(a.call(&["SET", "w", "3"]), b"+QUEUED\r\n");
    assert_eq!(a.call(&["EXEC"]), b"*-1\r\n");
    a.call(&["SET", "e", "1", "PX", "50"]);
    a.call(&["WATCH", "e"]);
    std::thread::sleep(Duration::from_millis(120));
    a.call(&["MULTI"]);
    a.call(&["GET", "e"]);
    assert_eq!(a.call(&["EXEC"]), b"*-1\r\n");
    a.call(&["WATCH", "w"]);
    a.call(&["MULTI"]);
    a.call(&["INCR", "w"]);
    assert_eq!(a.call(&["EXEC"]), b"*1\r\n:3\r\n");
}

#[test]
fn keys_expire_actively_without_access() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    for i in 0..200 {
        c.call(&["SET", &format!("tmp{i}"), "v", "PX", "30"]);
    }
    c.call(&["SET", "keep", "v"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n = c.call_str(&["DBSIZE"]);
        if n == ":1\r\n" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "active expiry did not run: {n}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn config_file_loads_and_bad_lines_are_fatal() {
    let dir = scratch_dir("conf");
    let good = dir.join("primary.conf");
    std::fs::write(
        &good,
        "# reference primary\nport 6379\nbind 0.0.0.0\nrequirepass 1111\nmasterauth 1111\n",
    )
    .unwrap();
    let srv = Server::start(&[good.to_str().unwrap()]);
    let mut raw = srv.raw();
    assert_eq!(raw.call(&["AUTH", "1111"]), b"+OK\r\n");
    assert_eq!(
        raw.call(&["CONFIG", "GET", "requirepass"]),
        b"*2\r\n$11\r\nrequirepass\r\n$4\r\n1111\r\n"
    );

    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "port 7000\nnot-a-directive yes\n").unwrap();
    let out = Command::new(common::redoubt_bin())
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR"), "{err}");
    assert!(
        err.contains("at line 2") && err.contains(">>> 'not-a-directive yes'"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn maxclients_refuses_with_redis_error() {
    let srv = Server::start(&["--maxclients", "2"]);
    let mut a = srv.raw();
    // The harness's readiness probe may still be registered for a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !a
        .call_str(&["INFO", "clients"])
        .contains("connected_clients:1\r\n")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "probe connection never went away"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut b = srv.raw();
    assert_eq!(a.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(b.call(&["PING"]), b"+PONG\r\n");
    let mut c = srv.raw();
    assert_eq!(c.read_to_close(), b"-ERR max number of clients reached\r\n");
}

#[test]
fn client_kill_and_list() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    a.call(&["CLIENT", "SETNAME", "victim"]);
    let id = String::from_utf8_lossy(&a.call(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    let list = b.call_str(&["CLIENT", "LIST"]);
    assert!(list.contains("name=victim"), "{list}");
    assert_eq!(b.call(&["CLIENT", "KILL", "ID", &id]), b":1\r\n");
    assert!(a.is_closed());
}

#[test]
fn redis_cli_talks_to_us() {
    let srv = Server::start(&[]);
    let port = srv.port.to_string();
    let run = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .expect("redis-cli installed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(run(&["SET", "cli", "works"]), "OK");
    assert_eq!(run(&["GET", "cli"]), "works");
    assert_eq!(run(&["INCR", "ctr"]), "1");
    assert!(run(&["INFO", "server"]).contains("redis_version:7.0.15"));
}

#[test]
fn shutdown_exits_cleanly() {
    let mut srv = Server::start(&[]);
    let mut raw = srv.raw();
    raw.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    let _ = raw.read_to_close();
    let status = srv.child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn unknown_options_on_the_command_line_are_fatal() {
    let out = Command::new(common::redoubt_bin())
        .args(["--no-such-option", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = Raw::connect;
}

/// Waits until the server reports `n` blocked clients (polling INFO, bounded).
fn wait_blocked(observer: &mut Raw, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !observer.call_str(&["INFO", "clients"]).contains(&want) {
        assert!(std::time::Instant::now() < deadline, "never saw {want:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn blocking_pops_are_served_first_come_first_served() {
    let srv = Server::start(&[]);
    let mut first = srv.raw();
    let mut second = srv.raw();
    let mut producer = srv.raw();
    first.cmd(&[b"BLPOP", b"q", b"5"]);
    wait_blocked(&mut producer, 1);
    second.cmd(&[b"BLPOP", b"q", b"5"]);
    wait_blocked(&mut producer, 2);
    assert_eq!(producer.call(&["RPUSH", "q", "a", "b"]), b":2\r\n");
    assert_eq!(first.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(second.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    assert_eq!(producer.call(&["LLEN", "q"]), b":0\r\n");
    // The blocked client's later pipelined commands wait for it.
    first.send(&resp::encode_command(&["BLPOP", "q", "5"]));
    first.send(&resp::encode_command(&["PING"]));
    wait_blocked(&mut producer, 1);
    producer.call(&["LPUSH", "q", "x"]);
    assert_eq!(first.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(first.read_reply(), b"+PONG\r\n");
}

#[test]
fn blocking_timeouts_multi_and_client_unblock() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let started = std::time::Instant::now();
    assert_eq!(c.call(&["BLPOP", "none", "0.2"]), b"*-1\r\n");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(190),
        "returned too early: {waited:?}"
    );
    // Inside MULTI a blocking command answers at once as on timeout.
    c.call(&["MULTI"]);
    c.call(&["BLPOP", "none", "0"]);
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n*-1\r\n");
    // A push inside MULTI wakes the blocked client only when EXEC ends, with the final state.
    let mut blocked = srv.raw();
    let id = String::from_utf8_lossy(&blocked.call(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    blocked.cmd(&[b"BLPOP", b"m", b"0"]);
    wait_blocked(&mut c, 1);
    c.call(&["MULTI"]);
    c.call(&["RPUSH", "m", "1"]);
    c.call(&["RPUSH", "m", "2"]);
    c.call(&["LPOP", "m"]);
    assert_eq!(c.call(&["EXEC"]), b"*3\r\n:1\r\n:2\r\n$1\r\n1\r\n");
    assert_eq!(blocked.read_reply(), b"*2\r\n$1\r\nm\r\n$1\r\n2\r\n");
    // CLIENT UNBLOCK releases a blocked client with a timeout or an error.
    blocked.cmd(&[b"BLPOP", b"never", b"0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(c.call(&["CLIENT", "UNBLOCK", &id]), b":1\r\n");
    assert_eq!(blocked.read_reply(), b"*-1\r\n");
    blocked.cmd(&[b"BLPOP", b"never", b"0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(c.call(&["CLIENT", "UNBLOCK", &id, "ERROR"]), b":1\r\n");
    assert_eq!(
        blocked.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(c.call(&["CLIENT", "UNBLOCK", &id]), b":0\r\n");
}

#[test]
fn unix_socket_pidfile_logfile_and_daemonize() {
    let dir = scratch_dir("daemon");
    let sock = dir.join("redoubt.sock");
    let pid = dir.join("redoubt.pid");
    let log = dir.join("redoubt.log");
    let port = common::free_port().to_string();
    let status = Command::new(common::redoubt_bin())
        .args(["--port", &port, "--bind", "127.0.0.1", "--daemonize", "yes"])
        .args([
            "--unixsocket",
            sock.to_str().unwrap(),
            "--pidfile",
            pid.to_str().unwrap(),
        ])
        .args([
            "--logfile",
            log.to_str().unwrap(),
            "--dir",
            dir.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success(), "the foreground process exits at once");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(sock.exists() && pid.exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "daemon did not come up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let daemon_pid: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Kills the daemon if an assertion below fails, so no process outlives the test.
    struct Reap(i32, bool);
    impl Drop for Reap {
        fn drop(&mut self) {
            if self.1 {
                // SAFETY: signalling the daemon this test started.
                unsafe { libc::kill(self.0, libc::SIGKILL) };
            }
        }
    }
    let mut reap = Reap(daemon_pid, true);
    // The socket opens before the (empty) dataset is in: PING until it answers +PONG.
    loop {
        let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        use std::io::{BufRead, Write};
        stream.write_all(b"PING\r\n").unwrap();
        let mut line = String::new();
        std::io::BufReader::new(&mut stream)
            .read_line(&mut line)
            .unwrap();
        if line == "+PONG\r\n" {
            break;
        }
        assert!(line.starts_with("-LOADING"), "{line}");
        assert!(std::time::Instant::now() < deadline, "still loading");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ready = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if let Some(l) = text
            .lines()
            .find(|l| l.contains("Ready to accept connections"))
        {
            break l.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no ready line");
        std::thread::sleep(Duration::from_millis(20));
    };
    // pid:M dd Mon yyyy hh:mm:ss.mmm * message
    let fields: Vec<&str> = ready.splitn(7, ' ').collect();
    assert_eq!(fields[0], format!("{daemon_pid}:M"));
    assert_eq!(fields[1].len(), 2);
    assert_eq!(fields[3].len(), 4);
    assert_eq!(fields[4].len(), 12);
    assert_eq!(fields[5], "*");
    // SAFETY: signalling the daemon we started.
    unsafe { libc::kill(daemon_pid, libc::SIGTERM) };
    reap.1 = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pid.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "daemon did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!sock.exists(), "socket file removed on exit");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binds_several_addresses_including_ipv6() {
    let port = common::free_port();
    let p = port.to_string();
    let mut child = Command::new(common::redoubt_bin())
        .args(["--port", &p, "--bind", "127.0.0.1", "-::1"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut v4 = Raw::connect(port);
    assert_eq!(v4.call(&["PING"]), b"+PONG\r\n");
    if let Ok(s) = std::net::TcpStream::connect(("::1", port)) {
        use std::io::{Read, Write};
        let mut s = s;
        s.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+PONG\r\n");
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn config_rewrite_keeps_comments_and_order() {
    let dir = scratch_dir("rewrite");
    let file = dir.join("r.conf");
    std::fs::write(
        &file,
        "# my settings\nmaxclients 100\n\n# keep me\ntimeout 0\n",
    )
    .unwrap();
    let srv = Server::start(&[file.to_str().unwrap()]);
    let mut c = srv.raw();
    assert_eq!(
        c.call(&["CONFIG", "SET", "maxclients", "200", "timeout", "30"]),
        b"+OK\r\n"
    );
    assert_eq!(c.call(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[..5],
        &[
            "# my settings",
            "maxclients 200",
            "",
            "# keep me",
            "timeout 30"
        ],
        "{text}"
    );
    assert!(c
        .call(&["CONFIG", "SET", "maxclients", "x"])
        .starts_with(b"-ERR CONFIG SET failed"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn maxmemory_with_noeviction_refuses_growing_commands() {
    let srv = Server::start(&["--maxmemory", "100kb"]);
    let mut c = srv.raw();
    let oom = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    // The limit is checked against a memory sample the server takes ten times a second.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.call(&["SET", "probe", "v"]) != oom {
        assert!(
            std::time::Instant::now() < deadline,
            "maxmemory never took effect"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.call(&["SET", "k", "v"]), oom);
    assert_eq!(c.call(&["GET", "k"]), b"$-1\r\n");
    assert_eq!(c.call(&["DEL", "k"]), b":0\r\n");
    assert_eq!(c.call(&["CONFIG", "SET", "maxmemory", "0"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
    let refused = c.call_str(&[
        "CONFIG",
        "SET",
        "maxmemory-policy",
        "allkeys-lru",
        "maxmemory",
        "1gb",
    ]);
    assert!(refused.starts_with("-ERR CONFIG SET failed"), "{refused}");
}

#[test]
fn output_buffer_limits_close_normal_and_slow_pubsub_clients() {
    let srv = Server::start(&[
        "--client-output-buffer-limit",
        "normal 1mb 0 0 pubsub 64kb 0 0",
    ]);
    let mut c = srv.raw();
    let big = "x".repeat(600_000);
    assert_eq!(c.call(&["SET", "a", &big]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "b", &big]), b"+OK\r\n");
    c.cmd(&[b"MGET", b"a", b"b"]);
    assert!(
        c.read_to_close().is_empty(),
        "a 1.2 MB reply exceeds the 1 MB hard limit"
    );
    // A subscriber that never reads is dropped once its pending messages pass 64 KB.
    let mut sub = srv.raw();
    sub.call(&["SUBSCRIBE", "flood"]);
    let mut publisher = srv.raw();
    // The kernel's socket buffers absorb several MB first; after that the server's queue grows.
    let payload = "y".repeat(65_536);
    let dropped =
        (0..1000).any(|_| publisher.call_str(&["PUBLISH", "flood", &payload]) == ":0\r\n");
    assert!(dropped, "the slow subscriber was never disconnected");
    assert!(sub.is_closed(), "the subscriber's connection is closed");
}

/// Fills db 0 (and db 2) with one key of every type, one of them with a TTL.
fn persist_fill(c: &mut Raw) {
    assert_eq!(c.call(&["SET", "s", "hello"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "n", "12345"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "long", &"abc".repeat(100)]), b"+OK\r\n");
    assert_eq!(c.call(&["RPUSH", "l", "a", "b", "3"]), b":3\r\n");
    assert_eq!(c.call(&["HSET", "h", "f", "v", "n", "1"]), b":2\r\n");
    assert_eq!(c.call(&["ZADD", "z", "1", "a", "2.5", "b"]), b":2\r\n");
    assert_eq!(c.call(&["SADD", "st", "x", "1", "2"]), b":3\r\n");
    assert_eq!(c.call(&["SADD", "ints", "1", "2", "3"]), b":3\r\n");
    assert_eq!(c.call(&["XADD", "x", "1-1", "f", "v"]), b"$3\r\n1-1\r\n");
    assert_eq!(c.call(&["XGROUP", "CREATE", "x", "g", "0"]), b"+OK\r\n");
    c.call(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "x", ">"]);
    assert_eq!(c.call(&["SET", "t", "v", "EX", "1000"]), b"+OK\r\n");
    assert_eq!(c.call(&["SELECT", "2"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "d2", "other"]), b"+OK\r\n");
    assert_eq!(c.call(&["SELECT", "0"]), b"+OK\r\n");
}

/// The replies that show the dataset written by [`persist_fill`], deadlines included.
fn persist_snapshot(c: &mut Raw) -> Vec<String> {
    let calls: &[&[&str]] = &[
        &["DBSIZE"],
        &["GET", "s"],
        &["GET", "n"],
        &["GET", "long"],
        &["LRANGE", "l", "0", "-1"],
        &["HGETALL", "h"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["SMISMEMBER", "st", "x", "1", "2", "y"],
        &["SCARD", "st"],
        &["SMEMBERS", "ints"],
        &["XRANGE", "x", "-", "+"],
        &["XINFO", "GROUPS", "x"],
        &["XPENDING", "x", "g"],
        &["GET", "t"],
        &["PEXPIRETIME", "t"],
        &["PEXPIRETIME", "s"],
        &["TYPE", "x"],
        &["SELECT", "2"],
        &["GET", "d2"],
        &["DBSIZE"],
        &["SELECT", "0"],
    ];
    calls.iter().map(|a| c.call_str(a)).collect()
}

/// Starts our server (or redis-server) with `--dir dir`.
fn persist_start(redis: bool, dir: &std::path::Path) -> Server {
    let d = dir.to_str().unwrap();
    if redis {
        Server::start_redis(&["--dir", d])
    } else {
        Server::start(&["--dir", d])
    }
}

#[test]
fn save_and_restart_restores_every_type_with_ttls() {
    let dir = scratch_dir("persist-a");
    let before;
    {
        let d = dir.to_str().unwrap();
        let srv = Server::start(&["--dir", d, "--enable-debug-command", "yes"]);
        let mut c = srv.raw();
        let started = c.call_str(&["LASTSAVE"]);
        persist_fill(&mut c);
        assert!(!c
            .call_str(&["INFO", "persistence"])
            .contains("rdb_changes_since_last_save:0\r\n"));
        before = persist_snapshot(&mut c);
        assert!(before[14].starts_with(':') && before[14] != ":-1\r\n");
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
        assert_ne!(c.call_str(&["LASTSAVE"]), started);
        let info = c.call_str(&["INFO", "persistence"]);
        assert!(info.contains("rdb_changes_since_last_save:0\r\n"), "{info}");
        assert!(info.contains("rdb_saves:1\r\n"), "{info}");
        assert!(dir.join("dump.rdb").exists());
        assert!(!dir.join(format!("temp-{}.rdb", srv.child.id())).exists());
        // DEBUG RELOAD saves, flushes and loads the same data back.
        assert_eq!(c.call(&["DEBUG", "RELOAD"]), b"+OK\r\n");
        assert_eq!(persist_snapshot(&mut c), before);
    }
    let srv = persist_start(false, &dir);
    let mut c = srv.raw();
    assert_eq!(persist_snapshot(&mut c), before);
    let info = c.call_str(&["INFO", "persistence"]);
    assert!(info.contains("rdb_last_load_keys_loaded:11\r\n"), "{info}");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rdb_files_interoperate_with_redis_both_ways() {
    // Ours writes, redis-server reads.
    let dir = scratch_dir("persist-b1");
    let ours = persist_start(false, &dir);
    let mut c = ours.raw();
    persist_fill(&mut c);
    let expected = persist_snapshot(&mut c);
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    drop(ours);
    let redis = persist_start(true, &dir);
    let mut c = redis.raw();
    assert_eq!(persist_snapshot(&mut c), expected);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);

    // redis-server writes, ours reads.
    let dir = scratch_dir("persist-b2");
    let redis = persist_start(true, &dir);
    let mut c = redis.raw();
    persist_fill(&mut c);
    let expected = persist_snapshot(&mut c);
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    drop(redis);
    let ours = persist_start(false, &dir);
    let mut c = ours.raw();
    assert_eq!(persist_snapshot(&mut c), expected);
    drop(ours);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits (bounded) for a server process to exit; its exit code.
fn persist_wait_exit(child: &mut std::process::Child) -> Option<i32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn shutdown_save_writes_the_file_and_plain_shutdown_does_not() {
    let dir = scratch_dir("persist-c");
    let mut srv = Server::start(&["--dir", dir.to_str().unwrap(), "--save", ""]);
    let mut c = srv.raw();
    assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
    c.cmd(&[b"SHUTDOWN"]);
    assert!(c.read_to_close().is_empty());
    assert_eq!(persist_wait_exit(&mut srv.child), Some(0));
    assert!(!dir.join("dump.rdb").exists(), "no save points: no save");
    drop(srv);

    let mut srv = persist_start(false, &dir);
    let mut c = srv.raw();
    assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
    c.cmd(&[b"SHUTDOWN", b"SAVE"]);
    assert!(c.read_to_close().is_empty());
    assert_eq!(persist_wait_exit(&mut srv.child), Some(0));
    assert!(dir.join("dump.rdb").exists());
    drop(srv);

    let srv = persist_start(false, &dir);
    assert_eq!(srv.raw().call(&["GET", "k"]), b"$1\r\nv\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_rdb_refuses_to_start() {
    let dir = scratch_dir("persist-d");
    let good = {
        let srv = persist_start(false, &dir);
        let mut c = srv.raw();
        assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
        std::fs::read(dir.join("dump.rdb")).unwrap()
    };
    let truncated = good[..good.len() - 12].to_vec();
    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xff;
    for (bytes, wording) in [
        (
            truncated,
            "Short read or OOM loading DB. Unrecoverable error, aborting now.",
        ),
        (bad_crc, "Wrong RDB checksum expected: ("),
    ] {
        std::fs::write(dir.join("dump.rdb"), bytes).unwrap();
        let log = dir.join("log.txt");
        let _ = std::fs::remove_file(&log);
        let port = common::free_port().to_string();
        let mut child = Command::new(common::redoubt_bin())
            .args(["--port", &port, "--bind", "127.0.0.1", "--dir"])
            .arg(&dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let code = persist_wait_exit(&mut child);
        if code.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert_eq!(code, Some(1));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(text.contains(wording), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
