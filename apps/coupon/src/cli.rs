//! Command-line options shared by the service's roles.

use std::time::Duration;

use clap::Args;

use crate::durability::{Confirmer, Durability};
use crate::primary::{Locator, Patience};

/// Where the store is and how long to wait for it.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// A sentinel to ask for the primary (`host:port`; repeat for each sentinel).
    #[arg(long = "sentinel", value_name = "HOST:PORT")]
    pub sentinels: Vec<String>,
    /// The name the sentinels monitor the primary under.
    #[arg(long, default_value = "myprimary")]
    pub master_name: String,
    /// Connect to this server directly instead of asking sentinels (`redis://host:port`).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// The data servers' password (`requirepass`).
    #[arg(long, env = "COUPON_REDIS_PASSWORD")]
    pub password: Option<String>,
    /// The sentinels' password, if they require one.
    #[arg(long)]
    pub sentinel_password: Option<String>,
    /// How long a request keeps retrying while the primary is unreachable before 503 (ms).
    #[arg(long, default_value_t = 30_000)]
    pub deadline_ms: u64,
    /// How long one store command may take before its connection counts as dead (ms).
    #[arg(long, default_value_t = 3_000)]
    pub response_timeout_ms: u64,
    /// Connections to the primary per process.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// `async`: confirm when the primary executed the write; `replicated`: when a replica
    /// acknowledged it too (WAIT).
    #[arg(long, default_value = "async")]
    pub durability: Durability,
    /// With `replicated`: how long one WAIT lasts before it is retried (ms).
    #[arg(long, default_value_t = 1_000)]
    pub wait_ms: u64,
}

impl StoreArgs {
    /// The locator these options describe.
    pub fn locator(&self) -> Result<Locator, String> {
        match (&self.redis, self.sentinels.is_empty()) {
            (Some(url), true) => {
                let url = match &self.password {
                    Some(p) if !url.contains('@') => {
                        url.replacen("redis://", &format!("redis://:{p}@"), 1)
                    }
                    _ => url.clone(),
                };
                Ok(Locator::Direct(url))
            }
            (None, false) => Ok(Locator::Sentinels {
                sentinels: self.sentinels.clone(),
                master: self.master_name.clone(),
                password: self.password.clone(),
                sentinel_password: self.sentinel_password.clone(),
            }),
            (Some(_), false) => Err("give either --redis or --sentinel, not both".into()),
            (None, true) => {
                Err("give --sentinel host:port (one per sentinel) or --redis url".into())
            }
        }
    }

    /// With `--durability replicated`, the batching confirmer (started on the runtime).
    pub fn confirmer(&self, locator: &Locator) -> Option<Confirmer> {
        match self.durability {
            Durability::Async => None,
            Durability::Replicated { min_acks } => Some(Confirmer::start(
                locator.clone(),
                &self.patience(),
                min_acks,
                Duration::from_millis(self.wait_ms),
            )),
        }
    }

    /// The waiting these options describe.
    pub fn patience(&self) -> Patience {
        Patience {
            deadline: Duration::from_millis(self.deadline_ms),
            response_timeout: Duration::from_millis(self.response_timeout_ms),
            connections: self.connections,
        }
    }
}

/// Where issued coupons are persisted.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// `sqlite:<path>` (the default, created if missing) or `postgres://…`.
    #[arg(long, default_value = "sqlite:coupon.db")]
    pub db: String,
}
