//! `redoubt status`: who is primary according to each sentinel, whether they agree, and each
//! server's replication link, offset and lag, as a table or JSON.

use super::client::{info_field, pairs, text, Client};
use serde_json::json;
use std::time::Duration;

/// What one sentinel says.
#[derive(Debug, Clone)]
pub struct SentinelView {
    /// `host:port`.
    pub addr: String,
    /// The primary's address it gives, if it answered.
    pub primary: Option<String>,
    /// Its flags for the primary (`master`, `s_down`, ...).
    pub flags: String,
    /// The config epoch of that address.
    pub config_epoch: String,
    /// Replicas and other sentinels it knows.
    pub replicas: String,
    /// Other sentinels it knows.
    pub sentinels: String,
    /// Why it could not be asked.
    pub error: Option<String>,
}

/// What one server says about its replication.
#[derive(Debug, Clone)]
pub struct ServerView {
    /// `host:port`.
    pub addr: String,
    /// `master` / `slave`, or `down`.
    pub role: String,
    /// For replicas: the link to its primary and which primary.
    pub link: String,
    /// Its replication offset.
    pub offset: Option<u64>,
    /// Bytes behind the primary.
    pub lag: Option<u64>,
}

/// The whole picture.
#[derive(Debug, Clone)]
pub struct Status {
    /// Each sentinel's view.
    pub sentinels: Vec<SentinelView>,
    /// The primary most sentinels name.
    pub primary: Option<String>,
    /// Whether every sentinel that answered names the same primary.
    pub agree: bool,
    /// Every server known (the primary first).
    pub servers: Vec<ServerView>,
}

fn split(addr: &str) -> Option<(String, u16)> {
    let (h, p) = addr.rsplit_once(':')?;
    Some((h.to_string(), p.parse().ok()?))
}

