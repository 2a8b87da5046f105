//! Forked children: the copy-on-write snapshot Redis takes with fork(2) for BGSAVE and AOF
//! rewrites. The parent forks while it holds the state lock, so the child's copy of the dataset
//! is exactly the state between two commands; the parent carries on serving at once and the
//! kernel copies only the pages it then changes.
//!
//! A child of a multi-threaded process may only rely on what the forking thread owns: it
//! closes the inherited descriptors (listeners, client sockets), logs through
//! [`crate::log::enter_child`] and leaves with `_exit`, never unwinding into the runtime.

use std::io;
use std::time::Instant;

/// What a child is doing; one at a time, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// BGSAVE (or a save point) writing the RDB file.
    Rdb,
    /// BGREWRITEAOF writing a new AOF base file.
    Aof,
}

/// The running child.
#[derive(Debug, Clone)]
pub struct RunningChild {
    /// Its process id.
    pub pid: libc::pid_t,
    /// What it does.
    pub kind: ChildKind,
    /// Unix seconds when it was forked.
    pub start_unix: i64,
    /// When it was forked, for durations.
    pub started: Instant,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

/// Forks. In the child, `work` runs against the parent's memory as it was at the fork and its
/// return value becomes the exit code (a panic exits with 1). In the parent, returns the
/// child's pid and how long fork(2) took in microseconds.
pub fn fork_and_run(work: impl FnOnce() -> i32) -> io::Result<(libc::pid_t, u64)> {
    let log = crate::log::prepare_fork();
    let started = Instant::now();
    // SAFETY: the child only runs `work`, which touches memory it inherited, allocates (the
    // allocators install fork handlers) and opens its own files, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        close_inherited_descriptors();
        // SAFETY: restoring default dispositions in our own (single-threaded) child.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        }
        crate::log::enter_child(log);
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or(1);
        // SAFETY: ends the child without running the parent's destructors or atexit handlers.
        unsafe { libc::_exit(code) }
    }
    Ok((pid, started.elapsed().as_micros() as u64))
}

/// Closes every descriptor but stdin/stdout/stderr, so the child holds no listening socket or
/// client connection of the parent (a restarted server must be able to bind its port).
fn close_inherited_descriptors() {
    // SAFETY: close_range(2) on our own descriptor table; falls back to closing one by one.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r != 0 {
        // SAFETY: getrlimit into a struct we own, then close(2) on our own descriptors.
        unsafe {
            let mut lim: libc::rlimit = std::mem::zeroed();
            let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur.min(1 << 20) as i32
            } else {
                4096
            };
            for fd in 3..max {
                libc::close(fd);
            }
        }
    }
}

/// Whether `pid` has ended, without waiting; reaps it when it has.
pub fn try_reap(pid: libc::pid_t) -> Option<Exit> {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a status we own.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r != pid {
        return None;
    }
    Some(decode_status(status))
}

/// Kills `pid` with SIGUSR1 (the signal Redis uses so the kill is not counted as a failure)
/// and reaps it.
pub fn kill_and_reap(pid: libc::pid_t) -> Exit {
    let mut status = 0;
    // SAFETY: signals and waits for our own child.
    unsafe {
        libc::kill(pid, libc::SIGUSR1);
        libc::waitpid(pid, &mut status, 0);
    }
    decode_status(status)
}

fn decode_status(status: i32) -> Exit {
    if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(pid: libc::pid_t) -> Exit {
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(e) = try_reap(pid) {
                return e;
            }
            assert!(Instant::now() < deadline, "child did not end");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn child_sees_memory_at_fork_and_reports_its_code() {
        let data: Vec<u64> = (0..1000).collect();
        let (pid, _) = fork_and_run(|| (data.iter().sum::<u64>() % 200) as i32).unwrap();
        assert_eq!(wait(pid), Exit::Code(499_500 % 200));
    }

    #[test]
    fn a_panicking_child_exits_with_one() {
        let (pid, _) = fork_and_run(|| panic!("boom")).unwrap();
        assert_eq!(wait(pid), Exit::Code(1));
    }

    #[test]
    fn killing_a_child_reports_sigusr1() {
        let (pid, _) = fork_and_run(|| {
            std::thread::sleep(std::time::Duration::from_secs(30));
            0
        })
        .unwrap();
        assert_eq!(kill_and_reap(pid), Exit::Signal(libc::SIGUSR1));
    }
}
