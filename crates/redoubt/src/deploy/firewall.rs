//! Network partitions for `redoubt drill partition-primary`: an nftables table of its own per
//! cut, on the input hook (every loopback packet passes it), dropping the TCP packets to and
//! from one port except those of one connection. The table goes away when the cut heals, when
//! the drill fails or panics (Drop), and at `redoubt down` if the drill was killed.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The name every drill table starts with: `redoubt_drill_<pid>_<n>`.
pub const TABLE_PREFIX: &str = "redoubt_drill_";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs `nft` with `args` (and `script` on its stdin); its stdout, or an error saying why the
/// network cannot be cut.
fn nft(args: &[&str], script: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new("nft");
    cmd.args(args)
        .stdin(if script.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "cutting the network needs nftables, and `nft` is not installed \
             (apt-get install nftables)"
                .to_string()
        } else {
            format!("cannot run nft: {e}")
        }
    })?;
    if let (Some(text), Some(mut stdin)) = (script, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot feed nft: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("nft did not finish: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`nft {}` failed (cutting the network needs root or CAP_NET_ADMIN): {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Fails, saying why, unless this process may change the firewall.
pub fn check() -> Result<(), String> {
    nft(&["list", "tables"], None).map(drop)
}

/// A partition in force; dropping it heals it.
pub struct Cut {
    table: String,
    healed: bool,
}

impl Cut {
    /// Cuts every TCP connection to or from `port` on this host (and refuses new ones),
    /// except the connection whose other end is local port `keep`.
    pub fn isolate(port: u16, keep: u16) -> Result<Cut, String> {
        let table = format!(
            "{TABLE_PREFIX}{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        // The guard first: whatever nft managed to do is undone on any way out.
        let cut = Cut {
            table,
            healed: false,
        };
        let script = format!(
            "table inet {t} {{\n\
             \x20 chain input {{\n\
             \x20   type filter hook input priority 0; policy accept;\n\
             \x20   tcp dport {port} tcp sport != {keep} drop\n\
             \x20   tcp sport {port} tcp dport != {keep} drop\n\
             \x20 }}\n\
             }}\n",
            t = cut.table
        );
        nft(&["-f", "-"], Some(&script))?;
        Ok(cut)
    }

    /// Removes the rules.
    pub fn heal(mut self) -> Result<(), String> {
        nft(&["delete", "table", "inet", &self.table], None)?;
        self.healed = true;
        Ok(())
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        if !self.healed {
            let _ = nft(&["delete", "table", "inet", &self.table], None);
        }
    }
}

/// Removes the drill tables whose drill no longer runs (it was killed before it could heal
/// its cut); returns their names. Nothing to do when nftables cannot be used here: no drill
/// could have cut anything either.
pub fn remove_leftovers() -> Result<Vec<String>, String> {
    let Ok(list) = nft(&["list", "tables"], None) else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for line in list.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [_, family, name] = words[..] else {
            continue;
        };
        let Some(rest) = name.strip_prefix(TABLE_PREFIX) else {
            continue;
        };
        let owner: Option<i32> = rest.split('_').next().and_then(|p| p.parse().ok());
        if owner.is_some_and(|pid| pid as u32 != std::process::id() && super::running(pid)) {
            continue;
        }
        nft(&["delete", "table", family, name], None)?;
        removed.push(name.to_string());
    }
    Ok(removed)
}
