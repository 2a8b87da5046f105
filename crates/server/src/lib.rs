//! The redoubt-server process: listeners, connections, dispatch, and the server-level commands.

pub mod aof;
pub mod blocking;
pub mod child;
pub mod client;
pub mod clock;
pub mod cmd;
pub mod commands;
pub mod config;
pub mod conn;
pub mod dispatch;
pub mod info;
pub mod log;
pub mod persist;
pub mod pubsub;
pub mod repl;
pub mod script;
pub mod slowlog;
pub mod state;

use state::{Shared, State};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The Redis version we are compatible with and report to clients.
pub const REDIS_VERSION: &str = "7.0.15";

/// The reply sent to non-local clients in protected mode.
pub const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Runs the server with redis-server's command line; returns the process exit status.
pub fn main_with_args(args: Vec<String>) -> i32 {
    if args.first().is_some_and(|a| a == "-v" || a == "--version") {
        println!(
            "Redoubt server v={} (Redis {} compatible) bits=64",
            env!("CARGO_PKG_VERSION"),
            REDIS_VERSION
        );
        return 0;
    }
    if args.first().is_some_and(|a| a == "-h" || a == "--help") {
        println!("Usage: ./redoubt-server [/path/to/redis.conf] [options] [-]");
        println!("       ./redoubt-server - (read config from stdin)");
        println!("       ./redoubt-server -v or --version");
        println!("       ./redoubt-server -h or --help");
        println!();
        println!("Examples:");
        println!("       ./redoubt-server (run the server with default conf)");
        println!("       ./redoubt-server /etc/redis/6379.conf");
        println!("       ./redoubt-server --port 7777");
        println!("       ./redoubt-server /etc/myredis.conf --loglevel verbose -");
        return 0;
    }
    let cfg = match config::load(&args) {
        Ok(c) => c,
        Err(text) => {
            eprint!("{text}");
            return 1;
        }
    };
    if let Err(e) = std::env::set_current_dir(&cfg.dir) {
        eprintln!("Can't chdir to '{}': {e}", cfg.dir);
        return 1;
    }
    if cfg.daemonize {
        // SAFETY: called before any thread exists; the parent exits right away.
        unsafe {
            match libc::fork() {
                -1 => return 1,
                0 => {
                    libc::setsid();
                }
                _ => return 0,
            }
        }
    }
    log::set_file(Some(cfg.logfile.clone()));
    log::set_level(log::level_for(cfg.loglevel));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Lua scripts recurse deeply in C (Redis runs them on an 8 MB main stack).
        .thread_stack_size(8 << 20)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return 1;
        }
    };
    rt.block_on(run(cfg))
}

async fn bind_all(cfg: &config::Config) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    if cfg.port == 0 && cfg.unixsocket.is_some() {
        return Ok(listeners);
    }
    for addr in &cfg.bind {
        let (optional, host) = match addr.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, addr.as_str()),
        };
        let host = if host == "*" { "0.0.0.0" } else { host };
        let sock_addr = if host.contains(':') {
            format!("[{host}]:{}", cfg.port)
        } else {
            format!("{host}:{}", cfg.port)
        };
        match bind_reuse(&sock_addr, cfg.tcp_backlog) {
            Ok(l) => listeners.push(l),
            Err(e) if optional || (host == "::*" || host == "::") => {
                crate::warning!(
                    "Warning: Could not create server TCP listening socket {sock_addr}: {e}"
                );
            }
            Err(e) => {
                crate::warning!(
                    "Warning: Could not create server TCP listening socket {sock_addr}: {e}"
                );
                crate::warning!("Failed listening on port {} (tcp), aborting.", cfg.port);
                return Err(e);
            }
        }
    }
    Ok(listeners)
}

