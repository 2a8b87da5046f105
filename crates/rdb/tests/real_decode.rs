//! Decoding files written by the real redis-server 7.0: every type in its compact and large
//! encodings, expiries, several databases, functions, streams with groups; LRU/LFU prefixes;
//! and a byte-exact re-encoding of the server's own dump (compression off).

mod common;

use std::collections::BTreeSet;

use common::*;
use rdb::{decode_all, encode_to_vec, DecodeOptions, Decoder, EncodeOptions, Item, PushDecoder};

/// Loads a dataset covering every type and encoding. With `deterministic`, avoids operations
/// whose on-disk layout depends on history (deletions inside streams, shrinking aggregates).
fn load_dataset(c: &mut redis::Connection, deterministic: bool) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cmdv: Vec<Vec<Vec<u8>>> = Vec::new();
    let bin: Vec<u8> = (0..=255u8).collect();
    let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog; ".repeat(2300);
    for (k, v) in [
        (&b"s:short"[..], &b"hello"[..]),
        (b"s:int8", b"-7"),
        (b"s:int16", b"12345"),
        (b"s:int32", b"2000000000"),
        (b"s:int64", b"1234567890123"),
        (b"s:minus", b"-2147483648"),
        (b"s:lead0", b"007"),
        (b"s:plus", b"+5"),
        (b"s:empty", b""),
        (b"s:bin", &bin),
        (b"s:lzf", &[b'a'; 62]),
        (b"s:text", &text),
        (b"12345", b"int key"),
        (b"s:21", b"aaaaaaaaaaaaaaaaaaaaa"),
    ] {
        cmdv.push(words(&[b"SET", k, v]));
    }
    cmdv.push(words(&[b"SET", b"s:rand", &rng.bytes(300)]));
    cmdv.push(words(&[b"SET", b"s:exp", b"v"]));
    cmdv.push(words(&[b"PEXPIREAT", b"s:exp", b"4102444800000"]));
    // Lists: one packed node; many nodes; a large element in its own node.
    cmdv.push(words(&[
        b"RPUSH",
        b"l:small",
        b"a",
        b"b",
        b"1",
        b"1000",
        b"-5",
        b"70000",
        b"1099511627776",
        b"",
        &bin,
    ]));
    let mut big = vec![b"RPUSH".to_vec(), b"l:big".to_vec()];
    for i in 0..5000 {
        big.push(match i % 4 {
            0 => i.to_string().into_bytes(),
            1 => format!("element-{i}").into_bytes(),
            2 => {
                let n = rng.below(100) as usize;
                rng.bytes(n)
            }
            _ => vec![b'x'; 300],
        });
    }
    cmdv.push(big);
    cmdv.push(words(&[
        b"RPUSH",
        b"l:huge",
        b"head",
        &vec![b'h'; 20000],
        b"tail",
        &rng.bytes(9000),
    ]));
    if !deterministic {
        cmdv.push(words(&[b"LPUSH", b"l:big", b"pushed-left"]));
        cmdv.push(words(&[b"LSET", b"l:big", b"2500", b"replaced"]));
    }
    // Sets: intset (2-, 8-byte), hashtable of ints, of strings.
    cmdv.push(words(&[b"SADD", b"set:int", b"1", b"2", b"3", b"-5"]));
    cmdv.push(words(&[
        b"SADD",
        b"set:int64",
        b"1",
        b"1099511627776",
        b"-9223372036854775808",
    ]));
    let mut s = vec![b"SADD".to_vec(), b"set:intbig".to_vec()];
    s.extend((0..600).map(|i| (i * 7).to_string().into_bytes()));
    cmdv.push(s);
    cmdv.push(words(&[b"SADD", b"set:str", b"x", b"y", b"z", b"007"]));
    let mut s = vec![b"SADD".to_vec(), b"set:strbig".to_vec()];
    s.extend((0..1000).map(|i| format!("member:{i}").into_bytes()));
    cmdv.push(s);
    // Sorted sets: listpack; skiplist by count; skiplist by member length.
    cmdv.push(words(&[
        b"ZADD",
        b"z:small",
        b"1.5",
        b"m1",
        b"2",
        b"m2",
        b"0.1",
        b"m3",
        b"-3",
        b"m4",
        b"inf",
        b"m5",
        b"-inf",
        b"m6",
        b"1e20",
        b"m7",
        b"3.14159",
        b"m8",
        b"-0.000001",
        b"m9",
        b"123456789012",
        b"m10",
    ]));
    let mut z = vec![b"ZADD".to_vec(), b"z:big".to_vec()];
    for i in 0..300 {
        z.push(format!("{}", (i as f64) * 0.37 - 20.0).into_bytes());
        z.push(format!("zm{i}").into_bytes());
    }
    cmdv.push(z);
    cmdv.push(words(&[
        b"ZADD",
        b"z:long",
        b"1",
        &[b'q'; 100],
        b"2",
        b"short",
    ]));
    // Hashes: listpack; hashtable by count; by value length.
    cmdv.push(words(&[
        b"HSET", b"h:small", b"f1", b"v1", b"f2", b"22", b"f3", b"", b"n", b"-70000",
    ]));
    let mut h = vec![b"HSET".to_vec(), b"h:big".to_vec()];
    for i in 0..700 {
        h.push(format!("field{i}").into_bytes());
        h.push(format!("value{}", i * i).into_bytes());
    }
    cmdv.push(h);
    cmdv.push(words(&[b"HSET", b"h:long", b"f", &[b'v'; 100]]));
    cmdv.push(words(&[b"HSET", b"h:exp", b"f", b"v"]));
    cmdv.push(words(&[b"PEXPIREAT", b"h:exp", b"4102444800123"]));
    // Another database.
    cmdv.push(words(&[b"SELECT", b"3"]));
    cmdv.push(words(&[b"SET", b"db3:k", b"in db 3"]));
    cmdv.push(words(&[b"RPUSH", b"db3:l", b"x"]));
    cmdv.push(words(&[b"SELECT", b"0"]));
    pipe(c, &cmdv);

    // Streams.
    let mut sc: Vec<Vec<Vec<u8>>> = vec![
        words(&[b"XADD", b"x:small", b"1-1", b"a", b"1", b"b", b"2"]),
        words(&[b"XADD", b"x:small", b"1-2", b"a", b"3", b"b", b"4"]),
        words(&[b"XADD", b"x:small", b"2-0", b"c", b"x"]),
        words(&[b"XADD", b"x:small", b"3-0", b"a", b"5", b"b", b"6"]),
    ];
    for i in 0..1000u64 {
        let id = format!("{}-{}", 1_000_000 + i / 3, i % 3).into_bytes();
        let cmd = match i % 5 {
            0..=2 => words(&[
                b"XADD",
                b"x:big",
                &id,
                b"temp",
                i.to_string().as_bytes(),
                b"hum",
                b"0.5",
            ]),
            3 => words(&[b"XADD", b"x:big", &id, b"other", &rng.bytes(40)]),
            _ => words(&[
                b"XADD",
                b"x:big",
                &id,
                b"temp",
                b"1",
                b"hum",
                b"2",
                b"extra",
                &[b'e'; 200],
            ]),
        };
        sc.push(cmd);
    }
    pipe(c, &sc);
    if !deterministic {
        cmds(c, &["XDEL", "x:small", "1-2"]);
        cmds(
            c,
            &[
                "XDEL",
                "x:big",
                "1000010-1",
                "1000100-0",
                "1000100-1",
                "1000100-2",
            ],
        );
        cmds(c, &["XTRIM", "x:big", "MAXLEN", "900"]);
    }
    cmds(c, &["XGROUP", "CREATE", "x:small", "g1", "0"]);
    cmds(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "x:small",
            ">",
        ],
    );
    cmds(c, &["XGROUP", "CREATECONSUMER", "x:small", "g1", "bob"]);
    cmds(c, &["XGROUP", "CREATE", "x:small", "g2", "$"]);
    cmds(c, &["XGROUP", "CREATE", "x:big", "readers", "0"]);
    cmds(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "readers",
            "c1",
            "COUNT",
            "50",
            "STREAMS",
            "x:big",
            ">",
        ],
    );
    cmds(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "readers",
            "c2",
            "COUNT",
            "30",
            "STREAMS",
            "x:big",
            ">",
        ],
    );
    cmds(c, &["XACK", "x:big", "readers", "1000000-1", "1000001-0"]);
    cmds(
        c,
        &[
            "XCLAIM",
            "x:big",
            "readers",
            "c3",
            "0",
            "1000002-0",
            "1000002-1",
        ],
    );
    cmds(c, &["XGROUP", "CREATE", "x:empty", "g0", "$", "MKSTREAM"]);
    cmds(
        c,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=mylib\nredis.register_function('f', function() return 1 end)",
        ],
    );
}

