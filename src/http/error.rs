//! One error type for the web layer, rendered as a friendly HTML page with the right status.
//! Internals are logged once, inside the request span, and never shown to the user.

use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::http::layout::Layout;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A body over a route's limit, with a message naming the limit.
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            // The database is down or saturated: say so quickly rather than stall or 500.
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                AppError::Unavailable(e.to_string())
            }
            // 57xxx: query canceled (statement timeout), admin or crash shutdown, cannot
            // connect now; 08xxx: connection exceptions. All mean "try again shortly".
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57") || c.starts_with("08")) =>
            {
                AppError::Unavailable(format!("database: {}", db.message()))
            }
            // 22xxx: data exceptions, a value from the request that PostgreSQL cannot take (a NUL
            // character in a text, a date out of its range): the request's fault, not Docket's.
            sqlx::Error::Database(ref db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                tracing::info!(code = ?db.code(), message = db.message(), "refused a value");
                AppError::BadRequest(
                    "Something you sent cannot be stored or searched as it is: a NUL character, \
                     or a date or number out of range."
                        .into(),
                )
            }
            other => AppError::Internal(other.into()),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
}

/// The page shown for an error status; the text never includes internals.
pub fn error_page(status: StatusCode, message: Option<&str>) -> Response {
    let (heading, default_message) = match status {
        StatusCode::NOT_FOUND => (
            "Page not found",
            "There is nothing here. It may have been moved, or it belongs to someone else.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "Method not allowed",
            "This address does not accept that kind of request.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too large",
            "What you sent is larger than Docket accepts. Shorten it and try again.",
        ),
        StatusCode::FORBIDDEN => (
            "Not allowed",
            "This request was refused. Reload the page and try again.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Slow down",
            "Too many requests from your address. Wait a moment and try again.",
        ),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => (
            "Temporarily unavailable",
            "Docket could not answer in time. Nothing you saved is lost; try again in a moment.",
        ),
        s if s.is_client_error() => (
            "Something is wrong with this request",
            "Check what you entered and try again.",
        ),
        _ => (
            "Something went wrong",
            "Docket hit an unexpected problem. It has been logged; nothing you saved is lost.",
        ),
    };
    let page = ErrorPage {
        layout: Layout::bare(heading),
        heading,
        message: message.unwrap_or(default_message),
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("<!doctype html><title>{heading}</title><h1>{heading}</h1>"));
    (status, Html(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => error_page(StatusCode::NOT_FOUND, None),
            AppError::BadRequest(msg) => error_page(StatusCode::BAD_REQUEST, Some(&msg)),
            AppError::Forbidden(msg) => error_page(StatusCode::FORBIDDEN, Some(&msg)),
            AppError::Conflict(msg) => error_page(StatusCode::CONFLICT, Some(&msg)),
            AppError::TooLarge(msg) => error_page(StatusCode::PAYLOAD_TOO_LARGE, Some(&msg)),
            AppError::TooManyRequests { retry_after_secs } => {
                let mut response = error_page(StatusCode::TOO_MANY_REQUESTS, None);
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
                response
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(%cause, "service unavailable");
                let mut response = error_page(StatusCode::SERVICE_UNAVAILABLE, None);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                response
            }
            AppError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                error_page(StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        }
    }
}