/// A listening TCP socket on `addr` with SO_REUSEADDR (and IPV6_V6ONLY for IPv6), as Redis
/// binds.
pub fn bind_reuse(addr: &str, backlog: u32) -> std::io::Result<TcpListener> {
    let host = addr.trim_start_matches('[');
    let host = host.split(']').next().unwrap_or(host);
    let sa: std::net::SocketAddr = match addr.parse() {
        Ok(sa) => sa,
        Err(_) => {
            let _ = host;
            std::net::ToSocketAddrs::to_socket_addrs(addr)?
                .next()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address")
                })?
        }
    };
    let sock = if sa.is_ipv6() {
        tokio::net::TcpSocket::new_v6()?
    } else {
        tokio::net::TcpSocket::new_v4()?
    };
    sock.set_reuseaddr(true)?;
    if sa.is_ipv6() {
        // SAFETY: plain setsockopt on a socket we own.
        unsafe {
            use std::os::fd::AsRawFd;
            let on: libc::c_int = 1;
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                &on as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    sock.bind(sa)?;
    sock.listen(backlog.max(1))
}

fn is_loopback(addr: &std::net::SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback())
        }
    }
}

/// Runs a server for `cfg` inside the current tokio runtime until SHUTDOWN or a signal, and
/// sends the bound TCP port on `ready` once it accepts connections (tests use `port 0`).
/// Returns the exit status.
pub async fn serve_on(cfg: config::Config, ready: tokio::sync::oneshot::Sender<u16>) -> i32 {
    run_with(cfg, Some(ready)).await
}

async fn run(cfg: config::Config) -> i32 {
    run_with(cfg, None).await
}

async fn run_with(cfg: config::Config, ready: Option<tokio::sync::oneshot::Sender<u16>>) -> i32 {
    notice!("oO0OoO0OoO0Oo Redoubt is starting oO0OoO0OoO0Oo");
    notice!(
        "Redoubt version={}, redis_version={}, bits=64, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        REDIS_VERSION,
        std::process::id()
    );
    match &cfg.config_file {
        Some(_) => notice!("Configuration loaded"),
        None => warning!("Warning: no config file specified, using the default config. In order to specify a config file use redoubt-server /path/to/redis.conf"),
    }
    let listeners = match bind_all(&cfg).await {
        Ok(l) => l,
        Err(_) => return 1,
    };
    let bound_port = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(cfg.port);
    let unix = match &cfg.unixsocket {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            match tokio::net::UnixListener::bind(path) {
                Ok(l) => {
                    use std::os::unix::fs::PermissionsExt;
                    if cfg.unixsocketperm != 0 {
                        let _ = std::fs::set_permissions(
                            path,
                            std::fs::Permissions::from_mode(cfg.unixsocketperm),
                        );
                    }
                    Some(l)
                }
                Err(e) => {
                    warning!("Failed opening Unix socket: {e}");
                    return 1;
                }
            }
        }
        None => None,
    };
    if let Some(pidfile) = &cfg.pidfile {
        let _ = std::fs::write(pidfile, format!("{}\n", std::process::id()));
    }
    let pidfile = cfg.pidfile.clone();
    let unixsocket = cfg.unixsocket.clone();
    let mut state = State::new(cfg, clock::unix_ms());
    state.bound_port = bound_port;
    repl::link::configure_at_start(&mut state);
    notice!("Running mode=standalone, port={bound_port}.");
    notice!("Server initialized");
    let progress = Arc::new(persist::LoadProgress {
        start_unix: clock::unix_ms() / 1000,
        ..Default::default()
    });
    state.loading = Some(progress.clone());
    let writer = state.aof.writer.clone();
    let sync_writer = writer.clone();
    std::thread::Builder::new()
        .name("aof-fsync".into())
        .spawn(move || sync_writer.run_sync_thread())
        .ok();
    let shared = state::shared(state);
    for l in listeners {
        tokio::spawn(accept_tcp(shared.clone(), l));
    }
    if let Some(l) = unix {
        tokio::spawn(accept_unix(shared.clone(), l));
    }
    // Clients that arrive while the dataset loads get -LOADING, as with Redis.
    let loaded = {
        let cfg = shared.state.lock().cfg.clone();
        let writer = writer.clone();
        tokio::task::spawn_blocking(move || load_dataset(cfg, writer, progress)).await
    };
    match loaded {
        Ok(Some(mut loaded)) => {
            let mut st = shared.state.lock();
            script::function::adopt_loaded(&mut st, &mut loaded);
            st.ks = loaded.ks;
            st.persist.last_load_keys_loaded = loaded.persist.last_load_keys_loaded;
            st.persist.last_load_keys_expired = loaded.persist.last_load_keys_expired;
            st.aof = loaded.aof;
            st.loading = None;
            st.apply_config();
            if let Some(info) = &loaded.persist.loaded_repl {
                repl::restore_saved_info(&mut st, info);
            }
        }
        _ => return 1,
    }
    tokio::spawn(cron(shared.clone()));
    tokio::spawn(repl::link::supervise(shared.clone()));
    notice!("Ready to accept connections");
    if let Some(tx) = ready {
        let _ = tx.send(bound_port);
    }
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    loop {
        let signal = tokio::select! {
            _ = shared.shutdown.notified() => None,
            _ = next_signal(&mut sigterm) => {
                warning!("Received SIGTERM scheduling shutdown...");
                Some(true)
            }
            _ = next_signal(&mut sigint) => {
                warning!("Received SIGINT scheduling shutdown...");
                Some(false)
            }
        };
        let pending = {
            let st = shared.state.lock();
            match signal {
                Some(is_term) => {
                    warning!("User requested shutdown...");
                    let flags = if is_term {
                        st.cfg.shutdown_on_sigterm
                    } else {
                        st.cfg.shutdown_on_sigint
                    };
                    Some((flags, None))
                }
                None if st.shutdown_pending.is_some() => st.shutdown_pending,
                None if st.shutdown_requested => None,
                None => continue,
            }
        };
        if let Some((flags, _)) = pending {
            if flags & config::shutdown::NOW == 0 {
                repl::wait_for_replicas_before_shutdown(&shared).await;
            }
        }
        let mut st = shared.state.lock();
        if let Some((flags, requester)) = pending {
            if requester.is_some() && st.shutdown_pending.is_none() {
                // SHUTDOWN ABORT came in meanwhile.
                continue;
            }
            st.shutdown_pending = None;
            if !persist::prepare_for_shutdown(&mut st, flags) {
                repl::resume_after_shutdown_wait(&mut st);
                if let Some(c) = requester.and_then(|id| st.clients.get(&id)) {
                    c.handle
                        .send(b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
                }
                continue;
            }
        }
        for c in st.clients.values() {
            c.handle.kill();
        }
        break;
    }
    if let Some(p) = pidfile {
        notice!("Removing the pid file.");
        let _ = std::fs::remove_file(p);
    }
    if let Some(p) = unixsocket {
        notice!("Removing the unix socket file.");
        let _ = std::fs::remove_file(p);
    }
    notice!("Redoubt is now ready to exit, bye bye...");
    0
}

