//! Differential compatibility: every corpus under tests/compat/ is sent to redoubt-server and to
//! Debian's redis-server 7.0, and the raw replies must be identical byte for byte.
//!
//! Corpus lines: a command in redis-cli quoting; `~CMD` compares array replies as multisets,
//! `?CMD` sends without comparing, `!reset` flushes both and reconnects, `!sleep MS` waits,
//! `#` starts a comment.

mod common;

use common::{Raw, Server};
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/compat")
}

fn multiset(reply: &[u8]) -> Vec<String> {
    match resp::parse_frame(reply) {
        Ok(Some((resp::Frame::Array(items), _))) | Ok(Some((resp::Frame::Set(items), _))) => {
            let mut v: Vec<String> = items.iter().map(|f| format!("{f:?}")).collect();
            v.sort();
            v
        }
        other => vec![format!("{other:?}")],
    }
}

fn run_corpus(path: &PathBuf, ours: &Server, theirs: &Server) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read corpus");
    let mut a = ours.raw();
    let mut b = theirs.raw();
    let mut failures = Vec::new();
    for (lineno, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "!reset" {
            a.call(&["FLUSHALL"]);
            b.call(&["FLUSHALL"]);
            a = ours.raw();
            b = theirs.raw();
            continue;
        }
        if let Some(ms) = line.strip_prefix("!sleep ") {
            std::thread::sleep(std::time::Duration::from_millis(
                ms.trim().parse().unwrap_or(0),
            ));
            continue;
        }
        let (mode, cmdline) = match line.as_bytes()[0] {
            b'~' => ('~', &line[1..]),
            b'?' => ('?', &line[1..]),
            _ => ('=', line),
        };
        let args = resp::split_args(cmdline.as_bytes())
            .unwrap_or_else(|| panic!("bad quoting at line {}", lineno + 1));
        let args: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
        a.cmd(&args);
        b.cmd(&args);
        let ra = a.read_reply();
        let rb = b.read_reply();
        let same = match mode {
            '?' => true,
            '~' => multiset(&ra) == multiset(&rb),
            _ => ra == rb,
        };
        if !same {
            failures.push(format!(
                "{}:{}: {}\n  redoubt: {:?}\n  redis:   {:?}",
                path.file_name().unwrap().to_string_lossy(),
                lineno + 1,
                line,
                String::from_utf8_lossy(&ra),
                String::from_utf8_lossy(&rb)
            ));
        }
    }
    failures
}

#[test]
fn corpora_match_redis_byte_for_byte() {
    let ours = Server::start(&[]);
    let theirs = Server::start_redis(&[]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/compat exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files");
    let mut failures = Vec::new();
    for f in &files {
        failures.extend(run_corpus(f, &ours, &theirs));
        let _ = Raw::connect(ours.port).call(&["FLUSHALL"]);
        let _ = Raw::connect(theirs.port).call(&["FLUSHALL"]);
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
