//! iCalendar (RFC 5545) into Docket's events: the shared reading of CalDAV resources and ICS
//! subscriptions, with `calcard` (Stalwart's parser) doing the parsing, the zones and the
//! recurrence rules.
//!
//! - Events are grouped by `UID`. A `UID` whose master has no `RRULE`/`RDATE` and no overrides
//!   is one event whose id is the key alone (the CalDAV resource's href, or the `UID` of a
//!   subscription), so moving it keeps its notes.
//! - A recurring `UID` is expanded within the sync window: the master's `RRULE` and `RDATE`
//!   less its `EXDATE`s, each occurrence replaced by the override whose `RECURRENCE-ID` names
//!   it. An occurrence's id is the key and its original start (`key@20261130T090000Z`, or
//!   `key@20261130` for all-day ones), its series the key: a moved occurrence keeps its id and
//!   its notes, a cancelled one (`EXDATE`, `STATUS:CANCELLED`) is simply not produced, and the
//!   caller's sweep marks it cancelled.
//! - `TZID`s resolve as IANA or Windows names, or through the file's `VTIMEZONE`s when those
//!   name a known zone (`X-LIC-LOCATION`, Microsoft's CDO ids); anything else, and floating
//!   times, are read in the calendar's zone (`X-WR-TIMEZONE`, else UTC). All-day events stay
//!   dates.
//! - Attendees with `CUTYPE=ROOM` or `RESOURCE` are not people.

use std::collections::{BTreeMap, HashSet};

use calcard::{
    common::timezone::Tz,
    icalendar::{
        ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry,
        ICalendarParameterName, ICalendarProperty, ICalendarStatus, ICalendarValue,
        dates::TimeOrDelta, utils::strip_mailto_scheme,
    },
};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::{Attendee, Event, When, find_join_url};

/// The most recurrence instances one file may expand to: a rule that would run forever (or
/// every second since 1970) stops here instead of exhausting the worker.
const EXPANSION_BUDGET: usize = 200_000;
/// The most instances of one rule, counted from its first occurrence.
const RULE_LIMIT: usize = 50_000;

/// Why a body is not iCalendar.
#[derive(Debug, thiserror::Error)]
#[error("not an iCalendar file")]
pub struct NotICalendar;

/// A parsed iCalendar object (one CalDAV resource or one subscribed file).
pub struct Calendar {
    inner: ICalendar,
}

impl Calendar {
    pub fn parse(text: &str) -> Result<Calendar, NotICalendar> {
        ICalendar::parse(text)
            .map(|inner| Calendar { inner })
            .map_err(|_| NotICalendar)
    }

    /// `X-WR-CALNAME`, the name calendar apps show for a subscription.
    pub fn name(&self) -> Option<String> {
        self.root_text("X-WR-CALNAME")
    }

    fn root_text(&self, name: &str) -> Option<String> {
        let root = self
            .inner
            .components
            .iter()
            .find(|c| c.component_type == ICalendarComponentType::VCalendar)?;
        root.entries
            .iter()
            .find(|e| e.name.as_str().eq_ignore_ascii_case(name))
            .and_then(text)
            .filter(|t| !t.trim().is_empty())
    }

    /// The zone floating times are read in: `X-WR-TIMEZONE` if it names one, else UTC.
    fn default_zone(&self) -> Tz {
        self.root_text("X-WR-TIMEZONE")
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .map_or(Tz::UTC, Tz::Tz)
    }

    /// Every event and occurrence that overlaps `window`. `key` names the source of a CalDAV
    /// resource (its href); a subscription's events are keyed by their `UID`.
    pub fn events(&self, key: Option<&str>, window: (DateTime<Utc>, DateTime<Utc>)) -> Vec<Event> {
        let zones: Vec<&ICalendarComponent> = self
            .inner
            .components
            .iter()
            .filter(|c| c.component_type == ICalendarComponentType::VTimezone)
            .collect();
        let mut by_uid: BTreeMap<&str, Vec<&ICalendarComponent>> = BTreeMap::new();
        for component in &self.inner.components {
            if component.component_type == ICalendarComponentType::VEvent
                && let Some(uid) = component.uid()
            {
                by_uid.entry(uid).or_default().push(component);
            }
        }
        let default_zone = self.default_zone();
        let mut budget = EXPANSION_BUDGET;
        let mut events = Vec::new();
        for (uid, components) in by_uid {
            let series = Series {
                uid,
                key: key.unwrap_or(uid),
                zones: &zones,
                default_zone,
                window,
            };
            series.expand(&components, &mut budget, &mut events);
        }
        events
    }
}

