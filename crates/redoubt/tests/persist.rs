//! Background persistence as a process: BGSAVE in a forked child, save points, the MISCONF
//! write stop, FLUSHALL and the shutdown signals saving.

mod common;

use common::{info_field, wait_field, Raw, Server};
use std::time::{Duration, Instant};

/// Sets `n` keys `prefix:<i>` to `size`-byte values, pipelined in batches.
fn fill(c: &mut Raw, prefix: &str, n: usize, size: usize) {
    let value = vec![b'v'; size];
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut buf = Vec::new();
        for i in chunk {
            let k = format!("{prefix}:{i}");
            buf.extend(resp::encode_command(&[b"SET", k.as_bytes(), &value]));
        }
        c.send(&buf);
        for _ in chunk {
            assert_eq!(c.read_reply(), b"+OK\r\n");
        }
    }
}

/// Kills the server hard and starts ours again on its directory.
fn restart_hard(srv: Server, extra: &[&str]) -> Server {
    let dir = srv.dir.clone();
    let keep = common::scratch_dir("keep");
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        std::fs::rename(e.path(), keep.join(e.file_name())).unwrap();
    }
    drop(srv);
    let mut args = vec!["--dir", keep.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut srv = Server::start(&args);
    let _ = std::fs::remove_dir_all(&srv.dir);
    srv.dir = keep;
    srv
}

#[test]
fn bgsave_snapshots_the_moment_of_the_fork_while_writes_go_on() {
    // Large enough (200 MB, uncompressed) that the child is still writing when the next
    // commands arrive.
    let srv = Server::start(&["--save", "", "--rdbcompression", "no"]);
    let mut c = srv.raw();
    fill(&mut c, "a", 100_000, 2000);
    assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
    // Writes after the fork are served at once and are not in this snapshot.
    fill(&mut c, "b", 1000, 10);
    let second = c.call_str(&["BGSAVE"]);
    assert!(
        second == "-ERR Background save already in progress\r\n"
            || second == "+Background saving started\r\n",
        "{second}"
    );
    wait_field(&mut c, "persistence", "rdb_bgsave_in_progress", "0");
    if second.starts_with('+') {
        // The first save ended before the second BGSAVE: the file holds both fills.
        return;
    }
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
        "1000"
    );
    assert_eq!(info_field(&mut c, "stats", "total_forks"), "1");
    assert!(!info_field(&mut c, "persistence", "rdb_last_bgsave_time_sec").starts_with('-'));
    let srv = restart_hard(srv, &[]);
    let mut c = srv.raw();
    assert_eq!(c.call(&["DBSIZE"]), b":100000\r\n");
    assert_eq!(c.call(&["EXISTS", "b:0"]), b":0\r\n");
}

#[test]
fn bgsave_arguments_and_schedule() {
    let srv = Server::start(&["--save", ""]);
    let mut c = srv.raw();
    assert_eq!(c.call(&["BGSAVE", "now"]), b"-ERR syntax error\r\n");
    assert_eq!(
        c.call(&["BGSAVE", "schedule", "x"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["BGSAVE"]), b"+QUEUED\r\n");
    // Inside a transaction the save is scheduled, as Redis does, and the cron starts it.
    assert_eq!(c.call(&["EXEC"]), b"*1\r\n+Background saving scheduled\r\n");
    wait_field(&mut c, "persistence", "rdb_saves", "1");
    assert!(srv.dir.join("dump.rdb").exists());
}

#[test]
fn a_save_point_starts_a_background_save() {
    let srv = Server::start(&["--save", "1 2", "--logfile", "log.txt"]);
    let mut c = srv.raw();
    assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_saves"),
        "0",
        "one change is below the point"
    );
    assert_eq!(c.call(&["SET", "k2", "v"]), b"+OK\r\n");
    wait_field(&mut c, "persistence", "rdb_saves", "1");
    let log = std::fs::read_to_string(srv.dir.join("log.txt")).unwrap();
    assert!(log.contains("2 changes in 1 seconds. Saving..."), "{log}");
    assert!(log.contains("Background saving started by pid"), "{log}");
    assert!(
        log.contains(":C ") && log.contains("DB saved on disk"),
        "{log}"
    );
    assert!(
        log.contains("Background saving terminated with success"),
        "{log}"
    );
    let srv = restart_hard(srv, &[]);
    assert_eq!(
        srv.raw().call(&["MGET", "k", "k2"]),
        b"*2\r\n$1\r\nv\r\n$1\r\nv\r\n"
    );
}

