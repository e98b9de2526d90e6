//! Only meetings are meetings (focus time, out of office and working locations are context, not
//! meetings), one meeting per invitation across the user's calendars, and search as people
//! expect it (prefixes, stemming, title and note words together, plain snippets, kinds with
//! counts), driven over HTTP against the fake providers.

use chrono::{Duration, Utc};
use docket::fake_provider::{FakeCalendar, FakeEvent, When};
use reqwest::StatusCode;
use scraper::Selector;
use uuid::Uuid;

use crate::common::{Browser, World, html, location, save_meeting_note, texts, world_with};

const ADA: &str = "ada@northwind.example";
const GRACE: &str = "grace@contoso.example";
const HANK: &str = "hank@globex.example";

async fn signed_in(world: &World, email: &str, provider: &str) -> Browser {
    let browser = Browser::new(&world.app);
    let response = browser.sign_in(provider, email).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    browser
}

/// Makes every account due and runs the same code the worker runs.
async fn sync(world: &World) {
    sqlx::query("update sync_state set due_at = now()")
        .execute(&world.app.db)
        .await
        .unwrap();
    let state = &world.app.server.as_ref().unwrap().state;
    docket::sync::run_due(state, "test").await.unwrap();
}

/// Ada's calendars after `change`, with a clock tick for each changed event.
fn edit(world: &World, change: impl FnOnce(&mut Vec<FakeCalendar>, &mut dyn FnMut() -> u64)) {
    world.fake.edit_calendars(ADA, change);
}

/// A new invitation modelled on Ada's "Globex renewal" (Hank, Frank and Hedy invited), in
/// `days` days at noon.
fn invitation(calendars: &[FakeCalendar], id: &str, title: &str, days: i64) -> FakeEvent {
    let template = calendars[0]
        .events
        .iter()
        .find(|e| e.title == "Globex renewal")
        .unwrap();
    let start = (Utc::now() + Duration::days(days))
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    FakeEvent {
        id: id.into(),
        ical_uid: format!("{id}@northwind.example"),
        title: title.into(),
        start: When::At(start),
        end: When::At(start + Duration::minutes(45)),
        series: None,
        ..template.clone()
    }
}

async fn meeting_count(world: &World, email: &str) -> i32 {
    sqlx::query_scalar(
        "select s.meeting_count from person_stats s join people p on p.id = s.person_id
         where p.email = $1",
    )
    .bind(email)
    .fetch_one(&world.app.db)
    .await
    .unwrap()
}

async fn meeting_by_event(world: &World, provider_event_id: &str) -> Uuid {
    sqlx::query_scalar("select id from meetings where provider_event_id = $1")
        .bind(provider_event_id)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

async fn note_of(world: &World, meeting: Uuid) -> Option<String> {
    sqlx::query_scalar("select body from notes where meeting_id = $1")
        .bind(meeting)
        .fetch_optional(&world.app.db)
        .await
        .unwrap()
}

/// The titles a meetings list links to.
async fn listed(browser: &Browser, path: &str) -> Vec<String> {
    texts(&browser.get_html(path).await, "main td a")
}

#[tokio::test]
async fn focus_time_out_of_office_and_working_locations_are_not_meetings() {
    let world = world_with(&[]).await;
    let browser = signed_in(&world, ADA, "google").await;
    sync(&world).await;
    let hank_before = meeting_count(&world, HANK).await;
    // Google lets people invite others to an out-of-office block; it is still not a meeting.
    edit(&world, |calendars, tick| {
        let mut away = invitation(calendars, "awayblock", "Dentist appointment", 2);
        away.event_type = "outOfOffice".into();
        let mut lisbon = invitation(calendars, "whereabouts", "Working from Lisbon", 3);
        lisbon.event_type = "workingLocation".into();
        let mut escalation = invitation(calendars, "escalation", "Vendor escalation", 4);
        for e in [&mut away, &mut lisbon, &mut escalation] {
            e.changed = tick();
        }
        calendars[0].events.extend([away, lisbon, escalation]);
    });
    sync(&world).await;

    let upcoming = listed(&browser, "/meetings").await;
    assert!(
        upcoming.iter().any(|t| t == "Vendor escalation"),
        "{upcoming:?}"
    );
    for not_a_meeting in ["Dentist appointment", "Working from Lisbon", "Focus time"] {
        assert!(!upcoming.iter().any(|t| t == not_a_meeting), "{upcoming:?}");
    }
    assert!(
        !listed(&browser, "/meetings?when=past")
            .await
            .iter()
            .any(|t| t == "Focus time")
    );
    // Counted for people: the meeting, not the blocks they were listed on.
    assert_eq!(meeting_count(&world, HANK).await, hank_before + 1);

    // Today shows the blocks as thin lines of context, never as meetings to open.
    let today = browser.get_html("/").await;
    let context = texts(&today, ".agenda-context");
    assert!(
        context.iter().any(|t| t.contains("Dentist appointment")),
        "{context:?}"
    );
    let agenda = texts(&today, ".agenda-item .what a");
    assert!(
        agenda.iter().any(|t| t == "Vendor escalation"),
        "{agenda:?}"
    );
    assert!(!agenda.iter().any(|t| t == "Dentist appointment"));

    // Search finds no meeting in them.
    let found = browser.get_html("/search?q=dentist").await;
    assert!(texts(&found, ".result-group a").is_empty());
    let found = browser.get_html("/search?q=escalation").await;
    assert_eq!(texts(&found, ".result-group a"), ["Vendor escalation"]);

    // A meeting turned into focus time stops counting, and back.
    edit(&world, |calendars, tick| {
        let e = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.id == "escalation")
            .unwrap();
        e.event_type = "focusTime".into();
        e.changed = tick();
    });
    sync(&world).await;
    assert_eq!(meeting_count(&world, HANK).await, hank_before);
    assert!(
        !listed(&browser, "/meetings")
            .await
            .iter()
            .any(|t| t == "Vendor escalation")
    );
}

