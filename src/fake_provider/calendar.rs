//! The fake's calendar APIs: Google Calendar API v3 (`calendarList`, `events.list` with
//! `singleEvents`, paging and sync tokens, 410 on an expired token) and Microsoft Graph
//! (`/me/calendars`, `calendarView/delta` with nextLink/deltaLink and `@removed`,
//! `calendars/{id}/calendarView`). Events are kept in one neutral shape and rendered in each
//! provider's own JSON.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{FakeProvider, State as Inner, Which, oauth::bearer_user};

#[derive(Debug, Clone)]
pub struct FakeCalendar {
    pub id: String,
    pub name: String,
    pub primary: bool,
    /// Google `accessRole`: `owner`, `writer`, `reader` or `freeBusyReader`.
    pub access_role: String,
    pub time_zone: String,
    pub events: Vec<FakeEvent>,
    /// Sync tokens / delta links older than this stamp are refused with 410.
    pub tokens_valid_from: u64,
}

/// An event in Google's JSON (`FakeEvent::google_json`); fields that are absent are left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoogleEvent<'a> {
    kind: &'static str,
    id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurring_event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_start_time: Option<GoogleTime<'a>>,
    /// Everything a cancelled event does not carry.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    live: Option<GoogleLiveEvent<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleLiveEvent<'a> {
    #[serde(rename = "iCalUID")]
    ical_uid: &'a str,
    summary: &'a str,
    html_link: String,
    updated: String,
    start: GoogleTime<'a>,
    end: GoogleTime<'a>,
    event_type: &'a str,
    organizer: GooglePerson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hangout_link: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conference_data: Option<GoogleConference<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attendees: Vec<GoogleAttendee<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleTime<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GooglePerson<'a> {
    email: &'a str,
    display_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleConference<'a> {
    entry_points: [GoogleEntryPoint<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleEntryPoint<'a> {
    entry_point_type: &'static str,
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleAttendee<'a> {
    email: &'a str,
    response_status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organizer: Option<bool>,
}

/// A page of Google's events.list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GoogleEventPage<'a> {
    kind: &'static str,
    summary: &'a str,
    time_zone: &'a str,
    items: Vec<GoogleEvent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_sync_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum When {
    At(DateTime<Utc>),
    /// An all-day date (end exclusive), with no zone.
    Day(NaiveDate),
}

impl When {
    fn instant(&self) -> DateTime<Utc> {
        match self {
            When::At(t) => *t,
            When::Day(d) => d.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FakeAttendee {
    pub email: String,
    pub name: String,
    /// Google's words: `accepted`, `declined`, `tentative`, `needsAction`.
    pub response: String,
    pub resource: bool,
    pub organizer: bool,
}

#[derive(Debug, Clone)]
pub struct FakeEvent {
    pub id: String,
    pub ical_uid: String,
    /// For an instance of a recurring series: the series' id and this instance's original start.
    pub series: Option<(String, When)>,
    pub title: String,
    pub description: String,
    pub location: String,
    pub start: When,
    pub end: When,
    pub time_zone: String,
    pub organizer: (String, String),
    pub attendees: Vec<FakeAttendee>,
    pub join_url: Option<String>,
    /// Google `eventType`: `default`, `focusTime`, `outOfOffice`, `workingLocation`, `birthday`.
    pub event_type: String,
    pub cancelled: bool,
    /// The provider clock stamp of the last change.
    pub changed: u64,
}

impl FakeEvent {
    /// The same invitation as another calendar of the user holds it (a shared or second
    /// account's calendar): its own event id, the same iCalendar UID.
    pub fn copy_with_id(&self, id: &str) -> FakeEvent {
        FakeEvent {
            id: id.into(),
            ..self.clone()
        }
    }

    fn google_time<'a>(when: &When, zone: &'a str) -> GoogleTime<'a> {
        match when {
            When::At(t) => GoogleTime {
                date_time: Some(t.to_rfc3339()),
                time_zone: Some(zone),
                date: None,
            },
            When::Day(d) => GoogleTime {
                date_time: None,
                time_zone: None,
                date: Some(d.to_string()),
            },
        }
    }

    /// The event as Google's events.list returns it. Typed and borrowed rather than a
    /// `serde_json::Value`: building a map per event and field made the fake spend more CPU on
    /// a bench/sync listing than Docket spent reading it.
    pub fn google_json(&self) -> GoogleEvent<'_> {
        let series = self.series.as_ref();
        let recurring_event_id = series.map(|(id, _)| id.as_str());
        let original_start_time = series.map(|(_, at)| Self::google_time(at, &self.time_zone));
        if self.cancelled {
            // Google sends almost nothing for deleted events and cancelled instances.
            return GoogleEvent {
                kind: "calendar#event",
                id: &self.id,
                status: "cancelled",
                recurring_event_id,
                original_start_time,
                live: None,
            };
        }
        fn text(s: &str) -> Option<&str> {
            (!s.is_empty()).then_some(s)
        }
        GoogleEvent {
            kind: "calendar#event",
            id: &self.id,
            status: "confirmed",
            recurring_event_id,
            original_start_time,
            live: Some(GoogleLiveEvent {
                ical_uid: &self.ical_uid,
                summary: &self.title,
                html_link: format!("https://calendar.example/event?eid={}", self.id),
                updated: Utc::now().to_rfc3339(),
                start: Self::google_time(&self.start, &self.time_zone),
                end: Self::google_time(&self.end, &self.time_zone),
                event_type: &self.event_type,
                organizer: GooglePerson {
                    email: &self.organizer.0,
                    display_name: &self.organizer.1,
                },
                description: text(&self.description),
                location: text(&self.location),
                hangout_link: self.join_url.as_deref(),
                conference_data: self.join_url.as_deref().map(|uri| GoogleConference {
                    entry_points: [GoogleEntryPoint {
                        entry_point_type: "video",
                        uri,
                    }],
                }),
                attendees: self
                    .attendees
                    .iter()
                    .map(|a| GoogleAttendee {
                        email: &a.email,
                        response_status: &a.response,
                        display_name: text(&a.name),
                        resource: a.resource.then_some(true),
                        organizer: a.organizer.then_some(true),
                    })
                    .collect(),
            }),
        }
    }

