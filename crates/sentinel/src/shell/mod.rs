//! The Sentinel process: links, the client port, events, the log and the config file.
//!
//! One [`Shell`] behind a mutex holds the core and everything the process talks to. Every
//! input (a timer tick, a link event, a client command) is handled under that lock: the core
//! decides, and [`Shell::execute`] carries out its actions without blocking (spawning
//! connection tasks, queueing writes, publishing events to subscribers, rewriting the config
//! file).

pub mod client;
pub mod cmdtable;
pub mod info;
pub mod link;
pub mod load;
pub mod script;
pub mod sha256;

use crate::core::{Action, Input, Level, LinkId, Sentinel};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The shell shared by all tasks.
pub type Shared = Arc<Mutex<Shell>>;

/// Counters for INFO stats.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// `total_connections_received`
    pub connections: u64,
    /// `total_commands_processed`
    pub commands: u64,
    /// `total_net_input_bytes`
    pub net_input: u64,
    /// `total_net_output_bytes`
    pub net_output: u64,
    /// `rejected_connections`
    pub rejected: u64,
    /// `total_error_replies`
    pub error_replies: u64,
    /// `total_reads_processed`
    pub reads: u64,
    /// `total_writes_processed`
    pub writes: u64,
}

/// Everything the process holds.
pub struct Shell {
    /// The decisions.
    pub sentinel: Sentinel,
    /// Open links to instances, by the core's id.
    pub links: HashMap<LinkId, link::LinkHandle>,
    /// Connected clients by id.
    pub clients: BTreeMap<u64, client::ClientEntry>,
    /// The next client id.
    pub next_client_id: u64,
    /// INFO counters.
    pub stats: Stats,
    /// The config file (absolute path).
    pub config_file: String,
    /// `sentinel state-file`: where the state is saved instead of the config file.
    pub state_file: Option<String>,
    /// The ordinary directives as loaded (the config rewrite writes them back).
    pub server_config: server::config::Config,
    /// The default user.
    pub auth: load::Auth,
    /// Our TCP port.
    pub port: u16,
    /// INFO's run_id (a new one at each start, as Redis).
    pub run_id: String,
    /// Start time (unix ms).
    pub start_ms: i64,
    /// The current timer frequency (re-randomised to 10..19 after every tick).
    pub hz: u32,
    /// `hz` from the config file.
    pub configured_hz: u32,
    /// `maxclients`.
    pub maxclients: u64,
    /// The last config save failed.
    pub save_failed: bool,
    /// Notification and reconfig scripts.
    pub scripts: script::Scripts,
    /// Set to ask the process to exit (SHUTDOWN).
    pub shutdown: Arc<tokio::sync::Notify>,
}

/// Logs `line` at a core level.
pub fn log(level: Level, line: &str) {
    let l = match level {
        Level::Debug => server::log::Level::Debug,
        Level::Verbose => server::log::Level::Verbose,
        Level::Notice => server::log::Level::Notice,
        Level::Warning => server::log::Level::Warning,
    };
    server::log::log(l, line);
}

/// Logs at debug level.
pub fn log_debug(line: &str) {
    server::log::log(server::log::Level::Debug, line);
}

impl Shell {
    /// Feeds one input to the core and carries out what it decides.
    pub fn feed(&mut self, shared: &Shared, input: Input) {
        let now = server::clock::unix_ms();
        let actions = self.sentinel.handle(now, input);
        self.execute(shared, actions);
    }

    /// Carries out the core's actions, in order.
    pub fn execute(&mut self, shared: &Shared, actions: Vec<Action>) {
        // The core has already applied every change of this batch, so one save (where the
        // first one was asked) writes the final state.
        let mut saved = false;
        for a in actions {
            match a {
                Action::Connect {
                    link,
                    host,
                    port,
                    kind,
                } => link::open(shared, self, link, host, port, kind),
                Action::Close { link } => link::close(self, link),
                Action::Send { link, argv } => link::send(self, link, &argv),
                Action::Event(e) => {
                    log(e.level, &e.log_line());
                    if e.published() {
                        self.publish(e.kind.as_bytes(), e.message.as_bytes());
                    }
                }
                Action::Log { level, line } => log(level, &line),
                Action::SaveConfig => {
                    if !saved {
                        saved = true;
                        self.save_config();
                    }
                }
                Action::RunScript { path, args } => script::schedule(shared, self, path, args),
            }
        }
        if self.sentinel.crashed {
            std::process::exit(99);
        }
    }

