//! Monitored instances: a master with its replicas and the other sentinels watching it.

use super::config::MasterConfig;
use super::{LinkId, Timings};
use std::collections::{BTreeMap, VecDeque};

/// What an instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A monitored master.
    Master,
    /// One of its replicas.
    Replica,
    /// Another sentinel monitoring it.
    Sentinel,
}

/// Instance flags, printed in SENTINEL replies in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u32);

impl Flags {
    /// Subjectively down.
    pub const S_DOWN: u32 = 1 << 0;
    /// Objectively down (masters).
    pub const O_DOWN: u32 = 1 << 1;
    /// A sentinel entry that replied the master is down.
    pub const MASTER_DOWN: u32 = 1 << 2;
    /// A failover of this master is in progress.
    pub const FAILOVER_IN_PROGRESS: u32 = 1 << 3;
    /// The replica chosen for promotion.
    pub const PROMOTED: u32 = 1 << 4;
    /// SLAVEOF sent to this replica during a failover.
    pub const RECONF_SENT: u32 = 1 << 5;
    /// It follows the promoted replica, not yet synced.
    pub const RECONF_INPROG: u32 = 1 << 6;
    /// It is synced with the promoted replica.
    pub const RECONF_DONE: u32 = 1 << 7;
    /// The failover was forced (SENTINEL FAILOVER).
    pub const FORCE_FAILOVER: u32 = 1 << 8;
    /// SCRIPT KILL was sent after a -BUSY reply.
    pub const SCRIPT_KILL_SENT: u32 = 1 << 9;
    /// The master rebooted and master-reboot-down-after-period applies.
    pub const MASTER_REBOOT: u32 = 1 << 10;

    /// True if any of `bits` is set.
    pub fn has(self, bits: u32) -> bool {
        self.0 & bits != 0
    }

    /// Sets `bits`.
    pub fn set(&mut self, bits: u32) {
        self.0 |= bits;
    }

    /// Clears `bits`.
    pub fn clear(&mut self, bits: u32) {
        self.0 &= !bits;
    }
}

/// What a pending reply on a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// Nothing to do with it (AUTH, CLIENT SETNAME, SUBSCRIBE, the SLAVEOF transaction).
    Ignore,
    /// PING.
    Ping,
    /// INFO.
    Info,
    /// PUBLISH of a hello.
    Hello,
    /// SENTINEL is-master-down-by-addr.
    IsMasterDown,
}

/// The connections to one instance and their timestamps (Redis's `instanceLink`).
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The command link, once asked for.
    pub cmd: Option<LinkId>,
    /// The command link is connected.
    pub cmd_up: bool,
    /// The pub/sub link (masters and replicas).
    pub pubsub: Option<LinkId>,
    /// The pub/sub link is connected.
    pub pubsub_up: bool,
    /// Replies expected on the command link, in order.
    pub pending: VecDeque<Pending>,
    /// When the command link connected.
    pub cmd_conn_time: i64,
    /// When the pub/sub link connected.
    pub pubsub_conn_time: i64,
    /// Last message on the pub/sub link.
    pub pubsub_last_activity: i64,
    /// Time of the oldest unanswered PING (0: none).
    pub act_ping_time: i64,
    /// When the last PING was sent.
    pub last_ping_time: i64,
    /// Last valid PING reply (PONG, LOADING, MASTERDOWN).
    pub last_avail_time: i64,
    /// Last reply of any kind.
    pub last_pong_time: i64,
    /// Last reconnection attempt.
    pub last_reconn_time: i64,
    /// Our address on the command link, announced in hellos.
    pub local_ip: String,
}

impl Links {
    /// Fresh links at `now`: a new instance counts as pinged now, so an instance that can
    /// never be reached goes down after down-after-milliseconds.
    pub fn new(now: i64) -> Links {
        Links {
            act_ping_time: now,
            last_avail_time: now,
            last_pong_time: now,
            ..Links::default()
        }
    }
}

