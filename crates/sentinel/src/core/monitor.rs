//! Watching instances: links and their upkeep, the periodic PING / INFO / hello, replies,
//! INFO and hello processing, SDOWN and ODOWN, asking the other sentinels, and events.

use super::events::{Event, Level};
use super::instance::{Flags, Instance, Kind, Pending};
use super::{Action, LinkId, LinkKind, LinkOwner, Sentinel, Who};

/// The channel sentinels publish their hellos on.
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";

impl Sentinel {
    /// The instance `who` of master `name`.
    pub(crate) fn inst(&self, name: &str, who: &Who) -> Option<&Instance> {
        let m = self.masters.get(name)?;
        match who {
            Who::Master => Some(&m.inst),
            Who::Replica(k) => m.replicas.get(k),
            Who::Sentinel(k) => m.sentinels.get(k),
        }
    }

    /// The instance `who` of master `name`, mutably.
    pub(crate) fn inst_mut(&mut self, name: &str, who: &Who) -> Option<&mut Instance> {
        let m = self.masters.get_mut(name)?;
        match who {
            Who::Master => Some(&mut m.inst),
            Who::Replica(k) => m.replicas.get_mut(k),
            Who::Sentinel(k) => m.sentinels.get_mut(k),
        }
    }

    /// `%@`: the description of an instance in event messages.
    pub(crate) fn describe(&self, name: &str, who: &Who) -> String {
        let Some(m) = self.masters.get(name) else {
            return String::new();
        };
        let mhost = self.announce_host(&m.inst.host);
        match who {
            Who::Master => format!("master {} {} {}", name, mhost, m.inst.port),
            Who::Replica(_) | Who::Sentinel(_) => {
                let Some(i) = self.inst(name, who) else {
                    return String::new();
                };
                let kind = if i.kind == Kind::Replica {
                    "slave"
                } else {
                    "sentinel"
                };
                format!(
                    "{kind} {} {} {} @ {} {} {}",
                    self.shown_name(i),
                    self.announce_host(&i.host),
                    i.port,
                    name,
                    mhost,
                    m.inst.port
                )
            }
        }
    }

    /// Emits an event about an instance: `<kind> %@[ rest]`. Warning-level events also run
    /// the master's notification script.
    pub(crate) fn event_on(&mut self, name: &str, who: &Who, level: Level, kind: &str, rest: &str) {
        let mut message = self.describe(name, who);
        if !rest.is_empty() {
            message.push(' ');
            message.push_str(rest);
        }
        if level == Level::Warning {
            if let Some(script) = self
                .masters
                .get(name)
                .and_then(|m| m.notification_script.clone())
            {
                self.out.push(Action::RunScript {
                    path: script,
                    args: vec![kind.to_string(), message.clone()],
                });
            }
        }
        self.out.push(Action::Event(Event {
            level,
            kind: kind.to_string(),
            message,
        }));
    }

    /// An event about a master.
    pub(crate) fn event_master(&mut self, name: &str, level: Level, kind: &str, rest: &str) {
        self.event_on(name, &Who::Master, level, kind, rest);
    }

    /// An event with a plain message about a master (`+switch-master ...`): warnings also run
    /// the master's notification script, as for any event tied to an instance.
    pub(crate) fn event_text(&mut self, name: &str, level: Level, kind: &str, message: String) {
        if level == Level::Warning {
            if let Some(script) = self
                .masters
                .get(name)
                .and_then(|m| m.notification_script.clone())
            {
                self.out.push(Action::RunScript {
                    path: script,
                    args: vec![kind.to_string(), message.clone()],
                });
            }
        }
        self.event_plain(level, kind, message);
    }

    /// An event with a plain message (`+tilt`).
    pub(crate) fn event_plain(&mut self, level: Level, kind: &str, message: String) {
        self.out.push(Action::Event(Event {
            level,
            kind: kind.to_string(),
            message,
        }));
    }

    /// Queues a command on an instance's command link, through the master's rename table.
    pub(crate) fn send(
        &mut self,
        name: &str,
        who: &Who,
        argv: Vec<Vec<u8>>,
        pending: Pending,
    ) -> bool {
        let renamed = {
            let Some(m) = self.masters.get(name) else {
                return false;
            };
            let mut argv = argv;
            if !matches!(who, Who::Sentinel(_)) {
                let cmd = String::from_utf8_lossy(&argv[0]).into_owned();
                argv[0] = m.command_name(&cmd).into_bytes();
            }
            argv
        };
        let Some(i) = self.inst_mut(name, who) else {
            return false;
        };
        let Some(link) = i.links.cmd.filter(|_| i.links.cmd_up) else {
            return false;
        };
        i.links.pending.push_back(pending);
        self.out.push(Action::Send {
            link,
            argv: renamed,
        });
        true
    }

    fn send_on(&mut self, link: LinkId, argv: Vec<Vec<u8>>) {
        self.out.push(Action::Send { link, argv });
    }

    // ---------------------------------------------------------------------------------------
    // The timer.
    // ---------------------------------------------------------------------------------------

    pub(crate) fn tick(&mut self, now: i64) {
        self.check_tilt(now);
        let names: Vec<String> = self.masters.keys().cloned().collect();
        let mut switch = Vec::new();
        for name in names {
            let mut whos = vec![Who::Master];
            if let Some(m) = self.masters.get(&name) {
                whos.extend(m.replicas.keys().map(|k| Who::Replica(k.clone())));
                whos.extend(m.sentinels.keys().map(|k| Who::Sentinel(k.clone())));
            }
            for who in whos {
                self.handle_instance(now, &name, &who);
            }
            if self
                .masters
                .get(&name)
                .is_some_and(|m| m.failover_state == super::instance::FailoverState::UpdateConfig)
            {
                switch.push(name);
            }
        }
        for name in switch {
            self.switch_to_promoted(now, &name);
        }
    }

    fn check_tilt(&mut self, now: i64) {
        if let Some(prev) = self.previous_tick {
            let delta = now - prev;
            if delta < 0 || delta > self.timings.tilt_trigger {
                self.tilt_since = Some(now);
                self.event_plain(Level::Warning, "+tilt", "#tilt mode entered".into());
            }
        }
        self.previous_tick = Some(now);
    }