    /// Rewrites the config file with the current state (or writes the state file, with
    /// `sentinel state-file`); false (and a warning) on failure.
    pub fn save_config(&mut self) -> bool {
        if let Some(path) = &self.state_file {
            let text = load::state_file_text(&self.sentinel);
            return match load::write_atomically(path, text.as_bytes()) {
                Ok(()) => {
                    self.save_failed = false;
                    log(Level::Notice, "Sentinel new state saved on disk");
                    true
                }
                Err(e) => self.save_failed_with(&e),
            };
        }
        let original = match std::fs::read(&self.config_file) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return self.save_failed_with(&e),
        };
        let text = String::from_utf8_lossy(&load::rewrite_config_text(
            &self.sentinel,
            &self.server_config,
            &self.auth,
            original.as_bytes(),
        ))
        .into_owned();
        match load::write_atomically(&self.config_file, text.as_bytes()) {
            Ok(()) => {
                self.save_failed = false;
                log(Level::Notice, "Sentinel new configuration saved on disk");
                true
            }
            Err(e) => self.save_failed_with(&e),
        }
    }

    fn save_failed_with(&mut self, e: &std::io::Error) -> bool {
        self.save_failed = true;
        log(
            Level::Warning,
            &format!(
                "WARNING: Sentinel was not able to save the new configuration on disk!!!: {}",
                load::strerror(e)
            ),
        );
        false
    }

    /// Delivers `message` to the subscribers of `channel` and of matching patterns; returns
    /// how many received it.
    pub fn publish(&mut self, channel: &[u8], message: &[u8]) -> usize {
        use server::pubsub::{encode_push, PushPart};
        let mut n = 0;
        for c in self.clients.values() {
            if c.channels.iter().any(|ch| ch == channel) {
                c.push(encode_push(
                    c.proto,
                    &[
                        PushPart::Bulk(b"message"),
                        PushPart::Bulk(channel),
                        PushPart::Bulk(message),
                    ],
                ));
                n += 1;
            }
        }
        for c in self.clients.values() {
            for p in &c.patterns {
                if store::glob::glob_match(p, channel, false) {
                    c.push(encode_push(
                        c.proto,
                        &[
                            PushPart::Bulk(b"pmessage"),
                            PushPart::Bulk(p),
                            PushPart::Bulk(channel),
                            PushPart::Bulk(message),
                        ],
                    ));
                    n += 1;
                }
            }
        }
        n
    }
}

/// Runs a sentinel with redis-sentinel's command line (`<config-file> [--option value ...]`);
/// returns the process exit status.
pub fn main_with_args(args: Vec<String>) -> i32 {
    server::log::set_role(b'X');
    if args.first().is_some_and(|a| a == "-v" || a == "--version") {
        println!(
            "Redoubt sentinel v={} (Redis {} compatible) bits=64",
            env!("CARGO_PKG_VERSION"),
            server::REDIS_VERSION
        );
        return 0;
    }
    if args.first().is_some_and(|a| a == "-h" || a == "--help") {
        println!("Usage: ./redoubt-sentinel /path/to/sentinel.conf [options]");
        println!("       ./redoubt-server /path/to/sentinel.conf --sentinel [options]");
        println!("       ./redoubt-sentinel -v or --version");
        println!("       ./redoubt-sentinel -h or --help");
        return 0;
    }
    let (file, options) = load::parse_command_line(&args);
    let Some(file) = file else {
        log(
            Level::Warning,
            "Sentinel needs config file on disk to save state. Exiting...",
        );
        return 1;
    };
    let loaded = match load::load(&file, &options) {
        Ok(l) => l,
        Err(load::LoadError::Stderr(text)) => {
            eprint!("{text}");
            return 1;
        }
        Err(load::LoadError::Log(line)) => {
            log(Level::Warning, &line);
            return 1;
        }
    };
    if let Err(e) = std::env::set_current_dir(&loaded.server.dir) {
        eprintln!("Can't chdir to '{}': {e}", loaded.server.dir);
        return 1;
    }
    server::log::set_file(Some(loaded.server.logfile.clone()));
    server::log::set_level(server::log::level_for(loaded.server.loglevel));
    if loaded.server.daemonize {
        daemonize(loaded.server.logfile.is_empty());
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return 1;
        }
    };
    let code = rt.block_on(run(loaded));
    rt.shutdown_background();
    code
}

/// Forks into the background as Redis's `daemonize()` does (the parent exits 0).
fn daemonize(no_logfile: bool) {
    // SAFETY: called before any thread exists; the parent exits right away; the descriptors
    // we dup2 over are the standard ones.
    unsafe {
        match libc::fork() {
            -1 => return,
            0 => {}
            _ => std::process::exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            if no_logfile {
                // Redis logs to /dev/null when daemonized without a logfile.
                server::log::set_level(None);
            }
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

/// Binds the listening sockets for `bind` addresses on `port`.
fn bind_all(bind: &[String], port: u16, backlog: u32) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for addr in bind {
        let (optional, host) = match addr.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, addr.as_str()),
        };
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        let sock_addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match server::bind_reuse(&sock_addr, backlog) {
            Ok(l) => listeners.push(l),
            Err(e) if optional || host == "::" => {
                log(
                    Level::Warning,
                    &format!(
                        "Warning: Could not create server TCP listening socket {sock_addr}: {e}"
                    ),
                );
            }
            Err(e) => {
                log(
                    Level::Warning,
                    &format!(
                        "Warning: Could not create server TCP listening socket {sock_addr}: {e}"
                    ),
                );
                log(
                    Level::Warning,
                    &format!("Failed listening on port {port} (tcp), aborting."),
                );
                return Err(e);
            }
        }
    }
    Ok(listeners)
}

