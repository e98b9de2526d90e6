//! The JSON API under `/api/v1`: meetings and their notes, action items, people, organizations,
//! decisions and search — the pages' data, read through the pages' own queries — for scripts
//! and other programs, with personal access tokens ([`tokens`]).
//!
//! Served outside the session and CSRF layers: a request carries `Authorization: Bearer dkt_…`
//! and nothing else counts (a browser's session cookie opens nothing here, so no other site can
//! make a browser call the API). Each request is scoped by the token's user, so another user's
//! id is not found, exactly as on the pages. Errors are problem details ([`problem`]); lists
//! page by an opaque cursor; each token is limited to `DOCKET_API_RATE_PER_MINUTE` requests a
//! minute. [`openapi`] describes all of it, generated from these handlers and types.

pub mod action_items;
pub mod decisions;
pub mod meetings;
pub mod openapi;
pub mod people;
pub mod problem;
pub mod search;
pub mod tokens;

use std::sync::Arc;

use axum::{
    Extension, Router,
    extract::{FromRequest, FromRequestParts, Path},
    http::{HeaderMap, header, request::Parts},
    routing::{get, patch},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::{
    AppState,
    http::{AppResult, params, rate_limit::PerKey},
    kinds::TokenScope,
};
use problem::{ApiError, ApiResult};

/// Where the API lives: every path under it answers problem details, never an HTML page.
pub const PATH_PREFIX: &str = "/api/";

/// Whether `path` belongs to the API.
pub fn owns(path: &str) -> bool {
    path.starts_with(PATH_PREFIX)
}

/// The API's routes, to be merged outside the session and CSRF layers.
pub fn router(state: &AppState) -> Router<AppState> {
    let per_token = Arc::new(PerKey::per_minute(state.config.api_rate_per_minute));
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/meetings", get(meetings::list))
        .route("/api/v1/meetings/{id}", get(meetings::detail))
        .route(
            "/api/v1/meetings/{id}/note",
            get(meetings::note).put(meetings::save_note),
        )
        .route("/api/v1/action-items", get(action_items::list))
        .route("/api/v1/action-items/{id}", patch(action_items::edit))
        .route("/api/v1/people", get(people::list))
        .route("/api/v1/organizations", get(people::organizations))
        .route("/api/v1/decisions", get(decisions::list))
        .route("/api/v1/search", get(search::search))
        .layer(Extension(per_token))
}

/// The user a request's token acts for. Rejects a missing, malformed, unknown or revoked token
/// with 401 (never saying which), and a token over its rate limit with 429.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub id: Uuid,
    pub token_id: Uuid,
    pub scope: TokenScope,
    pub time_zone: String,
}

/// The secret of `Authorization: Bearer <secret>` (the scheme in any case, RFC 9110 11.1).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim_start_matches(' '))
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<ApiUser> {
        let hash = bearer(&parts.headers)
            .and_then(tokens::parse_secret)
            .ok_or(ApiError::Unauthorized)?;
        let holder = tokens::authenticate(&state.db, &hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        tracing::Span::current().record("user_id", tracing::field::display(holder.user_id));
        let per_token = parts.extensions.get::<Arc<PerKey>>().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("the API's rate limiter is missing"))
        })?;
        per_token
            .check(&holder.token_id)
            .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
        Ok(ApiUser {
            id: holder.user_id,
            token_id: holder.token_id,
            scope: holder.scope,
            time_zone: holder.time_zone,
        })
    }
}

/// The user of a request that changes something: a read-only token is refused with 403 before
/// the body is read.
#[derive(Debug, Clone)]
pub struct ApiWriter(pub ApiUser);

impl FromRequestParts<AppState> for ApiWriter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<ApiWriter> {
        let user = ApiUser::from_request_parts(parts, state).await?;
        match user.scope {
            TokenScope::ReadWrite => Ok(ApiWriter(user)),
            TokenScope::Read => Err(ApiError::ReadOnly),
        }
    }
}

/// A JSON request body; what does not parse is a problem (400, 422, 415 or 413), not text.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

/// A query string; unknown parameters are ignored, a malformed string is a 400 problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct QueryParams<T>(pub T);

/// The id in the path. A malformed id is not found, exactly like another user's.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<IdPath> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        params::id(&raw).map(IdPath).map_err(|_| ApiError::NotFound)
    }
}

/// Rows per page when `limit` is not given, and the most a page holds.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// The `limit` parameter: 1 to [`MAX_LIMIT`].
pub fn limit(raw: &Option<String>) -> ApiResult<i64> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, not {s:?}."
                ))
            }),
    }
}

/// A cursor as the API hands it out: the pages' own keyset position (`after=`), opaque.
fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

/// The keyset position of a `cursor` parameter, read by the list's own parser; anything that is
/// not a cursor this API gave out is a 400.
pub fn cursor<T>(
    raw: &Option<String>,
    parse: impl FnOnce(&Option<String>) -> AppResult<Option<T>>,
) -> ApiResult<Option<T>> {
    let Some(raw) = raw.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let malformed = || {
        ApiError::BadRequest(
            "cursor is not one this API gave out: pass a next_cursor back as it came, or leave \
             it out for the first page."
                .into(),
        )
    };
    let position = URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(malformed)?;
    parse(&Some(position))
        .map_err(|_| malformed())?
        .map(Some)
        .ok_or_else(malformed)
}

/// A page read with one row more than it shows: the rows shown and, when more follow, the
/// cursor of the last one shown (`position` writes its keyset position, as a page link would).
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let next = params::next_cursor(&mut rows, limit, position);
    (rows, next.as_deref().map(encode_cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case_and_nothing_else_is() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert_eq!(bearer(&with("Bearer dkt_x")), Some("dkt_x"));
        assert_eq!(bearer(&with("bearer dkt_x")), Some("dkt_x"));
        assert_eq!(bearer(&with("Basic ZGt0X3g6")), None);
        assert_eq!(bearer(&with("Bearer")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn limits_are_bounded_and_cursors_round_trip() {
        assert_eq!(limit(&None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(&Some("100".into())).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", "1e2"] {
            assert!(limit(&Some(bad.into())).is_err(), "{bad}");
        }
        let id = Uuid::new_v4();
        let position = params::cursor("Ada ~ Lovelace", id);
        let (rows, next) = paginate(vec![1, 2, 3], 2, |_| position.clone());
        assert_eq!(rows, [1, 2]);
        let parsed = cursor(&next, params::after_text).unwrap();
        assert_eq!(parsed, Some(("Ada ~ Lovelace".to_owned(), id)));
        assert_eq!(paginate(vec![1, 2], 2, |_| position.clone()).1, None);
        for bad in ["%%%", "bm90IGEgY3Vyc29y", "~"] {
            assert!(
                cursor(&Some(bad.into()), params::after_text).is_err(),
                "{bad}"
            );
        }
        assert_eq!(cursor(&None, params::after_text).unwrap(), None);
    }
}
