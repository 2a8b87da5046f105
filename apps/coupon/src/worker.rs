//! The worker: reads the issued coupons from every campaign's request stream as a member of
//! the consumer group [`GROUP`], persists them to the database of record, then acknowledges
//! them. Entries a dead worker left pending are claimed after a while; with
//! `--durability replicated` a batch is persisted only once a replica holds it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use redis::Value;

use crate::cli::{DbArgs, StoreArgs};
use crate::db::Db;
use crate::durability::Confirmer;
use crate::model::{check_id, CampaignKeys, Coupon, CAMPAIGNS_KEY, GROUP};
use crate::primary::{Conn, Primary, StoreError};

/// `coupon worker`: persist issued coupons from the request streams to the database.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub db: DbArgs,
    /// This worker's name in the consumer group (default: `<hostname>-<pid>`).
    #[arg(long, value_name = "NAME")]
    pub consumer: Option<String>,
    /// Entries read per stream at a time.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// How long one read waits for new entries (ms).
    #[arg(long, default_value_t = 1_000)]
    pub block_ms: u64,
    /// Entries pending this long on another (presumably dead) consumer are taken over (ms).
    #[arg(long, default_value_t = 5_000)]
    pub claim_idle_ms: u64,
    /// Exit (status 0) after this long with nothing to do (ms); for tests.
    #[arg(long)]
    pub exit_when_idle_ms: Option<u64>,
}

/// How [`run`] works.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The consumer name in the group.
    pub consumer: String,
    /// Entries read per stream at a time.
    pub batch: usize,
    /// How long one read blocks waiting for entries.
    pub block: Duration,
    /// Entries pending longer than this are claimed (from any consumer).
    pub claim_idle: Duration,
    /// Return `Ok(())` after this long with nothing to do.
    pub exit_when_idle: Option<Duration>,
    /// How often the set of campaigns is read again to find new streams.
    pub refresh: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            consumer: default_consumer(),
            batch: 100,
            block: Duration::from_millis(1_000),
            claim_idle: Duration::from_millis(5_000),
            exit_when_idle: None,
            refresh: Duration::from_secs(2),
        }
    }
}

impl WorkerOptions {
    /// The options the command line describes.
    pub fn from_args(args: &WorkerArgs) -> WorkerOptions {
        WorkerOptions {
            consumer: args.consumer.clone().unwrap_or_else(default_consumer),
            batch: args.batch.max(1),
            block: Duration::from_millis(args.block_ms.max(1)),
            claim_idle: Duration::from_millis(args.claim_idle_ms),
            exit_when_idle: args.exit_when_idle_ms.map(Duration::from_millis),
            ..WorkerOptions::default()
        }
    }
}

/// `<hostname>-<pid>`.
pub fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// The `worker` role: returns the process exit status.
pub async fn main(args: WorkerArgs) -> i32 {
    let locator = match args.store.locator() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("coupon worker: {e}");
            return 2;
        }
    };
    let patience = args.store.patience();
    let db = match Db::open(&args.db.db).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("coupon worker: {}: {e}", args.db.db);
            return 1;
        }
    };
    let confirmer = args.store.confirmer(&locator);
    let primary = Primary::new(locator, patience);
    let opts = WorkerOptions::from_args(&args);
    tracing::info!("worker {} persisting to {}", opts.consumer, args.db.db);
    let stop = async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    // Stopping in the middle of a batch is safe: what was not acknowledged is read again.
    tokio::select! {
        outcome = run(primary, db, opts, confirmer) => match outcome {
            Ok(()) => {
                tracing::info!("worker idle: exiting");
                0
            }
            Err(e) => {
                eprintln!("coupon worker: {e}");
                1
            }
        },
        _ = stop => {
            tracing::info!("worker stopped by signal");
            0
        }
    }
}

/// One stream entry as read.
struct Entry {
    stream: String,
    id: String,
    coupon: Result<Coupon, String>,
}

