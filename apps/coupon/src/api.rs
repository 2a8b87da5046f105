//! `coupon api`: the HTTP API (JSON). Issuance goes to the store's function; campaign
//! metadata is read through a cache in the store, in front of the database of record.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cli::{DbArgs, StoreArgs};
use crate::db::Db;

use crate::issue::{IssueError, Issuer, Outcome};
use crate::model::{check_id, Campaign, CampaignKeys, Coupon};
use crate::primary::Primary;

/// Largest campaign the API creates: the store holds one hash field per coupon.
pub const MAX_QUANTITY: u64 = 100_000_000;

/// How long a cache read may take before the database answers instead.
const CACHE_READ_LIMIT: Duration = Duration::from_millis(200);

/// Options of `coupon api`.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Address to serve HTTP on; port 0 picks a free one (printed as `listening on …`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where the store is.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Where coupons are persisted.
    #[command(flatten)]
    pub db: DbArgs,
    /// How long campaign metadata stays in the cache (s).
    #[arg(long, default_value_t = 60)]
    pub cache_ttl_secs: u64,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Issues coupons.
    pub issuer: Issuer,
    /// Seconds campaign metadata is cached.
    pub cache_ttl_secs: u64,
}

/// Starts the API and serves until the process ends.
pub async fn main(args: ApiArgs) -> i32 {
    match serve(args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("coupon api: {e}");
            1
        }
    }
}

async fn serve(args: ApiArgs) -> Result<(), String> {
    let locator = args.store.locator()?;
    let patience = args.store.patience();
    let db = Db::open(&args.db.db)
        .await
        .map_err(|e| format!("database {}: {e}", args.db.db))?;
    let confirmer = args.store.confirmer(&locator);
    let state = AppState {
        issuer: Issuer {
            primary: Primary::new(locator, patience),
            confirmer,
            db: Arc::new(db),
        },
        cache_ttl_secs: args.cache_ttl_secs,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {addr}");
    tracing::info!(
        "coupon api listening on {addr}, durability {:?}",
        args.store.durability
    );
    axum::serve(listener, router(state))
        .await
        .map_err(|e| e.to_string())
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/campaigns", post(create_campaign))
        .route("/campaigns/{id}", get(get_campaign).patch(update_campaign))
        .route("/campaigns/{id}/issue", post(issue))
        .route("/campaigns/{id}/stats", get(stats))
        .route("/campaigns/{id}/coupons", get(campaign_coupons))
        .route("/campaigns/{id}/conflicts", get(campaign_conflicts))
        .route("/users/{user}/coupons", get(user_coupons))
        .with_state(state)
}

/// An error reply: a status and `{"error": message}`.
pub struct ApiError {
    status: StatusCode,
    message: String,
    coupon: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            coupon: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("no campaign {id}"))
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!("{e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Unavailable(why) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the store is unavailable: {why}"),
            ),
            IssueError::Failed(why) => ApiError::internal(why),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(coupon) = self.coupon {
            body["coupon"] = json!(coupon);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload
        .map(|Json(v)| v)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `POST /campaigns`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// Human-readable name.
    pub name: String,
    /// How many coupons exist.
    pub quantity: u64,
    /// Opening time (Unix ms); now if absent.
    pub starts_at_ms: Option<i64>,
    /// Closing time (Unix ms); never if absent.
    pub ends_at_ms: Option<i64>,
}

async fn create_campaign(
    State(app): State<AppState>,
    payload: Result<Json<NewCampaign>, JsonRejection>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let new = body(payload)?;
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request("name must have 1 to 200 characters"));
    }
    if new.quantity == 0 || new.quantity > MAX_QUANTITY {
        return Err(ApiError::bad_request(format!(
            "quantity must be between 1 and {MAX_QUANTITY}"
        )));
    }
    let starts = new.starts_at_ms.unwrap_or_else(now_ms);
    if let Some(ends) = new.ends_at_ms {
        if ends <= starts {
            return Err(ApiError::bad_request(
                "ends_at_ms must be after starts_at_ms",
            ));
        }
    }
    let campaign = app
        .issuer
        .db
        .create_campaign(name, new.quantity, starts, new.ends_at_ms)
        .await
        .map_err(ApiError::internal)?;
    // The database holds the campaign now; if the store is down, the first issuance
    // creates its state there.
    if let Err(e) = app.issuer.create_in_store(&campaign, 0).await {
        tracing::warn!(
            "campaign {} created, its store state later: {e}",
            campaign.id
        );
    }
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// Reads campaign metadata: the cache when it answers quickly, else the database (which
/// then fills the cache).
async fn campaign_of(app: &AppState, id: &str) -> Result<Campaign, ApiError> {
    check_id("campaign id", id).map_err(ApiError::bad_request)?;
    let key = CampaignKeys::of(id).cache;
    let primary = &app.issuer.primary;
    let cached = primary
        .try_once(CACHE_READ_LIMIT, |c| {
            let mut conn = c.conn.clone();
            let key = key.clone();
            async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            }
        })
        .await
        .flatten()
        .and_then(|json| serde_json::from_str::<Campaign>(&json).ok());
    if let Some(c) = cached {
        return Ok(c);
    }
    let campaign = app
        .issuer
        .db
        .campaign(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(id))?;
    if let Ok(json) = serde_json::to_string(&campaign) {
        let ttl = app.cache_ttl_secs.max(1);
        primary
            .try_once(CACHE_READ_LIMIT, |c| {
                let mut conn = c.conn.clone();
                async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(json)
                        .arg("EX")
                        .arg(ttl)
                        .query_async::<()>(&mut conn)
                        .await
                }
            })
            .await;
    }
    Ok(campaign)
}

