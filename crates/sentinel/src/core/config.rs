//! The `sentinel ...` lines of the config file: loading them (with Redis's error texts) and
//! writing the state back ([`super::Sentinel::rewrite_config`]).

use super::instance::Kind;
use super::Sentinel;

/// One `sentinel monitor` master with the options given for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    /// Its name.
    pub name: String,
    /// Host (IP, or a name with `resolve-hostnames yes`).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Quorum.
    pub quorum: u32,
    /// `down-after-milliseconds` (default when None).
    pub down_after: Option<i64>,
    /// `failover-timeout` (default when None).
    pub failover_timeout: Option<i64>,
    /// `parallel-syncs`.
    pub parallel_syncs: u32,
    /// `notification-script`.
    pub notification_script: Option<String>,
    /// `client-reconfig-script`.
    pub client_reconfig_script: Option<String>,
    /// `auth-pass`.
    pub auth_pass: Option<String>,
    /// `auth-user`.
    pub auth_user: Option<String>,
    /// `master-reboot-down-after-period`.
    pub master_reboot_down_after_period: i64,
    /// `rename-command` pairs.
    pub renamed: Vec<(String, String)>,
    /// `config-epoch`.
    pub config_epoch: u64,
    /// `leader-epoch`.
    pub leader_epoch: u64,
    /// `known-replica` lines.
    pub known_replicas: Vec<(String, u16)>,
    /// `known-sentinel` lines (ip, port, run id).
    pub known_sentinels: Vec<(String, u16, String)>,
}

/// The sentinel part of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelConfig {
    /// `sentinel myid`.
    pub myid: Option<String>,
    /// `sentinel current-epoch`.
    pub current_epoch: u64,
    /// Monitored masters, in file order.
    pub masters: Vec<MasterConfig>,
    /// `sentinel announce-ip`.
    pub announce_ip: Option<String>,
    /// `sentinel announce-port` (0 = our port).
    pub announce_port: u16,
    /// `sentinel deny-scripts-reconfig`.
    pub deny_scripts_reconfig: bool,
    /// `sentinel sentinel-user`.
    pub sentinel_user: Option<String>,
    /// `sentinel sentinel-pass`.
    pub sentinel_pass: Option<String>,
    /// `sentinel resolve-hostnames`.
    pub resolve_hostnames: bool,
    /// `sentinel announce-hostnames`.
    pub announce_hostnames: bool,
    /// Whether the file said `deny-scripts-reconfig`, `resolve-hostnames`,
    /// `announce-hostnames` (the rewrite keeps lines that were there).
    pub seen: Vec<String>,
    /// The masters the config file (with its includes) names, before a `sentinel state-file`
    /// is read: those no longer monitored are written to the state file as `sentinel removed
    /// <name>` so that they do not come back from the config file (see
    /// [`Sentinel::state_file_lines`]).
    pub file_masters: Vec<String>,
}

impl Default for SentinelConfig {
    fn default() -> Self {
        SentinelConfig {
            myid: None,
            current_epoch: 0,
            masters: Vec::new(),
            announce_ip: None,
            announce_port: 0,
            deny_scripts_reconfig: true,
            sentinel_user: None,
            sentinel_pass: None,
            resolve_hostnames: false,
            announce_hostnames: false,
            seen: Vec::new(),
            file_masters: Vec::new(),
        }
    }
}

/// Which pass of the load a `sentinel` line belongs to (Redis loads global options first,
/// then `monitor` lines, then the rest, so their order in the file does not matter).
pub fn load_pass(args: &[String]) -> u8 {
    let Some(first) = args.first() else {
        return 3;
    };
    match first.to_ascii_lowercase().as_str() {
        "announce-ip"
        | "announce-port"
        | "deny-scripts-reconfig"
        | "sentinel-user"
        | "sentinel-pass"
        | "current-epoch"
        | "myid"
        | "resolve-hostnames"
        | "announce-hostnames" => 1,
        "monitor" => 2,
        _ => 3,
    }
}

/// Parses a C `atoi`: leading spaces, sign, digits; anything else ends it (0 when none).
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add((b - b'0') as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}

