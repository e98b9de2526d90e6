//! Importing a zipped Markdown vault (Settings → Import) over real HTTP, as a signed-in user of
//! the fake Google whose calendar gives meetings with provider ids. Every archive is built here
//! with the `zip` crate, to the export's format (a Docket vault) or as any other tool would.

use std::io::{Cursor, Write};

use chrono::{NaiveDate, Utc};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use scraper::Selector;
use sqlx::PgPool;
use uuid::Uuid;
use zip::{CompressionMethod, DateTime, ZipWriter, write::SimpleFileOptions};

use crate::common::{Browser, World, html, location, texts};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

async fn world() -> World {
    World::with(&[("DOCKET_SYNC_WORKER", "false")]).await
}

async fn synced(world: &World, email: &str) -> (Browser, Uuid) {
    let browser = Browser::new(&world.app);
    browser.sign_in("google", email).await;
    let state = &world.app.server.as_ref().unwrap().state;
    docket::sync::run_due(state, "test").await.unwrap();
    let user: Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    (browser, user)
}

/// A meeting of `user` by title: its id, provider event id, iCalUID and local day.
struct Meeting {
    id: Uuid,
    event_id: String,
    day: NaiveDate,
}

async fn meeting(db: &PgPool, user: Uuid, title: &str) -> Meeting {
    let (id, event_id, day): (Uuid, String, NaiveDate) = sqlx::query_as(
        "select m.id, m.provider_event_id, (m.starts_at at time zone u.time_zone)::date
         from meetings m join users u on u.id = m.user_id
         where m.user_id = $1 and m.title = $2 order by m.starts_at limit 1",
    )
    .bind(user)
    .bind(title)
    .fetch_one(db)
    .await
    .unwrap();
    Meeting { id, event_id, day }
}

/// A zip of `(name, bytes)` files, deflated, as Obsidian's or Docket's export would make it.
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::from_date_and_time(2025, 8, 9, 10, 0, 0).unwrap());
    for (name, bytes) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A meeting's file as Docket's export writes it (every key, empty values as "").
fn meeting_file(
    docket_id: Uuid,
    date: NaiveDate,
    title: &str,
    event_id: &str,
    note_id: Uuid,
    body: &str,
) -> Vec<u8> {
    format!(
        "---\ndocket_id: \"{docket_id}\"\ndate: \"{date}\"\nstart: \"{date}T09:30:00+00:00\"\n\
end: \"{date}T10:00:00+00:00\"\ntitle: \"{title}\"\ncalendar: \"Work\"\nseries: \"\"\n\
status: \"confirmed\"\nattendees: [\"[[Ada Lovelace]]\"]\norganizations: []\n\
provider_event_id: \"{event_id}\"\nical_uid: \"\"\nnote_id: \"{note_id}\"\n---\n{body}"
    )
    .into_bytes()
}

