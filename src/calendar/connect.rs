//! Settings → "Add a CalDAV calendar" and "Subscribe to a calendar URL": the forms that connect
//! accounts without OAuth.
//!
//! Both check the address before anything is stored (guarded against private addresses, see
//! `fetch`): a CalDAV server must accept the username and password and offer at least one
//! event calendar, a subscription must return an iCalendar file. A refused form shows the
//! settings page again with the reason next to it (422, or 502 when the server could not be
//! reached) and stores nothing. Connecting the same server and username (or the same address)
//! again updates that account: it is how a user reconnects one whose password changed.

use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    api::ApiError,
    caldav,
    fetch::{self, FetchError, Fetcher},
    ics,
    store::{self, CalendarInfo},
};
use crate::{
    AppState, accounts,
    auth::{oidc::Identity, provider::Provider, session::SignedIn},
    http::{AppError, AppResult},
    kinds::AccountStatus,
    settings::{self, Problem},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/caldav", post(add_caldav))
        .route("/settings/ics", post(subscribe))
}

#[derive(serde::Deserialize)]
struct CaldavForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(serde::Deserialize)]
struct IcsForm {
    #[serde(default)]
    url: String,
}

/// Why a form was refused: the message shown next to it, and the status of the page.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn input(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
        }
    }
}

impl From<FetchError> for Refusal {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Unreachable(_) => Refusal {
                status: StatusCode::BAD_GATEWAY,
                message:
                    "Docket could not reach that server. Check the address, or try again later."
                        .into(),
            },
            other => Refusal::input(other.to_string()),
        }
    }
}

/// The settings page with the refusal next to its form.
async fn refused(
    state: &AppState,
    user: &SignedIn,
    refusal: Refusal,
    problem: fn(String) -> Problem,
) -> AppResult<Response> {
    let page = settings::render(state, user, Some(problem(refusal.message))).await?;
    Ok((refusal.status, page).into_response())
}

/// A subject unique per user and connection, revealing neither (it is stored in plain text).
fn subject(user: &SignedIn, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    format!("{}:{}", user.id, hex::encode(&hash.finalize()[..16]))
}

