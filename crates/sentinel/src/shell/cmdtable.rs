//! The 15 commands of a sentinel-mode server, as Redis 7.0's command table describes them:
//! arity, flags, ACL categories, tips and documentation (for COMMAND, ACL CAT and dispatch).

use resp::Out;

/// One command or sub-command.
pub struct Cmd {
    /// Lower-case name (the sub-command part only, for sub-commands).
    pub name: &'static str,
    /// Redis arity: N exact, -N at least N (counting the name, and the sub-command name).
    pub arity: i32,
    /// COMMAND INFO flags.
    pub flags: &'static [&'static str],
    /// ACL categories (without `@`).
    pub acl: &'static [&'static str],
    /// COMMAND INFO tips.
    pub tips: &'static [&'static str],
    /// COMMAND DOCS summary.
    pub summary: &'static str,
    /// COMMAND DOCS since.
    pub since: &'static str,
    /// COMMAND DOCS group.
    pub group: &'static str,
    /// COMMAND DOCS complexity ("" = none).
    pub complexity: &'static str,
    /// Sub-commands of a container.
    pub subs: &'static [Cmd],
}

impl Cmd {
    /// Whether `argc` arguments fit the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity > 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// Whether the command runs before authentication.
    pub fn no_auth(&self) -> bool {
        self.flags.contains(&"no_auth")
    }

    /// The sub-command called `name` (case-insensitive).
    pub fn sub(&self, name: &[u8]) -> Option<&'static Cmd> {
        self.subs
            .iter()
            .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
    }
}

macro_rules! cmd {
    ($name:literal, $arity:expr, [$($f:literal),*], [$($a:literal),*], [$($t:literal),*], $group:literal, $since:literal, $summary:literal, $complexity:literal, $subs:expr) => {
        Cmd {
            name: $name,
            arity: $arity,
            flags: &[$($f),*],
            acl: &[$($a),*],
            tips: &[$($t),*],
            summary: $summary,
            since: $since,
            group: $group,
            complexity: $complexity,
            subs: $subs,
        }
    };
}

const ACL_SUBS: &[Cmd] = &[
    cmd!(
        "cat",
        -2,
        ["noscript", "loading", "stale"],
        ["slow"],
        [],
        "server",
        "6.0.0",
        "List the ACL categories or the commands inside a category",
        "O(1) since the categories and commands are a fixed set.",
        &[]
    ),
    cmd!(
        "deluser",
        -3,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "Remove the specified ACL users and the associated rules",
        "O(1) amortized time considering the typical user.",
        &[]
    ),
    cmd!(
        "dryrun",
        -4,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "7.0.0",
        "Returns whether the user can execute the given command without executing the command.",
        "O(1).",
        &[]
    ),
    cmd!(
        "genpass",
        -2,
        ["noscript", "loading", "stale"],
        ["slow"],
        [],
        "server",
        "6.0.0",
        "Generate a pseudorandom secure password to use for ACL users",
        "O(1)",
        &[]
    ),
    cmd!(
        "getuser",
        3,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "Get the rules for a specific ACL user",
        "O(N). Where N is the number of password, command and pattern rules that the user has.",
        &[]
    ),
    cmd!(
        "help",
        2,
        ["loading", "stale"],
        ["slow"],
        [],
        "server",
        "6.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
        &[]
    ),
    cmd!(
        "list",
        2,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "List the current ACL rules in ACL config file format",
        "O(N). Where N is the number of configured users.",
        &[]
    ),
    cmd!(
        "load",
        2,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "Reload the ACLs from the configured ACL file",
        "O(N). Where N is the number of configured users.",
        &[]
    ),
    cmd!(
        "log",
        -2,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "List latest events denied because of ACLs in place",
        "O(N) with N being the number of entries shown.",
        &[]
    ),
    cmd!(
        "save",
        2,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "Save the current ACL rules in the configured ACL file",
        "O(N). Where N is the number of configured users.",
        &[]
    ),
    cmd!(
        "setuser",
        -3,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "Modify or create the rules for a specific ACL user",
        "O(N). Where N is the number of rules provided.",
        &[]
    ),
    cmd!(
        "users",
        2,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous"],
        [],
        "server",
        "6.0.0",
        "List the username of all the configured ACL rules",
        "O(N). Where N is the number of configured users.",
        &[]
    ),
    cmd!(
        "whoami",
        2,
        ["noscript", "loading", "stale"],
        ["slow"],
        [],
        "server",
        "6.0.0",
        "Return the name of the user associated to the current connection",
        "O(1)",
        &[]
    ),
];

