//! The AOF manifest (`appendonly.aof.manifest`): which files make up the AOF, in order.
//!
//! Pure: bytes in, values out. The format is Redis 7.0's, one line per file:
//!
//! ```text
//! file appendonly.aof.2.base.rdb seq 2 type b
//! file appendonly.aof.1.incr.aof seq 1 type h
//! file appendonly.aof.2.incr.aof seq 2 type i
//! ```
//!
//! Parsing follows `aofLoadManifestFromFile` quirk for quirk: lines are read as `fgets` does
//! with a 1025-byte buffer (so a line of more than 1024 bytes, or a last line without `\n`, is
//! "too long"), a line starting with `#` is skipped, each line is trimmed and split with
//! `sdssplitargs` rules (quotes, `\xHH` escapes), keys are case-insensitive and unknown ones
//! ignored, values are C strings (cut at a NUL), `seq` is read as `atoll` reads it and `type`
//! is its first character. Writing follows `getAofManifestAsString`: base, then history, then
//! incrs, names quoted with `sdscatrepr` when `sdsneedsrepr` says so.
//!
//! Deviations, all on inputs Redis itself never writes: a negative `seq` (accepted by Redis's
//! `atoll`) and a name that is not UTF-8 are rejected as "Invalid AOF manifest file format",
//! and an empty name is written as `""` (Redis writes nothing, producing a line it cannot read).

use std::fmt;

/// `MANIFEST_MAX_LINE`: the longest line Redis accepts, newline included.
pub const MANIFEST_MAX_LINE: usize = 1024;

/// Redis's reasons for rejecting a manifest, verbatim (the last line it logs).
pub mod reason {
    /// The manifest has no bytes at all.
    pub const EMPTY: &str = "Found an empty AOF manifest";
    /// A line is longer than [`MANIFEST_MAX_LINE`](super::MANIFEST_MAX_LINE) or lacks its `\n`.
    pub const TOO_LONG_LINE: &str = "The AOF manifest file contains too long line";
    /// A blank line, bad quoting, too few or an odd number of fields, or a missing field.
    pub const INVALID_FORMAT: &str = "Invalid AOF manifest file format";
    /// A `file` value containing `/` or `\`.
    pub const FILE_IS_PATH: &str = "File can't be a path, just a filename";
    /// A second `type b` line.
    pub const DUPLICATE_BASE: &str = "Found duplicate base file information";
    /// An incr file whose seq is not above the previous incr's.
    pub const NON_MONOTONIC: &str = "Found a non-monotonic sequence number";
    /// A `type` other than `b`, `h` or `i`.
    pub const UNKNOWN_TYPE: &str = "Unknown AOF file type";
}

/// What a file listed in the manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// The snapshot of the last rewrite (`type b`), loaded first.
    Base,
    /// A file superseded by a rewrite, waiting to be deleted (`type h`); never loaded.
    History,
    /// Commands written after the base (`type i`), loaded in order.
    Incr,
}

impl FileKind {
    /// The manifest's `type` letter.
    pub fn as_char(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }

    /// The kind for a manifest `type` letter (case-sensitive, as in Redis).
    pub fn from_byte(b: u8) -> Option<FileKind> {
        match b {
            b'b' => Some(FileKind::Base),
            b'h' => Some(FileKind::History),
            b'i' => Some(FileKind::Incr),
            _ => None,
        }
    }
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AofFile {
    /// The file's name inside the AOF directory (never a path).
    pub name: String,
    /// Its sequence number (base and incr numbers are independent).
    pub seq: u64,
    /// What it is.
    pub kind: FileKind,
}

impl AofFile {
    /// The manifest line for this file, `\n` included (`aofInfoFormat`).
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.name.len() + 32);
        out.extend_from_slice(b"file ");
        let name = self.name.as_bytes();
        // Redis prints an empty name bare, which yields a line it cannot parse back; quoting it
        // keeps our own output loadable.
        if name.is_empty() || needs_repr(name) {
            cat_repr(&mut out, name);
        } else {
            out.extend_from_slice(name);
        }
        out.extend_from_slice(
            format!(" seq {} type {}\n", self.seq, self.kind.as_char()).as_bytes(),
        );
        out
    }
}

