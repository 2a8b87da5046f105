//! The append-only file: Redis 7.0's multi-part layout (manifest, base, incremental files).

pub mod manifest;
pub mod reader;

pub mod writer;

use crate::child::{self, ChildKind, Exit, RunningChild};
use crate::config::AppendFsync;
use crate::state::State;
use bytes::Bytes;
use manifest::{AofFile, Manifest};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
pub use writer::Writer;

/// Redis's `aof_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `appendonly no`.
    Off,
    /// Every write is appended.
    On,
    /// Turned on at run time: the first rewrite is running, writes go to a temporary incr file.
    WaitRewrite,
}

/// The AOF's state under the server lock: on/off, the manifest, rewrite bookkeeping. The file
/// itself is behind [`Writer`], which connections use without the server lock.
pub struct AofState {
    /// On, off, or waiting for the first rewrite.
    pub status: Status,
    /// The buffer and the open file.
    pub writer: Arc<Writer>,
    /// Which files make up the AOF.
    pub manifest: Manifest,
    /// True while the AOF is replayed at start-up: nothing is propagated then.
    pub loading: bool,
    /// BGREWRITEAOF waits for the running child (`aof_rewrite_scheduled`).
    pub rewrite_scheduled: bool,
    /// Whether the last rewrite succeeded (`aof_last_bgrewrite_status`).
    pub last_rewrite_ok: bool,
    /// Successful rewrites since start (`aof_rewrites`).
    pub rewrites: u64,
    /// Failed rewrites in a row (`aof_rewrites_consecutive_failures`).
    pub consecutive_failures: u64,
    /// Seconds the last rewrite took (-1 before any).
    pub last_rewrite_secs: i64,
    /// Bytes of the AOF files other than the incr file being written.
    pub settled_size: u64,
    /// The AOF size after the last rewrite or load (`aof_base_size`), for automatic rewrites.
    pub rewrite_base_size: u64,
    /// The base the running rewrite will install, and whether writes go to a temp incr file.
    rewrite_target: Option<(AofFile, bool)>,
}

impl AofState {
    /// The state for `appendonly no` before anything is opened.
    pub fn new() -> AofState {
        AofState {
            status: Status::Off,
            writer: Arc::new(Writer::new()),
            manifest: Manifest::default(),
            loading: false,
            rewrite_scheduled: false,
            last_rewrite_ok: true,
            rewrites: 0,
            consecutive_failures: 0,
            last_rewrite_secs: -1,
            settled_size: 0,
            rewrite_base_size: 0,
            rewrite_target: None,
        }
    }

    /// `aof_current_size`: every file of the AOF.
    pub fn current_size(&self) -> u64 {
        self.settled_size + self.writer.file_size()
    }
}

impl Default for AofState {
    fn default() -> Self {
        AofState::new()
    }
}

/// The AOF directory (`appenddirname`, inside `dir`, which is the working directory).
fn aof_dir(st: &State) -> PathBuf {
    PathBuf::from(&st.cfg.appenddirname)
}

