//! The data commands, one file per family. Each command is a function of
//! (keyspace, arguments) that writes its reply and records what to propagate.

pub mod bits;
pub mod expire;
pub mod keys;
pub mod string;

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
        Ctx { ks, db, out, argv, propagate: None }
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
