//! `--durability replicated`: a write is confirmed only once a replica acknowledged it.
//! Confirmations are batched: one barrier write and one `WAIT` cover every write that the
//! same primary process executed before the barrier.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::primary::{Locator, Patience, Primary, StoreError};

/// How an issuance is confirmed to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// As soon as the primary executed it (a failover may lose it).
    Async,
    /// Once at least `min_acks` replicas acknowledged it.
    Replicated {
        /// Replicas that must acknowledge.
        min_acks: u32,
    },
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "async" => Ok(Durability::Async),
            "replicated" => Ok(Durability::Replicated { min_acks: 1 }),
            other => Err(format!(
                "durability must be async or replicated, not {other:?}"
            )),
        }
    }
}

/// Why a write could not be confirmed.
#[derive(Debug)]
pub enum NotConfirmed {
    /// The barrier ran on another primary process than the write: the write may be lost,
    /// so the caller must redo it (idempotently) and confirm again.
    PrimaryChanged,
    /// Too few replicas acknowledged within the wait.
    TooFewAcks(i64),
    /// The store was unreachable.
    Store(StoreError),
}

impl std::fmt::Display for NotConfirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotConfirmed::PrimaryChanged => {
                write!(f, "the primary changed before the write was acknowledged")
            }
            NotConfirmed::TooFewAcks(n) => write!(f, "only {n} replicas acknowledged the write"),
            NotConfirmed::Store(e) => write!(f, "{e}"),
        }
    }
}

type Waiter = (Arc<str>, oneshot::Sender<Result<(), NotConfirmed>>);

/// Batches confirmations over a connection of its own (WAIT blocks the connection it runs on).
#[derive(Clone)]
pub struct Confirmer {
    queue: mpsc::UnboundedSender<Waiter>,
}

/// The key the barrier writes; its value only counts barriers.
pub const BARRIER_KEY: &str = "coupon:barrier";

impl Confirmer {
    /// Starts the batching task for `min_acks` replicas, each `WAIT` lasting at most `wait`.
    pub fn start(
        locator: Locator,
        patience: &Patience,
        min_acks: u32,
        wait: Duration,
    ) -> Confirmer {
        let primary = Primary::new(
            locator,
            Patience {
                connections: 1,
                response_timeout: patience.response_timeout + wait,
                ..patience.clone()
            },
        );
        let (queue, mut rx) = mpsc::unbounded_channel::<Waiter>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let outcome = primary
                    .run(|c| async move {
                        let (_, acks): (i64, i64) = redis::pipe()
                            .cmd("INCR")
                            .arg(BARRIER_KEY)
                            .cmd("WAIT")
                            .arg(min_acks)
                            .arg(wait.as_millis() as u64)
                            .query_async(&mut c.conn.clone())
                            .await?;
                        Ok((c.server, acks))
                    })
                    .await;
                for (server, tx) in batch {
                    let verdict = match &outcome {
                        Ok((on, _)) if *on != server => Err(NotConfirmed::PrimaryChanged),
                        Ok((_, acks)) if *acks < min_acks as i64 => {
                            Err(NotConfirmed::TooFewAcks(*acks))
                        }
                        Ok(_) => Ok(()),
                        Err(StoreError::Unavailable { last }) => {
                            Err(NotConfirmed::Store(StoreError::Unavailable {
                                last: last.clone(),
                            }))
                        }
                        Err(StoreError::Refused(e)) => {
                            Err(NotConfirmed::Store(StoreError::Unavailable {
                                last: e.to_string(),
                            }))
                        }
                    };
                    let _ = tx.send(verdict);
                }
            }
        });
        Confirmer { queue }
    }

    /// Resolves once every write that server `server` executed before this call is on
    /// enough replicas.
    pub async fn confirm(&self, server: Arc<str>) -> Result<(), NotConfirmed> {
        let (tx, rx) = oneshot::channel();
        if self.queue.send((server, tx)).is_err() {
            return Err(NotConfirmed::Store(StoreError::Unavailable {
                last: "confirmer stopped".into(),
            }));
        }
        rx.await
            .unwrap_or(Err(NotConfirmed::Store(StoreError::Unavailable {
                last: "confirmer stopped".into(),
            })))
    }
}