/// Object type bytes of every key, in file order.
fn key_types(file: &[u8]) -> BTreeSet<u8> {
    let mut d = PushDecoder::new(DecodeOptions::default());
    d.feed(file);
    d.finish();
    let mut types = BTreeSet::new();
    while let Some(it) = d.next_item().expect("decode") {
        if matches!(it, Item::Entry(_)) {
            types.insert(d.last_value_type().expect("type"));
        }
    }
    types
}

#[test]
fn decodes_real_dumps_of_every_type() {
    let r = Redis::start(&[]);
    let mut c = r.conn();
    load_dataset(&mut c, false);
    let file = r.save_and_read(&mut c);
    let decoded = decode_all(&file, &DecodeOptions::default()).expect("decode real dump");
    assert_eq!(decoded.version, 10);
    assert_eq!(decoded.items.last(), Some(&Item::Eof));
    let aux: Vec<(Vec<u8>, Vec<u8>)> = decoded
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Aux { key, value } => Some((key.clone(), value.clone())),
            _ => None,
        })
        .collect();
    assert!(
        aux.contains(&(b"redis-ver".to_vec(), b"7.0.15".to_vec())),
        "{aux:?}"
    );
    assert!(aux.contains(&(b"redis-bits".to_vec(), b"64".to_vec())));
    let funcs: Vec<&Item> = decoded
        .items
        .iter()
        .filter(|i| matches!(i, Item::Function(_)))
        .collect();
    assert_eq!(
        funcs,
        vec![&Item::Function(
            b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)".to_vec()
        )]
    );
    let want = server_keyspace(&mut c);
    assert_keyspace_eq(&items_keyspace(&decoded.items), &want);
    // Both the compact and the large encodings were exercised.
    let types = key_types(&file);
    for t in [0u8, 2, 4, 5, 11, 16, 17, 18, 19] {
        assert!(
            types.contains(&t),
            "type {t} not present in the real dump: {types:?}"
        );
    }
    // The same through the Read-based decoder, in small reads.
    struct Trickle<'a>(&'a [u8]);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(777);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let items: Vec<Item> = Decoder::new(Trickle(&file), DecodeOptions::default())
        .collect::<Result<_, _>>()
        .expect("decode");
    assert_eq!(items, decoded.items);
    // A flipped byte in the middle is caught by the checksum (or the structure).
    let mut bad = file.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x20;
    assert!(decode_all(&bad, &DecodeOptions::default()).is_err());
    let n = file.len();
    assert!(matches!(
        decode_all(&file[..n - 3], &DecodeOptions::default()),
        Err(rdb::Error::Truncated)
    ));
}