/// Uploads `bytes` as the settings form does: the CSRF token first, then the file.
async fn upload(browser: &Browser, bytes: Vec<u8>) -> reqwest::Response {
    let token = browser.csrf_token().await;
    let form = Form::new().text("csrf_token", token).part(
        "archive",
        Part::bytes(bytes)
            .file_name("vault.zip")
            .mime_str("application/zip")
            .unwrap(),
    );
    browser
        .client
        .post(browser.url("/settings/import"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Uploads an archive and follows its result page until the import is done.
pub async fn import(browser: &Browser, bytes: Vec<u8>) -> (String, scraper::Html) {
    let response = upload(browser, bytes).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the upload is taken"
    );
    let page = location(&response);
    assert!(page.starts_with("/settings/imports/"), "{page}");
    (page.clone(), wait_until_done(browser, &page).await)
}

async fn wait_until_done(browser: &Browser, page: &str) -> scraper::Html {
    for _ in 0..600 {
        let doc = browser.get_html(page).await;
        if texts(&doc, "#import-state") == ["Done"] {
            return doc;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import at {page} did not finish");
}

/// The count of each outcome on a result page.
pub fn counts(doc: &scraper::Html) -> [String; 4] {
    ["matched", "standalone", "unchanged", "skipped"]
        .map(|outcome| texts(doc, &format!("#count-{outcome}")).concat())
}

/// The result page's rows as (path, outcome, details).
fn rows(doc: &scraper::Html) -> Vec<(String, String, String)> {
    let row = Selector::parse("table.import-files tbody tr").unwrap();
    let cell = Selector::parse("td").unwrap();
    doc.select(&row)
        .map(|tr| {
            let cells: Vec<String> = tr
                .select(&cell)
                .map(|td| td.text().collect::<String>().trim().to_owned())
                .collect();
            (
                cells[0].clone(),
                tr.attr("data-outcome").unwrap().to_owned(),
                cells[2].clone(),
            )
        })
        .collect()
}

fn row<'a>(rows: &'a [(String, String, String)], path: &str) -> &'a (String, String, String) {
    rows.iter()
        .find(|(p, _, _)| p == path)
        .unwrap_or_else(|| panic!("{path} is not listed in {rows:?}"))
}

/// Everything notes and items hold for `user`, with versions and write times: equal snapshots
/// mean nothing was written.
async fn snapshot(db: &PgPool, user: Uuid) -> String {
    sqlx::query_scalar(
        "select concat_ws(' | ',
            (select string_agg(concat_ws(',', id, meeting_id, title, body, version, updated_at,
                                         created_at, import_key), ';' order by id)
             from notes where user_id = $1),
            (select string_agg(concat_ws(',', id, note_id, kind, text, done, due, assignee_id,
                                         removed, updated_at), ';' order by id)
             from items where user_id = $1))",
    )
    .bind(user)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn note_of(db: &PgPool, meeting: Uuid) -> Option<(String, i32)> {
    sqlx::query_as("select body, version from notes where meeting_id = $1")
        .bind(meeting)
        .fetch_optional(db)
        .await
        .unwrap()
}

/// Today in Ada's time zone (her calendar's, Europe/London).
fn london_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive()
}

#[tokio::test]
async fn notes_go_to_their_meetings_by_docket_id_event_id_or_day_and_title_and_the_rest_stand_alone()
 {
    let world = world().await;
    let (ada, user) = synced(&world, ADA).await;
    let db = &world.app.db;
    let planning = meeting(db, user, "Q1 planning review").await;
    let kickoff = meeting(db, user, "Globex renewal kick-off").await;
    let renewal = meeting(db, user, "Globex renewal").await;
    assert_eq!(renewal.day, london_today());

    let by_id = meeting_file(
        planning.id,
        planning.day,
        "Q1 planning review",
        "",
        Uuid::new_v4(),
        "Headcount first.\n- [ ] @charles share the headcount plan due:2031-01-15\n",
    );
    // Exported by another Docket: its meeting id means nothing here, its calendar event does.
    let by_event = meeting_file(
        Uuid::new_v4(),
        kickoff.day,
        "Kick-off (renamed since)",
        &kickoff.event_id,
        Uuid::new_v4(),
        "Decision: start the renewal early\n",
    );
    let by_day_and_title = "- [ ] @hank send the revised terms due:2031-02-03\n?? who signs\n";
    let ideas =
        "---\ntitle: Ideas\ndate: 2025-05-06\ntags: [later]\n---\n- [ ] try the new format\n";
    let zip = zip_of(&[
        ("Meetings/2026-01-05 1030 Q1 planning review.md", &by_id),
        ("Meetings/2026-01-06 1500 Kick-off.md", &by_event),
        (
            &format!("Work/{} Globex renewal.md", renewal.day),
            by_day_and_title.as_bytes(),
        ),
        ("Ideas.md", ideas.as_bytes()),
        ("2024-02-03 Reading list.md", b"Books to read.\n"),
        ("Journal/No date.md", b"Written some day.\n"),
        ("attachments/whiteboard.png", b"\x89PNG\r\n"),
        (".obsidian/app.json", b"{}"),
    ]);
    let (_, doc) = import(&ada, zip).await;

    assert_eq!(counts(&doc), ["3", "3", "0", "1"]);
    let rows = rows(&doc);
    assert_eq!(
        rows.len(),
        7,
        "the editor's settings are not listed: {rows:?}"
    );
    let (_, outcome, details) = row(&rows, "Meetings/2026-01-05 1030 Q1 planning review.md");
    assert_eq!(outcome, "matched");
    assert!(
        details.contains("Q1 planning review") && details.contains("Docket id"),
        "{details}"
    );
    let (_, outcome, details) = row(&rows, "Meetings/2026-01-06 1500 Kick-off.md");
    assert_eq!(outcome, "matched");
    assert!(details.contains("calendar event id"), "{details}");
    let (_, outcome, details) = row(&rows, &format!("Work/{} Globex renewal.md", renewal.day));
    assert_eq!(outcome, "matched");
    assert!(details.contains("day and title"), "{details}");
    let (_, outcome, details) = row(&rows, "Ideas.md");
    assert_eq!(outcome, "standalone");
    assert!(
        details.contains("“Ideas”") && details.contains("front matter"),
        "{details}"
    );
    let (_, _, details) = row(&rows, "2024-02-03 Reading list.md");
    assert!(
        details.contains("“Reading list”") && details.contains("file name"),
        "{details}"
    );
    let (_, _, details) = row(&rows, "Journal/No date.md");
    assert!(details.contains("archive entry"), "{details}");
    let (_, outcome, details) = row(&rows, "attachments/whiteboard.png");
    assert_eq!(outcome, "skipped");
    assert_eq!(details, "Not a Markdown note (.md).");

    // Each meeting has its note: a Docket export's body exactly, another file whole.
    assert_eq!(
        note_of(db, planning.id).await.unwrap().0,
        "Headcount first.\n- [ ] @charles share the headcount plan due:2031-01-15\n"
    );
    assert_eq!(
        note_of(db, kickoff.id).await.unwrap().0,
        "Decision: start the renewal early\n"
    );
    assert_eq!(note_of(db, renewal.id).await.unwrap().0, by_day_and_title);

    // The lines became items, as when typed: assignees among the attendees, due dates.
    let items: Vec<(String, String, Option<NaiveDate>, Option<String>)> = sqlx::query_as(
        "select i.kind, i.text, i.due, p.email from items i left join people p on p.id = i.assignee_id
         where i.user_id = $1 and not i.removed order by i.kind, i.text",
    )
    .bind(user)
    .fetch_all(db)
    .await
    .unwrap();
    let expect = |kind: &str, text: &str| {
        items
            .iter()
            .find(|(k, t, _, _)| k == kind && t.contains(text))
            .unwrap_or_else(|| panic!("no {kind} {text:?} in {items:?}"))
            .clone()
    };
    let hank = expect("action", "send the revised terms");
    assert_eq!(hank.2, NaiveDate::from_ymd_opt(2031, 2, 3));
    assert_eq!(hank.3.as_deref(), Some("hank@globex.example"));
    let charles = expect("action", "share the headcount plan");
    assert_eq!(charles.2, NaiveDate::from_ymd_opt(2031, 1, 15));
    assert_eq!(charles.3.as_deref(), Some("charles@northwind.example"));
    expect("decision", "start the renewal early");
    expect("question", "who signs");
    expect("action", "try the new format");

    // Standalone notes: titled and dated from their file (midnight in Ada's time zone).
    let standalone: Vec<(String, NaiveDate, String)> = sqlx::query_as(
        "select title, (created_at at time zone 'Europe/London')::date, body from notes
         where user_id = $1 and meeting_id is null order by created_at",
    )
    .bind(user)
    .fetch_all(db)
    .await
    .unwrap();
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        standalone,
        [
            (
                "Reading list".to_owned(),
                day("2024-02-03"),
                "Books to read.\n".to_owned()
            ),
            ("Ideas".to_owned(), day("2025-05-06"), ideas.to_owned()),
            (
                "No date".to_owned(),
                day("2025-08-09"),
                "Written some day.\n".to_owned()
            ),
        ]
    );
    // The standalone notes are where a person finds notes.
    let notes = texts(&ada.get_html("/notes").await, ".note-list a");
    for title in ["Ideas", "Reading list", "No date"] {
        assert!(notes.contains(&title.to_owned()), "{notes:?}");
    }
    // The settings page lists the import.
    let settings = ada.get_html("/settings").await;
    assert_eq!(texts(&settings, "#import .imports a"), ["vault.zip"]);
}

