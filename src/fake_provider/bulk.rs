//! Large generated calendars for the sync benchmark (`bench/sync`): deterministic, so every run
//! lists the same events.

use chrono::{DateTime, Duration, Utc};

use super::{
    FakeUser, Which,
    calendar::{FakeAttendee, FakeCalendar, FakeEvent, When},
};

/// People the attendees are drawn from, spread over this many company domains.
const PEOPLE: usize = 2000;
const DOMAINS: usize = 200;

/// A Google user with `calendars` calendars of `events` events each, `attendees` people per
/// event (the user first, as organizer), spread over the 80 days before `now` and the 300 after
/// (inside Docket's default sync window).
pub fn user(
    email: &str,
    calendars: usize,
    events: usize,
    attendees: usize,
    now: DateTime<Utc>,
) -> FakeUser {
    let start = now - Duration::days(80);
    let span = Duration::days(380).num_minutes() / events.max(1) as i64;
    let person = |k: usize| {
        let k = k % PEOPLE;
        (
            format!("person{k}@company{}.example", k % DOMAINS),
            format!("Person {k}"),
        )
    };
    let calendars = (0..calendars)
        .map(|c| {
            let events = (0..events)
                .map(|e| {
                    let at = start + Duration::minutes(span * e as i64 + c as i64);
                    let mut list = vec![FakeAttendee {
                        email: email.to_owned(),
                        name: "Bench User".into(),
                        response: "accepted".into(),
                        resource: false,
                        organizer: true,
                    }];
                    list.extend((1..attendees).map(|a| {
                        let (email, name) = person(e * 7 + a * 131 + c * 17);
                        FakeAttendee {
                            email,
                            name,
                            response: ["accepted", "tentative", "needsAction"][a % 3].into(),
                            resource: false,
                            organizer: false,
                        }
                    }));
                    FakeEvent {
                        id: format!("bulk{c}x{e}"),
                        ical_uid: format!("bulk{c}x{e}@bench"),
                        // Every tenth event belongs to one of a few weekly series.
                        series: (e % 10 == 0)
                            .then(|| (format!("series{c}x{}", e % 7), When::At(at))),
                        title: format!("Meeting {e} on calendar {c}"),
                        description: "Agenda: review the numbers and agree next steps.".into(),
                        location: if e % 3 == 0 {
                            format!("Room {}", e % 40)
                        } else {
                            String::new()
                        },
                        start: When::At(at),
                        end: When::At(at + Duration::minutes(30)),
                        time_zone: "UTC".into(),
                        organizer: (email.to_owned(), "Bench User".into()),
                        attendees: list,
                        join_url: Some(format!("https://meet.google.com/bulk-{c}-{e}")),
                        event_type: "default".into(),
                        cancelled: false,
                        changed: 1,
                    }
                })
                .collect();
            FakeCalendar {
                id: if c == 0 {
                    email.to_owned()
                } else {
                    format!("bulk-calendar-{c}@group.calendar.example")
                },
                name: format!("Calendar {c}"),
                primary: c == 0,
                access_role: "owner".into(),
                time_zone: "UTC".into(),
                events,
                tokens_valid_from: 0,
            }
        })
        .collect();
    FakeUser {
        which: Which::Google,
        subject: "bench-user-subject".into(),
        tenant: String::new(),
        email: email.to_owned(),
        name: "Bench User".into(),
        calendars,
    }
}

/// Changes `updates` events (a new title) and cancels `cancels` others, spread over every
/// calendar, each with a new change stamp: what the next incremental sync will list.
pub fn change(
    calendars: &mut [FakeCalendar],
    tick: &mut dyn FnMut() -> u64,
    updates: usize,
    cancels: usize,
) {
    let count = calendars.len().max(1);
    for k in 0..updates + cancels {
        let Some(calendar) = calendars.get_mut(k % count) else {
            return;
        };
        let live: Vec<usize> = (0..calendar.events.len())
            .filter(|&e| !calendar.events[e].cancelled)
            .collect();
        let Some(&e) = live.get((k * 7919) % live.len().max(1)) else {
            continue;
        };
        let event = &mut calendar.events[e];
        if k < updates {
            event.title = format!("{} (moved)", event.title);
        } else {
            event.cancelled = true;
        }
        event.changed = tick();
    }
}
