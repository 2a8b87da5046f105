//! Reply parser (server -> client), for clients, replicas and scripting.
//!
//! Parses RESP2 and RESP3 replies as Redis 7.0 sends them. Lines must end in
//! CR LF. Streamed strings and aggregates (`$?`, `*?`, `;`, `.`) are not
//! supported (Redis 7.0 never sends them); a blob error (`!`) is returned as
//! [`Frame::Error`].

/// A RESP2/RESP3 value as sent by a server.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+...`
    Simple(Vec<u8>),
    /// `-...`
    Error(Vec<u8>),
    /// `:...`
    Integer(i64),
    /// `$...`
    Bulk(Vec<u8>),
    /// `$-1`, `*-1`, `_`
    Null,
    /// `*...`
    Array(Vec<Frame>),
    /// `,...`
    Double(f64),
    /// `#t` / `#f`
    Boolean(bool),
    /// `(...`
    BigNumber(Vec<u8>),
    /// `=len\r\nfmt:...` (format, text)
    Verbatim(Vec<u8>, Vec<u8>),
    /// `%...`
    Map(Vec<(Frame, Frame)>),
    /// `~...`
    Set(Vec<Frame>),
    /// `>...`
    Push(Vec<Frame>),
    /// `|...` attributes followed by the value they annotate.
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
}

/// A malformed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed reply: {}", self.0)
    }
}

impl std::error::Error for FrameError {}

/// The deepest nesting of aggregates (and attributes) [`parse_frame`] accepts.
const MAX_FRAME_DEPTH: usize = 1000;

/// Aggregates never preallocate more elements than this.
const PREALLOC_MAX: usize = 1024;