/// The components of one `UID`, with what expanding them needs.
struct Series<'a> {
    uid: &'a str,
    key: &'a str,
    zones: &'a [&'a ICalendarComponent],
    default_zone: Tz,
    window: (DateTime<Utc>, DateTime<Utc>),
}

/// One occurrence as expanded: where it is, and which component describes it.
struct Occurrence<'c> {
    start: DateTime<Tz>,
    end: TimeOrDelta<DateTime<Tz>, TimeDelta>,
    component: &'c ICalendarComponent,
}

impl<'a> Series<'a> {
    fn expand(
        &self,
        components: &[&'a ICalendarComponent],
        budget: &mut usize,
        out: &mut Vec<Event>,
    ) {
        let master = components
            .iter()
            .find(|c| !c.has_property(&ICalendarProperty::RecurrenceId));
        let overrides: Vec<&ICalendarComponent> = components
            .iter()
            .copied()
            .filter(|c| c.has_property(&ICalendarProperty::RecurrenceId))
            .collect();
        let recurring = master.is_some_and(|m| m.is_recurrent()) || !overrides.is_empty();
        if !recurring {
            let Some(master) = master else { return };
            for o in self.dates(master, budget) {
                self.push(&o, None, out);
            }
            return;
        }
        // Occurrences by original start (as an instant); overrides replace theirs.
        let mut occurrences: BTreeMap<DateTime<Utc>, Occurrence> = BTreeMap::new();
        if let Some(master) = master.filter(|m| !is_cancelled(m)) {
            for o in self.dates(master, budget) {
                occurrences.insert(o.start.with_timezone(&Utc), o);
            }
        }
        for component in overrides {
            let Some(original) = self.recurrence_id(component) else {
                continue;
            };
            occurrences.remove(&original);
            if is_cancelled(component) {
                continue;
            }
            if let Some(o) = self.dates(component, budget).into_iter().next() {
                occurrences.insert(original, o);
            }
        }
        for (original, o) in occurrences {
            self.push(&o, Some(original), out);
        }
    }

    /// The dates `component` alone expands to (its rule, `RDATE`s, less `EXDATE`s), zones
    /// resolved through the file's `VTIMEZONE`s.
    fn dates<'c>(
        &self,
        component: &'c ICalendarComponent,
        budget: &mut usize,
    ) -> Vec<Occurrence<'c>> {
        let mut alone = ICalendar {
            components: self.zones.iter().map(|z| (*z).clone()).collect(),
        };
        let mut copy = component.clone();
        // An override is expanded alone here, never matched by calcard against the master.
        copy.entries.retain(|e| {
            e.name != ICalendarProperty::RecurrenceId && e.name != ICalendarProperty::Sequence
        });
        alone.components.push(copy);
        let limit = RULE_LIMIT.min(*budget).max(1);
        let expanded = alone.expand_dates(self.default_zone, limit);
        *budget = budget.saturating_sub(expanded.events.len());
        expanded
            .events
            .into_iter()
            .map(|e| Occurrence {
                start: e.start,
                end: e.end,
                component,
            })
            .collect()
    }

    fn recurrence_id(&self, component: &ICalendarComponent) -> Option<DateTime<Utc>> {
        let entry = component.property(&ICalendarProperty::RecurrenceId)?;
        let Some(ICalendarValue::PartialDateTime(dt)) = entry.values.first() else {
            return None;
        };
        let zone = entry
            .tz_id()
            .or_else(|| {
                component
                    .property(&ICalendarProperty::Dtstart)
                    .and_then(|d| d.tz_id())
            })
            .and_then(|id| self.resolve(id))
            .unwrap_or(self.default_zone);
        let local = dt.to_date_time()?;
        Some(local.to_date_time_with_tz(zone)?.with_timezone(&Utc))
    }

    fn resolve(&self, tz_id: &str) -> Option<Tz> {
        let zones = ICalendar {
            components: self.zones.iter().map(|z| (*z).clone()).collect(),
        };
        zones.build_tz_resolver().resolve(tz_id)
    }

    /// Builds the event of one occurrence (`original` set for members of a series).
    fn push(&self, o: &Occurrence, original: Option<DateTime<Utc>>, out: &mut Vec<Event>) {
        let all_day = o
            .component
            .property(&ICalendarProperty::Dtstart)
            .and_then(|e| e.values.first())
            .is_some_and(|v| matches!(v, ICalendarValue::PartialDateTime(dt) if !dt.has_time()));
        let when = if all_day {
            let start = o.start.naive_local().date();
            let end = match o.end {
                TimeOrDelta::Time(end) => end.naive_local().date(),
                TimeOrDelta::Delta(d) => start + TimeDelta::days(d.num_days()),
            };
            When::AllDay {
                start,
                end: end.max(start.succ_opt().unwrap_or(start)),
            }
        } else {
            let start = o.start.with_timezone(&Utc);
            let end = match o.end {
                TimeOrDelta::Time(end) => end.with_timezone(&Utc),
                TimeOrDelta::Delta(d) => start + d,
            };
            When::Timed {
                start,
                end: end.max(start),
                time_zone: match o.start.timezone() {
                    Tz::Tz(zone) => Some(zone.name().to_owned()),
                    _ => None,
                },
            }
        };
        if !overlaps(&when, self.window) {
            return;
        }
        let provider_event_id = match (original, &when) {
            (None, _) => self.key.to_owned(),
            (Some(_), When::AllDay { .. }) => format!(
                "{}@{}",
                self.key,
                original_date(o, original).format("%Y%m%d")
            ),
            (Some(at), When::Timed { .. }) => {
                format!("{}@{}", self.key, at.format("%Y%m%dT%H%M%SZ"))
            }
        };
        out.push(describe(
            o.component,
            Event {
                provider_event_id,
                ical_uid: Some(self.uid.to_owned()),
                series_provider_id: original.map(|_| self.key.to_owned()),
                original_start: original,
                when: Some(when),
                ..Event::default()
            },
        ));
    }
}

