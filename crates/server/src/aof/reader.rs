//! Reads the commands of an AOF file from bytes, as Redis's loader does.
//!
//! Pure: the caller reads the file, hands over its bytes, executes the commands, and does any
//! truncating and logging ([`msg`] has Redis's log lines verbatim). The parsing follows Redis
//! 7.0's `loadSingleAppendOnlyFile` quirk for quirk:
//!
//! * Lines are read the way `fgets` reads them into Redis's 1024-byte buffer
//!   ([`LINE_BUF`]): at most 1023 bytes, through the first `\n`. A longer line's tail is read
//!   as the next line.
//! * Where a command may start, a line beginning with `#` is an annotation (`#TS:<unix>`) and
//!   is skipped; any other line not beginning with `*` is a bad format.
//! * The count after `*` is read with `atoi` (so `*3junk` is 3) and must be at least 1.
//! * Each argument is a line beginning with `$` (anything else is a bad format) whose length is
//!   read with `strtol`, then that many bytes, then two bytes that Redis discards **without
//!   checking** that they are `\r\n`; they are not checked here either.
//! * Running out of input anywhere inside a command is a truncation ("unexpected end of
//!   file"), including a length larger than what remains: Redis would try to allocate it (and,
//!   for a negative length, abort); here nothing is allocated from a length before the bytes
//!   are known to be there.
//! * A clean end while a `MULTI` is open is handled like a truncation back to just before the
//!   `MULTI` ([`ReadError::UnclosedMulti`]), as Redis does; commands are matched by name only
//!   (`MULTI` / `EXEC`, any case), since the reader has no command table.
//!
//! Deviations: the first truncation offset is the position reading started at, where Redis
//! starts from 0 even after an RDB preamble (it would truncate the preamble away); a `*` line
//! whose second byte is NUL in mid-file, which Redis reports as "Unrecoverable error reading
//! the append only file", is reported as [`ReadError::BadFormat`].

use std::fmt;

use bytes::Bytes;

/// `AOF_ANNOTATION_LINE_MAX_LEN`: the size of Redis's line buffer, terminating NUL included.
pub const LINE_BUF: usize = 1024;

/// True when the file starts with an RDB image (`REDIS`): an RDB base file or an old-style
/// RDB-preamble AOF. Its commands, if any, start where the RDB's EOF opcode and checksum end.
pub fn has_rdb_preamble(data: &[u8]) -> bool {
    data.starts_with(b"REDIS")
}

/// One command read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    /// The arguments, `argv[0]` being the command name (never empty).
    pub argv: Vec<Bytes>,
    /// Offset of its `*` line.
    pub start: usize,
    /// Offset just past its last argument's two trailing bytes.
    pub end: usize,
}

