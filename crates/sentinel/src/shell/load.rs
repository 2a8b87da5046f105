//! Loading the config file as `redis-sentinel` does, and saving the rewritten one.
//!
//! The file is a normal redis.conf: the ordinary directives go through the server's own
//! loader (same validation, same fatal error texts), the `sentinel ...` lines are queued and
//! applied to the core's [`SentinelConfig`] afterwards in Redis's load order, and `user`
//! lines set the default user's passwords.

use super::sha256;
use crate::core::config::{load_pass, quote, SentinelConfig};
use std::io::Write;

/// The Redis version printed in fatal config errors.
const REDIS_VERSION: &str = server::REDIS_VERSION;

/// The sentinel's default port.
pub const DEFAULT_PORT: u16 = 26379;

/// Who may connect: the default user's state (`requirepass`, `user default ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// The user is enabled (`on`).
    pub enabled: bool,
    /// `nopass`: any password (and no AUTH at all) is accepted.
    pub nopass: bool,
    /// SHA-256 digests of the accepted passwords.
    pub hashes: Vec<[u8; 32]>,
    /// Set by a `user default ...` line (loaded after a `reset`), as ACL GETUSER shows.
    pub sanitize_payload: bool,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            enabled: true,
            nopass: true,
            hashes: Vec::new(),
            sanitize_payload: false,
        }
    }
}

impl Auth {
    /// `requirepass <pass>` (an empty password means none).
    pub fn from_requirepass(pass: Option<&[u8]>) -> Auth {
        match pass {
            Some(p) if !p.is_empty() => Auth {
                enabled: true,
                nopass: false,
                hashes: vec![sha256::digest(p)],
                sanitize_payload: false,
            },
            _ => Auth::default(),
        }
    }

    /// Applies the rules of a `user default <rules...>` line, starting from `reset` as Redis
    /// does for configured users.
    pub fn from_rules(rules: &[Vec<u8>]) -> Auth {
        let mut a = Auth {
            enabled: false,
            nopass: false,
            hashes: Vec::new(),
            sanitize_payload: true,
        };
        for r in rules {
            let lower = r.to_ascii_lowercase();
            match lower.as_slice() {
                b"on" => a.enabled = true,
                b"off" => a.enabled = false,
                b"nopass" => {
                    a.nopass = true;
                    a.hashes.clear();
                }
                b"resetpass" | b"reset" => {
                    a.nopass = false;
                    a.hashes.clear();
                    if lower == b"reset" {
                        a.enabled = false;
                    }
                }
                _ => match r.first() {
                    Some(b'>') => {
                        a.nopass = false;
                        let h = sha256::digest(&r[1..]);
                        if !a.hashes.contains(&h) {
                            a.hashes.push(h);
                        }
                    }
                    Some(b'<') => {
                        let h = sha256::digest(&r[1..]);
                        a.hashes.retain(|x| *x != h);
                    }
                    Some(b'#') => {
                        if let Some(h) = parse_hex_hash(&r[1..]) {
                            a.nopass = false;
                            if !a.hashes.contains(&h) {
                                a.hashes.push(h);
                            }
                        }
                    }
                    Some(b'!') => {
                        if let Some(h) = parse_hex_hash(&r[1..]) {
                            a.hashes.retain(|x| *x != h);
                        }
                    }
                    _ => {}
                },
            }
        }
        a
    }

    /// Whether a new connection must authenticate first (Redis's `authRequired`).
    pub fn required(&self) -> bool {
        !self.nopass || !self.enabled
    }

    /// Whether `user`/`pass` are accepted.
    pub fn check(&self, user: &[u8], pass: &[u8]) -> bool {
        if user != b"default" || !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = sha256::digest(pass);
        self.hashes.contains(&h)
    }
}

