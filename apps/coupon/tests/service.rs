//! The coupon service as processes: `coupon api` and `coupon worker` over a store server
//! (redoubt-server, and Debian's redis-server: the service must work on real Redis too),
//! with SQLite. Every scenario runs on each kind of server in turn.
//!
//! The servers come from `target/release`: build them first (`cargo build --release -p
//! redoubt`; `cargo test --workspace --release` does).

mod common;

use std::ops::Deref;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{kinds, runtime, scratch, start_api, start_server, start_worker, Api, Kind, Proc};
use serde_json::{json, Value};

/// The whole service on one store server and SQLite: its processes die with the value.
struct Stack {
    _server: Proc,
    api: Proc,
    workers: Vec<Proc>,
    port: u16,
    db: String,
    dir: PathBuf,
    client: Api,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.api.0.kill();
        self.workers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Deref for Stack {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.client
    }
}

impl Stack {
    fn start(kind: Kind, extra_api_args: &[&str]) -> Stack {
        let dir = scratch("test");
        let (server, port) = start_server(kind, &dir);
        let db = format!("sqlite:{}", dir.join("coupon.db").display());
        let (api, base) = start_api(port, &db, extra_api_args);
        let workers = vec![start_worker(port, &db, "w1", &[])];
        Stack {
            _server: server,
            api,
            workers,
            port,
            db,
            dir,
            client: Api::new(base),
        }
    }

    fn store(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }
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
            let mut doomed = start_worker(stack.port, &stack.db, "doomed", &[]);
            for u in 60..100 {
                assert_eq!(stack.issue(&c, &format!("u{u}"), "k").await.0, 201);
            }
            let _ = doomed.0.kill();
            let _ = doomed.0.wait();
            stack.workers.push(start_worker(
                stack.port,
                &stack.db,
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