/// An all-day occurrence's original date: its `RECURRENCE-ID` read as a date (an instant at
/// midnight in the file's zone would name the day before in zones west of it).
fn original_date(o: &Occurrence, original: Option<DateTime<Utc>>) -> NaiveDate {
    o.component
        .property(&ICalendarProperty::RecurrenceId)
        .and_then(|e| e.values.first())
        .and_then(|v| match v {
            ICalendarValue::PartialDateTime(dt) => dt.to_date_time(),
            _ => None,
        })
        .map(|dt| dt.date_time.date())
        .unwrap_or_else(|| original.map_or(o.start.naive_local().date(), |at| at.date_naive()))
}

fn overlaps(when: &When, (from, to): (DateTime<Utc>, DateTime<Utc>)) -> bool {
    let (start, end) = match when {
        When::Timed { start, end, .. } => (*start, *end),
        When::AllDay { start, end } => (
            start.and_time(chrono::NaiveTime::MIN).and_utc(),
            end.and_time(chrono::NaiveTime::MIN).and_utc(),
        ),
    };
    end > from && start < to
}

fn is_cancelled(component: &ICalendarComponent) -> bool {
    component.status() == Some(&ICalendarStatus::Cancelled)
}

fn text(entry: &ICalendarEntry) -> Option<String> {
    let parts: Vec<&str> = entry.values.iter().filter_map(|v| v.as_text()).collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

fn property_text(component: &ICalendarComponent, property: &ICalendarProperty) -> Option<String> {
    component.property(property).and_then(text)
}

fn parameter<'e>(entry: &'e ICalendarEntry, name: &ICalendarParameterName) -> Option<&'e str> {
    entry.parameters(name).find_map(|v| v.as_text())
}

/// A calendar user's address, without `mailto:`; `None` unless it looks like an e-mail.
fn address(entry: &ICalendarEntry) -> Option<String> {
    let value = entry.values.first()?.as_text()?;
    let email = strip_mailto_scheme(value.trim()).trim();
    (email.contains('@') && !email.contains(char::is_whitespace)).then(|| email.to_owned())
}

/// Google's vocabulary for a `PARTSTAT`, as the rest of Docket speaks it.
fn response(partstat: Option<&str>) -> &'static str {
    match partstat.map(str::to_ascii_uppercase).as_deref() {
        Some("ACCEPTED") => "accepted",
        Some("DECLINED") => "declined",
        Some("TENTATIVE") => "tentative",
        _ => "needsAction",
    }
}

