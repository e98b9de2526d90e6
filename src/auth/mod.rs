//! Sign-in with Google and Microsoft: authorization code flow with PKCE (S256), `state` bound to
//! the pre-sign-in session, OpenID Connect `nonce` and a validated ID token.

pub mod cookie_keys;
pub mod csrf;
pub mod next;
pub mod oidc;
pub mod provider;
pub mod session;
pub mod session_store;

use crate::kinds::AccountStatus;
use axum::{
    Router,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;
use tower_sessions::Session;

use crate::{
    AppState, accounts,
    http::{AppError, AppResult},
};
use provider::{Provider, TokenError};

/// What the callback must find in the session that started the sign-in.
#[derive(Serialize, Deserialize)]
struct PendingSignIn {
    provider: Provider,
    state: String,
    pkce_verifier: String,
    nonce: String,
    next: Option<String>,
}

const PENDING: &str = "pending_sign_in";

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/auth/{provider}/login", get(login))
        .route("/auth/{provider}/callback", get(callback))
        .route("/auth/logout", post(logout));
    crate::http::rate_limit::per_client(routes, &state.config, state.config.auth_rate_per_minute)
}

fn enabled_provider(state: &AppState, name: &str) -> AppResult<Provider> {
    let provider: Provider = name.parse().map_err(|_| AppError::NotFound)?;
    if provider.config(&state.config).enabled() {
        Ok(provider)
    } else {
        Err(AppError::NotFound)
    }
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Unavailable(format!("session store: {e}"))
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<LoginQuery>,
    session: Session,
) -> AppResult<Response> {
    let provider = enabled_provider(&state, &name)?;
    let request = provider::authorize(provider, &state.config)
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let pending = PendingSignIn {
        provider,
        state: request.state,
        pkce_verifier: request.pkce_verifier,
        nonce: request.nonce,
        next: query
            .next
            .as_deref()
            .and_then(next::local_path)
            .map(str::to_owned),
    };
    session
        .insert(PENDING, &pending)
        .await
        .map_err(session_error)?;
    Ok(Redirect::to(request.url.as_str()).into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

const START_AGAIN: &str = "Please start again from Docket's sign-in page.";

async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<CallbackQuery>,
    session: Session,
) -> AppResult<Response> {
    let provider = enabled_provider(&state, &name)?;
    // Taking the pending sign-in out of the session makes every callback single-use.
    let pending: Option<PendingSignIn> = session.remove(PENDING).await.map_err(session_error)?;
    let Some(pending) = pending else {
        return Err(AppError::BadRequest(format!(
            "This sign-in has expired or was started in another browser. {START_AGAIN}"
        )));
    };
    let state_ok = query
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    if !state_ok {
        return Err(AppError::BadRequest(format!(
            "This sign-in response does not belong to this browser's sign-in. {START_AGAIN}"
        )));
    }
    // Mix-up defence: the response must come back to the provider the flow started with.
    if pending.provider != provider {
        return Err(AppError::BadRequest(format!(
            "This sign-in was started with {} but answered by {}. {START_AGAIN}",
            pending.provider.label(),
            provider.label()
        )));
    }
    if let Some(error) = query.error {
        tracing::info!(%provider, %error, description = ?query.error_description, "provider returned an error");
        let message = if error == "access_denied" {
            format!(
                "Sign-in was cancelled at {}. Nothing was changed.",
                provider.label()
            )
        } else {
            format!(
                "{} could not sign you in ({error}). {START_AGAIN}",
                provider.label()
            )
        };
        return Err(AppError::BadRequest(message));
    }
    let Some(code) = query.code else {
        return Err(AppError::BadRequest(format!(
            "The sign-in response carried no code. {START_AGAIN}"
        )));
    };

    let tokens = provider::exchange_code(
        provider,
        &state.config,
        &state.http,
        code,
        pending.pkce_verifier,
    )
    .await
    .map_err(|e| match e {
        TokenError::GrantRevoked(code) => AppError::BadRequest(format!(
            "{} refused this sign-in ({code}). {START_AGAIN}",
            provider.label()
        )),
        TokenError::Transient(e) => {
            AppError::Unavailable(format!("{provider} token endpoint: {e}"))
        }
    })?;
    let id_token = tokens.id_token.as_deref().ok_or_else(|| {
        AppError::BadRequest(format!(
            "{} sent no identity. {START_AGAIN}",
            provider.label()
        ))
    })?;
    let identity = oidc::validate(
        provider,
        id_token,
        &pending.nonce,
        &state.config,
        &state.http,
        &state.jwks,
    )
    .await
    .map_err(|e| {
        tracing::warn!(%provider, error = %e, "ID token refused");
        match e {
            oidc::IdTokenError::Keys(e) => AppError::Unavailable(e),
            _ => AppError::BadRequest(format!(
                "Docket could not verify the identity {} sent. {START_AGAIN}",
                provider.label()
            )),
        }
    })?;

    let status = if provider.calendar_granted(&tokens.scope) {
        AccountStatus::Active
    } else {
        AccountStatus::NeedsPermission
    };
    let current_user = session::user_id(&session).await?;
    let mut tx = state.db.begin().await?;
    let account = accounts::sign_in_or_link(
        &mut tx,
        provider,
        &identity,
        status,
        &tokens.scope,
        current_user,
    )
    .await
    .map_err(|e| match e {
        accounts::LinkError::OwnedByAnotherUser => AppError::Conflict(format!(
            "The {} account {} is already connected to another Docket user, so it cannot be linked here.",
            provider.label(),
            identity.email
        )),
        accounts::LinkError::Db(e) => e.into(),
    })?;
    accounts::store_tokens(&mut *tx, &state.cipher, &account, &tokens).await?;
    tx.commit().await?;
    tracing::Span::current().record("user_id", tracing::field::display(account.user_id));
    tracing::info!(%provider, account_id = %account.id, linked = current_user.is_some(), "signed in");

    session::sign_in(&session, account.user_id).await?;
    // Sync right away after sign-in or reconnect.
    crate::sync::queue_user(&state.db, account.user_id).await?;
    state.sync_waker.wake();
    let target = match (current_user, pending.next) {
        (_, Some(next)) => next,
        (Some(_), None) => "/settings".to_owned(),
        (None, None) => "/".to_owned(),
    };
    Ok(Redirect::to(&target).into_response())
}

async fn logout(session: Session) -> AppResult<Response> {
    session::sign_out(&session).await?;
    Ok(Redirect::to("/").into_response())
}
