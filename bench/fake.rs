//! The fake Google for bench/sync: one user with large generated calendars
//! (`docket::fake_provider::bulk`), served on its own port so that Docket's memory is measured
//! without the fake's, plus `POST /bench/change?updates=N&cancels=M` to change events between
//! syncs. Writes Docket's provider variables to the file named by BENCH_FAKE_ENV_FILE.
//!
//! Built only with `--features bench` (see Cargo.toml); run by bench/sync.

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Query, State},
    routing::post,
};
use docket::fake_provider::{FakeProvider, bulk, env_for};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let addr = std::env::var("BENCH_FAKE_ADDR").unwrap_or_else(|_| "127.0.0.1:3903".into());
    let email =
        std::env::var("BENCH_SYNC_EMAIL").unwrap_or_else(|_| "bench@northwind.example".into());
    let calendars = setting("BENCH_SYNC_CALENDARS", 5);
    let events = setting("BENCH_SYNC_EVENTS", 50_000);
    let attendees = setting("BENCH_SYNC_ATTENDEES", 5);
    let base = format!("http://{addr}");
    let user = bulk::user(
        &email,
        calendars,
        events / calendars.max(1),
        attendees,
        chrono::Utc::now(),
    );
    let fake = FakeProvider::with_users(&base, vec![user]);
    let bench = Router::new()
        .route("/bench/change", post(change))
        .with_state((fake.clone(), email.clone()));
    let app = fake.router().merge(bench);
    if let Ok(path) = std::env::var("BENCH_FAKE_ENV_FILE") {
        let lines: String = env_for(&base)
            .into_iter()
            .map(|(k, v)| format!("{k}='{v}'\n"))
            .collect();
        std::fs::write(path, lines).expect("write the env file");
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the fake's address");
    axum::serve(listener, app).await.expect("serve");
}

async fn change(
    State((fake, email)): State<(FakeProvider, String)>,
    Query(q): Query<HashMap<String, usize>>,
) -> &'static str {
    let updates = q.get("updates").copied().unwrap_or(0);
    let cancels = q.get("cancels").copied().unwrap_or(0);
    fake.edit_calendars(&email, |calendars, tick| {
        bulk::change(calendars, tick, updates, cancels)
    });
    "changed\n"
}
