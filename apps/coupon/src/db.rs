//! The database of record: campaigns, the coupons the workers persisted from the request
//! streams, and the conflicts they met. SQLite (one file shared by the API and the workers,
//! in WAL mode) or PostgreSQL.
//!
//! Both back ends run the same SQL: `$n` placeholders (rewritten to `?n` for SQLite),
//! `BIGINT`/`BOOLEAN`/`TEXT` columns and `ON CONFLICT DO NOTHING`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::model::{Campaign, Coupon};

/// Why a database operation failed.
#[derive(Debug)]
pub enum DbError {
    /// The database URL is not one this service understands.
    Url(String),
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// PostgreSQL failed (or could not be reached).
    Postgres(tokio_postgres::Error),
    /// Anything else: a value out of range, a failed background task.
    Other(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Url(why) => write!(f, "bad database URL: {why}"),
            DbError::Sqlite(e) => write!(f, "sqlite: {e}"),
            DbError::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "postgres: {db}"),
                None => {
                    write!(f, "postgres: {e}")?;
                    let mut cause = std::error::Error::source(e);
                    while let Some(c) = cause {
                        if !e.to_string().contains(&c.to_string()) {
                            write!(f, ": {c}")?;
                        }
                        cause = c.source();
                    }
                    Ok(())
                }
            },
            DbError::Other(why) => write!(f, "database: {why}"),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DbError::Sqlite(e) => Some(e),
            DbError::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e)
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

/// Results of database operations.
pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// What one [`Db::persist`] did with the coupons it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Persisted {
    /// Coupons newly written.
    pub inserted: u64,
    /// Coupons already there (same campaign, user and coupon): a redelivery.
    pub already: u64,
    /// Coupons that clash with what is there, recorded in the `conflicts` table instead.
    pub conflicts: u64,
}

/// The database of record; cheap to clone (clones share the connection).
#[derive(Clone)]
pub struct Db {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(Arc<Pg>),
}

struct Pg {
    url: String,
    /// One connection; a transaction needs it exclusively. Reconnected when it dies.
    client: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
}

/// The schema; every statement is idempotent.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS campaigns (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        quantity BIGINT NOT NULL,
        starts_at_ms BIGINT NOT NULL,
        ends_at_ms BIGINT,
        closed BOOLEAN NOT NULL DEFAULT FALSE
    )",
    "CREATE TABLE IF NOT EXISTS coupons (
        campaign TEXT NOT NULL,
        user_id TEXT NOT NULL,
        coupon TEXT NOT NULL UNIQUE,
        seq BIGINT NOT NULL,
        idempotency_key TEXT NOT NULL,
        issued_at_ms BIGINT NOT NULL,
        persisted_at_ms BIGINT NOT NULL,
        PRIMARY KEY (campaign, user_id),
        UNIQUE (campaign, seq)
    )",
    "CREATE INDEX IF NOT EXISTS coupons_by_user ON coupons (user_id)",
    "CREATE TABLE IF NOT EXISTS conflicts (
        campaign TEXT NOT NULL,
        user_id TEXT NOT NULL,
        coupon TEXT NOT NULL,
        seq BIGINT NOT NULL,
        reason TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        PRIMARY KEY (campaign, user_id, coupon)
    )",
];

const CAMPAIGN_COLUMNS: &str = "id, name, quantity, starts_at_ms, ends_at_ms, closed";
const COUPON_COLUMNS: &str = "coupon, campaign, user_id, seq, idempotency_key, issued_at_ms";

const INSERT_CAMPAIGN: &str =
    "INSERT INTO campaigns (id, name, quantity, starts_at_ms, ends_at_ms, closed)
     VALUES ($1, $2, $3, $4, $5, FALSE) ON CONFLICT DO NOTHING";
const UPDATE_CAMPAIGN: &str =
    "UPDATE campaigns SET starts_at_ms = $2, ends_at_ms = $3, closed = $4 WHERE id = $1";