/// What one step failed on.
enum StepError {
    /// Worth trying again later (the store or the database is away, a write unconfirmed).
    Transient(String),
    /// Retrying cannot help.
    Fatal(String),
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        if is_nogroup(&e) {
            return StepError::Transient(e.to_string());
        }
        match e {
            StoreError::Unavailable { last } => {
                StepError::Transient(format!("store unavailable: {last}"))
            }
            StoreError::Refused(e) => StepError::Fatal(format!("the store refused: {e}")),
        }
    }
}

/// The group (or the whole stream) is gone: `NOGROUP`, or `UNBLOCKED` for a blocked read.
fn is_nogroup(e: &StoreError) -> bool {
    matches!(e, StoreError::Refused(e) if matches!(e.code(), Some("NOGROUP" | "UNBLOCKED")))
}

struct Worker {
    primary: Primary,
    db: Db,
    opts: WorkerOptions,
    confirmer: Option<Confirmer>,
    /// Stream key -> campaign id.
    streams: BTreeMap<String, String>,
    refreshed: Option<Instant>,
    claimed: Option<Instant>,
    /// Our own pending entries may hold something unpersisted (after a failure, at start).
    recheck_own: bool,
}

/// Runs the worker until `exit_when_idle` passes with nothing to do (never without it), or a
/// failure that retrying cannot fix.
pub async fn run(
    primary: Primary,
    db: Db,
    opts: WorkerOptions,
    confirmer: Option<Confirmer>,
) -> Result<(), String> {
    let mut worker = Worker {
        primary,
        db,
        opts,
        confirmer,
        streams: BTreeMap::new(),
        refreshed: None,
        claimed: None,
        recheck_own: true,
    };
    let mut busy_at = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        if let Some(idle) = worker.opts.exit_when_idle {
            if busy_at.elapsed() >= idle {
                return Ok(());
            }
        }
        match worker.step().await {
            Ok(0) => pause = Duration::from_millis(50),
            Ok(_) => {
                busy_at = Instant::now();
                pause = Duration::from_millis(50);
            }
            Err(StepError::Fatal(e)) => return Err(e),
            Err(StepError::Transient(e)) => {
                tracing::warn!("worker {}: {e}; retrying", worker.opts.consumer);
                worker.recheck_own = true;
                busy_at = Instant::now();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

impl Worker {
    /// One round: find streams, then take our own pending entries, or claim abandoned ones,
    /// or read new ones; returns how many entries it handled.
    async fn step(&mut self) -> Result<usize, StepError> {
        if self
            .refreshed
            .is_none_or(|t| t.elapsed() >= self.opts.refresh)
        {
            self.refresh().await?;
        }
        if self.streams.is_empty() {
            tokio::time::sleep(self.opts.block.min(self.opts.refresh)).await;
            return Ok(0);
        }
        if self.recheck_own {
            let n = self.read(false).await?;
            if n == 0 {
                self.recheck_own = false;
            }
            return Ok(n);
        }
        let claim_every =
            (self.opts.claim_idle / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
        if self.claimed.is_none_or(|t| t.elapsed() >= claim_every) {
            let n = self.claim().await?;
            if n == 0 {
                self.claimed = Some(Instant::now());
            } else {
                return Ok(n);
            }
        }
        self.read(true).await
    }

    /// Reads the campaign set; makes sure the group exists on streams not seen before.
    async fn refresh(&mut self) -> Result<(), StepError> {
        let ids: Vec<String> = self
            .primary
            .run(|c| async move {
                redis::cmd("SMEMBERS")
                    .arg(CAMPAIGNS_KEY)
                    .query_async(&mut c.conn.clone())
                    .await
            })
            .await?;
        let mut streams = BTreeMap::new();
        for id in ids {
            match check_id("campaign", &id) {
                Ok(()) => {
                    streams.insert(CampaignKeys::of(&id).requests, id);
                }
                Err(e) => tracing::warn!("ignoring campaign {id:?} in {CAMPAIGNS_KEY}: {e}"),
            }
        }
        let new: Vec<String> = streams
            .keys()
            .filter(|s| !self.streams.contains_key(*s))
            .cloned()
            .collect();
        if !new.is_empty() {
            tracing::debug!("worker {}: {} new streams", self.opts.consumer, new.len());
            self.ensure_groups(&new).await?;
        }
        self.streams = streams;
        self.refreshed = Some(Instant::now());
        Ok(())
    }

    /// Creates the group (from the start of the stream) where it is missing.
    async fn ensure_groups(&self, streams: &[String]) -> Result<(), StepError> {
        for stream in streams {
            let created = self
                .primary
                .run(|c| async move {
                    let reply: redis::RedisResult<String> = redis::cmd("XGROUP")
                        .arg("CREATE")
                        .arg(stream)
                        .arg(GROUP)
                        .arg("0")
                        .arg("MKSTREAM")
                        .query_async(&mut c.conn.clone())
                        .await;
                    match reply {
                        Ok(_) => Ok(true),
                        Err(e) if e.code() == Some("BUSYGROUP") => Ok(false),
                        Err(e) => Err(e),
                    }
                })
                .await?;
            if created {
                tracing::info!("created the consumer group {GROUP} of {stream}");
            }
        }
        Ok(())
    }

    /// `XREADGROUP` on every stream: new entries (`>`, blocking) or our own pending ones (`0`).
    async fn read(&mut self, new: bool) -> Result<usize, StepError> {
        let streams: Vec<String> = self.streams.keys().cloned().collect();
        let response_timeout = self.primary.patience().response_timeout;
        // A read must not outlast the connection's response timeout.
        let block = self
            .opts
            .block
            .min(response_timeout.saturating_sub(Duration::from_millis(250)))
            .max(Duration::from_millis(1));
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&self.opts.consumer)
            .arg("COUNT")
            .arg(self.opts.batch);
        if new {
            cmd.arg("BLOCK").arg(block.as_millis() as u64);
        }
        cmd.arg("STREAMS").arg(&streams);
        for _ in &streams {
            cmd.arg(if new { ">" } else { "0" });
        }
        let read = self
            .on_streams(&streams, |c| {
                let cmd = cmd.clone();
                async move {
                    let reply: Value = cmd.query_async(&mut c.conn.clone()).await?;
                    Ok((reply, c.server))
                }
            })
            .await?;
        let Some((reply, server)) = read else {
            return Ok(0);
        };
        let entries = self
            .parse_read(&reply)
            .map_err(|e| StepError::Fatal(format!("XREADGROUP: {e}")))?;
        self.handle(entries, server).await
    }

    /// Runs a read of `streams` on the primary; a consumer group that vanished (a failover
    /// that lost it) is recreated and the read gives `None`.
    async fn on_streams<T, F, Fut>(
        &self,
        streams: &[String],
        op: F,
    ) -> Result<Option<(T, Arc<str>)>, StepError>
    where
        F: FnMut(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<(T, Arc<str>)>>,
    {
        match self.primary.run(op).await {
            Ok(r) => Ok(Some(r)),
            Err(e) if is_nogroup(&e) => {
                tracing::warn!("a consumer group vanished ({e}): recreating");
                self.ensure_groups(streams).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `XAUTOCLAIM` on every stream: entries pending longer than `claim_idle`.
    async fn claim(&mut self) -> Result<usize, StepError> {
        let streams: Vec<String> = self.streams.keys().cloned().collect();
        let mut pipe = redis::pipe();
        for stream in &streams {
            pipe.cmd("XAUTOCLAIM")
                .arg(stream)
                .arg(GROUP)
                .arg(&self.opts.consumer)
                .arg(self.opts.claim_idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(self.opts.batch);
        }
        let claimed = self
            .on_streams(&streams, |c| {
                let pipe = pipe.clone();
                async move {
                    let replies: Vec<Value> = pipe.query_async(&mut c.conn.clone()).await?;
                    Ok((replies, c.server))
                }
            })
            .await?;
        let Some((replies, server)) = claimed else {
            return Ok(0);
        };
        let mut entries = Vec::new();
        for (stream, reply) in streams.iter().zip(&replies) {
            let Some(parts) = as_array(reply) else {
                return Err(StepError::Fatal(format!(
                    "XAUTOCLAIM: unexpected reply {reply:?}"
                )));
            };
            let list = parts
                .get(1)
                .ok_or_else(|| StepError::Fatal(format!("XAUTOCLAIM: short reply {reply:?}")))?;
            let campaign = &self.streams[stream];
            entries.extend(
                parse_entries(stream, campaign, list)
                    .map_err(|e| StepError::Fatal(format!("XAUTOCLAIM: {e}")))?,
            );
        }
        if !entries.is_empty() {
            tracing::info!(
                "worker {}: claimed {} abandoned entries",
                self.opts.consumer,
                entries.len()
            );
        }
        self.handle(entries, server).await
    }

    fn parse_read(&self, reply: &Value) -> Result<Vec<Entry>, String> {
        let mut entries = Vec::new();
        let pairs: Vec<(&Value, &Value)> = match reply {
            Value::Nil => return Ok(entries),
            Value::Array(items) => items
                .iter()
                .map(|item| match as_array(item) {
                    Some([name, list]) => Ok((name, list)),
                    _ => Err(format!("unexpected stream reply {item:?}")),
                })
                .collect::<Result<_, _>>()?,
            Value::Map(items) => items.iter().map(|(k, v)| (k, v)).collect(),
            other => return Err(format!("unexpected reply {other:?}")),
        };
        for (name, list) in pairs {
            let stream =
                as_string(name).ok_or_else(|| format!("unexpected stream name {name:?}"))?;
            let campaign = match self.streams.get(&stream) {
                Some(c) => c.clone(),
                None => {
                    return Err(format!(
                        "reply names stream {stream:?} that was not asked for"
                    ))
                }
            };
            entries.extend(parse_entries(&stream, &campaign, list)?);
        }
        Ok(entries)
    }

    /// Confirms (if asked), persists and acknowledges `entries`, read from `server`.
    async fn handle(&mut self, entries: Vec<Entry>, server: Arc<str>) -> Result<usize, StepError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let coupons: Vec<Coupon> = entries
            .iter()
            .filter_map(|e| e.coupon.as_ref().ok().cloned())
            .collect();
        for e in &entries {
            if let Err(why) = &e.coupon {
                tracing::error!(
                    "{} {}: malformed entry, acknowledged without persisting: {why}",
                    e.stream,
                    e.id
                );
            }
        }
        if !coupons.is_empty() {
            if let Some(confirmer) = &self.confirmer {
                // Persisting what the primary may still lose would make the database hold a
                // coupon the store can issue again: wait until a replica has it.
                confirmer.confirm(server).await.map_err(|e| {
                    StepError::Transient(format!("{} entries not confirmed: {e}", coupons.len()))
                })?;
            }
            let (done, conflicts) = self.db.persist_with_details(&coupons).await.map_err(|e| {
                StepError::Transient(format!("persisting {} coupons failed: {e}", coupons.len()))
            })?;
            for line in &conflicts {
                tracing::warn!("conflict: {line}");
            }
            tracing::debug!(
                "worker {}: {} coupons: {} persisted, {} already there, {} conflicts",
                self.opts.consumer,
                coupons.len(),
                done.inserted,
                done.already,
                done.conflicts
            );
        }
        let mut by_stream: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in &entries {
            by_stream.entry(&e.stream).or_default().push(&e.id);
        }
        let mut pipe = redis::pipe();
        for (stream, ids) in &by_stream {
            pipe.cmd("XACK").arg(*stream).arg(GROUP).arg(ids).ignore();
        }
        self.primary
            .run(|c| {
                let pipe = pipe.clone();
                async move { pipe.query_async::<()>(&mut c.conn.clone()).await }
            })
            .await
            .map_err(|e| {
                StepError::Transient(format!(
                    "acknowledging failed (they will be read again): {e}"
                ))
            })?;
        Ok(entries.len())
    }
}

fn as_array(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(items) | Value::Set(items) => Some(items),
        _ => None,
    }
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// Parses a list of `[id, [field, value, …]]` entries of `stream` (campaign `campaign`).
fn parse_entries(stream: &str, campaign: &str, list: &Value) -> Result<Vec<Entry>, String> {
    let items = match list {
        Value::Nil => return Ok(Vec::new()),
        v => as_array(v).ok_or_else(|| format!("unexpected entry list {v:?}"))?,
    };
    let mut out = Vec::new();
    for item in items {
        // Redis 6.2 answers XAUTOCLAIM with nil for entries deleted meanwhile.
        if *item == Value::Nil {
            continue;
        }
        let (id, fields) = match as_array(item) {
            Some([id, fields]) => (
                as_string(id).ok_or_else(|| format!("unexpected entry id {id:?}"))?,
                fields,
            ),
            _ => return Err(format!("unexpected entry {item:?}")),
        };
        let coupon = parse_coupon(campaign, fields);
        out.push(Entry {
            stream: stream.to_string(),
            id,
            coupon,
        });
    }
    Ok(out)
}

/// The coupon an entry's fields describe (`campaign user coupon seq key at`).
fn parse_coupon(campaign: &str, fields: &Value) -> Result<Coupon, String> {
    let mut map: HashMap<String, String> = HashMap::new();
    match fields {
        // An entry deleted from the stream while still pending.
        Value::Nil => return Err("the entry was deleted".into()),
        Value::Map(pairs) => {
            for (k, v) in pairs {
                map.insert(
                    as_string(k).unwrap_or_default(),
                    as_string(v).unwrap_or_default(),
                );
            }
        }
        v => {
            let items = as_array(v).ok_or_else(|| format!("unexpected fields {v:?}"))?;
            for pair in items.chunks(2) {
                if let [k, v] = pair {
                    map.insert(
                        as_string(k).unwrap_or_default(),
                        as_string(v).unwrap_or_default(),
                    );
                }
            }
        }
    }
    let get = |name: &str| {
        map.get(name)
            .cloned()
            .ok_or_else(|| format!("no field {name:?} in {map:?}"))
    };
    let c = Coupon {
        campaign: get("campaign")?,
        user: get("user")?,
        coupon: get("coupon")?,
        seq: get("seq")?
            .parse()
            .map_err(|_| format!("bad seq in {map:?}"))?,
        idempotency_key: get("key")?,
        issued_at_ms: get("at")?
            .parse()
            .map_err(|_| format!("bad at in {map:?}"))?,
    };
    if c.campaign != campaign {
        return Err(format!(
            "campaign {:?} in the stream of campaign {campaign:?}",
            c.campaign
        ));
    }
    if c.seq == 0 {
        return Err("seq 0".into());
    }
    check_id("user", &c.user)?;
    check_id("coupon", &c.coupon)?;
    check_id("idempotency key", &c.idempotency_key)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Campaign;
    use crate::primary::{Locator, Patience};

    /// A throwaway server on a free port, killed on drop.
    struct Server {
        child: std::process::Child,
        port: u16,
        dir: std::path::PathBuf,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    impl Server {
        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}", self.port)
        }
    }

    fn redoubt_bin() -> String {
        format!(
            "{}/../../target/release/redoubt-server",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// Starts `bin` (`redis-server` or our `redoubt-server`) with `extra` options; None (and a
    /// note) if it is not installed.
    async fn start(bin: &str, extra: &[&str]) -> Option<Server> {
        let found = if bin.contains('/') {
            std::path::Path::new(bin).exists()
        } else {
            std::process::Command::new(bin)
                .arg("--version")
                .output()
                .is_ok()
        };
        if !found {
            eprintln!("skipped: {bin} is not available");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("coupon-worker-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(["--dir".to_string(), dir.display().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = std::process::Command::new(bin)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, port, dir };
        let client = redis::Client::open(server.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
                {
                    return Some(server);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{bin} did not start on port {}", server.port);
    }

    fn primary(server: &Server) -> Primary {
        Primary::new(
            Locator::Direct(server.url()),
            Patience {
                deadline: Duration::from_secs(5),
                response_timeout: Duration::from_secs(2),
                connections: 2,
            },
        )
    }

    fn options(consumer: &str, exit_when_idle_ms: u64) -> WorkerOptions {
        WorkerOptions {
            consumer: consumer.into(),
            batch: 3,
            block: Duration::from_millis(100),
            claim_idle: Duration::from_millis(200),
            exit_when_idle: Some(Duration::from_millis(exit_when_idle_ms)),
            refresh: Duration::from_millis(100),
        }
    }

    async fn cmd<T: redis::FromRedisValue>(p: &Primary, c: redis::Cmd) -> T {
        p.run(|conn| {
            let c = c.clone();
            async move { c.query_async(&mut conn.conn.clone()).await }
        })
        .await
        .unwrap()
    }

    /// A campaign in the database and the store.
    async fn campaign(p: &Primary, db: &Db, quantity: u64) -> Campaign {
        let c = db.create_campaign("test", quantity, 0, None).await.unwrap();
        let k = CampaignKeys::of(&c.id);
        let mut create = redis::cmd("FCALL");
        create
            .arg("coupon_create")
            .arg(4)
            .arg(&k.state)
            .arg(&k.remaining)
            .arg(&k.requests)
            .arg(CAMPAIGNS_KEY);
        create.arg(&c.id).arg(quantity).arg(0).arg("").arg(0).arg(0);
        assert_eq!(cmd::<i64>(p, create).await, 1);
        c
    }

    async fn issue(p: &Primary, c: &Campaign, user: &str) -> Coupon {
        let k = CampaignKeys::of(&c.id);
        let key = format!("key-{user}");
        let mut f = redis::cmd("FCALL");
        f.arg("coupon_issue")
            .arg(5)
            .arg(&k.state)
            .arg(&k.remaining)
            .arg(&k.holders)
            .arg(&k.requests);
        f.arg(crate::model::user_key(user))
            .arg(&c.id)
            .arg(user)
            .arg(&key);
        let reply: Vec<String> = cmd(p, f).await;
        assert_eq!(reply[0], "issued", "{reply:?}");
        Coupon {
            coupon: reply[1].clone(),
            campaign: c.id.clone(),
            user: user.into(),
            seq: reply[3].parse().unwrap(),
            idempotency_key: key,
            issued_at_ms: reply[2].parse().unwrap(),
        }
    }

    async fn pending(p: &Primary, c: &Campaign) -> i64 {
        let reply: Vec<Value> = cmd(
            p,
            redis::cmd("XPENDING")
                .arg(CampaignKeys::of(&c.id).requests)
                .arg(GROUP)
                .to_owned(),
        )
        .await;
        redis::from_redis_value(&reply[0]).unwrap()
    }

    async fn run_bounded(p: &Primary, db: &Db, opts: WorkerOptions) {
        tokio::time::timeout(
            Duration::from_secs(20),
            run(p.clone(), db.clone(), opts, None),
        )
        .await
        .expect("the worker did not go idle")
        .unwrap();
    }

    async fn persists_acks_and_reports(bin: &str) {
        let Some(server) = start(bin, &[]).await else {
            return;
        };
        let p = primary(&server);
        let db = Db::open("sqlite::memory:").await.unwrap();
        let c = campaign(&p, &db, 10).await;
        let mut issued = Vec::new();
        for i in 0..5 {
            issued.push(issue(&p, &c, &format!("u{i}")).await);
        }
        // Malformed entries are acknowledged and skipped.
        let stream = CampaignKeys::of(&c.id).requests;
        let _: String = cmd(
            &p,
            redis::cmd("XADD")
                .arg(&stream)
                .arg("*")
                .arg("campaign")
                .arg(&c.id)
                .to_owned(),
        )
        .await;
        let mut bad = redis::cmd("XADD");
        bad.arg(&stream)
            .arg("*")
            .arg("campaign")
            .arg(&c.id)
            .arg("user")
            .arg("a b")
            .arg("coupon")
            .arg("x");
        bad.arg("seq")
            .arg("zz")
            .arg("key")
            .arg("k")
            .arg("at")
            .arg("1");
        let _: String = cmd(&p, bad).await;
        run_bounded(&p, &db, options("w1", 600)).await;
        assert_eq!(db.coupons_of_campaign(&c.id).await.unwrap(), issued);
        assert_eq!(pending(&p, &c).await, 0);

        // The store lost a write the database has: the next coupon clashes and is reported.
        let mut ghost = issued[0].clone();
        ghost.user = "ghost".into();
        ghost.seq = 6;
        ghost.coupon = format!("{}-6", c.id);
        db.persist(&[ghost]).await.unwrap();
        for i in 5..8 {
            issued.push(issue(&p, &c, &format!("u{i}")).await);
        }
        run_bounded(&p, &db, options("w2", 600)).await;
        assert_eq!(
            db.persisted_count(&c.id).await.unwrap(),
            8,
            "7 issued + the ghost, less the clash"
        );
        let conflicts = db.conflicts_of_campaign(&c.id).await.unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert!(conflicts[0].contains("user u5"), "{conflicts:?}");
        assert_eq!(pending(&p, &c).await, 0);
    }

    #[tokio::test]
    async fn persists_acks_and_reports_on_redis() {
        persists_acks_and_reports("redis-server").await;
    }

    #[tokio::test]
    async fn persists_acks_and_reports_on_redoubt() {
        persists_acks_and_reports(&redoubt_bin()).await;
    }

    #[tokio::test]
    async fn claims_what_a_dead_worker_left_and_recreates_a_lost_group() {
        let Some(server) = start("redis-server", &[]).await else {
            return;
        };
        let p = primary(&server);
        let db = Db::open("sqlite::memory:").await.unwrap();
        let c = campaign(&p, &db, 10).await;
        let stream = CampaignKeys::of(&c.id).requests;
        let mut issued = Vec::new();
        for i in 0..4 {
            issued.push(issue(&p, &c, &format!("u{i}")).await);
        }
        // A worker read them and died.
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(GROUP)
            .arg("dead")
            .arg("COUNT")
            .arg(10)
            .arg("STREAMS")
            .arg(&stream)
            .arg(">");
        let _: Value = cmd(&p, read).await;
        assert_eq!(pending(&p, &c).await, 4);
        run_bounded(&p, &db, options("heir", 1_000)).await;
        assert_eq!(db.coupons_of_campaign(&c.id).await.unwrap(), issued);
        assert_eq!(pending(&p, &c).await, 0);

        // A failover lost the group, then the whole stream, under a running worker: the group
        // is recreated and the stream read again from the start.
        let mut opts = options("heir", 0);
        opts.exit_when_idle = None;
        let worker = tokio::spawn(run(p.clone(), db.clone(), opts, None));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _: i64 = cmd(
            &p,
            redis::cmd("XGROUP")
                .arg("DESTROY")
                .arg(&stream)
                .arg(GROUP)
                .to_owned(),
        )
        .await;
        issued.push(issue(&p, &c, "late").await);
        until(|| async { db.persisted_count(&c.id).await.unwrap() == 5 }).await;
        let _: i64 = cmd(&p, redis::cmd("DEL").arg(&stream).to_owned()).await;
        issued.push(issue(&p, &c, "later").await);
        until(|| async { db.persisted_count(&c.id).await.unwrap() == 6 }).await;
        until(|| async { pending(&p, &c).await == 0 }).await;
        assert!(
            !worker.is_finished(),
            "the worker stopped: {:?}",
            worker.await
        );
        worker.abort();
        assert_eq!(db.coupons_of_campaign(&c.id).await.unwrap(), issued);
        assert!(db.conflicts_of_campaign(&c.id).await.unwrap().is_empty());
    }

    /// Waits (at most 15 s) until `check` holds.
    async fn until<F, Fut>(mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn replicated_persists_only_what_a_replica_holds() {
        let Some(server) = start("redis-server", &[]).await else {
            return;
        };
        let p = primary(&server);
        let db = Db::open("sqlite::memory:").await.unwrap();
        let c = campaign(&p, &db, 10).await;
        let issued = vec![issue(&p, &c, "a").await, issue(&p, &c, "b").await];
        let patience = p.patience().clone();
        let confirmer = Confirmer::start(
            Locator::Direct(server.url()),
            &patience,
            1,
            Duration::from_millis(100),
        );
        let mut opts = options("careful", 0);
        opts.exit_when_idle = None;
        let worker = tokio::spawn(run(p.clone(), db.clone(), opts, Some(confirmer)));
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(
            db.persisted_count(&c.id).await.unwrap(),
            0,
            "persisted without a replica"
        );

        let port = server.port.to_string();
        let Some(_replica) = start("redis-server", &["--replicaof", "127.0.0.1", &port]).await
        else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while db.persisted_count(&c.id).await.unwrap() < 2 {
            assert!(
                Instant::now() < deadline,
                "not persisted once a replica holds the entries"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(db.coupons_of_campaign(&c.id).await.unwrap(), issued);
        while pending(&p, &c).await > 0 {
            assert!(Instant::now() < deadline, "not acknowledged");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        worker.abort();
    }

    #[test]
    fn entries_are_parsed() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let fields = |pairs: &[(&str, &str)]| {
            Value::Array(pairs.iter().flat_map(|(k, v)| [bulk(k), bulk(v)]).collect())
        };
        let good = [
            ("campaign", "c1"),
            ("user", "u"),
            ("coupon", "c1-2"),
            ("seq", "2"),
            ("key", "k"),
            ("at", "5"),
        ];
        let c = parse_coupon("c1", &fields(&good)).unwrap();
        assert_eq!(
            (c.user.as_str(), c.seq, c.issued_at_ms, c.coupon.as_str()),
            ("u", 2, 5, "c1-2")
        );
        assert!(
            parse_coupon("c2", &fields(&good)).is_err(),
            "another campaign's stream"
        );
        assert!(
            parse_coupon("c1", &fields(&good[..5])).is_err(),
            "missing at"
        );
        assert!(parse_coupon("c1", &Value::Nil).is_err(), "deleted entry");
        let list = Value::Array(vec![
            Value::Array(vec![bulk("1-0"), fields(&good)]),
            Value::Nil,
            Value::Array(vec![bulk("2-0"), Value::Nil]),
        ]);
        let entries = parse_entries("s", "c1", &list).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries[0].coupon.is_ok() && entries[1].coupon.is_err());
        assert_eq!(entries[1].id, "2-0");
        assert!(parse_entries("s", "c1", &bulk("x")).is_err());
    }

    #[test]
    fn options_follow_the_command_line() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            worker: WorkerArgs,
        }
        let cli = Cli::parse_from([
            "coupon",
            "--redis",
            "redis://x:1",
            "--batch",
            "7",
            "--exit-when-idle-ms",
            "50",
        ]);
        let opts = WorkerOptions::from_args(&cli.worker);
        assert_eq!(opts.batch, 7);
        assert_eq!(opts.exit_when_idle, Some(Duration::from_millis(50)));
        assert_eq!(opts.claim_idle, Duration::from_millis(5_000));
        assert!(opts.consumer.ends_with(&format!("-{}", std::process::id())));
        assert_eq!(cli.worker.db.db, "sqlite:coupon.db");
    }
}
