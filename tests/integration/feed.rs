//! The calendar feed of what is due, read the way a calendar app reads it: without cookies, and
//! parsed by an iCalendar parser independent of the crate that writes it (`calcard`, Stalwart's
//! CalDAV parser; Docket writes with `icalendar`).

use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarProperty, ICalendarStatus,
    ICalendarValue,
};
use chrono::NaiveDate;
use reqwest::{Client, StatusCode, header};
use scraper::Selector;
use uuid::Uuid;

use crate::common::{
    Browser, World, location, meeting_id, save_meeting_note, synced, texts, world_with,
};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

/// Makes (or remakes) the feed in Settings and reads its address off the page, as a person does.
async fn make_feed(browser: &Browser) -> String {
    let response = browser.post_form("/settings/feed", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings#feed");
    let doc = browser.get_html("/settings").await;
    doc.select(&Selector::parse("input#feed-url").unwrap())
        .next()
        .expect("the new feed address is shown")
        .attr("value")
        .unwrap()
        .to_owned()
}

/// A calendar app: no cookies, nothing but the URL.
async fn fetch(url: &str, if_none_match: Option<&str>) -> reqwest::Response {
    let mut request = Client::new().get(url);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    request.send().await.unwrap()
}

/// A feed fetched, checked to be served as a calendar, and parsed.
struct Fetched {
    body: String,
    etag: String,
    calendar: ICalendar,
}

async fn fetch_calendar(url: &str) -> Fetched {
    let response = fetch(url, None).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    let headers = response.headers().clone();
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=300");
    assert!(
        headers.get(header::SET_COOKIE).is_none(),
        "a feed never starts a session"
    );
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let body = response.text().await.unwrap();
    let calendar = ICalendar::parse(&body)
        .unwrap_or_else(|e| panic!("the feed does not parse: {e:?}\n{body}"));
    Fetched {
        body,
        etag,
        calendar,
    }
}

fn of_kind(calendar: &ICalendar, kind: ICalendarComponentType) -> Vec<&ICalendarComponent> {
    calendar
        .components
        .iter()
        .filter(|c| c.component_type == kind)
        .collect()
}

fn events(calendar: &ICalendar) -> Vec<&ICalendarComponent> {
    of_kind(calendar, ICalendarComponentType::VEvent)
}

fn todos(calendar: &ICalendar) -> Vec<&ICalendarComponent> {
    of_kind(calendar, ICalendarComponentType::VTodo)
}

fn text(component: &ICalendarComponent, property: ICalendarProperty) -> String {
    component
        .property(&property)
        .and_then(|e| e.values.first())
        .and_then(ICalendarValue::as_text)
        .unwrap_or_else(|| panic!("no {property:?} text in {component:?}"))
        .to_owned()
}

/// A DATE value (no time of day).
fn date(component: &ICalendarComponent, property: ICalendarProperty) -> NaiveDate {
    let entry = component
        .property(&property)
        .unwrap_or_else(|| panic!("no {property:?} in {component:?}"));
    let Some(ICalendarValue::PartialDateTime(dt)) = entry.values.first() else {
        panic!("{property:?} is not a date: {entry:?}");
    };
    assert_eq!(dt.hour, None, "{property:?} is a date, not a date-time");
    NaiveDate::from_ymd_opt(
        i32::from(dt.year.unwrap()),
        u32::from(dt.month.unwrap()),
        u32::from(dt.day.unwrap()),
    )
    .unwrap()
}

/// The component whose SUMMARY contains `needle`.
fn by_summary<'a>(components: &[&'a ICalendarComponent], needle: &str) -> &'a ICalendarComponent {
    components
        .iter()
        .copied()
        .find(|c| text(c, ICalendarProperty::Summary).contains(needle))
        .unwrap_or_else(|| panic!("no item {needle:?} in the feed"))
}

fn summaries(components: &[&ICalendarComponent]) -> Vec<String> {
    components
        .iter()
        .map(|c| text(c, ICalendarProperty::Summary))
        .collect()
}

fn uids(calendar: &ICalendar) -> Vec<String> {
    calendar.uids().map(str::to_owned).collect()
}

/// The text of an action item by how it starts, as Docket stored it.
async fn item(world: &World, starts: &str) -> (Uuid, String, chrono::DateTime<chrono::Utc>) {
    sqlx::query_as(
        "select id, text, updated_at from items where kind = 'action' and text like $1 || '%'",
    )
    .bind(starts)
    .fetch_one(&world.app.db)
    .await
    .unwrap()
}

const LONG: &str = "review the Zürich budget, the Q3 forecast; the hiring plan \\ the vendor contracts, and the naïve “quick wins” list before the board";

