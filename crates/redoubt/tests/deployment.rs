//! `redoubt up`, `status`, `drill` and `down` end to end: a whole deployment on free ports with
//! small timings, every drill with its outcome asserted, and nothing left running afterwards
//! (no process, no firewall table).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One deployment at a time: six processes with 1 s failure detection per test are enough
/// for a 2-core machine.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn redoubt() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_redoubt"))
}

/// A block of `n` consecutive free loopback ports.
fn free_block(n: u16) -> u16 {
    for _ in 0..200 {
        let base = 20_000 + (rand_u16() % 30_000);
        let held: Vec<TcpListener> = (0..n)
            .filter_map(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == n as usize {
            return base;
        }
    }
    panic!("no free block of {n} ports");
}

fn rand_u16() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (t ^ (std::process::id() << 7)) as u16
}

/// A running `redoubt up`, stopped with `redoubt down` on drop.
struct Up {
    child: Child,
    dir: PathBuf,
    base: u16,
    sentinel_base: u16,
}

impl Up {
    fn start(tag: &str, extra: &[&str]) -> Up {
        let dir = std::env::temp_dir().join(format!("redoubt-deploy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let base = free_block(3);
        let sentinel_base = free_block(3);
        let (b, s) = (base.to_string(), sentinel_base.to_string());
        let mut args = vec![
            "up",
            "--dir",
            dir.to_str().unwrap(),
            "--base-port",
            &b,
            "--sentinel-port",
            &s,
            "--down-after-ms",
            "1000",
            "--failover-timeout-ms",
            "3000",
        ];
        args.extend_from_slice(extra);
        let mut child = Command::new(redoubt())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn redoubt up");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut seen = String::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                    if line.starts_with("events") {
                        break;
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        let mut err = String::new();
                        if let Some(mut e) = child.stderr.take() {
                            let _ = std::io::Read::read_to_string(&mut e, &mut err);
                        }
                        panic!("redoubt up exited with {status}: {seen}{err}");
                    }
                }
            }
            assert!(Instant::now() < deadline, "redoubt up not ready: {seen}");
        }
        if !extra.contains(&"0") {
            assert!(seen.contains("sentinels agree: yes"), "{seen}");
        }
        Up {
            child,
            dir,
            base,
            sentinel_base,
        }
    }

    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(redoubt())
            .args(args)
            .args(["--dir", self.dir.to_str().unwrap()])
            .output()
            .expect("run redoubt");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    fn status_json(&self) -> String {
        let sentinels: Vec<String> = (0..3)
            .map(|i| format!("127.0.0.1:{}", self.sentinel_base + i))
            .collect();
        let mut args = vec!["status".to_string(), "--json".to_string()];
        for s in sentinels {
            args.push("--sentinel".into());
            args.push(s);
        }
        let out = Command::new(redoubt())
            .args(&args)
            .output()
            .expect("status");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.run(&["down"]);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("redoubt-up.pids"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' ')?.1.trim().parse().ok())
        .collect()
}

fn alive(pid: i32) -> bool {
    redoubt::deploy::running(pid)
}

fn field<'a>(report: &'a str, prefix: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' in {report}"))
        .trim()
}

fn drills(sentinel_bin: &[&str]) {
    let _one = serial();
    let up = Up::start("drills", sentinel_bin);
    let json = up.status_json();
    assert!(
        json.contains(&format!("\"primary\":\"127.0.0.1:{}\"", up.base)),
        "{json}"
    );
    assert!(json.contains("\"sentinels_agree\":true"), "{json}");

    let (ok, report) = up.run(&["drill", "kill-primary", "--settle-secs", "60"]);
    assert!(ok, "{report}");
    assert!(report.contains("+switch-master"), "{report}");
    assert_ne!(
        field(&report, "primary after:"),
        format!("127.0.0.1:{}", up.base),
        "{report}"
    );
    assert_eq!(
        field(&report, "old primary rejoined as a replica:"),
        "yes",
        "{report}"
    );

    let (ok, report) = up.run(&[
        "drill",
        "pause-primary",
        "--pause-ms",
        "4000",
        "--settle-secs",
        "60",
    ]);
    assert!(ok, "{report}");
    assert!(report.contains("+odown"), "{report}");
    assert_eq!(
        field(&report, "old primary rejoined as a replica:"),
        "yes",
        "{report}"
    );

    let (ok, report) = up.run(&[
        "drill",
        "kill-replica",
        "--pause-ms",
        "1500",
        "--settle-secs",
        "60",
    ]);
    assert!(ok, "{report}");
    assert!(report.contains("+sdown slave"), "{report}");

    let (ok, report) = up.run(&[
        "drill",
        "kill-sentinel",
        "--pause-ms",
        "1500",
        "--settle-secs",
        "60",
    ]);
    assert!(ok, "{report}");
    assert!(report.contains("+sdown sentinel"), "{report}");

    let (ok, report) = up.run(&["drill", "restart-primary", "--settle-secs", "60"]);
    assert!(ok, "{report}");
    assert!(
        field(&report, "primary after:").starts_with("127.0.0.1:"),
        "{report}"
    );

    let json = up.status_json();
    assert!(json.contains("\"sentinels_agree\":true"), "{json}");
    assert!(pids(&up.dir).len() >= 6);
    down_leaves_nothing_running(&up);
}

