//! The coupon service as processes: `coupon api` and `coupon worker` over a store server
//! (redoubt-server, and Debian's redis-server: the service must work on real Redis too),
//! with SQLite. Every scenario runs on each kind of server in turn.
//!
//! The servers come from `target/release`: build them first (`cargo build --release -p
//! redoubt`; `cargo test --workspace --release` does).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Upper bound of every poll in this file.
const WAIT: Duration = Duration::from_secs(30);

/// A child process killed (and reaped) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Which server stores the data.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Ours,
    Redis,
}

/// The kinds to run: ours always, Redis when it is installed (CI installs it).
fn kinds() -> Vec<Kind> {
    let mut kinds = vec![Kind::Ours];
    if std::path::Path::new("/usr/bin/redis-server").exists() {
        kinds.push(Kind::Redis);
    } else {
        eprintln!("note: /usr/bin/redis-server is missing; running on redoubt-server only");
    }
    kinds
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `target/release` (or debug): where cargo put this test and the workspace's binaries.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn scratch() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "coupon-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The whole service on one store server: its processes die with the value.
struct Stack {
    _server: Proc,
    api: Proc,
    workers: Vec<Proc>,
    port: u16,
    base: String,
    dir: PathBuf,
    http: reqwest::Client,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.api.0.kill();
        self.workers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_server(kind: Kind, dir: &std::path::Path) -> (Proc, u16) {
    let port = free_port();
    let bin = match kind {
        Kind::Ours => bin_dir().join("redoubt-server"),
        Kind::Redis => PathBuf::from("/usr/bin/redis-server"),
    };
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p redoubt` first",
        bin.display()
    );
    let child = Command::new(&bin)
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Proc(child);
    let deadline = Instant::now() + WAIT;
    while redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .and_then(|c| c.get_connection())
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_err()
    {
        assert!(Instant::now() < deadline, "{kind:?} server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

fn coupon(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coupon"));
    cmd.args(args).env("COUPON_LOG", "warn");
    cmd
}

fn start_worker(port: u16, dir: &std::path::Path, name: &str, extra: &[&str]) -> Proc {
    let redis = format!("redis://127.0.0.1:{port}");
    let db = format!("sqlite:{}", dir.join("coupon.db").display());
    let mut args = vec![
        "worker",
        "--redis",
        &redis,
        "--db",
        &db,
        "--consumer",
        name,
        "--block-ms",
        "200",
    ];
    args.extend_from_slice(extra);
    Proc(
        coupon(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

impl Stack {
    fn start(kind: Kind, extra_api_args: &[&str]) -> Stack {
        let dir = scratch();
        let (server, port) = start_server(kind, &dir);
        let redis = format!("redis://127.0.0.1:{port}");
        let db = format!("sqlite:{}", dir.join("coupon.db").display());
        let mut args = vec![
            "api",
            "--listen",
            "127.0.0.1:0",
            "--redis",
            &redis,
            "--db",
            &db,
            "--cache-ttl-secs",
            "5",
        ];
        args.extend_from_slice(extra_api_args);
        if !extra_api_args.contains(&"--deadline-ms") {
            args.extend_from_slice(&["--deadline-ms", "3000"]);
        }
        let mut child = coupon(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("api said {first:?}"));
        let base = format!("http://{addr}");
        let workers = vec![start_worker(port, &dir, "w1", &[])];
        Stack {
            _server: server,
            api: Proc(child),
            workers,
            port,
            base,
            dir,
            http: reqwest::Client::new(),
        }
    }

    fn store(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn campaign(&self, quantity: u64) -> String {
        let (status, c) = self
            .post(
                "/campaigns",
                json!({"name": "launch", "quantity": quantity}),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        c["id"].as_str().unwrap().to_string()
    }

    async fn issue(&self, campaign: &str, user: &str, key: &str) -> (u16, Value) {
        self.post(
            &format!("/campaigns/{campaign}/issue"),
            json!({"user": user, "idempotency_key": key}),
        )
        .await
    }

    /// Waits until the workers persisted everything issued; returns the stats.
    async fn drained(&self, campaign: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, stats) = self.get(&format!("/campaigns/{campaign}/stats")).await;
            assert_eq!(status, 200, "{stats}");
            if stats["queued"] == 0 && stats["persisted"] == stats["issued"] {
                return stats;
            }
            assert!(Instant::now() < deadline, "never drained: {stats}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn concurrent_users_get_exactly_the_quantity_and_each_at_most_one() {
    for kind in kinds() {
        runtime().block_on(async {
            let stack = Stack::start(kind, &[]);
            let campaign = stack.campaign(300).await;
            // 1000 users, 200 of whom ask twice with a new key, all at once.
            let requests: Vec<(String, String)> = (0..1000)
                .map(|u| (format!("u{u}"), format!("k{u}")))
                .chain((0..200).map(|u| (format!("u{u}"), format!("again{u}"))))
                .collect();
            let stack = &stack;
            let campaign = &campaign;
            use futures_util::StreamExt;
            let replies: Vec<_> = futures_util::stream::iter(requests.iter())
                .map(|(user, key)| async move { (user, stack.issue(campaign, user, key).await) })
                .buffer_unordered(200)
                .collect()
                .await;
            let mut coupons = std::collections::BTreeMap::new();
            let mut counts = std::collections::BTreeMap::<u16, usize>::new();
            for (user, (status, body)) in &replies {
                *counts.entry(*status).or_default() += 1;
                if *status == 201 {
                    let seq = body["seq"].as_u64().unwrap();
                    assert!((1..=300).contains(&seq), "{body}");
                    let earlier = coupons.insert(body["coupon"].as_str().unwrap().to_string(), user.to_string());
                    assert!(earlier.is_none(), "{kind:?}: coupon issued twice: {body}");
                }
            }
            assert_eq!(counts.get(&201), Some(&300), "{kind:?}: {counts:?}");
            assert_eq!(counts.values().sum::<usize>(), 1200);
            assert!(counts.keys().all(|s| [201, 409, 410].contains(s)), "{kind:?}: {counts:?}");
            let holders: std::collections::BTreeSet<&String> = coupons.values().collect();
            assert_eq!(holders.len(), 300, "{kind:?}: a user holds two coupons");

            let stats = stack.drained(campaign).await;
            assert_eq!(stats, json!({"quantity": 300, "issued": 300, "remaining": 0, "queued": 0, "persisted": 300}));
            let (_, persisted) = stack.get(&format!("/campaigns/{campaign}/coupons")).await;
            let persisted: std::collections::BTreeMap<String, String> = persisted
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["coupon"].as_str().unwrap().to_string(), c["user"].as_str().unwrap().to_string()))
                .collect();
            assert_eq!(persisted, coupons, "{kind:?}: the database differs from what clients were told");
        });
    }
}

#[test]
fn replies_follow_the_contract_for_every_case() {
    for kind in kinds() {
        runtime().block_on(async {
            let stack = Stack::start(kind, &[]);
            let c = stack.campaign(2).await;

            let (s, first) = stack.issue(&c, "alice", "req-1").await;
            assert_eq!(s, 201, "{kind:?} {first}");
            assert_eq!(first["replayed"], false);
            let (s, again) = stack.issue(&c, "alice", "req-1").await;
            assert_eq!(
                (s, &again["coupon"], &again["replayed"]),
                (201, &first["coupon"], &json!(true))
            );
            let (s, dup) = stack.issue(&c, "alice", "req-2").await;
            assert_eq!((s, &dup["coupon"]), (409, &first["coupon"]), "{dup}");
            assert_eq!(stack.issue(&c, "bob", "b").await.0, 201);
            let (s, gone) = stack.issue(&c, "carol", "c").await;
            assert_eq!(s, 410, "{gone}");
            assert!(
                gone["error"].as_str().unwrap().contains("sold out"),
                "{gone}"
            );
            // A sold-out campaign still answers its holders' retries.
            assert_eq!(stack.issue(&c, "alice", "req-1").await.0, 201);

            // Bad input, unknown campaigns.
            assert_eq!(stack.issue(&c, "", "k").await.0, 400);
            assert_eq!(stack.issue(&c, "a|b", "k").await.0, 400);
            assert_eq!(stack.issue(&c, "dave", &"k".repeat(200)).await.0, 400);
            assert_eq!(
                stack
                    .post(&format!("/campaigns/{c}/issue"), json!({"user": "x"}))
                    .await
                    .0,
                400
            );
            assert_eq!(
                stack
                    .post(&format!("/campaigns/{c}/issue"), json!([1]))
                    .await
                    .0,
                400
            );
            assert_eq!(stack.issue("nosuch", "dave", "k").await.0, 404);
            assert_eq!(
                stack
                    .post("/campaigns", json!({"name": "x", "quantity": 0}))
                    .await
                    .0,
                400
            );
            assert_eq!(
                stack
                    .post("/campaigns", json!({"name": "", "quantity": 5}))
                    .await
                    .0,
                400
            );
            let (s, e) = stack
                .post(
                    "/campaigns",
                    json!({"name": "x", "quantity": 5, "starts_at_ms": 10, "ends_at_ms": 5}),
                )
                .await;
            assert_eq!(s, 400, "{e}");

            // The window: not started, closed by an operator (the cache is invalidated).
            let later = stack
                .post(
                    "/campaigns",
                    json!({"name": "later", "quantity": 5, "starts_at_ms": 4_000_000_000_000i64}),
                )
                .await
                .1;
            let later = later["id"].as_str().unwrap();
            assert_eq!(stack.issue(later, "erin", "e").await.0, 403);
            let open = stack.campaign(5).await;
            assert_eq!(
                stack.get(&format!("/campaigns/{open}")).await.1["closed"],
                false
            );
            let r = stack
                .http
                .patch(format!("{}/campaigns/{open}", stack.base))
                .json(&json!({"closed": true}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            assert_eq!(
                stack.get(&format!("/campaigns/{open}")).await.1["closed"],
                true,
                "stale cache"
            );
            assert_eq!(stack.issue(&open, "erin", "e").await.0, 410);

            // A user's coupons: persisted or not yet.
            stack.drained(&c).await;
            let (s, mine) = stack.get("/users/alice/coupons").await;
            assert_eq!(s, 200);
            assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
            assert_eq!(mine[0]["coupon"], first["coupon"]);
        });
    }
}

#[test]
fn a_store_that_lost_a_campaign_gets_it_back_from_the_database() {
    for kind in kinds() {
        runtime().block_on(async {
            let stack = Stack::start(kind, &[]);
            let c = stack.campaign(10).await;
            for u in 0..4 {
                assert_eq!(stack.issue(&c, &format!("u{u}"), "k").await.0, 201);
            }
            stack.drained(&c).await;
            redis::cmd("FLUSHALL")
                .query::<()>(&mut stack.store())
                .unwrap();
            // The persisted holders keep their coupon, numbering resumes after the last.
            let (s, dup) = stack.issue(&c, "u1", "other").await;
            assert_eq!(s, 409, "{kind:?} {dup}");
            let (s, new) = stack.issue(&c, "u9", "k").await;
            assert_eq!((s, new["seq"].as_u64()), (201, Some(5)), "{kind:?} {new}");
        });
    }
}

#[test]
fn requests_a_dead_worker_left_pending_are_persisted_by_another() {
    for kind in kinds() {
        runtime().block_on(async {
            let mut stack = Stack::start(kind, &[]);
            stack.workers.clear();
            let c = stack.campaign(100).await;
            for u in 0..60 {
                assert_eq!(stack.issue(&c, &format!("u{u}"), "k").await.0, 201);
            }
            // A worker that read these and died before persisting them.
            let stream = format!("coupon:{{{c}}}:requests");
            let _: redis::Value = redis::cmd("XREADGROUP")
                .arg(&[
                    "GROUP",
                    "persisters",
                    "dead",
                    "COUNT",
                    "60",
                    "STREAMS",
                    &stream,
                    ">",
                ])
                .query(&mut stack.store())
                .unwrap();
            let pending: Vec<redis::Value> = redis::cmd("XPENDING")
                .arg(&stream)
                .arg("persisters")
                .query(&mut stack.store())
                .unwrap();
            assert_eq!(pending[0], redis::Value::Int(60));
            // A worker killed while it works, then one that claims what both left.
            let dir = stack.dir.clone();
            let mut doomed = start_worker(stack.port, &dir, "doomed", &[]);
            for u in 60..100 {
                assert_eq!(stack.issue(&c, &format!("u{u}"), "k").await.0, 201);
            }
            let _ = doomed.0.kill();
            let _ = doomed.0.wait();
            stack.workers.push(start_worker(
                stack.port,
                &dir,
                "heir",
                &["--claim-idle-ms", "300"],
            ));
            let stats = stack.drained(&c).await;
            assert_eq!(stats["persisted"], 100, "{kind:?} {stats}");
            let (_, persisted) = stack.get(&format!("/campaigns/{c}/coupons")).await;
            assert_eq!(persisted.as_array().unwrap().len(), 100);
            let pending: Vec<redis::Value> = redis::cmd("XPENDING")
                .arg(&stream)
                .arg("persisters")
                .query(&mut stack.store())
                .unwrap();
            assert_eq!(
                pending[0],
                redis::Value::Int(0),
                "{kind:?}: entries left unacknowledged"
            );
        });
    }
}

#[test]
fn an_unreachable_store_is_waited_for_then_answered_with_503_while_reads_go_to_the_database() {
    for kind in kinds() {
        runtime().block_on(async {
            let mut stack = Stack::start(kind, &["--deadline-ms", "700"]);
            let c = stack.campaign(10).await;
            assert_eq!(stack.issue(&c, "u1", "k").await.0, 201);
            stack.drained(&c).await;
            stack.workers.clear();
            let _ = stack._server.0.kill();
            let _ = stack._server.0.wait();

            let started = Instant::now();
            let r = stack
                .http
                .post(format!("{}/campaigns/{c}/issue", stack.base))
                .json(&json!({"user": "u2", "idempotency_key": "k"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 503, "{kind:?}");
            assert_eq!(
                r.headers().get("retry-after").map(|v| v.to_str().unwrap()),
                Some("1")
            );
            let body: Value = r.json().await.unwrap();
            assert!(
                body["error"].as_str().unwrap().contains("unavailable"),
                "{body}"
            );
            assert!(
                started.elapsed() >= Duration::from_millis(500),
                "503 before the deadline"
            );

            // Campaign metadata and persisted coupons still come from the database.
            let (s, campaign) = stack.get(&format!("/campaigns/{c}")).await;
            assert_eq!(
                (s, &campaign["quantity"]),
                (200, &json!(10)),
                "{kind:?} {campaign}"
            );
            let (s, mine) = stack.get("/users/u1/coupons").await;
            assert_eq!(
                (s, mine.as_array().map(|a| a.len())),
                (200, Some(1)),
                "{mine}"
            );
        });
    }
}