#[tokio::test]
async fn importing_the_same_archive_again_changes_nothing() {
    let world = world().await;
    let (ada, user) = synced(&world, ADA).await;
    let db = &world.app.db;
    let renewal = meeting(db, user, "Globex renewal").await;
    let kickoff = meeting(db, user, "Globex renewal kick-off").await;
    let note_id = Uuid::new_v4();
    let zip = zip_of(&[
        (
            "Meetings/a.md",
            &meeting_file(
                renewal.id,
                renewal.day,
                "Globex renewal",
                "",
                Uuid::new_v4(),
                "- [ ] @hank send terms due:2031-03-01\nDecision: renew\n",
            ),
        ),
        (
            &format!("{} Globex renewal kick-off.md", kickoff.day),
            b"- [x] book the room\n",
        ),
        (
            "Notes/2026-03-01 Ideas.md",
            format!(
                "---\ndocket_id: \"{note_id}\"\ntitle: \"Ideas\"\ndate: \"2026-03-01\"\n\
created: \"2026-03-01T08:15:00+00:00\"\nupdated: \"2026-03-02T10:00:00+00:00\"\n---\n?? what next\n"
            )
            .as_bytes(),
        ),
        ("Inbox/loose thought.md", b"- [ ] call the bank\n"),
    ]);
    let (_, first) = import(&ada, zip.clone()).await;
    assert_eq!(counts(&first), ["2", "2", "0", "0"]);
    let before = snapshot(db, user).await;
    let notes_before: i64 = sqlx::query_scalar("select count(*) from notes where user_id = $1")
        .bind(user)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(notes_before, 4);

    let (_, second) = import(&ada, zip).await;
    assert_eq!(counts(&second), ["0", "0", "4", "0"]);
    assert!(
        rows(&second)
            .iter()
            .all(|(_, outcome, _)| outcome == "unchanged")
    );
    // Not a row, a version or an item touched.
    assert_eq!(snapshot(db, user).await, before);

    // Ticking an item afterwards is the user's change: a third import keeps it and says so.
    let item: Uuid =
        sqlx::query_scalar("select id from items where user_id = $1 and text like '%send terms%'")
            .bind(user)
            .fetch_one(db)
            .await
            .unwrap();
    let ticked = ada
        .post_form(&format!("/items/{item}/done"), &[("done", "true")])
        .await;
    assert_eq!(ticked.status(), StatusCode::SEE_OTHER);
    let after_tick = snapshot(db, user).await;
    let third_zip = zip_of(&[(
        "Meetings/a.md",
        &meeting_file(
            renewal.id,
            renewal.day,
            "Globex renewal",
            "",
            Uuid::new_v4(),
            "- [ ] @hank send terms due:2031-03-01\nDecision: renew\n",
        ),
    )]);
    let (_, third) = import(&ada, third_zip).await;
    assert_eq!(counts(&third), ["0", "0", "0", "1"]);
    let (_, _, details) = &rows(&third)[0];
    assert!(
        details.contains("already has a different note"),
        "{details}"
    );
    assert_eq!(snapshot(db, user).await, after_tick);
}

