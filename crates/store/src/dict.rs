//! Chained hash table with Redis-style incremental rehashing and a reverse-binary SCAN cursor.
//!
//! This is the table behind every database keyspace and every hash/set value that has outgrown its
//! compact encoding. It follows the design of Redis 7.0's `dict.c` so that the observable
//! behaviour (SCAN guarantees, growth and shrink points, bounded latency) matches Redis:
//!
//! * Separate chaining over power-of-two bucket arrays. A bucket is an `Option<Box<Node>>`
//!   (8 bytes thanks to the null-pointer niche); a node holds the key, the value and the next
//!   link, and no cached hash. New entries go to the head of their chain.
//! * Two tables. Growing or shrinking allocates the second table and then moves entries one
//!   bucket at a time ("incremental rehashing"): every mutating lookup, insert and remove does
//!   one step (move one bucket, visiting at most 10 empty buckets), and the owner can do more
//!   with [`Dict::rehash_steps`] (Redis's `activerehashing` cron). Nothing ever moves the whole
//!   table at once, so a table of millions never causes a long pause.
//! * Growth happens on insert when `len >= buckets` (load factor 1), to the next power of two
//!   `>= len + 1`; shrinking happens after removals when fill drops under 10%, to the next power
//!   of two `>= max(len, 4)`. The first insert allocates 4 buckets.
//! * [`Dict::scan`] implements `dictScan`: the cursor's reversed bits are incremented, so a full
//!   iteration returns every element that was present for the whole iteration at least once,
//!   even if the table grows or shrinks between calls.
//!
//! Lookups through `&self` ([`Dict::get`], [`Dict::contains_key`], ...) cannot do rehash work
//! (that would need interior mutability and would make the table `!Sync`); the `&mut self`
//! operations and [`Dict::rehash_steps`] do it instead.
//!
//! The implementation is safe Rust except for one documented `unsafe` line: bucket arrays are
//! allocated zeroed (an all-zero `Option<Box<_>>` is `None`) to avoid touching every page. Chains are always dropped, cloned and moved
//! iteratively, so even pathological chains of millions of nodes cannot overflow the stack.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::iter::{Chain, FusedIterator};
use std::mem;
use std::slice;

use ahash::RandomState;

/// Buckets allocated by the first insert (Redis's `DICT_HT_INITIAL_SIZE`).
const INITIAL_SIZE: usize = 4;
/// Shrink when fewer than this percentage of buckets would be used (Redis's `HT_MIN_FILL`).
const MIN_FILL_PERCENT: usize = 10;
/// Empty buckets one rehash step may skip before giving up (Redis uses `n * 10`).
const EMPTY_VISITS_PER_STEP: usize = 10;
/// Rehash steps per operation while the rehash target is already over load factor 1.
///
/// This only happens when many inserts land during a shrink (the target was sized for the
/// smaller population); finishing the rehash quickly lets the next insert grow the table again
/// instead of letting chains get long.
const OVERLOADED_TARGET_STEPS: usize = 64;
/// Entries sampled by [`Dict::random_entry`] (Redis's `GETFAIR_NUMBER`).
const FAIR_RANDOM_SAMPLE: usize = 20;
/// Random bucket probes before [`Dict::random_entry`] falls back to a linear walk.
const RANDOM_PROBES: usize = 1000;
/// Chain lengths tracked individually by [`Dict::stats`] (Redis's `DICT_STATS_VECTLEN`).
const STATS_VECTLEN: usize = 50;

type Link<K, V> = Option<Box<Node<K, V>>>;
type BucketsIter<'a, K, V> = Chain<slice::Iter<'a, Link<K, V>>, slice::Iter<'a, Link<K, V>>>;
type BucketsIterMut<'a, K, V> =
    Chain<slice::IterMut<'a, Link<K, V>>, slice::IterMut<'a, Link<K, V>>>;

/// One entry of a chain. Deliberately without `Drop`, `Clone` or `Debug` impls: those would
/// recurse along `next`; the table handles chains iteratively instead.
struct Node<K, V> {
    key: K,
    value: V,
    next: Link<K, V>,
}

/// One power-of-two bucket array (or the empty, unallocated table).
struct Table<K, V> {
    buckets: Box<[Link<K, V>]>,
    used: usize,
}

impl<K, V> Table<K, V> {
    fn empty() -> Self {
        Table {
            buckets: Box::default(),
            used: 0,
        }
    }

    fn with_size(size: usize) -> Self {
        // Zeroed allocation lets the allocator hand out fresh zero pages (calloc-style) instead
        // of writing every bucket: allocating the next table of a multi-million-entry dict then
        // costs microseconds, not milliseconds, and untouched buckets cost no resident memory.
        let buckets = Box::<[Link<K, V>]>::new_zeroed_slice(size);
        // SAFETY: `Link<K, V>` is `Option<Box<Node<K, V>>>` with a sized `Node`, and std
        // guarantees that the all-zero bit pattern of `Option<Box<T>>` (T: Sized) is `None`
        // (see "Representation" in the `std::option` docs). So every element is initialised.
        let buckets = unsafe { buckets.assume_init() };
        Table { buckets, used: 0 }
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// The index mask; only meaningful for an allocated table.
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    fn slot(&self, hash: u64) -> usize {
        // Truncation on 32-bit targets is fine: only the low bits are used.
        hash as usize & self.mask()
    }

    /// A copy with the same bucket layout and chain order (so a cloned mid-rehash dict and any
    /// SCAN cursor stay valid for the copy).
    fn clone_table(&self) -> Self
    where
        K: Clone,
        V: Clone,
    {
        // Build into `out` directly so that a panicking `clone` drops what was built through
        // `Table`'s iterative `Drop`.
        let mut out = Table::with_size(self.size());
        for (src, dst) in self.buckets.iter().zip(out.buckets.iter_mut()) {
            let mut tail = dst;
            let mut cur = src.as_deref();
            while let Some(node) = cur {
                let new = tail.insert(Box::new(Node {
                    key: node.key.clone(),
                    value: node.value.clone(),
                    next: None,
                }));
                tail = &mut new.next;
                cur = node.next.as_deref();
            }
        }
        out.used = self.used;
        out
    }
}

impl<K, V> Drop for Table<K, V> {
    fn drop(&mut self) {
        // Unlink every node before dropping it so that dropping never recurses along a chain.
        for bucket in self.buckets.iter_mut() {
            let mut cur = bucket.take();
            while let Some(mut node) = cur {
                cur = node.next.take();
            }
        }
    }
}

/// Where a node sits: table, bucket and position in the chain.
#[derive(Clone, Copy)]
struct Pos {
    table: usize,
    slot: usize,
    depth: usize,
}

/// A small deterministic generator (SplitMix64) expanding the caller's randomness.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The SCAN cursor after `v` for a table with `mask`: set the bits above the mask, then
/// increment the reversed cursor.
fn next_cursor(v: u64, mask: u64) -> u64 {
    (v | !mask).reverse_bits().wrapping_add(1).reverse_bits()
}

fn visit_chain<'a, K, V>(link: &'a Link<K, V>, f: &mut impl FnMut(&'a K, &'a V)) {
    let mut cur = link.as_deref();
    while let Some(node) = cur {
        f(&node.key, &node.value);
        cur = node.next.as_deref();
    }
}

