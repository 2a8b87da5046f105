//! The append-only file as a process: files both implementations read and write, what
//! survives `kill -9`, damaged files at start-up, turning the AOF on at run time, rewrites
//! (automatic, scheduled, refused) and the exact bytes appended.

mod common;

use common::{field_of, info_field, wait_field, wait_until, Raw, Server};
use redis::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

/// A data directory shared by several server processes, removed on drop.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> DataDir {
        DataDir(common::scratch_dir(tag))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn s(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// The AOF directory inside it.
    fn aof(&self) -> PathBuf {
        self.0.join("appendonlydir")
    }

    /// A log file path inside it.
    fn log(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A copy of this directory (the AOF directory included) into a new one.
    fn copy(&self, tag: &str) -> DataDir {
        let to = DataDir::new(tag);
        copy_tree(&self.0, &to.0);
        to
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Starts ours (`redis == false`) or redis-server on `dir` with `args`.
fn start(redis: bool, dir: &DataDir, args: &[&str]) -> Server {
    let mut all = vec!["--dir", dir.s(), "--save", ""];
    all.extend_from_slice(args);
    if redis {
        Server::start_redis(&all)
    } else {
        Server::start(&all)
    }
}

fn name(redis: bool) -> &'static str {
    if redis {
        "redis-server"
    } else {
        "redoubt"
    }
}

/// SIGKILL, then reap: nothing is flushed or synced on the way out.
fn kill_9(mut srv: Server) {
    let _ = srv.child.kill();
    let _ = srv.child.wait();
}

/// Waits until no rewrite runs or is scheduled.
fn wait_rewrite_done(c: &mut Raw) {
    wait_field(c, "persistence", "aof_rewrite_scheduled", "0");
    wait_field(c, "persistence", "aof_rewrite_in_progress", "0");
}

/// Sends a command and checks the reply is not an error.
fn ok(c: &mut Raw, args: &[&str]) -> String {
    let r = c.call_str(args);
    assert!(!r.starts_with('-'), "{args:?} -> {r}");
    r
}

/// The manifest's lines as (name, seq, type).
fn manifest(dir: &DataDir) -> Vec<(String, u64, char)> {
    let text = std::fs::read_to_string(dir.aof().join("appendonly.aof.manifest")).unwrap();
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(
                (f.len(), f[0], f[2], f[4]),
                (6, "file", "seq", "type"),
                "{l}"
            );
            (
                f[1].to_string(),
                f[3].parse().unwrap(),
                f[5].chars().next().unwrap(),
            )
        })
        .collect()
}

/// The last incr file listed in the manifest.
fn last_incr(dir: &DataDir) -> PathBuf {
    let m = manifest(dir);
    let (name, _, _) = m
        .iter()
        .rev()
        .find(|(_, _, t)| *t == 'i')
        .expect("an incr file");
    dir.aof().join(name)
}

/// File names in the AOF directory, sorted.
fn aof_listing(dir: &DataDir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.aof())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

fn encode(args: &[&str]) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    resp::encode_command(&a)
}

/// The messages of a log file, without the `pid:role date time level` prefix.
fn log_messages(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.splitn(7, ' ').nth(6))
        .map(str::to_string)
        .collect()
}

/// Runs a server that is expected to refuse to start; its exit code (None if it kept running
/// for 10 s, then it is killed) and its log messages.
fn run_expecting_exit(
    redis: bool,
    dir: &DataDir,
    log: &str,
    args: &[&str],
) -> (Option<i32>, Vec<String>) {
    let bin = if redis {
        common::require_redis()
    } else {
        common::redoubt_bin()
    };
    let logpath = dir.log(log);
    let _ = std::fs::remove_file(&logpath);
    let port = common::free_port().to_string();
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""]);
    cmd.args(["--dir", dir.s(), "--logfile", logpath.to_str().unwrap()]);
    cmd.args(args);
    let mut child = cmd
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, log_messages(&logpath))
}

fn has_line(log: &[String], line: &str) -> bool {
    log.iter().any(|l| l == line)
}

// ---------------------------------------------------------------------------------------------
// A dataset of every type, and a snapshot of it made of reads only.
// ---------------------------------------------------------------------------------------------

/// Writes before a rewrite: every type, big and small encodings, TTLs, several databases, a
/// transaction, commands propagated in another form (INCRBYFLOAT, EXPIRE, SPOP, lazy expiry).
fn fill_first(c: &mut Raw) {
    ok(c, &["SET", "s", "hello"]);
    ok(c, &["APPEND", "s", " world"]);
    ok(c, &["SET", "n", "12345"]);
    ok(c, &["SET", "neg", "-42"]);
    ok(c, &["SET", "long", &"abc".repeat(100)]);
    ok(c, &["SET", "big", &"0123456789".repeat(20_000)]);
    ok(c, &["SET", "bin", "a\r\nb\0c\r\n"]);
    ok(c, &["SET", "", "empty key"]);
    ok(c, &["SETRANGE", "padded", "5", "x"]);
    ok(c, &["INCRBY", "counter", "10"]);
    ok(c, &["INCRBYFLOAT", "f", "1.5"]);
    ok(c, &["INCRBYFLOAT", "f", "0.1"]);
    ok(c, &["RPUSH", "l", "a", "b", "3"]);
    ok(c, &["LPUSH", "l", "z"]);
    ok(c, &["LSET", "l", "1", "A"]);
    let many: Vec<String> = (0..300).map(|i| format!("item-{i}")).collect();
    let mut args = vec!["RPUSH", "biglist"];
    args.extend(many.iter().map(String::as_str));
    ok(c, &args);
    ok(c, &["HSET", "h", "f", "v", "n", "1"]);
    ok(c, &["HINCRBY", "h", "n", "5"]);
    ok(c, &["HINCRBYFLOAT", "h", "fl", "2.5"]);
    let mut args = vec!["HSET", "bighash"];
    for m in &many[..200] {
        args.push(m);
        args.push("value");
    }
    ok(c, &args);
    ok(c, &["SADD", "st", "x", "1", "2"]);
    ok(c, &["SADD", "ints", "1", "2", "3"]);
    let ints: Vec<String> = (0..600).map(|i| (i * 7).to_string()).collect();
    let mut args = vec!["SADD", "bigints"];
    args.extend(ints.iter().map(String::as_str));
    ok(c, &args);
    let mut args = vec!["SADD", "bigset"];
    args.extend(many.iter().map(String::as_str));
    ok(c, &args);
    ok(c, &["SADD", "popme", "a", "b", "c", "d", "e"]);
    ok(c, &["SPOP", "popme", "2"]);
    ok(c, &["ZADD", "z", "1", "a", "2.5", "b", "-3", "c"]);
    ok(c, &["ZINCRBY", "z", "1.5", "a"]);
    ok(c, &["ZADD", "zinf", "inf", "x", "-inf", "y", "0.1", "z"]);
    let mut args = vec!["ZADD", "bigz"];
    let scores: Vec<String> = (0..200).map(|i| format!("{}.25", i * 3)).collect();
    for (s, m) in scores.iter().zip(&many) {
        args.push(s);
        args.push(m);
    }
    ok(c, &args);
    ok(c, &["XADD", "x", "1-1", "f", "v"]);
    ok(c, &["XADD", "x", "1-2", "g", "w", "h", "u"]);
    ok(c, &["XADD", "x", "*", "auto", "id"]);
    ok(c, &["XGROUP", "CREATE", "x", "g", "0"]);
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "x",
            ">",
        ],
    );
    ok(c, &["XGROUP", "CREATE", "x", "g2", "$"]);
    ok(c, &["XGROUP", "CREATECONSUMER", "x", "g2", "bob"]);
    ok(c, &["XADD", "trimmed", "MAXLEN", "2", "*", "a", "1"]);
    ok(c, &["XADD", "trimmed", "MAXLEN", "2", "*", "a", "2"]);
    ok(c, &["XADD", "trimmed", "MAXLEN", "2", "*", "a", "3"]);
    ok(c, &["XADD", "emptied", "5-5", "a", "1"]);
    ok(c, &["XDEL", "emptied", "5-5"]);
    ok(c, &["SET", "t", "v", "EX", "100000"]);
    ok(c, &["EXPIRE", "h", "50000"]);
    ok(c, &["PEXPIREAT", "st", "4102444800000"]);
    ok(c, &["SELECT", "2"]);
    ok(c, &["SET", "d2", "other"]);
    ok(c, &["RPUSH", "d2l", "1", "2"]);
    ok(c, &["SELECT", "0"]);
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    for args in [
        &["INCR", "n"][..],
        &["RPUSH", "l", "m"],
        &["HSET", "h", "f2", "v2"],
        &["SADD", "st", "y"],
    ] {
        assert_eq!(c.call(args), b"+QUEUED\r\n");
    }
    assert!(c.call_str(&["EXEC"]).starts_with("*4\r\n"));
    ok(c, &["SET", "gone", "v"]);
    ok(c, &["EXPIRE", "gone", "-1"]);
    ok(c, &["SET", "e", "v", "PX", "30"]);
    std::thread::sleep(Duration::from_millis(60));
    // Found expired here: deleted, and the DEL propagated.
    assert_eq!(c.call(&["GET", "e"]), b"$-1\r\n");
}

