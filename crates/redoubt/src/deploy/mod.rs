//! The reference deployment as one command: plan it (ports, files), start every process in its
//! own working directory, wait until replication and the sentinels have settled, watch it, and
//! stop it again leaving nothing behind.

pub mod client;
pub mod drill;
pub mod firewall;
pub mod status;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a process of the deployment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The primary.
    Primary,
    /// A replica of the primary.
    Replica,
    /// A sentinel.
    Sentinel,
}

/// One process of the deployment.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its name (`primary`, `replica1`, `sentinel1`, ...), also its directory's name.
    pub name: String,
    /// What it is.
    pub role: Role,
    /// Its TCP port.
    pub port: u16,
    /// Its working directory.
    pub dir: PathBuf,
}

impl Node {
    /// Its config file.
    pub fn conf(&self) -> PathBuf {
        self.dir.join(match self.role {
            Role::Sentinel => "sentinel.conf",
            _ => "redis.conf",
        })
    }
}

/// The shape of a deployment and the programs that run it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where each process gets its working directory.
    pub dir: PathBuf,
    /// The address everything binds to and announces.
    pub host: String,
    /// The primary's port; replicas take the following ones.
    pub base_port: u16,
    /// How many replicas.
    pub replicas: usize,
    /// How many sentinels.
    pub sentinels: usize,
    /// The first sentinel's port; the others follow.
    pub sentinel_base: u16,
    /// The program (and leading arguments) that runs a server.
    pub server_cmd: Vec<String>,
    /// The program (and leading arguments) that runs a sentinel.
    pub sentinel_cmd: Vec<String>,
    /// The servers' password (`requirepass`, `masterauth`, `auth-pass`).
    pub password: String,
    /// The name the sentinels monitor the primary under.
    pub master_name: String,
    /// `down-after-milliseconds` instead of the reference file's.
    pub down_after_ms: Option<u64>,
    /// `failover-timeout` instead of the reference file's.
    pub failover_timeout_ms: Option<u64>,
    /// The directory with the reference config files.
    pub reference: PathBuf,
}

impl Plan {
    /// The reference deployment: primary 6379, replicas 6380–6381, sentinels 5000–5002.
    pub fn reference(
        dir: PathBuf,
        reference: PathBuf,
        server_cmd: Vec<String>,
        sentinel_cmd: Vec<String>,
    ) -> Plan {
        Plan {
            dir,
            host: "127.0.0.1".into(),
            base_port: 6379,
            replicas: 2,
            sentinels: 3,
            sentinel_base: 5000,
            server_cmd,
            sentinel_cmd,
            password: "1111".into(),
            master_name: "myprimary".into(),
            down_after_ms: None,
            failover_timeout_ms: None,
            reference,
        }
    }

    /// Every process, in start order.
    pub fn nodes(&self) -> Vec<Node> {
        let mut v = vec![Node {
            name: "primary".into(),
            role: Role::Primary,
            port: self.base_port,
            dir: self.dir.join("primary"),
        }];
        for i in 1..=self.replicas {
            v.push(Node {
                name: format!("replica{i}"),
                role: Role::Replica,
                port: self.base_port + i as u16,
                dir: self.dir.join(format!("replica{i}")),
            });
        }
        for i in 1..=self.sentinels {
            v.push(Node {
                name: format!("sentinel{i}"),
                role: Role::Sentinel,
                port: self.sentinel_base + (i - 1) as u16,
                dir: self.dir.join(format!("sentinel{i}")),
            });
        }
        v
    }

    /// The sentinels' quorum: the reference's 2, or what fewer sentinels can reach.
    pub fn quorum(&self) -> usize {
        2.min(self.sentinels.max(1))
    }

    /// Fails with a message naming the first port something already listens on.
    pub fn check_ports_free(&self) -> Result<(), String> {
        for n in self.nodes() {
            if std::net::TcpListener::bind((self.host.as_str(), n.port)).is_err() {
                return Err(format!(
                    "port {} ({}) is already in use; stop what listens there or choose other ports with --base-port",
                    n.port, n.name
                ));
            }
        }
        Ok(())
    }

