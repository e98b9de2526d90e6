//! Microsoft Graph v1.0: `/me/calendars`; the default calendar through `calendarView/delta`
//! (every `@odata.nextLink` followed to the `@odata.deltaLink`, which is stored whole); other
//! calendars through a windowed `calendarView` scan, swept after each complete scan.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    Attendee, Change, Event, When,
    api::{ApiError, get_json},
    find_join_url,
    store::{CalendarInfo, Listing, Step},
};

/// Graph's default page is 10 events; ask for more, and always follow nextLink anyway.
const PREFER: [(&str, &str); 3] = [
    ("Prefer", "odata.maxpagesize=100"),
    ("Prefer", "outlook.timezone=\"UTC\""),
    ("Prefer", "IdType=\"ImmutableId\""),
];

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphCalendar {
    id: String,
    name: Option<String>,
    #[serde(default)]
    is_default_calendar: bool,
    #[serde(default)]
    can_edit: bool,
}

pub async fn list_calendars(
    http: &reqwest::Client,
    graph: &str,
    token: &str,
) -> Result<Vec<CalendarInfo>, ApiError> {
    let mut url = format!("{graph}/me/calendars?$top=100");
    let mut calendars = Vec::new();
    loop {
        let page: Page<GraphCalendar> = get_json(http, &url, token, &PREFER).await?;
        calendars.extend(page.value.into_iter().map(|c| CalendarInfo {
            name: c.name.unwrap_or_else(|| "Calendar".into()),
            provider_calendar_id: c.id,
            time_zone: None,
            is_primary: c.is_default_calendar,
            access_role: if c.can_edit { "owner" } else { "reader" }.into(),
        }));
        match page.next_link {
            Some(next) => url = next,
            None => return Ok(calendars),
        }
    }
}

