//! RDB snapshots: SAVE, BGSAVE (in a forked child, see [`crate::child`]), save points,
//! SHUTDOWN SAVE, DEBUG RELOAD, the MISCONF write stop and loading at start-up.

use crate::child::{self, ChildKind, Exit, RunningChild};
use crate::state::State;
use std::io;
use std::path::{Path, PathBuf};

/// Seconds between retries of a failed background save (Redis's CONFIG_BGSAVE_RETRY_DELAY).
const BGSAVE_RETRY_DELAY: i64 = 5;

/// The error write commands get while the last background save failed.
pub const MISCONF_RDB: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// What INFO persistence and LASTSAVE report, and the background-save bookkeeping.
#[derive(Debug, Clone)]
pub struct PersistState {
    /// Unix seconds of the last successful save (the start time initially).
    pub lastsave: i64,
    /// Successful saves since start (`rdb_saves`).
    pub rdb_saves: u64,
    /// Keys loaded by the last load (`rdb_last_load_keys_loaded`).
    pub last_load_keys_loaded: u64,
    /// Keys skipped as expired by the last load (`rdb_last_load_keys_expired`).
    pub last_load_keys_expired: u64,
    /// The forked child, if one runs (at most one, as in Redis).
    pub child: Option<RunningChild>,
    /// Whether the last background save succeeded (`rdb_last_bgsave_status`).
    pub lastbgsave_ok: bool,
    /// Unix seconds of the last background-save attempt.
    pub lastbgsave_try: i64,
    /// The dirty counter when the running BGSAVE forked.
    pub dirty_before_bgsave: u64,
    /// BGSAVE SCHEDULE is waiting for the running child to end.
    pub bgsave_scheduled: bool,
    /// Seconds the last background save took (`rdb_last_bgsave_time_sec`, -1 before any).
    pub last_bgsave_secs: i64,
    /// Forks since start (`total_forks`).
    pub total_forks: u64,
    /// Microseconds the last fork took (`latest_fork_usec`).
    pub latest_fork_usec: u64,
    /// Copy-on-write bytes of the last BGSAVE child (`rdb_last_cow_size`).
    pub rdb_last_cow_size: u64,
    /// Copy-on-write bytes of the last AOF rewrite child (`aof_last_cow_size`).
    pub aof_last_cow_size: u64,
    /// Where a loader reports its progress (the start-up load).
    pub load_progress: Option<std::sync::Arc<LoadProgress>>,
    /// The running RDB child streams to replicas' sockets, not to the file.
    pub rdb_to_socket: bool,
    /// Replication info found in the last RDB loaded (`repl-id`, `repl-offset`, ...).
    pub loaded_repl: Option<rdb::ReplAux>,
}

impl PersistState {
    /// The state at start-up, `now_secs` being the start time.
    pub fn new(now_secs: i64) -> PersistState {
        PersistState {
            lastsave: now_secs,
            rdb_saves: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            child: None,
            lastbgsave_ok: true,
            lastbgsave_try: 0,
            dirty_before_bgsave: 0,
            bgsave_scheduled: false,
            last_bgsave_secs: -1,
            total_forks: 0,
            latest_fork_usec: 0,
            rdb_last_cow_size: 0,
            aof_last_cow_size: 0,
            load_progress: None,
            rdb_to_socket: false,
            loaded_repl: None,
        }
    }

    /// The running child of `kind`, if any.
    pub fn child_of(&self, kind: ChildKind) -> Option<&RunningChild> {
        self.child.as_ref().filter(|c| c.kind == kind)
    }
}

/// How far the start-up load has come (INFO persistence `loading_*`), updated by the loader.
#[derive(Debug, Default)]
pub struct LoadProgress {
    /// Unix seconds when loading started.
    pub start_unix: i64,
    /// Bytes of all files to load.
    pub total_bytes: std::sync::atomic::AtomicU64,
    /// Bytes loaded so far.
    pub loaded_bytes: std::sync::atomic::AtomicU64,
}

