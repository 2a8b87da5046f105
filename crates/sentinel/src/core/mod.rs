//! The Sentinel's decisions as a pure state machine: no sockets, threads or clocks.
//!
//! The shell feeds [`Input`]s (a timer tick, link events, replies, pub/sub messages) together
//! with the current time, and client commands through [`Sentinel::command`]; the core answers
//! with [`Action`]s (connect, send, close, log and publish an event, save the config). Every
//! decision depends only on these inputs and the seed of its random generator, so a whole
//! failover can be replayed step by step in a test.

pub mod commands;
pub mod config;
pub mod events;
pub mod failover;
mod hostnames;
pub mod instance;
mod monitor;

pub use config::{MasterConfig, SentinelConfig};
pub use events::{Event, Level};
pub use instance::{Flags, Instance, Kind, Master};
pub use monitor::HELLO_CHANNEL;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// Identifies one connection the core asked the shell to open.
pub type LinkId = u64;

/// Which connection to an instance a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Commands: PING, INFO, PUBLISH, the SLAVEOF transaction, IS-MASTER-DOWN-BY-ADDR.
    Command,
    /// `SUBSCRIBE __sentinel__:hello` (masters and replicas only).
    PubSub,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a TCP connection to `host:port` (resolving `host` now) and report
    /// [`Input::Connected`] or [`Input::Disconnected`].
    Connect {
        /// The new link's id.
        link: LinkId,
        /// Host name or IP, as configured or reported.
        host: String,
        /// Port.
        port: u16,
        /// Command or pub/sub link.
        kind: LinkKind,
    },
    /// Close a link; nothing more is reported for it.
    Close {
        /// The link.
        link: LinkId,
    },
    /// Write a command (RESP2 multibulk) on a link. Replies come back in order as
    /// [`Input::Reply`].
    Send {
        /// The link.
        link: LinkId,
        /// The arguments, name first.
        argv: Vec<Vec<u8>>,
    },
    /// Log the event (at its level) and publish it on the channel named as its type.
    Event(Event),
    /// A log line that is not an event.
    Log {
        /// Its level.
        level: Level,
        /// The text.
        line: String,
    },
    /// Rewrite the config file with [`Sentinel::rewrite_config`].
    SaveConfig,
    /// Run a notification or client-reconfig script with these arguments.
    RunScript {
        /// The script's path.
        path: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// What happened, as the shell reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The periodic timer (every 50–100 ms).
    Tick,
    /// A link is connected; `local_ip` is our address on it (hello messages announce it),
    /// `peer_ip` the address the instance's host name resolved to for this connection.
    Connected {
        /// The link.
        link: LinkId,
        /// Our side's IP address on this connection.
        local_ip: String,
        /// The peer's IP address on this connection.
        peer_ip: String,
    },
    /// The shell resolved a host name (`ip`), or failed to (`None`: the last known address
    /// is kept). Names in a client command are resolved before the command is handed over.
    Resolved {
        /// The name as it was given.
        host: String,
        /// Its IP address.
        ip: Option<String>,
    },
    /// A link failed to connect or was closed by the peer.
    Disconnected {
        /// The link.
        link: LinkId,
    },
    /// The next reply on a link.
    Reply {
        /// The link.
        link: LinkId,
        /// The reply (RESP2).
        reply: resp::Frame,
    },
    /// A pub/sub `message` on a pub/sub link.
    Message {
        /// The link.
        link: LinkId,
        /// The channel.
        channel: Vec<u8>,
        /// The payload.
        payload: Vec<u8>,
    },
}

/// A notification or reconfig script as SENTINEL PENDING-SCRIPTS shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptView {
    /// Its path and arguments.
    pub argv: Vec<String>,
    /// Running with this pid (0 while it starts); None while it waits.
    pub pid: Option<u32>,
    /// When it started running, or when it may start (unix ms; 0 = as soon as possible).
    pub time_ms: i64,
    /// Retries so far.
    pub retry: u32,
}

