//! Calendar sync against the fake Google and Microsoft: full and incremental sync, resync on
//! 410, outages and malformed answers, per-calendar failures, leases.

use chrono::{DateTime, Utc};
use docket::fake_provider::{FakeCalendar, FakeProvider};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Browser, World, texts};

const ADA: &str = "ada@northwind.example";
const GRACE: &str = "grace@contoso.example";

/// A world whose background worker is off, so each test decides when a sync runs.
async fn world() -> World {
    World::with(&[("DOCKET_SYNC_WORKER", "false")]).await
}

async fn signed_in(world: &World, provider: &str, email: &str) -> Browser {
    let browser = Browser::new(&world.app);
    let response = browser.sign_in(provider, email).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    browser
}

/// Makes every account due and runs the same code the worker runs.
async fn sync(world: &World) -> usize {
    sqlx::query("update sync_state set due_at = now()")
        .execute(&world.app.db)
        .await
        .unwrap();
    let state = &world.app.server.as_ref().unwrap().state;
    docket::sync::run_due(state, "test-worker").await.unwrap()
}

async fn scalar<T>(world: &World, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

async fn live_meetings(world: &World) -> i64 {
    scalar(
        world,
        "select count(*) from meetings where status <> 'cancelled'",
    )
    .await
}

fn edit(
    fake: &FakeProvider,
    email: &str,
    change: impl FnOnce(&mut Vec<FakeCalendar>, &mut dyn FnMut() -> u64),
) {
    fake.edit_calendars(email, change);
}

#[tokio::test]
async fn first_google_sync_imports_meetings_people_and_organizations() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    assert_eq!(sync(&world).await, 1);

    assert!(live_meetings(&world).await > 40);
    let (join_url, attendees): (Option<String>, i64) = sqlx::query_as(
        "select m.join_url, (select count(*) from attendees a where a.meeting_id = m.id)
         from meetings m where m.title = 'Q1 planning review'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!(
        join_url.as_deref(),
        Some("https://meet.google.com/pln-qone-rev")
    );
    assert_eq!(
        attendees, 3,
        "organizer and two people; the room is not a person"
    );
    // A Teams link that lives only in the description is found.
    let globex: Option<String> = scalar(
        &world,
        "select join_url from meetings where title = 'Globex renewal'",
    )
    .await;
    assert!(
        globex
            .unwrap()
            .starts_with("https://teams.microsoft.com/l/meetup-join/")
    );
    // People: named, the user is "me", rooms are not people.
    let charles: String = scalar(
        &world,
        "select name from people where email = 'charles@northwind.example'",
    )
    .await;
    assert_eq!(charles, "Charles Babbage");
    assert!(
        scalar::<bool>(
            &world,
            "select is_me from people where email = 'ada@northwind.example'"
        )
        .await
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from people where email like '%resource%'"
        )
        .await,
        0
    );
    // Organizations: company domains, not free mail, not the user's own.
    let orgs: Vec<String> = sqlx::query_scalar("select domain from organizations order by domain")
        .fetch_all(&world.app.db)
        .await
        .unwrap();
    assert_eq!(orgs, ["acme.example", "globex.example"]);
    // Focus time and out of office are stored but are not meetings.
    assert!(
        !scalar::<bool>(
            &world,
            "select bool_or(is_meeting) from meetings where event_type = 'focusTime'"
        )
        .await
    );
    // All-day events are floating dates.
    let (all_day, days): (bool, i32) = sqlx::query_as(
        "select all_day, end_date - start_date from meetings where title = 'Northwind offsite'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert!(all_day);
    assert_eq!(days, 2);
    // Recurring instances are linked to their series.
    let standups: i64 = scalar(
        &world,
        "select count(*) from meetings m join series s on s.id = m.series_id where s.provider_series_id = 'standup7q2'",
    )
    .await;
    assert!(standups > 20);
    // Only the primary calendar is selected by default; free/busy calendars are never read.
    let calls = world.fake.api_calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("google events ada@northwind.example"))
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("team-holidays") || c.contains("exec-board"))
    );
    // The user's time zone comes from the primary calendar.
    assert_eq!(
        scalar::<String>(&world, "select time_zone from users").await,
        "Europe/London"
    );
}

#[tokio::test]
async fn incremental_sync_applies_changes_with_the_sync_token() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let before = live_meetings(&world).await;
    let renamed_id: Uuid = scalar(
        &world,
        "select id from meetings where title = 'Globex renewal'",
    )
    .await;
    edit(&world.fake, ADA, |calendars, tick| {
        let events = &mut calendars[0].events;
        let globex = events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        globex.title = "Globex renewal (moved)".into();
        globex.changed = tick();
        let interview = events
            .iter_mut()
            .find(|e| e.title.starts_with("Interview"))
            .unwrap();
        interview.cancelled = true;
        interview.changed = tick();
        let mut new = events[0].clone();
        new.id = "brandnew1".into();
        new.series = None;
        new.title = "Hiring sync".into();
        new.changed = tick();
        events.push(new);
    });
    sync(&world).await;
    let calls = world.fake.api_calls();
    assert!(calls.last().unwrap().contains("sync=true"), "{calls:?}");
    // Same row, new title: identity (and so any notes) survives.
    let title: String = sqlx::query_scalar("select title from meetings where id = $1")
        .bind(renamed_id)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(title, "Globex renewal (moved)");
    let interview: String = scalar(
        &world,
        "select status from meetings where title like 'Interview%'",
    )
    .await;
    assert_eq!(interview, "cancelled");
    assert_eq!(
        live_meetings(&world).await,
        before,
        "one cancelled, one added"
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) - count(distinct (calendar_id, provider_event_id)) from meetings"
        )
        .await,
        0,
        "no duplicates"
    );
}

