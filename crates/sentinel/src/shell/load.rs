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

    /// The default user's line as Redis's config rewrite writes it (`ACLDescribeUser`: the
    /// flags, the password hashes, the permissions).
    pub fn describe(&self) -> String {
        let mut s = String::from("user default ");
        s.push_str(if self.enabled { "on " } else { "off " });
        if self.nopass {
            s.push_str("nopass ");
        }
        if self.sanitize_payload {
            s.push_str("sanitize-payload ");
        }
        for h in &self.hashes {
            s.push('#');
            for b in h {
                s.push_str(&format!("{b:02x}"));
            }
            s.push(' ');
        }
        s.push_str("~* &* +@all");
        s
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

/// How deep `include` may nest (as the server's loader; Redis has no limit).
const MAX_INCLUDE_DEPTH: usize = 64;

/// The config file and its includes, read as Redis reads them: in order, an `include` line
/// loading its file(s) in its place (relative paths from the working directory, which the
/// `dir` lines met so far change), the `sentinel` lines queued with their own file's line
/// numbers.
struct Reader {
    /// The absolute path of the config file (a state file is relative to its directory).
    config_file: String,
    /// The working directory `include` paths are relative to, as Redis's `dir` would have
    /// made it by then; None after a `dir` that is no directory (the server loader then fails
    /// at that line before any later include matters).
    cwd: Option<String>,
    sentinel_lines: Vec<(usize, String, Vec<String>)>,
    user_rules: Option<Vec<Vec<u8>>>,
    port_given: bool,
    protected_mode_given: bool,
    state_file: Option<String>,
    /// The included files as the server loader sees them (anonymous files, kept open).
    sources: Vec<AnonFile>,
}

impl Reader {
    /// Splits `text` (one file, or the files of one glob include) into the lines the server
    /// loader sees and the queued `sentinel`/`user` lines; included files are read in place.
    fn read(&mut self, text: &str, depth: usize) -> Result<Vec<String>, LoadError> {
        let mut for_server: Vec<String> = Vec::new();
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
                        self.state_file = Some(relative_to(
                            &self.config_file,
                            &String::from_utf8_lossy(&argv[2]),
                        ));
                    } else if argv.len() > 1 {
                        let args = argv[1..]
                            .iter()
                            .map(|a| String::from_utf8_lossy(a).into_owned())
                            .collect();
                        self.sentinel_lines.push((i + 1, line.to_string(), args));
                    }
                    for_server.push(String::new());
                }
                "user" if argv.len() >= 2 => {
                    if argv[1] == b"default" {
                        self.user_rules = Some(argv[2..].to_vec());
                    }
                    for_server.push(String::new());
                }
                "include" if argv.len() == 2 && self.cwd.is_some() => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(LoadError::Stderr(fatal(
                            i + 1,
                            line,
                            "include nesting too deep",
                        )));
                    }
                    let target = String::from_utf8_lossy(&argv[1]).into_owned();
                    let content = self.read_include(&target)?;
                    let lines = self.read(&String::from_utf8_lossy(&content), depth + 1)?;
                    let f = AnonFile::new(lines.join("\n").as_bytes()).map_err(|e| {
                        LoadError::Log(format!("Can't load the configuration: {e}"))
                    })?;
                    for_server.push(format!("include {}", f.path));
                    self.sources.push(f);
                }
                _ => {
                    match name.as_str() {
                        "port" => self.port_given = true,
                        "protected-mode" => self.protected_mode_given = true,
                        "dir" if argv.len() == 2 => {
                            let d = String::from_utf8_lossy(&argv[1]).into_owned();
                            self.cwd = self.cwd.as_deref().and_then(|cwd| {
                                let p = std::path::Path::new(cwd).join(&d);
                                p.is_dir().then(|| p.to_string_lossy().into_owned())
                            });
                        }
                        _ => {}
                    }
                    for_server.push(raw.to_string());
                }
            }
        }
        Ok(for_server)
    }

    /// The content of `include <target>` as Redis's `loadServerConfig` reads it: the file, or
    /// every file a pattern with wildcards matches (none is fine), concatenated; a file that
    /// cannot be opened is fatal (`Fatal error, can't open config file '<target>': <why>`,
    /// logged, exit status 1).
    fn read_include(&self, target: &str) -> Result<Vec<u8>, LoadError> {
        let cwd = self.cwd.as_deref().unwrap_or("/");
        let path = std::path::Path::new(cwd).join(target);
        let (paths, shown): (Vec<std::path::PathBuf>, Vec<String>) =
            if target.contains(['*', '?', '[']) {
                let ps = server::config::glob_paths(&path.to_string_lossy());
                let shown = ps
                    .iter()
                    .map(|p| {
                        // glob(3) gives the paths as the pattern spells them.
                        let full = p.to_string_lossy().into_owned();
                        if target.starts_with('/') {
                            full
                        } else {
                            full.strip_prefix(&format!("{}/", cwd.trim_end_matches('/')))
                                .map(str::to_string)
                                .unwrap_or(full)
                        }
                    })
                    .collect();
                (ps, shown)
            } else {
                (vec![path], vec![target.to_string()])
            };
        let mut content = Vec::new();
        for (p, shown) in paths.iter().zip(shown) {
            let err = |e: &std::io::Error| {
                LoadError::Log(format!(
                    "Fatal error, can't open config file '{shown}': {}",
                    strerror(e)
                ))
            };
            let f = std::fs::File::open(p).map_err(|e| err(&e))?;
            if f.metadata().is_ok_and(|m| m.is_dir()) {
                // fopen() works on a directory; fgets() then reads nothing.
                continue;
            }
            let mut f = f;
            std::io::Read::read_to_end(&mut f, &mut content).map_err(|e| err(&e))?;
        }
        Ok(content)
    }
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
    // line numbers stay the file's); an `include` it sees points at the included file's
    // lines filtered the same way.
    let mut reader = Reader {
        config_file: config_file.clone(),
        cwd: std::env::current_dir()
            .ok()
            .map(|d| d.to_string_lossy().into_owned()),
        sentinel_lines: Vec::new(),
        user_rules: None,
        port_given: false,
        protected_mode_given: false,
        state_file: None,
        sources: Vec::new(),
    };
    let for_server = reader.read(&text, 0)?;
    let mut server_cfg = load_server_part(for_server.join("\n").as_bytes())?;
    drop(std::mem::take(&mut reader.sources));
    let mut sentinel = SentinelConfig::default();
    for pass in 1..=3 {
        for (line_no, line, args) in &reader.sentinel_lines {
            if load_pass(args) != pass {
                continue;
            }
            sentinel
                .apply(args)
                .map_err(|e| LoadError::Stderr(fatal(*line_no, line, &e)))?;
        }
    }
    sentinel.file_masters = sentinel.masters.iter().map(|m| m.name.clone()).collect();
    let state_file = reader.state_file;
    if let Some(path) = &state_file {
        load_state_file(path, &mut sentinel)?;
    }
    let auth = match &reader.user_rules {
        Some(rules) => Auth::from_rules(rules),
        None => Auth::from_requirepass(server_cfg.requirepass.as_deref()),
    };
    let port = if reader.port_given {
        server_cfg.port
    } else {
        DEFAULT_PORT
    };
    // What Redis's sentinel mode changes before loading the file (`initSentinelConfig`),
    // which its config rewrite then writes.
    server_cfg.port = port;
    if !reader.protected_mode_given {
        server_cfg.protected_mode = false;
    }
    Ok(Loaded {
        config_file,
        server: server_cfg,
        port,
        auth,
        sentinel,
        state_file,
    })
}

