//! The sync worker: runs inside every app instance, claims accounts through PostgreSQL leases
//! (`FOR UPDATE SKIP LOCKED`), syncs each selected calendar, and reschedules with backoff.
//!
//! Several instances never sync one account at once (the lease), a crashed instance's lease
//! expires, one failing calendar never blocks the others, and a failure never writes partial
//! data (see `calendar::store::Writer`).

use crate::kinds::AccountStatus;
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, stream};
use rand::Rng as _;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::{
    AppState,
    accounts::{self, AccessError, Account},
    auth::{provider::Provider, session::SignedIn},
    calendar::{
        Change,
        api::ApiError,
        caldav,
        fetch::Fetcher,
        google, ics, microsoft,
        store::{self, CalendarRow, Step},
    },
    http::AppResult,
};

/// How long a claimed account stays ours without a heartbeat.
const LEASE_SECS: i64 = 300;
/// How often an idle worker looks for due work (another instance may have queued some).
const POLL: Duration = Duration::from_secs(5);

pub fn router() -> Router<AppState> {
    Router::new().route("/sync", post(sync_now))
}

/// Wakes this instance's worker at once (other instances find the work on their next poll).
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Makes every account of `user_id` due now.
pub async fn queue_user(db: &PgPool, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into sync_state (account_id, user_id, due_at)
         select id, user_id, now() from accounts where user_id = $1 and status = 'active'
         on conflict (account_id) do update set due_at = now(), attempts = 0",
        user_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

async fn sync_now(State(state): State<AppState>, user: SignedIn) -> AppResult<Response> {
    queue_user(&state.db, user.id).await?;
    state.sync_waker.wake();
    Ok(Redirect::to("/").into_response())
}

/// Spawns the background worker; it stops when `shutdown` is cancelled.
pub fn spawn_worker(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let worker = format!("instance-{}", Uuid::new_v4().simple());
        loop {
            match run_due(&state, &worker).await {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sync worker could not claim work"),
            }
            // Imports whose instance stopped half-way are background work too.
            if let Err(e) = crate::import::run::resume_stalled(&state.db).await {
                tracing::warn!(error = %e, "could not look for stalled imports");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = state.sync_waker.0.notified() => {},
                () = tokio::time::sleep(POLL) => {},
            }
        }
    });
}

/// Claims and syncs due accounts until none is left; returns how many were synced.
pub async fn run_due(state: &AppState, worker: &str) -> sqlx::Result<usize> {
    let mut done = 0;
    while let Some((account_id, attempts)) = claim(&state.db, worker).await? {
        let started = std::time::Instant::now();
        let outcome = sync_account(state, account_id)
            .instrument(tracing::info_span!("sync", %account_id))
            .await;
        if let Outcome::Done = outcome {
            // Operators (and bench/sync) read how long a whole account took.
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(%account_id, elapsed_ms, "account synced");
        }
        finish(state, account_id, worker, attempts, outcome).await?;
        done += 1;
    }
    Ok(done)
}

async fn claim(db: &PgPool, worker: &str) -> sqlx::Result<Option<(Uuid, i32)>> {
    let claimed = sqlx::query!(
        "update sync_state s set lease_until = now() + make_interval(secs => $2), leased_by = $1, progress = 0
         where s.account_id = (
             select s2.account_id from sync_state s2 join accounts a on a.id = s2.account_id
             where a.status = 'active' and s2.due_at <= now()
               and (s2.lease_until is null or s2.lease_until < now())
             order by s2.due_at
             limit 1
             for update of s2 skip locked)
         returning s.account_id, s.attempts",
        worker,
        LEASE_SECS as f64,
    )
    .fetch_optional(db)
    .await?;
    Ok(claimed.map(|c| (c.account_id, c.attempts)))
}

/// What happened to one account's sync.
#[derive(Debug)]
enum Outcome {
    Done,
    /// The user must act (reconnect); nothing to retry.
    NeedsUser,
    /// Try again later, not before `retry_after` if the provider said so.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
}

