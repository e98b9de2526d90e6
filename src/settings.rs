//! Settings: connected accounts (connect, reconnect, disconnect; the CalDAV and subscription
//! forms' actions live in `calendar::connect`), calendars, time zone, the
//! calendar feed (its actions live in `feed`), API tokens (their actions live in
//! `api::tokens`), importing notes (in `import`), and deleting the account.

use crate::kinds::AccountStatus;
use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use uuid::Uuid;

use crate::{
    AppState,
    accounts::{self, Account},
    api::tokens::{self as api_tokens, TokenRow},
    auth::{
        provider::Provider,
        session::{self, SignedIn},
    },
    calendar::store::{self, CalendarRow},
    feed::{self, FeedStatus},
    http::{AppError, AppResult, layout::Layout},
    import::{self, archive::Limits, pages::ImportSummary},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/accounts/{id}/disconnect", post(disconnect))
        .route("/settings/calendars", post(choose_calendars))
        .route("/settings/time-zone", post(set_time_zone))
        .route("/settings/delete-account", post(delete_account))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    accounts: Vec<Account>,
    /// What each provider is called here (the OpenID Connect provider's name is configured).
    provider_names: Vec<(Provider, String)>,
    providers: Vec<Provider>,
    calendars: Vec<CalendarRow>,
    time_zone: String,
    zones: Vec<&'static str>,
    /// The calendar feed, if the user made one.
    feed: Option<FeedStatus>,
    /// The feed URL just made: shown on this page view only (only its hash is stored).
    new_feed_url: Option<String>,
    feed_name: &'static str,
    /// The user's API tokens.
    api_tokens: Vec<TokenRow>,
    /// The secret of the token just made: shown on this page view only (only its hash is
    /// stored).
    new_api_token: Option<String>,
    /// What the user types to confirm deleting their account.
    deletion_phrase: String,
    /// Why the last deletion attempt was refused.
    deletion_error: Option<String>,
    /// The latest imports, newest first.
    imports: Vec<ImportSummary>,
    /// Why the last upload was not imported.
    import_error: Option<String>,
    /// The largest archive the upload takes, and the largest note in it.
    import_max: String,
    note_max: String,
    /// Why the last "Add a CalDAV calendar" or "Subscribe to a calendar URL" was refused.
    caldav_error: Option<String>,
    ics_error: Option<String>,
}

/// Why a form of the settings page was refused, shown next to it.
pub enum Problem {
    Deletion(String),
    Import(String),
    Caldav(String),
    Ics(String),
}

impl SettingsPage {
    fn is_zone(&self, zone: &str) -> bool {
        zone == self.time_zone
    }

    fn provider_name(&self, provider: &Provider) -> &str {
        self.provider_names
            .iter()
            .find(|(p, _)| p == provider)
            .map_or(provider.label(), |(_, name)| name.as_str())
    }

    /// Whether any account brings a calendar (a sign-in-only identity does not).
    fn has_calendar_account(&self) -> bool {
        self.accounts.iter().any(|a| !a.provider.signs_in_only())
    }

    fn status_label(account: &Account) -> &'static str {
        match account.status {
            AccountStatus::Active => "Syncing",
            AccountStatus::NeedsReconnect => "Needs reconnect",
            AccountStatus::NeedsPermission => "Calendar access not granted",
            AccountStatus::Disconnected => "Disconnected",
            AccountStatus::SignInOnly => "Signs you in (no calendar)",
        }
    }
}

async fn show(State(state): State<AppState>, user: SignedIn) -> AppResult<Html<String>> {
    render(&state, &user, None).await
}

