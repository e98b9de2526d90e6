//! The PostgreSQL pool: creation of the database itself, embedded migrations, readiness.

use std::str::FromStr;

use anyhow::Context as _;
use sqlx::{
    ConnectOptions, Connection, PgConnection, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::Config;

/// Migrations are compiled into the binary so one file is all a deployment needs.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Why the database could not be used, phrased for the person starting Docket.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "cannot reach PostgreSQL at {address}: {cause}\n\
         Start a server (on Debian: `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) \
         or point DATABASE_URL at one, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/docket"
    )]
    Unreachable { address: String, cause: String },
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn connect_options(config: &Config) -> Result<PgConnectOptions, DbError> {
    let options = PgConnectOptions::from_str(config.database_url.expose())
        .map_err(|e| DbError::BadUrl(e.to_string()))?;
    // A frozen or overloaded server must not hold requests for ever.
    let timeout_ms = config.db_statement_timeout.as_millis().to_string();
    Ok(options
        .options([
            ("statement_timeout", timeout_ms.as_str()),
            ("idle_in_transaction_session_timeout", "60000"),
            // Every page is a handful of index probes per row it shows. Random reads cost about
            // what sequential ones do on SSDs (the default of 4 assumes spinning disks and talks
            // the planner into scanning whole tables), and JIT compilation only pays off for
            // analytical queries: compiling a page's statement costs more than running it.
            ("random_page_cost", "1.1"),
            ("jit", "off"),
        ])
        .application_name("docket")
        .log_statements(tracing::log::LevelFilter::Trace))
}

fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{} (database {:?}, user {:?})",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres"),
        options.get_username()
    )
}

/// Creates the database named in `DATABASE_URL` when it does not exist yet, so a fresh machine
/// needs no manual `createdb`.
async fn ensure_database(options: &PgConnectOptions) -> Result<(), DbError> {
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let unreachable = |e: sqlx::Error| DbError::Unreachable {
        address: describe(options),
        cause: e.to_string(),
    };
    // Creating a database copies a template: not a request, so not bound by the statement
    // timeout meant for pages (a busy machine takes longer than a second).
    let maintenance = options
        .clone()
        .database("postgres")
        .options([("statement_timeout", "0")]);
    let mut conn = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        PgConnection::connect_with(&maintenance),
    )
    .await
    .map_err(|_| DbError::Unreachable {
        address: describe(options),
        cause: "timed out after 10 s".into(),
    })?
    .map_err(unreachable)?;
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .map_err(unreachable)?;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        // Two instances starting together may race here; the loser sees duplicate_database.
        if let Err(e) = sqlx::query(&format!("create database {quoted}"))
            .execute(&mut conn)
            .await
        {
            let duplicate = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "42P04");
            if !duplicate {
                return Err(anyhow::Error::new(e)
                    .context(format!("creating database {quoted}"))
                    .into());
            }
        }
        tracing::info!(database = %name, "created database");
    }
    conn.close().await.ok();
    Ok(())
}

/// Connects (creating the database if needed) and returns a bounded pool.
pub async fn connect(config: &Config) -> Result<PgPool, DbError> {
    let options = connect_options(config)?;
    ensure_database(&options).await?;
    let pool = PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .min_connections(0)
        .acquire_timeout(config.db_acquire_timeout)
        .idle_timeout(std::time::Duration::from_secs(300))
        // A connection killed by the server (pg_terminate_backend, restart) is noticed before
        // use. (Pinging only connections that sat idle saved about 1% of a page's time and let
        // a request meet a dead connection and fail: not worth it.)
        .test_before_acquire(true)
        .connect_with(options.clone())
        .await
        .map_err(|e| DbError::Unreachable {
            address: describe(&options),
            cause: e.to_string(),
        })?;
    Ok(pool)
}

/// Applies pending migrations. Safe to run from several instances at once (sqlx takes an
/// advisory lock).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying migrations")?;
    Ok(())
}

/// Ready means: the database answers and every embedded migration has been applied.
pub async fn ready(pool: &PgPool) -> Result<(), String> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    // Not checked at compile time: `_sqlx_migrations` is created by the migrator, not by a
    // migration, so the scratch schema the queries are checked against does not have it.
    let applied: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(pool)
            .await
            .map_err(|e| format!("database unavailable: {e}"))?;
    match applied {
        Some(v) if v >= latest => Ok(()),
        _ => Err(format!(
            "migrations pending: database at {}, binary expects {latest}",
            applied.unwrap_or(0)
        )),
    }
}