/// A random 40-hex-character run id.
fn new_run_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| std::char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

async fn run(l: load::Loaded) -> i32 {
    log(
        Level::Notice,
        "oO0OoO0OoO0Oo Redoubt is starting oO0OoO0OoO0Oo",
    );
    log(
        Level::Notice,
        &format!(
            "Redoubt version={}, redis_version={}, bits=64, pid={}, just started",
            env!("CARGO_PKG_VERSION"),
            server::REDIS_VERSION,
            std::process::id()
        ),
    );
    log(Level::Notice, "Configuration loaded");
    let listeners = match bind_all(&l.server.bind, l.port, l.server.tcp_backlog) {
        Ok(v) => v,
        Err(_) => return 1,
    };
    let port = listeners
        .first()
        .and_then(|s| s.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(l.port);
    let pidfile = l.server.pidfile.clone();
    if let Some(p) = &pidfile {
        let _ = std::fs::write(p, format!("{}\n", std::process::id()));
    }
    log(
        Level::Notice,
        &format!("Running mode=sentinel, port={port}."),
    );
    if let Some(state) = &l.state_file {
        // The config file is only read: the state file's directory must be writable (the
        // file is replaced by a rename).
        let dir = std::path::Path::new(state)
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/".into());
        if let Err(e) = load::check_writable(&dir) {
            log(
                Level::Warning,
                &format!("Sentinel state file directory {dir} is not writable: {e}. Exiting..."),
            );
            return 1;
        }
    } else if let Err(e) = load::check_writable(&l.config_file) {
        log(
            Level::Warning,
            &format!(
                "Sentinel config file {} is not writable: {e}. Exiting...",
                l.config_file
            ),
        );
        return 1;
    }
    let now = server::clock::unix_ms();
    let mut sentinel = Sentinel::new(l.sentinel, port, rand::random(), now);
    if sentinel.config.resolve_hostnames {
        // As Redis resolves the names of the config file when it loads it: the addresses
        // are shown from the start (the +monitor events, the first rewrite).
        for host in sentinel.hosts_to_resolve() {
            let ip = link::resolve_now(&host);
            if ip.is_none() {
                log(
                    Level::Warning,
                    &format!("Failed to resolve hostname '{host}'"),
                );
            }
            sentinel.note_resolved(&host, ip.as_deref());
        }
    }
    sentinel.requirepass = l
        .server
        .requirepass
        .as_ref()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let configured_hz = l.server.hz.clamp(1, 500);
    let shared: Shared = Arc::new(Mutex::new(Shell {
        sentinel,
        links: HashMap::new(),
        clients: BTreeMap::new(),
        next_client_id: 1,
        stats: Stats::default(),
        config_file: l.config_file.clone(),
        state_file: l.state_file.clone(),
        server_config: l.server.clone(),
        auth: l.auth,
        port,
        run_id: new_run_id(),
        start_ms: now,
        hz: configured_hz,
        configured_hz,
        maxclients: l.server.maxclients,
        save_failed: false,
        scripts: script::Scripts::default(),
        shutdown: shutdown.clone(),
    }));
    {
        let mut sh = shared.lock();
        let actions = sh.sentinel.start(now);
        sh.execute(&shared, actions);
    }
    for listener in listeners {
        tokio::spawn(accept(shared.clone(), listener));
    }
    tokio::spawn(ticker(shared.clone()));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let signal = async {
        tokio::select! {
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => "SIGTERM",
            _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => "SIGINT",
        }
    };
    tokio::select! {
        name = signal => {
            log(Level::Warning, &format!("Received {name} scheduling shutdown..."));
            log(Level::Warning, "User requested shutdown...");
        }
        _ = shutdown.notified() => {}
    }
    if let Some(p) = &pidfile {
        log(Level::Notice, "Removing the pid file.");
        let _ = std::fs::remove_file(p);
    }
    log(Level::Warning, "Sentinel is now ready to exit, bye bye...");
    0
}

/// The timer: a tick every 1000/hz ms, hz re-randomised to 10..19 after each one so that
/// sentinels drift apart (as Redis does in sentinel mode).
async fn ticker(shared: Shared) {
    use rand::Rng;
    loop {
        let hz = shared.lock().hz.max(1);
        tokio::time::sleep(Duration::from_millis(1000 / hz as u64)).await;
        let mut sh = shared.lock();
        sh.feed(&shared, Input::Tick);
        sh.hz = 10 + rand::thread_rng().gen_range(0..10);
    }
}

async fn accept(shared: Shared, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(client::serve(shared.clone(), stream));
            }
            Err(e) => {
                log(Level::Warning, &format!("Accepting client connection: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
