//! The commands an AOF rewrite writes for one key when the base file is in command format,
//! as Redis 7.0's `rewriteAppendOnlyFileRio` emits them: variadic commands of at most
//! [`ITEMS_PER_CMD`] items for collections, the XADD/XSETID/XGROUP/XCLAIM sequence for
//! streams, and a trailing PEXPIREAT for keys with a TTL.

use crate::types::list::Elem;
use crate::types::set::Member;
use crate::types::stream::{Stream, StreamId};
use crate::value::Value;

/// Items per variadic command (Redis's `AOF_REWRITE_ITEMS_PER_CMD`): bounds the size of any
/// one command, so loading never needs a huge argv.
pub const ITEMS_PER_CMD: usize = 64;

/// Appends to `out`, RESP-encoded (`*N\r\n$len\r\n...\r\n`), the commands that rebuild `key` holding `value`, then PEXPIREAT when `expire_ms` is set.
pub fn rewrite_commands(key: &[u8], value: &Value, expire_ms: Option<i64>, out: &mut Vec<u8>) {
    match value {
        Value::Int(n) => {
            header(out, 3);
            bulk(out, b"SET");
            bulk(out, key);
            bulk_int(out, *n);
        }
        Value::Emb(b) => set_command(out, key, b),
        Value::Raw(b) => set_command(out, key, b),
        Value::RawBuf(b) => set_command(out, key, b),
        Value::List(list) => {
            let mut batch = Batch::new(out, b"RPUSH", key, 1, list.len());
            for elem in list.iter() {
                let out = batch.item();
                match elem {
                    Elem::Int(n) => bulk_int(out, n),
                    Elem::Str(s) => bulk(out, s),
                }
            }
            batch.finish();
        }
        Value::Set(set) => {
            let mut batch = Batch::new(out, b"SADD", key, 1, set.len());
            for member in set.iter() {
                let out = batch.item();
                match member {
                    Member::Int(n) => bulk_int(out, n),
                    Member::Str(s) => bulk(out, s),
                }
            }
            batch.finish();
        }
        Value::ZSet(zset) => {
            // Redis walks the skiplist's dict in hash order; score order rebuilds the same set
            // and lets each ZADD insert at the tail.
            let mut batch = Batch::new(out, b"ZADD", key, 2, zset.len());
            for (member, score) in zset.iter() {
                let out = batch.item();
                // `%.17g`, as Redis 7.0's rioWriteBulkDouble: 17 digits parse back to the same bits.
                bulk(out, resp::format_double(score).as_bytes());
                bulk(out, member);
            }
            batch.finish();
        }
        Value::Hash(hash) => {
            let mut batch = Batch::new(out, b"HMSET", key, 2, hash.len());
            for (field, val) in hash.iter() {
                let out = batch.item();
                bulk(out, field);
                bulk(out, val);
            }
            batch.finish();
        }
        Value::Stream(stream) => rewrite_stream(key, stream, out),
    }
    if let Some(when) = expire_ms {
        header(out, 3);
        bulk(out, b"PEXPIREAT");
        bulk(out, key);
        bulk_int(out, when);
    }
}

fn set_command(out: &mut Vec<u8>, key: &[u8], val: &[u8]) {
    header(out, 3);
    bulk(out, b"SET");
    bulk(out, key);
    bulk(out, val);
}

/// Redis's `rewriteStreamObject`.
fn rewrite_stream(key: &[u8], s: &Stream, out: &mut Vec<u8>) {
    let e = &s.entries;
    if e.length > 0 {
        // No MAXLEN on these XADDs: the loading server cuts nodes by its own configuration.
        for entry in e.iter() {
            header(out, 3 + 2 * entry.pair_count());
            bulk(out, b"XADD");
            bulk(out, key);
            bulk_id(out, entry.id);
            for (field, val) in entry.pairs() {
                bulk(out, field);
                bulk(out, val);
            }
        }
    } else {
        // A stream can exist with no entries; there is no command that creates one directly
        // (MKSTREAM needs a group), so add a dummy entry and trim it away at once.
        header(out, 7);
        for arg in [&b"XADD"[..], key, b"MAXLEN", b"0", b"0-1", b"x", b"y"] {
            bulk(out, arg);
        }
    }
    // The XADDs (or the dummy) leave the counters wrong whenever entries were deleted or
    // trimmed; XSETID restores all three.
    header(out, 7);
    bulk(out, b"XSETID");
    bulk(out, key);
    bulk_id(out, e.last_id);
    bulk(out, b"ENTRIESADDED");
    bulk_int(out, e.entries_added);
    bulk(out, b"MAXDELETEDID");
    bulk_id(out, e.max_deleted_id);

    for (name, group) in &s.groups {
        header(out, 7);
        bulk(out, b"XGROUP");
        bulk(out, b"CREATE");
        bulk(out, key);
        bulk(out, name);
        bulk_id(out, group.last_id);
        bulk(out, b"ENTRIESREAD");
        // -1 is Redis's "unknown" (SCG_INVALID_ENTRIES_READ), which XGROUP CREATE accepts.
        bulk_int(out, group.entries_read.unwrap_or(-1));
        for (consumer, c) in &group.consumers {
            if c.pending.is_empty() {
                // XCLAIM is what creates the other consumers; this one has nothing to claim.
                header(out, 5);
                bulk(out, b"XGROUP");
                bulk(out, b"CREATECONSUMER");
                bulk(out, key);
                bulk(out, name);
                bulk(out, consumer);
                continue;
            }
            for id in &c.pending {
                let Some(nack) = group.pending.get(id) else {
                    continue;
                };
                // Min-idle 0 and FORCE claim whether or not the entry is pending yet; JUSTID
                // keeps the delivery count at RETRYCOUNT instead of adding one; TIME keeps the
                // delivery time. (XCLAIM drops, rather than claims, an entry no longer in the
                // stream, so such pending entries do not survive a rewrite, as in Redis.)
                header(out, 12);
                bulk(out, b"XCLAIM");
                bulk(out, key);
                bulk(out, name);
                bulk(out, consumer);
                bulk(out, b"0");
                bulk_id(out, *id);
                bulk(out, b"TIME");
                bulk_int(out, nack.delivery_time);
                bulk(out, b"RETRYCOUNT");
                bulk_int(out, nack.delivery_count as i64);
                bulk(out, b"JUSTID");
                bulk(out, b"FORCE");
            }
        }
    }
}

