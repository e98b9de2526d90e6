//! A local stand-in for Google and Microsoft that speaks their real wire protocols: OAuth 2.0
//! authorize and token endpoints (PKCE, refresh, rotation, revocation), signed OpenID Connect ID
//! tokens with a JWKS, Google's userinfo and Calendar API v3, Microsoft Graph `/me`, calendars
//! and `calendarView` delta.
//!
//! Used by the tests (started on its own port) and by demo mode (mounted under `/_demo`), so
//! the production client code runs unchanged against it. It keeps its state in memory.

// Handlers here return a ready HTTP response as their error: it is what the fake sends.
#![allow(clippy::result_large_err)]

pub mod bulk;
mod calendar;
mod demo_data;
mod oauth;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::Router;

pub use calendar::{FakeAttendee, FakeCalendar, FakeEvent, When};
pub use oauth::IdTokenTweak;

/// Which provider a fake identity belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    Google,
    Microsoft,
}

/// A person who can sign in at the fake provider, with their calendars.
#[derive(Debug, Clone)]
pub struct FakeUser {
    pub which: Which,
    /// Google `sub`, or Microsoft `oid`.
    pub subject: String,
    /// Microsoft tenant id (empty for Google).
    pub tenant: String,
    pub email: String,
    pub name: String,
    pub calendars: Vec<FakeCalendar>,
}

/// What tests can break on purpose.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// A script for the next API calls (not OAuth), one entry per call: `None` answers
    /// normally, `Some(status)` fails with that status. Calls past the script answer normally.
    pub script: Vec<Option<u16>>,
    /// Serve at most this many events per page, whatever the client asked for.
    pub page_size: Option<usize>,
    /// Every API call answers with this status until cleared (an outage).
    pub api_outage: Option<u16>,
    /// Answer the next API call with a body that is not the documented JSON.
    pub malformed_next: bool,
    /// The next token-endpoint call answers 503.
    pub token_outage: bool,
    /// Every revocation call answers 503 until cleared.
    pub revoke_outage: bool,
    /// Google event listings meet: a page after a listing's first waits until this many
    /// listings have asked for their first page (at most 5 s: [`FakeProvider::rendezvous_missed`]
    /// tells whether one gave up). Only listings that run at once can all meet.
    pub rendezvous: Option<usize>,
}

pub(crate) struct State {
    pub base: String,
    pub users: Vec<FakeUser>,
    pub codes: HashMap<String, oauth::CodeGrant>,
    pub access_tokens: HashMap<String, oauth::AccessGrant>,
    pub refresh_tokens: HashMap<String, oauth::RefreshGrant>,
    pub id_token_tweak: Option<IdTokenTweak>,
    pub faults: Faults,
    /// A counter that orders every calendar change, for sync tokens and delta links.
    pub clock: u64,
    /// Request counts per path, for tests that assert what a sync asked for.
    pub api_calls: Vec<String>,
    /// A listing waited in vain for the others ([`Faults::rendezvous`]).
    pub rendezvous_missed: bool,
    /// Every grant revoked through the revocation endpoint, in order.
    pub revocations: Vec<Revocation>,
}

/// A revocation the fake accepted: whose grant, and which of its tokens was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub email: String,
    pub token: String,
}

/// The fake provider. Cloning shares the same state.
#[derive(Clone)]
pub struct FakeProvider {
    state: Arc<Mutex<State>>,
    /// How many Google event listings have asked for their first page ([`Faults::rendezvous`]).
    first_pages: Arc<tokio::sync::watch::Sender<usize>>,
}

pub const GOOGLE_CLIENT_ID: &str = "docket-demo.apps.googleusercontent.example";
pub const GOOGLE_CLIENT_SECRET: &str = "demo-google-client-secret";
pub const MICROSOFT_CLIENT_ID: &str = "6f1c8a2e-docket-demo";
pub const MICROSOFT_CLIENT_SECRET: &str = "demo-microsoft-client-secret";

impl FakeProvider {
    /// A provider reachable at `base` (no trailing slash), with the demo people and calendars.
    pub fn new(base: &str) -> Self {
        Self::with_users(base, demo_data::users(chrono::Utc::now()))
    }

    pub fn with_users(base: &str, users: Vec<FakeUser>) -> Self {
        FakeProvider {
            state: Arc::new(Mutex::new(State {
                base: base.trim_end_matches('/').to_owned(),
                users,
                codes: HashMap::new(),
                access_tokens: HashMap::new(),
                refresh_tokens: HashMap::new(),
                id_token_tweak: None,
                faults: Faults::default(),
                clock: 1,
                api_calls: Vec::new(),
                rendezvous_missed: false,
                revocations: Vec::new(),
            })),
            first_pages: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// All endpoints, rooted at `/google/...` and `/microsoft/...`.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(oauth::router())
            .merge(calendar::router())
            .with_state(self.clone())
    }

    /// Serves on a random loopback port (tests). Returns the provider with its base URL set.
    pub async fn start() -> (FakeProvider, SocketAddr) {
        Self::start_with(FakeProvider::new).await
    }

    pub async fn start_with(make: impl FnOnce(&str) -> FakeProvider) -> (FakeProvider, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let fake = make(&format!("http://{addr}"));
        let router = fake.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (fake, addr)
    }

    /// The environment variables that point Docket at this provider.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        env_for(&self.lock().base)
    }