impl LoadProgress {
    /// Records that `bytes` have been loaded.
    pub fn set_loaded(&self, bytes: u64) {
        self.loaded_bytes
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The RDB file's path (`dbfilename`, relative to `dir`, which is the working directory).
pub fn rdb_path(st: &State) -> PathBuf {
    PathBuf::from(&st.cfg.dbfilename)
}

/// Writes every database to `path` through `temp-<pid>.rdb` in the same directory, then fsyncs
/// and renames it, as Redis's `rdbSave`. Logs as Redis does; on success resets the dirty counter
/// and updates LASTSAVE.
pub fn save_rdb(st: &mut State, path: &Path) -> io::Result<()> {
    write_rdb(st, path)?;
    st.ks.dirty = 0;
    st.persist.lastsave = crate::clock::unix_ms() / 1000;
    st.persist.lastbgsave_ok = true;
    st.persist.rdb_saves += 1;
    Ok(())
}

/// The file part of [`save_rdb`], which a BGSAVE child runs against its copy of the state.
fn write_rdb(st: &State, path: &Path) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let file = match std::fs::File::create(&tmp) {
        Ok(f) => f,
        Err(e) => {
            let cwd = std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "unknown".into());
            crate::warning!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
                tmp.display(),
                cwd,
                e
            );
            return Err(e);
        }
    };
    let r = write_file(st, file).and_then(|f| {
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    });
    match r {
        Ok(()) => {
            crate::notice!("DB saved on disk");
            Ok(())
        }
        Err(e) => {
            crate::warning!("Write error saving DB on disk: {}", e);
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_file(st: &State, file: std::fs::File) -> io::Result<std::fs::File> {
    write_snapshot(st, file, false)
}

/// Writes the whole dataset as an RDB image into `file` (marked as an AOF base when
/// `aof_base`), returning the file flushed but not synced.
pub fn write_snapshot(
    st: &State,
    file: std::fs::File,
    aof_base: bool,
) -> io::Result<std::fs::File> {
    let mut opts = store::rdbconv::encode_options(&st.ks.limits);
    opts.compression = st.cfg.rdbcompression;
    opts.checksum = st.cfg.rdbchecksum;
    let mut enc = rdb::Encoder::new(io::BufWriter::new(file), opts)?;
    enc.write_aux_fields(&rdb::AuxFields {
        redis_ver: crate::REDIS_VERSION.to_string(),
        ctime: crate::clock::unix_ms() / 1000,
        used_mem: crate::info::used_memory(),
        repl: st.repl.save_info(),
        aof_base,
    })?;
    for code in st.scripting.library_codes() {
        enc.write_function(&code)?;
    }
    for (n, db) in st.ks.dbs.iter().enumerate() {
        if db.data.is_empty() {
            continue;
        }
        enc.write_select_db(n as u64)?;
        enc.write_resize_db(db.data.len() as u64, db.expires.len() as u64)?;
        for (key, entry) in db.data.iter() {
            let mut e = rdb::Entry::new(key.to_vec(), store::rdbconv::to_rdb(&entry.value));
            e.expire_ms = db.expires.get(&key[..]).copied();
            enc.write_entry(&e)?;
        }
    }
    let w = enc.finish()?;
    w.into_inner().map_err(|e| e.into_error())
}

/// Loads `path` into the (empty) keyspace; a missing file is an empty dataset. Keys already
/// expired are skipped on a primary. Returns the number of keys loaded; the error is the line
/// Redis logs before aborting.
pub fn load_rdb(st: &mut State, path: &Path) -> Result<usize, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    load_rdb_bytes(st, &bytes).map(|(loaded, _)| loaded)
}

/// Loads an RDB image from the start of `bytes` into the keyspace. Returns the keys loaded and
/// where the image ended (an AOF file may continue with commands after it).
pub fn load_rdb_bytes(st: &mut State, bytes: &[u8]) -> Result<(usize, usize), String> {
    let opts = rdb::DecodeOptions {
        verify_checksum: st.cfg.rdbchecksum,
        ..rdb::DecodeOptions::default()
    };
    let describe = |e: rdb::Error| match e {
        rdb::Error::ChecksumMismatch { stored, computed } => {
            format!("Wrong RDB checksum expected: ({computed:x}) got ({stored:x}). Aborting now.")
        }
        rdb::Error::BadMagic => "Wrong signature trying to load DB from file".to_string(),
        rdb::Error::UnsupportedVersion(v) => format!("Can't handle RDB format version {v}"),
        _ => "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string(),
    };
    let mut decoder = rdb::PushDecoder::new(opts);
    decoder.feed(bytes);
    decoder.finish();
    let now = crate::clock::unix_ms();
    let (mut db, mut loaded, mut expired) = (0usize, 0usize, 0u64);
    let mut saved_repl = rdb::ReplAux {
        stream_db: 0,
        repl_id: String::new(),
        repl_offset: -1,
    };
    let progress = st.persist.load_progress.clone();
    let mut functions: Vec<Vec<u8>> = Vec::new();
    let loaded_before = progress.as_ref().map_or(0, |p| {
        p.loaded_bytes.load(std::sync::atomic::Ordering::Relaxed)
    });
    while let Some(item) = decoder.next_item().map_err(describe)? {
        if let (Some(p), 0) = (&progress, loaded % 1024) {
            p.set_loaded(loaded_before + decoder.position());
        }
        match item {
            rdb::Item::Aux { key, value } => {
                if key == b"redis-ver" {
                    crate::notice!(
                        "Loading RDB produced by version {}",
                        String::from_utf8_lossy(&value)
                    );
                } else if key == b"ctime" {
                    if let Ok(t) = String::from_utf8_lossy(&value).parse::<i64>() {
                        crate::notice!("RDB age {} seconds", (now / 1000 - t).max(0));
                    }
                } else if key == b"repl-id" {
                    saved_repl.repl_id = String::from_utf8_lossy(&value).into_owned();
                } else if key == b"repl-offset" {
                    saved_repl.repl_offset = store::num::parse_i64(&value).unwrap_or(-1);
                } else if key == b"repl-stream-db" {
                    saved_repl.stream_db = store::num::parse_i64(&value).unwrap_or(0);
                } else if key == b"aof-base" && value.as_slice() != b"0" {
                    crate::notice!("RDB is base AOF");
                } else if key == b"used-mem" {
                    if let Ok(m) = String::from_utf8_lossy(&value).parse::<u64>() {
                        crate::notice!(
                            "RDB memory usage when created {:.2} Mb",
                            m as f64 / (1024.0 * 1024.0)
                        );
                    }
                }
            }
            rdb::Item::SelectDb(n) => {
                if n as usize >= st.ks.dbs.len() {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                        st.ks.dbs.len()
                    ));
                }
                db = n as usize;
            }
            rdb::Item::Entry(e) => {
                if matches!(e.expire_ms, Some(t) if t < now) && st.ks.deletes_on_past_deadline() {
                    expired += 1;
                    continue;
                }
                let value = store::rdbconv::from_rdb(e.value, &st.ks.limits).map_err(|_| {
                    "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string()
                })?;
                let lru = st.ks.lru_clock();
                let entry = store::Entry { value, lru };
                if !st.ks.load_entry(db, &e.key, entry, e.expire_ms) {
                    return Err(format!(
                        "RDB has duplicated key '{}' in DB {}",
                        String::from_utf8_lossy(&e.key),
                        db
                    ));
                }
                loaded += 1;
            }
            rdb::Item::ResizeDb {
                db_size,
                expires_size,
            } => {
                // A hint from the file: bounded by its length so a corrupt one cannot make us
                // allocate without limit (every key takes more than one byte).
                let cap = bytes.len() as u64;
                st.ks.expand_db(db, db_size.min(cap), expires_size.min(cap));
            }
            rdb::Item::Function(code) => functions.push(code),
            _ => {}
        }
    }
    if !decoder.is_done() {
        return Err(describe(rdb::Error::Truncated));
    }
    // The image's libraries replace the current ones (DEBUG RELOAD empties them first too).
    crate::script::function::load_from_rdb(st, &functions)?;
    crate::notice!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.");
    st.persist.last_load_keys_loaded = loaded as u64;
    st.persist.last_load_keys_expired = expired;
    st.persist.loaded_repl =
        (saved_repl.repl_id.len() == 40 && saved_repl.repl_offset >= 0).then_some(saved_repl);
    st.ks.dirty = 0;
    Ok((loaded, decoder.position() as usize))
}

