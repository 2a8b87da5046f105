//! What a Sentinel answers: SENTINEL sub-commands, ROLE, PUBLISH of hellos, and the
//! `# Sentinel` INFO section, in Redis's reply shapes.

use super::config::{is_executable, is_ip_literal, normalize_host, MasterConfig};
use super::events::Level;
use super::instance::{Flags, Instance, Kind, Master};
use super::{Action, Sentinel, Who};
use resp::Out;

/// Arity of each SENTINEL sub-command (Redis's command table: N exact, -N at least N).
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("ckquorum", 3),
    ("config", -3),
    ("debug", -2),
    ("failover", -3),
    ("flushconfig", 2),
    ("get-master-addr-by-name", 3),
    ("help", 2),
    ("info-cache", -3),
    ("is-master-down-by-addr", 6),
    ("master", 3),
    ("masters", 2),
    ("monitor", 6),
    ("myid", 2),
    ("pending-scripts", 2),
    ("remove", 3),
    ("replicas", 3),
    ("reset", 3),
    ("sentinels", 3),
    ("set", -5),
    ("simulate-failure", -3),
    ("slaves", 3),
];

const NO_SUCH_MASTER: &str = "ERR No such master with that name";

fn s(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Redis's `string2ll`-strict integer parse.
fn int(v: &[u8]) -> Option<i64> {
    let t = std::str::from_utf8(v).ok()?;
    if t.is_empty() || t.starts_with('+') || (t.len() > 1 && t.starts_with('0')) || t == "-0" {
        return None;
    }
    if t.starts_with("-0") {
        return None;
    }
    t.parse().ok()
}

impl Sentinel {
    /// Answers a client command handled by the core (SENTINEL, ROLE, PUBLISH) into `out`.
    pub fn command(&mut self, now: i64, argv: &[Vec<u8>], out: &mut Out) -> Vec<Action> {
        let name = s(&argv[0]).to_ascii_lowercase();
        match name.as_str() {
            "role" => self.role(out),
            "publish" => self.publish(now, argv, out),
            "sentinel" => self.sentinel_command(now, argv, out),
            _ => out.error(&format!("ERR unknown command '{}'", s(&argv[0]))),
        }
        std::mem::take(&mut self.out)
    }

    fn role(&self, out: &mut Out) {
        out.array(2);
        out.bulk(b"sentinel");
        out.array(self.masters.len());
        for name in self.masters.keys() {
            out.bulk(name.as_bytes());
        }
    }

    fn publish(&mut self, now: i64, argv: &[Vec<u8>], out: &mut Out) {
        if argv.len() != 3 {
            out.error("ERR wrong number of arguments for 'publish' command");
            return;
        }
        if argv[1] != super::monitor::HELLO_CHANNEL.as_bytes() {
            out.error("ERR Only HELLO messages are accepted by Sentinel instances.");
            return;
        }
        let text = s(&argv[2]);
        self.process_hello(now, &text);
        out.int(1);
    }

    fn sentinel_command(&mut self, now: i64, argv: &[Vec<u8>], out: &mut Out) {
        if argv.len() < 2 {
            out.error("ERR wrong number of arguments for 'sentinel' command");
            return;
        }
        let sub = s(&argv[1]).to_ascii_lowercase();
        let Some(&(_, arity)) = SUBCOMMANDS.iter().find(|(n, _)| *n == sub) else {
            out.error(&format!(
                "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
                s(&argv[1])
            ));
            return;
        };
        let argc = argv.len() as i32;
        if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
            out.error(&format!(
                "ERR wrong number of arguments for 'sentinel|{sub}' command"
            ));
            return;
        }
        match sub.as_str() {
            "masters" => {
                let names: Vec<String> = self.masters.keys().cloned().collect();
                out.array(names.len());
                for n in names {
                    self.describe_master(now, &n, out);
                }
            }
            "master" => match self.masters.contains_key(&s(&argv[2])) {
                true => self.describe_master(now, &s(&argv[2]), out),
                false => out.error(NO_SUCH_MASTER),
            },
            "replicas" | "slaves" => match self.masters.get(&s(&argv[2])) {
                None => out.error(NO_SUCH_MASTER),
                Some(m) => {
                    let shown: Vec<&Instance> = m
                        .replicas
                        .values()
                        .filter(|r| r.replica_announced)
                        .collect();
                    out.array(shown.len());
                    for r in shown {
                        self.describe_instance(now, m, r, out);
                    }
                }
            },
            "sentinels" => match self.masters.get(&s(&argv[2])) {
                None => out.error(NO_SUCH_MASTER),
                Some(m) => {
                    out.array(m.sentinels.len());
                    for r in m.sentinels.values() {
                        self.describe_instance(now, m, r, out);
                    }
                }
            },
            "get-master-addr-by-name" => match self.masters.get(&s(&argv[2])) {
                None => out.null_array(),
                Some(m) => {
                    let (h, p) = m.current_address();
                    out.array(2);
                    out.bulk(self.announce_host(&h).as_bytes());
                    out.bulk(p.to_string().as_bytes());
                }
            },
            "is-master-down-by-addr" => self.is_master_down_by_addr(now, argv, out),
            "reset" => {
                let pattern = argv[2].clone();
                let names: Vec<String> = self
                    .masters
                    .keys()
                    .filter(|n| glob_match(&pattern, n.as_bytes()))
                    .cloned()
                    .collect();
                for n in &names {
                    self.reset_master(now, n, true, true);
                }
                if !names.is_empty() {
                    self.out.push(Action::SaveConfig);
                }
                out.int(names.len() as i64);
            }
            "failover" => {
                let coordinated = match argv.get(3) {
                    None => false,
                    Some(a) if argv.len() == 4 && a.eq_ignore_ascii_case(b"coordinated") => true,
                    Some(_) => {
                        out.error("ERR wrong number of arguments for 'sentinel|failover' command");
                        return;
                    }
                };
                self.forced_failover(now, &s(&argv[2]), coordinated, out)
            }
            "ckquorum" => match self.masters.get(&s(&argv[2])) {
                None => out.error(NO_SUCH_MASTER),
                Some(m) => {
                    let usable = 1 + m
                        .sentinels
                        .values()
                        .filter(|x| !x.flags.has(Flags::S_DOWN | Flags::O_DOWN))
                        .count();
                    let voters = m.sentinels.len() + 1;
                    let majority = voters / 2 + 1;
                    let mut problems = Vec::new();
                    if usable < m.quorum as usize {
                        problems.push("Not enough available Sentinels to reach the specified quorum for this master");
                    }
                    if usable < majority {
                        problems.push("Not enough available Sentinels to reach the majority and authorize a failover");
                    }
                    if problems.is_empty() {
                        out.simple(&format!("OK {usable} usable Sentinels. Quorum and failover authorization can be reached"));
                    } else {
                        out.error(&format!(
                            "NOQUORUM {usable} usable Sentinels. {}",
                            problems.join(". ")
                        ));
                    }
                }
            },
            "monitor" => self.monitor(now, argv, out),
            "remove" => {
                let name = s(&argv[2]);
                if !self.masters.contains_key(&name) {
                    out.error(NO_SUCH_MASTER);
                    return;
                }
                self.event_master(&name, Level::Warning, "-monitor", "");
                self.reset_master(now, &name, true, false);
                self.masters.remove(&name);
                self.links.retain(|_, o| o.master != name);
                self.out.push(Action::SaveConfig);
                out.ok();
            }
            "set" => self.set(now, argv, out),
            "config" => self.config_command(argv, out),
            "flushconfig" => {
                self.out.push(Action::SaveConfig);
                out.ok();
            }
            "myid" => out.bulk(self.myid.as_bytes()),
            "info-cache" => self.info_cache(now, argv, out),
            "pending-scripts" => {
                out.array(self.scripts.len());
                for j in &self.scripts {
                    out.map(5);
                    out.bulk(b"argv");
                    out.array(j.argv.len());
                    for a in &j.argv {
                        out.bulk(a.as_bytes());
                    }
                    out.bulk(b"flags");
                    out.bulk(if j.pid.is_some() {
                        &b"running"[..]
                    } else {
                        &b"scheduled"[..]
                    });
                    out.bulk(b"pid");
                    out.bulk(j.pid.unwrap_or(0).to_string().as_bytes());
                    match j.pid {
                        Some(_) => {
                            out.bulk(b"run-time");
                            out.bulk((now - j.time_ms).max(0).to_string().as_bytes());
                        }
                        None => {
                            out.bulk(b"run-delay");
                            let delay = if j.time_ms == 0 {
                                0
                            } else {
                                (j.time_ms - now).max(0)
                            };
                            out.bulk(delay.to_string().as_bytes());
                        }
                    }
                    out.bulk(b"retry-num");
                    out.bulk(j.retry.to_string().as_bytes());
                }
            }
            "simulate-failure" => {
                let mut flags = 0;
                for a in &argv[2..] {
                    let a = s(a).to_ascii_lowercase();
                    match a.as_str() {
                        "crash-after-election" => flags |= super::SIMFAILURE_CRASH_AFTER_ELECTION,
                        "crash-after-promotion" => flags |= super::SIMFAILURE_CRASH_AFTER_PROMOTION,
                        "help" => {
                            out.array(2);
                            out.bulk(b"crash-after-election");
                            out.bulk(b"crash-after-promotion");
                            return;
                        }
                        _ => {
                            out.error("ERR Unknown failure simulation specified");
                            return;
                        }
                    }
                }
                self.simulate_failure = flags;
                out.ok();
            }
            "debug" => self.debug(argv, out),
            "help" => {
                let lines = [
                    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "CKQUORUM <master-name>",
                    "    Check if the current Sentinel configuration is able to reach the quorum",
                    "    needed to failover a master and the majority needed to authorize the",
                    "    failover.",
                    "CONFIG SET <param> <value>",
                    "    Set a global Sentinel configuration parameter.",
                    "CONFIG GET <param>",
                    "    Get global Sentinel configuration parameter.",
                    "DEBUG [<param> <value> ...]",
                    "    Show a list of configurable time parameters and their values (milliseconds).",
                    "    Or update current configurable parameters values (one or more).",
                    "GET-MASTER-ADDR-BY-NAME <master-name>",
                    "    Return the ip and port number of the master with that name.",
                    "FAILOVER <master-name>",
                    "    Manually failover a master node without asking for agreement from other",
                    "    Sentinels",
                    "FLUSHCONFIG",
                    "    Force Sentinel to rewrite its configuration on disk, including the current",
                    "    Sentinel state.",
                    "INFO-CACHE <master-name>",
                    "    Return last cached INFO output from masters and all its replicas.",
                    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
                    "    Check if the master specified by ip:port is down from current Sentinel's",
                    "    point of view.",
                    "MASTER <master-name>",
                    "    Show the state and info of the specified master.",
                    "MASTERS",
                    "    Show a list of monitored masters and their state.",
                    "MONITOR <name> <ip> <port> <quorum>",
                    "    Start monitoring a new master with the specified name, ip, port and quorum.",
                    "MYID",
                    "    Return the ID of the Sentinel instance.",
                    "PENDING-SCRIPTS",
                    "    Get pending scripts information.",
                    "REMOVE <master-name>",
                    "    Remove master from Sentinel's monitor list.",
                    "REPLICAS <master-name>",
                    "    Show a list of replicas for this master and their state.",
                    "RESET <pattern>",
                    "    Reset masters for specific master name matching this pattern.",
                    "SENTINELS <master-name>",
                    "    Show a list of Sentinel instances for this master and their state.",
                    "SET <master-name> <option> <value> [<option> <value> ...]",
                    "    Set configuration parameters for certain masters.",
                    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
                    "    Simulate a Sentinel crash.",
                    "HELP",
                    "    Prints this help.",
                ];
                out.array(lines.len());
                for l in lines {
                    out.simple(l);
                }
            }
            _ => out.error(&format!(
                "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
                s(&argv[1])
            )),
        }
    }

    fn is_master_down_by_addr(&mut self, now: i64, argv: &[Vec<u8>], out: &mut Out) {
        let (Some(port), Some(epoch)) = (int(&argv[3]), int(&argv[4])) else {
            out.error("ERR value is not an integer or out of range");
            return;
        };
        let ip = s(&argv[2]);
        let runid = s(&argv[5]);
        let found = self
            .masters
            .iter()
            .find(|(_, m)| m.inst.port as i64 == port && self.same_host(&m.inst.host, &ip))
            .map(|(n, m)| (n.clone(), m.inst.flags.has(Flags::S_DOWN)));
        let down = !self.in_tilt() && found.as_ref().is_some_and(|(_, d)| *d);
        let mut leader = None;
        let mut leader_epoch = 0;
        if let Some((name, _)) = &found {
            if runid != "*" {
                let (l, e) = self.vote_leader(now, name, epoch.max(0) as u64, &runid);
                leader = l;
                leader_epoch = e;
            }
        }
        out.array(3);
        out.int(i64::from(down));
        match &leader {
            Some(l) => out.bulk(l.as_bytes()),
            None => out.bulk(b"*"),
        }
        out.int(if leader.is_some() {
            leader_epoch as i64
        } else {
            0
        });
    }

    /// SENTINEL FAILOVER <name> [COORDINATED]: a failover without agreement; COORDINATED asks
    /// the primary itself to hand over with FAILOVER, so no acknowledged write is lost.
    fn forced_failover(&mut self, now: i64, name: &str, coordinated: bool, out: &mut Out) {
        let Some(m) = self.masters.get(name) else {
            out.error(NO_SUCH_MASTER);
            return;
        };
        if m.inst.flags.has(Flags::FAILOVER_IN_PROGRESS) {
            out.error("INPROG Failover already in progress");
            return;
        }
        if self.select_slave(now, name).is_none() {
            out.error("NOGOODSLAVE No suitable replica to promote");
            return;
        }
        self.log(
            Level::Warning,
            format!("Executing user requested FAILOVER of '{name}'"),
        );
        self.start_failover(now, name);
        if let Some(m) = self.masters.get_mut(name) {
            m.inst.flags.set(Flags::FORCE_FAILOVER);
            m.coordinated = coordinated;
        }
        out.ok();
    }

    fn monitor(&mut self, now: i64, argv: &[Vec<u8>], out: &mut Out) {
        let name = s(&argv[2]);
        let host = s(&argv[3]);
        let Some(quorum) = int(&argv[5]) else {
            out.error("ERR Invalid quorum");
            return;
        };
        let Some(port) = int(&argv[4]) else {
            out.error("ERR Invalid port");
            return;
        };
        if quorum <= 0 {
            out.error("ERR Quorum must be 1 or greater.");
            return;
        }
        // With resolve-hostnames the shell resolved the name just before: a name that never
        // resolved is refused, as Redis does.
        if !is_ip_literal(&host) && (!self.config.resolve_hostnames || self.ip_of(&host).is_none())
        {
            out.error("ERR Invalid IP address or hostname specified");
            return;
        }
        if self.masters.contains_key(&name) {
            out.error("ERR Duplicate master name.");
            return;
        }
        if !(0..=65535).contains(&port) {
            out.error("ERR Invalid port number.");
            return;
        }
        let c = MasterConfig::new(
            &name,
            &normalize_host(&host),
            port as u16,
            quorum.min(u32::MAX as i64) as u32,
        );
        let m = Master::from_config(&c, &self.timings, now);
        self.masters.insert(name.clone(), m);
        self.out.push(Action::SaveConfig);
        self.event_master(
            &name,
            Level::Warning,
            "+monitor",
            &format!("quorum {quorum}"),
        );
        out.ok();
    }

    fn set(&mut self, now: i64, argv: &[Vec<u8>], out: &mut Out) {
        let name = s(&argv[2]);
        if !self.masters.contains_key(&name) {
            out.error(NO_SUCH_MASTER);
            return;
        }
        let mut j = 3;
        let mut changed = Vec::new();
        let mut drop_links = false;
        while j < argv.len() {
            let opt = s(&argv[j]).to_ascii_lowercase();
            let remaining = argv.len() - j;
            let bad_arity = || {
                format!(
                    "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                    s(&argv[j])
                )
            };
            let needs = if opt == "rename-command" { 3 } else { 2 };
            if remaining < needs {
                out.error(&bad_arity());
                break;
            }
            let val = s(&argv[j + 1]);
            let invalid = || format!("ERR Invalid argument '{val}' for SENTINEL SET '{opt}'");
            let Some(m) = self.masters.get_mut(&name) else {
                return;
            };
            match opt.as_str() {
                "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum" => {
                    let Some(v) = int(val.as_bytes()).filter(|v| *v > 0) else {
                        out.error(&invalid());
                        break;
                    };
                    match opt.as_str() {
                        "down-after-milliseconds" => {
                            m.inst.down_after = v;
                            for r in m.replicas.values_mut() {
                                r.down_after = v;
                            }
                            for x in m.sentinels.values_mut() {
                                x.down_after = v;
                            }
                        }
                        "failover-timeout" => m.failover_timeout = v,
                        "parallel-syncs" => m.parallel_syncs = v.min(u32::MAX as i64) as u32,
                        _ => m.quorum = v.min(u32::MAX as i64) as u32,
                    }
                    changed.push(format!("{opt} {val}"));
                }
                "notification-script" | "client-reconfig-script" => {
                    if self.config.deny_scripts_reconfig {
                        out.error("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration");
                        break;
                    }
                    if !val.is_empty() && !is_executable(&val) {
                        out.error("ERR Notification script seems non existing or non executable");
                        break;
                    }
                    let v = (!val.is_empty()).then(|| val.clone());
                    if opt == "notification-script" {
                        m.notification_script = v;
                    } else {
                        m.client_reconfig_script = v;
                    }
                    changed.push(format!("{opt} {val}"));
                }
                "auth-pass" => {
                    m.auth_pass = (!val.is_empty()).then(|| val.clone());
                    drop_links = true;
                    changed.push(format!("{opt} ******"));
                }
                "auth-user" => {
                    m.auth_user = (!val.is_empty()).then(|| val.clone());
                    drop_links = true;
                    changed.push(format!("{opt} {val}"));
                }
                "master-reboot-down-after-period" => {
                    let Some(v) = int(val.as_bytes()).filter(|v| *v >= 0) else {
                        out.error(&invalid());
                        break;
                    };
                    m.master_reboot_down_after_period = v;
                    changed.push(format!("{opt} {val}"));
                }
                "rename-command" => {
                    let to = s(&argv[j + 2]);
                    m.renamed.retain(|(f, _)| !f.eq_ignore_ascii_case(&val));
                    if !val.eq_ignore_ascii_case(&to) {
                        m.renamed.push((val.clone(), to.clone()));
                    }
                    drop_links = true;
                    changed.push(format!("{opt} {val} {to}"));
                    j += 1;
                }
                _ => {
                    out.error(&bad_arity());
                    break;
                }
            }
            j += 2;
        }
        for c in &changed {
            self.event_master(&name, Level::Warning, "+set", c);
        }
        if drop_links {
            let mut whos = vec![Who::Master];
            if let Some(m) = self.masters.get(&name) {
                whos.extend(m.replicas.keys().map(|k| Who::Replica(k.clone())));
            }
            for w in whos {
                self.close_links(&name, &w, true, true);
            }
        }
        if !changed.is_empty() {
            self.out.push(Action::SaveConfig);
        }
        if j >= argv.len() {
            out.ok();
        }
        let _ = now;
    }

    fn config_command(&mut self, argv: &[Vec<u8>], out: &mut Out) {
        let sub = s(&argv[2]).to_ascii_lowercase();
        if sub == "get" && argv.len() == 4 {
            let pattern = &argv[3];
            let params = self.config_params();
            let matched: Vec<&(String, String)> = params
                .iter()
                .filter(|(k, _)| glob_match(pattern, k.as_bytes()))
                .collect();
            out.map(matched.len());
            for (k, v) in matched {
                out.bulk(k.as_bytes());
                out.bulk(v.as_bytes());
            }
        } else if sub == "set" && argv.len() == 5 {
            let param = s(&argv[3]);
            let val = s(&argv[4]);
            let bad_value =
                || format!("ERR Invalid value '{val}' to SENTINEL CONFIG SET '{param}'");
            let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            };
            match param.to_ascii_lowercase().as_str() {
                "resolve-hostnames" => match yes_no(&val) {
                    Some(b) => self.config.resolve_hostnames = b,
                    None => return out.error(&bad_value()),
                },
                "announce-hostnames" => match yes_no(&val) {
                    Some(b) => self.config.announce_hostnames = b,
                    None => return out.error(&bad_value()),
                },
                "announce-ip" => {
                    self.config.announce_ip = (!val.is_empty()).then(|| val.clone());
                }
                "announce-port" => match int(val.as_bytes()).filter(|p| (0..=65535).contains(p)) {
                    Some(p) => self.config.announce_port = p as u16,
                    None => return out.error(&bad_value()),
                },
                "sentinel-user" => {
                    self.config.sentinel_user = (!val.is_empty()).then(|| val.clone());
                }
                "sentinel-pass" => {
                    self.config.sentinel_pass = (!val.is_empty()).then(|| val.clone());
                }
                _ => {
                    return out.error(&format!(
                        "ERR Invalid argument '{param}' to SENTINEL CONFIG SET"
                    ))
                }
            }
            self.out.push(Action::SaveConfig);
            out.ok();
        } else {
            out.error(
                "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.",
            );
        }
    }

    /// The parameters SENTINEL CONFIG GET knows, with their values.
    fn config_params(&self) -> Vec<(String, String)> {
        let c = &self.config;
        let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
        vec![
            ("resolve-hostnames".into(), yn(c.resolve_hostnames)),
            ("announce-hostnames".into(), yn(c.announce_hostnames)),
            (
                "announce-ip".into(),
                c.announce_ip.clone().unwrap_or_default(),
            ),
            ("announce-port".into(), c.announce_port.to_string()),
            (
                "sentinel-user".into(),
                c.sentinel_user.clone().unwrap_or_default(),
            ),
            (
                "sentinel-pass".into(),
                c.sentinel_pass.clone().unwrap_or_default(),
            ),
        ]
    }

    fn info_cache(&self, now: i64, argv: &[Vec<u8>], out: &mut Out) {
        let wanted: Vec<String> = argv[2..].iter().map(|a| s(a)).collect();
        let names: Vec<&String> = self
            .masters
            .keys()
            .filter(|n| wanted.is_empty() || wanted.contains(n))
            .collect();
        out.array(names.len() * 2);
        for n in names {
            let m = &self.masters[n];
            out.bulk(n.as_bytes());
            out.array(1 + m.replicas.len());
            for i in std::iter::once(&m.inst).chain(m.replicas.values()) {
                out.array(2);
                out.int(if i.info_refresh == 0 {
                    0
                } else {
                    now - i.info_refresh
                });
                match &i.info {
                    Some(text) => out.bulk(text.as_bytes()),
                    None => out.null(),
                }
            }
        }
    }

    fn debug(&mut self, argv: &[Vec<u8>], out: &mut Out) {
        if argv.len() == 2 {
            let t = &self.timings;
            let rows = [
                ("INFO-PERIOD", t.info_period),
                ("PING-PERIOD", t.ping_period),
                ("ASK-PERIOD", t.ask_period),
                ("PUBLISH-PERIOD", t.publish_period),
                ("DEFAULT-DOWN-AFTER", t.default_down_after),
                ("DEFAULT-FAILOVER-TIMEOUT", t.default_failover_timeout),
                ("TILT-TRIGGER", t.tilt_trigger),
                ("TILT-PERIOD", t.tilt_period),
                ("SLAVE-RECONF-TIMEOUT", t.slave_reconf_timeout),
                ("MIN-LINK-RECONNECT-PERIOD", t.min_link_reconnect_period),
                ("ELECTION-TIMEOUT", t.election_timeout),
                ("SCRIPT-MAX-RUNTIME", t.script_max_runtime),
                ("SCRIPT-RETRY-DELAY", t.script_retry_delay),
            ];
            out.map(rows.len());
            for (k, v) in rows {
                out.bulk(k.as_bytes());
                out.bulk(v.to_string().as_bytes());
            }
            return;
        }
        let mut j = 2;
        while j < argv.len() {
            let name = s(&argv[j]).to_ascii_lowercase();
            let unknown = format!(
                "ERR Unknown option or number of arguments for SENTINEL DEBUG '{}'",
                s(&argv[j])
            );
            let Some(raw) = argv.get(j + 1) else {
                out.error(&unknown);
                return;
            };
            let Some(v) = int(raw).filter(|v| *v > 0) else {
                out.error(&format!(
                    "ERR Invalid argument '{}' for SENTINEL DEBUG '{}'",
                    s(raw),
                    s(&argv[j])
                ));
                return;
            };
            let t = &mut self.timings;
            let slot = match name.as_str() {
                "info-period" => &mut t.info_period,
                "ping-period" => &mut t.ping_period,
                "ask-period" => &mut t.ask_period,
                "publish-period" => &mut t.publish_period,
                "default-down-after" => &mut t.default_down_after,
                "default-failover-timeout" => &mut t.default_failover_timeout,
                "tilt-trigger" => &mut t.tilt_trigger,
                "tilt-period" => &mut t.tilt_period,
                "slave-reconf-timeout" => &mut t.slave_reconf_timeout,
                "min-link-reconnect-period" => &mut t.min_link_reconnect_period,
                "election-timeout" => &mut t.election_timeout,
                "script-max-runtime" => &mut t.script_max_runtime,
                "script-retry-delay" => &mut t.script_retry_delay,
                _ => {
                    out.error(&unknown);
                    return;
                }
            };
            *slot = v;
            j += 2;
        }
        out.ok();
    }

    /// The `# Sentinel` INFO section (header included, CRLF line ends).
    pub fn info_section(&self, now: i64) -> String {
        let mut t = String::from("# Sentinel\r\n");
        t.push_str(&format!("sentinel_masters:{}\r\n", self.masters.len()));
        t.push_str(&format!("sentinel_tilt:{}\r\n", u8::from(self.in_tilt())));
        let since = self.tilt_since.map_or(-1, |s| (now - s) / 1000);
        t.push_str(&format!("sentinel_tilt_since_seconds:{since}\r\n"));
        let running = self.scripts.iter().filter(|j| j.pid.is_some()).count();
        t.push_str(&format!("sentinel_running_scripts:{running}\r\n"));
        t.push_str(&format!(
            "sentinel_scripts_queue_length:{}\r\n",
            self.scripts.len()
        ));
        t.push_str(&format!(
            "sentinel_simulate_failure_flags:{}\r\n",
            self.simulate_failure
        ));
        for (n, (name, m)) in self.masters.iter().enumerate() {
            let status = if m.inst.flags.has(Flags::O_DOWN) {
                "odown"
            } else if m.inst.flags.has(Flags::S_DOWN) {
                "sdown"
            } else {
                "ok"
            };
            let (h, p) = m.current_address();
            t.push_str(&format!(
                "master{n}:name={name},status={status},address={}:{p},slaves={},sentinels={}\r\n",
                self.announce_host(&h),
                m.replicas.len(),
                m.sentinels.len() + 1
            ));
        }
        t
    }

    fn describe_master(&self, now: i64, name: &str, out: &mut Out) {
        let m = &self.masters[name];
        self.describe_instance(now, m, &m.inst, out);
    }

    /// An instance as SENTINEL MASTER/REPLICAS/SENTINELS print it: field/value pairs, all
    /// values bulk strings (a map in RESP3).
    fn describe_instance(&self, now: i64, m: &Master, i: &Instance, out: &mut Out) {
        let mut f: Vec<(&str, String)> = Vec::new();
        let (host, port) = if i.kind == Kind::Master {
            m.current_address()
        } else {
            (i.host.clone(), i.port)
        };
        let name = if i.kind == Kind::Replica {
            super::instance::replica_key(&self.announce_host(&host), port)
        } else {
            i.name.clone()
        };
        f.push(("name", name));
        f.push(("ip", self.announce_host(&host)));
        f.push(("port", port.to_string()));
        f.push(("runid", i.runid.clone().unwrap_or_default()));
        f.push(("flags", i.flags_text()));
        f.push(("link-pending-commands", i.links.pending.len().to_string()));
        f.push(("link-refcount", "1".to_string()));
        if i.kind == Kind::Master && i.flags.has(Flags::FAILOVER_IN_PROGRESS) {
            f.push(("failover-state", m.failover_state.name().to_string()));
        }
        let since = |t: i64| if t == 0 { 0 } else { now - t };
        f.push(("last-ping-sent", since(i.links.act_ping_time).to_string()));
        f.push((
            "last-ok-ping-reply",
            (now - i.links.last_avail_time).to_string(),
        ));
        f.push((
            "last-ping-reply",
            (now - i.links.last_pong_time).to_string(),
        ));
        if i.flags.has(Flags::S_DOWN) {
            f.push(("s-down-time", (now - i.s_down_since).to_string()));
        }
        if i.flags.has(Flags::O_DOWN) {
            f.push(("o-down-time", (now - i.o_down_since).to_string()));
        }
        f.push(("down-after-milliseconds", i.down_after.to_string()));
        if i.kind != Kind::Sentinel {
            f.push(("info-refresh", since(i.info_refresh).to_string()));
            f.push((
                "role-reported",
                if i.role_reported == Kind::Master {
                    "master"
                } else {
                    "slave"
                }
                .to_string(),
            ));
            f.push((
                "role-reported-time",
                (now - i.role_reported_time).to_string(),
            ));
        }
        if i.kind == Kind::Master {
            f.push(("config-epoch", m.config_epoch.to_string()));
            f.push(("num-slaves", m.replicas.len().to_string()));
            f.push(("num-other-sentinels", m.sentinels.len().to_string()));
            f.push(("quorum", m.quorum.to_string()));
            f.push(("failover-timeout", m.failover_timeout.to_string()));
            f.push(("parallel-syncs", m.parallel_syncs.to_string()));
            if let Some(sc) = &m.notification_script {
                f.push(("notification-script", sc.clone()));
            }
            if let Some(sc) = &m.client_reconfig_script {
                f.push(("client-reconfig-script", sc.clone()));
            }
        }
        if i.kind == Kind::Replica {
            f.push(("master-link-down-time", i.master_link_down_time.to_string()));
            f.push((
                "master-link-status",
                if i.slave_master_link_up { "ok" } else { "err" }.to_string(),
            ));
            f.push((
                "master-host",
                i.slave_master_host.clone().unwrap_or_else(|| "?".into()),
            ));
            f.push(("master-port", i.slave_master_port.to_string()));
            f.push(("slave-priority", i.slave_priority.to_string()));
            f.push(("slave-repl-offset", i.slave_repl_offset.to_string()));
            f.push((
                "replica-announced",
                u8::from(i.replica_announced).to_string(),
            ));
        }
        if i.kind == Kind::Sentinel {
            f.push(("last-hello-message", since(i.last_hello_time).to_string()));
            f.push((
                "voted-leader",
                i.leader.clone().unwrap_or_else(|| "?".into()),
            ));
            f.push(("voted-leader-epoch", i.leader_epoch.to_string()));
        }
        out.map(f.len());
        for (k, v) in f {
            out.bulk(k.as_bytes());
            out.bulk(v.as_bytes());
        }
    }
}