/// Fills in what an event says besides its time: title, text, people, links.
fn describe(component: &ICalendarComponent, mut event: Event) -> Event {
    let description = property_text(component, &ICalendarProperty::Description);
    let location = property_text(component, &ICalendarProperty::Location);
    let organizer = component.property(&ICalendarProperty::Organizer);
    let organizer_email = organizer.and_then(address);
    let mut attendees: Vec<Attendee> = Vec::new();
    let mut listed: HashSet<String> = HashSet::new();
    for entry in component.properties(&ICalendarProperty::Attendee) {
        let cutype = parameter(entry, &ICalendarParameterName::Cutype).map(str::to_ascii_uppercase);
        if matches!(cutype.as_deref(), Some("ROOM" | "RESOURCE")) {
            continue;
        }
        let Some(email) = address(entry) else {
            continue;
        };
        if !listed.insert(email.to_lowercase()) {
            continue;
        }
        let is_organizer = organizer_email
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(&email));
        attendees.push(Attendee {
            name: parameter(entry, &ICalendarParameterName::Cn)
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
            response: response(parameter(entry, &ICalendarParameterName::Partstat)).to_owned(),
            organizer: is_organizer,
            optional: parameter(entry, &ICalendarParameterName::Role)
                .is_some_and(|r| r.eq_ignore_ascii_case("OPT-PARTICIPANT")),
            email,
        });
    }
    // The organizer of a meeting with guests attends it, listed or not.
    if let (Some(entry), Some(email), false) = (organizer, &organizer_email, attendees.is_empty())
        && listed.insert(email.to_lowercase())
    {
        attendees.push(Attendee {
            email: email.clone(),
            name: parameter(entry, &ICalendarParameterName::Cn)
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
            response: "accepted".into(),
            organizer: true,
            optional: false,
        });
    }
    let conference = component
        .entries
        .iter()
        .find(|e| e.name.as_str().eq_ignore_ascii_case("X-GOOGLE-CONFERENCE"))
        .and_then(text)
        .filter(|u| u.starts_with("https://"));
    let url = property_text(component, &ICalendarProperty::Url);
    event.join_url = conference
        .or_else(|| url.as_deref().and_then(find_join_url))
        .or_else(|| location.as_deref().and_then(find_join_url))
        .or_else(|| description.as_deref().and_then(find_join_url));
    event.title = Some(property_text(component, &ICalendarProperty::Summary).unwrap_or_default());
    event.description = Some(description.unwrap_or_default());
    event.location = Some(location.unwrap_or_default());
    event.tentative = component.status() == Some(&ICalendarStatus::Tentative);
    event.event_type = Some("default".into());
    event.organizer_email = organizer_email;
    event.attendees = Some(attendees);
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn window() -> (DateTime<Utc>, DateTime<Utc>) {
        (
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        )
    }

    fn events(ics: &str) -> Vec<Event> {
        Calendar::parse(&ics.replace('\n', "\r\n"))
            .unwrap()
            .events(Some("/cal/a.ics"), window())
    }

    const WEEKLY: &str = "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Custom Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly-1