    fn handle_instance(&mut self, now: i64, name: &str, who: &Who) {
        self.reconnect(now, name, who);
        self.send_periodic(now, name, who);
        if let Some(since) = self.tilt_since {
            if now - since < self.timings.tilt_period {
                return;
            }
            self.tilt_since = None;
            self.event_plain(Level::Warning, "-tilt", "#tilt mode exited".into());
        }
        self.check_sdown(now, name, who);
        if *who == Who::Master {
            self.check_odown(now, name);
            if self.start_failover_if_needed(now, name) {
                self.ask_other_sentinels(now, name, true);
            }
            self.failover_state_machine(now, name);
            self.ask_other_sentinels(now, name, false);
        }
    }

    /// Opens missing links, at most once per PING period per instance.
    fn reconnect(&mut self, now: i64, name: &str, who: &Who) {
        let period = self.timings.ping_period;
        let Some(i) = self.inst(name, who) else {
            return;
        };
        let need_cmd = i.links.cmd.is_none();
        let need_pubsub = i.kind != Kind::Sentinel && i.links.pubsub.is_none();
        if (!need_cmd && !need_pubsub) || now - i.links.last_reconn_time < period {
            return;
        }
        let (host, port) = (i.host.clone(), i.port);
        let mut opened = Vec::new();
        if need_cmd {
            let link = self.new_link(LinkOwner {
                master: name.to_string(),
                who: who.clone(),
                kind: LinkKind::Command,
            });
            opened.push((link, LinkKind::Command));
        }
        if need_pubsub {
            let link = self.new_link(LinkOwner {
                master: name.to_string(),
                who: who.clone(),
                kind: LinkKind::PubSub,
            });
            opened.push((link, LinkKind::PubSub));
        }
        let Some(i) = self.inst_mut(name, who) else {
            return;
        };
        i.links.last_reconn_time = now;
        // Redis pings as soon as it reconnects: a server that cannot be reached counts as
        // unanswered from this attempt on, not from its last reply.
        if need_cmd && i.links.act_ping_time == 0 {
            i.links.act_ping_time = now;
        }
        for (link, kind) in &opened {
            match kind {
                LinkKind::Command => {
                    i.links.cmd = Some(*link);
                    i.links.cmd_up = false;
                    i.links.pending.clear();
                }
                LinkKind::PubSub => {
                    i.links.pubsub = Some(*link);
                    i.links.pubsub_up = false;
                }
            }
        }
        for (link, kind) in opened {
            self.out.push(Action::Connect {
                link,
                host: host.clone(),
                port,
                kind,
            });
        }
    }

    /// The credentials to use with an instance: the master's auth-pass/auth-user for masters
    /// and replicas, sentinel-user/sentinel-pass for sentinels.
    fn auth_for(&self, name: &str, who: &Who) -> Option<Vec<Vec<u8>>> {
        let (user, pass) = match who {
            // Without sentinel-pass, our own requirepass (Redis's legacy behaviour).
            Who::Sentinel(_) => (
                self.config.sentinel_user.clone(),
                self.config
                    .sentinel_pass
                    .clone()
                    .or_else(|| self.requirepass.clone()),
            ),
            _ => {
                let m = self.masters.get(name)?;
                (m.auth_user.clone(), m.auth_pass.clone())
            }
        };
        let pass = pass?;
        Some(match user {
            Some(u) => vec![b"AUTH".to_vec(), u.into_bytes(), pass.into_bytes()],
            None => vec![b"AUTH".to_vec(), pass.into_bytes()],
        })
    }

    pub(crate) fn link_connected(&mut self, now: i64, link: LinkId, local_ip: String, peer: &str) {
        let Some(owner) = self.links.get(&link).cloned() else {
            return;
        };
        let (name, who) = (owner.master.clone(), owner.who.clone());
        // The shell resolved the instance's name for this connection: that is its address now.
        if let Some(host) = self.inst(&name, &who).map(|i| i.host.clone()) {
            self.note_resolved(&host, Some(peer));
        }
        let id8: String = self.myid.chars().take(8).collect();
        let auth = self.auth_for(&name, &who);
        let Some(i) = self.inst_mut(&name, &who) else {
            return;
        };
        match owner.kind {
            LinkKind::Command => {
                if i.links.cmd != Some(link) {
                    return;
                }
                i.links.cmd_up = true;
                i.links.cmd_conn_time = now;
                i.links.local_ip = local_ip;
                i.links.pending.clear();
                let mut cmds = Vec::new();
                if let Some(a) = auth {
                    cmds.push((a, Pending::Ignore));
                }
                cmds.push((
                    vec![
                        b"CLIENT".to_vec(),
                        b"SETNAME".to_vec(),
                        format!("sentinel-{id8}-cmd").into_bytes(),
                    ],
                    Pending::Ignore,
                ));
                for (argv, p) in cmds {
                    self.send(&name, &who, argv, p);
                }
                self.send_ping(now, &name, &who);
            }
            LinkKind::PubSub => {
                if i.links.pubsub != Some(link) {
                    return;
                }
                i.links.pubsub_up = true;
                i.links.pubsub_conn_time = now;
                i.links.pubsub_last_activity = now;
                let m = &self.masters[&name];
                let mut cmds = Vec::new();
                if let Some(a) = auth {
                    cmds.push(a);
                }
                cmds.push(vec![
                    m.command_name("CLIENT").into_bytes(),
                    b"SETNAME".to_vec(),
                    format!("sentinel-{id8}-pubsub").into_bytes(),
                ]);
                cmds.push(vec![
                    m.command_name("SUBSCRIBE").into_bytes(),
                    HELLO_CHANNEL.as_bytes().to_vec(),
                ]);
                for argv in cmds {
                    self.send_on(link, argv);
                }
            }
        }
    }

    pub(crate) fn link_lost(&mut self, _now: i64, link: LinkId) {
        let Some(owner) = self.links.remove(&link) else {
            return;
        };
        if let Some(i) = self.inst_mut(&owner.master, &owner.who) {
            match owner.kind {
                LinkKind::Command if i.links.cmd == Some(link) => {
                    i.links.cmd = None;
                    i.links.cmd_up = false;
                    i.links.pending.clear();
                }
                LinkKind::PubSub if i.links.pubsub == Some(link) => {
                    i.links.pubsub = None;
                    i.links.pubsub_up = false;
                }
                _ => {}
            }
        }
    }