/// Windows time zone names Graph may use, mapped to IANA (the common ones; unknown → UTC).
fn zone(name: &str) -> Option<chrono_tz::Tz> {
    let iana = match name {
        "UTC" | "Coordinated Universal Time" => "UTC",
        "GMT Standard Time" => "Europe/London",
        "W. Europe Standard Time" => "Europe/Berlin",
        "Romance Standard Time" => "Europe/Paris",
        "Central Europe Standard Time" => "Europe/Budapest",
        "E. Europe Standard Time" => "Europe/Bucharest",
        "Eastern Standard Time" => "America/New_York",
        "Central Standard Time" => "America/Chicago",
        "Mountain Standard Time" => "America/Denver",
        "Pacific Standard Time" => "America/Los_Angeles",
        "India Standard Time" => "Asia/Kolkata",
        "China Standard Time" => "Asia/Shanghai",
        "Tokyo Standard Time" => "Asia/Tokyo",
        "AUS Eastern Standard Time" => "Australia/Sydney",
        other => other,
    };
    iana.parse().ok()
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct GraphTime {
    date_time: String,
    time_zone: Option<String>,
}

fn local(t: &GraphTime) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(&t.date_time, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(&t.date_time, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

/// Graph's `dateTime` has no offset: it is wall-clock time in `timeZone`.
fn instant(t: &GraphTime) -> Option<DateTime<Utc>> {
    let naive = local(t)?;
    let tz = t
        .time_zone
        .as_deref()
        .and_then(zone)
        .unwrap_or(chrono_tz::UTC);
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn convert(item: Value) -> Result<Option<Change>, ApiError> {
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::Malformed("event without id".into()))?
        .to_owned();
    if item.get("@removed").is_some() || item.get("isCancelled") == Some(&Value::Bool(true)) {
        return Ok(Some(Change::Cancelled {
            provider_event_id: id,
        }));
    }
    let str_field = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
    if str_field("type").as_deref() == Some("seriesMaster") {
        // calendarView lists occurrences; the master itself is not a meeting on a day.
        return Ok(None);
    }
    let time = |name: &str| -> Option<GraphTime> {
        item.get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    };
    let all_day = item.get("isAllDay").and_then(Value::as_bool);
    let when = match (time("start"), time("end")) {
        (Some(start), Some(end)) if all_day == Some(true) => {
            // All-day events are midnight to midnight whatever the zone: take the dates only.
            let (s, e) = (local(&start), local(&end));
            match (s, e) {
                (Some(s), Some(e)) => Some(When::AllDay {
                    start: s.date(),
                    end: e.date().max(s.date().succ_opt().unwrap_or(s.date())),
                }),
                _ => None,
            }
        }
        (Some(start), Some(end)) => match (instant(&start), instant(&end)) {
            (Some(s), Some(e)) => Some(When::Timed {
                start: s,
                end: e.max(s),
                time_zone: str_field("originalStartTimeZone")
                    .and_then(|z| zone(&z).map(|t| t.name().to_owned())),
            }),
            _ => None,
        },
        _ => None,
    };
    let body = item
        .get("body")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let location = item.get("location").map(|l| {
        l.get("displayName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    });
    let join_url = item
        .get("onlineMeeting")
        .and_then(|m| m.get("joinUrl"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| location.as_deref().and_then(find_join_url))
        .or_else(|| body.as_deref().and_then(find_join_url));
    let attendees = item.get("attendees").and_then(Value::as_array).map(|list| {
        list.iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("resource"))
            .filter_map(|a| {
                let address = a.get("emailAddress")?;
                let email = address.get("address")?.as_str()?.to_owned();
                let name = address
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.trim().is_empty() && *n != email)
                    .map(str::to_owned);
                let response = a
                    .get("status")
                    .and_then(|s| s.get("response"))
                    .and_then(Value::as_str)
                    .unwrap_or("none");
                Some(Attendee {
                    email,
                    name,
                    response: match response {
                        "accepted" | "organizer" => "accepted",
                        "declined" => "declined",
                        "tentativelyAccepted" => "tentative",
                        _ => "needsAction",
                    }
                    .into(),
                    organizer: response == "organizer",
                    optional: a.get("type").and_then(Value::as_str) == Some("optional"),
                })
            })
            .collect()
    });
    // Graph has no event type; what the user shows as tells the blocks that are not meetings.
    let event_type = str_field("showAs").map(|s| {
        match s.as_str() {
            "oof" => "outOfOffice",
            "workingElsewhere" => "workingLocation",
            _ => "default",
        }
        .to_owned()
    });
    let original_start = str_field("originalStart")
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(Some(Change::Upsert(Box::new(Event {
        provider_event_id: id,
        ical_uid: str_field("iCalUId"),
        series_provider_id: str_field("seriesMasterId"),
        original_start,
        title: str_field("subject"),
        description: body,
        location,
        when,
        tentative: str_field("showAs").as_deref() == Some("tentative"),
        event_type,
        join_url,
        html_link: str_field("webLink"),
        organizer_email: item
            .get("organizer")
            .and_then(|o| o.get("emailAddress"))
            .and_then(|e| e.get("address"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        attendees,
    }))))
}

/// Events page by page, following every `@odata.nextLink`: the default calendar through the
/// delta protocol ([`EventPages::delta`]) or any other through a windowed scan
/// ([`EventPages::view`]). The caller applies each page as it comes, in one transaction that
/// commits only at [`Step::End`].
pub struct EventPages<'a> {
    http: &'a reqwest::Client,
    token: &'a str,
    next: Next,
    /// For a delta round, whether it started without a cursor (a full round over the window).
    delta: Option<bool>,
    window: (DateTime<Utc>, DateTime<Utc>),
}

enum Next {
    Fetch(String),
    Finish(Listing),
    Finished,
}

impl<'a> EventPages<'a> {
    /// The default calendar through the delta protocol: from the stored deltaLink, or a new
    /// round over `window`.
    pub fn delta(
        http: &'a reqwest::Client,
        graph: &str,
        token: &'a str,
        cursor: Option<&str>,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Self, ApiError> {
        let first = match cursor {
            Some(delta_link) => delta_link.to_owned(),
            None => {
                let mut url = url::Url::parse(&format!("{graph}/me/calendarView/delta"))
                    .map_err(|e| ApiError::Malformed(e.to_string()))?;
                url.query_pairs_mut()
                    .append_pair("startDateTime", &window.0.to_rfc3339())
                    .append_pair("endDateTime", &window.1.to_rfc3339());
                url.into()
            }
        };
        Ok(EventPages {
            http,
            token,
            next: Next::Fetch(first),
            delta: Some(cursor.is_none()),
            window,
        })
    }

    /// Any other calendar: a full windowed scan (delta for non-default calendars is beta-only).
    pub fn view(
        http: &'a reqwest::Client,
        graph: &str,
        token: &'a str,
        calendar_id: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Self, ApiError> {
        let id: String = url::form_urlencoded::byte_serialize(calendar_id.as_bytes()).collect();
        let mut url = url::Url::parse(&format!("{graph}/me/calendars/{id}/calendarView"))
            .map_err(|e| ApiError::Malformed(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("startDateTime", &window.0.to_rfc3339())
            .append_pair("endDateTime", &window.1.to_rfc3339());
        Ok(EventPages {
            http,
            token,
            next: Next::Fetch(url.into()),
            delta: None,
            window,
        })
    }

    pub async fn next(&mut self) -> Result<Step, ApiError> {
        let url = match std::mem::replace(&mut self.next, Next::Finished) {
            Next::Fetch(url) => url,
            Next::Finish(listing) => return Ok(Step::End(listing)),
            Next::Finished => return Err(ApiError::Malformed("listing already ended".into())),
        };
        let page: Page<Value> = get_json(self.http, &url, self.token, &PREFER).await?;
        let items = page.value.len();
        let mut changes = Vec::with_capacity(items);
        for item in page.value {
            changes.extend(convert(item)?);
        }
        self.next = match (page.next_link, self.delta) {
            (Some(next), _) => Next::Fetch(next),
            (None, Some(full)) => {
                let delta_link = page.delta_link.ok_or_else(|| {
                    ApiError::Malformed("delta round ended without a deltaLink".into())
                })?;
                Next::Finish(Listing {
                    cursor: Some(delta_link),
                    full_window: full.then_some(self.window),
                })
            }
            (None, None) => Next::Finish(Listing {
                cursor: None,
                full_window: Some(self.window),
            }),
        };
        Ok(Step::Page { items, changes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_day_events_keep_their_dates_whatever_the_zone() {
        let change = convert(json!({
            "id": "a", "subject": "Holiday", "isAllDay": true,
            "start": { "dateTime": "2026-12-25T00:00:00.0000000", "timeZone": "Tokyo Standard Time" },
            "end": { "dateTime": "2026-12-26T00:00:00.0000000", "timeZone": "Tokyo Standard Time" },
        }))
        .unwrap()
        .unwrap();
        let Change::Upsert(event) = change else {
            panic!()
        };
        assert_eq!(
            event.when,
            Some(When::AllDay {
                start: "2026-12-25".parse().unwrap(),
                end: "2026-12-26".parse().unwrap()
            })
        );
    }

    #[test]
    fn windows_zone_names_are_mapped() {
        let t = GraphTime {
            date_time: "2026-07-01T09:00:00.0000000".into(),
            time_zone: Some("Pacific Standard Time".into()),
        };
        assert_eq!(
            instant(&t).unwrap().to_rfc3339(),
            "2026-07-01T16:00:00+00:00"
        );
    }

    #[test]
    fn removed_and_cancelled_items_are_cancellations() {
        for item in [
            json!({ "id": "x", "@removed": { "reason": "deleted" } }),
            json!({ "id": "x", "isCancelled": true, "subject": "Gone" }),
        ] {
            assert_eq!(
                convert(item).unwrap(),
                Some(Change::Cancelled {
                    provider_event_id: "x".into()
                })
            );
        }
    }

    #[test]
    fn a_partial_update_leaves_absent_fields_unknown() {
        let Some(Change::Upsert(event)) =
            convert(json!({ "id": "x", "subject": "Renamed" })).unwrap()
        else {
            panic!()
        };
        assert_eq!(event.title.as_deref(), Some("Renamed"));
        assert_eq!(event.when, None);
        assert_eq!(event.attendees, None);
        assert_eq!(event.location, None);
    }

    #[test]
    fn rooms_are_not_people() {
        let Some(Change::Upsert(event)) = convert(json!({
            "id": "x",
            "attendees": [
                { "type": "resource", "emailAddress": { "name": "Room 1", "address": "room1@contoso.example" } },
                { "type": "required", "status": { "response": "tentativelyAccepted" },
                  "emailAddress": { "name": "Amy", "address": "amy@contoso.example" } },
            ],
        }))
        .unwrap() else {
            panic!()
        };
        let attendees = event.attendees.unwrap();
        assert_eq!(attendees.len(), 1);
        assert_eq!(attendees[0].response, "tentative");
    }
}