    fn graph_time(when: &When) -> Value {
        match when {
            When::At(t) => {
                json!({ "dateTime": format!("{}.0000000", t.format("%Y-%m-%dT%H:%M:%S")), "timeZone": "UTC" })
            }
            When::Day(d) => {
                json!({ "dateTime": format!("{d}T00:00:00.0000000"), "timeZone": "UTC" })
            }
        }
    }

    pub fn graph_json(&self) -> Value {
        if self.cancelled {
            return json!({ "id": self.id, "@removed": { "reason": "deleted" } });
        }
        let response = |r: &str| match r {
            "accepted" => "accepted",
            "declined" => "declined",
            "tentative" => "tentativelyAccepted",
            _ => "none",
        };
        let mut v = json!({
            "id": self.id,
            "iCalUId": self.ical_uid,
            "subject": self.title,
            "bodyPreview": self.description.chars().take(255).collect::<String>(),
            "body": { "contentType": "text", "content": self.description },
            "start": Self::graph_time(&self.start),
            "end": Self::graph_time(&self.end),
            "originalStartTimeZone": "GMT Standard Time",
            "isAllDay": matches!(self.start, When::Day(_)),
            "isCancelled": false,
            "showAs": match self.event_type.as_str() {
                "outOfOffice" => "oof",
                "workingLocation" => "workingElsewhere",
                _ => "busy",
            },
            "type": if self.series.is_some() { "occurrence" } else { "singleInstance" },
            "location": { "displayName": self.location },
            "webLink": format!("https://outlook.example/calendar/item/{}", self.id),
            "lastModifiedDateTime": Utc::now().to_rfc3339(),
            "organizer": { "emailAddress": { "name": self.organizer.1, "address": self.organizer.0 } },
            "attendees": self.attendees.iter().map(|a| json!({
                "type": if a.resource { "resource" } else { "required" },
                "status": { "response": if a.organizer { "organizer" } else { response(&a.response) }, "time": "0001-01-01T00:00:00Z" },
                "emailAddress": { "name": a.name, "address": a.email },
            })).collect::<Vec<_>>(),
        });
        if let Some(url) = &self.join_url {
            v["onlineMeeting"] = json!({ "joinUrl": url });
            v["isOnlineMeeting"] = json!(true);
        }
        if let Some((series, original)) = &self.series {
            v["seriesMasterId"] = json!(series);
            v["originalStart"] = json!(original.instant().to_rfc3339());
        }
        v
    }
}

pub(super) fn router() -> Router<FakeProvider> {
    Router::new()
        .route(
            "/google/calendar/v3/users/me/calendarList",
            get(google_calendar_list),
        )
        .route(
            "/google/calendar/v3/calendars/{calendar}/events",
            get(google_events),
        )
        .route("/microsoft/graph/v1.0/me/calendars", get(graph_calendars))
        .route(
            "/microsoft/graph/v1.0/me/calendarView/delta",
            get(graph_delta),
        )
        .route(
            "/microsoft/graph/v1.0/me/calendars/{calendar}/calendarView",
            get(graph_view),
        )
}