/// A hash table with separate chaining, incremental rehashing and a Redis-compatible SCAN cursor.
pub struct Dict<K, V> {
    /// `ht[0]` is the main table; `ht[1]` is allocated only while rehashing into it.
    ht: [Table<K, V>; 2],
    /// While rehashing: buckets of `ht[0]` below this index are already moved (empty).
    rehash_idx: usize,
    hasher: RandomState,
}

impl<K, V> Dict<K, V> {
    /// An empty dict hashing with a random per-dict seed; allocates nothing until the first insert.
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    /// An empty dict with deterministic hashing derived from `seed` (for tests and simulation).
    pub fn with_seed(seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let keys = [(); 4].map(|()| rng.next_u64());
        Self::with_hasher(RandomState::with_seeds(keys[0], keys[1], keys[2], keys[3]))
    }

    /// An empty dict using the given hasher state.
    pub fn with_hasher(hasher: RandomState) -> Self {
        Dict {
            ht: [Table::empty(), Table::empty()],
            rehash_idx: 0,
            hasher,
        }
    }

    /// The hasher state this dict uses.
    pub fn hasher(&self) -> &RandomState {
        &self.hasher
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }

    /// Whether the dict has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an incremental rehash (grow or shrink) is in progress.
    pub fn is_rehashing(&self) -> bool {
        !self.ht[1].buckets.is_empty()
    }

    /// Total buckets over both tables (Redis's `dictSlots`).
    pub fn bucket_count(&self) -> usize {
        self.ht[0].size() + self.ht[1].size()
    }

    /// Approximate heap bytes of the table structure: bucket arrays plus nodes, excluding
    /// whatever the keys and values own themselves (and allocator rounding).
    pub fn heap_bytes(&self) -> usize {
        self.bucket_count() * mem::size_of::<Link<K, V>>()
            + self.len() * mem::size_of::<Node<K, V>>()
    }