    /// Asks the shell to close an instance's links (they reopen at the next reconnect).
    pub(crate) fn close_links(&mut self, name: &str, who: &Who, cmd: bool, pubsub: bool) {
        let Some(i) = self.inst_mut(name, who) else {
            return;
        };
        let mut closed = Vec::new();
        if cmd {
            if let Some(l) = i.links.cmd.take() {
                closed.push(l);
            }
            i.links.cmd_up = false;
            i.links.pending.clear();
        }
        if pubsub {
            if let Some(l) = i.links.pubsub.take() {
                closed.push(l);
            }
            i.links.pubsub_up = false;
        }
        for link in closed {
            self.links.remove(&link);
            self.out.push(Action::Close { link });
        }
    }

    fn send_ping(&mut self, now: i64, name: &str, who: &Who) -> bool {
        if !self.send(name, who, vec![b"PING".to_vec()], Pending::Ping) {
            return false;
        }
        if let Some(i) = self.inst_mut(name, who) {
            i.links.last_ping_time = now;
            if i.links.act_ping_time == 0 {
                i.links.act_ping_time = now;
            }
        }
        true
    }

    fn send_periodic(&mut self, now: i64, name: &str, who: &Who) {
        let Some(m) = self.masters.get(name) else {
            return;
        };
        let Some(i) = self.inst(name, who) else {
            return;
        };
        if i.disconnected() || i.links.pending.len() >= 100 {
            return;
        }
        let mut info_period = self.timings.info_period;
        if i.kind == Kind::Replica
            && (m
                .inst
                .flags
                .has(Flags::O_DOWN | Flags::FAILOVER_IN_PROGRESS)
                || i.master_link_down_time != 0)
        {
            info_period = 1000;
        }
        let ping_period = self.timings.ping_period.min(i.down_after);
        let want_info =
            i.kind != Kind::Sentinel && (i.info_refresh == 0 || now - i.info_refresh > info_period);
        let want_ping = now - i.links.last_pong_time > ping_period
            && now - i.links.last_ping_time > ping_period / 2;
        let want_hello = now - i.last_pub_time > self.timings.publish_period;
        if want_info {
            self.send(name, who, vec![b"INFO".to_vec()], Pending::Info);
        }
        if want_ping {
            self.send_ping(now, name, who);
        }
        if want_hello {
            self.send_hello(name, who);
        }
    }

    /// Publishes our hello to an instance: our address, id and epoch, and the master's
    /// current address and config epoch.
    pub(crate) fn send_hello(&mut self, name: &str, who: &Who) -> bool {
        let Some(m) = self.masters.get(name) else {
            return false;
        };
        let Some(i) = self.inst(name, who) else {
            return false;
        };
        if i.disconnected() {
            return false;
        }
        let ip = self
            .config
            .announce_ip
            .clone()
            .unwrap_or_else(|| i.links.local_ip.clone());
        let port = if self.config.announce_port != 0 {
            self.config.announce_port
        } else {
            self.port
        };
        let (mhost, mport) = m.current_address();
        let payload = format!(
            "{ip},{port},{},{},{},{},{},{}",
            self.myid,
            self.current_epoch,
            name,
            self.announce_host(&mhost),
            mport,
            m.config_epoch
        );
        self.send(
            name,
            who,
            vec![
                b"PUBLISH".to_vec(),
                HELLO_CHANNEL.as_bytes().to_vec(),
                payload.into_bytes(),
            ],
            Pending::Hello,
        )
    }

