//! Property tests: read boundaries never change what the request parser
//! produces, and no input makes either parser panic.

use bytes::BytesMut;
use proptest::prelude::*;
use resp::{format_double, parse_frame, split_args, Frame, Limits, ProtocolError, RequestParser};

const AUTH: Limits = Limits {
    max_bulk_len: 536_870_912,
    authenticated: true,
};

/// One item of a generated request stream.
#[derive(Debug, Clone)]
enum Item {
    /// A multibulk request.
    Multibulk(Vec<Vec<u8>>),
    /// An inline request: its arguments and how each is written.
    Inline {
        args: Vec<Vec<u8>>,
        styles: Vec<u8>,
        seps: Vec<u8>,
        crlf: bool,
        lead: bool,
    },
    /// A line of blanks (no request).
    Blank(Vec<u8>),
    /// `*0` or a negative count (no request).
    Empty(i64),
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..12),
        3 => "[a-zA-Z0-9_:.-]{1,10}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..600),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => proptest::collection::vec(arg(), 1..6).prop_map(Item::Multibulk),
        4 => (
            proptest::collection::vec(arg(), 1..6),
            proptest::collection::vec(0u8..3, 6),
            proptest::collection::vec(0u8..3, 6),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(args, styles, seps, crlf, lead)| Item::Inline { args, styles, seps, crlf, lead }),
        1 => proptest::collection::vec(prop_oneof![Just(b' '), Just(b'\t'), Just(b'\r')], 0..4).prop_map(Item::Blank),
        1 => prop_oneof![Just(0i64), Just(-1), Just(-7)].prop_map(Item::Empty),
    ]
}

fn is_plain(a: &[u8]) -> bool {
    !a.is_empty()
        && a.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_:.-".contains(b))
}

/// Writes an argument so that Redis's splitter gives it back.
fn quote(a: &[u8], style: u8, out: &mut Vec<u8>) {
    let single_ok = !a.iter().any(|b| b"'\\\r\n\0".contains(b));
    if style == 0 && is_plain(a) {
        out.extend_from_slice(a);
    } else if style == 1 && single_ok {
        out.push(b'\'');
        out.extend_from_slice(a);
        out.push(b'\'');
    } else {
        out.push(b'"');
        for &b in a {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b' '..=b'~' => out.push(b),
                _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            }
        }
        out.push(b'"');
    }
}

/// The wire bytes of a stream, and the requests it holds.
fn encode(items: &[Item]) -> (Vec<u8>, Vec<Vec<Vec<u8>>>) {
    let mut out = Vec::new();
    let mut expected = Vec::new();
    for item in items {
        match item {
            Item::Multibulk(args) => {
                out.extend(resp::encode_command(args));
                expected.push(args.clone());
            }
            Item::Inline {
                args,
                styles,
                seps,
                crlf,
                lead,
            } => {
                if *lead {
                    out.extend_from_slice(b" \t");
                }
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice([&b" "[..], b"\t", b"  "][seps[i] as usize]);
                    }
                    quote(a, styles[i], &mut out);
                }
                out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
                expected.push(args.clone());
            }
            Item::Blank(blanks) => {
                out.extend_from_slice(blanks);
                out.push(b'\n');
            }
            Item::Empty(n) => out.extend_from_slice(format!("*{n}\r\n").as_bytes()),
        }
    }
    (out, expected)
}

/// Maps a quarter of random bytes to protocol punctuation and digits.
fn bias(raw: &[u8]) -> Vec<u8> {
    const SPECIAL: &[u8] = b"*$%~>|=!_,#(+-:?\r\n\"'\\ 0123456789\r\n\r\n";
    raw.iter()
        .map(|&b| {
            if b < 64 {
                SPECIAL[b as usize % SPECIAL.len()]
            } else {
                b
            }
        })
        .collect()
}

