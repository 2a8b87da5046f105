//! DUMP and RESTORE, as Redis 7.0 runs them: values travel in the RDB payload format.

use super::{eq_ic, int_bytes, Ctx, SYNTAX};
use crate::keyspace::{notify, Entry};
use crate::rdbconv::{encode_options_for, from_rdb, to_rdb};
use bytes::Bytes;

/// `DUMP key`: the value serialized in the RDB payload format, or nil.
pub fn dump(ctx: &mut Ctx) {
    let limits = ctx.ks.limits;
    let Some(e) = ctx.ks.lookup_read(ctx.db, ctx.arg(1), true, true) else {
        return ctx.out.null();
    };
    let payload = rdb::dump_payload(&to_rdb(&e.value), &encode_options_for(&e.value, &limits));
    ctx.out.bulk(&payload);
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`.
pub fn restore(ctx: &mut Ctx) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < ctx.argv.len() {
        let opt = ctx.arg(j);
        let more = j + 1 < ctx.argv.len();
        if eq_ic(opt, "replace") {
            replace = true;
        } else if eq_ic(opt, "absttl") {
            absttl = true;
        } else if eq_ic(opt, "idletime") && more && freq.is_none() {
            let Some(v) = ctx.int_arg(j + 1) else { return };
            if v < 0 {
                return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
            j += 1;
        } else if eq_ic(opt, "freq") && more && idle.is_none() {
            let Some(v) = ctx.int_arg(j + 1) else { return };
            if !(0..=255).contains(&v) {
                return ctx
                    .out
                    .error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            // There is no LFU policy: the counter is accepted and ignored, as Redis does then.
            freq = Some(v);
            j += 1;
        } else {
            return ctx.out.error(SYNTAX);
        }
        j += 1;
    }
    let key = ctx.arg(1);
    if !replace && ctx.ks.get_mut(ctx.db, key).is_some() {
        return ctx.out.error("BUSYKEY Target key name already exists.");
    }
    let Some(mut ttl) = ctx.int_arg(2) else {
        return;
    };
    if ttl < 0 {
        return ctx.out.error("ERR Invalid TTL value, must be >= 0");
    }
    let payload = ctx.arg(3);
    if rdb::verify_dump_payload(payload, false).is_err() {
        return ctx
            .out
            .error("ERR DUMP payload version or checksum are wrong");
    }
    // Redis reads the value from the whole buffer, footer included (a value may run into it).
    let Ok((value, _)) = rdb::decode_value(payload[0], &payload[1..]) else {
        return ctx.out.error("ERR Bad data format");
    };
    let limits = ctx.ks.limits;
    let Ok(value) = from_rdb(value, &limits) else {
        return ctx.out.error("ERR Bad data format");
    };
    let deleted = replace && {
        ctx.ks.expire_if_needed(ctx.db, key);
        ctx.ks.remove_entry(ctx.db, key).is_some()
    };
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(ctx.now_ms());
    }
    if ttl != 0 && ttl <= ctx.now_ms() && ctx.ks.deletes_on_past_deadline() {
        // Already expired: the key is not created, and a replaced one is deleted.
        if deleted {
            ctx.ks.changed(ctx.db, key, notify::GENERIC, "del");
            ctx.propagate_as(vec![Bytes::from_static(b"DEL"), ctx.argv[1].clone()]);
        }
        return ctx.out.ok();
    }
    let lru = match idle {
        Some(secs) => {
            let secs = u32::try_from(secs).unwrap_or(u32::MAX);
            ctx.ks.lru_clock().saturating_sub(secs)
        }
        None => ctx.ks.lru_clock(),
    };
    let when = (ttl != 0).then_some(ttl);
    ctx.ks.put(ctx.db, key, Entry { value, lru }, when);
    ctx.ks.notify(notify::NEW, "new", ctx.db, key);
    ctx.ks.changed(ctx.db, key, notify::GENERIC, "restore");
    if ttl != 0 && !absttl {
        // Replicas get the deadline as an absolute time.
        let mut argv = ctx.argv.to_vec();
        argv[2] = int_bytes(ttl);
        argv.push(Bytes::from_static(b"ABSTTL"));
        ctx.propagate_as(argv);
    }
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Keyspace;
    use crate::value::Value;
    use resp::{Out, Protocol};

    const NOW: i64 = 1_700_000_000_000;

    fn run(
        ks: &mut Keyspace,
        f: fn(&mut Ctx),
        args: &[&[u8]],
    ) -> (Vec<u8>, Option<Vec<Vec<Bytes>>>) {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = Out::new(Protocol::Resp2);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        f(&mut ctx);
        let propagate = ctx.propagate.take();
        (out.buf, propagate)
    }

    fn payload_of(ks: &mut Keyspace, key: &[u8]) -> Vec<u8> {
        let (reply, _) = run(ks, dump, &[b"dump", key]);
        let text = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
        reply[text..reply.len() - 2].to_vec()
    }

    #[test]
    fn restore_rewrites_relative_ttl_and_deletes_expired() {
        let mut ks = Keyspace::new(16);
        ks.now_ms = NOW;
        ks.set(0, b"src", Value::string(b"hello"), false);
        let p = payload_of(&mut ks, b"src");
        assert_eq!(run(&mut ks, dump, &[b"dump", b"nope"]).0, b"$-1\r\n");

        let (reply, prop) = run(&mut ks, restore, &[b"restore", b"a", b"1000", &p]);
        assert_eq!(reply, b"+OK\r\n");
        assert_eq!(ks.expire_of(0, b"a"), Some(NOW + 1000));
        let prop = prop.expect("rewritten");
        assert_eq!(prop[0][2], Bytes::from((NOW + 1000).to_string()));
        assert_eq!(prop[0][4], Bytes::from_static(b"ABSTTL"));

        let (reply, _) = run(&mut ks, restore, &[b"restore", b"a", b"0", &p]);
        assert!(reply.starts_with(b"-BUSYKEY"));

        let (reply, prop) = run(
            &mut ks,
            restore,
            &[b"restore", b"a", b"1", &p, b"absttl", b"replace"],
        );
        assert_eq!(reply, b"+OK\r\n");
        assert!(!ks.exists(0, b"a"));
        assert_eq!(prop.unwrap()[0][0], Bytes::from_static(b"DEL"));

        let (reply, prop) = run(
            &mut ks,
            restore,
            &[b"restore", b"b", b"0", &p, b"idletime", b"50"],
        );
        assert_eq!(reply, b"+OK\r\n");
        assert!(prop.is_none());
        assert_eq!(ks.entry(0, b"b").unwrap().lru, ks.lru_clock() - 50);
        assert_eq!(ks.peek(0, b"b"), Some(&Value::string(b"hello")));

        let mut bad = p.clone();
        *bad.last_mut().unwrap() ^= 1;
        let (reply, _) = run(&mut ks, restore, &[b"restore", b"c", b"0", &bad]);
        assert_eq!(
            reply,
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
    }
}