/// One monitored instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Master, replica or sentinel.
    pub kind: Kind,
    /// Its name: the master's name, `ip:port` for a replica, the run id for a sentinel.
    pub name: String,
    /// Address as configured or reported.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Its run id, once known.
    pub runid: Option<String>,
    /// Flags.
    pub flags: Flags,
    /// Its links.
    pub links: Links,
    /// When it entered SDOWN.
    pub s_down_since: i64,
    /// When it entered ODOWN.
    pub o_down_since: i64,
    /// down-after-milliseconds (its master's).
    pub down_after: i64,
    /// When INFO last arrived (0: never).
    pub info_refresh: i64,
    /// The last INFO text.
    pub info: Option<String>,
    /// The role it reports.
    pub role_reported: Kind,
    /// When that role was first reported.
    pub role_reported_time: i64,
    /// When a hello was last published to it successfully.
    pub last_pub_time: i64,
    /// When it rebooted (MASTER_REBOOT).
    pub master_reboot_since: i64,
    // Replica fields, from its INFO.
    /// `master_link_down_since_seconds` × 1000.
    pub master_link_down_time: i64,
    /// `master_host`.
    pub slave_master_host: Option<String>,
    /// `master_port`.
    pub slave_master_port: u16,
    /// `master_link_status:up`.
    pub slave_master_link_up: bool,
    /// When its master address last changed.
    pub slave_conf_change_time: i64,
    /// When SLAVEOF was sent during a failover.
    pub slave_reconf_sent_time: i64,
    /// `slave_priority`.
    pub slave_priority: u64,
    /// `slave_repl_offset`.
    pub slave_repl_offset: u64,
    /// `replica_announced`.
    pub replica_announced: bool,
    // Sentinel fields.
    /// Last hello from it.
    pub last_hello_time: i64,
    /// Whom it voted for, and in which epoch.
    pub leader: Option<String>,
    /// The epoch of that vote.
    pub leader_epoch: u64,
    /// Last reply to is-master-down-by-addr.
    pub last_master_down_reply_time: i64,
}

impl Instance {
    /// A new instance at `now`.
    pub fn new(kind: Kind, name: String, host: &str, port: u16, down_after: i64, now: i64) -> Self {
        Instance {
            kind,
            name,
            host: host.to_string(),
            port,
            runid: None,
            flags: Flags::default(),
            links: Links::new(now),
            s_down_since: 0,
            o_down_since: 0,
            down_after,
            info_refresh: 0,
            info: None,
            role_reported: if kind == Kind::Replica {
                Kind::Replica
            } else {
                Kind::Master
            },
            role_reported_time: now,
            last_pub_time: 0,
            master_reboot_since: 0,
            master_link_down_time: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_conf_change_time: now,
            slave_reconf_sent_time: 0,
            slave_priority: 100,
            slave_repl_offset: 0,
            replica_announced: true,
            last_hello_time: 0,
            leader: None,
            leader_epoch: 0,
            last_master_down_reply_time: now,
        }
    }

    /// The command link (and for masters and replicas the pub/sub link) is missing.
    pub fn disconnected(&self) -> bool {
        !self.links.cmd_up || (self.kind != Kind::Sentinel && !self.links.pubsub_up)
    }

    /// Whether it has not been down (S or O) for `ms`.
    pub fn no_down_for(&self, ms: i64, now: i64) -> bool {
        let most_recent = self.s_down_since.max(self.o_down_since);
        most_recent == 0 || now - most_recent > ms
    }

    /// The flags as SENTINEL replies print them.
    pub fn flags_text(&self) -> String {
        let f = self.flags;
        let mut parts: Vec<&str> = Vec::new();
        if f.has(Flags::S_DOWN) {
            parts.push("s_down");
        }
        if f.has(Flags::O_DOWN) {
            parts.push("o_down");
        }
        parts.push(match self.kind {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        });
        if self.disconnected() {
            parts.push("disconnected");
        }
        let rest = [
            (Flags::MASTER_DOWN, "master_down"),
            (Flags::FAILOVER_IN_PROGRESS, "failover_in_progress"),
            (Flags::PROMOTED, "promoted"),
            (Flags::RECONF_SENT, "reconf_sent"),
            (Flags::RECONF_INPROG, "reconf_inprog"),
            (Flags::RECONF_DONE, "reconf_done"),
            (Flags::FORCE_FAILOVER, "force_failover"),
            (Flags::SCRIPT_KILL_SENT, "script_kill_sent"),
        ];
        for (bit, name) in rest {
            if f.has(bit) {
                parts.push(name);
            }
        }
        parts.join(",")
    }
}

/// Where a failover stands (`failover-state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailoverState {
    /// No failover.
    None,
    /// Waiting to be elected leader.
    WaitStart,
    /// Choosing the replica to promote.
    SelectSlave,
    /// Sending it SLAVEOF NO ONE.
    SendSlaveofNoone,
    /// Waiting for it to report `role:master`.
    WaitPromotion,
    /// Pointing the other replicas at it.
    ReconfSlaves,
    /// Switching our own view to it.
    UpdateConfig,
}

