//! Conversion between stored values and the RDB crate's plain model (DUMP, RESTORE, snapshots).

use std::collections::BTreeSet;
use std::sync::Arc;

use rdb::{EncodeOptions, RdbValue, StreamValue};

use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::stream::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamId};
use crate::types::zset::{cmp_entry, ZSet};
use crate::types::EncodingLimits;
use crate::value::Value;

/// Encoder options matching the server's encoding thresholds (compression and checksum on).
pub fn encode_options(limits: &EncodingLimits) -> EncodeOptions {
    EncodeOptions {
        hash_max_listpack_entries: limits.hash_max_listpack_entries,
        hash_max_listpack_value: limits.hash_max_listpack_value,
        zset_max_listpack_entries: limits.zset_max_listpack_entries,
        zset_max_listpack_value: limits.zset_max_listpack_value,
        set_max_intset_entries: limits.set_max_intset_entries,
        list_max_listpack_size: limits.list_max_listpack_size,
        stream_node_max_bytes: limits.stream_node_max_bytes,
        stream_node_max_entries: limits.stream_node_max_entries,
        ..EncodeOptions::default()
    }
}

/// Encoder options that make the encoder pick `value`'s current encoding, as Redis serializes
/// an object in the encoding it has (a shrunk hash table stays a table, and so on).
pub fn encode_options_for(value: &Value, limits: &EncodingLimits) -> EncodeOptions {
    let mut o = encode_options(limits);
    match value {
        Value::Hash(h) => match **h {
            Hash::Listpack(_) => {
                o.hash_max_listpack_entries = usize::MAX;
                o.hash_max_listpack_value = usize::MAX;
            }
            Hash::Table(_) => o.hash_max_listpack_entries = 0,
        },
        Value::Set(s) => match **s {
            Set::Intset(_) => o.set_max_intset_entries = usize::MAX,
            Set::Table(_) => o.set_max_intset_entries = 0,
        },
        Value::ZSet(z) if z.is_listpack() => {
            o.zset_max_listpack_entries = usize::MAX;
            o.zset_max_listpack_value = usize::MAX;
        }
        Value::ZSet(_) => o.zset_max_listpack_entries = 0,
        _ => {}
    }
    o
}

fn id_out(id: StreamId) -> rdb::StreamId {
    rdb::StreamId::new(id.ms, id.seq)
}

fn id_in(id: rdb::StreamId) -> StreamId {
    StreamId::new(id.ms, id.seq)
}

/// The plain RDB model of a stored value.
pub fn to_rdb(value: &Value) -> RdbValue {
    match value {
        Value::Int(_) | Value::Emb(_) | Value::Raw(_) | Value::RawBuf(_) => {
            RdbValue::String(value.as_bytes().map(|b| b.into_owned()).unwrap_or_default())
        }
        Value::List(l) => RdbValue::List(l.iter().map(|e| e.to_vec()).collect()),
        Value::Set(s) => RdbValue::Set(s.iter().map(|m| m.to_bytes().into_owned()).collect()),
        Value::ZSet(z) => RdbValue::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        Value::Hash(h) => RdbValue::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Value::Stream(s) => RdbValue::Stream(Box::new(stream_to_rdb(s))),
    }
}

