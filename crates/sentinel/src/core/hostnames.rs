//! Host names (`resolve-hostnames yes`) and how addresses are announced.
//!
//! As in Redis 7.0, an instance keeps the name it was given, and the address the name
//! resolves to is what Sentinel shows (SENTINEL replies, events, hellos, the rewritten config)
//! unless `announce-hostnames yes`; a name and its IP denote the same instance. The core does
//! no lookups: the shell reports the peer address of every connection it opens
//! ([`Input::Connected`](super::Input::Connected)) and resolves the names of the config file
//! and of client commands ([`Input::Resolved`](super::Input::Resolved)). A failed lookup
//! forgets nothing and makes no two names differ: names equal as strings are always the same.

use super::config::{is_ip_literal, normalize_host};
use super::instance::{replica_key, Instance, Kind};
use super::Sentinel;

/// The most host names remembered; past it, names no instance uses are forgotten.
const MAX_RESOLVED: usize = 1024;

impl Sentinel {
    /// Records that `host` resolved to `ip` (or failed to: `None`, the last address is kept).
    pub fn note_resolved(&mut self, host: &str, ip: Option<&str>) {
        let Some(ip) = ip else {
            return;
        };
        if host.is_empty() || is_ip_literal(host) || !is_ip_literal(ip) {
            return;
        }
        let key = host.to_ascii_lowercase();
        if !self.resolved.contains_key(&key) && self.resolved.len() >= MAX_RESOLVED {
            let used = self.hosts_in_use();
            self.resolved.retain(|h, _| used.contains(h));
            if self.resolved.len() >= MAX_RESOLVED {
                return;
            }
        }
        self.resolved.insert(key, normalize_host(ip));
    }

    /// The IP address of `host`: itself for an IP literal, else the last one it resolved to.
    pub fn ip_of(&self, host: &str) -> Option<String> {
        if is_ip_literal(host) {
            return Some(normalize_host(host));
        }
        self.resolved.get(&host.to_ascii_lowercase()).cloned()
    }

    /// How an address is shown: as given with `announce-hostnames yes`, else the IP it
    /// resolves to (the name itself while it never resolved).
    pub(crate) fn announce_host(&self, host: &str) -> String {
        if self.config.announce_hostnames {
            return host.to_string();
        }
        self.ip_of(host).unwrap_or_else(|| host.to_string())
    }