/// Feeds `data` in reads of the given sizes (cycled), collecting what the
/// parser returns until it errors or the data is used up.
fn feed(
    data: &[u8],
    sizes: &[usize],
    limits: &Limits,
) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < data.len() {
        let n = sizes[i % sizes.len()].max(1).min(data.len() - pos);
        i += 1;
        buf.extend_from_slice(&data[pos..pos + n]);
        pos += n;
        loop {
            match p.next(&mut buf, limits) {
                Ok(Some(r)) => out.push(r.args.iter().map(|a| a.to_vec()).collect()),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_split_gives_the_same_requests(
        items in proptest::collection::vec(item(), 0..12),
        sizes in proptest::collection::vec(1usize..300, 1..20),
    ) {
        let (data, expected) = encode(&items);
        let whole = feed(&data, &[data.len().max(1)], &AUTH);
        prop_assert_eq!(&whole, &(expected, None));
        prop_assert_eq!(feed(&data, &sizes, &AUTH), whole.clone());
        prop_assert_eq!(feed(&data, &[1], &AUTH), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_ignore_splits(
        raw in proptest::collection::vec(any::<u8>(), 0..2000),
        sizes in proptest::collection::vec(1usize..64, 1..10),
        authenticated in any::<bool>(),
        max in prop_oneof![Just(536_870_912u64), Just(16u64), Just(u64::MAX)],
    ) {
        let limits = Limits { max_bulk_len: max, authenticated };
        let data = bias(&raw);
        // Below the 64 KiB line limits, where a read ends cannot matter.
        let whole = feed(&data, &[data.len().max(1)], &limits);
        prop_assert_eq!(feed(&data, &sizes, &limits), whole);
    }

    #[test]
    fn split_args_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Some(args) = split_args(&line) {
            // Re-quoting what came out splits back to the same arguments.
            let mut again = Vec::new();
            for a in &args {
                quote(a, 2, &mut again);
                again.push(b' ');
            }
            prop_assert_eq!(split_args(&again), Some(args));
        }
    }

    #[test]
    fn frame_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        let data = bias(&raw);
        if let Ok(Some((_, n))) = parse_frame(&data) {
            prop_assert!(n > 0 && n <= data.len());
        }
    }

    #[test]
    fn frames_round_trip(frame in frame_strategy()) {
        let mut wire = Vec::new();
        write_frame(&frame, &mut wire);
        let parsed = parse_frame(&wire).unwrap();
        prop_assert_eq!(parsed, Some((frame, wire.len())));
        for cut in 0..wire.len() {
            prop_assert_eq!(parse_frame(&wire[..cut]), Ok(None));
        }
    }
}

fn frame_strategy() -> impl Strategy<Value = Frame> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..20);
    let line = || "[a-zA-Z0-9 ]{0,12}".prop_map(String::into_bytes);
    let leaf = prop_oneof![
        line().prop_map(Frame::Simple),
        line().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        bytes().prop_map(Frame::Bulk),
        Just(Frame::Null),
        any::<f64>()
            .prop_filter("no NaN", |d| !d.is_nan())
            .prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        "-?[1-9][0-9]{0,40}".prop_map(|s| Frame::BigNumber(s.into_bytes())),
        ("[a-z]{3}", bytes()).prop_map(|(f, t)| Frame::Verbatim(f.into_bytes(), t)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let pairs = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            pairs.clone().prop_map(Frame::Map),
            (pairs, inner).prop_map(|(p, v)| Frame::Attribute(p, Box::new(v))),
        ]
    })
}

/// A RESP3 encoder for the round-trip test.
fn write_frame(f: &Frame, out: &mut Vec<u8>) {
    fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
        out.push(kind);
        out.extend_from_slice(n.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    fn line(out: &mut Vec<u8>, kind: u8, s: &[u8]) {
        out.push(kind);
        out.extend_from_slice(s);
        out.extend_from_slice(b"\r\n");
    }
    match f {
        Frame::Simple(s) => line(out, b'+', s),
        Frame::Error(s) => line(out, b'-', s),
        Frame::Integer(n) => line(out, b':', n.to_string().as_bytes()),
        Frame::Bulk(b) => {
            header(out, b'$', b.len());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Frame::Null => out.extend_from_slice(b"_\r\n"),
        Frame::Double(d) => line(out, b',', format_double(*d).as_bytes()),
        Frame::Boolean(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
        Frame::BigNumber(n) => line(out, b'(', n),
        Frame::Verbatim(fmt, text) => {
            header(out, b'=', text.len() + 4);
            out.extend_from_slice(fmt);
            out.push(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            let kind = match f {
                Frame::Array(_) => b'*',
                Frame::Set(_) => b'~',
                _ => b'>',
            };
            header(out, kind, items.len());
            for i in items {
                write_frame(i, out);
            }
        }
        Frame::Map(pairs) | Frame::Attribute(pairs, _) => {
            header(
                out,
                if matches!(f, Frame::Map(_)) {
                    b'%'
                } else {
                    b'|'
                },
                pairs.len(),
            );
            for (k, v) in pairs {
                write_frame(k, out);
                write_frame(v, out);
            }
            if let Frame::Attribute(_, v) = f {
                write_frame(v, out);
            }
        }
    }
}