/// Exponential backoff with full jitter, capped at the sync interval: retries spread out and
/// never hammer a provider that is struggling.
fn backoff(attempts: i32, interval: Duration, retry_after: Option<Duration>) -> Duration {
    let exp = Duration::from_secs(15).saturating_mul(1u32 << attempts.clamp(0, 10));
    let cap = exp.min(interval.max(Duration::from_secs(60)));
    let jittered =
        Duration::from_secs_f64(cap.as_secs_f64() * rand::thread_rng().gen_range(0.5..1.0));
    jittered.max(retry_after.unwrap_or_default())
}

async fn finish(
    state: &AppState,
    account_id: Uuid,
    worker: &str,
    attempts: i32,
    outcome: Outcome,
) -> sqlx::Result<()> {
    let interval = state.config.sync_interval;
    let (due_in, error, success) = match &outcome {
        Outcome::Done => (interval, None, true),
        Outcome::NeedsUser => (Duration::from_secs(24 * 3600), None, false),
        Outcome::Retry { error, retry_after } => (
            backoff(attempts, interval, *retry_after),
            Some(error.clone()),
            false,
        ),
    };
    if let Outcome::Retry { error, .. } = &outcome {
        tracing::warn!(%account_id, %error, retry_in_secs = due_in.as_secs(), "sync failed; will retry");
    }
    sqlx::query!(
        "update sync_state set
            lease_until = null, leased_by = null,
            due_at = now() + make_interval(secs => $3),
            attempts = case when $5 then 0 else attempts + 1 end,
            last_error = $4,
            last_success_at = case when $5 then now() else last_success_at end
         where account_id = $1 and leased_by = $2",
        account_id,
        worker,
        due_in.as_secs_f64(),
        error,
        success,
    )
    .execute(&state.db)
    .await?;
    Ok(())
}

/// A usable token, refreshing on demand; `None` when the account now needs the user.
async fn token(
    state: &AppState,
    account: &Account,
    force: bool,
) -> Result<Option<String>, Outcome> {
    match accounts::access_token(
        &state.db,
        &state.config,
        &state.http,
        &state.cipher,
        account,
        force,
    )
    .await
    {
        Ok(t) => Ok(Some(t)),
        Err(AccessError::NeedsReconnect(reason)) => {
            tracing::warn!(account_id = %account.id, %reason, "account needs reconnecting");
            Ok(None)
        }
        Err(AccessError::Transient(e)) => Err(Outcome::Retry {
            error: format!("token refresh: {e}"),
            retry_after: None,
        }),
        Err(AccessError::Db(e)) => Err(Outcome::Retry {
            error: format!("database: {e}"),
            retry_after: None,
        }),
    }
}

/// A 401 from the API: refresh the token once; a second 401 means the grant is unusable and
/// the account needs the user.
async fn after_unauthorized(
    state: &AppState,
    account: &Account,
    refreshed: &mut bool,
) -> Result<String, Outcome> {
    if std::mem::replace(refreshed, true) {
        let _ = accounts::set_status(
            &state.db,
            account.id,
            AccountStatus::NeedsReconnect,
            Some("the provider keeps refusing Docket's access"),
        )
        .await;
        return Err(Outcome::NeedsUser);
    }
    match token(state, account, true).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(Outcome::NeedsUser),
        Err(outcome) => Err(outcome),
    }
}