/// C `strtoull` in base 10 (0 when there are no digits).
fn strtoull(s: &str) -> u64 {
    let mut n: u64 = 0;
    for b in s.trim_start().bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add((b - b'0') as u64);
    }
    n
}

fn yes_no(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// Whether `host` is an address `inet_aton`/`inet_pton` accepts (`1.2.3` is `1.2.0.3`).
pub fn is_ip_literal(host: &str) -> bool {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    inet_aton(host).is_some()
}

/// The C `inet_aton` parser: 1 to 4 parts, each decimal, octal (0...) or hex (0x...).
pub fn inet_aton(host: &str) -> Option<std::net::Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::new();
    for p in &parts {
        let v = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            if h.is_empty() {
                0
            } else {
                u64::from_str_radix(h, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse::<u64>().ok()?
        };
        vals.push(v);
    }
    let n = vals.len();
    for v in &vals[..n - 1] {
        if *v > 255 {
            return None;
        }
    }
    let max_last = [u32::MAX as u64, 0xFF_FFFF, 0xFFFF, 0xFF][n - 1];
    if vals[n - 1] > max_last {
        return None;
    }
    let mut addr: u64 = vals[n - 1];
    for (i, v) in vals[..n - 1].iter().enumerate() {
        addr |= v << (24 - 8 * i);
    }
    Some(std::net::Ipv4Addr::from(addr as u32))
}

/// How an address given for an instance is stored: numeric addresses normalised as
/// `inet_ntop` would print them; names kept (and resolved at each connection).
pub fn normalize_host(host: &str) -> String {
    if let Ok(v6) = host.parse::<std::net::Ipv6Addr>() {
        return v6.to_string();
    }
    match inet_aton(host) {
        Some(v4) => v4.to_string(),
        None => host.to_string(),
    }
}

impl MasterConfig {
    /// A `sentinel monitor` master with every other option at its default.
    pub fn new(name: &str, host: &str, port: u16, quorum: u32) -> MasterConfig {
        MasterConfig {
            name: name.to_string(),
            host: host.to_string(),
            port,
            quorum,
            down_after: None,
            failover_timeout: None,
            parallel_syncs: 1,
            notification_script: None,
            client_reconfig_script: None,
            auth_pass: None,
            auth_user: None,
            master_reboot_down_after_period: 0,
            renamed: Vec::new(),
            config_epoch: 0,
            leader_epoch: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
        }
    }
}

impl SentinelConfig {
    fn master_mut(&mut self, name: &str) -> Result<&mut MasterConfig, String> {
        self.masters
            .iter_mut()
            .find(|m| m.name == name)
            .ok_or_else(|| "No such master with specified name.".to_string())
    }

    /// Applies the arguments of one `sentinel ...` line (without the word `sentinel`); the
    /// error is Redis's text for the line.
    pub fn apply(&mut self, args: &[String]) -> Result<(), String> {
        let unrecognized = || Err("Unrecognized sentinel configuration statement.".to_string());
        let Some(first) = args.first() else {
            return unrecognized();
        };
        let argc = args.len();
        let a = |i: usize| args[i].as_str();
        match (first.to_ascii_lowercase().as_str(), argc) {
            ("monitor", 5) => {
                let quorum = atoi(a(4));
                if quorum <= 0 {
                    return Err("Quorum must be 1 or greater.".into());
                }
                if self.masters.iter().any(|m| m.name == a(1)) {
                    return Err("Duplicate master name.".into());
                }
                if !self.resolve_hostnames && !is_ip_literal(a(2)) {
                    return Err("Can't resolve instance hostname.".into());
                }
                let port = atoi(a(3));
                if !(0..=65535).contains(&port) {
                    return Err("Invalid port number.".into());
                }
                self.masters.push(MasterConfig::new(
                    a(1),
                    &normalize_host(a(2)),
                    port as u16,
                    quorum.min(u32::MAX as i64) as u32,
                ));
            }
            ("down-after-milliseconds", 3) => {
                let v = atoi(a(2));
                let m = self.master_mut(a(1))?;
                if v <= 0 {
                    return Err("negative or zero time parameter.".into());
                }
                m.down_after = Some(v);
            }
            ("failover-timeout", 3) => {
                let v = atoi(a(2));
                let m = self.master_mut(a(1))?;
                if v <= 0 {
                    return Err("negative or zero time parameter.".into());
                }
                m.failover_timeout = Some(v);
            }
            ("parallel-syncs", 3) => {
                let v = atoi(a(2));
                self.master_mut(a(1))?.parallel_syncs = v.clamp(0, u32::MAX as i64) as u32;
            }
            ("notification-script", 3) => {
                let path = a(2).to_string();
                let m = self.master_mut(a(1))?;
                if !is_executable(&path) {
                    return Err("Notification script seems non existing or non executable.".into());
                }
                m.notification_script = Some(path);
            }
            ("client-reconfig-script", 3) => {
                let path = a(2).to_string();
                let m = self.master_mut(a(1))?;
                if !is_executable(&path) {
                    return Err(
                        "Client reconfiguration script seems non existing or non executable."
                            .into(),
                    );
                }
                m.client_reconfig_script = Some(path);
            }
            ("auth-pass", 3) => {
                let v = a(2).to_string();
                self.master_mut(a(1))?.auth_pass = Some(v);
            }
            ("auth-user", 3) => {
                let v = a(2).to_string();
                self.master_mut(a(1))?.auth_user = Some(v);
            }
            ("current-epoch", 2) => {
                let e = strtoull(a(1));
                if e > self.current_epoch {
                    self.current_epoch = e;
                }
            }
            ("myid", 2) => {
                if a(1).len() != 40 {
                    return Err("Malformed Sentinel id in myid option.".into());
                }
                self.myid = Some(a(1).to_string());
            }
            ("config-epoch", 3) => {
                let e = strtoull(a(2));
                self.master_mut(a(1))?.config_epoch = e;
                if e > self.current_epoch {
                    self.current_epoch = e;
                }
            }
            ("leader-epoch", 3) => {
                let e = strtoull(a(2));
                self.master_mut(a(1))?.leader_epoch = e;
            }
            ("known-slave" | "known-replica", 4) => {
                let host = normalize_host(a(2));
                let port = atoi(a(3));
                let resolve = self.resolve_hostnames;
                let m = self.master_mut(a(1))?;
                if !resolve && !is_ip_literal(&host) {
                    return Err("Can't resolve instance hostname.".into());
                }
                if !(0..=65535).contains(&port) {
                    return Err("Invalid port number.".into());
                }
                if m.known_replicas
                    .iter()
                    .any(|(h, p)| *h == host && *p as i64 == port)
                {
                    return Err("Duplicate hostname and port for replica.".into());
                }
                m.known_replicas.push((host, port as u16));
            }
            ("known-sentinel", 4) => {
                self.master_mut(a(1))?;
            }
            ("known-sentinel", 5) => {
                let host = normalize_host(a(2));
                let port = atoi(a(3));
                let runid = a(4).to_string();
                let resolve = self.resolve_hostnames;
                let m = self.master_mut(a(1))?;
                if !resolve && !is_ip_literal(&host) {
                    return Err("Can't resolve instance hostname.".into());
                }
                if !(0..=65535).contains(&port) {
                    return Err("Invalid port number.".into());
                }
                if m.known_sentinels.iter().any(|(_, _, r)| *r == runid) {
                    return Err("Duplicate runid for sentinel.".into());
                }
                m.known_sentinels.push((host, port as u16, runid));
            }
            ("rename-command", 4) => {
                let (from, to) = (a(2).to_string(), a(3).to_string());
                let m = self.master_mut(a(1))?;
                if m.renamed.iter().any(|(f, _)| f.eq_ignore_ascii_case(&from)) {
                    return Err("Same command renamed multiple times with rename-command.".into());
                }
                m.renamed.push((from, to));
            }
            ("announce-ip", 2) => {
                if !a(1).is_empty() {
                    self.announce_ip = Some(a(1).to_string());
                }
            }
            ("announce-port", 2) => self.announce_port = atoi(a(1)).clamp(0, 65535) as u16,
            ("deny-scripts-reconfig", 2) => {
                self.deny_scripts_reconfig = yes_no(a(1)).ok_or_else(|| {
                    "Please specify yes or no for the deny-scripts-reconfig options.".to_string()
                })?;
                self.seen.push("deny-scripts-reconfig".into());
            }
            ("sentinel-user", 2) => {
                if !a(1).is_empty() {
                    self.sentinel_user = Some(a(1).to_string());
                }
            }
            ("sentinel-pass", 2) => {
                if !a(1).is_empty() {
                    self.sentinel_pass = Some(a(1).to_string());
                }
            }
            ("resolve-hostnames", 2) => {
                self.resolve_hostnames = yes_no(a(1)).ok_or_else(|| {
                    "Please specify yes or no for the resolve-hostnames option.".to_string()
                })?;
                self.seen.push("resolve-hostnames".into());
            }
            ("announce-hostnames", 2) => {
                self.announce_hostnames = yes_no(a(1)).ok_or_else(|| {
                    "Please specify yes or no for the announce-hostnames option.".to_string()
                })?;
                self.seen.push("announce-hostnames".into());
            }
            ("master-reboot-down-after-period", 3) => {
                let v = atoi(a(2));
                let m = self.master_mut(a(1))?;
                if v < 0 {
                    return Err("negative time parameter.".into());
                }
                m.master_reboot_down_after_period = v;
            }
            _ => return unrecognized(),
        }
        Ok(())
    }
}

/// Whether `path` exists and may be executed (`access(path, X_OK)`).
pub fn is_executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Quotes a value for the config file when it needs it (as Redis's `sdscatrepr`).
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// The key a `sentinel` line is rewritten under: `sentinel <option>` (`known-slave` stays
/// itself: Redis reuses such a line for a known replica before appending one).
fn line_key(line: &str) -> Option<String> {
    let args = resp::split_args(line.as_bytes())?;
    let first = String::from_utf8_lossy(args.first()?).to_ascii_lowercase();
    if first != "sentinel" {
        return None;
    }
    let opt = String::from_utf8_lossy(args.get(1)?).to_ascii_lowercase();
    Some(format!("sentinel {opt}"))
}

impl Sentinel {
    /// The `sentinel` lines that describe the current state, each with its rewrite key, in
    /// Redis's order.
    pub fn state_lines(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut put = |key: &str, rest: String| {
            v.push((format!("sentinel {key}"), format!("sentinel {key} {rest}")))
        };
        let c = &self.config;
        put("myid", self.myid.clone());
        if !c.deny_scripts_reconfig || c.seen.iter().any(|s| s == "deny-scripts-reconfig") {
            put(
                "deny-scripts-reconfig",
                if c.deny_scripts_reconfig { "yes" } else { "no" }.to_string(),
            );
        }
        if c.resolve_hostnames || c.seen.iter().any(|s| s == "resolve-hostnames") {
            put(
                "resolve-hostnames",
                if c.resolve_hostnames { "yes" } else { "no" }.to_string(),
            );
        }
        if c.announce_hostnames || c.seen.iter().any(|s| s == "announce-hostnames") {
            put(
                "announce-hostnames",
                if c.announce_hostnames { "yes" } else { "no" }.to_string(),
            );
        }
        for (name, m) in &self.masters {
            let (host, port) = m.current_address();
            put(
                "monitor",
                format!("{name} {} {port} {}", self.announce_host(&host), m.quorum),
            );
            if m.inst.down_after != self.timings.default_down_after {
                put(
                    "down-after-milliseconds",
                    format!("{name} {}", m.inst.down_after),
                );
            }
            if m.failover_timeout != self.timings.default_failover_timeout {
                put("failover-timeout", format!("{name} {}", m.failover_timeout));
            }
            if m.parallel_syncs != 1 {
                put("parallel-syncs", format!("{name} {}", m.parallel_syncs));
            }
            if let Some(s) = &m.notification_script {
                put("notification-script", format!("{name} {}", quote(s)));
            }
            if let Some(s) = &m.client_reconfig_script {
                put("client-reconfig-script", format!("{name} {}", quote(s)));
            }
            if let Some(s) = &m.auth_pass {
                put("auth-pass", format!("{name} {}", quote(s)));
            }
            if let Some(s) = &m.auth_user {
                put("auth-user", format!("{name} {}", quote(s)));
            }
            if m.master_reboot_down_after_period != 0 {
                put(
                    "master-reboot-down-after-period",
                    format!("{name} {}", m.master_reboot_down_after_period),
                );
            }
            put("config-epoch", format!("{name} {}", m.config_epoch));
            put("leader-epoch", format!("{name} {}", m.leader_epoch));
            for r in m.replicas.values() {
                // The promoted replica is the master's address from the switch on.
                if r.port == port && self.same_host(&r.host, &host) {
                    continue;
                }
                put(
                    "known-replica",
                    format!("{name} {} {}", self.announce_host(&r.host), r.port),
                );
            }
            for s in m.sentinels.values() {
                if let Some(runid) = &s.runid {
                    put(
                        "known-sentinel",
                        format!("{name} {} {} {runid}", self.announce_host(&s.host), s.port),
                    );
                }
            }
            for (from, to) in &m.renamed {
                put("rename-command", format!("{name} {from} {to}"));
            }
        }
        put("current-epoch", format!("{}", self.current_epoch));
        if let Some(ip) = &c.announce_ip {
            put("announce-ip", quote_always(ip));
        }
        if c.announce_port != 0 {
            put("announce-port", format!("{}", c.announce_port));
        }
        if let Some(u) = &c.sentinel_user {
            put("sentinel-user", quote(u));
        }
        if let Some(p) = &c.sentinel_pass {
            put("sentinel-pass", quote(p));
        }
        v
    }

    /// The state lines for a `sentinel state-file`: [`Sentinel::state_lines`], then one
    /// `sentinel removed <name>` for each master the config file names that is no longer
    /// monitored (removed with SENTINEL REMOVE), so that it does not come back from the config
    /// file at the next start.
    pub fn state_file_lines(&self) -> Vec<String> {
        let mut v: Vec<String> = self.state_lines().into_iter().map(|(_, l)| l).collect();
        for name in &self.config.file_masters {
            if !self.masters.contains_key(name) {
                v.push(format!("sentinel removed {}", quote(name)));
            }
        }
        v
    }

    /// Hands the state to a config rewrite in progress as Redis's
    /// `rewriteConfigSentinelOption` does: each line replaces the next old line of its
    /// `sentinel <option>` in place or is appended; `deny-scripts-reconfig`,
    /// `resolve-hostnames` and `announce-hostnames` only replace a line that is there unless
    /// they differ from their default; a known replica first takes the place of an old
    /// `known-slave` line; then every owned option is marked done, so that its old lines
    /// left over (a removed master's, a forgotten replica's) are blanked.
    pub fn rewrite_into(&self, rw: &mut dyn RewriteSink) {
        let c = &self.config;
        let yn = |b: bool| if b { "yes" } else { "no" };
        for (key, line) in self.state_lines() {
            match key.as_str() {
                "sentinel deny-scripts-reconfig"
                | "sentinel resolve-hostnames"
                | "sentinel announce-hostnames" => continue,
                "sentinel known-replica" => {
                    if !rw.line("sentinel known-slave", &line, false) {
                        rw.line(&key, &line, true);
                    }
                }
                _ => {
                    rw.line(&key, &line, true);
                }
            }
            if key == "sentinel myid" {
                rw.line(
                    "sentinel deny-scripts-reconfig",
                    &format!(
                        "sentinel deny-scripts-reconfig {}",
                        yn(c.deny_scripts_reconfig)
                    ),
                    !c.deny_scripts_reconfig,
                );
                rw.line(
                    "sentinel resolve-hostnames",
                    &format!("sentinel resolve-hostnames {}", yn(c.resolve_hostnames)),
                    c.resolve_hostnames,
                );
                rw.line(
                    "sentinel announce-hostnames",
                    &format!("sentinel announce-hostnames {}", yn(c.announce_hostnames)),
                    c.announce_hostnames,
                );
            }
        }
        for k in [
            "announce-ip",
            "announce-port",
            "sentinel-user",
            "sentinel-pass",
            "monitor",
            "down-after-milliseconds",
            "failover-timeout",
            "parallel-syncs",
            "notification-script",
            "client-reconfig-script",
            "auth-pass",
            "auth-user",
            "config-epoch",
            "leader-epoch",
            "known-replica",
            "known-sentinel",
            "rename-command",
            "master-reboot-down-after-period",
        ] {
            rw.mark(&format!("sentinel {k}"));
        }
    }

    /// The config file rewritten from `original` with Redis's algorithm, for the `sentinel`
    /// lines only (the process rewrites the ordinary options too, through the server's
    /// rewrite: see `shell::load::rewrite_config_text`): lines are trimmed, comments and
    /// other lines are kept, each state line replaces the next old line of its `sentinel
    /// <option>` in place, new ones are appended after a `# Generated by CONFIG REWRITE`
    /// line, old lines left over are blanked, and runs of blank lines become one.
    pub fn rewrite_config(&self, original: &str) -> String {
        let mut rw = TextRewrite::parse(original);
        self.rewrite_into(&mut rw);
        rw.content()
    }
}

/// Where a config rewrite puts the lines (Redis's `rewriteConfigRewriteLine` and
/// `rewriteConfigMarkAsProcessed` over a `rewriteConfigState`).
pub trait RewriteSink {
    /// `line` replaces the next old line of `option` (`sentinel <option>`), or is appended
    /// after the `# Generated by CONFIG REWRITE` line when there is none and `force`; false
    /// when nothing was written. The option is marked done either way.
    fn line(&mut self, option: &str, line: &str, force: bool) -> bool;
    /// Marks `option` done: its old lines not reused are blanked.
    fn mark(&mut self, option: &str);
}

/// The line Redis appends before the options it adds to a config file.
pub const REWRITE_SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// A config rewrite over a file's text that knows only `sentinel` lines.
struct TextRewrite {
    lines: Vec<String>,
    option_lines: std::collections::HashMap<String, std::collections::VecDeque<usize>>,
    done: std::collections::HashSet<String>,
    needs_signature: bool,
}

impl TextRewrite {
    fn parse(original: &str) -> TextRewrite {
        let mut rw = TextRewrite {
            lines: Vec::new(),
            option_lines: Default::default(),
            done: Default::default(),
            needs_signature: true,
        };
        if original.is_empty() {
            return rw;
        }
        for raw in original.split('\n') {
            let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if line == REWRITE_SIGNATURE {
                rw.needs_signature = false;
            }
            if let Some(key) = line_key(line) {
                rw.option_lines
                    .entry(key)
                    .or_default()
                    .push_back(rw.lines.len());
            }
            rw.lines.push(line.to_string());
        }
        rw
    }

    fn content(mut self) -> String {
        for (option, idxs) in &self.option_lines {
            if self.done.contains(option) {
                for &i in idxs {
                    self.lines[i].clear();
                }
            }
        }
        let mut out = String::new();
        let mut was_empty = false;
        for l in &self.lines {
            if l.is_empty() {
                if was_empty {
                    continue;
                }
                was_empty = true;
            } else {
                was_empty = false;
            }
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

impl RewriteSink for TextRewrite {
    fn line(&mut self, option: &str, line: &str, force: bool) -> bool {
        let option = option.to_ascii_lowercase();
        self.done.insert(option.clone());
        if let Some(idx) = self
            .option_lines
            .get_mut(&option)
            .and_then(std::collections::VecDeque::pop_front)
        {
            self.lines[idx] = line.to_string();
            return true;
        }
        if !force {
            return false;
        }
        if self.needs_signature {
            self.lines.push(REWRITE_SIGNATURE.to_string());
            self.needs_signature = false;
        }
        self.lines.push(line.to_string());
        true
    }

    fn mark(&mut self, option: &str) {
        self.done.insert(option.to_ascii_lowercase());
    }
}

fn quote_always(s: &str) -> String {
    let q = quote(s);
    if q.starts_with('"') {
        q
    } else {
        format!("\"{s}\"")
    }
}

/// Kind-specific name of an instance kind, as INFO's `role:` says it.
pub fn role_name(k: Kind) -> &'static str {
    match k {
        Kind::Master => "master",
        Kind::Replica => "slave",
        Kind::Sentinel => "sentinel",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<SentinelConfig, String> {
        let mut c = SentinelConfig::default();
        let lines: Vec<Vec<String>> = text
            .lines()
            .filter_map(|l| {
                let args = resp::split_args(l.as_bytes())?;
                let args: Vec<String> = args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                (args.len() > 1 && args[0].eq_ignore_ascii_case("sentinel"))
                    .then(|| args[1..].to_vec())
            })
            .collect();
        for pass in 1..=3 {
            for l in &lines {
                if load_pass(l) == pass {
                    c.apply(l)?;
                }
            }
        }
        Ok(c)
    }

    #[test]
    fn the_reference_file_loads() {
        let c = load(
            "port 5000\nsentinel down-after-milliseconds myprimary 5000\nsentinel monitor myprimary 127.0.0.1 6379 2\nsentinel failover-timeout myprimary 60000\nsentinel auth-pass myprimary 1111\nsentinel resolve-hostnames yes\n",
        )
        .unwrap();
        let m = &c.masters[0];
        assert_eq!(
            (m.name.as_str(), m.host.as_str(), m.port, m.quorum),
            ("myprimary", "127.0.0.1", 6379, 2)
        );
        assert_eq!(m.down_after, Some(5000));
        assert_eq!(m.failover_timeout, Some(60000));
        assert_eq!(m.auth_pass.as_deref(), Some("1111"));
        assert!(c.resolve_hostnames);
    }

    #[test]
    fn errors_are_redis_texts() {
        let cases = [
            (
                "sentinel monitor m 127.0.0.1 6379 0",
                "Quorum must be 1 or greater.",
            ),
            (
                "sentinel monitor m 127.0.0.1 6379 1\nsentinel monitor m 127.0.0.1 6380 1",
                "Duplicate master name.",
            ),
            (
                "sentinel monitor m some-host 6379 1",
                "Can't resolve instance hostname.",
            ),
            (
                "sentinel monitor m 127.0.0.1 70000 1",
                "Invalid port number.",
            ),
            (
                "sentinel down-after-milliseconds x 10",
                "No such master with specified name.",
            ),
            (
                "sentinel monitor m 127.0.0.1 1 1\nsentinel down-after-milliseconds m 0",
                "negative or zero time parameter.",
            ),
            ("sentinel myid abc", "Malformed Sentinel id in myid option."),
            (
                "sentinel bogus 1",
                "Unrecognized sentinel configuration statement.",
            ),
            (
                "sentinel monitor m 127.0.0.1 1",
                "Unrecognized sentinel configuration statement.",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(load(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn inet_aton_accepts_what_c_accepts() {
        assert_eq!(normalize_host("1.2.3"), "1.2.0.3");
        assert_eq!(normalize_host("127.1"), "127.0.0.1");
        assert_eq!(normalize_host("0x7f.1"), "127.0.0.1");
        assert!(inet_aton("256.1.1.1").is_none());
        assert!(inet_aton("a.b").is_none());
        assert!(is_ip_literal("::1"));
    }

    #[test]
    fn rewrite_replaces_in_place_and_appends_the_rest() {
        let original = "port 26379\nsentinel monitor mymaster 127.0.0.1 16379 2\nsentinel down-after-milliseconds mymaster 5000\n# keep me\n";
        let cfg = load(original).unwrap();
        let mut s = Sentinel::new(cfg, 26379, 1, 0);
        s.masters.get_mut("mymaster").unwrap().inst.port = 16383;
        let text = s.rewrite_config(original);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "port 26379");
        assert_eq!(lines[1], "sentinel monitor mymaster 127.0.0.1 16383 2");
        assert_eq!(lines[2], "sentinel down-after-milliseconds mymaster 5000");
        assert_eq!(lines[3], "# keep me");
        assert!(lines.contains(&"# Generated by CONFIG REWRITE"));
        assert!(lines.iter().any(|l| l.starts_with("sentinel myid ")));
        assert!(lines.contains(&"sentinel current-epoch 0"));
        // Rewriting the rewritten file only keeps the empty line after its last newline, as
        // Redis does (the file then ends with "\n\n"); after that nothing changes.
        let again = s.rewrite_config(&text);
        assert_eq!(again, format!("{text}\n"));
        assert_eq!(s.rewrite_config(&again), again);
    }

    fn ready(text: &str) -> Sentinel {
        let mut s = Sentinel::new(load(text).unwrap(), 26379, 1, 0);
        s.myid = "0123456789012345678901234567890123456789".into();
        s
    }

    #[test]
    fn rewrite_blanks_what_is_gone_as_redis() {
        // As redis-sentinel 7.0.15: each line takes the place of the first old line of its
        // option (m's monitor line goes where gone's was); a removed master's lines and
        // default-valued options are blanked in place (runs of blank lines become one), a `known-slave` line is reused
        // for a known replica, a `deny-scripts-reconfig yes` line stays, lines are trimmed,
        // unknown `sentinel` lines and other lines stay.
        let original = "port 1\n  sentinel monitor gone 127.0.0.1 1 1  \n\
             sentinel auth-pass gone x\n\nsentinel monitor m 127.0.0.1 2 1\n\
             sentinel parallel-syncs m 1\nsentinel known-slave m 127.0.0.1 3\n\
             sentinel deny-scripts-reconfig yes\nsentinel state-file x\nfoo bar\n";
        let mut s = ready(&original.replace("sentinel state-file x\n", ""));
        s.masters.remove("gone");
        let text = s.rewrite_config(original);
        assert_eq!(
            text,
            "port 1\nsentinel monitor m 127.0.0.1 2 1\n\n\
             sentinel known-replica m 127.0.0.1 3\nsentinel deny-scripts-reconfig yes\n\
             sentinel state-file x\nfoo bar\n\n# Generated by CONFIG REWRITE\n\
             sentinel myid 0123456789012345678901234567890123456789\n\
             sentinel config-epoch m 0\nsentinel leader-epoch m 0\nsentinel current-epoch 0\n"
        );
        // SENTINEL MONITOR of a new master: appended, and loaded back.
        let mut c = SentinelConfig::default();
        c.apply(&["monitor", "new", "127.0.0.1", "4", "2"].map(String::from))
            .unwrap();
        let m = Sentinel::new(c, 0, 1, 0).masters.remove("new").unwrap();
        s.masters.insert("new".into(), m);
        let text = s.rewrite_config(&text);
        assert!(
            text.ends_with("sentinel current-epoch 0\n\nsentinel monitor new 127.0.0.1 4 2\nsentinel config-epoch new 0\nsentinel leader-epoch new 0\n"),
            "{text}"
        );
        let back = load(&text.replace("sentinel state-file x\n", "")).unwrap();
        let names: Vec<_> = back.masters.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["m", "new"]);
        assert_eq!(back.masters[0].known_replicas.len(), 1);
    }

    #[test]
    fn a_reset_master_loses_its_known_instances_in_the_rewrite() {
        let original = "sentinel monitor m 127.0.0.1 2 1\nsentinel known-replica m 127.0.0.1 3\n\
             sentinel known-sentinel m 127.0.0.1 4 0123456789012345678901234567890123456789\n";
        let mut s = ready(original);
        let m = s.masters.get_mut("m").unwrap();
        assert_eq!((m.replicas.len(), m.sentinels.len()), (1, 1));
        m.replicas.clear();
        m.sentinels.clear();
        let text = s.rewrite_config(original);
        assert!(!text.contains("known-"), "{text}");
        let lines = s.state_file_lines();
        assert!(!lines.iter().any(|l| l.contains("known-")), "{lines:?}");
    }

    #[test]
    fn state_file_lines_name_removed_config_file_masters() {
        let mut c =
            load("sentinel monitor a 127.0.0.1 1 1\nsentinel monitor b 127.0.0.1 2 1\n").unwrap();
        c.file_masters = vec!["a".into(), "b".into()];
        let mut s = Sentinel::new(c, 0, 1, 0);
        assert!(!s.state_file_lines().iter().any(|l| l.contains("removed")));
        s.masters.remove("b");
        let lines = s.state_file_lines();
        assert_eq!(lines.last().map(String::as_str), Some("sentinel removed b"));
        assert!(!lines.iter().any(|l| l.contains("monitor b")));
    }
}