/// Starts a background save in a forked child (BGSAVE, save points); false when a child already
/// runs or fork(2) fails (logged, and the save counts as failed for MISCONF).
pub fn bgsave(st: &mut State) -> bool {
    if st.persist.child.is_some() {
        return false;
    }
    let now = crate::clock::unix_ms() / 1000;
    st.persist.dirty_before_bgsave = st.ks.dirty;
    st.persist.lastbgsave_try = now;
    let path = rdb_path(st);
    let snapshot: &State = st;
    let forked = child::fork_and_run(|| {
        if write_rdb(snapshot, &path).is_ok() {
            log_cow("RDB");
            0
        } else {
            1
        }
    });
    match forked {
        Ok(f) => {
            crate::notice!("Background saving started by pid {}", f.pid);
            st.persist.total_forks += 1;
            st.persist.latest_fork_usec = f.fork_usec;
            st.persist.child = Some(RunningChild {
                pid: f.pid,
                kind: ChildKind::Rdb,
                start_unix: now,
                started: std::time::Instant::now(),
                info_fd: f.info_fd,
            });
            true
        }
        Err(e) => {
            st.persist.lastbgsave_ok = false;
            crate::warning!("Can't save in background: fork: {e}");
            false
        }
    }
}

/// Logs, in a child, how much memory copy-on-write cost (Private_Dirty of the whole process).
pub fn log_cow(what: &str) {
    let mb = child::private_dirty_bytes() >> 20;
    crate::notice!("Fork CoW for {what}: current {mb} MB, peak {mb} MB, average {mb} MB");
}

