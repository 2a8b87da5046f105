//! `redoubt`: run, watch and stop the reference deployment (`up`, `status`, `down`), and run
//! a server (`redoubt server ...`, the same as redoubt-server) so one binary is enough.

use clap::{Parser, Subcommand};
use redoubt::deploy::{self, client::Client, status, Plan};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "redoubt",
    version,
    about = "Run, watch and break a Redoubt deployment"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the reference deployment (primary, replicas, sentinels) and print its events.
    Up(UpArgs),
    /// Stop what `up` started (and heal any network cut a killed drill left behind).
    Down {
        /// The deployment's directory.
        #[arg(long, default_value_os_t = default_dir())]
        dir: PathBuf,
    },
    /// Show who is primary, each replica's link and lag, and what each sentinel says.
    Status(StatusArgs),
    /// Break the running deployment and report what a client saw: kill-primary,
    /// pause-primary, restart-primary, kill-replica, kill-sentinel, partition-primary.
    Drill(DrillArgs),
    /// Run a server, exactly as redoubt-server does.
    #[command(disable_help_flag = true)]
    Server {
        /// redis-server's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a sentinel, exactly as redoubt-sentinel does.
    #[command(disable_help_flag = true)]
    Sentinel {
        /// redis-sentinel's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(clap::Args)]
struct UpArgs {
    /// Where each process gets its working directory.
    #[arg(long, default_value_os_t = default_dir())]
    dir: PathBuf,
    /// The primary's port (replicas follow it).
    #[arg(long, default_value_t = 6379)]
    base_port: u16,
    /// The first sentinel's port (the others follow it).
    #[arg(long, default_value_t = 5000)]
    sentinel_port: u16,
    /// Number of replicas.
    #[arg(long, default_value_t = 2)]
    replicas: usize,
    /// Number of sentinels.
    #[arg(long, default_value_t = 3)]
    sentinels: usize,
    /// Run this server program instead of Redoubt (e.g. /usr/bin/redis-server).
    #[arg(long)]
    server_bin: Option<String>,
    /// Run this sentinel program instead of Redoubt's (e.g. /usr/bin/redis-sentinel).
    #[arg(long)]
    sentinel_bin: Option<String>,
    /// The sentinels' down-after-milliseconds (the reference file says 5000).
    #[arg(long)]
    down_after_ms: Option<u64>,
    /// The sentinels' failover-timeout (the reference file says 60000).
    #[arg(long)]
    failover_timeout_ms: Option<u64>,
    /// The directory with the reference config files.
    #[arg(long, default_value_os_t = reference_dir())]
    reference: PathBuf,
}

#[derive(clap::Args)]
struct DrillArgs {
    /// kill-primary, pause-primary, restart-primary, kill-replica, kill-sentinel or
    /// partition-primary (cuts the primary off with nftables: needs root or CAP_NET_ADMIN).
    fault: String,
    /// The deployment's directory (as given to `up`).
    #[arg(long, default_value_os_t = default_dir())]
    dir: PathBuf,
    /// How long pause-primary stops the primary, kill-replica/kill-sentinel keep the
    /// victim down, and partition-primary keeps the primary cut off (ms).
    #[arg(long, default_value_t = 15000)]
    pause_ms: u64,
    /// How long to wait for the deployment to settle after the fault (s).
    #[arg(long, default_value_t = 120)]
    settle_secs: u64,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// A sentinel to ask (repeatable); default the reference ones.
    #[arg(long = "sentinel")]
    sentinels: Vec<String>,
    /// The monitored primary's name.
    #[arg(long, default_value = "myprimary")]
    name: String,
    /// The servers' password.
    #[arg(long, default_value = "1111")]
    password: String,
    /// Refresh every second.
    #[arg(long)]
    watch: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn default_dir() -> PathBuf {
    std::env::temp_dir().join("redoubt-up")
}

/// deploy/reference next to the workspace this binary was built from, or in the current
/// directory.
fn reference_dir() -> PathBuf {
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/reference");
    if built.is_dir() {
        return built;
    }
    PathBuf::from("deploy/reference")
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Server { args } => redoubt::run_server(args),
        Cmd::Sentinel { args } => redoubt::run_sentinel(args),
        Cmd::Up(a) => up(a),
        Cmd::Down { dir } => match deploy::down(&dir) {
            Ok(n) => {
                println!("stopped {n} processes from {}", dir.display());
                heal_leftover_cuts()
            }
            Err(e) => {
                eprintln!("{e}");
                1
            }
        },
        Cmd::Status(a) => status_cmd(a),
        Cmd::Drill(a) => drill_cmd(a),
    };
    std::process::exit(code);
}

fn self_cmd(sub: &str) -> Vec<String> {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "redoubt".into());
    vec![exe, sub.to_string()]
}

fn up(a: UpArgs) -> i32 {
    let server_cmd = a
        .server_bin
        .clone()
        .map(|b| vec![b])
        .unwrap_or_else(|| self_cmd("server"));
    let sentinel_cmd = match &a.sentinel_bin {
        Some(b) => vec![b.clone()],
        None => self_cmd("sentinel"),
    };
    let mut plan = Plan::reference(a.dir.clone(), a.reference.clone(), server_cmd, sentinel_cmd);
    plan.base_port = a.base_port;
    plan.sentinel_base = a.sentinel_port;
    plan.replicas = a.replicas;
    plan.sentinels = a.sentinels;
    plan.down_after_ms = a.down_after_ms;
    plan.failover_timeout_ms = a.failover_timeout_ms;
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    let mut running = match plan.launch() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("redoubt up: {e}");
            return 1;
        }
    };
    println!("started in {}", plan.dir.display());
    if let Err(e) = plan.wait_ready(Duration::from_secs(60)) {
        eprintln!("redoubt up: {e}; see the logs under {}", plan.dir.display());
        running.stop();
        return 1;
    }
    let sentinels: Vec<String> = plan
        .nodes()
        .iter()
        .filter(|n| n.role == deploy::Role::Sentinel)
        .map(|n| format!("{}:{}", plan.host, n.port))
        .collect();
    print!(
        "{}",
        status::gather(
            &sentinels,
            &plan.master_name,
            Some(&plan.password),
            Some(&format!("{}:{}", plan.host, plan.base_port))
        )
        .render()
    );
    println!("\nevents (Ctrl-C or `redoubt down` stops everything):");
    for s in &sentinels {
        let addr = s.clone();
        std::thread::spawn(move || print_events(&addr));
    }
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("stopping...");
    running.stop();
    0
}