async fn sync_account(state: &AppState, account_id: Uuid) -> Outcome {
    let account = match sqlx::query_as!(
        Account,
        r#"select id, user_id, provider as "provider: Provider", subject, email, name,
                  status as "status: AccountStatus", status_reason
           from accounts where id = $1"#,
        account_id,
    )
    .fetch_optional(&state.db)
    .await
    {
        Ok(a) => a,
        Err(e) => {
            return Outcome::Retry {
                error: format!("database: {e}"),
                retry_after: None,
            };
        }
    };
    let Some(account) = account.filter(|a| a.status == AccountStatus::Active) else {
        return Outcome::NeedsUser;
    };
    if account.provider.is_form_connected() {
        return sync_connected(state, &account).await;
    }
    let provider = account.provider;
    // Only OAuth calendar providers have an API to read (a sign-in-only identity is never
    // active).
    let Some(api) = calendar_api(state, provider) else {
        return Outcome::NeedsUser;
    };
    let mut access = match token(state, &account, false).await {
        Ok(Some(t)) => t,
        Ok(None) => return Outcome::NeedsUser,
        Err(outcome) => return outcome,
    };

    // The calendar list, with one token refresh on 401.
    let mut refreshed = false;
    let infos = loop {
        let listed = match provider {
            Provider::Google => google::list_calendars(&state.http, &api, &access).await,
            Provider::Microsoft => microsoft::list_calendars(&state.http, &api, &access).await,
            Provider::Oidc | Provider::Caldav | Provider::Ics => return Outcome::NeedsUser,
        };
        match listed {
            Ok(infos) => break infos,
            Err(ApiError::Unauthorized) => {
                access = match after_unauthorized(state, &account, &mut refreshed).await {
                    Ok(t) => t,
                    Err(outcome) => return outcome,
                };
            }
            Err(ApiError::Forbidden(_)) => {
                let _ = accounts::set_status(
                    &state.db,
                    account.id,
                    AccountStatus::NeedsPermission,
                    None,
                )
                .await;
                return Outcome::NeedsUser;
            }
            Err(e) => return retry(e),
        }
    };
    let calendars =
        match store::upsert_calendars(&state.db, account.user_id, account.id, &infos).await {
            Ok(c) => c,
            Err(e) => {
                return Outcome::Retry {
                    error: format!("database: {e}"),
                    retry_after: None,
                };
            }
        };
    if let Some(zone) = calendars
        .iter()
        .find(|c| c.is_primary)
        .and_then(|c| c.time_zone.clone())
        && zone.parse::<chrono_tz::Tz>().is_ok()
    {
        let _ = sqlx::query!(
            "update users set time_zone = $2 where id = $1 and not time_zone_chosen",
            account.user_id,
            zone,
        )
        .execute(&state.db)
        .await;
    }

    let window = window(state);
    let access = Access(tokio::sync::Mutex::new(access));
    let seen = AtomicUsize::new(0);
    // Up to `DOCKET_SYNC_LISTINGS` calendars at once, each listing in its own transaction: on a
    // first sync PostgreSQL's work per event is what takes the time, and one listing keeps one
    // backend (one core) busy. A listing that stops the account (the user must act) drops the
    // others, which then roll back.
    // (The futures are made first: a stream of closures is not provably `Send` to the compiler.)
    let futures: Vec<_> = calendars
        .iter()
        .filter(|c| c.selected && c.readable())
        .map(|calendar| listing(state, &account, calendar, &access, window, &seen))
        .collect();
    let mut listings = stream::iter(futures).buffer_unordered(state.config.sync_listings);
    let mut first_transient: Option<Outcome> = None;
    while let Some((calendar, result)) = listings.next().await {
        if let Err(outcome) = settle(state, calendar, result, &mut first_transient).await {
            return outcome;
        }
    }
    drop(listings);
    if first_transient.is_none() && state.config.demo {
        let zone =
            sqlx::query_scalar!("select time_zone from users where id = $1", account.user_id)
                .fetch_one(&state.db)
                .await
                .unwrap_or_else(|_| "UTC".into());
        if let Err(e) = crate::demo::seed_notes(&state.db, account.user_id, &zone).await {
            tracing::warn!(error = %e, "could not seed the demo notes");
        }
    }
    first_transient.unwrap_or(Outcome::Done)
}

