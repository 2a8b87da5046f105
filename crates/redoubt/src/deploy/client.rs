//! A small blocking RESP2 client for the CLI: enough to ask servers and sentinels questions.

use resp::Frame;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A connection to one server or sentinel.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `host:port` within `timeout`, authenticating with `password` if given.
    pub fn connect(
        host: &str,
        port: u16,
        password: Option<&str>,
        timeout: Duration,
    ) -> std::io::Result<Client> {
        let addr: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let _ = stream.set_nodelay(true);
        let mut c = Client {
            stream,
            buf: Vec::new(),
        };
        if let Some(p) = password {
            if let Frame::Error(e) = c.call(&["AUTH", p])? {
                return Err(std::io::Error::other(
                    String::from_utf8_lossy(&e).into_owned(),
                ));
            }
        }
        Ok(c)
    }

    /// Sends a command and reads its reply.
    pub fn call(&mut self, args: &[&str]) -> std::io::Result<Frame> {
        self.stream.write_all(&resp::encode_command(args))?;
        self.read_frame()
    }

    /// Reads the next frame (a reply, or a pub/sub message).
    pub fn read_frame(&mut self) -> std::io::Result<Frame> {
        loop {
            match resp::parse_frame(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Changes how long reads may block (None: forever).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        self.stream.set_read_timeout(t)
    }

    /// The text of a bulk or status reply.
    pub fn call_text(&mut self, args: &[&str]) -> std::io::Result<String> {
        Ok(text(&self.call(args)?))
    }
}

/// The text of a bulk, status or error frame ("" otherwise).
pub fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) | Frame::Error(b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        Frame::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Integer(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The value of `field` in an INFO text.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_end().to_string())
}

/// A flat RESP2 key/value array (SENTINEL MASTER and friends) as pairs.
pub fn pairs(f: &Frame) -> Vec<(String, String)> {
    match f {
        Frame::Array(items) => items
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (text(&c[0]), text(&c[1])))
            .collect(),
        Frame::Map(items) => items.iter().map(|(k, v)| (text(k), text(v))).collect(),
        _ => Vec::new(),
    }
}
