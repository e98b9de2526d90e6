//! Personal access tokens: made, listed and revoked in Settings → API tokens, sent to the API as
//! `Authorization: Bearer dkt_…`.
//!
//! A token's secret is `dkt_` (so that secret scanners and people recognise it) and 256 random
//! bits in base64url. It is shown once, right after it is made (through the session, on the
//! Settings page, like the calendar feed's address); only its SHA-256 is stored, and a request
//! finds its token by that hash through a unique index (see `crypto`). Revoking deletes the
//! row: the secret answers 401 from the next request on, on every instance.

use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::{self, SignedIn, session_error},
    crypto::{self, BearerHash},
    http::{AppError, AppResult, params},
    kinds::TokenScope,
    time,
};

/// What every secret starts with.
pub const SECRET_PREFIX: &str = "dkt_";

/// A user keeps at most this many tokens: the Settings list stays short, and each is one more
/// credential to look after.
const MAX_TOKENS_PER_USER: i64 = 50;

/// Longest token name, in characters (the column allows the same).
const MAX_NAME_CHARS: usize = 100;

/// `last_used_at` is kept to within this many seconds: a token in steady use writes it once a
/// minute, not on every request.
const LAST_USED_PRECISION_SECS: f64 = 60.0;

/// The Settings actions, served inside the session and the CSRF check like every page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/api-tokens", post(create))
        .route("/settings/api-tokens/{id}/revoke", post(revoke))
}

/// A token as Settings lists it (its secret is not known after it was shown).
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub fn scope_label(&self) -> &'static str {
        match self.scope {
            TokenScope::Read => "Read only",
            TokenScope::ReadWrite => "Read and write",
        }
    }

    pub fn created_label(&self) -> String {
        time::long_day(self.created_at.date_naive())
    }

    pub fn last_used_label(&self) -> String {
        match self.last_used_at {
            Some(at) => time::relative(at, Utc::now()),
            None => "never".to_owned(),
        }
    }
}

/// The user's tokens, oldest first.
pub async fn for_user(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as!(
        TokenRow,
        r#"select id, name, scope as "scope: TokenScope", created_at, last_used_at
           from api_tokens where user_id = $1 order by created_at, id limit $2"#,
        user_id,
        MAX_TOKENS_PER_USER,
    )
    .fetch_all(db)
    .await
}

/// The hash to look up for a secret as sent, or `None` when it cannot be one Docket made.
pub fn parse_secret(secret: &str) -> Option<BearerHash> {
    crypto::parse_bearer(secret.strip_prefix(SECRET_PREFIX)?)
}

/// Who a token acts for, and what it may do.
#[derive(Debug, Clone)]
pub struct Holder {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub scope: TokenScope,
    /// The user's zone: "today", due dates and the days of date filters are theirs.
    pub time_zone: String,
}

/// The token with `hash`, if it exists, noting that it was used: one statement, which writes
/// only when the last use it recorded is more than a minute old.
pub async fn authenticate(db: &sqlx::PgPool, hash: &BearerHash) -> sqlx::Result<Option<Holder>> {
    // A data-modifying WITH runs whether or not the query reads it; it touches no row (and so
    // writes nothing) while the recorded use is recent.
    sqlx::query_as!(
        Holder,
        r#"with token as (
               select t.id, t.user_id, t.scope, t.last_used_at, u.time_zone
               from api_tokens t join users u on u.id = t.user_id
               where t.token_hash = $1),
           touched as (
               update api_tokens a set last_used_at = now()
               from token
               where a.id = token.id
                 and (token.last_used_at is null
                      or token.last_used_at < now() - make_interval(secs => $2)))
           select id as "token_id!", user_id as "user_id!", scope as "scope!: TokenScope",
                  time_zone as "time_zone!"
           from token"#,
        &hash[..],
        LAST_USED_PRECISION_SECS,
    )
    .fetch_optional(db)
    .await
}

/// The session key of a secret just made, shown once by the Settings page.
const NEW_SECRET: &str = "new_api_token";

/// The secret made by the last request of this session, if any, removed from the session: the
/// page that shows it is the only one that ever will.
pub async fn take_new_secret(session: &Session) -> AppResult<Option<String>> {
    session::take_once(session, NEW_SECRET).await
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

/// Makes a token and leaves its secret in the session for the Settings page to show once.
async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<CreateForm>,
) -> AppResult<Response> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::BadRequest(format!(
            "Give the token a name of 1 to {MAX_NAME_CHARS} characters, saying what uses it."
        )));
    }
    let scope: TokenScope = form.scope.parse().map_err(|_| {
        AppError::BadRequest("Choose what the token may do: read only, or read and write.".into())
    })?;
    let (secret, hash) = crypto::new_bearer();
    let made = sqlx::query_scalar!(
        "insert into api_tokens (id, user_id, name, scope, token_hash)
         select $1, $2, $3, $4, $5
         where (select count(*) from api_tokens where user_id = $2) < $6
         returning id",
        Uuid::new_v4(),
        user.id,
        name,
        scope as TokenScope,
        &hash[..],
        MAX_TOKENS_PER_USER,
    )
    .fetch_optional(&state.db)
    .await?;
    let Some(id) = made else {
        return Err(AppError::BadRequest(format!(
            "You have {MAX_TOKENS_PER_USER} API tokens already: revoke one you no longer use first."
        )));
    };
    user.session
        .insert(NEW_SECRET, format!("{SECRET_PREFIX}{secret}"))
        .await
        .map_err(session_error)?;
    tracing::info!(token_id = %id, %scope, "API token made");
    Ok(Redirect::to("/settings#api-tokens").into_response())
}

/// Deletes one of the user's tokens: it answers 401 from now on. Another user's token id is
/// not found.
async fn revoke(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let revoked = sqlx::query!(
        "delete from api_tokens where id = $1 and user_id = $2",
        id,
        user.id
    )
    .execute(&state.db)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(token_id = %id, "API token revoked");
    Ok(Redirect::to("/settings#api-tokens").into_response())
}