#[tokio::test]
async fn a_cancelled_instance_hides_one_occurrence_and_a_deleted_series_all_of_them() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let charles_total: i64 = scalar(
        &world,
        "select count(*) from meetings where title = 'Ada / Charles 1:1' and status <> 'cancelled'",
    )
    .await;
    edit(&world.fake, ADA, |calendars, tick| {
        let instance = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Ada / Charles 1:1")
            .unwrap();
        instance.cancelled = true;
        instance.changed = tick();
    });
    sync(&world).await;
    let after: i64 = scalar(
        &world,
        "select count(*) from meetings where title = 'Ada / Charles 1:1' and status <> 'cancelled'",
    )
    .await;
    assert_eq!(after, charles_total - 1);
    // Deleting the whole series: Google may send only the series id, cancelled.
    edit(&world.fake, ADA, |calendars, tick| {
        let mut master = calendars[0]
            .events
            .iter()
            .find(|e| e.title == "Acme Corp — integration sync")
            .unwrap()
            .clone();
        master.id = "acmesync".into();
        master.series = None;
        master.cancelled = true;
        master.changed = tick();
        calendars[0].events.push(master);
    });
    sync(&world).await;
    let acme: i64 = scalar(
        &world,
        "select count(*) from meetings where title like 'Acme%' and status <> 'cancelled'",
    )
    .await;
    assert_eq!(acme, 0);
}

#[tokio::test]
async fn a_410_starts_a_full_resync_that_sweeps_what_vanished_and_keeps_ids() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let kept: Uuid = scalar(
        &world,
        "select id from meetings where title = 'Q1 planning review'",
    )
    .await;
    edit(&world.fake, ADA, |calendars, tick| {
        // An event vanishes without a cancellation, and the provider forgets our token.
        calendars[0].events.retain(|e| e.title != "Globex renewal");
        calendars[0].tokens_valid_from = tick() + 1;
        tick();
    });
    sync(&world).await;
    let status: String = scalar(
        &world,
        "select status from meetings where title = 'Globex renewal'",
    )
    .await;
    assert_eq!(status, "cancelled", "swept, not deleted");
    let still: Uuid = scalar(
        &world,
        "select id from meetings where title = 'Q1 planning review'",
    )
    .await;
    assert_eq!(still, kept, "a full resync never recreates rows");
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from meetings where title = 'Q1 planning review'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_outage_half_way_stores_nothing_and_the_next_sync_completes() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    world.fake.faults(|f| {
        f.page_size = Some(5);
        f.script = vec![None, None, None, Some(503)];
    });
    sync(&world).await;
    assert_eq!(
        scalar::<i64>(&world, "select count(*) from meetings").await,
        0,
        "no partial data"
    );
    assert!(
        scalar::<Option<String>>(&world, "select sync_cursor from calendars where is_primary")
            .await
            .is_none()
    );
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("select attempts, last_error from sync_state")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(
        error.unwrap().contains("throttled"),
        "503 with Retry-After is throttling"
    );
    sync(&world).await;
    assert!(live_meetings(&world).await > 40);
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) - count(distinct provider_event_id) from meetings"
        )
        .await,
        0
    );
    assert_eq!(
        scalar::<i32>(&world, "select attempts from sync_state").await,
        0
    );
}

#[tokio::test]
async fn a_malformed_answer_keeps_the_last_good_state() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let before = live_meetings(&world).await;
    let cursor: Option<String> =
        scalar(&world, "select sync_cursor from calendars where is_primary").await;
    world.fake.faults(|f| f.malformed_next = true);
    sync(&world).await;
    assert_eq!(live_meetings(&world).await, before);
    assert_eq!(
        scalar::<Option<String>>(&world, "select sync_cursor from calendars where is_primary")
            .await,
        cursor
    );
    assert!(
        scalar::<Option<String>>(&world, "select last_error from sync_state")
            .await
            .unwrap()
            .contains("malformed")
    );
}

#[tokio::test]
async fn one_failing_calendar_does_not_block_the_others() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    sqlx::query("update calendars set selected = true where name = 'Team holidays'")
        .execute(&world.app.db)
        .await
        .unwrap();
    edit(&world.fake, ADA, |calendars, tick| {
        calendars.retain(|c| c.name != "Team holidays");
        let e = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        e.title = "Globex renewal v2".into();
        e.changed = tick();
    });
    let holidays: Uuid = scalar(
        &world,
        "select id from calendars where name = 'Team holidays'",
    )
    .await;
    sync(&world).await;
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from meetings where title = 'Globex renewal v2'"
        )
        .await,
        1
    );
    let error: Option<String> =
        sqlx::query_scalar("select last_error from calendars where id = $1")
            .bind(holidays)
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(
        error.as_deref(),
        Some("This calendar is no longer accessible.")
    );
    assert_eq!(
        scalar::<Option<String>>(&world, "select last_error from sync_state").await,
        None,
        "not retried as an outage"
    );
}

