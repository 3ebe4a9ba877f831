//! The database handle: a sqlx `Any` pool over SQLite (embedded default) or PostgreSQL
//! (production), chosen by the URL scheme, and on SQLite a second pool of one connection for
//! its one writer. Queries are written once in the SQL both engines share; the few differences
//! are behind `Engine`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Transaction};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL {0:?} is not a sqlite: or postgres:// URL")]
    UnsupportedUrl(String),
    #[error(
        "READ_DATABASE_URL {0:?}: a reports replica is a PostgreSQL streaming replica of a PostgreSQL DATABASE_URL"
    )]
    ReplicaNeedsPostgres(String),
    #[error("cannot create the database folder {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot reach the database at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

impl DbError {
    /// The database did not answer (connection refused or lost, no free connection in time), as
    /// opposed to refusing a statement: worth a "try again shortly", not a bug report.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unreachable { .. } => true,
            DbError::Query(e) => matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
                    | sqlx::Error::Tls(_)
            ),
            _ => false,
        }
    }
}

/// Lets `?` turn a query's `sqlx::Error` into a use case's error whose database variant is
/// `Db(DbError)`, so every store error reaches the database through the one [`DbError`].
#[macro_export]
macro_rules! from_sqlx_error {
    ($error:ty) => {
        impl From<sqlx::Error> for $error {
            fn from(e: sqlx::Error) -> Self {
                Self::Db($crate::db::DbError::Query(e))
            }
        }
    };
}

/// A cloneable handle to the pool; cheap to pass into every request.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// A streaming replica the staff reports read, when one is set (`READ_DATABASE_URL`).
    reports: Option<AnyPool>,
    /// SQLite's one writer (on SQLite only): a pool of one connection, so this process's
    /// writers queue for the write lock in memory (see [`Db::begin_write`]).
    writer: Option<AnyPool>,
}

/// How long a SQLite writer waits for the write lock: in this process's queue, then, for a
/// writer in another process, in SQLite's `busy_timeout`.
const SQLITE_WRITE_WAIT: Duration = Duration::from_secs(10);

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Db {
    /// Connects and checks that the database answers. A SQLite file (and its folder) is created
    /// when missing.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let engine = engine_of(url)?;
        if engine == Engine::Sqlite {
            ensure_sqlite_folder(url)?;
        }
        let options = AnyConnectOptions::from_str(&with_sqlite_create_mode(url, engine))
            .map_err(|_| DbError::UnsupportedUrl(redact_url(url)))?
            .disable_statement_logging();
        // One direct connection first: a pool only reports "timed out", this says why.
        let unreachable = |reason: String| DbError::Unreachable {
            url: redact_url(url),
            reason,
        };
        match tokio::time::timeout(
            settings.acquire_timeout,
            AnyConnection::connect_with(&options),
        )
        .await
        {
            Ok(Ok(conn)) => conn
                .close()
                .await
                .map_err(|e| unreachable(describe_connect_error(&e)))?,
            Ok(Err(e)) => return Err(unreachable(describe_connect_error(&e))),
            Err(_) => return Err(unreachable("no answer within the connect timeout".into())),
        }
        // SQLite has one writer; a few connections serve readers, more only add contention.
        let readers = match engine {
            Engine::Sqlite => settings.max_connections.min(8),
            Engine::Postgres => settings.max_connections,
        };
        let pool = pool_options(engine, readers, settings.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(|e| unreachable(describe_connect_error(&e)))?;
        let writer = if engine == Engine::Sqlite {
            Some(
                pool_options(engine, 1, SQLITE_WRITE_WAIT)
                    .connect_with(options)
                    .await
                    .map_err(|e| unreachable(describe_connect_error(&e)))?,
            )
        } else {
            None
        };
        Ok(Db {
            pool,
            engine,
            reports: None,
            writer,
        })
    }

    /// Staff reports (aging, DSO/CEI, the journal, the trial balance) read this PostgreSQL
    /// streaming replica from now on; they may lag the primary by the replica's delay. Every
    /// write, and every read a money movement or a customer's page relies on, stays on the
    /// primary.
    pub async fn with_reports_replica(
        self,
        url: &str,
        settings: &PoolSettings,
    ) -> Result<Db, DbError> {
        if self.engine != Engine::Postgres || engine_of(url)? != Engine::Postgres {
            return Err(DbError::ReplicaNeedsPostgres(redact_url(url)));
        }
        let replica = Db::connect(url, settings).await?;
        Ok(Db {
            reports: Some(replica.pool),
            ..self
        })
    }

    /// Where staff reports read: the replica when one is set, otherwise the primary.
    pub fn reports_pool(&self) -> &AnyPool {
        self.reports.as_ref().unwrap_or(&self.pool)
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Where a write outside a transaction goes (one statement: a session's last visit, the
    /// outbox's marks): on SQLite the writer's connection, so it queues with the write
    /// transactions instead of waiting for the lock in SQLite's busy handler, where a stream of
    /// them handing the writer on could keep it waiting for seconds; on PostgreSQL the pool.
    pub fn write_pool(&self) -> &AnyPool {
        self.writer.as_ref().unwrap_or(&self.pool)
    }

    /// Applies pending migrations for this engine.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// True when the database answers a trivial query (readiness probe).
    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut conn) => conn.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction cannot fail with a stale snapshot
    /// when another writer commits in between; PostgreSQL uses row locks and conditional updates.
    ///
    /// SQLite has one writer, so its write transactions run on one connection of their own:
    /// this process's writers queue for it in memory, first come first served, holding no
    /// reader's connection, and each starts as soon as the one before it ends. Queued on the
    /// lock itself, a writer would hold a connection and sleep in SQLite's busy handler (1, 2,
    /// 5, … 100 ms) while the lock stood free. Another process on the same file still waits
    /// through `busy_timeout`.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, DbError> {
        let tx = match &self.writer {
            Some(writer) => writer.begin_with("BEGIN IMMEDIATE").await?,
            None => self.pool.begin().await?,
        };
        Ok(tx)
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        if let Some(replica) = &self.reports {
            replica.close().await;
        }
    }
}