/// [`sync_calendar`], with the calendar it was for.
async fn listing<'c>(
    state: &AppState,
    account: &Account,
    calendar: &'c CalendarRow,
    access: &Access,
    window: (DateTime<Utc>, DateTime<Utc>),
    seen: &AtomicUsize,
) -> (&'c CalendarRow, Result<usize, CalendarFailure>) {
    let result = sync_calendar(state, account, calendar, access, window, seen).await;
    (calendar, result)
}

/// The window every provider lists: events from `DOCKET_SYNC_DAYS_BACK` ago to
/// `DOCKET_SYNC_DAYS_AHEAD` ahead.
fn window(state: &AppState) -> (DateTime<Utc>, DateTime<Utc>) {
    let now = Utc::now();
    (
        now - chrono::Duration::days(state.config.sync_days_back),
        now + chrono::Duration::days(state.config.sync_days_ahead),
    )
}

/// Records how one calendar's sync ended. One calendar failing never blocks the others: its
/// error is shown next to it, and the first transient one schedules the retry. `Err` stops the
/// account's sync (the user must act).
async fn settle(
    state: &AppState,
    calendar: &CalendarRow,
    result: Result<usize, CalendarFailure>,
    first_transient: &mut Option<Outcome>,
) -> Result<(), Outcome> {
    match result {
        Ok(n) => tracing::info!(calendar = %calendar.name, changes = n, "calendar synced"),
        Err(CalendarFailure::NeedsUser) => return Err(Outcome::NeedsUser),
        Err(CalendarFailure::Api(e)) => {
            tracing::warn!(calendar = %calendar.name, error = %e, "calendar sync failed");
            let message = match &e {
                ApiError::NotFound => "This calendar is no longer accessible.".to_owned(),
                ApiError::Forbidden(_) => "Docket may not read this calendar.".to_owned(),
                other => other.to_string(),
            };
            let _ = store::record_error(&state.db, calendar, Some(&message)).await;
            if e.is_transient() && first_transient.is_none() {
                *first_transient = Some(retry(e));
            }
        }
        Err(CalendarFailure::Db(e)) => {
            first_transient.get_or_insert(Outcome::Retry {
                error: format!("database: {e}"),
                retry_after: None,
            });
        }
    }
    Ok(())
}

