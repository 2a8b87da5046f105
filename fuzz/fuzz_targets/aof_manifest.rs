//! Fuzzes `Manifest::parse`: no panic, and whatever parses writes back (with
//! `to_bytes`) to bytes that parse to the same manifest.

#![no_main]

use libfuzzer_sys::fuzz_target;
use server::aof::manifest::{reason, Manifest, MANIFEST_MAX_LINE};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::parse(data) else {
        return;
    };
    let bytes = m.to_bytes();
    if bytes.is_empty() {
        // Only comments: nothing to write, and Redis calls an empty file an error.
        assert!(m.is_empty() && m.history.is_empty());
        assert_eq!(Manifest::parse(&bytes).unwrap_err(), reason::EMPTY);
        return;
    }
    // Escaping can lengthen a name (a raw byte becomes `\xHH`), past what a line may hold:
    // Redis would write that unreadable line too.
    let too_long = bytes
        .split_inclusive(|&b| b == b'\n')
        .any(|l| l.len() > MANIFEST_MAX_LINE);
    match Manifest::parse(&bytes) {
        Ok(again) => {
            assert!(!too_long);
            assert_eq!(again, m);
            // Our own output is a fixed point.
            assert_eq!(again.to_bytes(), bytes);
        }
        Err(e) => {
            assert!(too_long, "own output rejected: {e}");
            assert_eq!(e, reason::TOO_LONG_LINE);
        }
    }
});
