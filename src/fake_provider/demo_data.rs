//! The demo people and their calendars: a realistic few weeks around today for a VP of
//! Engineering (Google), a colleague at another company (Google), and a Microsoft 365 user.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::{
    FakeUser, Which,
    calendar::{FakeAttendee, FakeCalendar, FakeEvent, When},
};

pub const ADA: &str = "ada@northwind.example";
pub const ALAN: &str = "alan@bletchley.example";
pub const GRACE: &str = "grace@contoso.example";

struct Who(&'static str, &'static str);

const CHARLES: Who = Who("charles@northwind.example", "Charles Babbage");
const MARY: Who = Who("mary@northwind.example", "Mary Somerville");
const HEDY: Who = Who("hedy@northwind.example", "Hedy Lamarr");
const KATHERINE: Who = Who("katherine@northwind.example", "Katherine Johnson");
const WILE: Who = Who("wile@acme.example", "Wile E. Coyote");
const ROAD: Who = Who("road.runner@acme.example", "Road Runner");
const HANK: Who = Who("hank@globex.example", "Hank Scorpio");
const FRANK: Who = Who("frank.grimes@globex.example", "Frank Grimes");
const LIN: Who = Who("lin.zhao@gmail.com", "Lin Zhao");
const ROOM: Who = Who("board-room@resource.northwind.example", "Board Room (8)");
const SATYA: Who = Who("satya@contoso.example", "Satya Rao");
const AMY: Who = Who("amy@contoso.example", "Amy Chen");
const PAT: Who = Who("pat@fabrikam.example", "Pat Kelly");

/// Builds events in one calendar's zone, stamping each with a change counter.
struct Builder {
    zone: Tz,
    zone_name: &'static str,
    organizer: (String, String),
    events: Vec<FakeEvent>,
    next_id: u32,
}

struct Spec<'a> {
    title: &'a str,
    description: &'a str,
    location: &'a str,
    minutes: i64,
    people: &'a [&'a Who],
    join_url: Option<&'a str>,
    event_type: &'a str,
}

impl Builder {
    fn new(zone_name: &'static str, organizer: &Who) -> Self {
        Builder {
            zone: zone_name.parse().expect("known zone"),
            zone_name,
            organizer: (organizer.0.into(), organizer.1.into()),
            events: Vec::new(),
            next_id: 1,
        }
    }

    fn at(&self, day: NaiveDate, time: (u32, u32)) -> DateTime<Utc> {
        let local = day.and_time(NaiveTime::from_hms_opt(time.0, time.1, 0).expect("valid time"));
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
    }

    fn attendees(&self, people: &[&Who], seed: usize) -> Vec<FakeAttendee> {
        let mut list = vec![FakeAttendee {
            email: self.organizer.0.clone(),
            name: self.organizer.1.clone(),
            response: "accepted".into(),
            resource: false,
            organizer: true,
        }];
        for (i, p) in people.iter().enumerate() {
            let response = match (i + seed) % 7 {
                3 => "tentative",
                5 => "needsAction",
                6 if people.len() > 3 => "declined",
                _ => "accepted",
            };
            list.push(FakeAttendee {
                email: p.0.into(),
                name: p.1.into(),
                response: response.into(),
                resource: p.0.contains("@resource."),
                organizer: false,
            });
        }
        list
    }

    fn one(&mut self, day: NaiveDate, time: (u32, u32), spec: &Spec, series: Option<(&str, u32)>) {
        let start = self.at(day, time);
        let id = match series {
            Some((s, _)) => format!("{s}_{}", start.format("%Y%m%dT%H%M%SZ")),
            None => {
                self.next_id += 1;
                format!("ev{:05}{}", self.next_id, self.zone_name.len())
            }
        };
        let ical_uid = match series {
            Some((s, _)) => format!("{s}@docket-demo"),
            None => format!("{id}@docket-demo"),
        };
        let seed = series.map_or(self.next_id as usize, |(_, n)| n as usize);
        let attendees = if spec.people.is_empty() {
            Vec::new()
        } else {
            self.attendees(spec.people, seed)
        };
        self.events.push(FakeEvent {
            id,
            ical_uid,
            series: series.map(|(s, _)| (s.to_owned(), When::At(start))),
            title: spec.title.into(),
            description: spec.description.into(),
            location: spec.location.into(),
            start: When::At(start),
            end: When::At(start + Duration::minutes(spec.minutes)),
            time_zone: self.zone_name.into(),
            organizer: self.organizer.clone(),
            attendees,
            join_url: spec.join_url.map(str::to_owned),
            event_type: spec.event_type.into(),
            cancelled: false,
            changed: 1,
        });
    }

    fn weekly(
        &mut self,
        series: &str,
        days: &[NaiveDate],
        weekdays: &[Weekday],
        time: (u32, u32),
        spec: &Spec,
    ) {
        for (n, day) in days.iter().enumerate() {
            if weekdays.contains(&day.weekday()) {
                self.one(*day, time, spec, Some((series, n as u32)));
            }
        }
    }