/// Writes after (or while) a rewrite: more of everything, other databases, moves, a BLPOP
/// served by another client's push.
fn fill_second(srv: &Server, c: &mut Raw) {
    ok(c, &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "x", ">"]);
    ok(c, &["XACK", "x", "g", "1-1"]);
    ok(c, &["XCLAIM", "x", "g", "carol", "0", "1-2"]);
    ok(c, &["XADD", "x", "*", "late", "entry"]);
    ok(c, &["LMOVE", "l", "l2", "LEFT", "RIGHT"]);
    ok(c, &["INCRBYFLOAT", "f", "10"]);
    ok(c, &["SET", "n2", "7"]);
    ok(c, &["MOVE", "n2", "3"]);
    ok(c, &["COPY", "s", "scopy", "DB", "5"]);
    ok(c, &["GETEX", "long", "EX", "200000"]);
    ok(c, &["PERSIST", "t"]);
    ok(c, &["SELECT", "4"]);
    ok(c, &["SET", "flushed", "1"]);
    ok(c, &["FLUSHDB"]);
    ok(c, &["SET", "kept", "1"]);
    ok(c, &["SELECT", "2"]);
    ok(c, &["HSET", "d2h", "a", "b"]);
    ok(c, &["SELECT", "0"]);
    // A transaction with one write, and one where a command fails.
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["INCR", "counter"]), b"+QUEUED\r\n");
    assert!(c.call_str(&["EXEC"]).starts_with("*1\r\n"));
    assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(c.call(&["INCR", "s"]), b"+QUEUED\r\n");
    assert_eq!(c.call(&["SET", "aftererr", "1"]), b"+QUEUED\r\n");
    assert!(c.call_str(&["EXEC"]).starts_with("*2\r\n-ERR"));
    // BLPOP served by a push on another connection.
    let mut b = srv.raw();
    b.cmd(&[b"BLPOP", b"bl", b"10"]);
    wait_field(c, "clients", "blocked_clients", "1");
    ok(c, &["RPUSH", "bl", "first", "second"]);
    assert_eq!(b.read_reply(), b"*2\r\n$2\r\nbl\r\n$5\r\nfirst\r\n");
    ok(c, &["DEL", "padded"]);
}

/// Drops the pairs of a flat `[k, v, k, v...]` reply whose key is in `skip` (time-dependent).
fn without_fields(v: Value, skip: &[&str]) -> Value {
    match v {
        Value::Array(items) => {
            let flat = items.len() % 2 == 0
                && items
                    .iter()
                    .step_by(2)
                    .all(|k| matches!(k, Value::BulkString(_) | Value::SimpleString(_)));
            if flat {
                let mut out = Vec::new();
                for pair in items.chunks(2) {
                    let key = match &pair[0] {
                        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                        Value::SimpleString(s) => s.clone(),
                        _ => unreachable!(),
                    };
                    if !skip.contains(&key.as_str()) {
                        out.push(pair[0].clone());
                        out.push(without_fields(pair[1].clone(), skip));
                    }
                }
                Value::Array(out)
            } else {
                Value::Array(items.into_iter().map(|i| without_fields(i, skip)).collect())
            }
        }
        other => other,
    }
}

fn q(con: &mut redis::Connection, args: &[&[u8]]) -> Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap()
}

fn sorted_strings(v: Value) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = redis::from_owned_redis_value(v).unwrap();
    out.sort();
    out
}

/// A reply, compactly: bulk strings quoted, arrays in brackets.
fn show(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(n) => n.to_string(),
        Value::BulkString(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Value::SimpleString(s) => format!("+{s}"),
        Value::Okay => "+OK".into(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", inner.join(" "))
        }
        other => format!("{other:?}"),
    }
}

fn show_bytes(items: &[Vec<u8>]) -> String {
    let inner: Vec<String> = items
        .iter()
        .map(|b| format!("{:?}", String::from_utf8_lossy(b)))
        .collect();
    format!("[{}]", inner.join(" "))
}

