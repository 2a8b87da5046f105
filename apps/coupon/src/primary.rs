//! The connection to the current primary: found directly or through the sentinels, followed
//! across failovers, and retried until a deadline when it is briefly unreachable.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, RedisResult};
use tokio::sync::Mutex;

/// The server-side function library (`#!lua name=coupon`).
pub const LIBRARY: &str = include_str!("coupon.lua");

/// Where to find the primary.
#[derive(Debug, Clone)]
pub enum Locator {
    /// A fixed address, `redis://[:password@]host:port`.
    Direct(String),
    /// Ask these sentinels (`host:port`) for the primary named `master`.
    Sentinels {
        /// The sentinels' addresses.
        sentinels: Vec<String>,
        /// The name the sentinels monitor the primary under.
        master: String,
        /// The data servers' password (`requirepass`), if any.
        password: Option<String>,
        /// The sentinels' own password, if any.
        sentinel_password: Option<String>,
    },
}

/// How long the service waits for the store.
#[derive(Debug, Clone)]
pub struct Patience {
    /// How long one operation may keep retrying while the primary is unreachable.
    pub deadline: Duration,
    /// How long one command may take before the connection is considered dead.
    pub response_timeout: Duration,
    /// How many connections to the primary requests are spread over.
    pub connections: usize,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            deadline: Duration::from_secs(30),
            response_timeout: Duration::from_secs(3),
            connections: 4,
        }
    }
}

/// Why an operation on the store did not complete.
#[derive(Debug)]
pub enum StoreError {
    /// The primary stayed unreachable (or read-only, loading …) for the whole deadline.
    Unavailable {
        /// The last failure seen.
        last: String,
    },
    /// The store answered with an error that retrying cannot fix.
    Refused(RedisError),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable { last } => write!(f, "the store is unavailable ({last})"),
            StoreError::Refused(e) => write!(f, "the store refused: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Counters a caller can report.
#[derive(Debug, Default)]
pub struct PrimaryStats {
    /// Operations retried after a transient failure.
    pub retries: AtomicU64,
    /// Times a new primary was connected to.
    pub reconnects: AtomicU64,
}

/// A connection to the primary and which server process it reaches.
#[derive(Clone)]
pub struct Conn {
    /// The multiplexed connection; clone it freely.
    pub conn: MultiplexedConnection,
    /// The server's `run_id`: a write confirmed through one run id says nothing of another.
    pub server: Arc<str>,
}

/// A shared handle to the current primary; cheap to clone.
#[derive(Clone)]
pub struct Primary {
    inner: Arc<Inner>,
}

struct Inner {
    locator: Locator,
    patience: Patience,
    slots: Vec<Mutex<Option<Conn>>>,
    next_slot: AtomicUsize,
    /// Bumped when the sentinels announce a new primary: connections made before are dropped.
    epoch: AtomicU64,
    slot_epochs: Vec<AtomicU64>,
    stats: PrimaryStats,
}

/// Whether retrying (on a possibly new primary) may succeed where this attempt failed.
pub fn is_transient(e: &RedisError) -> bool {
    if e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::MasterDown
                | ErrorKind::BusyLoadingError
                | ErrorKind::TryAgain
                | ErrorKind::ReadOnly
                | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::NoValidReplicasFoundBySentinel
                | ErrorKind::ClusterConnectionNotFound
        )
    {
        return true;
    }
    matches!(
        e.code(),
        Some("NOREPLICAS" | "MASTERDOWN" | "LOADING" | "READONLY" | "BUSY")
    ) || is_missing_library(e)
}

fn is_missing_library(e: &RedisError) -> bool {
    e.to_string().contains("Function not found")
}

impl Primary {
    /// A handle that connects lazily; with sentinels it also follows `+switch-master`.
    pub fn new(locator: Locator, patience: Patience) -> Primary {
        let n = patience.connections.max(1);
        let primary = Primary {
            inner: Arc::new(Inner {
                locator,
                patience,
                slots: (0..n).map(|_| Mutex::new(None)).collect(),
                next_slot: AtomicUsize::new(0),
                epoch: AtomicU64::new(0),
                slot_epochs: (0..n).map(|_| AtomicU64::new(0)).collect(),
                stats: PrimaryStats::default(),
            }),
        };
        if let Locator::Sentinels { .. } = primary.inner.locator {
            let follower = primary.clone();
            tokio::spawn(async move { follower.follow_switches().await });
        }
        primary
    }

    /// The retry counters.
    pub fn stats(&self) -> &PrimaryStats {
        &self.inner.stats
    }

    /// How long operations keep retrying.
    pub fn patience(&self) -> &Patience {
        &self.inner.patience
    }

