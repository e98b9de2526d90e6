//! Notes and the relationship graph, driven through the pages over HTTP: the inline grammar,
//! two tabs editing one note, ticking items done everywhere, and every main page.

use reqwest::StatusCode;
use scraper::Selector;
use uuid::Uuid;

use crate::common::{Browser, World, html, location, texts};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

async fn synced(world: &World, email: &str) -> Browser {
    let browser = Browser::new(&world.app);
    browser.sign_in("google", email).await;
    let state = &world.app.server.as_ref().unwrap().state;
    docket::sync::run_due(state, "test").await.unwrap();
    browser
}

async fn world() -> World {
    World::with(&[("DOCKET_SYNC_WORKER", "false")]).await
}

async fn meeting_id(world: &World, title: &str) -> Uuid {
    sqlx::query_scalar("select id from meetings where title = $1 order by starts_at limit 1")
        .bind(title)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

/// The note form's hidden version, as the page sent it.
async fn form_version(browser: &Browser, path: &str) -> String {
    let doc = browser.get_html(path).await;
    doc.select(&Selector::parse("input[name=base_version]").unwrap())
        .next()
        .unwrap()
        .attr("value")
        .unwrap()
        .to_owned()
}

async fn save_note(
    browser: &Browser,
    meeting: Uuid,
    body: &str,
    version: &str,
) -> reqwest::Response {
    browser
        .post_form(
            &format!("/meetings/{meeting}/notes"),
            &[("body", body), ("base_version", version)],
        )
        .await
}

#[tokio::test]
async fn note_lines_become_assigned_dated_items() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let meeting = meeting_id(&world, "Q1 planning review").await;
    let version = form_version(&browser, &format!("/meetings/{meeting}")).await;
    let body = "Agenda\n- [ ] @charles send the deck due:2026-12-01\n!! @katherine draft hiring plan by Friday\n!! @zoe book the room\nDecision: freeze scope on Friday\n?? who owns the migration\n";
    let response = save_note(&browser, meeting, body, &version).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let doc = browser.get_html(&format!("/meetings/{meeting}")).await;
    let items = texts(&doc, ".items .item-text");
    assert_eq!(items.len(), 5, "{items:?}");
    // The mention and the due phrase became the assignee and due date, shown beside the text;
    // an unknown @zoe stays, as does everything in decisions and questions.
    assert_eq!(
        items[..3],
        ["send the deck", "draft hiring plan", "@zoe book the room"]
    );
    let rows: Vec<(String, Option<String>, Option<chrono::NaiveDate>)> = sqlx::query_as(
        "select i.text, p.name, i.due from items i left join people p on p.id = i.assignee_id
         where i.kind = 'action' order by i.line",
    )
    .fetch_all(&world.app.db)
    .await
    .unwrap();
    assert_eq!(rows[0].1.as_deref(), Some("Charles Babbage"));
    assert_eq!(rows[0].2, chrono::NaiveDate::from_ymd_opt(2026, 12, 1));
    assert_eq!(rows[1].1.as_deref(), Some("Katherine Johnson"));
    // "by Friday": the first Friday strictly after the meeting's day, in Ada's zone.
    let (starts_at, zone): (chrono::DateTime<chrono::Utc>, String) = sqlx::query_as(
        "select m.starts_at, u.time_zone from meetings m join users u on u.id = m.user_id
         where m.id = $1",
    )
    .bind(meeting)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let day = starts_at
        .with_timezone(&zone.parse::<chrono_tz::Tz>().unwrap())
        .date_naive();
    let friday = (1..=7)
        .map(|n| day + chrono::Duration::days(n))
        .find(|d| chrono::Datelike::weekday(d) == chrono::Weekday::Fri);
    assert_eq!(rows[1].2, friday, "by Friday, said on {day}");
    assert_eq!(rows[2].1, None, "unknown @zoe is unassigned");
    let hints = texts(&doc, ".hint");
    assert!(
        hints.iter().any(|h| h.contains("@zoe matches nobody")),
        "{hints:?}"
    );
    // Re-saving the same text changes nothing and duplicates nothing.
    let version = form_version(&browser, &format!("/meetings/{meeting}")).await;
    let ids_before: Vec<Uuid> = sqlx::query_scalar("select id from items order by line")
        .fetch_all(&world.app.db)
        .await
        .unwrap();
    save_note(&browser, meeting, &format!("{body}\nmore text\n"), &version).await;
    let ids_after: Vec<Uuid> =
        sqlx::query_scalar("select id from items where not removed order by line")
            .fetch_all(&world.app.db)
            .await
            .unwrap();
    assert_eq!(
        ids_before, ids_after,
        "items keep their identity across saves"
    );
}

