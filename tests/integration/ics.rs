//! ICS subscriptions over real HTTP and PostgreSQL: a local server publishes an iCalendar file
//! with an ETag; Docket subscribes from Settings, polls conditionally, and sweeps what a new
//! version of the file no longer has. Private addresses are refused without the operator's
//! consent, and an oversized file is refused.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Router,
    http::{HeaderMap, StatusCode as AxumStatus, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;

use crate::common::{Browser, World, html, meeting_id, save_meeting_note, texts, world_with};

/// A web server publishing one calendar file, which the test replaces at will.
#[derive(Clone, Default)]
struct Published {
    body: Arc<Mutex<(String, String)>>,
    requests: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
}

impl Published {
    async fn start(&self) -> String {
        let published = self.clone();
        let app = Router::new()
            .route(
                "/team.ics",
                get(move |headers: HeaderMap| {
                    let published = published.clone();
                    async move { published.serve(&headers) }
                }),
            )
            .route(
                "/huge.ics",
                get(|| async { "BEGIN:VCALENDAR\r\n".repeat(700_000) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn publish(&self, ics: &str) {
        let etag = format!("\"v{}\"", ics.len());
        *self.body.lock().unwrap() = (ics.replace('\n', "\r\n"), etag);
    }

    fn serve(&self, headers: &HeaderMap) -> Response {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let (body, etag) = self.body.lock().unwrap().clone();
        if headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.to_str().unwrap_or("") == etag)
        {
            self.not_modified.fetch_add(1, Ordering::SeqCst);
            return AxumStatus::NOT_MODIFIED.into_response();
        }
        (
            [
                (
                    header::CONTENT_TYPE,
                    "text/calendar; charset=utf-8".to_owned(),
                ),
                (header::ETAG, etag),
            ],
            body,
        )
            .into_response()
    }
}

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

fn feed(events: &[(&str, DateTime<Utc>, &str)]) -> String {
    let mut out = String::from(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Docket tests//EN\nX-WR-CALNAME:Team calendar\n",
    );
    for (uid, start, summary) in events {
        out.push_str(&format!(
            "BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20260101T000000Z\nDTSTART:{}\nDTEND:{}\nSUMMARY:{summary}\n\
             ATTENDEE;CN=Grace Hopper;PARTSTAT=ACCEPTED:mailto:grace@contoso.example\nEND:VEVENT\n",
            ical(*start),
            ical(*start + Duration::hours(1)),
        ));
    }
    out.push_str("END:VCALENDAR\n");
    out
}

async fn sync(world: &World) {
    let state = &world.app.server.as_ref().unwrap().state;
    let user: uuid::Uuid = sqlx::query_scalar("select id from users limit 1")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    docket::sync::queue_user(&world.app.db, user).await.unwrap();
    docket::sync::run_due(state, "test").await.unwrap();
}

async fn live(world: &World) -> Vec<(String, DateTime<Utc>)> {
    sqlx::query_as(
        "select m.title, m.starts_at from meetings m join calendars c on c.id = m.calendar_id
         join accounts a on a.id = c.account_id
         where a.provider = 'ics' and m.status <> 'cancelled' order by m.starts_at",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_subscription_syncs_polls_with_its_etag_and_sweeps_what_the_file_dropped() {
    let published = Published::default();
    let base = published.start().await;
    let (a, b) = (at(1, 9), at(2, 14));
    published.publish(&feed(&[("a@team", a, "Planning"), ("b@team", b, "Retro")]));
    let world = world_with(&[("DOCKET_ALLOW_PRIVATE_URLS", "true")]).await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", "ada@northwind.example").await;

    let response = browser
        .post_form("/settings/ics", &[("url", &format!("{base}/team.ics"))])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let settings = browser.get_html("/settings").await;
    assert!(
        texts(&settings, "ul.calendars li label")
            .iter()
            .any(|c| c.contains("Team calendar")),
        "the subscription's calendar is listed and on"
    );
    sync(&world).await;
    assert_eq!(
        live(&world).await,
        [("Planning".to_owned(), a), ("Retro".to_owned(), b)]
    );
    let grace: i64 =
        sqlx::query_scalar("select count(*) from people where email = 'grace@contoso.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(grace, 1, "attendees are people as for other providers");
    let planning = meeting_id(&world, "ada@northwind.example", "Planning").await;
    save_meeting_note(&browser, planning, "- [ ] @grace send the agenda").await;

    // Nothing changed: the poll is conditional and the server answers 304.
    sync(&world).await;
    assert_eq!(published.not_modified.load(Ordering::SeqCst), 1);

    // A new version: Retro gone, Planning moved, Demo added.
    let (moved, c) = (at(1, 11), at(3, 16));
    published.publish(&feed(&[
        ("a@team", moved, "Planning"),
        ("c@team", c, "Demo"),
    ]));
    sync(&world).await;
    assert_eq!(
        live(&world).await,
        [("Planning".to_owned(), moved), ("Demo".to_owned(), c)]
    );
    assert_eq!(
        meeting_id(&world, "ada@northwind.example", "Planning").await,
        planning,
        "the moved event kept its meeting, and its note"
    );
    let retro: String = sqlx::query_scalar("select status from meetings where title = 'Retro'")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(retro, "cancelled", "swept, not deleted");
}

#[tokio::test]
async fn private_addresses_oversized_files_and_non_calendars_are_refused_with_a_reason() {
    let published = Published::default();
    let base = published.start().await;
    published.publish(&feed(&[]));
    let world = world_with(&[]).await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", "ada@northwind.example").await;

    for (url, status, message) in [
        (
            format!("{base}/team.ics"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "That address points to a private or local network, which Docket does not fetch from.",
        ),
        (
            format!("webcal://{}/team.ics", base.trim_start_matches("http://")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "That address points to a private or local network, which Docket does not fetch from.",
        ),
        (
            "file:///etc/passwd".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "That is not a web address (it must start with https:// or http://).",
        ),
    ] {
        let response = browser.post_form("/settings/ics", &[("url", &url)]).await;
        assert_eq!(response.status(), status, "{url}");
        let page = html(&response.text().await.unwrap());
        assert_eq!(texts(&page, "#ics-error"), [message], "{url}");
    }
    assert_eq!(
        published.requests.load(Ordering::SeqCst),
        0,
        "nothing was fetched"
    );

    // With the operator's consent: a file over the cap, and a page that is no calendar.
    let world = world_with(&[("DOCKET_ALLOW_PRIVATE_URLS", "true")]).await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", "ada@northwind.example").await;
    for (path, message) in [
        (
            "/huge.ics",
            "That address did not return a usable calendar (the response is larger than 10 MiB).",
        ),
        ("/missing.ics", "That address did not return a calendar."),
    ] {
        let response = browser
            .post_form("/settings/ics", &[("url", &format!("{base}{path}"))])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
        let page = html(&response.text().await.unwrap());
        assert_eq!(texts(&page, "#ics-error"), [message], "{path}");
    }
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts where provider = 'ics'")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(accounts, 0, "nothing stored");
}

#[tokio::test]
async fn the_same_address_subscribed_by_two_people_is_two_private_subscriptions() {
    let published = Published::default();
    let base = published.start().await;
    published.publish(&feed(&[("a@team", at(1, 9), "Planning")]));
    let world = world_with(&[("DOCKET_ALLOW_PRIVATE_URLS", "true")]).await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", "ada@northwind.example").await;
    let alan = Browser::new(&world.app);
    alan.sign_in("google", "alan@bletchley.example").await;
    for browser in [&ada, &alan] {
        let response = browser
            .post_form("/settings/ics", &[("url", &format!("{base}/team.ics"))])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let owners: i64 =
        sqlx::query_scalar("select count(distinct user_id) from accounts where provider = 'ics'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(owners, 2);
    // Alan cannot disconnect Ada's subscription.
    let adas: uuid::Uuid = sqlx::query_scalar(
        "select a.id from accounts a join users u on u.id = a.user_id
         where a.provider = 'ics' and u.email = 'ada@northwind.example'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let response = alan
        .post_form(&format!("/settings/accounts/{adas}/disconnect"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