#[tokio::test]
async fn the_feed_serves_open_dated_action_items_as_all_day_events_and_todos() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Q1 planning review").await;
    save_meeting_note(
        &ada,
        meeting,
        &format!(
            "Agenda\n- [ ] @charles send the deck due:2026-12-01\n- [ ] {LONG} due:2026-11-25\n\
             - [ ] @ada book the room due:2026-11-20\n- [ ] chase the quote\n\
             - [x] @katherine share the minutes due:2026-11-21\nDecision: freeze scope\n\
             ?? who owns the migration\n"
        ),
    )
    .await;
    let response = ada
        .post_form(
            "/notes",
            &[
                ("title", "Reorg thoughts"),
                ("body", "!! @hedy draft the proposal due:2026-11-30\n"),
                ("base_version", "0"),
            ],
        )
        .await;
    let note_path = location(&response);
    let base = world.app.base.clone();

    let url = make_feed(&ada).await;
    let token = url
        .strip_prefix(&format!("{base}/feeds/"))
        .and_then(|rest| rest.strip_suffix(".ics"))
        .unwrap_or_else(|| panic!("{url} is not under {base}/feeds/"));
    assert_eq!(token.len(), 43, "256 bits in base64url");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    // Only the hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from feed_tokens")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(token));

    let first = fetch_calendar(&url).await;
    let calendar = &first.calendar;

    // The calendar itself.
    let vcalendar = &of_kind(calendar, ICalendarComponentType::VCalendar)[0];
    assert_eq!(text(vcalendar, ICalendarProperty::Version), "2.0");
    assert!(text(vcalendar, ICalendarProperty::Prodid).contains("Docket"));
    assert!(first.body.contains("\r\nCALSCALE:GREGORIAN\r\n"));
    let name = vcalendar
        .entries
        .iter()
        .find(|e| matches!(&e.name, ICalendarProperty::Other(n) if n.eq_ignore_ascii_case("X-WR-CALNAME")))
        .and_then(|e| e.values.first())
        .and_then(ICalendarValue::as_text);
    assert_eq!(name, Some("Docket — due action items"));

    // Open action items with a due date, as events and as to-dos; nothing else.
    let events = events(calendar);
    let todos = todos(calendar);
    let mut expected = vec![
        "Charles Babbage: @charles send the deck".to_owned(),
        LONG.to_owned(),
        "@ada book the room".to_owned(),
        "Hedy Lamarr: @hedy draft the proposal".to_owned(),
    ];
    expected.sort();
    for components in [&events, &todos] {
        let mut got = summaries(components);
        got.sort();
        assert_eq!(
            got, expected,
            "undated, done, decisions and questions stay out"
        );
    }

    // Dates: an all-day event on the due date (ending the next day), a to-do due that day.
    let deck_event = by_summary(&events, "send the deck");
    assert_eq!(
        date(deck_event, ICalendarProperty::Dtstart),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    );
    assert_eq!(
        date(deck_event, ICalendarProperty::Dtend),
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    );
    let deck_todo = by_summary(&todos, "send the deck");
    assert_eq!(
        date(deck_todo, ICalendarProperty::Due),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    );
    assert_eq!(deck_todo.status(), Some(&ICalendarStatus::NeedsAction));
    assert!(first.body.contains("DTSTART;VALUE=DATE:20261201\r\n"));
    assert!(first.body.contains("DUE;VALUE=DATE:20261201\r\n"));

    // Each links back to where it was written: the meeting, or the standalone note.
    assert_eq!(
        text(deck_event, ICalendarProperty::Url),
        format!("{base}/meetings/{meeting}")
    );
    assert_eq!(
        text(
            by_summary(&todos, "draft the proposal"),
            ICalendarProperty::Url
        ),
        format!("{base}{note_path}")
    );
    let description = text(deck_event, ICalendarProperty::Description);
    assert!(
        description.starts_with("From the meeting Q1 planning review on "),
        "{description}"
    );
    assert!(
        description.contains("\nAssigned to Charles Babbage\n"),
        "{description}"
    );
    let mine = text(
        by_summary(&events, "book the room"),
        ICalendarProperty::Description,
    );
    assert!(mine.contains("\nAssigned to you\n"), "{mine}");
    let standalone = text(
        by_summary(&events, "draft the proposal"),
        ICalendarProperty::Description,
    );
    assert!(standalone.starts_with("From a note\n"), "{standalone}");

    // UIDs name the item; DTSTAMP is its last change.
    let (deck_id, _, deck_changed) = item(&world, "@charles send the deck").await;
    assert_eq!(
        deck_event.uid(),
        Some(format!("{deck_id}-event@docket").as_str())
    );
    assert_eq!(
        deck_todo.uid(),
        Some(format!("{deck_id}-todo@docket").as_str())
    );
    let stamp = deck_changed.format("%Y%m%dT%H%M%SZ").to_string();
    for component in [deck_event, deck_todo] {
        let Some(ICalendarValue::PartialDateTime(dt)) = component
            .property(&ICalendarProperty::Dtstamp)
            .and_then(|e| e.values.first())
        else {
            panic!("no DTSTAMP in {component:?}");
        };
        assert_eq!(
            format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                dt.year.unwrap(),
                dt.month.unwrap(),
                dt.day.unwrap(),
                dt.hour.unwrap(),
                dt.minute.unwrap(),
                dt.second.unwrap()
            ),
            stamp
        );
    }

    // The long item: escaped, folded at 75 octets, and read back exactly.
    let (_, long_text, _) = item(&world, "review the Zürich").await;
    assert!(long_text.len() > 75 && long_text.contains([',', ';', '\\', 'ü']));
    assert_eq!(
        text(by_summary(&todos, "Zürich"), ICalendarProperty::Summary),
        long_text
    );
    assert!(first.body.ends_with("END:VCALENDAR\r\n"));
    let lines: Vec<&str> = first.body.split("\r\n").collect();
    for line in &lines {
        assert!(
            line.len() <= 75,
            "a line of {} octets: {line:?}",
            line.len()
        );
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare line break in {line:?}"
        );
    }
    let summary_line = lines
        .iter()
        .position(|l| l.starts_with("SUMMARY:review the Z"))
        .expect("the long summary");
    assert!(
        lines[summary_line + 1].starts_with(' '),
        "the long summary continues on a folded line"
    );
    // Escaped on the wire (RFC 5545 3.3.11), whatever a parser makes of it.
    assert!(
        first
            .body
            .replace("\r\n ", "")
            .contains(r"budget\, the Q3 forecast\; the hiring plan \\ the vendor")
    );

    // The same request gives the same bytes: UIDs, stamps and the ETag are stable.
    let second = fetch_calendar(&url).await;
    assert_eq!(uids(&second.calendar), uids(calendar));
    assert_eq!(second.body, first.body);
    assert_eq!(second.etag, first.etag);

    // Settings no longer shows the address, only that the feed exists and was read.
    let doc = ada.get_html("/settings").await;
    assert!(
        doc.select(&Selector::parse("input#feed-url").unwrap())
            .next()
            .is_none(),
        "the address is shown once"
    );
    assert!(!doc.html().contains(token));
    let status = texts(&doc, "#feed-status");
    assert!(
        status[0].starts_with("A feed exists, created on ")
            && status[0].contains("last fetched just now"),
        "{status:?}"
    );
}