/// The rewritten config file (what `redis-sentinel` writes for CONFIG REWRITE, SENTINEL
/// FLUSHCONFIG and every state change) from its current text `original`: the server's
/// rewrite of the ordinary options (in place, unknown lines as `# ??? ` comments, options
/// that differ from their default appended after `# Generated by CONFIG REWRITE`; `save`
/// lines dropped, as Sentinel does), the default user's line, then the `sentinel` state
/// ([`Sentinel::rewrite_into`]). `include` lines stay and the included files are not
/// touched: the state goes to this file.
///
/// [`Sentinel::rewrite_into`]: crate::core::Sentinel::rewrite_into
pub fn rewrite_config_text(
    sentinel: &crate::core::Sentinel,
    server_cfg: &server::config::Config,
    auth: &Auth,
    original: &[u8],
) -> Vec<u8> {
    server_cfg.rewrite_sentinel(original, auth.describe().as_bytes(), |rw| {
        sentinel.rewrite_into(&mut ServerRewrite(rw))
    })
}

struct ServerRewrite<'a, 'b>(&'a mut server::config::RewriteState<'b>);

impl crate::core::config::RewriteSink for ServerRewrite<'_, '_> {
    fn line(&mut self, option: &str, line: &str, force: bool) -> bool {
        self.0.line(option, line.as_bytes(), force)
    }

