//! The service's data: campaigns, coupons and the validation of what clients send.

use serde::{Deserialize, Serialize};

/// Longest user id or idempotency key the API accepts.
pub const MAX_ID_LEN: usize = 128;

/// A campaign: a limited quantity of coupons, issued first come first served within a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Identifier chosen by the service (letters, digits, `-`, `_`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// How many coupons exist in total.
    pub quantity: u64,
    /// Issuance opens at this time (Unix milliseconds).
    pub starts_at_ms: i64,
    /// Issuance closes at this time (Unix milliseconds), if ever.
    pub ends_at_ms: Option<i64>,
    /// Closed by an operator before its end.
    pub closed: bool,
}

/// One coupon handed to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    /// `<campaign>-<seq>`: unique, and `seq` never exceeds the campaign's quantity.
    pub coupon: String,
    /// The campaign it belongs to.
    pub campaign: String,
    /// Who holds it.
    pub user: String,
    /// Its position in issuance order, from 1.
    pub seq: u64,
    /// The idempotency key of the request that issued it.
    pub idempotency_key: String,
    /// When the store issued it (the server's clock, Unix milliseconds).
    pub issued_at_ms: i64,
}

/// Checks a user id, idempotency key or campaign id: 1 to [`MAX_ID_LEN`] characters of
/// `[A-Za-z0-9_.:-]`, so it can be embedded in keys and values without escaping.
pub fn check_id(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(format!("{what} is longer than {MAX_ID_LEN} characters"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(format!(
            "{what} contains {c:?}; allowed are letters, digits and _ . : -"
        ));
    }
    Ok(())
}

/// The keys of one campaign in the store; all share the hash tag `{<id>}`.
#[derive(Debug, Clone)]
pub struct CampaignKeys {
    /// Hash: quantity, starts_ms, ends_ms, closed.
    pub state: String,
    /// Integer: coupons left.
    pub remaining: String,
    /// Hash: user -> `<coupon>|<idempotency key>|<issued ms>`.
    pub holders: String,
    /// Stream of issued coupons for the workers (consumer group [`GROUP`]).
    pub requests: String,
    /// String: the cached campaign metadata (JSON), with a TTL.
    pub cache: String,
}

/// The consumer group the workers share.
pub const GROUP: &str = "persisters";

/// Set of every campaign id the store knows, for the workers to find the streams.
pub const CAMPAIGNS_KEY: &str = "coupon:campaigns";

impl CampaignKeys {
    /// The keys of campaign `id`.
    pub fn of(id: &str) -> CampaignKeys {
        CampaignKeys {
            state: format!("coupon:{{{id}}}:state"),
            remaining: format!("coupon:{{{id}}}:remaining"),
            holders: format!("coupon:{{{id}}}:holders"),
            requests: format!("coupon:{{{id}}}:requests"),
            cache: format!("coupon:{{{id}}}:cache"),
        }
    }
}

/// The hash of coupons a user holds, campaign -> coupon.
pub fn user_key(user: &str) -> String {
    format!("coupon:user:{{{user}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(check_id("user", "alice-1_x.y:z").is_ok());
        assert!(check_id("user", "").is_err());
        assert!(check_id("user", "a|b").is_err());
        assert!(check_id("user", "a b").is_err());
        assert!(check_id("user", &"a".repeat(MAX_ID_LEN)).is_ok());
        assert!(check_id("user", &"a".repeat(MAX_ID_LEN + 1)).is_err());
    }
}
