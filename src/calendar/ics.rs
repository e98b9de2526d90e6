//! ICS subscriptions: an iCalendar file polled from a URL (`webcal://` included).
//!
//! Each poll asks with the `ETag` and `Last-Modified` of the last one (`If-None-Match`,
//! `If-Modified-Since`); a 304 changes nothing. Any full answer is a full listing: its events
//! are written and whatever it no longer has is swept. As with CalDAV, the window of expanded
//! recurrences moves daily, so the first poll of a day asks unconditionally.

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{
    StatusCode,
    header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED},
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    Change,
    api::ApiError,
    fetch::{FetchError, Fetcher, Request},
    ical,
    store::{CalendarInfo, Listing, Step},
};

/// A subscription has one calendar; this is its id.
pub const CALENDAR_ID: &str = "subscription";

/// What Docket keeps (sealed: a subscription's address often holds a secret) to poll it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub url: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { url: [redacted] }")
    }
}

/// The one calendar of a subscription.
pub fn calendar(name: &str) -> CalendarInfo {
    CalendarInfo {
        provider_calendar_id: CALENDAR_ID.into(),
        name: name.to_owned(),
        time_zone: None,
        is_primary: true,
        access_role: "reader".into(),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    day: Option<NaiveDate>,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// What one poll found.
pub enum Polled {
    NotModified,
    Calendar {
        calendar: ical::Calendar,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// Fetches the file, conditionally when `etag`/`last_modified` are given.
pub async fn poll(
    fetcher: &mut Fetcher,
    url: &Url,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<Polled, ApiError> {
    let mut request = Request::get(url.clone());
    request
        .headers
        .push(("accept", "text/calendar, */*;q=0.5".into()));
    if let Some(etag) = etag {
        request
            .headers
            .push((IF_NONE_MATCH.as_str(), etag.to_owned()));
    }
    if let Some(when) = last_modified {
        request
            .headers
            .push((IF_MODIFIED_SINCE.as_str(), when.to_owned()));
    }
    let fetched = fetcher.send(request).await.map_err(|e| match e {
        FetchError::Unreachable(reason) => ApiError::Transient(reason),
        FetchError::Refused(refused) => ApiError::Forbidden(refused.to_string()),
        other => ApiError::Malformed(other.to_string()),
    })?;
    match fetched.status {
        StatusCode::NOT_MODIFIED => Ok(Polled::NotModified),
        StatusCode::OK => {
            let text = String::from_utf8_lossy(&fetched.body);
            let calendar = ical::Calendar::parse(&text)
                .map_err(|_| ApiError::Malformed("the address did not return a calendar".into()))?;
            Ok(Polled::Calendar {
                calendar,
                etag: fetched.header(ETAG.as_str()).map(str::to_owned),
                last_modified: fetched.header(LAST_MODIFIED.as_str()).map(str::to_owned),
            })
        }
        StatusCode::UNAUTHORIZED => Err(ApiError::Unauthorized),
        // A 410 here means the file is gone, not a sync token.
        StatusCode::NOT_FOUND | StatusCode::GONE => Err(ApiError::NotFound),
        StatusCode::FORBIDDEN => Err(ApiError::Forbidden("the server refused".into())),
        StatusCode::TOO_MANY_REQUESTS => Err(ApiError::Throttled { retry_after: None }),
        s if s.is_server_error() => Err(ApiError::Transient(format!("HTTP {}", s.as_u16()))),
        s => Err(ApiError::Malformed(format!(
            "unexpected HTTP {}",
            s.as_u16()
        ))),
    }
}

/// The subscription's events as one page, then the end of the listing.
pub struct EventPages<'a> {
    fetcher: &'a mut Fetcher,
    url: &'a Url,
    cursor: Cursor,
    window: (DateTime<Utc>, DateTime<Utc>),
    end: Option<Listing>,
}

impl<'a> EventPages<'a> {
    pub fn new(
        fetcher: &'a mut Fetcher,
        url: &'a Url,
        cursor: Option<&str>,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Self {
        EventPages {
            fetcher,
            url,
            cursor: cursor
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default(),
            window,
            end: None,
        }
    }

    pub async fn next(&mut self) -> Result<Step, ApiError> {
        if let Some(listing) = self.end.take() {
            return Ok(Step::End(listing));
        }
        let today = Utc::now().date_naive();
        let conditional = self.cursor.day == Some(today);
        let polled = poll(
            self.fetcher,
            self.url,
            self.cursor.etag.as_deref().filter(|_| conditional),
            self.cursor.last_modified.as_deref().filter(|_| conditional),
        )
        .await?;
        let encode =
            |c: &Cursor| serde_json::to_string(c).map_err(|e| ApiError::Malformed(e.to_string()));
        match polled {
            Polled::NotModified => {
                self.end = Some(Listing {
                    cursor: Some(encode(&self.cursor)?),
                    full_window: None,
                });
                Ok(Step::Page {
                    items: 0,
                    changes: Vec::new(),
                })
            }
            Polled::Calendar {
                calendar,
                etag,
                last_modified,
            } => {
                let changes: Vec<Change> = calendar
                    .events(None, self.window)
                    .into_iter()
                    .map(|e| Change::Upsert(Box::new(e)))
                    .collect();
                self.end = Some(Listing {
                    cursor: Some(encode(&Cursor {
                        day: Some(today),
                        etag,
                        last_modified,
                    })?),
                    full_window: Some(self.window),
                });
                Ok(Step::Page {
                    items: changes.len(),
                    changes,
                })
            }
        }
    }
}
