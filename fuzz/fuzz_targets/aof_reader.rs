//! Fuzzes `AofReader`: no panic, offsets monotonic and within the input, and
//! the offset a truncation reports leaves a file that reads cleanly with the
//! same commands.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use server::aof::reader::{AofReader, Cmd, ReadError};

/// Reads to the end: the commands and how reading stopped.
fn read_all(data: &[u8]) -> (Vec<Cmd>, Result<(), ReadError>) {
    let mut r = AofReader::new(Bytes::copy_from_slice(data));
    let mut cmds: Vec<Cmd> = Vec::new();
    let mut last_pos = 0;
    let result = loop {
        let step = r.next_command();
        let pos = r.position();
        assert!(pos >= last_pos && pos <= data.len());
        last_pos = pos;
        match step {
            Ok(Some(c)) => {
                let prev_end = cmds.last().map_or(0, |p| p.end);
                assert!(c.start >= prev_end && c.end > c.start && c.end <= data.len());
                assert!(!c.argv.is_empty());
                assert_eq!((pos, r.valid_up_to()), (c.end, c.end));
                cmds.push(c);
            }
            Ok(None) => {
                assert_eq!(pos, data.len());
                assert_eq!(r.next_command(), Ok(None));
                break Ok(());
            }
            Err(e) => {
                let last_end = cmds.last().map_or(0, |c| c.end);
                match e {
                    ReadError::Truncated { valid_up_to } => assert_eq!(valid_up_to, last_end),
                    ReadError::BadFormat { offset } => {
                        assert!(offset >= last_end && offset < data.len())
                    }
                    ReadError::UnclosedMulti { revert_to } => {
                        assert!(revert_to < last_end && r.in_multi())
                    }
                }
                // Errors are sticky.
                assert_eq!(r.next_command(), Err(e));
                break Err(e);
            }
        }
    };
    (cmds, result)
}

fuzz_target!(|data: &[u8]| {
    let (cmds, result) = read_all(data);
    let cut = match result {
        Err(ReadError::Truncated { valid_up_to }) => valid_up_to,
        Err(ReadError::UnclosedMulti { revert_to }) => revert_to,
        _ => return,
    };
    // What the shell would truncate to reads back as the commands before the cut, ending
    // cleanly (or, with nested MULTIs, at an earlier unclosed one).
    let (again, end) = read_all(&data[..cut]);
    let kept: Vec<&Cmd> = cmds.iter().filter(|c| c.end <= cut).collect();
    assert_eq!(again.len(), kept.len());
    for (a, b) in again.iter().zip(kept) {
        assert_eq!(a, b);
    }
    match end {
        Ok(()) => {}
        Err(ReadError::UnclosedMulti { revert_to }) => assert!(revert_to < cut),
        Err(e) => panic!("truncated file does not read cleanly: {e:?}"),
    }
});