impl FailoverState {
    /// The name SENTINEL MASTER prints.
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// A monitored master with everything Sentinel keeps about it.
#[derive(Debug, Clone)]
pub struct Master {
    /// The master instance itself.
    pub inst: Instance,
    /// Sentinels needed to agree it is down.
    pub quorum: u32,
    /// `failover-timeout`.
    pub failover_timeout: i64,
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
    /// `rename-command` pairs (lower-case original → new name).
    pub renamed: Vec<(String, String)>,
    /// The epoch of the current address.
    pub config_epoch: u64,
    /// Whom we voted for as leader of this master's failover.
    pub leader: Option<String>,
    /// The epoch of that vote.
    pub leader_epoch: u64,
    /// The failover's progress.
    pub failover_state: FailoverState,
    /// The failover's epoch.
    pub failover_epoch: u64,
    /// When the last failover started (or was pushed back by a vote).
    pub failover_start_time: i64,
    /// When the failover state last changed.
    pub failover_state_change_time: i64,
    /// The start time whose "next failover delay" was already logged.
    pub failover_delay_logged: i64,
    /// The replica being promoted (`ip:port`).
    pub promoted: Option<String>,
    /// This failover asks the primary to hand over (SENTINEL FAILOVER ... COORDINATED).
    pub coordinated: bool,
    /// Replicas by `ip:port`.
    pub replicas: BTreeMap<String, Instance>,
    /// Other sentinels by run id.
    pub sentinels: BTreeMap<String, Instance>,
}

impl Master {
    /// A master as configured, with its known replicas and sentinels.
    pub fn from_config(c: &MasterConfig, t: &Timings, now: i64) -> Master {
        let down_after = c.down_after.unwrap_or(t.default_down_after);
        let mut m = Master {
            inst: Instance::new(
                Kind::Master,
                c.name.clone(),
                &c.host,
                c.port,
                down_after,
                now,
            ),
            quorum: c.quorum,
            failover_timeout: c.failover_timeout.unwrap_or(t.default_failover_timeout),
            parallel_syncs: c.parallel_syncs,
            notification_script: c.notification_script.clone(),
            client_reconfig_script: c.client_reconfig_script.clone(),
            auth_pass: c.auth_pass.clone(),
            auth_user: c.auth_user.clone(),
            master_reboot_down_after_period: c.master_reboot_down_after_period,
            renamed: c.renamed.clone(),
            config_epoch: c.config_epoch,
            leader: None,
            leader_epoch: c.leader_epoch,
            failover_state: FailoverState::None,
            failover_epoch: 0,
            failover_start_time: 0,
            failover_state_change_time: 0,
            failover_delay_logged: 0,
            promoted: None,
            coordinated: false,
            replicas: BTreeMap::new(),
            sentinels: BTreeMap::new(),
        };
        for (host, port) in &c.known_replicas {
            m.add_replica(host, *port, now);
        }
        for (host, port, runid) in &c.known_sentinels {
            let mut s = Instance::new(Kind::Sentinel, runid.clone(), host, *port, down_after, now);
            s.runid = Some(runid.clone());
            m.sentinels.insert(runid.clone(), s);
        }
        m
    }

    /// Adds a replica unless it is known; its key.
    pub fn add_replica(&mut self, host: &str, port: u16, now: i64) -> Option<String> {
        let key = replica_key(host, port);
        if self.replicas.contains_key(&key) {
            return None;
        }
        let r = Instance::new(
            Kind::Replica,
            key.clone(),
            host,
            port,
            self.inst.down_after,
            now,
        );
        self.replicas.insert(key.clone(), r);
        Some(key)
    }

    /// The address clients should use now: the promoted replica's once the failover got to
    /// reconfiguring the others.
    pub fn current_address(&self) -> (String, u16) {
        if self.inst.flags.has(Flags::FAILOVER_IN_PROGRESS)
            && self.failover_state >= FailoverState::ReconfSlaves
        {
            if let Some(p) = self.promoted.as_ref().and_then(|k| self.replicas.get(k)) {
                return (p.host.clone(), p.port);
            }
        }
        (self.inst.host.clone(), self.inst.port)
    }

    /// The name to send for command `cmd` to this master's instances (`rename-command`).
    pub fn command_name(&self, cmd: &str) -> String {
        self.renamed
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(cmd))
            .map(|(_, to)| to.clone())
            .unwrap_or_else(|| cmd.to_string())
    }
}

/// The key of a replica: `ip:port`, `[ip]:port` for IPv6.
pub fn replica_key(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
