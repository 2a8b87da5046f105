//! Property tests: everything the encoder writes decodes back to the same data, through every
//! front end (buffer, push decoder in random chunks, DUMP payloads), under random thresholds.

mod common;

use common::normalize;
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use rdb::{
    decode_all, decode_dump_payload, dump_payload, encode_to_vec, DecodeOptions, EncodeOptions,
    Entry, Item, ModuleAux, ModuleElem, ModuleValue, PendingEntry, PushDecoder, RdbValue,
    StreamConsumer, StreamEntry, StreamGroup, StreamId, StreamValue,
};

/// Byte strings of the shapes that matter: short text, canonical and non-canonical integers,
/// binary, and long compressible runs.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z]{0,12}".prop_map(String::into_bytes),
        3 => any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        1 => (-200i64..200).prop_map(|v| v.to_string().into_bytes()),
        1 => "0[0-9]{1,3}|\\+[0-9]{1,3}|-0".prop_map(String::into_bytes),
        2 => vec(any::<u8>(), 0..80),
        1 => (any::<u8>(), 20usize..3000).prop_map(|(b, n)| vec![b; n]),
        1 => ("[a-c]{1,4}", 1usize..400).prop_map(|(s, n)| s.repeat(n).into_bytes()),
    ]
}

/// Scores: any finite double, integers, ±inf, signed zero (no NaN: it never equals itself).
fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
        2 => (-1000i64..1000).prop_map(|v| v as f64),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => -1e6f64..1e6,
    ]
}

/// A stream with consistent groups.
fn stream() -> impl Strategy<Value = StreamValue> {
    let entry_fields = vec(("[abc]", bytes()), 1..4).prop_map(|v| {
        v.into_iter()
            .map(|(f, x)| (f.into_bytes(), x))
            .collect::<Vec<(Vec<u8>, Vec<u8>)>>()
    });
    (
        vec(((0u64..3), (0u64..3), entry_fields), 0..60),
        any::<u64>(),
        vec(("[a-z]{1,6}", any::<u64>()), 0..3),
    )
        .prop_map(|(steps, seed, groups)| {
            let mut id = StreamId::new(1_000, 0);
            let mut entries = Vec::new();
            for (dms, dseq, fields) in steps {
                id = if dms == 0 {
                    StreamId::new(id.ms, id.seq + 1 + dseq)
                } else {
                    StreamId::new(id.ms + dms, dseq)
                };
                entries.push(StreamEntry { id, fields });
            }
            let mut rng = common::Rng(seed | 1);
            let groups = groups
                .into_iter()
                .enumerate()
                .map(|(gi, (name, _))| {
                    let mut pending: Vec<PendingEntry> = Vec::new();
                    for e in &entries {
                        if rng.below(3) == 0 {
                            let delivery_time_ms = rng.next() as i64 >> 20;
                            pending.push(PendingEntry {
                                id: e.id,
                                delivery_time_ms,
                                delivery_count: rng.below(5),
                            });
                        }
                    }
                    let nconsumers = 1 + rng.below(3) as usize;
                    let mut consumers: Vec<StreamConsumer> = (0..nconsumers)
                        .map(|k| StreamConsumer {
                            name: format!("c{k}").into_bytes(),
                            seen_time_ms: rng.next() as i64 >> 20,
                            active_time_ms: None,
                            pending: vec![],
                        })
                        .collect();
                    for p in &pending {
                        let k = rng.below(nconsumers as u64) as usize;
                        consumers[k].pending.push(p.id);
                    }
                    StreamGroup {
                        name: format!("{gi}{name}").into_bytes(),
                        last_id: StreamId::new(rng.below(5000), rng.below(3)),
                        entries_read: if rng.below(2) == 0 {
                            None
                        } else {
                            Some(rng.below(100))
                        },
                        pending,
                        consumers,
                    }
                })
                .collect();
            StreamValue {
                last_id: entries.last().map(|e| e.id).unwrap_or(StreamId::new(7, 7)),
                first_id: entries.first().map(|e| e.id).unwrap_or_default(),
                max_deleted_id: StreamId::new(rng.below(1000), rng.below(3)),
                entries_added: entries.len() as u64 + rng.below(10),
                entries,
                groups,
            }
        })
}