    /// Iterates over all entries in bucket order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            buckets: self.ht[0].buckets.iter().chain(self.ht[1].buckets.iter()),
            cur: None,
            remaining: self.len(),
        }
    }

    /// Iterates over all entries with mutable access to the values.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        let remaining = self.len();
        let [t0, t1] = &mut self.ht;
        IterMut {
            buckets: t0.buckets.iter_mut().chain(t1.buckets.iter_mut()),
            cur: None,
            remaining,
        }
    }

    /// Iterates over all keys.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Iterates over all values.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// Iterates over all values mutably.
    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut V> + '_ {
        self.iter_mut().map(|(_, v)| v)
    }

    /// Takes all entries out, leaving the dict empty and unallocated; entries not consumed from
    /// the returned iterator are dropped with it.
    pub fn drain(&mut self) -> IntoIter<K, V> {
        let tables = mem::replace(&mut self.ht, [Table::empty(), Table::empty()]);
        self.rehash_idx = 0;
        IntoIter {
            remaining: tables[0].used + tables[1].used,
            tables,
            table: 0,
            slot: 0,
        }
    }

    /// Removes all entries and frees the tables (Redis's `dictEmpty`).
    pub fn clear(&mut self) {
        self.ht = [Table::empty(), Table::empty()];
        self.rehash_idx = 0;
    }

    /// One SCAN step with `dictScan` semantics: calls `f` for every entry of the bucket the
    /// cursor names (and, mid-rehash, of all buckets of the larger table that expand from it)
    /// and returns the next cursor, 0 when the iteration is complete.
    ///
    /// Starting from 0 and feeding back the returned cursor until it is 0 again visits every
    /// entry that was present during the whole iteration at least once, whatever inserts,
    /// removes and resizes happen between calls; entries may be returned more than once.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a K, &'a V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        if !self.is_rehashing() {
            let t = &self.ht[0];
            let m = t.mask() as u64;
            visit_chain(&t.buckets[(v & m) as usize], &mut f);
            v = next_cursor(v, m);
        } else {
            let (small, large) = if self.ht[0].size() <= self.ht[1].size() {
                (&self.ht[0], &self.ht[1])
            } else {
                (&self.ht[1], &self.ht[0])
            };
            let m0 = small.mask() as u64;
            let m1 = large.mask() as u64;
            visit_chain(&small.buckets[(v & m0) as usize], &mut f);
            // Visit every bucket of the larger table that is an expansion of the small one.
            loop {
                visit_chain(&large.buckets[(v & m1) as usize], &mut f);
                v = next_cursor(v, m1);
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// A random entry chosen like Redis's `dictGetFairRandomKey`: picks uniformly among up to
    /// 20 entries sampled from a random position, so long chains are not favoured much.
    /// `rnd` is the caller's randomness; `None` only when the dict is empty.
    pub fn random_entry(&self, rnd: u64) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let mut rng = SplitMix(rnd);
        let mut picks: [Option<(&K, &V)>; FAIR_RANDOM_SAMPLE] = [None; FAIR_RANDOM_SAMPLE];
        let mut n = 0;
        self.sample_with(&mut rng, FAIR_RANDOM_SAMPLE, &mut |k, v| {
            picks[n] = Some((k, v));
            n += 1;
        });
        if n > 0 {
            return picks[rng.below(n)];
        }
        self.unfair_random_entry(&mut rng)
    }

    /// Calls `f` for up to `count` entries taken from consecutive buckets starting at a random
    /// position, like Redis's `dictGetSomeKeys`: bounded work (at most about `10 * count`
    /// buckets), may return fewer than `count` entries and may repeat an entry.
    pub fn sample<'a>(&'a self, rnd: u64, count: usize, mut f: impl FnMut(&'a K, &'a V)) {
        let mut rng = SplitMix(rnd);
        self.sample_with(&mut rng, count, &mut f);
    }

    /// A human-readable report of both tables' chain statistics, in the format of Redis's
    /// `dictGetStats` (used by `DEBUG HTSTATS`).
    pub fn stats(&self) -> String {
        let mut out = String::new();
        self.table_stats(0, &mut out);
        if self.is_rehashing() {
            self.table_stats(1, &mut out);
        }
        out
    }

    fn table_stats(&self, idx: usize, out: &mut String) {
        use std::fmt::Write;
        let table = &self.ht[idx];
        if table.used == 0 {
            out.push_str("No stats available for empty dictionaries\n");
            return;
        }
        let mut clvector = [0usize; STATS_VECTLEN];
        let (mut slots, mut max_chain, mut total_chain) = (0usize, 0usize, 0usize);
        for bucket in table.buckets.iter() {
            let mut len = 0;
            let mut cur = bucket.as_deref();
            while let Some(node) = cur {
                len += 1;
                cur = node.next.as_deref();
            }
            clvector[len.min(STATS_VECTLEN - 1)] += 1;
            if len > 0 {
                slots += 1;
                max_chain = max_chain.max(len);
                total_chain += len;
            }
        }
        let _ = write!(
            out,
            "Hash table {idx} stats ({}):\n table size: {}\n number of elements: {}\n \
             different slots: {slots}\n max chain length: {max_chain}\n \
             avg chain length (counted): {:.2}\n avg chain length (computed): {:.2}\n \
             Chain length distribution:\n",
            if idx == 0 {
                "main hash table"
            } else {
                "rehashing target"
            },
            table.size(),
            table.used,
            total_chain as f64 / slots as f64,
            table.used as f64 / slots as f64,
        );
        for (len, &count) in clvector.iter().enumerate().take(STATS_VECTLEN - 1) {
            if count > 0 {
                let pct = count as f64 / table.size() as f64 * 100.0;
                let _ = writeln!(out, "   {len}: {count} ({pct:.2}%)");
            }
        }
    }

    /// The `dictGetSomeKeys` walk; returns how many entries were passed to `f`.
    fn sample_with<'a>(
        &'a self,
        rng: &mut SplitMix,
        count: usize,
        f: &mut impl FnMut(&'a K, &'a V),
    ) -> usize {
        let count = count.min(self.len());
        if count == 0 {
            return 0;
        }
        let rehashing = self.is_rehashing();
        let tables = if rehashing { 2 } else { 1 };
        let max_mask = if rehashing {
            self.ht[0].mask().max(self.ht[1].mask())
        } else {
            self.ht[0].mask()
        };
        let mut max_steps = count.saturating_mul(10);
        let mut i = rng.next_u64() as usize & max_mask;
        let mut empty_run = 0;
        let mut stored = 0;
        while stored < count && max_steps > 0 {
            max_steps -= 1;
            for j in 0..tables {
                if rehashing && j == 0 && i < self.rehash_idx {
                    // Buckets of ht[0] below rehash_idx are empty. If ht[1] is the smaller table
                    // (a shrink), `i` is past its end too: skip ahead to the unmoved part.
                    if i >= self.ht[1].size() {
                        i = self.rehash_idx;
                    } else {
                        continue;
                    }
                }
                let table = &self.ht[j];
                if i >= table.size() {
                    continue;
                }
                let mut cur = table.buckets[i].as_deref();
                if cur.is_none() {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        i = rng.next_u64() as usize & max_mask;
                        empty_run = 0;
                    }
                } else {
                    empty_run = 0;
                    while let Some(node) = cur {
                        f(&node.key, &node.value);
                        stored += 1;
                        if stored == count {
                            return stored;
                        }
                        cur = node.next.as_deref();
                    }
                }
            }
            i = (i + 1) & max_mask;
        }
        stored
    }

    /// Bucket `h` of the concatenation ht[0] ++ ht[1].
    fn bucket_at(&self, h: usize) -> &Link<K, V> {
        let s0 = self.ht[0].size();
        if h < s0 {
            &self.ht[0].buckets[h]
        } else {
            &self.ht[1].buckets[h - s0]
        }
    }

    /// Redis's `dictGetRandomKey`: a random non-empty bucket, then a random element of its chain.
    fn unfair_random_entry(&self, rng: &mut SplitMix) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        // Skip the already-moved (empty) prefix of ht[0] while rehashing.
        let start = if self.is_rehashing() {
            self.rehash_idx
        } else {
            0
        };
        let span = self.bucket_count() - start;
        let mut found = None;
        for _ in 0..RANDOM_PROBES {
            let bucket = self.bucket_at(start + rng.below(span));
            if bucket.is_some() {
                found = bucket.as_deref();
                break;
            }
        }
        if found.is_none() {
            // A very sparse table: walk from a random bucket to the next non-empty one.
            let first = rng.below(span);
            found = (0..span)
                .map(|off| self.bucket_at(start + (first + off) % span))
                .find_map(|b| b.as_deref());
        }
        let head = found?;
        let mut len = 0;
        let mut cur = Some(head);
        while let Some(node) = cur {
            len += 1;
            cur = node.next.as_deref();
        }
        let mut node = head;
        for _ in 0..rng.below(len) {
            node = node.next.as_deref()?;
        }
        Some((&node.key, &node.value))
    }
}

impl<K: Hash + Eq, V> Dict<K, V> {
    fn hash_of<Q: ?Sized + Hash>(&self, k: &Q) -> u64 {
        self.hasher.hash_one(k)
    }

