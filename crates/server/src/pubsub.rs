//! Channel and pattern subscriptions, message delivery, and keyspace notifications.

use crate::client::ClientKind;
use crate::state::State;
use bytes::Bytes;
use resp::{Out, Protocol};
use std::collections::HashMap;
use store::glob::glob_match;
use store::keyspace::{notify, Notification};

/// Who is subscribed to what.
#[derive(Default)]
pub struct PubSub {
    /// Channel to subscriber ids, in subscription order.
    pub channels: HashMap<Bytes, Vec<u64>>,
    /// Pattern to subscriber ids, in subscription order.
    pub patterns: HashMap<Bytes, Vec<u64>>,
}

impl PubSub {
    /// Adds `client` to `channel`; false if it was already there.
    pub fn subscribe(&mut self, client: u64, channel: &Bytes) -> bool {
        let subs = self.channels.entry(channel.clone()).or_default();
        if subs.contains(&client) {
            return false;
        }
        subs.push(client);
        true
    }

    /// Removes `client` from `channel`; false if it was not there.
    pub fn unsubscribe(&mut self, client: u64, channel: &[u8]) -> bool {
        remove_from(&mut self.channels, client, channel)
    }

    /// Adds `client` to `pattern`; false if it was already there.
    pub fn psubscribe(&mut self, client: u64, pattern: &Bytes) -> bool {
        let subs = self.patterns.entry(pattern.clone()).or_default();
        if subs.contains(&client) {
            return false;
        }
        subs.push(client);
        true
    }

    /// Removes `client` from `pattern`; false if it was not there.
    pub fn punsubscribe(&mut self, client: u64, pattern: &[u8]) -> bool {
        remove_from(&mut self.patterns, client, pattern)
    }
}

fn remove_from(map: &mut HashMap<Bytes, Vec<u64>>, client: u64, name: &[u8]) -> bool {
    let Some(subs) = map.get_mut(name) else {
        return false;
    };
    let before = subs.len();
    subs.retain(|c| *c != client);
    let removed = subs.len() != before;
    if subs.is_empty() {
        map.remove(name);
    }
    removed
}

/// Encodes a pub/sub frame (`message`, `pmessage`, confirmations) in `proto`.
pub fn encode_push(proto: Protocol, parts: &[PushPart]) -> Vec<u8> {
    let mut out = Out::new(proto);
    out.push(parts.len());
    for p in parts {
        match p {
            PushPart::Bulk(b) => out.bulk(b),
            PushPart::Int(n) => out.int(*n),
            PushPart::Null => out.null(),
        }
    }
    out.buf
}

/// One element of a pub/sub frame.
pub enum PushPart<'a> {
    /// A bulk string.
    Bulk(&'a [u8]),
    /// An integer.
    Int(i64),
    /// A null (unsubscribe with no channel).
    Null,
}

/// Queues encoded bytes to client `id`, enforcing its output-buffer limits; false if it was dropped.
pub fn deliver(st: &mut State, id: u64, bytes: &[u8], now_ms: i64) -> bool {
    let Some(info) = st.clients.get(&id) else {
        return false;
    };
    let limit = match info.kind {
        ClientKind::PubSub => st.cfg.client_output_buffer_limit[2],
        ClientKind::Replica => st.cfg.client_output_buffer_limit[1],
        _ => st.cfg.client_output_buffer_limit[0],
    };
    let handle = info.handle.clone();
    if handle.is_killed() {
        return false;
    }
    let queued = handle.send(bytes) as u64;
    let over_hard = limit.hard > 0 && queued > limit.hard;
    let mut over_soft = false;
    if limit.soft > 0 && queued > limit.soft {
        let mut since = handle.soft_limit_since.lock();
        let start = *since.get_or_insert(now_ms);
        over_soft = now_ms - start >= (limit.soft_seconds as i64) * 1000;
    } else {
        *handle.soft_limit_since.lock() = None;
    }
    if over_hard || over_soft {
        st.stats.client_output_limit_disconnections += 1;
        crate::warning!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            id,
            st.clients.get(&id).map(|c| c.addr.as_str()).unwrap_or("?")
        );
        handle.outbox.lock().clear();
        handle.kill();
        return false;
    }
    true
}

/// PUBLISH: delivers `message` to subscribers of `channel` and matching patterns; returns receivers.
pub fn publish(st: &mut State, channel: &[u8], message: &[u8], now_ms: i64) -> usize {
    let mut receivers = 0;
    if let Some(subs) = st.pubsub.channels.get(channel) {
        let subs = subs.clone();
        for id in subs {
            let proto = st.clients.get(&id).map(|c| c.proto).unwrap_or_default();
            let frame = encode_push(
                proto,
                &[
                    PushPart::Bulk(b"message"),
                    PushPart::Bulk(channel),
                    PushPart::Bulk(message),
                ],
            );
            if deliver(st, id, &frame, now_ms) {
                receivers += 1;
            }
        }
    }
    if !st.pubsub.patterns.is_empty() {
        let matching: Vec<(Bytes, Vec<u64>)> = st
            .pubsub
            .patterns
            .iter()
            .filter(|(p, _)| glob_match(p, channel, false))
            .map(|(p, s)| (p.clone(), s.clone()))
            .collect();
        for (pattern, subs) in matching {
            for id in subs {
                let proto = st.clients.get(&id).map(|c| c.proto).unwrap_or_default();
                let frame = encode_push(
                    proto,
                    &[
                        PushPart::Bulk(b"pmessage"),
                        PushPart::Bulk(&pattern),
                        PushPart::Bulk(channel),
                        PushPart::Bulk(message),
                    ],
                );
                if deliver(st, id, &frame, now_ms) {
                    receivers += 1;
                }
            }
        }
    }
    st.stats.pubsub_messages += receivers as u64;
    receivers
}

/// Publishes the keyspace's pending notifications on `__keyspace@db__:key` / `__keyevent@db__:event`.
pub fn publish_notifications(st: &mut State, now_ms: i64) {
    if st.ks.notifications.is_empty() {
        return;
    }
    let pending: Vec<Notification> = std::mem::take(&mut st.ks.notifications);
    let flags = st.ks.notify_flags;
    for n in pending {
        if flags & notify::KEYSPACE != 0 {
            let mut chan = format!("__keyspace@{}__:", n.db).into_bytes();
            chan.extend_from_slice(&n.key);
            publish(st, &chan, n.event.as_bytes(), now_ms);
        }
        if flags & notify::KEYEVENT != 0 {
            let chan = format!("__keyevent@{}__:{}", n.db, n.event);
            publish(st, chan.as_bytes(), &n.key, now_ms);
        }
    }
}