/// Parses one frame from the start of `buf`: `Ok(Some((frame, consumed)))`, or `Ok(None)` if incomplete.
///
/// Nesting deeper than 1000 aggregates is an error; the parser does not
/// recurse, and never preallocates from a declared size.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let mut parser = FrameParser { buf, pos: 0 };
    match parser.frame()? {
        Some(frame) => Ok(Some((frame, parser.pos))),
        None => Ok(None),
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, FrameError> {
    Err(FrameError(msg.into()))
}

struct FrameParser<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// An aggregate whose elements are still being read.
enum Open {
    /// `*`, `~` or `>` with `want` elements in all.
    List {
        kind: u8,
        want: usize,
        items: Vec<Frame>,
    },
    /// `%` or `|` with `want` pairs in all; `key` is a key awaiting its value.
    Pairs {
        attribute: bool,
        want: usize,
        pairs: Vec<(Frame, Frame)>,
        key: Option<Frame>,
    },
    /// Attribute pairs read, awaiting the value they annotate.
    Annotated(Vec<(Frame, Frame)>),
}

/// What one type byte and its header line started.
enum Token {
    /// A complete value.
    Value(Frame),
    /// A non-empty aggregate.
    Open(Open),
}

/// `Ok(None)` (incomplete) propagation.
macro_rules! need {
    ($e:expr) => {
        match $e? {
            Some(v) => v,
            None => return Ok(None),
        }
    };
}

impl<'a> FrameParser<'a> {
    /// The rest of the current line (without CR LF), moving past it.
    fn line(&mut self) -> Result<Option<&'a [u8]>, FrameError> {
        let rest = &self.buf[self.pos..];
        let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
            return Ok(None);
        };
        match rest.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => {
                self.pos += cr + 2;
                Ok(Some(&rest[..cr]))
            }
            Some(_) => err("CR not followed by LF"),
        }
    }

    /// A length or count line: `-1` gives `None` inside the result.
    fn length(&mut self, what: &str) -> Result<Option<Option<usize>>, FrameError> {
        if self.buf.get(self.pos) == Some(&b'?') {
            return err("streamed strings and aggregates are not supported");
        }
        let line = need!(self.line());
        match parse_i64(line) {
            Some(-1) => Ok(Some(None)),
            Some(n) if n >= 0 => match usize::try_from(n) {
                Ok(n) => Ok(Some(Some(n))),
                Err(_) => err(format!("{what} too large")),
            },
            _ => err(format!("invalid {what}")),
        }
    }

    /// `len` payload bytes followed by CR LF.
    fn payload(&mut self, len: usize) -> Result<Option<&'a [u8]>, FrameError> {
        let rest = &self.buf[self.pos..];
        let Some(total) = len.checked_add(2) else {
            return err("bulk length too large");
        };
        if rest.len() < total {
            return Ok(None);
        }
        if &rest[len..total] != b"\r\n" {
            return err("bulk payload not followed by CR LF");
        }
        self.pos += total;
        Ok(Some(&rest[..len]))
    }

    /// One whole frame, nested aggregates included.
    fn frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let mut stack: Vec<Open> = Vec::new();
        loop {
            let mut value = match need!(self.token()) {
                Token::Value(v) => v,
                Token::Open(open) => {
                    if stack.len() >= MAX_FRAME_DEPTH {
                        return err("reply nested too deeply");
                    }
                    stack.push(open);
                    continue;
                }
            };
            // Hand the value to the innermost open aggregate, closing every
            // aggregate that this completes.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(Some(value));
                };
                match top {
                    Open::Annotated(pairs) => {
                        let pairs = std::mem::take(pairs);
                        stack.pop();
                        value = Frame::Attribute(pairs, Box::new(value));
                    }
                    Open::List { kind, want, items } => {
                        items.push(value);
                        if items.len() < *want {
                            break;
                        }
                        let (kind, items) = (*kind, std::mem::take(items));
                        stack.pop();
                        value = match kind {
                            b'*' => Frame::Array(items),
                            b'~' => Frame::Set(items),
                            _ => Frame::Push(items),
                        };
                    }
                    Open::Pairs {
                        attribute,
                        want,
                        pairs,
                        key,
                    } => {
                        match key.take() {
                            None => {
                                *key = Some(value);
                                break;
                            }
                            Some(k) => pairs.push((k, value)),
                        }
                        if pairs.len() < *want {
                            break;
                        }
                        let (attribute, pairs) = (*attribute, std::mem::take(pairs));
                        stack.pop();
                        if attribute {
                            // The annotated value comes next, at the same depth.
                            stack.push(Open::Annotated(pairs));
                            break;
                        }
                        value = Frame::Map(pairs);
                    }
                }
            }
        }
    }

    /// Reads a type byte and what follows it, up to the first nested element.
    fn token(&mut self) -> Result<Option<Token>, FrameError> {
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let value = match kind {
            b'+' => Frame::Simple(need!(self.line()).to_vec()),
            b'-' => Frame::Error(need!(self.line()).to_vec()),
            b':' => {
                let line = need!(self.line());
                Frame::Integer(parse_i64(line).ok_or_else(|| FrameError("invalid integer".into()))?)
            }
            b'$' | b'!' | b'=' => match need!(self.length("bulk length")) {
                None if kind == b'$' => Frame::Null,
                None => return err("invalid bulk length"),
                Some(len) => {
                    let data = need!(self.payload(len));
                    match kind {
                        b'$' => Frame::Bulk(data.to_vec()),
                        b'!' => Frame::Error(data.to_vec()),
                        _ => {
                            if data.len() < 4 || data[3] != b':' {
                                return err("verbatim string without a format");
                            }
                            Frame::Verbatim(data[..3].to_vec(), data[4..].to_vec())
                        }
                    }
                }
            },
            b'*' | b'~' | b'>' => match need!(self.length("aggregate length")) {
                None if kind == b'*' => Frame::Null,
                None => return err("invalid aggregate length"),
                Some(0) => match kind {
                    b'*' => Frame::Array(Vec::new()),
                    b'~' => Frame::Set(Vec::new()),
                    _ => Frame::Push(Vec::new()),
                },
                Some(want) => {
                    let items = Vec::with_capacity(want.min(PREALLOC_MAX));
                    return Ok(Some(Token::Open(Open::List { kind, want, items })));
                }
            },
            b'%' | b'|' => {
                let Some(want) = need!(self.length("map length")) else {
                    return err("invalid map length");
                };
                let attribute = kind == b'|';
                let pairs = Vec::with_capacity(want.min(PREALLOC_MAX));
                if want == 0 && !attribute {
                    Frame::Map(pairs)
                } else if want == 0 {
                    return Ok(Some(Token::Open(Open::Annotated(pairs))));
                } else {
                    return Ok(Some(Token::Open(Open::Pairs {
                        attribute,
                        want,
                        pairs,
                        key: None,
                    })));
                }
            }
            b'_' => {
                if !need!(self.line()).is_empty() {
                    return err("invalid null");
                }
                Frame::Null
            }
            b'#' => match need!(self.line()) {
                b"t" => Frame::Boolean(true),
                b"f" => Frame::Boolean(false),
                _ => return err("invalid boolean"),
            },
            b',' => Frame::Double(parse_double(need!(self.line()))?),
            b'(' => {
                let line = need!(self.line());
                let digits = line
                    .strip_prefix(b"-")
                    .or_else(|| line.strip_prefix(b"+"))
                    .unwrap_or(line);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return err("invalid big number");
                }
                Frame::BigNumber(line.to_vec())
            }
            other => return err(format!("unknown reply type byte 0x{other:02x}")),
        };
        Ok(Some(Token::Value(value)))
    }
}