fn stream_to_rdb(s: &Stream) -> StreamValue {
    let e = &s.entries;
    StreamValue {
        entries: e
            .iter()
            .map(|ent| rdb::StreamEntry {
                id: id_out(ent.id),
                fields: ent.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
            })
            .collect(),
        last_id: id_out(e.last_id),
        first_id: id_out(e.first_id),
        max_deleted_id: id_out(e.max_deleted_id),
        entries_added: e.entries_added.max(0) as u64,
        groups: s
            .groups
            .iter()
            .map(|(name, g)| rdb::StreamGroup {
                name: name.to_vec(),
                last_id: id_out(g.last_id),
                entries_read: g.entries_read.map(|n| n as u64),
                pending: g
                    .pending
                    .iter()
                    .map(|(id, p)| rdb::PendingEntry {
                        id: id_out(*id),
                        delivery_time_ms: p.delivery_time,
                        delivery_count: p.delivery_count,
                    })
                    .collect(),
                consumers: g
                    .consumers
                    .iter()
                    .map(|(cname, c)| rdb::StreamConsumer {
                        name: cname.to_vec(),
                        seen_time_ms: c.seen_time,
                        active_time_ms: None,
                        pending: c.pending.iter().map(|id| id_out(*id)).collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// A stored value from the plain RDB model, in the encodings Redis chooses when loading under
/// `limits`. Errors (empty aggregates, duplicates, inconsistent stream PELs, module values) are
/// described in the string; RESTORE reports them all as "Bad data format".
pub fn from_rdb(value: RdbValue, limits: &EncodingLimits) -> Result<Value, String> {
    if value.is_empty_aggregate() {
        return Err("empty key".into());
    }
    Ok(match value {
        RdbValue::String(s) => Value::string_owned(s),
        RdbValue::List(items) => Value::List(Box::new(List::from_elements(
            limits.list_max_listpack_size,
            items,
        ))),
        RdbValue::Set(members) => {
            let mut s = if members.len() > limits.set_max_intset_entries {
                Set::new_table()
            } else {
                Set::new_intset()
            };
            for m in &members {
                if !s.add(m, limits) {
                    return Err("duplicate set member".into());
                }
            }
            Value::Set(Box::new(s))
        }
        RdbValue::ZSet(pairs) => {
            let mut items: Vec<(Box<[u8]>, f64)> = Vec::with_capacity(pairs.len());
            for (m, s) in pairs {
                if s.is_nan() {
                    return Err("NaN score".into());
                }
                items.push((m.into_boxed_slice(), s));
            }
            items.sort_by(|a, b| a.0.cmp(&b.0));
            if items.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err("duplicate zset member".into());
            }
            items.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
            Value::ZSet(Box::new(ZSet::from_sorted(items, limits)))
        }
        RdbValue::Hash(pairs) => {
            let mut h = Hash::new();
            if pairs.len() > limits.hash_max_listpack_entries {
                h.convert_to_table();
            }
            for (f, v) in &pairs {
                if !h.set(f, v, limits) {
                    return Err("duplicate hash field".into());
                }
            }
            Value::Hash(Box::new(h))
        }
        RdbValue::Stream(s) => Value::Stream(Box::new(stream_from_rdb(*s, limits)?)),
        RdbValue::Module(_) => return Err("module values are not supported".into()),
    })
}

fn stream_from_rdb(s: StreamValue, limits: &EncodingLimits) -> Result<Stream, String> {
    let mut out = Stream::new();
    let e = &mut out.entries;
    for ent in &s.entries {
        let id = id_in(ent.id);
        if e.length > 0 && id <= e.last_id {
            return Err("stream IDs out of order".into());
        }
        let flat: Vec<&[u8]> = ent
            .fields
            .iter()
            .flat_map(|(f, v)| [&f[..], &v[..]])
            .collect();
        if flat.is_empty() {
            return Err("empty stream entry".into());
        }
        e.append(id, &flat, limits)
            .map_err(|_| "stream entry too large".to_string())?;
    }
    let last = id_in(s.last_id);
    if e.length > 0 && last < e.last_id {
        return Err("stream last ID below an entry".into());
    }
    e.last_id = last;
    e.first_id = id_in(s.first_id);
    e.max_deleted_id = id_in(s.max_deleted_id);
    e.entries_added = s.entries_added.min(i64::MAX as u64) as i64;
    for g in s.groups {
        let mut group = ConsumerGroup::new(
            id_in(g.last_id),
            g.entries_read.map(|n| n.min(i64::MAX as u64) as i64),
        );
        // Owners first: every PEL entry must belong to exactly one consumer.
        let mut owner: std::collections::BTreeMap<StreamId, Arc<[u8]>> = Default::default();
        for c in &g.consumers {
            let name: Arc<[u8]> = Arc::from(&c.name[..]);
            let mut pending = BTreeSet::new();
            for id in &c.pending {
                let id = id_in(*id);
                if owner.insert(id, name.clone()).is_some() {
                    return Err("PEL entry owned twice".into());
                }
                pending.insert(id);
            }
            let consumer = Consumer {
                seen_time: c.seen_time_ms,
                pending,
            };
            if group.consumers.insert(name, consumer).is_some() {
                return Err("duplicate consumer".into());
            }
        }
        for p in &g.pending {
            let id = id_in(p.id);
            let Some(consumer) = owner.remove(&id) else {
                return Err("PEL entry without consumer".into());
            };
            let nack = PendingEntry {
                consumer,
                delivery_time: p.delivery_time_ms,
                delivery_count: p.delivery_count,
            };
            if group.pending.insert(id, nack).is_some() {
                return Err("duplicate PEL entry".into());
            }
        }
        if !owner.is_empty() {
            return Err("consumer PEL entry not in the group PEL".into());
        }
        if out
            .groups
            .insert(g.name.into_boxed_slice(), group)
            .is_some()
        {
            return Err("duplicate consumer group".into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &Value) -> Value {
        let limits = EncodingLimits::default();
        let payload = rdb::dump_payload(&to_rdb(v), &encode_options_for(v, &limits));
        let back = rdb::decode_dump_payload(&payload, false).expect("decodes");
        from_rdb(back, &limits).expect("loads")
    }

    fn s(x: &str) -> Vec<u8> {
        x.as_bytes().to_vec()
    }

    #[test]
    fn strings() {
        for v in ["", "hello", "12345", "-7", "2147483648", &"ab".repeat(40)] {
            let val = Value::string(v.as_bytes());
            assert_eq!(round_trip(&val), val);
        }
    }

    #[test]
    fn lists_sets_hashes_zsets() {
        let l = EncodingLimits::default();
        let list = Value::List(Box::new(List::from_elements(
            -2,
            (0..2000).map(|i| format!("element-{i}")),
        )));
        assert_eq!(round_trip(&list), list);

        for members in [vec!["1", "2", "-300000"], vec!["a", "b", "1"]] {
            let mut set = Set::new_intset();
            for m in members {
                set.add(m.as_bytes(), &l);
            }
            let v = Value::Set(Box::new(set));
            let back = round_trip(&v);
            assert_eq!(back.encoding(), v.encoding());
            assert_eq!(to_rdb(&back).type_name(), "set");
        }

        let mut h = Hash::new();
        h.set(b"f", b"v", &l);
        h.set(b"n", b"12", &l);
        let v = Value::Hash(Box::new(h));
        assert_eq!(round_trip(&v), v);
        let mut big = Hash::new();
        for i in 0..600 {
            big.set(format!("f{i}").as_bytes(), b"x", &l);
        }
        let back = round_trip(&Value::Hash(Box::new(big)));
        assert_eq!(back.encoding(), "hashtable");
        match back {
            Value::Hash(h) => assert_eq!(h.get(b"f599"), Some(&b"x"[..])),
            _ => panic!("not a hash"),
        }

        for n in [3, 300] {
            let items: Vec<(Box<[u8]>, f64)> = (0..n)
                .map(|i| {
                    (
                        format!("m{i:04}").into_bytes().into_boxed_slice(),
                        i as f64 / 2.0,
                    )
                })
                .collect();
            let z = Value::ZSet(Box::new(ZSet::from_sorted(items, &l)));
            let back = round_trip(&z);
            assert_eq!(back.encoding(), z.encoding());
            assert_eq!(back, z);
        }
    }

    #[test]
    fn streams_with_groups() {
        let l = EncodingLimits::default();
        let mut st = Stream::new();
        for i in 1..=250u64 {
            st.entries
                .append(
                    StreamId::new(i, 0),
                    &[b"f".to_vec(), i.to_string().into_bytes()],
                    &l,
                )
                .unwrap();
        }
        st.entries.max_deleted_id = StreamId::new(0, 5);
        let mut g = ConsumerGroup::new(StreamId::new(3, 0), Some(3));
        let (alice, _) = g.touch_consumer(b"alice", 1000);
        g.touch_consumer(b"bob", 2000);
        g.deliver(StreamId::new(1, 0), &alice, 1500);
        g.deliver(StreamId::new(2, 0), &alice, 1600);
        st.groups.insert(b"g1".to_vec().into_boxed_slice(), g);
        st.groups.insert(
            b"g0".to_vec().into_boxed_slice(),
            ConsumerGroup::new(StreamId::MIN, None),
        );
        let v = Value::Stream(Box::new(st));
        assert_eq!(to_rdb(&round_trip(&v)), to_rdb(&v));
    }

    #[test]
    fn refuses_what_redis_refuses() {
        let l = EncodingLimits::default();
        assert!(from_rdb(RdbValue::Set(vec![]), &l).is_err());
        assert!(from_rdb(RdbValue::Set(vec![s("a"), s("a")]), &l).is_err());
        assert!(from_rdb(RdbValue::Hash(vec![(s("a"), s("1")), (s("a"), s("2"))]), &l).is_err());
        assert!(from_rdb(RdbValue::ZSet(vec![(s("a"), 1.0), (s("a"), 2.0)]), &l).is_err());
    }
}