    /// Looks up `k` without rehash work (this takes `&self`).
    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.get_key_value(k).map(|(_, v)| v)
    }

    /// Looks up `k` for modification, doing one incremental rehash step first.
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash_of(k);
        self.rehash_step();
        let pos = self.find(hash, k)?.0;
        Some(&mut self.node_at_mut(pos).value)
    }

    /// Looks up `k`, returning the stored key and the value.
    pub fn get_key_value<Q>(&self, k: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        let node = self.find(self.hash_of(k), k)?.1;
        Some((&node.key, &node.value))
    }

    /// Whether `k` is present.
    pub fn contains_key<Q>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.get_key_value(k).is_some()
    }

    /// Inserts or replaces; on replace the existing key is kept and the old value returned.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = self.hash_of(&key);
        self.rehash_step();
        if let Some(pos) = self.find(hash, &key).map(|(pos, _)| pos) {
            return Some(mem::replace(&mut self.node_at_mut(pos).value, value));
        }
        self.add_new(hash, key, value);
        None
    }

    /// Grows the table to hold `size` entries without rehashing on the way (Redis's
    /// `dictExpand`, used with an RDB file's RESIZEDB hint); false when nothing changed.
    pub fn expand(&mut self, size: usize) -> bool {
        self.resize_to(size)
    }

    /// Removes `k`, returning the stored key and its value; may start a shrink.
    pub fn remove<Q>(&mut self, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash_of(k);
        self.rehash_step();
        let rehashing = self.is_rehashing();
        for t in 0..if rehashing { 2 } else { 1 } {
            let table = &mut self.ht[t];
            let slot = table.slot(hash);
            if rehashing && t == 0 && slot < self.rehash_idx {
                continue;
            }
            let mut link = &mut table.buckets[slot];
            while link.as_ref().is_some_and(|n| n.key.borrow() != k) {
                link = &mut link.as_mut().expect("checked non-empty").next;
            }
            if let Some(mut node) = link.take() {
                *link = node.next.take();
                table.used -= 1;
                self.shrink_if_needed();
                return Some((node.key, node.value));
            }
        }
        None
    }

    /// Returns the value for `k`, inserting `make()` first if absent (hashing `k` once);
    /// the flag says whether an insert happened. `make` must return a key equal to `k`.
    pub fn get_or_insert_with<Q>(&mut self, k: &Q, make: impl FnOnce() -> (K, V)) -> (&mut V, bool)
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hash_of(k);
        self.rehash_step();
        if let Some(pos) = self.find(hash, k).map(|(pos, _)| pos) {
            return (&mut self.node_at_mut(pos).value, false);
        }
        let (key, value) = make();
        debug_assert!(key.borrow() == k, "get_or_insert_with: made key differs");
        let pos = self.add_new(hash, key, value);
        (&mut self.node_at_mut(pos).value, true)
    }

    /// Keeps only the entries for which `f` returns true; may start a shrink.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        for table in &mut self.ht {
            for bucket in table.buckets.iter_mut() {
                let mut link = bucket;
                loop {
                    let keep = match link.as_deref_mut() {
                        None => break,
                        Some(node) => f(&node.key, &mut node.value),
                    };
                    if keep {
                        link = &mut link.as_mut().expect("checked non-empty").next;
                    } else {
                        let mut node = link.take().expect("checked non-empty");
                        *link = node.next.take();
                        table.used -= 1;
                    }
                }
            }
        }
        self.shrink_if_needed();
    }

    /// Does up to `n` rehash steps (each moves one bucket, skipping at most 10 empty ones);
    /// returns true if rehashing work remains (Redis's `dictRehash`).
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        let mut empty_visits = n.saturating_mul(EMPTY_VISITS_PER_STEP);
        let mut n = n;
        let [old, new] = &mut self.ht;
        while n > 0 && old.used != 0 {
            n -= 1;
            // `old.used != 0` guarantees a non-empty bucket at or after rehash_idx.
            while old.buckets[self.rehash_idx].is_none() {
                self.rehash_idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    return true;
                }
            }
            let bucket = &mut old.buckets[self.rehash_idx];
            // Move nodes one at a time, hashing while the node is still linked, so a panicking
            // `Hash` impl cannot lose entries.
            while let Some(head) = bucket.as_deref() {
                let slot = new.slot(self.hasher.hash_one(&head.key));
                let mut node = bucket.take().expect("checked non-empty");
                *bucket = node.next.take();
                node.next = new.buckets[slot].take();
                new.buckets[slot] = Some(node);
                old.used -= 1;
                new.used += 1;
            }
            self.rehash_idx += 1;
        }
        if old.used == 0 {
            self.ht[0] = mem::replace(&mut self.ht[1], Table::empty());
            self.rehash_idx = 0;
            // A grow that was overtaken by removals: start shrinking right away.
            self.shrink_if_needed();
        }
        self.is_rehashing()
    }

    /// Starts a shrink if fewer than 10% of the buckets are used (Redis's `htNeedsResize` +
    /// `dictResize`); returns whether one started. Removals call this already.
    pub fn shrink_if_needed(&mut self) -> bool {
        if self.is_rehashing() {
            return false;
        }
        let size = self.ht[0].size();
        let used = self.ht[0].used;
        if size > INITIAL_SIZE && used * 100 / size < MIN_FILL_PERCENT {
            self.resize_to(used)
        } else {
            false
        }
    }

    /// Sizes the table for `len() + additional` entries (Redis's `dictExpand`, e.g. before
    /// loading a known number of keys). Allocates directly when empty; otherwise starts an
    /// incremental grow. Does nothing while a rehash is in progress.
    pub fn reserve(&mut self, additional: usize) {
        let want = self.len().saturating_add(additional);
        if want > self.ht[0].size() {
            self.resize_to(want);
        }
    }

    /// One `_dictRehashStep`, done by every mutating operation while rehashing.
    fn rehash_step(&mut self) {
        if self.is_rehashing() {
            let target = &self.ht[1];
            let steps = if target.used >= target.size() {
                OVERLOADED_TARGET_STEPS
            } else {
                1
            };
            self.rehash_steps(steps);
        }
    }

    /// Starts resizing to the next power of two `>= max(size, 4)` (Redis's `_dictExpand`).
    fn resize_to(&mut self, size: usize) -> bool {
        if self.is_rehashing() || self.ht[0].used > size {
            return false;
        }
        let new_size = size
            .max(INITIAL_SIZE)
            .checked_next_power_of_two()
            .expect("dict size overflow");
        if new_size == self.ht[0].size() {
            return false;
        }
        let table = Table::with_size(new_size);
        if self.ht[0].used == 0 {
            // Nothing to move: switch tables at once.
            self.ht[0] = table;
        } else {
            self.ht[1] = table;
            self.rehash_idx = 0;
        }
        true
    }

    /// Redis's `_dictExpandIfNeeded`: allocate on first use, double at load factor 1.
    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let t = &self.ht[0];
        if t.size() == 0 {
            self.resize_to(INITIAL_SIZE);
        } else if t.used >= t.size() {
            self.resize_to(t.used + 1);
        }
    }

    /// Links a new entry (known to be absent) at the head of its chain.
    fn add_new(&mut self, hash: u64, key: K, value: V) -> Pos {
        self.expand_if_needed();
        let t = usize::from(self.is_rehashing());
        let table = &mut self.ht[t];
        let slot = table.slot(hash);
        let next = table.buckets[slot].take();
        table.buckets[slot] = Some(Box::new(Node { key, value, next }));
        table.used += 1;
        Pos {
            table: t,
            slot,
            depth: 0,
        }
    }

    fn find<Q>(&self, hash: u64, k: &Q) -> Option<(Pos, &Node<K, V>)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        if self.ht[0].size() == 0 {
            return None;
        }
        let rehashing = self.is_rehashing();
        for t in 0..if rehashing { 2 } else { 1 } {
            let table = &self.ht[t];
            let slot = table.slot(hash);
            if rehashing && t == 0 && slot < self.rehash_idx {
                continue;
            }
            let mut depth = 0;
            let mut cur = table.buckets[slot].as_deref();
            while let Some(node) = cur {
                if node.key.borrow() == k {
                    return Some((
                        Pos {
                            table: t,
                            slot,
                            depth,
                        },
                        node,
                    ));
                }
                depth += 1;
                cur = node.next.as_deref();
            }
        }
        None
    }

    fn node_at_mut(&mut self, pos: Pos) -> &mut Node<K, V> {
        let mut node = self.ht[pos.table].buckets[pos.slot]
            .as_deref_mut()
            .expect("position from find");
        for _ in 0..pos.depth {
            node = node.next.as_deref_mut().expect("position from find");
        }
        node
    }
}

