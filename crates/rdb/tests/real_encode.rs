//! Files written by this crate are accepted by `redis-check-rdb` and loaded by the real
//! redis-server 7.0 with exactly the data we wrote; DUMP payloads cross both ways.

mod common;

use common::*;
use rdb::{
    AuxFields, EncodeOptions, Encoder, Entry, Item, PendingEntry, RdbValue, ReplAux,
    StreamConsumer, StreamEntry, StreamGroup, StreamId, StreamValue,
};

/// A stream of `n` entries with two groups whose PELs and consumers are consistent.
fn stream(n: u64, rng: &mut Rng) -> StreamValue {
    let entries: Vec<StreamEntry> = (0..n)
        .map(|i| {
            let id = StreamId::new(1_600_000_000_000 + i / 2, i % 2);
            let fields = match i % 4 {
                0 | 1 => vec![
                    (b"temp".to_vec(), i.to_string().into_bytes()),
                    (b"unit".to_vec(), b"C".to_vec()),
                ],
                2 => vec![(b"blob".to_vec(), rng.bytes(30))],
                _ => vec![
                    (b"temp".to_vec(), b"-1.5".to_vec()),
                    (b"unit".to_vec(), vec![b'u'; 300]),
                ],
            };
            StreamEntry { id, fields }
        })
        .collect();
    let mut groups = Vec::new();
    if n >= 3 {
        let pend: Vec<PendingEntry> = entries[..3]
            .iter()
            .enumerate()
            .map(|(k, e)| PendingEntry {
                id: e.id,
                delivery_time_ms: 1_700_000_000_000 + k as i64,
                delivery_count: 1 + k as u64,
            })
            .collect();
        groups.push(StreamGroup {
            name: b"workers".to_vec(),
            last_id: entries[2].id,
            entries_read: Some(3),
            pending: pend.clone(),
            consumers: vec![
                StreamConsumer {
                    name: b"alice".to_vec(),
                    seen_time_ms: 1_700_000_000_100,
                    active_time_ms: None,
                    pending: vec![pend[0].id, pend[2].id],
                },
                StreamConsumer {
                    name: b"bob".to_vec(),
                    seen_time_ms: 1_700_000_000_200,
                    active_time_ms: None,
                    pending: vec![pend[1].id],
                },
                StreamConsumer {
                    name: b"idle".to_vec(),
                    seen_time_ms: 1_700_000_000_300,
                    active_time_ms: None,
                    pending: vec![],
                },
            ],
        });
    }
    let last = entries.last().map(|e| e.id).unwrap_or(StreamId::new(5, 5));
    groups.push(StreamGroup {
        name: b"z-late".to_vec(),
        last_id: last,
        entries_read: None,
        pending: vec![],
        consumers: vec![],
    });
    StreamValue {
        first_id: entries.first().map(|e| e.id).unwrap_or_default(),
        entries_added: n + 7,
        max_deleted_id: if n > 0 {
            StreamId::new(1_500_000_000_000, 3)
        } else {
            StreamId::new(4, 0)
        },
        last_id: last,
        entries,
        groups,
    }
}