    /// Runs `op` on a connection to the primary, retrying transient failures (a dead or
    /// demoted primary, a failover in progress) on the current primary until the deadline.
    /// `op` may run more than once, so it must be idempotent.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let deadline = Instant::now() + self.inner.patience.deadline;
        let mut pause = Duration::from_millis(20);
        loop {
            let slot =
                self.inner.next_slot.fetch_add(1, Ordering::Relaxed) % self.inner.slots.len();
            let failure = match self.connection(slot).await {
                Ok(conn) => match op(conn).await {
                    Ok(v) => return Ok(v),
                    Err(e) if is_transient(&e) => {
                        if is_missing_library(&e) {
                            // A primary that never ran the library (a fresh server): load it.
                            self.forget(slot).await;
                        } else if !matches!(e.code(), Some("NOREPLICAS" | "BUSY")) {
                            self.forget(slot).await;
                        }
                        e
                    }
                    Err(e) => return Err(StoreError::Refused(e)),
                },
                Err(e) if is_transient(&e) || e.kind() == ErrorKind::IoError => e,
                Err(e) => return Err(StoreError::Refused(e)),
            };
            if Instant::now() + pause > deadline {
                return Err(StoreError::Unavailable {
                    last: failure.to_string(),
                });
            }
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("store operation retried: {failure}");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Runs `op` once, without retrying and for at most `limit`: for reads that have another
    /// source (a cache in front of the database) and must not wait out a failover.
    pub async fn try_once<T, F, Fut>(&self, limit: Duration, op: F) -> Option<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let slot = self.inner.next_slot.fetch_add(1, Ordering::Relaxed) % self.inner.slots.len();
        let attempt = async {
            let conn = self.connection(slot).await.ok()?;
            match op(conn).await {
                Ok(v) => Some(v),
                Err(e) => {
                    if is_transient(&e) {
                        self.forget(slot).await;
                    }
                    None
                }
            }
        };
        tokio::time::timeout(limit, attempt).await.ok().flatten()
    }

    /// A connection from `slot`, connecting (and loading the library) if it has none or the
    /// sentinels named a new primary since it was made.
    async fn connection(&self, slot: usize) -> RedisResult<Conn> {
        let mut guard = self.inner.slots[slot].lock().await;
        let epoch = self.inner.epoch.load(Ordering::SeqCst);
        if self.inner.slot_epochs[slot].load(Ordering::SeqCst) != epoch {
            *guard = None;
        }
        if let Some(conn) = guard.as_ref() {
            return Ok(conn.clone());
        }
        let conn = self.connect().await?;
        self.inner.stats.reconnects.fetch_add(1, Ordering::Relaxed);
        *guard = Some(conn.clone());
        self.inner.slot_epochs[slot].store(epoch, Ordering::SeqCst);
        Ok(conn)
    }

    async fn forget(&self, slot: usize) {
        *self.inner.slots[slot].lock().await = None;
    }

    /// A fresh connection to whatever is the primary now, with the library loaded.
    async fn connect(&self) -> RedisResult<Conn> {
        let patience = &self.inner.patience;
        let config = AsyncConnectionConfig::new()
            .set_response_timeout(patience.response_timeout)
            .set_connection_timeout(patience.response_timeout);
        let attempt = async {
            let mut conn = match &self.inner.locator {
                Locator::Direct(url) => {
                    Client::open(url.as_str())?
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?
                }
                Locator::Sentinels {
                    sentinels,
                    master,
                    password,
                    sentinel_password,
                } => {
                    let urls: Vec<String> = sentinels
                        .iter()
                        .map(|s| match sentinel_password {
                            Some(p) => format!("redis://:{p}@{s}"),
                            None => format!("redis://{s}"),
                        })
                        .collect();
                    let node = SentinelNodeConnectionInfo {
                        tls_mode: None,
                        redis_connection_info: Some(redis::RedisConnectionInfo {
                            password: password.clone(),
                            ..Default::default()
                        }),
                    };
                    let mut client = SentinelClient::build(
                        urls,
                        master.clone(),
                        Some(node),
                        SentinelServerType::Master,
                    )?;
                    client.get_async_connection_with_config(&config).await?
                }
            };
            redis::cmd("FUNCTION")
                .arg("LOAD")
                .arg("REPLACE")
                .arg(LIBRARY)
                .query_async::<String>(&mut conn)
                .await?;
            let info: String = redis::cmd("INFO")
                .arg("server")
                .query_async(&mut conn)
                .await?;
            let server = info
                .lines()
                .find_map(|l| l.strip_prefix("run_id:"))
                .unwrap_or("")
                .trim()
                .into();
            Ok(Conn { conn, server })
        };
        // Discovery asks sentinels and checks ROLE without timeouts of its own.
        match tokio::time::timeout(patience.response_timeout * 2, attempt).await {
            Ok(r) => r,
            Err(_) => Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "finding the primary timed out",
            ))),
        }
    }

    /// Listens on every sentinel for `+switch-master` of our primary and drops the
    /// connections to the old one, so requests move before they fail.
    async fn follow_switches(self) {
        let Locator::Sentinels {
            sentinels,
            master,
            sentinel_password,
            ..
        } = self.inner.locator.clone()
        else {
            return;
        };
        for address in sentinels {
            let me = self.clone();
            let master = master.clone();
            let url = match &sentinel_password {
                Some(p) => format!("redis://:{p}@{address}"),
                None => format!("redis://{address}"),
            };
            tokio::spawn(async move {
                loop {
                    if let Err(e) = me.listen_for_switch(&url, &master).await {
                        tracing::debug!("sentinel {url}: {e}");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    }

    async fn listen_for_switch(&self, url: &str, master: &str) -> RedisResult<()> {
        use futures_util::StreamExt;
        let mut pubsub = Client::open(url)?.get_async_pubsub().await?;
        pubsub.subscribe("+switch-master").await?;
        let mut messages = pubsub.on_message();
        while let Some(msg) = messages.next().await {
            let text: String = msg.get_payload().unwrap_or_default();
            if text.split(' ').next() == Some(master) {
                tracing::info!("sentinel announced a new primary: {text}");
                self.inner.epoch.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}