#[test]
fn every_drill_ends_with_one_primary_and_nothing_left_running() {
    drills(&[]);
}

#[test]
fn the_same_drills_with_redis_sentinel_watching_our_servers() {
    drills(&["--sentinel-bin", "/usr/bin/redis-sentinel"]);
}

/// The numbers after `prefix` in the report's line starting with it.
fn numbers(report: &str, prefix: &str) -> Vec<u64> {
    field(report, prefix)
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn nft_tables() -> String {
    let out = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .expect("nft (apt-get install nftables)");
    assert!(
        out.status.success(),
        "nft list tables: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// partition-primary: the primary is cut off while the drill's writer keeps writing to it; a
/// replica takes over, and after healing the old primary follows it. What the old primary
/// acknowledged meanwhile may be lost (Redis loses it); nothing else may.
fn partition(extra: &[&str]) {
    let _one = serial();
    let up = Up::start("partition", extra);
    let drill = Command::new(redoubt())
        .args(["drill", "partition-primary", "--pause-ms", "4000"])
        .args(["--settle-secs", "60", "--dir", up.dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redoubt drill");
    let table = format!("redoubt_drill_{}_", drill.id());
    let out = drill.wait_with_output().expect("redoubt drill");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(!nft_tables().contains(&table), "the cut was not healed");
    assert!(report.contains("+switch-master"), "{report}");
    let old = format!("127.0.0.1:{}", up.base);
    let new = field(&report, "primary after:").to_string();
    assert!(new != old && new.starts_with("127.0.0.1:"), "{report}");
    assert_eq!(
        field(&report, "old primary rejoined as a replica:"),
        "yes",
        "{report}"
    );
    // [partition ms, acked while cut off, acked after healing, lost of those]
    let side = numbers(&report, "old primary's side of the");
    assert_eq!(side.len(), 4, "{report}");
    assert!(side[1] > 0, "the writer lost its connection: {report}");
    let lost = numbers(&report, "acknowledged writes missing on the new primary:");
    assert_eq!(
        lost.first(),
        Some(&side[3]),
        "a write not acknowledged by the cut-off primary was lost: {report}"
    );
    println!(
        "partition-primary {extra:?}: {} writes acked by the cut-off primary ({} during the \
         partition), {} lost",
        side[1] + side[2],
        side[1],
        side[3]
    );

    // After healing every node agrees: the sentinels name the new primary and both other
    // servers replicate from it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let json: serde_json::Value = serde_json::from_str(&up.status_json()).unwrap_or_default();
        let servers = json["servers"].as_array().cloned().unwrap_or_default();
        let following = servers
            .iter()
            .filter(|s| s["role"] == "slave" && s["link"] == format!("up from {new}").as_str())
            .count();
        if json["sentinels_agree"] == true && json["primary"] == new.as_str() && following == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no agreement after healing: {json}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // `down` also heals what a killed drill left behind.
    let stale = "redoubt_drill_4194305_0"; // above any pid_max: its drill is gone
    let made = Command::new("nft")
        .args(["add", "table", "inet", stale])
        .status()
        .expect("nft");
    assert!(made.success());
    let out = down_leaves_nothing_running(&up);
    assert!(!nft_tables().contains(stale), "{out}");
}

/// Runs `redoubt down` and waits until every process the deployment recorded is gone;
/// returns what `down` printed.
fn down_leaves_nothing_running(up: &Up) -> String {
    let all = pids(&up.dir);
    let (ok, out) = up.run(&["down"]);
    assert!(ok, "{out}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while all.iter().any(|p| alive(*p)) {
        assert!(
            Instant::now() < deadline,
            "processes left after down: {all:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    out
}

#[test]
fn partition_primary_loses_only_what_the_cut_off_primary_acknowledged() {
    partition(&[]);
}

#[test]
fn partition_primary_with_redis_server_and_sentinel() {
    partition(&[
        "--server-bin",
        "/usr/bin/redis-server",
        "--sentinel-bin",
        "/usr/bin/redis-sentinel",
    ]);
}

#[test]
fn a_taken_port_is_named_before_anything_starts() {
    let _one = serial();
    let dir = std::env::temp_dir().join(format!("redoubt-deploy-taken-{}", std::process::id()));
    let base = free_block(3);
    let _holder = TcpListener::bind(("127.0.0.1", base + 1)).unwrap();
    let b = base.to_string();
    let s = free_block(3).to_string();
    let out = Command::new(redoubt())
        .args([
            "up",
            "--dir",
            dir.to_str().unwrap(),
            "--base-port",
            &b,
            "--sentinel-port",
            &s,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("port {} (replica1) is already in use", base + 1)),
        "{err}"
    );
    assert!(pids(&dir).is_empty());
}

#[test]
fn killing_up_leaves_no_process_behind() {
    let _one = serial();
    let mut up = Up::start("killed", &["--sentinels", "0"]);
    let all = pids(&up.dir);
    assert_eq!(all.len(), 4, "{all:?}");
    // SIGKILL: no chance to clean up; the children's parent-death signal does it.
    let _ = up.child.kill();
    let _ = up.child.wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    while all[1..].iter().any(|p| alive(*p)) {
        assert!(Instant::now() < deadline, "processes outlived up: {all:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = up.base;
}
