//! One HTTP call to a provider API, classified into what the sync engine acts on.

use std::time::Duration;

use reqwest::{Client, StatusCode, header::RETRY_AFTER};
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ApiError {
    /// 401: refresh the access token once, then the account needs reconnecting.
    #[error("the provider refused the access token")]
    Unauthorized,
    /// 410 (Google `fullSyncRequired`, Graph `SyncStateNotFound`): start a full round.
    #[error("the provider asked for a full resync")]
    Gone,
    /// 404: this calendar is no longer accessible; others go on.
    #[error("calendar not found at the provider")]
    NotFound,
    /// 403 without a rate-limit reason: missing permission.
    #[error("no permission: {0}")]
    Forbidden(String),
    /// 429, 403 rate limits, 503 with Retry-After: wait at least `retry_after`.
    #[error("throttled by the provider")]
    Throttled { retry_after: Option<Duration> },
    /// 5xx, timeouts, connection failures.
    #[error("provider unavailable: {0}")]
    Transient(String),
    /// A response that is not the documented shape: keep the last good state.
    #[error("malformed response: {0}")]
    Malformed(String),
}

impl ApiError {
    /// Whether a later retry may succeed without the user doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::Throttled { .. } | ApiError::Transient(_) | ApiError::Malformed(_)
        )
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// GETs `url` with a bearer token and extra headers, and parses the JSON body as `T`.
pub async fn get_json<T: DeserializeOwned>(
    http: &Client,
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> Result<T, ApiError> {
    let mut request = http.get(url).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.map_err(|e| {
        ApiError::Transient(if e.is_timeout() {
            "timed out".into()
        } else {
            "connection failed".into()
        })
    })?;
    let status = response.status();
    if status.is_success() {
        let bytes = response
            .bytes()
            .await
            .map_err(|_| ApiError::Transient("response cut short".into()))?;
        return serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(e.to_string()));
    }
    let wait = retry_after(&response);
    let body = response.text().await.unwrap_or_default();
    let lower = body.to_ascii_lowercase();
    Err(match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
        StatusCode::GONE => ApiError::Gone,
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::TOO_MANY_REQUESTS => ApiError::Throttled { retry_after: wait },
        StatusCode::FORBIDDEN
            if lower.contains("ratelimitexceeded") || lower.contains("quotaexceeded") =>
        {
            ApiError::Throttled {
                retry_after: wait.or(Some(Duration::from_secs(60))),
            }
        }
        StatusCode::FORBIDDEN => ApiError::Forbidden(body.chars().take(200).collect()),
        // Some services say "sync state gone" with a 400 or a 410-like code in the body.
        _ if lower.contains("syncstatenotfound")
            || lower.contains("resyncrequired")
            || lower.contains("fullsyncrequired") =>
        {
            ApiError::Gone
        }
        s if s.is_server_error() => match wait {
            Some(_) => ApiError::Throttled { retry_after: wait },
            None => ApiError::Transient(format!("HTTP {}", s.as_u16())),
        },
        s => ApiError::Malformed(format!("unexpected HTTP {}", s.as_u16())),
    })
}