/// Module payload elements.
fn module_elems() -> impl Strategy<Value = Vec<ModuleElem>> {
    vec(
        prop_oneof![
            any::<i64>().prop_map(ModuleElem::SInt),
            any::<u64>().prop_map(ModuleElem::UInt),
            any::<f32>()
                .prop_filter("not NaN", |f| !f.is_nan())
                .prop_map(ModuleElem::Float),
            any::<f64>()
                .prop_filter("not NaN", |f| !f.is_nan())
                .prop_map(ModuleElem::Double),
            bytes().prop_map(ModuleElem::String),
        ],
        0..6,
    )
}

/// Any value.
fn value() -> impl Strategy<Value = RdbValue> {
    prop_oneof![
        3 => bytes().prop_map(RdbValue::String),
        2 => vec(bytes(), 0..40).prop_map(RdbValue::List),
        1 => vec(bytes(), 100..400).prop_map(RdbValue::List),
        2 => btree_set(bytes(), 0..30).prop_map(|s| RdbValue::Set(s.into_iter().collect())),
        2 => btree_set(any::<i64>(), 0..30)
            .prop_map(|s| RdbValue::Set(s.into_iter().map(|v| v.to_string().into_bytes()).collect())),
        2 => btree_map(bytes(), score(), 0..30).prop_map(|m| RdbValue::ZSet(m.into_iter().collect())),
        2 => btree_map(bytes(), bytes(), 0..30).prop_map(|m| RdbValue::Hash(m.into_iter().collect())),
        2 => stream().prop_map(|s| RdbValue::Stream(Box::new(s))),
        1 => (any::<u64>(), module_elems()).prop_map(|(type_id, elems)| RdbValue::Module(ModuleValue { type_id, elems })),
    ]
}

/// Random encoder thresholds around the interesting boundaries.
fn options() -> impl Strategy<Value = EncodeOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        (0usize..12, 0usize..80, 0usize..12, 0usize..80, 0usize..40),
        (-6i64..12, prop_oneof![Just(1usize << 30), 1usize..200]),
        (0usize..6000, 0usize..12),
    )
        .prop_map(
            |(compression, checksum, (he, hv, ze, zv, se), (fill, packed), (nb, ne))| {
                EncodeOptions {
                    compression,
                    checksum,
                    hash_max_listpack_entries: he,
                    hash_max_listpack_value: hv,
                    zset_max_listpack_entries: ze,
                    zset_max_listpack_value: zv,
                    set_max_intset_entries: se,
                    list_max_listpack_size: fill,
                    list_packed_threshold: packed,
                    stream_node_max_bytes: nb,
                    stream_node_max_entries: ne,
                }
            },
        )
}

/// A key with random metadata.
fn entry() -> impl Strategy<Value = Entry> {
    (
        bytes(),
        value(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u8>()),
    )
        .prop_map(|(key, value, expire_ms, lru_idle, lfu_freq)| Entry {
            key,
            value,
            expire_ms,
            lru_idle,
            lfu_freq,
        })
}

/// A whole file's items.
fn items() -> impl Strategy<Value = Vec<Item>> {
    (
        vec(("[a-z-]{1,10}", bytes()), 0..4),
        vec(bytes(), 0..2),
        vec((any::<u64>(), 1u64..3, module_elems()), 0..2),
        vec((0u64..20, vec(entry(), 0..8)), 0..3),
    )
        .prop_map(|(aux, funcs, maux, dbs)| {
            let mut v: Vec<Item> = aux
                .into_iter()
                .map(|(k, value)| Item::Aux {
                    key: k.into_bytes(),
                    value,
                })
                .collect();
            v.extend(maux.into_iter().map(|(module_id, when, elems)| {
                Item::ModuleAux(ModuleAux {
                    module_id,
                    when,
                    elems,
                })
            }));
            v.extend(funcs.into_iter().map(Item::Function));
            for (db, entries) in dbs {
                v.push(Item::SelectDb(db));
                v.push(Item::ResizeDb {
                    db_size: entries.len() as u64,
                    expires_size: 0,
                });
                v.extend(entries.into_iter().map(Item::Entry));
            }
            v.push(Item::Eof);
            v
        })
}