#[tokio::test]
async fn microsoft_delta_follows_every_next_link_then_applies_removals() {
    let world = world().await;
    signed_in(&world, "microsoft", GRACE).await;
    world.fake.faults(|f| f.page_size = Some(3));
    sync(&world).await;
    let pages = world
        .fake
        .api_calls()
        .iter()
        .filter(|c| c.starts_with("graph delta"))
        .count();
    assert!(pages > 3, "followed nextLinks: {pages} pages");
    let first = live_meetings(&world).await;
    let expected = world
        .fake
        .users()
        .iter()
        .find(|u| u.email == GRACE)
        .unwrap()
        .calendars[0]
        .events
        .iter()
        .filter(|e| !e.cancelled)
        .count() as i64;
    assert_eq!(first, expected, "no occurrence lost on later pages");
    let cursor: String = scalar(&world, "select sync_cursor from calendars where is_primary").await;
    assert!(
        cursor.contains("$deltatoken="),
        "the whole deltaLink is stored: {cursor}"
    );
    edit(&world.fake, GRACE, |calendars, tick| {
        let e = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Grace / Satya 1:1")
            .unwrap();
        e.cancelled = true;
        e.changed = tick();
    });
    sync(&world).await;
    assert!(
        world
            .fake
            .api_calls()
            .last()
            .unwrap()
            .contains("delta=true")
    );
    assert_eq!(live_meetings(&world).await, first - 1);
    let status: String = scalar(
        &world,
        "select status from meetings where title = 'Grace / Satya 1:1'",
    )
    .await;
    assert_eq!(status, "cancelled");
    // Graph's Windows time zone name is recorded as an IANA zone on each meeting.
    assert_eq!(
        scalar::<String>(
            &world,
            "select time_zone from meetings where title = 'Platform review' limit 1"
        )
        .await,
        "Europe/London"
    );
}

#[tokio::test]
async fn microsoft_sync_state_not_found_restarts_the_round() {
    let world = world().await;
    signed_in(&world, "microsoft", GRACE).await;
    sync(&world).await;
    let before = live_meetings(&world).await;
    edit(&world.fake, GRACE, |calendars, tick| {
        calendars[0].tokens_valid_from = tick() + 1;
        tick();
    });
    sync(&world).await;
    assert_eq!(live_meetings(&world).await, before);
    assert_eq!(
        scalar::<Option<String>>(&world, "select last_error from sync_state").await,
        None
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) - count(distinct provider_event_id) from meetings"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_a_revoked_grant_needs_reconnect() {
    let world = world().await;
    let browser = signed_in(&world, "google", ADA).await;
    world.fake.expire_access_tokens();
    sync(&world).await;
    assert!(live_meetings(&world).await > 0, "refreshed after the 401");
    let meetings = live_meetings(&world).await;
    world.fake.revoke_user(ADA);
    sync(&world).await;
    assert_eq!(
        scalar::<String>(&world, "select status from accounts").await,
        "needs_reconnect"
    );
    assert_eq!(live_meetings(&world).await, meetings, "nothing deleted");
    // Every page says so, with the way back.
    let doc = browser.get_html("/").await;
    assert!(texts(&doc, ".banner.bad span")[0].contains("lost access to your Google account"));
    let reconnect = scraper::Selector::parse(".banner.bad a").unwrap();
    let link = doc.select(&reconnect).next().expect("a reconnect link");
    assert_eq!(link.text().collect::<String>(), "Reconnect");
    assert_eq!(link.attr("href"), Some("/auth/google/login?next=/settings"));
}

#[tokio::test]
async fn two_workers_never_sync_one_account_at_once() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    let state = &world.app.server.as_ref().unwrap().state;
    let (a, b) = tokio::join!(
        docket::sync::run_due(state, "worker-a"),
        docket::sync::run_due(state, "worker-b")
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let lists = world
        .fake
        .api_calls()
        .iter()
        .filter(|c| *c == "google calendarList")
        .count();
    assert_eq!(lists, 1);
}