    fn mark(&mut self, option: &str) {
        self.0.mark(option)
    }
}

/// The content of a `sentinel state-file`: a header and the state lines
/// ([`Sentinel::state_file_lines`]).
///
/// [`Sentinel::state_file_lines`]: crate::core::Sentinel::state_file_lines
pub fn state_file_text(sentinel: &crate::core::Sentinel) -> String {
    let mut text = String::from(
        "# Sentinel state, written by the sentinel (sentinel state-file): do not edit\n\
         # while it runs. Read after the config file; its lines win.\n",
    );
    for line in sentinel.state_file_lines() {
        text.push_str(&line);
        text.push('\n');
    }
    text
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
/// config file is monitored), except those a `sentinel removed <name>` line names (removed
/// at run time with SENTINEL REMOVE: see [`Sentinel::state_file_lines`]).
///
/// [`Sentinel::state_file_lines`]: crate::core::Sentinel::state_file_lines
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
    let mut removed: Vec<String> = Vec::new();
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
        let args: Vec<String> = argv[1..]
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args[0].eq_ignore_ascii_case("removed") {
            if args.len() != 2 {
                return Err(bad(i + 1, line, "Wrong number of arguments for removed."));
            }
            removed.push(args[1].clone());
            continue;
        }
        lines.push((i + 1, line.to_string(), args));
    }
    // Masters removed at run time (SENTINEL REMOVE) do not come back from the config file.
    sentinel.masters.retain(|m| !removed.contains(&m.name));
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
    let f = AnonFile::new(content)
        .map_err(|e| LoadError::Log(format!("Can't load the configuration: {e}")))?;
    server::config::load(std::slice::from_ref(&f.path)).map_err(LoadError::Stderr)
}

/// Text the server loader reads by path: an anonymous in-memory file (`/proc/self/fd/N`),
/// or a private temporary file where there is no memfd; closed or removed on drop.
struct AnonFile {
    path: String,
    _memfd: Option<std::fs::File>,
    temp: bool,
}