fn host(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

async fn add_caldav(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<CaldavForm>,
) -> AppResult<Response> {
    match connect_caldav(&state, &user, &form).await? {
        Ok(()) => Ok(Redirect::to("/settings").into_response()),
        Err(refusal) => refused(&state, &user, refusal, Problem::Caldav).await,
    }
}

async fn connect_caldav(
    state: &AppState,
    user: &SignedIn,
    form: &CaldavForm,
) -> AppResult<Result<(), Refusal>> {
    let (username, password) = (form.username.trim(), form.password.as_str());
    if username.is_empty() || password.is_empty() {
        return Ok(Err(Refusal::input(
            "Enter the username and an app password for this server.",
        )));
    }
    let url = match fetch::parse_url(&form.url) {
        Ok(url) => url,
        Err(e) => return Ok(Err(Refusal::input(e.to_string()))),
    };
    let mut fetcher = Fetcher::new(state.config.allow_private_urls);
    if let Err(e) = fetcher.check(&url).await {
        return Ok(Err(e.into()));
    }
    let mut client = caldav::Client::new(fetcher, username, password);
    let (details, collections) = match client.discover(&url).await {
        Ok(found) => found,
        Err(e) => return Ok(Err(discovery_refusal(e))),
    };
    if collections.is_empty() {
        return Ok(Err(Refusal::input(
            "That server has no calendar with events for this account.",
        )));
    }
    let identity = Identity {
        subject: subject(user, &[&details.url, username]),
        email: username.to_owned(),
        name: host(&url),
    };
    let sealed = serde_json::to_string(&details).map_err(anyhow::Error::from)?;
    // The first calendar (or the one the address named) is synced by default.
    let infos: Vec<CalendarInfo> = collections
        .iter()
        .enumerate()
        .map(|(i, c)| c.info(i == 0))
        .collect();
    save(state, user, Provider::Caldav, &identity, &sealed, &infos).await?;
    tracing::info!(host = %host(&url), calendars = infos.len(), "CalDAV account connected");
    Ok(Ok(()))
}

fn discovery_refusal(e: ApiError) -> Refusal {
    match e {
        ApiError::Unauthorized => Refusal::input("The server refused that username or password."),
        ApiError::NotFound | ApiError::Malformed(_) => Refusal::input(
            "Docket found no CalDAV calendars at that address. Check it with your provider's instructions.",
        ),
        ApiError::Forbidden(reason) => Refusal::input(reason),
        ApiError::Transient(_) | ApiError::Throttled { .. } | ApiError::Gone => {
            FetchError::Unreachable(String::new()).into()
        }
    }
}

async fn subscribe(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<IcsForm>,
) -> AppResult<Response> {
    match connect_ics(&state, &user, &form).await? {
        Ok(()) => Ok(Redirect::to("/settings").into_response()),
        Err(refusal) => refused(&state, &user, refusal, Problem::Ics).await,
    }
}

async fn connect_ics(
    state: &AppState,
    user: &SignedIn,
    form: &IcsForm,
) -> AppResult<Result<(), Refusal>> {
    let url = match fetch::parse_url(&form.url) {
        Ok(url) => url,
        Err(e) => return Ok(Err(Refusal::input(e.to_string()))),
    };
    let mut fetcher = Fetcher::new(state.config.allow_private_urls);
    let calendar = match ics::poll(&mut fetcher, &url, None, None).await {
        Ok(ics::Polled::Calendar { calendar, .. }) => calendar,
        Ok(ics::Polled::NotModified) => {
            return Ok(Err(Refusal::input(
                "That address did not return a calendar.",
            )));
        }
        Err(ApiError::Transient(_) | ApiError::Throttled { .. }) => {
            return Ok(Err(FetchError::Unreachable(String::new()).into()));
        }
        Err(ApiError::Forbidden(reason)) => return Ok(Err(Refusal::input(reason))),
        Err(ApiError::Unauthorized) => {
            return Ok(Err(Refusal::input(
                "That address asks for a password; Docket subscribes to public or secret addresses only.",
            )));
        }
        Err(ApiError::Malformed(reason)) if reason.starts_with("the response") => {
            return Ok(Err(Refusal::input(format!(
                "That address did not return a usable calendar ({reason})."
            ))));
        }
        Err(_) => {
            return Ok(Err(Refusal::input(
                "That address did not return a calendar.",
            )));
        }
    };
    let name = calendar.name().unwrap_or_else(|| host(&url));
    let identity = Identity {
        subject: subject(user, &[url.as_str()]),
        email: host(&url),
        name: name.clone(),
    };
    let details = ics::Credentials {
        url: url.to_string(),
    };
    let sealed = serde_json::to_string(&details).map_err(anyhow::Error::from)?;
    save(
        state,
        user,
        Provider::Ics,
        &identity,
        &sealed,
        &[ics::calendar(&name)],
    )
    .await?;
    tracing::info!(host = %host(&url), "calendar subscription added");
    Ok(Ok(()))
}

/// Stores the account (active), its sealed details and its calendars in one transaction, and
/// queues its first sync.
async fn save(
    state: &AppState,
    user: &SignedIn,
    provider: Provider,
    identity: &Identity,
    sealed: &str,
    calendars: &[CalendarInfo],
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let account = accounts::sign_in_or_link(
        &mut tx,
        provider,
        identity,
        AccountStatus::Active,
        "",
        Some(user.id),
    )
    .await
    .map_err(|e| match e {
        accounts::LinkError::Db(e) => AppError::from(e),
        other => AppError::Conflict(other.to_string()),
    })?;
    accounts::store_credentials(&mut *tx, &state.cipher, &account, sealed).await?;
    tx.commit().await?;
    store::upsert_calendars(&state.db, user.id, account.id, calendars).await?;
    crate::sync::queue_user(&state.db, user.id).await?;
    state.sync_waker.wake();
    Ok(())
}
