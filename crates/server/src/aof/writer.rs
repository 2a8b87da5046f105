//! The AOF's buffer and open file. Commands are appended to the buffer under the server lock,
//! in the order they executed; whoever is about to send a reply writes the buffer out first
//! (and with `appendfsync always` waits for the sync thread), so no client sees an
//! acknowledgement before its write is in the file. One fsync covers every connection waiting
//! when it starts (group commit), and no lock is held while the disk works.

use bytes::Bytes;
use parking_lot::Mutex;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

/// When the file is synced (`appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Before every reply that follows a write.
    Always = 0,
    /// Once a second, by a background thread.
    Everysec = 1,
    /// Never explicitly: the kernel decides.
    No = 2,
}

/// Bytes appended but not yet written, and the database the file's last SELECT chose.
struct Pending {
    buf: Vec<u8>,
    selected_db: Option<usize>,
}

/// The open incr file.
struct Sink {
    file: Option<Arc<File>>,
    error: Option<String>,
}

/// The AOF buffer and file. Counters are byte offsets in the stream of everything ever
/// appended, so "written" and "synced" can be compared with what a client is waiting for.
pub struct Writer {
    pending: Mutex<Pending>,
    sink: Mutex<Sink>,
    appended: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    file_size: AtomicU64,
    policy: AtomicU8,
    failing: AtomicBool,
    /// Raised by connections waiting for a sync; the sync thread waits on it.
    sync_wanted: std::sync::Mutex<bool>,
    sync_cv: std::sync::Condvar,
    /// The synced offset, for connections to await.
    synced_tx: tokio::sync::watch::Sender<u64>,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

/// Appends `argv` as a RESP array.
pub fn encode_command(out: &mut Vec<u8>, argv: &[Bytes]) {
    out.push(b'*');
    out.extend_from_slice(argv.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The C library's text for an I/O error, as Redis prints `strerror(errno)`.
pub fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        // SAFETY: strerror returns a pointer to a static NUL-terminated string.
        Some(code) => unsafe { std::ffi::CStr::from_ptr(libc::strerror(code)) }
            .to_string_lossy()
            .into_owned(),
        None => e.to_string(),
    }
}

impl Writer {
    /// A writer with no file open.
    pub fn new() -> Writer {
        Writer {
            pending: Mutex::new(Pending {
                buf: Vec::new(),
                selected_db: None,
            }),
            sink: Mutex::new(Sink {
                file: None,
                error: None,
            }),
            appended: AtomicU64::new(0),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            file_size: AtomicU64::new(0),
            policy: AtomicU8::new(Policy::Everysec as u8),
            failing: AtomicBool::new(false),
            sync_wanted: std::sync::Mutex::new(false),
            sync_cv: std::sync::Condvar::new(),
            synced_tx: tokio::sync::watch::channel(0).0,
        }
    }

    /// Sets the fsync policy.
    pub fn set_policy(&self, p: crate::config::AppendFsync) {
        self.policy
            .store(super::policy_of(p) as u8, Ordering::Relaxed);
    }

    fn policy(&self) -> Policy {
        match self.policy.load(Ordering::Relaxed) {
            0 => Policy::Always,
            1 => Policy::Everysec,
            _ => Policy::No,
        }
    }

    /// Appends one command executed against `db`, preceded by SELECT when the file's current
    /// database differs.
    pub fn append(&self, db: usize, argv: &[Bytes]) {
        let mut p = self.pending.lock();
        let before = p.buf.len();
        if p.selected_db != Some(db) {
            let select = [Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())];
            encode_command(&mut p.buf, &select);
            p.selected_db = Some(db);
        }
        encode_command(&mut p.buf, argv);
        let n = (p.buf.len() - before) as u64;
        self.appended.fetch_add(n, Ordering::Release);
    }

    /// Bytes appended and not yet written (`aof_buffer_length`).
    pub fn buffer_len(&self) -> usize {
        self.pending.lock().buf.len()
    }

    /// Size of the open incr file.
    pub fn file_size(&self) -> u64 {
        self.file_size.load(Ordering::Relaxed)
    }