#[tokio::test]
async fn a_meeting_that_has_other_notes_keeps_them_and_an_empty_one_is_filled() {
    let world = world().await;
    let (ada, user) = synced(&world, ADA).await;
    let db = &world.app.db;
    let renewal = meeting(db, user, "Globex renewal").await;
    let planning = meeting(db, user, "Q1 planning review").await;
    for (meeting, body) in [
        (renewal.id, "My own notes, typed here.\n"),
        (planning.id, ""),
    ] {
        let response = ada
            .post_form(
                &format!("/meetings/{meeting}/notes"),
                &[("body", body), ("base_version", "0")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let zip = zip_of(&[
        (
            "Meetings/renewal.md",
            &meeting_file(
                renewal.id,
                renewal.day,
                "Globex renewal",
                "",
                Uuid::new_v4(),
                "Imported text.\n",
            ),
        ),
        (
            "Meetings/planning.md",
            &meeting_file(
                planning.id,
                planning.day,
                "Q1 planning review",
                "",
                Uuid::new_v4(),
                "Imported plan.\n",
            ),
        ),
    ]);
    let (_, doc) = import(&ada, zip).await;
    assert_eq!(counts(&doc), ["1", "0", "0", "1"]);
    let rows = rows(&doc);
    let (_, outcome, details) = row(&rows, "Meetings/renewal.md");
    assert_eq!(outcome, "skipped");
    assert!(
        details.contains("“Globex renewal”") && details.contains("already has a different note"),
        "{details}"
    );
    assert_eq!(
        note_of(db, renewal.id).await.unwrap(),
        ("My own notes, typed here.\n".to_owned(), 1)
    );
    assert_eq!(
        note_of(db, planning.id).await.unwrap(),
        ("Imported plan.\n".to_owned(), 2)
    );
}

#[tokio::test]
async fn another_users_meeting_ids_are_never_matched() {
    let world = world().await;
    let (_ada, ada_id) = synced(&world, ADA).await;
    let (alan, alan_id) = synced(&world, ALAN).await;
    let db = &world.app.db;
    let adas = meeting(db, ada_id, "Globex renewal").await;
    let zip = zip_of(&[(
        "Meetings/x.md",
        &meeting_file(
            adas.id,
            adas.day,
            "Globex renewal",
            &adas.event_id,
            Uuid::new_v4(),
            "Alan's text.\n",
        ),
    )]);
    let (page, doc) = import(&alan, zip).await;
    // Alan has no such meeting: his file became a note of his own.
    assert_eq!(counts(&doc), ["0", "1", "0", "0"]);
    assert_eq!(note_of(db, adas.id).await, None);
    let (owner, meeting_id): (Uuid, Option<Uuid>) =
        sqlx::query_as("select user_id, meeting_id from notes where body = 'Alan''s text.\n'")
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!((owner, meeting_id), (alan_id, None));
    // Alan's import is his alone.
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    assert_eq!(ada.get(&page).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(alan.get(&page).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_docket_export_restores_what_the_text_cannot_carry_and_skips_its_derived_pages() {
    let world = world().await;
    let (ada, user) = synced(&world, ADA).await;
    let db = &world.app.db;
    let renewal = meeting(db, user, "Globex renewal").await;
    let note_id = Uuid::new_v4();
    let body = "- [ ] @hank send terms due:2031-03-01\n- [ ] @hedy review the contract\n- [ ] draft the memo\n";
    let manifest = serde_json::json!({
        "format_version": 1,
        "exported_at": "2026-11-30T10:00:00Z",
        "user": {"email": ADA, "name": "Ada Lovelace", "time_zone": "Europe/London"},
        "meetings": [{"id": renewal.id}],
        "notes": [{"id": note_id, "meeting_id": renewal.id, "title": "", "body": body,
                   "created_at": "2026-11-30T10:00:00Z", "updated_at": "2026-11-30T10:00:00Z",
                   "path": "Meetings/renewal.md"}],
        "items": [
            {"id": Uuid::new_v4(), "note_id": note_id, "meeting_id": renewal.id, "kind": "action",
             "text": "@hank send terms", "done": false, "due": "2032-04-05",
             "assignee_email": "hank@globex.example", "due_set_by_user": true,
             "assignee_set_by_user": false, "answer": null},
            {"id": Uuid::new_v4(), "note_id": note_id, "meeting_id": renewal.id, "kind": "action",
             "text": "@hedy review the contract", "done": false, "due": null,
             "assignee_email": "frank.grimes@globex.example", "due_set_by_user": false,
             "assignee_set_by_user": true, "answer": null},
            {"id": Uuid::new_v4(), "note_id": note_id, "meeting_id": renewal.id, "kind": "action",
             "text": "draft the memo", "done": false, "due": null, "assignee_email": null,
             "due_set_by_user": false, "assignee_set_by_user": false, "answer": null}
        ],
        "people": [], "organizations": []
    });
    let zip = zip_of(&[
        (
            "Meetings/renewal.md",
            &meeting_file(renewal.id, renewal.day, "Globex renewal", "", note_id, body),
        ),
        ("People/Hank Scorpio.md", b"- [[Meetings/renewal]]\n"),
        ("Organizations/Globex.md", b"- [[People/Hank Scorpio]]\n"),
        ("Action items.md", b"- [ ] send terms\n"),
        ("Decisions.md", b""),
        ("Questions.md", b""),
        ("docket.json", manifest.to_string().as_bytes()),
    ]);
    let (_, doc) = import(&ada, zip).await;
    assert_eq!(counts(&doc), ["1", "0", "0", "5"]);
    for page in [
        "People/Hank Scorpio.md",
        "Organizations/Globex.md",
        "Action items.md",
    ] {
        let (_, outcome, details) = row(&rows(&doc), page).clone();
        assert_eq!(outcome, "skipped");
        assert_eq!(
            details,
            "Derived from the notes: Docket makes it again from them."
        );
    }
    // (text, due, due set by hand, assignee, assignee set by hand)
    type Restored = (String, Option<NaiveDate>, bool, Option<String>, bool);
    let items: Vec<Restored> = sqlx::query_as(
        "select i.text, i.due, i.due_set_by_user, p.email, i.assignee_set_by_user
         from items i left join people p on p.id = i.assignee_id
         where i.user_id = $1 order by i.line",
    )
    .bind(user)
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(
        items,
        [
            // The due date set by hand wins over the line's, as it did where it was exported.
            (
                "@hank send terms".to_owned(),
                NaiveDate::from_ymd_opt(2032, 4, 5),
                true,
                Some("hank@globex.example".to_owned()),
                false
            ),
            // So does the assignee set by hand.
            (
                "@hedy review the contract".to_owned(),
                None,
                false,
                Some("frank.grimes@globex.example".to_owned()),
                true
            ),
            ("draft the memo".to_owned(), None, false, None, false),
        ]
    );
}

/// How many rows the import could have written for `user`.
async fn written_rows(db: &PgPool, user: Uuid) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from imports where user_id = $1),
                (select count(*) from import_files where user_id = $1),
                (select count(*) from notes where user_id = $1),
                (select count(*) from items where user_id = $1)",
    )
    .bind(user)
    .fetch_one(db)
    .await
    .unwrap()
}

/// Rewrites every entry's uncompressed size, in its local and central headers.
fn lie_about_sizes(zip: &mut [u8], size: u32) {
    for (signature, field) in [(&b"PK\x03\x04"[..], 22), (&b"PK\x01\x02"[..], 24)] {
        let mut at = 0;
        while let Some(found) = zip[at..].windows(4).position(|w| w == signature) {
            let start = at + found + field;
            zip[start..start + 4].copy_from_slice(&size.to_le_bytes());
            at += found + 4;
        }
    }
}

#[tokio::test]
async fn bad_archives_are_refused_with_a_clear_message_and_write_nothing() {
    let world = world().await;
    let (ada, user) = synced(&world, ADA).await;
    let db = &world.app.db;
    // Something Ada already has, so "nothing written" is about more than empty tables.
    let renewal = meeting(db, user, "Globex renewal").await;
    ada.post_form(
        &format!("/meetings/{}/notes", renewal.id),
        &[("body", "- [ ] @hank send terms"), ("base_version", "0")],
    )
    .await;
    let before = (written_rows(db, user).await, snapshot(db, user).await);

    let note = &b"- [ ] a fine note\n"[..];
    let mut declared_bomb = zip_of(&[("a.md", note), ("b.md", note)]);
    lie_about_sizes(&mut declared_bomb, 0x7000_0000);
    // 8 MiB of zeros deflate to a few kilobytes; the headers say 100 bytes.
    let mut actual_bomb = zip_of(&[("fine.md", note), ("zeros.md", &vec![0u8; 8 << 20])]);
    assert!(actual_bomb.len() < 64 * 1024);
    lie_about_sizes(&mut actual_bomb, 100);
    let mut symlink = ZipWriter::new(Cursor::new(Vec::new()));
    symlink
        .add_symlink("Notes/link.md", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    let symlink = symlink.finish().unwrap().into_inner();
    let names: Vec<String> = (0..100_001).map(|i| format!("{i}")).collect();
    let mut many = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for name in &names {
        many.start_file(name.as_str(), stored).unwrap();
    }
    let many = many.finish().unwrap().into_inner();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not a zip",
            b"just some text, not an archive".to_vec(),
            "not a zip archive",
        ),
        (
            "declared-size bomb",
            declared_bomb,
            "would unpack to more than 1024 MiB",
        ),
        ("actual-size bomb", actual_bomb, "\"zeros.md\""),
        ("too many entries", many, "more than 100000 entries"),
        (
            "../ path",
            zip_of(&[("ok.md", note), ("../x.md", note)]),
            "\"../x.md\" has a path that leads outside",
        ),
        (
            "absolute path",
            zip_of(&[("/abs.md", note)]),
            "\"/abs.md\" has a path that leads outside",
        ),
        ("symlink", symlink, "\"Notes/link.md\" is a symbolic link"),
        (
            "not UTF-8",
            zip_of(&[("ok.md", note), ("latin1.md", b"caf\xe9\n")]),
            "\"latin1.md\" is not UTF-8 text",
        ),
        (
            "NUL characters",
            zip_of(&[("binary.md", b"a\0b")]),
            "\"binary.md\" holds NUL characters",
        ),
        (
            "oversized note",
            zip_of(&[("ok.md", note), ("huge.md", &vec![b'a'; (1 << 20) + 1])]),
            "\"huge.md\" is larger than 1024 KiB",
        ),
    ];
    for (what, bytes, message) in cases {
        let response = upload(&ada, bytes).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}"
        );
        let doc = html(&response.text().await.unwrap());
        let error = texts(&doc, "#import-error").concat();
        assert!(
            error.contains(message) && error.ends_with("Nothing was imported."),
            "{what}: {error:?}"
        );
        assert_eq!(
            (written_rows(db, user).await, snapshot(db, user).await),
            before,
            "{what}"
        );
    }

    // No file at all.
    let token = ada.csrf_token().await;
    let empty = ada
        .client
        .post(ada.url("/settings/import"))
        .multipart(Form::new().text("csrf_token", token))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let doc = html(&empty.text().await.unwrap());
    assert_eq!(
        texts(&doc, "#import-error"),
        ["Choose a .zip file to import."]
    );
    assert_eq!(
        (written_rows(db, user).await, snapshot(db, user).await),
        before
    );
}