impl<K, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Clone, V: Clone> Clone for Dict<K, V> {
    fn clone(&self) -> Self {
        Dict {
            ht: [self.ht[0].clone_table(), self.ht[1].clone_table()],
            rehash_idx: self.rehash_idx,
            hasher: self.hasher.clone(),
        }
    }
}

impl<K: Hash + Eq, V: PartialEq> PartialEq for Dict<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Hash + Eq, V: Eq> Eq for Dict<K, V> {}

impl<K: Hash + Eq, V> Extend<(K, V)> for Dict<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        if self.is_empty() {
            self.reserve(iter.size_hint().0);
        }
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Hash + Eq, V> FromIterator<(K, V)> for Dict<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut dict = Dict::new();
        dict.extend(iter);
        dict
    }
}

impl<K, V> IntoIterator for Dict<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(mut self) -> IntoIter<K, V> {
        self.drain()
    }
}

impl<'a, K, V> IntoIterator for &'a Dict<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut Dict<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;

    fn into_iter(self) -> IterMut<'a, K, V> {
        self.iter_mut()
    }
}

/// Borrowing iterator over a [`Dict`]'s entries.
pub struct Iter<'a, K, V> {
    buckets: BucketsIter<'a, K, V>,
    cur: Option<&'a Node<K, V>>,
    remaining: usize,
}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter {
            buckets: self.buckets.clone(),
            cur: self.cur,
            remaining: self.remaining,
        }
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.cur {
                self.cur = node.next.as_deref();
                self.remaining -= 1;
                return Some((&node.key, &node.value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.as_deref();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}
impl<K, V> FusedIterator for Iter<'_, K, V> {}

/// Iterator over a [`Dict`]'s entries with mutable values.
pub struct IterMut<'a, K, V> {
    buckets: BucketsIterMut<'a, K, V>,
    cur: Option<&'a mut Node<K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.cur.take() {
                let Node { key, value, next } = node;
                self.cur = next.as_deref_mut();
                self.remaining -= 1;
                return Some((&*key, value));
            }
            if self.remaining == 0 {
                return None;
            }
            self.cur = self.buckets.next()?.as_deref_mut();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}
impl<K, V> FusedIterator for IterMut<'_, K, V> {}

/// Owning iterator over a [`Dict`]'s entries (from [`Dict::drain`] or `into_iter`).
pub struct IntoIter<K, V> {
    tables: [Table<K, V>; 2],
    table: usize,
    slot: usize,
    remaining: usize,
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        while self.remaining > 0 {
            let table = &mut self.tables[self.table];
            if self.slot >= table.size() {
                self.table += 1;
                self.slot = 0;
                continue;
            }
            let bucket = &mut table.buckets[self.slot];
            if let Some(mut node) = bucket.take() {
                *bucket = node.next.take();
                table.used -= 1;
                self.remaining -= 1;
                return Some((node.key, node.value));
            }
            self.slot += 1;
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IntoIter<K, V> {}
impl<K, V> FusedIterator for IntoIter<K, V> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};
    use std::hash::Hasher;

    impl<K: Hash + Eq, V> Dict<K, V> {
        /// Checks every structural invariant; panics on violation.
        fn check_invariants(&self) {
            let rehashing = self.is_rehashing();
            if !rehashing {
                assert_eq!(self.ht[1].used, 0);
                assert_eq!(self.rehash_idx, 0);
            } else {
                assert_ne!(self.ht[0].size(), self.ht[1].size());
                assert!(self.rehash_idx < self.ht[0].size());
                for b in &self.ht[0].buckets[..self.rehash_idx] {
                    assert!(b.is_none(), "moved bucket not empty");
                }
            }
            if self.ht[0].size() == 0 {
                assert!(!rehashing);
                assert_eq!(self.len(), 0);
            }
            let mut seen = HashSet::new();
            for (t, table) in self.ht.iter().enumerate() {
                let size = table.size();
                assert!(size == 0 || (size.is_power_of_two() && size >= INITIAL_SIZE));
                let mut count = 0;
                for (slot, bucket) in table.buckets.iter().enumerate() {
                    let mut cur = bucket.as_deref();
                    while let Some(node) = cur {
                        count += 1;
                        assert_eq!(table.slot(self.hash_of(&node.key)), slot, "table {t}");
                        assert!(seen.insert(&node.key as *const K), "node linked twice");
                        cur = node.next.as_deref();
                    }
                }
                assert_eq!(count, table.used, "used count of table {t}");
            }
            let keys: Vec<&K> = self.keys().collect();
            assert_eq!(keys.len(), self.len());
            for k in keys {
                assert!(self.contains_key(k));
            }
        }

        fn finish_rehash(&mut self) {
            while self.rehash_steps(1000) {}
        }
    }

    /// A key whose hash ignores its value: every instance lands in the same bucket.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Collide(u64);

    impl Hash for Collide {
        fn hash<H: Hasher>(&self, state: &mut H) {
            state.write_u8(0);
        }
    }

