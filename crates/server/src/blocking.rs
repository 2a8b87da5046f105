//! Clients blocked on keys (BLPOP, BZPOPMIN, XREAD BLOCK, ...): registration, serving them in
//! first-come-first-served order when a key they wait on becomes ready, timeouts and CLIENT UNBLOCK.
//!
//! The store decides (a blocking command either serves or asks to block); this module keeps the
//! queues and re-runs a blocked command when one of its keys is signalled ready, all under the
//! state lock, so a served client sees the data before any other command can take it.

use crate::commands::{Command, Handler};
use crate::state::State;
use bytes::Bytes;
use resp::{Out, Protocol};
use store::cmd::{BlockRequest, TimeoutReply};

/// A client waiting for one of its keys.
pub struct BlockedClient {
    /// The command to re-run.
    pub cmd: &'static Command,
    /// Its container, if any.
    pub parent: Option<&'static Command>,
    /// The arguments to re-run it with.
    pub argv: Vec<Bytes>,
    /// The client's selected database when it blocked.
    pub db: usize,
    /// The keys it waits on.
    pub keys: Vec<Bytes>,
    /// When it gives up (unix ms); None waits forever.
    pub deadline_ms: Option<i64>,
    /// What it gets on timeout.
    pub timeout_reply: TimeoutReply,
    /// The protocol its replies are encoded in.
    pub proto: Protocol,
    /// WAIT: the offset replicas must acknowledge and how many of them.
    pub wait: Option<(u64, usize)>,
}

/// Why a blocked client is released without being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Its deadline passed (or CLIENT UNBLOCK ... TIMEOUT).
    Timeout,
    /// CLIENT UNBLOCK ... ERROR.
    Error,
}

/// Blocks client `id` on the keys of `req`.
#[allow(clippy::too_many_arguments)]
pub fn block(
    st: &mut State,
    id: u64,
    proto: Protocol,
    db: usize,
    parent: Option<&'static Command>,
    cmd: &'static Command,
    argv: &[Bytes],
    req: BlockRequest,
) {
    for key in &req.keys {
        let slot = (db, key.clone());
        st.waiting.entry(slot).or_default().push_back(id);
        st.ks.blocking_keys.insert((db, key[..].into()));
    }
    st.blocked.insert(
        id,
        BlockedClient {
            cmd,
            parent,
            argv: req.retry_argv.unwrap_or_else(|| argv.to_vec()),
            db,
            keys: req.keys,
            deadline_ms: req.deadline_ms,
            timeout_reply: req.timeout_reply,
            proto,
            wait: None,
        },
    );
    if let Some(c) = st.clients.get_mut(&id) {
        c.blocked = true;
    }
}

/// Removes client `id` from every queue; returns its record if it was blocked.
pub fn unblock(st: &mut State, id: u64) -> Option<BlockedClient> {
    let b = st.blocked.remove(&id)?;
    for key in &b.keys {
        let slot = (b.db, key.clone());
        if let Some(q) = st.waiting.get_mut(&slot) {
            q.retain(|c| *c != id);
            if q.is_empty() {
                st.waiting.remove(&slot);
                st.ks.blocking_keys.remove(&(b.db, key[..].into()));
            }
        }
    }
    if let Some(c) = st.clients.get_mut(&id) {
        c.blocked = false;
    }
    Some(b)
}

/// Releases a blocked client without serving it, queueing the timeout or error reply for it.
pub fn release(st: &mut State, id: u64, why: Release) -> bool {
    let Some(b) = unblock(st, id) else {
        return false;
    };
    let mut out = Out::new(b.proto);
    match why {
        Release::Timeout if b.wait.is_some() => {
            let target = b.wait.map_or(0, |w| w.0);
            out.int(crate::repl::count_acked(st, target) as i64)
        }
        Release::Timeout => match b.timeout_reply {
            TimeoutReply::NullArray => out.null_array(),
            TimeoutReply::Null => out.null(),
        },
        Release::Error => out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
    }
    if let Some(c) = st.clients.get(&id) {
        c.handle.send(&out.buf);
    }
    true
}

/// Serves blocked clients whose keys became ready, until no ready key is left.
pub fn serve_ready(st: &mut State, now_ms: i64) {
    let mut rounds = 0;
    while !st.ks.ready_keys.is_empty() && rounds < 1_000_000 {
        rounds += 1;
        let ready = std::mem::take(&mut st.ks.ready_keys);
        for (db, key) in ready {
            let Some(queue) = st.waiting.get(&(db, key.clone())) else {
                continue;
            };
            let candidates: Vec<u64> = queue.iter().copied().collect();
            for id in candidates {
                if !st.blocked.contains_key(&id) {
                    continue;
                }
                try_serve(st, id, now_ms);
            }
        }
    }
    crate::dispatch::settle(st, now_ms);
}

/// Re-runs client `id`'s blocked command; if it produced a reply, delivers it and unblocks.
fn try_serve(st: &mut State, id: u64, now_ms: i64) -> bool {
    let Some(b) = st.blocked.get(&id) else {
        return false;
    };
    let Handler::Data(f) = b.cmd.handler else {
        return false;
    };
    let (cmd, parent, argv, db, proto) = (b.cmd, b.parent, b.argv.clone(), b.db, b.proto);
    let mut out = Out::new(proto);
    st.ks.now_ms = now_ms;
    let dirty_before = st.ks.dirty;
    let mut ctx = store::Ctx::new(&mut st.ks, db, &mut out, &argv);
    ctx.retrying = true;
    f(&mut ctx);
    let blocked_again = ctx.block.is_some();
    let propagate = ctx.propagate.take();
    if blocked_again {
        return false;
    }
    unblock(st, id);
    crate::dispatch::propagate(st, db, &argv, propagate, dirty_before, cmd);
    let name = crate::commands::static_name(parent, cmd);
    let cs = st.stats.commands.entry(name).or_default();
    cs.calls += 1;
    if let Some(c) = st.clients.get(&id) {
        c.handle.send(&out.buf);
    }
    true
}

/// Releases every blocked client whose deadline passed.
pub fn expire_timeouts(st: &mut State, now_ms: i64) {
    let due: Vec<u64> = st
        .blocked
        .iter()
        .filter(|(_, b)| b.deadline_ms.is_some_and(|d| d <= now_ms))
        .map(|(id, _)| *id)
        .collect();
    for id in due {
        release(st, id, Release::Timeout);
    }
}
