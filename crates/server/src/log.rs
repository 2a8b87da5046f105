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
/// Set only in a forked child: where to log without touching locks another thread may have held
/// at the fork.
static CHILD: OnceLock<ChildLog> = OnceLock::new();

/// What a forked child needs to keep logging: the log file and the UTC offset, captured by the
/// parent before the fork so the child takes no lock (the log mutex, libc's time-zone lock).
#[derive(Clone, Debug)]
pub struct ChildLog {
    path: Option<String>,
    utc_offset_secs: i64,
}

/// Captures, in the parent just before a fork, what [`enter_child`] needs.
pub fn prepare_fork() -> ChildLog {
    let now = crate::clock::unix_ms() / 1000;
    let t: libc::time_t = now as libc::time_t;
    // SAFETY: localtime_r writes into the zeroed struct we own.
    let gmtoff = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm.tm_gmtoff
    };
    ChildLog {
        path: target().lock().path.clone(),
        utc_offset_secs: gmtoff as i64,
    }
}

/// Switches logging of a freshly forked child to `c`, with the role letter `C`.
pub fn enter_child(c: ChildLog) {
    let _ = CHILD.set(c);
    set_role(b'C');
}

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
    let tm = match CHILD.get() {
        Some(c) => civil_time(secs + c.utc_offset_secs),
        None => {
            let t: libc::time_t = secs as libc::time_t;
            // SAFETY: localtime_r writes into the zeroed struct we own.
            unsafe {
                let mut tm: libc::tm = std::mem::zeroed();
                libc::localtime_r(&t, &mut tm);
                tm
            }
        }
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

/// Splits seconds since the epoch (already shifted to local time) into calendar fields, without
/// libc (Howard Hinnant's days-to-civil algorithm).
fn civil_time(secs: i64) -> libc::tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // SAFETY: an all-zero libc::tm is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = (year - 1900) as i32;
    tm.tm_mon = (month - 1) as i32;
    tm.tm_mday = day as i32;
    tm.tm_hour = (rem / 3600) as i32;
    tm.tm_min = (rem / 60 % 60) as i32;
    tm.tm_sec = (rem % 60) as i32;
    tm
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
    if let Some(c) = CHILD.get() {
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        match &c.path {
            Some(p) => {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                {
                    let _ = f.write_all(&bytes);
                }
            }
            // SAFETY: writes our own buffer to stdout, bypassing std's stdout lock.
            None => unsafe {
                libc::write(1, bytes.as_ptr().cast(), bytes.len());
            },
        }
        return;
    }
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

    #[test]
    fn civil_time_agrees_with_libc() {
        for secs in [
            0i64,
            951_782_400,
            1_700_000_000,
            4_102_444_799,
            1_709_164_800,
        ] {
            let t: libc::time_t = secs as libc::time_t;
            // SAFETY: gmtime_r writes into the zeroed struct we own.
            let want = unsafe {
                let mut tm: libc::tm = std::mem::zeroed();
                libc::gmtime_r(&t, &mut tm);
                tm
            };
            let got = civil_time(secs);
            assert_eq!(
                (
                    got.tm_year,
                    got.tm_mon,
                    got.tm_mday,
                    got.tm_hour,
                    got.tm_min,
                    got.tm_sec
                ),
                (
                    want.tm_year,
                    want.tm_mon,
                    want.tm_mday,
                    want.tm_hour,
                    want.tm_min,
                    want.tm_sec
                ),
                "{secs}"
            );
        }
    }
}