/// Every type, small and large, with expiries, in two databases.
fn dataset() -> Vec<(u64, Entry)> {
    let mut rng = Rng(42);
    let mut out = Vec::new();
    let mut put = |db: u64, key: &str, value: RdbValue, exp: Option<i64>| {
        let mut e = Entry::new(key.as_bytes().to_vec(), value);
        e.expire_ms = exp;
        out.push((db, e));
    };
    let s = |x: &[u8]| RdbValue::String(x.to_vec());
    put(0, "s:hello", s(b"hello"), None);
    for (k, v) in [
        ("s:i8", "-128"),
        ("s:i16", "32767"),
        ("s:i32", "-2147483648"),
        ("s:i64", "9223372036854775807"),
    ] {
        put(0, k, s(v.as_bytes()), None);
    }
    put(0, "s:lead0", s(b"007"), None);
    put(0, "s:empty", s(b""), None);
    put(
        0,
        "s:text",
        s(&b"lorem ipsum dolor sit amet ".repeat(4000)),
        None,
    );
    put(0, "s:rand", s(&rng.bytes(5000)), None);
    put(0, "s:exp", s(b"expiring"), Some(4102444800000));
    put(0, "s:expired", s(b"gone"), Some(1000));
    put(0, "-42", s(b"integer key"), None);
    let l = |v: Vec<Vec<u8>>| RdbValue::List(v);
    put(
        0,
        "l:small",
        l(vec![
            b"a".to_vec(),
            b"1".to_vec(),
            b"-70000".to_vec(),
            vec![],
            (0..=255).collect(),
        ]),
        None,
    );
    put(
        0,
        "l:big",
        l((0..3000)
            .map(|i| format!("item{}", i * 31 % 1000).into_bytes())
            .collect()),
        None,
    );
    put(
        0,
        "l:huge",
        l(vec![
            b"x".to_vec(),
            vec![b'H'; 20000],
            rng.bytes(9000),
            b"y".to_vec(),
        ]),
        None,
    );
    put(
        0,
        "set:int",
        RdbValue::Set(vec![
            b"3".to_vec(),
            b"-1".to_vec(),
            b"1099511627776".to_vec(),
        ]),
        None,
    );
    put(
        0,
        "set:intbig",
        RdbValue::Set(
            (0..1000)
                .map(|i| (i * 13).to_string().into_bytes())
                .collect(),
        ),
        None,
    );
    put(
        0,
        "set:str",
        RdbValue::Set(vec![b"x".to_vec(), b"007".to_vec(), rng.bytes(100)]),
        Some(4102444800001),
    );
    let z = |v: Vec<(&[u8], f64)>| {
        RdbValue::ZSet(v.into_iter().map(|(m, s)| (m.to_vec(), s)).collect())
    };
    put(
        0,
        "z:small",
        z(vec![
            (b"a", 1.5),
            (b"b", 0.1),
            (b"c", f64::INFINITY),
            (b"d", f64::NEG_INFINITY),
            (b"e", -3.0),
            (b"f", 1e20),
            (b"g", 2.0),
            (b"h", 1.0 / 3.0),
            (b"i", 2.0),
        ]),
        None,
    );
    put(
        0,
        "z:big",
        RdbValue::ZSet(
            (0..500)
                .map(|i| (format!("m{i}").into_bytes(), (i as f64) * 1.25 - 100.0))
                .collect(),
        ),
        None,
    );
    put(0, "z:long", z(vec![(&[b'L'; 200], 5.0)]), None);
    let h = |v: Vec<(&[u8], &[u8])>| {
        RdbValue::Hash(
            v.into_iter()
                .map(|(a, b)| (a.to_vec(), b.to_vec()))
                .collect(),
        )
    };
    put(
        0,
        "h:small",
        h(vec![(b"f1", b"v1"), (b"n", b"12"), (b"e", b"")]),
        None,
    );
    put(
        0,
        "h:big",
        RdbValue::Hash(
            (0..1000)
                .map(|i| {
                    (
                        format!("f{i}").into_bytes(),
                        format!("{}", i * 3).into_bytes(),
                    )
                })
                .collect(),
        ),
        None,
    );
    put(0, "h:long", h(vec![(b"f", &[b'V'; 65])]), None);
    put(
        0,
        "x:small",
        RdbValue::Stream(Box::new(stream(5, &mut rng))),
        None,
    );
    put(
        0,
        "x:big",
        RdbValue::Stream(Box::new(stream(2500, &mut rng))),
        Some(4102444800002),
    );
    put(
        0,
        "x:empty",
        RdbValue::Stream(Box::new(stream(0, &mut rng))),
        None,
    );
    put(5, "db5:s", s(b"five"), None);
    put(5, "db5:h", h(vec![(b"k", b"v")]), None);
    out
}

/// Library source used in the files.
const LIBRARY: &str =
    "#!lua name=rdblib\nredis.register_function('answer', function() return 42 end)";

/// Writes the dataset as a complete file.
fn write_file(opts: EncodeOptions) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new(), opts).expect("encoder");
    e.write_aux_fields(&AuxFields {
        redis_ver: "7.0.15".into(),
        ctime: 1_700_000_000,
        used_mem: 1_234_567,
        repl: Some(ReplAux {
            stream_db: 0,
            repl_id: "0123456789abcdef0123456789abcdef01234567".into(),
            repl_offset: 0,
        }),
        aof_base: false,
    })
    .expect("aux");
    e.write_function(LIBRARY.as_bytes()).expect("function");
    let data = dataset();
    for db in [0u64, 5] {
        let keys: Vec<&Entry> = data
            .iter()
            .filter(|(d, _)| *d == db)
            .map(|(_, e)| e)
            .collect();
        e.write_select_db(db).expect("select");
        let expires = keys.iter().filter(|k| k.expire_ms.is_some()).count() as u64;
        e.write_resize_db(keys.len() as u64, expires)
            .expect("resize");
        for k in keys {
            e.write_entry(k).expect("entry");
        }
    }
    e.finish().expect("finish")
}