/// Housekeeping, from the server cron: reaps an ended child, then starts a scheduled BGSAVE or
/// one a save point calls for.
pub fn cron(st: &mut State, now_ms: i64) {
    if let Some(c) = st.persist.child.clone() {
        if let Some(exit) = child::try_reap(c.pid) {
            child_done(st, &c, exit, now_ms);
        }
    }
    if st.persist.child.is_some() {
        return;
    }
    let now = now_ms / 1000;
    let may_retry =
        st.persist.lastbgsave_ok || now - st.persist.lastbgsave_try > BGSAVE_RETRY_DELAY;
    if st.persist.bgsave_scheduled && may_retry && bgsave(st) {
        st.persist.bgsave_scheduled = false;
        return;
    }
    let due = st.cfg.save.iter().copied().find(|&(secs, changes)| {
        st.ks.dirty >= changes as u64 && now - st.persist.lastsave > secs && may_retry
    });
    if let Some((secs, changes)) = due {
        crate::notice!("{changes} changes in {secs} seconds. Saving...");
        bgsave(st);
    }
}

/// What follows the end of a child, as Redis's `backgroundSaveDoneHandler`.
fn child_done(st: &mut State, c: &RunningChild, exit: Exit, now_ms: i64) {
    st.persist.child = None;
    let cow = child::read_cow(c.info_fd);
    if exit == Exit::Code(0) {
        match c.kind {
            ChildKind::Rdb => st.persist.rdb_last_cow_size = cow,
            ChildKind::Aof => st.persist.aof_last_cow_size = cow,
        }
    }
    match c.kind {
        ChildKind::Rdb if st.persist.rdb_to_socket => {
            crate::repl::primary::socket_sync_done(st, exit == Exit::Code(0));
        }
        ChildKind::Rdb => {
            match exit {
                Exit::Code(0) => {
                    crate::notice!("Background saving terminated with success");
                    st.ks.dirty = st.ks.dirty.saturating_sub(st.persist.dirty_before_bgsave);
                    st.persist.lastsave = now_ms / 1000;
                    st.persist.lastbgsave_ok = true;
                    st.persist.rdb_saves += 1;
                }
                Exit::Code(_) => {
                    crate::warning!("Background saving error");
                    st.persist.lastbgsave_ok = false;
                }
                Exit::Signal(sig) => {
                    crate::warning!("Background saving terminated by signal {sig}");
                    remove_temp_rdb(c.pid);
                    if sig != libc::SIGUSR1 {
                        st.persist.lastbgsave_ok = false;
                    }
                }
            }
            st.persist.last_bgsave_secs = now_ms / 1000 - c.start_unix;
            crate::repl::primary::disk_sync_done(st, exit == Exit::Code(0));
        }
        ChildKind::Aof => crate::aof::rewrite_done(st, c, exit, now_ms),
    }
}

