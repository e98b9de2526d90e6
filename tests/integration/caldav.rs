//! CalDAV accounts against real servers (Radicale, Xandikos) over real HTTP and PostgreSQL:
//! discovery from Settings, first sync, incremental add/change/delete through the server's own
//! HTTP interface, a recurring series with a moved and a cancelled occurrence, a lost sync
//! token, a wrong or changed password, a server that is down.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;

use crate::common::{Browser, World, html, meeting_id, save_meeting_note, texts, world_with};
use crate::dav_server::{DavServer, event};

fn at(days: i64, hour: u32) -> DateTime<Utc> {
    (Utc::now() + Duration::days(days))
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
        .and_utc()
}

fn ical(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A weekly series of four from `first`: the second occurrence moved two hours later, the
/// third cancelled.
fn weekly_series(uid: &str, first: DateTime<Utc>) -> String {
    let second = first + Duration::weeks(1);
    let third = first + Duration::weeks(2);
    format!(
        "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Docket tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20260101T000000Z
DTSTART:{start}
DTEND:{end}
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Weekly 1:1
ORGANIZER;CN=Ada Lovelace:mailto:ada@northwind.example
ATTENDEE;CN=Grace Hopper;PARTSTAT=ACCEPTED:mailto:grace@contoso.example
ATTENDEE;CN=Board room;CUTYPE=ROOM:mailto:boardroom@northwind.example
END:VEVENT
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20260101T000000Z
RECURRENCE-ID:{second_id}
DTSTART:{second_start}
DTEND:{second_end}
SUMMARY:Weekly 1:1 (moved)
END:VEVENT
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20260101T000000Z
RECURRENCE-ID:{third_id}
DTSTART:{third_id}
DTEND:{third_end}
STATUS:CANCELLED
SUMMARY:Weekly 1:1
END:VEVENT
END:VCALENDAR
",
        start = ical(first),
        end = ical(first + Duration::minutes(30)),
        second_id = ical(second),
        second_start = ical(second + Duration::hours(2)),
        second_end = ical(second + Duration::hours(2) + Duration::minutes(30)),
        third_id = ical(third),
        third_end = ical(third + Duration::minutes(30)),
    )
}

/// A Docket that may reach loopback servers, with a signed-in user.
async fn docket() -> (World, Browser) {
    let world = world_with(&[("DOCKET_ALLOW_PRIVATE_URLS", "true")]).await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", "ada@northwind.example").await;
    (world, browser)
}

async fn sync(world: &World) {
    let state = &world.app.server.as_ref().unwrap().state;
    docket::sync::run_due(state, "test").await.unwrap();
}

async fn queue_and_sync(world: &World) {
    let user: uuid::Uuid = sqlx::query_scalar("select id from users limit 1")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    docket::sync::queue_user(&world.app.db, user).await.unwrap();
    sync(world).await;
}

/// (title, status, starts_at) of the CalDAV account's meetings, in time order.
async fn meetings(world: &World) -> Vec<(String, String, DateTime<Utc>)> {
    sqlx::query_as(
        "select m.title, m.status, m.starts_at from meetings m
         join calendars c on c.id = m.calendar_id join accounts a on a.id = c.account_id
         where a.provider = 'caldav' order by m.starts_at, m.title",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap()
}

async fn live(world: &World) -> Vec<(String, DateTime<Utc>)> {
    meetings(world)
        .await
        .into_iter()
        .filter(|(_, status, _)| status != "cancelled")
        .map(|(title, _, at)| (title, at))
        .collect()
}

async fn cursor(world: &World) -> serde_json::Value {
    let text: String = sqlx::query_scalar(
        "select c.sync_cursor from calendars c join accounts a on a.id = c.account_id
         where a.provider = 'caldav' and c.selected",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn add_caldav(browser: &Browser, url: &str, user: &str, password: &str) -> reqwest::Response {
    browser
        .post_form(
            "/settings/caldav",
            &[("url", url), ("username", user), ("password", password)],
        )
        .await
}

#[tokio::test]
async fn radicale_first_sync_and_incremental_add_change_delete() {
    let dav = DavServer::radicale().await;
    dav.make_calendar("/ada/work/", "Work").await;
    dav.make_calendar("/ada/home/", "Home").await;
    let review = at(2, 10);
    dav.put(
        "/ada/work/review.ics",
        &event(
            "review-1",
            &ical(review),
            &ical(review + Duration::hours(1)),
            "Design review",
            "",
        ),
    )
    .await;
    let first = at(3, 9);
    dav.put(
        "/ada/work/one-on-one.ics",
        &weekly_series("series-1", first),
    )
    .await;
    let (world, browser) = docket().await;

    // Discovery from the server's root: principal, home set, both calendars.
    let response = add_caldav(&browser, &dav.url("/"), "ada", "secret").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let settings = browser.get_html("/settings").await;
    let calendars = texts(&settings, "ul.calendars li label");
    assert!(
        calendars.iter().any(|c| c.contains("Home")),
        "{calendars:?}"
    );
    assert!(
        calendars.iter().any(|c| c.contains("Work")),
        "{calendars:?}"
    );
    // The first calendar (by address: /ada/home/) is on; choose Work instead, as for others.
    let work: uuid::Uuid = sqlx::query_scalar("select id from calendars where name = 'Work'")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let response = browser
        .post_form("/settings/calendars", &[("calendar", &work.to_string())])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sync(&world).await;

    let second = first + Duration::weeks(1);
    assert_eq!(
        live(&world).await,
        [
            ("Design review".to_owned(), review),
            ("Weekly 1:1".to_owned(), first),
            ("Weekly 1:1 (moved)".to_owned(), second + Duration::hours(2)),
            ("Weekly 1:1".to_owned(), first + Duration::weeks(3)),
        ],
        "the series has its moved occurrence and not its cancelled one"
    );
    assert!(
        cursor(&world).await["sync_token"].is_string(),
        "Radicale syncs with sync-collection"
    );
    // Attendees are people; the room is not.
    let people: Vec<String> = sqlx::query_scalar("select email from people order by email")
        .fetch_all(&world.app.db)
        .await
        .unwrap();
    assert!(people.contains(&"grace@contoso.example".to_owned()));
    assert!(!people.iter().any(|p| p.starts_with("boardroom")));

    // Notes stay attached through changes upstream.
    let review_id = meeting_id(&world, "ada@northwind.example", "Design review").await;
    save_meeting_note(&browser, review_id, "Decision: ship it").await;

    let standup = at(4, 8);
    dav.put(
        "/ada/work/standup.ics",
        &event(
            "standup-1",
            &ical(standup),
            &ical(standup + Duration::minutes(15)),
            "Standup",
            "",
        ),
    )
    .await;
    let moved_review = review + Duration::hours(3);
    dav.put(
        "/ada/work/review.ics",
        &event(
            "review-1",
            &ical(moved_review),
            &ical(moved_review + Duration::hours(1)),
            "Design review v2",
            "",
        ),
    )
    .await;
    dav.delete("/ada/work/one-on-one.ics").await;
    queue_and_sync(&world).await;

    assert_eq!(
        live(&world).await,
        [
            ("Design review v2".to_owned(), moved_review),
            ("Standup".to_owned(), standup),
        ]
    );
    let all = meetings(&world).await;
    assert_eq!(
        all.len(),
        5,
        "deleted occurrences are cancelled rows, not duplicates: {all:?}"
    );
    let still: uuid::Uuid =
        sqlx::query_scalar("select id from meetings where title = 'Design review v2'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(
        still, review_id,
        "the changed event kept its meeting and note"
    );
    let note: String = sqlx::query_scalar("select body from notes where meeting_id = $1")
        .bind(review_id)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(note, "Decision: ship it");
}

#[tokio::test]
async fn radicale_lost_sync_token_means_a_full_listing_swept() {
    let dav = DavServer::radicale().await;
    dav.make_calendar("/ada/work/", "Work").await;
    let (a, b) = (at(2, 10), at(5, 10));
    dav.put(
        "/ada/work/a.ics",
        &event("a", &ical(a), &ical(a + Duration::hours(1)), "Alpha", ""),
    )
    .await;
    dav.put(
        "/ada/work/b.ics",
        &event("b", &ical(b), &ical(b + Duration::hours(1)), "Beta", ""),
    )
    .await;
    let (world, browser) = docket().await;
    // The address of the calendar itself selects that calendar.
    let response = add_caldav(&browser, &dav.url("/ada/work/"), "ada", "secret").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sync(&world).await;
    assert_eq!(live(&world).await.len(), 2);

    // The server forgets the token (a well-formed one it never issued), and meanwhile an
    // event is deleted: the full listing that follows must sweep it.
    sqlx::query(
        "update calendars set sync_cursor = jsonb_set(sync_cursor::jsonb, '{sync_token}',
            '\"http://radicale.org/ns/sync/0000000000000000000000000000000000000000000000000000000000000000\"')::text
         where account_id in (select id from accounts where provider = 'caldav') and selected",
    )
    .execute(&world.app.db)
    .await
    .unwrap();
    dav.delete("/ada/work/b.ics").await;
    queue_and_sync(&world).await;

    assert_eq!(live(&world).await, [("Alpha".to_owned(), a)]);
    assert_eq!(
        meetings(&world).await.len(),
        2,
        "no duplicates after the full listing"
    );
    let token = cursor(&world).await["sync_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!token.ends_with("0000"), "a new token was stored: {token}");
}

#[tokio::test]
async fn radicale_wrong_password_is_a_form_error_and_a_changed_one_needs_reconnect() {
    let dav = DavServer::radicale().await;
    dav.make_calendar("/ada/work/", "Work").await;
    let (world, browser) = docket().await;

    let response = add_caldav(&browser, &dav.url("/"), "ada", "wrong").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&response.text().await.unwrap());
    assert_eq!(
        texts(&page, "#caldav-error"),
        ["The server refused that username or password."]
    );
    let accounts: i64 =
        sqlx::query_scalar("select count(*) from accounts where provider = 'caldav'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(accounts, 0, "nothing stored");

    let response = add_caldav(&browser, &dav.url("/"), "ada", "secret").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sync(&world).await;
    // The password stored is sealed, never plain.
    let sealed: Vec<u8> = sqlx::query_scalar(
        "select t.access_ciphertext from account_tokens t join accounts a on a.id = t.account_id
         where a.provider = 'caldav'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("secret"));

    dav.change_password("rotated");
    queue_and_sync(&world).await;
    let status: String =
        sqlx::query_scalar("select status from accounts where provider = 'caldav'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(status, "needs_reconnect");
    let banners = texts(&browser.get_html("/").await, ".banner span");
    assert!(
        banners
            .iter()
            .any(|b| b.contains("CalDAV") && b.contains("refused the username or password")),
        "{banners:?}"
    );

    // Entering the new password reconnects the same account.
    let response = add_caldav(&browser, &dav.url("/"), "ada", "rotated").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let rows: Vec<String> =
        sqlx::query_scalar("select status from accounts where provider = 'caldav'")
            .fetch_all(&world.app.db)
            .await
            .unwrap();
    assert_eq!(rows, ["active"]);
}

#[tokio::test]
async fn a_server_that_is_down_keeps_everything_and_is_retried() {
    let mut dav = DavServer::radicale().await;
    dav.make_calendar("/ada/work/", "Work").await;
    let a = at(2, 10);
    dav.put(
        "/ada/work/a.ics",
        &event("a", &ical(a), &ical(a + Duration::hours(1)), "Alpha", ""),
    )
    .await;
    let (world, browser) = docket().await;
    add_caldav(&browser, &dav.url("/ada/work/"), "ada", "secret").await;
    sync(&world).await;
    let url = dav.url("/");
    dav.stop();

    queue_and_sync(&world).await;
    assert_eq!(
        live(&world).await,
        [("Alpha".to_owned(), a)],
        "nothing lost"
    );
    let (status, attempts, error): (String, i32, Option<String>) = sqlx::query_as(
        "select a.status, s.attempts, s.last_error from accounts a join sync_state s on s.account_id = a.id
         where a.provider = 'caldav'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!(status, "active", "an outage never needs the user");
    assert_eq!(attempts, 1, "retried with backoff");
    assert!(error.is_some());

    // Adding a calendar from a server that is down says so.
    let response = add_caldav(&browser, &url, "ada", "secret").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let page = html(&response.text().await.unwrap());
    assert_eq!(
        texts(&page, "#caldav-error"),
        ["Docket could not reach that server. Check the address, or try again later."]
    );
}

#[tokio::test]
async fn xandikos_first_sync_incremental_changes_and_a_lost_token() {
    let dav = DavServer::xandikos().await;
    let calendar = "/user/calendars/calendar";
    let review = at(2, 10);
    dav.put(
        &format!("{calendar}/review.ics"),
        &event(
            "review-1",
            &ical(review),
            &ical(review + Duration::hours(1)),
            "Design review",
            "",
        ),
    )
    .await;
    let first = at(3, 9);
    dav.put(
        &format!("{calendar}/series.ics"),
        &weekly_series("series-1", first),
    )
    .await;
    let (world, browser) = docket().await;
    let response = add_caldav(&browser, &dav.url("/"), "user", "unused").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sync(&world).await;
    assert_eq!(
        live(&world).await,
        [
            ("Design review".to_owned(), review),
            ("Weekly 1:1".to_owned(), first),
            (
                "Weekly 1:1 (moved)".to_owned(),
                first + Duration::weeks(1) + Duration::hours(2)
            ),
            ("Weekly 1:1".to_owned(), first + Duration::weeks(3)),
        ]
    );
    assert!(
        cursor(&world).await["sync_token"].is_string(),
        "Xandikos syncs with sync-collection"
    );

    let standup = at(4, 8);
    dav.put(
        &format!("{calendar}/standup.ics"),
        &event(
            "standup-1",
            &ical(standup),
            &ical(standup + Duration::minutes(15)),
            "Standup",
            "",
        ),
    )
    .await;
    dav.put(
        &format!("{calendar}/review.ics"),
        &event(
            "review-1",
            &ical(review),
            &ical(review + Duration::hours(1)),
            "Design review v2",
            "",
        ),
    )
    .await;
    dav.delete(&format!("{calendar}/series.ics")).await;
    queue_and_sync(&world).await;
    assert_eq!(
        live(&world).await,
        [
            ("Design review v2".to_owned(), review),
            ("Standup".to_owned(), standup)
        ]
    );

    // A token Xandikos does not know (it answers 500): a full listing, swept.
    sqlx::query(
        "update calendars set sync_cursor = jsonb_set(sync_cursor::jsonb, '{sync_token}',
            '\"1111111111111111111111111111111111111111\"')::text
         where account_id in (select id from accounts where provider = 'caldav') and selected",
    )
    .execute(&world.app.db)
    .await
    .unwrap();
    dav.delete(&format!("{calendar}/standup.ics")).await;
    queue_and_sync(&world).await;
    assert_eq!(
        live(&world).await,
        [("Design review v2".to_owned(), review)]
    );
    assert_eq!(
        meetings(&world).await.len(),
        5,
        "no duplicates: {:?}",
        meetings(&world).await
    );
}

#[tokio::test]
async fn private_caldav_addresses_are_refused_without_the_operators_consent() {
    let dav = DavServer::radicale().await;
    let world = world_with(&[]).await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", "ada@northwind.example").await;
    for url in [
        dav.url("/"),
        format!("http://localhost:{}/", dav.port),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]/".to_owned(),
    ] {
        let response = add_caldav(&browser, &url, "ada", "secret").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let page = html(&response.text().await.unwrap());
        assert_eq!(
            texts(&page, "#caldav-error"),
            [
                "That address points to a private or local network, which Docket does not fetch from."
            ],
            "{url}"
        );
    }
    let response = add_caldav(&browser, "ftp://example.com/", "ada", "secret").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let accounts: i64 =
        sqlx::query_scalar("select count(*) from accounts where provider = 'caldav'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(accounts, 0);
}

/// The first sync of 5,000 events from Radicale, timed (run with `--ignored --nocapture`;
/// the figure is printed, never asserted).
#[tokio::test]
#[ignore]
async fn radicale_first_sync_of_5000_events() {
    let dav = DavServer::radicale().await;
    dav.make_calendar("/ada/big/", "Big").await;
    // Written straight into Radicale's storage (one file per event, as Radicale keeps them):
    // 5,000 PUTs would time Radicale, not Docket.
    let folder = dav.dir.path().join("collections/collection-root/ada/big");
    for i in 0..5000i64 {
        let start = at(-80 + (i % 400), 8) + Duration::minutes((i % 16) * 30);
        let ics = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Docket bench//EN\r\nBEGIN:VEVENT\r\nUID:bench-{i}\r\n\
             DTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Meeting {i}\r\n\
             ATTENDEE;CN=Person {p};PARTSTAT=ACCEPTED:mailto:person{p}@company{c}.example\r\n\
             ATTENDEE;CN=Ada;PARTSTAT=ACCEPTED:mailto:ada@northwind.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            ical(start),
            ical(start + Duration::minutes(30)),
            p = i % 300,
            c = i % 40,
        );
        std::fs::write(folder.join(format!("bench-{i}.ics")), ics).unwrap();
    }
    // Radicale reads and indexes new files on first access: done before Docket is timed.
    let warm = std::time::Instant::now();
    let listed = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            dav.url("/ada/big/"),
        )
        .basic_auth("ada", Some("secret"))
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert!(listed.status().is_success());
    println!(
        "Radicale indexed 5000 files in {:.1} s",
        warm.elapsed().as_secs_f64()
    );
    let (world, browser) = docket().await;
    let response = add_caldav(&browser, &dav.url("/ada/big/"), "ada", "secret").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let started = std::time::Instant::now();
    sync(&world).await;
    let elapsed = started.elapsed();
    let n = live(&world).await.len();
    println!(
        "first sync of {n} events from Radicale: {:.1} s",
        elapsed.as_secs_f64()
    );
    assert_eq!(n, 5000);
}

/// A minimal CalDAV server without `sync-collection` (only `getctag`, `calendar-query` and
/// `calendar-multiget`), as some servers are: one calendar at `/cal/`.
#[derive(Clone, Default)]
struct CtagOnly {
    events: std::sync::Arc<std::sync::Mutex<(u32, std::collections::BTreeMap<String, String>)>>,
    queries: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CtagOnly {
    async fn start(&self) -> String {
        let server = self.clone();
        let app = axum::Router::new().route(
            "/cal/",
            axum::routing::any(move |method: axum::http::Method, body: String| {
                let server = server.clone();
                async move { server.answer(method.as_str(), &body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/cal/")
    }

    fn put(&self, name: &str, ics: &str) {
        let mut events = self.events.lock().unwrap();
        events.0 += 1;
        events
            .1
            .insert(format!("/cal/{name}"), ics.replace('\n', "\r\n"));
    }

    fn delete(&self, name: &str) {
        let mut events = self.events.lock().unwrap();
        events.0 += 1;
        events.1.remove(&format!("/cal/{name}"));
    }

    fn answer(&self, method: &str, body: &str) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let (ctag, events) = self.events.lock().unwrap().clone();
        let responses: String = match method {
            "PROPFIND" => format!(
                r#"<D:response><D:href>/cal/</D:href><D:propstat><D:prop>
<D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Ctag only</D:displayname>
<CS:getctag>ctag-{ctag}</CS:getctag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"#
            ),
            "REPORT" if body.contains("calendar-query") => {
                self.queries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                events
                    .keys()
                    .map(|href| {
                        format!(
                            "<D:response><D:href>{href}</D:href><D:propstat><D:prop><D:getetag>\"1\"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
                        )
                    })
                    .collect()
            }
            "REPORT" => body
                .split("<D:href>")
                .skip(1)
                .filter_map(|rest| rest.split("</D:href>").next())
                .map(|href| match events.get(href) {
                    Some(ics) => format!(
                        "<D:response><D:href>{href}</D:href><D:propstat><D:prop><C:calendar-data>{}</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>",
                        ics.replace('&', "&amp;").replace('<', "&lt;")
                    ),
                    None => format!("<D:response><D:href>{href}</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>"),
                })
                .collect(),
            _ => return axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response(),
        };
        (
            axum::http::StatusCode::MULTI_STATUS,
            [("content-type", "application/xml; charset=utf-8")],
            format!(
                r#"<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">{responses}</D:multistatus>"#
            ),
        )
            .into_response()
    }
}

#[tokio::test]
async fn a_server_without_sync_collection_is_read_by_ctag_and_time_range() {
    let server = CtagOnly::default();
    let url = server.start().await;
    let (a, b) = (at(2, 10), at(5, 10));
    server.put(
        "a.ics",
        &event("a", &ical(a), &ical(a + Duration::hours(1)), "Alpha", ""),
    );
    server.put(
        "b.ics",
        &event("b", &ical(b), &ical(b + Duration::hours(1)), "Beta", ""),
    );
    let (world, browser) = docket().await;
    let response = add_caldav(&browser, &url, "ada", "secret").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sync(&world).await;
    assert_eq!(
        live(&world).await,
        [("Alpha".to_owned(), a), ("Beta".to_owned(), b)]
    );
    assert_eq!(cursor(&world).await["ctag"], "ctag-2");
    let queries = |server: &CtagOnly| server.queries.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(queries(&server), 1);

    // Same ctag: nothing is read.
    queue_and_sync(&world).await;
    assert_eq!(queries(&server), 1, "an unchanged ctag reads nothing");

    // A change: the window is read again and what it lacks is swept.
    server.delete("b.ics");
    queue_and_sync(&world).await;
    assert_eq!(queries(&server), 2);
    assert_eq!(live(&world).await, [("Alpha".to_owned(), a)]);
    assert_eq!(meetings(&world).await.len(), 2, "no duplicates");
}
