//! Sign-in with Google, Microsoft and any OpenID Connect provider: authorization code flow with
//! PKCE (S256), `state` bound to the pre-sign-in session, OpenID Connect `nonce` and a validated
//! ID token.

pub mod cookie_keys;
pub mod csrf;
pub mod discovery;
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
use uuid::Uuid;

use crate::{
    AppState, accounts,
    http::{AppError, AppResult},
};
use provider::{Endpoints, EndpointsError, Provider, TokenError};

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
    if provider.enabled(&state.config) {
        Ok(provider)
    } else {
        Err(AppError::NotFound)
    }
}

/// With `OIDC_ONLY`, only the OpenID Connect provider signs people in; Google and Microsoft
/// still link calendars to someone already signed in.
fn sign_in_allowed(
    state: &AppState,
    provider: Provider,
    current_user: Option<Uuid>,
) -> AppResult<()> {
    match &state.config.oidc {
        Some(oidc)
            if state.config.oidc_only && provider != Provider::Oidc && current_user.is_none() =>
        {
            Err(AppError::Forbidden(format!(
                "This Docket signs people in with {} only. Once signed in, you can connect a {} calendar in Settings.",
                oidc.name,
                provider.label()
            )))
        }
        _ => Ok(()),
    }
}

/// The provider's endpoints; the generic provider's discovery failing is its outage or its
/// misconfiguration, said plainly and logged with the details.
async fn endpoints(state: &AppState, provider: Provider) -> AppResult<Endpoints> {
    Endpoints::of(provider, &state.config, &state.http, &state.discovery)
        .await
        .map_err(|e| {
            tracing::warn!(%provider, error = %e, "provider endpoints unavailable");
            match e {
                EndpointsError::NotConfigured(_) => AppError::NotFound,
                EndpointsError::Discovery(_) => AppError::Unavailable(e.to_string()),
            }
        })
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
    sign_in_allowed(&state, provider, session::user_id(&session).await?)?;
    let endpoints = endpoints(&state, provider).await?;
    let request = provider::authorize(provider, &state.config, &endpoints)
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
    /// The issuer of the response (RFC 9207), sent by providers that support it.
    iss: Option<String>,
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
            pending.provider.name(&state.config),
            provider.name(&state.config)
        )));
    }
    // RFC 9207: a response naming another issuer than the one the sign-in went to is refused
    // before its code goes anywhere.
    if let (Provider::Oidc, Some(oidc), Some(iss)) = (provider, &state.config.oidc, &query.iss)
        && iss != &oidc.issuer
    {
        return Err(AppError::BadRequest(format!(
            "This sign-in response comes from another issuer than {}. {START_AGAIN}",
            oidc.name
        )));
    }
    if let Some(error) = query.error {
        tracing::info!(%provider, %error, description = ?query.error_description, "provider returned an error");
        let message = if error == "access_denied" {
            format!(
                "Sign-in was cancelled at {}. Nothing was changed.",
                provider.name(&state.config)
            )
        } else {
            format!(
                "{} could not sign you in ({error}). {START_AGAIN}",
                provider.name(&state.config)
            )
        };
        return Err(AppError::BadRequest(message));
    }
    let Some(code) = query.code else {
        return Err(AppError::BadRequest(format!(
            "The sign-in response carried no code. {START_AGAIN}"
        )));
    };

    let current_user = session::user_id(&session).await?;
    sign_in_allowed(&state, provider, current_user)?;
    let endpoints = endpoints(&state, provider).await?;
    let tokens = provider::exchange_code(
        provider,
        &state.config,
        &endpoints,
        &state.http,
        code,
        pending.pkce_verifier,
    )
    .await
    .map_err(|e| match e {
        TokenError::GrantRevoked(code) => AppError::BadRequest(format!(
            "{} refused this sign-in ({code}). {START_AGAIN}",
            provider.name(&state.config)
        )),
        TokenError::Transient(e) => {
            AppError::Unavailable(format!("{provider} token endpoint: {e}"))
        }
    })?;
    let id_token = tokens.id_token.as_deref().ok_or_else(|| {
        AppError::BadRequest(format!(
            "{} sent no identity. {START_AGAIN}",
            provider.name(&state.config)
        ))
    })?;
    let identity = oidc::validate(
        provider,
        id_token,
        &pending.nonce,
        &state.config,
        &state.http,
        &state.jwks,
        &state.discovery,
    )
    .await
    .map_err(|e| identity_error(provider.name(&state.config), e))?;
    let identity = match provider {
        Provider::Oidc => oidc::complete(
            identity,
            &tokens.access_token,
            &state.config,
            &state.http,
            &state.discovery,
        )
        .await
        .map_err(|e| identity_error(provider.name(&state.config), e))?,
        // `validate` refused CalDAV and ICS: they never sign in.
        Provider::Google | Provider::Microsoft | Provider::Caldav | Provider::Ics => identity,
    };

    let status = if provider.signs_in_only() {
        AccountStatus::SignInOnly
    } else if provider.calendar_granted(&tokens.scope) {
        AccountStatus::Active
    } else {
        AccountStatus::NeedsPermission
    };
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
            provider.name(&state.config),
            identity.email
        )),
        accounts::LinkError::Db(e) => e.into(),
    })?;
    // A sign-in-only identity's tokens would never be used: Docket does not keep them.
    if !provider.signs_in_only() {
        accounts::store_tokens(&mut *tx, &state.cipher, &account, &tokens).await?;
    }
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

/// A refused identity is the provider's or the token's fault (400, saying why); a provider that
/// cannot be reached is an outage (503).
fn identity_error(provider: &str, e: oidc::IdTokenError) -> AppError {
    tracing::warn!(%provider, error = %e, "identity refused");
    match e {
        oidc::IdTokenError::Keys(e) | oidc::IdTokenError::UserInfo(e) => AppError::Unavailable(e),
        oidc::IdTokenError::Invalid(reason) => AppError::BadRequest(format!(
            "Docket could not verify the identity {} sent: {reason}. {START_AGAIN}",
            provider
        )),
        oidc::IdTokenError::Missing => {
            AppError::BadRequest(format!("{} sent no identity. {START_AGAIN}", provider))
        }
    }
}

async fn logout(session: Session) -> AppResult<Response> {
    session::sign_out(&session).await?;
    Ok(Redirect::to("/").into_response())
}