fn parse_hex_hash(hex: &[u8]) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Everything the process needs from its config file.
pub struct Loaded {
    /// The absolute path of the config file (rewritten on every state change).
    pub config_file: String,
    /// The ordinary directives (port, bind, dir, logfile, loglevel, daemonize, pidfile, ...).
    pub server: server::config::Config,
    /// The port to listen on (26379 unless the file or the command line says otherwise).
    pub port: u16,
    /// The default user.
    pub auth: Auth,
    /// The `sentinel ...` lines, applied.
    pub sentinel: SentinelConfig,
    /// `sentinel state-file <path>` (Redoubt only; relative to the config file's directory):
    /// the sentinel state is saved there instead of rewriting the config file, which may be
    /// read-only, and read back after the config file at start-up (see [`load_state_file`]).
    pub state_file: Option<String>,
}

/// Why the process must exit with status 1 before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// Text for stderr (a FATAL CONFIG FILE ERROR block).
    Stderr(String),
    /// A warning log line.
    Log(String),
}

/// The text Redis prints for a fatal configuration error at a line.
pub fn fatal(line_no: usize, line: &str, err: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n\
         Reading the configuration file, at line {line_no}\n>>> '{line}'\n{err}\n"
    )
}

/// An I/O error as C's `strerror` prints it.
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Redis's `getAbsolutePath`.
pub fn absolute_path(path: &str) -> String {
    let mut rel = path.trim_matches(|c| matches!(c, ' ' | '\r' | '\n' | '\t'));
    if rel.starts_with('/') {
        return rel.to_string();
    }
    let mut abs = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".into());
    if !abs.ends_with('/') {
        abs.push('/');
    }
    while let Some(rest) = rel.strip_prefix("../") {
        rel = rest;
        if abs.len() > 1 {
            let trimmed = &abs[..abs.len() - 1];
            abs.truncate(trimmed.rfind('/').map_or(1, |i| i + 1));
        }
    }
    abs + rel
}

/// The command line split as redis-server's `main()` does: the config file (a first argument
/// not starting with `-`) and the `--name value ...` options as config lines. A bare
/// `--sentinel` (the mode switch) is dropped.
pub fn parse_command_line(args: &[String]) -> (Option<String>, Vec<String>) {
    let mut file = None;
    let mut j = 0;
    if let Some(first) = args.first() {
        if !first.starts_with('-') {
            file = Some(first.clone());
            j = 1;
        }
    }
    let mut lines: Vec<Vec<String>> = Vec::new();
    while j < args.len() {
        let a = &args[j];
        if let Some(name) = a.strip_prefix("--") {
            lines.push(vec![name.to_string()]);
        } else if let Some(line) = lines.last_mut() {
            line.push(quote(a));
        }
        j += 1;
    }
    let mut out = Vec::new();
    for mut words in lines {
        if words[0].eq_ignore_ascii_case("sentinel") && words.len() == 1 {
            continue;
        }
        if words[0].eq_ignore_ascii_case("save") && words.len() == 1 {
            words.push("\"\"".into());
        }
        out.push(words.join(" "));
    }
    (file, out)
}

/// A config line split into words, or None for blank lines, comments and unbalanced quotes.
fn words(line: &str) -> Option<Vec<Vec<u8>>> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    resp::split_args(line.as_bytes()).filter(|w| !w.is_empty())
}

