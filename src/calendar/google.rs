//! Google Calendar API v3: `calendarList.list` and `events.list` with `singleEvents=true`,
//! paging to the last page, `nextSyncToken` for incremental sync, 410 → full resync.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::{
    Attendee, Change, Event, When,
    api::{ApiError, get_json},
    find_join_url,
    store::{CalendarInfo, Listing, Step},
};

/// Fixed parameters of every events.list call: an incremental sync must repeat exactly the
/// full sync's parameters (minus the window), or Google answers 400.
const PAGE_SIZE: &str = "250";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalendarList {
    #[serde(default)]
    items: Vec<CalendarListEntry>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalendarListEntry {
    id: String,
    summary: Option<String>,
    summary_override: Option<String>,
    #[serde(default)]
    primary: bool,
    access_role: Option<String>,
    time_zone: Option<String>,
    #[serde(default)]
    deleted: bool,
}

pub async fn list_calendars(
    http: &reqwest::Client,
    api: &str,
    token: &str,
) -> Result<Vec<CalendarInfo>, ApiError> {
    let mut calendars = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut url = url::Url::parse(&format!("{api}/users/me/calendarList"))
            .map_err(|e| ApiError::Malformed(e.to_string()))?;
        url.query_pairs_mut().append_pair("maxResults", "250");
        if let Some(t) = &page_token {
            url.query_pairs_mut().append_pair("pageToken", t);
        }
        let page: CalendarList = get_json(http, url.as_str(), token, &[]).await?;
        calendars.extend(page.items.into_iter().filter(|c| !c.deleted).map(|c| {
            CalendarInfo {
                name: c
                    .summary_override
                    .or(c.summary)
                    .unwrap_or_else(|| c.id.clone()),
                provider_calendar_id: c.id,
                time_zone: c.time_zone,
                is_primary: c.primary,
                access_role: c.access_role.unwrap_or_else(|| "reader".into()),
            }
        }));
        match page.next_page_token {
            Some(t) => page_token = Some(t),
            None => return Ok(calendars),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsPage {
    items: Vec<GoogleEvent>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GoogleTime {
    date: Option<String>,
    date_time: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize)]
struct EmailOnly {
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleAttendee {
    email: Option<String>,
    display_name: Option<String>,
    response_status: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    organizer: bool,
    #[serde(default)]
    resource: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryPoint {
    entry_point_type: Option<String>,
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConferenceData {
    #[serde(default)]
    entry_points: Vec<EntryPoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleEvent {
    id: String,
    status: Option<String>,
    #[serde(rename = "iCalUID")]
    ical_uid: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    html_link: Option<String>,
    hangout_link: Option<String>,
    conference_data: Option<ConferenceData>,
    start: Option<GoogleTime>,
    end: Option<GoogleTime>,
    recurring_event_id: Option<String>,
    original_start_time: Option<GoogleTime>,
    organizer: Option<EmailOnly>,
    #[serde(default)]
    attendees: Vec<GoogleAttendee>,
    event_type: Option<String>,
}

fn instant(t: &GoogleTime) -> Option<DateTime<Utc>> {
    match (&t.date_time, &t.date) {
        (Some(dt), _) => DateTime::parse_from_rfc3339(dt)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        (None, Some(d)) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        _ => None,
    }
}

fn when(start: &GoogleTime, end: &GoogleTime) -> Option<When> {
    if let (Some(s), Some(e)) = (&start.date, &end.date) {
        let start = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        let end = NaiveDate::parse_from_str(e, "%Y-%m-%d").ok()?;
        return Some(When::AllDay {
            start,
            end: end.max(start.succ_opt()?),
        });
    }
    let (s, e) = (instant(start)?, instant(end)?);
    Some(When::Timed {
        start: s,
        end: e.max(s),
        time_zone: start.time_zone.clone(),
    })
}

fn convert(e: GoogleEvent) -> Option<Change> {
    if e.status.as_deref() == Some("cancelled") {
        return Some(Change::Cancelled {
            provider_event_id: e.id,
        });
    }
    let when = when(e.start.as_ref()?, e.end.as_ref()?)?;
    let join_url = e
        .hangout_link
        .clone()
        .or_else(|| {
            e.conference_data.as_ref().and_then(|c| {
                c.entry_points
                    .iter()
                    .find(|p| p.entry_point_type.as_deref() == Some("video"))
                    .and_then(|p| p.uri.clone())
            })
        })
        .or_else(|| e.location.as_deref().and_then(find_join_url))
        .or_else(|| e.description.as_deref().and_then(find_join_url));
    let attendees = e
        .attendees
        .into_iter()
        .filter(|a| !a.resource)
        .filter_map(|a| {
            Some(Attendee {
                email: a.email?,
                name: a.display_name.filter(|n| !n.trim().is_empty()),
                response: a.response_status.unwrap_or_else(|| "needsAction".into()),
                organizer: a.organizer,
                optional: a.optional,
            })
        })
        .collect();
    // Google always sends whole events: an absent field is empty, not "unchanged".
    Some(Change::Upsert(Box::new(Event {
        provider_event_id: e.id,
        ical_uid: e.ical_uid,
        series_provider_id: e.recurring_event_id,
        original_start: e.original_start_time.as_ref().and_then(instant),
        title: Some(e.summary.unwrap_or_default()),
        description: Some(e.description.unwrap_or_default()),
        location: Some(e.location.unwrap_or_default()),
        when: Some(when),
        tentative: e.status.as_deref() == Some("tentative"),
        event_type: Some(e.event_type.unwrap_or_else(|| "default".into())),
        join_url,
        html_link: e.html_link,
        organizer_email: e.organizer.and_then(|o| o.email),
        attendees: Some(attendees),
    })))
}

/// One calendar's events, page by page: incremental from `cursor` if given, else a full
/// listing of `window`. The caller applies each page as it comes, in one transaction that
/// commits only at [`Step::End`], so a failure half-way stores nothing.
pub struct EventPages<'a> {
    http: &'a reqwest::Client,
    url: String,
    token: &'a str,
    cursor: Option<&'a str>,
    window: (DateTime<Utc>, DateTime<Utc>),
    next: Next,
}

enum Next {
    Fetch(Option<String>),
    Finish(Listing),
    Finished,
}

impl<'a> EventPages<'a> {
    pub fn new(
        http: &'a reqwest::Client,
        api: &str,
        token: &'a str,
        calendar_id: &str,
        cursor: Option<&'a str>,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Self {
        let id: String = url::form_urlencoded::byte_serialize(calendar_id.as_bytes()).collect();
        EventPages {
            http,
            url: format!("{api}/calendars/{id}/events"),
            token,
            cursor,
            window,
            next: Next::Fetch(None),
        }
    }

    pub async fn next(&mut self) -> Result<Step, ApiError> {
        let page_token = match std::mem::replace(&mut self.next, Next::Finished) {
            Next::Fetch(page_token) => page_token,
            Next::Finish(listing) => return Ok(Step::End(listing)),
            Next::Finished => return Err(ApiError::Malformed("listing already ended".into())),
        };
        let mut url = url::Url::parse(&self.url).map_err(|e| ApiError::Malformed(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("singleEvents", "true")
                .append_pair("maxResults", PAGE_SIZE);
            match self.cursor {
                Some(sync_token) => {
                    q.append_pair("syncToken", sync_token);
                }
                None => {
                    q.append_pair("timeMin", &self.window.0.to_rfc3339())
                        .append_pair("timeMax", &self.window.1.to_rfc3339());
                }
            }
            if let Some(t) = &page_token {
                q.append_pair("pageToken", t);
            }
        }
        let page: EventsPage = get_json(self.http, url.as_str(), self.token, &[]).await?;
        // A page may be empty while more follow: only the token decides.
        self.next = match (page.next_page_token, page.next_sync_token) {
            (Some(next), _) => Next::Fetch(Some(next)),
            (None, Some(sync_token)) => Next::Finish(Listing {
                cursor: Some(sync_token),
                full_window: self.cursor.is_none().then_some(self.window),
            }),
            (None, None) => {
                return Err(ApiError::Malformed(
                    "last page carried no nextSyncToken".into(),
                ));
            }
        };
        Ok(Step::Page {
            items: page.items.len(),
            changes: page.items.into_iter().filter_map(convert).collect(),
        })
    }
}