fn remove_temp_rdb(pid: libc::pid_t) {
    let _ = std::fs::remove_file(format!("temp-{pid}.rdb"));
}

/// Kills a running child before SHUTDOWN, FLUSHALL or turning the AOF off, as Redis does,
/// and removes what it was writing.
pub fn kill_child(st: &mut State) {
    let Some(c) = st.persist.child.take() else {
        return;
    };
    match c.kind {
        ChildKind::Rdb => crate::warning!("There is a child saving an .rdb. Killing it!"),
        ChildKind::Aof => crate::warning!("There is a child rewriting the AOF. Killing it!"),
    }
    child::kill_and_reap(c.pid);
    child::read_cow(c.info_fd);
    match c.kind {
        ChildKind::Rdb if st.persist.rdb_to_socket => {
            crate::repl::primary::socket_sync_done(st, false)
        }
        ChildKind::Rdb => {
            remove_temp_rdb(c.pid);
            crate::repl::primary::disk_sync_done(st, false);
        }
        ChildKind::Aof => crate::aof::remove_temp_base(st, c.pid),
    }
}

/// After FLUSHALL, as Redis's `flushAllDataAndResetRDB`: a running BGSAVE is stale, so it is
/// killed, and with save points the (now empty) dataset is saved at once; the flush itself
/// still counts as a change.
pub fn after_flushall(st: &mut State) {
    if st.aof.loading {
        return;
    }
    if st.persist.child_of(ChildKind::Rdb).is_some() {
        kill_child(st);
    }
    if !st.cfg.save.is_empty() {
        let path = rdb_path(st);
        let _ = save_rdb(st, &path);
    }
    st.ks.dirty += 1;
}

/// What SHUTDOWN and the shutdown signals do before the process exits, as Redis's
/// `prepareForShutdown`: kill a running child, flush the AOF, and save an RDB when save points
/// are configured (or SAVE is asked) unless NOSAVE. False when saving failed without FORCE:
/// the server then keeps running.
pub fn prepare_for_shutdown(st: &mut State, flags: u32) -> bool {
    use crate::config::shutdown;
    kill_child(st);
    crate::aof::flush_for_shutdown(st);
    // A half-loaded dataset must never replace the files it is loading from.
    let wanted = st.loading.is_none()
        && (flags & shutdown::SAVE != 0
            || (!st.cfg.save.is_empty() && flags & shutdown::NOSAVE == 0));
    if wanted {
        crate::notice!("Saving the final RDB snapshot before exiting.");
        let path = rdb_path(st);
        if save_rdb(st, &path).is_err() {
            if flags & shutdown::FORCE != 0 {
                crate::warning!("Error trying to save the DB. Exit anyway.");
            } else {
                crate::warning!("Error trying to save the DB, can't exit.");
                crate::warning!(
                    "Errors trying to shut down the server. Check the logs for more information."
                );
                return false;
            }
        }
    }
    true
}

/// The MISCONF error write commands (and PING) get while persistence is failing, if any.
pub fn disk_error(st: &State) -> Option<String> {
    if st.cfg.stop_writes_on_bgsave_error && !st.cfg.save.is_empty() && !st.persist.lastbgsave_ok {
        return Some(MISCONF_RDB.to_string());
    }
    crate::aof::disk_error(st)
}

/// BGSAVE [SCHEDULE]
pub fn bgsave_command(ex: &mut crate::dispatch::Exec) {
    let schedule = match ex.argv.len() {
        1 => false,
        2 if ex.argv[1].eq_ignore_ascii_case(b"schedule") => true,
        _ => return ex.out.error("ERR syntax error"),
    };
    let st = &mut *ex.st;
    if st.persist.child_of(ChildKind::Rdb).is_some() {
        ex.out.error("ERR Background save already in progress");
    } else if st.persist.child.is_some() || ex.sess.in_exec {
        if schedule || ex.sess.in_exec {
            st.persist.bgsave_scheduled = true;
            ex.out.simple("Background saving scheduled");
        } else {
            ex.out.error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
    } else if bgsave(st) {
        ex.out.simple("Background saving started");
    } else {
        ex.out.error("ERR");
    }
}
