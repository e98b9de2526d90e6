//! Pages that summarise (issue 13 part 5): people completion for `@` and the assignee picker,
//! an assignee picked by name, Today's follow-up counted beyond what it lists, and a series
//! collapsed into one line on a person page.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Browser, World, html, synced, texts, world_with};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

#[derive(serde::Deserialize)]
struct Suggestion {
    id: Uuid,
    name: String,
    email: String,
}

async fn suggest(browser: &Browser, q: &str) -> Vec<Suggestion> {
    // The URL parser percent-encodes what a query string cannot hold (spaces).
    let response = browser.get(&format!("/people/suggest?q={q}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn user_id(world: &World, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn completion_offers_your_own_people_a_few_at_a_time() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let _alan = synced(&world, ALAN).await;
    let found = suggest(&ada, "char").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Charles Babbage");
    assert_eq!(found[0].email, "charles@northwind.example");
    // A letter most names have: ten at most, and every one Ada's.
    let many = suggest(&ada, "e").await;
    assert!(!many.is_empty() && many.len() <= 10, "{}", many.len());
    let ids: Vec<Uuid> = many.iter().map(|s| s.id).collect();
    let hers: i64 = sqlx::query_scalar(
        "select count(*) from people where id = any($1) and user_id = $2 and not is_me",
    )
    .bind(&ids)
    .bind(user_id(&world, ADA).await)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!(
        hers,
        many.len() as i64,
        "only Ada's own people, never herself"
    );
    // SQL metacharacters are text.
    assert!(suggest(&ada, "' or 1=1--").await.is_empty());
}

async fn item_for(world: &World, ada: &Browser, line: &str) -> Uuid {
    let meeting = crate::common::meeting_id(world, ADA, "Q1 planning review").await;
    crate::common::save_meeting_note(ada, meeting, line).await;
    sqlx::query_scalar("select id from items where meeting_id = $1")
        .bind(meeting)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

async fn assignee_of(world: &World, item: Uuid) -> Option<String> {
    sqlx::query_scalar(
        "select p.name from items i left join people p on p.id = i.assignee_id where i.id = $1",
    )
    .bind(item)
    .fetch_one(&world.app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_assignee_is_picked_by_name_or_given_by_address() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let item = item_for(&world, &ada, "- [ ] send the budget deck").await;
    let edit = |who: &'static str| {
        let ada = &ada;
        async move {
            ada.post_form(
                &format!("/items/{item}"),
                &[("assignee", who), ("back", "/action-items")],
            )
            .await
        }
    };
    let picked = edit("katherine johnson").await;
    assert_eq!(picked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        assignee_of(&world, item).await.as_deref(),
        Some("Katherine Johnson")
    );
    let by_address = edit("charles@northwind.example").await;
    assert_eq!(by_address.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        assignee_of(&world, item).await.as_deref(),
        Some("Charles Babbage")
    );
    // Nobody by that name: a clear message, and nothing changed.
    let unknown = edit("Zoe Nobody").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let page = html(&unknown.text().await.unwrap());
    assert!(
        texts(&page, "main")
            .concat()
            .contains("Nobody called \"Zoe Nobody\""),
        "{:?}",
        texts(&page, "main")
    );
    assert_eq!(
        assignee_of(&world, item).await.as_deref(),
        Some("Charles Babbage")
    );
    // The picker's field on the action-items page offers people, not a typed address.
    let doc = ada.get_html("/action-items").await;
    let field = doc
        .select(&scraper::Selector::parse("input[name=assignee]").unwrap())
        .next()
        .expect("the assignee field");
    assert_eq!(field.attr("list"), Some("people-choices"));
    assert_eq!(field.attr("type"), Some("text"));
}

#[tokio::test]
async fn today_counts_the_follow_up_it_does_not_list() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let today = chrono::Utc::now().date_naive();
    let lines: String = (1..=40)
        .map(|n| format!("- [ ] follow-up number {n} due:{today}\n"))
        .collect();
    let meeting = crate::common::meeting_id(&world, ADA, "Q1 planning review").await;
    crate::common::save_meeting_note(&ada, meeting, &lines).await;
    let due: i64 = sqlx::query_scalar(
        "select count(*) from items where user_id = $1 and kind = 'action' and not done
           and not removed and due <= $2",
    )
    .bind(user_id(&world, ADA).await)
    .bind(today + chrono::Duration::days(7))
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let doc = ada.get_html("/").await;
    let listed = texts(&doc, "aside .items .item-text").len() as i64;
    assert_eq!(listed, 30);
    let more = texts(&doc, "aside p a");
    let expected = format!(
        "{} more due within a week: all action items →",
        due - listed
    );
    assert!(more.contains(&expected), "{more:?}, expected {expected:?}");
}

#[tokio::test]
async fn a_person_page_shows_a_series_as_one_line_with_its_count() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let charles: Uuid =
        sqlx::query_scalar("select id from people where email = 'charles@northwind.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let doc = ada.get_html(&format!("/people/{charles}")).await;
    let upcoming = texts(&doc, ".series-list > li");
    let standups: Vec<&String> = upcoming
        .iter()
        .filter(|l| l.contains("Engineering stand-up"))
        .collect();
    assert_eq!(standups.len(), 1, "{upcoming:?}");
    assert!(standups[0].contains("recurring, next of"), "{standups:?}");
    // The picture's text alternative lists who Charles meets, each a link.
    let listed = texts(&doc, ".picture-list a");
    assert!(listed.iter().any(|l| l.starts_with("You: ")), "{listed:?}");
    assert!(listed.len() >= 2, "{listed:?}");
}

/// Ada's upcoming meetings as the database has them: (meeting, series) in start order.
async fn upcoming_meetings(world: &World, user: Uuid) -> Vec<(Uuid, Option<Uuid>)> {
    sqlx::query_as(
        "select id, series_id from meetings
         where user_id = $1 and status <> 'cancelled' and is_meeting and same_as is null
           and ends_at >= now() order by starts_at, id",
    )
    .bind(user)
    .fetch_all(&world.app.db)
    .await
    .unwrap()
}

/// Walks the collapsed upcoming list page by page, `size` rows a page, and checks that it shows
/// every one-off meeting once and every series once, as its first upcoming meeting counted whole.
/// Gives the number of pages, and of pages that stopped looking before they were full.
async fn check_collapsed_pages(world: &World, user: Uuid, size: i64) -> (usize, usize) {
    let expected = upcoming_meetings(world, user).await;
    let filter = docket::meetings::MeetingFilter::default();
    let mut after = None;
    let mut shown = Vec::new();
    let mut pages = 0;
    let mut cut_short = 0;
    loop {
        let page = docket::meetings::upcoming_collapsed(
            &world.app.db,
            user,
            chrono_tz::UTC,
            &filter,
            after,
            size,
        )
        .await
        .unwrap();
        pages += 1;
        assert!(page.rows.len() as i64 <= size);
        let short = (page.rows.len() as i64) < size;
        shown.extend(page.rows);
        let Some(next) = page.next else { break };
        cut_short += usize::from(short);
        after = docket::http::params::after_time(&Some(next)).unwrap();
        assert!(pages < 1_000, "the list never ends");
    }
    let mut want: Vec<(Uuid, Option<i64>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (id, series) in &expected {
        match series {
            None => want.push((*id, None)),
            Some(s) if seen.insert(*s) => {
                let count = expected.iter().filter(|(_, x)| x == series).count() as i64;
                want.push((*id, Some(count.min(docket::meetings::SERIES_COUNT_CAP))));
            }
            Some(_) => {}
        }
    }
    let got: Vec<(Uuid, Option<i64>)> = shown.iter().map(|m| (m.id, m.in_series)).collect();
    assert_eq!(got, want);
    (pages, cut_short)
}

#[tokio::test]
async fn the_meetings_list_shows_a_series_once_with_its_next_date_and_count() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let user = user_id(&world, ADA).await;
    let expected = upcoming_meetings(&world, user).await;
    let standup: Uuid = sqlx::query_scalar(
        "select id from series where user_id = $1 and title = 'Engineering stand-up'",
    )
    .bind(user)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let occurrences: Vec<Uuid> = expected
        .iter()
        .filter(|(_, s)| *s == Some(standup))
        .map(|(id, _)| *id)
        .collect();
    assert!(occurrences.len() > 1, "the demo's stand-up repeats");

    let doc = ada.get_html("/meetings").await;
    let rows = texts(&doc, "table.meetings tbody tr");
    let standups: Vec<&String> = rows
        .iter()
        .filter(|r| r.contains("Engineering stand-up"))
        .collect();
    assert_eq!(standups.len(), 1, "{rows:?}");
    assert!(
        standups[0].contains(&format!("recurring, next of {}", occurrences.len())),
        "{standups:?}"
    );
    let links: Vec<String> = doc
        .select(&scraper::Selector::parse("table.meetings a").unwrap())
        .filter_map(|a| a.attr("href").map(str::to_owned))
        .collect();
    assert!(
        links.contains(&format!("/meetings/{}", occurrences[0])),
        "the next one is linked"
    );
    assert!(links.contains(&format!("/meetings?series={standup}")));
    // The series' own list shows each of its meetings.
    let doc = ada.get_html(&format!("/meetings?series={standup}")).await;
    let rows = texts(&doc, "table.meetings tbody tr");
    assert_eq!(rows.len(), occurrences.len().min(50), "{rows:?}");
    // Past meetings each keep their own notes: not collapsed.
    let doc = ada.get_html("/meetings?when=past").await;
    let past = texts(&doc, "table.meetings tbody tr");
    assert!(
        past.iter()
            .filter(|r| r.contains("Engineering stand-up"))
            .count()
            > 1,
        "{past:?}"
    );
    // Page by page, two rows at a time: nothing repeated, nothing skipped.
    assert!(check_collapsed_pages(&world, user, 2).await.0 > 1);
}

/// A page looks through a bounded number of meetings: when hundreds of a series' meetings come
/// before the next one-off, it stops early with a link onwards, and the walk still shows every
/// one-off meeting and every series exactly once.
#[tokio::test]
async fn a_collapsed_page_stops_looking_early_and_loses_nothing() {
    let world = world_with(&[]).await;
    let _ada = synced(&world, ADA).await;
    let user = user_id(&world, ADA).await;
    // 700 more stand-ups packed into the next few hours (copies of one, as a sync would write).
    sqlx::query(
        "insert into meetings (id, user_id, calendar_id, provider_event_id, ical_uid, series_id,
                               original_start, title, starts_at, ends_at, time_zone, status,
                               event_type, is_meeting)
         select gen_random_uuid(), m.user_id, m.calendar_id, 'packed-' || g, 'packed-' || g,
                m.series_id, now() + g * interval '10 seconds', m.title,
                now() + g * interval '10 seconds',
                now() + g * interval '10 seconds' + interval '15 minutes',
                m.time_zone, m.status, m.event_type, m.is_meeting
         from meetings m, generate_series(1, 700) g
         where m.id = (select id from meetings where user_id = $1 and series_id = (
             select id from series where user_id = $1 and title = 'Engineering stand-up')
             order by starts_at desc limit 1)",
    )
    .bind(user)
    .execute(&world.app.db)
    .await
    .unwrap();
    let (pages, cut_short) = check_collapsed_pages(&world, user, 3).await;
    assert!(pages > 2);
    assert!(cut_short > 0, "no page stopped looking early");
}

/// An all-hands lists its first 25 attendees and folds the rest under "N more attendees", all
/// still on the page (completion offers them too).
#[tokio::test]
async fn a_large_invitation_folds_its_attendees() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let user = user_id(&world, ADA).await;
    let meeting = crate::common::meeting_id(&world, ADA, "Q1 planning review").await;
    sqlx::query(
        "with added as (
             insert into people (id, user_id, email, name)
             select gen_random_uuid(), $1, 'guest' || g || '@crowd.example', 'Guest ' || g
             from generate_series(1, 40) g returning id)
         insert into attendees (meeting_id, person_id, user_id) select $2, id, $1 from added",
    )
    .bind(user)
    .bind(meeting)
    .execute(&world.app.db)
    .await
    .unwrap();
    let total: i64 = sqlx::query_scalar("select count(*) from attendees where meeting_id = $1")
        .bind(meeting)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let doc = ada.get_html(&format!("/meetings/{meeting}")).await;
    assert_eq!(texts(&doc, "aside > section > ul.attendees > li").len(), 25);
    assert_eq!(
        texts(&doc, ".more-attendees summary"),
        vec![format!("{} more attendees", total - 25)]
    );
    assert_eq!(
        texts(&doc, ".more-attendees ul.attendees > li").len() as i64,
        total - 25
    );
}

