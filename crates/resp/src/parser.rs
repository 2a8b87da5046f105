//! Request parser (client -> server).
//!
//! Follows Redis 7.0's `processInlineBuffer` / `processMultibulkBuffer` byte
//! for byte, including two quirks of the C code that searches the query
//! buffer with `strchr`: a NUL byte before the end of a header line (or of an
//! inline line) hides the terminator, so such a line never completes and ends
//! in the matching "too big" error once more than 64 KiB are buffered.
//!
//! The parser is incremental: completed multibulk arguments are split off the
//! front of the buffer (zero-copy) and kept in the parser, and a line that is
//! still incomplete is not searched again from its start, so every byte is
//! looked at a bounded number of times whatever the read sizes are.

use bytes::{Buf, Bytes, BytesMut};

use crate::split::split_args;

/// Redis's `PROTO_INLINE_MAX_SIZE`: longest line buffered without its terminator.
const INLINE_MAX: usize = 64 * 1024;
/// Most arguments accepted before authentication.
const UNAUTH_MAX_ARGC: i64 = 10;
/// Longest bulk accepted before authentication.
const UNAUTH_MAX_BULK: i64 = 16384;
/// Argument vectors never preallocate more than this, whatever `*<argc>` says.
const PREALLOC_MAX: usize = 1024;

/// Limits that apply while parsing a connection's requests.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`: the largest bulk argument accepted.
    pub max_bulk_len: u64,
    /// False while the connection still has to authenticate (10 args, 16 KiB bulks).
    pub authenticated: bool,
}

/// A protocol error; the connection gets `-ERR Protocol error: ...` and is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// An inline request longer than 64 KiB without a newline.
    TooBigInline,
    /// Inline quoting that does not close.
    UnbalancedQuotes,
    /// A `*` header line longer than 64 KiB.
    TooBigMbulkCount,
    /// A `*` count that is not a valid number.
    InvalidMultibulkLength,
    /// More than 10 arguments before authentication.
    UnauthenticatedMultibulkLength,
    /// A `$` header line longer than 64 KiB.
    TooBigBulkCount,
    /// An element that does not start with `$`.
    ExpectedDollar(u8),
    /// A `$` length that is not a number, negative or above the limit.
    InvalidBulkLength,
    /// A bulk longer than 16 KiB before authentication.
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The full error reply text, e.g. `ERR Protocol error: invalid bulk length`.
    ///
    /// For `ExpectedDollar` with a byte >= 0x80 the byte cannot be represented
    /// exactly in a `String` and becomes U+FFFD; [`ProtocolError::message_bytes`]
    /// has the exact bytes.
    pub fn message(&self) -> String {
        String::from_utf8_lossy(&self.message_bytes()).into_owned()
    }

    /// The exact error reply bytes (without `-` and CR LF), as Redis sends them.
    ///
    /// The echoed byte of `ExpectedDollar` is sent raw, except that CR and LF
    /// become spaces as in every Redis error reply.
    pub fn message_bytes(&self) -> Vec<u8> {
        let text: &str = match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::TooBigMbulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
            ProtocolError::ExpectedDollar(got) => {
                let got = if *got == b'\r' || *got == b'\n' {
                    b' '
                } else {
                    *got
                };
                let mut out = b"ERR Protocol error: expected '$', got '".to_vec();
                out.push(got);
                out.push(b'\'');
                return out;
            }
        };
        format!("ERR Protocol error: {text}").into_bytes()
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ProtocolError {}

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The arguments, command name first.
    pub args: Vec<Bytes>,
}

/// Incremental request parser; keeps its state between reads.
///
/// Between calls the caller may only append to the buffer it passes in (the
/// parser remembers how far it has searched it).
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments of the multibulk request in progress.
    args: Vec<Bytes>,
    /// Arguments still to read; 0 between requests.
    remaining: usize,
    /// Payload length of the bulk being read, once its `$` line is consumed.
    bulk_len: Option<usize>,
    /// Sum of the lengths of `args`.
    arg_bytes: usize,
    /// Bytes at the front of the buffer searched for a line end in vain.
    scanned: usize,
    /// A NUL byte was met before the line end: the line can never complete.
    blocked: bool,
    /// Length of the last returned inline line (without its line ending).
    last_inline: Option<usize>,
}