async fn accept_tcp(shared: Arc<Shared>, listener: TcpListener) {
    let mut last_settings = (true, 0);
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        // A busy script holds the lock: accept with the settings seen last.
        if let Some(st) = script::lock_unless_busy(&shared) {
            last_settings = (
                st.cfg.protected_mode && st.cfg.requirepass.is_none(),
                st.cfg.tcp_keepalive,
            );
        }
        let (protected, keepalive) = last_settings;
        if keepalive > 0 {
            let sock = socket2_keepalive(&stream, keepalive);
            let _ = sock;
        }
        let local = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let fd = {
            use std::os::fd::AsRawFd;
            stream.as_raw_fd() as i64
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            if protected && !is_loopback(&peer) {
                use tokio::io::AsyncWriteExt;
                let _ = stream.write_all(PROTECTED_MODE_DENIED.as_bytes()).await;
                return;
            }
            conn::serve(
                shared,
                stream,
                conn::Peer {
                    addr: peer.to_string(),
                    laddr: local,
                    fd,
                },
            )
            .await;
        });
    }
}

fn socket2_keepalive(stream: &tokio::net::TcpStream, secs: u64) -> bool {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    let on: libc::c_int = 1;
    let idle = secs as libc::c_int;
    let intvl = ((secs / 3).max(1)) as libc::c_int;
    let cnt: libc::c_int = 3;
    // SAFETY: setsockopt on a socket we own, with properly sized values.
    unsafe {
        let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &on as *const _ as *const libc::c_void,
            sz,
        ) == 0
            && libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_KEEPIDLE,
                &idle as *const _ as *const libc::c_void,
                sz,
            ) == 0
            && libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_KEEPINTVL,
                &intvl as *const _ as *const libc::c_void,
                sz,
            ) == 0
            && libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_KEEPCNT,
                &cnt as *const _ as *const libc::c_void,
                sz,
            ) == 0
    }
}