/// A rejected manifest: Redis's reason plus, when Redis logs it, the offending line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// One of the [`reason`] strings.
    pub reason: &'static str,
    /// 1-based line number (comment lines count) and the trimmed line, when Redis logs them.
    pub line: Option<(usize, Vec<u8>)>,
}

impl ManifestError {
    /// The messages Redis logs at warning level before exiting, in order, verbatim.
    pub fn log_lines(&self) -> Vec<String> {
        let mut out = vec!["\n*** FATAL AOF MANIFEST FILE ERROR ***\n".to_string()];
        if let Some((n, line)) = &self.line {
            out.push(format!("Reading the manifest file, at line {n}\n"));
            out.push(format!(">>> '{}'\n", String::from_utf8_lossy(line)));
        }
        out.push(format!("{}\n", self.reason));
        out
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for ManifestError {}

/// The parsed manifest: Redis's `aofManifest`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file, if any.
    pub base: Option<AofFile>,
    /// Incr files, in load order (strictly increasing seq).
    pub incrs: Vec<AofFile>,
    /// History files, in manifest order (newest rewrite's files first).
    pub history: Vec<AofFile>,
    /// Seq of the current base (0 if none yet); the next base gets this plus one.
    pub cur_base_seq: u64,
    /// Seq of the last incr (0 if none yet); the next incr gets this plus one.
    pub cur_incr_seq: u64,
}

impl Manifest {
    /// Parses manifest bytes; the error is the reason Redis logs (see [`reason`]).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        Manifest::parse_detailed(bytes).map_err(|e| e.reason.to_string())
    }