    pub fn base(&self) -> String {
        self.lock().base.clone()
    }

    /// Makes the next ID token invalid in the given way.
    pub fn tweak_next_id_token(&self, tweak: IdTokenTweak) {
        self.lock().id_token_tweak = Some(tweak);
    }

    /// Revokes every grant of the user with `email` (as when they remove the app's access).
    pub fn revoke_user(&self, email: &str) {
        let mut state = self.lock();
        let Some(index) = state.users.iter().position(|u| u.email == email) else {
            return;
        };
        state.refresh_tokens.values_mut().for_each(|g| {
            if g.user == index {
                g.revoked = true;
            }
        });
        state.access_tokens.retain(|_, g| g.user != index);
    }

    /// Expires every access token now, so the next API call needs a refresh.
    pub fn expire_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// How many refresh tokens are live (not revoked) for `email`.
    pub fn live_refresh_tokens(&self, email: &str) -> usize {
        let state = self.lock();
        let Some(index) = state.users.iter().position(|u| u.email == email) else {
            return 0;
        };
        state
            .refresh_tokens
            .values()
            .filter(|g| g.user == index && !g.revoked)
            .count()
    }

    /// The revocations accepted so far.
    pub fn revocations(&self) -> Vec<Revocation> {
        self.lock().revocations.clone()
    }

    pub fn faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.lock().faults);
    }

    /// Changes a user's calendars; every event touched gets a new change stamp.
    pub fn edit_calendars(
        &self,
        email: &str,
        change: impl FnOnce(&mut Vec<FakeCalendar>, &mut dyn FnMut() -> u64),
    ) {
        let mut state = self.lock();
        let State { users, clock, .. } = &mut *state;
        if let Some(user) = users.iter_mut().find(|u| u.email == email) {
            let mut tick = || {
                *clock += 1;
                *clock
            };
            change(&mut user.calendars, &mut tick);
        }
    }

    /// Whether a listing gave up waiting for the others ([`Faults::rendezvous`]).
    pub fn rendezvous_missed(&self) -> bool {
        self.lock().rendezvous_missed
    }

    /// With [`Faults::rendezvous`] set: counts a listing's first page, or holds a later page
    /// until enough listings have started.
    pub(crate) async fn meet(&self, first_page: bool) {
        let Some(listings) = self.lock().faults.rendezvous else {
            return;
        };
        if first_page {
            self.first_pages.send_modify(|n| *n += 1);
            return;
        }
        let mut started = self.first_pages.subscribe();
        let met = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            started.wait_for(|n| *n >= listings),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if !met {
            self.lock().rendezvous_missed = true;
        }
    }

    /// The API paths requested so far (tests assert on sync behaviour with it).
    pub fn api_calls(&self) -> Vec<String> {
        self.lock().api_calls.clone()
    }

    pub fn users(&self) -> Vec<FakeUser> {
        self.lock().users.clone()
    }
}

/// Docket's provider variables for a fake reachable at `base`.
pub fn env_for(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GOOGLE_CLIENT_ID", GOOGLE_CLIENT_ID.into()),
        ("GOOGLE_CLIENT_SECRET", GOOGLE_CLIENT_SECRET.into()),
        ("GOOGLE_AUTH_URL", format!("{base}/google/o/oauth2/v2/auth")),
        ("GOOGLE_TOKEN_URL", format!("{base}/google/token")),
        ("GOOGLE_USERINFO_URL", format!("{base}/google/v1/userinfo")),
        ("GOOGLE_REVOKE_URL", format!("{base}/google/revoke")),
        ("GOOGLE_JWKS_URL", format!("{base}/google/oauth2/v3/certs")),
        (
            "GOOGLE_CALENDAR_API_URL",
            format!("{base}/google/calendar/v3"),
        ),
        ("GOOGLE_ISSUER", format!("{base}/google")),
        ("MICROSOFT_CLIENT_ID", MICROSOFT_CLIENT_ID.into()),
        ("MICROSOFT_CLIENT_SECRET", MICROSOFT_CLIENT_SECRET.into()),
        ("MICROSOFT_TENANT", "common".into()),
        (
            "MICROSOFT_AUTH_URL",
            format!("{base}/microsoft/common/oauth2/v2.0/authorize"),
        ),
        (
            "MICROSOFT_TOKEN_URL",
            format!("{base}/microsoft/common/oauth2/v2.0/token"),
        ),
        (
            "MICROSOFT_JWKS_URL",
            format!("{base}/microsoft/common/discovery/v2.0/keys"),
        ),
        (
            "MICROSOFT_GRAPH_URL",
            format!("{base}/microsoft/graph/v1.0"),
        ),
        (
            "MICROSOFT_ISSUER",
            format!("{base}/microsoft/{{tenantid}}/v2.0"),
        ),
    ]
}