const INSERT_COUPON: &str = "INSERT INTO coupons
     (campaign, user_id, coupon, seq, idempotency_key, issued_at_ms, persisted_at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
const HELD_BY_USER: &str = "SELECT coupon, seq FROM coupons WHERE campaign = $1 AND user_id = $2";
const HELD_COUPON: &str = "SELECT user_id, campaign FROM coupons WHERE coupon = $1";
const HELD_SEQ: &str = "SELECT user_id, coupon FROM coupons WHERE campaign = $1 AND seq = $2";
const INSERT_CONFLICT: &str =
    "INSERT INTO conflicts (campaign, user_id, coupon, seq, reason, at_ms)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
const COUNT_COUPONS: &str = "SELECT COUNT(*) FROM coupons WHERE campaign = $1";
const CONFLICTS_OF: &str = "SELECT user_id, coupon, seq, reason, at_ms FROM conflicts
     WHERE campaign = $1 ORDER BY at_ms, seq, user_id";

/// `$n` placeholders as SQLite writes them (`?n`).
fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn to_i64(what: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| DbError::Other(format!("{what} {v} is out of range")))
}

fn to_u64(what: &str, v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| DbError::Other(format!("{what} {v} is negative")))
}

/// A fresh campaign id: `c` and 12 random base-36 characters.
fn new_campaign_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let mut id = String::from("c");
    for _ in 0..12 {
        id.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    id
}

/// One conflict as a line for people.
fn conflict_line(
    campaign: &str,
    user: &str,
    coupon: &str,
    seq: i64,
    reason: &str,
    at_ms: i64,
) -> String {
    format!("campaign {campaign}: coupon {coupon} (seq {seq}) for user {user} not persisted at {at_ms}: {reason}")
}

/// Where one coupon stands against what the database holds.
enum Clash {
    /// The same coupon for the same user is there.
    Already,
    /// Something else is there; why.
    Conflict(String),
}

/// Why `c` could not be inserted, given what holds its user slot, its coupon id and its seq.
fn explain(
    c: &Coupon,
    by_user: Option<(String, i64)>,
    by_coupon: Option<(String, String)>,
    by_seq: Option<(String, String)>,
) -> Clash {
    if let Some((held, seq)) = by_user {
        if held == c.coupon {
            return Clash::Already;
        }
        return Clash::Conflict(format!("user {} already holds {held} (seq {seq})", c.user));
    }
    if let Some((user, campaign)) = by_coupon {
        return Clash::Conflict(format!(
            "coupon {} is held by user {user} of campaign {campaign}",
            c.coupon
        ));
    }
    if let Some((user, coupon)) = by_seq {
        return Clash::Conflict(format!("seq {} is held by user {user} as {coupon}", c.seq));
    }
    Clash::Conflict("the insert clashed with a row that is gone".into())
}