    /// The last write error, while writes keep failing.
    pub fn last_error(&self) -> Option<String> {
        if !self.failing.load(Ordering::Relaxed) {
            return None;
        }
        self.sink.lock().error.clone()
    }

    /// Opens `path` for appending (creating it) as the file from now on. The buffer must have
    /// been written out; the next command starts with a SELECT.
    pub fn open(&self, path: &Path) -> io::Result<()> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.install(f)
    }

    /// Like [`open`](Writer::open), emptying the file first (a temporary incr file).
    pub fn open_truncated(&self, path: &Path) -> io::Result<()> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        self.install(f)
    }

    fn install(&self, f: File) -> io::Result<()> {
        let size = f.metadata()?.len();
        let mut sink = self.sink.lock();
        self.write_locked(&mut sink);
        if let Some(old) = &sink.file {
            let _ = old.sync_data();
        }
        sink.file = Some(Arc::new(f));
        self.file_size.store(size, Ordering::Relaxed);
        self.synced
            .store(self.written.load(Ordering::Acquire), Ordering::Release);
        self.synced_tx
            .send_replace(self.synced.load(Ordering::Acquire));
        self.pending.lock().selected_db = None;
        Ok(())
    }

    /// Keeps the open descriptor after its file was renamed to `path` (nothing to reopen on
    /// POSIX; the size is refreshed).
    pub fn reopen(&self, path: &Path) -> io::Result<()> {
        let size = std::fs::metadata(path)?.len();
        self.file_size.store(size, Ordering::Relaxed);
        Ok(())
    }

    /// Writes out the buffer and syncs, then closes the file.
    pub fn close(&self) {
        let _ = self.flush_and_sync();
        let mut sink = self.sink.lock();
        sink.file = None;
        sink.error = None;
        self.failing.store(false, Ordering::Relaxed);
        self.file_size.store(0, Ordering::Relaxed);
        let mut p = self.pending.lock();
        p.buf.clear();
        p.selected_db = None;
        let appended = self.appended.load(Ordering::Acquire);
        self.written.store(appended, Ordering::Release);
        self.synced.store(appended, Ordering::Release);
        self.synced_tx.send_replace(appended);
    }

    /// Writes out whatever is buffered.
    pub fn write_pending(&self) {
        let mut sink = self.sink.lock();
        self.write_locked(&mut sink);
    }

    /// Writes out the buffer and fsyncs the file (rewrite start, shutdown, turning off).
    pub fn flush_and_sync(&self) -> io::Result<()> {
        let mut sink = self.sink.lock();
        self.write_locked(&mut sink);
        if let Some(e) = &sink.error {
            return Err(io::Error::other(e.clone()));
        }
        if let Some(f) = &sink.file {
            f.sync_data()?;
        }
        self.synced
            .store(self.written.load(Ordering::Acquire), Ordering::Release);
        self.synced_tx
            .send_replace(self.synced.load(Ordering::Acquire));
        Ok(())
    }

    /// Writes the buffer into the file; on failure keeps it for the next attempt and records
    /// the error (writes are refused with MISCONF meanwhile).
    fn write_locked(&self, sink: &mut Sink) {
        let Some(file) = sink.file.clone() else {
            return;
        };
        let data = {
            let mut p = self.pending.lock();
            if p.buf.is_empty() {
                return;
            }
            std::mem::take(&mut p.buf)
        };
        let size = self.file_size.load(Ordering::Relaxed);
        match (&*file).write_all(&data) {
            Ok(()) => {
                self.written.fetch_add(data.len() as u64, Ordering::Release);
                self.file_size
                    .store(size + data.len() as u64, Ordering::Relaxed);
                if self.failing.swap(false, Ordering::Relaxed) {
                    crate::warning!("AOF write error looks solved, Redis can write again.");
                }
                sink.error = None;
            }
            Err(e) => {
                // A partial write would leave half a command: cut the file back, keep the data.
                let _ = file.set_len(size);
                let msg = strerror(&e);
                crate::warning!("Error writing to the AOF file: {msg}");
                if self.policy() == Policy::Always {
                    crate::warning!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                    std::process::exit(1);
                }
                let mut p = self.pending.lock();
                let mut restored = data;
                restored.extend_from_slice(&p.buf);
                p.buf = restored;
                sink.error = Some(msg);
                self.failing.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Called before replies are sent: everything appended so far reaches the file, and with
    /// `appendfsync always` the disk (awaiting the sync thread). Cheap when there is nothing to
    /// do.
    pub async fn before_reply(&self) {
        let target = self.appended.load(Ordering::Acquire);
        let always = self.policy() == Policy::Always;
        let written = self.written.load(Ordering::Acquire);
        if written >= target && (!always || self.synced.load(Ordering::Acquire) >= target) {
            return;
        }
        self.write_pending();
        if !always || self.sink.lock().file.is_none() {
            return;
        }
        let mut rx = self.synced_tx.subscribe();
        *self.sync_wanted.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.sync_cv.notify_one();
        while *rx.borrow_and_update() < target && self.sink.lock().file.is_some() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// The sync thread's loop: syncs when a connection waits for it (`always`) and once a
    /// second (`everysec`), holding no lock while the disk works. Never returns.
    pub fn run_sync_thread(&self) {
        let mut last = std::time::Instant::now();
        loop {
            {
                let mut wanted = self.sync_wanted.lock().unwrap_or_else(|e| e.into_inner());
                while !*wanted && last.elapsed() < std::time::Duration::from_secs(1) {
                    let left = std::time::Duration::from_secs(1).saturating_sub(last.elapsed());
                    wanted = match self.sync_cv.wait_timeout(wanted, left) {
                        Ok((g, _)) => g,
                        Err(e) => e.into_inner().0,
                    };
                }
                *wanted = false;
            }
            let policy = self.policy();
            if last.elapsed() >= std::time::Duration::from_secs(1) {
                last = std::time::Instant::now();
                if policy == Policy::Everysec {
                    self.sync_once(false);
                }
            }
            if policy == Policy::Always {
                self.sync_once(true);
            }
        }
    }

    /// One fsync of what is written (writing the buffer first when `write` is set).
    fn sync_once(&self, write: bool) {
        let (file, upto) = {
            let mut sink = self.sink.lock();
            if write {
                self.write_locked(&mut sink);
            }
            (sink.file.clone(), self.written.load(Ordering::Acquire))
        };
        if upto > self.synced.load(Ordering::Acquire) {
            if let Some(f) = file {
                if f.sync_data().is_ok() {
                    self.synced.fetch_max(upto, Ordering::AcqRel);
                }
            }
        }
        self.synced_tx
            .send_replace(self.synced.load(Ordering::Acquire));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn selects_once_per_database_and_again_after_a_new_file() {
        let dir = std::env::temp_dir().join(format!("redoubt-aofw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = Writer::new();
        w.open(&dir.join("a")).unwrap();
        w.append(0, &argv(&["SET", "k", "v"]));
        w.append(0, &argv(&["DEL", "k"]));
        w.append(2, &argv(&["SET", "x", "y"]));
        w.write_pending();
        w.open(&dir.join("b")).unwrap();
        w.append(2, &argv(&["SET", "x", "z"]));
        w.flush_and_sync().unwrap();
        let a = std::fs::read(dir.join("a")).unwrap();
        let b = std::fs::read(dir.join("b")).unwrap();
        assert_eq!(
            a,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n"
        );
        assert_eq!(
            b,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\nz\r\n"
        );
        assert_eq!(w.file_size(), b.len() as u64);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn before_reply_waits_for_the_sync_thread_with_always() {
        let dir = std::env::temp_dir().join(format!("redoubt-aofw2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = Writer::new();
        w.set_policy(crate::config::AppendFsync::Always);
        w.open(&dir.join("a")).unwrap();
        for i in 0..100 {
            w.append(0, &argv(&["INCR", &i.to_string()]));
        }
        assert!(w.buffer_len() > 0);
        let w = Arc::new(w);
        let syncer = w.clone();
        std::thread::spawn(move || syncer.run_sync_thread());
        w.before_reply().await;
        assert_eq!(w.buffer_len(), 0);
        assert_eq!(
            w.synced.load(Ordering::Acquire),
            w.appended.load(Ordering::Acquire)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