/// Items with every value normalized (the encoder may reorder sets and sorted sets).
fn normalized(items: &[Item]) -> Vec<Item> {
    items
        .iter()
        .map(|i| match i {
            Item::Entry(e) => Item::Entry(Entry {
                value: normalize(e.value.clone()),
                ..e.clone()
            }),
            other => other.clone(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn files_round_trip(items in items(), opts in options(), chunks in vec(1usize..5000, 1..20)) {
        let file = encode_to_vec(&items, &opts);
        prop_assert_eq!(&file[..9], b"REDIS0010");
        let decoded = decode_all(&file, &DecodeOptions::default()).expect("decode");
        prop_assert_eq!(decoded.version, 10);
        prop_assert_eq!(normalized(&decoded.items), normalized(&items));
        // Push decoder, fed in random chunks.
        let mut d = PushDecoder::new(DecodeOptions::default());
        let mut got = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < file.len() {
            let n = chunks[k % chunks.len()].min(file.len() - pos);
            d.feed(&file[pos..pos + n]);
            pos += n;
            k += 1;
            while let Some(it) = d.next_item().expect("push decode") {
                got.push(it);
            }
        }
        d.finish();
        while let Some(it) = d.next_item().expect("push decode") {
            got.push(it);
        }
        prop_assert!(d.is_done());
        prop_assert_eq!(got, decoded.items);
    }

    #[test]
    fn dump_payloads_round_trip(v in value(), opts in options()) {
        let payload = dump_payload(&v, &opts);
        prop_assert_eq!(rdb::verify_dump_payload(&payload, false).expect("verify"), 10);
        let back = decode_dump_payload(&payload, false).expect("decode");
        prop_assert_eq!(normalize(back), normalize(v));
    }

    #[test]
    fn lzf_round_trips(data in prop_oneof![vec(any::<u8>(), 0..3000), bytes()]) {
        if let Some(z) = rdb::lzf::compress(&data, usize::MAX) {
            prop_assert_eq!(rdb::lzf::decompress(&z, data.len()).expect("decompress"), data);
        }
    }
}

#[test]
fn encodings_follow_the_thresholds() {
    let opts = EncodeOptions::default();
    let t = |v: &RdbValue| rdb::value_type(v, &opts);
    let ints = |n: usize| RdbValue::Set((0..n).map(|i| i.to_string().into_bytes()).collect());
    assert_eq!(t(&ints(512)), 11);
    assert_eq!(t(&ints(513)), 2);
    assert_eq!(t(&RdbValue::Set(vec![b"007".to_vec()])), 2);
    let hash = |n: usize, len: usize| {
        RdbValue::Hash(
            (0..n)
                .map(|i| (i.to_string().into_bytes(), vec![b'v'; len]))
                .collect(),
        )
    };
    assert_eq!(t(&hash(512, 64)), 16);
    assert_eq!(t(&hash(513, 1)), 4);
    assert_eq!(t(&hash(1, 65)), 4);
    let zset = |n: usize, len: usize| {
        RdbValue::ZSet(
            (0..n)
                .map(|i| ([vec![b'm'; len], i.to_string().into_bytes()].concat(), 1.0))
                .collect(),
        )
    };
    assert_eq!(t(&zset(128, 60)), 17);
    assert_eq!(t(&zset(129, 1)), 5);
    assert_eq!(t(&zset(1, 66)), 5);
    assert_eq!(t(&RdbValue::List(vec![])), 18);
    // Strings: int-encoded only when canonical int32; LZF only above 20 bytes and when it saves.
    let enc = |s: &[u8], z: bool| {
        let mut out = Vec::new();
        rdb::encode_value(
            &RdbValue::String(s.to_vec()),
            &EncodeOptions {
                compression: z,
                ..opts.clone()
            },
            &mut out,
        );
        out
    };
    assert_eq!(enc(b"-7", true), [0xC0, 0xF9]);
    assert_eq!(enc(b"12345", true), [0xC1, 0x39, 0x30]);
    assert_eq!(enc(b"2147483647", true), [0xC2, 0xFF, 0xFF, 0xFF, 0x7F]);
    assert_eq!(enc(b"2147483648", true)[0], 10);
    assert_eq!(enc(b"007", true), b"\x03007");
    assert_eq!(enc(&[b'a'; 20], true)[0], 20);
    assert_eq!(enc(&[b'a'; 21], true)[0], 0xC3);
    assert_eq!(enc(&[b'a'; 21], false)[0], 21);
}