fn google_error(status: StatusCode, reason: &str, message: &str) -> Response {
    (
        status,
        Json(
            json!({ "error": { "code": status.as_u16(), "message": message,
            "errors": [{ "domain": "global", "reason": reason, "message": message }] } }),
        ),
    )
        .into_response()
}

pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// Authentication and injected faults, shared by every API call. Returns the user index.
fn enter(
    state: &mut Inner,
    headers: &HeaderMap,
    which: Which,
    call: String,
) -> Result<usize, Response> {
    state.api_calls.push(call);
    let fail = |status: u16| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut r = match which {
            Which::Google => google_error(status, "backendError", "Injected failure"),
            Which::Microsoft => graph_error(status, "ServiceUnavailable", "Injected failure"),
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert("retry-after", "1".parse().expect("valid header"));
        }
        r
    };
    if let Some(status) = state.faults.api_outage {
        return Err(fail(status));
    }
    if !state.faults.script.is_empty()
        && let Some(status) = state.faults.script.remove(0)
    {
        return Err(fail(status));
    }
    let Some(user) = bearer_user(state, headers, which) else {
        return Err(match which {
            Which::Google => {
                google_error(StatusCode::UNAUTHORIZED, "authError", "Invalid Credentials")
            }
            Which::Microsoft => graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            ),
        });
    };
    Ok(user)
}

fn malformed(state: &mut Inner) -> Option<Response> {
    std::mem::take(&mut state.faults.malformed_next).then(|| {
        (
            StatusCode::OK,
            Json(json!({ "items": "this is not a list", "value": 42 })),
        )
            .into_response()
    })
}

async fn google_calendar_list(State(fake): State<FakeProvider>, headers: HeaderMap) -> Response {
    let mut state = fake.lock();
    let user = match enter(
        &mut state,
        &headers,
        Which::Google,
        "google calendarList".into(),
    ) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Some(r) = malformed(&mut state) {
        return r;
    }
    let items: Vec<Value> = state.users[user]
        .calendars
        .iter()
        .map(|c| {
            json!({ "kind": "calendar#calendarListEntry", "id": c.id, "summary": c.name,
                "primary": c.primary, "accessRole": c.access_role, "timeZone": c.time_zone,
                "selected": true })
        })
        .collect();
    Json(json!({ "kind": "calendar#calendarList", "items": items, "nextSyncToken": "list-sync" }))
        .into_response()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EventsQuery {
    single_events: Option<String>,
    time_min: Option<String>,
    time_max: Option<String>,
    max_results: Option<usize>,
    page_token: Option<String>,
    sync_token: Option<String>,
}

/// Listing order: by start, then id (no allocation per comparison: listings can be large).
fn by_start(a: &FakeEvent, b: &FakeEvent) -> std::cmp::Ordering {
    (a.start.instant(), &a.id).cmp(&(b.start.instant(), &b.id))
}

/// Puts events in start order. Every page of a listing filters and orders the whole calendar
/// again; calendars are mostly stored in that order already (bench/sync's are generated in it),
/// and checking is linear where sorting is not: sorting 10,000 events for each of a listing's 40
/// pages made the fake spend more CPU than Docket in bench/sync, holding its lock meanwhile.
fn in_start_order(events: &mut [&FakeEvent]) {
    if !events.is_sorted_by(|a, b| by_start(a, b).is_le()) {
        events.sort_by(|a, b| by_start(a, b));
    }
}

fn parse_time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

async fn google_events(
    State(fake): State<FakeProvider>,
    Path(calendar_id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    fake.meet(q.page_token.is_none()).await;
    let mut state = fake.lock();
    let call = format!(
        "google events {calendar_id} sync={} page={}",
        q.sync_token.is_some(),
        q.page_token.as_deref().unwrap_or("-")
    );
    let user = match enter(&mut state, &headers, Which::Google, call) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Some(r) = malformed(&mut state) {
        return r;
    }
    if q.sync_token.is_some() && (q.time_min.is_some() || q.time_max.is_some()) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "timeMin/timeMax are not allowed with syncToken",
        );
    }
    if q.single_events.as_deref() != Some("true") {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "this fake only serves singleEvents=true",
        );
    }
    let clock = state.clock;
    let calendars = &state.users[user].calendars;
    let Some(calendar) = calendars
        .iter()
        .find(|c| c.id == calendar_id || (calendar_id == "primary" && c.primary))
    else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    if calendar.access_role == "freeBusyReader" {
        return google_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed to read events",
        );
    }
    // The page token encodes (offset, snapshot clock, since): a listing stays consistent.
    let (offset, snapshot, since) = match q.page_token.as_deref() {
        Some(token) => {
            let parts: Vec<u64> = token.split('-').filter_map(|p| p.parse().ok()).collect();
            match parts[..] {
                [o, s, f] => (o as usize, s, f),
                _ => return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid page token"),
            }
        }
        None => match q.sync_token.as_deref() {
            Some(token) => match token
                .strip_prefix("sync-")
                .and_then(|n| n.parse::<u64>().ok())
            {
                Some(n) if n >= calendar.tokens_valid_from => (0, clock, n),
                Some(_) => {
                    return google_error(
                        StatusCode::GONE,
                        "fullSyncRequired",
                        "Sync token is no longer valid, a full sync is required.",
                    );
                }
                None => {
                    return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid sync token");
                }
            },
            None => (0, clock, 0),
        },
    };
    let incremental = since > 0;
    let (min, max) = (parse_time(&q.time_min), parse_time(&q.time_max));
    let mut matching: Vec<&FakeEvent> = calendar
        .events
        .iter()
        .filter(|e| e.changed <= snapshot)
        .filter(|e| {
            if incremental {
                e.changed > since
            } else {
                !e.cancelled
                    && min.is_none_or(|m| e.end.instant() > m)
                    && max.is_none_or(|m| e.start.instant() < m)
            }
        })
        .collect();
    in_start_order(&mut matching);
    let page_size = q
        .max_results
        .unwrap_or(250)
        .clamp(1, 2500)
        .min(state.faults.page_size.unwrap_or(usize::MAX));
    let more = offset + page_size < matching.len();
    Json(GoogleEventPage {
        kind: "calendar#events",
        summary: &calendar.name,
        time_zone: &calendar.time_zone,
        items: matching
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|e| e.google_json())
            .collect(),
        next_page_token: more.then(|| format!("{}-{snapshot}-{since}", offset + page_size)),
        next_sync_token: (!more).then(|| format!("sync-{snapshot}")),
    })
    .into_response()
}

