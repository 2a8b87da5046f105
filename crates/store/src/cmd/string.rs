//! String commands: GET, SET and friends, counters, ranges.

use super::{eq_ic, int_bytes, Ctx, NOT_INT};
use crate::keyspace::notify;
use crate::num::{incr_by_float, parse_i64, IncrFloatError};
use crate::value::Value;
use bytes::Bytes;

/// Reply when a string would outgrow `proto-max-bulk-len`.
pub const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// How an expiry argument is expressed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExpireUnit {
    /// EX: relative seconds.
    Ex,
    /// PX: relative milliseconds.
    Px,
    /// EXAT: absolute Unix seconds.
    ExAt,
    /// PXAT: absolute Unix milliseconds.
    PxAt,
}

/// Turns an expiry argument into an absolute time in ms, replying Redis's error on failure.
pub fn expire_arg_to_abs_ms(ctx: &mut Ctx, raw: &[u8], unit: ExpireUnit, cmd: &str) -> Option<i64> {
    let Some(v) = parse_i64(raw) else {
        ctx.out.error(NOT_INT);
        return None;
    };
    let seconds = matches!(unit, ExpireUnit::Ex | ExpireUnit::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        ctx.out
            .error(&format!("ERR invalid expire time in '{cmd}' command"));
        return None;
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if matches!(unit, ExpireUnit::Ex | ExpireUnit::Px) {
        ms = ms.wrapping_add(ctx.now_ms());
    }
    if ms <= 0 {
        ctx.out
            .error(&format!("ERR invalid expire time in '{cmd}' command"));
        return None;
    }
    Some(ms)
}

/// Replies with the string at `key` (nil if missing); false after a WRONGTYPE error.
fn reply_get(ctx: &mut Ctx, key: &[u8]) -> bool {
    match ctx.ks.get(ctx.db, key) {
        None => {
            ctx.out.null();
            true
        }
        Some(v) => match v.as_bytes() {
            Some(b) if v.is_string() => {
                ctx.out.bulk(&b);
                true
            }
            _ => {
                ctx.wrongtype();
                false
            }
        },
    }
}

/// GET key
pub fn get(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    reply_get(ctx, key);
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]
pub fn set(ctx: &mut Ctx) {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(ExpireUnit, usize)> = None;
    let mut j = 3;
    while j < ctx.argv.len() {
        let opt = ctx.arg(j);
        let has_next = j + 1 < ctx.argv.len();
        let unit = if eq_ic(opt, "ex") {
            Some(ExpireUnit::Ex)
        } else if eq_ic(opt, "px") {
            Some(ExpireUnit::Px)
        } else if eq_ic(opt, "exat") {
            Some(ExpireUnit::ExAt)
        } else if eq_ic(opt, "pxat") {
            Some(ExpireUnit::PxAt)
        } else {
            None
        };
        if eq_ic(opt, "nx") && !xx {
            nx = true;
        } else if eq_ic(opt, "xx") && !nx {
            xx = true;
        } else if eq_ic(opt, "get") {
            get = true;
        } else if eq_ic(opt, "keepttl") && expire.is_none() {
            keepttl = true;
        } else if let (Some(u), true) = (unit, has_next) {
            // Repeating the same unit is accepted (last one wins); mixing units is not.
            if keepttl || expire.is_some_and(|(prev, _)| prev != u) {
                return ctx.syntax_error();
            }
            expire = Some((u, j + 1));
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let when = match expire {
        Some((unit, idx)) => match expire_arg_to_abs_ms(ctx, ctx.arg(idx), unit, "set") {
            Some(ms) => Some((unit, ms)),
            None => return,
        },
        None => None,
    };
    let key = ctx.arg(1);
    if get && !reply_get(ctx, key) {
        return;
    }
    let found = ctx.ks.get_mut(ctx.db, key).is_some();
    if (nx && found) || (xx && !found) {
        if !get {
            ctx.out.null();
        }
        return;
    }
    let value = Value::string(ctx.arg(2));
    ctx.ks.set(ctx.db, key, value, keepttl);
    ctx.ks.changed(ctx.db, key, notify::STRING, "set");
    if let Some((unit, ms)) = when {
        ctx.ks.set_expire(ctx.db, key, ms);
        ctx.ks.notify(notify::GENERIC, "expire", ctx.db, key);
        if unit != ExpireUnit::PxAt {
            ctx.propagate_as(vec![
                Bytes::from_static(b"SET"),
                ctx.argv[1].clone(),
                ctx.argv[2].clone(),
                Bytes::from_static(b"PXAT"),
                int_bytes(ms),
            ]);
        }
    }
    if get && expire.is_none() {
        // Replicas and the AOF get the write without GET, as Redis propagates it.
        let argv = ctx
            .argv
            .iter()
            .enumerate()
            .filter(|(j, a)| *j < 3 || !a.eq_ignore_ascii_case(b"get"))
            .map(|(_, a)| a.clone())
            .collect();
        ctx.propagate_as(argv);
    }
    if !get {
        ctx.out.ok();
    }
}

/// SETNX key value
pub fn setnx(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    if ctx.ks.get_mut(ctx.db, key).is_some() {
        return ctx.out.int(0);
    }
    ctx.ks.set(ctx.db, key, Value::string(ctx.arg(2)), false);
    ctx.ks.changed(ctx.db, key, notify::STRING, "set");
    ctx.out.int(1);
}

fn set_with_expire(ctx: &mut Ctx, unit: ExpireUnit, cmd: &str) {
    let Some(ms) = expire_arg_to_abs_ms(ctx, ctx.arg(2), unit, cmd) else {
        return;
    };
    let key = ctx.arg(1);
    ctx.ks.set(ctx.db, key, Value::string(ctx.arg(3)), false);
    ctx.ks.changed(ctx.db, key, notify::STRING, "set");
    ctx.ks.set_expire(ctx.db, key, ms);
    ctx.ks.notify(notify::GENERIC, "expire", ctx.db, key);
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        ctx.argv[1].clone(),
        ctx.argv[3].clone(),
        Bytes::from_static(b"PXAT"),
        int_bytes(ms),
    ]);
    ctx.out.ok();
}

/// SETEX key seconds value
pub fn setex(ctx: &mut Ctx) {
    set_with_expire(ctx, ExpireUnit::Ex, "setex");
}

/// PSETEX key milliseconds value
pub fn psetex(ctx: &mut Ctx) {
    set_with_expire(ctx, ExpireUnit::Px, "psetex");
}

/// GETSET key value
pub fn getset(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    if !reply_get(ctx, key) {
        return;
    }
    ctx.ks.set(ctx.db, key, Value::string(ctx.arg(2)), false);
    ctx.ks.changed(ctx.db, key, notify::STRING, "set");
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        ctx.argv[1].clone(),
        ctx.argv[2].clone(),
    ]);
}

