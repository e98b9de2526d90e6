//! Settings: connected accounts (connect, reconnect, disconnect).

use crate::kinds::AccountStatus;
use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use uuid::Uuid;

use crate::{
    AppState,
    accounts::{self, Account},
    auth::{provider::Provider, session::SignedIn},
    calendar::store::{self, CalendarRow},
    http::{AppError, AppResult, layout::Layout},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/accounts/{id}/disconnect", post(disconnect))
        .route("/settings/calendars", post(choose_calendars))
        .route("/settings/time-zone", post(set_time_zone))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    accounts: Vec<Account>,
    providers: Vec<Provider>,
    calendars: Vec<CalendarRow>,
    time_zone: String,
    zones: Vec<&'static str>,
}

impl SettingsPage {
    fn is_zone(&self, zone: &str) -> bool {
        zone == self.time_zone
    }

    fn status_label(account: &Account) -> &'static str {
        match account.status {
            AccountStatus::Active => "Syncing",
            AccountStatus::NeedsReconnect => "Needs reconnect",
            AccountStatus::NeedsPermission => "Calendar access not granted",
            AccountStatus::Disconnected => "Disconnected",
        }
    }
}

async fn show(State(state): State<AppState>, user: SignedIn) -> AppResult<Html<String>> {
    let page = SettingsPage {
        layout: Layout::for_user(&user, "Settings", "settings"),
        accounts: accounts::for_user(&state.db, user.id).await?,
        providers: Provider::ALL
            .iter()
            .copied()
            .filter(|p| p.config(&state.config).enabled())
            .collect(),
        calendars: store::for_user(&state.db, user.id).await?,
        time_zone: user.time_zone.clone(),
        zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
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