/// Syncs an account connected with a Settings form (CalDAV, ICS subscription): its stored
/// connection details instead of a token, and every request through the guarded fetcher.
/// A 401 means the stored password (or the address) no longer works: the account needs the
/// user, with the usual banner.
async fn sync_connected(state: &AppState, account: &Account) -> Outcome {
    let details = match accounts::credentials(&state.db, &state.cipher, account).await {
        Ok(details) => details,
        Err(AccessError::NeedsReconnect(_)) => return Outcome::NeedsUser,
        Err(e) => {
            return Outcome::Retry {
                error: format!("database: {e}"),
                retry_after: None,
            };
        }
    };
    let fetcher = Fetcher::new(state.config.allow_private_urls);
    let window = window(state);
    let seen = AtomicUsize::new(0);
    match account.provider {
        Provider::Caldav => {
            let Ok(details) = serde_json::from_str::<caldav::Credentials>(&details) else {
                return unusable(
                    state,
                    account,
                    "the stored connection details are unreadable",
                )
                .await;
            };
            let mut client = caldav::Client::new(fetcher, &details.username, &details.password);
            let collections = match client.list(&details).await {
                Ok(collections) => collections,
                Err(ApiError::Unauthorized) => {
                    return unusable(
                        state,
                        account,
                        "the server refused the username or password",
                    )
                    .await;
                }
                Err(e) => return retry(e),
            };
            let infos: Vec<_> = collections
                .iter()
                .enumerate()
                .map(|(i, c)| c.info(i == 0))
                .collect();
            let calendars = match upsert(state, account, &infos).await {
                Ok(calendars) => calendars,
                Err(outcome) => return outcome,
            };
            let mut first_transient = None;
            for calendar in calendars.iter().filter(|c| c.selected && c.readable()) {
                let Some(collection) = collections
                    .iter()
                    .find(|c| c.url.as_str() == calendar.provider_calendar_id)
                else {
                    let _ = store::record_error(
                        &state.db,
                        calendar,
                        Some("This calendar is no longer accessible."),
                    )
                    .await;
                    continue;
                };
                let mut cursor = calendar.sync_cursor.clone();
                let mut reset = false;
                let result = loop {
                    let pages = Pages::Caldav(caldav::EventPages::new(
                        &mut client,
                        collection,
                        cursor.as_deref(),
                        window,
                    ));
                    match list_and_apply(state, account, calendar, pages, &seen).await {
                        Err(CalendarFailure::Api(ApiError::Gone)) if !reset => {
                            tracing::info!(calendar = %calendar.name, "the server rejected the sync token; full listing");
                            if let Err(e) = store::clear_cursor(&state.db, calendar).await {
                                break Err(CalendarFailure::Db(e));
                            }
                            cursor = None;
                            reset = true;
                        }
                        Err(CalendarFailure::Api(ApiError::Unauthorized)) => {
                            return unusable(
                                state,
                                account,
                                "the server refused the username or password",
                            )
                            .await;
                        }
                        other => break other,
                    }
                };
                if let Err(outcome) = settle(state, calendar, result, &mut first_transient).await {
                    return outcome;
                }
            }
            first_transient.unwrap_or(Outcome::Done)
        }
        Provider::Ics => {
            let url = match serde_json::from_str::<ics::Credentials>(&details)
                .ok()
                .and_then(|d| url::Url::parse(&d.url).ok())
            {
                Some(url) => url,
                None => {
                    return unusable(state, account, "the stored address is unreadable").await;
                }
            };
            let calendars = match upsert(state, account, &[ics::calendar(&account.name)]).await {
                Ok(calendars) => calendars,
                Err(outcome) => return outcome,
            };
            let mut fetcher = fetcher;
            let mut first_transient = None;
            for calendar in calendars.iter().filter(|c| c.selected) {
                let pages = Pages::Ics(ics::EventPages::new(
                    &mut fetcher,
                    &url,
                    calendar.sync_cursor.as_deref(),
                    window,
                ));
                let result = match list_and_apply(state, account, calendar, pages, &seen).await {
                    Err(CalendarFailure::Api(ApiError::Unauthorized)) => {
                        return unusable(state, account, "the address now asks for a password")
                            .await;
                    }
                    other => other,
                };
                if let Err(outcome) = settle(state, calendar, result, &mut first_transient).await {
                    return outcome;
                }
            }
            first_transient.unwrap_or(Outcome::Done)
        }
        Provider::Google | Provider::Microsoft | Provider::Oidc => Outcome::NeedsUser,
    }
}

/// Marks an account as needing the user (reconnect), with the reason shown in its banner.
async fn unusable(state: &AppState, account: &Account, reason: &str) -> Outcome {
    tracing::warn!(account_id = %account.id, %reason, "account needs reconnecting");
    let _ = accounts::set_status(
        &state.db,
        account.id,
        AccountStatus::NeedsReconnect,
        Some(reason),
    )
    .await;
    Outcome::NeedsUser
}

async fn upsert(
    state: &AppState,
    account: &Account,
    infos: &[store::CalendarInfo],
) -> Result<Vec<CalendarRow>, Outcome> {
    store::upsert_calendars(&state.db, account.user_id, account.id, infos)
        .await
        .map_err(|e| Outcome::Retry {
            error: format!("database: {e}"),
            retry_after: None,
        })
}

fn retry(e: ApiError) -> Outcome {
    let retry_after = match &e {
        ApiError::Throttled { retry_after } => *retry_after,
        _ => None,
    };
    Outcome::Retry {
        error: e.to_string(),
        retry_after,
    }
}

