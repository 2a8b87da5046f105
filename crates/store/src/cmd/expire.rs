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
        ctx.out.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if c.gt && c.lt {
        ctx.out.error("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(c)
}

/// The shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: `relative` adds the current
/// time, `seconds` scales the argument, `name` is the command for the overflow error.
fn expire_generic(ctx: &mut Ctx, relative: bool, seconds: bool, name: &str) {
    let Some(cond) = parse_conditions(ctx) else { return };
    let Some(mut when) = ctx.int_arg(2) else { return };
    let invalid = || format!("ERR invalid expire time in '{name}' command");
    if seconds {
        let Some(ms) = when.checked_mul(1000) else { return ctx.out.error(&invalid()) };
        when = ms;
    }
    if relative {
        let Some(abs) = when.checked_add(ctx.now_ms()) else { return ctx.out.error(&invalid()) };
        when = abs;
    }
    let key = ctx.arg(1);
    if ctx.ks.get_mut(ctx.db, key).is_none() {
        return ctx.out.int(0);
    }
    let current = ctx.ks.expire_of(ctx.db, key);
    let refused = (cond.nx && current.is_some())
        || (cond.xx && current.is_none())
        || (cond.gt && current.map_or(true, |cur| when <= cur))
        || (cond.lt && current.is_some_and(|cur| when >= cur));
    if refused {
        return ctx.out.int(0);
    }
    if when <= ctx.now_ms() && !ctx.ks.replica_mode {
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
    let Some(when) = ctx.ks.expire_of(ctx.db, key) else { return ctx.out.int(-1) };
    let ttl = if absolute { when } else { when.saturating_sub(ctx.now_ms()) }.max(0);
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