/// The settings page, with the problem of a refused form if there is one.
pub async fn render(
    state: &AppState,
    user: &SignedIn,
    problem: Option<Problem>,
) -> AppResult<Html<String>> {
    let (mut deletion_error, mut import_error, mut caldav_error, mut ics_error) =
        (None, None, None, None);
    match problem {
        Some(Problem::Deletion(message)) => deletion_error = Some(message),
        Some(Problem::Import(message)) => import_error = Some(message),
        Some(Problem::Caldav(message)) => caldav_error = Some(message),
        Some(Problem::Ics(message)) => ics_error = Some(message),
        None => {}
    }
    let page = SettingsPage {
        layout: Layout::for_user(user, "Settings", "settings"),
        accounts: accounts::for_user(&state.db, user.id).await?,
        provider_names: Provider::ALL
            .iter()
            .map(|p| (*p, p.name(&state.config).to_owned()))
            .collect(),
        providers: Provider::ALL
            .iter()
            .copied()
            // Only a calendar is worth connecting here, and CalDAV and ICS have forms of their own.
            .filter(|p| p.is_oauth_calendar() && p.enabled(&state.config))
            .collect(),
        calendars: store::for_user(&state.db, user.id).await?,
        time_zone: user.time_zone.clone(),
        zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
        feed: feed::status(&state.db, user.id).await?,
        new_feed_url: feed::take_new_url(&user.session).await?,
        feed_name: feed::CALENDAR_NAME,
        api_tokens: api_tokens::for_user(&state.db, user.id).await?,
        new_api_token: api_tokens::take_new_secret(&user.session).await?,
        deletion_phrase: deletion_phrase(&user.email).to_owned(),
        deletion_error,
        imports: import::pages::recent(&state.db, user.id).await?,
        import_error,
        import_max: import::pages::size_label(state.config.import_max_bytes as u64),
        note_max: import::pages::size_label(Limits::DEFAULT.max_note_bytes),
        caldav_error,
        ics_error,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

async fn disconnect(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    // Scoped to the signed-in user: another user's account id is simply not found.
    let account = accounts::get(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    accounts::disconnect(
        &state.db,
        &state.config,
        &state.http,
        &state.cipher,
        &account,
    )
    .await?;
    tracing::info!(account_id = %account.id, "account disconnected");
    Ok(Redirect::to("/settings").into_response())
}

/// The calendars to sync: every checked box of the form, by calendar id. Only the user's own
/// readable calendars can be selected; anything else in the form is ignored.
async fn choose_calendars(
    State(state): State<AppState>,
    user: SignedIn,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let chosen: Vec<Uuid> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "calendar")
        .filter_map(|(_, v)| Uuid::parse_str(&v).ok())
        .collect();
    sqlx::query!(
        "update calendars set selected = (id = any($2)) and access_role <> 'freeBusyReader'
         where user_id = $1",
        user.id,
        &chosen
    )
    .execute(&state.db)
    .await?;
    // Newly chosen calendars sync right away.
    crate::sync::queue_user(&state.db, user.id).await?;
    state.sync_waker.wake();
    Ok(Redirect::to("/settings").into_response())
}

#[derive(serde::Deserialize)]
struct TimeZoneForm {
    time_zone: String,
}

async fn set_time_zone(
    State(state): State<AppState>,
    user: SignedIn,
    axum::Form(form): axum::Form<TimeZoneForm>,
) -> AppResult<Response> {
    let zone: chrono_tz::Tz = form.time_zone.parse().map_err(|_| {
        AppError::BadRequest(format!(
            "{:?} is not a time zone Docket knows.",
            form.time_zone
        ))
    })?;
    sqlx::query!(
        "update users set time_zone = $2, time_zone_chosen = true where id = $1",
        user.id,
        zone.name()
    )
    .execute(&state.db)
    .await?;
    Ok(Redirect::to("/settings").into_response())
}

/// The user confirms a deletion by typing their e-mail address, or this phrase when the
/// provider gave none (Microsoft may not).
const DELETION_PHRASE_WITHOUT_EMAIL: &str = "delete my account";

/// Shown on the sign-in page once the account is gone.
pub const ACCOUNT_DELETED: &str = "Your account and all its data were deleted.";

fn deletion_phrase(email: &str) -> &str {
    if email.trim().is_empty() {
        DELETION_PHRASE_WITHOUT_EMAIL
    } else {
        email.trim()
    }
}

/// Whether `typed` confirms: the phrase, ignoring case and surrounding spaces.
fn confirms(phrase: &str, typed: &str) -> bool {
    let typed = typed.trim();
    !typed.is_empty() && typed.to_lowercase() == phrase.to_lowercase()
}

#[derive(serde::Deserialize)]
struct DeleteAccountForm {
    #[serde(default)]
    email: String,
}

/// Deletes the signed-in user and everything they own (see `accounts::delete_user`), signs
/// this browser out and lands on the sign-in page with a notice. A confirmation that does not
/// match shows the form again with a 422 and deletes nothing.
async fn delete_account(
    State(state): State<AppState>,
    user: SignedIn,
    axum::Form(form): axum::Form<DeleteAccountForm>,
) -> AppResult<Response> {
    let phrase = deletion_phrase(&user.email);
    if !confirms(phrase, &form.email) {
        let message = if form.email.trim().is_empty() {
            format!("Type {phrase} to confirm. Nothing was deleted.")
        } else {
            format!("That is not {phrase}. Nothing was deleted.")
        };
        let page = render(&state, &user, Some(Problem::Deletion(message))).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let deletion = accounts::delete_user(
        &state.db,
        &state.config,
        &state.http,
        &state.cipher,
        user.id,
        state.config.request_timeout,
    )
    .await?;
    match deletion {
        Some(d) => tracing::info!(
            revoked = d.revoked,
            forgotten = d.forgotten,
            "account deleted"
        ),
        // A second submit that waited for the first: the outcome is the same.
        None => tracing::info!("account already deleted"),
    }
    session::end_with_notice(&user.session, ACCOUNT_DELETED).await?;
    Ok(Redirect::to("/").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_is_the_email_ignoring_case_and_spaces() {
        let phrase = deletion_phrase("Ada@Northwind.example");
        assert!(confirms(phrase, " ada@northwind.example "));
        assert!(!confirms(phrase, "ada@northwind.exampl"));
        assert!(!confirms(phrase, "alan@bletchley.example"));
        assert!(!confirms(phrase, "   "));
    }

    #[test]
    fn without_an_email_the_confirmation_is_a_phrase_never_an_empty_field() {
        let phrase = deletion_phrase("  ");
        assert_eq!(phrase, "delete my account");
        assert!(!confirms(phrase, ""));
        assert!(confirms(phrase, "Delete my account"));
    }
}
