//! Administration commands end to end: a server runs in-process on an ephemeral port and is
//! driven with the `redis` crate and with raw RESP sockets (for replies clients hide: CLIENT
//! REPLY, MONITOR, RESP3 types, connections closed by the server).

use resp::{encode_command, parse_frame, Frame};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server started by a test, with the task running it.
struct TestServer {
    port: u16,
    task: tokio::task::JoinHandle<i32>,
}

async fn start(extra: &[&str]) -> TestServer {
    server::log::set_level(None);
    let mut args: Vec<String> = [
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let cfg = server::config::load(&args).expect("config");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(server::serve_on(cfg, tx));
    let port = rx.await.expect("server ready");
    TestServer { port, task }
}

async fn client(port: u16) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

async fn q<T: redis::FromRedisValue>(
    con: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(con).await
}

/// A raw RESP connection.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    async fn connect(port: u16) -> Raw {
        Raw {
            s: TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect"),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, args: &[&str]) {
        self.s
            .write_all(&encode_command(args))
            .await
            .expect("write");
    }

    /// The next reply, or None if none arrives within `wait` (or the connection closed).
    async fn read_within(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Ok(Some((frame, n))) = parse_frame(&self.buf) {
                self.buf.drain(..n);
                return Some(frame);
            }
            let mut chunk = vec![0u8; 65536];
            match tokio::time::timeout_at(deadline, self.s.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    async fn read(&mut self) -> Frame {
        self.read_within(Duration::from_secs(10))
            .await
            .expect("a reply")
    }

    async fn call(&mut self, args: &[&str]) -> Frame {
        self.send(args).await;
        self.read().await
    }

    /// True once the server has closed the connection.
    async fn closed(&mut self) -> bool {
        let mut chunk = vec![0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.s.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Simple(b) | Frame::Error(b) | Frame::Bulk(b) | Frame::Verbatim(_, b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        other => format!("{other:?}"),
    }
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
}

fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_sections_and_fields() {
    let srv = start(&[]).await;
    let mut c = client(srv.port).await;
    let _: () = q(&mut c, &["SET", "k", "v"]).await.unwrap();
    let _: () = q(&mut c, &["SET", "t", "v", "EX", "100"]).await.unwrap();
    let info: String = q(&mut c, &["INFO"]).await.unwrap();
    assert!(
        info.starts_with("# Server\r\nredis_version:7.0.15\r\n"),
        "{info}"
    );
    assert!(info.contains("\r\n\r\n# Clients\r\n"));
    assert_eq!(
        field(&info, "redoubt_version"),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(is_hex40(field(&info, "run_id").unwrap()));
    assert_eq!(
        field(&info, "tcp_port"),
        Some(srv.port.to_string().as_str())
    );
    assert_eq!(field(&info, "role"), Some("master"));
    assert_eq!(field(&info, "connected_slaves"), Some("0"));
    assert!(is_hex40(field(&info, "master_replid").unwrap()));
    assert_eq!(
        field(&info, "master_replid2"),
        Some("0000000000000000000000000000000000000000")
    );
    assert_eq!(field(&info, "master_repl_offset"), Some("0"));
    assert_eq!(field(&info, "second_repl_offset"), Some("-1"));
    assert_eq!(field(&info, "aof_enabled"), Some("0"));
    assert!(field(&info, "used_memory").is_some_and(|v| v.parse::<u64>().is_ok()));
    assert!(info.contains("# Modules\r\n\r\n# Errorstats\r\n"));
    assert!(info.contains("db0:keys=2,expires=1,avg_ttl="));
    assert!(!info.contains("# Commandstats"));
    assert!(info.ends_with("\r\n") && !info.ends_with("\r\n\r\n"));

    let two: String = q(&mut c, &["INFO", "keyspace", "CLUSTER"]).await.unwrap();
    assert!(
        two.starts_with("# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\ndb0:keys=2"),
        "{two}"
    );
    let none: String = q(&mut c, &["INFO", "nosuch"]).await.unwrap();
    assert_eq!(none, "");
    let _: String = q(&mut c, &["PING"]).await.unwrap();
    let all: String = q(&mut c, &["INFO", "everything"]).await.unwrap();
    for s in ["# Commandstats", "# Latencystats", "# CPU", "# Persistence"] {
        assert!(all.contains(s), "{s}");
    }
    assert!(
        field(&all, "cmdstat_ping").is_some_and(|v| v.starts_with("calls=1,usec=")),
        "{all}"
    );
    assert!(
        field(&all, "latency_percentiles_usec_ping").is_some_and(|v| v.starts_with("p50=")),
        "{all}"
    );
    let err: redis::RedisResult<String> = q(&mut c, &["GET"]).await;
    assert!(err.is_err());
    let errs: String = q(&mut c, &["INFO", "errorstats"]).await.unwrap();
    assert!(errs.contains("errorstat_ERR:count="), "{errs}");
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]).await.unwrap();
    let stats: String = q(&mut c, &["INFO", "commandstats", "errorstats"])
        .await
        .unwrap();
    assert!(
        !stats.contains("cmdstat_ping") && !stats.contains("errorstat_"),
        "{stats}"
    );

    // RESP3: a verbatim string.
    let mut raw = Raw::connect(srv.port).await;
    raw.call(&["HELLO", "3"]).await;
    match raw.call(&["INFO", "server"]).await {
        Frame::Verbatim(fmt, body) => {
            assert_eq!(fmt, b"txt");
            assert!(body.starts_with(b"# Server\r\n"));
        }
        other => panic!("{other:?}"),
    }
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_name_list_info_kill() {
    let srv = start(&[]).await;
    let mut a = client(srv.port).await;
    let id: i64 = q(&mut a, &["CLIENT", "ID"]).await.unwrap();
    let name: Option<String> = q(&mut a, &["CLIENT", "GETNAME"]).await.unwrap();
    assert_eq!(name, None);
    let bad: redis::RedisResult<()> = q(&mut a, &["CLIENT", "SETNAME", "a b"]).await;
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("Client names cannot contain spaces, newlines or special characters."));
    let _: () = q(&mut a, &["CLIENT", "SETNAME", "alpha"]).await.unwrap();
    let name: String = q(&mut a, &["CLIENT", "GETNAME"]).await.unwrap();
    assert_eq!(name, "alpha");
    let info: String = q(&mut a, &["CLIENT", "INFO"]).await.unwrap();
    assert!(
        info.starts_with(&format!("id={id} addr=127.0.0.1:")),
        "{info}"
    );
    assert!(
        info.contains(" name=alpha age=")
            && info.contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=")
    );
    assert!(
        info.contains(" cmd=client|info user=default redir=-1 resp=2\n"),
        "{info}"
    );

    let mut sub = Raw::connect(srv.port).await;
    sub.call(&["SUBSCRIBE", "ch"]).await;
    let list: String = q(&mut a, &["CLIENT", "LIST"]).await.unwrap();
    assert_eq!(list.lines().count(), 2, "{list}");
    let pubsub: String = q(&mut a, &["CLIENT", "LIST", "TYPE", "pubsub"])
        .await
        .unwrap();
    assert_eq!(pubsub.lines().count(), 1);
    assert!(
        pubsub.contains(" flags=P ") && pubsub.contains(" sub=1 psub=0 "),
        "{pubsub}"
    );
    let by_id: String = q(&mut a, &["CLIENT", "LIST", "ID", &id.to_string(), "999999"])
        .await
        .unwrap();
    assert!(by_id.starts_with(&format!("id={id} ")) && by_id.lines().count() == 1);
    let bad: redis::RedisResult<String> = q(&mut a, &["CLIENT", "LIST", "TYPE", "foo"]).await;
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("Unknown client type 'foo'"));

    // Kill by id: the subscriber's connection closes and it leaves CLIENT LIST at once.
    let sub_id = pubsub
        .split(' ')
        .next()
        .unwrap()
        .trim_start_matches("id=")
        .to_string();
    let n: i64 = q(&mut a, &["CLIENT", "KILL", "ID", &sub_id]).await.unwrap();
    assert_eq!(n, 1);
    assert!(sub.closed().await);
    let list: String = q(&mut a, &["CLIENT", "LIST"]).await.unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
    let n: i64 = q(&mut a, &["CLIENT", "KILL", "ID", "999999"])
        .await
        .unwrap();
    assert_eq!(n, 0);
    let bad: redis::RedisResult<()> = q(&mut a, &["CLIENT", "KILL", "10.0.0.1:1"]).await;
    assert!(bad.unwrap_err().to_string().contains("No such client"));

    // Old form by address.
    let mut victim = Raw::connect(srv.port).await;
    let addr = text(&victim.call(&["CLIENT", "INFO"]).await)
        .split(' ')
        .nth(1)
        .unwrap()
        .trim_start_matches("addr=")
        .to_string();
    let _: () = q(&mut a, &["CLIENT", "KILL", &addr]).await.unwrap();
    assert!(victim.closed().await);

    // Killing yourself: the reply comes, then the connection closes.
    let mut me = Raw::connect(srv.port).await;
    let reply = me
        .call(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"])
        .await;
    assert!(matches!(reply, Frame::Integer(n) if n >= 2), "{reply:?}");
    assert!(me.closed().await);
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reply_modes() {
    let srv = start(&[]).await;
    let mut r = Raw::connect(srv.port).await;
    r.send(&["CLIENT", "REPLY", "OFF"]).await;
    r.send(&["SET", "a", "1"]).await;
    r.send(&["CLIENT", "REPLY", "SKIP"]).await;
    r.send(&["CLIENT", "REPLY", "ON"]).await;
    assert_eq!(r.read().await, Frame::Simple(b"OK".to_vec()));
    r.send(&["CLIENT", "REPLY", "SKIP"]).await;
    r.send(&["GET", "a"]).await;
    r.send(&["ECHO", "next"]).await;
    assert_eq!(r.read().await, Frame::Bulk(b"next".to_vec()));
    assert_eq!(
        r.call(&["CLIENT", "REPLY", "maybe"]).await,
        Frame::Error(b"ERR syntax error".to_vec())
    );
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pause_and_unpause() {
    let srv = start(&[]).await;
    let mut admin = Raw::connect(srv.port).await;
    let mut other = Raw::connect(srv.port).await;
    assert_eq!(
        admin.call(&["CLIENT", "PAUSE", "100000", "WRITE"]).await,
        Frame::Simple(b"OK".to_vec())
    );
    // Reads go on, writes wait.
    assert_eq!(other.call(&["GET", "k"]).await, Frame::Null);
    other.send(&["SET", "k", "v"]).await;
    assert_eq!(other.read_within(Duration::from_millis(300)).await, None);
    assert_eq!(
        admin.call(&["CLIENT", "UNPAUSE"]).await,
        Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(other.read().await, Frame::Simple(b"OK".to_vec()));

    // ALL pauses every command, CLIENT UNPAUSE included (as in Redis): wait for the timeout.
    assert_eq!(
        admin.call(&["CLIENT", "PAUSE", "1000"]).await,
        Frame::Simple(b"OK".to_vec())
    );
    other.send(&["GET", "k"]).await;
    assert_eq!(other.read_within(Duration::from_millis(200)).await, None);
    assert_eq!(other.read().await, Frame::Bulk(b"v".to_vec()));

    let errs = [
        (
            vec!["CLIENT", "PAUSE", "abc"],
            "ERR timeout is not an integer or out of range",
        ),
        (vec!["CLIENT", "PAUSE", "-1"], "ERR timeout is negative"),
        (
            vec!["CLIENT", "PAUSE", "10", "foo"],
            "ERR CLIENT PAUSE mode must be WRITE or ALL",
        ),
    ];
    for (cmd, msg) in errs {
        assert_eq!(
            admin.call(&cmd).await,
            Frame::Error(msg.as_bytes().to_vec())
        );
    }
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_get_set_and_effects() {
    let srv = start(&[]).await;
    let mut c = client(srv.port).await;
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxclients"]).await.unwrap();
    assert_eq!(v, ["maxclients", "10000"]);
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxclients", "200", "slowlog-max-len", "5"],
    )
    .await
    .unwrap();
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxclients", "slowlog-max-len"])
        .await
        .unwrap();
    assert!(
        v.contains(&"200".to_string()) && v.contains(&"5".to_string()),
        "{v:?}"
    );
    let err: redis::RedisResult<()> = q(&mut c, &["CONFIG", "SET", "foo", "bar"]).await;
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("Unknown option or number of arguments for CONFIG SET - 'foo'"));
    let err: redis::RedisResult<()> =
        q(&mut c, &["CONFIG", "SET", "maxclients", "1", "port"]).await;
    assert!(err.unwrap_err().to_string().contains("syntax error"));
    let err: redis::RedisResult<()> = q(&mut c, &["CONFIG", "REWRITE"]).await;
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("The server is running without a config file"));

    // notify-keyspace-events takes effect at once.
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"])
        .await
        .unwrap();
    let mut sub = Raw::connect(srv.port).await;
    sub.call(&["SUBSCRIBE", "__keyevent@0__:set"]).await;
    let _: () = q(&mut c, &["SET", "key1", "v"]).await.unwrap();
    match sub.read().await {
        Frame::Array(parts) => assert_eq!(parts[2], Frame::Bulk(b"key1".to_vec())),
        other => panic!("{other:?}"),
    }
    // proto-max-bulk-len limits what commands may build.
    let _: () = q(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"])
        .await
        .unwrap();
    let err: redis::RedisResult<()> = q(&mut c, &["SETRANGE", "big", "2000000", "x"]).await;
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("string exceeds maximum allowed size"));

    // CONFIG GET replies a map in RESP3.
    let mut raw = Raw::connect(srv.port).await;
    raw.call(&["HELLO", "3"]).await;
    match raw.call(&["CONFIG", "GET", "maxclients"]).await {
        Frame::Map(m) => assert_eq!(
            m,
            vec![(
                Frame::Bulk(b"maxclients".to_vec()),
                Frame::Bulk(b"200".to_vec())
            )]
        ),
        other => panic!("{other:?}"),
    }
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_introspection() {
    let srv = start(&[]).await;
    let mut c = client(srv.port).await;
    let n: i64 = q(&mut c, &["COMMAND", "COUNT"]).await.unwrap();
    assert_eq!(n as usize, server::commands::COMMANDS.len());
    let all: Vec<redis::Value> = q(&mut c, &["COMMAND"]).await.unwrap();
    assert_eq!(all.len(), n as usize);

    let mut raw = Raw::connect(srv.port).await;
    let info = raw.call(&["COMMAND", "INFO", "get", "nosuch"]).await;
    let Frame::Array(items) = info else {
        panic!("{info:?}")
    };
    assert_eq!(items[1], Frame::Null);
    let Frame::Array(get) = &items[0] else {
        panic!()
    };
    assert_eq!(get.len(), 10);
    assert_eq!(get[0], Frame::Bulk(b"get".to_vec()));
    assert_eq!(get[1], Frame::Integer(2));
    assert_eq!(
        get[2],
        Frame::Array(vec![
            Frame::Simple(b"readonly".to_vec()),
            Frame::Simple(b"fast".to_vec())
        ])
    );
    assert_eq!(
        &get[3..6],
        &[Frame::Integer(1), Frame::Integer(1), Frame::Integer(1)]
    );
    assert_eq!(
        get[6],
        Frame::Array(vec![
            Frame::Simple(b"@read".to_vec()),
            Frame::Simple(b"@string".to_vec()),
            Frame::Simple(b"@fast".to_vec())
        ])
    );
    let Frame::Array(client) = raw.call(&["COMMAND", "INFO", "client"]).await else {
        panic!()
    };
    let Frame::Array(client) = &client[0] else {
        panic!()
    };
    let Frame::Array(subs) = &client[9] else {
        panic!()
    };
    assert!(subs.len() >= 10);

    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"])
        .await
        .unwrap();
    assert_eq!(keys, ["a", "b"]);
    for (args, msg) in [
        (
            vec!["COMMAND", "GETKEYS", "nosuch", "a"],
            "Invalid command specified",
        ),
        (
            vec!["COMMAND", "GETKEYS", "ping", "x"],
            "The command has no key arguments",
        ),
        (
            vec!["COMMAND", "GETKEYS", "get", "a", "b"],
            "Invalid number of arguments specified for command",
        ),
    ] {
        let err: redis::RedisResult<Vec<String>> = q(&mut c, &args).await;
        assert!(err.unwrap_err().to_string().contains(msg), "{args:?}");
    }
    let docs: redis::Value = q(&mut c, &["COMMAND", "DOCS", "get"]).await.unwrap();
    let text = format!("{docs:?}");
    assert!(
        text.contains("Get the value of a key")
            && text.contains("1.0.0")
            && text.contains("string"),
        "{text}"
    );
    let names: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "client|*"],
    )
    .await
    .unwrap();
    assert!(
        names.contains(&"client|list".to_string())
            && names.iter().all(|n| n.starts_with("client|"))
    );
    let names: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "transaction"],
    )
    .await
    .unwrap();
    assert!(names.contains(&"multi".to_string()) && names.contains(&"exec".to_string()));
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_sees_other_clients() {
    let srv = start(&[]).await;
    let mut mon = Raw::connect(srv.port).await;
    assert_eq!(mon.call(&["MONITOR"]).await, Frame::Simple(b"OK".to_vec()));
    let mut c = client(srv.port).await;
    let _: () = q(&mut c, &["SET", "a b", "x\"y\n"]).await.unwrap();
    let _: () = q(&mut c, &["CONFIG", "SET", "maxclients", "100"])
        .await
        .unwrap();
    let _: () = q(&mut c, &["SELECT", "3"]).await.unwrap();
    let mut lines = Vec::new();
    while lines.len() < 2 {
        let line = text(&mon.read().await);
        if !line.contains("\"client\"") {
            lines.push(line);
        }
    }
    let strip = |l: &str| {
        l.split_once("] ")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    };
    assert_eq!(strip(&lines[0]), r#""SET" "a b" "x\"y\n""#);
    assert!(
        lines[0].split(' ').next().unwrap().contains('.'),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(" [0 127.0.0.1:"));
    // CONFIG is an admin command: not shown. SELECT shows the new db.
    assert!(
        lines[1].contains(" [3 127.0.0.1:") && lines[1].ends_with(r#""SELECT" "3""#),
        "{}",
        lines[1]
    );
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowlog_and_latency() {
    let srv = start(&["--enable-debug-command", "yes"]).await;
    let mut c = client(srv.port).await;
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"])
        .await
        .unwrap();
    let _: () = q(&mut c, &["CLIENT", "SETNAME", "slow"]).await.unwrap();
    let _: () = q(&mut c, &["SET", "k", "v"]).await.unwrap();
    let mut raw = Raw::connect(srv.port).await;
    let Frame::Array(entries) = raw.call(&["SLOWLOG", "GET", "2"]).await else {
        panic!()
    };
    assert_eq!(entries.len(), 2);
    let Frame::Array(e) = &entries[0] else {
        panic!()
    };
    assert_eq!(e.len(), 6);
    assert_eq!(
        e[3],
        Frame::Array(vec![
            Frame::Bulk(b"SET".to_vec()),
            Frame::Bulk(b"k".to_vec()),
            Frame::Bulk(b"v".to_vec())
        ])
    );
    assert_eq!(e[5], Frame::Bulk(b"slow".to_vec()));
    let len: i64 = q(&mut c, &["SLOWLOG", "LEN"]).await.unwrap();
    assert!(len >= 3);
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]).await.unwrap();
    let err: redis::RedisResult<()> = q(&mut c, &["SLOWLOG", "GET", "-2"]).await;
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("count should be greater than or equal to -1"));

    let _: () = q(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "1"])
        .await
        .unwrap();
    let _: () = q(&mut c, &["DEBUG", "SLEEP", "0.02"]).await.unwrap();
    let Frame::Array(latest) = raw.call(&["LATENCY", "LATEST"]).await else {
        panic!()
    };
    let Frame::Array(ev) = &latest[0] else {
        panic!()
    };
    assert_eq!(ev[0], Frame::Bulk(b"command".to_vec()));
    assert!(matches!(ev[2], Frame::Integer(ms) if ms >= 20));
    let Frame::Array(hist) = raw.call(&["LATENCY", "HISTORY", "command"]).await else {
        panic!()
    };
    assert_eq!(hist.len(), 1);
    let graph = text(&raw.call(&["LATENCY", "GRAPH", "command"]).await);
    assert!(graph.starts_with("command - high "), "{graph}");
    assert_eq!(raw.call(&["LATENCY", "RESET"]).await, Frame::Integer(1));
    let Frame::Array(h) = raw.call(&["LATENCY", "HISTOGRAM", "debug"]).await else {
        panic!()
    };
    assert_eq!(h[0], Frame::Bulk(b"debug".to_vec()));
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_subcommands() {
    let srv = start(&["--enable-debug-command", "yes"]).await;
    let mut raw = Raw::connect(srv.port).await;
    raw.call(&["SET", "k", "hello"]).await;
    let obj = text(&raw.call(&["DEBUG", "OBJECT", "k"]).await);
    assert!(
        obj.starts_with("Value at:0x")
            && obj.contains(" refcount:1 encoding:embstr serializedlength:6 lru:"),
        "{obj}"
    );
    assert_eq!(
        raw.call(&["DEBUG", "OBJECT", "nokey"]).await,
        Frame::Error(b"ERR no such key".to_vec())
    );
    // Same digests as Redis 7.0 for the same data.
    raw.call(&["SET", "a", "b"]).await;
    raw.call(&["DEL", "k"]).await;
    assert_eq!(
        text(&raw.call(&["DEBUG", "DIGEST"]).await),
        "479783d7290f02957dfbe3408a858ba13eea1709"
    );
    assert_eq!(
        raw.call(&["DEBUG", "DIGEST-VALUE", "a", "nokey"]).await,
        Frame::Array(vec![
            Frame::Simple(b"b78559cd22bce6e6df712eb99ce7f3b08e8f8f1f".to_vec()),
            Frame::Simple(b"0000000000000000000000000000000000000000".to_vec())
        ])
    );
    assert_eq!(
        raw.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).await,
        Frame::Simple(b"OK".to_vec())
    );
    raw.call(&["SET", "e", "v", "PX", "1"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Without the active cycle the expired key stays until accessed.
    let dbsize = raw.call(&["DBSIZE"]).await;
    assert_eq!(dbsize, Frame::Integer(2));
    assert_eq!(
        raw.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).await,
        Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(
        raw.call(&["DEBUG", "POPULATE", "3"]).await,
        Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(
        raw.call(&["GET", "key:2"]).await,
        Frame::Bulk(b"value:2".to_vec())
    );
    assert_eq!(
        raw.call(&["DEBUG", "nosuch"]).await,
        Frame::Error(
            b"ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP."
                .to_vec()
        )
    );
    srv.task.abort();

    // Disabled by default, as in Redis 7.0.
    let srv = start(&[]).await;
    let mut raw = Raw::connect(srv.port).await;
    let err = text(&raw.call(&["DEBUG", "SLEEP", "0"]).await);
    assert!(err.starts_with("ERR DEBUG command not allowed."), "{err}");
    srv.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_lastsave_and_shutdown() {
    let srv = start(&[]).await;
    let mut c = client(srv.port).await;
    let (secs, micros): (i64, i64) = q(&mut c, &["TIME"]).await.unwrap();
    assert!(secs > 1_600_000_000 && (0..1_000_000).contains(&micros));
    let last: i64 = q(&mut c, &["LASTSAVE"]).await.unwrap();
    assert!(last <= secs && last > secs - 60);

    let mut raw = Raw::connect(srv.port).await;
    assert_eq!(
        raw.call(&["SHUTDOWN", "ABORT"]).await,
        Frame::Error(b"ERR No shutdown in progress.".to_vec())
    );
    assert_eq!(
        raw.call(&["SHUTDOWN", "SAVE", "NOSAVE"]).await,
        Frame::Error(b"ERR syntax error".to_vec())
    );
    // SHUTDOWN SAVE is covered by crates/redoubt/tests/server.rs (it writes dump.rdb).
    raw.send(&["SHUTDOWN", "NOSAVE"]).await;
    assert!(raw.closed().await);
    let status = tokio::time::timeout(Duration::from_secs(10), srv.task)
        .await
        .expect("server exits")
        .expect("join");
    assert_eq!(status, 0);
}
