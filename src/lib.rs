//! Docket: meeting notes linked to the calendar, the people in it, and what came out of it.
//!
//! `main.rs` only parses the command line; everything else starts here. [`app`] builds the
//! router the binary serves and the tests drive; [`start`] wires configuration, database and
//! background work into a running server.

pub mod accounts;
pub mod api;
pub mod assets;
pub mod auth;
pub mod calendar;
pub mod config;
pub mod crypto;
pub mod db;
pub mod decisions;
pub mod demo;
pub mod export;
pub mod fake_provider;
pub mod feed;
pub mod home;
pub mod http;
pub mod import;
pub mod items;
pub mod kinds;
pub mod markdown;
pub mod meetings;
pub mod notes;
pub mod ops;
pub mod page_cache;
pub mod people;
pub mod picture;
pub mod recap;
pub mod search;
pub mod secrets;
pub mod series_templates;
pub mod settings;
pub mod sync;
pub mod telemetry;
pub mod time;
pub mod today;

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tower_sessions::{SessionManagerLayer, service::SignedCookie};

use crate::{
    auth::{discovery::Discovery, oidc::JwksCache, session_store::PgSessionStore},
    config::Config,
    crypto::TokenCipher,
    fake_provider::FakeProvider,
};

/// Shared by every request: one pointer to clone per request (every handler takes a copy);
/// holds no per-user state (instances are stateless: sessions live in PostgreSQL).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub db: PgPool,
    pub cipher: TokenCipher,
    pub metrics: PrometheusHandle,
    /// For calls to the providers: no redirects followed, bounded time.
    pub http: reqwest::Client,
    pub jwks: JwksCache,
    /// The generic OpenID Connect provider's metadata, cached.
    pub discovery: Discovery,
    pub sessions: SessionManagerLayer<PgSessionStore, SignedCookie>,
    /// The keys session cookies may be signed with (the previous one during a rotation).
    pub cookie_keys: auth::cookie_keys::CookieKeys,
    /// Demo mode's built-in provider, served under `/_demo`.
    pub demo: Option<FakeProvider>,
    pub sync_waker: sync::Waker,
    pub page_cache: page_cache::PageCache,
}

/// The whole application as a router, built the same way by the binary and the tests.
pub fn app(state: AppState) -> Router {
    // Everything a person uses runs inside the session and the CSRF check.
    let pages = Router::new()
        .merge(home::router())
        .merge(auth::router(&state))
        .merge(settings::router())
        .merge(calendar::connect::router())
        .merge(import::router(state.config.import_max_bytes))
        .merge(feed::router())
        .merge(api::tokens::router())
        .merge(export::router())
        .merge(sync::router())
        .merge(meetings::router())
        .merge(recap::router())
        .merge(series_templates::router())
        .merge(items::router())
        .merge(people::router())
        .merge(decisions::router())
        .merge(search::router())
        .merge(notes::pages::router())
        .merge(notes::drafts::router())
        .merge(notes::merge::router())
        .merge(notes::versions::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf::protect,
        ))
        .layer(axum::middleware::from_fn(auth::cookie_keys::reissue))
        .layer(state.sessions.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.cookie_keys.clone(),
            auth::cookie_keys::accept_previous,
        ));
    let mut router = Router::new()
        .merge(ops::router())
        // The calendar feed is read by calendar apps, without a session: the token is the key.
        .merge(feed::public_router(&state))
        // The API authenticates each request by its bearer token alone: no session, no cookie,
        // so no CSRF to guard against.
        .merge(api::router(&state))
        .merge(pages)
        .merge(assets::router())
        .fallback(http::not_found)
        .with_state(state.clone());
    if let Some(fake) = &state.demo {
        router = router.nest_service("/_demo", fake.router());
    }
    http::stack(
        router,
        state.config.request_timeout,
        state.config.https(),
        &[(import::UPLOAD_PATH, state.config.import_max_bytes)],
    )
}

/// A server started by [`start`]: its address, and how to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        Ok(())
    }

    /// Waits until the server stops (after [`RunningServer::shutdown_token`] is cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Connects to the database, applies migrations, binds `config.addr` and serves in the background.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding DOCKET_ADDR={}", config.addr))?;
    start_on(config, listener).await
}

/// Like [`start`], on a listener bound by the caller (tests bind port 0 first, so that
/// `DOCKET_PUBLIC_URL` can name the real port).
pub async fn start_on(config: Config, listener: TcpListener) -> anyhow::Result<RunningServer> {
    let db = db::connect(&config).await?;
    db::migrate(&db).await?;
    search::use_language(&db, &config.search_language).await?;
    let key = secrets::resolve(&config, &db).await?;
    let store = PgSessionStore::new(db.clone());
    let addr = listener.local_addr()?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(20))
        .user_agent(concat!("Docket/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let demo = config
        .demo
        .then(|| FakeProvider::new(&config.public_link("/_demo")));
    let page_cache = page_cache::PageCache::new(config.page_cache_mib);
    let state = AppState(Arc::new(Shared {
        sessions: auth::session::layer(store.clone(), &config, &key),
        cookie_keys: auth::cookie_keys::CookieKeys::new(&config, &key),
        cipher: match &config.previous_secret_key {
            Some(previous) => TokenCipher::new(&key).with_previous(previous),
            None => TokenCipher::new(&key),
        },
        config: Arc::new(config),
        db,
        metrics: telemetry::metrics_handle(),
        http,
        jwks: JwksCache::default(),
        discovery: Discovery::default(),
        demo,
        sync_waker: sync::Waker::default(),
        page_cache,
    }));
    let shutdown = CancellationToken::new();
    store.clone().spawn_cleanup(shutdown.clone());
    telemetry::spawn_metrics_upkeep(state.metrics.clone(), shutdown.clone());
    let router = app(state.clone());
    if state.config.sync_worker {
        sync::spawn_worker(state.clone(), shutdown.clone());
    }
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    });
    tracing::info!(%addr, "Docket is listening");
    if state.config.demo {
        tracing::info!(
            "demo mode is on: sign-in and calendars come from the built-in stand-in for Google \
             and Microsoft under /_demo. To turn it off, set DOCKET_DEMO=false and configure \
             GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET or MICROSOFT_CLIENT_ID/MICROSOFT_CLIENT_SECRET \
             (README: \"Connecting Google and Microsoft\")"
        );
    }
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        task,
    })
}

/// Runs until SIGTERM or SIGINT, then shuts down gracefully.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let public_url = config.public_url.clone();
    let server = start(config).await?;
    eprintln!("Docket is running: open {public_url}");
    let token = server.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        token.cancel();
    });
    let pool = server.state.db.clone();
    server.wait().await?;
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
