//! Issuing a coupon: one call of the server-side function `coupon_issue`, confirmed as the
//! durability setting asks, retried idempotently across failovers until the deadline.

use std::sync::Arc;
use std::time::Instant;

use redis::Value;

use crate::db::Db;
use crate::durability::{Confirmer, NotConfirmed};
use crate::model::{user_key, Campaign, CampaignKeys, Coupon, CAMPAIGNS_KEY};
use crate::primary::{Primary, StoreError};

/// What the store decided for one issuance request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new coupon for this user.
    Issued(Coupon),
    /// The same request (same user and idempotency key) was served before: its coupon.
    Replayed(Coupon),
    /// The user already holds this coupon, from a request with another idempotency key.
    Duplicate(String),
    /// No such campaign.
    Unknown,
    /// Closed by an operator.
    Closed,
    /// Its window has not opened yet.
    NotStarted,
    /// Its window has closed.
    Ended,
    /// Every coupon is taken.
    SoldOut,
}

/// Why an issuance got no answer.
#[derive(Debug)]
pub enum IssueError {
    /// The store stayed unreachable, or the write unconfirmed, for the whole deadline.
    Unavailable(String),
    /// The store or the database refused in a way retrying cannot fix.
    Failed(String),
}

impl std::fmt::Display for IssueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueError::Unavailable(why) => write!(f, "unavailable: {why}"),
            IssueError::Failed(why) => write!(f, "{why}"),
        }
    }
}

impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { last } => IssueError::Unavailable(last),
            StoreError::Refused(e) => IssueError::Failed(e.to_string()),
        }
    }
}

/// Issues coupons: the store, how writes are confirmed, and the database of record.
#[derive(Clone)]
pub struct Issuer {
    /// The primary, followed across failovers.
    pub primary: Primary,
    /// Present with `--durability replicated`.
    pub confirmer: Option<Confirmer>,
    /// The database of record (campaigns, persisted coupons).
    pub db: Arc<Db>,
}

/// Parses the function's reply `{outcome, coupon, issued ms, seq, nonce}`. A replay of the
/// attempt `nonce` (this same call retried after a lost reply or a failover) is reported as
/// `Issued`: the client asked once.
pub fn parse_outcome(
    reply: &Value,
    campaign: &str,
    user: &str,
    key: &str,
    nonce: &str,
) -> Result<Outcome, String> {
    let items: Vec<String> =
        redis::from_redis_value(reply).map_err(|e| format!("unexpected reply: {e}"))?;
    let field = |i: usize| {
        items
            .get(i)
            .cloned()
            .ok_or_else(|| format!("reply {items:?} is too short"))
    };
    let coupon = || -> Result<Coupon, String> {
        Ok(Coupon {
            coupon: field(1)?,
            campaign: campaign.to_string(),
            user: user.to_string(),
            seq: field(3)?
                .parse()
                .map_err(|_| format!("bad seq in {items:?}"))?,
            idempotency_key: key.to_string(),
            issued_at_ms: field(2)?
                .parse()
                .map_err(|_| format!("bad time in {items:?}"))?,
        })
    };
    Ok(match field(0)?.as_str() {
        "issued" => Outcome::Issued(coupon()?),
        "replayed" if items.get(4).is_some_and(|by| by == nonce) => Outcome::Issued(coupon()?),
        "replayed" => Outcome::Replayed(coupon()?),
        "duplicate" => Outcome::Duplicate(field(1)?),
        "unknown" => Outcome::Unknown,
        "closed" => Outcome::Closed,
        "not-started" => Outcome::NotStarted,
        "ended" => Outcome::Ended,
        "sold-out" => Outcome::SoldOut,
        other => return Err(format!("unknown outcome {other:?}")),
    })
}

