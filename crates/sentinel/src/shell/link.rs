//! Outgoing links to monitored servers and other sentinels: connect (resolving the host name
//! at every attempt), write commands, parse replies and hand them to the core in order.

use super::{Shared, Shell};
use crate::core::{Input, LinkId, LinkKind, HELLO_CHANNEL};
use resp::Frame;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long a connection attempt may take (resolution included).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest reply buffered from an instance (INFO replies are a few KiB).
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// The shell's handle on one link.
pub struct LinkHandle {
    /// Encoded commands to write.
    pub tx: mpsc::UnboundedSender<Vec<u8>>,
    /// The link's task (aborted on Close).
    pub task: tokio::task::AbortHandle,
}

/// Opens link `id` to `host:port` in a new task and registers it.
pub fn open(shared: &Shared, sh: &mut Shell, id: LinkId, host: String, port: u16, kind: LinkKind) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(shared.clone(), id, host, port, kind, rx));
    sh.links.insert(
        id,
        LinkHandle {
            tx,
            task: task.abort_handle(),
        },
    );
}

/// Closes link `id`: nothing more is reported for it.
pub fn close(sh: &mut Shell, id: LinkId) {
    if let Some(h) = sh.links.remove(&id) {
        h.task.abort();
    }
}

/// Queues `argv` as a RESP2 multibulk on link `id`.
pub fn send(sh: &mut Shell, id: LinkId, argv: &[Vec<u8>]) {
    if let Some(h) = sh.links.get(&id) {
        let _ = h.tx.send(resp::encode_command(argv));
    }
}

/// Resolves `host` with the system resolver and connects to the first address that answers.
async fn connect(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// An IP as Redis prints it: IPv4-mapped addresses shown as IPv4.
pub fn ip_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        ip => ip.to_string(),
    }
}

/// The IP of our side of a connection.
fn local_ip(s: &TcpStream) -> String {
    match s.local_addr() {
        Ok(a) => ip_text(a.ip()),
        Err(_) => "127.0.0.1".into(),
    }
}

/// The IP of the other side of a connection: what its host name resolved to this time.
fn peer_ip(s: &TcpStream, host: &str) -> String {
    match s.peer_addr() {
        Ok(a) => ip_text(a.ip()),
        Err(_) => host.to_string(),
    }
}

/// Resolves `host` with the system resolver, blocking (as Redis does for the names in the
/// config file and in commands): its first address, or None.
pub fn resolve_now(host: &str) -> Option<String> {
    use std::net::ToSocketAddrs;
    (host, 0u16)
        .to_socket_addrs()
        .ok()?
        .next()
        .map(|a| ip_text(a.ip()))
}

/// Resolves `host` without blocking the runtime: its first address, or None.
async fn resolve(host: &str) -> Option<String> {
    let lookup = tokio::net::lookup_host((host, 0u16));
    match tokio::time::timeout(CONNECT_TIMEOUT, lookup).await {
        Ok(Ok(mut addrs)) => addrs.next().map(|a| ip_text(a.ip())),
        _ => None,
    }
}

/// The names (not IP literals) a hello mentions: the sentinel's and the master's addresses.
fn hello_names(payload: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(payload);
    let t: Vec<&str> = text.split(',').collect();
    if t.len() != 8 {
        return Vec::new();
    }
    [t[0], t[5]]
        .into_iter()
        .filter(|h| !h.is_empty() && !crate::core::config::is_ip_literal(h))
        .map(|h| h.to_string())
        .collect()
}

/// Feeds `inputs` to the core if link `id` is still open; false once it was closed.
fn report(shared: &Shared, id: LinkId, inputs: Vec<Input>) -> bool {
    let mut sh = shared.lock();
    if !sh.links.contains_key(&id) {
        return false;
    }
    for input in inputs {
        let lost = matches!(input, Input::Disconnected { .. });
        sh.feed(shared, input);
        if lost {
            sh.links.remove(&id);
        }
        if !sh.links.contains_key(&id) {
            return false;
        }
    }
    true
}

/// A reply on a pub/sub link that is a `message` becomes [`Input::Message`].
fn classify(id: LinkId, kind: LinkKind, frame: Frame) -> Input {
    if kind == LinkKind::PubSub {
        if let Frame::Array(parts) = &frame {
            if let [Frame::Bulk(t), Frame::Bulk(ch), Frame::Bulk(msg)] = parts.as_slice() {
                if t.eq_ignore_ascii_case(b"message") {
                    return Input::Message {
                        link: id,
                        channel: ch.clone(),
                        payload: msg.clone(),
                    };
                }
            }
        }
    }
    Input::Reply {
        link: id,
        reply: frame,
    }
}

async fn run(
    shared: Shared,
    id: LinkId,
    host: String,
    port: u16,
    kind: LinkKind,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&host, port)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            crate::shell::log_debug(&format!("Link to {host}:{port} failed: {e}"));
            report(&shared, id, vec![Input::Disconnected { link: id }]);
            return;
        }
        Err(_) => {
            crate::shell::log_debug(&format!("Link to {host}:{port} timed out"));
            report(&shared, id, vec![Input::Disconnected { link: id }]);
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let ip = local_ip(&stream);
    if !report(
        &shared,
        id,
        vec![Input::Connected {
            link: id,
            local_ip: ip,
            peer_ip: peer_ip(&stream, &host),
        }],
    ) {
        return;
    }
    let (mut rd, mut wr) = stream.into_split();
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            n = rd.read(&mut chunk) => {
                let n = match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                let mut inputs = Vec::new();
                let mut used = 0;
                let mut bad = false;
                loop {
                    match resp::parse_frame(&buf[used..]) {
                        Ok(Some((frame, len))) => {
                            used += len;
                            let input = classify(id, kind, frame);
                            // A hello naming hosts: resolve them first, so the core
                            // compares and shows them by address.
                            if let Input::Message { channel, payload, .. } = &input {
                                let names = if channel == HELLO_CHANNEL.as_bytes() {
                                    hello_names(payload)
                                } else {
                                    Vec::new()
                                };
                                if !names.is_empty()
                                    && shared.lock().sentinel.config.resolve_hostnames
                                {
                                    for h in names {
                                        let ip = resolve(&h).await;
                                        inputs.push(Input::Resolved { host: h, ip });
                                    }
                                }
                            }
                            inputs.push(input);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            bad = true;
                            break;
                        }
                    }
                }
                buf.drain(..used);
                if bad || buf.len() > MAX_PENDING_BYTES {
                    inputs.push(Input::Disconnected { link: id });
                    report(&shared, id, inputs);
                    return;
                }
                if !inputs.is_empty() && !report(&shared, id, inputs) {
                    return;
                }
            }
            msg = rx.recv() => {
                let Some(mut bytes) = msg else { return };
                while let Ok(more) = rx.try_recv() {
                    bytes.extend_from_slice(&more);
                }
                if wr.write_all(&bytes).await.is_err() {
                    break;
                }
            }
        }
    }
    report(&shared, id, vec![Input::Disconnected { link: id }]);
}
