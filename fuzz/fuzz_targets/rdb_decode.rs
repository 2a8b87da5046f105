//! Fuzzes the RDB decoders: `decode_all`, `decode_dump_payload` and
//! `PushDecoder` fed in random chunks must not panic, and the push decoder
//! must agree with `decode_all`.
//!
//! Input layout: byte 0 seeds the chunk sizes, the rest is the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rdb::{decode_all, decode_dump_payload, DecodeOptions, Item, PushDecoder};

/// Pulls items until the decoder wants more input; `Err` stops everything.
fn drain(dec: &mut PushDecoder, out: &mut Vec<Item>) -> Result<(), rdb::Error> {
    while let Some(item) = dec.next_item()? {
        out.push(item);
    }
    Ok(())
}

/// Decodes `data` fed in chunks whose sizes come from `seed`.
fn push_decode(data: &[u8], seed: u8, opts: &DecodeOptions) -> Result<Vec<Item>, rdb::Error> {
    let mut dec = PushDecoder::new(opts.clone());
    let mut items = Vec::new();
    let mut state = u32::from(seed).wrapping_mul(2654435761) | 1;
    let mut pos = 0;
    while pos < data.len() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        // Mostly small chunks, sometimes a large one.
        let n = if state % 8 == 0 {
            (state >> 8) as usize % 4096
        } else {
            (state >> 8) as usize % 16
        } + 1;
        let end = (pos + n).min(data.len());
        dec.feed(&data[pos..end]);
        pos = end;
        drain(&mut dec, &mut items)?;
        assert!(dec.position() <= pos as u64);
    }
    dec.finish();
    drain(&mut dec, &mut items)?;
    Ok(items)
}

fuzz_target!(|input: &[u8]| {
    let Some((&seed, data)) = input.split_first() else {
        return;
    };
    for opts in [
        DecodeOptions::default(),
        DecodeOptions {
            verify_checksum: false,
            max_version: 10,
        },
    ] {
        let whole = decode_all(data, &opts);
        let pushed = push_decode(data, seed, &opts);
        // Compared through Debug so that NaN scores compare equal.
        match (&whole, &pushed) {
            (Ok(file), Ok(items)) => {
                assert_eq!(format!("{:?}", file.items), format!("{items:?}"));
            }
            (Err(_), Err(_)) => {}
            _ => panic!("decode_all {whole:?} but push decoder {pushed:?}"),
        }
    }
    let _ = decode_dump_payload(data, false);
    let _ = decode_dump_payload(data, true);
});
