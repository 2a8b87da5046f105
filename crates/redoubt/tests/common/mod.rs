//! Test harness: start real server processes on free loopback ports and talk to them raw.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of our server binary.
pub fn redoubt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_redoubt-server"))
}

/// Path of Debian's redis-server, if installed.
pub fn redis_bin() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/redis-server");
    p.exists().then_some(p)
}

/// Whether interop tests must run (CI installs redis-server; locally it may be missing).
pub fn require_redis() -> PathBuf {
    match redis_bin() {
        Some(p) => p,
        None => panic!("redis-server is required for interop tests: apt-get install -y redis-server redis-tools"),
    }
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A unique scratch directory under the system temp dir.
pub fn scratch_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("redoubt-test-{}-{}-{}", tag, std::process::id(), n));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// A running server process, killed on drop.
pub struct Server {
    /// The child process.
    pub child: Child,
    /// Its TCP port.
    pub port: u16,
    /// Its working directory.
    pub dir: PathBuf,
}

impl Server {
    /// Starts our server with extra command-line arguments.
    pub fn start(args: &[&str]) -> Server {
        Self::start_bin(&redoubt_bin(), args)
    }

    /// Starts Debian's redis-server with extra arguments.
    pub fn start_redis(args: &[&str]) -> Server {
        let mut all = vec!["--save", "", "--appendonly", "no"];
        all.extend_from_slice(args);
        Self::start_bin(&require_redis(), &all)
    }

    /// Starts `bin` on a free port and waits until it answers.
    pub fn start_bin(bin: &Path, args: &[&str]) -> Server {
        for _attempt in 0..5 {
            let port = free_port();
            let dir = scratch_dir("srv");
            let mut cmd = Command::new(bin);
            let port_s = port.to_string();
            let has_config_file = args.first().is_some_and(|a| !a.starts_with("--"));
            if has_config_file {
                cmd.arg(args[0]);
                cmd.args(["--port", &port_s, "--bind", "127.0.0.1"]);
                cmd.args(&args[1..]);
            } else {
                cmd.args(["--port", &port_s, "--bind", "127.0.0.1"]);
                cmd.args(args);
            }
            cmd.current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .stdin(Stdio::null());
            let mut child = cmd.spawn().expect("spawn server");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let srv = Server { child, port, dir };
                    srv.wait_loaded();
                    return srv;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("server {} did not start", bin.display());
    }

    /// Waits (bounded) until the server no longer answers `-LOADING`: the dataset is in.
    pub fn wait_loaded(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let mut c = Raw::connect(self.port);
            if !c.call(&["PING"]).starts_with(b"-LOADING") {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("server still loading after 30 s");
    }

    /// `redis://` URL of the server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A redis-rs connection.
    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(self.url()).expect("client");
        c.get_connection_with_timeout(Duration::from_secs(5))
            .expect("connect")
    }

    /// A raw socket connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw RESP connection for byte-exact checks.
pub struct Raw {
    /// The socket.
    pub s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects to a loopback port.
    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Raw { s, buf: Vec::new() }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// Sends a command as a multibulk request.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        let enc = resp::encode_command(args);
        self.send(&enc);
    }

    /// Reads one whole reply and returns its raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Ok(Some((_, n))) = resp::parse_frame(&self.buf) {
                let out = self.buf[..n].to_vec();
                self.buf.drain(..n);
                return out;
            }
            let mut chunk = [0u8; 65536];
            let n = self.s.read(&mut chunk).expect("read");
            assert!(
                n > 0,
                "connection closed while waiting for a reply; have {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and returns its raw reply.
    pub fn call(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.cmd(&a);
        self.read_reply()
    }

    /// Sends a command and returns its reply as a lossy string.
    pub fn call_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.call(args)).into_owned()
    }

    /// True once the server has closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        loop {
            match self.s.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return false,
            }
        }
    }

    /// Reads everything until the server closes; returns the bytes.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut chunk = [0u8; 65536];
        loop {
            match self.s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!(
                    "expected close, got {e}; buffered {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
        std::mem::take(&mut self.buf)
    }
}

/// The value of `field` in INFO `section`.
pub fn info_field(c: &mut Raw, section: &str, field: &str) -> String {
    let text = c.call_str(&["INFO", section]);
    field_of(&text, field).unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// The value of `field` in an INFO text.
pub fn field_of(info: &str, field: &str) -> Option<String> {
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
}

/// Polls INFO until `field` has `want` (bounded).
pub fn wait_field(c: &mut Raw, section: &str, field: &str, want: &str) {
    wait_until(c, section, field, |v| v == want, want);
}

/// Polls INFO until `field` satisfies `ok` (bounded).
pub fn wait_until(c: &mut Raw, section: &str, field: &str, ok: impl Fn(&str) -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = info_field(c, section, field);
        if ok(&got) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{field} stayed {got}, wanted {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