    /// Like [`parse`](Manifest::parse), keeping the line number and text Redis also logs.
    pub fn parse_detailed(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let mut am = Manifest::default();
        let mut maxseq = 0u64;
        let mut pos = 0usize;
        let mut linenum = 0usize;
        let err = |reason, line: Option<(usize, &[u8])>| ManifestError {
            reason,
            line: line.map(|(n, l)| (n, l.to_vec())),
        };

        loop {
            if pos >= bytes.len() {
                if linenum == 0 {
                    return Err(err(reason::EMPTY, None));
                }
                break;
            }
            // fgets into a MANIFEST_MAX_LINE+1 buffer: at most MANIFEST_MAX_LINE bytes, through
            // the first '\n'. A longer line's tail becomes the next "line", which matters only
            // after a comment, the one line kind checked before the length.
            let limit = bytes.len().min(pos + MANIFEST_MAX_LINE);
            let end = bytes[pos..limit]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(limit, |i| pos + i + 1);
            let chunk = &bytes[pos..end];
            pos = end;
            linenum += 1;

            if chunk[0] == b'#' {
                continue;
            }
            // Everything after a NUL is invisible to strchr/sdsnew.
            let chunk = c_str(chunk);
            if !chunk.contains(&b'\n') {
                return Err(err(reason::TOO_LONG_LINE, None));
            }
            let line = trim(chunk, b" \t\r\n");
            let at = Some((linenum, line));
            if line.is_empty() {
                return Err(err(reason::INVALID_FORMAT, at));
            }
            let args = match resp::split_args(line) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return Err(err(reason::INVALID_FORMAT, at)),
            };

            let mut name: Option<&[u8]> = None;
            let mut seq: i64 = 0;
            let mut kind: u8 = 0;
            for pair in args.chunks_exact(2) {
                let key = c_str(&pair[0]);
                let val = c_str(&pair[1]);
                if key.eq_ignore_ascii_case(b"file") {
                    if val.contains(&b'/') || val.contains(&b'\\') {
                        return Err(err(reason::FILE_IS_PATH, at));
                    }
                    name = Some(val);
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = crate::config::c_strtoll(val, 10).0;
                } else if key.eq_ignore_ascii_case(b"type") {
                    kind = val.first().copied().unwrap_or(0);
                }
            }
            let (name, seq) = match (name, seq, kind) {
                (Some(n), s, k) if s != 0 && k != 0 => (n, s),
                _ => return Err(err(reason::INVALID_FORMAT, at)),
            };
            let (Ok(seq), Ok(name)) = (u64::try_from(seq), std::str::from_utf8(name)) else {
                return Err(err(reason::INVALID_FORMAT, at));
            };
            let Some(kind) = FileKind::from_byte(kind) else {
                return Err(err(reason::UNKNOWN_TYPE, at));
            };
            let file = AofFile {
                name: name.to_string(),
                seq,
                kind,
            };
            match kind {
                FileKind::Base => {
                    if am.base.is_some() {
                        return Err(err(reason::DUPLICATE_BASE, at));
                    }
                    am.cur_base_seq = seq;
                    am.base = Some(file);
                }
                FileKind::History => am.history.push(file),
                FileKind::Incr => {
                    if seq <= maxseq {
                        return Err(err(reason::NON_MONOTONIC, at));
                    }
                    am.cur_incr_seq = seq;
                    maxseq = seq;
                    am.incrs.push(file);
                }
            }
        }
        Ok(am)
    }

    /// The manifest file's bytes exactly as Redis writes them: base, history, then incrs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incrs) {
            out.extend_from_slice(&f.to_line());
        }
        out
    }

    /// `<appendfilename>.<seq>.base.rdb`, or `.base.aof` without the RDB preamble.
    pub fn base_name(prefix: &str, seq: u64, rdb: bool) -> String {
        let format = if rdb { "rdb" } else { "aof" };
        format!("{prefix}.{seq}.base.{format}")
    }

    /// `<appendfilename>.<seq>.incr.aof`.
    pub fn incr_name(prefix: &str, seq: u64) -> String {
        format!("{prefix}.{seq}.incr.aof")
    }

    /// `<appendfilename>.manifest`.
    pub fn manifest_name(prefix: &str) -> String {
        format!("{prefix}.manifest")
    }

    /// `temp-<appendfilename>.manifest`: written first, then renamed over the manifest.
    pub fn temp_manifest_name(prefix: &str) -> String {
        format!("temp-{prefix}.manifest")
    }

    /// `temp-<appendfilename>.incr`: the incr file used while AOF is being turned on.
    pub fn temp_incr_name(prefix: &str) -> String {
        format!("temp-{prefix}.incr")
    }

    /// True when there is neither a base nor an incr file: nothing to load.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    /// The files to load, in order: the base, then the incrs.
    pub fn load_order(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(&self.incrs)
    }

    /// Appends a new incr file with the next seq and returns it (`getNewIncrAofName`).
    pub fn start_new_incr(&mut self, prefix: &str) -> AofFile {
        self.cur_incr_seq += 1;
        let file = AofFile {
            name: Manifest::incr_name(prefix, self.cur_incr_seq),
            seq: self.cur_incr_seq,
            kind: FileKind::Incr,
        };
        self.incrs.push(file.clone());
        file
    }

    /// The last incr file, creating one if there is none (`getLastIncrAofName`, used when
    /// opening the AOF at startup).
    pub fn last_or_new_incr(&mut self, prefix: &str) -> AofFile {
        match self.incrs.last() {
            Some(f) => f.clone(),
            None => self.start_new_incr(prefix),
        }
    }

    /// The base file a rewrite finishing now should produce (seq = current base seq + 1).
    /// Nothing changes until [`finish_rewrite`](Manifest::finish_rewrite).
    pub fn next_base(&self, prefix: &str, rdb: bool) -> AofFile {
        let seq = self.cur_base_seq + 1;
        AofFile {
            name: Manifest::base_name(prefix, seq, rdb),
            seq,
            kind: FileKind::Base,
        }
    }

    /// Installs `new_base` after a successful rewrite with AOF on: the old base and every incr
    /// but the last (the one being written) become history.
    pub fn finish_rewrite(&mut self, new_base: AofFile) {
        self.finish_rewrite_with(new_base, true);
    }

    /// [`finish_rewrite`](Manifest::finish_rewrite), choosing whether the last incr stays live:
    /// Redis keeps it only while it has the AOF open (`server.aof_fd != -1`), so a
    /// `BGREWRITEAOF` with `appendonly no` turns every incr into history.
    pub fn finish_rewrite_with(&mut self, new_base: AofFile, keep_last_incr: bool) {
        // getNewBaseFileNameAndMarkPreAsHistory: the old base goes to the head of history.
        if let Some(mut old) = self.base.take() {
            old.kind = FileKind::History;
            self.history.insert(0, old);
        }
        self.cur_base_seq = new_base.seq;
        self.base = Some(AofFile {
            kind: FileKind::Base,
            ..new_base
        });
        // markRewrittenIncrAofAsHistory walks the incrs from the tail, putting each at the head
        // of history, so they end up there in their original order, ahead of the old base.
        let keep = usize::from(keep_last_incr && !self.incrs.is_empty());
        let moved: Vec<AofFile> = self
            .incrs
            .drain(..self.incrs.len() - keep)
            .map(|f| AofFile {
                kind: FileKind::History,
                ..f
            })
            .collect();
        self.history.splice(0..0, moved);
    }

    /// Removes and returns the history files, for the caller to delete (`aofDelHistoryFiles`).
    pub fn take_history(&mut self) -> Vec<AofFile> {
        std::mem::take(&mut self.history)
    }

    /// Adopts an old single-file AOF named `appendfilename` as base seq 1 (`aofUpgradePrepare`).
    pub fn adopt_old_style(&mut self, appendfilename: &str) {
        self.base = Some(AofFile {
            name: appendfilename.to_string(),
            seq: 1,
            kind: FileKind::Base,
        });
        self.cur_base_seq = 1;
    }
}

