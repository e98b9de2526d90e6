//! Errors of the API as problem details (RFC 9457): `application/problem+json` with `type`,
//! `title`, `status` and `detail`, on every error path — handlers, extractors, unknown paths,
//! methods a path does not take, and the layers around every route (see
//! `http::friendly_errors`). Internals are logged once and never shown.

use axum::{
    extract::rejection::{JsonRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppError;

/// The media type of every error the API answers with.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem detail (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// What kind of problem: `about:blank` (the status says it all) or a `urn:docket:problem:…`
    /// naming one this API defines.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status code's reason phrase, or a short summary of the problem type.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, in words for a person.
    pub detail: String,
    /// A version conflict (409 on saving a note): the text the request sent, and the version
    /// it was based on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub your_version: Option<NoteVersion>,
    /// A version conflict (409 on saving a note): the note as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<NoteVersion>,
}

/// One version of a note's text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteVersion {
    pub body: String,
    pub version: i32,
}

/// An error of the API. Every variant becomes a [`Problem`] with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or one that is malformed, unknown or revoked: never which.
    #[error("unauthorized")]
    Unauthorized,
    /// A read-only token on a request that changes something.
    #[error("read-only token")]
    ReadOnly,
    /// Unknown, or another user's: never which.
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// A note saved on top of a version that is no longer current.
    #[error("version conflict")]
    VersionConflict {
        yours: NoteVersion,
        current: NoteVersion,
    },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// Another status with its message, as an extractor rejected the request (413, 415, …).
    #[error("{0}: {1}")]
    Status(StatusCode, String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The pages' errors mean the same here; their messages name query fields the API shares.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::NotFound => ApiError::NotFound,
            AppError::BadRequest(detail) => ApiError::BadRequest(detail),
            AppError::Forbidden(detail) => ApiError::Status(StatusCode::FORBIDDEN, detail),
            AppError::Conflict(detail) => ApiError::Conflict(detail),
            AppError::TooLarge(detail) => ApiError::Status(StatusCode::PAYLOAD_TOO_LARGE, detail),
            AppError::TooManyRequests { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            AppError::Unavailable(cause) => ApiError::Unavailable(cause),
            AppError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        AppError::from(e).into()
    }
}

/// A body that is not JSON (400), JSON of the wrong shape (422), no JSON content type (415), or
/// too large (413): axum's status, its message.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::Status(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::BadRequest(rejection.body_text())
    }
}

/// What a status means when nothing more specific is known (the layers' bare errors).
fn default_detail(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => {
            "Send a valid API token: `Authorization: Bearer dkt_…` (Settings → API tokens)."
        }
        StatusCode::NOT_FOUND => "There is nothing here, or it belongs to someone else.",
        StatusCode::METHOD_NOT_ALLOWED => "This address does not take that method (see Allow).",
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is larger than Docket accepts (1 MiB).",
        StatusCode::TOO_MANY_REQUESTS => {
            "Too many requests with this token; wait Retry-After seconds."
        }
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
            "Docket could not answer in time. Nothing was lost; try again in a moment."
        }
        s if s.is_client_error() => "Something is wrong with this request.",
        _ => "Docket hit an unexpected problem. It has been logged.",
    }
}

/// A problem response with `status` and `detail`, of the generic type.
pub fn response(status: StatusCode, detail: &str) -> Response {
    Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: detail.into(),
        your_version: None,
        current: None,
    }
    .with_status(status)
}

/// The problem for a status that came with no explanation (an unknown path, a method the path
/// does not take, the body limit, the timeout).
pub fn bare(status: StatusCode) -> Response {
    response(status, default_detail(status))
}

impl Problem {
    fn with_status(self, status: StatusCode) -> Response {
        let mut response = (status, axum::Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized => {
                let mut response = bare(StatusCode::UNAUTHORIZED);
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            ApiError::ReadOnly => Problem {
                kind: "urn:docket:problem:read-only-token".into(),
                title: "Read-only token".into(),
                status: 403,
                detail: "This token may only read. Make a read-write token in Settings → API \
                         tokens to change notes and action items."
                    .into(),
                your_version: None,
                current: None,
            }
            .with_status(StatusCode::FORBIDDEN),
            ApiError::NotFound => bare(StatusCode::NOT_FOUND),
            ApiError::BadRequest(detail) => response(StatusCode::BAD_REQUEST, &detail),
            ApiError::Unprocessable(detail) => response(StatusCode::UNPROCESSABLE_ENTITY, &detail),
            ApiError::VersionConflict { yours, current } => Problem {
                kind: "urn:docket:problem:version-conflict".into(),
                title: "Version conflict".into(),
                status: 409,
                detail: format!(
                    "The note changed since version {}: it is at version {} now. Merge your \
                     text with the current one and save again with base_version {}.",
                    yours.version, current.version, current.version
                ),
                your_version: Some(yours),
                current: Some(current),
            }
            .with_status(StatusCode::CONFLICT),
            ApiError::Conflict(detail) => response(StatusCode::CONFLICT, &detail),
            ApiError::TooManyRequests { retry_after_secs } => {
                let mut response = bare(StatusCode::TOO_MANY_REQUESTS);
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
                response
            }
            ApiError::Status(status, detail) => response(status, &detail),
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "service unavailable");
                let mut response = bare(StatusCode::SERVICE_UNAVAILABLE);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                response
            }
            ApiError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                bare(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