/// `$first, $first+1, …`: `count` numbered placeholders for an `IN (…)` list. Bound values keep
/// the statement's text the same for every list of one length, so each connection prepares it
/// once (values written into the SQL make a new statement every time).
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pool both engines use: `connections` at most, waiting up to `acquire_timeout` for one.
fn pool_options(engine: Engine, connections: u32, acquire_timeout: Duration) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(acquire_timeout)
        // No ping before every checkout: it doubled the round trips of each read (sqlx still
        // checks a connection as it returns to the pool, off the request's path). A connection
        // the database dropped fails one statement and is closed; the next gets a fresh one.
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    // WAL + NORMAL: readers never block the writer and commits stay durable
                    // across process crashes; busy_timeout queues a writer of another process
                    // (or one outside `begin_write`) instead of failing.
                    let pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {};",
                        SQLITE_WRITE_WAIT.as_millis()
                    );
                    conn.execute(pragmas.as_str()).await?;
                }
                Ok(())
            })
        })
}

fn engine_of(url: &str) -> Result<Engine, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        Err(DbError::UnsupportedUrl(redact_url(url)))
    }
}

/// `sqlite:` URLs open read-write-create unless the caller chose a mode.
fn with_sqlite_create_mode(url: &str, engine: Engine) -> String {
    if engine == Engine::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_string()
    }
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then_some(path)
}

fn ensure_sqlite_folder(url: &str) -> Result<(), DbError> {
    let parent = sqlite_path(url)
        .and_then(|p| Path::new(p).parent())
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent).map_err(|source| DbError::CreateFolder {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// The URL without its password, for logs and error lines.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn describe_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_string(),
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// `text` with LIKE's wildcards (`%`, `_`) and the escape character made literal (`ESCAPE '\\'`).
pub fn like_escaped(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            other => vec![other],
        })
        .collect()
}

/// A lower-case LIKE pattern matching `text` anywhere.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", like_escaped(&text.trim().to_lowercase()))
}

/// A stored ISO date back into a date.
pub fn parse_date(text: &str) -> Result<chrono::NaiveDate, DbError> {
    text.parse()
        .map_err(|_| DbError::Corrupt(format!("date {text:?}")))
}

