//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX|XX|GT|LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME and PERSIST, as Redis 7.0 runs them.

use super::keys::error_with_arg;
use super::{eq_ic, int_bytes, Ctx};
use crate::keyspace::notify;
use bytes::Bytes;

/// The conditions NX, XX, GT and LT of the EXPIRE family.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Parses the options after the time argument, replying Redis's error when they are bad.
fn parse_conditions(ctx: &mut Ctx) -> Option<Conditions> {
    let mut c = Conditions::default();
    for j in 3..ctx.argv.len() {
        let opt = ctx.arg(j);
        if eq_ic(opt, "nx") {
            c.nx = true;
        } else if eq_ic(opt, "xx") {
            c.xx = true;
        } else if eq_ic(opt, "gt") {
            c.gt = true;
        } else if eq_ic(opt, "lt") {
            c.lt = true;
        } else {
            error_with_arg(ctx.out, "ERR Unsupported option ", opt, usize::MAX, "");
            return None;
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        ctx.out
            .error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if c.gt && c.lt {
        ctx.out
            .error("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(c)
}

/// The shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: `relative` adds the current
/// time, `seconds` scales the argument, `name` is the command for the overflow error.
fn expire_generic(ctx: &mut Ctx, relative: bool, seconds: bool, name: &str) {
    let Some(cond) = parse_conditions(ctx) else {
        return;
    };
    let Some(mut when) = ctx.int_arg(2) else {
        return;
    };
    let invalid = || format!("ERR invalid expire time in '{name}' command");
    if seconds {
        let Some(ms) = when.checked_mul(1000) else {
            return ctx.out.error(&invalid());
        };
        when = ms;
    }
    if relative {
        let Some(abs) = when.checked_add(ctx.now_ms()) else {
            return ctx.out.error(&invalid());
        };
        when = abs;
    }
    let key = ctx.arg(1);
    if ctx.ks.get_mut(ctx.db, key).is_none() {
        return ctx.out.int(0);
    }
    let current = ctx.ks.expire_of(ctx.db, key);
    let refused = (cond.nx && current.is_some())
        || (cond.xx && current.is_none())
        || (cond.gt && current.is_none_or(|cur| when <= cur))
        || (cond.lt && current.is_some_and(|cur| when >= cur));
    if refused {
        return ctx.out.int(0);
    }
    if when <= ctx.now_ms() && ctx.ks.deletes_on_past_deadline() {
        // A deadline already in the past deletes the key, and that is what replicas get.
        ctx.ks.remove_entry(ctx.db, key);
        ctx.ks.changed(ctx.db, key, notify::GENERIC, "del");
        ctx.propagate_as(vec![Bytes::from_static(b"DEL"), ctx.argv[1].clone()]);
        return ctx.out.int(1);
    }
    ctx.ks.set_expire(ctx.db, key, when);
    ctx.ks.changed(ctx.db, key, notify::GENERIC, "expire");
    if relative || seconds {
        // Replicas get the absolute deadline in ms; the options are kept as sent.
        let mut argv = Vec::with_capacity(ctx.argv.len());
        argv.push(Bytes::from_static(b"PEXPIREAT"));
        argv.push(ctx.argv[1].clone());
        argv.push(int_bytes(when));
        argv.extend(ctx.argv[3..].iter().cloned());
        ctx.propagate_as(argv);
    }
    ctx.out.int(1);
}

/// EXPIRE key seconds [NX|XX|GT|LT]
pub fn expire(ctx: &mut Ctx) {
    expire_generic(ctx, true, true, "expire");
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]
pub fn pexpire(ctx: &mut Ctx) {
    expire_generic(ctx, true, false, "pexpire");
}

/// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
pub fn expireat(ctx: &mut Ctx) {
    expire_generic(ctx, false, true, "expireat");
}

/// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
pub fn pexpireat(ctx: &mut Ctx) {
    expire_generic(ctx, false, false, "pexpireat");
}

/// The shared body of TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing key, -1 for a key
/// without deadline, else the remaining (or absolute) time, seconds rounded to nearest.
fn ttl_generic(ctx: &mut Ctx, ms: bool, absolute: bool) {
    let key = ctx.arg(1);
    if ctx.ks.lookup_read(ctx.db, key, false, true).is_none() {
        return ctx.out.int(-2);
    }
    let Some(when) = ctx.ks.expire_of(ctx.db, key) else {
        return ctx.out.int(-1);
    };
    let ttl = if absolute {
        when
    } else {
        when.saturating_sub(ctx.now_ms())
    }
    .max(0);
    if ms {
        ctx.out.int(ttl);
    } else {
        ctx.out.int(((i128::from(ttl) + 500) / 1000) as i64);
    }
}

/// TTL key
pub fn ttl(ctx: &mut Ctx) {
    ttl_generic(ctx, false, false);
}

/// PTTL key
pub fn pttl(ctx: &mut Ctx) {
    ttl_generic(ctx, true, false);
}

/// EXPIRETIME key
pub fn expiretime(ctx: &mut Ctx) {
    ttl_generic(ctx, false, true);
}

/// PEXPIRETIME key
pub fn pexpiretime(ctx: &mut Ctx) {
    ttl_generic(ctx, true, true);
}

/// PERSIST key
pub fn persist(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    if ctx.ks.get_mut(ctx.db, key).is_some() && ctx.ks.persist(ctx.db, key) {
        ctx.ks.changed(ctx.db, key, notify::GENERIC, "persist");
        return ctx.out.int(1);
    }
    ctx.out.int(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Keyspace;
    use crate::value::Value;
    use resp::{Out, Protocol};

    const NOW: i64 = 1_700_000_000_000;

    type Propagated = Option<Vec<Vec<Bytes>>>;

    fn argv(args: &[&str]) -> Vec<Bytes> {
        args.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn run_p(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> (Vec<u8>, Propagated) {
        let argv = argv(args);
        let mut out = Out::new(Protocol::Resp2);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        f(&mut ctx);
        let propagate = ctx.propagate.take();
        (out.buf, propagate)
    }

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> Vec<u8> {
        run_p(ks, f, args).0
    }

    fn keyspace_with(keys: &[&str]) -> Keyspace {
        let mut ks = Keyspace::new(16);
        ks.now_ms = NOW;
        ks.notify_flags = crate::keyspace::notify::KEYEVENT | notify::GENERIC;
        for k in keys {
            ks.set(0, k.as_bytes(), Value::string(b"1"), false);
        }
        ks
    }

    fn events(ks: &mut Keyspace) -> Vec<&'static str> {
        ks.notifications.drain(..).map(|n| n.event).collect()
    }

    #[test]
    fn option_errors_come_first_and_in_redis_order() {
        let mut ks = keyspace_with(&["a"]);
        let nx = b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
        let gtlt = b"-ERR GT and LT options at the same time are not compatible\r\n";
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "10", "foo"]),
            b"-ERR Unsupported option foo\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "x", "foo"]),
            b"-ERR Unsupported option foo\r\n"
        );
        assert_eq!(run(&mut ks, expire, &["EXPIRE", "a", "10", "nx", "xx"]), nx);
        assert_eq!(run(&mut ks, expire, &["EXPIRE", "a", "10", "nx", "gt"]), nx);
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "10", "nx", "gt", "lt"]),
            nx
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "10", "lt", "gt", "nx"]),
            nx
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "nokey", "10", "NX", "XX"]),
            nx
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "10", "gt", "lt"]),
            gtlt
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "10", "xx", "GT", "lt"]),
            gtlt
        );
        let not_int = b"-ERR value is not an integer or out of range\r\n";
        for bad in ["x", "", "10.5", " 10", "+10"] {
            assert_eq!(
                run(&mut ks, pexpire, &["PEXPIRE", "a", bad]),
                not_int,
                "{bad:?}"
            );
        }
        assert_eq!(run(&mut ks, expire, &["EXPIRE", "nokey", "x"]), not_int);
        assert_eq!(ks.dirty, 0);
        assert_eq!(ks.expire_of(0, b"a"), None);
    }

    #[test]
    fn overflowing_times_are_rejected_with_the_command_name() {
        let mut ks = keyspace_with(&["a"]);
        let err =
            |name: &str| format!("-ERR invalid expire time in '{name}' command\r\n").into_bytes();
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "9223372036854775807"]),
            err("expire")
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "a", "9223372036854775"]),
            err("expire")
        );
        assert_eq!(
            run(&mut ks, expire, &["expire", "a", "-9223372036854776"]),
            err("expire")
        );
        assert_eq!(
            run(&mut ks, pexpire, &["PEXPIRE", "a", "9223372036854775807"]),
            err("pexpire")
        );
        assert_eq!(
            run(&mut ks, expireat, &["EXPIREAT", "a", "9223372036854776"]),
            err("expireat")
        );
        assert_eq!(
            run(
                &mut ks,
                expire,
                &["EXPIRE", "nokey", "9223372036854776", "nx"]
            ),
            err("expire")
        );
        assert_eq!(ks.dirty, 0);
        // The largest representable deadlines are fine.
        assert_eq!(
            run(&mut ks, expireat, &["EXPIREAT", "a", "9223372036854775"]),
            b":1\r\n"
        );
        assert_eq!(ks.expire_of(0, b"a"), Some(9_223_372_036_854_775_000));
        assert_eq!(
            run(
                &mut ks,
                pexpireat,
                &["PEXPIREAT", "a", "9223372036854775807"]
            ),
            b":1\r\n"
        );
        assert_eq!(
            run(&mut ks, pexpiretime, &["PEXPIRETIME", "a"]),
            b":9223372036854775807\r\n"
        );
        assert_eq!(
            run(&mut ks, expiretime, &["EXPIRETIME", "a"]),
            b":9223372036854776\r\n"
        );
    }

    #[test]
    fn relative_expires_propagate_as_pexpireat_keeping_options() {
        let mut ks = keyspace_with(&["d"]);
        ks.watch(4, 0, b"d");
        let (reply, propagate) = run_p(&mut ks, expire, &["expire", "d", "100", "nx"]);
        assert_eq!(reply, b":1\r\n");
        let when = (NOW + 100_000).to_string();
        assert_eq!(
            propagate,
            Some(vec![argv(&["PEXPIREAT", "d", &when, "nx"])])
        );
        assert_eq!(ks.expire_of(0, b"d"), Some(NOW + 100_000));
        assert_eq!(events(&mut ks), ["expire"]);
        assert_eq!(ks.invalidated_watchers, vec![4]);
        assert_eq!(ks.dirty, 1);

        let (_, propagate) = run_p(&mut ks, pexpire, &["PEXPIRE", "d", "200000", "GT"]);
        let when = (NOW + 200_000).to_string();
        assert_eq!(
            propagate,
            Some(vec![argv(&["PEXPIREAT", "d", &when, "GT"])])
        );
        let (_, propagate) = run_p(&mut ks, expireat, &["EXPIREAT", "d", "1800000000"]);
        assert_eq!(
            propagate,
            Some(vec![argv(&["PEXPIREAT", "d", "1800000000000"])])
        );
        let (reply, propagate) = run_p(
            &mut ks,
            pexpireat,
            &["pExpireat", "d", "1900000000000", "gt"],
        );
        assert_eq!(
            (reply, propagate),
            (b":1\r\n".to_vec(), None),
            "PEXPIREAT goes out as sent"
        );
        assert_eq!(ks.dirty, 4);
    }

    #[test]
    fn conditions_nx_xx_gt_lt() {
        let mut ks = keyspace_with(&["d"]);
        // No deadline yet: NX sets, XX and GT refuse, LT sets (no deadline counts as infinite).
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "100", "xx"]),
            b":0\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "100", "gt"]),
            b":0\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "100", "lt"]),
            b":1\r\n"
        );
        ks.persist(0, b"d");
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "100", "NX", "nx"]),
            b":1\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "100", "nx"]),
            b":0\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "200", "xx"]),
            b":1\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "200", "gt"]),
            b":0\r\n",
            "equal is not greater"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "200", "lt"]),
            b":0\r\n",
            "equal is not less"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "300", "xx", "gt"]),
            b":1\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "250", "gt"]),
            b":0\r\n"
        );
        assert_eq!(
            run(&mut ks, expire, &["EXPIRE", "d", "250", "lt"]),
            b":1\r\n"
        );
        assert_eq!(ks.expire_of(0, b"d"), Some(NOW + 250_000));
        assert_eq!(run(&mut ks, expire, &["EXPIRE", "nokey", "100"]), b":0\r\n");
        assert_eq!(ks.dirty, 5);
    }

    #[test]
    fn a_deadline_in_the_past_deletes_on_a_primary() {
        let mut ks = keyspace_with(&["d", "e", "f"]);
        ks.watch(1, 0, b"d");
        let (reply, propagate) = run_p(&mut ks, expire, &["EXPIRE", "d", "-1"]);
        assert_eq!(reply, b":1\r\n");
        assert_eq!(propagate, Some(vec![argv(&["DEL", "d"])]));
        assert!(!ks.exists(0, b"d"));
        assert_eq!(events(&mut ks), ["del"]);
        assert_eq!(ks.invalidated_watchers, vec![1]);
        assert_eq!(ks.dirty, 1);
        let (_, propagate) = run_p(&mut ks, pexpire, &["PEXPIRE", "e", "0"]);
        assert_eq!(propagate, Some(vec![argv(&["DEL", "e"])]));
        let now = NOW.to_string();
        let (_, propagate) = run_p(&mut ks, pexpireat, &["PEXPIREAT", "f", &now]);
        assert_eq!(propagate, Some(vec![argv(&["DEL", "f"])]));
        assert!(ks.dbs[0].is_empty() && ks.dbs[0].expires.is_empty());
        ks.set(0, b"g", Value::string(b"1"), false);
        assert_eq!(
            run(
                &mut ks,
                pexpireat,
                &["PEXPIREAT", "g", "-9223372036854775808", "gt"]
            ),
            b":0\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                pexpireat,
                &["PEXPIREAT", "g", "-9223372036854775808", "lt"]
            ),
            b":1\r\n"
        );
        assert!(!ks.exists(0, b"g"));
    }

    #[test]
    fn a_deadline_in_the_past_is_stored_on_a_replica() {
        let mut ks = keyspace_with(&["d"]);
        ks.replica_mode = true;
        let (reply, propagate) = run_p(&mut ks, expireat, &["EXPIREAT", "d", "1"]);
        assert_eq!(reply, b":1\r\n");
        assert_eq!(propagate, Some(vec![argv(&["PEXPIREAT", "d", "1000"])]));
        assert_eq!(ks.expire_of(0, b"d"), Some(1000));
        assert_eq!(ks.dbs[0].len(), 1);
        assert_eq!(events(&mut ks), ["expire"]);
    }

    #[test]
    fn ttl_family() {
        let mut ks = keyspace_with(&["a"]);
        for (f, name) in [
            (ttl as fn(&mut Ctx), "TTL"),
            (pttl, "PTTL"),
            (expiretime, "EXPIRETIME"),
            (pexpiretime, "PEXPIRETIME"),
        ] {
            assert_eq!(run(&mut ks, f, &[name, "nokey"]), b":-2\r\n");
            assert_eq!(run(&mut ks, f, &[name, "a"]), b":-1\r\n");
        }
        ks.set_expire(0, b"a", NOW + 1499);
        assert_eq!(run(&mut ks, ttl, &["TTL", "a"]), b":1\r\n");
        assert_eq!(run(&mut ks, pttl, &["PTTL", "a"]), b":1499\r\n");
        ks.set_expire(0, b"a", NOW + 1500);
        assert_eq!(
            run(&mut ks, ttl, &["TTL", "a"]),
            b":2\r\n",
            "seconds are rounded to nearest"
        );
        ks.set_expire(0, b"a", 99_999_999_999_999);
        assert_eq!(
            run(&mut ks, expiretime, &["EXPIRETIME", "a"]),
            b":100000000000\r\n"
        );
        assert_eq!(
            run(&mut ks, pexpiretime, &["PEXPIRETIME", "a"]),
            b":99999999999999\r\n"
        );
        ks.set_expire(0, b"a", NOW - 1);
        assert_eq!(run(&mut ks, pttl, &["PTTL", "a"]), b":-2\r\n");
        assert_eq!(ks.propagated, vec![(0, argv(&["DEL", "a"]))]);
        assert_eq!(ks.stats.keyspace_misses, 5);
    }

    #[test]
    fn persist_removes_the_deadline_once() {
        let mut ks = keyspace_with(&["a"]);
        assert_eq!(run(&mut ks, persist, &["PERSIST", "a"]), b":0\r\n");
        assert_eq!(run(&mut ks, persist, &["PERSIST", "nokey"]), b":0\r\n");
        assert_eq!(ks.dirty, 0);
        ks.set_expire(0, b"a", NOW + 10);
        ks.watch(2, 0, b"a");
        let (reply, propagate) = run_p(&mut ks, persist, &["persist", "a"]);
        assert_eq!((reply, propagate), (b":1\r\n".to_vec(), None));
        assert_eq!(ks.expire_of(0, b"a"), None);
        assert_eq!(events(&mut ks), ["persist"]);
        assert_eq!(ks.invalidated_watchers, vec![2]);
        assert_eq!(ks.dirty, 1);
        assert_eq!(run(&mut ks, persist, &["PERSIST", "a"]), b":0\r\n");
    }
}