/// Loads the file at `file` followed by the command-line option lines.
pub fn load(file: &str, options: &[String]) -> Result<Loaded, LoadError> {
    let config_file = absolute_path(file);
    let mut content = match std::fs::read(&config_file) {
        Ok(c) => c,
        Err(e) => {
            return Err(LoadError::Log(format!(
                "Fatal error, can't open config file '{config_file}': {}",
                strerror(&e)
            )))
        }
    };
    if !options.is_empty() {
        content.push(b'\n');
        content.extend_from_slice(options.join("\n").as_bytes());
    }
    let text = String::from_utf8_lossy(&content).into_owned();
    // The server loader sees every line except `sentinel` and `user` lines (blanked, so its
    // line numbers stay the file's).
    let mut for_server: Vec<String> = Vec::new();
    let mut sentinel_lines: Vec<(usize, String, Vec<String>)> = Vec::new();
    let mut user_rules: Option<Vec<Vec<u8>>> = None;
    let mut port_given = false;
    let mut state_file: Option<String> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        let Some(argv) = words(line) else {
            for_server.push(raw.to_string());
            continue;
        };
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        match name.as_str() {
            "sentinel" => {
                if argv.len() > 1 && argv[1].eq_ignore_ascii_case(b"state-file") {
                    if argv.len() != 3 || argv[2].is_empty() {
                        return Err(LoadError::Stderr(fatal(
                            i + 1,
                            line,
                            "Wrong number of arguments for state-file.",
                        )));
                    }
                    state_file = Some(relative_to(
                        &config_file,
                        &String::from_utf8_lossy(&argv[2]),
                    ));
                } else if argv.len() > 1 {
                    let args = argv[1..]
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect();
                    sentinel_lines.push((i + 1, line.to_string(), args));
                }
                for_server.push(String::new());
            }
            "user" if argv.len() >= 2 => {
                if argv[1] == b"default" {
                    user_rules = Some(argv[2..].to_vec());
                }
                for_server.push(String::new());
            }
            _ => {
                if name == "port" {
                    port_given = true;
                }
                for_server.push(raw.to_string());
            }
        }
    }
    let server_cfg = load_server_part(for_server.join("\n").as_bytes())?;
    let mut sentinel = SentinelConfig::default();
    for pass in 1..=3 {
        for (line_no, line, args) in &sentinel_lines {
            if load_pass(args) != pass {
                continue;
            }
            sentinel
                .apply(args)
                .map_err(|e| LoadError::Stderr(fatal(*line_no, line, &e)))?;
        }
    }
    if let Some(path) = &state_file {
        load_state_file(path, &mut sentinel)?;
    }
    let auth = match &user_rules {
        Some(rules) => Auth::from_rules(rules),
        None => Auth::from_requirepass(server_cfg.requirepass.as_deref()),
    };
    let port = if port_given {
        server_cfg.port
    } else {
        DEFAULT_PORT
    };
    Ok(Loaded {
        config_file,
        server: server_cfg,
        port,
        auth,
        sentinel,
        state_file,
    })
}

/// `path` as an absolute path, a relative one being taken from the directory of the file
/// `config_file` (an absolute path).
fn relative_to(config_file: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let dir = std::path::Path::new(config_file)
        .parent()
        .unwrap_or(std::path::Path::new("/"));
    dir.join(path).to_string_lossy().into_owned()
}

/// Reads the state file at `path`, if there is one, over the config file's `sentinel` lines
/// already in `sentinel`. It holds only `sentinel` lines (what [`Sentinel::state_lines`]
/// gives), applied in the same three passes, and they win: the global options it names
/// replace the config file's (the current epoch only grows), and every master it names is
/// rebuilt from its lines alone, replacing the config file's settings and address for that
/// master. Masters only the config file names are kept as it says (so a master added to the
/// config file is monitored, and one removed at run time with SENTINEL REMOVE comes back if
/// the config file still names it).
///
/// [`Sentinel::state_lines`]: crate::core::Sentinel::state_lines
pub fn load_state_file(path: &str, sentinel: &mut SentinelConfig) -> Result<(), LoadError> {
    let content = match std::fs::read(path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(LoadError::Log(format!(
                "Fatal error, can't open sentinel state file '{path}': {}",
                strerror(&e)
            )))
        }
    };
    let text = String::from_utf8_lossy(&content).into_owned();
    let bad = |line_no: usize, line: &str, err: &str| {
        LoadError::Stderr(fatal(line_no, line, err).replace(
            "Reading the configuration file",
            &format!("Reading the sentinel state file {path}"),
        ))
    };
    let mut lines: Vec<(usize, String, Vec<String>)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        let Some(argv) = words(line) else {
            continue;
        };
        if !argv[0].eq_ignore_ascii_case(b"sentinel") || argv.len() < 2 {
            return Err(bad(
                i + 1,
                line,
                "Only sentinel lines may be in the state file.",
            ));
        }
        let args = argv[1..]
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        lines.push((i + 1, line.to_string(), args));
    }
    for pass in 1..=3 {
        for (line_no, line, args) in &lines {
            if load_pass(args) != pass {
                continue;
            }
            if pass == 2 {
                // A master named again: its state-file lines replace the config file's,
                // in its place.
                if let Some(pos) = sentinel
                    .masters
                    .iter()
                    .position(|m| Some(&m.name) == args.get(1))
                {
                    sentinel.masters.remove(pos);
                    sentinel.apply(args).map_err(|e| bad(*line_no, line, &e))?;
                    if let Some(m) = sentinel.masters.pop() {
                        sentinel.masters.insert(pos, m);
                    }
                    continue;
                }
            }
            sentinel.apply(args).map_err(|e| bad(*line_no, line, &e))?;
        }
    }
    Ok(())
}

