//! TechEmpower "fortunes" on Docket's stack: the yardstick for bench/run.
//!
//! Per request: one query (`select id, message from fortune`), one row added in memory, a sort by
//! message, and an HTML table rendered by an askama template (escaped, so the `<script>` fortune
//! comes out harmless). Configuration, all optional:
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/docket_bench_reference`; the
//! database is created if missing), `REF_ADDR` (default `127.0.0.1:3902`) and
//! `DOCKET_DB_MAX_CONNECTIONS` (default 10, the same pool size as Docket).

use askama::Template;
use axum::{Router, extract::State, http::StatusCode, response::Html, routing::get};
use sqlx::{
    Connection, Executor, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use std::str::FromStr;

struct Fortune {
    id: i32,
    message: String,
}

#[derive(Template)]
#[template(path = "fortunes.html")]
struct FortunesPage {
    fortunes: Vec<Fortune>,
}

/// The standard TechEmpower data set (12 rows), including the markup and non-ASCII ones that
/// check escaping and encoding.
const FORTUNES: [&str; 12] = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. — Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
    "フレームワークのベンチマーク",
];

async fn fortunes(State(db): State<PgPool>) -> Result<Html<String>, (StatusCode, String)> {
    let rows: Vec<(i32, String)> = sqlx::query_as("select id, message from fortune")
        .fetch_all(&db)
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let mut fortunes: Vec<Fortune> = rows
        .into_iter()
        .map(|(id, message)| Fortune { id, message })
        .collect();
    fortunes.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".to_owned(),
    });
    fortunes.sort_unstable_by(|a, b| a.message.cmp(&b.message));
    let html = FortunesPage { fortunes }
        .render()
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Html(html))
}

/// Creates the database if missing, then (re)creates and seeds the `fortune` table.
async fn prepare(url: &str) -> Result<(), sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        admin
            .execute(format!("create database \"{}\"", name.replace('"', "\"\"")).as_str())
            .await?;
    }
    admin.close().await?;
    let mut conn = PgConnection::connect_with(&options).await?;
    conn.execute(
        "drop table if exists fortune;
         create table fortune (id integer primary key, message varchar(2048) not null)",
    )
    .await?;
    for (i, message) in FORTUNES.iter().enumerate() {
        sqlx::query("insert into fortune (id, message) values ($1, $2)")
            .bind(i as i32 + 1)
            .bind(*message)
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        "postgres://postgres@127.0.0.1:5432/docket_bench_reference".to_owned()
    });
    let addr = std::env::var("REF_ADDR").unwrap_or_else(|_| "127.0.0.1:3902".to_owned());
    let pool_size: u32 = std::env::var("DOCKET_DB_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    prepare(&url).await.expect("preparing the fortune table");
    let db = PgPoolOptions::new()
        .max_connections(pool_size)
        .connect(&url)
        .await
        .expect("connecting to PostgreSQL");
    let app = Router::new()
        .route("/fortunes", get(fortunes))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("binding REF_ADDR");
    eprintln!("reference server on http://{addr}/fortunes (pool {pool_size})");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await
        .expect("serving");
}