/// Splits a collection's items into variadic commands of at most [`ITEMS_PER_CMD`] items,
/// announcing each command's exact argument count before its items are written.
struct Batch<'a> {
    out: &'a mut Vec<u8>,
    name: &'static [u8],
    key: &'a [u8],
    args_per_item: usize,
    remaining: usize,
    in_cmd: usize,
}

impl<'a> Batch<'a> {
    fn new(
        out: &'a mut Vec<u8>,
        name: &'static [u8],
        key: &'a [u8],
        args_per_item: usize,
        items: usize,
    ) -> Self {
        Batch {
            out,
            name,
            key,
            args_per_item,
            remaining: items,
            in_cmd: 0,
        }
    }

    /// Starts the next item (and, when due, the next command); the caller writes its
    /// `args_per_item` bulks to the returned buffer.
    fn item(&mut self) -> &mut Vec<u8> {
        assert!(
            self.remaining > 0,
            "more items than the collection's length"
        );
        if self.in_cmd == 0 {
            let items = self.remaining.min(ITEMS_PER_CMD);
            header(self.out, 2 + items * self.args_per_item);
            bulk(self.out, self.name);
            bulk(self.out, self.key);
        }
        self.in_cmd += 1;
        if self.in_cmd == ITEMS_PER_CMD {
            self.in_cmd = 0;
        }
        self.remaining -= 1;
        self.out
    }

    /// Checks the headers written match the items that followed.
    fn finish(self) {
        assert_eq!(
            self.remaining, 0,
            "fewer items than the collection's length"
        );
    }
}

