//! A connection's task: read, parse, dispatch under the lock, write; plus messages others queue for it.

use crate::client::{ClientHandle, ClientInfo, ClientKind, Session};
use crate::dispatch::{dispatch, Flow};
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use resp::{Limits, Out, ProtocolError, RequestParser};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where a connection comes from, for CLIENT LIST.
pub struct Peer {
    /// `ip:port` of the client (or the socket path).
    pub addr: String,
    /// `ip:port` we accepted it on.
    pub laddr: String,
    /// The socket's file descriptor.
    pub fd: i64,
}

const READ_CHUNK: usize = 16 * 1024;
/// How many requests are executed per lock acquisition at most.
const BATCH: usize = 1024;

/// Registers a client, or refuses it when `maxclients` is reached.
pub(crate) fn register(shared: &Shared, peer: &Peer) -> Option<(u64, Arc<ClientHandle>, bool)> {
    let mut st = shared.state.lock();
    let now = crate::clock::unix_ms();
    if st.clients.len() as u64 >= st.cfg.maxclients {
        st.stats.rejected_connections += 1;
        return None;
    }
    let id = st.next_client_id;
    st.next_client_id += 1;
    st.stats.total_connections_received += 1;
    let handle = Arc::new(ClientHandle::default());
    let needs_auth = st.cfg.requirepass.is_some();
    st.clients.insert(
        id,
        ClientInfo {
            id,
            addr: peer.addr.clone(),
            laddr: peer.laddr.clone(),
            fd: peer.fd,
            name: None,
            db: 0,
            proto: resp::Protocol::Resp2,
            created_ms: now,
            last_interaction_ms: now,
            last_cmd: "NULL",
            blocked: false,
            kind: ClientKind::Normal,
            subs: 0,
            psubs: 0,
            multi: -1,
            dirty_cas: false,
            monitor: false,
            user: "default".into(),
            no_evict: false,
            qbuf: 0,
            handle: handle.clone(),
        },
    );
    Some((id, handle, !needs_auth))
}

/// Removes every trace of a client from the shared state.
pub(crate) fn unregister(shared: &Shared, sess: &mut Session) {
    let mut st = shared.state.lock();
    crate::repl::replica_gone(&mut st, sess.id, crate::clock::unix_ms());
    crate::blocking::unblock(&mut st, sess.id);
    crate::cmd::pubsub::drop_all_subscriptions(&mut st, sess);
    crate::cmd::multi::unwatch_all(&mut st, sess);
    st.clients.remove(&sess.id);
}