    /// A key whose equality and hash look only at `id`, to see which instance is stored.
    #[derive(Debug, Clone)]
    struct Tagged {
        id: u32,
        tag: u32,
    }

    impl PartialEq for Tagged {
        fn eq(&self, other: &Self) -> bool {
            self.id == other.id
        }
    }
    impl Eq for Tagged {}
    impl Hash for Tagged {
        fn hash<H: Hasher>(&self, state: &mut H) {
            self.id.hash(state);
        }
    }

    #[test]
    fn dict_basic_operations() {
        let mut d: Dict<String, u32> = Dict::with_seed(1);
        assert!(d.is_empty());
        assert_eq!(d.bucket_count(), 0);
        assert_eq!(d.get("a"), None);
        assert_eq!(d.remove("a"), None);
        assert_eq!(d.insert("a".into(), 1), None);
        assert_eq!(d.insert("b".into(), 2), None);
        assert_eq!(d.insert("a".into(), 3), Some(1));
        assert_eq!(d.len(), 2);
        assert_eq!(d.get("a"), Some(&3));
        assert!(d.contains_key("b"));
        *d.get_mut("b").unwrap() += 10;
        assert_eq!(d.get_key_value("b"), Some((&"b".to_string(), &12)));
        assert_eq!(d.remove("a"), Some(("a".to_string(), 3)));
        assert_eq!(d.get("a"), None);
        let (v, inserted) = d.get_or_insert_with("c", || ("c".into(), 7));
        assert!(inserted);
        *v += 1;
        let (v, inserted) = d.get_or_insert_with("c", || unreachable!());
        assert!(!inserted);
        assert_eq!(*v, 8);
        assert_eq!(format!("{:?}", Dict::<u8, u8>::with_seed(0)), "{}");
        d.clear();
        assert!(d.is_empty());
        assert_eq!(d.bucket_count(), 0);
        d.check_invariants();
    }

    #[test]
    fn dict_insert_keeps_existing_key() {
        let mut d = Dict::with_seed(2);
        d.insert(Tagged { id: 1, tag: 10 }, "x");
        assert_eq!(d.insert(Tagged { id: 1, tag: 20 }, "y"), Some("x"));
        let (k, v) = d.get_key_value(&Tagged { id: 1, tag: 0 }).unwrap();
        assert_eq!((k.tag, *v), (10, "y"));
        let (k, _) = d.remove(&Tagged { id: 1, tag: 30 }).unwrap();
        assert_eq!(k.tag, 10);
    }

    #[test]
    fn dict_borrowed_lookups() {
        let mut d: Dict<Vec<u8>, usize> = Dict::with_seed(3);
        d.insert(b"key".to_vec(), 1);
        assert_eq!(d.get(&b"key"[..]), Some(&1));
        let (v, inserted) = d.get_or_insert_with(&b"other"[..], || (b"other".to_vec(), 2));
        assert_eq!((*v, inserted), (2, true));
        assert_eq!(d.remove(&b"key"[..]).map(|(_, v)| v), Some(1));
    }

    #[test]
    fn dict_growth_and_shrink_points() {
        let mut d: Dict<u32, u32> = Dict::with_seed(4);
        d.insert(0, 0);
        assert_eq!(d.bucket_count(), 4);
        for i in 1..4 {
            d.insert(i, i);
        }
        assert_eq!(d.bucket_count(), 4);
        assert!(!d.is_rehashing());
        d.insert(4, 4); // used (4) >= buckets (4): grow to 8
        assert!(d.is_rehashing());
        assert_eq!(d.bucket_count(), 12);
        assert!(!d.rehash_steps(100));
        assert_eq!(d.bucket_count(), 8);
        d.check_invariants();

        for i in 5..1000 {
            d.insert(i, i);
        }
        d.finish_rehash();
        assert_eq!(d.bucket_count(), 1024);
        // 103/1024 is still >= 10% full; 102/1024 is not.
        for i in 103..1000 {
            d.remove(&i);
        }
        d.finish_rehash();
        assert_eq!(d.bucket_count(), 1024);
        d.remove(&102);
        assert!(d.is_rehashing());
        d.finish_rehash();
        assert_eq!(d.bucket_count(), 128);
        d.check_invariants();

        // Removing everything shrinks to the minimum, never below 4 buckets.
        for i in 0..102 {
            d.remove(&i);
        }
        d.finish_rehash();
        assert_eq!(d.bucket_count(), 4);
        assert!(d.is_empty());
        d.check_invariants();
    }

    #[test]
    fn dict_reserve_and_extend() {
        let mut d: Dict<u32, u32> = Dict::with_seed(5);
        d.reserve(1000);
        assert_eq!(d.bucket_count(), 1024);
        assert!(!d.is_rehashing());
        d.extend((0..1000).map(|i| (i, i)));
        assert_eq!(d.bucket_count(), 1024);
        let e: Dict<u32, u32> = (0..1000).map(|i| (i, i)).collect();
        assert_eq!(d, e);
        e.check_invariants();
    }

    #[test]
    fn dict_iterators_drain_retain_clone() {
        let mut d: Dict<u32, u32> = Dict::with_seed(6);
        for i in 0..520 {
            d.insert(i, i);
        }
        assert!(d.is_rehashing(), "want a mid-rehash dict for this test");
        assert_eq!(d.iter().len(), 520);
        let mut keys: Vec<u32> = d.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys, (0..520).collect::<Vec<_>>());
        for (k, v) in d.iter_mut() {
            *v = k * 2;
        }
        assert!(d.iter().all(|(k, v)| *v == k * 2));

        let c = d.clone();
        c.check_invariants();
        assert_eq!(c, d);
        // Same layout: the same SCAN cursor sequence.
        let (mut c1, mut c2) = (0, 0);
        loop {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            c1 = d.scan(c1, |k, _| a.push(*k));
            c2 = c.scan(c2, |k, _| b.push(*k));
            assert_eq!((c1, &a), (c2, &b));
            if c1 == 0 {
                break;
            }
        }

        d.retain(|k, v| {
            *v += 1;
            k % 10 == 0
        });
        d.check_invariants();
        assert_eq!(d.len(), 52);
        assert!(d.iter().all(|(k, v)| k % 10 == 0 && *v == k * 2 + 1));

        let mut partial = d.drain();
        assert!(d.is_empty());
        assert_eq!(partial.len(), 52);
        assert!(partial.next().is_some());
        assert_eq!(partial.len(), 51);
        drop(partial);
        d.check_invariants();