/// A filter value bound to a numbered parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Int(i64),
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

impl From<String> for Param {
    fn from(text: String) -> Self {
        Param::Text(text)
    }
}

impl From<&str> for Param {
    fn from(text: &str) -> Self {
        Param::Text(text.to_string())
    }
}

/// The one way to build a WHERE clause from the filters that are set, so that an unfiltered
/// read goes straight down its index and every value is a numbered parameter: each condition is
/// fixed SQL with `$n` where its value goes. (sqlx's `QueryBuilder` writes `?` placeholders for
/// the `Any` driver, which PostgreSQL refuses: launchbadge/sqlx#3000.)
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Conditions {
    pub fn new() -> Self {
        Self::default()
    }

    /// A condition without a value.
    pub fn push(&mut self, clause: &str) -> &mut Self {
        self.clauses.push(clause.to_string());
        self
    }

    /// A condition whose `$n` takes `value`.
    pub fn push_bind(&mut self, clause: &str, value: impl Into<Param>) -> &mut Self {
        self.params.push(value.into());
        let placeholder = format!("${}", self.params.len());
        self.clauses.push(clause.replace("$n", &placeholder));
        self
    }

    /// A condition with one `$n` per value, taken in order: a keyset position such as
    /// `(balance, id) < ($n, $n)`.
    pub fn push_binds<const N: usize>(&mut self, clause: &str, values: [Param; N]) -> &mut Self {
        debug_assert_eq!(
            clause.matches("$n").count(),
            N,
            "one value per $n in {clause:?}"
        );
        let mut text = String::with_capacity(clause.len());
        let mut parts = clause.split("$n");
        text.push_str(parts.next().unwrap_or_default());
        for (value, part) in values.into_iter().zip(parts) {
            self.params.push(value);
            text.push_str(&format!("${}", self.params.len()));
            text.push_str(part);
        }
        self.clauses.push(text);
        self
    }

    /// `WHERE a AND b …`, or nothing when no condition is set.
    pub fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The values in their numbered order, for `sqlx::query_with` or `sqlx::query_as_with`.
    pub fn arguments(&self) -> Result<sqlx::any::AnyArguments<'static>, DbError> {
        use sqlx::Arguments;
        let mut arguments = sqlx::any::AnyArguments::default();
        for param in &self.params {
            match param {
                Param::Text(text) => arguments.add(text.clone()),
                Param::Int(value) => arguments.add(*value),
            }
            .map_err(|e| DbError::Query(sqlx::Error::Encode(e)))?;
        }
        Ok(arguments)
    }
}

/// A stored currency code back into a currency.
pub fn currency(text: &str) -> Result<crate::money::Currency, DbError> {
    text.parse()
        .map_err(|_| DbError::Corrupt(format!("currency {text:?}")))
}

/// A date column (ISO `YYYY-MM-DD` text on both engines) as `FromRow` reads it:
/// `#[sqlx(try_from = "Day")] due_date: NaiveDate`. The `Any` driver has no date type, and a
/// malformed date is a decode error naming the column, as a corrupt enum text is.
pub struct Day(chrono::NaiveDate);

/// A nullable date column, read as `#[sqlx(try_from = "MaybeDay")] until: Option<NaiveDate>`.
pub struct MaybeDay(Option<chrono::NaiveDate>);

impl sqlx::Type<Any> for Day {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }
}

impl sqlx::Type<Any> for MaybeDay {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, Any> for Day {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<Any>>::decode(value)?;
        Ok(Day(text.parse()?))
    }
}

impl<'r> sqlx::Decode<'r, Any> for MaybeDay {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <Option<&str> as sqlx::Decode<Any>>::decode(value)?;
        Ok(MaybeDay(text.map(str::parse).transpose()?))
    }
}

impl From<Day> for chrono::NaiveDate {
    fn from(day: Day) -> Self {
        day.0
    }
}

impl From<MaybeDay> for Option<chrono::NaiveDate> {
    fn from(day: MaybeDay) -> Self {
        day.0
    }
}

