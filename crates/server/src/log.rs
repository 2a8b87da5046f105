//! Logging in Redis's format: `pid:role dd Mon yyyy hh:mm:ss.mmm <mark> message`.

use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// Severity of a log line; its mark is `.`, `-`, `*` or `#`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `.`: debug.
    Debug = 0,
    /// `-`: verbose.
    Verbose = 1,
    /// `*`: notice.
    Notice = 2,
    /// `#`: warning.
    Warning = 3,
}

struct Target {
    path: Option<String>,
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static ROLE: AtomicU8 = AtomicU8::new(b'M');
static TARGET: OnceLock<Mutex<Target>> = OnceLock::new();

fn target() -> &'static Mutex<Target> {
    TARGET.get_or_init(|| Mutex::new(Target { path: None }))
}

/// Sets the minimum level written (`loglevel`); `None` silences everything.
pub fn set_level(level: Option<Level>) {
    MIN_LEVEL.store(level.map(|l| l as u8).unwrap_or(u8::MAX), Ordering::Relaxed);
}

/// The minimum level for a `loglevel` setting; `None` for `nothing`.
pub fn level_for(l: crate::config::LogLevel) -> Option<Level> {
    use crate::config::LogLevel;
    match l {
        LogLevel::Debug => Some(Level::Debug),
        LogLevel::Verbose => Some(Level::Verbose),
        LogLevel::Notice => Some(Level::Notice),
        LogLevel::Warning => Some(Level::Warning),
        LogLevel::Nothing => None,
    }
}

/// Sets where lines go: a file path (`logfile`), or stdout for `None` / empty.
pub fn set_file(path: Option<String>) {
    target().lock().path = path.filter(|p| !p.is_empty());
}

/// Sets the role letter (`M` primary, `S` replica, `X` sentinel, `C` child).
pub fn set_role(role: u8) {
    ROLE.store(role, Ordering::Relaxed);
}

/// Formats one line without the trailing newline.
pub fn format_line(pid: u32, role: u8, unix_ms: i64, level: Level, msg: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = unix_ms.div_euclid(1000);
    let millis = unix_ms.rem_euclid(1000);
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: localtime_r writes into the zeroed struct we own.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    };
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    format!(
        "{}:{} {:02} {} {} {:02}:{:02}:{:02}.{:03} {} {}",
        pid,
        role as char,
        tm.tm_mday,
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        millis,
        mark,
        msg
    )
}

/// Writes a line at `level` if it passes the configured minimum.
pub fn log(level: Level, msg: &str) {
    if (level as u8) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let now = crate::clock::unix_ms();
    let line = format_line(
        std::process::id(),
        ROLE.load(Ordering::Relaxed),
        now,
        level,
        msg,
    );
    let t = target().lock();
    match &t.path {
        Some(p) => {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                let _ = writeln!(f, "{line}");
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

/// Logs at notice level with `format!` arguments.
#[macro_export]
macro_rules! notice { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Notice, &format!($($t)*)) } }
/// Logs at warning level with `format!` arguments.
#[macro_export]
macro_rules! warning { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, &format!($($t)*)) } }
/// Logs at verbose level with `format!` arguments.
#[macro_export]
macro_rules! verbose { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Verbose, &format!($($t)*)) } }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_redis_shape() {
        let line = format_line(
            42,
            b'M',
            1_700_000_000_123,
            Level::Notice,
            "Ready to accept connections",
        );
        let re_ok =
            line.starts_with("42:M ") && line.contains(".123 * Ready to accept connections");
        assert!(re_ok, "{line}");
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[1].len(), 2);
        assert_eq!(parts[3], "2023");
    }
}
