//! Databases, lookups with lazy expiry, active expiry, WATCH bookkeeping and keyspace events.

use crate::dict::Dict;
use crate::types::EncodingLimits;
use crate::value::Value;
use bytes::Bytes;
use std::collections::{HashMap, HashSet};

/// A key as stored in a database.
pub type Key = crate::small::SmallBytes;

/// Keyspace-notification classes, with Redis's bit values.
pub mod notify {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted-set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: expirations.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: evictions.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key misses (not part of `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// Module-only "key loaded" events (no flag character).
    pub const LOADED: u32 = 1 << 12;
    /// `d`: module key type events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: new keys (not part of `A`).
    pub const NEW: u32 = 1 << 14;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// A keyspace event waiting to be published by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The event's class bit (see [`notify`]).
    pub class: u32,
    /// The event name, e.g. `set` or `expired`.
    pub event: &'static str,
    /// The database the key lives in.
    pub db: usize,
    /// The key.
    pub key: Bytes,
}

/// A stored value with its access clock (OBJECT IDLETIME, eviction).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Seconds clock (truncated) of the last access.
    pub lru: u32,
}

/// One database: its keys and their deadlines.
#[derive(Default)]
pub struct Db {
    /// Key to value.
    pub data: Dict<Key, Entry>,
    /// Key to absolute expiry time in milliseconds, for keys that have one.
    pub expires: Dict<Key, i64>,
    /// Where active expiry continues its walk of `expires`.
    expire_cursor: u64,
    /// Running estimate of the average TTL of keys with a deadline (INFO keyspace).
    pub avg_ttl: i64,
}

impl Db {
    /// Number of keys (including logically expired ones not yet removed).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the database holds no key.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Counters the keyspace keeps for INFO stats.
#[derive(Debug, Default, Clone)]
pub struct KeyspaceStats {
    /// Keys removed because their deadline passed.
    pub expired_keys: u64,
    /// Successful read lookups.
    pub keyspace_hits: u64,
    /// Read lookups of missing keys.
    pub keyspace_misses: u64,
    /// Fraction of keys with a deadline found expired by the last active cycle, in percent.
    pub expired_stale_perc: f64,
    /// Active expiry cycles that stopped on their effort bound.
    pub expired_time_cap_reached_count: u64,
}

/// All databases plus the side effects that commands leave for the server to act on.
pub struct Keyspace {
    /// The databases, indexed by number.
    pub dbs: Vec<Db>,
    /// The current time in milliseconds, set by the server before commands run.
    pub now_ms: i64,
    /// On a replica keys are never expired locally, only hidden once past their deadline.
    pub replica_mode: bool,
    /// Replaying an AOF: no key expires and past deadlines are stored, not acted on, so the
    /// replay rebuilds exactly what the commands built (Redis's `server.loading`).
    pub loading: bool,
    /// Enabled keyspace-notification classes (`notify-keyspace-events`).
    pub notify_flags: u32,
    /// Count of changes since the last save, as Redis's `dirty`.
    pub dirty: u64,
    /// Set by FLUSHALL so the server can reset its snapshot (Redis saves an empty RDB then).
    pub flushed_all: bool,
    /// The longest string a command may build (`proto-max-bulk-len`).
    pub max_string_len: u64,
    /// Counters for INFO.
    pub stats: KeyspaceStats,
    /// Keyspace events produced by the last commands, in order.
    pub notifications: Vec<Notification>,
    /// Commands to propagate that the keyspace itself produced (expiry deletions), with their db.
    pub propagated: Vec<(usize, Vec<Bytes>)>,
    /// Clients whose WATCHed keys changed, to be flagged by the server.
    pub invalidated_watchers: Vec<u64>,
    /// Compact-encoding thresholds (from the config).
    pub limits: EncodingLimits,
    /// Keys some client is blocked on (maintained by the server).
    pub blocking_keys: HashSet<(usize, Key)>,
    /// Blocked-on keys that received data or changed since the server last looked, in order.
    pub ready_keys: Vec<(usize, Bytes)>,
    watched: HashMap<(usize, Key), Vec<u64>>,
    rng: u64,
}

/// The reply of a lookup on a key of the wrong type.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

impl Keyspace {
    /// A keyspace of `databases` empty databases.
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases.max(1)).map(|_| Db::default()).collect(),
            now_ms: 0,
            replica_mode: false,
            loading: false,
            notify_flags: 0,
            dirty: 0,
            flushed_all: false,
            max_string_len: 512 * 1024 * 1024,
            stats: KeyspaceStats::default(),
            notifications: Vec::new(),
            propagated: Vec::new(),
            invalidated_watchers: Vec::new(),
            limits: EncodingLimits::default(),
            blocking_keys: HashSet::new(),
            ready_keys: Vec::new(),
            watched: HashMap::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// A pseudo-random number from the keyspace's own generator (xorshift64*).
    pub fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Reseeds the random generator (deterministic tests and simulation).
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed | 1;
    }

    /// The absolute deadline of `key` in ms, if it has one.
    pub fn expire_of(&self, db: usize, key: &[u8]) -> Option<i64> {
        self.dbs[db].expires.get(key).copied()
    }

    /// True if `key` has a deadline that has passed (whether or not it has been removed yet).
    pub fn is_logically_expired(&self, db: usize, key: &[u8]) -> bool {
        if self.loading {
            return false;
        }
        match self.dbs[db].expires.get(key) {
            Some(&when) => when < self.now_ms,
            None => false,
        }
    }

    /// Whether a command given a deadline already in the past deletes the key at once (a
    /// primary serving clients) rather than storing the deadline (a replica, or a replay).
    pub fn deletes_on_past_deadline(&self) -> bool {
        !self.replica_mode && !self.loading
    }

    /// Removes `key` if its deadline passed (on a primary); true if it is expired.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        if !self.is_logically_expired(db, key) {
            return false;
        }
        if self.replica_mode {
            return true;
        }
        self.delete_expired(db, key);
        true
    }

    fn delete_expired(&mut self, db: usize, key: &[u8]) {
        if let Some((k, _)) = self.dbs[db].data.remove(key) {
            self.dbs[db].expires.remove(key);
            self.stats.expired_keys += 1;
            let key_bytes = Bytes::from(k.into_vec());
            self.propagated
                .push((db, vec![Bytes::from_static(b"DEL"), key_bytes.clone()]));
            self.notify_bytes(notify::EXPIRED, "expired", db, key_bytes);
            self.touch(db, key);
        }
    }

    /// Read lookup with lazy expiry, counting hits and misses.
    pub fn get(&mut self, db: usize, key: &[u8]) -> Option<&Value> {
        if self.expire_if_needed(db, key) {
            self.stats.keyspace_misses += 1;
            self.notify(notify::KEY_MISS, "keymiss", db, key);
            return None;
        }
        let clock = self.lru_clock();
        // Borrow the fields apart so a hit costs one hash lookup.
        let Keyspace {
            dbs,
            stats,
            notifications,
            notify_flags,
            ..
        } = self;
        match dbs[db].data.get_mut(key) {
            Some(e) => {
                stats.keyspace_hits += 1;
                e.lru = clock;
                Some(&e.value)
            }
            None => {
                stats.keyspace_misses += 1;
                if *notify_flags & notify::KEY_MISS != 0 {
                    let key = Bytes::copy_from_slice(key);
                    notifications.push(Notification {
                        class: notify::KEY_MISS,
                        event: "keymiss",
                        db,
                        key,
                    });
                }
                None
            }
        }
    }

    /// Lookup for writing, with lazy expiry and no hit/miss accounting.
    pub fn get_mut(&mut self, db: usize, key: &[u8]) -> Option<&mut Value> {
        if self.expire_if_needed(db, key) {
            return None;
        }
        let clock = self.lru_clock();
        let e = self.dbs[db].data.get_mut(key)?;
        e.lru = clock;
        Some(&mut e.value)
    }

    /// The truncated seconds clock stored in entries on access.
    pub fn lru_clock(&self) -> u32 {
        (self.now_ms / 1000) as u32
    }

    /// The entry of `key` without expiry checks or access-time updates (OBJECT, DEBUG).
    pub fn entry(&self, db: usize, key: &[u8]) -> Option<&Entry> {
        if self.is_logically_expired(db, key) {
            return None;
        }
        self.dbs[db].data.get(key)
    }

    /// Lookup that neither counts nor notifies (EXISTS, TYPE, TTL, ...), with lazy expiry.
    pub fn peek(&mut self, db: usize, key: &[u8]) -> Option<&Value> {
        if self.expire_if_needed(db, key) {
            return None;
        }
        self.dbs[db].data.get(key).map(|e| &e.value)
    }

    /// True if `key` exists and is not expired.
    pub fn exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.peek(db, key).is_some()
    }

    /// Stores `value` under `key`, dropping any deadline unless `keep_ttl`; true if the key is new.
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool) -> bool {
        self.expire_if_needed(db, key);
        let lru = self.lru_clock();
        let d = &mut self.dbs[db];
        let (slot, inserted) = d.data.get_or_insert_with(key, || {
            (
                key.into(),
                Entry {
                    value: Value::Int(0),
                    lru,
                },
            )
        });
        slot.value = value;
        slot.lru = lru;
        if !keep_ttl && !inserted {
            d.expires.remove(key);
        }
        if inserted {
            self.notify(notify::NEW, "new", db, key);
        }
        // New keys can serve blocked pops; replaced ones must wake blocked stream readers.
        self.signal_ready(db, key);
        inserted
    }

    /// Removes `key`; returns its value if it existed and was not expired.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Value> {
        if self.expire_if_needed(db, key) {
            return None;
        }
        let d = &mut self.dbs[db];
        let (_, e) = d.data.remove(key)?;
        d.expires.remove(key);
        self.signal_ready(db, key);
        Some(e.value)
    }

    /// Removes `key` with its deadline, keeping the entry whole (RENAME, MOVE).
    pub fn take(&mut self, db: usize, key: &[u8]) -> Option<(Entry, Option<i64>)> {
        if self.expire_if_needed(db, key) {
            return None;
        }
        let d = &mut self.dbs[db];
        let (_, e) = d.data.remove(key)?;
        let when = d.expires.remove(key).map(|(_, w)| w);
        self.signal_ready(db, key);
        Some((e, when))
    }

    /// Stores a whole entry with an optional deadline, replacing what was there.
    pub fn put(&mut self, db: usize, key: &[u8], entry: Entry, when: Option<i64>) {
        self.expire_if_needed(db, key);
        let d = &mut self.dbs[db];
        d.data.insert(key.into(), entry);
        match when {
            Some(w) => {
                d.expires.insert(key.into(), w);
            }
            None => {
                d.expires.remove(key);
            }
        }
        self.signal_ready(db, key);
    }

    /// Inserts a key read from a snapshot, hashing it once: false (nothing changed) when the
    /// key already exists, which a loader reports as a corrupt file.
    pub fn load_entry(&mut self, db: usize, key: &[u8], entry: Entry, when: Option<i64>) -> bool {
        let d = &mut self.dbs[db];
        let (_, inserted) = d.data.get_or_insert_with(key, || (key.into(), entry));
        if inserted {
            if let Some(w) = when {
                d.expires.insert(key.into(), w);
            }
        }
        inserted
    }

    /// Sizes database `db` for `keys` keys and `expires` deadlines before a load.
    pub fn expand_db(&mut self, db: usize, keys: u64, expires: u64) {
        let d = &mut self.dbs[db];
        d.data.expand(keys.min(1 << 32) as usize);
        d.expires.expand(expires.min(1 << 32) as usize);
    }

    /// Marks `key` ready for clients blocked on it (a push, a new key, an XADD).
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking_keys.is_empty() {
            return;
        }
        if self.blocking_keys.contains(&(db, Key::from(key)))
            && !self
                .ready_keys
                .iter()
                .any(|(d, k)| *d == db && k[..] == *key)
        {
            self.ready_keys.push((db, Bytes::copy_from_slice(key)));
        }
    }

    /// Sets an absolute deadline (ms) on an existing key.
    pub fn set_expire(&mut self, db: usize, key: &[u8], when_ms: i64) {
        let d = &mut self.dbs[db];
        if let Some((k, _)) = d.data.get_key_value(key) {
            let k = k.clone();
            d.expires.insert(k, when_ms);
        }
    }

    /// Removes the deadline of `key`; true if it had one.
    pub fn persist(&mut self, db: usize, key: &[u8]) -> bool {
        self.dbs[db].expires.remove(key).is_some()
    }

    /// Records a change to `key`: breaks WATCHes on it, counts it dirty, and raises `event`.
    pub fn changed(&mut self, db: usize, key: &[u8], class: u32, event: &'static str) {
        self.touch(db, key);
        self.dirty += 1;
        self.notify(class, event, db, key);
    }

    /// Records a change that Redis counts as `n` dirty changes (one per field or member),
    /// with a single keyspace event.
    pub fn changed_n(&mut self, db: usize, key: &[u8], class: u32, event: &'static str, n: usize) {
        self.changed(db, key, class, event);
        // SPOP can claim up to i64::MAX changes; wrap like Redis's counter instead of panicking.
        self.dirty = self.dirty.wrapping_add((n as u64).saturating_sub(1));
    }

    /// Removes a collection key that became empty, raising `del` as Redis does.
    pub fn delete_emptied(&mut self, db: usize, key: &[u8]) {
        self.remove(db, key);
        self.notify(notify::GENERIC, "del", db, key);
    }

    /// Breaks the WATCHes of `key` without counting a change (Redis's signalModifiedKey).
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(clients) = self.watched.get(&(db, Key::from(key))) {
            self.invalidated_watchers.extend_from_slice(clients);
        }
    }

    /// Breaks the WATCHes of every watched key of `db` that exists there (FLUSHDB, SWAPDB).
    pub fn touch_all_in_db(&mut self, db: usize) {
        let mut hits = Vec::new();
        for ((wdb, key), clients) in &self.watched {
            if *wdb == db && self.dbs[db].data.contains_key(&key[..]) {
                hits.extend_from_slice(clients);
            }
        }
        self.invalidated_watchers.extend(hits);
    }

    /// Breaks the WATCHes of every watched key in `db` that exists there or in `other` (SWAPDB).
    pub fn touch_swapped(&mut self, a: usize, b: usize) {
        let mut hits = Vec::new();
        for ((wdb, key), clients) in &self.watched {
            if *wdb == a || *wdb == b {
                let in_a = self.dbs[a].data.contains_key(&key[..]);
                let in_b = self.dbs[b].data.contains_key(&key[..]);
                if in_a || in_b {
                    hits.extend_from_slice(clients);
                }
            }
        }
        self.invalidated_watchers.extend(hits);
    }

    /// Registers `client` as watching `key` in `db`.
    pub fn watch(&mut self, client: u64, db: usize, key: &[u8]) {
        let list = self.watched.entry((db, key.into())).or_default();
        if !list.contains(&client) {
            list.push(client);
        }
    }

    /// Forgets `client`'s WATCH of `key`.
    pub fn unwatch(&mut self, client: u64, db: usize, key: &[u8]) {
        let k = (db, Key::from(key));
        if let Some(list) = self.watched.get_mut(&k) {
            list.retain(|c| *c != client);
            if list.is_empty() {
                self.watched.remove(&k);
            }
        }
    }

    /// Queues a keyspace notification if its class is enabled.
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.notify_flags & class != 0 {
            self.notifications.push(Notification {
                class,
                event,
                db,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    fn notify_bytes(&mut self, class: u32, event: &'static str, db: usize, key: Bytes) {
        if self.notify_flags & class != 0 {
            self.notifications.push(Notification {
                class,
                event,
                db,
                key,
            });
        }
    }

    /// Empties database `db`, returning how many keys it held.
    pub fn flush_db(&mut self, db: usize) -> usize {
        self.touch_all_in_db(db);
        let n = self.dbs[db].len();
        self.dbs[db] = Db::default();
        n
    }

    /// Swaps two databases' contents.
    pub fn swap_db(&mut self, a: usize, b: usize) {
        self.touch_swapped(a, b);
        self.dbs.swap(a, b);
    }

    /// A random live key of `db`, removing expired keys met on the way (bounded tries).
    pub fn random_key(&mut self, db: usize) -> Option<Key> {
        let mut tries = 0;
        loop {
            let rnd = self.next_random();
            let key = self.dbs[db]
                .data
                .random_entry(rnd)
                .map(|(k, _)| k.clone())?;
            if self.is_logically_expired(db, &key) {
                tries += 1;
                // Like Redis: on a replica with all keys expired, give up after a bound.
                if self.replica_mode && tries > 100 {
                    return Some(key);
                }
                if !self.replica_mode {
                    self.delete_expired(db, &key);
                }
                continue;
            }
            return Some(key);
        }
    }

    /// One bounded step of active expiry over `db`: checks up to `max_checks` keys with a
    /// deadline and removes the expired ones. Returns (checked, expired).
    pub fn active_expire_step(&mut self, db: usize, max_checks: usize) -> (usize, usize) {
        if self.replica_mode || self.dbs[db].expires.is_empty() {
            return (0, 0);
        }
        let now = self.now_ms;
        let mut checked = 0;
        let mut due: Vec<Key> = Vec::new();
        let mut ttl_sum: i64 = 0;
        let mut ttl_n: i64 = 0;
        let mut cursor = self.dbs[db].expire_cursor;
        let mut buckets = 0;
        while checked < max_checks && buckets < max_checks * 4 {
            cursor = self.dbs[db].expires.scan(cursor, |k, &when| {
                checked += 1;
                if when < now {
                    due.push(k.clone());
                } else {
                    ttl_sum += when - now;
                    ttl_n += 1;
                }
            });
            buckets += 1;
            if cursor == 0 {
                break;
            }
        }
        self.dbs[db].expire_cursor = cursor;
        if ttl_n > 0 {
            let avg = ttl_sum / ttl_n;
            let d = &mut self.dbs[db];
            d.avg_ttl = if d.avg_ttl == 0 {
                avg
            } else {
                (d.avg_ttl / 50) * 49 + (avg / 50)
            };
        }
        let expired = due.len();
        for key in due {
            self.delete_expired(db, &key);
        }
        (checked, expired)
    }
}

/// Lookups and removals used by the generic key commands (`cmd/keys.rs`, `cmd/expire.rs`).
impl Keyspace {
    /// Read lookup as Redis's `lookupKeyReadWithFlags`: lazy expiry and hit/miss counting, plus
    /// an access-time update when `touch` and a `keymiss` event when `notify_miss`.
    pub fn lookup_read(
        &mut self,
        db: usize,
        key: &[u8],
        touch: bool,
        notify_miss: bool,
    ) -> Option<&Entry> {
        let live = !self.expire_if_needed(db, key) && self.dbs[db].data.contains_key(key);
        if !live {
            self.stats.keyspace_misses += 1;
            if notify_miss {
                self.notify(notify::KEY_MISS, "keymiss", db, key);
            }
            return None;
        }
        self.stats.keyspace_hits += 1;
        if touch {
            let clock = self.lru_clock();
            let e = self.dbs[db].data.get_mut(key)?;
            e.lru = clock;
            return Some(e);
        }
        self.dbs[db].data.get(key)
    }

    /// Removes `key` and its deadline without looking at the deadline (Redis's `dbSyncDelete`):
    /// DEL uses it after lazy expiry, so a replica still deletes keys that are only logically expired.
    pub fn remove_entry(&mut self, db: usize, key: &[u8]) -> Option<(Entry, Option<i64>)> {
        let d = &mut self.dbs[db];
        let (_, e) = d.data.remove(key)?;
        let when = d.expires.remove(key).map(|(_, w)| w);
        self.signal_ready(db, key);
        Some((e, when))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_expiry_hides_and_propagates_del() {
        let mut ks = Keyspace::new(16);
        ks.now_ms = 1000;
        ks.set(0, b"k", Value::string(b"v"), false);
        ks.set_expire(0, b"k", 1500);
        assert!(ks.get(0, b"k").is_some());
        ks.now_ms = 1500;
        assert!(ks.get(0, b"k").is_some(), "alive at its deadline, as Redis");
        ks.now_ms = 1501;
        assert!(ks.get(0, b"k").is_none());
        assert_eq!(
            ks.propagated,
            vec![(
                0,
                vec![Bytes::from_static(b"DEL"), Bytes::from_static(b"k")]
            )]
        );
        assert_eq!(ks.stats.expired_keys, 1);
    }

    #[test]
    fn replicas_hide_but_keep_expired_keys() {
        let mut ks = Keyspace::new(1);
        ks.replica_mode = true;
        ks.set(0, b"k", Value::string(b"v"), false);
        ks.set_expire(0, b"k", 10);
        ks.now_ms = 20;
        assert!(ks.get(0, b"k").is_none());
        assert_eq!(ks.dbs[0].len(), 1);
        assert!(ks.propagated.is_empty());
    }

    #[test]
    fn active_expiry_removes_due_keys_with_bounded_effort() {
        let mut ks = Keyspace::new(1);
        for i in 0..1000 {
            let k = format!("k{i}");
            ks.set(0, k.as_bytes(), Value::Int(i), false);
            ks.set_expire(0, k.as_bytes(), if i % 2 == 0 { 5 } else { 1_000_000 });
        }
        ks.now_ms = 10;
        let (checked, _) = ks.active_expire_step(0, 20);
        assert!(checked < 200, "bounded effort, checked {checked}");
        let mut rounds = 0;
        while ks.dbs[0].len() > 500 {
            ks.active_expire_step(0, 20);
            rounds += 1;
            assert!(rounds < 10_000);
        }
        assert_eq!(ks.dbs[0].len(), 500);
        assert_eq!(ks.stats.expired_keys, 500);
    }

    #[test]
    fn watch_is_broken_by_changes_and_expiry() {
        let mut ks = Keyspace::new(1);
        ks.watch(7, 0, b"k");
        ks.changed(0, b"other", notify::STRING, "set");
        assert!(ks.invalidated_watchers.is_empty());
        ks.set(0, b"k", Value::Int(1), false);
        ks.changed(0, b"k", notify::STRING, "set");
        assert_eq!(ks.invalidated_watchers, vec![7]);
        ks.invalidated_watchers.clear();
        ks.set_expire(0, b"k", 5);
        ks.now_ms = 6;
        assert!(ks.get(0, b"k").is_none());
        assert_eq!(ks.invalidated_watchers, vec![7]);
    }

    #[test]
    fn notifications_only_for_enabled_classes() {
        let mut ks = Keyspace::new(1);
        ks.changed(0, b"k", notify::STRING, "set");
        assert!(ks.notifications.is_empty());
        ks.notify_flags = notify::KEYEVENT | notify::STRING;
        ks.changed(0, b"k", notify::STRING, "set");
        ks.changed(0, b"k", notify::GENERIC, "del");
        assert_eq!(ks.notifications.len(), 1);
        assert_eq!(ks.notifications[0].event, "set");
    }
}
