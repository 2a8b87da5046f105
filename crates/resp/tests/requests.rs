//! Request parser: every rule and protocol error of resp.md §1, and the
//! observed transcripts.

use bytes::BytesMut;
use resp::{Limits, ProtocolError, Request, RequestParser};

const AUTH: Limits = Limits {
    max_bulk_len: 536_870_912,
    authenticated: true,
};
const NOAUTH: Limits = Limits {
    max_bulk_len: 536_870_912,
    authenticated: false,
};

/// What feeding `input` in one read produces: the requests, then the error
/// if any (None = waiting for more data).
fn run_with(input: &[u8], limits: &Limits) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>, usize) {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match p.next(&mut buf, limits) {
            Ok(Some(req)) => out.push(req.args.iter().map(|a| a.to_vec()).collect()),
            Ok(None) => return (out, None, buf.len()),
            Err(e) => return (out, Some(e), buf.len()),
        }
    }
}

fn run(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
    let (reqs, err, _) = run_with(input, &AUTH);
    (reqs, err)
}

fn reqs(items: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
    items
        .iter()
        .map(|r| r.iter().map(|a| a.as_bytes().to_vec()).collect())
        .collect()
}

fn err_only(input: &[u8], limits: &Limits) -> ProtocolError {
    let (r, e, _) = run_with(input, limits);
    assert!(r.is_empty(), "{r:?}");
    e.unwrap_or_else(|| panic!("no error for {:?}", String::from_utf8_lossy(input)))
}

#[test]
fn error_messages_are_exact() {
    use ProtocolError::*;
    let cases: &[(ProtocolError, &str)] = &[
        (TooBigInline, "ERR Protocol error: too big inline request"),
        (
            UnbalancedQuotes,
            "ERR Protocol error: unbalanced quotes in request",
        ),
        (
            TooBigMbulkCount,
            "ERR Protocol error: too big mbulk count string",
        ),
        (
            InvalidMultibulkLength,
            "ERR Protocol error: invalid multibulk length",
        ),
        (
            UnauthenticatedMultibulkLength,
            "ERR Protocol error: unauthenticated multibulk length",
        ),
        (
            TooBigBulkCount,
            "ERR Protocol error: too big bulk count string",
        ),
        (
            ExpectedDollar(b'+'),
            "ERR Protocol error: expected '$', got '+'",
        ),
        (InvalidBulkLength, "ERR Protocol error: invalid bulk length"),
        (
            UnauthenticatedBulkLength,
            "ERR Protocol error: unauthenticated bulk length",
        ),
    ];
    for (e, text) in cases {
        assert_eq!(e.message(), *text);
        assert_eq!(e.message_bytes(), text.as_bytes());
        assert_eq!(e.to_string(), *text);
    }
    // Observed: the byte is echoed raw, CR / LF become spaces.
    assert_eq!(
        ExpectedDollar(0xff).message_bytes(),
        b"ERR Protocol error: expected '$', got '\xff'"
    );
    assert_eq!(
        ExpectedDollar(b'\n').message(),
        "ERR Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        ExpectedDollar(b'\r').message(),
        "ERR Protocol error: expected '$', got ' '"
    );
}