#[tokio::test]
async fn sync_now_queues_the_users_accounts() {
    let world = world().await;
    let browser = signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let due_later: bool = scalar(
        &world,
        "select due_at > now() + interval '1 minute' from sync_state",
    )
    .await;
    assert!(due_later);
    let response = browser.post_form("/sync", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let due_now: bool = scalar(&world, "select due_at <= now() from sync_state").await;
    assert!(due_now);
}

#[tokio::test]
async fn the_user_chooses_which_calendars_sync_on_the_settings_page() {
    let world = world().await;
    let browser = signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let doc = browser.get_html("/settings").await;
    let labels = texts(&doc, ".calendars label");
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("(free/busy only)")));
    let ids: Vec<(Uuid, String)> = sqlx::query_as("select id, name from calendars")
        .fetch_all(&world.app.db)
        .await
        .unwrap();
    let holidays = ids
        .iter()
        .find(|(_, n)| n == "Team holidays")
        .unwrap()
        .0
        .to_string();
    let primary = ids
        .iter()
        .find(|(_, n)| n == "Ada Lovelace")
        .unwrap()
        .0
        .to_string();
    let free_busy = ids
        .iter()
        .find(|(_, n)| n.starts_with("Board"))
        .unwrap()
        .0
        .to_string();
    let response = browser
        .post_form(
            "/settings/calendars",
            &[
                ("calendar", &primary),
                ("calendar", &holidays),
                ("calendar", &free_busy),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sync(&world).await;
    let holiday: i64 = scalar(
        &world,
        "select count(*) from meetings where title = 'Company holiday'",
    )
    .await;
    assert_eq!(holiday, 1);
    let board_selected: bool = scalar(
        &world,
        "select selected from calendars where name like 'Board%'",
    )
    .await;
    assert!(!board_selected, "free/busy calendars cannot be chosen");
    // Unchoosing a calendar stops its sync and keeps its meetings.
    browser
        .post_form("/settings/calendars", &[("calendar", &primary)])
        .await;
    let before = world.fake.api_calls().len();
    sync(&world).await;
    assert!(
        !world.fake.api_calls()[before..]
            .iter()
            .any(|c| c.contains("team-holidays"))
    );
    let holiday: i64 = scalar(
        &world,
        "select count(*) from meetings where title = 'Company holiday' and status <> 'cancelled'",
    )
    .await;
    assert_eq!(holiday, 1);
}

#[tokio::test]
async fn a_chosen_time_zone_wins_over_the_calendars() {
    let world = world().await;
    let browser = signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let bad = browser
        .post_form("/settings/time-zone", &[("time_zone", "Mars/Olympus")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let ok = browser
        .post_form("/settings/time-zone", &[("time_zone", "America/New_York")])
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    sync(&world).await;
    assert_eq!(
        scalar::<String>(&world, "select time_zone from users").await,
        "America/New_York"
    );
    // Every timed meeting on the list shows its times in New York, not in the calendar's
    // London.
    let doc = browser.get_html("/meetings").await;
    let rows = scraper::Selector::parse("table.meetings tbody tr").unwrap();
    let link = scraper::Selector::parse("a[href^='/meetings/']").unwrap();
    let time = scraper::Selector::parse("td.nowrap").unwrap();
    let new_york = chrono_tz::America::New_York;
    let mut timed = 0;
    for row in doc.select(&rows) {
        let href = row.select(&link).next().unwrap().attr("href").unwrap();
        let id: Uuid = href.trim_start_matches("/meetings/").parse().unwrap();
        let shown: String = row.select(&time).next().unwrap().text().collect();
        let (starts, ends, all_day): (DateTime<Utc>, DateTime<Utc>, bool) =
            sqlx::query_as("select starts_at, ends_at, all_day from meetings where id = $1")
                .bind(id)
                .fetch_one(&world.app.db)
                .await
                .unwrap();
        if all_day {
            continue;
        }
        let clock = |at: DateTime<Utc>| at.with_timezone(&new_york).format("%H:%M").to_string();
        assert_eq!(shown.trim(), format!("{}–{}", clock(starts), clock(ends)));
        timed += 1;
    }
    assert!(timed > 0, "no timed meeting on the list");
}

#[tokio::test]
async fn a_second_401_after_a_fresh_token_means_reconnect_not_a_retry_loop() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    world.fake.faults(|f| f.script = vec![Some(401), Some(401)]);
    sync(&world).await;
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("select status, status_reason from accounts")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(status, "needs_reconnect");
    assert!(reason.unwrap().contains("keeps refusing"));
    let (attempts, due_later): (i32, bool) =
        sqlx::query_as("select attempts, due_at > now() + interval '1 hour' from sync_state")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(due_later, "not retried in a loop");
}

#[tokio::test]
async fn a_listing_larger_than_a_write_batch_is_still_all_or_nothing() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    // 6,000 more events on the primary calendar, 3 attendees each: 24 pages of 250, written
    // in batches of 2,500 as they arrive.
    let bulk = docket::fake_provider::bulk::user(ADA, 1, 6000, 3, chrono::Utc::now());
    let extra = bulk.calendars.into_iter().next().unwrap().events;
    edit(&world.fake, ADA, |calendars, tick| {
        let primary = calendars.iter_mut().find(|c| c.primary).unwrap();
        for mut event in extra {
            event.changed = tick();
            primary.events.push(event);
        }
    });
    // The calendar list and 22 pages answer, the 23rd fails: two batches were written inside
    // the transaction by then.
    world.fake.faults(|f| {
        f.script = [vec![None; 23], vec![Some(503)]].concat();
    });
    sync(&world).await;
    for table in ["meetings", "attendees", "series"] {
        assert_eq!(
            scalar::<i64>(&world, &format!("select count(*) from {table}")).await,
            0,
            "nothing of the failed listing is stored in {table}"
        );
    }
    // People are written in transactions of their own (so that listings running at once never
    // wait for each other): those the listing met stay, with no meeting together.
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from person_stats where meeting_count <> 0"
        )
        .await,
        0
    );
    sync(&world).await;
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from meetings where provider_event_id like 'bulk%'"
        )
        .await,
        6000
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from attendees a join meetings m on m.id = a.meeting_id
             where m.provider_event_id like 'bulk%'"
        )
        .await,
        18000
    );
    // One person per address, named, at the organization of their domain.
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from people p join organizations o on o.id = p.organization_id
             where p.email like 'person%' and p.name like 'Person %' and p.email like '%@' || o.domain"
        )
        .await,
        scalar::<i64>(
            &world,
            "select count(distinct lower(email)) from people where email like 'person%'"
        )
        .await
    );
    // Every tenth bulk event is an instance of a series.
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from meetings where provider_event_id like 'bulk%' and series_id is not null"
        )
        .await,
        600
    );
    assert!(
        scalar::<Option<String>>(&world, "select sync_cursor from calendars where is_primary")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn batched_writes_keep_the_order_of_changes_and_never_blank_absent_fields() {
    use docket::calendar::{
        Attendee, Change, Event, When,
        store::{self, Listing, Writer},
    };
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let user_id: Uuid = scalar(&world, "select user_id from accounts").await;
    let calendars = store::for_user(&world.app.db, user_id).await.unwrap();
    let calendar = calendars.iter().find(|c| c.is_primary).unwrap();
    let (known, location, description): (String, String, String) = sqlx::query_as(
        "select provider_event_id, location, description from meetings
         where location <> '' and description <> '' limit 1",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let at = chrono::Utc::now();
    let timed = Some(When::Timed {
        start: at,
        end: at + chrono::Duration::minutes(30),
        time_zone: None,
    });
    let zed = |name: Option<&str>| Attendee {
        email: " Zed@Acme.example ".into(),
        name: name.map(str::to_owned),
        response: "accepted".into(),
        organizer: false,
        optional: false,
    };
    let event = |id: &str, title: &str, series: Option<&str>, attendees: Vec<Attendee>| {
        Change::Upsert(Box::new(Event {
            provider_event_id: id.into(),
            series_provider_id: series.map(str::to_owned),
            title: Some(title.into()),
            when: timed.clone(),
            attendees: Some(attendees),
            ..Event::default()
        }))
    };
    let cancel = |id: &str| Change::Cancelled {
        provider_event_id: id.into(),
    };
    let mut writer = Writer::begin(&world.app.db, calendar).await.unwrap();
    writer
        .page(vec![
            // A Microsoft-style partial update: only the title was sent.
            Change::Upsert(Box::new(Event {
                provider_event_id: known.clone(),
                title: Some("Renamed".into()),
                ..Event::default()
            })),
            // Created, cancelled, then listed again: it ends up live, its attendee named.
            event("new1", "New", None, vec![zed(Some("Zed Zee"))]),
            cancel("new1"),
            event("new1", "New again", None, vec![zed(None), zed(None)]),
            // A series cancelled after one instance and before another.
            event("inst1", "Weekly", Some("s1"), vec![]),
            cancel("s1"),
            event("inst2", "Weekly", Some("s1"), vec![]),
            // A partial update of an event we never stored creates nothing, nobody.
            Change::Upsert(Box::new(Event {
                provider_event_id: "ghost".into(),
                attendees: Some(vec![Attendee {
                    email: "ghost@nowhere.example".into(),
                    ..zed(None)
                }]),
                ..Event::default()
            })),
        ])
        .await
        .unwrap();
    let listing = Listing {
        cursor: Some("cursor-1".into()),
        full_window: None,
    };
    assert_eq!(writer.finish(&listing).await.unwrap(), 8);

    let renamed: (String, String, String) = sqlx::query_as(
        "select title, location, description from meetings where provider_event_id = $1",
    )
    .bind(&known)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!(renamed, ("Renamed".into(), location, description));
    let status = |id: &'static str| {
        let db = world.app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select title || ' ' || status from meetings where provider_event_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    assert_eq!(status("new1").await, "New again confirmed");
    assert_eq!(status("inst1").await, "Weekly cancelled");
    assert_eq!(status("inst2").await, "Weekly confirmed");
    let zeds: Vec<(String, Option<String>, bool)> = sqlx::query_as(
        "select p.email, p.name, o.domain is not null from people p
         left join organizations o on o.id = p.organization_id where lower(p.email) = 'zed@acme.example'",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap();
    assert_eq!(
        zeds,
        [("Zed@Acme.example".into(), Some("Zed Zee".into()), true)]
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from attendees a join meetings m on m.id = a.meeting_id
             where m.provider_event_id = 'new1'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select (select count(*) from meetings where provider_event_id = 'ghost')
                  + (select count(*) from people where email like 'ghost@%')"
        )
        .await,
        0
    );
    assert_eq!(
        scalar::<Option<String>>(&world, "select sync_cursor from calendars where is_primary")
            .await
            .as_deref(),
        Some("cursor-1")
    );
}

/// Sync adds a listing's meetings together to `person_stats` once, before it commits
/// (migrations/0026), while rows it deletes or stops counting come off at once: within one
/// listing, an attendee written and then dropped, and a meeting written and then no longer a
/// meeting, leave every counter equal to its attendee rows.
#[tokio::test]
async fn meetings_together_match_the_attendee_rows_after_a_listing() {
    use docket::calendar::{
        Attendee, Change, Event, When,
        store::{self, Listing, Writer},
    };
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let user_id: Uuid = scalar(&world, "select user_id from accounts").await;
    let calendars = store::for_user(&world.app.db, user_id).await.unwrap();
    let calendar = calendars.iter().find(|c| c.is_primary).unwrap();
    let at = chrono::Utc::now();
    let person = |email: &str| Attendee {
        email: email.into(),
        name: None,
        response: "accepted".into(),
        organizer: false,
        optional: false,
    };
    let event = |id: &str, event_type: &str, attendees: &[&str]| {
        Change::Upsert(Box::new(Event {
            provider_event_id: id.into(),
            title: Some(id.into()),
            description: Some(String::new()),
            location: Some(String::new()),
            event_type: Some(event_type.into()),
            when: Some(When::Timed {
                start: at,
                end: at + chrono::Duration::minutes(30),
                time_zone: None,
            }),
            attendees: Some(attendees.iter().map(|e| person(e)).collect()),
            ..Event::default()
        }))
    };
    let mut writer = Writer::begin(&world.app.db, calendar).await.unwrap();
    writer
        .page(vec![
            event(
                "kept",
                "default",
                &["new@initech.example", "other@initech.example"],
            ),
            event(
                "typed",
                "default",
                &["new@initech.example", "other@initech.example"],
            ),
            // Listed again in the same listing (another batch): one attendee dropped, and one
            // event that is no longer a meeting.
            event("kept", "default", &["other@initech.example"]),
            event(
                "typed",
                "outOfOffice",
                &["new@initech.example", "other@initech.example"],
            ),
        ])
        .await
        .unwrap();
    let listing = Listing {
        cursor: Some("cursor-1".into()),
        full_window: None,
    };
    writer.finish(&listing).await.unwrap();

    let counts: Vec<(String, i32)> = sqlx::query_as(
        "select p.email, s.meeting_count from person_stats s join people p on p.id = s.person_id
         where p.email like '%@initech.example' order by p.email",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap();
    assert_eq!(
        counts,
        [
            ("new@initech.example".into(), 0),
            ("other@initech.example".into(), 1)
        ]
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from person_stats s
             where s.meeting_count <> (select count(*) from attendees a
                                       where a.person_id = s.person_id and a.counted)"
        )
        .await,
        0
    );
}

/// Lists show who attends from a summary the database keeps on the meeting (migration 0009):
/// it follows an attendee added or dropped by sync and a person whose name changes.
#[tokio::test]
async fn the_attendee_summary_follows_sync_and_renames() {
    let world = world().await;
    let ada = signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let names = |world: &World| {
        let db = world.app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select attendee_names from meetings where title = 'Globex renewal'",
            )
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let before = names(&world).await;
    assert!(!before.is_empty(), "synced attendees are summarised");
    let one_more = |page: String| page.matches("and 1 more").count();
    let labels_before = one_more(ada.get("/").await.text().await.unwrap());
    assert!(!before.contains("Ada"), "the user is not listed: {before}");
    edit(&world.fake, ADA, |calendars, tick| {
        let globex = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        let mut guest = globex.attendees[0].clone();
        guest.email = "zelda@globex.example".into();
        guest.name = "Zelda Quartermain".into();
        guest.organizer = false;
        guest.resource = false;
        globex.attendees.push(guest);
        globex.changed = tick();
    });
    sync(&world).await;
    let added = names(&world).await;
    assert!(added.contains("Zelda Quartermain"), "{added}");
    // Today's agenda reads the summary (the meeting is this afternoon; three names and a count).
    let labels_after = one_more(ada.get("/").await.text().await.unwrap());
    assert_eq!(
        labels_after,
        labels_before + 1,
        "four attendees besides Ada"
    );

    sqlx::query("update people set name = 'Zelda Q. Renamed' where email = 'zelda@globex.example'")
        .execute(&world.app.db)
        .await
        .unwrap();
    let renamed = names(&world).await;
    assert!(
        renamed.contains("Zelda Q. Renamed") && !renamed.contains("Quartermain"),
        "{renamed}"
    );
    // The people directory sorts by the new name too (its key lives in person_stats).
    let (sort_name, meetings): (String, i32) = sqlx::query_as(
        "select s.sort_name, s.meeting_count from person_stats s join people p on p.id = s.person_id
         where p.email = 'zelda@globex.example'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!((sort_name.as_str(), meetings), ("zelda q. renamed", 1));

    edit(&world.fake, ADA, |calendars, tick| {
        let globex = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        globex
            .attendees
            .retain(|a| a.email != "zelda@globex.example");
        globex.changed = tick();
    });
    sync(&world).await;
    assert_eq!(names(&world).await, before, "dropped again");
}

#[tokio::test]
async fn an_edit_rewrites_only_the_attendee_rows_that_changed() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let globex: uuid::Uuid =
        sqlx::query_scalar("select id from meetings where title = 'Globex renewal'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    // Each attendee row's transaction id (`xmin`) changes whenever the row is written.
    let rows = |world: &World| {
        let db = world.app.db.clone();
        async move {
            sqlx::query_as::<_, (String, String, String)>(
                "select p.email, a.response_status, a.xmin::text
                 from attendees a join people p on p.id = a.person_id
                 where a.meeting_id = $1 order by p.email",
            )
            .bind(globex)
            .fetch_all(&db)
            .await
            .unwrap()
        }
    };
    let before = rows(&world).await;
    assert!(before.len() >= 2, "{before:?}");
    edit(&world.fake, ADA, |calendars, tick| {
        let globex = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        globex.title = "Globex renewal (moved room)".into();
        globex.changed = tick();
    });
    sync(&world).await;
    let retitled = rows(&world).await;
    assert_eq!(retitled, before, "a new title writes no attendee row");

    let guest = before
        .iter()
        .find(|(email, response, _)| !email.starts_with("ada") && response != "declined")
        .map(|(email, _, _)| email.clone())
        .unwrap();
    edit(&world.fake, ADA, |calendars, tick| {
        let globex = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title.starts_with("Globex renewal"))
            .unwrap();
        let a = globex
            .attendees
            .iter_mut()
            .find(|a| a.email == guest)
            .unwrap();
        a.response = "declined".into();
        globex.changed = tick();
    });
    sync(&world).await;
    let answered = rows(&world).await;
    assert_eq!(answered.len(), before.len());
    for ((email, response, xmin), (_, _, old_xmin)) in answered.iter().zip(&before) {
        if *email == guest {
            assert_eq!(response, "declined");
            assert_ne!(xmin, old_xmin, "the changed row is written");
        } else {
            assert_eq!(xmin, old_xmin, "{email}'s row is untouched");
        }
    }
}

/// A user's calendars are listed at once (`DOCKET_SYNC_LISTINGS`, 2 by default), each in its
/// own transaction: two listings that both bring the same new people and the same invitation
/// neither wait for each other nor duplicate anything. The fake holds every listing's second
/// page until two listings have started, so listings run one after the other would miss.
#[tokio::test]
async fn calendars_are_listed_at_once_and_share_new_people_and_invitations() {
    use docket::fake_provider::FakeAttendee;
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    sync(&world).await;
    // A second calendar with events of its own, as a project calendar would hold them.
    edit(&world.fake, ADA, |calendars, _| {
        let mut projects = calendars[0].clone();
        projects.id = "projects@group.calendar.example".into();
        projects.name = "Projects".into();
        projects.primary = false;
        projects.events.clear();
        calendars.push(projects);
    });
    sync(&world).await;
    sqlx::query("update calendars set selected = true where name = 'Projects'")
        .execute(&world.app.db)
        .await
        .unwrap();
    // Both calendars gain events with the same three people nobody has met yet, and one
    // invitation is on both.
    edit(&world.fake, ADA, |calendars, tick| {
        let mut model = calendars[0].events[0].clone();
        model.event_type = "default".into();
        model.cancelled = false;
        let guests: Vec<FakeAttendee> = ["ann", "bob", "cy"]
            .iter()
            .map(|name| FakeAttendee {
                email: format!("{name}@umbrella.example"),
                name: String::new(),
                response: "accepted".into(),
                resource: false,
                organizer: false,
            })
            .collect();
        for calendar in [0, 3] {
            for n in 0..3 {
                let mut event = model.copy_with_id(&format!("umbrella-{calendar}-{n}"));
                event.ical_uid = format!("umbrella-{calendar}-{n}@example");
                event.series = None;
                event.attendees = guests.clone();
                event.changed = tick();
                calendars[calendar].events.push(event);
            }
            let mut shared = model.copy_with_id(&format!("umbrella-shared-{calendar}"));
            shared.ical_uid = "umbrella-shared@example".into();
            shared.series = None;
            shared.attendees = guests.clone();
            shared.changed = tick();
            calendars[calendar].events.push(shared);
        }
    });
    world.fake.faults(|f| {
        f.page_size = Some(1);
        f.rendezvous = Some(2);
    });
    sync(&world).await;
    assert!(
        !world.fake.rendezvous_missed(),
        "the calendars were not listed at once"
    );
    assert_eq!(
        scalar::<Option<String>>(&world, "select last_error from sync_state").await,
        None
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from meetings where provider_event_id like 'umbrella-%'"
        )
        .await,
        8
    );
    // One person per address, one organization, one canonical copy of the shared invitation.
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from people where email like '%@umbrella.example'"
        )
        .await,
        3
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from organizations where domain = 'umbrella.example'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar::<i64>(
            &world,
            "select count(*) from meetings where ical_uid = 'umbrella-shared@example' and same_as is null"
        )
        .await,
        1
    );
    // Each of them met in 7 meetings (3 + 3, and the shared one once).
    let counts: Vec<i32> = sqlx::query_scalar(
        "select s.meeting_count from person_stats s join people p on p.id = s.person_id
         where p.email like '%@umbrella.example' order by p.email",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap();
    assert_eq!(counts, [7, 7, 7]);
}