/// Timing constants (SENTINEL DEBUG can change them).
#[derive(Debug, Clone)]
pub struct Timings {
    /// INFO period to masters and replicas.
    pub info_period: i64,
    /// PING period.
    pub ping_period: i64,
    /// is-master-down-by-addr period.
    pub ask_period: i64,
    /// Hello period.
    pub publish_period: i64,
    /// Default down-after-milliseconds.
    pub default_down_after: i64,
    /// Default failover-timeout.
    pub default_failover_timeout: i64,
    /// A tick later than this after the previous one enters TILT.
    pub tilt_trigger: i64,
    /// TILT lasts this long after the last trigger.
    pub tilt_period: i64,
    /// A replica stuck in reconf_sent this long counts as done.
    pub slave_reconf_timeout: i64,
    /// Links older than this may be recycled when they look stuck.
    pub min_link_reconnect_period: i64,
    /// How long a candidate waits to be elected.
    pub election_timeout: i64,
    /// Longest a script may run.
    pub script_max_runtime: i64,
    /// First delay before a script is retried.
    pub script_retry_delay: i64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            info_period: 10_000,
            ping_period: 1_000,
            ask_period: 1_000,
            publish_period: 2_000,
            default_down_after: 30_000,
            default_failover_timeout: 180_000,
            tilt_trigger: 2_000,
            tilt_period: 30_000,
            slave_reconf_timeout: 10_000,
            min_link_reconnect_period: 15_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

/// The whole Sentinel state.
pub struct Sentinel {
    /// Our run id (40 hex chars), saved in the config file.
    pub myid: String,
    /// The global epoch.
    pub current_epoch: u64,
    /// Monitored masters by name.
    pub masters: BTreeMap<String, Master>,
    /// Global settings from the config file.
    pub config: SentinelConfig,
    /// Timing constants.
    pub timings: Timings,
    /// TILT since (ms), if in TILT.
    pub tilt_since: Option<i64>,
    /// The previous tick (ms), to detect clock jumps and stalls.
    pub previous_tick: Option<i64>,
    /// Our own port (announced when `announce-port` is 0).
    pub port: u16,
    /// SENTINEL SIMULATE-FAILURE flags.
    pub simulate_failure: u32,
    /// A simulated failure fired: the process must exit now (as Redis's `exit(99)`).
    pub crashed: bool,
    /// Our own `requirepass`, used towards other sentinels when no sentinel-pass is set.
    pub requirepass: Option<String>,
    /// The scripts the shell runs or will run (INFO, SENTINEL PENDING-SCRIPTS).
    pub scripts: Vec<ScriptView>,
    next_link: LinkId,
    rng: StdRng,
    /// Per link: which instance it belongs to (master name, instance key) and its kind.
    links: BTreeMap<LinkId, LinkOwner>,
    /// Host names (lower case) and the IP address each last resolved to, as the shell
    /// reported them: the announced address with `announce-hostnames no`, and how a name
    /// and its IP are known to be the same instance.
    resolved: BTreeMap<String, String>,
    /// Actions produced while handling the current input.
    out: Vec<Action>,
}

/// Who a link belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkOwner {
    /// The master it is about.
    pub master: String,
    /// Which instance of it.
    pub who: Who,
    /// Command or pub/sub link.
    pub kind: LinkKind,
}

/// One instance of a monitored master's group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    /// The master itself.
    Master,
    /// A replica, by `ip:port`.
    Replica(String),
    /// Another sentinel, by run id.
    Sentinel(String),
}

/// SIMULATE-FAILURE: crash right after being elected leader.
pub const SIMFAILURE_CRASH_AFTER_ELECTION: u32 = 1;
/// SIMULATE-FAILURE: crash right after promoting a replica.
pub const SIMFAILURE_CRASH_AFTER_PROMOTION: u32 = 2;

impl Sentinel {
    /// A Sentinel for `config`; `port` is our own TCP port; `seed` drives its randomness
    /// (run id when none is configured, failover start jitter).
    pub fn new(config: SentinelConfig, port: u16, seed: u64, now_ms: i64) -> Sentinel {
        let mut rng = StdRng::seed_from_u64(seed);
        let generated = config.myid.is_none();
        let myid = config.myid.clone().unwrap_or_else(|| random_id(&mut rng));
        let mut s = Sentinel {
            myid,
            current_epoch: config.current_epoch,
            masters: BTreeMap::new(),
            config,
            timings: Timings::default(),
            tilt_since: None,
            previous_tick: None,
            port,
            simulate_failure: 0,
            crashed: false,
            requirepass: None,
            scripts: Vec::new(),
            next_link: 1,
            rng,
            links: BTreeMap::new(),
            resolved: BTreeMap::new(),
            out: Vec::new(),
        };
        let masters = s.config.masters.clone();
        for m in masters {
            let master = Master::from_config(&m, &s.timings, now_ms);
            s.masters.insert(m.name.clone(), master);
        }
        if generated {
            s.out.push(Action::SaveConfig);
        }
        s
    }

    /// The actions decided since the last call (at start: `+monitor` events, a config save
    /// when the run id was generated).
    pub fn start(&mut self, now_ms: i64) -> Vec<Action> {
        self.log(Level::Warning, format!("Sentinel ID is {}", self.myid));
        let names: Vec<String> = self.masters.keys().cloned().collect();
        for name in names {
            let quorum = self.masters[&name].quorum;
            self.event_master(
                &name,
                Level::Warning,
                "+monitor",
                &format!("quorum {quorum}"),
            );
        }
        let _ = now_ms;
        std::mem::take(&mut self.out)
    }

    /// Handles one input at time `now_ms`; returns what to do.
    pub fn handle(&mut self, now_ms: i64, input: Input) -> Vec<Action> {
        match input {
            Input::Tick => self.tick(now_ms),
            Input::Connected {
                link,
                local_ip,
                peer_ip,
            } => self.link_connected(now_ms, link, local_ip, &peer_ip),
            Input::Resolved { host, ip } => self.note_resolved(&host, ip.as_deref()),
            Input::Disconnected { link } => self.link_lost(now_ms, link),
            Input::Reply { link, reply } => self.reply(now_ms, link, reply),
            Input::Message {
                link,
                channel,
                payload,
            } => self.message(now_ms, link, &channel, &payload),
        }
        std::mem::take(&mut self.out)
    }

    /// True while in TILT mode.
    pub fn in_tilt(&self) -> bool {
        self.tilt_since.is_some()
    }

    fn new_link(&mut self, owner: LinkOwner) -> LinkId {
        let id = self.next_link;
        self.next_link += 1;
        self.links.insert(id, owner);
        id
    }

    /// A random number in `0..n`.
    fn random(&mut self, n: i64) -> i64 {
        if n <= 0 {
            0
        } else {
            self.rng.gen_range(0..n)
        }
    }

    fn log(&mut self, level: Level, line: String) {
        self.out.push(Action::Log { level, line });
    }
}

/// A new random 40-hex-character id.
pub fn random_id(rng: &mut impl Rng) -> String {
    (0..40)
        .map(|_| std::char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}
