//! Old encodings (linked lists, string-score zsets, zipmaps, ziplists, quicklists of ziplists,
//! type-15 streams, second-resolution expiries) in a version-9 file: real redis-server 7.0 loads
//! it, and our decoder must read exactly what the server then holds. Plus Redis 7.2's version-11
//! additions (listpack sets, type-21 streams), decoded by us only.

mod common;

use common::legacy::{len, stream_nodes, string, ziplist, zipmap};
use common::*;
use rdb::crc64::crc64;
use rdb::{decode_all, DecodeOptions, Item, RdbValue, StreamEntry, StreamId};

/// Starts a file with the given version and one aux field.
fn header(version: u32) -> Vec<u8> {
    let mut f = format!("REDIS{version:04}").into_bytes();
    f.push(0xFA);
    string(&mut f, b"redis-ver");
    string(&mut f, b"6.2.14");
    f.push(0xFE);
    len(&mut f, 0);
    f
}

/// Ends a file with EOF and its checksum.
fn finish(mut f: Vec<u8>) -> Vec<u8> {
    f.push(0xFF);
    let crc = crc64(0, &f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

/// Appends a type byte and key.
fn key(f: &mut Vec<u8>, t: u8, k: &str) {
    f.push(t);
    string(f, k.as_bytes());
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// The stream entries used by the type-15 and type-21 keys (entry 3 is deleted).
fn stream_entries() -> Vec<(StreamEntry, bool)> {
    (0..12u64)
        .map(|i| {
            let fields = if i % 5 == 4 {
                vec![(b("other"), i.to_string().into_bytes())]
            } else {
                vec![(b("a"), i.to_string().into_bytes()), (b("b"), b("x"))]
            };
            (
                StreamEntry {
                    id: StreamId::new(100 + i, i % 2),
                    fields,
                },
                i == 3,
            )
        })
        .collect()
}

/// Writes stream nodes, length and last ID.
fn stream_head(f: &mut Vec<u8>, entries: &[(StreamEntry, bool)]) {
    let nodes = stream_nodes(entries, 5);
    len(f, nodes.len() as u64);
    for (id, lp) in nodes {
        string(f, &id.to_be_bytes());
        string(f, &lp);
    }
    len(f, entries.iter().filter(|(_, d)| !d).count() as u64);
    let last = entries.last().expect("entries").0.id;
    len(f, last.ms);
    len(f, last.seq);
}

/// Writes one group's PEL (entries 0 and 1, owned by consumer `c1`) and consumers.
fn stream_group_tail(f: &mut Vec<u8>, entries: &[(StreamEntry, bool)], active_time: bool) {
    len(f, 2);
    for (k, (e, _)) in entries[..2].iter().enumerate() {
        f.extend_from_slice(&e.id.to_be_bytes());
        f.extend_from_slice(&(1_650_000_000_000i64 + k as i64).to_le_bytes());
        len(f, 1 + k as u64);
    }
    len(f, 2);
    string(f, b"c1");
    f.extend_from_slice(&1_650_000_000_500i64.to_le_bytes());
    if active_time {
        f.extend_from_slice(&1_650_000_000_400i64.to_le_bytes());
    }
    len(f, 2);
    f.extend_from_slice(&entries[0].0.id.to_be_bytes());
    f.extend_from_slice(&entries[1].0.id.to_be_bytes());
    string(f, b"c2");
    f.extend_from_slice(&1_650_000_000_600i64.to_le_bytes());
    if active_time {
        f.extend_from_slice(&1_650_000_000_600i64.to_le_bytes());
    }
    len(f, 0);
}

/// A version-9 file with every legacy encoding.
fn legacy_file() -> Vec<u8> {
    let mut f = header(9);
    // Type 1: linked list.
    key(&mut f, 1, "leg:list");
    len(&mut f, 3);
    for e in ["a", "bb", "12"] {
        string(&mut f, e.as_bytes());
    }
    // Type 3: zset with string scores (254 = +inf, 255 = -inf).
    key(&mut f, 3, "leg:zset3");
    len(&mut f, 4);
    for (m, s) in [
        ("m1", Some("1.5")),
        ("m2", None),
        ("m3", Some("-3")),
        ("m4", Some("1e3")),
    ] {
        string(&mut f, m.as_bytes());
        match s {
            Some(s) => {
                f.push(s.len() as u8);
                f.extend_from_slice(s.as_bytes());
            }
            None => f.push(254),
        }
    }
    key(&mut f, 3, "leg:zset3b");
    len(&mut f, 1);
    string(&mut f, b"low");
    f.push(255);
    // Type 9: zipmap, with a value long enough for the 5-byte length.
    key(&mut f, 9, "leg:zipmap");
    string(
        &mut f,
        &zipmap(&[
            (b("f1"), b("v1")),
            (b("big"), vec![b'z'; 300]),
            (b("n"), b("7")),
        ]),
    );
    // Type 10: ziplist list with every entry encoding, and a 5-byte prevlen after a long entry.
    let zl_items: Vec<Vec<u8>> = [
        "0",
        "12",
        "13",
        "-100",
        "1000",
        "100000",
        "1073741824",
        "1099511627776",
        "-9223372036854775808",
        "str",
        "007",
    ]
    .iter()
    .map(|s| b(s))
    .chain([vec![b'm'; 100], vec![b'L'; 20000], b("after-long")])
    .collect();
    key(&mut f, 10, "leg:ziplist");
    string(&mut f, &ziplist(&zl_items));
    // Type 12: ziplist zset (scores as integers and strings).
    key(&mut f, 12, "leg:zlzset");
    string(
        &mut f,
        &ziplist(&[b("a"), b("1"), b("b"), b("2.5"), b("c"), b("300000")]),
    );
    // Type 13: ziplist hash.
    key(&mut f, 13, "leg:zlhash");
    string(
        &mut f,
        &ziplist(&[b("f"), b("v"), b("n"), b("-5"), b("e"), b("")]),
    );
    // Type 14: quicklist of two ziplists.
    key(&mut f, 14, "leg:quicklist");
    len(&mut f, 2);
    string(&mut f, &ziplist(&[b("q1"), b("2")]));
    string(&mut f, &ziplist(&[b("q3"), vec![b'q'; 70]]));
    // Types 2, 4, 11 and 0, and a second-resolution expiry (0xFD).
    key(&mut f, 2, "leg:set");
    len(&mut f, 2);
    string(&mut f, b"x");
    string(&mut f, b"y");
    key(&mut f, 4, "leg:hash");
    len(&mut f, 1);
    string(&mut f, b"k");
    string(&mut f, b"v");
    key(&mut f, 11, "leg:intset");
    string(&mut f, &rdb::intset::build(&[-3, 7, 70000]));
    f.push(0xFD);
    f.extend_from_slice(&2_000_000_000i32.to_le_bytes());
    key(&mut f, 0, "leg:exp");
    string(&mut f, b"until 2033");
    // Type 15: stream, Redis 5.0–6.2 layout.
    let entries = stream_entries();
    key(&mut f, 15, "leg:stream");
    stream_head(&mut f, &entries);
    len(&mut f, 2);
    string(&mut f, b"grp");
    len(&mut f, entries[1].0.id.ms);
    len(&mut f, entries[1].0.id.seq);
    stream_group_tail(&mut f, &entries, false);
    string(&mut f, b"grp-at-end");
    let last = entries.last().unwrap().0.id;
    len(&mut f, last.ms);
    len(&mut f, last.seq);
    len(&mut f, 0);
    len(&mut f, 0);
    finish(f)
}

#[test]
fn legacy_encodings_match_what_redis_loads() {
    let file = legacy_file();
    let decoded = decode_all(&file, &DecodeOptions::default()).expect("decode legacy file");
    assert_eq!(decoded.version, 9);
    let ours = items_keyspace(&decoded.items);
    // A spot check independent of the server.
    let zl = &ours[&0][&b"leg:ziplist".to_vec()].0;
    match zl {
        RdbValue::List(v) => {
            assert_eq!(v[..4], [b("0"), b("12"), b("13"), b("-100")]);
            assert_eq!(v[8], b("-9223372036854775808"));
            assert_eq!(v[12].len(), 20000);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ours[&0][&b"leg:exp".to_vec()].1, Some(2_000_000_000_000));
    // The real server agrees on every key.
    let dir = scratch_dir("legacy");
    let path = dir.join("legacy.rdb");
    std::fs::write(&path, &file).expect("write");
    let (ok, out) = check_rdb(&path);
    assert!(ok, "redis-check-rdb refused the legacy file:\n{out}");
    let r = Redis::start_in(dir, &["--dbfilename", "legacy.rdb"])
        .unwrap_or_else(|log| panic!("not loaded:\n{log}"));
    let mut c = r.conn();
    assert_keyspace_eq(&ours, &server_keyspace(&mut c));
}

#[test]
fn version_11_additions_decode() {
    let mut f = header(11);
    key(&mut f, 20, "set:lp");
    let mut lp = rdb::listpack::Builder::new();
    for m in ["a", "17", "b"] {
        lp.push(m.as_bytes());
    }
    string(&mut f, &lp.finish());
    let entries = stream_entries();
    key(&mut f, 21, "x:v3");
    stream_head(&mut f, &entries);
    let first = entries[0].0.id;
    for v in [first.ms, first.seq, 99, 0, 12] {
        len(&mut f, v); // first id, max deleted id, entries added
    }
    len(&mut f, 1);
    string(&mut f, b"g");
    len(&mut f, entries[1].0.id.ms);
    len(&mut f, entries[1].0.id.seq);
    len(&mut f, 2);
    stream_group_tail(&mut f, &entries, true);
    let file = finish(f);
    let items = decode_all(&file, &DecodeOptions::default())
        .expect("decode v11")
        .items;
    let Item::Entry(set) = &items[2] else {
        panic!("{:?}", items[2])
    };
    assert_eq!(set.value, RdbValue::Set(vec![b("a"), b("17"), b("b")]));
    let Item::Entry(x) = &items[3] else { panic!() };
    let RdbValue::Stream(s) = &x.value else {
        panic!()
    };
    assert_eq!(s.entries.len(), 11);
    assert_eq!(s.max_deleted_id, StreamId::new(99, 0));
    assert_eq!(s.entries_added, 12);
    let g = &s.groups[0];
    assert_eq!(g.entries_read, Some(2));
    assert_eq!(g.consumers[0].active_time_ms, Some(1_650_000_000_400));
    assert_eq!(g.consumers[0].seen_time_ms, 1_650_000_000_500);
    // Redis 7.0 behaviour on request: version 11 refused.
    let strict = DecodeOptions {
        max_version: 10,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        decode_all(&file, &strict),
        Err(rdb::Error::UnsupportedVersion(11))
    ));
}