#[tokio::test]
async fn an_unchanged_feed_answers_304_and_a_done_item_leaves_it() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(
        &ada,
        meeting,
        "- [ ] @hank send terms due:2026-10-01\n- [ ] @frank sign the order due:2026-10-02\n",
    )
    .await;
    let url = make_feed(&ada).await;
    let first = fetch_calendar(&url).await;
    assert_eq!(events(&first.calendar).len(), 2);

    let unchanged = fetch(&url, Some(&first.etag)).await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(unchanged.headers()[header::ETAG], first.etag.as_str());
    assert_eq!(
        unchanged.headers()[header::CACHE_CONTROL],
        "private, max-age=300"
    );
    assert!(unchanged.text().await.unwrap().is_empty());
    // A list naming it, and the strong form of the same tag, match too.
    let strong = first.etag.trim_start_matches("W/");
    for tag in [format!("\"other\", {}", first.etag), strong.to_owned()] {
        assert_eq!(
            fetch(&url, Some(&tag)).await.status(),
            StatusCode::NOT_MODIFIED,
            "{tag}"
        );
    }
    assert_eq!(
        fetch(&url, Some("\"other\"")).await.status(),
        StatusCode::OK
    );

    let (terms, _, _) = item(&world, "@hank send terms").await;
    let response = ada
        .post_form(&format!("/items/{terms}/done"), &[("done", "true")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stale = fetch(&url, Some(&first.etag)).await;
    assert_eq!(
        stale.status(),
        StatusCode::OK,
        "the old tag no longer matches"
    );
    let after = fetch_calendar(&url).await;
    assert_ne!(after.etag, first.etag);
    assert_eq!(
        summaries(&events(&after.calendar)),
        ["Frank Grimes: @frank sign the order"]
    );
    assert!(!after.body.contains("send terms"));
    assert!(!after.body.contains(&terms.to_string()));
}

#[tokio::test]
async fn regenerating_kills_the_old_address_and_revoking_kills_the_feed() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let doc = ada.get_html("/settings").await;
    assert_eq!(
        texts(&doc, "#feed button"),
        ["Create a feed address"],
        "no feed yet"
    );
    let old = make_feed(&ada).await;
    assert_eq!(fetch(&old, None).await.status(), StatusCode::OK);
    let doc = ada.get_html("/settings").await;
    assert_eq!(
        texts(&doc, "#feed button"),
        ["Regenerate address", "Revoke feed"]
    );

    let new = make_feed(&ada).await;
    assert_ne!(new, old);
    assert_eq!(fetch(&old, None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fetch(&new, None).await.status(), StatusCode::OK);
    let rows: i64 = sqlx::query_scalar("select count(*) from feed_tokens")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(rows, 1, "one feed per user");

    let response = ada.post_form("/settings/feed/revoke", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings#feed");
    assert_eq!(fetch(&new, None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fetch(&old, None).await.status(), StatusCode::NOT_FOUND);
    let doc = ada.get_html("/settings").await;
    assert_eq!(texts(&doc, "#feed button"), ["Create a feed address"]);
}

#[tokio::test]
async fn another_users_items_never_appear_in_a_feed() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let alan = synced(&world, ALAN).await;
    let adas = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(&ada, adas, "- [ ] ada's secret task due:2026-09-01\n").await;
    let alans = meeting_id(&world, ALAN, "Bletchley / Northwind partnership").await;
    save_meeting_note(&alan, alans, "- [ ] alan's secret task due:2026-09-01\n").await;

    let ada_feed = fetch_calendar(&make_feed(&ada).await).await;
    let alan_feed = fetch_calendar(&make_feed(&alan).await).await;
    assert_eq!(summaries(&todos(&ada_feed.calendar)), ["ada's secret task"]);
    assert_eq!(
        summaries(&todos(&alan_feed.calendar)),
        ["alan's secret task"]
    );
    assert!(!ada_feed.body.contains("alan's") && !alan_feed.body.contains("ada's"));
    assert!(!alan_feed.body.contains(&adas.to_string()));
}

#[tokio::test]
async fn malformed_and_unknown_tokens_are_404_never_500() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let url = make_feed(&ada).await;
    let token = url
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ics")
        .to_owned();
    let unknown = "A".repeat(43);
    let paths = [
        format!("/feeds/{}.ics", &token[..20]),      // too short
        format!("/feeds/{token}x.ics"),              // too long by one
        format!("/feeds/{}.ics", "A".repeat(4_000)), // very long
        format!("/feeds/{}!.ics", &token[..42]),     // not base64url
        format!("/feeds/{}%FF.ics", &token[..40]),   // not even UTF-8
        format!("/feeds/{}%2F.ics", &token[..40]),
        format!("/feeds/{}+.ics", &token[..42]), // standard base64
        format!("/feeds/{}=.ics", &token[..42]), // padding
        format!("/feeds/{token}"),               // no extension
        format!("/feeds/{token}.ICS"),           // another extension
        format!("/feeds/{token}.ics.ics"),
        format!("/feeds/{unknown}.ics"), // well-formed, unknown
        format!("/feeds/{}B.ics", &token[..42]), // not canonical base64
        "/feeds/.ics".to_owned(),
        "/feeds/' OR 1=1--.ics".to_owned(),
    ];
    let client = Client::new();
    for path in paths {
        let response = client.get(world.app.url(&path)).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("Page not found"), "{path}: a plain 404 page");
        assert!(
            !body.contains("token") && !body.contains("revoked"),
            "{path}: no detail"
        );
    }
    // None of that disturbed the real feed.
    assert_eq!(fetch(&url, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn feed_settings_refuse_posts_without_the_csrf_token() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let url = make_feed(&ada).await;
    for path in ["/settings/feed", "/settings/feed/revoke"] {
        let response = ada
            .client
            .post(world.app.url(path))
            .form(&[("x", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        fetch(&url, None).await.status(),
        StatusCode::OK,
        "neither replaced nor revoked"
    );
}

#[tokio::test]
async fn the_feed_is_rate_limited_per_client_and_per_feed() {
    let world = world_with(&[("DOCKET_FEED_RATE_PER_MINUTE", "3")]).await;
    let client = Client::new();
    let unknown = world.app.url(&format!("/feeds/{}.ics", "A".repeat(43)));
    for _ in 0..3 {
        let status = client.get(&unknown).send().await.unwrap().status();
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let limited = client.get(&unknown).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));

    // Per feed: however many addresses a leaked URL is fetched from.
    let world = world_with(&[("DOCKET_FEED_RATE_PER_MINUTE", "1000")]).await;
    let ada = synced(&world, ADA).await;
    let url = make_feed(&ada).await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(fetch(&url, None).await.status());
    }
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let last = fetch(&url, None).await;
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = last.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
}