impl AnonFile {
    fn new(content: &[u8]) -> std::io::Result<AnonFile> {
        if let Ok((f, path)) = memfd(content) {
            return Ok(AnonFile {
                path,
                _memfd: Some(f),
                temp: false,
            });
        }
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "redoubt-sentinel-{}-{}-{}.conf",
            std::process::id(),
            server::clock::unix_ms(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::write(&path, content)?;
        Ok(AnonFile {
            path: path.to_string_lossy().into_owned(),
            _memfd: None,
            temp: true,
        })
    }
}

impl Drop for AnonFile {
    fn drop(&mut self) {
        if self.temp {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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

    fn tmp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "redoubt-sentinel-load-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    fn stderr_of(r: Result<Loaded, LoadError>) -> String {
        match r {
            Err(LoadError::Stderr(t)) => t,
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn included_files_give_sentinel_lines_in_place() {
        let d = tmp_dir("include");
        let ds = d.display();
        // Relative includes are taken from the working directory a `dir` line made, nested
        // ones too (not from the including file's directory), as Redis does.
        std::fs::write(
            d.join("sub/inc.conf"),
            "sentinel monitor m 127.0.0.1 7000 2\n# c\ninclude inner.conf\n\
             sentinel auth-pass m foo\nsentinel known-replica m 127.0.0.1 7001\nloglevel warning\n",
        )
        .unwrap();
        std::fs::write(
            d.join("sub/inner.conf"),
            "sentinel down-after-milliseconds m 1\n",
        )
        .unwrap();
        std::fs::write(
            d.join("inner.conf"),
            "sentinel down-after-milliseconds m 3000\n",
        )
        .unwrap();
        let p = d.join("s.conf");
        std::fs::write(&p, format!("port 5001\ndir {ds}\ninclude sub/inc.conf\n")).unwrap();
        let l = load(p.to_str().unwrap(), &[]).unwrap();
        assert_eq!(l.port, 5001);
        assert_eq!(l.server.loglevel, server::config::LogLevel::Warning);
        let m = &l.sentinel.masters[0];
        assert_eq!(
            (m.name.as_str(), m.port, m.down_after),
            ("m", 7000, Some(3000))
        );
        assert_eq!(m.auth_pass.as_deref(), Some("foo"));
        assert_eq!(m.known_replicas, vec![("127.0.0.1".to_string(), 7001)]);
        assert_eq!(l.sentinel.file_masters, ["m"]);
        // Glob includes: every match, in order (none matching is fine).
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        std::fs::write(
            d.join("conf.d/a.conf"),
            "sentinel monitor a 127.0.0.1 1 1\n",
        )
        .unwrap();
        std::fs::write(
            d.join("conf.d/b.conf"),
            "sentinel monitor b 127.0.0.1 2 1\n",
        )
        .unwrap();
        std::fs::write(
            &p,
            format!("include {ds}/conf.d/*.conf\ninclude {ds}/none/*.conf\n"),
        )
        .unwrap();
        let l = load(p.to_str().unwrap(), &[]).unwrap();
        let names: Vec<_> = l.sentinel.masters.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn include_errors_are_redis_texts() {
        let d = tmp_dir("include-err");
        let ds = d.display();
        let p = d.join("s.conf");
        let path = p.to_str().unwrap();
        // A missing file: a log line (exit status 1), naming the path as written.
        std::fs::write(&p, format!("dir {ds}\ninclude sub/nope.conf\n")).unwrap();
        match load(path, &[]) {
            Err(LoadError::Log(t)) => assert_eq!(
                t,
                "Fatal error, can't open config file 'sub/nope.conf': No such file or directory"
            ),
            other => panic!("{:?}", other.err()),
        }
        std::fs::write(d.join("sub/n.conf"), "include nope2.conf\n").unwrap();
        std::fs::write(&p, format!("dir {ds}\ninclude sub/n.conf\n")).unwrap();
        match load(path, &[]) {
            Err(LoadError::Log(t)) => assert_eq!(
                t,
                "Fatal error, can't open config file 'nope2.conf': No such file or directory"
            ),
            other => panic!("{:?}", other.err()),
        }
        // Errors inside an included file give that file's line numbers.
        std::fs::write(d.join("sub/e.conf"), "\nsentinel monitor x 127.0.0.1 1 0\n").unwrap();
        std::fs::write(&p, format!("port 5\n\n\ninclude {ds}/sub/e.conf\n")).unwrap();
        let t = stderr_of(load(path, &[]));
        assert!(
            t.ends_with(
                "at line 2\n>>> 'sentinel monitor x 127.0.0.1 1 0'\nQuorum must be 1 or greater.\n"
            ),
            "{t}"
        );
        std::fs::write(d.join("sub/f.conf"), "\nfoo bar\n").unwrap();
        std::fs::write(&p, format!("port 5\n\n\ninclude {ds}/sub/f.conf\n")).unwrap();
        let t = stderr_of(load(path, &[]));
        assert!(
            t.ends_with("at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments\n"),
            "{t}"
        );
        // The file after the include keeps its own numbering.
        std::fs::write(d.join("sub/g.conf"), "\n\n\n\n\n").unwrap();
        std::fs::write(
            &p,
            format!("include {ds}/sub/g.conf\nsentinel monitor y 127.0.0.1 1 0\n"),
        )
        .unwrap();
        let t = stderr_of(load(path, &[]));
        assert!(t.contains("at line 2\n"), "{t}");
        // A file including itself.
        std::fs::write(&p, format!("include {}\n", p.display())).unwrap();
        let t = stderr_of(load(path, &[]));
        assert!(t.ends_with("include nesting too deep\n"), "{t}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_rewrite_writes_the_state_to_the_main_file_as_redis() {
        let d = tmp_dir("rewrite");
        let ds = d.display();
        std::fs::write(
            d.join("inc.conf"),
            "sentinel monitor m 127.0.0.1 7000 2\nsentinel down-after-milliseconds m 3000\n",
        )
        .unwrap();
        let original = format!(
            "port 5002\n# top\ndir \"{ds}\"\ninclude {ds}/inc.conf\nloglevel notice\nsave \"\"\n\
             list-max-ziplist-entries 5\nsentinel parallel-syncs m 1\n"
        );
        let p = d.join("s.conf");
        std::fs::write(&p, &original).unwrap();
        let l = load(p.to_str().unwrap(), &[]).unwrap();
        let mut s = crate::core::Sentinel::new(l.sentinel, l.port, 1, 0);
        s.myid = "0123456789012345678901234567890123456789".into();
        let text = rewrite_config_text(&s, &l.server, &l.auth, original.as_bytes());
        // Exactly what redis-sentinel 7.0.15 wrote (its generic lines come in a random order).
        let want = format!(
            "port 5002\n# top\ndir \"{ds}\"\ninclude {ds}/inc.conf\nloglevel notice\n\n\
             # ??? list-max-ziplist-entries 5\n\n\
             # Generated by CONFIG REWRITE\nprotected-mode no\n\
             latency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\n\
             sentinel myid 0123456789012345678901234567890123456789\n\
             sentinel monitor m 127.0.0.1 7000 2\nsentinel down-after-milliseconds m 3000\n\
             sentinel config-epoch m 0\nsentinel leader-epoch m 0\nsentinel current-epoch 0\n"
        );
        assert_eq!(String::from_utf8_lossy(&text), want);
        // Rewriting again only adds the empty line Redis keeps from the file's last newline
        // (then nothing changes); the restart then fails as Redis's does (the included file
        // still names the master).
        let again = rewrite_config_text(&s, &l.server, &l.auth, &text);
        assert_eq!(again, [&text[..], b"\n"].concat());
        assert_eq!(rewrite_config_text(&s, &l.server, &l.auth, &again), again);
        std::fs::write(&p, &text).unwrap();
        let t = stderr_of(load(p.to_str().unwrap(), &[]));
        assert!(
            t.ends_with(
                "at line 14\n>>> 'sentinel monitor m 127.0.0.1 7000 2'\nDuplicate master name.\n"
            ),
            "{t}"
        );
        // The default port, requirepass and a user line with a password.
        std::fs::write(&p, "requirepass foo\n").unwrap();
        let l = load(p.to_str().unwrap(), &[]).unwrap();
        let s = crate::core::Sentinel::new(l.sentinel, l.port, 1, 0);
        let t = String::from_utf8_lossy(&rewrite_config_text(
            &s,
            &l.server,
            &l.auth,
            b"requirepass foo\n",
        ))
        .into_owned();
        assert!(
            t.starts_with("requirepass \"foo\"\n\n# Generated by CONFIG REWRITE\n"),
            "{t}"
        );
        assert!(t.contains("\nport 26379\n"), "{t}");
        assert!(t.contains("\nuser default on #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae ~* &* +@all\n"), "{t}");
        let old = "user default on >bar ~* &* +@all\n";
        std::fs::write(&p, old).unwrap();
        let l = load(p.to_str().unwrap(), &[]).unwrap();
        let s = crate::core::Sentinel::new(l.sentinel, l.port, 1, 0);
        let t =
            String::from_utf8_lossy(&rewrite_config_text(&s, &l.server, &l.auth, old.as_bytes()))
                .into_owned();
        assert!(t.starts_with("user default on sanitize-payload #fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9 ~* &* +@all\n"), "{t}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn removed_and_added_masters_survive_a_restart_with_a_state_file() {
        let d = tmp_dir("removed");
        let p = d.join("s.conf");
        std::fs::write(
            &p,
            "sentinel state-file s.state\nsentinel monitor a 127.0.0.1 7000 2\n\
             sentinel monitor b 127.0.0.1 7100 2\n",
        )
        .unwrap();
        let path = p.to_str().unwrap();
        let l = load(path, &[]).unwrap();
        let state = l.state_file.clone().unwrap();
        let mut s = crate::core::Sentinel::new(l.sentinel, l.port, 1, 0);
        // SENTINEL REMOVE a, SENTINEL MONITOR c.
        let mut c = SentinelConfig::default();
        c.apply(&["monitor", "c", "127.0.0.1", "7200", "1"].map(String::from))
            .unwrap();
        let master = crate::core::Sentinel::new(c, 0, 1, 0)
            .masters
            .remove("c")
            .unwrap();
        s.masters.remove("a");
        s.masters.insert("c".into(), master);
        let text = state_file_text(&s);
        assert!(text.contains("\nsentinel removed a\n"), "{text}");
        std::fs::write(&state, &text).unwrap();
        let l = load(path, &[]).unwrap();
        let mut names: Vec<_> = l.sentinel.masters.iter().map(|m| m.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["b", "c"]);
        // Still removed at the next save; monitored again, no longer.
        let s = crate::core::Sentinel::new(l.sentinel, 0, 1, 0);
        assert!(state_file_text(&s).contains("\nsentinel removed a\n"));
        std::fs::write(&state, "sentinel removed\n").unwrap();
        let t = stderr_of(load(path, &[]));
        assert!(t.contains("Wrong number of arguments for removed."), "{t}");
        let _ = std::fs::remove_dir_all(&d);
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