/// Where a line terminator search stands.
enum Line {
    /// The terminator is at this index.
    At(usize),
    /// Not (yet) found.
    Missing,
}

impl RequestParser {
    /// A parser at the start of a request.
    pub fn new() -> Self {
        RequestParser::default()
    }

    /// Parses the next complete request from `buf`, consuming its bytes.
    ///
    /// `Ok(None)` means more data is needed. `*0`, `*-1` and empty inline lines
    /// produce no request and parsing goes on after them. After an error the
    /// connection is to be closed; the parser's state is then unspecified.
    pub fn next(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Request>, ProtocolError> {
        loop {
            match self.next_raw(buf, limits)? {
                Some(req) if req.args.is_empty() => continue,
                other => return Ok(other),
            }
        }
    }

    /// Like [`RequestParser::next`], but an inline line without arguments is
    /// returned as a request with no arguments instead of being skipped.
    ///
    /// With [`RequestParser::last_inline_len`] this lets a server refresh a
    /// replica's ACK time on empty lines and reject inline data from a master.
    pub fn next_raw(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Request>, ProtocolError> {
        loop {
            if self.remaining == 0 {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                if first != b'*' {
                    return self.inline(buf);
                }
                let Some(argc) = self.multibulk_header(buf, limits)? else {
                    return Ok(None);
                };
                if argc == 0 {
                    // `*0` / `*-1`: nothing to run, go on with the next request.
                    continue;
                }
                self.remaining = argc;
                self.args = Vec::with_capacity(argc.min(PREALLOC_MAX));
                self.arg_bytes = 0;
            }
            while self.remaining > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => {
                        let Some(len) = self.bulk_header(buf, limits)? else {
                            return Ok(None);
                        };
                        self.bulk_len = Some(len);
                        len
                    }
                };
                if buf.len() < len.saturating_add(2) {
                    return Ok(None);
                }
                let arg = buf.split_to(len).freeze();
                // Redis skips the two bytes after the payload unchecked.
                buf.advance(2);
                self.arg_bytes += len;
                self.args.push(arg);
                self.bulk_len = None;
                self.remaining -= 1;
            }
            self.last_inline = None;
            self.arg_bytes = 0;
            return Ok(Some(Request {
                args: std::mem::take(&mut self.args),
            }));
        }
    }

    /// For the request last returned: the length of its inline line without
    /// the line ending (0 for an empty line), or `None` if it was multibulk.
    pub fn last_inline_len(&self) -> Option<usize> {
        self.last_inline
    }

    /// True while a multibulk request is partly read.
    pub fn in_progress(&self) -> bool {
        self.remaining > 0
    }

    /// Bytes of completed arguments held for the request in progress.
    ///
    /// They are no longer in the caller's buffer, so a query-buffer limit
    /// that should count them has to add this.
    pub fn buffered_arg_bytes(&self) -> usize {
        self.arg_bytes
    }

    /// While a bulk payload is awaited: how many bytes `buf` still lacks for it
    /// (payload plus CR LF). A server may use it to size its next read.
    pub fn bulk_bytes_needed(&self, buf: &BytesMut) -> Option<usize> {
        let len = self.bulk_len?;
        Some(len.saturating_add(2).saturating_sub(buf.len()))
    }

    /// Drops `n` bytes from the front of `buf` and restarts line searching.
    fn consume(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.scanned = 0;
        self.blocked = false;
    }

    /// Finds `target` in `buf` the way C's `strchr` does (a NUL stops it),
    /// resuming where the previous search of this line stopped.
    fn find(&mut self, buf: &[u8], target: u8) -> Line {
        if self.blocked {
            return Line::Missing;
        }
        let start = self.scanned.min(buf.len());
        match buf[start..].iter().position(|&b| b == target || b == 0) {
            Some(i) if buf[start + i] == target => Line::At(start + i),
            Some(_) => {
                self.blocked = true;
                Line::Missing
            }
            None => {
                self.scanned = buf.len();
                Line::Missing
            }
        }
    }

