//! RDB snapshots: SAVE, SHUTDOWN SAVE, DEBUG RELOAD and loading at start-up.

use crate::state::State;
use std::io;
use std::path::Path;

/// What INFO persistence and LASTSAVE report.
#[derive(Debug, Clone, Default)]
pub struct PersistState {
    /// Unix seconds of the last successful save (the start time initially).
    pub lastsave: i64,
    /// Successful saves since start (`rdb_saves`).
    pub rdb_saves: u64,
    /// Keys loaded by the last load (`rdb_last_load_keys_loaded`).
    pub last_load_keys_loaded: u64,
    /// Keys skipped as expired by the last load (`rdb_last_load_keys_expired`).
    pub last_load_keys_expired: u64,
}

/// Writes every database to `path` through `temp-<pid>.rdb` in the same directory, then fsyncs
/// and renames it, as Redis's `rdbSave`. Logs as Redis does; on success resets the dirty counter
/// and updates LASTSAVE.
pub fn save_rdb(st: &mut State, path: &Path) -> io::Result<()> {
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
            st.ks.dirty = 0;
            st.persist.lastsave = crate::clock::unix_ms() / 1000;
            st.persist.rdb_saves += 1;
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
    let mut opts = store::rdbconv::encode_options(&st.ks.limits);
    opts.compression = st.cfg.rdbcompression;
    opts.checksum = st.cfg.rdbchecksum;
    let mut enc = rdb::Encoder::new(io::BufWriter::new(file), opts)?;
    enc.write_aux_fields(&rdb::AuxFields {
        redis_ver: crate::REDIS_VERSION.to_string(),
        ctime: crate::clock::unix_ms() / 1000,
        used_mem: crate::info::used_memory(),
        repl: None,
        aof_base: false,
    })?;
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
    let opts = rdb::DecodeOptions {
        verify_checksum: st.cfg.rdbchecksum,
        ..rdb::DecodeOptions::default()
    };
    let file = rdb::decode_all(&bytes, &opts).map_err(|e| match e {
        rdb::Error::ChecksumMismatch { stored, computed } => {
            format!("Wrong RDB checksum expected: ({computed:x}) got ({stored:x}). Aborting now.")
        }
        rdb::Error::BadMagic => "Wrong signature trying to load DB from file".to_string(),
        rdb::Error::UnsupportedVersion(v) => format!("Can't handle RDB format version {v}"),
        _ => "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string(),
    })?;
    let now = crate::clock::unix_ms();
    let (mut db, mut loaded, mut expired) = (0usize, 0usize, 0u64);
    for item in file.items {
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
                if matches!(e.expire_ms, Some(t) if t < now) && !st.ks.replica_mode {
                    expired += 1;
                    continue;
                }
                let value = store::rdbconv::from_rdb(e.value, &st.ks.limits).map_err(|_| {
                    "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string()
                })?;
                if st.ks.dbs[db].data.get(&e.key[..]).is_some() {
                    return Err(format!(
                        "RDB has duplicated key '{}' in DB {}",
                        String::from_utf8_lossy(&e.key),
                        db
                    ));
                }
                let lru = st.ks.lru_clock();
                st.ks
                    .put(db, &e.key, store::Entry { value, lru }, e.expire_ms);
                loaded += 1;
            }
            _ => {}
        }
    }
    crate::notice!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.");
    st.persist.last_load_keys_loaded = loaded as u64;
    st.persist.last_load_keys_expired = expired;
    st.ks.dirty = 0;
    Ok(loaded)
}