/// The keyspace the server should hold after loading the dataset (expired keys dropped).
fn expected() -> Keyspace {
    let mut items = Vec::new();
    let mut db = u64::MAX;
    for (d, e) in dataset() {
        if d != db {
            items.push(Item::SelectDb(d));
            db = d;
        }
        if e.expire_ms.is_none_or(|t| t > 2_000_000_000_000) {
            items.push(Item::Entry(e));
        }
    }
    items_keyspace(&items)
}

/// Writes `file` as `<dir>/<name>`, checks it with redis-check-rdb, loads it in redis-server.
fn load_in_redis(file: &[u8], name: &str) -> Redis {
    let dir = scratch_dir("enc");
    let path = dir.join(name);
    std::fs::write(&path, file).expect("write rdb");
    let (ok, out) = check_rdb(&path);
    assert!(ok, "redis-check-rdb refused our file:\n{out}");
    Redis::start_in(dir, &["--dbfilename", name])
        .unwrap_or_else(|log| panic!("redis-server refused our file:\n{log}"))
}

#[test]
fn redis_loads_our_files() {
    let variants = [
        ("compressed.rdb", EncodeOptions::default()),
        (
            "plain.rdb",
            EncodeOptions {
                compression: false,
                checksum: false,
                ..EncodeOptions::default()
            },
        ),
        (
            "tiny-thresholds.rdb",
            EncodeOptions {
                hash_max_listpack_entries: 2,
                zset_max_listpack_entries: 2,
                set_max_intset_entries: 1,
                list_max_listpack_size: 3,
                list_packed_threshold: 100,
                stream_node_max_entries: 7,
                stream_node_max_bytes: 0,
                ..EncodeOptions::default()
            },
        ),
    ];
    let want = expected();
    for (name, opts) in variants {
        let file = write_file(opts.clone());
        if !opts.checksum {
            assert_eq!(&file[file.len() - 8..], &[0u8; 8]);
        }
        let r = load_in_redis(&file, name);
        let mut c = r.conn();
        assert_keyspace_eq(&server_keyspace(&mut c), &want);
        assert_eq!(
            int(&cmds(&mut c, &["FCALL", "answer", "0"])),
            42,
            "{name}: function library loaded"
        );
        assert!(r.log().contains("DB loaded from disk"), "{}", r.log());
    }
}

#[test]
fn dump_and_restore_cross_with_redis() {
    let file = write_file(EncodeOptions::default());
    let r = load_in_redis(&file, "dump.rdb");
    let mut c = r.conn();
    let opts = EncodeOptions::default();
    for (db, e) in dataset() {
        if db != 0 || e.expire_ms == Some(1000) {
            continue;
        }
        let want = server_value(&mut c, &e.key).0;
        // Real DUMP → our decoder.
        let payload = bytes(&cmd(&mut c, &[b"DUMP", &e.key]));
        rdb::verify_dump_payload(&payload, false).expect("verify real DUMP");
        let got = rdb::decode_dump_payload(&payload, false).expect("decode real DUMP");
        assert_eq!(
            normalize(got),
            want,
            "DUMP of {:?}",
            String::from_utf8_lossy(&e.key)
        );
        // Our payload → real RESTORE.
        let ours = rdb::dump_payload(&e.value, &opts);
        let key2 = [b"restored:".as_slice(), &e.key].concat();
        assert_eq!(
            bytes(&cmd(&mut c, &[b"RESTORE", &key2, b"0", &ours])),
            b"OK"
        );
        assert_eq!(
            server_value(&mut c, &key2).0,
            want,
            "RESTORE of {:?}",
            String::from_utf8_lossy(&e.key)
        );
        // A damaged payload is refused by both.
        let mut bad = ours.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(matches!(
            rdb::decode_dump_payload(&bad, false),
            Err(rdb::DumpError::BadFooter)
        ));
        let err = redis::cmd("RESTORE")
            .arg(b"bad")
            .arg(0)
            .arg(&bad)
            .query::<()>(&mut c)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains(&rdb::DumpError::BadFooter.to_string()),
            "{err}"
        );
    }
}