/// Runs the server's config loader on `content` (through an anonymous in-memory file).
fn load_server_part(content: &[u8]) -> Result<server::config::Config, LoadError> {
    let (_keep, path) = match memfd(content) {
        Ok(x) => x,
        Err(_) => {
            // No memfd: a private temporary file instead.
            let path = std::env::temp_dir().join(format!(
                "redoubt-sentinel-{}-{}.conf",
                std::process::id(),
                server::clock::unix_ms()
            ));
            std::fs::write(&path, content)
                .map_err(|e| LoadError::Log(format!("Can't load the configuration: {e}")))?;
            let p = path.to_string_lossy().into_owned();
            let res = server::config::load(std::slice::from_ref(&p));
            let _ = std::fs::remove_file(&path);
            return res.map_err(LoadError::Stderr);
        }
    };
    server::config::load(&[path]).map_err(LoadError::Stderr)
}

fn memfd(content: &[u8]) -> std::io::Result<(std::fs::File, String)> {
    use std::os::fd::FromRawFd;
    let name = c"redoubt-sentinel-config";
    // SAFETY: memfd_create only reads the NUL-terminated name.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor we own.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(content)?;
    let path = format!("/proc/self/fd/{fd}");
    if std::fs::metadata(&path).is_err() {
        return Err(std::io::Error::other("no /proc"));
    }
    Ok((f, path))
}

/// Whether the process may write `path` (`access(path, W_OK)`); the error as strerror.
pub fn check_writable(path: &str) -> Result<(), String> {
    let c = std::ffi::CString::new(path).map_err(|_| "Invalid argument".to_string())?;
    // SAFETY: access() only reads the NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
        Ok(())
    } else {
        Err(strerror(&std::io::Error::last_os_error()))
    }
}