        let all: HashMap<u32, u32> = c.clone().into_iter().collect();
        assert_eq!(all.len(), 520);
    }

    #[test]
    fn dict_long_chains_work() {
        let mut d: Dict<Collide, u64> = Dict::with_seed(7);
        for i in 0..2000 {
            d.insert(Collide(i), i);
        }
        d.finish_rehash();
        d.check_invariants();
        assert_eq!(d.get(&Collide(1234)), Some(&1234));
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(k.0);
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 2000);
        assert!(d.random_entry(99).is_some());
        for i in 0..1990 {
            assert_eq!(d.remove(&Collide(i)), Some((Collide(i), i)));
        }
        d.check_invariants();
        assert!(d.stats().contains("max chain length: 10"));
    }

    #[test]
    fn dict_drop_million_node_chain_without_stack_overflow() {
        // Build one chain of a million nodes directly (inserting colliding keys one by one would
        // be quadratic), in the bucket their constant hash selects, so the dict stays valid.
        const N: u64 = 1_000_000;
        let mut d: Dict<Collide, u64> = Dict::with_seed(8);
        d.insert(Collide(N), N);
        let slot = d.ht[0].slot(d.hash_of(&Collide(0)));
        let bucket = &mut d.ht[0].buckets[slot];
        for i in 0..N {
            let next = bucket.take();
            *bucket = Some(Box::new(Node {
                key: Collide(i),
                value: i,
                next,
            }));
        }
        d.ht[0].used += N as usize;
        assert_eq!(d.len(), N as usize + 1);
        assert_eq!(d.get(&Collide(N)), Some(&N));

        let copy = d.clone();
        assert_eq!(copy.len(), d.len());
        drop(copy);
        let mut it = d.clone().drain();
        it.next();
        drop(it);
        d.clone().clear();
        // Growing moves the whole chain in one (iterative) rehash step.
        d.insert(Collide(N + 1), 0);
        d.finish_rehash();
        assert_eq!(d.len(), N as usize + 2);
        drop(d);
    }

    #[test]
    fn dict_scan_full_iteration_exactly_once_when_static() {
        for n in [0u32, 1, 5, 100, 1000] {
            let mut d: Dict<u32, ()> = Dict::with_seed(u64::from(n));
            for i in 0..n {
                d.insert(i, ());
            }
            for finish in [false, true] {
                if finish {
                    d.finish_rehash();
                }
                let mut seen = Vec::new();
                let mut cursor = 0;
                loop {
                    cursor = d.scan(cursor, |k, _| seen.push(*k));
                    if cursor == 0 {
                        break;
                    }
                }
                seen.sort_unstable();
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n={n} finish={finish}");
            }
        }
    }

    #[test]
    fn dict_scan_survives_grow_and_shrink_mid_iteration() {
        let mut d: Dict<u32, ()> = Dict::with_seed(9);
        for i in 0..1000 {
            d.insert(i, ());
        }
        d.finish_rehash();
        let mut sizes = HashSet::new();
        let mut shrank = false;
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut calls = 0u32;
        let mut next_key = 1000;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(*k);
            });
            if cursor == 0 {
                break;
            }
            calls += 1;
            sizes.insert(d.bucket_count());
            shrank |= d.is_rehashing() && d.ht[0].size() > d.ht[1].size();
            if calls < 50 {
                // Grow: add many keys (never removing the original ones).
                for _ in 0..300 {
                    d.insert(next_key, ());
                    next_key += 1;
                }
            } else if calls < 100 {
                // Shrink: drop all the added keys again.
                d.retain(|k, _| *k < 1000);
                d.rehash_steps(1);
            }
        }
        assert!(sizes.iter().max() > Some(&2048), "grew: {sizes:?}");
        assert!(shrank, "a shrink happened mid-iteration");
        for i in 0..1000 {
            assert!(seen.contains(&i), "missed {i}");
        }
    }

    #[test]
    fn dict_random_and_sample_only_return_present_entries() {
        let mut d: Dict<u32, u32> = Dict::with_seed(10);
        assert!(d.random_entry(1).is_none());
        d.sample(1, 10, |_, _| panic!("empty"));
        for i in 0..300 {
            d.insert(i, i + 1);
        }
        for i in 0..280 {
            d.remove(&i);
        }
        assert!(d.is_rehashing(), "want a mid-shrink dict for this test");
        let mut hit = HashSet::new();
        for r in 0..5000u64 {
            let (k, v) = d.random_entry(r).unwrap();
            assert!((280..300).contains(k) && *v == k + 1);
            hit.insert(*k);
            let mut n = 0;
            d.sample(r, 7, |k, v| {
                assert!((280..300).contains(k) && *v == k + 1);
                n += 1;
            });
            assert!(n <= 7);
        }
        assert_eq!(hit.len(), 20, "every entry is eventually picked");
        // The sparse fallback path.
        let mut rng = SplitMix(3);
        for _ in 0..100 {
            let (k, _) = d.unfair_random_entry(&mut rng).unwrap();
            assert!((280..300).contains(k));
        }
    }

    #[test]
    fn dict_random_entry_is_roughly_fair() {
        let mut d: Dict<u32, ()> = Dict::with_seed(11);
        for i in 0..64 {
            d.insert(i, ());
        }
        d.finish_rehash();
        let mut counts = [0u32; 64];
        for r in 0..64_000u64 {
            counts[*d.random_entry(r).unwrap().0 as usize] += 1;
        }
        // Expected 1000 each.
        assert!(
            counts.iter().all(|&c| (500..2000).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn dict_stats_format() {
        let mut d: Dict<u32, ()> = Dict::with_seed(12);
        assert_eq!(d.stats(), "No stats available for empty dictionaries\n");
        for i in 0..3 {
            d.insert(i, ());
        }
        let s = d.stats();
        assert!(s.starts_with("Hash table 0 stats (main hash table):\n table size: 4\n"));
        assert!(s.contains(" number of elements: 3\n"));
    }

    #[test]
    fn dict_heap_bytes() {
        let mut d: Dict<u64, u64> = Dict::with_seed(13);
        assert_eq!(d.heap_bytes(), 0);
        d.insert(1, 1);
        assert_eq!(d.heap_bytes(), 4 * 8 + 24);
        assert_eq!(mem::size_of::<Link<u64, u64>>(), 8);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Get(u16),
        GetMut(u16, u32),
        GetOrInsert(u16, u32),
        InsertRange(u16, u16),
        RemoveRange(u16, u16),
        Retain(u8),
        Rehash(u8),
        Drain,
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0u16..1024;
        prop_oneof![
            8 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            6 => key.clone().prop_map(Op::Remove),
            4 => key.clone().prop_map(Op::Get),
            2 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::GetMut(k, v)),
            3 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
            2 => (key.clone(), 0u16..400).prop_map(|(k, n)| Op::InsertRange(k, n)),
            2 => (key, 0u16..600).prop_map(|(k, n)| Op::RemoveRange(k, n)),
            1 => (1u8..8).prop_map(Op::Retain),
            2 => any::<u8>().prop_map(Op::Rehash),
            1 => Just(Op::Drain),
        ]
    }

    proptest! {
        #[test]
        fn dict_matches_hashmap_model(seed: u64, ops in proptest::collection::vec(op(), 1..120)) {
            let mut d: Dict<u16, u32> = Dict::with_seed(seed);
            let mut m: HashMap<u16, u32> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(d.insert(k, v), m.insert(k, v)),
                    Op::Remove(k) => {
                        prop_assert_eq!(d.remove(&k), m.remove(&k).map(|v| (k, v)));
                    }
                    Op::Get(k) => prop_assert_eq!(d.get(&k), m.get(&k)),
                    Op::GetMut(k, v) => {
                        let a = d.get_mut(&k).map(|x| mem::replace(x, v));
                        let b = m.get_mut(&k).map(|x| mem::replace(x, v));
                        prop_assert_eq!(a, b);
                    }
                    Op::GetOrInsert(k, v) => {
                        let expect_insert = !m.contains_key(&k);
                        let (x, inserted) = d.get_or_insert_with(&k, || (k, v));
                        prop_assert_eq!(inserted, expect_insert);
                        prop_assert_eq!(*x, *m.entry(k).or_insert(v));
                    }
                    Op::InsertRange(start, n) => {
                        for k in start..start.saturating_add(n) {
                            prop_assert_eq!(d.insert(k, u32::from(k)), m.insert(k, u32::from(k)));
                        }
                    }
                    Op::RemoveRange(start, n) => {
                        for k in start..start.saturating_add(n) {
                            prop_assert_eq!(d.remove(&k).map(|e| e.1), m.remove(&k));
                        }
                    }
                    Op::Retain(modulus) => {
                        let keep = |k: &u16| k.is_multiple_of(u16::from(modulus));
                        d.retain(|k, _| keep(k));
                        m.retain(|k, _| keep(k));
                    }
                    Op::Rehash(n) => {
                        let more = d.rehash_steps(usize::from(n));
                        prop_assert_eq!(more, d.is_rehashing());
                    }
                    Op::Drain => {
                        let mut drained: Vec<(u16, u32)> = d.drain().collect();
                        let mut expect: Vec<(u16, u32)> = m.drain().collect();
                        drained.sort_unstable();
                        expect.sort_unstable();
                        prop_assert_eq!(drained, expect);
                    }
                }
                d.check_invariants();
                prop_assert_eq!(d.len(), m.len());
                if !d.is_empty() {
                    prop_assert!(d.bucket_count() >= INITIAL_SIZE);
                }
            }
            let got: HashMap<u16, u32> = d.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(&got, &m);
            // Once rehashing settles, removals never leave the table under 10% full.
            d.finish_rehash();
            let buckets = d.bucket_count();
            prop_assert!(
                buckets <= INITIAL_SIZE || d.len() * 100 / buckets >= MIN_FILL_PERCENT,
                "{} entries in {} buckets", d.len(), buckets
            );
        }

        #[test]
        fn dict_scan_guarantee_under_mutation(
            seed: u64,
            initial in 0u32..600,
            ops in proptest::collection::vec(op(), 0..200),
            ops_per_call in 1usize..6,
        ) {
            let mut d: Dict<u32, u32> = Dict::with_seed(seed);
            for k in 0..initial {
                d.insert(k, k);
            }
            // Keys present at the start that are never removed must be returned.
            let mut stable: HashSet<u32> = (0..initial).collect();
            let mut ever: HashSet<u32> = stable.clone();
            let mut seen: HashSet<u32> = HashSet::new();
            let mut ops = ops.into_iter();
            let mut cursor = 0u64;
            let mut calls = 0u32;
            loop {
                cursor = d.scan(cursor, |k, v| {
                    assert_eq!(k, v);
                    seen.insert(*k);
                });
                calls += 1;
                prop_assert!(calls < 1_000_000, "scan does not terminate");
                if cursor == 0 {
                    break;
                }
                for op in ops.by_ref().take(ops_per_call) {
                    let mut remove = |d: &mut Dict<u32, u32>, k: u32| {
                        d.remove(&k);
                        stable.remove(&k);
                    };
                    match op {
                        Op::Insert(k, _) | Op::GetOrInsert(k, _) => {
                            // Fresh keys above the initial range keep the model simple.
                            let k = 10_000 + u32::from(k);
                            d.insert(k, k);
                            ever.insert(k);
                        }
                        Op::InsertRange(start, n) => {
                            for k in u32::from(start)..u32::from(start) + u32::from(n) * 4 {
                                d.insert(10_000 + k, 10_000 + k);
                                ever.insert(10_000 + k);
                            }
                        }
                        Op::Remove(k) => remove(&mut d, u32::from(k)),
                        Op::RemoveRange(start, n) => {
                            for k in u32::from(start)..u32::from(start) + u32::from(n) {
                                remove(&mut d, k);
                                remove(&mut d, 10_000 + k);
                            }
                        }
                        Op::Retain(m) => {
                            d.retain(|k, _| *k >= 10_000 || k % u32::from(m) == 0);
                            stable.retain(|k| k % u32::from(m) == 0);
                        }
                        Op::Get(k) | Op::GetMut(k, _) => {
                            d.get_mut(&u32::from(k));
                        }
                        Op::Rehash(n) => {
                            d.rehash_steps(usize::from(n));
                        }
                        Op::Drain => {
                            // Removing nearly everything forces a deep shrink.
                            d.retain(|k, _| *k < 10_000 && k % 16 == 0);
                            stable.retain(|k| k % 16 == 0);
                        }
                    }
                }
            }
            for k in &stable {
                prop_assert!(seen.contains(k), "scan missed {}", k);
            }
            for k in &seen {
                prop_assert!(ever.contains(k), "scan returned a never-inserted key {}", k);
            }
        }
    }
}