async fn get_campaign(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaign_of(&app, &id).await?))
}

/// `PATCH /campaigns/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignChange {
    /// New opening time (Unix ms).
    pub starts_at_ms: Option<i64>,
    /// New closing time (Unix ms).
    pub ends_at_ms: Option<i64>,
    /// Close (or reopen) the campaign.
    pub closed: Option<bool>,
}

async fn update_campaign(
    State(app): State<AppState>,
    Path(id): Path<String>,
    payload: Result<Json<CampaignChange>, JsonRejection>,
) -> Result<Json<Campaign>, ApiError> {
    let change = body(payload)?;
    check_id("campaign id", &id).map_err(ApiError::bad_request)?;
    let db = &app.issuer.db;
    let mut campaign = db
        .campaign(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(&id))?;
    if let Some(s) = change.starts_at_ms {
        campaign.starts_at_ms = s;
    }
    if change.ends_at_ms.is_some() {
        campaign.ends_at_ms = change.ends_at_ms;
    }
    if let Some(closed) = change.closed {
        campaign.closed = closed;
    }
    if let Some(ends) = campaign.ends_at_ms {
        if ends <= campaign.starts_at_ms {
            return Err(ApiError::bad_request(
                "ends_at_ms must be after starts_at_ms",
            ));
        }
    }
    db.update_campaign(&campaign)
        .await
        .map_err(ApiError::internal)?;
    if !app.issuer.update_in_store(&campaign).await? {
        app.issuer.create_in_store(&campaign, 0).await?;
    }
    let key = CampaignKeys::of(&id).cache;
    app.issuer
        .primary
        .run(|c| {
            let mut conn = c.conn.clone();
            let key = key.clone();
            async move {
                redis::cmd("DEL")
                    .arg(key)
                    .query_async::<()>(&mut conn)
                    .await
            }
        })
        .await
        .map_err(IssueError::from)?;
    Ok(Json(campaign))
}

/// `POST /campaigns/{id}/issue`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Who asks.
    pub user: String,
    /// Chosen by the client; the same key always gets the same answer.
    pub idempotency_key: String,
}

/// A coupon in a reply, and whether this request was answered before.
#[derive(Debug, Serialize, Deserialize)]
pub struct Issued {
    /// The coupon.
    #[serde(flatten)]
    pub coupon: Coupon,
    /// True if the same request had already been served (the same coupon again).
    pub replayed: bool,
}

async fn issue(
    State(app): State<AppState>,
    Path(id): Path<String>,
    payload: Result<Json<IssueRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let request = body(payload)?;
    check_id("campaign id", &id).map_err(ApiError::bad_request)?;
    check_id("user", &request.user).map_err(ApiError::bad_request)?;
    check_id("idempotency_key", &request.idempotency_key).map_err(ApiError::bad_request)?;
    match app
        .issuer
        .issue(&id, &request.user, &request.idempotency_key)
        .await?
    {
        Outcome::Issued(coupon) => Ok((
            StatusCode::CREATED,
            Json(Issued {
                coupon,
                replayed: false,
            }),
        )),
        Outcome::Replayed(coupon) => Ok((
            StatusCode::CREATED,
            Json(Issued {
                coupon,
                replayed: true,
            }),
        )),
        Outcome::Duplicate(coupon) => Err(ApiError {
            status: StatusCode::CONFLICT,
            message: format!(
                "user {} already holds a coupon of campaign {id}",
                request.user
            ),
            coupon: Some(coupon),
        }),
        Outcome::Unknown => Err(ApiError::not_found(&id)),
        Outcome::SoldOut => Err(ApiError::new(
            StatusCode::GONE,
            format!("campaign {id} is sold out"),
        )),
        Outcome::Closed => Err(ApiError::new(
            StatusCode::GONE,
            format!("campaign {id} is closed"),
        )),
        Outcome::Ended => Err(ApiError::new(
            StatusCode::GONE,
            format!("campaign {id} has ended"),
        )),
        Outcome::NotStarted => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("campaign {id} has not started"),
        )),
    }
}