impl Db {
    /// Opens `sqlite:<path>` (created if missing), `sqlite::memory:` or `postgres://…`
    /// (also `postgresql://…`), and creates the schema if it is missing.
    pub async fn open(url: &str) -> Result<Db> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest).to_string();
            if path.is_empty() {
                return Err(DbError::Url(format!("{url:?} names no file")));
            }
            let conn = tokio::task::spawn_blocking(move || open_sqlite(&path))
                .await
                .map_err(|e| DbError::Other(format!("opening the database failed: {e}")))??;
            Ok(Db {
                backend: Backend::Sqlite(Arc::new(Mutex::new(conn))),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pg = Pg {
                url: url.to_string(),
                client: tokio::sync::Mutex::new(None),
            };
            let db = Db {
                backend: Backend::Postgres(Arc::new(pg)),
            };
            db.pg_migrate().await?;
            Ok(db)
        } else {
            Err(DbError::Url(format!(
                "{url:?}: use sqlite:<path>, sqlite::memory: or postgres://…"
            )))
        }
    }

    /// Whether this is PostgreSQL (else SQLite).
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Creates a campaign with a fresh id, open from `starts_at_ms` until `ends_at_ms`.
    pub async fn create_campaign(
        &self,
        name: &str,
        quantity: u64,
        starts_at_ms: i64,
        ends_at_ms: Option<i64>,
    ) -> Result<Campaign> {
        let q = to_i64("quantity", quantity)?;
        for _ in 0..8 {
            let c = Campaign {
                id: new_campaign_id(),
                name: name.to_string(),
                quantity,
                starts_at_ms,
                ends_at_ms,
                closed: false,
            };
            let inserted = match &self.backend {
                Backend::Sqlite(conn) => {
                    let (id, name) = (c.id.clone(), c.name.clone());
                    sqlite(conn, move |db| {
                        Ok(db.execute(
                            &lite(INSERT_CAMPAIGN),
                            rusqlite::params![id, name, q, starts_at_ms, ends_at_ms],
                        )?)
                    })
                    .await?
                }
                Backend::Postgres(pg) => {
                    let mut guard = pg.client().await?;
                    let client = guard.as_mut().expect("connected");
                    let n = client
                        .execute(
                            INSERT_CAMPAIGN,
                            &[&c.id, &c.name, &q, &starts_at_ms, &ends_at_ms],
                        )
                        .await;
                    pg.check(&mut guard, n)? as usize
                }
            };
            if inserted == 1 {
                return Ok(c);
            }
        }
        Err(DbError::Other(
            "could not find an unused campaign id".into(),
        ))
    }

    /// The campaign `id`, if it exists.
    pub async fn campaign(&self, id: &str) -> Result<Option<Campaign>> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1");
        match &self.backend {
            Backend::Sqlite(conn) => {
                let id = id.to_string();
                sqlite(conn, move |db| {
                    db.query_row(&lite(&sql), [&id], campaign_from_sqlite)
                        .optional()?
                        .transpose()
                })
                .await
            }
            Backend::Postgres(pg) => {
                let rows = pg.query(&sql, &[&id]).await?;
                rows.first().map(campaign_from_pg).transpose()
            }
        }
    }

    /// Every campaign, by start time.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY starts_at_ms, id");
        match &self.backend {
            Backend::Sqlite(conn) => {
                sqlite(conn, move |db| {
                    let mut stmt = db.prepare(&sql)?;
                    let rows = stmt.query_map([], campaign_from_sqlite)?;
                    let mut out = Vec::new();
                    for row in rows {
                        out.push(row??);
                    }
                    Ok(out)
                })
                .await
            }
            Backend::Postgres(pg) => pg
                .query(&sql, &[])
                .await?
                .iter()
                .map(campaign_from_pg)
                .collect(),
        }
    }

    /// Stores the window and the `closed` flag of `c`; false if there is no such campaign.
    pub async fn update_campaign(&self, c: &Campaign) -> Result<bool> {
        let (id, starts, ends, closed) = (c.id.clone(), c.starts_at_ms, c.ends_at_ms, c.closed);
        let n = match &self.backend {
            Backend::Sqlite(conn) => {
                sqlite(conn, move |db| {
                    Ok(db.execute(
                        &lite(UPDATE_CAMPAIGN),
                        rusqlite::params![id, starts, ends, closed],
                    )? as u64)
                })
                .await?
            }
            Backend::Postgres(pg) => {
                let mut guard = pg.client().await?;
                let client = guard.as_mut().expect("connected");
                let n = client
                    .execute(UPDATE_CAMPAIGN, &[&id, &starts, &ends, &closed])
                    .await;
                pg.check(&mut guard, n)?
            }
        };
        Ok(n > 0)
    }

    /// Writes `coupons` in one transaction. A coupon already there counts as `already`; one
    /// that clashes with what is there (its user holds another coupon of the campaign, or
    /// its coupon id or seq belongs to another user) is recorded in `conflicts` instead.
    pub async fn persist(&self, coupons: &[Coupon]) -> Result<Persisted> {
        Ok(self.persist_with_details(coupons).await?.0)
    }

    /// [`Db::persist`], also returning one line per conflict met.
    pub async fn persist_with_details(
        &self,
        coupons: &[Coupon],
    ) -> Result<(Persisted, Vec<String>)> {
        if coupons.is_empty() {
            return Ok((Persisted::default(), Vec::new()));
        }
        let mut coupons = coupons.to_vec();
        // One order for every writer, so concurrent transactions lock rows alike.
        coupons.sort_by(|a, b| (&a.campaign, a.seq, &a.user).cmp(&(&b.campaign, b.seq, &b.user)));
        for c in &coupons {
            to_i64("seq", c.seq)?;
        }
        match &self.backend {
            Backend::Sqlite(conn) => sqlite(conn, move |db| persist_sqlite(db, &coupons)).await,
            Backend::Postgres(pg) => {
                let mut guard = pg.client().await?;
                let client = guard.as_mut().expect("connected");
                let outcome = persist_pg(client, &coupons).await;
                pg.check(&mut guard, outcome)
            }
        }
    }

    /// The coupons `user` holds, oldest first.
    pub async fn coupons_of_user(&self, user: &str) -> Result<Vec<Coupon>> {
        let sql = format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE user_id = $1 ORDER BY issued_at_ms, campaign");
        self.coupons(sql, user).await
    }

    /// The persisted coupons of campaign `id`, by seq.
    pub async fn coupons_of_campaign(&self, id: &str) -> Result<Vec<Coupon>> {
        let sql = format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE campaign = $1 ORDER BY seq");
        self.coupons(sql, id).await
    }

    async fn coupons(&self, sql: String, arg: &str) -> Result<Vec<Coupon>> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let arg = arg.to_string();
                sqlite(conn, move |db| {
                    let mut stmt = db.prepare(&lite(&sql))?;
                    let rows = stmt.query_map([&arg], coupon_from_sqlite)?;
                    let mut out = Vec::new();
                    for row in rows {
                        out.push(row??);
                    }
                    Ok(out)
                })
                .await
            }
            Backend::Postgres(pg) => pg
                .query(&sql, &[&arg])
                .await?
                .iter()
                .map(coupon_from_pg)
                .collect(),
        }
    }

    /// How many coupons of campaign `id` are persisted.
    pub async fn persisted_count(&self, id: &str) -> Result<u64> {
        let n: i64 = match &self.backend {
            Backend::Sqlite(conn) => {
                let id = id.to_string();
                sqlite(conn, move |db| {
                    Ok(db.query_row(&lite(COUNT_COUPONS), [&id], |r| r.get(0))?)
                })
                .await?
            }
            Backend::Postgres(pg) => pg.query(COUNT_COUPONS, &[&id]).await?[0].try_get(0)?,
        };
        to_u64("count", n)
    }

    /// The conflicts recorded for campaign `id`, one line each, oldest first.
    pub async fn conflicts_of_campaign(&self, id: &str) -> Result<Vec<String>> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let id = id.to_string();
                sqlite(conn, move |db| {
                    let mut stmt = db.prepare(&lite(CONFLICTS_OF))?;
                    let rows = stmt.query_map([&id], |r| {
                        Ok(conflict_line(
                            &id,
                            &r.get::<_, String>(0)?,
                            &r.get::<_, String>(1)?,
                            r.get(2)?,
                            &r.get::<_, String>(3)?,
                            r.get(4)?,
                        ))
                    })?;
                    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
                })
                .await
            }
            Backend::Postgres(pg) => {
                let rows = pg.query(CONFLICTS_OF, &[&id]).await?;
                rows.iter()
                    .map(|r| {
                        Ok(conflict_line(
                            id,
                            &r.try_get::<_, String>(0)?,
                            &r.try_get::<_, String>(1)?,
                            r.try_get(2)?,
                            &r.try_get::<_, String>(3)?,
                            r.try_get(4)?,
                        ))
                    })
                    .collect()
            }
        }
    }

    async fn pg_migrate(&self) -> Result<()> {
        let Backend::Postgres(pg) = &self.backend else {
            return Ok(());
        };
        let mut guard = pg.client().await?;
        let client = guard.as_mut().expect("connected");
        let outcome = async {
            let tx = client.transaction().await?;
            // Several processes may start at once: one migrates, the others wait and see.
            tx.execute("SELECT pg_advisory_xact_lock(7370656)", &[])
                .await?;
            for statement in SCHEMA {
                tx.batch_execute(statement).await?;
            }
            tx.commit().await
        }
        .await;
        pg.check(&mut guard, outcome)
    }
}