/// Attendee rows check their references once per statement (migrations/0030), with what the
/// foreign keys they replace guaranteed: a row names its own owner's meeting and person, and
/// deleting either one deletes the rows.
#[tokio::test]
async fn attendee_rows_name_their_owners_meeting_and_person_and_go_with_them() {
    let world = world().await;
    signed_in(&world, "google", ADA).await;
    signed_in(&world, "microsoft", GRACE).await;
    sync(&world).await;
    let db = &world.app.db;
    let ada: Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(ADA)
        .fetch_one(db)
        .await
        .unwrap();
    let grace: Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(GRACE)
        .fetch_one(db)
        .await
        .unwrap();
    let refused = |meeting_owner: Uuid, person_owner: Uuid| async move {
        let error = sqlx::query(
            "insert into attendees (meeting_id, person_id, user_id, response_status,
                                    is_organizer, is_optional)
             select (select id from meetings where user_id = $1 limit 1),
                    (select id from people where user_id = $2 and not is_me limit 1),
                    $3, 'accepted', false, false",
        )
        .bind(meeting_owner)
        .bind(person_owner)
        .bind(ada)
        .execute(db)
        .await
        .expect_err("a row naming another user's meeting or person is refused");
        error
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned())
    };
    assert_eq!(refused(grace, ada).await.as_deref(), Some("23503"));
    assert_eq!(refused(ada, grace).await.as_deref(), Some("23503"));

    // Deleting a person takes their attendee rows, and nobody else's.
    let (person, before): (Uuid, i64) = sqlx::query_as(
        "select a.person_id, count(*) from attendees a join people p on p.id = a.person_id
         where a.user_id = $1 and not p.is_me group by a.person_id order by count(*) desc limit 1",
    )
    .bind(ada)
    .fetch_one(db)
    .await
    .unwrap();
    assert!(before > 0);
    let total: i64 = scalar(&world, "select count(*) from attendees").await;
    sqlx::query("delete from people where id = $1")
        .bind(person)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(
        scalar::<i64>(&world, "select count(*) from attendees").await,
        total - before
    );

    // Deleting Ada's calendars takes their meetings and those meetings' attendee rows.
    sqlx::query("delete from calendars where user_id = $1")
        .bind(ada)
        .execute(db)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from attendees where user_id = $1")
        .bind(ada)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let graces: i64 = sqlx::query_scalar("select count(*) from attendees where user_id = $1")
        .bind(grace)
        .fetch_one(db)
        .await
        .unwrap();
    assert!(graces > 0);
}

