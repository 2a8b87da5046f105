//! Malformed input never panics and never makes the decoder allocate beyond what the input can
//! back: random bytes, random mutations of valid files and payloads, truncation at every
//! offset, and hand-made lies about lengths.

use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::*;
use rdb::{
    decode_all, decode_dump_payload, dump_payload, encode_to_vec, DecodeOptions, EncodeOptions,
    Entry, Error, Item, ModuleElem, ModuleValue, PendingEntry, PushDecoder, RdbValue,
    StreamConsumer, StreamEntry, StreamGroup, StreamId, StreamValue,
};

/// Options that check structure rather than stopping at the checksum.
fn lenient() -> DecodeOptions {
    DecodeOptions {
        verify_checksum: false,
        ..DecodeOptions::default()
    }
}

/// A valid file with every encoding (compact ones forced through small thresholds as well).
fn sample_items() -> Vec<Item> {
    let s = |x: &str| x.as_bytes().to_vec();
    let stream = StreamValue {
        entries: (0..30u64)
            .map(|i| StreamEntry {
                id: StreamId::new(10 + i / 2, i % 2),
                fields: if i % 3 == 0 {
                    vec![(s("x"), s("1"))]
                } else {
                    vec![(s("a"), i.to_string().into_bytes()), (s("b"), s("y"))]
                },
            })
            .collect(),
        last_id: StreamId::new(25, 1),
        first_id: StreamId::new(10, 0),
        max_deleted_id: StreamId::default(),
        entries_added: 30,
        groups: vec![StreamGroup {
            name: s("g"),
            last_id: StreamId::new(10, 1),
            entries_read: Some(2),
            pending: vec![PendingEntry {
                id: StreamId::new(10, 0),
                delivery_time_ms: 5,
                delivery_count: 1,
            }],
            consumers: vec![StreamConsumer {
                name: s("c"),
                seen_time_ms: 6,
                active_time_ms: None,
                pending: vec![StreamId::new(10, 0)],
            }],
        }],
    };
    let e = |k: &str, v: RdbValue| {
        let mut e = Entry::new(s(k), v);
        e.expire_ms = Some(4102444800000);
        e.lru_idle = Some(3);
        e.lfu_freq = Some(9);
        Item::Entry(e)
    };
    vec![
        Item::Aux {
            key: s("redis-ver"),
            value: s("7.0.15"),
        },
        Item::Aux {
            key: s("redis-bits"),
            value: s("64"),
        },
        Item::Function(s(
            "#!lua name=x\nredis.register_function('f', function() return 1 end)",
        )),
        Item::SelectDb(0),
        Item::ResizeDb {
            db_size: 9,
            expires_size: 9,
        },
        e(
            "str",
            RdbValue::String(b"hello world hello world hello world".to_vec()),
        ),
        e("int", RdbValue::String(s("-123456"))),
        e(
            "list",
            RdbValue::List(
                (0..40)
                    .map(|i| format!("e{}", i % 7).into_bytes())
                    .collect(),
            ),
        ),
        e(
            "intset",
            RdbValue::Set(vec![s("1"), s("-70000"), s("5000000000")]),
        ),
        e("set", RdbValue::Set(vec![s("a"), s("b")])),
        e(
            "zset",
            RdbValue::ZSet(vec![(s("a"), 1.5), (s("b"), -2.0), (s("c"), f64::INFINITY)]),
        ),
        e(
            "hash",
            RdbValue::Hash(vec![(s("f"), s("v")), (s("n"), s("12"))]),
        ),
        e("stream", RdbValue::Stream(Box::new(stream))),
        e(
            "module",
            RdbValue::Module(ModuleValue {
                type_id: 12345,
                elems: vec![ModuleElem::UInt(1), ModuleElem::String(s("m"))],
            }),
        ),
        Item::Eof,
    ]
}

/// Valid files in several encodings.
fn samples() -> &'static Vec<Vec<u8>> {
    static S: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    S.get_or_init(|| {
        let items = sample_items();
        let tiny = EncodeOptions {
            hash_max_listpack_entries: 0,
            zset_max_listpack_entries: 0,
            set_max_intset_entries: 0,
            list_max_listpack_size: 2,
            stream_node_max_entries: 4,
            ..EncodeOptions::default()
        };
        vec![
            encode_to_vec(&items, &EncodeOptions::default()),
            encode_to_vec(
                &items,
                &EncodeOptions {
                    compression: false,
                    ..EncodeOptions::default()
                },
            ),
            encode_to_vec(&items, &tiny),
        ]
    })
}