    fn all_day(&mut self, first: NaiveDate, days: i64, title: &str, event_type: &str) {
        self.next_id += 1;
        let id = format!("allday{:04}", self.next_id);
        self.events.push(FakeEvent {
            ical_uid: format!("{id}@docket-demo"),
            id,
            series: None,
            title: title.into(),
            description: String::new(),
            location: String::new(),
            start: When::Day(first),
            end: When::Day(first + Duration::days(days)),
            time_zone: self.zone_name.into(),
            organizer: self.organizer.clone(),
            attendees: Vec::new(),
            join_url: None,
            event_type: event_type.into(),
            cancelled: false,
            changed: 1,
        });
    }

    fn cancel_where(&mut self, pred: impl Fn(&FakeEvent) -> bool) {
        for e in self.events.iter_mut().filter(|e| pred(e)) {
            e.cancelled = true;
        }
    }
}

fn spec<'a>(title: &'a str, minutes: i64, people: &'a [&'a Who]) -> Spec<'a> {
    Spec {
        title,
        description: "",
        location: "",
        minutes,
        people,
        join_url: None,
        event_type: "default",
    }
}

fn calendar(
    id: &str,
    name: &str,
    primary: bool,
    role: &str,
    zone: &str,
    events: Vec<FakeEvent>,
) -> FakeCalendar {
    FakeCalendar {
        id: id.into(),
        name: name.into(),
        primary,
        access_role: role.into(),
        time_zone: zone.into(),
        events,
        tokens_valid_from: 0,
    }
}

fn days_around(today: NaiveDate) -> Vec<NaiveDate> {
    (-21..=42).map(|d| today + Duration::days(d)).collect()
}

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

fn ada(today: NaiveDate) -> FakeUser {
    let days = days_around(today);
    let me = Who(ADA, "Ada Lovelace");
    let mut b = Builder::new("Europe/London", &me);
    b.weekly(
        "standup7q2",
        &days,
        &WEEKDAYS,
        (9, 30),
        &Spec {
            description: "Yesterday, today, blockers. Keep it to 15 minutes.",
            location: "Board Room (8)",
            join_url: Some("https://meet.google.com/abc-defg-hij"),
            ..spec(
                "Engineering stand-up",
                15,
                &[&CHARLES, &MARY, &HEDY, &KATHERINE, &ROOM],
            )
        },
    );
    b.weekly(
        "oneonecharles",
        &days,
        &[Weekday::Tue],
        (14, 0),
        &Spec {
            description: "Weekly 1:1. Shared agenda in the notes.",
            join_url: Some("https://meet.google.com/qrs-tuvw-xyz"),
            ..spec("Ada / Charles 1:1", 30, &[&CHARLES])
        },
    );
    b.weekly(
        "oneonemary",
        &days,
        &[Weekday::Thu],
        (11, 0),
        &Spec {
            description: "Weekly 1:1.",
            join_url: Some("https://meet.google.com/mno-pqrs-tuv"),
            ..spec("Ada / Mary 1:1", 30, &[&MARY])
        },
    );
    b.weekly(
        "acmesync",
        &days,
        &[Weekday::Wed],
        (16, 0),
        &Spec {
            description: "<p>Agenda</p><ul><li>Integration status</li><li>Open bugs</li><li>Launch date</li></ul>",
            location: "https://acme.zoom.us/j/93847561234",
            ..spec("Acme Corp — integration sync", 45, &[&WILE, &ROAD, &HEDY])
        },
    );
    b.weekly(
        "focusblock",
        &days,
        &[Weekday::Mon, Weekday::Wed],
        (13, 0),
        &Spec {
            event_type: "focusTime",
            ..spec("Focus time", 120, &[])
        },
    );
    // Today always has something to show, whatever the weekday.
    b.one(
        today,
        (10, 30),
        &Spec {
            description: "Review Q1 plan before it goes to the board. Bring headcount numbers.",
            location: "Board Room (8)",
            join_url: Some("https://meet.google.com/pln-qone-rev"),
            ..spec("Q1 planning review", 60, &[&CHARLES, &KATHERINE, &ROOM])
        },
        None,
    );
    b.one(
        today,
        (15, 0),
        &Spec {
            description: "Renewal terms for 2027. Join on Teams: https://teams.microsoft.com/l/meetup-join/19%3ameeting_globex%40thread.v2/0",
            ..spec("Globex renewal", 45, &[&HANK, &FRANK, &HEDY])
        },
        None,
    );
    b.one(
        today + Duration::days(1),
        (10, 0),
        &Spec {
            description: "Senior engineer loop, systems design round.",
            join_url: Some("https://meet.google.com/int-ervw-lin"),
            ..spec(
                "Interview: Lin Zhao (senior engineer)",
                60,
                &[&LIN, &KATHERINE],
            )
        },
        None,
    );
    b.one(
        today - Duration::days(7),
        (15, 0),
        &Spec {
            description: "Kick-off of the renewal conversation.",
            ..spec("Globex renewal kick-off", 30, &[&HANK, &HEDY])
        },
        None,
    );
    b.all_day(
        today + Duration::days(14),
        2,
        "Northwind offsite",
        "default",
    );
    b.all_day(today + Duration::days(9), 1, "Out of office", "outOfOffice");
    // A cancelled occurrence of a live series: hidden, the rest of the series stays.
    let skip = today
        + Duration::days(
            7 + (Weekday::Thu.num_days_from_monday() as i64
                - today.weekday().num_days_from_monday() as i64)
                .rem_euclid(7),
        );
    b.cancel_where(|e| {
        e.id.starts_with("oneonemary_") && matches!(e.start, When::At(t) if t.date_naive() == skip)
    });

    let holidays = {
        let mut h = Builder::new("Europe/London", &me);
        h.all_day(today + Duration::days(30), 1, "Company holiday", "default");
        h.all_day(
            today - Duration::days(12),
            1,
            "Charles — day off",
            "default",
        );
        h.events
    };
    FakeUser {
        which: Which::Google,
        subject: "110248495921238986420".into(),
        tenant: String::new(),
        email: ADA.into(),
        name: "Ada Lovelace".into(),
        calendars: vec![
            calendar(
                ADA,
                "Ada Lovelace",
                true,
                "owner",
                "Europe/London",
                b.events,
            ),
            calendar(
                "team-holidays@group.calendar.example",
                "Team holidays",
                false,
                "reader",
                "Europe/London",
                holidays,
            ),
            calendar(
                "exec-board@group.calendar.example",
                "Board",
                false,
                "freeBusyReader",
                "Europe/London",
                Vec::new(),
            ),
        ],
    }
}

