//! Server-side sessions in PostgreSQL (tower-sessions), the signed-in user extractor, and the
//! session's CSRF token.
//!
//! The cookie holds only a signed random id: `HttpOnly`, `SameSite=Lax` (Strict would drop the
//! cookie on the provider's redirect back and break the `state` check), `Path=/`, no `Domain`,
//! and `Secure` with the `__Host-` prefix when Docket is served over https.

use axum::{
    extract::{FromRequestParts, OriginalUri},
    http::request::Parts,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use tower_sessions::{
    Expiry, Session, SessionManagerLayer,
    cookie::{SameSite, time::Duration},
    service::SignedCookie,
};
use uuid::Uuid;

use super::session_store::{CONTEXT, PgSessionStore, Viewer};
use crate::{AppState, config::Config, crypto, http::AppError, http::layout::AccountState};

pub const USER_ID: &str = "user_id";
pub const SIGNED_IN_AT: &str = "signed_in_at";
pub const CSRF: &str = "csrf_token";
/// When the session was last seen in use; refreshing it extends the idle expiry.
pub const LAST_SEEN: &str = "last_seen";
/// The store keeps a session alive only when it is saved, and a save costs a write: record
/// activity at most this often (the idle expiry is therefore exact to within an hour).
const TOUCH_EVERY_MINUTES: i64 = 60;

/// Sessions end after two weeks without use, and thirty days after sign-in whatever happens.
const IDLE_DAYS: i64 = 14;
const ABSOLUTE_DAYS: i64 = 30;

pub fn cookie_name(config: &Config) -> &'static str {
    if config.https() {
        "__Host-docket_session"
    } else {
        "docket_session"
    }
}

pub fn layer(
    store: PgSessionStore,
    config: &Config,
    key: &crate::config::SecretKey,
) -> SessionManagerLayer<PgSessionStore, SignedCookie> {
    SessionManagerLayer::new(store)
        .with_name(cookie_name(config))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.https())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(Duration::days(IDLE_DAYS)))
        .with_signed(crypto::cookie_key(key))
}

/// The session store failed: the database is unreachable, say "try again" rather than 500.
pub fn session_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Unavailable(format!("session store: {e}"))
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF).await.map_err(session_error)? {
        return Ok(token);
    }
    let token = oauth2::CsrfToken::new_random().secret().clone();
    session.insert(CSRF, &token).await.map_err(session_error)?;
    Ok(token)
}

/// Signs `user_id` in: a new session id (no fixation), a new CSRF token, the sign-in time.
pub async fn sign_in(session: &Session, user_id: Uuid) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(USER_ID, user_id)
        .await
        .map_err(session_error)?;
    session
        .insert(SIGNED_IN_AT, Utc::now())
        .await
        .map_err(session_error)?;
    session.remove_value(CSRF).await.map_err(session_error)?;
    csrf_token(session).await?;
    Ok(())
}

/// Ends the session server-side: the row is deleted, the old cookie is worthless.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)
}

/// A message for the next page this browser shows, taken (and so shown) once.
pub const NOTICE: &str = "notice";

/// Ends this browser's session after its user was deleted (the row went with the user) and
/// keeps `notice` for the sign-in page, in a new anonymous session under a new id: the old
/// cookie never names a session again.
pub async fn end_with_notice(session: &Session, notice: &str) -> Result<(), AppError> {
    session.clear().await;
    // A new id, deleting the old one from the store (a no-op here: it went with the user).
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(NOTICE, notice)
        .await
        .map_err(session_error)?;
    Ok(())
}

/// The notice left for this page, if any, removed from the session.
pub async fn take_notice(session: &Session) -> Result<Option<String>, AppError> {
    take_once(session, NOTICE).await
}

/// A value left in the session under `key` for the next page that shows it, removed from the
/// session: it is shown once (a notice, a secret just made).
pub async fn take_once(session: &Session, key: &str) -> Result<Option<String>, AppError> {
    // Read first: removing marks the session modified, and a save is a write.
    if session
        .get::<String>(key)
        .await
        .map_err(session_error)?
        .is_none()
    {
        return Ok(None);
    }
    session.remove(key).await.map_err(session_error)
}

/// The signed-in user of this request, if any.
pub async fn user_id(session: &Session) -> Result<Option<Uuid>, AppError> {
    let Some(user_id) = session.get::<Uuid>(USER_ID).await.map_err(session_error)? else {
        return Ok(None);
    };
    let signed_in_at = session
        .get::<DateTime<Utc>>(SIGNED_IN_AT)
        .await
        .map_err(session_error)?;
    let now = Utc::now();
    if signed_in_at.is_none_or(|at| now - at > chrono::Duration::days(ABSOLUTE_DAYS)) {
        sign_out(session).await?;
        return Ok(None);
    }
    let last_seen = session
        .get::<DateTime<Utc>>(LAST_SEEN)
        .await
        .map_err(session_error)?;
    if last_seen.is_none_or(|at| now - at > chrono::Duration::minutes(TOUCH_EVERY_MINUTES)) {
        // Modifying the session makes the layer save it with a fresh idle expiry.
        session
            .insert(LAST_SEEN, now)
            .await
            .map_err(session_error)?;
    }
    Ok(Some(user_id))
}

/// The signed-in user. Pages that take it send anonymous visitors to sign in first, and come
/// back afterwards.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub time_zone: String,
    /// The version of everything the user's pages show (src/page_cache.rs).
    pub data_version: i64,
    /// Linked accounts with their sync state, for the banners and the sync line.
    pub accounts: Vec<AccountState>,
    pub csrf_token: String,
    pub session: Session,
}

/// Where an anonymous visitor goes: the home page, remembering where they wanted to be.
pub struct SignInRequired(String);

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        let next: String = form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        Redirect::to(&format!("/?next={next}")).into_response()
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let wanted = OriginalUri::from_request_parts(parts, state)
            .await
            .map(|u| u.0.to_string())
            .unwrap_or_else(|_| "/".into());
        let Some(user_id) = user_id(&session)
            .await
            .map_err(IntoResponse::into_response)?
        else {
            return Err(SignInRequired(wanted).into_response());
        };
        // Loaded with the session, in the same statement (see `session_store`).
        let viewer = session
            .get::<Viewer>(CONTEXT)
            .await
            .map_err(|e| session_error(e).into_response())?
            .filter(|viewer| viewer.id == user_id);
        let Some(viewer) = viewer else {
            // The user was deleted: the session is stale.
            sign_out(&session).await.ok();
            return Err(SignInRequired(wanted).into_response());
        };
        tracing::Span::current().record("user_id", tracing::field::display(user_id));
        let csrf_token = csrf_token(&session)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(SignedIn {
            id: user_id,
            name: viewer.name,
            email: viewer.email,
            time_zone: viewer.time_zone,
            data_version: viewer.data_version,
            accounts: viewer.accounts,
            csrf_token,
            session,
        })
    }
}