/// Runs the MISCONF scenario against a server started with `start` and returns its replies.
fn misconf_replies(srv: &Server) -> Vec<String> {
    let mut c = srv.raw();
    let sub = srv.dir.join("gone");
    std::fs::create_dir(&sub).unwrap();
    let mut out = vec![c.call_str(&["CONFIG", "SET", "dir", sub.to_str().unwrap()])];
    std::fs::remove_dir(&sub).unwrap();
    out.push(c.call_str(&["BGSAVE"]));
    wait_field(&mut c, "persistence", "rdb_bgsave_in_progress", "0");
    out.push(info_field(&mut c, "persistence", "rdb_last_bgsave_status"));
    for args in [
        &["SET", "k", "v"][..],
        &["PING"],
        &["GET", "k"],
        &["MULTI"],
        &["SET", "k", "v"],
        &["GET", "k"],
        &["EXEC"],
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
        &["SET", "k", "v"],
    ] {
        out.push(c.call_str(args));
    }
    out
}

#[test]
fn a_failed_background_save_stops_writes_with_misconf_as_redis_does() {
    let args = ["--save", "3600 1", "--enable-protected-configs", "yes"];
    let ours = misconf_replies(&Server::start(&args));
    assert_eq!(ours[2], "err");
    assert!(
        ours[3].starts_with("-MISCONF Redis is configured to save RDB snapshots"),
        "{ours:?}"
    );
    let redis = misconf_replies(&Server::start_redis(&args));
    assert_eq!(ours, redis);
}

#[test]
fn flushall_with_save_points_saves_the_empty_dataset() {
    let srv = Server::start(&["--save", "3600 1"]);
    let mut c = srv.raw();
    assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    assert_eq!(c.call(&["FLUSHALL"]), b"+OK\r\n");
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
        "1"
    );
    let srv = restart_hard(srv, &[]);
    assert_eq!(srv.raw().call(&["DBSIZE"]), b":0\r\n");
}

#[test]
fn sigterm_saves_with_the_default_save_points_and_not_without() {
    for (args, kept) in [(&[][..], true), (&["--save", ""][..], false)] {
        let mut srv = Server::start(args);
        let mut c = srv.raw();
        assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");
        // SAFETY: signals the child process we started.
        unsafe { libc::kill(srv.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while srv.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(srv.dir.join("dump.rdb").exists(), kept, "{args:?}");
    }
}

#[test]
fn clients_get_loading_while_a_large_file_loads() {
    let srv = Server::start(&["--save", "", "--enable-debug-command", "yes"]);
    let mut c = srv.raw();
    // In parts, each well inside the client's read timeout on a busy machine.
    for part in ["a", "b", "c", "d"] {
        assert_eq!(c.call(&["DEBUG", "POPULATE", "500000", part]), b"+OK\r\n");
    }
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    let dir = srv.dir.clone();
    let keep = common::scratch_dir("loading");
    std::fs::rename(dir.join("dump.rdb"), keep.join("dump.rdb")).unwrap();
    drop(srv);
    let port = common::free_port();
    let mut child = std::process::Command::new(common::redoubt_bin())
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(&keep)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut c = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            drop(s);
            break Raw::connect(port);
        }
        assert!(Instant::now() < deadline, "never listened");
        std::thread::sleep(Duration::from_millis(5));
    };
    // The listener opens before the load: the first commands see -LOADING, INFO still works.
    let first = c.call_str(&["GET", "key:1"]);
    let info = c.call_str(&["INFO", "persistence"]);
    let mut saw_loading = first == "-LOADING Redis is loading the dataset in memory\r\n";
    if saw_loading {
        assert!(
            info.contains("loading:1\r\n") && info.contains("loading_total_bytes:"),
            "{info}"
        );
    }
    while c.call(&["PING"]).starts_with(b"-LOADING") {
        saw_loading = true;
        assert!(Instant::now() < deadline, "still loading");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        saw_loading,
        "a 2M-key file loaded before the first command: {first}"
    );
    assert_eq!(c.call(&["DBSIZE"]), b":2000000\r\n");
    assert_eq!(info_field(&mut c, "persistence", "loading"), "0");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&keep);
}