SEQUENCE:0
DTSTART;TZID=Custom Berlin:20261005T100000
DTEND;TZID=Custom Berlin:20261005T103000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Custom Berlin:20261019T100000
SUMMARY:Weekly sync
ORGANIZER;CN=Ada Lovelace:mailto:ada@northwind.example
ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@contoso.example
ATTENDEE;CN=Room 1;CUTYPE=ROOM:mailto:room1@northwind.example
ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:carol@contoso.example
LOCATION:https://acme.zoom.us/j/123
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
SEQUENCE:2
RECURRENCE-ID;TZID=Custom Berlin:20261012T100000
DTSTART;TZID=Custom Berlin:20261013T150000
DTEND;TZID=Custom Berlin:20261013T153000
SUMMARY:Weekly sync (moved)
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
RECURRENCE-ID;TZID=Custom Berlin:20261102T100000
DTSTART;TZID=Custom Berlin:20261102T100000
DTEND;TZID=Custom Berlin:20261102T103000
STATUS:CANCELLED
SUMMARY:Weekly sync
END:VEVENT
END:VCALENDAR
";

    #[test]
    fn a_series_expands_with_its_moved_excluded_and_cancelled_occurrences() {
        let events = events(WEEKLY);
        let ids: Vec<&str> = events
            .iter()
            .map(|e| e.provider_event_id.as_str())
            .collect();
        // Six weekly from 5 October; 19 October excluded, 2 November cancelled; the zone's
        // summer time ends on 25 October (10:00 is 08:00Z before, 09:00Z after).
        assert_eq!(
            ids,
            [
                "/cal/a.ics@20261005T080000Z",
                "/cal/a.ics@20261012T080000Z",
                "/cal/a.ics@20261026T090000Z",
                "/cal/a.ics@20261109T090000Z",
            ]
        );
        let moved = &events[1];
        assert_eq!(moved.title.as_deref(), Some("Weekly sync (moved)"));
        assert_eq!(
            moved.when,
            Some(When::Timed {
                start: Utc.with_ymd_and_hms(2026, 10, 13, 13, 0, 0).unwrap(),
                end: Utc.with_ymd_and_hms(2026, 10, 13, 13, 30, 0).unwrap(),
                time_zone: Some("Europe/Berlin".into()),
            })
        );
        assert!(
            events
                .iter()
                .all(|e| e.series_provider_id.as_deref() == Some("/cal/a.ics"))
        );
        assert_eq!(
            events[0].original_start,
            Some(Utc.with_ymd_and_hms(2026, 10, 5, 8, 0, 0).unwrap())
        );
    }

    #[test]
    fn attendees_are_people_with_their_answers_and_rooms_are_not() {
        let first = &events(WEEKLY)[0];
        let attendees = first.attendees.as_ref().unwrap();
        let emails: Vec<&str> = attendees.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(
            emails,
            [
                "bob@contoso.example",
                "carol@contoso.example",
                "ada@northwind.example"
            ]
        );
        assert_eq!(attendees[0].response, "accepted");
        assert_eq!(attendees[0].name.as_deref(), Some("Bob"));
        assert!(attendees[1].optional);
        assert_eq!(attendees[1].response, "tentative");
        assert!(attendees[2].organizer);
        assert_eq!(
            first.organizer_email.as_deref(),
            Some("ada@northwind.example")
        );
        assert_eq!(
            first.join_url.as_deref(),
            Some("https://acme.zoom.us/j/123")
        );
    }

    #[test]
    fn a_single_event_is_keyed_by_its_source_and_all_day_dates_stay_dates() {
        let events = events(
            "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:offsite
DTSTART;VALUE=DATE:20260310
DTEND;VALUE=DATE:20260312
SUMMARY:Offsite
DESCRIPTION:Join https://meet.google.com/abc-defg-hij
END:VEVENT
END:VCALENDAR
",
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].provider_event_id, "/cal/a.ics");
        assert_eq!(events[0].series_provider_id, None);
        assert_eq!(
            events[0].when,
            Some(When::AllDay {
                start: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
                end: NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            })
        );
        assert_eq!(
            events[0].join_url.as_deref(),
            Some("https://meet.google.com/abc-defg-hij")
        );
    }

    #[test]
    fn windows_zones_rdates_and_the_window_are_honoured() {
        let events = events(
            "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:standup
DTSTART;TZID=W. Europe Standard Time:20261228T090000
DURATION:PT15M
RRULE:FREQ=DAILY
RDATE;TZID=W. Europe Standard Time:20261227T110000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:old
DTSTART:20200101T090000Z
DTEND:20200101T100000Z
SUMMARY:Long ago
END:VEVENT
END:VCALENDAR
",
        );
        let ids: Vec<&str> = events
            .iter()
            .map(|e| e.provider_event_id.as_str())
            .collect();
        // 27 Dec from RDATE, then daily from 28 Dec to the window's end (1 Jan 2027 00:00Z).
        assert_eq!(
            ids,
            [
                "/cal/a.ics@20261227T100000Z",
                "/cal/a.ics@20261228T080000Z",
                "/cal/a.ics@20261229T080000Z",
                "/cal/a.ics@20261230T080000Z",
                "/cal/a.ics@20261231T080000Z",
            ]
        );
        assert!(matches!(
            &events[1].when,
            Some(When::Timed { time_zone: Some(z), .. }) if z == "Europe/Berlin"
        ));
    }

    #[test]
    fn a_subscription_keys_events_by_uid_and_names_itself() {
        let calendar = Calendar::parse(
            &"BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
X-WR-CALNAME:Team holidays
BEGIN:VEVENT
UID:a@example
DTSTART:20260601T090000Z
DTEND:20260601T100000Z
SUMMARY:A
END:VEVENT
BEGIN:VEVENT
UID:b@example
DTSTART:20260602T090000Z
DTEND:20260602T100000Z
SUMMARY:B
STATUS:TENTATIVE
END:VEVENT
END:VCALENDAR
"
            .replace('\n', "\r\n"),
        )
        .unwrap();
        assert_eq!(calendar.name().as_deref(), Some("Team holidays"));
        let events = calendar.events(None, window());
        let ids: Vec<&str> = events
            .iter()
            .map(|e| e.provider_event_id.as_str())
            .collect();
        assert_eq!(ids, ["a@example", "b@example"]);
        assert!(events[1].tentative);
    }

    #[test]
    fn garbage_is_not_icalendar() {
        assert!(Calendar::parse("<html>not a calendar</html>").is_err());
    }
}