    /// After a promotion every instance of the master gets our hello at the next tick.
    pub(crate) fn force_hello(&mut self, name: &str) {
        let publish = self.timings.publish_period;
        if let Some(m) = self.masters.get_mut(name) {
            m.inst.last_pub_time -= publish + 1;
            for r in m.replicas.values_mut() {
                r.last_pub_time -= publish + 1;
            }
            for s in m.sentinels.values_mut() {
                s.last_pub_time -= publish + 1;
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Replies and messages.
    // ---------------------------------------------------------------------------------------

    pub(crate) fn reply(&mut self, now: i64, link: LinkId, reply: resp::Frame) {
        let Some(owner) = self.links.get(&link).cloned() else {
            return;
        };
        if owner.kind == LinkKind::PubSub {
            if let Some(i) = self.inst_mut(&owner.master, &owner.who) {
                i.links.pubsub_last_activity = now;
            }
            return;
        }
        let (name, who) = (owner.master, owner.who);
        let Some(i) = self.inst_mut(&name, &who) else {
            return;
        };
        if i.links.cmd != Some(link) {
            return;
        }
        let pending = i.links.pending.pop_front().unwrap_or(Pending::Ignore);
        // Only a PING's reply counts, as in Redis: were every reply to count, a busy link
        // (INFO, hellos) would put the next PING off and leave `last_avail_time` older than
        // down-after-milliseconds while the instance answers everything.
        if pending == Pending::Ping {
            i.links.last_pong_time = now;
        }
        match pending {
            Pending::Ignore => {}
            Pending::Ping => self.ping_reply(now, &name, &who, &reply),
            Pending::Info => {
                if let resp::Frame::Bulk(text) = &reply {
                    let text = String::from_utf8_lossy(text).into_owned();
                    self.refresh_from_info(now, &name, &who, text);
                }
            }
            Pending::Hello => {
                if !matches!(reply, resp::Frame::Error(_)) {
                    if let Some(i) = self.inst_mut(&name, &who) {
                        i.last_pub_time = now;
                    }
                }
            }
            Pending::IsMasterDown => self.is_master_down_reply(now, &name, &who, &reply),
        }
    }

    fn ping_reply(&mut self, now: i64, name: &str, who: &Who, reply: &resp::Frame) {
        let text = match reply {
            resp::Frame::Simple(s) | resp::Frame::Error(s) => {
                String::from_utf8_lossy(s).into_owned()
            }
            _ => String::new(),
        };
        let Some(i) = self.inst_mut(name, who) else {
            return;
        };
        if text.starts_with("PONG") || text.starts_with("LOADING") || text.starts_with("MASTERDOWN")
        {
            i.links.last_avail_time = now;
            i.links.act_ping_time = 0;
            if i.flags.has(Flags::MASTER_REBOOT) && text.starts_with("PONG") {
                i.flags.clear(Flags::MASTER_REBOOT);
            }
        } else if text.starts_with("BUSY")
            && i.flags.has(Flags::S_DOWN)
            && !i.flags.has(Flags::SCRIPT_KILL_SENT)
        {
            i.flags.set(Flags::SCRIPT_KILL_SENT);
            self.send(
                name,
                who,
                vec![b"SCRIPT".to_vec(), b"KILL".to_vec()],
                Pending::Ignore,
            );
        }
    }

    pub(crate) fn message(&mut self, now: i64, link: LinkId, channel: &[u8], payload: &[u8]) {
        let Some(owner) = self.links.get(&link).cloned() else {
            return;
        };
        if let Some(i) = self.inst_mut(&owner.master, &owner.who) {
            i.links.pubsub_last_activity = now;
        }
        if channel != HELLO_CHANNEL.as_bytes() {
            return;
        }
        let text = String::from_utf8_lossy(payload).into_owned();
        self.process_hello(now, &text);
    }

    /// A hello from another sentinel (through a monitored instance, or its PUBLISH to us).
    pub(crate) fn process_hello(&mut self, now: i64, text: &str) {
        if text.contains(&self.myid) {
            return;
        }
        let t: Vec<&str> = text.split(',').collect();
        if t.len() != 8 {
            return;
        }
        let (sip, sport, srunid) = (t[0].to_string(), parse_port(t[1]), t[2].to_string());
        let epoch: u64 = t[3].parse().unwrap_or(0);
        let name = t[4].to_string();
        let (mhost, mport) = (t[5].to_string(), parse_port(t[6]));
        let mepoch: u64 = t[7].parse().unwrap_or(0);
        let Some(m) = self.masters.get(&name) else {
            return;
        };
        let (Some(sport), Some(mport)) = (sport, mport) else {
            return;
        };
        let known = m
            .sentinels
            .get(&srunid)
            .is_some_and(|s| s.port == sport && self.same_host(&s.host, &sip));
        if !known {
            let removed = self.remove_sentinel_everywhere_in(&name, &srunid);
            if removed {
                self.event_master(
                    &name,
                    Level::Notice,
                    "+sentinel-address-switch",
                    &format!("ip {sip} port {sport} for {srunid}"),
                );
            } else if let Some(other) = self.masters[&name]
                .sentinels
                .values()
                .find(|s| s.port == sport && self.same_host(&s.host, &sip))
                .map(|s| s.name.clone())
            {
                self.event_on(
                    &name,
                    &Who::Sentinel(other.clone()),
                    Level::Notice,
                    "+sentinel-invalid-addr",
                    "",
                );
                let all: Vec<String> = self.masters.keys().cloned().collect();
                for n in all {
                    self.remove_sentinel_everywhere_in(&n, &other);
                }
            }
            let down_after = self.masters[&name].inst.down_after;
            let mut s = Instance::new(Kind::Sentinel, srunid.clone(), &sip, sport, down_after, now);
            s.runid = Some(srunid.clone());
            if let Some(m) = self.masters.get_mut(&name) {
                m.sentinels.insert(srunid.clone(), s);
            }
            if !removed {
                self.event_on(
                    &name,
                    &Who::Sentinel(srunid.clone()),
                    Level::Notice,
                    "+sentinel",
                    "",
                );
            } else {
                // The same sentinel under its new address in every master it monitors.
                let others: Vec<String> = self
                    .masters
                    .iter()
                    .filter(|(n, m)| **n != name && m.sentinels.contains_key(&srunid))
                    .map(|(n, _)| n.clone())
                    .collect();
                for n in &others {
                    self.close_links(n, &Who::Sentinel(srunid.clone()), true, true);
                    if let Some(s) = self
                        .masters
                        .get_mut(n)
                        .and_then(|m| m.sentinels.get_mut(&srunid))
                    {
                        s.host = sip.clone();
                        s.port = sport;
                    }
                }
                if !others.is_empty() {
                    self.event_on(
                        &name,
                        &Who::Sentinel(srunid.clone()),
                        Level::Notice,
                        "+sentinel-address-update",
                        &format!("{} additional matching instances", others.len()),
                    );
                }
            }
            self.out.push(Action::SaveConfig);
        }
        if epoch > self.current_epoch {
            self.current_epoch = epoch;
            self.out.push(Action::SaveConfig);
            self.event_text(&name, Level::Warning, "+new-epoch", epoch.to_string());
        }
        let Some(m) = self.masters.get(&name) else {
            return;
        };
        if m.config_epoch < mepoch {
            // A failover we run in an older epoch is superseded by this configuration. Were
            // it to go on, a hello naming the address we still hold (our failover has not
            // switched yet) would raise our config epoch without a switch, and our failover
            // would then switch to its own promoted replica under the newer epoch: a
            // configuration the other sentinels never adopt nor replace.
            if m.inst.flags.has(Flags::FAILOVER_IN_PROGRESS) && m.failover_epoch < mepoch {
                let epoch = m.failover_epoch;
                self.log(
                    Level::Warning,
                    format!(
                        "Failover of '{name}' in epoch {epoch} superseded by config epoch {mepoch}"
                    ),
                );
                self.abort_failover(now, &name);
            }
            let Some(m) = self.masters.get(&name) else {
                return;
            };
            let (old_host, old_port) = (m.inst.host.clone(), m.inst.port);
            if let Some(m) = self.masters.get_mut(&name) {
                m.config_epoch = mepoch;
            }
            if mport != old_port || !self.same_host(&mhost, &old_host) {
                self.event_on(
                    &name,
                    &Who::Sentinel(srunid.clone()),
                    Level::Warning,
                    "+config-update-from",
                    "",
                );
                self.event_text(
                    &name,
                    Level::Warning,
                    "+switch-master",
                    format!(
                        "{name} {} {old_port} {mhost} {mport}",
                        self.announce_host(&old_host)
                    ),
                );
                self.reset_master_and_change_address(now, &name, &mhost, mport);
                let script = self
                    .masters
                    .get(&name)
                    .and_then(|m| m.client_reconfig_script.clone());
                if let Some(path) = script {
                    self.out.push(Action::RunScript {
                        path,
                        args: vec![
                            name.clone(),
                            "observer".into(),
                            "start".into(),
                            self.announce_host(&old_host),
                            old_port.to_string(),
                            self.announce_host(&mhost),
                            mport.to_string(),
                        ],
                    });
                }
            }
        }
        if let Some(s) = self
            .masters
            .get_mut(&name)
            .and_then(|m| m.sentinels.get_mut(&srunid))
        {
            s.last_hello_time = now;
        }
    }

    /// Removes the sentinel with run id `runid` from master `name`; true if it was there.
    fn remove_sentinel_everywhere_in(&mut self, name: &str, runid: &str) -> bool {
        if !self
            .masters
            .get(name)
            .is_some_and(|m| m.sentinels.contains_key(runid))
        {
            return false;
        }
        self.close_links(name, &Who::Sentinel(runid.to_string()), true, true);
        if let Some(m) = self.masters.get_mut(name) {
            m.sentinels.remove(runid);
        }
        true
    }

    // ---------------------------------------------------------------------------------------
    // INFO.
    // ---------------------------------------------------------------------------------------

    fn refresh_from_info(&mut self, now: i64, name: &str, who: &Who, text: String) {
        let mut new_replicas: Vec<(String, u16)> = Vec::new();
        let mut rebooted = false;
        let mut role: Option<Kind> = None;
        {
            let reboot_period = self.masters[name].master_reboot_down_after_period;
            let Some(i) = self.inst_mut(name, who) else {
                return;
            };
            i.master_link_down_time = 0;
            for line in text.split("\r\n") {
                if let Some(id) = line.strip_prefix("run_id:") {
                    if id.len() == 40 && i.runid.as_deref() != Some(id) {
                        if i.runid.is_some() {
                            rebooted = true;
                            if i.kind == Kind::Master && reboot_period > 0 {
                                i.flags.set(Flags::MASTER_REBOOT);
                                i.master_reboot_since = now;
                            }
                        }
                        i.runid = Some(id.to_string());
                    }
                } else if i.kind == Kind::Master && line.starts_with("slave") {
                    if let Some(addr) = parse_slave_line(line) {
                        new_replicas.push(addr);
                    }
                } else if let Some(v) = line.strip_prefix("master_link_down_since_seconds:") {
                    i.master_link_down_time = v.trim().parse::<i64>().unwrap_or(0) * 1000;
                } else if line == "role:master" {
                    role = Some(Kind::Master);
                } else if line == "role:slave" {
                    role = Some(Kind::Replica);
                } else if role == Some(Kind::Replica) {
                    if let Some(h) = line.strip_prefix("master_host:") {
                        if i.slave_master_host.as_deref() != Some(h) {
                            i.slave_master_host = Some(h.to_string());
                            i.slave_conf_change_time = now;
                        }
                    } else if let Some(p) = line.strip_prefix("master_port:") {
                        let p = p.parse::<u16>().unwrap_or(0);
                        if i.slave_master_port != p {
                            i.slave_master_port = p;
                            i.slave_conf_change_time = now;
                        }
                    } else if let Some(s) = line.strip_prefix("master_link_status:") {
                        i.slave_master_link_up = s == "up";
                    } else if let Some(p) = line.strip_prefix("slave_priority:") {
                        i.slave_priority = p.parse().unwrap_or(100);
                    } else if let Some(o) = line.strip_prefix("slave_repl_offset:") {
                        i.slave_repl_offset = o.parse().unwrap_or(0);
                    } else if let Some(a) = line.strip_prefix("replica_announced:") {
                        i.replica_announced = a != "0";
                    }
                }
            }
            i.info_refresh = now;
            i.info = Some(text);
        }
        if rebooted {
            self.event_on(name, who, Level::Notice, "+reboot", "");
        }
        for (host, port) in new_replicas {
            if self.find_replica(name, &host, port).is_some() {
                continue;
            }
            let added = self
                .masters
                .get_mut(name)
                .and_then(|m| m.add_replica(&host, port, now));
            if let Some(key) = added {
                self.event_on(name, &Who::Replica(key), Level::Notice, "+slave", "");
                self.out.push(Action::SaveConfig);
            }
        }
        let Some(role) = role else {
            return;
        };
        let (configured, changed) = {
            let Some(i) = self.inst_mut(name, who) else {
                return;
            };
            let changed = i.role_reported != role;
            if changed {
                i.role_reported = role;
                i.role_reported_time = now;
                if role == Kind::Replica {
                    i.slave_conf_change_time = now;
                }
            }
            (i.kind, changed)
        };
        if changed {
            let kind = if role == configured {
                "+role-change"
            } else {
                "-role-change"
            };
            let word = if role == Kind::Master {
                "master"
            } else {
                "slave"
            };
            self.event_on(
                name,
                who,
                Level::Verbose,
                kind,
                &format!("new reported role is {word}"),
            );
        }
        if self.in_tilt() {
            return;
        }
        if configured == Kind::Replica {
            self.replica_reactions(now, name, who, role);
        }
    }

    /// What a replica's INFO makes us do: notice a promotion we asked for, turn a rogue master
    /// back into a replica, fix a replica following the wrong master, track reconfiguration.
    fn replica_reactions(&mut self, now: i64, name: &str, who: &Who, role: Kind) {
        let Who::Replica(key) = who else {
            return;
        };
        let m = &self.masters[name];
        let r = &m.replicas[key];
        let promoted = r.flags.has(Flags::PROMOTED);
        if role == Kind::Master {
            if promoted
                && m.inst.flags.has(Flags::FAILOVER_IN_PROGRESS)
                && m.failover_state == super::instance::FailoverState::WaitPromotion
            {
                self.promotion_observed(now, name, key);
            } else {
                let wait = self.timings.publish_period * 4;
                if !promoted
                    && self.master_looks_sane(now, name)
                    && r.no_down_for(wait, now)
                    && now - r.role_reported_time > wait
                {
                    let (h, p) = (m.inst.host.clone(), m.inst.port);
                    if self.send_slaveof(name, who, Some((&h, p))) {
                        self.event_on(name, who, Level::Notice, "+convert-to-slave", "");
                    }
                }
            }
            return;
        }
        let wrong_master = r.slave_master_port != m.inst.port
            || !r
                .slave_master_host
                .as_deref()
                .is_some_and(|h| self.same_host(h, &m.inst.host));
        if wrong_master {
            let wait = m.failover_timeout;
            if !promoted
                && self.master_looks_sane(now, name)
                && r.no_down_for(wait, now)
                && now - r.slave_conf_change_time > wait
            {
                let (h, p) = (m.inst.host.clone(), m.inst.port);
                if self.send_slaveof(name, who, Some((&h, p))) {
                    self.event_on(name, who, Level::Notice, "+fix-slave-config", "");
                }
            }
        }
        let m = &self.masters[name];
        let r = &m.replicas[key];
        if r.flags.has(Flags::RECONF_SENT | Flags::RECONF_INPROG) {
            let target = m
                .promoted
                .as_ref()
                .and_then(|k| m.replicas.get(k))
                .map(|p| (p.host.clone(), p.port));
            let follows = target.as_ref().is_some_and(|(h, p)| {
                r.slave_master_port == *p
                    && r.slave_master_host
                        .as_deref()
                        .is_some_and(|x| self.same_host(x, h))
            });
            let link_up = r.slave_master_link_up;
            let sent = r.flags.has(Flags::RECONF_SENT);
            if sent && follows {
                if let Some(r) = self.inst_mut(name, who) {
                    r.flags.clear(Flags::RECONF_SENT);
                    r.flags.set(Flags::RECONF_INPROG);
                }
                self.event_on(name, who, Level::Notice, "+slave-reconf-inprog", "");
            }
            let inprog = self
                .inst(name, who)
                .is_some_and(|r| r.flags.has(Flags::RECONF_INPROG));
            if inprog && link_up {
                if let Some(r) = self.inst_mut(name, who) {
                    r.flags.clear(Flags::RECONF_INPROG);
                    r.flags.set(Flags::RECONF_DONE);
                }
                self.event_on(name, who, Level::Notice, "+slave-reconf-done", "");
            }
        }
    }

    /// The master is what we think it is and recently said so. Stricter than Redis: it must
    /// also have answered a PING within down-after-milliseconds, so a master that stopped
    /// answering (and may be failed over by the others right now) is never defended by
    /// turning a freshly promoted replica back into its replica before we notice.
    pub(crate) fn master_looks_sane(&self, now: i64, name: &str) -> bool {
        let m = &self.masters[name].inst;
        m.role_reported == Kind::Master
            && !m.flags.has(Flags::S_DOWN | Flags::O_DOWN)
            && now - m.info_refresh < self.timings.info_period * 2
            && now - m.links.last_avail_time <= m.down_after
    }

    /// Sends the SLAVEOF transaction (MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL TYPE normal,
    /// CLIENT KILL TYPE pubsub, EXEC); None means SLAVEOF NO ONE.
    pub(crate) fn send_slaveof(&mut self, name: &str, who: &Who, to: Option<(&str, u16)>) -> bool {
        let disconnected = self.inst(name, who).is_none_or(|i| i.disconnected());
        if disconnected {
            return false;
        }
        let (host, port) = match to {
            Some((h, p)) => (self.announce_host(h), p.to_string()),
            None => ("NO".to_string(), "ONE".to_string()),
        };
        let cmds: Vec<Vec<Vec<u8>>> = vec![
            vec![b"MULTI".to_vec()],
            vec![b"SLAVEOF".to_vec(), host.into_bytes(), port.into_bytes()],
            vec![b"CONFIG".to_vec(), b"REWRITE".to_vec()],
            vec![
                b"CLIENT".to_vec(),
                b"KILL".to_vec(),
                b"TYPE".to_vec(),
                b"normal".to_vec(),
            ],
            vec![
                b"CLIENT".to_vec(),
                b"KILL".to_vec(),
                b"TYPE".to_vec(),
                b"pubsub".to_vec(),
            ],
            vec![b"EXEC".to_vec()],
        ];
        for argv in cmds {
            if !self.send(name, who, argv, Pending::Ignore) {
                return false;
            }
        }
        // Its role is about to change: ask INFO at the next tick rather than keep a view
        // that may be ten seconds old.
        if let Some(i) = self.inst_mut(name, who) {
            i.info_refresh = 0;
        }
        true
    }

    // ---------------------------------------------------------------------------------------
    // Down states.
    // ---------------------------------------------------------------------------------------

    fn check_sdown(&mut self, now: i64, name: &str, who: &Who) {
        let (reboot_period, info_period, min_reconnect, publish) = (
            self.masters[name].master_reboot_down_after_period,
            self.timings.info_period,
            self.timings.min_link_reconnect_period,
            self.timings.publish_period,
        );
        let Some(i) = self.inst(name, who) else {
            return;
        };
        let l = &i.links;
        let elapsed = if l.act_ping_time != 0 {
            now - l.act_ping_time
        } else if i.disconnected() {
            now - l.last_avail_time
        } else {
            0
        };
        let recycle_cmd = l.cmd_up
            && now - l.cmd_conn_time > min_reconnect
            && l.act_ping_time != 0
            && now - l.act_ping_time > i.down_after / 2
            && now - l.last_pong_time > i.down_after / 2;
        let recycle_pubsub = l.pubsub_up
            && now - l.pubsub_conn_time > min_reconnect
            && now - l.pubsub_last_activity > publish * 3;
        let down = elapsed > i.down_after
            || (i.kind == Kind::Master
                && i.role_reported == Kind::Replica
                && now - i.role_reported_time > i.down_after + 2 * info_period)
            || (i.flags.has(Flags::MASTER_REBOOT) && now - i.master_reboot_since > reboot_period);
        let was_down = i.flags.has(Flags::S_DOWN);
        if recycle_cmd || recycle_pubsub {
            self.close_links(name, who, recycle_cmd, recycle_pubsub);
        }
        if down && !was_down {
            self.event_on(name, who, Level::Warning, "+sdown", "");
            if let Some(i) = self.inst_mut(name, who) {
                i.s_down_since = now;
                i.flags.set(Flags::S_DOWN);
            }
        } else if !down && was_down {
            self.event_on(name, who, Level::Warning, "-sdown", "");
            if let Some(i) = self.inst_mut(name, who) {
                i.flags.clear(Flags::S_DOWN | Flags::SCRIPT_KILL_SENT);
            }
        }
    }

    fn check_odown(&mut self, now: i64, name: &str) {
        let m = &self.masters[name];
        let mut count = 0;
        let mut odown = false;
        if m.inst.flags.has(Flags::S_DOWN) {
            count = 1 + m
                .sentinels
                .values()
                .filter(|s| s.flags.has(Flags::MASTER_DOWN))
                .count() as u32;
            odown = count >= m.quorum;
        }
        let was = m.inst.flags.has(Flags::O_DOWN);
        let quorum = m.quorum;
        if odown && !was {
            self.event_master(
                name,
                Level::Warning,
                "+odown",
                &format!("#quorum {count}/{quorum}"),
            );
            if let Some(m) = self.masters.get_mut(name) {
                m.inst.flags.set(Flags::O_DOWN);
                m.inst.o_down_since = now;
            }
        } else if !odown && was {
            self.event_master(name, Level::Warning, "-odown", "");
            if let Some(m) = self.masters.get_mut(name) {
                m.inst.flags.clear(Flags::O_DOWN);
            }
        }
    }

    /// Asks every connected sentinel whether it thinks the master is down (and, once we are
    /// failing over, for its vote): every second while the master is SDOWN, or at once.
    fn ask_other_sentinels(&mut self, now: i64, name: &str, forced: bool) {
        let ask = self.timings.ask_period;
        let m = &self.masters[name];
        let sdown = m.inst.flags.has(Flags::S_DOWN);
        let runid = if m.failover_state > super::instance::FailoverState::None {
            self.myid.clone()
        } else {
            "*".to_string()
        };
        let (mhost, mport) = (self.announce_host(&m.inst.host), m.inst.port);
        let keys: Vec<String> = m.sentinels.keys().cloned().collect();
        for key in keys {
            let who = Who::Sentinel(key.clone());
            let Some(s) = self
                .masters
                .get_mut(name)
                .and_then(|m| m.sentinels.get_mut(&key))
            else {
                continue;
            };
            let elapsed = now - s.last_master_down_reply_time;
            if elapsed > ask * 5 {
                s.flags.clear(Flags::MASTER_DOWN);
                s.leader = None;
            }
            if !sdown || s.disconnected() || (!forced && elapsed < ask) {
                continue;
            }
            let epoch = self.current_epoch.to_string();
            self.send(
                name,
                &who,
                vec![
                    b"SENTINEL".to_vec(),
                    b"is-master-down-by-addr".to_vec(),
                    mhost.clone().into_bytes(),
                    mport.to_string().into_bytes(),
                    epoch.into_bytes(),
                    runid.clone().into_bytes(),
                ],
                Pending::IsMasterDown,
            );
        }
    }

    fn is_master_down_reply(&mut self, now: i64, name: &str, who: &Who, reply: &resp::Frame) {
        let resp::Frame::Array(items) = reply else {
            return;
        };
        let (down, leader, epoch) = match items.as_slice() {
            [resp::Frame::Integer(d), resp::Frame::Bulk(l), resp::Frame::Integer(e)] => {
                (*d, String::from_utf8_lossy(l).into_owned(), *e)
            }
            _ => return,
        };
        let sentinel_name = self
            .inst(name, who)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let mut log = None;
        if let Some(s) = self.inst_mut(name, who) {
            s.last_master_down_reply_time = now;
            if down == 1 {
                s.flags.set(Flags::MASTER_DOWN);
            } else {
                s.flags.clear(Flags::MASTER_DOWN);
            }
            if leader != "*" {
                if s.leader.as_deref() != Some(leader.as_str()) {
                    log = Some(format!("{sentinel_name} voted for {leader} {epoch}"));
                }
                s.leader = Some(leader);
                s.leader_epoch = epoch.max(0) as u64;
            }
        }
        if let Some(line) = log {
            self.log(Level::Warning, line);
        }
    }

    /// Replaces a master's address after a failover we led or learned of: the old master and
    /// the other replicas become its replicas, everything else about it starts afresh.
    pub(crate) fn reset_master_and_change_address(
        &mut self,
        now: i64,
        name: &str,
        host: &str,
        port: u16,
    ) {
        let Some(m) = self.masters.get(name) else {
            return;
        };
        let mut replicas: Vec<(String, u16)> = m
            .replicas
            .values()
            .filter(|r| !(r.port == port && self.same_host(&r.host, host)))
            .map(|r| (r.host.clone(), r.port))
            .collect();
        if !(m.inst.port == port && self.same_host(&m.inst.host, host)) {
            replicas.push((m.inst.host.clone(), m.inst.port));
        }
        self.reset_master(now, name, false, false);
        if let Some(m) = self.masters.get_mut(name) {
            m.inst.host = host.to_string();
            m.inst.port = port;
            m.inst.o_down_since = 0;
            m.inst.s_down_since = 0;
        }
        for (h, p) in replicas {
            if self.find_replica(name, &h, p).is_some() {
                continue;
            }
            let added = self
                .masters
                .get_mut(name)
                .and_then(|m| m.add_replica(&h, p, now));
            if let Some(key) = added {
                self.event_on(name, &Who::Replica(key), Level::Notice, "+slave", "");
            }
        }
        self.out.push(Action::SaveConfig);
    }

    /// SENTINEL RESET and the address change: forgets replicas (and with `sentinels` the other
    /// sentinels), the failover, the run id; the links reopen.
    pub(crate) fn reset_master(&mut self, now: i64, name: &str, sentinels: bool, event: bool) {
        let Some(m) = self.masters.get(name) else {
            return;
        };
        let replica_keys: Vec<String> = m.replicas.keys().cloned().collect();
        let sentinel_keys: Vec<String> = m.sentinels.keys().cloned().collect();
        for k in replica_keys {
            self.close_links(name, &Who::Replica(k), true, true);
        }
        if sentinels {
            for k in sentinel_keys {
                self.close_links(name, &Who::Sentinel(k), true, true);
            }
        }
        self.close_links(name, &Who::Master, true, true);
        if let Some(m) = self.masters.get_mut(name) {
            m.replicas.clear();
            if sentinels {
                m.sentinels.clear();
            }
            m.inst.flags = Flags::default();
            m.leader = None;
            m.failover_state = super::instance::FailoverState::None;
            m.failover_state_change_time = 0;
            m.failover_start_time = 0;
            m.promoted = None;
            m.coordinated = false;
            m.inst.runid = None;
            m.inst.role_reported = Kind::Master;
            m.inst.role_reported_time = now;
            m.inst.links = super::instance::Links::new(now);
            m.inst.info_refresh = 0;
            m.inst.info = None;
        }
        if event {
            self.event_master(name, Level::Warning, "+reset-master", "");
        }
    }
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok()
}

/// The replica address in an INFO `slaveN:` line: `ip=...,port=...` (or the old
/// `slaveN:<ip>,<port>,<state>` form).
fn parse_slave_line(line: &str) -> Option<(String, u16)> {
    let (head, rest) = line.split_once(':')?;
    if head.len() <= 5 || !head[5..].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if rest.contains("ip=") {
        let mut ip = None;
        let mut port = None;
        for kv in rest.split(',') {
            if let Some(v) = kv.strip_prefix("ip=") {
                ip = Some(v.to_string());
            } else if let Some(v) = kv.strip_prefix("port=") {
                port = v.parse::<u16>().ok();
            }
        }
        return Some((ip?, port?));
    }
    let mut parts = rest.split(',');
    let ip = parts.next()?.to_string();
    let port = parts.next()?.parse::<u16>().ok()?;
    Some((ip, port))
}

#[cfg(test)]
mod tests {
    use super::super::instance::FailoverState;
    use super::*;
    use crate::core::{Input, SentinelConfig};

    const T: i64 = 1_000_000;

    fn sentinel() -> Sentinel {
        let mut c = SentinelConfig::default();
        for line in [
            "monitor mymaster 127.0.0.1 6379 2",
            "down-after-milliseconds mymaster 1000",
            "failover-timeout mymaster 5000",
        ] {
            let args: Vec<String> = line.split(' ').map(str::to_string).collect();
            c.apply(&args).expect("config");
        }
        Sentinel::new(c, 26379, 1, T)
    }

    fn sends(actions: &[Action], cmd: &str) -> bool {
        actions.iter().any(
            |a| matches!(a, Action::Send { argv, .. } if argv[0].eq_ignore_ascii_case(cmd.as_bytes())),
        )
    }

    /// Found by the deployment simulation (tests/sim.rs, seed 18): we led epoch 1 and were
    /// reconfiguring the replicas when another sentinel's failover in epoch 2 went back to
    /// the address we still held. The hello raised our config epoch without a switch, and
    /// our failover then switched to its own replica under epoch 2, for good.
    #[test]
    fn a_newer_config_supersedes_a_failover_in_progress() {
        let mut s = sentinel();
        let m = s.masters.get_mut("mymaster").expect("master");
        let key = m.add_replica("127.0.0.1", 6380, T).expect("replica");
        m.replicas
            .get_mut(&key)
            .expect("replica")
            .flags
            .set(Flags::PROMOTED);
        m.promoted = Some(key);
        m.inst.flags.set(Flags::FAILOVER_IN_PROGRESS);
        m.failover_state = FailoverState::ReconfSlaves;
        m.failover_state_change_time = T;
        m.failover_epoch = 1;
        m.config_epoch = 1;
        s.current_epoch = 1;
        assert_eq!(m.current_address().1, 6380);
        let other = "b".repeat(40);
        s.process_hello(
            T,
            &format!("127.0.0.1,26380,{other},2,mymaster,127.0.0.1,6379,2"),
        );
        let m = &s.masters["mymaster"];
        assert_eq!(m.config_epoch, 2);
        assert!(!m.inst.flags.has(Flags::FAILOVER_IN_PROGRESS));
        assert_eq!(m.current_address().1, 6379);
        // Not even when the failover would have timed out.
        let actions = s.handle(T + 6_000, Input::Tick);
        assert!(!actions
            .iter()
            .any(|a| matches!(a, Action::Event(e) if e.kind == "+switch-master")));
        assert_eq!(s.masters["mymaster"].current_address().1, 6379);
    }

    /// Found by the deployment simulation (tests/sim.rs, a forced failover with the old
    /// primary alive): every reply counted as a PING's, so INFO and hello replies put PINGs
    /// off, `last_avail_time` grew older than down-after-milliseconds on a healthy master,
    /// and the old primary was left unconverted while the master did not "look sane".
    #[test]
    fn only_a_ping_reply_puts_the_next_ping_off() {
        let mut s = sentinel();
        let actions = s.handle(T, Input::Tick);
        let links: Vec<(LinkId, LinkKind)> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Connect { link, kind, .. } => Some((*link, *kind)),
                _ => None,
            })
            .collect();
        let cmd = links
            .iter()
            .find(|(_, k)| *k == LinkKind::Command)
            .expect("command link")
            .0;
        for (link, _) in &links {
            s.handle(
                T,
                Input::Connected {
                    link: *link,
                    local_ip: "127.0.0.1".into(),
                    peer_ip: "127.0.0.1".into(),
                },
            );
        }
        let reply = |s: &mut Sentinel, t: i64, f: resp::Frame| {
            s.handle(
                t,
                Input::Reply {
                    link: cmd,
                    reply: f,
                },
            )
        };
        // CLIENT SETNAME, then the PING.
        reply(&mut s, T + 10, resp::Frame::Simple(b"OK".to_vec()));
        reply(&mut s, T + 10, resp::Frame::Simple(b"PONG".to_vec()));
        let actions = s.handle(T + 50, Input::Tick);
        assert!(sends(&actions, "INFO") && sends(&actions, "PUBLISH"));
        assert!(!sends(&actions, "PING"));
        reply(
            &mut s,
            T + 900,
            resp::Frame::Bulk(b"role:master\r\n".to_vec()),
        );
        reply(&mut s, T + 900, resp::Frame::Integer(1));
        let actions = s.handle(T + 1_100, Input::Tick);
        assert!(sends(&actions, "PING"), "{actions:?}");
    }
}