/// Redis's `stringmatchlen` glob: `*`, `?`, `[...]` (with `^` and ranges), `\` escapes.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    fn m(p: &[u8], t: &[u8]) -> bool {
        if p.is_empty() {
            return t.is_empty();
        }
        match p[0] {
            b'*' => {
                let rest = &p[1..];
                (0..=t.len()).any(|i| m(rest, &t[i..]))
            }
            b'?' => !t.is_empty() && m(&p[1..], &t[1..]),
            b'[' => {
                if t.is_empty() {
                    return false;
                }
                let mut i = 1;
                let negate = p.get(1) == Some(&b'^');
                if negate {
                    i += 1;
                }
                let mut matched = false;
                while i < p.len() && p[i] != b']' {
                    if p[i] == b'\\' && i + 1 < p.len() {
                        matched |= p[i + 1] == t[0];
                        i += 2;
                    } else if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
                        let (lo, hi) = (p[i].min(p[i + 2]), p[i].max(p[i + 2]));
                        matched |= (lo..=hi).contains(&t[0]);
                        i += 3;
                    } else {
                        matched |= p[i] == t[0];
                        i += 1;
                    }
                }
                if negate {
                    matched = !matched;
                }
                matched && m(&p[(i + 1).min(p.len())..], &t[1..])
            }
            b'\\' if p.len() > 1 => !t.is_empty() && p[1] == t[0] && m(&p[2..], &t[1..]),
            c => !t.is_empty() && c == t[0] && m(&p[1..], &t[1..]),
        }
    }
    m(pattern, text)
}