/// Runs `f` on the SQLite connection on a blocking thread.
async fn sqlite<T, F>(conn: &Arc<Mutex<rusqlite::Connection>>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
{
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn)
    })
    .await
    .map_err(|e| DbError::Other(format!("database task failed: {e}")))?
}

fn open_sqlite(path: &str) -> Result<rusqlite::Connection> {
    let mut conn = if path == ":memory:" {
        rusqlite::Connection::open_in_memory()?
    } else {
        rusqlite::Connection::open(path)?
    };
    // The API and several workers share the file: wait for each other's transactions.
    conn.busy_timeout(Duration::from_secs(30))?;
    if path != ":memory:" {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(DbError::Other(format!(
                "{path}: could not switch to WAL (journal mode {mode})"
            )));
        }
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for statement in SCHEMA {
        tx.execute_batch(statement)?;
    }
    tx.commit()?;
    Ok(conn)
}

fn campaign_from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Campaign>> {
    let quantity: i64 = r.get(2)?;
    Ok(Ok(Campaign {
        id: r.get(0)?,
        name: r.get(1)?,
        quantity: match to_u64("quantity", quantity) {
            Ok(q) => q,
            Err(e) => return Ok(Err(e)),
        },
        starts_at_ms: r.get(3)?,
        ends_at_ms: r.get(4)?,
        closed: r.get(5)?,
    }))
}