const CLIENT_SUBS: &[Cmd] = &[
    cmd!(
        "caching",
        3,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "6.0.0",
        "Instruct the server about tracking or not keys in the next request",
        "O(1)",
        &[]
    ),
    cmd!(
        "getname",
        2,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "2.6.9",
        "Get the current connection name",
        "O(1)",
        &[]
    ),
    cmd!(
        "getredir",
        2,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "6.0.0",
        "Get tracking notifications redirection client ID if any",
        "O(1)",
        &[]
    ),
    cmd!(
        "help",
        2,
        ["loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
        &[]
    ),
    cmd!(
        "id",
        2,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "5.0.0",
        "Returns the client ID for the current connection",
        "O(1)",
        &[]
    ),
    cmd!(
        "info",
        2,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        ["nondeterministic_output"],
        "connection",
        "6.2.0",
        "Returns information about the current client connection.",
        "O(1)",
        &[]
    ),
    cmd!(
        "kill",
        -3,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous", "connection"],
        [],
        "connection",
        "2.4.0",
        "Kill the connection of a client",
        "O(N) where N is the number of client connections",
        &[]
    ),
    cmd!(
        "list",
        -2,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous", "connection"],
        ["nondeterministic_output"],
        "connection",
        "2.4.0",
        "Get the list of client connections",
        "O(N) where N is the number of client connections",
        &[]
    ),
    cmd!(
        "no-evict",
        3,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous", "connection"],
        [],
        "connection",
        "7.0.0",
        "Set client eviction mode for the current connection",
        "O(1)",
        &[]
    ),
    cmd!(
        "pause",
        -3,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous", "connection"],
        [],
        "connection",
        "2.9.50",
        "Stop processing commands from clients for some time",
        "O(1)",
        &[]
    ),
    cmd!(
        "reply",
        3,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "3.2.0",
        "Instruct the server whether to reply to commands",
        "O(1)",
        &[]
    ),
    cmd!(
        "setname",
        3,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "2.6.9",
        "Set the current connection name",
        "O(1)",
        &[]
    ),
    cmd!(
        "tracking",
        -3,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "6.0.0",
        "Enable or disable server assisted client side caching support",
        "O(1). Some options may introduce additional complexity.",
        &[]
    ),
    cmd!(
        "trackinginfo",
        2,
        ["noscript", "loading", "stale"],
        ["slow", "connection"],
        [],
        "connection",
        "6.2.0",
        "Return information about server assisted client side caching for the current connection",
        "O(1)",
        &[]
    ),
    cmd!(
        "unblock",
        -3,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous", "connection"],
        [],
        "connection",
        "5.0.0",
        "Unblock a client blocked in a blocking command from a different connection",
        "O(log N) where N is the number of client connections",
        &[]
    ),
    cmd!(
        "unpause",
        2,
        ["admin", "noscript", "loading", "stale"],
        ["admin", "slow", "dangerous", "connection"],
        [],
        "connection",
        "6.2.0",
        "Resume processing of clients that were paused",
        "O(N) Where N is the number of paused clients",
        &[]
    ),
];

const COMMAND_SUBS: &[Cmd] = &[
    cmd!(
        "count",
        2,
        ["loading", "stale"],
        ["slow", "connection"],
        [],
        "server",
        "2.8.13",
        "Get total number of Redis commands",
        "O(1)",
        &[]
    ),
    cmd!(
        "docs",
        -2,
        ["loading", "stale"],
        ["slow", "connection"],
        ["nondeterministic_output_order"],
        "server",
        "7.0.0",
        "Get array of specific Redis command documentation",
        "O(N) where N is the number of commands to look up",
        &[]
    ),
    cmd!(
        "getkeys",
        -4,
        ["loading", "stale"],
        ["slow", "connection"],
        [],
        "server",
        "2.8.13",
        "Extract keys given a full Redis command",
        "O(N) where N is the number of arguments to the command",
        &[]
    ),
    cmd!(
        "getkeysandflags",
        -4,
        ["loading", "stale"],
        ["slow", "connection"],
        [],
        "server",
        "7.0.0",
        "Extract keys and access flags given a full Redis command",
        "O(N) where N is the number of arguments to the command",
        &[]
    ),
    cmd!(
        "help",
        2,
        ["loading", "stale"],
        ["slow", "connection"],
        [],
        "server",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
        &[]
    ),
    cmd!(
        "info",
        -2,
        ["loading", "stale"],
        ["slow", "connection"],
        ["nondeterministic_output_order"],
        "server",
        "2.8.13",
        "Get array of specific Redis command details, or all when no argument is given.",
        "O(N) where N is the number of commands to look up",
        &[]
    ),
    cmd!(
        "list",
        -2,
        ["loading", "stale"],
        ["slow", "connection"],
        ["nondeterministic_output_order"],
        "server",
        "7.0.0",
        "Get an array of Redis command names",
        "O(N) where N is the total number of Redis commands",
        &[]
    ),
];

const SENTINEL_SUBS: &[Cmd] = &[
    cmd!(
        "ckquorum",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Check for a Sentinel quorum",
        "",
        &[]
    ),
    cmd!(
        "config",
        -3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "6.2.0",
        "Configure Sentinel",
        "O(1)",
        &[]
    ),
    cmd!(
        "debug",
        -2,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "7.0.0",
        "List or update the current configurable parameters",
        "O(N) where N is the number of configurable parameters",
        &[]
    ),
    // -3 rather than Redis's 3: `SENTINEL FAILOVER <name> COORDINATED` is our extension.
    cmd!(
        "failover",
        -3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Force a failover",
        "",
        &[]
    ),
    cmd!(
        "flushconfig",
        2,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Rewrite configuration file",
        "O(1)",
        &[]
    ),
    cmd!(
        "get-master-addr-by-name",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Get port and address of a master",
        "O(1)",
        &[]
    ),
    cmd!(
        "help",
        2,
        ["loading", "stale"],
        ["slow"],
        [],
        "sentinel",
        "6.2.0",
        "Show helpful text about the different subcommands",
        "O(1)",
        &[]
    ),
    cmd!(
        "info-cache",
        -3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "3.2.0",
        "Get cached INFO from the instances in the deployment",
        "O(N) where N is the number of instances",
        &[]
    ),
    cmd!(
        "is-master-down-by-addr",
        6,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Check if a master is down",
        "O(1)",
        &[]
    ),
    cmd!(
        "master",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Shows the state of a master",
        "O(1)",
        &[]
    ),
    cmd!(
        "masters",
        2,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "List the monitored masters",
        "O(N) where N is the number of masters",
        &[]
    ),
    cmd!(
        "monitor",
        6,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Start monitoring",
        "O(1)",
        &[]
    ),
    cmd!(
        "myid",
        2,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "6.2.0",
        "Get the Sentinel instance ID",
        "O(1)",
        &[]
    ),
    cmd!(
        "pending-scripts",
        2,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Get information about pending scripts",
        "",
        &[]
    ),
    cmd!(
        "remove",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Stop monitoring",
        "O(1)",
        &[]
    ),
    cmd!(
        "replicas",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "5.0.0",
        "List the monitored replicas",
        "O(N) where N is the number of replicas",
        &[]
    ),
    cmd!(
        "reset",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Reset masters by name pattern",
        "O(N) where N is the number of monitored masters",
        &[]
    ),
    cmd!(
        "sentinels",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "List the Sentinel instances",
        "O(N) where N is the number of Sentinels",
        &[]
    ),
    cmd!(
        "set",
        -5,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.4",
        "Change the configuration of a monitored master",
        "O(1)",
        &[]
    ),
    cmd!(
        "simulate-failure",
        -3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "3.2.0",
        "Simulate failover scenarios",
        "",
        &[]
    ),
    cmd!(
        "slaves",
        3,
        ["admin"],
        ["admin", "slow", "dangerous"],
        [],
        "sentinel",
        "2.8.0",
        "List the monitored slaves",
        "O(N) where N is the number of slaves",
        &[]
    ),
];

/// The sentinel-mode command table.
pub const COMMANDS: &[Cmd] = &[
    cmd!("acl", -2, [], ["slow"], [], "server", "6.0.0", "A container for Access List Control commands ", "Depends on subcommand.", ACL_SUBS),
    cmd!("auth", -2, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], ["fast", "connection"], [], "connection", "1.0.0", "Authenticate to the server", "O(N) where N is the number of passwords defined for the user", &[]),
    cmd!("client", -2, [], ["slow"], [], "connection", "2.4.0", "A container for client connection commands", "Depends on subcommand.", CLIENT_SUBS),
    cmd!("command", -1, ["loading", "stale"], ["slow", "connection"], ["nondeterministic_output_order"], "server", "2.8.13", "Get array of Redis command details", "O(N) where N is the total number of Redis commands", COMMAND_SUBS),
    cmd!("hello", -1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], ["fast", "connection"], [], "connection", "6.0.0", "Handshake with Redis", "O(1)", &[]),
    cmd!("info", -1, ["loading", "stale"], ["slow", "dangerous"], ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], "server", "1.0.0", "Get information and statistics about the server", "O(1)", &[]),
    cmd!("ping", -1, ["fast"], ["fast", "connection"], ["request_policy:all_shards", "response_policy:all_succeeded"], "connection", "1.0.0", "Ping the server", "O(1)", &[]),
    cmd!("psubscribe", -2, ["pubsub", "noscript", "loading", "stale"], ["pubsub", "slow"], [], "pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns", "O(N) where N is the number of patterns the client is already subscribed to.", &[]),
    cmd!("publish", 3, ["pubsub", "loading", "stale", "fast"], ["pubsub", "fast"], [], "pubsub", "2.0.0", "Post a message to a channel", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", &[]),
    cmd!("punsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], ["pubsub", "slow"], [], "pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", &[]),
    cmd!("role", 1, ["noscript", "loading", "stale", "fast"], ["admin", "fast", "dangerous"], [], "server", "2.8.12", "Return the role of the instance in the context of replication", "O(1)", &[]),
    cmd!("sentinel", -2, ["admin"], ["admin", "slow", "dangerous"], [], "sentinel", "2.8.4", "A container for Sentinel commands", "Depends on subcommand.", SENTINEL_SUBS),
    cmd!("shutdown", -1, ["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"], ["admin", "slow", "dangerous"], [], "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", &[]),
    cmd!("subscribe", -2, ["pubsub", "noscript", "loading", "stale"], ["pubsub", "slow"], [], "pubsub", "2.0.0", "Listen for messages published to the given channels", "O(N) where N is the number of channels to subscribe to.", &[]),
    cmd!("unsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], ["pubsub", "slow"], [], "pubsub", "2.0.0", "Stop listening for messages posted to the given channels", "O(N) where N is the number of clients already subscribed to a channel.", &[]),
];

/// The command called `name` (case-insensitive).
pub fn lookup(name: &[u8]) -> Option<&'static Cmd> {
    COMMANDS
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// `name` or `container|sub`.
pub fn lookup_full(name: &[u8]) -> Option<(Option<&'static Cmd>, &'static Cmd)> {
    let parts: Vec<&[u8]> = name.split(|&b| b == b'|').collect();
    match parts[..] {
        [one] => lookup(one).map(|c| (None, c)),
        [base, sub] => {
            let c = lookup(base)?;
            c.sub(sub).map(|s| (Some(c), s))
        }
        _ => None,
    }
}

/// `name` or `parent|name`.
pub fn full_name(parent: Option<&Cmd>, cmd: &Cmd) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, cmd.name),
        None => cmd.name.to_string(),
    }
}