/// Asks the sentinels, then the servers they name (`fallback` is the primary to ask when no
/// sentinel answers).
pub fn gather(
    sentinels: &[String],
    name: &str,
    password: Option<&str>,
    fallback: Option<&str>,
) -> Status {
    let timeout = Duration::from_millis(800);
    let mut views = Vec::new();
    let mut known_servers: Vec<String> = Vec::new();
    for addr in sentinels {
        let mut v = SentinelView {
            addr: addr.clone(),
            primary: None,
            flags: String::new(),
            config_epoch: String::new(),
            replicas: String::new(),
            sentinels: String::new(),
            error: None,
        };
        let asked = split(addr)
            .ok_or_else(|| std::io::Error::other("bad address"))
            .and_then(|(h, p)| Client::connect(&h, p, None, timeout))
            .and_then(|mut c| {
                let m = c.call(&["SENTINEL", "MASTER", name])?;
                let reps = c.call(&["SENTINEL", "REPLICAS", name])?;
                Ok((m, reps))
            });
        match asked {
            Ok((m, reps)) => {
                let p = pairs(&m);
                let get = |k: &str| {
                    p.iter()
                        .find(|(x, _)| x == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                if p.is_empty() {
                    v.error = Some(text(&m));
                } else {
                    let primary = format!("{}:{}", get("ip"), get("port"));
                    known_servers.push(primary.clone());
                    v.primary = Some(primary);
                    v.flags = get("flags");
                    v.config_epoch = get("config-epoch");
                    v.replicas = get("num-slaves");
                    v.sentinels = get("num-other-sentinels");
                }
                if let resp::Frame::Array(items) = reps {
                    for r in items {
                        let p = pairs(&r);
                        let get = |k: &str| {
                            p.iter()
                                .find(|(x, _)| x == k)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        };
                        known_servers.push(format!("{}:{}", get("ip"), get("port")));
                    }
                }
            }
            Err(e) => v.error = Some(e.to_string()),
        }
        views.push(v);
    }
    let answers: Vec<&String> = views.iter().filter_map(|v| v.primary.as_ref()).collect();
    let primary = answers
        .iter()
        .max_by_key(|a| answers.iter().filter(|b| b == a).count())
        .map(|a| (*a).clone());
    let agree = !answers.is_empty() && answers.iter().all(|a| Some(*a) == primary.as_ref());
    let primary = primary.or_else(|| fallback.map(str::to_string));
    if let Some(p) = &primary {
        // The primary's own replicas, in case no sentinel listed them.
        if let Some(info) = split(p)
            .and_then(|(h, port)| Client::connect(&h, port, password, timeout).ok())
            .and_then(|mut c| c.call_text(&["INFO", "replication"]).ok())
        {
            for l in info.lines().filter(|l| l.starts_with("slave")) {
                let field = |k: &str| {
                    l.split([':', ','])
                        .find_map(|kv| kv.strip_prefix(k))
                        .map(str::to_string)
                };
                if let (Some(ip), Some(port)) = (field("ip="), field("port=")) {
                    known_servers.push(format!("{ip}:{port}"));
                }
            }
        }
    }
    let mut order: Vec<String> = Vec::new();
    if let Some(p) = &primary {
        order.push(p.clone());
    }
    for s in known_servers {
        if !order.contains(&s) {
            order.push(s);
        }
    }
    let mut servers: Vec<ServerView> = order
        .iter()
        .map(|a| server_view(a, password, timeout))
        .collect();
    let top = servers.first().and_then(|s| s.offset);
    for s in servers.iter_mut().skip(1) {
        if let (Some(t), Some(o)) = (top, s.offset) {
            s.lag = Some(t.saturating_sub(o));
        }
    }
    Status {
        sentinels: views,
        primary,
        agree,
        servers,
    }
}

fn server_view(addr: &str, password: Option<&str>, timeout: Duration) -> ServerView {
    let mut v = ServerView {
        addr: addr.to_string(),
        role: "down".into(),
        link: String::new(),
        offset: None,
        lag: None,
    };
    let info = split(addr)
        .ok_or_else(|| std::io::Error::other("bad address"))
        .and_then(|(h, p)| Client::connect(&h, p, password, timeout))
        .and_then(|mut c| c.call_text(&["INFO", "replication"]));
    if let Ok(info) = info {
        let role = info_field(&info, "role").unwrap_or_default();
        v.offset = info_field(&info, "master_repl_offset").and_then(|o| o.parse().ok());
        if role == "slave" {
            v.link = format!(
                "{} from {}:{}",
                info_field(&info, "master_link_status").unwrap_or_default(),
                info_field(&info, "master_host").unwrap_or_default(),
                info_field(&info, "master_port").unwrap_or_default()
            );
            v.offset = info_field(&info, "slave_repl_offset").and_then(|o| o.parse().ok());
        }
        v.role = role;
    }
    v
}

impl Status {
    /// The status as a table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "primary: {}   sentinels agree: {}\n\n",
            self.primary.as_deref().unwrap_or("unknown"),
            if self.agree { "yes" } else { "NO" }
        ));
        out.push_str(&format!(
            "{:<22} {:<8} {:<28} {:>12} {:>10}\n",
            "server", "role", "link", "offset", "lag"
        ));
        for s in &self.servers {
            out.push_str(&format!(
                "{:<22} {:<8} {:<28} {:>12} {:>10}\n",
                s.addr,
                s.role,
                s.link,
                s.offset
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "-".into()),
                s.lag
                    .map(|o| format!("{o} B"))
                    .unwrap_or_else(|| "-".into())
            ));
        }
        out.push('\n');
        out.push_str(&format!(
            "{:<22} {:<22} {:<28} {:>6} {:>9} {:>10}\n",
            "sentinel", "says primary is", "flags", "epoch", "replicas", "sentinels"
        ));
        for v in &self.sentinels {
            match &v.error {
                Some(e) => out.push_str(&format!("{:<22} unreachable: {e}\n", v.addr)),
                None => out.push_str(&format!(
                    "{:<22} {:<22} {:<28} {:>6} {:>9} {:>10}\n",
                    v.addr,
                    v.primary.as_deref().unwrap_or("-"),
                    v.flags,
                    v.config_epoch,
                    v.replicas,
                    v.sentinels
                )),
            }
        }
        out
    }

    /// The status as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "primary": self.primary,
            "sentinels_agree": self.agree,
            "servers": self.servers.iter().map(|s| json!({
                "addr": s.addr, "role": s.role, "link": s.link, "offset": s.offset, "lag_bytes": s.lag,
            })).collect::<Vec<_>>(),
            "sentinels": self.sentinels.iter().map(|v| json!({
                "addr": v.addr, "primary": v.primary, "flags": v.flags, "config_epoch": v.config_epoch,
                "replicas": v.replicas, "other_sentinels": v.sentinels, "error": v.error,
            })).collect::<Vec<_>>(),
        })
    }
}