fn alan(today: NaiveDate) -> FakeUser {
    let me = Who(ALAN, "Alan Turing");
    let mut b = Builder::new("Europe/London", &me);
    let ada = Who(ADA, "Ada Lovelace");
    b.one(
        today,
        (11, 0),
        &Spec {
            description: "Partnership: Bletchley x Northwind.",
            ..spec("Bletchley / Northwind partnership", 30, &[&ada])
        },
        None,
    );
    FakeUser {
        which: Which::Google,
        subject: "104719385562294016637".into(),
        tenant: String::new(),
        email: ALAN.into(),
        name: "Alan Turing".into(),
        calendars: vec![calendar(
            ALAN,
            "Alan Turing",
            true,
            "owner",
            "Europe/London",
            b.events,
        )],
    }
}

fn grace(today: NaiveDate) -> FakeUser {
    let days = days_around(today);
    let me = Who(GRACE, "Grace Hopper");
    let mut b = Builder::new("America/New_York", &me);
    b.weekly(
        "AAMkAGIplatform",
        &days,
        &[Weekday::Mon],
        (10, 0),
        &Spec {
            description: "Platform review: reliability, cost, roadmap.",
            join_url: Some("https://teams.microsoft.com/l/meetup-join/19%3aplatform%40thread.v2/0"),
            ..spec("Platform review", 60, &[&SATYA, &AMY])
        },
    );
    b.weekly(
        "AAMkAGIfabrikam",
        &days,
        &[Weekday::Thu],
        (14, 0),
        &Spec {
            description: "Weekly customer call with Fabrikam.",
            join_url: Some("https://teams.microsoft.com/l/meetup-join/19%3afabrikam%40thread.v2/0"),
            ..spec("Fabrikam weekly", 30, &[&PAT, &AMY])
        },
    );
    b.one(
        today,
        (13, 0),
        &Spec {
            description: "Compiler roadmap with Satya.",
            ..spec("Grace / Satya 1:1", 30, &[&SATYA])
        },
        None,
    );
    b.all_day(today + Duration::days(3), 1, "Thanksgiving", "default");
    FakeUser {
        which: Which::Microsoft,
        subject: "8d1c5e3a-6b2f-4c1e-9a7d-3f0b2e4c6a18".into(),
        tenant: "3c7a1e52-5f4d-4e8b-9c2a-7b6d5e4f3a21".into(),
        email: GRACE.into(),
        name: "Grace Hopper".into(),
        calendars: vec![
            calendar(
                "AAMkAGI-calendar-grace",
                "Calendar",
                true,
                "owner",
                "America/New_York",
                b.events,
            ),
            calendar(
                "AAMkAGI-calendar-clients",
                "Client projects",
                false,
                "owner",
                "America/New_York",
                Vec::new(),
            ),
        ],
    }
}

pub fn users(now: DateTime<Utc>) -> Vec<FakeUser> {
    let today = now.date_naive();
    vec![ada(today), alan(today), grace(today)]
}