#[tokio::test]
async fn microsoft_out_of_office_and_working_elsewhere_are_not_meetings() {
    let world = world_with(&[]).await;
    let browser = signed_in(&world, GRACE, "microsoft").await;
    world.fake.edit_calendars(GRACE, |calendars, tick| {
        let template = calendars[0].events[0].clone();
        let start = (Utc::now() + Duration::days(2))
            .date_naive()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc();
        for (id, title, kind) in [
            ("msaway", "Annual leave", "outOfOffice"),
            ("mselsewhere", "Client site", "workingLocation"),
        ] {
            calendars[0].events.push(FakeEvent {
                id: id.into(),
                ical_uid: format!("{id}@contoso.example"),
                title: title.into(),
                series: None,
                start: When::At(start),
                end: When::At(start + Duration::hours(8)),
                event_type: kind.into(),
                changed: tick(),
                ..template.clone()
            });
        }
    });
    sync(&world).await;
    let kinds: Vec<(String, bool)> = sqlx::query_as(
        "select event_type, is_meeting from meetings where title in ('Annual leave', 'Client site')
         order by title",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        [
            ("outOfOffice".to_owned(), false),
            ("workingLocation".to_owned(), false)
        ]
    );
    let upcoming = listed(&browser, "/meetings").await;
    assert!(
        !upcoming
            .iter()
            .any(|t| t == "Annual leave" || t == "Client site")
    );
}

