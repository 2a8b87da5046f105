//! The coupon service as processes on PostgreSQL: `coupon api` and two `coupon worker`s over
//! redoubt-server, persisting to a throwaway PostgreSQL cluster this test starts itself
//! (initdb and pg_ctl from `/usr/lib/postgresql/*/bin`; CI installs Debian's `postgresql`).
//! Without PostgreSQL the test prints a note and passes.
//!
//! The store server comes from `target/release`: build it first (`cargo build --release -p
//! redoubt`; `cargo test --workspace --release` does).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, scratch, start_api, start_server, start_worker, Api, Kind, Proc, WAIT};
use serde_json::{json, Value};

/// The newest PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin`) that have both
/// initdb and pg_ctl.
fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A throwaway PostgreSQL cluster listening on 127.0.0.1 with trust authentication; stopped
/// (immediately) and deleted when dropped, also when the test panics.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    started: bool,
}

impl Cluster {
    /// Runs a PostgreSQL program as the `postgres` user when we are root (the server refuses
    /// to run as root), else as ourselves.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut cmd = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        Err(format!(
            "{program} {args:?} failed ({}):\n{}{}\nserver log:\n{log}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// Starts a cluster with the binaries in `bin`.
    fn start(bin: PathBuf) -> Cluster {
        let dir = scratch("pg");
        if unsafe { libc::geteuid() } == 0 {
            let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
            let pw = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
            assert!(
                !pw.is_null(),
                "running as root but there is no postgres user"
            );
            let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
            assert_eq!(unsafe { libc::chown(c.as_ptr(), uid, gid) }, 0, "chown");
        }
        let mut cluster = Cluster {
            bin,
            dir,
            port: 0,
            started: false,
        };
        let data = cluster.dir.join("data");
        let data = data.to_str().unwrap();
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "--locale=C",
                    "--encoding=UTF8",
                ],
            )
            .unwrap();
        let log = cluster.dir.join("log");
        let log = log.to_str().unwrap();
        // The port is free when picked but may be taken before the server binds it: retry.
        let mut why = String::new();
        for _ in 0..3 {
            cluster.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                cluster.port,
                cluster.dir.display()
            );
            let timeout = WAIT.as_secs().to_string();
            match cluster.run(
                "pg_ctl",
                &[
                    "-D", data, "-l", log, "-w", "-t", &timeout, "-o", &options, "start",
                ],
            ) {
                Ok(()) => {
                    cluster.started = true;
                    return cluster;
                }
                Err(e) => {
                    // A server that did start but was not ready in time must not linger.
                    let _ = cluster.run("pg_ctl", &["-D", data, "-m", "immediate", "stop"]);
                    why = e;
                }
            }
        }
        panic!("PostgreSQL did not start: {why}");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.started {
            let data = self.dir.join("data");
            if let Err(e) = self.run(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            ) {
                eprintln!("stopping PostgreSQL: {e}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The service on redoubt-server and PostgreSQL; its processes die with the value, before
/// the cluster (fields drop in order).
struct Stack {
    api: Proc,
    workers: Vec<Proc>,
    _server: Proc,
    store_dir: PathBuf,
    client: Api,
    cluster: Cluster,
}

impl Deref for Stack {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.client
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.store_dir);
    }
}

impl Stack {
    fn start(cluster: Cluster) -> Stack {
        let store_dir = scratch("store");
        let (server, port) = start_server(Kind::Ours, &store_dir);
        let db = cluster.url();
        // Workers and API start at once: their schema migrations race on purpose.
        let workers = ["w1", "w2"]
            .iter()
            .map(|name| start_worker(port, &db, name, &[]))
            .collect();
        let (api, base) = start_api(port, &db, &[]);
        Stack {
            api,
            workers,
            _server: server,
            store_dir,
            client: Api::new(base),
            cluster,
        }
    }
}

#[test]
fn the_service_persists_to_postgresql_exactly_what_clients_were_told() {
    let Some(bin) = pg_bin() else {
        eprintln!(
            "note: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); \
             skipping the PostgreSQL end-to-end test"
        );
        return;
    };
    let mut stack = Stack::start(Cluster::start(bin));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let stack = &stack;
            let (status, c) = stack
                .send(
                    stack
                        .http
                        .post(format!("{}/campaigns", stack.base))
                        .json(&json!({"name": "pg launch", "quantity": 200})),
                )
                .await;
            assert_eq!(status, 201, "{c}");
            let campaign = c["id"].as_str().unwrap().to_string();
            let campaign = &campaign;

            // 400 users, the first 100 of whom send the same request (same key) twice.
            let requests: Vec<(String, String)> = (0..400)
                .map(|u| (format!("u{u}"), format!("k{u}")))
                .chain((0..100).map(|u| (format!("u{u}"), format!("k{u}"))))
                .collect();
            use futures_util::StreamExt;
            let replies: Vec<(&String, (u16, Value))> = futures_util::stream::iter(&requests)
                .map(|(user, key)| async move { (user, stack.issue(campaign, user, key).await) })
                .buffer_unordered(500)
                .collect()
                .await;
            assert_eq!(replies.len(), 500);

            let mut told = BTreeMap::new(); // coupon → user, from fresh issuances
            let mut by_user = BTreeMap::<&String, Vec<(u16, Value)>>::new();
            let mut fresh = 0;
            for (user, (status, body)) in &replies {
                assert!([201, 410].contains(status), "{user}: {status} {body}");
                if *status == 201 {
                    assert_eq!(body["user"], json!(user), "{body}");
                    assert_eq!(body["campaign"], json!(campaign), "{body}");
                    let seq = body["seq"].as_u64().unwrap();
                    assert!((1..=200).contains(&seq), "{body}");
                    if body["replayed"] == false {
                        fresh += 1;
                        let coupon = body["coupon"].as_str().unwrap().to_string();
                        let earlier = told.insert(coupon, user.to_string());
                        assert!(earlier.is_none(), "coupon issued twice: {body}");
                    }
                }
                by_user
                    .entry(user)
                    .or_default()
                    .push((*status, body.clone()));
            }
            assert_eq!(fresh, 200, "fresh 201s");
            assert_eq!(told.len(), 200);
            let holders: BTreeSet<&String> = told.values().collect();
            assert_eq!(holders.len(), 200, "a user holds two coupons");
            // A repeated request gets the same answer; when it is a coupon, once replayed.
            let mut replayed = 0;
            for (user, answers) in &by_user {
                let (status, first) = &answers[0];
                for (s, body) in &answers[1..] {
                    assert_eq!(s, status, "{user}: {first} then {body}");
                    if *s == 201 {
                        assert_eq!(body["coupon"], first["coupon"], "{user}");
                        assert_ne!(body["replayed"], first["replayed"], "{user}");
                        replayed += 1;
                    }
                }
            }
            assert!(replayed > 0, "no repeated request was replayed");
            eprintln!("{replayed} of the 100 repeated requests were replayed coupons");

            // Both workers drain the stream into PostgreSQL.
            let deadline = Instant::now() + WAIT;
            loop {
                let (status, stats) = stack.get(&format!("/campaigns/{campaign}/stats")).await;
                assert_eq!(status, 200, "{stats}");
                if stats["queued"] == 0 && stats["persisted"] == 200 {
                    assert_eq!(
                        stats,
                        json!({"quantity": 200, "issued": 200, "remaining": 0, "queued": 0, "persisted": 200})
                    );
                    break;
                }
                assert!(Instant::now() < deadline, "never drained: {stats}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let (status, persisted) = stack.get(&format!("/campaigns/{campaign}/coupons")).await;
            assert_eq!(status, 200, "{persisted}");
            let persisted: BTreeMap<String, String> = persisted
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["coupon"].as_str().unwrap().to_string(),
                        c["user"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert_eq!(persisted, told, "the database differs from what clients were told");

            // And PostgreSQL itself holds exactly those rows.
            let (client, connection) = tokio::time::timeout(
                WAIT,
                tokio_postgres::connect(&stack.cluster.url(), tokio_postgres::NoTls),
            )
            .await
            .expect("connecting to PostgreSQL timed out")
            .unwrap();
            let connection = tokio::spawn(connection);
            let rows = tokio::time::timeout(
                WAIT,
                client.query(
                    "SELECT coupon, user_id FROM coupons WHERE campaign = $1",
                    &[campaign],
                ),
            )
            .await
            .expect("querying PostgreSQL timed out")
            .unwrap();
            assert_eq!(rows.len(), 200);
            let rows: BTreeMap<String, String> =
                rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            assert_eq!(rows, told, "PostgreSQL's rows differ from what clients were told");
            let conflicts: i64 = client
                .query_one("SELECT COUNT(*) FROM conflicts WHERE campaign = $1", &[campaign])
                .await
                .unwrap()
                .get(0);
            assert_eq!(conflicts, 0);
            drop(client);
            let _ = tokio::time::timeout(WAIT, connection).await;
        });
    // Every process is still running: none of them died along the way.
    for (name, p) in std::iter::once(("api", &mut stack.api))
        .chain(stack.workers.iter_mut().map(|w| ("worker", w)))
    {
        assert!(p.0.try_wait().unwrap().is_none(), "the {name} exited");
    }
}
