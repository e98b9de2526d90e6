//! Fuzzes the note grammar: parsing, identity matching and ticking must never panic, and a tick
//! must read back as ticked. The grammar module is compiled in directly (it depends only on
//! chrono and uuid), so the fuzzer builds in seconds rather than building all of Docket.
#![no_main]

#[path = "../../src/notes/grammar.rs"]
#[allow(dead_code)]
mod grammar;

use chrono::NaiveDate;
use grammar::{Context, Person, Previous};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let Ok(note) = std::str::from_utf8(data) else {
        return;
    };
    let people = [
        Person {
            id: Uuid::from_u128(1),
            name: "Sam Lee".into(),
            email: "sam@acme.example".into(),
        },
        Person {
            id: Uuid::from_u128(2),
            name: "Sam Ortiz".into(),
            email: "sam.ortiz@acme.example".into(),
        },
        Person {
            id: Uuid::from_u128(3),
            name: "Bob".into(),
            email: "bob@example.com".into(),
        },
    ];
    let ctx = Context {
        meeting_date: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        attendees: &people[..2],
        known_people: &people,
    };
    let items = grammar::parse(note, &ctx);
    assert_eq!(
        items,
        grammar::parse(note, &ctx),
        "parsing is deterministic"
    );
    let previous: Vec<Previous> = items
        .iter()
        .map(|i| Previous {
            kind: i.kind.clone(),
            line: i.line,
            fingerprint: &i.fingerprint,
        })
        .collect();
    let matches = grammar::match_items(&previous, &items);
    assert_eq!(matches.len(), items.len());
    for item in items.iter().take(8) {
        if let Some(ticked) = grammar::set_done(note, item.line, !item.done) {
            let again = grammar::parse(&ticked, &ctx);
            // Questions answered by an `!a` line stay answered when unticked (documented).
            if let Some(same) = again
                .iter()
                .find(|i| i.line == item.line && i.kind == grammar::Kind::ActionItem)
            {
                assert_eq!(same.done, !item.done, "a tick reads back");
            }
        }
    }
});