#[tokio::test]
async fn the_same_invitation_on_two_calendars_is_one_meeting_with_one_note() {
    let world = world_with(&[]).await;
    let browser = signed_in(&world, ADA, "google").await;
    edit(&world, |calendars, tick| {
        let mut budget = invitation(calendars, "budgetreview", "Budget review", 3);
        budget.changed = tick();
        calendars[0].events.push(budget);
    });
    sync(&world).await;
    let budget = meeting_by_event(&world, "budgetreview").await;
    save_meeting_note(&browser, budget, "- [ ] @hank send the budget sheet").await;
    let hank_before = meeting_count(&world, HANK).await;

    // The team calendar holds the same invitation (its own event id, the same iCalUID), and
    // an invitation that reaches it before it reaches Ada's own calendar.
    sqlx::query("update calendars set selected = true where name = 'Team holidays'")
        .execute(&world.app.db)
        .await
        .unwrap();
    edit(&world, |calendars, tick| {
        let primary = calendars[0].clone();
        let budget = primary
            .events
            .iter()
            .find(|e| e.id == "budgetreview")
            .unwrap();
        let mut copy = budget.copy_with_id("teambudget");
        copy.changed = tick();
        let mut board = invitation(&[primary], "teamboard", "Board prep", 5);
        board.changed = tick();
        calendars[1].events.extend([copy, board]);
    });
    sync(&world).await;

    let copy = meeting_by_event(&world, "teambudget").await;
    assert_ne!(copy, budget);
    // One meeting: listed once, the copy's address leads to it, its page names both calendars.
    let upcoming = listed(&browser, "/meetings").await;
    assert_eq!(
        upcoming.iter().filter(|t| *t == "Budget review").count(),
        1,
        "{upcoming:?}"
    );
    let response = browser.get(&format!("/meetings/{copy}")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/meetings/{budget}"));
    let page = browser.get_html(&format!("/meetings/{budget}")).await;
    let when = texts(&page, ".when").join(" ");
    assert!(
        when.contains("“Ada Lovelace”") && when.contains("“Team holidays”"),
        "{when}"
    );
    // Hank meets Ada in the budget review once, not twice (and in the board prep).
    assert_eq!(meeting_count(&world, HANK).await, hank_before + 1);
    // A note written at the copy's address is the meeting's one note.
    let response = browser
        .post_form(
            &format!("/meetings/{copy}/notes"),
            &[("body", "Budget agreed."), ("base_version", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        note_of(&world, budget).await.as_deref(),
        Some("Budget agreed.")
    );
    assert_eq!(note_of(&world, copy).await, None);
    // Search finds it once.
    let found = browser.get_html("/search?q=budget").await;
    assert_eq!(
        texts(&found, ".result-group a")
            .iter()
            .filter(|t| *t == "Budget review")
            .count(),
        1
    );

    // The invitation that reached the team calendar first, with a note written there, now
    // reaches Ada's own calendar: the meeting is on her calendar, the note with it.
    let board_team = meeting_by_event(&world, "teamboard").await;
    save_meeting_note(&browser, board_team, "Agenda: the budget").await;
    edit(&world, |calendars, tick| {
        let mut mine = calendars[1]
            .events
            .iter()
            .find(|e| e.id == "teamboard")
            .unwrap()
            .copy_with_id("myboard");
        mine.changed = tick();
        calendars[0].events.push(mine);
    });
    sync(&world).await;
    let board_mine = meeting_by_event(&world, "myboard").await;
    assert_eq!(
        note_of(&world, board_mine).await.as_deref(),
        Some("Agenda: the budget")
    );
    let response = browser.get(&format!("/meetings/{board_team}")).await;
    assert_eq!(location(&response), format!("/meetings/{board_mine}"));

    // Cancelled on Ada's calendar but not on the team's: the meeting stays, with its note.
    edit(&world, |calendars, tick| {
        let mine = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.id == "myboard")
            .unwrap();
        mine.cancelled = true;
        mine.changed = tick();
    });
    sync(&world).await;
    assert!(
        listed(&browser, "/meetings")
            .await
            .iter()
            .any(|t| t == "Board prep")
    );
    assert_eq!(
        note_of(&world, board_team).await.as_deref(),
        Some("Agenda: the budget")
    );
    let response = browser.get(&format!("/meetings/{board_mine}")).await;
    assert_eq!(location(&response), format!("/meetings/{board_team}"));

    // Another user's copy is not found, like any id that is not theirs.
    let alan = signed_in(&world, "alan@bletchley.example", "google").await;
    assert_eq!(
        alan.get(&format!("/meetings/{copy}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn copies_from_before_are_merged_without_losing_either_note() {
    let world = world_with(&[]).await;
    let browser = signed_in(&world, ADA, "google").await;
    sync(&world).await;
    sqlx::query("update calendars set selected = true where name = 'Team holidays'")
        .execute(&world.app.db)
        .await
        .unwrap();
    edit(&world, |calendars, tick| {
        let mut budget = invitation(calendars, "budgetreview", "Budget review", 3);
        budget.changed = tick();
        let mut copy = budget.copy_with_id("teambudget");
        copy.changed = tick();
        calendars[0].events.push(budget);
        calendars[1].events.push(copy);
    });
    sync(&world).await;
    let (budget, copy) = (
        meeting_by_event(&world, "budgetreview").await,
        meeting_by_event(&world, "teambudget").await,
    );
    let hank = meeting_count(&world, HANK).await;
    // As they were before one meeting per invitation: two meetings, a note on each.
    sqlx::query("update meetings set same_as = null")
        .execute(&world.app.db)
        .await
        .unwrap();
    assert_eq!(meeting_count(&world, HANK).await, hank + 1);
    save_meeting_note(&browser, budget, "- [ ] @hank send the budget\nFirst copy.").await;
    save_meeting_note(&browser, copy, "Second copy.\n- [ ] @hank book the room").await;

    // The migration's own statement.
    sqlx::query(
        "select meetings_regroup(user_id, array_agg(distinct ical_uid))
         from meetings where ical_uid is not null group by user_id",
    )
    .execute(&world.app.db)
    .await
    .unwrap();

    assert_eq!(
        note_of(&world, budget).await.as_deref(),
        Some(
            "- [ ] @hank send the budget\nFirst copy.\n\n--- merged from Team holidays ---\n\n\
             Second copy.\n- [ ] @hank book the room"
        )
    );
    assert_eq!(note_of(&world, copy).await, None);
    assert_eq!(meeting_count(&world, HANK).await, hank);
    // The items of both notes are the meeting's, and ticking one on the action-items page
    // ticks its line in the merged note.
    let items: Vec<(Uuid, String, Uuid)> = sqlx::query_as(
        "select id, text, meeting_id from items
         where text like '%send the budget%' or text like '%book the room%' order by line",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items.iter().all(|(_, _, meeting)| *meeting == budget));
    let room = items
        .iter()
        .find(|(_, text, _)| text.contains("room"))
        .unwrap()
        .0;
    let response = browser
        .post_form(
            &format!("/items/{room}/done"),
            &[("done", "true"), ("back", "/action-items")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let body = note_of(&world, budget).await.unwrap();
    assert!(body.ends_with("- [x] @hank book the room"), "{body}");
    assert!(body.starts_with("- [ ] @hank send the budget"), "{body}");
}

/// The search page's group headings and result titles.
async fn search(browser: &Browser, q: &str) -> (Vec<String>, Vec<String>) {
    let path = format!(
        "/search?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q)
            .finish()
    );
    let doc = browser.get_html(&path).await;
    (
        texts(&doc, ".result-group h2"),
        texts(&doc, ".result-group li > a"),
    )
}

#[tokio::test]
async fn search_finds_prefixes_stems_and_a_meeting_by_title_and_note_words() {
    let world = world_with(&[]).await;
    let browser = signed_in(&world, ADA, "google").await;
    sync(&world).await;
    let meeting: Uuid = sqlx::query_scalar(
        "select id from meetings where title = 'Q1 planning review' order by starts_at limit 1",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    save_meeting_note(
        &browser,
        meeting,
        "## Risks\n- [ ] @charles write the **rollback** plan\nWe discussed the database migrations.",
    )
    .await;

    // A prefix while typing, a plural for a singular, a title word with a note word.
    for q in [
        "roll",
        "rollb",
        "migration",
        "planning rollback",
        "Q1 migrations",
    ] {
        let (_, titles) = search(&browser, q).await;
        assert!(
            titles.iter().any(|t| t == "Q1 planning review"),
            "{q}: {titles:?}"
        );
    }
    // A word from neither finds nothing with them.
    let (_, titles) = search(&browser, "planning zeppelin").await;
    assert!(titles.is_empty(), "{titles:?}");

    // Grouped by kind, with counts; the meeting once, its action item on its own.
    let (headings, titles) = search(&browser, "rollback").await;
    assert_eq!(headings, ["Meetings (1)", "Action items (1)"], "{titles:?}");
    assert_eq!(titles[0], "Q1 planning review");

    // Snippets are text: no Markdown or note grammar, the match highlighted.
    let doc = browser.get_html("/search?q=rollback").await;
    let snippets = texts(&doc, ".snippet");
    assert!(
        snippets
            .iter()
            .all(|s| !s.contains("[ ]") && !s.contains("**") && !s.contains("##")),
        "{snippets:?}"
    );
    assert!(
        snippets
            .iter()
            .any(|s| s.contains("write the rollback plan")),
        "{snippets:?}"
    );
    assert!(texts(&doc, ".snippet mark").iter().all(|m| m == "rollback"));

    // One kind alone; every kind's count stays in the navigation.
    let doc = browser.get_html("/search?q=rollback&kind=action").await;
    assert_eq!(texts(&doc, ".result-group h2"), ["Action items (1)"]);
    let nav = texts(&doc, ".search-kinds a");
    assert!(nav.iter().any(|t| t.starts_with("Meetings")), "{nav:?}");

    // Whatever is typed, a page (maybe an empty one), never an error.
    for q in [
        "roll:*",
        "a & | b",
        "!(",
        "'",
        "\\",
        "\"unclosed",
        "-",
        "or",
        "<b>x</b>",
        "rollback:*A",
        "e2e",
        "über",
        "))",
        "-rollback",
    ] {
        let path = format!(
            "/search?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .finish()
        );
        assert_eq!(browser.get(&path).await.status(), StatusCode::OK, "{q}");
    }
    assert_eq!(
        browser.get("/search?q=x&kind=meetingz").await.status(),
        StatusCode::BAD_REQUEST
    );

    // Every hit opens the meeting.
    let links: Vec<String> = html(
        &browser
            .get("/search?q=rollback")
            .await
            .text()
            .await
            .unwrap(),
    )
    .select(&Selector::parse(".result-group li > a").unwrap())
    .filter_map(|a| a.value().attr("href").map(str::to_owned))
    .collect();
    assert!(
        links.iter().all(|l| *l == format!("/meetings/{meeting}")),
        "{links:?}"
    );
}

/// Search takes its candidates year by year, newest first (migrations/0028): a kind that has
/// enough in recent years reads no older year, and one that has not goes on back through the
/// whole history.
#[tokio::test]
async fn search_takes_the_newest_matches_first_and_reaches_back_through_the_years() {
    let world = world_with(&[]).await;
    let browser = signed_in(&world, ADA, "google").await;
    sync(&world).await;
    let db = &world.app.db;
    let (meeting, user): (Uuid, Uuid) = sqlx::query_as(
        "select id, user_id from meetings where title = 'Q1 planning review'
         order by starts_at limit 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    save_meeting_note(
        &browser,
        meeting,
        "- [ ] order the zanzibar spices\n- [ ] taste the zanzibar spices\n- [ ] pay for the zanzibar spices",
    )
    .await;
    // Recorded six, three and zero years ago.
    for (years, verb) in [(6, "order"), (3, "taste")] {
        sqlx::query(
            "update items set created_at = now() - make_interval(years => $3)
             where user_id = $1 and meeting_id = $2 and text like $4",
        )
        .bind(user)
        .bind(meeting)
        .bind(years)
        .bind(format!("{verb} %"))
        .execute(db)
        .await
        .unwrap();
    }
    let candidates = |per_kind: i64| async move {
        let texts: Vec<String> = sqlx::query_scalar(
            "select i.text from search_candidates($1, search_query('zanzibar', ''), $2) c
             join items i on i.id = c.source where c.kind = 'action'",
        )
        .bind(user)
        .bind(per_kind)
        .fetch_all(db)
        .await
        .unwrap();
        texts
    };
    assert_eq!(candidates(1).await, ["pay for the zanzibar spices"]);
    let mut two = candidates(2).await;
    two.sort();
    assert_eq!(
        two,
        ["pay for the zanzibar spices", "taste the zanzibar spices"]
    );
    assert_eq!(candidates(10).await.len(), 3);

    // The page finds the oldest one too, and another user's search never does.
    let (_, titles) = search(&browser, "order zanzibar").await;
    assert!(
        titles.iter().any(|t| t == "order the zanzibar spices"),
        "{titles:?}"
    );
    let grace = signed_in(&world, GRACE, "microsoft").await;
    assert!(search(&grace, "zanzibar").await.1.is_empty());
}

#[tokio::test]
async fn the_search_language_is_configurable() {
    let world = world_with(&[("DOCKET_SEARCH_LANGUAGE", "simple")]).await;
    let browser = signed_in(&world, ADA, "google").await;
    sync(&world).await;
    let meeting: Uuid = sqlx::query_scalar(
        "select id from meetings where title = 'Q1 planning review' order by starts_at limit 1",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    save_meeting_note(&browser, meeting, "We discussed the database migrations.").await;
    // Without stemming a singular does not find a plural.
    assert!(search(&browser, "\"migration\"").await.1.is_empty());
    assert!(!search(&browser, "migrations").await.1.is_empty());

    // An unknown configuration is refused by name; English re-indexes what is there.
    let error = docket::search::use_language(&world.app.db, "klingon")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("DOCKET_SEARCH_LANGUAGE") && error.contains("english"),
        "{error}"
    );
    docket::search::use_language(&world.app.db, "english")
        .await
        .unwrap();
    assert!(!search(&browser, "migration plan").await.1.is_empty());
}