impl Issuer {
    /// Issues a coupon of `campaign` to `user` for the request `key`. Safe to call again with
    /// the same arguments: the same coupon comes back (as `Replayed`).
    pub async fn issue(
        &self,
        campaign: &str,
        user: &str,
        key: &str,
    ) -> Result<Outcome, IssueError> {
        let deadline = Instant::now() + self.primary.patience().deadline;
        let keys = CampaignKeys::of(campaign);
        let user_hash = user_key(user);
        let mut restored = false;
        let nonce = format!("{:016x}", rand::random::<u64>());
        loop {
            let (reply, server): (Value, Arc<str>) = self
                .primary
                .run(|c| {
                    let mut conn = c.conn.clone();
                    let cmd = redis::cmd("FCALL")
                        .arg("coupon_issue")
                        .arg(5)
                        .arg(&keys.state)
                        .arg(&keys.remaining)
                        .arg(&keys.holders)
                        .arg(&keys.requests)
                        .arg(&user_hash)
                        .arg(campaign)
                        .arg(user)
                        .arg(key)
                        .arg(&nonce)
                        .to_owned();
                    async move { Ok((cmd.query_async(&mut conn).await?, c.server)) }
                })
                .await?;
            let outcome =
                parse_outcome(&reply, campaign, user, key, &nonce).map_err(IssueError::Failed)?;
            match (&outcome, &self.confirmer) {
                (Outcome::Unknown, _) if !restored => {
                    // The database may know a campaign the store lost or never got.
                    match self
                        .db
                        .campaign(campaign)
                        .await
                        .map_err(|e| IssueError::Failed(e.to_string()))?
                    {
                        Some(c) => {
                            self.restore(&c).await?;
                            restored = true;
                            continue;
                        }
                        None => return Ok(Outcome::Unknown),
                    }
                }
                (
                    Outcome::Issued(_) | Outcome::Replayed(_) | Outcome::Duplicate(_),
                    Some(confirmer),
                ) => match confirmer.confirm(server).await {
                    Ok(()) => return Ok(outcome),
                    Err(why) => {
                        if Instant::now() >= deadline {
                            return Err(IssueError::Unavailable(why.to_string()));
                        }
                        if !matches!(why, NotConfirmed::PrimaryChanged) {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                },
                _ => return Ok(outcome),
            }
        }
    }

    /// Creates the campaign's issuance state in the store (nothing if it exists).
    pub async fn create_in_store(
        &self,
        c: &Campaign,
        already_issued: u64,
    ) -> Result<bool, IssueError> {
        let keys = CampaignKeys::of(&c.id);
        let created: i64 = self
            .primary
            .run(|conn| {
                let mut conn = conn.conn.clone();
                let cmd = redis::cmd("FCALL")
                    .arg("coupon_create")
                    .arg(4)
                    .arg(&keys.state)
                    .arg(&keys.remaining)
                    .arg(&keys.requests)
                    .arg(CAMPAIGNS_KEY)
                    .arg(&c.id)
                    .arg(c.quantity)
                    .arg(c.starts_at_ms)
                    .arg(c.ends_at_ms.map(|e| e.to_string()).unwrap_or_default())
                    .arg(if c.closed { 1 } else { 0 })
                    .arg(already_issued)
                    .to_owned();
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        Ok(created == 1)
    }

    /// Changes the window or closes the campaign in the store; false if the store lacks it.
    pub async fn update_in_store(&self, c: &Campaign) -> Result<bool, IssueError> {
        let keys = CampaignKeys::of(&c.id);
        let updated: i64 = self
            .primary
            .run(|conn| {
                let mut conn = conn.conn.clone();
                let cmd = redis::cmd("FCALL")
                    .arg("coupon_update")
                    .arg(1)
                    .arg(&keys.state)
                    .arg(c.starts_at_ms)
                    .arg(c.ends_at_ms.map(|e| e.to_string()).unwrap_or_default())
                    .arg(if c.closed { 1 } else { 0 })
                    .to_owned();
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        Ok(updated == 1)
    }

    /// Rebuilds a campaign the store lacks from the database: its persisted holders first
    /// (so none of them gets a second coupon), then the state, with the remaining count
    /// starting after the highest persisted sequence number (so none is issued twice).
    async fn restore(&self, c: &Campaign) -> Result<(), IssueError> {
        let persisted = self
            .db
            .coupons_of_campaign(&c.id)
            .await
            .map_err(|e| IssueError::Failed(e.to_string()))?;
        let keys = CampaignKeys::of(&c.id);
        for chunk in persisted.chunks(500) {
            let mut pipe = redis::pipe();
            for p in chunk {
                pipe.cmd("HSETNX")
                    .arg(&keys.holders)
                    .arg(&p.user)
                    .arg(format!(
                        "{}|{}|{}|{}",
                        p.coupon, p.idempotency_key, p.issued_at_ms, p.seq
                    ))
                    .ignore();
            }
            self.primary
                .run(|conn| {
                    let mut conn = conn.conn.clone();
                    let pipe = pipe.clone();
                    async move { pipe.query_async::<()>(&mut conn).await }
                })
                .await?;
        }
        let highest = persisted.iter().map(|p| p.seq).max().unwrap_or(0);
        if self.create_in_store(c, highest).await? {
            tracing::warn!(
                "campaign {} was missing from the store: rebuilt from the database ({} persisted coupons)",
                c.id,
                persisted.len()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(items: &[&str]) -> Value {
        Value::Array(
            items
                .iter()
                .map(|s| Value::BulkString(s.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn outcomes_parse() {
        let issued = parse_outcome(
            &bulk(&["issued", "c1-7", "1700000000000", "7", "n"]),
            "c1",
            "u",
            "k",
            "n",
        )
        .unwrap();
        assert_eq!(
            issued,
            Outcome::Issued(Coupon {
                coupon: "c1-7".into(),
                campaign: "c1".into(),
                user: "u".into(),
                seq: 7,
                idempotency_key: "k".into(),
                issued_at_ms: 1_700_000_000_000,
            })
        );
        // This call's own earlier attempt issued it; another request's did not.
        let replayed = bulk(&["replayed", "c1-7", "1700000000000", "7", "n"]);
        assert_eq!(
            parse_outcome(&replayed, "c1", "u", "k", "n").unwrap(),
            issued
        );
        assert!(matches!(
            parse_outcome(&replayed, "c1", "u", "k", "other").unwrap(),
            Outcome::Replayed(_)
        ));
        assert_eq!(
            parse_outcome(&bulk(&["sold-out"]), "c1", "u", "k", "n").unwrap(),
            Outcome::SoldOut
        );
        assert_eq!(
            parse_outcome(&bulk(&["duplicate", "c1-3", "1", "3"]), "c1", "u", "k", "n").unwrap(),
            Outcome::Duplicate("c1-3".into())
        );
        assert!(parse_outcome(&bulk(&["issued", "c1-7"]), "c1", "u", "k", "n").is_err());
        assert!(parse_outcome(&bulk(&["what"]), "c1", "u", "k", "n").is_err());
        assert!(parse_outcome(&Value::Int(1), "c1", "u", "k", "n").is_err());
    }
}