/// `GET /campaigns/{id}/stats`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Coupons in the campaign.
    pub quantity: u64,
    /// Coupons issued by the store.
    pub issued: u64,
    /// Coupons left (negative only if the store ever issued too many: a bug to report).
    pub remaining: i64,
    /// Issued but not yet persisted.
    pub queued: u64,
    /// Persisted in the database.
    pub persisted: u64,
}

async fn stats(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Stats>, ApiError> {
    let campaign = campaign_of(&app, &id).await?;
    let keys = CampaignKeys::of(&id);
    let (remaining, issued): (Option<i64>, u64) = app
        .issuer
        .primary
        .run(|c| {
            let mut conn = c.conn.clone();
            let keys = keys.clone();
            async move {
                redis::pipe()
                    .cmd("GET")
                    .arg(&keys.remaining)
                    .cmd("HLEN")
                    .arg(&keys.holders)
                    .query_async(&mut conn)
                    .await
            }
        })
        .await
        .map_err(IssueError::from)?;
    let persisted = app
        .issuer
        .db
        .persisted_count(&id)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(Stats {
        quantity: campaign.quantity,
        issued,
        remaining: remaining.unwrap_or(campaign.quantity as i64),
        queued: issued.saturating_sub(persisted),
        persisted,
    }))
}

async fn campaign_coupons(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Coupon>>, ApiError> {
    campaign_of(&app, &id).await?;
    Ok(Json(
        app.issuer
            .db
            .coupons_of_campaign(&id)
            .await
            .map_err(ApiError::internal)?,
    ))
}

async fn campaign_conflicts(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    campaign_of(&app, &id).await?;
    Ok(Json(
        app.issuer
            .db
            .conflicts_of_campaign(&id)
            .await
            .map_err(ApiError::internal)?,
    ))
}

/// A coupon a user holds, and whether the database has it yet.
#[derive(Debug, Serialize, Deserialize)]
pub struct Held {
    /// The coupon.
    #[serde(flatten)]
    pub coupon: Coupon,
    /// False while it is issued but not yet persisted.
    pub persisted: bool,
}

/// `GET /users/{user}/coupons`: the persisted ones, and those the store issued that the
/// workers have not persisted yet (when the store answers quickly).
async fn user_coupons(
    State(app): State<AppState>,
    Path(user): Path<String>,
) -> Result<Json<Vec<Held>>, ApiError> {
    check_id("user", &user).map_err(ApiError::bad_request)?;
    let mut held: Vec<Held> = app
        .issuer
        .db
        .coupons_of_user(&user)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|coupon| Held {
            coupon,
            persisted: true,
        })
        .collect();
    let user_hash = crate::model::user_key(&user);
    let in_store = app
        .issuer
        .primary
        .try_once(CACHE_READ_LIMIT, |c| {
            let mut conn = c.conn.clone();
            async move {
                redis::cmd("HGETALL")
                    .arg(user_hash)
                    .query_async::<Vec<(String, String)>>(&mut conn)
                    .await
            }
        })
        .await
        .unwrap_or_default();
    for (campaign, _) in in_store {
        if held.iter().any(|h| h.coupon.campaign == campaign)
            || check_id("campaign", &campaign).is_err()
        {
            continue;
        }
        let holders = CampaignKeys::of(&campaign).holders;
        let who = user.clone();
        let entry = app
            .issuer
            .primary
            .try_once(CACHE_READ_LIMIT, |c| {
                let mut conn = c.conn.clone();
                async move {
                    redis::cmd("HGET")
                        .arg(holders)
                        .arg(who)
                        .query_async::<Option<String>>(&mut conn)
                        .await
                }
            })
            .await
            .flatten();
        if let Some(coupon) = entry.and_then(|e| parse_holder(&campaign, &user, &e)) {
            held.push(Held {
                coupon,
                persisted: false,
            });
        }
    }
    held.sort_by_key(|h| h.coupon.issued_at_ms);
    Ok(Json(held))
}

/// Parses a holders entry `<coupon>|<key>|<issued ms>|<seq>`.
pub fn parse_holder(campaign: &str, user: &str, entry: &str) -> Option<Coupon> {
    let mut parts = entry.split('|');
    let coupon = parts.next()?.to_string();
    let idempotency_key = parts.next()?.to_string();
    let issued_at_ms = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    Some(Coupon {
        coupon,
        campaign: campaign.into(),
        user: user.into(),
        seq,
        idempotency_key,
        issued_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_entries_parse() {
        let c = parse_holder("c1", "u1", "c1-4|k9|1700|4").unwrap();
        assert_eq!(
            (
                c.coupon.as_str(),
                c.idempotency_key.as_str(),
                c.issued_at_ms,
                c.seq
            ),
            ("c1-4", "k9", 1700, 4)
        );
        assert!(parse_holder("c1", "u1", "c1-4|k9|x|4").is_none());
        assert!(parse_holder("c1", "u1", "c1-4").is_none());
    }
}
