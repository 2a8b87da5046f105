//! What the coupon service's end-to-end tests share: processes that die with their handle,
//! a store server, `coupon api` and `coupon worker` as processes, and an HTTP client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Upper bound of every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(30);

/// A child process killed (and reaped) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Which server stores the data.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// target/release/redoubt-server.
    Ours,
    /// Debian's /usr/bin/redis-server.
    Redis,
}

/// The kinds to run: ours always, Redis when it is installed (CI installs it).
pub fn kinds() -> Vec<Kind> {
    let mut kinds = vec![Kind::Ours];
    if Path::new("/usr/bin/redis-server").exists() {
        kinds.push(Kind::Redis);
    } else {
        eprintln!("note: /usr/bin/redis-server is missing; running on redoubt-server only");
    }
    kinds
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `target/release` (or debug): where cargo put this test and the workspace's binaries.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// A fresh, empty directory under the system temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "coupon-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts a store server of `kind` without persistence, in `dir`, on a free port.
pub fn start_server(kind: Kind, dir: &Path) -> (Proc, u16) {
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

/// The `coupon` binary with `args`, logging warnings only.
pub fn coupon(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coupon"));
    cmd.args(args).env("COUPON_LOG", "warn");
    cmd
}

/// `coupon worker` named `name` on the store at `port` and the database `db`.
pub fn start_worker(port: u16, db: &str, name: &str, extra: &[&str]) -> Proc {
    let redis = format!("redis://127.0.0.1:{port}");
    let mut args = vec![
        "worker",
        "--redis",
        &redis,
        "--db",
        db,
        "--consumer",
        name,
        "--block-ms",
        "200",
    ];
    args.extend_from_slice(extra);
    Proc(
        coupon(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    )
}

/// `coupon api` on a free port over the store at `port` and the database `db` (a deadline
/// of 3 s unless `extra` sets one); returns it and its base URL.
pub fn start_api(port: u16, db: &str, extra: &[&str]) -> (Proc, String) {
    let redis = format!("redis://127.0.0.1:{port}");
    let mut args = vec![
        "api",
        "--listen",
        "127.0.0.1:0",
        "--redis",
        &redis,
        "--db",
        db,
        "--cache-ttl-secs",
        "5",
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--deadline-ms") {
        args.extend_from_slice(&["--deadline-ms", "3000"]);
    }
    let mut child = coupon(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let api = Proc(child);
    // Bounded: the API either prints its address or exits (EOF).
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("api said {first:?}"));
    (api, format!("http://{addr}"))
}

/// The API as its clients see it.
pub struct Api {
    /// `http://host:port`.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Api {
        Api {
            base,
            http: reqwest::Client::builder().timeout(WAIT).build().unwrap(),
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let r = request.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// Creates a campaign of `quantity` coupons open now; its id.
    pub async fn campaign(&self, quantity: u64) -> String {
        let (status, c) = self
            .post(
                "/campaigns",
                json!({"name": "launch", "quantity": quantity}),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        c["id"].as_str().unwrap().to_string()
    }

    pub async fn issue(&self, campaign: &str, user: &str, key: &str) -> (u16, Value) {
        self.post(
            &format!("/campaigns/{campaign}/issue"),
            json!({"user": user, "idempotency_key": key}),
        )
        .await
    }

    /// Waits until the workers persisted everything issued; returns the stats.
    pub async fn drained(&self, campaign: &str) -> Value {
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

/// A runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
