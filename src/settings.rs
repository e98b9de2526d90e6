//! Settings: connected accounts (connect, reconnect, disconnect).

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
    http::{AppError, AppResult, layout::Layout},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/accounts/{id}/disconnect", post(disconnect))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    accounts: Vec<Account>,
    providers: Vec<Provider>,
}

impl SettingsPage {
    fn status_label(account: &Account) -> &'static str {
        match account.status.as_str() {
            "active" => "Syncing",
            "needs_reconnect" => "Needs reconnect",
            "needs_permission" => "Calendar access not granted",
            "disconnected" => "Disconnected",
            _ => "Unknown",
        }
    }
}

async fn show(State(state): State<AppState>, user: SignedIn) -> AppResult<Html<String>> {
    let page = SettingsPage {
        layout: Layout::for_user(&state, &user, "Settings", "settings").await?,
        accounts: accounts::for_user(&state.db, user.id).await?,
        providers: Provider::ALL
            .into_iter()
            .filter(|p| p.config(&state.config).enabled())
            .collect(),
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
