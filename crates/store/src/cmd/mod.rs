//! The data commands, one file per family. Each command is a function of
//! (keyspace, arguments) that writes its reply and records what to propagate.

pub mod bits;
pub mod dump;
pub mod expire;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod lcs;
pub mod list;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

use crate::keyspace::{Keyspace, WRONGTYPE};
use crate::num::{parse_f64, parse_i64};
use bytes::Bytes;
use resp::Out;

/// Everything a data command can see and change.
pub struct Ctx<'a> {
    /// The databases.
    pub ks: &'a mut Keyspace,
    /// The client's selected database.
    pub db: usize,
    /// Where the reply goes.
    pub out: &'a mut Out,
    /// The command's arguments, name first.
    pub argv: &'a [Bytes],
    /// What to propagate instead of `argv` when the command changed the dataset.
    pub propagate: Option<Vec<Vec<Bytes>>>,
    /// False inside MULTI/EXEC and scripts: blocking commands answer as on timeout at once.
    pub may_block: bool,
    /// Set (with no reply written) by a blocking command that found nothing to serve.
    pub block: Option<BlockRequest>,
    /// True when the server re-runs a blocked command because one of its keys became ready.
    pub retrying: bool,
}

/// What a blocking command that must wait asks of the server.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRequest {
    /// The keys whose readiness can serve it.
    pub keys: Vec<Bytes>,
    /// Absolute deadline in ms; None waits forever.
    pub deadline_ms: Option<i64>,
    /// What the client gets on timeout.
    pub timeout_reply: TimeoutReply,
    /// The arguments to re-run when a key is ready, if not the original ones
    /// (XREAD's `$` becomes the concrete last id seen when blocking).
    pub retry_argv: Option<Vec<Bytes>>,
}

/// The reply to a blocked command whose timeout passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` (RESP3 `_`).
    NullArray,
    /// `$-1` (RESP3 `_`).
    Null,
}

/// The reply `-ERR syntax error`.
pub const SYNTAX: &str = "ERR syntax error";
/// The reply for an unparsable integer.
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
/// The reply for an unparsable float.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// The reply for a missing key where one is required.
pub const NO_SUCH_KEY: &str = "ERR no such key";
/// The reply for an out-of-range database number.
pub const DB_RANGE: &str = "ERR DB index is out of range";

impl<'a> Ctx<'a> {
    /// A context for running `argv` against `ks` in database `db`.
    pub fn new(ks: &'a mut Keyspace, db: usize, out: &'a mut Out, argv: &'a [Bytes]) -> Self {
        Ctx {
            ks,
            db,
            out,
            argv,
            propagate: None,
            may_block: true,
            block: None,
            retrying: false,
        }
    }

    /// Asks the server to block the client on `keys` until `deadline_ms` (None: forever).
    pub fn block_on(
        &mut self,
        keys: Vec<Bytes>,
        deadline_ms: Option<i64>,
        timeout_reply: TimeoutReply,
    ) {
        self.block = Some(BlockRequest {
            keys,
            deadline_ms,
            timeout_reply,
            retry_argv: None,
        });
    }

    /// Parses a blocking timeout in seconds (a float, as BLPOP takes it) into an absolute
    /// deadline; `Some(None)` means wait forever. Replies Redis's error and returns None on bad input.
    pub fn timeout_secs_arg(&mut self, i: usize) -> Option<Option<i64>> {
        let Some(secs) = parse_f64(&self.argv[i]) else {
            self.out.error("ERR timeout is not a float or out of range");
            return None;
        };
        // Redis 7.0 converts ceil(secs * 1000) to a C long long: values out of its range
        // (infinities included) come out as LLONG_MIN, hence "negative"; -0.0001 becomes 0.
        let ms = (secs * 1000.0).ceil();
        const LLONG_RANGE: std::ops::Range<f64> =
            -9.223_372_036_854_775e18..9.223_372_036_854_775e18;
        let ms = if LLONG_RANGE.contains(&ms) {
            ms as i64
        } else {
            i64::MIN
        };
        if ms < 0 {
            self.out.error("ERR timeout is negative");
            return None;
        }
        if ms > i64::MAX - self.now_ms() {
            self.out.error("ERR timeout is out of range");
            return None;
        }
        Some(if ms == 0 {
            None
        } else {
            Some(self.now_ms() + ms)
        })
    }

    /// Parses a blocking timeout in milliseconds (an integer, as XREAD BLOCK takes it).
    pub fn timeout_ms_arg(&mut self, i: usize) -> Option<Option<i64>> {
        let Some(ms) = parse_i64(&self.argv[i]) else {
            self.out
                .error("ERR timeout is not an integer or out of range");
            return None;
        };
        if ms < 0 {
            self.out.error("ERR timeout is negative");
            return None;
        }
        if ms > i64::MAX - self.now_ms() {
            self.out.error("ERR timeout is out of range");
            return None;
        }
        Some(if ms == 0 {
            None
        } else {
            Some(self.now_ms() + ms)
        })
    }

    /// Argument `i` (0 is the command name).
    #[inline]
    pub fn arg(&self, i: usize) -> &'a [u8] {
        &self.argv[i]
    }

    /// Argument `i` as a strict integer, or replies with Redis's error and returns None.
    pub fn int_arg(&mut self, i: usize) -> Option<i64> {
        let v = parse_i64(&self.argv[i]);
        if v.is_none() {
            self.out.error(NOT_INT);
        }
        v
    }

    /// Argument `i` as a double, or replies with Redis's error and returns None.
    pub fn float_arg(&mut self, i: usize) -> Option<f64> {
        let v = parse_f64(&self.argv[i]);
        if v.is_none() {
            self.out.error(NOT_FLOAT);
        }
        v
    }

    /// Replies WRONGTYPE.
    pub fn wrongtype(&mut self) {
        self.out.error(WRONGTYPE);
    }

    /// Replies with the generic syntax error.
    pub fn syntax_error(&mut self) {
        self.out.error(SYNTAX);
    }

    /// Replaces what will be propagated with one command.
    pub fn propagate_as(&mut self, argv: Vec<Bytes>) {
        self.propagate = Some(vec![argv]);
    }

    /// The current time in milliseconds.
    #[inline]
    pub fn now_ms(&self) -> i64 {
        self.ks.now_ms
    }
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn eq_ic(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Bytes of an i64 in decimal, for propagated arguments.
pub fn int_bytes(n: i64) -> Bytes {
    Bytes::from(n.to_string())
}