/// What a person's page lists under "You owe them".
async fn owed_to(browser: &Browser, person: Uuid) -> Vec<String> {
    let doc = browser.get_html(&format!("/people/{person}")).await;
    texts(&doc, ".grid .panel:nth-child(2) .item-text")
}

/// "You owe them" on a person's page (kept as rows since migrations/0034) follows the items and
/// who attended: an open item assigned to the user shows on each attendee's page, leaves when
/// a sync takes the person off the meeting or the item is ticked done, and comes back when a
/// sync adds them again or it is reopened.
#[tokio::test]
async fn what_you_owe_someone_follows_the_items_and_who_attends() {
    let world = world().await;
    let ada = signed_in(&world, "google", ADA).await;
    sync(&world).await;
    let globex: Uuid = scalar(
        &world,
        "select id from meetings where title = 'Globex renewal'",
    )
    .await;
    let (guest, guest_email): (Uuid, String) = sqlx::query_as(
        "select p.id, p.email from attendees a join people p on p.id = a.person_id
         where a.meeting_id = $1 and not p.is_me order by p.email limit 1",
    )
    .bind(globex)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    crate::common::save_meeting_note(
        &ada,
        globex,
        "- [ ] @ada send the signed contract\n- [x] @ada book the room\n",
    )
    .await;
    let contract = vec!["send the signed contract".to_owned()];
    assert_eq!(
        owed_to(&ada, guest).await,
        contract,
        "open, mine, from a meeting together"
    );

    let mut removed = None;
    edit(&world.fake, ADA, |calendars, tick| {
        let event = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        removed = event
            .attendees
            .iter()
            .find(|a| a.email == guest_email)
            .cloned();
        event.attendees.retain(|a| a.email != guest_email);
        event.changed = tick();
    });
    let removed = removed.expect("the guest attends the fake's event");
    sync(&world).await;
    assert!(
        owed_to(&ada, guest).await.is_empty(),
        "no longer at the meeting"
    );

    edit(&world.fake, ADA, |calendars, tick| {
        let event = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        event.attendees.push(removed);
        event.changed = tick();
    });
    sync(&world).await;
    assert_eq!(owed_to(&ada, guest).await, contract, "back at the meeting");

    let item: Uuid = scalar(
        &world,
        "select id from items where text like '%send the signed contract%'",
    )
    .await;
    ada.post_form(&format!("/items/{item}/done"), &[("done", "true")])
        .await;
    assert!(owed_to(&ada, guest).await.is_empty(), "done");
    ada.post_form(&format!("/items/{item}/done"), &[("done", "false")])
        .await;
    assert_eq!(owed_to(&ada, guest).await, contract, "reopened");
}
