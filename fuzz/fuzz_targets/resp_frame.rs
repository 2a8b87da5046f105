//! Fuzzes `parse_frame`: no panic, no runaway allocation, and a parsed frame
//! is consistent with its own prefix.

#![no_main]

use libfuzzer_sys::fuzz_target;
use resp::parse_frame;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((frame, used))) = parse_frame(data) {
        assert!(used > 0 && used <= data.len());
        // Parsing exactly the consumed bytes gives the same frame (compared
        // through Debug so that NaN doubles compare equal).
        let (again, used_again) = parse_frame(&data[..used]).unwrap().unwrap();
        assert_eq!(used_again, used);
        assert_eq!(format!("{frame:?}"), format!("{again:?}"));
        // Any strict prefix is merely incomplete.
        assert_eq!(parse_frame(&data[..used - 1]), Ok(None));
    }
});
