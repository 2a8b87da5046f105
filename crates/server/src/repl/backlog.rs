//! The replication backlog: a circular buffer of the most recent stream bytes, addressed by
//! replication offset, from which a reconnecting replica is served a partial resync.

/// The last `capacity` bytes of the replication stream and where they sit in it.
#[derive(Debug, Clone)]
pub struct Backlog {
    buf: Vec<u8>,
    capacity: usize,
    /// Index in `buf` where the next byte goes.
    head: usize,
    /// Offset of the oldest byte held (`repl_backlog_first_byte_offset`).
    first_byte_offset: u64,
    /// Bytes held (`repl_backlog_histlen`).
    histlen: usize,
}

impl Backlog {
    /// An empty backlog of `capacity` bytes whose first byte will be stream byte `next_offset`.
    pub fn new(capacity: usize, next_offset: u64) -> Backlog {
        Backlog {
            buf: Vec::new(),
            capacity: capacity.max(1),
            head: 0,
            first_byte_offset: next_offset,
            histlen: 0,
        }
    }

    /// Capacity in bytes (`repl_backlog_size`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Offset of the oldest byte held.
    pub fn first_byte_offset(&self) -> u64 {
        self.first_byte_offset
    }

    /// Number of bytes held.
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// The offset one past the newest byte held.
    pub fn end_offset(&self) -> u64 {
        self.first_byte_offset + self.histlen as u64
    }

    /// Appends stream bytes, dropping the oldest beyond the capacity.
    pub fn append(&mut self, mut data: &[u8]) {
        if data.len() >= self.capacity {
            let skip = data.len() - self.capacity;
            self.first_byte_offset += (self.histlen + skip) as u64;
            self.histlen = 0;
            self.head = 0;
            self.buf.resize(self.capacity, 0);
            data = &data[skip..];
        }
        if self.buf.len() < self.capacity {
            // Grows lazily, as Redis allocates backlog blocks only when written.
            let room = self.capacity - self.buf.len();
            if self.head == self.buf.len() {
                let n = data.len().min(room);
                self.buf.extend_from_slice(&data[..n]);
                self.head = self.buf.len() % self.capacity;
                self.histlen += n;
                data = &data[n..];
            }
        }
        while !data.is_empty() {
            let n = data.len().min(self.capacity - self.head);
            self.buf[self.head..self.head + n].copy_from_slice(&data[..n]);
            self.head = (self.head + n) % self.capacity;
            self.histlen += n;
            data = &data[n..];
        }
        if self.histlen > self.capacity {
            self.first_byte_offset += (self.histlen - self.capacity) as u64;
            self.histlen = self.capacity;
        }
    }

    /// Whether a replica asking for stream byte `offset` onwards can be served from here.
    pub fn covers(&self, offset: u64) -> bool {
        offset >= self.first_byte_offset && offset <= self.end_offset()
    }

    /// The bytes from `offset` to the newest, if held.
    pub fn copy_from(&self, offset: u64) -> Option<Vec<u8>> {
        if !self.covers(offset) {
            return None;
        }
        let skip = (offset - self.first_byte_offset) as usize;
        let len = self.histlen - skip;
        // The oldest byte sits `histlen` bytes behind the head.
        let oldest = (self.head + self.buf.len() - self.histlen) % self.buf.len().max(1);
        let start = (oldest + skip) % self.buf.len().max(1);
        let mut out = Vec::with_capacity(len);
        let first = len.min(self.buf.len() - start);
        out.extend_from_slice(&self.buf[start..start + first]);
        out.extend_from_slice(&self.buf[..len - first]);
        Some(out)
    }

    /// Changes the capacity, keeping the newest bytes that fit (CONFIG SET repl-backlog-size).
    pub fn resize(&mut self, capacity: usize) {
        let capacity = capacity.max(1);
        if capacity == self.capacity {
            return;
        }
        let kept = self
            .copy_from(self.end_offset() - self.histlen.min(capacity) as u64)
            .unwrap_or_default();
        let next = self.end_offset();
        *self = Backlog::new(capacity, next - kept.len() as u64);
        self.append(&kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn serves_any_offset_it_still_holds() {
        let mut b = Backlog::new(8, 1);
        b.append(b"abcdef");
        assert_eq!(b.first_byte_offset(), 1);
        assert_eq!(b.copy_from(3).unwrap(), b"cdef");
        assert_eq!(b.copy_from(7).unwrap(), b"");
        assert!(b.copy_from(8).is_none());
        b.append(b"ghijk");
        assert_eq!(b.histlen(), 8);
        assert_eq!(b.first_byte_offset(), 4);
        assert!(b.copy_from(3).is_none());
        assert_eq!(b.copy_from(4).unwrap(), b"defghijk");
    }

    #[test]
    fn resizing_keeps_the_newest_bytes() {
        let mut b = Backlog::new(8, 10);
        b.append(b"abcdefgh");
        b.resize(4);
        assert_eq!(b.first_byte_offset(), 14);
        assert_eq!(b.copy_from(14).unwrap(), b"efgh");
        b.resize(16);
        b.append(b"ij");
        assert_eq!(b.copy_from(14).unwrap(), b"efghij");
    }

    proptest! {
        #[test]
        fn matches_the_tail_of_the_whole_stream(
            cap in 1usize..64,
            start in 1u64..1000,
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30),
        ) {
            let mut b = Backlog::new(cap, start);
            let mut all = Vec::new();
            for c in &chunks {
                b.append(c);
                all.extend_from_slice(c);
                let held = all.len().min(cap);
                prop_assert_eq!(b.histlen(), held);
                prop_assert_eq!(b.end_offset(), start + all.len() as u64);
                let from = b.first_byte_offset();
                prop_assert_eq!(b.copy_from(from).unwrap(), all[all.len() - held..].to_vec());
            }
        }
    }
}
