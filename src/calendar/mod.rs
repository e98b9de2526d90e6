//! Calendars from Google Calendar, Microsoft Graph, CalDAV servers and ICS subscriptions,
//! normalised into one shape and stored.
//!
//! `google`, `microsoft`, `caldav` and `ics` speak each provider's wire protocol and return
//! [`Change`]s (the last two read iCalendar through `ical`, and reach addresses users typed
//! only through the guarded `fetch`); `connect` adds CalDAV accounts and subscriptions;
//! `store` applies them to PostgreSQL (idempotent upserts, mark-and-sweep, never a hard delete);
//! `directory` turns attendees into people and organizations; `crate::sync` schedules it all.

pub mod api;
pub mod caldav;
pub mod connect;
pub mod directory;
pub mod fetch;
pub mod google;
pub mod ical;
pub mod ics;
pub mod microsoft;
pub mod store;

use chrono::{DateTime, NaiveDate, Utc};

/// When an event happens.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    Timed {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        time_zone: Option<String>,
    },
    /// Floating dates, end exclusive: never converted through a time zone.
    AllDay { start: NaiveDate, end: NaiveDate },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attendee {
    pub email: String,
    pub name: Option<String>,
    /// Google's vocabulary: `accepted`, `declined`, `tentative`, `needsAction`.
    pub response: String,
    pub organizer: bool,
    pub optional: bool,
}

/// An event as a provider described it. `None` means the provider did not send the field (a
/// partial update): the stored value is kept, never blanked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub provider_event_id: String,
    pub ical_uid: Option<String>,
    pub series_provider_id: Option<String>,
    pub original_start: Option<DateTime<Utc>>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub when: Option<When>,
    pub tentative: bool,
    pub event_type: Option<String>,
    pub join_url: Option<String>,
    pub html_link: Option<String>,
    pub organizer_email: Option<String>,
    /// People only: rooms and other resources are filtered out by the provider modules.
    pub attendees: Option<Vec<Attendee>>,
}

/// One change reported by a provider.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Upsert(Box<Event>),
    /// Deleted, removed or cancelled; only the id is certain.
    Cancelled {
        provider_event_id: String,
    },
}

/// Event types that are calendar entries but not meetings.
pub fn is_meeting_type(event_type: &str) -> bool {
    !matches!(
        event_type,
        "focusTime" | "outOfOffice" | "workingLocation" | "birthday" | "fromGmail"
    )
}

/// A video-call link found in free text (invitees' Teams links often live only in the
/// description): the first Zoom, Teams, Meet or Webex URL.
pub fn find_join_url(text: &str) -> Option<String> {
    const HOSTS: [&str; 5] = [
        "zoom.us/",
        "teams.microsoft.com/l/meetup-join",
        "meet.google.com/",
        "webex.com/",
        "teams.live.com/meet",
    ];
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')'))
        .filter(|w| w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ';']))
        .find(|w| HOSTS.iter().any(|h| w.contains(h)))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_links_are_found_in_descriptions() {
        assert_eq!(
            find_join_url("Join: https://acme.zoom.us/j/123?pwd=x. Thanks").as_deref(),
            Some("https://acme.zoom.us/j/123?pwd=x")
        );
        assert_eq!(
            find_join_url("<a href=\"https://teams.microsoft.com/l/meetup-join/19%3a\">Join</a>")
                .as_deref(),
            Some("https://teams.microsoft.com/l/meetup-join/19%3a")
        );
        assert_eq!(find_join_url("See https://example.com/agenda"), None);
    }

    #[test]
    fn focus_time_and_out_of_office_are_not_meetings() {
        assert!(is_meeting_type("default"));
        assert!(!is_meeting_type("focusTime"));
        assert!(!is_meeting_type("outOfOffice"));
        assert!(is_meeting_type("someFutureType"));
    }
}