#[test]
fn observed_transcripts() {
    use ProtocolError::*;
    assert_eq!(run(b"ping \"abc\r\n"), (vec![], Some(UnbalancedQuotes)));
    assert_eq!(run(b"*a\r\n"), (vec![], Some(InvalidMultibulkLength)));
    assert_eq!(run(b"*1\r\n$-1\r\n"), (vec![], Some(InvalidBulkLength)));
    assert_eq!(
        run(b"*1\r\n+PING\r\n"),
        (vec![], Some(ExpectedDollar(b'+')))
    );
    assert_eq!(
        run(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n"),
        (vec![], Some(InvalidBulkLength))
    );
    assert_eq!(run(b"*0\r\n"), (vec![], None));
    assert_eq!(run(b"*-1\r\nPING\r\n"), (reqs(&[&["PING"]]), None));
    assert_eq!(
        err_only(b"*11\r\n", &NOAUTH),
        UnauthenticatedMultibulkLength
    );
    // Bare LF headers never complete; the connection stays open.
    assert_eq!(run(b"*1\n$4\nPING\n"), (vec![], None));
    // Inline with bare LF works.
    assert_eq!(run(b"\n\nPING\n"), (reqs(&[&["PING"]]), None));
    // Two unchecked bytes after the payload; the CR LF after them is an empty inline line.
    assert_eq!(run(b"*1\r\n$4\r\nPINGxx\r\n"), (reqs(&[&["PING"]]), None));
    assert_eq!(run(b"echo \"a\"b\r\n"), (vec![], Some(UnbalancedQuotes)));
    // Observed on 7.0.15: the byte after a header's CR is not checked either.
    assert_eq!(run(b"*1\rX$4\r\nPING\r\n"), (reqs(&[&["PING"]]), None));
}

#[test]
fn strict_numbers() {
    use ProtocolError::*;
    for bad in [
        &b"*01\r\n"[..],
        b"*+1\r\n",
        b"* 1\r\n",
        b"*1 \r\n",
        b"*\r\n",
        b"*-0\r\n",
        b"*-\r\n",
        b"*1.0\r\n",
    ] {
        assert_eq!(
            err_only(bad, &AUTH),
            InvalidMultibulkLength,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    for bad in [
        &b"*1\r\n$04\r\nPING\r\n"[..],
        b"*1\r\n$4 \r\n",
        b"*1\r\n$+4\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$-0\r\n",
    ] {
        assert_eq!(
            err_only(bad, &AUTH),
            InvalidBulkLength,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // A LF inside the header line is just a non-digit once a CR follows.
    assert_eq!(
        err_only(b"*1\n$4\r\nPING\r\n", &AUTH),
        InvalidMultibulkLength
    );
    // 21 or more characters is never a number.
    assert_eq!(
        err_only(b"*000000000000000000001\r\n", &AUTH),
        InvalidMultibulkLength
    );
}

#[test]
fn multibulk_counts() {
    use ProtocolError::*;
    assert_eq!(err_only(b"*2147483648\r\n", &AUTH), InvalidMultibulkLength);
    assert_eq!(
        err_only(b"*9223372036854775807\r\n", &AUTH),
        InvalidMultibulkLength
    );
    assert_eq!(
        err_only(b"*9223372036854775808\r\n", &AUTH),
        InvalidMultibulkLength
    );
    // INT_MAX itself is accepted (and waits for its arguments).
    assert_eq!(run(b"*2147483647\r\n$1\r\na\r\n"), (vec![], None));
    // The INT_MAX check comes before the unauthenticated one.
    assert_eq!(
        err_only(b"*2147483648\r\n", &NOAUTH),
        InvalidMultibulkLength
    );
    assert_eq!(
        err_only(b"*2147483647\r\n", &NOAUTH),
        UnauthenticatedMultibulkLength
    );
    // Negative counts of any size are skipped.
    assert_eq!(
        run(b"*-5\r\n*-9223372036854775808\r\n*0\r\nPING\r\n"),
        (reqs(&[&["PING"]]), None)
    );
    // Ten arguments are fine before authentication, eleven are not.
    let ten = resp::encode_command(&["a"; 10]);
    assert_eq!(run_with(&ten, &NOAUTH).0.len(), 1);
    let eleven = resp::encode_command(&["a"; 11]);
    assert_eq!(err_only(&eleven, &NOAUTH), UnauthenticatedMultibulkLength);
    assert_eq!(run_with(&eleven, &AUTH).0.len(), 1);
}

#[test]
fn bulk_lengths() {
    use ProtocolError::*;
    assert_eq!(err_only(b"*1\r\nPING\r\n", &AUTH), ExpectedDollar(b'P'));
    assert_eq!(err_only(b"*1\r\n:1\r\n", &AUTH), ExpectedDollar(b':'));
    assert_eq!(err_only(b"*1\r\n\n\r\n", &AUTH), ExpectedDollar(b'\n'));
    assert_eq!(err_only(b"*1\r\n\xff\r\n", &AUTH), ExpectedDollar(0xff));
    // The '$' check waits for the whole header line.
    assert_eq!(run(b"*1\r\n+PING"), (vec![], None));
    assert_eq!(run(b"*1\r\n+PING\r"), (vec![], None));
    // proto-max-bulk-len bounds.
    assert_eq!(run(b"*1\r\n$536870912\r\n"), (vec![], None));
    assert_eq!(err_only(b"*1\r\n$536870913\r\n", &AUTH), InvalidBulkLength);
    let small = Limits {
        max_bulk_len: 1 << 20,
        authenticated: true,
    };
    assert_eq!(err_only(b"*1\r\n$1048577\r\n", &small), InvalidBulkLength);
    assert_eq!(run_with(b"*1\r\n$1048576\r\n", &small).1, None);
    // No limit (the master link).
    let unlimited = Limits {
        max_bulk_len: u64::MAX,
        authenticated: true,
    };
    assert_eq!(
        run_with(b"*1\r\n$9223372036854775807\r\nabc", &unlimited).1,
        None
    );
    assert_eq!(
        err_only(b"*1\r\n$9223372036854775808\r\n", &unlimited),
        InvalidBulkLength
    );
    // Unauthenticated bulk limit: 16384 ok, 16385 not; invalid is checked first.
    let mut ok = b"*1\r\n$16384\r\n".to_vec();
    ok.extend(std::iter::repeat_n(b'x', 16384));
    ok.extend_from_slice(b"\r\n");
    assert_eq!(run_with(&ok, &NOAUTH).0.len(), 1);
    assert_eq!(
        err_only(b"*1\r\n$16385\r\n", &NOAUTH),
        UnauthenticatedBulkLength
    );
    assert_eq!(
        err_only(b"*1\r\n$536870913\r\n", &NOAUTH),
        InvalidBulkLength
    );
    assert_eq!(err_only(b"*1\r\n$-1\r\n", &NOAUTH), InvalidBulkLength);
    // Empty arguments.
    assert_eq!(
        run(b"*2\r\n$4\r\necho\r\n$0\r\n\r\n"),
        (reqs(&[&["echo", ""]]), None)
    );
    // The payload may contain anything, CR LF and NUL included.
    assert_eq!(
        run(b"*2\r\n$3\r\nset\r\n$6\r\na\r\n\0\r\n\r\n"),
        (vec![vec![b"set".to_vec(), b"a\r\n\0\r\n".to_vec()]], None)
    );
    // Payload without its two trailing bytes waits.
    assert_eq!(run(b"*1\r\n$4\r\nPING\r"), (vec![], None));
}

#[test]
fn header_line_limits() {
    use ProtocolError::*;
    let mut long = b"*1".to_vec();
    long.extend(std::iter::repeat_n(b'1', 65534));
    assert_eq!(long.len(), 65536);
    assert_eq!(run(&long), (vec![], None));
    long.push(b'1');
    assert_eq!(run(&long), (vec![], Some(TooBigMbulkCount)));
    // A bare-LF header still hits the limit.
    let mut lf = b"*1\n$4\nPING\n".to_vec();
    lf.extend(std::iter::repeat_n(b'\n', 65536));
    assert_eq!(run(&lf), (vec![], Some(TooBigMbulkCount)));
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 65536));
    assert_eq!(run(&bulk), (vec![], Some(TooBigBulkCount)));
    // A long line whose CR has arrived is not "too big", just invalid later.
    let mut with_cr = b"*".to_vec();
    with_cr.extend(std::iter::repeat_n(b'1', 70000));
    with_cr.push(b'\r');
    assert_eq!(run(&with_cr), (vec![], None));
    with_cr.push(b'\n');
    assert_eq!(run(&with_cr), (vec![], Some(InvalidMultibulkLength)));
}

#[test]
fn inline_requests() {
    use ProtocolError::*;
    assert_eq!(run(b"PING\r\n"), (reqs(&[&["PING"]]), None));
    assert_eq!(
        run(b"set k \"a b\"\n"),
        (reqs(&[&["set", "k", "a b"]]), None)
    );
    assert_eq!(
        run(b"   \r\n\t\n\r\n\nPING\r\n"),
        (reqs(&[&["PING"]]), None)
    );
    assert_eq!(run(b"PING"), (vec![], None));
    assert_eq!(run(b"PING\r"), (vec![], None));
    // Only one CR is dropped; the splitter treats the other as a blank.
    assert_eq!(run(b"echo a\r\r\n"), (reqs(&[&["echo", "a"]]), None));
    assert_eq!(run(b"echo \"a\r\"\r\n"), (reqs(&[&["echo", "a\r"]]), None));
    assert_eq!(run(b"echo 'x\n"), (vec![], Some(UnbalancedQuotes)));
    // 64 KiB without LF.
    let mut long = vec![b'x'; 65536];
    assert_eq!(run(&long), (vec![], None));
    long.push(b'x');
    assert_eq!(run(&long), (vec![], Some(TooBigInline)));
    // A complete long line is fine when it arrives in one read.
    long.push(b'\n');
    assert_eq!(run(&long).1, None);
    // Both kinds mix in a pipeline, and earlier requests come before an error.
    assert_eq!(
        run(b"PING\r\n*1\r\n$4\r\nPING\r\nECHO x\n*1\r\n$x\r\nPING\r\n"),
        (
            reqs(&[&["PING"], &["PING"], &["ECHO", "x"]]),
            Some(InvalidBulkLength)
        )
    );
    // Inline arguments are not subject to the unauthenticated limits.
    let many = ["a"; 20].join(" ") + "\n";
    assert_eq!(run_with(many.as_bytes(), &NOAUTH).0[0].len(), 20);
}

#[test]
fn nul_bytes_hide_line_ends_like_strchr() {
    use ProtocolError::*;
    // Observed on 7.0.15: these never get a reply.
    assert_eq!(run(b"PING\0\n"), (vec![], None));
    assert_eq!(run(b"*1\0\r\n$4\r\nPING\r\n"), (vec![], None));
    assert_eq!(run(b"*1\r\n$4\0\r\nPING\r\n"), (vec![], None));
    // ...until more than 64 KiB are buffered.
    let mut inline = b"PING\0\n".to_vec();
    inline.extend(std::iter::repeat_n(b'x', 70000));
    assert_eq!(run(&inline), (vec![], Some(TooBigInline)));
    let mut header = b"*1\0\r\n".to_vec();
    header.extend(std::iter::repeat_n(b'x', 70000));
    assert_eq!(run(&header), (vec![], Some(TooBigMbulkCount)));
    // NUL inside a payload is just data.
    assert_eq!(
        run(b"*1\r\n$5\r\nPI\0NG\r\n").0,
        vec![vec![b"PI\0NG".to_vec()]]
    );
    // Chunked arrival does not change the outcome.
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    for &b in b"PING\0\nPING\r\n" {
        buf.extend_from_slice(&[b]);
        assert_eq!(p.next(&mut buf, &AUTH), Ok(None));
    }
}

#[test]
fn raw_mode_reports_inline_lines() {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(&b"\n  \r\n*1\r\n$4\r\nPING\r\nPING\r\n*0\r\n"[..]);
    let r = p.next_raw(&mut buf, &AUTH).unwrap().unwrap();
    assert!(r.args.is_empty());
    assert_eq!(p.last_inline_len(), Some(0));
    let r = p.next_raw(&mut buf, &AUTH).unwrap().unwrap();
    assert!(r.args.is_empty());
    assert_eq!(p.last_inline_len(), Some(2));
    let r = p.next_raw(&mut buf, &AUTH).unwrap().unwrap();
    assert_eq!(r.args, vec!["PING"]);
    assert_eq!(p.last_inline_len(), None);
    let r = p.next_raw(&mut buf, &AUTH).unwrap().unwrap();
    assert_eq!(r.args, vec!["PING"]);
    assert_eq!(p.last_inline_len(), Some(4));
    assert_eq!(p.next_raw(&mut buf, &AUTH), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn arguments_are_zero_copy() {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
    let base = buf.as_ptr() as usize;
    let req = p.next(&mut buf, &AUTH).unwrap().unwrap();
    assert_eq!(req.args[0].as_ptr() as usize, base + 8);
    assert_eq!(req.args[1].as_ptr() as usize, base + 17);
}

#[test]
fn progress_accessors() {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc"[..]);
    assert_eq!(p.next(&mut buf, &AUTH), Ok(None));
    assert!(p.in_progress());
    assert_eq!(p.buffered_arg_bytes(), 4);
    assert_eq!(buf.len(), 3);
    assert_eq!(p.bulk_bytes_needed(&buf), Some(9));
    buf.extend_from_slice(b"defghij\r\n");
    assert_eq!(p.bulk_bytes_needed(&buf), Some(0));
    let req = p.next(&mut buf, &AUTH).unwrap().unwrap();
    assert_eq!(
        req,
        Request {
            args: vec!["SET".into(), "k".into(), "abcdefghij".into()]
        }
    );
    assert!(!p.in_progress());
    assert_eq!(p.buffered_arg_bytes(), 0);
    assert_eq!(p.bulk_bytes_needed(&buf), None);
}

/// Feeds `data` in `chunk`-byte reads, as a server would.
fn feed_chunked(data: &[u8], chunk: usize) -> Vec<Request> {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(r) = p.next(&mut buf, &AUTH).unwrap() {
            out.push(r);
        }
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn a_million_small_arguments_in_16k_reads() {
    let n = 1_000_000;
    let mut data = format!("*{}\r\n", n + 1).into_bytes();
    data.extend_from_slice(b"$5\r\nRPUSH\r\n");
    for i in 0..n {
        let a = (i % 1000).to_string();
        data.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    let start = std::time::Instant::now();
    let reqs = feed_chunked(&data, 16 * 1024);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].args.len(), n + 1);
    assert_eq!(reqs[0].args[n], "999");
    // Quadratic re-parsing would take minutes here.
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

#[test]
fn a_big_bulk_in_16k_reads() {
    let len = 64 << 20;
    let mut data = format!("*2\r\n$3\r\nSET\r\n${len}\r\n").into_bytes();
    data.resize(data.len() + len, b'v');
    data.extend_from_slice(b"\r\nPING\r\n");
    let reqs = feed_chunked(&data, 16 * 1024);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].args[1].len(), len);
    assert_eq!(reqs[1].args, vec!["PING"]);
}

#[test]
fn byte_by_byte_equals_one_read() {
    let data: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n\r\nset a 'b c' \"\\x41\"\n*0\r\n*-1\r\n  \nPING\r\n*1\r\n$4\r\nPINGxxGET k\n";
    let whole = feed_chunked(data, data.len());
    assert_eq!(whole, feed_chunked(data, 1));
    assert_eq!(whole, feed_chunked(data, 7));
    let args: Vec<Vec<&[u8]>> = whole
        .iter()
        .map(|r| r.args.iter().map(|a| &a[..]).collect())
        .collect();
    assert_eq!(
        args,
        vec![
            vec![&b"SET"[..], b"k", b""],
            vec![b"set", b"a", b"b c", b"A"],
            vec![b"PING"],
            vec![b"PING"],
            vec![b"GET", b"k"],
        ]
    );
}