/// Serves one client connection until it closes.
pub async fn serve<S>(shared: Arc<Shared>, mut stream: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A script running past busy-reply-threshold holds the lock: answer -BUSY until it ends.
    let Some(early) = crate::script::busy_gate(&shared, &mut stream).await else {
        return;
    };
    let Some((id, handle, authenticated)) = register(&shared, &peer) else {
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    };
    let mut sess = Session::new(id, authenticated, handle.clone());
    let mut out = Out::default();
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    buf.extend_from_slice(&early);
    let mut parser = RequestParser::new();
    let mut pending: VecDeque<Vec<Bytes>> = VecDeque::new();
    let mut protocol_error: Option<ProtocolError> = None;
    let (aof, timeout_s, mut max_bulk_len, mut query_limit) = {
        let st = shared.state.lock();
        (
            st.aof.writer.clone(),
            st.cfg.timeout,
            st.cfg.proto_max_bulk_len,
            st.cfg.client_query_buffer_limit,
        )
    };
    let mut unaccounted_input = 0u64;
    'conn: loop {
        // Execute what is pending (possibly a batch), under one lock.
        if !pending.is_empty() || protocol_error.is_some() {
            let mut close = false;
            let mut paused = false;
            let mut blocked = false;
            {
                // While a script runs past busy-reply-threshold it keeps the lock: answer
                // without it (-BUSY, SCRIPT KILL, SHUTDOWN NOSAVE).
                let Some(mut st) = crate::script::lock_unless_busy(&shared) else {
                    let close =
                        crate::script::serve_busy(&shared, &mut sess, &mut pending, &mut out);
                    if !out.is_empty() {
                        if stream.write_all(&out.buf).await.is_err() {
                            break 'conn;
                        }
                        out.buf.clear();
                    }
                    if close {
                        break 'conn;
                    }
                    if !pending.is_empty() {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    continue 'conn;
                };
                let now = crate::clock::unix_ms();
                st.stats.net_input_bytes += std::mem::take(&mut unaccounted_input);
                max_bulk_len = st.cfg.proto_max_bulk_len;
                query_limit = st.cfg.client_query_buffer_limit;
                if let Some(c) = st.clients.get_mut(&id) {
                    c.qbuf = buf.len();
                }
                while let Some(argv) = pending.pop_front() {
                    let flow = dispatch(&mut st, &mut sess, &mut out, &argv, now);
                    if !st.ks.ready_keys.is_empty() {
                        crate::blocking::serve_ready(&mut st, now);
                    }
                    match flow {
                        Flow::Continue => {}
                        Flow::Close => {
                            close = true;
                            break;
                        }
                        Flow::Paused => {
                            pending.push_front(argv);
                            paused = true;
                            break;
                        }
                        Flow::Blocked => {
                            blocked = true;
                            break;
                        }
                    }
                    if handle.is_killed() || st.shutdown_requested {
                        close = true;
                        break;
                    }
                    if sess.became_replica.is_some() {
                        pending.clear();
                        break;
                    }
                }
                if !close && !paused && pending.is_empty() {
                    if let Some(e) = protocol_error.take() {
                        out.error(&e.message());
                        st.stats.total_error_replies += 1;
                        *st.stats.error_codes.entry("ERR".into()).or_default() += 1;
                        close = true;
                    }
                }
                if st.repl.getack_wanted {
                    crate::repl::after_batch(&mut st);
                }
                st.stats.net_output_bytes += out.len() as u64;
                // Replies are written before more input is read, so a normal client's pending
                // output is one batch; its hard limit still closes it, as Redis does.
                let normal_limit = st.cfg.client_output_buffer_limit[0].hard;
                if normal_limit > 0
                    && out.len() as u64 > normal_limit
                    && sess.subscription_count() == 0
                {
                    st.stats.client_output_limit_disconnections += 1;
                    crate::warning!(
                        "Client id={id} scheduled to be closed ASAP for overcoming of output buffer limits."
                    );
                    out.buf.clear();
                    close = true;
                }
                if st.shutdown_requested || st.shutdown_pending.is_some() {
                    shared.shutdown.notify_one();
                }
            }
            // Nothing is acknowledged before its write is in the AOF.
            aof.before_reply().await;
            if !out.is_empty() {
                if stream.write_all(&out.buf).await.is_err() {
                    break 'conn;
                }
                out.buf.clear();
            }
            if let Some(became) = sess.became_replica.take() {
                crate::repl::primary::serve_replica(
                    &shared,
                    &mut stream,
                    &mut sess,
                    &mut buf,
                    became,
                )
                .await;
                break 'conn;
            }
            if flush_outbox(&mut stream, &handle, &aof).await.is_err() || close {
                break 'conn;
            }
            if blocked {
                if !wait_until_unblocked(&shared, &mut stream, &handle, &mut buf, id).await {
                    break 'conn;
                }
                if flush_outbox(&mut stream, &handle, &aof).await.is_err() {
                    break 'conn;
                }
                continue;
            }
            if paused {
                tokio::select! {
                    _ = shared.unpaused.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
                continue;
            }
        }
        if handle.is_killed() {
            break;
        }
        // Parse what is already buffered before reading more.
        {
            let limits = Limits {
                max_bulk_len,
                authenticated: sess.authenticated,
            };
            let mut n = 0;
            loop {
                match parser.next(&mut buf, &limits) {
                    Ok(Some(req)) => {
                        pending.push_back(req.args);
                        n += 1;
                        // Before authentication, run one request at a time so AUTH lifts the limits.
                        if !sess.authenticated || n >= BATCH {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        protocol_error = Some(e);
                        break;
                    }
                }
            }
            if !pending.is_empty() || protocol_error.is_some() {
                continue;
            }
        }
        // Wait for input, queued messages, or a kill.
        buf.reserve(READ_CHUNK);
        let read = tokio::select! {
            r = stream.read_buf(&mut buf) => Some(r),
            _ = handle.wake.notified() => None,
            _ = idle_timeout(if sess.subscription_count() > 0 { 0 } else { timeout_s }) => {
                crate::verbose!("Closing idle client");
                break 'conn;
            }
        };
        match read {
            Some(Ok(0)) | Some(Err(_)) => break,
            Some(Ok(n)) => {
                unaccounted_input += n as u64;
                if (buf.len() + parser.buffered_arg_bytes()) as u64 > query_limit {
                    crate::warning!("Closing client that reached max query buffer length (qbuf initial bytes: ...)");
                    shared
                        .state
                        .lock()
                        .stats
                        .client_query_buffer_limit_disconnections += 1;
                    break;
                }
            }
            None => {
                if flush_outbox(&mut stream, &handle, &aof).await.is_err() {
                    break;
                }
            }
        }
    }
    crate::script::wait_not_busy(&shared).await;
    unregister(&shared, &mut sess);
    let _ = stream.shutdown().await;
}

/// Waits while the client is blocked on keys; false if the connection must close.
async fn wait_until_unblocked<S: AsyncRead + AsyncWrite + Unpin>(
    shared: &Shared,
    stream: &mut S,
    handle: &ClientHandle,
    buf: &mut BytesMut,
    id: u64,
) -> bool {
    loop {
        crate::script::wait_not_busy(shared).await;
        let deadline = {
            let st = shared.state.lock();
            match st.blocked.get(&id) {
                None => return true,
                Some(b) => b.deadline_ms,
            }
        };
        let sleep = async {
            match deadline {
                Some(d) => {
                    let wait = (d - crate::clock::unix_ms()).max(0) as u64;
                    tokio::time::sleep(Duration::from_millis(wait)).await
                }
                None => std::future::pending::<()>().await,
            }
        };
        buf.reserve(READ_CHUNK);
        tokio::select! {
            _ = handle.wake.notified() => {}
            _ = sleep => {}
            r = stream.read_buf(buf) => {
                if !matches!(r, Ok(n) if n > 0) {
                    return false;
                }
            }
        }
        if handle.is_killed() {
            return false;
        }
        crate::script::wait_not_busy(shared).await;
        let mut st = shared.state.lock();
        if !st.blocked.contains_key(&id) {
            return true;
        }
        let now = crate::clock::unix_ms();
        if deadline.is_some_and(|d| d <= now) {
            crate::blocking::release(&mut st, id, crate::blocking::Release::Timeout);
            return true;
        }
    }
}

async fn idle_timeout(secs: u64) {
    if secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// Writes queued frames (pushes, replies to blocked commands served by another client's
/// write), after the AOF has what they acknowledge.
async fn flush_outbox<S: AsyncWrite + Unpin>(
    stream: &mut S,
    handle: &ClientHandle,
    aof: &crate::aof::Writer,
) -> std::io::Result<()> {
    loop {
        let chunk = std::mem::take(&mut *handle.outbox.lock());
        if chunk.is_empty() {
            return Ok(());
        }
        aof.before_reply().await;
        stream.write_all(&chunk).await?;
        *handle.soft_limit_since.lock() = None;
    }
}