#[test]
fn reencoding_a_real_dump_is_byte_exact() {
    let r = Redis::start(&["--rdbcompression", "no"]);
    let mut c = r.conn();
    load_dataset(&mut c, true);
    let file = r.save_and_read(&mut c);
    let decoded = decode_all(&file, &DecodeOptions::default()).expect("decode real dump");
    let opts = EncodeOptions {
        compression: false,
        ..EncodeOptions::default()
    };
    let ours = encode_to_vec(&decoded.items, &opts);
    if ours != file {
        let at = ours
            .iter()
            .zip(&file)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(file.len()));
        let lo = at.saturating_sub(40);
        panic!(
            "re-encoding differs at byte {at} (lengths {} vs {}):\n ours  {:02x?}\n redis {:02x?}",
            ours.len(),
            file.len(),
            &ours[lo..(at + 40).min(ours.len())],
            &file[lo..(at + 40).min(file.len())]
        );
    }
    // DUMP payloads match byte for byte too.
    for key in [
        "s:short", "s:int32", "l:small", "l:big", "set:int", "set:str", "z:small", "z:big",
        "h:small", "x:big",
    ] {
        let payload = bytes(&cmds(&mut c, &["DUMP", key]));
        let value = rdb::decode_dump_payload(&payload, false).expect("decode DUMP");
        assert_eq!(rdb::dump_payload(&value, &opts), payload, "DUMP of {key}");
    }
}

#[test]
fn decodes_lru_and_lfu_prefixes() {
    for (policy, lfu) in [("allkeys-lru", false), ("allkeys-lfu", true)] {
        let r = Redis::start(&["--maxmemory-policy", policy]);
        let mut c = r.conn();
        cmds(&mut c, &["SET", "a", "1"]);
        cmds(&mut c, &["SET", "b", "2"]);
        cmds(&mut c, &["PEXPIREAT", "b", "4102444800000"]);
        for _ in 0..20 {
            cmds(&mut c, &["GET", "a"]);
        }
        let file = r.save_and_read(&mut c);
        let items = decode_all(&file, &DecodeOptions::default())
            .expect("decode")
            .items;
        let entries: Vec<&rdb::Entry> = items
            .iter()
            .filter_map(|i| match i {
                Item::Entry(e) => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(entries.len(), 2);
        for e in entries {
            if lfu {
                let freq = int(&cmd(&mut c, &[b"OBJECT", b"FREQ", &e.key])) as u8;
                assert_eq!(e.lfu_freq, Some(freq), "{policy}");
                assert_eq!(e.lru_idle, None);
            } else {
                assert!(e.lru_idle.is_some_and(|s| s < 100), "{policy}: {e:?}");
                assert_eq!(e.lfu_freq, None);
            }
            if e.key == b"b" {
                assert_eq!(e.expire_ms, Some(4102444800000));
            }
        }
        // Ours round-trips them and the server accepts them.
        let ours = encode_to_vec(&items, &EncodeOptions::default());
        assert_eq!(
            decode_all(&ours, &DecodeOptions::default())
                .expect("decode")
                .items,
            items
        );
    }
}