async fn graph_calendars(State(fake): State<FakeProvider>, headers: HeaderMap) -> Response {
    let mut state = fake.lock();
    let user = match enter(
        &mut state,
        &headers,
        Which::Microsoft,
        "graph calendars".into(),
    ) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Some(r) = malformed(&mut state) {
        return r;
    }
    let u = &state.users[user];
    let value: Vec<Value> = u
        .calendars
        .iter()
        .map(|c| {
            json!({ "id": c.id, "name": c.name, "isDefaultCalendar": c.primary,
                "canEdit": c.access_role == "owner",
                "owner": { "name": u.name, "address": u.email } })
        })
        .collect();
    Json(json!({ "value": value })).into_response()
}

#[derive(Deserialize, Default)]
struct GraphQuery {
    #[serde(rename = "startDateTime")]
    start: Option<String>,
    #[serde(rename = "endDateTime")]
    end: Option<String>,
    #[serde(rename = "$skiptoken")]
    skip_token: Option<String>,
    #[serde(rename = "$deltatoken")]
    delta_token: Option<String>,
    #[serde(rename = "$skip")]
    skip: Option<usize>,
}

fn graph_page_size(headers: &HeaderMap) -> usize {
    // Graph's default page is 10 events: clients that ignore nextLink lose the rest.
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(10)
}

