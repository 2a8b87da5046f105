//! `coupon load` with a failover in the middle of issuance: its own deployment (three
//! servers, three sentinels, the API, two workers, SQLite) on free ports, the primary killed
//! while coupons are being issued, `--durability replicated`. The run must end with every
//! confirmed coupon in the database, none issued twice and none beyond the quantity — on
//! Redoubt, and on Debian's redis-server and redis-sentinel.
//!
//! Needs the release binaries (`cargo test --workspace --release` builds them).

use std::path::PathBuf;
use std::process::Command;

fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Runs `coupon load` with `extra` and returns its report; panics if an invariant broke.
fn load_with_kill_primary(extra: &[&str]) -> String {
    let redoubt = bin_dir().join("redoubt");
    assert!(
        redoubt.exists(),
        "{} is missing: run `cargo build --release -p redoubt` first",
        redoubt.display()
    );
    // 4000 users over 8 s for 3000 coupons: the kill lands while coupons are still issued.
    let out = Command::new(env!("CARGO_BIN_EXE_coupon"))
        .args([
            "load",
            "--users",
            "4000",
            "--quantity",
            "3000",
            "--rate",
            "500",
            "--drill",
            "kill-primary",
            "--durability",
            "replicated",
            "--redoubt-bin",
        ])
        .arg(&redoubt)
        .args(extra)
        .env("COUPON_LOG", "warn")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    println!("{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "an invariant broke or the run failed: {:?}",
        out.status
    );
    assert!(report.contains("invariants hold"), "{report}");
    assert!(report.contains("confirmed-but-lost 0"), "{report}");
    assert!(
        report.contains("primary after:"),
        "the drill did not report a failover"
    );
    report
}

#[test]
fn a_primary_killed_mid_issuance_loses_no_confirmed_coupon() {
    load_with_kill_primary(&[]);
}

#[test]
fn a_primary_killed_mid_issuance_loses_no_confirmed_coupon_on_redis() {
    if !std::path::Path::new("/usr/bin/redis-sentinel").exists() {
        eprintln!("note: redis-sentinel is missing (CI installs it); skipped");
        return;
    }
    load_with_kill_primary(&[
        "--server-bin",
        "/usr/bin/redis-server",
        "--sentinel-bin",
        "/usr/bin/redis-sentinel",
    ]);
}