/// Every command and sub-command, parents first.
pub fn all() -> Vec<(Option<&'static Cmd>, &'static Cmd)> {
    let mut v = Vec::new();
    for c in COMMANDS {
        v.push((None, c));
        for s in c.subs {
            v.push((Some(c), s));
        }
    }
    v
}

/// One COMMAND INFO entry (10 elements), sub-commands nested.
pub fn reply_info(out: &mut Out, parent: Option<&Cmd>, cmd: &Cmd) {
    out.array(10);
    out.bulk(full_name(parent, cmd).as_bytes());
    out.int(cmd.arity as i64);
    out.set(cmd.flags.len());
    for f in cmd.flags {
        out.simple(f);
    }
    out.int(0);
    out.int(0);
    out.int(0);
    out.set(cmd.acl.len());
    for c in cmd.acl {
        out.simple(&format!("@{c}"));
    }
    out.set(cmd.tips.len());
    for t in cmd.tips {
        out.bulk(t.as_bytes());
    }
    out.set(0);
    if cmd.subs.is_empty() {
        out.set(0);
    } else {
        out.array(cmd.subs.len());
        for s in cmd.subs {
            reply_info(out, Some(cmd), s);
        }
    }
}

/// One COMMAND DOCS entry (a map), sub-commands nested. Argument lists and history are not
/// reproduced.
pub fn reply_docs(out: &mut Out, parent: Option<&Cmd>, cmd: &Cmd) {
    let deprecated = parent.is_some_and(|p| p.name == "sentinel") && cmd.name == "slaves";
    let n = 3
        + usize::from(!cmd.complexity.is_empty())
        + if deprecated { 3 } else { 0 }
        + usize::from(!cmd.subs.is_empty());
    out.map(n);
    out.bulk(b"summary");
    out.bulk(cmd.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(cmd.since.as_bytes());
    out.bulk(b"group");
    out.bulk(cmd.group.as_bytes());
    if !cmd.complexity.is_empty() {
        out.bulk(b"complexity");
        out.bulk(cmd.complexity.as_bytes());
    }
    if deprecated {
        out.bulk(b"doc_flags");
        out.set(1);
        out.simple("deprecated");
        out.bulk(b"deprecated_since");
        out.bulk(b"5.0.0");
        out.bulk(b"replaced_by");
        out.bulk(b"`SENTINEL REPLICAS`");
    }
    if !cmd.subs.is_empty() {
        out.bulk(b"subcommands");
        out.map(cmd.subs.len());
        for s in cmd.subs {
            out.bulk(full_name(Some(cmd), s).as_bytes());
            reply_docs(out, Some(cmd), s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_commands_with_their_arity() {
        assert_eq!(COMMANDS.len(), 15);
        assert_eq!(lookup(b"PING").unwrap().arity, -1);
        assert_eq!(lookup_full(b"client|setname").unwrap().1.arity, 3);
        assert!(lookup(b"get").is_none());
        assert!(lookup(b"auth").unwrap().no_auth());
        assert!(!lookup(b"ping").unwrap().no_auth());
    }
}