fn parse_graph_time(s: &Option<String>) -> Option<DateTime<Utc>> {
    let s = s.as_deref()?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// `calendarView/delta` on the default calendar. Tokens carry (offset, snapshot, since,
/// window) so the whole round is self-describing, like Graph's opaque ones.
async fn graph_delta(
    State(fake): State<FakeProvider>,
    headers: HeaderMap,
    Query(q): Query<GraphQuery>,
) -> Response {
    let mut state = fake.lock();
    let call = format!(
        "graph delta skip={} delta={}",
        q.skip_token.is_some(),
        q.delta_token.is_some()
    );
    let user = match enter(&mut state, &headers, Which::Microsoft, call) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Some(r) = malformed(&mut state) {
        return r;
    }
    let clock = state.clock;
    let base = state.base.clone();
    let Some(calendar) = state.users[user].calendars.iter().find(|c| c.primary) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "No default calendar",
        );
    };
    let token = q.skip_token.as_deref().or(q.delta_token.as_deref());
    let (offset, snapshot, since, start, end) = match token {
        Some(t) => {
            let parts: Vec<&str> = t.split('~').collect();
            let [o, s, f, a, b] = parts[..] else {
                return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid token");
            };
            let (Ok(o), Ok(s), Ok(f), Ok(a), Ok(b)) = (
                o.parse::<usize>(),
                s.parse::<u64>(),
                f.parse::<u64>(),
                a.parse::<i64>(),
                b.parse::<i64>(),
            ) else {
                return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid token");
            };
            // The provider forgot this sync state (mid-round too): the client must start over.
            if s < calendar.tokens_valid_from {
                return graph_error(
                    StatusCode::GONE,
                    "SyncStateNotFound",
                    "The sync state generation is not found.",
                );
            }
            // A deltatoken starts a new round at the current clock.
            let (o, s, f) = if q.delta_token.is_some() {
                (0, clock, s)
            } else {
                (o, s, f)
            };
            (
                o,
                s,
                f,
                DateTime::from_timestamp(a, 0),
                DateTime::from_timestamp(b, 0),
            )
        }
        None => {
            let (Some(start), Some(end)) = (parse_graph_time(&q.start), parse_graph_time(&q.end))
            else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "ErrorInvalidParameter",
                    "startDateTime and endDateTime are required",
                );
            };
            (0, clock, 0, Some(start), Some(end))
        }
    };
    let (Some(start), Some(end)) = (start, end) else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid token");
    };
    let incremental = since > 0;
    let mut matching: Vec<&FakeEvent> = calendar
        .events
        .iter()
        .filter(|e| e.changed <= snapshot)
        .filter(|e| {
            if incremental {
                // Deletions are reported even outside the window (clients must ignore unknown ids).
                e.changed > since
                    && (e.cancelled || (e.end.instant() > start && e.start.instant() < end))
            } else {
                !e.cancelled && e.end.instant() > start && e.start.instant() < end
            }
        })
        .collect();
    in_start_order(&mut matching);
    let size = graph_page_size(&headers).min(state.faults.page_size.unwrap_or(usize::MAX));
    let value: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|e| e.graph_json())
        .collect();
    let link = |kind: &str, o: usize| {
        format!(
            "{base}/microsoft/graph/v1.0/me/calendarView/delta?${kind}={o}~{snapshot}~{since}~{}~{}",
            start.timestamp(),
            end.timestamp()
        )
    };
    let mut body = json!({ "value": value });
    if offset + size < matching.len() {
        body["@odata.nextLink"] = json!(link("skiptoken", offset + size));
    } else {
        body["@odata.deltaLink"] = json!(link("deltatoken", 0));
    }
    Json(body).into_response()
}

async fn graph_view(
    State(fake): State<FakeProvider>,
    Path(calendar_id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<GraphQuery>,
) -> Response {
    let mut state = fake.lock();
    let user = match enter(
        &mut state,
        &headers,
        Which::Microsoft,
        format!("graph view {calendar_id}"),
    ) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Some(r) = malformed(&mut state) {
        return r;
    }
    let base = state.base.clone();
    let Some(calendar) = state.users[user]
        .calendars
        .iter()
        .find(|c| c.id == calendar_id)
    else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        );
    };
    let (Some(start), Some(end)) = (parse_graph_time(&q.start), parse_graph_time(&q.end)) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "startDateTime and endDateTime are required",
        );
    };
    let mut matching: Vec<&FakeEvent> = calendar
        .events
        .iter()
        .filter(|e| !e.cancelled && e.end.instant() > start && e.start.instant() < end)
        .collect();
    in_start_order(&mut matching);
    let size = graph_page_size(&headers).min(state.faults.page_size.unwrap_or(usize::MAX));
    let offset = q.skip.unwrap_or(0);
    let value: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(|e| e.graph_json())
        .collect();
    let mut body = json!({ "value": value });
    if offset + size < matching.len() {
        let mut next = url::Url::parse(&format!(
            "{base}/microsoft/graph/v1.0/me/calendars/{calendar_id}/calendarView"
        ))
        .expect("base is a URL");
        next.query_pairs_mut()
            .append_pair("startDateTime", &start.to_rfc3339())
            .append_pair("endDateTime", &end.to_rfc3339())
            .append_pair("$skip", &(offset + size).to_string());
        body["@odata.nextLink"] = json!(next.as_str());
    }
    Json(body).into_response()
}