    /// Finds a CR-terminated header line; `Some(cr)` once the CR and the byte
    /// after it have arrived. `too_big` is the error for an overlong line.
    fn header_line(
        &mut self,
        buf: &[u8],
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        match self.find(buf, b'\r') {
            Line::Missing if buf.len() > INLINE_MAX => Err(too_big),
            Line::Missing => Ok(None),
            Line::At(cr) if cr + 2 > buf.len() => {
                // The byte after CR (assumed LF) has not arrived yet.
                self.scanned = cr;
                Ok(None)
            }
            Line::At(cr) => Ok(Some(cr)),
        }
    }

    /// Reads `*<argc>\r\n`; `Some(0)` for a count <= 0.
    fn multibulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(cr) = self.header_line(buf, ProtocolError::TooBigMbulkCount)? else {
            return Ok(None);
        };
        let argc = match string2ll(&buf[1..cr]) {
            Some(n) if n <= i64::from(i32::MAX) => n,
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        if argc > UNAUTH_MAX_ARGC && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        self.consume(buf, cr + 2);
        Ok(Some(usize::try_from(argc).unwrap_or(0)))
    }

    /// Reads `$<len>\r\n`.
    fn bulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(cr) = self.header_line(buf, ProtocolError::TooBigBulkCount)? else {
            return Ok(None);
        };
        if buf[0] != b'$' {
            return Err(ProtocolError::ExpectedDollar(buf[0]));
        }
        let len = match string2ll(&buf[1..cr]) {
            Some(n) if n >= 0 && n.unsigned_abs() <= limits.max_bulk_len => n,
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        if len > UNAUTH_MAX_BULK && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
        self.consume(buf, cr + 2);
        Ok(Some(len))
    }

    /// Reads one inline line.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        let nl = match self.find(buf, b'\n') {
            Line::At(nl) => nl,
            Line::Missing if buf.len() > INLINE_MAX => return Err(ProtocolError::TooBigInline),
            Line::Missing => return Ok(None),
        };
        let end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let args = split_args(&buf[..end]).ok_or(ProtocolError::UnbalancedQuotes)?;
        self.consume(buf, nl + 1);
        self.last_inline = Some(end);
        Ok(Some(Request {
            args: args.into_iter().map(Bytes::from).collect(),
        }))
    }
}

/// Redis's `string2ll`: strict decimal, optional `-`, no leading zeros, no
/// `-0`, fits in an i64, fewer than 21 bytes.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        for (s, v) in [
            (&b"0"[..], Some(0)),
            (b"1", Some(1)),
            (b"-1", Some(-1)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"-9223372036854775809", None),
            (b"18446744073709551616", None),
            (b"", None),
            (b"-", None),
            (b"-0", None),
            (b"01", None),
            (b"+1", None),
            (b" 1", None),
            (b"1 ", None),
            (b"1a", None),
            (b"00", None),
            (b"000000000000000000001", None),
        ] {
            assert_eq!(string2ll(s), v, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn huge_argc_does_not_preallocate() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2147483647\r\n$1\r\na\r\n"[..]);
        let limits = Limits {
            max_bulk_len: 512 << 20,
            authenticated: true,
        };
        assert_eq!(p.next(&mut buf, &limits), Ok(None));
        assert!(p.args.capacity() <= PREALLOC_MAX);
        assert_eq!(p.args.len(), 1);
        assert_eq!(p.remaining, 2147483646);
    }

    #[test]
    fn incomplete_lines_are_not_rescanned() {
        let mut p = RequestParser::new();
        let limits = Limits {
            max_bulk_len: 512 << 20,
            authenticated: true,
        };
        let mut buf = BytesMut::from(&b"PING"[..]);
        assert_eq!(p.next(&mut buf, &limits), Ok(None));
        assert_eq!(p.scanned, 4);
        buf.extend_from_slice(b" x");
        assert_eq!(p.next(&mut buf, &limits), Ok(None));
        assert_eq!(p.scanned, 6);
        buf.extend_from_slice(b"\r\n");
        assert_eq!(
            p.next(&mut buf, &limits).unwrap().unwrap().args,
            vec!["PING", "x"]
        );
        assert_eq!(p.scanned, 0);
    }
}
