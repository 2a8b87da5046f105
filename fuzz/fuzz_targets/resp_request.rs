//! Fuzzes `RequestParser::next`: the requests and the final error must not
//! depend on how the input is split into reads, and nothing may panic.
//!
//! Input layout: byte 0 picks the limits, byte 1 seeds the read sizes, the
//! rest is the client's byte stream.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use resp::{Limits, ProtocolError, Request, RequestParser};

/// Feeds `data` in reads whose sizes come from `seed` (0 = one read).
fn feed(data: &[u8], seed: u8, limits: &Limits) -> (Vec<Request>, Option<ProtocolError>) {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut state = u32::from(seed) | 1;
    let mut pos = 0;
    while pos < data.len() {
        let n = if seed == 0 {
            data.len()
        } else {
            // xorshift: read sizes from 1 to 64 bytes.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 64 + 1) as usize
        }
        .min(data.len() - pos);
        buf.extend_from_slice(&data[pos..pos + n]);
        pos += n;
        loop {
            match parser.next(&mut buf, limits) {
                Ok(Some(req)) => {
                    assert!(!req.args.is_empty(), "next() returned an empty request");
                    out.push(req);
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let (flags, seed, data) = (input[0], input[1], &input[2..]);
    let limits = Limits {
        authenticated: flags & 1 == 1,
        max_bulk_len: match (flags >> 1) & 3 {
            0 => 536_870_912,
            1 => 16,
            2 => 1 << 20,
            _ => u64::MAX,
        },
    };
    let whole = feed(data, 0, &limits);
    // Past 64 KiB the "too big" checks legitimately depend on read sizes.
    if data.len() <= 64 * 1024 {
        let split = feed(data, seed, &limits);
        assert_eq!(whole, split);
    }
});
