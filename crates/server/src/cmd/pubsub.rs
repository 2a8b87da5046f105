//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB.

use crate::client::{ClientKind, Session};
use crate::commands::{flag::*, Command, Handler::Server};
use crate::dispatch::Exec;
use crate::pubsub::{encode_push, PushPart};
use crate::state::State;
use bytes::Bytes;
use resp::Out;
use store::glob::glob_match;

fn sync_counts(st: &mut State, sess: &Session) {
    if let Some(c) = st.clients.get_mut(&sess.id) {
        c.subs = sess.channels.len();
        c.psubs = sess.patterns.len();
        if c.kind == ClientKind::Normal || c.kind == ClientKind::PubSub {
            c.kind = if sess.subscription_count() > 0 {
                ClientKind::PubSub
            } else {
                ClientKind::Normal
            };
        }
    }
}

fn confirm(out: &mut Out, kind: &[u8], name: Option<&[u8]>, count: usize) {
    let frame = encode_push(
        out.proto,
        &[
            PushPart::Bulk(kind),
            name.map(PushPart::Bulk).unwrap_or(PushPart::Null),
            PushPart::Int(count as i64),
        ],
    );
    out.raw(&frame);
}

/// SUBSCRIBE channel [channel ...]
pub fn subscribe(ex: &mut Exec) {
    for ch in &ex.argv[1..] {
        if ex.sess.channels.insert(ch.clone()) {
            ex.st.pubsub.subscribe(ex.sess.id, ch);
        }
        confirm(ex.out, b"subscribe", Some(ch), ex.sess.subscription_count());
    }
    sync_counts(ex.st, ex.sess);
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe(ex: &mut Exec) {
    for p in &ex.argv[1..] {
        if ex.sess.patterns.insert(p.clone()) {
            ex.st.pubsub.psubscribe(ex.sess.id, p);
        }
        confirm(ex.out, b"psubscribe", Some(p), ex.sess.subscription_count());
    }
    sync_counts(ex.st, ex.sess);
}

/// UNSUBSCRIBE [channel ...]
pub fn unsubscribe(ex: &mut Exec) {
    let targets: Vec<Bytes> = if ex.argv.len() > 1 {
        ex.argv[1..].to_vec()
    } else {
        let mut v: Vec<Bytes> = ex.sess.channels.iter().cloned().collect();
        v.sort();
        v
    };
    if targets.is_empty() {
        confirm(ex.out, b"unsubscribe", None, ex.sess.subscription_count());
    }
    for ch in targets {
        if ex.sess.channels.remove(&ch) {
            ex.st.pubsub.unsubscribe(ex.sess.id, &ch);
        }
        confirm(
            ex.out,
            b"unsubscribe",
            Some(&ch),
            ex.sess.subscription_count(),
        );
    }
    sync_counts(ex.st, ex.sess);
}

/// PUNSUBSCRIBE [pattern ...]
pub fn punsubscribe(ex: &mut Exec) {
    let targets: Vec<Bytes> = if ex.argv.len() > 1 {
        ex.argv[1..].to_vec()
    } else {
        let mut v: Vec<Bytes> = ex.sess.patterns.iter().cloned().collect();
        v.sort();
        v
    };
    if targets.is_empty() {
        confirm(ex.out, b"punsubscribe", None, ex.sess.subscription_count());
    }
    for p in targets {
        if ex.sess.patterns.remove(&p) {
            ex.st.pubsub.punsubscribe(ex.sess.id, &p);
        }
        confirm(
            ex.out,
            b"punsubscribe",
            Some(&p),
            ex.sess.subscription_count(),
        );
    }
    sync_counts(ex.st, ex.sess);
}

/// Drops every subscription of a client (disconnect, RESET).
pub fn drop_all_subscriptions(st: &mut State, sess: &mut Session) {
    for ch in sess.channels.drain() {
        st.pubsub.unsubscribe(sess.id, &ch);
    }
    for p in sess.patterns.drain() {
        st.pubsub.punsubscribe(sess.id, &p);
    }
    sync_counts(st, sess);
}

/// PUBLISH channel message
pub fn publish(ex: &mut Exec) {
    let n = crate::pubsub::publish(ex.st, &ex.argv[1], &ex.argv[2], ex.now_ms);
    ex.out.int(n as i64);
    // Replicas deliver it to their own subscribers; the AOF never holds it.
    crate::dispatch::propagate_to_replicas(ex.st, ex.sess.db, ex.argv);
}

/// PUBSUB CHANNELS [pattern]
pub fn pubsub_channels(ex: &mut Exec) {
    let pattern = ex.argv.get(2).cloned();
    let mut names: Vec<Bytes> = ex
        .st
        .pubsub
        .channels
        .keys()
        .filter(|c| pattern.as_ref().is_none_or(|p| glob_match(p, c, false)))
        .cloned()
        .collect();
    names.sort();
    ex.out.bulk_array(&names);
}

/// PUBSUB NUMSUB [channel ...]
pub fn pubsub_numsub(ex: &mut Exec) {
    ex.out.map(ex.argv.len() - 2);
    for ch in &ex.argv[2..] {
        ex.out.bulk(ch);
        let n = ex.st.pubsub.channels.get(ch).map(|s| s.len()).unwrap_or(0);
        ex.out.int(n as i64);
    }
}

/// PUBSUB NUMPAT
pub fn pubsub_numpat(ex: &mut Exec) {
    ex.out.int(ex.st.pubsub.patterns.len() as i64);
}

/// PUBSUB HELP
pub fn pubsub_help(ex: &mut Exec) {
    crate::cmd::admin::help_reply(
        ex.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}

macro_rules! sub {
    ($name:literal, $arity:expr, $f:expr, $summary:literal) => {
        sub!(
            $name,
            $arity,
            PUBSUB | LOADING | STALE,
            "2.8.0",
            $f,
            $summary
        )
    };
    ($name:literal, $arity:expr, $flags:expr, $since:literal, $f:expr, $summary:literal) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group: "pubsub",
            summary: $summary,
            since: $since,
            handler: Server($f),
            subcommands: &[],
        }
    };
}

/// PUBSUB subcommands.
pub static SUBCOMMANDS: &[Command] = &[
    sub!("channels", -2, pubsub_channels, "List active channels"),
    sub!(
        "numsub",
        -2,
        pubsub_numsub,
        "Get the count of subscribers for channels"
    ),
    sub!(
        "numpat",
        2,
        pubsub_numpat,
        "Get the count of unique patterns pattern subscriptions"
    ),
    sub!(
        "help",
        2,
        LOADING | STALE,
        "6.2.0",
        pubsub_help,
        "Show helpful text about the different subcommands"
    ),
];