/// Dates are stored as ISO `YYYY-MM-DD` text on both engines.
pub fn date_text(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text, so text order is time order.
pub fn now_text() -> String {
    timestamp_text(chrono::Utc::now())
}

pub fn timestamp_text(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_a_redacted_url() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/ar"),
            "postgres://app:***@db.example:5432/ar"
        );
        assert_eq!(
            redact_url("sqlite://data/ledgerport.db"),
            "sqlite://data/ledgerport.db"
        );
    }

    #[test]
    fn the_url_scheme_picks_the_engine() {
        assert_eq!(engine_of("sqlite://x.db").unwrap(), Engine::Sqlite);
        assert_eq!(engine_of("postgresql://h/db").unwrap(), Engine::Postgres);
        assert!(matches!(
            engine_of("mysql://h/db"),
            Err(DbError::UnsupportedUrl(_))
        ));
    }

    #[test]
    fn sqlite_urls_get_create_mode_and_a_folder_path() {
        assert_eq!(
            with_sqlite_create_mode("sqlite://data/l.db", Engine::Sqlite),
            "sqlite://data/l.db?mode=rwc"
        );
        assert_eq!(
            sqlite_path("sqlite://data/l.db?mode=rwc"),
            Some("data/l.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}

#[cfg(all(test, feature = "test-support"))]
mod db_tests {
    use sqlx::Row;

    use super::*;
    use crate::testing::{engine, fresh_db, fresh_url};

    /// A SQLite connection's journal mode, foreign keys and busy timeout.
    async fn settings(conn: &mut AnyConnection) -> (String, i64, i64) {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let fks: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        (mode, fks, busy)
    }

    async fn accounts(db: &Db) -> i64 {
        sqlx::query("SELECT count(*) FROM accounts")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0)
    }

    #[tokio::test]
    async fn migrating_twice_changes_nothing_the_second_time() {
        let db = fresh_db().await;
        db.migrate().await.unwrap();
        assert_eq!(
            accounts(&db).await,
            crate::ledger::Account::ALL.len() as i64
        );
    }

    #[tokio::test]
    async fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
        if engine() != Engine::Sqlite {
            return;
        }
        let db = Db::connect(&fresh_url().await, &PoolSettings::default())
            .await
            .unwrap();
        let expected = ("wal".to_string(), 1, 10_000);
        let mut reader = db.pool().acquire().await.unwrap();
        assert_eq!(settings(&mut reader).await, expected, "a reader");
        // The writer's connection is the one whose foreign keys guard every write.
        let mut tx = db.begin_write().await.unwrap();
        assert_eq!(settings(&mut tx).await, expected, "the writer");
        tx.rollback().await.unwrap();
    }

    #[tokio::test]
    async fn a_sqlite_writer_waiting_for_the_write_lock_leaves_its_connection_to_readers() {
        if engine() != Engine::Sqlite {
            return;
        }
        let db = Db::connect(
            &fresh_url().await,
            &PoolSettings {
                max_connections: 1,
                acquire_timeout: Duration::from_secs(2),
            },
        )
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let first = db.begin_write().await.unwrap();
        let second = tokio::spawn({
            let db = db.clone();
            async move {
                let mut tx = db.begin_write().await.unwrap();
                sqlx::query(
                    "INSERT INTO accounts (code, name, kind) VALUES ('9998', 'b', 'asset')",
                )
                .execute(&mut *tx)
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        });
        // The second writer is queued now. Had it taken the pool's one connection to wait in
        // SQLite's busy handler, this read would find none free and time out.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            accounts(&db).await,
            crate::ledger::Account::ALL.len() as i64
        );
        assert!(
            !second.is_finished(),
            "the second writer waits for the first"
        );
        first.commit().await.unwrap();
        second.await.unwrap();
        assert_eq!(
            accounts(&db).await,
            crate::ledger::Account::ALL.len() as i64 + 1
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_one_clear_error() {
        let err = Db::connect(
            "postgres://nobody:pw@127.0.0.1:1/none",
            &PoolSettings {
                max_connections: 1,
                acquire_timeout: Duration::from_secs(2),
            },
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("cannot reach the database at postgres://nobody:***@127.0.0.1:1/none"),
            "{text}"
        );
        assert!(text.contains("refused"), "{text}");
        assert!(!text.contains("pw@"));
    }
}