/// Decodes with every front end; only checks that nothing panics.
fn decode_everything(bytes: &[u8]) {
    let _ = decode_all(bytes, &lenient());
    let _ = decode_all(bytes, &DecodeOptions::default());
    let mut d = PushDecoder::new(lenient());
    for chunk in bytes.chunks(97) {
        d.feed(chunk);
        while let Ok(Some(_)) = d.next_item() {}
    }
    d.finish();
    while let Ok(Some(_)) = d.next_item() {}
    if bytes.len() > 1 {
        let _ = decode_dump_payload(bytes, true);
        let _ = rdb::decode_value(bytes[0], &bytes[1..]);
        let _ = rdb::listpack::parse(bytes);
        let _ = rdb::ziplist::parse(bytes);
        let _ = rdb::zipmap::parse(bytes);
        let _ = rdb::intset::parse(bytes);
        let _ = rdb::lzf::decompress(bytes, bytes[0] as usize * 40);
    }
}

/// One random edit.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        3 => (any::<usize>(), prop_oneof![Just(0u8), Just(0xFF), Just(0x80), Just(0x81), Just(0xC3), Just(0x7F), any::<u8>()])
            .prop_map(|(i, x)| Mutation::Set(i, x)),
        1 => (any::<usize>(), vec(any::<u8>(), 1..10)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<usize>(), 1usize..10).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation) {
    if data.is_empty() {
        return;
    }
    let at = |i: usize, d: &Vec<u8>| i % d.len();
    match m {
        Mutation::Flip(i, x) => {
            let i = at(*i, data);
            data[i] ^= x;
        }
        Mutation::Set(i, x) => {
            let i = at(*i, data);
            data[i] = *x;
        }
        Mutation::Insert(i, b) => {
            let i = at(*i, data);
            data.splice(i..i, b.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let i = at(*i, data);
            let end = (i + n).min(data.len());
            data.drain(i..end);
        }
        Mutation::Truncate(i) => {
            let i = at(*i, data);
            data.truncate(i);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(header in prop_oneof![Just(&b"REDIS0010"[..]), Just(&b"REDIS0009"[..]), Just(&b"REDIS0011"[..]), Just(&b""[..])],
                                body in vec(any::<u8>(), 0..600)) {
        decode_everything(&[header, &body].concat());
    }

    #[test]
    fn mutated_files_never_panic(which in 0usize..3, muts in vec(mutation(), 1..6)) {
        let mut data = samples()[which].clone();
        for m in &muts {
            apply(&mut data, m);
        }
        decode_everything(&data);
    }

    #[test]
    fn mutated_dump_payloads_never_panic(which in 5usize..14, muts in vec(mutation(), 1..4)) {
        let Item::Entry(e) = &sample_items()[which] else { unreachable!() };
        let mut p = dump_payload(&e.value, &EncodeOptions::default());
        for m in &muts {
            apply(&mut p, m);
        }
        let _ = decode_dump_payload(&p, true);
        let _ = decode_dump_payload(&p, false);
    }
}

#[test]
fn every_truncation_is_an_error() {
    for file in samples() {
        assert!(decode_all(file, &DecodeOptions::default()).is_ok());
        for n in 0..file.len() {
            match decode_all(&file[..n], &DecodeOptions::default()) {
                Err(Error::Truncated) | Err(Error::BadMagic) if n < 9 => {}
                Err(Error::Truncated) => {}
                other => panic!("prefix of {n} bytes: {other:?}"),
            }
        }
    }
}

#[test]
fn checksum_is_verified_and_zero_means_unchecked() {
    let file = samples()[0].clone();
    let n = file.len();
    let mut bad = file.clone();
    bad[n - 1] ^= 1;
    assert!(matches!(
        decode_all(&bad, &DecodeOptions::default()),
        Err(Error::ChecksumMismatch { .. })
    ));
    assert!(decode_all(&bad, &lenient()).is_ok());
    let mut zero = file.clone();
    zero[n - 8..].fill(0);
    assert!(decode_all(&zero, &DecodeOptions::default()).is_ok());
    let mut d = PushDecoder::new(DecodeOptions::default());
    d.feed(&bad);
    d.finish();
    let mut res = Ok(None);
    for _ in 0..100 {
        res = d.next_item();
        if !matches!(res, Ok(Some(_))) {
            break;
        }
    }
    assert!(
        matches!(res, Err(Error::ChecksumMismatch { .. })),
        "{res:?}"
    );
}

#[test]
fn lying_lengths_fail_without_allocating() {
    let h = b"REDIS0010\xfe\x00".to_vec();
    let cases: Vec<Vec<u8>> = vec![
        // A list claiming 2^64-1 elements.
        [&h[..], b"\x01\x01k\x81\xff\xff\xff\xff\xff\xff\xff\xff\x01a"].concat(),
        // A string claiming 4 GiB.
        [&h[..], b"\x00\x01k\x80\xff\xff\xff\xff"].concat(),
        // LZF claiming a huge uncompressed length.
        [&h[..], b"\x00\x01k\xc3\x02\x81\x00\x00\x01\x00\x00\x00\x00\x00\x00a"].concat(),
        // A zset claiming 2^40 members.
        [&h[..], b"\x05\x01k\x81\x00\x00\x01\x00\x00\x00\x00\x00"].concat(),
        // A stream claiming 2^40 nodes, then groups and PEL entries.
        [&h[..], b"\x13\x01k\x81\x00\x00\x01\x00\x00\x00\x00\x00"].concat(),
        [&h[..], b"\x13\x01k\x00\x00\x00\x00\x00\x00\x00\x00\x00\x81\x00\x00\x01\x00\x00\x00\x00\x00"].concat(),
        [&h[..], b"\x13\x01k\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01g\x00\x00\x00\x81\x00\x00\x01\x00\x00\x00\x00\x00"].concat(),
        // A quicklist claiming 2^40 nodes.
        [&h[..], b"\x12\x01k\x81\x00\x00\x01\x00\x00\x00\x00\x00"].concat(),
        // A module value with endless opcodes.
        [&h[..], b"\x07\x01k\x05\x02\x01\x02\x01"].concat(),
    ];
    for c in cases {
        let r = decode_all(&c, &DecodeOptions::default());
        assert!(
            matches!(r, Err(Error::Truncated) | Err(Error::Corrupt { .. })),
            "{r:?}"
        );
        // Incrementally: waits for more input, then fails on finish.
        let mut d = PushDecoder::new(DecodeOptions::default());
        d.feed(&c);
        let r = loop {
            match d.next_item() {
                Ok(Some(Item::SelectDb(_))) => continue,
                r => break r,
            }
        };
        assert!(
            matches!(r, Ok(None) | Err(Error::Corrupt { .. })),
            "{r:?} for {c:?}"
        );
        d.finish();
        assert!(d.next_item().is_err());
    }
}

#[test]
fn unsupported_and_unknown_content_is_reported() {
    let h = b"REDIS0010\xfe\x00".to_vec();
    let r = decode_all(&[&h[..], b"\x06\x01k"].concat(), &DecodeOptions::default());
    assert!(
        matches!(r, Err(Error::Unsupported { offset: 11, .. })),
        "{r:?}"
    );
    let r = decode_all(&[&h[..], b"\xf6"].concat(), &DecodeOptions::default());
    assert!(matches!(r, Err(Error::Unsupported { .. })), "{r:?}");
    let r = decode_all(&[&h[..], b"\x08\x01k"].concat(), &DecodeOptions::default());
    assert!(
        matches!(
            r,
            Err(Error::UnknownType {
                byte: 8,
                offset: 11
            })
        ),
        "{r:?}"
    );
    assert!(matches!(
        decode_all(b"REDIX0010\xff", &DecodeOptions::default()),
        Err(Error::BadMagic)
    ));
    assert!(matches!(
        decode_all(b"REDIS0000\xff", &DecodeOptions::default()),
        Err(Error::UnsupportedVersion(0))
    ));
    assert!(matches!(
        decode_all(b"REDIS0012\xff", &DecodeOptions::default()),
        Err(Error::UnsupportedVersion(12))
    ));
    // Versions below 5 have no checksum.
    let f = decode_all(
        b"REDIS0004\xfe\x00\x00\x01k\x01v\xff",
        &DecodeOptions::default(),
    )
    .expect("v4");
    assert_eq!(f.items.len(), 3);
    // Module aux and module values decode generically.
    let (name, ver) = rdb::module_type_name(0x0123_4567_89ab_cdef);
    assert_eq!((name.len(), ver), (9, 0x1ef));
}