#[tokio::test]
async fn an_upload_needs_the_forms_token_first_or_in_the_header() {
    let world = world().await;
    let (ada, user) = synced(&world, ADA).await;
    let alan = Browser::new(&world.app);
    alan.sign_in("google", ALAN).await;
    let db = &world.app.db;
    let zip = zip_of(&[("2026-01-01 Note.md", b"text\n")]);
    let file = || Part::bytes(zip.clone()).file_name("vault.zip");
    let token = ada.csrf_token().await;
    let alans = alan.csrf_token().await;
    let url = ada.url("/settings/import");
    let forged = [
        ("no token", Form::new().part("archive", file())),
        (
            "another session's token",
            Form::new()
                .text("csrf_token", alans.clone())
                .part("archive", file()),
        ),
        (
            "the token after the file",
            Form::new()
                .part("archive", file())
                .text("csrf_token", token.clone()),
        ),
    ];
    for (what, form) in forged {
        let response = ada.client.post(&url).multipart(form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
    }
    let cross_site = ada
        .client
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .multipart(
            Form::new()
                .text("csrf_token", token.clone())
                .part("archive", file()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(written_rows(db, user).await.0, 0, "nothing recorded");

    // A script sends the token as a header instead.
    let scripted = ada
        .client
        .post(&url)
        .header("x-csrf-token", token)
        .multipart(Form::new().part("archive", file()))
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), StatusCode::SEE_OTHER);
    wait_until_done(&ada, &location(&scripted)).await;
    assert_eq!(written_rows(db, user).await.0, 1);
}

#[tokio::test]
async fn an_archive_over_the_upload_limit_is_refused() {
    let world = World::with(&[
        ("DOCKET_SYNC_WORKER", "false"),
        ("DOCKET_IMPORT_MAX_BYTES", "1048576"),
    ])
    .await;
    let (ada, user) = synced(&world, ADA).await;
    // Stored, not deflated: the archive is as large as its file.
    let stored = |size: usize| {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        writer.start_file("attachments/scan.pdf", options).unwrap();
        writer.write_all(&vec![b'%'; size]).unwrap();
        writer.finish().unwrap().into_inner()
    };
    let zip = stored(1_200_000);
    let response = upload(&ada, zip).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = response.text().await.unwrap();
    assert!(page.contains("larger than"), "{page}");
    assert_eq!(written_rows(&world.app.db, user).await.0, 0);

    // Under the limit, the same route takes more than the 1 MiB other forms are allowed.
    let zip = stored(1_000_000);
    let (_, doc) = import(&ada, zip).await;
    assert_eq!(counts(&doc), ["0", "0", "0", "1"]);
}

#[tokio::test]
async fn an_interrupted_import_is_taken_up_again_and_copies_nothing() {
    let world = world().await;
    let (ada, user) = synced(&world, ADA).await;
    let db = &world.app.db;
    let renewal = meeting(db, user, "Globex renewal").await;
    let files: Vec<(String, Vec<u8>)> = (0..230)
        .map(|i| {
            (
                format!("Inbox/2025-01-{:02} note {i}.md", i % 28 + 1),
                format!("- [ ] task {i}\n").into_bytes(),
            )
        })
        .chain([(
            format!("{} Globex renewal.md", renewal.day),
            b"Decision: renew\n".to_vec(),
        )])
        .collect();
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let zip = zip_of(&entries);

    // The helper tools and tests use: import a zip's bytes for a user, to the end.
    let first = docket::import::import_zip(db, user, &zip).await.unwrap();
    let files_of = |import: Uuid| {
        sqlx::query_scalar::<_, i32>("select files from imports where id = $1")
            .bind(import)
            .fetch_one(db)
    };
    assert_eq!(files_of(first).await.unwrap(), 231);
    let written = snapshot(db, user).await;
    // The same archive again, recorded but stopped after 40 files: its run wrote the notes of
    // the others (they are in Docket already) and stopped before recording their outcomes.
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&zip).unwrap();
    let second = docket::import::stage::stage(db, user, "Europe/London", "again.zip", file)
        .await
        .unwrap();
    sqlx::query(
        "update import_files set outcome = 'standalone', body = null
         where import_id = $1 and position < 40",
    )
    .bind(second)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "update imports set status = 'running', leased_by = 'gone',
                            lease_until = now() - interval '1 minute'
         where id = $1",
    )
    .bind(second)
    .execute(db)
    .await
    .unwrap();
    // One unfinished import at a time: another upload now is refused, and recorded nowhere.
    let busy = upload(&ada, zip_of(&[("x.md", b"x")])).await;
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    let doc = html(&busy.text().await.unwrap());
    assert!(
        texts(&doc, "#import-error")
            .concat()
            .contains("already running")
    );
    assert_eq!(written_rows(db, user).await.0, 2);
    // The result page shows where it stands and takes the import up again.
    let page = format!("/settings/imports/{second}");
    let doc = ada.get_html(&page).await;
    assert_eq!(texts(&doc, "#import-state"), ["Importing…"]);
    assert_eq!(
        doc.select(&Selector::parse("meta[http-equiv=refresh]").unwrap())
            .count(),
        1,
        "the page follows the import by itself"
    );
    let doc = wait_until_done(&ada, &page).await;
    // The notes written before the interruption are found again, not copied.
    assert_eq!(counts(&doc), ["0", "40", "191", "0"]);
    assert_eq!(snapshot(db, user).await, written);
    assert!(
        doc.select(&Selector::parse("meta[http-equiv=refresh]").unwrap())
            .next()
            .is_none()
    );

    // The files list on pages of 200, by outcome too.
    assert_eq!(rows(&doc).len(), 200);
    let next = doc
        .select(&Selector::parse(".pager a").unwrap())
        .find(|a| a.text().collect::<String>().contains("Next"))
        .expect("a next page")
        .attr("href")
        .unwrap()
        .to_owned();
    let rest = ada.get_html(&next).await;
    assert_eq!(rows(&rest).len(), 31);
    assert_eq!(
        rows(&rest).last().unwrap().0,
        format!("{} Globex renewal.md", renewal.day)
    );
    let unchanged = ada.get_html(&format!("{page}?show=unchanged")).await;
    assert_eq!(rows(&unchanged).len(), 191);
    assert!(
        rows(&unchanged)
            .iter()
            .all(|(_, outcome, _)| outcome == "unchanged")
    );
    assert_eq!(
        ada.get(&format!("{page}?show=everything")).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ada.get(&format!("{page}?after=x")).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_import_whose_instance_stopped_is_finished_by_any_instances_worker() {
    // The background worker on (the default): it looks for stopped imports on every round.
    let world = World::new().await;
    let (_ada, user) = synced(&world, ADA).await;
    let db = &world.app.db;
    let zip = zip_of(&[
        ("Inbox/2025-03-04 Plans.md", b"- [ ] plan the offsite\n"),
        (
            "Inbox/2025-03-05 More plans.md",
            b"Decision: offsite in May\n",
        ),
    ]);
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&zip).unwrap();
    // Recorded by an instance that went away before writing anything: its lease has expired.
    let import = docket::import::stage::stage(db, user, "Europe/London", "vault.zip", file)
        .await
        .unwrap();
    sqlx::query(
        "update imports set status = 'running', leased_by = 'gone',
                            lease_until = now() - interval '1 second'
         where id = $1",
    )
    .bind(import)
    .execute(db)
    .await
    .unwrap();
    let mut status = String::new();
    for _ in 0..300 {
        status = sqlx::query_scalar("select status from imports where id = $1")
            .bind(import)
            .fetch_one(db)
            .await
            .unwrap();
        if status == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "done", "no worker took the import over");
    let titles: Vec<String> =
        sqlx::query_scalar("select title from notes where user_id = $1 order by title")
            .bind(user)
            .fetch_all(db)
            .await
            .unwrap();
    assert_eq!(titles, ["More plans", "Plans"]);
}