    /// Whether two addresses denote the same host: equal names, or names resolving to the
    /// same IP.
    pub(crate) fn same_host(&self, a: &str, b: &str) -> bool {
        if a.eq_ignore_ascii_case(b) {
            return true;
        }
        match (self.ip_of(a), self.ip_of(b)) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(&y),
            _ => false,
        }
    }

    /// The name an instance is shown under: `ip:port` (announced address) for a replica.
    pub(crate) fn shown_name(&self, i: &Instance) -> String {
        if i.kind == Kind::Replica {
            replica_key(&self.announce_host(&i.host), i.port)
        } else {
            i.name.clone()
        }
    }

    /// The key of master `name`'s replica at `host:port`, the address given by name or IP.
    pub(crate) fn find_replica(&self, name: &str, host: &str, port: u16) -> Option<String> {
        let m = self.masters.get(name)?;
        let key = replica_key(host, port);
        if m.replicas.contains_key(&key) {
            return Some(key);
        }
        m.replicas
            .iter()
            .find(|(_, r)| r.port == port && self.same_host(&r.host, host))
            .map(|(k, _)| k.clone())
    }

    /// The host names (not IP literals) the instances use, for the shell to resolve at start.
    pub fn hosts_to_resolve(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for m in self.masters.values() {
            let all = std::iter::once(&m.inst)
                .chain(m.replicas.values())
                .chain(m.sentinels.values());
            for i in all {
                if !is_ip_literal(&i.host) && !v.iter().any(|h| h.eq_ignore_ascii_case(&i.host)) {
                    v.push(i.host.clone());
                }
            }
        }
        v
    }

    /// Lower-cased names used by instances (their addresses and their replicas' masters).
    fn hosts_in_use(&self) -> std::collections::BTreeSet<String> {
        let mut used = std::collections::BTreeSet::new();
        for m in self.masters.values() {
            let all = std::iter::once(&m.inst)
                .chain(m.replicas.values())
                .chain(m.sentinels.values());
            for i in all {
                used.insert(i.host.to_ascii_lowercase());
                if let Some(h) = &i.slave_master_host {
                    used.insert(h.to_ascii_lowercase());
                }
            }
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{MasterConfig, SentinelConfig};
    use super::super::instance::Flags;
    use super::super::{Action, Input, LinkKind, Sentinel};
    use resp::{Frame, Out, Protocol};

    const ID: &str = "0123456789012345678901234567890123456789";

    fn sentinel(host: &str, announce: bool) -> Sentinel {
        let mut c = SentinelConfig {
            myid: Some(ID.into()),
            resolve_hostnames: true,
            announce_hostnames: announce,
            ..SentinelConfig::default()
        };
        c.masters.push(MasterConfig::new("mymaster", host, 6380, 2));
        Sentinel::new(c, 26380, 1, 1_000)
    }

    fn command(s: &mut Sentinel, args: &[&str]) -> (Frame, Vec<Action>) {
        let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mut out = Out::new(Protocol::Resp2);
        let actions = s.command(2_000, &argv, &mut out);
        let (frame, _) = resp::parse_frame(&out.buf).unwrap().unwrap();
        (frame, actions)
    }

    fn bulks(f: &Frame) -> Vec<String> {
        match f {
            Frame::Array(items) => items
                .iter()
                .map(|i| match i {
                    Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                    Frame::Integer(n) => n.to_string(),
                    other => format!("{other:?}"),
                })
                .collect(),
            other => vec![format!("{other:?}")],
        }
    }

    fn events(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event(e) => Some(e.log_line()),
                _ => None,
            })
            .collect()
    }

    fn ip_field(s: &mut Sentinel) -> String {
        let (f, _) = command(s, &["SENTINEL", "MASTER", "mymaster"]);
        let v = bulks(&f);
        let at = v.iter().position(|x| x == "ip").unwrap();
        v[at + 1].clone()
    }

    #[test]
    fn a_resolved_name_is_announced_by_its_address() {
        let mut s = sentinel("db.example", false);
        assert_eq!(s.hosts_to_resolve(), vec!["db.example".to_string()]);
        s.note_resolved("db.example", Some("10.0.0.7"));
        let ev = events(&s.start(1_000));
        assert_eq!(ev, vec!["+monitor master mymaster 10.0.0.7 6380 quorum 2"]);
        assert_eq!(ip_field(&mut s), "10.0.0.7");
        let (f, _) = command(&mut s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
        assert_eq!(bulks(&f), vec!["10.0.0.7", "6380"]);
        let lines: Vec<String> = s.state_lines().into_iter().map(|(_, l)| l).collect();
        assert!(lines.contains(&"sentinel monitor mymaster 10.0.0.7 6380 2".to_string()));
        // announce-hostnames yes: the name everywhere.
        s.config.announce_hostnames = true;
        assert_eq!(ip_field(&mut s), "db.example");
        let (f, _) = command(&mut s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
        assert_eq!(bulks(&f), vec!["db.example", "6380"]);
        let lines: Vec<String> = s.state_lines().into_iter().map(|(_, l)| l).collect();
        assert!(lines.contains(&"sentinel monitor mymaster db.example 6380 2".to_string()));
    }

    #[test]
    fn the_connection_tells_the_address_and_hellos_announce_it() {
        let mut s = sentinel("db.example", false);
        s.start(1_000);
        assert_eq!(ip_field(&mut s), "db.example", "never resolved yet");
        let actions = s.handle(1_100, Input::Tick);
        let links: Vec<(u64, LinkKind)> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Connect {
                    link, host, kind, ..
                } => {
                    assert_eq!(host, "db.example", "the shell resolves at each attempt");
                    Some((*link, *kind))
                }
                _ => None,
            })
            .collect();
        assert_eq!(links.len(), 2);
        for (link, _) in &links {
            s.handle(
                1_200,
                Input::Connected {
                    link: *link,
                    local_ip: "10.0.0.1".into(),
                    peer_ip: "10.0.0.7".into(),
                },
            );
        }
        assert_eq!(ip_field(&mut s), "10.0.0.7");
        // The next hello names the master by its address.
        let actions = s.handle(5_000, Input::Tick);
        let hello = actions.iter().find_map(|a| match a {
            Action::Send { argv, .. } if argv[0] == b"PUBLISH" => {
                Some(String::from_utf8_lossy(&argv[2]).into_owned())
            }
            _ => None,
        });
        assert_eq!(
            hello.as_deref(),
            Some(format!("10.0.0.1,26380,{ID},0,mymaster,10.0.0.7,6380,0").as_str())
        );
        // A failed lookup later keeps the address.
        s.handle(
            6_000,
            Input::Resolved {
                host: "DB.example".into(),
                ip: None,
            },
        );
        assert_eq!(ip_field(&mut s), "10.0.0.7");
    }

    #[test]
    fn a_name_and_its_address_are_the_same_instance() {
        let mut s = sentinel("db.example", false);
        s.start(1_000);
        s.masters
            .get_mut("mymaster")
            .unwrap()
            .inst
            .flags
            .set(Flags::S_DOWN);
        let ask = |s: &mut Sentinel, h: &str| {
            let (f, _) = command(
                s,
                &["SENTINEL", "is-master-down-by-addr", h, "6380", "0", "*"],
            );
            bulks(&f)[0].clone()
        };
        // Unresolved: only the name itself (any case) matches.
        assert_eq!(ask(&mut s, "DB.EXAMPLE"), "1");
        assert_eq!(ask(&mut s, "10.0.0.7"), "0");
        assert!(s.same_host("db.example", "db.example"));
        assert!(!s.same_host("db.example", "other.example"));
        s.note_resolved("db.example", Some("10.0.0.7"));
        s.note_resolved("alias.example", Some("10.0.0.7"));
        assert_eq!(ask(&mut s, "10.0.0.7"), "1");
        assert_eq!(ask(&mut s, "alias.example"), "1");
        assert_eq!(ask(&mut s, "10.0.0.8"), "0");
        // A failed lookup of the other name makes no difference either way.
        s.note_resolved("alias.example", None);
        assert!(s.same_host("alias.example", "db.example"));
        assert!(s.same_host("other.example", "OTHER.example"));
    }

    #[test]
    fn a_hello_naming_the_master_by_another_name_is_no_switch() {
        let mut s = sentinel("db.example", false);
        s.start(1_000);
        s.note_resolved("db.example", Some("10.0.0.7"));
        let other = "f".repeat(40);
        let hello = format!("10.0.0.2,26379,{other},1,mymaster,10.0.0.7,6380,1");
        s.process_hello(2_000, &hello);
        let ev = events(&std::mem::take(&mut s.out));
        assert!(
            ev.iter().all(|e| !e.starts_with("+switch-master")),
            "{ev:?}"
        );
        assert_eq!(s.masters["mymaster"].config_epoch, 1);
        // A real change of address is one, and the new name is shown by its address.
        s.note_resolved("db2.example", Some("10.0.0.9"));
        let hello = format!("10.0.0.2,26379,{other},2,mymaster,db2.example,6380,2");
        s.process_hello(3_000, &hello);
        let ev = events(&std::mem::take(&mut s.out));
        assert!(
            ev.contains(
                &"+slave slave 10.0.0.7:6380 10.0.0.7 6380 @ mymaster 10.0.0.9 6380".to_string()
            ),
            "{ev:?}"
        );
        assert_eq!(ip_field(&mut s), "10.0.0.9");
        // The replica that INFO reports by address is the one known by name: no duplicate.
        assert_eq!(
            s.find_replica("mymaster", "10.0.0.7", 6380),
            Some("db.example:6380".to_string())
        );
    }

    #[test]
    fn monitor_by_name_needs_a_resolved_name() {
        let mut s = sentinel("10.0.0.7", false);
        s.start(1_000);
        let (f, _) = command(
            &mut s,
            &["SENTINEL", "MONITOR", "m2", "nosuch.invalid", "6390", "2"],
        );
        assert_eq!(
            f,
            Frame::Error("ERR Invalid IP address or hostname specified".into())
        );
        s.note_resolved("cache.example", Some("10.0.0.8"));
        let (f, actions) = command(
            &mut s,
            &["SENTINEL", "MONITOR", "m2", "cache.example", "6390", "2"],
        );
        assert_eq!(f, Frame::Simple("OK".into()));
        assert_eq!(
            events(&actions),
            vec!["+monitor master m2 10.0.0.8 6390 quorum 2"]
        );
    }
}
