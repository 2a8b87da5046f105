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
    /// Read end of the pipe on which the child reports its copy-on-write bytes.
    pub info_fd: i32,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

/// A forked child as the parent sees it.
#[derive(Debug, Clone, Copy)]
pub struct Forked {
    /// The child's pid.
    pub pid: libc::pid_t,
    /// How long fork(2) took, in microseconds.
    pub fork_usec: u64,
    /// Where the child reports its copy-on-write bytes (see [`read_cow`]).
    pub info_fd: i32,
}

/// Forks. In the child, `work` runs against the parent's memory as it was at the fork and its
/// return value becomes the exit code (a panic exits with 1); before exiting it reports how
/// much memory copy-on-write cost.
pub fn fork_and_run(work: impl FnOnce() -> i32) -> io::Result<Forked> {
    fork_and_run_keeping(&[], work)
}

/// [`fork_and_run`], with descriptors `keep` left open in the child (a pipe it writes to).
pub fn fork_and_run_keeping(keep: &[i32], work: impl FnOnce() -> i32) -> io::Result<Forked> {
    let log = crate::log::prepare_fork();
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) into an array we own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    let started = Instant::now();
    // SAFETY: the child only runs `work`, which touches memory it inherited, allocates (the
    // allocators install fork handlers) and opens its own files, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing the pipe we just made.
        unsafe {
            libc::close(read_fd);
            libc::close(write_fd);
        }
        return Err(e);
    }
    if pid == 0 {
        let mut kept = keep.to_vec();
        kept.push(write_fd);
        close_inherited_descriptors(&kept);
        // SAFETY: restoring default dispositions in our own (single-threaded) child.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        }
        crate::log::enter_child(log);
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or(1);
        let cow = private_dirty_bytes().to_le_bytes();
        // SAFETY: writes our own buffer to the pipe, then ends the child without running the
        // parent's destructors or atexit handlers.
        unsafe {
            libc::write(write_fd, cow.as_ptr().cast(), cow.len());
            libc::_exit(code)
        }
    }
    // SAFETY: the parent keeps only the read end.
    unsafe { libc::close(write_fd) };
    Ok(Forked {
        pid,
        fork_usec: started.elapsed().as_micros() as u64,
        info_fd: read_fd,
    })
}

/// Bytes the calling process has written since it was forked (`Private_Dirty`), which is what
/// copy-on-write cost.
pub fn private_dirty_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Private_Dirty:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// What an ended child reported about copy-on-write (0 if nothing); closes the pipe. Call once
/// per child, after it ended.
pub fn read_cow(info_fd: i32) -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: reads into our buffer from, then closes, the pipe this parent owns.
    let n = unsafe {
        let n = libc::read(info_fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(info_fd);
        n
    };
    if n == 8 {
        u64::from_le_bytes(buf)
    } else {
        0
    }
}

/// Closes every descriptor but stdin/stdout/stderr and `keep`, so the child holds no listening
/// socket or client connection of the parent (a restarted server must be able to bind its port).
fn close_inherited_descriptors(keep: &[i32]) {
    let mut keep: Vec<u32> = keep.iter().map(|&fd| fd as u32).collect();
    keep.sort_unstable();
    // SAFETY: close_range(2) on our own descriptor table, around the kept descriptors; falls
    // back to closing one by one.
    let r = unsafe {
        let mut low = 3u32;
        let mut r = 0;
        for &k in &keep {
            if k > low {
                r |= libc::syscall(libc::SYS_close_range, low, k - 1, 0u32);
            }
            low = low.max(k + 1);
        }
        r | libc::syscall(libc::SYS_close_range, low, u32::MAX, 0u32)
    };
    if r != 0 {
        // SAFETY: getrlimit into a struct we own, then close(2) on our own descriptors.
        unsafe {
            let mut lim: libc::rlimit = std::mem::zeroed();
            let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur.min(1 << 20) as i32
            } else {
                4096
            };
            for fd in (3..max).filter(|&fd| !keep.contains(&(fd as u32))) {
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
        let f = fork_and_run(|| (data.iter().sum::<u64>() % 200) as i32).unwrap();
        assert_eq!(wait(f.pid), Exit::Code(499_500 % 200));
        let _ = read_cow(f.info_fd);
    }

    #[test]
    fn a_panicking_child_exits_with_one() {
        let f = fork_and_run(|| panic!("boom")).unwrap();
        assert_eq!(wait(f.pid), Exit::Code(1));
        let _ = read_cow(f.info_fd);
    }

    #[test]
    fn killing_a_child_reports_sigusr1() {
        let f = fork_and_run(|| {
            std::thread::sleep(std::time::Duration::from_secs(30));
            0
        })
        .unwrap();
        assert_eq!(kill_and_reap(f.pid), Exit::Signal(libc::SIGUSR1));
        assert_eq!(read_cow(f.info_fd), 0);
    }

    #[test]
    fn a_child_that_writes_memory_reports_copy_on_write() {
        let mut buffer = vec![1u8; 8 << 20];
        // Borrowed, not moved: the child must not free it before measuring.
        let data = &mut buffer;
        let f = fork_and_run(move || {
            // Touch every page: each is copied.
            for i in (0..data.len()).step_by(4096) {
                data[i] = 2;
            }
            std::hint::black_box(&data);
            i32::from(data[0])
        })
        .unwrap();
        assert_eq!(wait(f.pid), Exit::Code(2));
        let cow = read_cow(f.info_fd);
        assert!(cow >= 8 << 20, "{cow}");
    }
}