/// A person page lists the 10 latest notes that mention them and links to all of them; the
/// notes list pages through them 50 at a time, newest first, and only the user's own.
#[tokio::test]
async fn notes_that_mention_a_person_go_on_past_the_ten_shown() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let charles: Uuid = sqlx::query_scalar(
        "select p.id from people p join users u on u.id = p.user_id
         where u.email = $1 and p.email = 'charles@northwind.example'",
    )
    .bind(ADA)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    for n in 1..=55 {
        let body = format!("- [ ] @charles@northwind.example task number {n}");
        let title = format!("Mention {n:02}");
        let response = ada
            .post_form(
                "/notes",
                &[("title", &title), ("body", &body), ("base_version", "0")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let doc = ada.get_html(&format!("/people/{charles}")).await;
    let more: Vec<String> = doc
        .select(&scraper::Selector::parse("main a").unwrap())
        .filter_map(|a| a.attr("href").map(str::to_owned))
        .filter(|h| h.starts_with("/notes?person="))
        .collect();
    assert_eq!(more, vec![format!("/notes?person={charles}")]);

    let first = ada.get_html(&format!("/notes?person={charles}")).await;
    let titles = texts(&first, ".note-list > li > a");
    assert_eq!(titles.len(), 50);
    assert_eq!(titles[0], "Mention 55", "newest first");
    let older: String = first
        .select(&scraper::Selector::parse(".pager a").unwrap())
        .filter(|a| a.text().collect::<String>().contains("Older"))
        .map(|a| a.attr("href").unwrap().to_owned())
        .next()
        .expect("an Older link");
    let second = ada.get_html(&older).await;
    let rest = texts(&second, ".note-list > li > a");
    assert!(rest.contains(&"Mention 01".to_owned()), "{rest:?}");
    assert!(rest.iter().all(|t| !titles.contains(t)), "no note twice");
    // Another user's person id is not found; a bad one is a clear 400.
    let alan = synced(&world, ALAN).await;
    assert_eq!(
        alan.get(&format!("/notes?person={charles}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        alan.get("/notes?person=nope").await.status(),
        StatusCode::BAD_REQUEST
    );
}

/// Today lists what is still running when the day begins: a block that began six weeks ago
/// (found through the long events' own index, not by reading six weeks of meetings) and a
/// meeting that began late last night; a finished multi-day block is not listed.
#[tokio::test]
async fn today_lists_events_still_running_however_long_ago_they_began() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let user = user_id(&world, ADA).await;
    sqlx::query(
        "insert into meetings (id, user_id, calendar_id, provider_event_id, ical_uid, title,
                               starts_at, ends_at, time_zone, status, event_type, is_meeting)
         select gen_random_uuid(), $1, c.id, e.id, e.id, e.title, e.starts_at, e.ends_at, 'UTC',
                'confirmed', 'default', true
         from (select id from calendars where user_id = $1 limit 1) c,
              (values ('long-1', 'Sabbatical cover rota', now() - interval '42 days', now() + interval '3 days'),
                      ('long-2', 'Finished conference block', now() - interval '42 days', now() - interval '30 hours'),
                      ('late-1', 'Overnight launch watch', now() - interval '20 hours', now() + interval '1 hour'))
              as e(id, title, starts_at, ends_at)",
    )
    .bind(user)
    .execute(&world.app.db)
    .await
    .unwrap();
    let today = texts(&ada.get_html("/").await, "main").join(" ");
    assert!(today.contains("Sabbatical cover rota"), "{today}");
    assert!(today.contains("Overnight launch watch"), "{today}");
    assert!(!today.contains("Finished conference block"), "{today}");
}