enum CalendarFailure {
    NeedsUser,
    Api(ApiError),
    Db(sqlx::Error),
}

/// An account's access token, shared by the listings that run at once: the first to meet a
/// 401 refreshes it, the others then use the new one.
struct Access(tokio::sync::Mutex<String>);

impl Access {
    async fn current(&self) -> String {
        self.0.lock().await.clone()
    }

    /// After a 401 with `used`: the token another listing refreshed meanwhile, or a fresh one
    /// (at most one refresh per listing: see [`after_unauthorized`]).
    async fn after_unauthorized(
        &self,
        state: &AppState,
        account: &Account,
        used: &str,
        refreshed: &mut bool,
    ) -> Result<String, Outcome> {
        let mut token = self.0.lock().await;
        if *token != used {
            return Ok(token.clone());
        }
        *token = after_unauthorized(state, account, refreshed).await?;
        Ok(token.clone())
    }
}

/// Lists and applies one calendar: incremental from its cursor, a full round (with sweep) when
/// there is none or the provider says the cursor is gone; one token refresh on 401.
async fn sync_calendar(
    state: &AppState,
    account: &Account,
    calendar: &CalendarRow,
    access: &Access,
    window: (DateTime<Utc>, DateTime<Utc>),
    seen: &AtomicUsize,
) -> Result<usize, CalendarFailure> {
    let mut cursor = calendar.sync_cursor.clone();
    let mut refreshed = false;
    let mut reset = false;
    loop {
        let token = access.current().await;
        let pages = oauth_pages(state, account, calendar, &token, cursor.as_deref(), window)?;
        match list_and_apply(state, account, calendar, pages, seen).await {
            Ok(n) => return Ok(n),
            Err(CalendarFailure::Api(ApiError::Gone)) if !reset => {
                // The provider forgot our cursor: start a full round, swept when complete.
                tracing::info!(calendar = %calendar.name, "full resync requested by the provider");
                store::clear_cursor(&state.db, calendar)
                    .await
                    .map_err(CalendarFailure::Db)?;
                cursor = None;
                reset = true;
            }
            Err(CalendarFailure::Api(ApiError::Unauthorized)) => {
                match access
                    .after_unauthorized(state, account, &token, &mut refreshed)
                    .await
                {
                    Ok(_) => {}
                    Err(Outcome::Retry { error, .. }) => {
                        return Err(CalendarFailure::Api(ApiError::Transient(error)));
                    }
                    Err(_) => return Err(CalendarFailure::NeedsUser),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A provider's listing of one calendar, page by page.
enum Pages<'a> {
    Google(google::EventPages<'a>),
    Microsoft(microsoft::EventPages<'a>),
    Caldav(caldav::EventPages<'a>),
    Ics(ics::EventPages<'a>),
}

impl Pages<'_> {
    async fn next(&mut self) -> Result<Step, ApiError> {
        match self {
            Pages::Google(pages) => pages.next().await,
            Pages::Microsoft(pages) => pages.next().await,
            Pages::Caldav(pages) => pages.next().await,
            Pages::Ics(pages) => pages.next().await,
        }
    }
}

/// The base URL of an OAuth calendar provider's API, without a trailing slash.
fn calendar_api(state: &AppState, provider: Provider) -> Option<String> {
    let pc = provider.config(&state.config)?;
    Some(pc.api_url.as_str().trim_end_matches('/').to_owned())
}

/// The listing of a Google or Microsoft calendar, with an access token.
fn oauth_pages<'a>(
    state: &'a AppState,
    account: &Account,
    calendar: &'a CalendarRow,
    access: &'a str,
    cursor: Option<&'a str>,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> Result<Pages<'a>, CalendarFailure> {
    let provider = account.provider;
    let api = calendar_api(state, provider).ok_or(CalendarFailure::NeedsUser)?;
    let http = &state.http;
    let id = &calendar.provider_calendar_id;
    Ok(match provider {
        Provider::Google => Pages::Google(google::EventPages::new(
            http, &api, access, id, cursor, window,
        )),
        Provider::Microsoft if calendar.is_primary => Pages::Microsoft(
            microsoft::EventPages::delta(http, &api, access, cursor, window)
                .map_err(CalendarFailure::Api)?,
        ),
        Provider::Microsoft => Pages::Microsoft(
            microsoft::EventPages::view(http, &api, access, id, window)
                .map_err(CalendarFailure::Api)?,
        ),
        // No OAuth calendar API: `calendar_api` already refused them.
        Provider::Oidc | Provider::Caldav | Provider::Ics => {
            return Err(CalendarFailure::NeedsUser);
        }
    })
}

/// One listing, each page written as it arrives inside one transaction that commits with the
/// cursor at the end; any failure drops the transaction, so nothing of it is stored.
async fn list_and_apply(
    state: &AppState,
    account: &Account,
    calendar: &CalendarRow,
    mut pages: Pages<'_>,
    seen: &AtomicUsize,
) -> Result<usize, CalendarFailure> {
    let mut writer = store::Writer::begin(&state.db, calendar)
        .await
        .map_err(CalendarFailure::Db)?;
    // Pages are fetched and parsed while earlier ones are written: the writer sends a batch of
    // pages in a few statements, and would otherwise wait for the provider (and Docket parse)
    // every page of the next batch with PostgreSQL idle. At most PAGES_AHEAD pages wait, so
    // memory stays flat. Whichever side fails first ends both, and dropping the writer rolls
    // the listing back.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Change>>(PAGES_AHEAD);
    let fetch = async move {
        let mut reported = std::time::Instant::now();
        loop {
            match pages.next().await.map_err(CalendarFailure::Api)? {
                Step::Page { items, changes } => {
                    // The account's events so far, over the listings running at once.
                    let so_far = seen.fetch_add(items, Ordering::Relaxed) + items;
                    // At most one progress write a second: it is for people, not for accounting.
                    if reported.elapsed() >= PROGRESS_EVERY {
                        reported = std::time::Instant::now();
                        report_progress(&state.db, account.id, so_far);
                    }
                    if sender.send(changes).await.is_err() {
                        // Only once the writer failed, whose error `try_join!` returns first.
                        return Err(CalendarFailure::Api(ApiError::Transient(
                            "the listing's writer stopped".into(),
                        )));
                    }
                }
                Step::End(listing) => return Ok(listing),
            }
        }
    };
    let write = async {
        while let Some(changes) = receiver.recv().await {
            writer.page(changes).await.map_err(CalendarFailure::Db)?;
        }
        Ok(())
    };
    let (listing, ()) = tokio::try_join!(fetch, write)?;
    writer.finish(&listing).await.map_err(CalendarFailure::Db)
}

/// Pages a listing fetches ahead of its writer (Google's hold up to 250 events, Graph's 100).
const PAGES_AHEAD: usize = 16;

/// How often a running sync reports how many events it has seen.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Progress for the first sync's "events so far", written after every page; it also extends
/// the lease, but never revives one that `finish` has already released.
fn report_progress(db: &PgPool, account_id: Uuid, seen: usize) {
    let db = db.clone();
    let count = i32::try_from(seen).unwrap_or(i32::MAX);
    tokio::spawn(async move {
        let _ = sqlx::query!(
            "update sync_state set progress = $2, lease_until = now() + make_interval(secs => $3)
             where account_id = $1 and lease_until is not null",
            account_id,
            count,
            LEASE_SECS as f64,
        )
        .execute(&db)
        .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let interval = Duration::from_secs(300);
        assert!(backoff(0, interval, None) <= Duration::from_secs(15));
        assert!(backoff(20, interval, None) <= interval);
        assert!(backoff(20, interval, None) >= interval / 2);
        assert!(backoff(0, interval, Some(Duration::from_secs(120))) >= Duration::from_secs(120));
    }
}