#[tokio::test]
async fn two_tabs_never_silently_overwrite_each_other() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let meeting = meeting_id(&world, "Globex renewal").await;
    let path = format!("/meetings/{meeting}");
    let tab_a = form_version(&browser, &path).await;
    let tab_b = form_version(&browser, &path).await;
    assert_eq!(
        save_note(&browser, meeting, "Tab A's notes", &tab_a)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // The stale save writes nothing and is sent to the merge view (tests/integration/capture.rs
    // follows it through).
    let conflict = save_note(&browser, meeting, "Tab B's notes", &tab_b).await;
    assert_eq!(conflict.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&conflict), format!("/meetings/{meeting}/merge"));
    let stored: String = sqlx::query_scalar("select body from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(stored, "Tab A's notes", "nothing overwritten");
    let doc = browser.get_html(&location(&conflict)).await;
    assert_eq!(texts(&doc, "#merged"), ["Tab B's notes"]);
    let merged_version = doc
        .select(&Selector::parse("input[name=base_version]").unwrap())
        .next()
        .unwrap()
        .attr("value")
        .unwrap()
        .to_owned();
    let merged = save_note(
        &browser,
        meeting,
        "Tab A's notes\nTab B's notes",
        &merged_version,
    )
    .await;
    assert_eq!(merged.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn ticking_an_item_on_the_action_items_page_writes_x_into_the_note() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let meeting = meeting_id(&world, "Q1 planning review").await;
    let version = form_version(&browser, &format!("/meetings/{meeting}")).await;
    save_note(
        &browser,
        meeting,
        "Intro\r\n!! @charles send the deck\r\n- [ ] @katherine hire two engineers\r\n",
        &version,
    )
    .await;
    let doc = browser.get_html("/action-items").await;
    assert_eq!(
        texts(&doc, ".group h2"),
        ["Charles Babbage 1", "Katherine Johnson 1"]
    );
    let item: Uuid = sqlx::query_scalar("select id from items where text like '%send the deck%'")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let response = browser
        .post_form(
            &format!("/items/{item}/done"),
            &[("done", "true"), ("back", "/action-items")],
        )
        .await;
    // Back to the list, which says so with an Undo button (tests/integration/capture.rs).
    assert_eq!(location(&response), format!("/action-items?ticked={item}"));
    let body: String = sqlx::query_scalar("select body from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(
        body,
        "Intro\r\n- [x] @charles send the deck\r\n- [ ] @katherine hire two engineers\r\n"
    );
    let (done, same_id): (bool, bool) =
        sqlx::query_as("select done, id = $1 from items where text like '%send the deck%'")
            .bind(item)
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert!(done && same_id);
    let doc = browser.get_html("/action-items?filter=done").await;
    // Lists show the assignee as a field, not as the mention.
    assert_eq!(texts(&doc, ".item-text"), ["send the deck"]);
    // And back again.
    browser
        .post_form(&format!("/items/{item}/done"), &[("done", "false")])
        .await;
    let body: String = sqlx::query_scalar("select body from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert!(body.contains("- [ ] @charles send the deck"));
}

#[tokio::test]
async fn a_person_page_shows_what_they_owe_decisions_and_meetings_together() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let meeting = meeting_id(&world, "Ada / Charles 1:1").await;
    let version = form_version(&browser, &format!("/meetings/{meeting}")).await;
    save_note(
        &browser,
        meeting,
        "- [ ] @charles write the RFC\n- [ ] @ada review the RFC\n!d Charles leads the migration\n",
        &version,
    )
    .await;
    let charles: Uuid =
        sqlx::query_scalar("select id from people where email = 'charles@northwind.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let doc = browser.get_html(&format!("/people/{charles}")).await;
    assert_eq!(texts(&doc, "h1"), ["Charles Babbage"]);
    let owe = texts(&doc, ".grid .panel:first-child .item-text");
    assert_eq!(owe, ["write the RFC"]);
    let all = texts(&doc, ".item-text");
    assert!(
        all.iter().any(|t| t.contains("review the RFC")),
        "I owe them: {all:?}"
    );
    assert!(
        all.iter()
            .any(|t| t.contains("Charles leads the migration")),
        "decisions: {all:?}"
    );
    assert!(
        texts(&doc, "h3")
            .iter()
            .any(|t| t == "Ada / Charles 1:1 (recurring)"),
        "grouped by series"
    );
    // Carry-forward: the next 1:1 shows the open item.
    let next: Uuid = sqlx::query_scalar(
        "select m2.id from meetings m1 join meetings m2 on m2.series_id = m1.series_id and m2.starts_at > m1.starts_at
         where m1.id = $1 order by m2.starts_at limit 1",
    )
    .bind(meeting)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let doc = browser.get_html(&format!("/meetings/{next}")).await;
    assert!(
        texts(&doc, ".item-text")
            .iter()
            .any(|t| t.contains("write the RFC"))
    );
}

#[tokio::test]
async fn every_main_page_renders_for_a_synced_user() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let meeting = meeting_id(&world, "Globex renewal").await;
    let person: Uuid =
        sqlx::query_scalar("select id from people where email = 'hank@globex.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let org: Uuid =
        sqlx::query_scalar("select id from organizations where domain = 'globex.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    for path in [
        "/".to_owned(),
        "/meetings".into(),
        "/meetings?when=past".into(),
        format!("/meetings/{meeting}"),
        "/people".into(),
        "/people?q=hank".into(),
        format!("/people/{person}"),
        "/organizations".into(),
        format!("/organizations/{org}"),
        "/action-items".into(),
        "/decisions".into(),
        "/search?q=globex".into(),
        "/notes".into(),
        "/notes/new".into(),
        "/settings".into(),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let doc = html(&response.text().await.unwrap());
        assert_eq!(texts(&doc, "h1").len(), 1, "{path} has one h1");
    }
    let doc = browser.get_html("/search?q=globex").await;
    assert!(
        texts(&doc, ".results mark")
            .iter()
            .any(|m| m.eq_ignore_ascii_case("globex"))
    );
    let doc = browser.get_html("/people?q=hank").await;
    assert_eq!(texts(&doc, "tbody td:first-child a"), ["Hank Scorpio"]);
}

#[tokio::test]
async fn a_standalone_note_works_like_a_meeting_note() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let response = browser
        .post_form(
            "/notes",
            &[
                ("title", "Reorg thoughts"),
                ("body", "!! @hedy draft the proposal tomorrow\n"),
                ("base_version", "0"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = location(&response);
    let doc = browser.get_html(&path).await;
    assert_eq!(texts(&doc, ".item-text"), ["draft the proposal"]);
    let assignee: Option<String> =
        sqlx::query_scalar("select p.name from items i join people p on p.id = i.assignee_id")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(
        assignee.as_deref(),
        Some("Hedy Lamarr"),
        "known people resolve outside meetings"
    );
}

/// Search results for a standalone note and for an item in it open that note (they once linked
/// to /meetings/{note id}, a 404).
#[tokio::test]
async fn search_links_items_of_standalone_notes_to_the_note() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let response = browser
        .post_form(
            "/notes",
            &[
                ("title", "Reorg thoughts"),
                ("body", "!! @hedy draft the zeppelin proposal tomorrow\n"),
                ("base_version", "0"),
            ],
        )
        .await;
    let note = location(&response);
    assert!(note.starts_with("/notes/"), "{note}");
    let doc = browser.get_html("/search?q=zeppelin").await;
    let links: Vec<String> = doc
        .select(&Selector::parse("main li a").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(links.len(), 2, "the note and its action item: {links:?}");
    for link in links {
        assert_eq!(link, note, "every hit opens the note");
        assert_eq!(browser.get(&link).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn each_user_sees_only_their_own_data() {
    let world = world().await;
    let ada = synced(&world, ADA).await;
    let alan = synced(&world, ALAN).await;
    let meeting = meeting_id(&world, "Q1 planning review").await;
    let version = form_version(&ada, &format!("/meetings/{meeting}")).await;
    save_note(
        &ada,
        meeting,
        "secret plan\n- [ ] @charles do it\n",
        &version,
    )
    .await;
    let item: Uuid = sqlx::query_scalar("select id from items")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let note: Uuid = sqlx::query_scalar("select id from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let person: Uuid =
        sqlx::query_scalar("select id from people where email = 'charles@northwind.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let org: Uuid = sqlx::query_scalar("select id from organizations limit 1")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    for path in [
        format!("/meetings/{meeting}"),
        format!("/people/{person}"),
        format!("/organizations/{org}"),
        format!("/notes/{note}"),
    ] {
        assert_eq!(
            alan.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for (path, fields) in [
        (
            format!("/meetings/{meeting}/notes"),
            vec![("body", "hijack"), ("base_version", "1")],
        ),
        (format!("/items/{item}/done"), vec![("done", "true")]),
        (format!("/items/{item}"), vec![("due", "2030-01-01")]),
        (
            format!("/notes/{note}"),
            vec![("title", "x"), ("body", "hijack"), ("base_version", "1")],
        ),
    ] {
        let response = alan.post_form(&path, &fields).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (body, done): (String, bool) =
        sqlx::query_as("select n.body, i.done from notes n join items i on i.note_id = n.id")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(body, "secret plan\n- [ ] @charles do it\n");
    assert!(!done);
    for path in [
        "/search?q=secret",
        "/action-items",
        "/decisions",
        "/people?q=charles",
    ] {
        let page = alan.get(path).await.text().await.unwrap();
        assert!(
            !page.contains("secret plan")
                && !page.contains("@charles do it")
                && !page.contains("Charles Babbage"),
            "{path} leaks"
        );
    }
}

#[tokio::test]
async fn a_demo_account_starts_with_sample_notes_written_in_the_grammar() {
    let world = World::with(&[("DOCKET_SYNC_WORKER", "false"), ("DOCKET_DEMO", "true")]).await;
    let browser = synced(&world, ADA).await;
    let doc = browser.get_html("/action-items").await;
    let groups = texts(&doc, ".group h2");
    assert!(groups.iter().any(|g| g.starts_with("You")), "{groups:?}");
    assert!(
        groups.iter().any(|g| g.starts_with("Hank Scorpio")),
        "{groups:?}"
    );
    let doc = browser.get_html("/decisions").await;
    assert_eq!(texts(&doc, "tbody tr").len(), 2);
    // Seeding happens once: a second sync adds nothing.
    let before: i64 = sqlx::query_scalar("select count(*) from items")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    sqlx::query("update sync_state set due_at = now()")
        .execute(&world.app.db)
        .await
        .unwrap();
    docket::sync::run_due(&world.app.server.as_ref().unwrap().state, "test")
        .await
        .unwrap();
    let after: i64 = sqlx::query_scalar("select count(*) from items")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_note_that_mentions_someone_by_address_shows_on_their_page() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    browser
        .post_form(
            "/notes",
            &[
                ("title", "Trade fair"),
                ("body", "Met @hank@globex.example at the fair, friendly."),
                ("base_version", "0"),
            ],
        )
        .await;
    let hank: Uuid =
        sqlx::query_scalar("select id from people where email = 'hank@globex.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let doc = browser.get_html(&format!("/people/{hank}")).await;
    assert!(
        texts(&doc, "section.panel li a")
            .iter()
            .any(|t| t == "Trade fair")
    );
}

#[tokio::test]
async fn a_long_note_keeps_item_identity_and_an_unchanged_resave_rewrites_no_item() {
    let world = world().await;
    let browser = synced(&world, ADA).await;
    let meeting = meeting_id(&world, "Q1 planning review").await;
    let path = format!("/meetings/{meeting}");
    let line = |i: usize| match i % 3 {
        0 => format!("- [ ] @charles task number {i} for the launch"),
        1 => format!("Decision: option {i} is the one we keep"),
        _ => format!("?? open question number {i} about pricing"),
    };
    let body: String = (0..600).map(|i| line(i) + "\n").collect();
    let version = form_version(&browser, &path).await;
    assert_eq!(
        save_note(&browser, meeting, &body, &version).await.status(),
        StatusCode::SEE_OTHER
    );
    let rows = |sql: &'static str| {
        let db = world.app.db.clone();
        async move {
            sqlx::query_as::<_, (Uuid, i32, String, chrono::DateTime<chrono::Utc>)>(sql)
                .fetch_all(&db)
                .await
                .unwrap()
        }
    };
    let live = "select id, line, text, updated_at from items where not removed order by line";
    let first = rows(live).await;
    assert_eq!(first.len(), 600);
    let assigned: i64 = sqlx::query_scalar(
        "select count(*) from items i join people p on p.id = i.assignee_id
         where p.email = 'charles@northwind.example'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!(assigned, 200);

    // The same text again: nothing about the items changes, not even their updated_at.
    let version = form_version(&browser, &path).await;
    save_note(&browser, meeting, &body, &version).await;
    assert_eq!(rows(live).await, first);

    // A line inserted at the top, one edited, one deleted, one ticked.
    let mut lines: Vec<String> = (0..600).map(line).collect();
    lines[9] = "- [ ] @charles task number 9 for the big launch".into();
    lines[21] = "- [x] @charles task number 21 for the launch".into();
    lines.remove(30);
    lines.insert(0, "- [ ] a brand new task".into());
    let version = form_version(&browser, &path).await;
    save_note(&browser, meeting, &(lines.join("\n") + "\n"), &version).await;
    let after = rows(live).await;
    assert_eq!(after.len(), 600);
    assert!(!first.iter().any(|r| r.0 == after[0].0), "a new item");
    let id_of = |rows: &[(Uuid, i32, String, _)], text: &str| {
        rows.iter().find(|r| r.2.contains(text)).unwrap().0
    };
    assert_eq!(
        id_of(&after, "task number 9 for the big launch"),
        id_of(&first, "task number 9 for the launch"),
        "an edited line keeps its item"
    );
    assert_eq!(id_of(&after, "number 21 "), id_of(&first, "number 21 "));
    assert_eq!(id_of(&after, "number 599 "), id_of(&first, "number 599 "));
    let removed: Vec<String> = sqlx::query_scalar("select text from items where removed")
        .fetch_all(&world.app.db)
        .await
        .unwrap();
    assert_eq!(removed, ["@charles task number 30 for the launch"]);
    let done: bool = sqlx::query_scalar(
        "select done_at is not null from items where text like '%task number 21 %'",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert!(done);
}