/// Why reading stopped before a clean end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// The input ends inside a command. `valid_up_to` is the end of the last complete command
    /// (or where reading started): truncating the file there leaves only whole commands.
    Truncated {
        /// Where to truncate.
        valid_up_to: usize,
    },
    /// A line that is not what the format allows there, starting at `offset`.
    BadFormat {
        /// Offset of the offending line.
        offset: usize,
    },
    /// The input ends cleanly inside a `MULTI` that was never `EXEC`ed. Redis logs
    /// [`msg::REVERT_MULTI`] and then proceeds as for a truncation at `revert_to` (the end of
    /// the command before the last `MULTI`); the queued commands must not be applied.
    UnclosedMulti {
        /// Where to truncate.
        revert_to: usize,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Truncated { valid_up_to } => {
                write!(
                    f,
                    "unexpected end of file (last valid command ends at {valid_up_to})"
                )
            }
            ReadError::BadFormat { offset } => write!(f, "bad file format at offset {offset}"),
            ReadError::UnclosedMulti { revert_to } => {
                write!(
                    f,
                    "incomplete MULTI/EXEC transaction (revert to {revert_to})"
                )
            }
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads commands one by one from an AOF file's bytes.
///
/// After an error every further call returns that error again; after a clean end, `Ok(None)`.
#[derive(Debug, Clone)]
pub struct AofReader {
    data: Bytes,
    pos: usize,
    valid_up_to: usize,
    in_multi: bool,
    valid_before_multi: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed(ReadError),
}

impl AofReader {
    /// A reader over a whole file.
    pub fn new(data: Bytes) -> AofReader {
        AofReader::starting_at(data, 0)
    }

    /// A reader starting at `pos` (after an RDB preamble); offsets stay relative to the file.
    /// A `pos` past the end reads as the end.
    pub fn starting_at(data: Bytes, pos: usize) -> AofReader {
        let pos = pos.min(data.len());
        AofReader {
            data,
            pos,
            valid_up_to: pos,
            in_multi: false,
            valid_before_multi: pos,
            state: State::Reading,
        }
    }

    /// Offset of the first byte not consumed: past the last command or annotation read; on an
    /// error, the start of the failing command.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// End of the last complete command (where reading started if none).
    pub fn valid_up_to(&self) -> usize {
        self.valid_up_to
    }

    /// True between a `MULTI` and its `EXEC`.
    pub fn in_multi(&self) -> bool {
        self.in_multi
    }

    /// The whole input.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// `fgets` into a [`LINE_BUF`] buffer from `pos`: the end of the line read, or `None` at EOF.
    fn line_end(&self, pos: usize) -> Option<usize> {
        if pos >= self.data.len() {
            return None;
        }
        let limit = self.data.len().min(pos + LINE_BUF - 1);
        Some(
            self.data[pos..limit]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(limit, |i| pos + i + 1),
        )
    }

    fn fail(&mut self, e: ReadError) -> Result<Option<Cmd>, ReadError> {
        self.state = State::Failed(e);
        Err(e)
    }

    fn truncated(&mut self) -> Result<Option<Cmd>, ReadError> {
        let valid_up_to = self.valid_up_to;
        self.fail(ReadError::Truncated { valid_up_to })
    }

    /// The next command: `Ok(None)` at a clean end of input.
    pub fn next_command(&mut self) -> Result<Option<Cmd>, ReadError> {
        match self.state {
            State::Reading => {}
            State::Done => return Ok(None),
            State::Failed(e) => return Err(e),
        }
        let len = self.data.len();
        let (start, header_end) = loop {
            let start = self.pos;
            let Some(end) = self.line_end(start) else {
                self.state = State::Done;
                if self.in_multi {
                    let revert_to = self.valid_before_multi;
                    return self.fail(ReadError::UnclosedMulti { revert_to });
                }
                return Ok(None);
            };
            if self.data[start] == b'#' {
                self.pos = end;
                continue;
            }
            break (start, end);
        };
        let line = &self.data[start..header_end];
        if line[0] != b'*' {
            return self.fail(ReadError::BadFormat { offset: start });
        }
        if line.len() == 1 || line[1] == 0 {
            // Redis's `buf[1] == '\0'` goes to its read-error path, which is an unexpected EOF
            // only when fgets actually hit the end of the file.
            let hit_eof =
                header_end == len && line[line.len() - 1] != b'\n' && line.len() < LINE_BUF - 1;
            return if hit_eof {
                self.truncated()
            } else {
                self.fail(ReadError::BadFormat { offset: start })
            };
        }
        // atoi is (int)strtol.
        let argc = crate::config::c_strtoll(&line[1..], 10).0 as i32;
        if argc < 1 {
            return self.fail(ReadError::BadFormat { offset: start });
        }
        // Every argument takes at least 3 bytes ("$\n" and the two discarded bytes), so the
        // input bounds the vector whatever the header claims.
        let mut argv = Vec::with_capacity((argc as usize).min((len - header_end) / 3));
        let mut p = header_end;
        for _ in 0..argc {
            let Some(end) = self.line_end(p) else {
                return self.truncated();
            };
            if self.data[p] != b'$' {
                return self.fail(ReadError::BadFormat { offset: p });
            }
            // Redis stores strtol's long in an unsigned long: "-1" is a huge length.
            let arg_len = crate::config::c_strtoll(&self.data[p + 1..end], 10).0 as u64;
            p = end;
            if arg_len > (len - p) as u64 {
                return self.truncated();
            }
            let arg_end = p + arg_len as usize;
            argv.push(self.data.slice(p..arg_end));
            if len - arg_end < 2 {
                return self.truncated();
            }
            p = arg_end + 2;
        }
        self.pos = p;
        let name = &argv[0];
        if name.eq_ignore_ascii_case(b"multi") {
            // Set for every MULTI, queued ones included, as Redis does.
            self.valid_before_multi = self.valid_up_to;
        }
        if !self.in_multi && name.eq_ignore_ascii_case(b"multi") {
            self.in_multi = true;
        } else if name.eq_ignore_ascii_case(b"exec") {
            self.in_multi = false;
        }
        self.valid_up_to = p;
        Ok(Some(Cmd {
            argv,
            start,
            end: p,
        }))
    }
}

impl Iterator for AofReader {
    type Item = Result<Cmd, ReadError>;

    /// Commands, then at most one error; `None` afterwards.
    fn next(&mut self) -> Option<Self::Item> {
        if matches!(self.state, State::Failed(_)) {
            return None;
        }
        self.next_command().transpose()
    }
}

/// Redis 7.0's log lines around AOF loading, verbatim as `printf` formats, with helpers that
/// fill them in. Unless noted they are logged at warning level.
pub mod msg {
    /// Bad format (`fmterr`); `%s` = the file name.
    pub const BAD_FORMAT: &str = "Bad file format reading the append only file %s: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>";
    /// Truncated with `aof-load-truncated no` (or the truncation failed).
    pub const UNEXPECTED_EOF: &str = "Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.";
    /// First line logged for a truncation with `aof-load-truncated yes`.
    pub const SHORT_READ: &str = "!!! Warning: short read while loading the AOF file %s!!!";
    /// Second line: `%s` = file name, `%llu` = the offset truncated at.
    pub const TRUNCATING: &str = "!!! Truncating the AOF %s at offset %llu !!!";
    /// After a successful truncate (the file then counts as loaded, `AOF_TRUNCATED`).
    pub const LOADED_ANYWAY: &str = "AOF %s loaded anyway because aof-load-truncated is enabled";
    /// When truncate(2) fails: file name, `strerror(errno)`; followed by [`UNEXPECTED_EOF`].
    pub const TRUNCATE_FAILED: &str = "Error truncating the AOF file %s: %s";
    /// Logged before handling a [`ReadError::UnclosedMulti`](super::ReadError) as a truncation.
    pub const REVERT_MULTI: &str = "Revert incomplete MULTI/EXEC transaction in AOF file %s";
    /// A command name the server does not know (`AOF_FAILED`): the name, then the file name.
    pub const UNKNOWN_COMMAND: &str = "Unknown command '%s' reading the append only file %s";
    /// An I/O error while reading: file name, `strerror(errno)`.
    pub const UNRECOVERABLE: &str = "Unrecoverable error reading the append only file %s: %s";
    /// A truncated file that is not the last one loaded (base before incrs, or an earlier incr).
    pub const TRUNCATED_NOT_LAST: &str = "Fatal error: the truncated file is not the last file";
    /// Notice level, before loading an RDB base file.
    pub const READING_RDB_BASE: &str = "Reading RDB base file on AOF loading...";
    /// Notice level, before loading the RDB preamble of an old-style AOF.
    pub const READING_RDB_PREAMBLE: &str = "Reading RDB preamble from AOF file...";
    /// Notice level, after an old-style AOF's preamble, before its commands.
    pub const READING_AOF_TAIL: &str = "Reading the remaining AOF tail...";
    /// An RDB base file that fails to load: file name.
    pub const RDB_BASE_ERROR: &str = "Error reading the RDB base file %s, AOF loading aborted";
    /// An old-style AOF whose RDB preamble fails to load: file name.
    pub const RDB_PREAMBLE_ERROR: &str =
        "Error reading the RDB preamble of the AOF file %s, AOF loading aborted";

    /// Substitutes `args` for the `%s` / `%llu` conversions of `fmt`, in order.
    pub fn format(fmt: &str, args: &[&dyn std::fmt::Display]) -> String {
        let mut out = String::with_capacity(fmt.len() + 32);
        let mut args = args.iter();
        let mut rest = fmt;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let conv = ["s", "llu", "d"].into_iter().find(|c| after.starts_with(c));
            match conv.and_then(|c| Some((c, args.next()?))) {
                Some((c, a)) => {
                    out.push_str(&a.to_string());
                    rest = &after[c.len()..];
                }
                None => {
                    out.push('%');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// [`BAD_FORMAT`] for `file`.
    pub fn bad_format(file: &str) -> String {
        format(BAD_FORMAT, &[&file])
    }

    /// [`UNEXPECTED_EOF`] for `file`.
    pub fn unexpected_eof(file: &str) -> String {
        format(UNEXPECTED_EOF, &[&file])
    }

    /// [`SHORT_READ`] then [`TRUNCATING`] then [`LOADED_ANYWAY`]: the lines logged for a
    /// truncation that succeeded with `aof-load-truncated yes`.
    pub fn truncated_loaded(file: &str, offset: u64) -> [String; 3] {
        [
            format(SHORT_READ, &[&file]),
            format(TRUNCATING, &[&file, &offset]),
            format(LOADED_ANYWAY, &[&file]),
        ]
    }

    /// [`REVERT_MULTI`] for `file`.
    pub fn revert_multi(file: &str) -> String {
        format(REVERT_MULTI, &[&file])
    }

    /// [`UNKNOWN_COMMAND`] for command `name` in `file`.
    pub fn unknown_command(name: &str, file: &str) -> String {
        format(UNKNOWN_COMMAND, &[&name, &file])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(argv: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Reads everything: the commands' argv and the final outcome.
    fn read_all(data: &[u8]) -> (Vec<Vec<Vec<u8>>>, Result<(), ReadError>) {
        let mut r = AofReader::new(Bytes::copy_from_slice(data));
        let mut cmds = Vec::new();
        loop {
            match r.next_command() {
                Ok(Some(c)) => cmds.push(c.argv.iter().map(|a| a.to_vec()).collect()),
                Ok(None) => return (cmds, Ok(())),
                Err(e) => return (cmds, Err(e)),
            }
        }
    }

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// An incr file as redis-server 7.0.15 wrote it with `aof-timestamp-enabled yes` after
    /// `SET a 1` and a `MULTI`/`INCR b`/`SADD s "x y"`/`EXEC`.
    const REDIS_INCR: &[u8] = b"#TS:1795728199\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n\
        *3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$5\r\nMULTI\r\n\
        *2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$3\r\nx y\r\n\
        *1\r\n$4\r\nEXEC\r\n";

    #[test]
    fn reads_redis_written_file() {
        let (cmds, end) = read_all(REDIS_INCR);
        assert_eq!(end, Ok(()));
        assert_eq!(
            cmds,
            vec![
                args(&["SELECT", "0"]),
                args(&["set", "a", "1"]),
                args(&["MULTI"]),
                args(&["INCR", "b"]),
                args(&["SADD", "s", "x y"]),
                args(&["EXEC"]),
            ]
        );
    }

    #[test]
    fn offsets_and_position() {
        let a = encode(&[b"PING"]);
        let mut data = b"#TS:1\r\n".to_vec();
        data.extend_from_slice(&a);
        data.extend_from_slice(b"#TS:2\r\n");
        let mut r = AofReader::new(Bytes::from(data.clone()));
        let c = r.next_command().unwrap().unwrap();
        assert_eq!((c.start, c.end), (7, 7 + a.len()));
        assert_eq!(r.position(), c.end);
        assert_eq!(r.valid_up_to(), c.end);
        assert_eq!(r.next_command(), Ok(None));
        assert_eq!(r.position(), data.len());
        assert_eq!(r.valid_up_to(), c.end);
        assert_eq!(r.next_command(), Ok(None));
    }

    #[test]
    fn empty_and_annotation_only_inputs_end_cleanly() {
        assert_eq!(read_all(b""), (vec![], Ok(())));
        assert_eq!(read_all(b"#TS:1\r\n"), (vec![], Ok(())));
        // A partial annotation at the end is still an annotation.
        assert_eq!(read_all(b"#TS:1"), (vec![], Ok(())));
    }

    #[test]
    fn truncation_reports_last_complete_command() {
        let mut data = encode(&[b"SET", b"k", b"v"]);
        let first = data.len();
        data.extend_from_slice(b"#TS:5\r\n");
        data.extend_from_slice(&encode(&[b"SET", b"k2", b"value"]));
        for cut in first + 1..data.len() {
            let (cmds, end) = read_all(&data[..cut]);
            assert_eq!(cmds.len(), 1, "cut {cut}");
            if cut <= first + 7 {
                // Inside the annotation: not a truncation at all.
                assert_eq!(end, Ok(()), "cut {cut}");
            } else {
                assert_eq!(
                    end,
                    Err(ReadError::Truncated { valid_up_to: first }),
                    "cut {cut}"
                );
            }
        }
        // A lone "*" at the end is a short read too.
        assert_eq!(
            read_all(b"*"),
            (vec![], Err(ReadError::Truncated { valid_up_to: 0 }))
        );
        assert_eq!(
            read_all(b"*\0"),
            (vec![], Err(ReadError::Truncated { valid_up_to: 0 }))
        );
    }

    #[test]
    fn huge_lengths_are_truncation_not_allocation() {
        for data in [
            &b"*1\r\n$9223372036854775807\r\nx"[..],
            b"*1\r\n$99999999999999999999999\r\n",
            b"*1\r\n$-1\r\nabc\r\n",
            b"*2147483647\r\n$1\r\na\r\n",
            b"*1\r\n$4\r\nPING",
            b"*1\r\n$4\r\nPING\r",
        ] {
            assert_eq!(
                read_all(data).1,
                Err(ReadError::Truncated { valid_up_to: 0 })
            );
        }
    }

    #[test]
    fn bad_format_cases() {
        let ping = encode(&[b"PING"]);
        let n = ping.len();
        let cases: Vec<(Vec<u8>, usize)> = vec![
            (b"x\r\n".to_vec(), 0),
            ([&ping[..], b"\r\n"].concat(), n),
            ([&ping[..], b"SET\r\n"].concat(), n),
            (b"*0\r\n".to_vec(), 0),
            (b"*-1\r\n".to_vec(), 0),
            (b"*abc\r\n".to_vec(), 0),
            (b"*\r\n".to_vec(), 0),
            (b"*\0\r\n".to_vec(), 0),
            // Overflows strtol, and (int)LONG_MAX is -1.
            (b"*99999999999999999999\r\n".to_vec(), 0),
            (b"*1\r\n#TS:1\r\n".to_vec(), 4),
            (b"*2\r\n$1\r\na\r\n*1\r\n".to_vec(), 11),
        ];
        for (data, offset) in cases {
            let (cmds, end) = read_all(&data);
            let first_ok = usize::from(data.starts_with(&ping));
            assert_eq!(cmds.len(), first_ok, "{:?}", String::from_utf8_lossy(&data));
            assert_eq!(
                end,
                Err(ReadError::BadFormat { offset }),
                "{:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn lenient_like_redis() {
        // atoi/strtol leniency, and the two bytes after an argument are not checked.
        let (cmds, end) = read_all(b"*2junk\r\n$ +3 x\r\nSETXY$1\nkZZ");
        assert_eq!(end, Ok(()));
        assert_eq!(cmds, vec![args(&["SET", "k"])]);
        // Zero-length arguments, and "$\n" reads as length 0.
        let (cmds, _) = read_all(b"*2\r\n$0\r\n\r\n$\n\r\n");
        assert_eq!(cmds, vec![args(&["", ""])]);
    }

    #[test]
    fn lines_are_read_in_1023_byte_pieces() {
        // A `$` line padded past the buffer: its tail becomes argument data.
        let mut data = b"*1\r\n$3".to_vec();
        data.resize(4 + LINE_BUF - 1, b' ');
        data.extend_from_slice(b"abc\r\n");
        let (cmds, end) = read_all(&data);
        assert_eq!(end, Ok(()));
        assert_eq!(cmds, vec![args(&["abc"])]);
        // An annotation longer than the buffer: its tail is read as a header, a bad format.
        let mut data = b"#".to_vec();
        data.resize(LINE_BUF - 1, b'x');
        data.extend_from_slice(b"x\r\n");
        assert_eq!(
            read_all(&data).1,
            Err(ReadError::BadFormat {
                offset: LINE_BUF - 1
            })
        );
        // ...unless the tail happens to be a command.
        let mut data = b"#".to_vec();
        data.resize(LINE_BUF - 1, b'x');
        data.extend_from_slice(&encode(&[b"PING"]));
        assert_eq!(read_all(&data), (vec![args(&["PING"])], Ok(())));
    }

    #[test]
    fn unclosed_multi_reverts_to_before_multi() {
        let set = encode(&[b"SET", b"a", b"1"]);
        let mut data = set.clone();
        data.extend_from_slice(&encode(&[b"MULTI"]));
        data.extend_from_slice(&encode(&[b"INCR", b"a"]));
        let (cmds, end) = read_all(&data);
        assert_eq!(cmds.len(), 3);
        assert_eq!(
            end,
            Err(ReadError::UnclosedMulti {
                revert_to: set.len()
            })
        );
        // Closed: fine.
        data.extend_from_slice(&encode(&[b"exec"]));
        assert_eq!(read_all(&data).1, Ok(()));
        // A MULTI queued inside a MULTI moves the revert point, as in Redis.
        let mut data = encode(&[b"multi"]);
        let second = data.len();
        data.extend_from_slice(&encode(&[b"multi"]));
        let mut r = AofReader::new(Bytes::from(data));
        assert!(r.by_ref().take(2).all(|c| c.is_ok()));
        assert!(r.in_multi());
        assert_eq!(
            r.next_command(),
            Err(ReadError::UnclosedMulti { revert_to: second })
        );
        // A truncation inside a MULTI reports the last complete command, as Redis does.
        let mut data = encode(&[b"MULTI"]);
        let multi = data.len();
        data.extend_from_slice(b"*1\r\n");
        assert_eq!(
            read_all(&data).1,
            Err(ReadError::Truncated { valid_up_to: multi })
        );
    }

    #[test]
    fn starting_at_an_offset() {
        let mut data = b"REDIS0010-not-parsed-here".to_vec();
        let tail = data.len();
        assert!(has_rdb_preamble(&data));
        data.extend_from_slice(&encode(&[b"PING"]));
        data.extend_from_slice(b"*1\r\n");
        let mut r = AofReader::starting_at(Bytes::from(data), tail);
        assert_eq!(r.valid_up_to(), tail);
        let c = r.next_command().unwrap().unwrap();
        assert_eq!(c.start, tail);
        assert_eq!(
            r.next_command(),
            Err(ReadError::Truncated { valid_up_to: c.end })
        );
        let mut r = AofReader::starting_at(Bytes::from_static(b"*1\r\n"), 0);
        assert_eq!(
            r.next_command(),
            Err(ReadError::Truncated { valid_up_to: 0 })
        );
        assert_eq!(
            AofReader::starting_at(Bytes::from_static(b"x"), 9).next_command(),
            Ok(None)
        );
    }

    #[test]
    fn errors_are_sticky_and_iterator_fuses() {
        let mut r = AofReader::new(Bytes::from_static(b"bad"));
        let e = r.next_command().unwrap_err();
        assert_eq!(r.next_command(), Err(e));
        assert_eq!(r.position(), 0);
        let r = AofReader::new(Bytes::from_static(b"*1\r\n$1\r\na\r\nbad"));
        let items: Vec<_> = r.collect();
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
    }

    #[test]
    fn log_messages_match_redis() {
        assert_eq!(
            msg::bad_format("appendonly.aof.1.incr.aof"),
            "Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
        );
        assert_eq!(
            msg::unexpected_eof("f"),
            "Unexpected end of file reading the append only file f. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
        );
        assert_eq!(
            msg::truncated_loaded("f", 42),
            [
                "!!! Warning: short read while loading the AOF file f!!!",
                "!!! Truncating the AOF f at offset 42 !!!",
                "AOF f loaded anyway because aof-load-truncated is enabled"
            ]
        );
        assert_eq!(
            msg::revert_multi("f"),
            "Revert incomplete MULTI/EXEC transaction in AOF file f"
        );
        assert_eq!(
            msg::unknown_command("foo", "f"),
            "Unknown command 'foo' reading the append only file f"
        );
        assert_eq!(msg::format("100%% %s", &[&1]), "100%% 1");
    }

    fn arb_cmd() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let name = prop_oneof![
            Just(b"SET".to_vec()),
            Just(b"PING".to_vec()),
            Just(b"DEL".to_vec()),
            // Names are never MULTI/EXEC here, so every clean prefix ends cleanly.
            proptest::collection::vec(b'a'..=b'z', 1..6).prop_filter("no MULTI/EXEC", |n| {
                !n.eq_ignore_ascii_case(b"multi") && !n.eq_ignore_ascii_case(b"exec")
            }),
        ];
        let arg = proptest::collection::vec(any::<u8>(), 0..40);
        (name, proptest::collection::vec(arg, 0..4)).prop_map(|(n, mut rest)| {
            rest.insert(0, n);
            rest
        })
    }

    proptest! {
        #[test]
        fn any_prefix_yields_contained_commands_then_truncated(
            items in proptest::collection::vec((arb_cmd(), any::<bool>()), 0..8),
            cut_frac in 0.0f64..=1.0,
        ) {
            // Build the file, remembering where each command and annotation ends.
            let mut data = Vec::new();
            let mut cmd_ends = Vec::new();
            let mut annotation_ranges = Vec::new();
            for (argv, annotate) in &items {
                if *annotate {
                    let s = data.len();
                    data.extend_from_slice(b"#TS:1700000000\r\n");
                    annotation_ranges.push(s..data.len());
                }
                let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
                data.extend_from_slice(&encode(&refs));
                cmd_ends.push(data.len());
            }
            let cut = ((data.len() as f64) * cut_frac) as usize;
            let prefix = &data[..cut];
            let (cmds, end) = read_all(prefix);
            let contained = cmd_ends.iter().filter(|&&e| e <= cut).count();
            prop_assert_eq!(cmds.len(), contained);
            for (got, (want, _)) in cmds.iter().zip(&items) {
                prop_assert_eq!(got, want);
            }
            let last_end = if contained == 0 { 0 } else { cmd_ends[contained - 1] };
            // Clean iff the cut falls at a command end or inside/after a trailing annotation.
            let clean = cut == last_end
                || annotation_ranges.iter().any(|r| r.start == last_end && cut > r.start && cut <= r.end);
            if clean {
                prop_assert_eq!(end, Ok(()));
            } else {
                prop_assert_eq!(end, Err(ReadError::Truncated { valid_up_to: last_end }));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut r = AofReader::new(Bytes::from(data.clone()));
            let mut last = 0;
            while let Ok(Some(c)) = r.next_command() {
                prop_assert!(c.start >= last && c.end > c.start && c.end <= data.len());
                last = c.end;
            }
            prop_assert!(r.position() <= data.len() && r.valid_up_to() <= r.position());
        }
    }
}