/// A signed decimal 64-bit integer: optional sign, at least one digit.
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if negative {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

fn parse_double(s: &[u8]) -> Result<f64, FrameError> {
    match s {
        b"inf" | b"+inf" => return Ok(f64::INFINITY),
        b"-inf" => return Ok(f64::NEG_INFINITY),
        b"nan" | b"-nan" => return Ok(f64::NAN),
        _ => {}
    }
    // Only plain decimal / exponent notation; Rust's parser also takes words
    // like "infinity", which a server never sends.
    let plain = !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    match std::str::from_utf8(s)
        .ok()
        .filter(|_| plain)
        .and_then(|t| t.parse::<f64>().ok())
    {
        Some(d) => Ok(d),
        None => err("invalid double"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Frame {
        let (f, n) = parse_frame(s).unwrap().unwrap();
        assert_eq!(
            n,
            s.len(),
            "consumed all of {:?}",
            String::from_utf8_lossy(s)
        );
        f
    }

    fn b(s: &str) -> Frame {
        Frame::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    #[allow(clippy::approx_constant)] // 3.141 is the spec's sample
    fn spec_samples() {
        assert_eq!(parse(b"$11\r\nHello World\r\n"), b("Hello World"));
        assert_eq!(parse(b":12345\r\n"), Frame::Integer(12345));
        assert_eq!(parse(b",3.141\r\n"), Frame::Double(3.141));
        assert_eq!(
            parse(b"(1234567999999999999999999999999999999\r\n"),
            Frame::BigNumber(b"1234567999999999999999999999999999999".to_vec())
        );
        assert_eq!(parse(b"_\r\n"), Frame::Null);
        assert_eq!(parse(b"$-1\r\n"), Frame::Null);
        assert_eq!(parse(b"*-1\r\n"), Frame::Null);
        assert_eq!(
            parse(b"~3\r\n:0\r\n:1\r\n:2\r\n"),
            Frame::Set(vec![
                Frame::Integer(0),
                Frame::Integer(1),
                Frame::Integer(2)
            ])
        );
        assert_eq!(
            parse(b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
            Frame::Map(vec![
                (Frame::Integer(0), Frame::Boolean(false)),
                (Frame::Integer(1), Frame::Boolean(true)),
                (Frame::Integer(2), Frame::Boolean(false)),
            ])
        );
        assert_eq!(
            parse(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n"),
            Frame::Attribute(
                vec![(b("key-popularity"), Frame::Array(vec![b("key:123"), Frame::Integer(90)]))],
                Box::new(b("Some real reply following the attribute"))
            )
        );
        // A push is a frame of its own; the reply after it is the next frame.
        let push = b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n";
        let (f, n) = parse_frame(push).unwrap().unwrap();
        assert_eq!(
            f,
            Frame::Push(vec![b("server-cpu-usage"), Frame::Integer(42)])
        );
        assert_eq!(
            parse(&push[n..]),
            b("Some real reply following the push reply")
        );
        assert_eq!(
            parse(b"=29\r\ntxt:This is a verbatim\nstring\r\n"),
            Frame::Verbatim(b"txt".to_vec(), b"This is a verbatim\nstring".to_vec())
        );
        assert_eq!(parse(b"#t\r\n"), Frame::Boolean(true));
        assert_eq!(parse(b",inf\r\n"), Frame::Double(f64::INFINITY));
        assert_eq!(parse(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
        assert!(matches!(parse(b",nan\r\n"), Frame::Double(d) if d.is_nan()));
        assert_eq!(
            parse(b",1.0000000000000001e+20\r\n"),
            Frame::Double(1.0000000000000001e20)
        );
        assert_eq!(parse(b"+OK\r\n"), Frame::Simple(b"OK".to_vec()));
        assert_eq!(parse(b"-ERR x\r\n"), Frame::Error(b"ERR x".to_vec()));
        assert_eq!(parse(b"!5\r\nERR x\r\n"), Frame::Error(b"ERR x".to_vec()));
        assert_eq!(parse(b"$0\r\n\r\n"), b(""));
        assert_eq!(parse(b"*0\r\n"), Frame::Array(vec![]));
        assert_eq!(
            parse(b":-9223372036854775808\r\n"),
            Frame::Integer(i64::MIN)
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"?\r\n"[..],
            b":\r\n",
            b":12a\r\n",
            b":9223372036854775808\r\n",
            b"$-2\r\n",
            b"$3\r\nabcd\r\n",
            b"$x\r\n",
            b"*-2\r\n",
            b"~-1\r\n",
            b"%-1\r\n",
            b"#x\r\n",
            b"_x\r\n",
            b",\r\n",
            b",infinity\r\n",
            b"(12a\r\n",
            b"(\r\n",
            b"=3\r\ntxt\r\n",
            b"=5\r\ntxt-x\r\n",
            b"+OK\rX",
            b"$?\r\n",
            b"*?\r\n",
            b"$99999999999999999999\r\n",
        ] {
            assert!(
                parse_frame(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn incomplete() {
        let full = b"*3\r\n$3\r\nfoo\r\n%1\r\n+a\r\n,1.5\r\n|1\r\n+k\r\n+v\r\n:7\r\n";
        for i in 0..full.len() {
            assert_eq!(parse_frame(&full[..i]), Ok(None), "prefix {i}");
        }
        assert!(parse_frame(full).unwrap().is_some());
        // Huge declared sizes wait for data instead of allocating.
        assert_eq!(parse_frame(b"*9223372036854775807\r\n:1\r\n"), Ok(None));
        assert_eq!(parse_frame(b"$9223372036854775807\r\nabc"), Ok(None));
        assert_eq!(parse_frame(b"%4611686018427387903\r\n"), Ok(None));
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = b"*1\r\n".repeat(MAX_FRAME_DEPTH);
        deep.extend_from_slice(b":1\r\n");
        assert!(parse_frame(&deep).unwrap().is_some());
        let mut deeper = b"*1\r\n".repeat(MAX_FRAME_DEPTH + 1);
        deeper.extend_from_slice(b":1\r\n");
        assert!(parse_frame(&deeper).is_err());
        let attrs = b"|0\r\n".repeat(100_000);
        assert!(parse_frame(&attrs).is_err());
    }
}
