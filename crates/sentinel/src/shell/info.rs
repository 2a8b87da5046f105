//! INFO in sentinel mode: sections server, clients, stats, cpu and sentinel.

use super::Shell;
use std::fmt::Write as _;

/// The sections INFO knows in sentinel mode, in output order.
const SECTIONS: &[&str] = &["server", "clients", "stats", "cpu", "sentinel"];

/// The sections asked for by INFO's arguments (none, `default`, `all` and `everything` mean
/// every section; unknown names select nothing).
pub fn selection<T: AsRef<[u8]>>(args: &[T]) -> Vec<&'static str> {
    if args.is_empty() {
        return SECTIONS.to_vec();
    }
    let asked: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a.as_ref()).to_ascii_lowercase())
        .collect();
    if asked
        .iter()
        .any(|a| a == "all" || a == "everything" || a == "default")
    {
        return SECTIONS.to_vec();
    }
    SECTIONS
        .iter()
        .copied()
        .filter(|s| asked.iter().any(|a| a == s))
        .collect()
}

fn uname() -> String {
    // SAFETY: uname fills the zeroed struct we own; its fields are NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        let f = |s: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(s.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
    }
}

fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage fills the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (tv(ru.ru_stime), tv(ru.ru_utime))
}

fn executable() -> String {
    std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A stable 16-hex-digit id of this build.
fn build_id() -> String {
    let seed = format!(
        "{}{}{}",
        env!("CARGO_PKG_VERSION"),
        server::REDIS_VERSION,
        executable()
    );
    super::sha256::hex_digest(seed.as_bytes())[..16].to_string()
}

/// The INFO text for `sections`.
pub fn generate(sh: &Shell, sections: &[&str], now_ms: i64) -> String {
    let mut out = String::with_capacity(2048);
    for s in sections {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *s {
            "server" => server(&mut out, sh, now_ms),
            "clients" => clients(&mut out, sh),
            "stats" => stats(&mut out, sh),
            "cpu" => cpu(&mut out),
            "sentinel" => out.push_str(&sh.sentinel.info_section(now_ms)),
            _ => {}
        }
    }
    out
}

fn field(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

fn server(out: &mut String, sh: &Shell, now_ms: i64) {
    let uptime = (now_ms - sh.start_ms).max(0) / 1000;
    out.push_str("# Server\r\n");
    field(out, "redis_version", server::REDIS_VERSION);
    field(out, "redoubt_version", env!("CARGO_PKG_VERSION"));
    field(out, "redis_git_sha1", "00000000");
    field(out, "redis_git_dirty", 0);
    field(out, "redis_build_id", build_id());
    field(out, "redis_mode", "sentinel");
    field(out, "os", uname());
    field(out, "arch_bits", usize::BITS);
    field(out, "monotonic_clock", "POSIX clock_gettime");
    field(out, "multiplexing_api", "epoll");
    field(out, "atomicvar_api", "c11-builtin");
    field(out, "gcc_version", "0.0.0");
    field(out, "process_id", std::process::id());
    field(out, "process_supervised", "no");
    field(out, "run_id", &sh.run_id);
    field(out, "tcp_port", sh.port);
    field(out, "server_time_usec", server::clock::unix_us());
    field(out, "uptime_in_seconds", uptime);
    field(out, "uptime_in_days", uptime / 86400);
    field(out, "hz", sh.hz);
    field(out, "configured_hz", sh.configured_hz);
    field(out, "lru_clock", (now_ms / 1000) & 0xFF_FFFF);
    field(out, "executable", executable());
    field(out, "config_file", &sh.config_file);
    field(out, "io_threads_active", 0);
}

fn clients(out: &mut String, sh: &Shell) {
    out.push_str("# Clients\r\n");
    field(out, "connected_clients", sh.clients.len());
    field(out, "cluster_connections", 0);
    field(out, "maxclients", sh.maxclients);
    field(
        out,
        "client_recent_max_input_buffer",
        sh.clients.values().map(|c| c.qbuf).max().unwrap_or(0),
    );
    field(out, "client_recent_max_output_buffer", 0);
    field(out, "blocked_clients", 0);
    field(out, "tracking_clients", 0);
    field(out, "clients_in_timeout_table", 0);
}

fn stats(out: &mut String, sh: &Shell) {
    let st = &sh.stats;
    let channels: std::collections::HashSet<&Vec<u8>> = sh
        .clients
        .values()
        .flat_map(|c| c.channels.iter())
        .collect();
    let patterns: std::collections::HashSet<&Vec<u8>> = sh
        .clients
        .values()
        .flat_map(|c| c.patterns.iter())
        .collect();
    out.push_str("# Stats\r\n");
    field(out, "total_connections_received", st.connections);
    field(out, "total_commands_processed", st.commands);
    field(out, "instantaneous_ops_per_sec", 0);
    field(out, "total_net_input_bytes", st.net_input);
    field(out, "total_net_output_bytes", st.net_output);
    field(out, "total_net_repl_input_bytes", 0);
    field(out, "total_net_repl_output_bytes", 0);
    field(out, "instantaneous_input_kbps", "0.00");
    field(out, "instantaneous_output_kbps", "0.00");
    field(out, "instantaneous_input_repl_kbps", "0.00");
    field(out, "instantaneous_output_repl_kbps", "0.00");
    field(out, "rejected_connections", st.rejected);
    field(out, "sync_full", 0);
    field(out, "sync_partial_ok", 0);
    field(out, "sync_partial_err", 0);
    field(out, "expired_keys", 0);
    field(out, "expired_stale_perc", "0.00");
    field(out, "expired_time_cap_reached_count", 0);
    field(out, "expire_cycle_cpu_milliseconds", 0);
    field(out, "evicted_keys", 0);
    field(out, "evicted_clients", 0);
    field(out, "total_eviction_exceeded_time", 0);
    field(out, "current_eviction_exceeded_time", 0);
    field(out, "keyspace_hits", 0);
    field(out, "keyspace_misses", 0);
    field(out, "pubsub_channels", channels.len());
    field(out, "pubsub_patterns", patterns.len());
    field(out, "pubsubshard_channels", 0);
    field(out, "latest_fork_usec", 0);
    field(out, "total_forks", 0);
    field(out, "migrate_cached_sockets", 0);
    field(out, "slave_expires_tracked_keys", 0);
    field(out, "active_defrag_hits", 0);
    field(out, "active_defrag_misses", 0);
    field(out, "active_defrag_key_hits", 0);
    field(out, "active_defrag_key_misses", 0);
    field(out, "total_active_defrag_time", 0);
    field(out, "current_active_defrag_time", 0);
    field(out, "tracking_total_keys", 0);
    field(out, "tracking_total_items", 0);
    field(out, "tracking_total_prefixes", 0);
    field(out, "unexpected_error_replies", 0);
    field(out, "total_error_replies", st.error_replies);
    field(out, "dump_payload_sanitizations", 0);
    field(out, "total_reads_processed", st.reads);
    field(out, "total_writes_processed", st.writes);
    field(out, "io_threaded_reads_processed", 0);
    field(out, "io_threaded_writes_processed", 0);
    field(out, "reply_buffer_shrinks", 0);
    field(out, "reply_buffer_expands", 0);
}

fn cpu(out: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    let (msys, muser) = rusage(libc::RUSAGE_THREAD);
    out.push_str("# CPU\r\n");
    field(out, "used_cpu_sys", sys);
    field(out, "used_cpu_user", user);
    field(out, "used_cpu_sys_children", csys);
    field(out, "used_cpu_user_children", cuser);
    field(out, "used_cpu_sys_main_thread", msys);
    field(out, "used_cpu_user_main_thread", muser);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections() {
        let none: [&[u8]; 0] = [];
        assert_eq!(selection(&none), SECTIONS.to_vec());
        assert_eq!(selection(&["ALL"]), SECTIONS.to_vec());
        assert_eq!(selection(&["foo"]), Vec::<&str>::new());
        assert_eq!(
            selection(&["sentinel", "server", "server"]),
            vec!["server", "sentinel"]
        );
    }
}