/// Prints a sentinel's events as they happen, with the time; reconnects if it goes away.
fn print_events(addr: &str) {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return;
    };
    let port: u16 = port.parse().unwrap_or(0);
    loop {
        if let Ok(mut c) = Client::connect(host, port, None, Duration::from_secs(1)) {
            if c.call(&["PSUBSCRIBE", "*"]).is_ok() && c.set_read_timeout(None).is_ok() {
                while let Ok(resp::Frame::Array(items)) = c.read_frame() {
                    if items.len() == 4 {
                        let channel = redoubt::deploy::client::text(&items[2]);
                        let message = redoubt::deploy::client::text(&items[3]);
                        println!("{} {addr} {channel} {message}", deploy::clock());
                    }
                }
            }
        }
        if STOP.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Removes the firewall tables of drills that were killed before they could heal their cut.
fn heal_leftover_cuts() -> i32 {
    match deploy::firewall::remove_leftovers() {
        Ok(tables) => {
            for t in tables {
                println!("removed the leftover partition (nftables table {t})");
            }
            0
        }
        Err(e) => {
            eprintln!("cannot remove a leftover partition: {e}");
            1
        }
    }
}

extern "C" fn on_drill_signal(_: libc::c_int) {
    deploy::drill::INTERRUPTED.store(true, Ordering::SeqCst);
}

fn drill_cmd(a: DrillArgs) -> i32 {
    let Some(fault) = deploy::drill::Fault::parse(&a.fault) else {
        eprintln!(
            "unknown fault '{}': {}",
            a.fault,
            deploy::drill::Fault::NAMES
        );
        return 2;
    };
    // Ctrl-C ends the drill early, but only once it undid its fault (resumed a paused
    // primary, healed a partition).
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, on_drill_signal as *const () as libc::sighandler_t);
        }
    }
    let plan = match Plan::load(&a.dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match deploy::drill::run(
        &plan,
        fault,
        Duration::from_millis(a.pause_ms),
        Duration::from_secs(a.settle_secs),
    ) {
        Ok(r) => {
            print!("{}", r.render());
            0
        }
        Err(e) => {
            eprintln!("drill failed: {e}");
            1
        }
    }
}

fn status_cmd(a: StatusArgs) -> i32 {
    let sentinels = if a.sentinels.is_empty() {
        (5000..5003).map(|p| format!("127.0.0.1:{p}")).collect()
    } else {
        a.sentinels.clone()
    };
    loop {
        let s = status::gather(&sentinels, &a.name, Some(&a.password), None);
        if a.json {
            println!("{}", s.to_json());
        } else {
            if a.watch {
                print!("\x1b[2J\x1b[H");
            }
            print!("{}", s.render());
        }
        if !a.watch {
            return i32::from(s.primary.is_none());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