fn campaign_from_pg(r: &tokio_postgres::Row) -> Result<Campaign> {
    Ok(Campaign {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        quantity: to_u64("quantity", r.try_get(2)?)?,
        starts_at_ms: r.try_get(3)?,
        ends_at_ms: r.try_get(4)?,
        closed: r.try_get(5)?,
    })
}

fn coupon_from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Coupon>> {
    let seq: i64 = r.get(3)?;
    Ok(Ok(Coupon {
        coupon: r.get(0)?,
        campaign: r.get(1)?,
        user: r.get(2)?,
        seq: match to_u64("seq", seq) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        },
        idempotency_key: r.get(4)?,
        issued_at_ms: r.get(5)?,
    }))
}

fn coupon_from_pg(r: &tokio_postgres::Row) -> Result<Coupon> {
    Ok(Coupon {
        coupon: r.try_get(0)?,
        campaign: r.try_get(1)?,
        user: r.try_get(2)?,
        seq: to_u64("seq", r.try_get(3)?)?,
        idempotency_key: r.try_get(4)?,
        issued_at_ms: r.try_get(5)?,
    })
}

fn persist_sqlite(
    db: &mut rusqlite::Connection,
    coupons: &[Coupon],
) -> Result<(Persisted, Vec<String>)> {
    let now = now_ms();
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut done = Persisted::default();
    let mut lines = Vec::new();
    {
        let mut insert = tx.prepare(&lite(INSERT_COUPON))?;
        let mut by_user = tx.prepare(&lite(HELD_BY_USER))?;
        let mut by_coupon = tx.prepare(&lite(HELD_COUPON))?;
        let mut by_seq = tx.prepare(&lite(HELD_SEQ))?;
        let mut conflict = tx.prepare(&lite(INSERT_CONFLICT))?;
        for c in coupons {
            let seq = c.seq as i64;
            let n = insert.execute(rusqlite::params![
                c.campaign,
                c.user,
                c.coupon,
                seq,
                c.idempotency_key,
                c.issued_at_ms,
                now
            ])?;
            if n == 1 {
                done.inserted += 1;
                continue;
            }
            let u = by_user
                .query_row([&c.campaign, &c.user], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let k = by_coupon
                .query_row([&c.coupon], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let s = by_seq
                .query_row(rusqlite::params![c.campaign, seq], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            match explain(c, u, k, s) {
                Clash::Already => done.already += 1,
                Clash::Conflict(reason) => {
                    conflict.execute(rusqlite::params![
                        c.campaign, c.user, c.coupon, seq, reason, now
                    ])?;
                    lines.push(conflict_line(
                        &c.campaign,
                        &c.user,
                        &c.coupon,
                        seq,
                        &reason,
                        now,
                    ));
                    done.conflicts += 1;
                }
            }
        }
    }
    tx.commit()?;
    Ok((done, lines))
}

async fn persist_pg(
    client: &mut tokio_postgres::Client,
    coupons: &[Coupon],
) -> Result<(Persisted, Vec<String>), tokio_postgres::Error> {
    let now = now_ms();
    let tx = client.transaction().await?;
    let insert = tx.prepare(INSERT_COUPON).await?;
    let by_user = tx.prepare(HELD_BY_USER).await?;
    let by_coupon = tx.prepare(HELD_COUPON).await?;
    let by_seq = tx.prepare(HELD_SEQ).await?;
    let conflict = tx.prepare(INSERT_CONFLICT).await?;
    let mut done = Persisted::default();
    let mut lines = Vec::new();
    for c in coupons {
        let seq = c.seq as i64;
        let n = tx
            .execute(
                &insert,
                &[
                    &c.campaign,
                    &c.user,
                    &c.coupon,
                    &seq,
                    &c.idempotency_key,
                    &c.issued_at_ms,
                    &now,
                ],
            )
            .await?;
        if n == 1 {
            done.inserted += 1;
            continue;
        }
        let u = match tx.query_opt(&by_user, &[&c.campaign, &c.user]).await? {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        };
        let k = match tx.query_opt(&by_coupon, &[&c.coupon]).await? {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        };
        let s = match tx.query_opt(&by_seq, &[&c.campaign, &seq]).await? {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        };
        match explain(c, u, k, s) {
            Clash::Already => done.already += 1,
            Clash::Conflict(reason) => {
                tx.execute(
                    &conflict,
                    &[&c.campaign, &c.user, &c.coupon, &seq, &reason, &now],
                )
                .await?;
                lines.push(conflict_line(
                    &c.campaign,
                    &c.user,
                    &c.coupon,
                    seq,
                    &reason,
                    now,
                ));
                done.conflicts += 1;
            }
        }
    }
    tx.commit().await?;
    Ok((done, lines))
}

impl Pg {
    /// The connection, (re)connecting if there is none or it died.
    async fn client(&self) -> Result<tokio::sync::MutexGuard<'_, Option<tokio_postgres::Client>>> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = None;
            let (client, connection) =
                tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!("postgres connection ended: {e}");
                }
            });
            *guard = Some(client);
        }
        Ok(guard)
    }

    /// Passes `outcome` on, dropping the connection if it is closed, so the next call reconnects.
    fn check<T>(
        &self,
        guard: &mut tokio::sync::MutexGuard<'_, Option<tokio_postgres::Client>>,
        outcome: std::result::Result<T, impl Into<DbError>>,
    ) -> Result<T> {
        outcome.map_err(|e| {
            if guard.as_ref().is_none_or(|c| c.is_closed()) {
                **guard = None;
            }
            e.into()
        })
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let mut guard = self.client().await?;
        let client = guard.as_ref().expect("connected");
        let rows = client.query(sql, params).await;
        self.check(&mut guard, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupon(campaign: &str, user: &str, seq: u64) -> Coupon {
        Coupon {
            coupon: format!("{campaign}-{seq}"),
            campaign: campaign.into(),
            user: user.into(),
            seq,
            idempotency_key: format!("k-{user}"),
            issued_at_ms: 1_700_000_000_000 + seq as i64,
        }
    }

    fn temp_path(tag: &str) -> std::path::PathBuf {
        let mut p = std::env::temp_dir();
        p.push(format!(
            "coupon-db-{tag}-{}-{}.db",
            std::process::id(),
            new_campaign_id()
        ));
        p
    }

    struct TempFile(std::path::PathBuf);
    impl Drop for TempFile {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    /// The behaviour every back end must show.
    async fn exercise(db: &Db) {
        // Campaigns round trip.
        let c = db
            .create_campaign("spring sale", 3, 1_000, Some(9_000))
            .await
            .unwrap();
        crate::model::check_id("campaign", &c.id).unwrap();
        assert_eq!(c.id.len(), 13);
        assert_eq!(db.campaign(&c.id).await.unwrap(), Some(c.clone()));
        assert_eq!(db.campaign("nope").await.unwrap(), None);
        let open = db.create_campaign("forever", 1, 5, None).await.unwrap();
        assert_eq!(
            db.campaign(&open.id).await.unwrap().unwrap().ends_at_ms,
            None
        );
        let all = db.campaigns().await.unwrap();
        assert!(all.contains(&c) && all.contains(&open));
        let mut changed = c.clone();
        changed.starts_at_ms = 2_000;
        changed.ends_at_ms = None;
        changed.closed = true;
        changed.name = "ignored".into();
        assert!(db.update_campaign(&changed).await.unwrap());
        let back = db.campaign(&c.id).await.unwrap().unwrap();
        assert_eq!(
            (
                back.starts_at_ms,
                back.ends_at_ms,
                back.closed,
                back.name.as_str()
            ),
            (2_000, None, true, "spring sale")
        );
        let mut unknown = c.clone();
        unknown.id = "missing".into();
        assert!(!db.update_campaign(&unknown).await.unwrap());

        // Idempotent persist.
        let id = &c.id;
        let (c_id, open_id) = (c.id.clone(), open.id.clone());
        let batch = vec![coupon(id, "alice", 2), coupon(id, "bob", 1)];
        assert_eq!(
            db.persist(&batch).await.unwrap(),
            Persisted {
                inserted: 2,
                already: 0,
                conflicts: 0
            }
        );
        assert_eq!(
            db.persist(&batch).await.unwrap(),
            Persisted {
                inserted: 0,
                already: 2,
                conflicts: 0
            }
        );
        assert_eq!(db.persist(&[]).await.unwrap(), Persisted::default());
        let more = vec![coupon(id, "bob", 1), coupon(id, "carol", 3)];
        assert_eq!(
            db.persist(&more).await.unwrap(),
            Persisted {
                inserted: 1,
                already: 1,
                conflicts: 0
            }
        );
        assert_eq!(db.persisted_count(id).await.unwrap(), 3);
        let stored = db.coupons_of_campaign(id).await.unwrap();
        assert_eq!(
            stored,
            vec![
                coupon(id, "bob", 1),
                coupon(id, "alice", 2),
                coupon(id, "carol", 3)
            ]
        );
        // (A PostgreSQL test database may hold other runs' campaigns.)
        let mine = |v: Vec<Coupon>| {
            v.into_iter()
                .filter(|c| c.campaign == c_id || c.campaign == open_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            mine(db.coupons_of_user("alice").await.unwrap()),
            vec![coupon(id, "alice", 2)]
        );
        assert!(db.conflicts_of_campaign(id).await.unwrap().is_empty());

        // Conflicts: the user holds another coupon; the seq (and coupon id) is someone else's.
        let (done, lines) = db
            .persist_with_details(&[
                coupon(id, "alice", 3),
                coupon(id, "dave", 2),
                coupon(&open.id, "alice", 1),
            ])
            .await
            .unwrap();
        assert_eq!(
            done,
            Persisted {
                inserted: 1,
                already: 0,
                conflicts: 2
            }
        );
        assert_eq!(lines.len(), 2);
        let mut odd = coupon(id, "erin", 7);
        odd.coupon = format!("{id}-1");
        assert_eq!(db.persist(&[odd]).await.unwrap().conflicts, 1);
        let mut seq_only = coupon(id, "frank", 3);
        seq_only.coupon = format!("{id}-other");
        assert_eq!(db.persist(&[seq_only]).await.unwrap().conflicts, 1);
        // A redelivered conflict is counted again but recorded once.
        assert_eq!(
            db.persist(&[coupon(id, "dave", 2)])
                .await
                .unwrap()
                .conflicts,
            1
        );
        let recorded = db.conflicts_of_campaign(id).await.unwrap();
        assert_eq!(recorded.len(), 4, "{recorded:#?}");
        assert!(recorded
            .iter()
            .any(|l| l.contains("user alice already holds") && l.contains(&format!("{id}-2"))));
        assert!(recorded
            .iter()
            .any(|l| l.contains(&format!("coupon {id}-2 is held by user alice"))));
        assert!(recorded
            .iter()
            .any(|l| l.contains(&format!("coupon {id}-1 is held by user bob"))));
        assert!(recorded
            .iter()
            .any(|l| l.contains("seq 3 is held by user carol")));
        assert_eq!(db.persisted_count(id).await.unwrap(), 3);
        assert_eq!(mine(db.coupons_of_user("alice").await.unwrap()).len(), 2);
        assert!(db.conflicts_of_campaign(&open.id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn sqlite_in_memory() {
        exercise(&Db::open("sqlite::memory:").await.unwrap()).await;
    }

    #[tokio::test]
    async fn sqlite_file_is_shared_and_reopened() {
        let file = TempFile(temp_path("shared"));
        let url = format!("sqlite:{}", file.0.display());
        let db = Db::open(&url).await.unwrap();
        exercise(&db).await;
        // Another "process" (connection) sees the same data; reopening migrates nothing.
        let other = Db::open(&url).await.unwrap();
        assert_eq!(
            other.campaigns().await.unwrap(),
            db.campaigns().await.unwrap()
        );
        // Concurrent writers on one file wait for each other instead of failing.
        let c = db.create_campaign("race", 200, 0, None).await.unwrap();
        let writers = (0..4).map(|w| {
            let db = if w % 2 == 0 {
                db.clone()
            } else {
                other.clone()
            };
            let id = c.id.clone();
            tokio::spawn(async move {
                for i in 0..50u64 {
                    let seq = (i * 4 + w) % 200 + 1;
                    db.persist(&[coupon(&id, &format!("u{seq}"), seq)])
                        .await
                        .unwrap();
                }
            })
        });
        for w in writers.collect::<Vec<_>>() {
            w.await.unwrap();
        }
        assert_eq!(other.persisted_count(&c.id).await.unwrap(), 200);
    }

    #[tokio::test]
    async fn bad_urls_are_refused() {
        for url in ["mysql://x", "sqlite:", "coupon.db"] {
            let e = Db::open(url).await.err().expect(url);
            assert!(e.to_string().contains("bad database URL"), "{e}");
        }
    }

    /// Runs against `COUPON_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:55432/postgres`).
    #[tokio::test]
    async fn postgres() {
        let Ok(url) = std::env::var("COUPON_TEST_POSTGRES_URL") else {
            eprintln!("skipped: set COUPON_TEST_POSTGRES_URL=postgres://… to test PostgreSQL");
            return;
        };
        let db = Db::open(&url).await.unwrap();
        assert!(db.is_postgres());
        exercise(&db).await;
        // Opening again (and concurrently) is fine.
        let (a, b) = tokio::join!(Db::open(&url), Db::open(&url));
        a.unwrap();
        b.unwrap();
    }
}