/// Replaces the file at `path` with `content` as Redis does: a temporary file beside it with
/// the same permissions, fsync, rename over the original, fsync of the directory. A symbolic
/// link is kept: its target is replaced.
pub fn write_atomically(path: &str, content: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => std::path::PathBuf::from(path),
    };
    let mode = std::fs::metadata(&target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let tmp = format!(
        "{}.tmp-{}-{}",
        target.to_string_lossy(),
        std::process::id(),
        server::clock::unix_ms()
    );
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .inspect_err(|e| {
                super::log(
                    crate::core::Level::Warning,
                    &format!("Could not create tmp config file ({})", strerror(e)),
                )
            })?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(content)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        if let Some(dir) = target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_file(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!(
            "redoubt-sentinel-load-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("s.conf");
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn command_line_options_become_lines() {
        let args: Vec<String> = [
            "s.conf",
            "--sentinel",
            "--port",
            "5000",
            "--save",
            "--loglevel",
            "verbose",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (file, lines) = parse_command_line(&args);
        assert_eq!(file.as_deref(), Some("s.conf"));
        assert_eq!(lines, vec!["port 5000", "save \"\"", "loglevel verbose"]);
    }

    #[test]
    fn loads_ordinary_and_sentinel_lines_in_redis_order() {
        let p = tmp_file(
            "order",
            "port 5001\nsave \"\"\nappendonly yes\n\
             sentinel down-after-milliseconds m 1500\nsentinel monitor m 127.0.0.1 6379 2\n\
             SENTINEL resolve-hostnames no\nsentinel myid 0123456789012345678901234567890123456789\n",
        );
        let l = load(&p, &[]).unwrap();
        assert_eq!(l.port, 5001);
        assert_eq!(l.sentinel.masters.len(), 1);
        assert_eq!(l.sentinel.masters[0].down_after, Some(1500));
        assert!(!l.auth.required());
    }

    #[test]
    fn default_port_and_errors_with_line_numbers() {
        let p = tmp_file("err", "\n# c\nsentinel monitor m 127.0.0.1 6379 0\n");
        match load(&p, &[]) {
            Err(LoadError::Stderr(t)) => {
                assert!(t.contains("FATAL CONFIG FILE ERROR (Redis 7.0.15)"), "{t}");
                assert!(t.contains("at line 3\n>>> 'sentinel monitor m 127.0.0.1 6379 0'\nQuorum must be 1 or greater.\n"), "{t}");
            }
            other => panic!("{other:?}", other = other.err()),
        }
        let p = tmp_file("bad", "port 5\nfoo bar\n");
        match load(&p, &[]) {
            Err(LoadError::Stderr(t)) => assert!(
                t.contains("at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments"),
                "{t}"
            ),
            other => panic!("{:?}", other.err()),
        }
        let p = tmp_file("def", "sentinel monitor m 127.0.0.1 6379 1\n");
        assert_eq!(load(&p, &[]).unwrap().port, DEFAULT_PORT);
        match load("/nonexistent/x.conf", &[]) {
            Err(LoadError::Log(t)) => assert_eq!(
                t,
                "Fatal error, can't open config file '/nonexistent/x.conf': No such file or directory"
            ),
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn passwords_from_requirepass_and_user_lines() {
        let p = tmp_file("auth", "requirepass secret\n");
        let l = load(&p, &[]).unwrap();
        assert!(l.auth.required());
        assert!(l.auth.check(b"default", b"secret"));
        assert!(!l.auth.check(b"default", b"x"));
        let p = tmp_file(
            "user",
            "user default on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all\n",
        );
        let l = load(&p, &[]).unwrap();
        assert!(l.auth.required());
        assert!(l.auth.check(b"default", b"secret"));
        let p = tmp_file("nopass", "user default on nopass ~* &* +@all\n");
        assert!(!load(&p, &[]).unwrap().auth.required());
    }

    #[test]
    fn state_file_lines_win_over_the_config_file() {
        let id = "0123456789012345678901234567890123456789";
        let p = tmp_file(
            "state",
            "sentinel state-file state/s.state
sentinel monitor m 127.0.0.1 7000 2
             sentinel down-after-milliseconds m 1500
sentinel monitor other 127.0.0.1 7100 1
",
        );
        let state = std::path::Path::new(&p).parent().unwrap().join("state");
        let _ = std::fs::remove_dir_all(&state);
        // No state file yet: the config file alone.
        let l = load(&p, &[]).unwrap();
        assert_eq!(
            l.state_file.as_deref(),
            Some(state.join("s.state").to_str().unwrap())
        );
        assert_eq!(l.sentinel.masters[0].port, 7000);
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(
            state.join("s.state"),
            format!(
                "# c\nsentinel myid {id}\nsentinel monitor m 127.0.0.1 7001 2\n\
                 sentinel config-epoch m 3\nsentinel known-replica m 127.0.0.1 7000\n\
                 sentinel current-epoch 3\n"
            ),
        )
        .unwrap();
        let l = load(&p, &[]).unwrap();
        assert_eq!(l.sentinel.myid.as_deref(), Some(id));
        assert_eq!(l.sentinel.current_epoch, 3);
        let names: Vec<_> = l.sentinel.masters.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["m", "other"]);
        let m = &l.sentinel.masters[0];
        assert_eq!((m.port, m.config_epoch, m.down_after), (7001, 3, None));
        assert_eq!(m.known_replicas, vec![("127.0.0.1".to_string(), 7000)]);
        assert_eq!(l.sentinel.masters[1].port, 7100);
        std::fs::write(state.join("s.state"), "port 5\n").unwrap();
        match load(&p, &[]) {
            Err(LoadError::Stderr(t)) => assert!(
                t.contains("Reading the sentinel state file ") && t.contains("at line 1\n"),
                "{t}"
            ),
            other => panic!("{:?}", other.err()),
        }
        let _ = std::fs::remove_dir_all(&state);
    }

    #[test]
    fn atomic_write_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let p = tmp_file("write", "old\n");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&p, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