    /// Writes each process's config file from the reference files, with this plan's ports.
    pub fn write_configs(&self) -> Result<(), String> {
        let read = |f: &str| {
            std::fs::read_to_string(self.reference.join(f))
                .map_err(|e| format!("cannot read {}: {e}", self.reference.join(f).display()))
        };
        let primary = read("primary.conf")?;
        let replica = read("replica1.conf")?;
        let sentinel = read("sentinel1.conf")?;
        for n in self.nodes() {
            std::fs::create_dir_all(&n.dir)
                .map_err(|e| format!("cannot create {}: {e}", n.dir.display()))?;
            let text = match n.role {
                Role::Primary => self.server_conf(&primary, n.port),
                Role::Replica => self.server_conf(&replica, n.port),
                Role::Sentinel => self.sentinel_conf(&sentinel, n.port),
            };
            std::fs::write(n.conf(), text)
                .map_err(|e| format!("cannot write {}: {e}", n.conf().display()))?;
        }
        Ok(())
    }

    fn server_conf(&self, template: &str, port: u16) -> String {
        let mut out = String::new();
        for line in template.lines() {
            let lower = line.trim().to_ascii_lowercase();
            if lower.starts_with("port ") {
                out.push_str(&format!("port {port}\n"));
            } else if lower.starts_with("replicaof ") || lower.starts_with("slaveof ") {
                out.push_str(&format!("replicaof {} {}\n", self.host, self.base_port));
            } else if lower.starts_with("bind ") {
                out.push_str(&format!("bind {}\n", self.host));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push_str("logfile \"server.log\"\n");
        out
    }

    fn sentinel_conf(&self, template: &str, port: u16) -> String {
        let mut out = String::new();
        let name = &self.master_name;
        for line in template.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let sub = words.get(1).map(|w| w.to_ascii_lowercase());
            match (
                words.first().map(|w| w.to_ascii_lowercase()),
                sub.as_deref(),
            ) {
                (Some(p), _) if p == "port" => out.push_str(&format!("port {port}\n")),
                (Some(s), Some("monitor")) if s == "sentinel" => out.push_str(&format!(
                    "sentinel monitor {name} {} {} {}\n",
                    self.host,
                    self.base_port,
                    self.quorum()
                )),
                (Some(s), Some("down-after-milliseconds"))
                    if s == "sentinel" && self.down_after_ms.is_some() =>
                {
                    out.push_str(&format!(
                        "sentinel down-after-milliseconds {name} {}\n",
                        self.down_after_ms.unwrap_or_default()
                    ))
                }
                (Some(s), Some("failover-timeout"))
                    if s == "sentinel" && self.failover_timeout_ms.is_some() =>
                {
                    out.push_str(&format!(
                        "sentinel failover-timeout {name} {}\n",
                        self.failover_timeout_ms.unwrap_or_default()
                    ))
                }
                _ => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out.push_str(&format!("bind {}\nlogfile \"sentinel.log\"\n", self.host));
        out
    }

    /// Starts every process (after checking the ports and writing the files). Each child is
    /// told to die with us (PR_SET_PDEATHSIG), so none survives `up` being killed.
    pub fn launch(&self) -> Result<Running, String> {
        self.check_ports_free()?;
        self.write_configs()?;
        self.save()?;
        let mut running = Running {
            children: Vec::new(),
            pidfile: self.dir.join(PIDFILE),
        };
        for n in self.nodes() {
            match self.start_node(&n, true) {
                Ok(child) => running.children.push((n, child)),
                Err(e) => {
                    running.stop();
                    return Err(e);
                }
            }
        }
        running.write_pidfile();
        Ok(running)
    }

    /// Starts one node's process in its directory; with `die_with_parent` it gets SIGTERM
    /// when we exit.
    pub fn start_node(&self, n: &Node, die_with_parent: bool) -> Result<Child, String> {
        let cmd = match n.role {
            Role::Sentinel => &self.sentinel_cmd,
            _ => &self.server_cmd,
        };
        let Some((program, lead)) = cmd.split_first() else {
            return Err("no program to run".into());
        };
        let mut c = Command::new(program);
        c.args(lead)
            .arg(n.conf())
            .current_dir(&n.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(n.dir.join("stderr.log"))
                    .map_err(|e| format!("cannot create stderr.log: {e}"))?,
            ));
        if die_with_parent {
            // SAFETY: prctl in the child between fork and exec only sets its death signal.
            unsafe {
                use std::os::unix::process::CommandExt;
                c.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
        }
        c.spawn()
            .map_err(|e| format!("cannot start {} ({program}): {e}", n.name))
    }

    /// Records the plan in its directory, so `drill` and `down` can act on the deployment.
    pub fn save(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let v = serde_json::json!({
            "host": self.host, "base_port": self.base_port, "replicas": self.replicas,
            "sentinels": self.sentinels, "sentinel_base": self.sentinel_base,
            "server_cmd": self.server_cmd, "sentinel_cmd": self.sentinel_cmd,
            "password": self.password, "master_name": self.master_name,
            "reference": self.reference,
        });
        std::fs::write(self.dir.join(PLANFILE), v.to_string())
            .map_err(|e| format!("cannot write the plan: {e}"))
    }

    /// The plan `up` recorded in `dir`.
    pub fn load(dir: &Path) -> Result<Plan, String> {
        let text = std::fs::read_to_string(dir.join(PLANFILE)).map_err(|_| {
            format!(
                "no deployment in {} (run `redoubt up` first)",
                dir.display()
            )
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let n = |k: &str| v[k].as_u64().unwrap_or_default();
        let list = |k: &str| {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Plan {
            dir: dir.to_path_buf(),
            host: s("host"),
            base_port: n("base_port") as u16,
            replicas: n("replicas") as usize,
            sentinels: n("sentinels") as usize,
            sentinel_base: n("sentinel_base") as u16,
            server_cmd: list("server_cmd"),
            sentinel_cmd: list("sentinel_cmd"),
            password: s("password"),
            master_name: s("master_name"),
            down_after_ms: None,
            failover_timeout_ms: None,
            reference: PathBuf::from(s("reference")),
        })
    }

    /// Waits until every replica's link is up and every sentinel sees every replica and every
    /// other sentinel.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let short = Duration::from_millis(500);
        loop {
            let mut missing = Vec::new();
            for n in self.nodes() {
                let ok = match n.role {
                    Role::Primary => {
                        client::Client::connect(&self.host, n.port, Some(&self.password), short)
                            .and_then(|mut c| c.call_text(&["PING"]))
                            .is_ok_and(|r| r == "PONG")
                    }
                    Role::Replica => {
                        client::Client::connect(&self.host, n.port, Some(&self.password), short)
                            .and_then(|mut c| c.call_text(&["INFO", "replication"]))
                            .is_ok_and(|i| {
                                client::info_field(&i, "master_link_status").as_deref()
                                    == Some("up")
                            })
                    }
                    Role::Sentinel => client::Client::connect(&self.host, n.port, None, short)
                        .and_then(|mut c| c.call(&["SENTINEL", "MASTER", &self.master_name]))
                        .is_ok_and(|f| {
                            let p = client::pairs(&f);
                            let get =
                                |k: &str| p.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
                            get("num-slaves") == Some(self.replicas.to_string())
                                && get("num-other-sentinels")
                                    == Some((self.sentinels - 1).to_string())
                        }),
                };
                if !ok {
                    missing.push(n.name);
                }
            }
            if missing.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not ready after {timeout:?}: {}",
                    missing.join(", ")
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The file in the deployment directory listing the processes `up` started.
pub const PIDFILE: &str = "redoubt-up.pids";

/// The file in the deployment directory describing its shape.
pub const PLANFILE: &str = "redoubt-up.plan";

/// The running processes of a deployment.
pub struct Running {
    /// Each node with its process.
    pub children: Vec<(Node, Child)>,
    /// Where their pids are recorded (for `redoubt down`).
    pub pidfile: PathBuf,
}

impl Running {
    fn write_pidfile(&self) {
        if let Ok(mut f) = std::fs::File::create(&self.pidfile) {
            let _ = writeln!(f, "up {}", std::process::id());
            for (n, c) in &self.children {
                let _ = writeln!(f, "{} {}", n.name, c.id());
            }
        }
    }

    /// Stops every process: SIGTERM, then SIGKILL for any still there after 10 s. Nodes a
    /// drill restarted are not our children; the pidfile names them.
    pub fn stop(&mut self) {
        for (_, c) in &self.children {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        }
        let ours: Vec<i32> = self.children.iter().map(|(_, c)| c.id() as i32).collect();
        let adopted: Vec<i32> = std::fs::read_to_string(&self.pidfile)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (name, pid) = l.split_once(' ')?;
                let pid: i32 = pid.trim().parse().ok()?;
                (name != "up" && !ours.contains(&pid) && running(pid)).then_some(pid)
            })
            .collect();
        for pid in &adopted {
            // SAFETY: signalling a node of this deployment that a drill started.
            unsafe { libc::kill(*pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while adopted.iter().any(|p| running(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in adopted.iter().filter(|p| running(**p)) {
            // SAFETY: as above, for what ignored SIGTERM.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        for (_, c) in &mut self.children {
            loop {
                if matches!(c.try_wait(), Ok(Some(_)) | Err(_)) {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_file(&self.pidfile);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self
            .children
            .iter_mut()
            .any(|(_, c)| matches!(c.try_wait(), Ok(None)))
        {
            self.stop();
        }
    }
}

/// `redoubt down`: stops the `up` recorded in `dir` (which stops its processes) and any of
/// its processes still alive. Returns how many processes were signalled.
pub fn down(dir: &Path) -> Result<usize, String> {
    let file = dir.join(PIDFILE);
    let text = std::fs::read_to_string(&file)
        .map_err(|_| format!("nothing is running from {} (no {PIDFILE})", dir.display()))?;
    let pids: Vec<(String, i32)> = text
        .lines()
        .filter_map(|l| {
            let (name, pid) = l.split_once(' ')?;
            Some((name.to_string(), pid.trim().parse().ok()?))
        })
        .collect();
    let alive = running;
    let mut signalled = 0;
    for (_, pid) in &pids {
        if alive(*pid) {
            // SAFETY: signalling a process this deployment started.
            unsafe { libc::kill(*pid, libc::SIGTERM) };
            signalled += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while pids.iter().any(|(_, p)| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (_, pid) in &pids {
        if alive(*pid) {
            // SAFETY: as above, for what ignored SIGTERM.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
    }
    let _ = std::fs::remove_file(&file);
    Ok(signalled)
}

/// Whether process `pid` runs (a zombie, ended but not yet reaped, does not).
pub fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Records a node's new pid in the pidfile (a drill restarted it), so `down` stops it too.
pub fn record_pid(dir: &Path, name: &str, pid: i32) {
    let file = dir.join(PIDFILE);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.split_once(' ').is_none_or(|(n, _)| n != name))
        .map(str::to_string)
        .collect();
    lines.push(format!("{name} {pid}"));
    let _ = std::fs::write(&file, lines.join("\n") + "\n");
}

/// Reads a node's pid from the pidfile (drills act on processes by name).
pub fn pid_of(dir: &Path, name: &str) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join(PIDFILE)).ok()?;
    text.lines().find_map(|l| {
        let (n, pid) = l.split_once(' ')?;
        (n == name).then(|| pid.trim().parse().ok())?
    })
}

/// Wall-clock time of day as `HH:MM:SS.mmm` (UTC), for event lines.
pub fn clock() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}