/// The bytes before the first NUL, as C string functions see them.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

/// C `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `isprint` in the C locale (bytes ≥ 0x80 are negative `char`s, never printable).
fn is_print(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

/// `sdstrim`: drops bytes of `set` from both ends.
fn trim<'a>(mut b: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = b {
        if !set.contains(first) {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !set.contains(last) {
            break;
        }
        b = rest;
    }
    b
}

/// `sdsneedsrepr`.
fn needs_repr(s: &[u8]) -> bool {
    s.iter().any(|&c| {
        matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 0x07 | 0x08)
            || !is_print(c)
            || is_space(c)
    })
}

/// `sdscatrepr`: a double-quoted string with C-style escapes.
fn cat_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            c if is_print(c) => out.push(c),
            c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by redis-server 7.0.15 at startup with `appendonly yes`.
    const REDIS_FRESH: &str = "file appendonly.aof.1.base.rdb seq 1 type b\n\
                               file appendonly.aof.1.incr.aof seq 1 type i\n";
    /// After one BGREWRITEAOF (history already deleted).
    const REDIS_AFTER_REWRITE: &str = "file appendonly.aof.2.base.rdb seq 2 type b\n\
                                       file appendonly.aof.2.incr.aof seq 2 type i\n";
    /// After a BGREWRITEAOF with `aof-disable-auto-gc yes`.
    const REDIS_ONE_HISTORY: &str = "file appendonly.aof.3.base.rdb seq 3 type b\n\
                                     file appendonly.aof.2.incr.aof seq 2 type h\n\
                                     file appendonly.aof.2.base.rdb seq 2 type h\n\
                                     file appendonly.aof.3.incr.aof seq 3 type i\n";
    /// After a second such BGREWRITEAOF.
    const REDIS_TWO_HISTORY: &str = "file appendonly.aof.4.base.rdb seq 4 type b\n\
                                     file appendonly.aof.3.incr.aof seq 3 type h\n\
                                     file appendonly.aof.3.base.rdb seq 3 type h\n\
                                     file appendonly.aof.2.incr.aof seq 2 type h\n\
                                     file appendonly.aof.2.base.rdb seq 2 type h\n\
                                     file appendonly.aof.4.incr.aof seq 4 type i\n";
    /// With `appendfilename "my file.aof"` and `aof-use-rdb-preamble no`.
    const REDIS_QUOTED: &str = "file \"my file.aof.1.base.aof\" seq 1 type b\n\
                                file \"my file.aof.1.incr.aof\" seq 1 type i\n";
    /// With `appendfilename "é\ta.aof"`: non-ASCII bytes and a tab, escaped.
    const REDIS_ESCAPED: &str = "file \"\\xc3\\xa9\\ta.aof.1.base.rdb\" seq 1 type b\n\
                                 file \"\\xc3\\xa9\\ta.aof.1.incr.aof\" seq 1 type i\n";

    fn f(name: &str, seq: u64, kind: FileKind) -> AofFile {
        AofFile {
            name: name.into(),
            seq,
            kind,
        }
    }

    fn err_of(s: &[u8]) -> String {
        Manifest::parse(s).unwrap_err()
    }

    #[test]
    fn parses_fresh_redis_manifest() {
        let m = Manifest::parse(REDIS_FRESH.as_bytes()).unwrap();
        assert_eq!(
            m.base,
            Some(f("appendonly.aof.1.base.rdb", 1, FileKind::Base))
        );
        assert_eq!(
            m.incrs,
            vec![f("appendonly.aof.1.incr.aof", 1, FileKind::Incr)]
        );
        assert!(m.history.is_empty());
        assert_eq!((m.cur_base_seq, m.cur_incr_seq), (1, 1));
    }

    #[test]
    fn parses_history_in_manifest_order() {
        let m = Manifest::parse(REDIS_TWO_HISTORY.as_bytes()).unwrap();
        let names: Vec<_> = m.history.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "appendonly.aof.3.incr.aof",
                "appendonly.aof.3.base.rdb",
                "appendonly.aof.2.incr.aof",
                "appendonly.aof.2.base.rdb"
            ]
        );
        assert!(m.history.iter().all(|f| f.kind == FileKind::History));
        assert_eq!((m.cur_base_seq, m.cur_incr_seq), (4, 4));
    }

    #[test]
    fn redis_manifests_round_trip_byte_identical() {
        for s in [
            REDIS_FRESH,
            REDIS_AFTER_REWRITE,
            REDIS_ONE_HISTORY,
            REDIS_TWO_HISTORY,
            REDIS_QUOTED,
            REDIS_ESCAPED,
        ] {
            let m = Manifest::parse(s.as_bytes()).unwrap();
            assert_eq!(String::from_utf8(m.to_bytes()).unwrap(), s);
        }
    }

    #[test]
    fn quoted_names_are_unescaped() {
        let m = Manifest::parse(REDIS_QUOTED.as_bytes()).unwrap();
        assert_eq!(m.base.unwrap().name, "my file.aof.1.base.aof");
        let m = Manifest::parse(REDIS_ESCAPED.as_bytes()).unwrap();
        assert_eq!(m.incrs[0].name, "é\ta.aof.1.incr.aof");
    }

    #[test]
    fn rewrite_sequence_matches_redis() {
        // Replays what Redis did between REDIS_AFTER_REWRITE and REDIS_TWO_HISTORY.
        let mut m = Manifest::parse(REDIS_AFTER_REWRITE.as_bytes()).unwrap();
        for expected in [REDIS_ONE_HISTORY, REDIS_TWO_HISTORY] {
            let incr = m.start_new_incr("appendonly.aof");
            assert_eq!(incr.seq, m.cur_incr_seq);
            let base = m.next_base("appendonly.aof", true);
            m.finish_rewrite(base);
            assert_eq!(String::from_utf8(m.to_bytes()).unwrap(), expected);
        }
        let gone = m.take_history();
        assert_eq!(gone.len(), 4);
        assert_eq!(
            String::from_utf8(m.to_bytes()).unwrap(),
            "file appendonly.aof.4.base.rdb seq 4 type b\n\
             file appendonly.aof.4.incr.aof seq 4 type i\n"
        );
    }

    #[test]
    fn rewrite_keeps_order_of_several_incrs() {
        let mut m = Manifest::default();
        for _ in 0..3 {
            m.start_new_incr("a");
        }
        m.finish_rewrite(m.next_base("a", false));
        let hist: Vec<_> = m.history.iter().map(|f| f.seq).collect();
        assert_eq!(hist, [1, 2]);
        assert_eq!(m.incrs, vec![f("a.3.incr.aof", 3, FileKind::Incr)]);
        assert_eq!(m.base, Some(f("a.1.base.aof", 1, FileKind::Base)));
        // With the AOF closed every incr is history, ahead of the old base.
        m.finish_rewrite_with(m.next_base("a", true), false);
        let hist: Vec<_> = m
            .history
            .iter()
            .map(|f| (f.name.as_str(), f.kind))
            .collect();
        assert_eq!(
            hist,
            [
                ("a.3.incr.aof", FileKind::History),
                ("a.1.base.aof", FileKind::History),
                ("a.1.incr.aof", FileKind::History),
                ("a.2.incr.aof", FileKind::History)
            ]
        );
        assert!(m.incrs.is_empty());
        assert_eq!(m.cur_incr_seq, 3);
        assert_eq!(m.last_or_new_incr("a").seq, 4);
        assert_eq!(m.last_or_new_incr("a").seq, 4);
    }

    #[test]
    fn names() {
        assert_eq!(
            Manifest::base_name("appendonly.aof", 3, true),
            "appendonly.aof.3.base.rdb"
        );
        assert_eq!(Manifest::base_name("x", 1, false), "x.1.base.aof");
        assert_eq!(Manifest::incr_name("x", 7), "x.7.incr.aof");
        assert_eq!(Manifest::manifest_name("x"), "x.manifest");
        assert_eq!(Manifest::temp_manifest_name("x"), "temp-x.manifest");
        assert_eq!(Manifest::temp_incr_name("x"), "temp-x.incr");
    }

    #[test]
    fn old_style_adoption() {
        let mut m = Manifest::default();
        assert!(m.is_empty());
        m.adopt_old_style("appendonly.aof");
        assert_eq!(m.to_bytes(), b"file appendonly.aof seq 1 type b\n");
        assert_eq!(m.next_base("appendonly.aof", true).seq, 2);
    }

    #[test]
    fn comments_keys_and_lenient_values() {
        let m = Manifest::parse(
            b"# comment\n\
              TYPE b SEQ 5 FILE base extra ignored\n\
              \t  type hist seq 3 file old  \r\n\
              file 'single q' seq +7abc type i\n",
        )
        .unwrap();
        assert_eq!(m.base, Some(f("base", 5, FileKind::Base)));
        assert_eq!(m.history, vec![f("old", 3, FileKind::History)]);
        assert_eq!(m.incrs, vec![f("single q", 7, FileKind::Incr)]);
        // Only comments: an empty manifest, not an error.
        assert_eq!(Manifest::parse(b"# x\n").unwrap(), Manifest::default());
        // The last duplicate key wins; a NUL cuts a value short.
        let m = Manifest::parse(b"file a file b seq 1 type i type \"b\\x00x\"\n").unwrap();
        assert_eq!(m.base, Some(f("b", 1, FileKind::Base)));
        let m = Manifest::parse(b"file \"x\\x00y\" seq 1 type b\n").unwrap();
        assert_eq!(m.base.unwrap().name, "x");
        // History seqs need not be monotonic; incr seqs are independent of base seqs.
        let m = Manifest::parse(b"file a seq 9 type h\nfile b seq 2 type h\nfile c seq 1 type i\n")
            .unwrap();
        assert_eq!(m.history.len(), 2);
        // Huge seqs clamp like atoll.
        let m = Manifest::parse(b"file a seq 99999999999999999999999 type b\n").unwrap();
        assert_eq!(m.cur_base_seq, i64::MAX as u64);
    }

    #[test]
    fn error_empty() {
        assert_eq!(err_of(b""), reason::EMPTY);
    }

    #[test]
    fn error_too_long_line() {
        // 1023 bytes + '\n' is the longest accepted line.
        let mut ok = b"file a seq 1 type b".to_vec();
        ok.resize(1023, b' ');
        ok.push(b'\n');
        assert!(Manifest::parse(&ok).is_ok());
        let mut long = b"file a seq 1 type b".to_vec();
        long.resize(1024, b' ');
        long.push(b'\n');
        assert_eq!(err_of(&long), reason::TOO_LONG_LINE);
        // A last line without its newline counts as too long, as in Redis.
        assert_eq!(err_of(b"file a seq 1 type b"), reason::TOO_LONG_LINE);
        // A NUL hides the newline from strchr.
        assert_eq!(err_of(b"file a seq 1 type b\0\n"), reason::TOO_LONG_LINE);
        // A long comment's tail is read as a line of its own.
        let mut c = vec![b'#'];
        c.resize(1024, b'x');
        c.extend_from_slice(b"file a seq 1 type b\n");
        assert!(Manifest::parse(&c).is_ok());
        c.insert(1, b'x');
        assert_eq!(err_of(&c), reason::INVALID_FORMAT);
    }

    #[test]
    fn error_invalid_format() {
        for bad in [
            &b"\n"[..],
            b"  \t\r\n",
            b"file a seq 1 type b\n\nfile b seq 1 type i\n",
            b"file a seq 1 type\n",
            b"file a seq 1 type b x\n",
            b"file a seq 1 typo b\n",
            b"file a seq 0 type b\n",
            b"file a seq x type b\n",
            b"file a seq 1 type \"\"\n",
            b"file \"a seq 1 type b\n",
            b"file \"a\"b seq 1 type b\n",
            b"file 'a seq 1 type b\n",
            b"file a seq -1 type b\n",
            b"file \"\\xff\" seq 1 type b\n",
        ] {
            assert_eq!(
                err_of(bad),
                reason::INVALID_FORMAT,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn error_file_is_path() {
        assert_eq!(err_of(b"file a/b seq 1 type b\n"), reason::FILE_IS_PATH);
        assert_eq!(
            err_of(b"file \"a\\\\b\" seq 1 type b\n"),
            reason::FILE_IS_PATH
        );
    }

    #[test]
    fn error_duplicate_base() {
        assert_eq!(
            err_of(b"file a seq 1 type b\nfile b seq 2 type b\n"),
            reason::DUPLICATE_BASE
        );
    }

    #[test]
    fn error_non_monotonic() {
        assert_eq!(
            err_of(b"file a seq 2 type i\nfile b seq 2 type i\n"),
            reason::NON_MONOTONIC
        );
        assert_eq!(
            err_of(b"file a seq 3 type i\nfile b seq 1 type i\n"),
            reason::NON_MONOTONIC
        );
    }

    #[test]
    fn error_unknown_type() {
        assert_eq!(err_of(b"file a seq 1 type x\n"), reason::UNKNOWN_TYPE);
        assert_eq!(err_of(b"file a seq 1 type B\n"), reason::UNKNOWN_TYPE);
    }

    #[test]
    fn error_log_lines() {
        let e = Manifest::parse_detailed(b"# c\nfile a seq 1 type b\n  file a seq 1 type x \n")
            .unwrap_err();
        assert_eq!(
            e.log_lines(),
            [
                "\n*** FATAL AOF MANIFEST FILE ERROR ***\n",
                "Reading the manifest file, at line 3\n",
                ">>> 'file a seq 1 type x'\n",
                "Unknown AOF file type\n"
            ]
        );
        let e = Manifest::parse_detailed(b"").unwrap_err();
        assert_eq!(e.line, None);
        assert_eq!(e.log_lines().len(), 2);
    }

    #[test]
    fn writer_quotes_like_sdscatrepr() {
        let m = Manifest {
            base: Some(f("a\"b'c\x07\x08\r\n\x0b ~", 1, FileKind::Base)),
            incrs: vec![f("", 2, FileKind::Incr)],
            ..Manifest::default()
        };
        let bytes = m.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "file \"a\\\"b'c\\a\\b\\r\\n\\x0b ~\" seq 1 type b\nfile \"\" seq 2 type i\n"
        );
        let back = Manifest::parse(&bytes).unwrap();
        assert_eq!(back.base, m.base);
        assert_eq!(back.incrs, m.incrs);
        // A backslash is escaped on output, though Redis refuses it on input as a path.
        assert_eq!(
            f("a\\b", 1, FileKind::Base).to_line(),
            b"file \"a\\\\b\" seq 1 type b\n"
        );
    }
}