/// GETDEL key
pub fn getdel(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    if !reply_get(ctx, key) {
        return;
    }
    if ctx.ks.remove(ctx.db, key).is_some() {
        ctx.ks.changed(ctx.db, key, notify::GENERIC, "del");
        ctx.propagate_as(vec![Bytes::from_static(b"DEL"), ctx.argv[1].clone()]);
    }
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]
pub fn getex(ctx: &mut Ctx) {
    let mut expire: Option<(ExpireUnit, usize)> = None;
    let mut persist = false;
    let mut j = 2;
    while j < ctx.argv.len() {
        let opt = ctx.arg(j);
        let has_next = j + 1 < ctx.argv.len();
        let unit = [
            ("ex", ExpireUnit::Ex),
            ("px", ExpireUnit::Px),
            ("exat", ExpireUnit::ExAt),
            ("pxat", ExpireUnit::PxAt),
        ]
        .into_iter()
        .find(|(name, _)| eq_ic(opt, name))
        .map(|(_, u)| u);
        if eq_ic(opt, "persist") && expire.is_none() {
            persist = true;
        } else if let (Some(u), true) = (unit, has_next) {
            if persist || expire.is_some_and(|(prev, _)| prev != u) {
                return ctx.syntax_error();
            }
            expire = Some((u, j + 1));
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let when = match expire {
        Some((unit, idx)) => match expire_arg_to_abs_ms(ctx, ctx.arg(idx), unit, "getex") {
            Some(ms) => Some(ms),
            None => return,
        },
        None => None,
    };
    let key = ctx.arg(1);
    let exists = ctx.ks.peek(ctx.db, key).is_some();
    if !reply_get(ctx, key) || !exists {
        return;
    }
    if let Some(ms) = when {
        if ms <= ctx.now_ms() && ctx.ks.deletes_on_past_deadline() {
            ctx.ks.remove(ctx.db, key);
            ctx.ks.changed(ctx.db, key, notify::GENERIC, "del");
            ctx.propagate_as(vec![Bytes::from_static(b"DEL"), ctx.argv[1].clone()]);
        } else {
            ctx.ks.set_expire(ctx.db, key, ms);
            ctx.ks.changed(ctx.db, key, notify::GENERIC, "expire");
            ctx.propagate_as(vec![
                Bytes::from_static(b"PEXPIREAT"),
                ctx.argv[1].clone(),
                int_bytes(ms),
            ]);
        }
    } else if persist && ctx.ks.persist(ctx.db, key) {
        ctx.ks.changed(ctx.db, key, notify::GENERIC, "persist");
        ctx.propagate_as(vec![Bytes::from_static(b"PERSIST"), ctx.argv[1].clone()]);
    }
}

/// MGET key [key ...]
pub fn mget(ctx: &mut Ctx) {
    ctx.out.array(ctx.argv.len() - 1);
    for i in 1..ctx.argv.len() {
        let key = ctx.arg(i);
        match ctx.ks.get(ctx.db, key) {
            Some(v) if v.is_string() => {
                let b = v.as_bytes().unwrap_or_default();
                ctx.out.bulk(&b);
            }
            _ => ctx.out.null(),
        }
    }
}

fn check_pairs(ctx: &mut Ctx, name: &str) -> bool {
    if ctx.argv.len().is_multiple_of(2) {
        ctx.out.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
        return false;
    }
    true
}

/// MSET key value [key value ...]
pub fn mset(ctx: &mut Ctx) {
    if !check_pairs(ctx, "mset") {
        return;
    }
    for i in (1..ctx.argv.len()).step_by(2) {
        let key = ctx.arg(i);
        ctx.ks
            .set(ctx.db, key, Value::string(ctx.arg(i + 1)), false);
        ctx.ks.changed(ctx.db, key, notify::STRING, "set");
    }
    ctx.out.ok();
}

/// MSETNX key value [key value ...]
pub fn msetnx(ctx: &mut Ctx) {
    if !check_pairs(ctx, "msetnx") {
        return;
    }
    for i in (1..ctx.argv.len()).step_by(2) {
        if ctx.ks.get_mut(ctx.db, ctx.arg(i)).is_some() {
            return ctx.out.int(0);
        }
    }
    for i in (1..ctx.argv.len()).step_by(2) {
        let key = ctx.arg(i);
        ctx.ks
            .set(ctx.db, key, Value::string(ctx.arg(i + 1)), false);
        ctx.ks.changed(ctx.db, key, notify::STRING, "set");
    }
    ctx.out.int(1);
}

/// APPEND key value
pub fn append(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    let add = ctx.arg(2);
    let max = ctx.ks.max_string_len;
    let new_len = match ctx.ks.get_mut(ctx.db, key) {
        None => {
            ctx.ks.set(ctx.db, key, Value::string(add), false);
            add.len()
        }
        Some(v) if v.is_string() => {
            if (v.str_len() + add.len()) as u64 > max {
                return ctx.out.error(TOO_BIG);
            }
            let buf = v.make_raw();
            buf.extend_from_slice(add);
            buf.len()
        }
        Some(_) => return ctx.wrongtype(),
    };
    ctx.ks.changed(ctx.db, key, notify::STRING, "append");
    ctx.out.int(new_len as i64);
}

/// STRLEN key
pub fn strlen(ctx: &mut Ctx) {
    match ctx.ks.get(ctx.db, ctx.arg(1)) {
        None => ctx.out.int(0),
        Some(v) if v.is_string() => {
            let n = v.str_len();
            ctx.out.int(n as i64)
        }
        Some(_) => ctx.wrongtype(),
    }
}

/// GETRANGE key start end (and its old name SUBSTR)
pub fn getrange(ctx: &mut Ctx) {
    let Some(mut start) = ctx.int_arg(2) else {
        return;
    };
    let Some(mut end) = ctx.int_arg(3) else {
        return;
    };
    let key = ctx.arg(1);
    let bytes = match ctx.ks.get(ctx.db, key) {
        None => return ctx.out.bulk(b""),
        Some(v) if v.is_string() => v.as_bytes().unwrap_or_default().into_owned(),
        Some(_) => return ctx.wrongtype(),
    };
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        return ctx.out.bulk(b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return ctx.out.bulk(b"");
    }
    ctx.out.bulk(&bytes[start as usize..=end as usize]);
}

/// SETRANGE key offset value
pub fn setrange(ctx: &mut Ctx) {
    let Some(offset) = ctx.int_arg(2) else { return };
    if offset < 0 {
        return ctx.out.error("ERR offset is out of range");
    }
    let key = ctx.arg(1);
    let patch = ctx.arg(3);
    let max = ctx.ks.max_string_len;
    let fits = (offset as u64)
        .checked_add(patch.len() as u64)
        .is_some_and(|n| n <= max);
    let new_len = match ctx.ks.get_mut(ctx.db, key) {
        None => {
            if patch.is_empty() {
                return ctx.out.int(0);
            }
            if !fits {
                return ctx.out.error(TOO_BIG);
            }
            let mut buf = vec![0u8; offset as usize];
            buf.extend_from_slice(patch);
            let n = buf.len();
            ctx.ks.set(ctx.db, key, Value::raw_buf(buf), false);
            n
        }
        Some(v) if v.is_string() => {
            if patch.is_empty() {
                let n = v.str_len();
                return ctx.out.int(n as i64);
            }
            if !fits {
                return ctx.out.error(TOO_BIG);
            }
            let buf = v.make_raw();
            let end = offset as usize + patch.len();
            if buf.len() < end {
                buf.resize(end, 0);
            }
            buf[offset as usize..end].copy_from_slice(patch);
            buf.len()
        }
        Some(_) => return ctx.wrongtype(),
    };
    ctx.ks.changed(ctx.db, key, notify::STRING, "setrange");
    ctx.out.int(new_len as i64);
}

fn incr_by(ctx: &mut Ctx, delta: i64) {
    let key = ctx.arg(1);
    let current = match ctx.ks.get_mut(ctx.db, key) {
        None => 0,
        Some(Value::Int(n)) => *n,
        Some(v) if v.is_string() => {
            let parsed = v.as_bytes().and_then(|b| parse_i64(&b));
            match parsed {
                Some(n) => n,
                None => return ctx.out.error(NOT_INT),
            }
        }
        Some(_) => return ctx.wrongtype(),
    };
    let Some(new) = current.checked_add(delta) else {
        return ctx.out.error("ERR increment or decrement would overflow");
    };
    match ctx.ks.get_mut(ctx.db, key) {
        Some(v) => *v = Value::Int(new),
        None => {
            ctx.ks.set(ctx.db, key, Value::Int(new), false);
        }
    }
    ctx.ks.changed(ctx.db, key, notify::STRING, "incrby");
    ctx.out.int(new);
}

/// INCR key
pub fn incr(ctx: &mut Ctx) {
    incr_by(ctx, 1);
}

/// DECR key
pub fn decr(ctx: &mut Ctx) {
    incr_by(ctx, -1);
}

/// INCRBY key increment
pub fn incrby(ctx: &mut Ctx) {
    if let Some(d) = ctx.int_arg(2) {
        incr_by(ctx, d);
    }
}

/// DECRBY key decrement
pub fn decrby(ctx: &mut Ctx) {
    let Some(d) = ctx.int_arg(2) else { return };
    if d == i64::MIN {
        return ctx.out.error("ERR decrement would overflow");
    }
    incr_by(ctx, -d);
}

/// INCRBYFLOAT key increment
pub fn incrbyfloat(ctx: &mut Ctx) {
    let key = ctx.arg(1);
    let current = match ctx.ks.get_mut(ctx.db, key) {
        None => None,
        Some(v) if v.is_string() => v.as_bytes().map(|b| b.into_owned()),
        Some(_) => return ctx.wrongtype(),
    };
    let text = match incr_by_float(current.as_deref(), ctx.arg(2)) {
        Ok(t) => t,
        Err(IncrFloatError::NotAFloat) | Err(IncrFloatError::BadIncrement) => {
            return ctx.out.error(super::NOT_FLOAT)
        }
        Err(IncrFloatError::NanOrInfinity) => {
            return ctx.out.error("ERR increment would produce NaN or Infinity")
        }
    };
    let value = Value::string(&text);
    match ctx.ks.get_mut(ctx.db, key) {
        Some(v) => *v = value,
        None => {
            ctx.ks.set(ctx.db, key, value, false);
        }
    }
    ctx.ks.changed(ctx.db, key, notify::STRING, "incrbyfloat");
    ctx.out.bulk(&text);
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        ctx.argv[1].clone(),
        Bytes::from(text),
        Bytes::from_static(b"KEEPTTL"),
    ]);
}