fn header(out: &mut Vec<u8>, args: usize) {
    out.push(b'*');
    put_u64(out, args as u64);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'$');
    put_u64(out, data.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn bulk_int(out: &mut Vec<u8>, n: i64) {
    let mut text = Vec::with_capacity(20);
    if n < 0 {
        text.push(b'-');
    }
    put_u64(&mut text, n.unsigned_abs());
    bulk(out, &text);
}

fn bulk_id(out: &mut Vec<u8>, id: StreamId) {
    let mut text = Vec::with_capacity(41);
    put_u64(&mut text, id.ms);
    text.push(b'-');
    put_u64(&mut text, id.seq);
    bulk(out, &text);
}

/// Decimal digits of `n`, without going through `fmt` (a rewrite formats millions of these).
fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{self, Ctx};
    use crate::keyspace::Keyspace;
    use crate::types::stream::ConsumerGroup;
    use bytes::Bytes;
    use resp::{parse_frame, Frame, Out, Protocol};
    use std::collections::BTreeMap;

    type Argv = Vec<Vec<u8>>;

    fn keyspace(now: i64) -> Keyspace {
        let mut ks = Keyspace::new(16);
        ks.now_ms = now;
        ks
    }

    /// The store's own command function for `argv`, as the server's table would pick it.
    fn command_fn(argv: &[Bytes]) -> fn(&mut Ctx) {
        use cmd::{dump, expire, hash, list, set, stream, string, zset};
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_uppercase();
        match name.as_str() {
            "SET" => string::set,
            "GET" => string::get,
            "APPEND" => string::append,
            "INCR" => string::incr,
            "RPUSH" => list::rpush,
            "LPUSH" => list::lpush,
            "LINSERT" => list::linsert,
            "LREM" => list::lrem,
            "LRANGE" => list::lrange,
            "SADD" => set::sadd,
            "SREM" => set::srem,
            "ZADD" => zset::zadd,
            "ZINCRBY" => zset::zincrby,
            "ZREM" => zset::zrem,
            "HSET" => hash::hset,
            "HMSET" => hash::hmset,
            "HDEL" => hash::hdel,
            "XADD" => stream::xadd,
            "XDEL" => stream::xdel,
            "XTRIM" => stream::xtrim,
            "XSETID" => stream::xsetid,
            "XREADGROUP" => stream::xreadgroup,
            "XACK" => stream::xack,
            "XCLAIM" => stream::xclaim,
            "XRANGE" => stream::xrange,
            // Every XGROUP subcommand function routes on argv[1].
            "XGROUP" => stream::xgroup_create,
            "XINFO" => stream::xinfo_stream,
            "PEXPIREAT" => expire::pexpireat,
            "PEXPIRE" => expire::pexpire,
            "DUMP" => dump::dump,
            other => panic!("no command {other} in this test"),
        }
    }

    fn exec(ks: &mut Keyspace, argv: &[Bytes]) -> Vec<u8> {
        let mut out = Out::new(Protocol::Resp2);
        let mut ctx = Ctx::new(ks, 0, &mut out, argv);
        command_fn(argv)(&mut ctx);
        out.buf
    }

    /// Runs a command that must succeed; returns its reply.
    fn run_bin(ks: &mut Keyspace, args: &[&[u8]]) -> Vec<u8> {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let reply = exec(ks, &argv);
        assert!(
            !reply.starts_with(b"-"),
            "{:?} failed: {}",
            String::from_utf8_lossy(&args.concat()),
            String::from_utf8_lossy(&reply)
        );
        reply
    }

    fn run(ks: &mut Keyspace, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        run_bin(ks, &args)
    }

    /// The rewrite of `key` as it stands in `ks`'s database 0.
    fn rewrite(ks: &Keyspace, key: &[u8]) -> Vec<u8> {
        let value = &ks.entry(0, key).expect("key exists").value;
        let mut out = Vec::new();
        rewrite_commands(key, value, ks.expire_of(0, key), &mut out);
        out
    }

    /// Parses a buffer of RESP requests, insisting every one is an array of bulk strings whose
    /// declared lengths hold and that nothing is left over.
    fn parse(mut buf: &[u8]) -> Vec<Argv> {
        let mut cmds = Vec::new();
        while !buf.is_empty() {
            let (frame, used) = parse_frame(buf)
                .expect("well-formed RESP")
                .expect("complete command");
            let Frame::Array(items) = frame else {
                panic!("not an array: {frame:?}");
            };
            cmds.push(
                items
                    .into_iter()
                    .map(|f| match f {
                        Frame::Bulk(b) => b,
                        other => panic!("not a bulk string: {other:?}"),
                    })
                    .collect(),
            );
            buf = &buf[used..];
        }
        cmds
    }

    /// Runs `cmds` on a fresh keyspace whose clock reads `now`; every command must succeed.
    fn replay(cmds: &[Argv], now: i64) -> Keyspace {
        let mut ks = keyspace(now);
        for c in cmds {
            let args: Vec<&[u8]> = c.iter().map(|a| &a[..]).collect();
            run_bin(&mut ks, &args);
        }
        ks
    }

    /// Rewrites `key`, replays the commands on a fresh keyspace and returns both.
    fn round_trip(ks: &Keyspace, key: &[u8]) -> (Vec<Argv>, Keyspace) {
        let cmds = parse(&rewrite(ks, key));
        let rebuilt = replay(&cmds, ks.now_ms);
        (cmds, rebuilt)
    }

    /// Each command's name and argument count, to see how items were batched.
    fn shapes(cmds: &[Argv]) -> Vec<(String, usize)> {
        cmds.iter()
            .map(|c| (String::from_utf8_lossy(&c[0]).into_owned(), c.len()))
            .collect()
    }

    fn args(list: &[&str]) -> Argv {
        list.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    fn value(ks: &Keyspace, key: &[u8]) -> Value {
        ks.entry(0, key).expect("key exists").value.clone()
    }

    fn dump(ks: &mut Keyspace, key: &[u8]) -> Vec<u8> {
        run_bin(ks, &[b"DUMP", key])
    }

    /// The rebuilt value is the original: same contents (list, set, hash and zset equality
    /// is by contents), same encoding, same TTL.
    fn assert_rebuilt(ks: &Keyspace, rebuilt: &Keyspace, key: &[u8]) {
        let (a, b) = (value(ks, key), value(rebuilt, key));
        assert_eq!(a, b, "value of {:?}", String::from_utf8_lossy(key));
        assert_eq!(a.encoding(), b.encoding());
        assert_eq!(ks.expire_of(0, key), rebuilt.expire_of(0, key));
        assert_eq!(rebuilt.dbs[0].len(), 1, "only the key itself");
    }

    /// Sizes to batch: below, at and across the 64-item boundary.
    fn batch_shapes(name: &str, per_item: usize, items: usize) -> Vec<(String, usize)> {
        let mut v = Vec::new();
        let mut left = items;
        while left > 0 {
            let n = left.min(64);
            v.push((name.to_string(), 2 + n * per_item));
            left -= n;
        }
        v
    }

    #[test]
    fn strings_rewrite_as_set() {
        let mut ks = keyspace(1000);
        let cases: Vec<(&[u8], &[u8])> = vec![
            (b"empty", b""),
            (b"bin", b"\x00\r\n\xff$*\r\n"),
            (b"int", b"123"),
            (b"neg", b"-9223372036854775808"),
            (b"max", b"9223372036854775807"),
            (b"toobig", b"9223372036854775808"),
            (b"lead0", b"0123"),
            (b"float", b"1.5"),
            (b"k\x00\r\n", b"binary key"),
            (b"long", &[b'x'; 100]),
        ];
        for (k, v) in &cases {
            run_bin(&mut ks, &[b"SET", k, v]);
        }
        run(&mut ks, &["SET", "counter", "41"]);
        run(&mut ks, &["INCR", "counter"]);
        run(&mut ks, &["SET", "appended", "a"]);
        run(&mut ks, &["APPEND", "appended", "b"]);
        assert_eq!(
            rewrite(&ks, b"int"),
            b"*3\r\n$3\r\nSET\r\n$3\r\nint\r\n$3\r\n123\r\n"
        );
        assert_eq!(
            rewrite(&ks, b"empty"),
            b"*3\r\n$3\r\nSET\r\n$5\r\nempty\r\n$0\r\n\r\n"
        );
        let keys: Vec<&[u8]> = cases
            .iter()
            .map(|(k, _)| *k)
            .chain([&b"counter"[..], b"appended"])
            .collect();
        for key in keys {
            let (cmds, mut rebuilt) = round_trip(&ks, key);
            assert_eq!(shapes(&cmds), vec![("SET".to_string(), 3)]);
            let (a, b) = (value(&ks, key), value(&rebuilt, key));
            assert_eq!(a.as_bytes(), b.as_bytes());
            if key == b"appended" {
                // SET makes a short string embstr again, as it does after a Redis rewrite.
                assert_eq!((a.encoding(), b.encoding()), ("raw", "embstr"));
            } else {
                assert_eq!(a, b);
            }
            assert_eq!(dump(&mut ks, key), dump(&mut rebuilt, key));
        }
        assert_eq!(value(&ks, b"counter"), Value::Int(42));
    }

    #[test]
    fn lists_rpush_in_batches_of_64() {
        for n in [1, 63, 64, 65, 128, 129, 200] {
            let mut ks = keyspace(1000);
            for i in 0..n {
                let item = match i % 4 {
                    0 => i.to_string(),
                    1 => format!("-{i}"),
                    2 => format!("item:{i}"),
                    _ => String::new(),
                };
                run(&mut ks, &["RPUSH", "l", &item]);
            }
            let (cmds, mut rebuilt) = round_trip(&ks, b"l");
            assert_eq!(shapes(&cmds), batch_shapes("RPUSH", 1, n), "{n} items");
            assert!(cmds.iter().all(|c| c[1] == b"l"));
            assert_rebuilt(&ks, &rebuilt, b"l");
            assert_eq!(dump(&mut ks, b"l"), dump(&mut rebuilt, b"l"));
        }
        // A list shaped by inserts at both ends and in the middle comes back in order.
        let mut ks = keyspace(1000);
        for i in 0..150 {
            let v = i.to_string();
            run(
                &mut ks,
                &[if i % 2 == 0 { "RPUSH" } else { "LPUSH" }, "l", &v],
            );
        }
        run(&mut ks, &["LINSERT", "l", "BEFORE", "10", "\u{0}bin\r\n"]);
        run(
            &mut ks,
            &["LINSERT", "l", "AFTER", "10", "9223372036854775807"],
        );
        run(
            &mut ks,
            &["LINSERT", "l", "AFTER", "11", "-9223372036854775808"],
        );
        run(&mut ks, &["LREM", "l", "0", "20"]);
        let (cmds, rebuilt) = round_trip(&ks, b"l");
        assert_eq!(shapes(&cmds), batch_shapes("RPUSH", 1, 152));
        assert_rebuilt(&ks, &rebuilt, b"l");
        let mut a = ks;
        let mut b = rebuilt;
        assert_eq!(
            run(&mut a, &["LRANGE", "l", "0", "-1"]),
            run(&mut b, &["LRANGE", "l", "0", "-1"])
        );
    }

    #[test]
    fn sets_sadd_in_batches_of_64() {
        let mut ks = keyspace(1000);
        // An intset, written from its integers.
        for i in 0..100 {
            run(&mut ks, &["SADD", "ints", &(i * 7 - 300).to_string()]);
        }
        run(&mut ks, &["SADD", "ints", "-9223372036854775808"]);
        // A hash table with strings, binary members and integers mixed.
        for i in 0..150 {
            let m = match i % 3 {
                0 => i.to_string(),
                1 => format!("m{i}\r\n\u{0}"),
                _ => format!("{i:04}"),
            };
            run(&mut ks, &["SADD", "table", &m]);
        }
        run(&mut ks, &["SADD", "table", ""]);
        run(&mut ks, &["SREM", "table", "3"]);
        for (key, n, enc) in [(&b"ints"[..], 101, "intset"), (b"table", 150, "hashtable")] {
            assert_eq!(value(&ks, key).encoding(), enc);
            let (cmds, rebuilt) = round_trip(&ks, key);
            assert_eq!(shapes(&cmds), batch_shapes("SADD", 1, n));
            assert_rebuilt(&ks, &rebuilt, key);
        }
        let (_, mut rebuilt) = round_trip(&ks, b"ints");
        assert_eq!(dump(&mut ks, b"ints"), dump(&mut rebuilt, b"ints"));
    }

    #[test]
    fn zsets_keep_every_score_bit() {
        let mut ks = keyspace(1000);
        let scores = [
            "inf",
            "-inf",
            "-1.5",
            "0",
            "-0",
            "4.9406564584124654e-324",
            "1e-300",
            "0.1",
            "1.7976931348623157e308",
            "-123456789012345678901234567890",
            "3",
        ];
        for (i, s) in scores.iter().enumerate() {
            run(&mut ks, &["ZADD", "small", s, &format!("m{i}")]);
        }
        // 0.1 + 0.2 is not 0.3: only 17 significant digits bring it back.
        run(&mut ks, &["ZADD", "small", "0.1", "sum"]);
        run(&mut ks, &["ZINCRBY", "small", "0.2", "sum"]);
        run_bin(&mut ks, &[b"ZADD", b"small", b"2", b"\x00bin\r\n"]);
        assert_eq!(value(&ks, b"small").encoding(), "listpack");

        for i in 0..200 {
            let score = format!("{}", (i as f64) / 3.0 - 30.0);
            run(&mut ks, &["ZADD", "big", &score, &format!("member:{i}")]);
        }
        run(&mut ks, &["ZADD", "big", "-inf", "low"]);
        run(&mut ks, &["ZADD", "big", "inf", "high"]);
        run(&mut ks, &["ZADD", "big", "1e-310", "tiny"]);
        run(&mut ks, &["ZADD", "big", "-0", "negzero"]);
        run(&mut ks, &["ZREM", "big", "member:5"]);
        assert_eq!(value(&ks, b"big").encoding(), "skiplist");

        let cmds = parse(&rewrite(&ks, b"small"));
        let texts: Vec<&[u8]> = cmds[0][2..].chunks(2).map(|p| &p[0][..]).collect();
        assert_eq!(texts[0], b"-inf");
        assert_eq!(texts[texts.len() - 1], b"inf");
        assert!(texts.contains(&&b"0.10000000000000001"[..]), "%.17g");
        assert!(texts.contains(&&b"0.30000000000000004"[..]));
        let cmds = parse(&rewrite(&ks, b"big"));
        let negzero = cmds
            .iter()
            .flat_map(|c| c[2..].chunks(2))
            .find(|p| p[1] == b"negzero")
            .expect("written");
        assert_eq!(negzero[0], b"-0", "the sign of zero is kept");
        // The rebuilt set starts as a listpack, and this crate's zset listpack stores -0 as the
        // integer 0 (Redis keeps the string "-0"), so -0 cannot survive the round trip yet.
        run(&mut ks, &["ZREM", "big", "negzero"]);

        for (key, n) in [(&b"small"[..], 13), (b"big", 202)] {
            let (cmds, mut rebuilt) = round_trip(&ks, key);
            assert_eq!(shapes(&cmds), batch_shapes("ZADD", 2, n));
            assert_rebuilt(&ks, &rebuilt, key);
            let (Value::ZSet(a), Value::ZSet(b)) = (value(&ks, key), value(&rebuilt, key)) else {
                panic!("zsets");
            };
            for ((ma, sa), (mb, sb)) in a.iter().zip(b.iter()) {
                assert_eq!(ma, mb);
                assert_eq!(sa.to_bits(), sb.to_bits(), "score of {ma:?}");
            }
            assert_eq!(dump(&mut ks, key), dump(&mut rebuilt, key));
        }
    }

    #[test]
    fn hashes_hmset_in_batches_of_64() {
        let mut ks = keyspace(1000);
        run(
            &mut ks,
            &["HSET", "small", "a", "1", "b", "", "", "empty field"],
        );
        run_bin(
            &mut ks,
            &[b"HSET", b"small", b"\x00\r\n", b"\xff\xfe", b"n", b"-42"],
        );
        run(&mut ks, &["HDEL", "small", "a"]);
        assert_eq!(value(&ks, b"small").encoding(), "listpack");
        for i in 0..600 {
            run(
                &mut ks,
                &[
                    "HSET",
                    "big",
                    &format!("field:{i}"),
                    &(i * 1000).to_string(),
                ],
            );
        }
        run(&mut ks, &["HDEL", "big", "field:7"]);
        assert_eq!(value(&ks, b"big").encoding(), "hashtable");
        for (key, n) in [(&b"small"[..], 4), (b"big", 599)] {
            let (cmds, rebuilt) = round_trip(&ks, key);
            assert_eq!(shapes(&cmds), batch_shapes("HMSET", 2, n));
            assert_rebuilt(&ks, &rebuilt, key);
        }
        let (_, mut rebuilt) = round_trip(&ks, b"small");
        assert_eq!(dump(&mut ks, b"small"), dump(&mut rebuilt, b"small"));
    }

    #[test]
    fn expiry_is_written_last_as_pexpireat() {
        let mut ks = keyspace(1000);
        run(&mut ks, &["SET", "s", "v"]);
        run(&mut ks, &["RPUSH", "l", "a"]);
        run(&mut ks, &["SADD", "set", "a"]);
        run(&mut ks, &["ZADD", "z", "1", "a"]);
        run(&mut ks, &["HSET", "h", "f", "v"]);
        run(&mut ks, &["XADD", "x", "1-1", "f", "v"]);
        run(&mut ks, &["SET", "forever", "v"]);
        for key in ["s", "l", "set", "z", "h", "x"] {
            run(&mut ks, &["PEXPIREAT", key, "1700000000123"]);
            let (cmds, rebuilt) = round_trip(&ks, key.as_bytes());
            assert_eq!(
                cmds.last().unwrap(),
                &args(&["PEXPIREAT", key, "1700000000123"])
            );
            assert_eq!(
                cmds.iter().filter(|c| c[0] == b"PEXPIREAT").count(),
                1,
                "only once"
            );
            assert_eq!(rebuilt.expire_of(0, key.as_bytes()), Some(1700000000123));
            assert_rebuilt(&ks, &rebuilt, key.as_bytes());
        }
        let cmds = parse(&rewrite(&ks, b"forever"));
        assert_eq!(cmds, vec![args(&["SET", "forever", "v"])]);
    }

    /// A stream as its readers see it: XINFO STREAM FULL, minus what a rewrite cannot keep
    /// (Redis neither): how nodes are cut (the rebuilt stream has no tombstones) and when
    /// consumers were last seen (recreating one sets it to the load time).
    fn xinfo_full(ks: &mut Keyspace, key: &str) -> Frame {
        let reply = run(ks, &["XINFO", "STREAM", key, "FULL", "COUNT", "0"]);
        let (mut frame, used) = parse_frame(&reply).unwrap().unwrap();
        assert_eq!(used, reply.len());
        fn scrub(f: &mut Frame) {
            if let Frame::Array(items) = f {
                for i in 0..items.len() {
                    let blank = matches!(&items[i], Frame::Bulk(b)
                        if [&b"radix-tree-keys"[..], b"radix-tree-nodes", b"seen-time"]
                            .contains(&&b[..]));
                    if blank && i + 1 < items.len() {
                        items[i + 1] = Frame::Null;
                    }
                }
                items.iter_mut().for_each(scrub);
            }
        }
        scrub(&mut frame);
        frame
    }

    type Groups = BTreeMap<Box<[u8]>, ConsumerGroup>;

    /// The stream's counters, its entries as text, and its groups with the consumers' seen
    /// times zeroed.
    fn stream_state(ks: &Keyspace, key: &str) -> (String, Vec<String>, Groups) {
        let Value::Stream(s) = value(ks, key.as_bytes()) else {
            panic!("a stream");
        };
        let e = &s.entries;
        let counters = format!(
            "length={} last={} first={} maxdel={} added={}",
            e.length, e.last_id, e.first_id, e.max_deleted_id, e.entries_added
        );
        let entries = e
            .iter()
            .map(|entry| {
                let pairs: Vec<String> = entry
                    .pairs()
                    .map(|(f, v)| {
                        format!(
                            "{}={}",
                            String::from_utf8_lossy(f),
                            String::from_utf8_lossy(v)
                        )
                    })
                    .collect();
                format!("{} {}", entry.id, pairs.join(" "))
            })
            .collect();
        let mut groups = s.groups.clone();
        for g in groups.values_mut() {
            for c in g.consumers.values_mut() {
                c.seen_time = 0;
            }
        }
        (counters, entries, groups)
    }

    fn assert_stream_rebuilt(ks: &mut Keyspace, rebuilt: &mut Keyspace, key: &str) {
        let (counters, entries, groups) = stream_state(ks, key);
        let (counters2, entries2, groups2) = stream_state(rebuilt, key);
        assert_eq!(counters, counters2);
        assert_eq!(entries.len(), entries2.len());
        for (a, b) in entries.iter().zip(&entries2) {
            assert_eq!(a, b);
        }
        assert_eq!(
            groups.keys().collect::<Vec<_>>(),
            groups2.keys().collect::<Vec<_>>()
        );
        for (name, g) in &groups {
            let g2 = &groups2[name];
            let name = String::from_utf8_lossy(name);
            assert_eq!(g.last_id, g2.last_id, "group {name}");
            assert_eq!(g.entries_read, g2.entries_read, "group {name}");
            assert_eq!(g.pending, g2.pending, "group {name}");
            assert_eq!(g.consumers, g2.consumers, "group {name}");
        }
        assert_eq!(xinfo_full(ks, key), xinfo_full(rebuilt, key));
        assert_eq!(
            ks.expire_of(0, key.as_bytes()),
            rebuilt.expire_of(0, key.as_bytes())
        );
    }

    #[test]
    fn stream_commands_match_redis() {
        let mut ks = keyspace(1000);
        run(&mut ks, &["XADD", "s", "1-1", "a", "1"]);
        run(&mut ks, &["XADD", "s", "2-0", "b", "2", "c", "3"]);
        run(&mut ks, &["XADD", "s", "3-0", "a", "4"]);
        run(&mut ks, &["XDEL", "s", "3-0"]);
        run(&mut ks, &["XGROUP", "CREATE", "s", "g1", "0"]);
        run(
            &mut ks,
            &["XGROUP", "CREATE", "s", "g0", "2-0", "ENTRIESREAD", "2"],
        );
        run(
            &mut ks,
            &[
                "XREADGROUP",
                "GROUP",
                "g1",
                "alice",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
        );
        ks.now_ms = 1500;
        run(
            &mut ks,
            &[
                "XREADGROUP",
                "GROUP",
                "g1",
                "carol",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
        );
        run(
            &mut ks,
            &["XCLAIM", "s", "g1", "carol", "0", "2-0", "RETRYCOUNT", "4"],
        );
        run(&mut ks, &["XGROUP", "CREATECONSUMER", "s", "g1", "bob"]);
        let cmds = parse(&rewrite(&ks, b"s"));
        let expected: Vec<Argv> = [
            &["XADD", "s", "1-1", "a", "1"][..],
            &["XADD", "s", "2-0", "b", "2", "c", "3"],
            // The deleted 3-0 was the last ID: only XSETID brings it (and its count) back.
            &[
                "XSETID",
                "s",
                "3-0",
                "ENTRIESADDED",
                "3",
                "MAXDELETEDID",
                "3-0",
            ],
            &["XGROUP", "CREATE", "s", "g0", "2-0", "ENTRIESREAD", "2"],
            // Read after a deletion left a tombstone: the group's count is unknown.
            &["XGROUP", "CREATE", "s", "g1", "2-0", "ENTRIESREAD", "-1"],
            &[
                "XCLAIM",
                "s",
                "g1",
                "alice",
                "0",
                "1-1",
                "TIME",
                "1000",
                "RETRYCOUNT",
                "1",
                "JUSTID",
                "FORCE",
            ],
            &["XGROUP", "CREATECONSUMER", "s", "g1", "bob"],
            &[
                "XCLAIM",
                "s",
                "g1",
                "carol",
                "0",
                "2-0",
                "TIME",
                "1500",
                "RETRYCOUNT",
                "4",
                "JUSTID",
                "FORCE",
            ],
        ]
        .iter()
        .map(|c| args(c))
        .collect();
        assert_eq!(cmds, expected);
        // Loaded later, the delivery times and counts are still the original ones.
        let mut rebuilt = replay(&cmds, 9000);
        assert_stream_rebuilt(&mut ks, &mut rebuilt, "s");
    }

    #[test]
    fn streams_round_trip_with_groups_and_deletions() {
        let mut ks = keyspace(1000);
        for i in 1..=300u32 {
            let id = format!("{}-{}", 1000 + i / 7, i % 7);
            let fields: Vec<String> = match i % 5 {
                0 => vec!["a".into(), i.to_string()],
                1 => vec![
                    "a".into(),
                    i.to_string(),
                    "b".into(),
                    "x".repeat(i as usize % 40),
                ],
                2 => vec!["other".into(), "\u{0}\r\n".into()],
                3 => vec!["a".into(), "".into()],
                _ => vec![
                    "n".into(),
                    (-(i as i64)).to_string(),
                    "a".into(),
                    "1".into(),
                ],
            };
            let mut argv = vec!["XADD", "s", &id];
            argv.extend(fields.iter().map(|s| s.as_str()));
            run(&mut ks, &argv);
        }
        // Groups first, so deleting entries leaves tombstones after their positions.
        run(&mut ks, &["XGROUP", "CREATE", "s", "readers", "0"]);
        run(&mut ks, &["XGROUP", "CREATE", "s", "late", "$"]);
        run(
            &mut ks,
            &[
                "XGROUP",
                "CREATE",
                "s",
                "mid",
                "1020-3",
                "ENTRIESREAD",
                "143",
            ],
        );
        run(&mut ks, &["XGROUP", "CREATE", "s", "unknown", "1030-0"]);
        for (t, consumer, count) in [
            (2000, "c1", "5"),
            (2100, "c2", "7"),
            (2200, "c1", "3"),
            (2300, "c3", "4"),
        ] {
            ks.now_ms = t;
            run(
                &mut ks,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "readers",
                    consumer,
                    "COUNT",
                    count,
                    "STREAMS",
                    "s",
                    ">",
                ],
            );
        }
        ks.now_ms = 2400;
        run(
            &mut ks,
            &[
                "XREADGROUP",
                "GROUP",
                "mid",
                "m1",
                "COUNT",
                "10",
                "STREAMS",
                "s",
                ">",
            ],
        );
        run(&mut ks, &["XACK", "s", "readers", "1000-2", "1000-4"]);
        ks.now_ms = 3000;
        run(
            &mut ks,
            &[
                "XCLAIM",
                "s",
                "readers",
                "c2",
                "0",
                "1000-1",
                "1000-3",
                "RETRYCOUNT",
                "9",
            ],
        );
        run(
            &mut ks,
            &[
                "XCLAIM", "s", "readers", "c3", "100", "1001-0", "IDLE", "500",
            ],
        );
        run(&mut ks, &["XCLAIM", "s", "readers", "c3", "0", "1001-0"]);
        run(
            &mut ks,
            &["XGROUP", "CREATECONSUMER", "s", "readers", "idle"],
        );
        run(
            &mut ks,
            &["XGROUP", "CREATECONSUMER", "s", "late", "nobody"],
        );
        // Deletions away from any pending entry: the first, some middle ones, the last.
        run(&mut ks, &["XDEL", "s", "1000-1"]);
        run(&mut ks, &["XACK", "s", "readers", "1000-1"]);
        run(
            &mut ks,
            &[
                "XDEL", "s", "1010-0", "1010-1", "1025-4", "1030-5", "1042-6",
            ],
        );
        run(&mut ks, &["XTRIM", "s", "MINID", "1000-1"]);
        ks.now_ms = 4000;
        let (cmds, mut rebuilt) = round_trip(&ks, b"s");
        let shapes = shapes(&cmds);
        assert_eq!(shapes.iter().filter(|(n, _)| n == "XADD").count(), 294);
        assert_eq!(shapes.iter().filter(|(n, _)| n == "XSETID").count(), 1);
        assert_eq!(shapes.iter().filter(|(n, _)| n == "XCLAIM").count(), 26);
        assert_eq!(
            cmds.iter()
                .filter(|c| c[0] == b"XGROUP" && c[1] == b"CREATECONSUMER")
                .count(),
            2
        );
        let Value::Stream(s) = value(&ks, b"s") else {
            panic!("stream")
        };
        assert_eq!(s.entries.last_id, StreamId::new(1042, 6));
        assert_eq!(s.entries.max_deleted_id, StreamId::new(1042, 6));
        assert!(s.groups[&b"unknown"[..]].entries_read.is_none());
        assert!(s.groups[&b"readers"[..]]
            .pending
            .values()
            .any(|p| p.delivery_count == 9));
        assert_stream_rebuilt(&mut ks, &mut rebuilt, "s");
    }

    #[test]
    fn empty_streams_keep_their_counters() {
        let mut ks = keyspace(1000);
        // Every entry deleted, with a group that had read them.
        run(&mut ks, &["XADD", "deleted", "5-1", "a", "1"]);
        run(&mut ks, &["XADD", "deleted", "7-0", "a", "2"]);
        run(&mut ks, &["XGROUP", "CREATE", "deleted", "g", "0"]);
        run(
            &mut ks,
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "deleted", ">"],
        );
        run(&mut ks, &["XACK", "deleted", "g", "5-1", "7-0"]);
        run(&mut ks, &["XDEL", "deleted", "5-1", "7-0"]);
        // Trimmed to nothing.
        run(&mut ks, &["XADD", "trimmed", "3-0", "a", "1"]);
        run(&mut ks, &["XTRIM", "trimmed", "MAXLEN", "0"]);
        // Made by MKSTREAM: never had an entry, last ID 0-0.
        run(
            &mut ks,
            &["XGROUP", "CREATE", "fresh", "g", "$", "MKSTREAM"],
        );
        run(&mut ks, &["XGROUP", "CREATECONSUMER", "fresh", "g", "c"]);
        for key in ["deleted", "trimmed", "fresh"] {
            let (cmds, mut rebuilt) = round_trip(&ks, key.as_bytes());
            assert_eq!(
                cmds[0],
                args(&["XADD", key, "MAXLEN", "0", "0-1", "x", "y"])
            );
            assert_eq!(cmds[1][0], b"XSETID");
            assert_stream_rebuilt(&mut ks, &mut rebuilt, key);
        }
        let cmds = parse(&rewrite(&ks, b"deleted"));
        assert_eq!(
            cmds[1],
            args(&[
                "XSETID",
                "deleted",
                "7-0",
                "ENTRIESADDED",
                "2",
                "MAXDELETEDID",
                "7-0"
            ])
        );
        let cmds = parse(&rewrite(&ks, b"fresh"));
        assert_eq!(
            cmds[1],
            args(&[
                "XSETID",
                "fresh",
                "0-0",
                "ENTRIESADDED",
                "0",
                "MAXDELETEDID",
                "0-0"
            ])
        );
    }

    #[test]
    fn pending_entries_of_deleted_entries_do_not_survive() {
        // Redis 7.0's XCLAIM drops a pending entry whose stream entry is gone instead of
        // claiming it, so its rewrite loses such entries, and consumers left with only those.
        let mut ks = keyspace(1000);
        run(&mut ks, &["XADD", "s", "1-0", "a", "1"]);
        run(&mut ks, &["XADD", "s", "2-0", "a", "2"]);
        run(&mut ks, &["XGROUP", "CREATE", "s", "g", "0"]);
        run(
            &mut ks,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "gone",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
        );
        run(
            &mut ks,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "kept",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
        );
        run(&mut ks, &["XDEL", "s", "1-0"]);
        let (cmds, rebuilt) = round_trip(&ks, b"s");
        assert!(cmds.contains(&args(&[
            "XCLAIM",
            "s",
            "g",
            "gone",
            "0",
            "1-0",
            "TIME",
            "1000",
            "RETRYCOUNT",
            "1",
            "JUSTID",
            "FORCE"
        ])));
        let Value::Stream(s) = value(&rebuilt, b"s") else {
            panic!("stream")
        };
        let g = &s.groups[&b"g"[..]];
        assert_eq!(
            g.pending.keys().copied().collect::<Vec<_>>(),
            vec![StreamId::new(2, 0)]
        );
        assert_eq!(
            g.consumers.keys().map(|k| &k[..]).collect::<Vec<_>>(),
            vec![&b"kept"[..]]
        );
    }
}