/// The snapshot without the consumer groups' `entries-read` and `lag`: Redis 7.0 propagates
/// XREADGROUP as XCLAIM ... LASTID, which does not carry `entries-read`, so replaying an AOF
/// loses it (redis-server does the same to its own AOF); they are compared between loaders.
fn loose(snap: &[String]) -> Vec<String> {
    snap.iter()
        .map(|line| {
            let mut out = String::new();
            let mut rest = line.as_str();
            while let Some(i) = rest.find("\"entries-read\" ") {
                out.push_str(&rest[..i]);
                out.push_str("\"entries-read\" ? \"lag\" ?");
                rest = &rest[i..];
                // Skip `"entries-read" <v> "lag" <v>`.
                let mut tokens = 0;
                while tokens < 4 {
                    let end = rest.find([' ', ']']).unwrap_or(rest.len());
                    rest = &rest[end..];
                    if tokens < 3 {
                        rest = rest.strip_prefix(' ').unwrap_or(rest);
                    }
                    tokens += 1;
                }
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// Asserts two snapshots are equal, printing only the lines that differ.
fn assert_same(got: &[String], want: &[String], what: &str) {
    if got == want {
        return;
    }
    let mut shown = 0;
    for i in 0..got.len().max(want.len()) {
        let (g, w) = (got.get(i), want.get(i));
        if g != w && shown < 10 {
            eprintln!("{what}, line {i}:\n  want {w:?}\n  got  {g:?}");
            shown += 1;
        }
    }
    panic!("{what}: snapshots differ (see above)");
}

/// Every key of every database with its type, deadline and content, through reads only (no
/// DUMP: the encodings may differ, the data may not). Time-dependent fields (idle times) are
/// left out.
fn snapshot(srv: &Server) -> Vec<String> {
    let mut con = srv.client();
    let mut out = Vec::new();
    for db in 0..16 {
        let d = db.to_string();
        q(&mut con, &[b"SELECT", d.as_bytes()]);
        let keys = sorted_strings(q(&mut con, &[b"KEYS", b"*"]));
        out.push(format!("db {db}: {} keys", keys.len()));
        for k in keys {
            let ty: String = redis::from_owned_redis_value(q(&mut con, &[b"TYPE", &k])).unwrap();
            let deadline = q(&mut con, &[b"PEXPIRETIME", &k]);
            let content = match ty.as_str() {
                "string" => show(&q(&mut con, &[b"GET", &k])),
                "list" => show(&q(&mut con, &[b"LRANGE", &k, b"0", b"-1"])),
                "set" => show_bytes(&sorted_strings(q(&mut con, &[b"SMEMBERS", &k]))),
                "zset" => show(&q(&mut con, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"])),
                "hash" => {
                    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
                        redis::from_owned_redis_value(q(&mut con, &[b"HGETALL", &k])).unwrap();
                    pairs.sort();
                    let flat: Vec<Vec<u8>> = pairs.into_iter().flat_map(|(f, v)| [f, v]).collect();
                    show_bytes(&flat)
                }
                "stream" => {
                    let mut s = format!(
                        "len {} entries {} groups {}",
                        show(&q(&mut con, &[b"XLEN", &k])),
                        show(&q(&mut con, &[b"XRANGE", &k, b"-", b"+"])),
                        show(&q(&mut con, &[b"XINFO", b"GROUPS", &k])),
                    );
                    let groups: Vec<Value> =
                        redis::from_owned_redis_value(q(&mut con, &[b"XINFO", b"GROUPS", &k]))
                            .unwrap();
                    for g in groups {
                        let Value::Array(fields) = g else {
                            panic!("{g:?}")
                        };
                        let Value::BulkString(gname) = &fields[1] else {
                            panic!("{fields:?}")
                        };
                        let consumers = q(&mut con, &[b"XINFO", b"CONSUMERS", &k, gname]);
                        let pending = q(&mut con, &[b"XPENDING", &k, gname]);
                        // Extended form: id, consumer, idle (dropped), delivery count.
                        let detail: Vec<Vec<Value>> = redis::from_owned_redis_value(q(
                            &mut con,
                            &[b"XPENDING", &k, gname, b"-", b"+", b"100"],
                        ))
                        .unwrap();
                        let detail: Vec<Value> = detail
                            .into_iter()
                            .map(|e| Value::Array(vec![e[0].clone(), e[1].clone(), e[3].clone()]))
                            .collect();
                        s.push_str(&format!(
                            " | {:?} consumers {} pending {} {}",
                            String::from_utf8_lossy(gname),
                            show(&without_fields(consumers, &["idle", "inactive"])),
                            show(&pending),
                            show(&Value::Array(detail))
                        ));
                    }
                    s
                }
                other => panic!("type {other}"),
            };
            out.push(format!(
                "{} {ty} {} {content}",
                String::from_utf8_lossy(&k),
                show(&deadline)
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. The AOF directory is interchangeable with redis-server's.
// ---------------------------------------------------------------------------------------------

/// Writes the dataset into `writer`'s AOF (with a rewrite in the middle), kills it, loads the
/// directory with the other implementation and compares.
fn aof_interop(writer_is_redis: bool, preamble: &str) {
    let dir = DataDir::new("aof-interop");
    let args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble];
    // redis-server also annotates its files with `#TS:` lines, which loaders skip.
    let mut writer_args = args.to_vec();
    if writer_is_redis {
        writer_args.extend(["--aof-timestamp-enabled", "yes"]);
    }
    let w = start(writer_is_redis, &dir, &writer_args);
    let mut c = w.raw();
    fill_first(&mut c);
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        b"+Background append only file rewriting started\r\n"
    );
    // Some writes go to the new incr file while the child writes the base.
    ok(&mut c, &["SET", "during", "rewrite"]);
    ok(&mut c, &["RPUSH", "l", "during"]);
    wait_rewrite_done(&mut c);
    assert_eq!(info_field(&mut c, "persistence", "aof_rewrites"), "1");
    fill_second(&w, &mut c);
    let expected = snapshot(&w);
    assert!(expected.len() > 40, "{expected:#?}");
    let m = manifest(&dir);
    let ext = if preamble == "yes" { "rdb" } else { "aof" };
    assert_eq!(
        m,
        [
            (format!("appendonly.aof.2.base.{ext}"), 2, 'b'),
            ("appendonly.aof.2.incr.aof".to_string(), 2, 'i')
        ],
        "{}",
        name(writer_is_redis)
    );
    let base = std::fs::read(dir.aof().join(&m[0].0)).unwrap();
    assert_eq!(base.starts_with(b"REDIS"), preamble == "yes");
    kill_9(w);

    let same_impl = dir.copy("aof-interop-self");
    let r = start(!writer_is_redis, &dir, &args);
    let loaded = snapshot(&r);
    // The writer's own implementation reading the same files gets exactly the same.
    let itself = start(writer_is_redis, &same_impl, &writer_args);
    assert_same(
        &loaded,
        &snapshot(&itself),
        &format!(
            "{} and {} loading the same files",
            name(!writer_is_redis),
            name(writer_is_redis)
        ),
    );
    drop(itself);
    assert_same(
        &loose(&loaded),
        &loose(&expected),
        &format!(
            "{} loading {}'s AOF (preamble {preamble})",
            name(!writer_is_redis),
            name(writer_is_redis)
        ),
    );
    // The loader goes on appending to the same incr file, and reads it back after a restart.
    let mut c = r.raw();
    ok(&mut c, &["SET", "after", "reload"]);
    let expected = snapshot(&r);
    kill_9(r);
    let again = start(!writer_is_redis, &dir, &args);
    assert_same(&snapshot(&again), &expected, "after a second restart");
}

#[test]
fn redis_loads_our_aof_dir() {
    common::require_redis();
    aof_interop(false, "yes");
    aof_interop(false, "no");
}

#[test]
fn we_load_redis_aof_dir() {
    common::require_redis();
    aof_interop(true, "yes");
    aof_interop(true, "no");
}

// ---------------------------------------------------------------------------------------------
// 2. Acknowledged writes survive kill -9.
// ---------------------------------------------------------------------------------------------

/// Reads one `:N\r\n` reply; None when the connection broke.
fn read_int(r: &mut BufReader<TcpStream>) -> Option<i64> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(n) if n > 0 && line.ends_with("\r\n") => {}
        _ => return None,
    }
    let n = line
        .strip_prefix(':')
        .unwrap_or_else(|| panic!("reply {line:?}"));
    Some(n.trim_end().parse().unwrap())
}

fn acknowledged_writes_survive(policy: &str) {
    const WRITERS: usize = 8;
    let dir = DataDir::new("aof-kill");
    let args = ["--appendonly", "yes", "--appendfsync", policy];
    let srv = start(false, &dir, &args);
    let port = srv.port;
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let stop = stop.clone();
            let acks = acks.clone();
            std::thread::spawn(move || {
                let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let key = format!("list:{t}");
                let mut acked = 0i64;
                let deadline = Instant::now() + Duration::from_secs(30);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let v = (acked + 1).to_string();
                    if w.write_all(&encode(&["RPUSH", &key, &v])).is_err() {
                        break;
                    }
                    match read_int(&mut r) {
                        Some(n) => {
                            assert_eq!(n, acked + 1, "{key}");
                            acked = n;
                            acks.fetch_add(1, Ordering::Relaxed);
                        }
                        None => break,
                    }
                }
                acked
            })
        })
        .collect();
    // About a second of writes, and enough of them to mean something even on a slow disk.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20)
        && (started.elapsed() < Duration::from_secs(1) || acks.load(Ordering::Relaxed) < 200)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_9(srv);
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<i64> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    let total: i64 = acked.iter().sum();
    assert!(total >= 200, "too few writes to mean anything: {acked:?}");

    let srv = start(false, &dir, &args);
    let mut con = srv.client();
    let (mut lost, mut extra) = (0i64, 0i64);
    for (t, &a) in acked.iter().enumerate() {
        let values: Vec<i64> = redis::cmd("LRANGE")
            .arg(format!("list:{t}"))
            .arg(0)
            .arg(-1)
            .query(&mut con)
            .unwrap();
        let want: Vec<i64> = (1..=values.len() as i64).collect();
        assert_eq!(values, want, "list:{t} out of order or with gaps");
        let len = values.len() as i64;
        lost += (a - len).max(0);
        extra += (len - a).max(0);
    }
    eprintln!(
        "appendfsync {policy}: {total} acknowledged writes from {WRITERS} clients, {lost} lost, \
         {extra} unacknowledged ones kept"
    );
    assert_eq!(lost, 0, "acknowledged {acked:?}");
}

#[test]
fn acknowledged_writes_survive_kill_9_with_appendfsync_always() {
    acknowledged_writes_survive("always");
}

#[test]
fn acknowledged_writes_survive_kill_9_with_appendfsync_everysec() {
    acknowledged_writes_survive("everysec");
}

// ---------------------------------------------------------------------------------------------
// 3., 4. Damaged tails.
// ---------------------------------------------------------------------------------------------

/// An AOF directory written by ours: a few keys, then a clean shutdown. The snapshot of it.
fn prepared_dir(tag: &str) -> (DataDir, Vec<String>) {
    let dir = DataDir::new(tag);
    let srv = start(false, &dir, &["--appendonly", "yes"]);
    let mut c = srv.raw();
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["RPUSH", "l", "x", "y"]);
    ok(&mut c, &["SELECT", "1"]);
    ok(&mut c, &["HSET", "h", "f", "v"]);
    let snap = snapshot(&srv);
    kill_9(srv);
    (dir, snap)
}

/// The messages about loading the AOF, in order.
fn loading_messages(log: &[String], file: &str) -> Vec<String> {
    log.iter()
        .filter(|l| l.contains(file) || l.contains("MULTI/EXEC"))
        .filter(|l| !l.ends_with(" seconds"))
        .cloned()
        .collect()
}

#[test]
fn torn_last_record_is_truncated_or_refused() {
    let (dir, before) = prepared_dir("aof-torn");
    let incr = last_incr(&dir);
    let incr_name = incr.file_name().unwrap().to_str().unwrap().to_string();
    let good_len = std::fs::metadata(&incr).unwrap().len();
    append(&incr, b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nhal");
    let for_redis = dir.copy("aof-torn-redis");

    // aof-load-truncated no: refuses, leaves the file alone.
    let (code, log) = run_expecting_exit(
        false,
        &dir,
        "no.txt",
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    );
    assert_eq!(code, Some(1), "{log:#?}");
    let eof = format!("Unexpected end of file reading the append only file {incr_name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.");
    assert!(has_line(&log, &eof), "{log:#?}");
    assert!(std::fs::metadata(&incr).unwrap().len() > good_len);
    let (rcode, rlog) = run_expecting_exit(
        true,
        &for_redis,
        "no.txt",
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    );
    assert_eq!(rcode, Some(1));
    assert_eq!(
        loading_messages(&log, &incr_name),
        loading_messages(&rlog, &incr_name)
    );

    // aof-load-truncated yes: truncates at the end of the last whole command and starts.
    let logpath = dir.log("yes.txt");
    let args = [
        "--appendonly",
        "yes",
        "--aof-load-truncated",
        "yes",
        "--logfile",
    ];
    let mut with_log = args.to_vec();
    with_log.push(logpath.to_str().unwrap());
    let srv = start(false, &dir, &with_log);
    assert_eq!(snapshot(&srv), before);
    let log = log_messages(&logpath);
    for line in [
        format!("!!! Warning: short read while loading the AOF file {incr_name}!!!"),
        format!("!!! Truncating the AOF {incr_name} at offset {good_len} !!!"),
        format!("AOF {incr_name} loaded anyway because aof-load-truncated is enabled"),
    ] {
        assert!(has_line(&log, &line), "{line}\n{log:#?}");
    }
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good_len);
    // Appending goes on after the cut, and the result loads cleanly.
    let mut c = srv.raw();
    ok(&mut c, &["SET", "b", "after"]);
    let after = snapshot(&srv);
    kill_9(srv);
    let srv = start(
        false,
        &dir,
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    );
    assert_eq!(snapshot(&srv), after);
    drop(srv);

    // redis-server on the same file: the same lines, the same cut.
    let rlogpath = for_redis.log("yes.txt");
    let mut with_log = args.to_vec();
    with_log.push(rlogpath.to_str().unwrap());
    let redis = start(true, &for_redis, &with_log);
    assert_eq!(snapshot(&redis), before);
    drop(redis);
    assert_eq!(
        loading_messages(&log, &incr_name),
        loading_messages(&log_messages(&rlogpath), &incr_name)
    );
    assert_eq!(
        std::fs::metadata(for_redis.aof().join(&incr_name))
            .unwrap()
            .len(),
        good_len
    );
}

#[test]
fn incomplete_multi_at_end_is_reverted() {
    let (dir, before) = prepared_dir("aof-multi");
    let incr = last_incr(&dir);
    let incr_name = incr.file_name().unwrap().to_str().unwrap().to_string();
    let good_len = std::fs::metadata(&incr).unwrap().len();
    let mut tail = encode(&["MULTI"]);
    tail.extend(encode(&["SET", "b", "2"]));
    tail.extend(encode(&["INCR", "a"]));
    append(&incr, &tail);
    let for_redis = dir.copy("aof-multi-redis");
    let mut results = Vec::new();
    for (redis, d) in [(false, &dir), (true, &for_redis)] {
        let logpath = d.log("log.txt");
        let srv = start(
            redis,
            d,
            &[
                "--appendonly",
                "yes",
                "--logfile",
                logpath.to_str().unwrap(),
            ],
        );
        let mut c = srv.raw();
        assert_eq!(c.call(&["GET", "b"]), b"$-1\r\n", "{}", name(redis));
        assert_eq!(c.call(&["GET", "a"]), b"$1\r\n1\r\n", "{}", name(redis));
        assert_eq!(snapshot(&srv), before, "{}", name(redis));
        let log = log_messages(&logpath);
        let revert = format!("Revert incomplete MULTI/EXEC transaction in AOF file {incr_name}");
        assert!(has_line(&log, &revert), "{}: {log:#?}", name(redis));
        let cut = format!("!!! Truncating the AOF {incr_name} at offset {good_len} !!!");
        assert!(has_line(&log, &cut), "{}: {log:#?}", name(redis));
        assert_eq!(
            std::fs::metadata(d.aof().join(&incr_name)).unwrap().len(),
            good_len
        );
        results.push(loading_messages(&log, &incr_name));
    }
    assert_eq!(results[0], results[1]);
}

// ---------------------------------------------------------------------------------------------
// 5. CONFIG SET appendonly yes.
// ---------------------------------------------------------------------------------------------

/// The messages logged from `from` on, with pids and durations masked.
fn masked_from(log: &[String], from: &str) -> Vec<String> {
    let start = log
        .iter()
        .position(|l| l.contains(from))
        .unwrap_or(log.len());
    log[start..]
        .iter()
        .map(|l| {
            let mut out = String::new();
            let mut digits = false;
            for ch in l.chars() {
                if ch.is_ascii_digit() {
                    if !digits {
                        out.push('N');
                    }
                    digits = true;
                } else {
                    digits = false;
                    out.push(ch);
                }
            }
            out
        })
        .collect()
}

/// INFO persistence field names, in order.
fn field_names(info: &str) -> Vec<String> {
    info.lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
        .collect()
}

/// Turns the AOF on at run time; the log messages of that, the INFO persistence field names
/// with the AOF on, and the snapshot after a restart equal to the one before.
fn config_set_appendonly(redis: bool) -> (Vec<String>, Vec<String>) {
    let dir = DataDir::new("aof-config");
    let logpath = dir.log("log.txt");
    let srv = start(
        redis,
        &dir,
        &["--appendonly", "no", "--logfile", logpath.to_str().unwrap()],
    );
    let mut c = srv.raw();
    fill_first(&mut c);
    assert!(!dir.aof().exists());
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled"), "0");
    let off_names = field_names(&c.call_str(&["INFO", "persistence"]));
    assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    // Written while the first rewrite runs: they go to the temporary incr file.
    ok(&mut c, &["SET", "while", "turning on"]);
    ok(&mut c, &["INCR", "n"]);
    wait_rewrite_done(&mut c);
    wait_field(&mut c, "persistence", "aof_enabled", "1");
    assert_eq!(info_field(&mut c, "persistence", "aof_rewrites"), "1");
    assert_eq!(
        c.call(&["CONFIG", "GET", "appendonly"]),
        b"*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n"
    );
    fill_second(&srv, &mut c);
    let info = c.call_str(&["INFO", "persistence"]);
    let on_names = field_names(&info);
    assert_eq!(
        &on_names[on_names.len() - 6..],
        [
            "aof_current_size",
            "aof_base_size",
            "aof_pending_rewrite",
            "aof_buffer_length",
            "aof_pending_bio_fsync",
            "aof_delayed_fsync"
        ]
    );
    assert_eq!(&on_names[..on_names.len() - 6], off_names);
    let expected = snapshot(&srv);
    assert_eq!(
        manifest(&dir),
        [
            ("appendonly.aof.1.base.rdb".to_string(), 1, 'b'),
            ("appendonly.aof.1.incr.aof".to_string(), 1, 'i')
        ]
    );
    assert_eq!(
        aof_listing(&dir),
        [
            "appendonly.aof.1.base.rdb",
            "appendonly.aof.1.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    kill_9(srv);
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    assert_same(&loose(&snapshot(&srv)), &loose(&expected), name(redis));
    drop(srv);
    let log = log_messages(&logpath);
    let turned_on = masked_from(&log, "temp-appendonly.aof.incr on background rewrite");
    (turned_on, on_names)
}

#[test]
fn config_set_appendonly_yes_on_a_live_server() {
    common::require_redis();
    let (ours_log, ours_names) = config_set_appendonly(false);
    let (redis_log, redis_names) = config_set_appendonly(true);
    assert_eq!(ours_names, redis_names);
    let wanted = [
        "Creating AOF incr file temp-appendonly.aof.incr on background rewrite",
        "Background append only file rewriting started by pid N",
        "Background AOF rewrite terminated with success",
        "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-N.aof into appendonly.aof.N.base.rdb",
        "Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into appendonly.aof.N.incr.aof",
        "Background AOF rewrite finished successfully",
    ];
    for log in [&ours_log, &redis_log] {
        let mut it = log.iter();
        for w in wanted {
            assert!(
                it.any(|l| l == w),
                "{w} missing or out of order in {log:#?}"
            );
        }
    }
}

/// `aof_current_size` and `aof_base_size` against the files on disk, at the moments where
/// Redis defines them: a fresh start (the base created then is not counted), after a rewrite
/// (base and the new incr), after a restart (everything loaded; the base file alone as the
/// size automatic rewrites compare with).
fn aof_sizes(redis: bool) -> Vec<(u64, u64, u64, u64)> {
    let dir = DataDir::new("aof-sizes");
    let file = |name: &str| std::fs::metadata(dir.aof().join(name)).unwrap().len();
    let sizes = |c: &mut Raw| -> (u64, u64) {
        let info = c.call_str(&["INFO", "persistence"]);
        let get = |f: &str| field_of(&info, f).unwrap().parse::<u64>().unwrap();
        (get("aof_current_size"), get("aof_base_size"))
    };
    let mut out = Vec::new();
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    let mut c = srv.raw();
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["RPUSH", "l", "x", "y"]);
    let (cur, base) = sizes(&mut c);
    out.push((cur, base, file("appendonly.aof.1.incr.aof"), 0));
    ok(&mut c, &["BGREWRITEAOF"]);
    wait_field(&mut c, "persistence", "aof_rewrites", "1");
    wait_rewrite_done(&mut c);
    let (cur, base) = sizes(&mut c);
    let b = file("appendonly.aof.2.base.rdb");
    out.push((cur, base, b + file("appendonly.aof.2.incr.aof"), b));
    ok(&mut c, &["SET", "b", "2"]);
    let (cur, base) = sizes(&mut c);
    out.push((cur, base, b + file("appendonly.aof.2.incr.aof"), b));
    kill_9(srv);
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    let mut c = srv.raw();
    let (cur, base) = sizes(&mut c);
    out.push((cur, base, b + file("appendonly.aof.2.incr.aof"), b));
    out
}

#[test]
fn info_aof_sizes_as_redis() {
    common::require_redis();
    for redis in [true, false] {
        for (i, (cur, base, want_cur, want_base)) in aof_sizes(redis).into_iter().enumerate() {
            assert_eq!(
                (cur, base),
                (want_cur, want_base),
                "{} step {i}: (aof_current_size, aof_base_size)",
                name(redis)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Automatic rewrites.
// ---------------------------------------------------------------------------------------------

#[test]
fn automatic_rewrite_on_growth() {
    common::require_redis();
    // The accepted values, as redis-server accepts them.
    let config_replies = |srv: &Server| {
        let mut c = srv.raw();
        let mut replies = Vec::new();
        for v in ["0", "1", "1kb", "-1", "x"] {
            replies.push(c.call_str(&["CONFIG", "SET", "auto-aof-rewrite-min-size", v]));
            replies.push(c.call_str(&["CONFIG", "GET", "auto-aof-rewrite-min-size"]));
        }
        for v in ["0", "100", "-1"] {
            replies.push(c.call_str(&["CONFIG", "SET", "auto-aof-rewrite-percentage", v]));
            replies.push(c.call_str(&["CONFIG", "GET", "auto-aof-rewrite-percentage"]));
        }
        replies
    };
    assert_eq!(
        config_replies(&Server::start(&["--save", ""])),
        config_replies(&Server::start_redis(&[]))
    );

    let dir = DataDir::new("aof-auto");
    let logpath = dir.log("log.txt");
    let srv = start(
        false,
        &dir,
        &[
            "--appendonly",
            "yes",
            "--auto-aof-rewrite-min-size",
            "1kb",
            "--auto-aof-rewrite-percentage",
            "100",
            "--logfile",
            logpath.to_str().unwrap(),
        ],
    );
    let mut c = srv.raw();
    assert_eq!(
        manifest(&dir)[0],
        ("appendonly.aof.1.base.rdb".to_string(), 1, 'b')
    );
    let value = "v".repeat(100);
    for i in 0..100 {
        ok(&mut c, &["SET", &format!("k{}", i % 10), &value]);
    }
    wait_until(&mut c, "persistence", "aof_rewrites", |v| v != "0", ">= 1");
    wait_rewrite_done(&mut c);
    let m = manifest(&dir);
    let base = m.iter().find(|f| f.2 == 'b').unwrap();
    assert!(base.1 >= 2, "{m:?}");
    assert!(m.iter().all(|f| f.2 != 'h'), "{m:?}");
    // Only the files the manifest lists remain: history was deleted.
    let mut listed: Vec<String> = m.iter().map(|f| f.0.clone()).collect();
    listed.push("appendonly.aof.manifest".into());
    listed.sort();
    assert_eq!(aof_listing(&dir), listed);
    let log = log_messages(&logpath);
    assert!(
        log.iter()
            .any(|l| l.starts_with("Starting automatic rewriting of AOF on ")
                && l.ends_with("% growth")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("Removing the history file appendonly.aof.1.base.rdb")),
        "{log:#?}"
    );
    // The base after the rewrite holds the 10 keys; a restart sees them.
    let expected = snapshot(&srv);
    kill_9(srv);
    let srv = start(false, &dir, &["--appendonly", "yes"]);
    assert_eq!(snapshot(&srv), expected);
}

// ---------------------------------------------------------------------------------------------
// 7. BGREWRITEAOF replies.
// ---------------------------------------------------------------------------------------------

/// Sends `cmds` in one write (so no cron runs between them) and returns the replies.
fn pipeline(c: &mut Raw, cmds: &[&[&str]]) -> Vec<String> {
    let mut buf = Vec::new();
    for a in cmds {
        buf.extend(encode(a));
    }
    c.send(&buf);
    cmds.iter()
        .map(|_| String::from_utf8_lossy(&c.read_reply()).into_owned())
        .collect()
}

fn bgrewriteaof_replies(redis: bool) -> Vec<String> {
    let dir = DataDir::new("aof-bgrw");
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    let mut c = srv.raw();
    fill_first(&mut c);
    let mut out = Vec::new();
    let mut rewrites = 0;
    // One running: the second is refused.
    out.extend(pipeline(&mut c, &[&["BGREWRITEAOF"], &["BGREWRITEAOF"]]));
    rewrites += 1;
    wait_rewrite_done(&mut c);
    // A BGSAVE running: scheduled, and started by the cron once the save is over.
    let mut replies = pipeline(
        &mut c,
        &[&["BGSAVE"], &["BGREWRITEAOF"], &["INFO", "persistence"]],
    );
    let info = replies.pop().unwrap();
    out.extend(replies);
    out.push(field_of(&info, "aof_rewrite_scheduled").unwrap());
    out.push(field_of(&info, "aof_pending_rewrite").unwrap());
    rewrites += 1;
    wait_field(&mut c, "persistence", "aof_rewrites", &rewrites.to_string());
    wait_rewrite_done(&mut c);
    wait_field(&mut c, "persistence", "rdb_bgsave_in_progress", "0");
    // An AOF rewrite running: BGSAVE refused unless scheduled.
    out.extend(pipeline(
        &mut c,
        &[&["BGREWRITEAOF"], &["BGSAVE"], &["BGSAVE", "SCHEDULE"]],
    ));
    rewrites += 1;
    wait_field(&mut c, "persistence", "aof_rewrites", &rewrites.to_string());
    wait_field(&mut c, "persistence", "rdb_saves", "2");
    // Inside MULTI: scheduled.
    out.extend(pipeline(
        &mut c,
        &[&["MULTI"], &["BGREWRITEAOF"], &["EXEC"]],
    ));
    rewrites += 1;
    wait_field(&mut c, "persistence", "aof_rewrites", &rewrites.to_string());
    wait_rewrite_done(&mut c);
    out.push(info_field(
        &mut c,
        "persistence",
        "aof_last_bgrewrite_status",
    ));
    let m = manifest(&dir);
    out.push(format!("{m:?}"));
    out.push(format!("{:?}", aof_listing(&dir)));
    let snap = snapshot(&srv);
    kill_9(srv);
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    assert_eq!(snapshot(&srv), snap);
    out
}

/// BGREWRITEAOF with the AOF off, on a directory where an AOF run left a manifest and files:
/// the rewrite goes on with the old numbering and supersedes the old files; the manifest then
/// lists only the new base. Then `CONFIG SET appendonly yes` on top.
fn bgrewriteaof_with_aof_off(redis: bool) -> Vec<String> {
    let dir = DataDir::new("aof-bgrw-off");
    let mut out = Vec::new();
    {
        let srv = start(redis, &dir, &["--appendonly", "yes"]);
        let mut c = srv.raw();
        ok(&mut c, &["SET", "a", "1"]);
        for n in 1..=2 {
            ok(&mut c, &["BGREWRITEAOF"]);
            wait_field(&mut c, "persistence", "aof_rewrites", &n.to_string());
            wait_rewrite_done(&mut c);
        }
        ok(&mut c, &["SET", "b", "2"]);
        out.push(format!("{:?}", aof_listing(&dir)));
        kill_9(srv);
    }
    let srv = start(redis, &dir, &["--appendonly", "no"]);
    let mut c = srv.raw();
    out.push(c.call_str(&["MGET", "a", "b"]));
    ok(&mut c, &["SET", "a", "10"]);
    for n in 1..=2 {
        out.push(c.call_str(&["BGREWRITEAOF"]));
        wait_field(&mut c, "persistence", "aof_rewrites", &n.to_string());
        wait_rewrite_done(&mut c);
        out.push(format!("{:?}", aof_listing(&dir)));
        out.push(std::fs::read_to_string(dir.aof().join("appendonly.aof.manifest")).unwrap());
        out.push(info_field(&mut c, "persistence", "aof_enabled"));
        ok(&mut c, &["SET", "c", &n.to_string()]);
    }
    assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    wait_field(&mut c, "persistence", "aof_rewrites", "3");
    wait_rewrite_done(&mut c);
    wait_field(&mut c, "persistence", "aof_enabled", "1");
    ok(&mut c, &["SET", "d", "4"]);
    out.push(format!("{:?}", aof_listing(&dir)));
    out.push(std::fs::read_to_string(dir.aof().join("appendonly.aof.manifest")).unwrap());
    kill_9(srv);
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    out.push(srv.raw().call_str(&["MGET", "a", "b", "c", "d"]));
    out
}

#[test]
fn bgrewriteaof_replies_match_redis() {
    common::require_redis();
    let ours = bgrewriteaof_replies(false);
    let redis = bgrewriteaof_replies(true);
    assert_eq!(ours, redis);
    assert_eq!(
        ours[..3],
        [
            "+Background append only file rewriting started\r\n",
            "-ERR Background append only file rewriting already in progress\r\n",
            "+Background saving started\r\n",
        ]
    );
    let ours = bgrewriteaof_with_aof_off(false);
    let redis = bgrewriteaof_with_aof_off(true);
    assert_eq!(ours, redis);
    assert_eq!(
        ours[3],
        r#"["appendonly.aof.4.base.rdb", "appendonly.aof.manifest"]"#
    );
    assert_eq!(ours[4], "file appendonly.aof.4.base.rdb seq 4 type b\n");
}

// ---------------------------------------------------------------------------------------------
// 8. Files that cannot be loaded.
// ---------------------------------------------------------------------------------------------

/// Appends `tail` to the last incr file of a prepared directory; both implementations must
/// exit with 1 and log `line` (`{}` = the incr file's name).
fn refuses_to_start(tag: &str, tail: &[u8], line: &str) {
    let (dir, _) = prepared_dir(tag);
    let incr = last_incr(&dir);
    let incr_name = incr.file_name().unwrap().to_str().unwrap().to_string();
    append(&incr, tail);
    let line = line.replace("{}", &incr_name);
    for redis in [false, true] {
        let d = dir.copy(tag);
        let (code, log) = run_expecting_exit(redis, &d, "log.txt", &["--appendonly", "yes"]);
        assert_eq!(code, Some(1), "{}: {log:#?}", name(redis));
        assert!(has_line(&log, &line), "{}: {line}\n{log:#?}", name(redis));
    }
}

#[test]
fn unknown_command_in_aof_refuses_to_start() {
    common::require_redis();
    refuses_to_start(
        "aof-unknown",
        &encode(&["FOOBAR", "b"]),
        "Unknown command 'FOOBAR' reading the append only file {}",
    );
}

#[test]
fn bad_format_refuses_to_start() {
    common::require_redis();
    let bad = "Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>";
    refuses_to_start("aof-bad", b"garbage\r\n", bad);
    refuses_to_start("aof-bad2", b"*2\r\n$3\r\nGET\r\nxx\r\n", bad);
}

#[test]
fn missing_aof_file_refuses_to_start() {
    common::require_redis();
    let (dir, _) = prepared_dir("aof-missing");
    let base = dir.aof().join(&manifest(&dir)[0].0);
    std::fs::remove_file(&base).unwrap();
    let line = format!(
        "Unable to obtain the AOF file {} length. stat: No such file or directory",
        base.file_name().unwrap().to_str().unwrap()
    );
    for redis in [false, true] {
        let d = dir.copy("aof-missing");
        let (code, log) = run_expecting_exit(redis, &d, "log.txt", &["--appendonly", "yes"]);
        assert_eq!(code, Some(1), "{}: {log:#?}", name(redis));
        assert!(has_line(&log, &line), "{}: {line}\n{log:#?}", name(redis));
    }
}

// ---------------------------------------------------------------------------------------------
// A Redis 6 single-file AOF.
// ---------------------------------------------------------------------------------------------

/// Starts on a directory holding an old-style `appendonly.aof` (`contents`): it is moved into
/// the AOF directory as the base, loaded, and appended to through a new incr file.
fn migrate_old_style(redis: bool, contents: &[u8]) -> Vec<String> {
    let dir = DataDir::new("aof-old");
    std::fs::write(dir.path().join("appendonly.aof"), contents).unwrap();
    let logpath = dir.log("log.txt");
    let args = [
        "--appendonly",
        "yes",
        "--logfile",
        logpath.to_str().unwrap(),
    ];
    let srv = start(redis, &dir, &args);
    let mut c = srv.raw();
    let mut out = vec![c.call_str(&["MGET", "a", "c", "t"])];
    let ttl: i64 = c.call_str(&["TTL", "t"])[1..].trim_end().parse().unwrap();
    out.push(format!("ttl positive: {}", ttl > 0));
    ok(&mut c, &["SET", "b", "2"]);
    out.push(format!("{:?}", aof_listing(&dir)));
    out.push(std::fs::read_to_string(dir.aof().join("appendonly.aof.manifest")).unwrap());
    out.push(format!("{}", dir.path().join("appendonly.aof").exists()));
    let log = log_messages(&logpath);
    let line = "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir).";
    assert!(has_line(&log, line), "{}: {log:#?}", name(redis));
    kill_9(srv);
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    out.push(srv.raw().call_str(&["MGET", "a", "b", "c"]));
    out
}

#[test]
fn old_style_aof_is_migrated() {
    common::require_redis();
    // Commands only, as Redis 6 wrote them with aof-use-rdb-preamble no (SETEX relative).
    let mut plain = encode(&["SELECT", "0"]);
    plain.extend(encode(&["SET", "a", "1"]));
    plain.extend(encode(&["SET", "c", "3"]));
    plain.extend(encode(&["SETEX", "t", "1000", "v"]));
    // An RDB preamble, then commands.
    let rdb = {
        let dir = DataDir::new("aof-old-rdb");
        let srv = start(true, &dir, &[]);
        let mut c = srv.raw();
        ok(&mut c, &["SET", "a", "1"]);
        ok(&mut c, &["SET", "t", "v", "EX", "1000"]);
        ok(&mut c, &["SAVE"]);
        drop(c);
        kill_9(srv);
        std::fs::read(dir.path().join("dump.rdb")).unwrap()
    };
    let mut preamble = rdb;
    preamble.extend(encode(&["SELECT", "0"]));
    preamble.extend(encode(&["SET", "c", "3"]));
    for contents in [plain, preamble] {
        let ours = migrate_old_style(false, &contents);
        assert_eq!(ours, migrate_old_style(true, &contents));
        assert_eq!(ours[0], "*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\nv\r\n");
        assert_eq!(ours[1], "ttl positive: true");
        assert_eq!(
            ours[3],
            "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        assert_eq!(ours[5], "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    }
}

// ---------------------------------------------------------------------------------------------
// 9. The bytes appended.
// ---------------------------------------------------------------------------------------------

fn incr_bytes_after(redis: bool, cmds: &[&[&str]]) -> (Vec<u8>, Vec<String>) {
    let dir = DataDir::new("aof-bytes");
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    let mut c = srv.raw();
    let replies = cmds.iter().map(|a| c.call_str(a)).collect();
    let bytes = std::fs::read(dir.aof().join("appendonly.aof.1.incr.aof")).unwrap();
    (bytes, replies)
}

#[test]
fn aof_stream_matches_redis_bytes() {
    common::require_redis();
    let cmds: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["set", "b", "x y"],
        &["INCR", "a"],
        &["INCR", "b"],
        &["SET", "a", "9", "NX"],
        &["DEL", "missing"],
        &["RPUSH", "l", "x", "y", "z"],
        &["HSET", "h", "f", "v", "g", "w"],
        &["GET", "a"],
        &["SELECT", "3"],
        &["SET", "c", ""],
        &["MULTI"],
        &["INCR", "n"],
        &["EXEC"],
        &["MULTI"],
        &["INCR", "n"],
        &["GET", "n"],
        &["RPUSH", "l3", "1"],
        &["EXEC"],
        &["MULTI"],
        &["GET", "n"],
        &["EXEC"],
        &["SELECT", "0"],
        &["MULTI"],
        &["SELECT", "5"],
        &["SET", "five", "5"],
        &["SELECT", "0"],
        &["SET", "zero", "0"],
        &["EXEC"],
        &["DEL", "a", "b", "nope"],
        &["SELECT", "3"],
        &["FLUSHDB"],
        &["SELECT", "0"],
        &["FLUSHALL"],
        &["SET", "end", "1"],
        // Commands propagated in another form, and ones that change nothing.
        &["SET", "f", "1.5"],
        &["INCRBYFLOAT", "f", "0.25"],
        &["HSET", "h", "a", "1"],
        &["HINCRBYFLOAT", "h", "a", "2.5"],
        &["SET", "gd", "x"],
        &["GETDEL", "gd"],
        &["SET", "ex", "x"],
        &["EXPIRE", "ex", "-1"],
        &["SADD", "s1", "a", "b"],
        &["SMOVE", "s1", "s2", "a"],
        &["RENAME", "end", "end2"],
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
        &["LPOP", "l", "2"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["ZPOPMIN", "z"],
        &["ZADD", "z", "INCR", "5", "a"],
        &["XADD", "x", "1-1", "f", "v"],
        &["XADD", "x", "2-1", "f", "v"],
        &["XTRIM", "x", "MAXLEN", "1"],
        &["XGROUP", "CREATE", "x", "g", "0"],
        &["XDEL", "x", "2-1"],
        &["XSETID", "x", "5-5"],
        &["PFADD", "hll", "a", "b", "c"],
        &["PFCOUNT", "hll"],
        &["SETRANGE", "sr", "2", "ab"],
        &["APPEND", "sr", "cd"],
        &["DECRBY", "d", "5"],
        &["MSET", "m1", "1", "m2", "2"],
        &["MSETNX", "m1", "1", "m3", "3"],
        &["COPY", "m2", "m4"],
        &["SWAPDB", "0", "1"],
        &["SWAPDB", "0", "1"],
        &["MOVE", "m2", "2"],
        &["UNLINK", "m1"],
        &["SADD", "sa", "a", "b"],
        &["SADD", "sb", "b", "c"],
        &["SINTERSTORE", "si", "sa", "sb"],
        &["ZUNIONSTORE", "zu", "1", "z"],
        &["GEOADD", "geo", "13.361389", "38.115556", "Palermo"],
        &["SETBIT", "bits", "7", "1"],
        &["BITOP", "NOT", "bnot", "bits"],
        &["BITFIELD", "bf", "SET", "u8", "0", "255"],
        &["BITFIELD", "bf", "INCRBY", "u8", "0", "10"],
        &["HDEL", "h", "a"],
        &["SREM", "sa", "a"],
        &["LREM", "l2", "0", "a"],
        &["LTRIM", "l", "0", "0"],
        &["INCR", "newkey"],
        &["SET", "k", "v", "KEEPTTL"],
        &["SET", "k", "v2", "XX"],
        &["SET", "nx", "v", "NX"],
        &["SETNX", "nx", "v"],
        &["LPUSHX", "nolist", "v"],
        &["HSETNX", "h2", "f", "v"],
        &["SPOP", "nosuch"],
        &["EXPIRE", "nosuch", "10"],
        &["PERSIST", "k"],
        &["RPOPLPUSH", "nosuch", "x"],
        &["LINSERT", "nosuch", "BEFORE", "a", "b"],
        &["ZREM", "nosuch", "a"],
        &["FLUSHDB", "ASYNC"],
        &["SET", "a", "1"],
        &["FLUSHALL", "ASYNC"],
        &["SET", "g", "1", "GET"],
        &["SET", "g", "2", "get", "XX", "GET"],
        &["SET", "last", "1"],
    ];
    let (ours, ours_replies) = incr_bytes_after(false, cmds);
    let (redis, redis_replies) = incr_bytes_after(true, cmds);
    assert_eq!(ours_replies, redis_replies);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&redis)
    );
    assert_eq!(ours, redis);
}

// ---------------------------------------------------------------------------------------------
// Keys whose deadline passed between the write and the reload.
// ---------------------------------------------------------------------------------------------

/// Writes keys with a short TTL and later commands on them, kills the server before the TTL
/// ends, restarts it once the TTL is over; the snapshot then.
fn reload_after_deadline(redis: bool) -> Vec<String> {
    let dir = DataDir::new("aof-deadline");
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    let mut c = srv.raw();
    let written = Instant::now();
    ok(&mut c, &["SET", "k", "1", "PX", "1500"]);
    ok(&mut c, &["INCR", "k"]);
    ok(&mut c, &["RPUSH", "l", "a"]);
    ok(&mut c, &["PEXPIRE", "l", "1500"]);
    ok(&mut c, &["RPUSH", "l", "b"]);
    ok(&mut c, &["HSET", "h", "f", "v", "g", "w"]);
    ok(&mut c, &["PEXPIRE", "h", "1500"]);
    ok(&mut c, &["HDEL", "h", "f"]);
    ok(&mut c, &["SET", "kept", "1"]);
    // Long before the deadline: nothing was expired (and no DEL appended) yet.
    assert!(written.elapsed() < Duration::from_millis(1000));
    kill_9(srv);
    std::thread::sleep(Duration::from_millis(2000).saturating_sub(written.elapsed()));
    let srv = start(redis, &dir, &["--appendonly", "yes"]);
    snapshot(&srv)
}

/// Redis replays an AOF with expiry off (`keyIsExpired` is false while loading, and a past
/// deadline is stored rather than acted on): `INCR k` after `SET k 1 PXAT <t>` increments the
/// key that still has its deadline, which then expires. A replay that expires keys as it goes
/// lets the INCR (or RPUSH...) recreate the key without a deadline, and it never expires.
#[test]
fn keys_past_their_deadline_stay_expired_after_a_reload() {
    common::require_redis();
    let redis = reload_after_deadline(true);
    assert_eq!(redis[0], "db 0: 1 keys", "{redis:#?}");
    assert_same(
        &reload_after_deadline(false),
        &redis,
        "ours after the deadline",
    );
}