fn prefix(st: &State) -> String {
    st.cfg.appendfilename.clone()
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Hands one propagated command to the AOF, as Redis's `feedAppendOnlyFile`: while on, or while
/// the first rewrite's child runs (what came before the fork is in its snapshot).
pub fn feed(st: &mut State, db: usize, argv: &[Bytes]) {
    if st.aof.loading {
        return;
    }
    let feeding = match st.aof.status {
        Status::On => true,
        Status::WaitRewrite => st.persist.child_of(ChildKind::Aof).is_some(),
        Status::Off => false,
    };
    if feeding {
        st.aof.writer.append(db, argv);
    }
}

/// Applies `appendfsync` to the writer.
pub fn apply_fsync_policy(st: &State) {
    st.aof.writer.set_policy(st.cfg.appendfsync);
}

/// Writes the manifest through a temporary file, then syncs the directory (`persistAofManifest`).
fn persist_manifest(st: &State) -> io::Result<()> {
    let dir = aof_dir(st);
    let tmp = dir.join(Manifest::temp_manifest_name(&prefix(st)));
    let path = dir.join(Manifest::manifest_name(&prefix(st)));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&st.aof.manifest.to_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_dir(st: &State) -> io::Result<()> {
    let dir = aof_dir(st);
    match std::fs::create_dir(&dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            crate::warning!(
                "Can't open or create append-only dir {}: {}",
                dir.display(),
                e
            );
            Err(e)
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Start-up: load, then open for appending.
// ---------------------------------------------------------------------------------------------

/// With `appendonly yes` at start-up: loads the AOF (an RDB file is then ignored, as in Redis),
/// creates the base and incr files if there are none, and opens the last incr file. False
/// when it failed (logged): the server must exit.
pub fn start_at_boot(st: &mut State) -> bool {
    boot(st).is_ok()
}

fn boot(st: &mut State) -> Result<(), ()> {
    st.aof.status = Status::On;
    apply_fsync_policy(st);
    let dir = aof_dir(st);
    let manifest_path = dir.join(Manifest::manifest_name(&prefix(st)));
    match std::fs::read(&manifest_path) {
        Ok(bytes) => match Manifest::parse_detailed(&bytes) {
            Ok(m) => st.aof.manifest = m,
            Err(e) => {
                for line in e.log_lines() {
                    crate::warning!("{}", line.trim_end_matches('\n'));
                }
                return Err(());
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let old = PathBuf::from(&st.cfg.appendfilename);
            if old.is_file() {
                upgrade_old_style(st, &old)?;
            }
        }
        Err(e) => {
            crate::warning!(
                "Unable to open the AOF manifest file {}: {}",
                manifest_path.display(),
                e
            );
            return Err(());
        }
    }
    let loaded = !st.aof.manifest.is_empty();
    if loaded {
        let started = std::time::Instant::now();
        load_files(st)?;
        crate::notice!(
            "DB loaded from append only file: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    create_dir(st).map_err(|_| ())?;
    let mut changed = false;
    if st.aof.manifest.base.is_none() && st.aof.manifest.incrs.is_empty() {
        let rdb = st.cfg.aof_use_rdb_preamble;
        let base = st.aof.manifest.next_base(&prefix(st), rdb);
        let path = dir.join(&base.name);
        if let Err(e) = write_base_sync(st, &path, rdb) {
            crate::warning!("Failed to create the AOF base file {}: {}", base.name, e);
            return Err(());
        }
        crate::notice!("Creating AOF base file {} on server start", base.name);
        st.aof.manifest.finish_rewrite_with(base, false);
        changed = true;
    }
    let had_incr = !st.aof.manifest.incrs.is_empty();
    let incr = st.aof.manifest.last_or_new_incr(&prefix(st));
    if had_incr {
        crate::notice!("Opening AOF incr file {} on server start", incr.name);
    } else {
        crate::notice!("Creating AOF incr file {} on server start", incr.name);
        changed = true;
    }
    if let Err(e) = st.aof.writer.open(&dir.join(&incr.name)) {
        crate::warning!("Can't open the append-only file {}: {}", incr.name, e);
        return Err(());
    }
    if changed {
        if let Err(e) = persist_manifest(st) {
            crate::warning!("Can't persist the AOF manifest: {e}");
            return Err(());
        }
    }
    delete_history(st);
    // As Redis: the size counts the files loaded (not a base just created for an empty
    // dataset), and automatic rewrites compare it with the base file's size, the size at the
    // end of the last rewrite not being kept across restarts.
    if loaded {
        st.aof.settled_size = settled_size(st);
        st.aof.rewrite_base_size = st
            .aof
            .manifest
            .base
            .as_ref()
            .map_or(0, |b| file_size(&dir.join(&b.name)));
    } else {
        st.aof.settled_size = 0;
        st.aof.rewrite_base_size = 0;
    }
    Ok(())
}

/// Moves a Redis 6 single-file AOF into the AOF directory as its base (`aofUpgradePrepare`).
fn upgrade_old_style(st: &mut State, old: &Path) -> Result<(), ()> {
    create_dir(st).map_err(|_| ())?;
    let name = prefix(st);
    st.aof.manifest.adopt_old_style(&name);
    let moved = std::fs::rename(old, aof_dir(st).join(&name)).and_then(|_| persist_manifest(st));
    match moved {
        Ok(()) => {
            crate::notice!(
                "Successfully migrated an old-style AOF file ({name}) into the AOF directory ({}).",
                st.cfg.appenddirname
            );
            Ok(())
        }
        Err(e) => {
            crate::warning!("Error moving the old-style AOF {name} into the AOF directory: {e}");
            Err(())
        }
    }
}

/// Bytes of the base and every incr file but the last (the one open for appending).
fn settled_size(st: &State) -> u64 {
    let dir = aof_dir(st);
    let m = &st.aof.manifest;
    let incrs = &m.incrs[..m.incrs.len().saturating_sub(1)];
    m.base
        .iter()
        .chain(incrs)
        .map(|f| file_size(&dir.join(&f.name)))
        .sum()
}

/// Replays the base and incr files in order (`loadAppendOnlyFiles`).
fn load_files(st: &mut State) -> Result<(), ()> {
    let files: Vec<AofFile> = st.aof.manifest.load_order().cloned().collect();
    let dir = aof_dir(st);
    // Redis sizes every file before loading any: a file the manifest lists but the disk lacks
    // is fatal before anything is loaded.
    for f in &files {
        if let Err(e) = std::fs::metadata(dir.join(&f.name)) {
            crate::warning!(
                "Unable to obtain the AOF file {} length. stat: {}",
                f.name,
                writer::strerror(&e)
            );
            return Err(());
        }
    }
    st.aof.loading = true;
    st.ks.loading = true;
    if let Some(p) = &st.persist.load_progress {
        let total = files.iter().map(|f| file_size(&dir.join(&f.name))).sum();
        p.total_bytes
            .store(total, std::sync::atomic::Ordering::Relaxed);
    }
    let mut result = Ok(());
    let mut done_bytes = 0;
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let started = std::time::Instant::now();
        if let Some(p) = &st.persist.load_progress {
            p.set_loaded(done_bytes);
        }
        done_bytes += file_size(&dir.join(&f.name));
        if let Err(()) = load_one(st, &dir.join(&f.name), &f.name, last) {
            result = Err(());
            break;
        }
        let what = if st.aof.manifest.base.as_ref() == Some(f) {
            "base"
        } else {
            "incr"
        };
        crate::notice!(
            "DB loaded from {what} file {}: {:.3} seconds",
            f.name,
            started.elapsed().as_secs_f64()
        );
    }
    st.aof.loading = false;
    st.ks.loading = false;
    st.ks.dirty = 0;
    result
}

/// Loads one AOF file: an RDB image and/or commands (`loadSingleAppendOnlyFile`).
fn load_one(st: &mut State, path: &Path, name: &str, last: bool) -> Result<(), ()> {
    let data = match std::fs::read(path) {
        Ok(d) => Bytes::from(d),
        Err(e) => {
            crate::warning!(
                "{}",
                reader::msg::format(reader::msg::UNRECOVERABLE, &[&name, &writer::strerror(&e)])
            );
            return Err(());
        }
    };
    let mut start = 0;
    if reader::has_rdb_preamble(&data) {
        let is_base = st
            .aof
            .manifest
            .base
            .as_ref()
            .is_some_and(|b| b.name == name);
        crate::notice!(
            "{}",
            if is_base {
                reader::msg::READING_RDB_BASE
            } else {
                reader::msg::READING_RDB_PREAMBLE
            }
        );
        match crate::persist::load_rdb_bytes(st, &data) {
            Ok((_, end)) => start = end,
            Err(e) => {
                crate::warning!("{e}");
                let fmt = if is_base {
                    reader::msg::RDB_BASE_ERROR
                } else {
                    reader::msg::RDB_PREAMBLE_ERROR
                };
                crate::warning!("{}", reader::msg::format(fmt, &[&name]));
                return Err(());
            }
        }
        if start < data.len() {
            crate::notice!("{}", reader::msg::READING_AOF_TAIL);
        }
    }
    let done_before = st.persist.load_progress.as_ref().map_or(0, |p| {
        p.loaded_bytes.load(std::sync::atomic::Ordering::Relaxed)
    });
    let mut rd = reader::AofReader::starting_at(data, start);
    let mut replayed = 0u64;
    let (mut sess, mut out) = loader_session();
    let failure = loop {
        match rd.next_command() {
            Ok(Some(cmd)) => {
                replayed += 1;
                if let (Some(p), 0) = (&st.persist.load_progress, replayed % 1024) {
                    p.set_loaded(done_before + cmd.start as u64);
                }
                if crate::commands::lookup(&cmd.argv[0]).is_none() {
                    let cname = String::from_utf8_lossy(&cmd.argv[0]).into_owned();
                    crate::warning!(
                        "{}",
                        reader::msg::format(reader::msg::UNKNOWN_COMMAND, &[&cname, &name])
                    );
                    return Err(());
                }
                let now = crate::clock::unix_ms();
                crate::dispatch::dispatch(st, &mut sess, &mut out, &cmd.argv, now);
                out.buf.clear();
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let truncate_at = match failure {
        None => return Ok(()),
        Some(reader::ReadError::BadFormat { .. }) => {
            crate::warning!("{}", reader::msg::bad_format(name));
            return Err(());
        }
        Some(reader::ReadError::UnclosedMulti { revert_to }) => {
            crate::warning!("{}", reader::msg::revert_multi(name));
            revert_to
        }
        Some(reader::ReadError::Truncated { valid_up_to }) => valid_up_to,
    };
    if !last {
        crate::warning!("{}", reader::msg::TRUNCATED_NOT_LAST);
        return Err(());
    }
    if !st.cfg.aof_load_truncated {
        crate::warning!("{}", reader::msg::unexpected_eof(name));
        return Err(());
    }
    let truncated = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(truncate_at as u64));
    if let Err(e) = truncated {
        crate::warning!(
            "{}",
            reader::msg::format(reader::msg::TRUNCATE_FAILED, &[&name, &e])
        );
        crate::warning!("{}", reader::msg::unexpected_eof(name));
        return Err(());
    }
    for line in reader::msg::truncated_loaded(name, truncate_at as u64) {
        crate::warning!("{line}");
    }
    Ok(())
}

/// The fake client that replays the AOF: authenticated, never registered, replies dropped.
fn loader_session() -> (crate::client::Session, resp::Out) {
    let handle = Arc::new(crate::client::ClientHandle::default());
    (
        crate::client::Session::new(u64::MAX, true, handle),
        resp::Out::new(resp::Protocol::Resp2),
    )
}

// ---------------------------------------------------------------------------------------------
// Base files and rewrites.
// ---------------------------------------------------------------------------------------------

/// Writes the dataset as a base file at `path` (RDB image or commands), through a temporary
/// file in the same directory, synced.
fn write_base_sync(st: &State, path: &Path, rdb: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let tmp = dir.join(format!("temp-rewriteaof-{}.aof", std::process::id()));
    let r = write_base(st, &tmp, rdb).and_then(|_| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Writes the dataset into a new file at `path` and syncs it.
fn write_base(st: &State, path: &Path, rdb: bool) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    let file = if rdb {
        crate::persist::write_snapshot(st, file, true)?
    } else {
        let mut w = io::BufWriter::new(file);
        let mut buf = Vec::with_capacity(64 * 1024);
        // Function libraries first, as Redis's rewriteFunctions.
        for code in st.scripting.library_codes() {
            let load = [
                Bytes::from_static(b"FUNCTION"),
                Bytes::from_static(b"LOAD"),
                code,
            ];
            writer::encode_command(&mut buf, &load);
        }
        for (n, db) in st.ks.dbs.iter().enumerate() {
            if db.data.is_empty() {
                continue;
            }
            let select = [Bytes::from_static(b"SELECT"), Bytes::from(n.to_string())];
            writer::encode_command(&mut buf, &select);
            for (key, entry) in db.data.iter() {
                let expire = db.expires.get(&key[..]).copied();
                store::rewrite::rewrite_commands(key, &entry.value, expire, &mut buf);
                if buf.len() >= 64 * 1024 {
                    w.write_all(&buf)?;
                    buf.clear();
                }
            }
        }
        w.write_all(&buf)?;
        w.into_inner().map_err(|e| e.into_error())?
    };
    file.sync_all()
}

/// Starts a rewrite in a forked child (`rewriteAppendOnlyFileBackground`): with the AOF on, a
/// new incr file takes the writes from now on; the child writes the new base of the dataset as
/// of the fork. False when it could not start (logged).
pub fn rewrite_background(st: &mut State) -> bool {
    if st.persist.child.is_some() {
        return false;
    }
    if read_manifest_if_unread(st).is_err() {
        st.aof.last_rewrite_ok = false;
        return false;
    }
    if create_dir(st).is_err() {
        st.aof.last_rewrite_ok = false;
        return false;
    }
    let dir = aof_dir(st);
    let pre = prefix(st);
    let temp_incr = match st.aof.status {
        Status::On => {
            // Everything so far goes to the current incr; a new one starts now.
            if let Err(e) = st.aof.writer.flush_and_sync() {
                crate::warning!("Can't flush the AOF before a rewrite: {e}");
                return false;
            }
            let closed = st.aof.writer.file_size();
            let incr = st.aof.manifest.start_new_incr(&pre);
            if let Err(e) = st.aof.writer.open(&dir.join(&incr.name)) {
                crate::warning!("Can't open the append-only file {}: {}", incr.name, e);
                st.aof.manifest.incrs.pop();
                st.aof.manifest.cur_incr_seq -= 1;
                return false;
            }
            if let Err(e) = persist_manifest(st) {
                crate::warning!("Can't persist the AOF manifest: {e}");
                return false;
            }
            st.aof.settled_size += closed;
            crate::notice!("Creating AOF incr file {} on background rewrite", incr.name);
            false
        }
        Status::WaitRewrite => {
            let name = Manifest::temp_incr_name(&pre);
            if let Err(e) = st.aof.writer.open_truncated(&dir.join(&name)) {
                crate::warning!("Can't open the append-only file {name}: {e}");
                return false;
            }
            crate::notice!("Creating AOF incr file {name} on background rewrite");
            true
        }
        Status::Off => false,
    };
    let rdb = st.cfg.aof_use_rdb_preamble;
    let base = st.aof.manifest.next_base(&pre, rdb);
    let snapshot: &State = st;
    let forked = child::fork_and_run(|| {
        let pid = std::process::id();
        let tmp = PathBuf::from(format!("temp-rewriteaof-{pid}.aof"));
        let done = PathBuf::from(format!("temp-rewriteaof-bg-{pid}.aof"));
        match write_base(snapshot, &tmp, rdb).and_then(|_| std::fs::rename(&tmp, &done)) {
            Ok(()) => {
                crate::notice!(
                    "Successfully created the temporary AOF base file {}",
                    done.display()
                );
                crate::persist::log_cow("AOF rewrite");
                0
            }
            Err(e) => {
                crate::warning!("Write error writing append only file on disk: {e}");
                let _ = std::fs::remove_file(&tmp);
                1
            }
        }
    });
    match forked {
        Ok(f) => {
            crate::notice!(
                "Background append only file rewriting started by pid {}",
                f.pid
            );
            st.persist.total_forks += 1;
            st.persist.latest_fork_usec = f.fork_usec;
            st.persist.child = Some(RunningChild {
                pid: f.pid,
                kind: ChildKind::Aof,
                start_unix: crate::clock::unix_ms() / 1000,
                started: std::time::Instant::now(),
                info_fd: f.info_fd,
            });
            st.aof.rewrite_scheduled = false;
            st.aof.rewrite_target = Some((base, temp_incr));
            true
        }
        Err(e) => {
            crate::warning!("Can't rewrite append only file in background: fork: {e}");
            st.aof.last_rewrite_ok = false;
            false
        }
    }
}

/// Reads the manifest a previous run left when the AOF has been off since start-up. Redis reads
/// it at start-up whatever `appendonly` says (`aofLoadManifestFromDisk`), so that a rewrite
/// (BGREWRITEAOF, `CONFIG SET appendonly yes`) continues its numbering instead of reusing the
/// names of files the old manifest still lists, and removes the files it supersedes.
fn read_manifest_if_unread(st: &mut State) -> Result<(), ()> {
    let m = &st.aof.manifest;
    if m.base.is_some() || !m.incrs.is_empty() || !m.history.is_empty() {
        return Ok(());
    }
    let path = aof_dir(st).join(Manifest::manifest_name(&prefix(st)));
    match std::fs::read(&path) {
        Ok(bytes) => match Manifest::parse_detailed(&bytes) {
            Ok(m) => {
                st.aof.manifest = m;
                Ok(())
            }
            Err(e) => {
                for line in e.log_lines() {
                    crate::warning!("{}", line.trim_end_matches('\n'));
                }
                Err(())
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => {
            crate::warning!(
                "Unable to open the AOF manifest file {}: {}",
                path.display(),
                writer::strerror(&e)
            );
            Err(())
        }
    }
}

/// What follows the end of a rewrite child (`backgroundRewriteDoneHandler`).
pub fn rewrite_done(st: &mut State, c: &RunningChild, exit: Exit, now_ms: i64) {
    let target = st.aof.rewrite_target.take();
    st.aof.last_rewrite_secs = now_ms / 1000 - c.start_unix;
    let ok = match exit {
        Exit::Code(0) => {
            crate::notice!("Background AOF rewrite terminated with success");
            match target {
                Some((base, temp_incr)) => install_rewrite(st, c.pid, base, temp_incr).is_ok(),
                None => false,
            }
        }
        Exit::Code(_) => {
            crate::warning!("Background AOF rewrite terminated with error");
            false
        }
        Exit::Signal(sig) => {
            if sig != libc::SIGUSR1 {
                crate::warning!("Background AOF rewrite terminated by signal {sig}");
            }
            false
        }
    };
    if ok {
        st.aof.last_rewrite_ok = true;
        st.aof.rewrites += 1;
        st.aof.consecutive_failures = 0;
        crate::notice!("Background AOF rewrite finished successfully");
    } else {
        remove_temp_base(st, c.pid);
        st.aof.last_rewrite_ok = false;
        st.aof.consecutive_failures += 1;
        if st.aof.status == Status::WaitRewrite {
            // The AOF is not on until a rewrite succeeds: try again from the cron.
            st.aof.rewrite_scheduled = true;
        }
    }
}

/// Moves the child's base into the AOF directory and switches the manifest to it.
fn install_rewrite(
    st: &mut State,
    pid: libc::pid_t,
    base: AofFile,
    temp_incr: bool,
) -> Result<(), ()> {
    let dir = aof_dir(st);
    let pre = prefix(st);
    let tmp = format!("temp-rewriteaof-bg-{pid}.aof");
    if let Err(e) = std::fs::rename(&tmp, dir.join(&base.name)) {
        crate::warning!(
            "Error trying to rename the temporary AOF base file {tmp} into {}: {e}",
            base.name
        );
        return Err(());
    }
    crate::notice!(
        "Successfully renamed the temporary AOF base file {tmp} into {}",
        base.name
    );
    let keep_incr = st.aof.status != Status::Off;
    if temp_incr {
        let from = Manifest::temp_incr_name(&pre);
        let incr = st.aof.manifest.start_new_incr(&pre);
        if let Err(e) = std::fs::rename(dir.join(&from), dir.join(&incr.name)) {
            crate::warning!(
                "Error trying to rename the temporary AOF incr file {from} into {}: {e}",
                incr.name
            );
            return Err(());
        }
        let _ = st.aof.writer.reopen(&dir.join(&incr.name));
        crate::notice!(
            "Successfully renamed the temporary AOF incr file {from} into {}",
            incr.name
        );
    }
    st.aof.manifest.finish_rewrite_with(base, keep_incr);
    if let Err(e) = persist_manifest(st) {
        crate::warning!("Can't persist the AOF manifest: {e}");
        return Err(());
    }
    delete_history(st);
    if st.aof.status == Status::WaitRewrite {
        st.aof.status = Status::On;
    }
    st.aof.settled_size = settled_size(st);
    st.aof.rewrite_base_size = st.aof.current_size();
    Ok(())
}

/// Deletes the files a rewrite superseded and drops them from the manifest
/// (`aofDelHistoryFiles`).
fn delete_history(st: &mut State) {
    let history = st.aof.manifest.take_history();
    if history.is_empty() {
        return;
    }
    let dir = aof_dir(st);
    for f in history {
        crate::notice!("Removing the history file {} in the background", f.name);
        let _ = std::fs::remove_file(dir.join(&f.name));
    }
    if let Err(e) = persist_manifest(st) {
        crate::warning!("Can't persist the AOF manifest: {e}");
    }
}

/// Removes the base file a failed or killed rewrite child was writing.
pub fn remove_temp_base(_st: &State, pid: libc::pid_t) {
    let _ = std::fs::remove_file(format!("temp-rewriteaof-{pid}.aof"));
    let _ = std::fs::remove_file(format!("temp-rewriteaof-bg-{pid}.aof"));
}

// ---------------------------------------------------------------------------------------------
// Turning the AOF on and off, the cron, shutdown, errors.
// ---------------------------------------------------------------------------------------------

/// `CONFIG SET appendonly yes` (`startAppendOnly`): the AOF turns on once a first rewrite has
/// written a base of the current dataset. False when that cannot even start.
pub fn start(st: &mut State, in_exec: bool) -> bool {
    if st.aof.status != Status::Off {
        return true;
    }
    st.aof.status = Status::WaitRewrite;
    apply_fsync_policy(st);
    match st.persist.child.as_ref().map(|c| c.kind) {
        Some(ChildKind::Rdb) => {
            st.aof.rewrite_scheduled = true;
            crate::warning!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        }
        _ if in_exec => st.aof.rewrite_scheduled = true,
        other => {
            if other == Some(ChildKind::Aof) {
                crate::warning!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                crate::persist::kill_child(st);
            }
            if !rewrite_background(st) {
                st.aof.status = Status::Off;
                crate::warning!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
                return false;
            }
        }
    }
    true
}

/// `CONFIG SET appendonly no` (`stopAppendOnly`): flushes and closes the file and stops a
/// rewrite in progress.
pub fn stop(st: &mut State) {
    if st.aof.status == Status::Off {
        return;
    }
    let _ = st.aof.writer.flush_and_sync();
    if st.persist.child_of(ChildKind::Aof).is_some() {
        if let Some(c) = &st.persist.child {
            crate::notice!("Killing running AOF rewrite child: {}", c.pid);
        }
        crate::persist::kill_child(st);
        st.aof.rewrite_target = None;
    }
    st.aof.writer.close();
    st.aof.status = Status::Off;
    st.aof.rewrite_scheduled = false;
}

/// After a replica loaded its primary's snapshot the AOF no longer describes the dataset: it
/// is stopped and started again, which rewrites it from the new data (Redis's
/// `restartAOFAfterSYNC`).
pub fn restart_after_sync(st: &mut State) {
    stop(st);
    if !start(st, false) {
        crate::warning!("Failed enabling the AOF after successful master synchronization! Trying it again in one second.");
    }
}

/// From the server cron: writes what propagated without a client waiting (expiries), starts a
/// scheduled rewrite, or an automatic one when the AOF grew past its limits.
pub fn cron(st: &mut State) {
    if st.aof.status != Status::Off {
        st.aof.writer.write_pending();
    }
    if st.persist.child.is_some() {
        return;
    }
    if st.aof.rewrite_scheduled {
        rewrite_background(st);
        return;
    }
    let perc = st.cfg.auto_aof_rewrite_percentage;
    let size = st.aof.current_size();
    if st.aof.status == Status::On && perc > 0 && size as i64 > st.cfg.auto_aof_rewrite_min_size {
        let base = st.aof.rewrite_base_size.max(1);
        let growth = (size * 100 / base) as i64 - 100;
        if growth >= perc {
            crate::notice!("Starting automatic rewriting of AOF on {growth}% growth");
            rewrite_background(st);
        }
    }
}

/// Writes and fsyncs what the AOF buffer holds before the process exits.
pub fn flush_for_shutdown(st: &mut State) {
    if st.aof.status != Status::Off {
        crate::notice!("Calling fsync() on the AOF file.");
        let _ = st.aof.writer.flush_and_sync();
    }
}

/// The MISCONF error while writing the AOF fails, if it does.
pub fn disk_error(st: &State) -> Option<String> {
    if st.aof.status == Status::Off {
        return None;
    }
    st.aof
        .writer
        .last_error()
        .map(|e| format!("MISCONF Errors writing to the AOF file: {e}"))
}

/// BGREWRITEAOF
pub fn bgrewriteaof_command(ex: &mut crate::dispatch::Exec) {
    let st = &mut *ex.st;
    if st.persist.child_of(ChildKind::Aof).is_some() {
        ex.out
            .error("ERR Background append only file rewriting already in progress");
    } else if st.persist.child.is_some() || ex.sess.in_exec {
        st.aof.rewrite_scheduled = true;
        st.aof.consecutive_failures = 0;
        ex.out
            .simple("Background append only file rewriting scheduled");
    } else if rewrite_background(st) {
        ex.out
            .simple("Background append only file rewriting started");
    } else {
        ex.out.error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
    }
}

/// `appendfsync` as the writer's policy.
pub fn policy_of(p: AppendFsync) -> writer::Policy {
    match p {
        AppendFsync::Always => writer::Policy::Always,
        AppendFsync::Everysec => writer::Policy::Everysec,
        AppendFsync::No => writer::Policy::No,
    }
}