async fn accept_unix(shared: Arc<Shared>, listener: tokio::net::UnixListener) {
    let path = shared
        .state
        .lock()
        .cfg
        .unixsocket
        .clone()
        .unwrap_or_default();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let fd = {
            use std::os::fd::AsRawFd;
            stream.as_raw_fd() as i64
        };
        let shared = shared.clone();
        let addr = format!("{path}:0");
        tokio::spawn(async move {
            conn::serve(
                shared,
                stream,
                conn::Peer {
                    laddr: addr.clone(),
                    addr,
                    fd,
                },
            )
            .await;
        });
    }
}

/// Loads the AOF (with `appendonly yes`) or the RDB file into a state of its own, off the
/// runtime; None when loading failed (logged). The AOF writer is the server's own, so
/// connections that arrived meanwhile already hold it.
fn load_dataset(
    cfg: config::Config,
    writer: Arc<aof::Writer>,
    progress: Arc<persist::LoadProgress>,
) -> Option<State> {
    let mut st = State::new(cfg, clock::unix_ms());
    st.ks.replica_mode = st.cfg.replicaof.is_some();
    st.aof.writer = writer;
    st.persist.load_progress = Some(progress.clone());
    if st.cfg.appendonly {
        if !aof::start_at_boot(&mut st) {
            return None;
        }
    } else {
        let path = persist::rdb_path(&st);
        if path.exists() {
            let started = std::time::Instant::now();
            progress.total_bytes.store(
                std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
                std::sync::atomic::Ordering::Relaxed,
            );
            match persist::load_rdb(&mut st, &path) {
                Ok(_) => notice!(
                    "DB loaded from disk: {:.3} seconds",
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => {
                    warning!("{e}");
                    return None;
                }
            }
        }
    }
    st.persist.load_progress = None;
    Some(st)
}

/// The next delivery of a signal we listen for; never, if listening failed.
async fn next_signal(s: &mut Option<tokio::signal::unix::Signal>) {
    match s.as_mut() {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Background work, `hz` times a second: active expiry and timed housekeeping.
async fn cron(shared: Arc<Shared>) {
    loop {
        script::wait_not_busy(&shared).await;
        let hz = shared.state.lock().cfg.hz.clamp(1, 500);
        tokio::time::sleep(Duration::from_millis(1000 / hz as u64)).await;
        let budget = Duration::from_micros(1_000_000 / hz as u64 * 25 / 100);
        let started = std::time::Instant::now();
        // The cron waits while a script is busy, as Redis's does.
        script::wait_not_busy(&shared).await;
        let mut st = shared.state.lock();
        let now = clock::unix_ms();
        st.ks.now_ms = now;
        info::cron(&mut st, now);
        persist::cron(&mut st, now);
        aof::cron(&mut st);
        repl::cron(&mut st, now);
        if let Some(p) = st.pause {
            if p.until_ms <= now {
                st.pause = None;
                shared.unpaused.notify_waiters();
            }
        }
        if !st.active_expire_enabled {
            continue;
        }
        let dbs = st.ks.dbs.len();
        'dbs: for db in 0..dbs {
            loop {
                let (checked, expired) = st.ks.active_expire_step(db, 20);
                if checked == 0 || expired * 100 / checked.max(1) <= 10 {
                    break;
                }
                if started.elapsed() > budget {
                    st.ks.stats.expired_time_cap_reached_count += 1;
                    break 'dbs;
                }
            }
        }
        dispatch::settle(&mut st, now);
    }
}
