//! Reply writer: appends RESP2 or RESP3 encoded replies to a byte buffer.

use crate::double::format_double;

/// The protocol a connection speaks, chosen with HELLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, every connection's starting protocol.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// An output buffer that encodes replies in the connection's protocol.
#[derive(Debug, Default)]
pub struct Out {
    /// The encoded bytes waiting to be written to the socket.
    pub buf: Vec<u8>,
    /// The protocol replies are encoded in.
    pub proto: Protocol,
}

fn push_int(buf: &mut Vec<u8>, prefix: u8, n: i64) {
    buf.push(prefix);
    let mut digits = [0u8; 20];
    buf.extend_from_slice(format_i64(n, &mut digits));
    buf.extend_from_slice(b"\r\n");
}

/// Writes the decimal form of `n` at the end of `out` (no allocation); returns that slice.
fn format_i64(n: i64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        // i64::MIN has 19 digits, so there is always room for the sign.
        i -= 1;
        out[i] = b'-';
    }
    &out[i..]
}

impl Out {
    /// An empty buffer speaking `proto`.
    pub fn new(proto: Protocol) -> Self {
        Out {
            buf: Vec::new(),
            proto,
        }
    }

    /// True when replies use RESP3 types.
    #[inline]
    pub fn resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }

    /// Bytes currently buffered.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is buffered.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything written after `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Appends already-encoded bytes.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string; `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `msg` starts with the code word (`ERR ...`). CR and LF become spaces.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        for &b in msg.as_bytes() {
            self.buf
                .push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer reply.
    pub fn int(&mut self, n: i64) {
        push_int(&mut self.buf, b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        push_int(&mut self.buf, b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut digits = [0u8; 20];
        let s = format_i64(n, &mut digits);
        push_int(&mut self.buf, b'$', s.len() as i64);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The nil of single values: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The nil of aggregates: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    /// The header of an array of `n` elements.
    pub fn array(&mut self, n: usize) {
        push_int(&mut self.buf, b'*', n as i64);
    }

    /// The header of a map of `n` pairs (a flat array of `2n` in RESP2).
    pub fn map(&mut self, n: usize) {
        if self.resp3() {
            push_int(&mut self.buf, b'%', n as i64);
        } else {
            push_int(&mut self.buf, b'*', 2 * n as i64);
        }
    }

    /// The header of a set of `n` elements (an array in RESP2).
    pub fn set(&mut self, n: usize) {
        let prefix = if self.resp3() { b'~' } else { b'*' };
        push_int(&mut self.buf, prefix, n as i64);
    }

    /// The header of an out-of-band push of `n` elements (an array in RESP2).
    pub fn push(&mut self, n: usize) {
        let prefix = if self.resp3() { b'>' } else { b'*' };
        push_int(&mut self.buf, prefix, n as i64);
    }

    /// A double: `,` in RESP3, a bulk string in RESP2, formatted as `%.17g`.
    pub fn double(&mut self, d: f64) {
        let s = format_double(d);
        if self.resp3() {
            self.buf.push(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn bool(&mut self, b: bool) {
        if self.resp3() {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A verbatim text (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2).
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3() {
            push_int(&mut self.buf, b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// An array of bulk strings.
    pub fn bulk_array<T: AsRef<[u8]>>(&mut self, items: &[T]) {
        self.array(items.len());
        for item in items {
            self.bulk(item.as_ref());
        }
    }
}

/// Encodes a command as a RESP multibulk request, as it is propagated.
pub fn encode_command<T: AsRef<[u8]>>(args: &[T]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
    push_int(&mut out, b'*', args.len() as i64);
    for a in args {
        let a = a.as_ref();
        push_int(&mut out, b'$', a.len() as i64);
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut o = Out::new(Protocol::Resp2);
        o.map(1);
        o.null();
        o.null_array();
        o.double(1.5);
        o.bool(true);
        o.int(-12);
        assert_eq!(o.buf, b"*2\r\n$-1\r\n*-1\r\n$3\r\n1.5\r\n:1\r\n:-12\r\n");
        let mut o = Out::new(Protocol::Resp3);
        o.map(1);
        o.null();
        o.null_array();
        o.double(1.5);
        o.bool(true);
        o.verbatim(b"hi");
        assert_eq!(o.buf, b"%1\r\n_\r\n_\r\n,1.5\r\n#t\r\n=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn errors_never_carry_newlines() {
        let mut o = Out::default();
        o.error("ERR a\r\nb");
        assert_eq!(o.buf, b"-ERR a  b\r\n");
    }

    #[test]
    fn encodes_commands() {
        assert_eq!(
            encode_command(&["SET", "k", ""]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
        );
        let mut o = Out::default();
        o.int(i64::MIN);
        assert_eq!(o.buf, b":-9223372036854775808\r\n");
    }
}
