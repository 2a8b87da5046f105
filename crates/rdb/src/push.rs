//! Incremental front ends: [`PushDecoder`], fed with bytes as they arrive, and [`Decoder`] over
//! any `std::io::Read`.

use std::io::Read;

use crate::crc64::crc64;
use crate::cursor::{Cursor, PErr};
use crate::decode::{parse_header, parse_item, DecodeOptions, Pending};
use crate::error::Error;
use crate::model::Item;

/// Where a [`PushDecoder`] is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Items,
    Checksum,
    Done,
    Failed,
}

/// What one parse step of a [`PushDecoder`] produced.
enum Step {
    /// The header, with its version.
    Header(u32),
    /// A top-level item.
    Item(Item),
    /// The stored checksum.
    Checksum(u64),
}

/// An incremental decoder: [`feed`](PushDecoder::feed) bytes as they arrive, call
/// [`finish`](PushDecoder::finish) once the input is complete, and pull items with
/// [`next_item`](PushDecoder::next_item).
///
/// An item is decoded once all its bytes are buffered. After a failed attempt the decoder waits
/// until the buffered amount has doubled (or the input is finished) before trying again, so a
/// large value costs linear time overall; **callers must call `finish()`** when no more input
/// will come, or the last items may stay buffered.
#[derive(Debug)]
pub struct PushDecoder {
    opts: DecodeOptions,
    buf: Vec<u8>,
    start: usize,
    offset: u64,
    crc: u64,
    state: State,
    version: Option<u32>,
    pending: Pending,
    wait_for: usize,
    finished: bool,
    last_type: Option<u8>,
    stored_checksum: Option<u64>,
}

impl PushDecoder {
    /// A decoder expecting the `REDIS` header first.
    pub fn new(opts: DecodeOptions) -> PushDecoder {
        PushDecoder {
            opts,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            crc: 0,
            state: State::Header,
            version: None,
            pending: Pending::default(),
            wait_for: 0,
            finished: false,
            last_type: None,
            stored_checksum: None,
        }
    }

    /// Appends input bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Declares the input complete: a partial item is then an error ([`Error::Truncated`]).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// The header's version, once read.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// True once [`Item::Eof`] was returned (the checksum verified).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The checksum stored after EOF, once read (0 = not computed; `None` before, or for
    /// versions below 5 which have none).
    pub fn stored_checksum(&self) -> Option<u64> {
        self.stored_checksum
    }

    /// The RDB object type byte of the last key returned (e.g. 16 for a listpack hash).
    pub fn last_value_type(&self) -> Option<u8> {
        self.last_type
    }

    /// Absolute offset of the first byte not yet consumed.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// Bytes buffered but not consumed (after EOF: whatever followed the checksum).
    pub fn remainder(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Marks bytes consumed, adding them to the running checksum when asked.
    fn consume(&mut self, n: usize, checksummed: bool) {
        if checksummed {
            self.crc = crc64(self.crc, &self.buf[self.start..self.start + n]);
        }
        self.start += n;
        self.offset += n as u64;
        self.wait_for = 0;
    }

    /// The next item: `Ok(None)` when more input is needed (or after EOF was returned).
    pub fn next_item(&mut self) -> Result<Option<Item>, Error> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Failed => {
                    return Err(Error::Corrupt {
                        offset: self.offset,
                        reason: "decoder already failed",
                    })
                }
                _ => {}
            }
            let avail = self.buf.len() - self.start;
            if !self.finished && avail < self.wait_for {
                return Ok(None);
            }
            let mut c = Cursor::new(&self.buf[self.start..], self.offset);
            let state = self.state;
            let mut pending = self.pending;
            let mut last_type = self.last_type;
            let result = match state {
                State::Header => parse_header(&mut c, self.opts.max_version).map(Step::Header),
                State::Items => parse_item(&mut c, &mut pending, &mut last_type).map(Step::Item),
                _ => c
                    .array::<8>()
                    .map(|b| Step::Checksum(u64::from_le_bytes(b))),
            };
            let used = c.pos;
            match result {
                Ok(Step::Header(v)) => {
                    self.consume(used, true);
                    self.version = Some(v);
                    self.state = State::Items;
                }
                Ok(Step::Item(item)) => {
                    self.consume(used, true);
                    self.pending = pending;
                    self.last_type = last_type;
                    if item != Item::Eof {
                        return Ok(Some(item));
                    }
                    if self.version.unwrap_or(0) < 5 {
                        self.state = State::Done;
                        return Ok(Some(Item::Eof));
                    }
                    self.state = State::Checksum;
                }
                Ok(Step::Checksum(stored)) => {
                    self.consume(used, false);
                    self.stored_checksum = Some(stored);
                    if self.opts.verify_checksum && stored != 0 && stored != self.crc {
                        self.state = State::Failed;
                        return Err(Error::ChecksumMismatch {
                            stored,
                            computed: self.crc,
                        });
                    }
                    self.state = State::Done;
                    return Ok(Some(Item::Eof));
                }
                Err(PErr::Incomplete(need)) => {
                    if self.finished {
                        self.state = State::Failed;
                        return Err(Error::Truncated);
                    }
                    self.wait_for = need.max(avail.saturating_mul(2)).max(avail + 1);
                    return Ok(None);
                }
                Err(PErr::Fail(e)) => {
                    self.state = State::Failed;
                    return Err(e);
                }
            }
        }
    }
}

/// A pull decoder over any reader (a file, a socket, `reader.take(len)` for a `$<len>` payload).
/// Reads in 64 KiB chunks, so it may read past the end of the RDB data: see
/// [`remainder`](Decoder::remainder). Also an iterator of `Result<Item, Error>` ending after EOF.
#[derive(Debug)]
pub struct Decoder<R> {
    reader: R,
    push: PushDecoder,
    chunk: Vec<u8>,
    failed: bool,
}

impl<R: Read> Decoder<R> {
    /// A decoder reading from `reader`.
    pub fn new(reader: R, opts: DecodeOptions) -> Decoder<R> {
        Decoder {
            reader,
            push: PushDecoder::new(opts),
            chunk: vec![0; 64 * 1024],
            failed: false,
        }
    }

    /// The next item, `Ok(None)` after [`Item::Eof`].
    pub fn next_item(&mut self) -> Result<Option<Item>, Error> {
        loop {
            if self.push.is_done() {
                return Ok(None);
            }
            if let Some(item) = self.push.next_item()? {
                return Ok(Some(item));
            }
            let n = loop {
                match self.reader.read(&mut self.chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::Io(e)),
                }
            };
            if n == 0 {
                self.push.finish();
            } else {
                self.push.feed(&self.chunk[..n]);
            }
        }
    }

    /// The header's version, once read.
    pub fn version(&self) -> Option<u32> {
        self.push.version()
    }

    /// The RDB object type byte of the last key returned.
    pub fn last_value_type(&self) -> Option<u8> {
        self.push.last_value_type()
    }

    /// Bytes read from the reader beyond the end of the RDB data (valid after EOF).
    pub fn remainder(&self) -> &[u8] {
        self.push.remainder()
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: Read> Iterator for Decoder<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
