//! Capture without loss, over HTTP: drafts (kept per user, never applied over a newer saved
//! version), the version history (list, view, restore as a new version, so clearing a note is
//! undoable), the merge view (conflict → 303 → GET, keep mine, keep theirs, an edited merge),
//! and the Undo after ticking an item without script.

use reqwest::StatusCode;
use scraper::Selector;
use serde_json::Value;
use uuid::Uuid;

use crate::common::{
    Browser, World, location, meeting_id, save_meeting_note, synced, texts, world_with,
};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

/// The value of the first `input[name=…]` on a page.
fn input(doc: &scraper::Html, name: &str) -> String {
    doc.select(&Selector::parse(&format!("input[name={name}]")).unwrap())
        .next()
        .unwrap_or_else(|| panic!("no input {name}"))
        .attr("value")
        .unwrap()
        .to_owned()
}

async fn save(browser: &Browser, meeting: Uuid, body: &str, version: &str) -> reqwest::Response {
    browser
        .post_form(
            &format!("/meetings/{meeting}/notes"),
            &[("body", body), ("base_version", version)],
        )
        .await
}

/// Keeps a draft the way the editor's script does, and returns its JSON answer.
async fn keep_draft(
    browser: &Browser,
    meeting: Uuid,
    body: &str,
    base: &str,
) -> (StatusCode, Value) {
    let response = browser
        .post_form(
            &format!("/meetings/{meeting}/draft"),
            &[("body", body), ("base_version", base)],
        )
        .await;
    let status = response.status();
    let answer = if status.is_success() {
        response.json().await.unwrap()
    } else {
        Value::Null
    };
    (status, answer)
}

async fn note_body(world: &World) -> String {
    sqlx::query_scalar("select body from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

async fn drafts(world: &World) -> i64 {
    sqlx::query_scalar("select count(*) from drafts")
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

/// Ada's note on "Globex renewal" saved twice (versions 1 and 2), and a stale save of a third
/// text based on version 1: it lands in the merge view.
async fn a_conflict(world: &World, browser: &Browser) -> Uuid {
    let meeting = meeting_id(world, ADA, "Globex renewal").await;
    save_meeting_note(browser, meeting, "agenda\nshared line\n").await;
    assert_eq!(
        save(browser, meeting, "agenda\nshared line\ntheir line\n", "1")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let stale = save(browser, meeting, "agenda\nshared line\nmy line\n", "1").await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER, "POST → redirect");
    assert_eq!(location(&stale), format!("/meetings/{meeting}/merge"));
    meeting
}

#[tokio::test]
async fn a_conflicting_save_redirects_to_a_merge_view_that_names_the_meeting_and_its_differences() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = a_conflict(&world, &ada).await;
    assert_eq!(note_body(&world).await, "agenda\nshared line\ntheir line\n");

    let doc = ada.get_html(&format!("/meetings/{meeting}/merge")).await;
    assert_eq!(texts(&doc, "h1"), ["Merge the notes of “Globex renewal”"]);
    assert_eq!(texts(&doc, ".diff .old .diff-text"), ["their line"]);
    assert_eq!(texts(&doc, ".diff .new .diff-text"), ["my line"]);
    assert_eq!(
        texts(&doc, ".diff .same .diff-text"),
        ["agenda", "shared line"]
    );
    // Each differing line says in words which text it is in.
    assert!(
        texts(&doc, ".diff .old .visually-hidden")[0].starts_with("Only in the version saved"),
        "{:?}",
        texts(&doc, ".diff .old")
    );
    assert_eq!(texts(&doc, "#merged"), ["agenda\nshared line\nmy line"]);
    assert_eq!(input(&doc, "base_version"), "2");
    let choices: Vec<String> = doc
        .select(&Selector::parse("button[name=choice]").unwrap())
        .map(|b| b.attr("value").unwrap().to_owned())
        .collect();
    assert_eq!(choices, ["mine", "theirs", "merged"]);
}

#[tokio::test]
async fn keep_mine_saves_my_text_and_back_to_the_merge_view_shows_the_meeting() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = a_conflict(&world, &ada).await;
    let merge = format!("/meetings/{meeting}/merge");
    let response = ada
        .post_form(
            &merge,
            &[
                ("choice", "mine"),
                ("body", "ignored"),
                ("base_version", "2"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/meetings/{meeting}#notes"));
    assert_eq!(note_body(&world).await, "agenda\nshared line\nmy line\n");
    assert_eq!(drafts(&world).await, 0, "the draft is saved, so gone");
    // Back to the merge view after saving: a plain GET, sent on to the meeting.
    let back = ada.get(&merge).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), format!("/meetings/{meeting}#notes"));
}

#[tokio::test]
async fn keep_theirs_keeps_the_saved_text_and_forgets_mine() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = a_conflict(&world, &ada).await;
    let response = ada
        .post_form(
            &format!("/meetings/{meeting}/merge"),
            &[
                ("choice", "theirs"),
                ("body", "ignored"),
                ("base_version", "2"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/meetings/{meeting}#notes"));
    assert_eq!(note_body(&world).await, "agenda\nshared line\ntheir line\n");
    let version: i32 = sqlx::query_scalar("select version from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(version, 2, "nothing saved");
    assert_eq!(drafts(&world).await, 0);
    let doc = ada.get_html(&format!("/meetings/{meeting}")).await;
    assert_eq!(texts(&doc, "#body"), ["agenda\nshared line\ntheir line"]);
    assert!(texts(&doc, ".draft-notice").is_empty());
}

#[tokio::test]
async fn an_edited_merge_is_saved_and_a_merge_based_on_an_old_version_merges_again() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = a_conflict(&world, &ada).await;
    let merge = format!("/meetings/{meeting}/merge");
    // Someone saves once more while the merge view is open: its version (2) is old now.
    save(
        &ada,
        meeting,
        "agenda\nshared line\ntheir line\nanother\n",
        "2",
    )
    .await;
    let merged = "agenda\nshared line\ntheir line\nmy line\n";
    let again = ada
        .post_form(
            &merge,
            &[
                ("choice", "merged"),
                ("body", merged),
                ("base_version", "2"),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&again), merge, "merged again, nothing overwritten");
    assert_eq!(
        note_body(&world).await,
        "agenda\nshared line\ntheir line\nanother\n"
    );
    let doc = ada.get_html(&merge).await;
    assert_eq!(texts(&doc, ".diff .old .diff-text"), ["another"]);
    assert_eq!(texts(&doc, ".diff .new .diff-text"), ["my line"]);
    assert_eq!(input(&doc, "base_version"), "3");
    // Without a choice (Ctrl+Enter), the edited text is what is saved.
    let saved = ada
        .post_form(
            &merge,
            &[
                (
                    "body",
                    "agenda\nshared line\ntheir line\nanother\nmy line\n",
                ),
                ("base_version", "3"),
            ],
        )
        .await;
    assert_eq!(location(&saved), format!("/meetings/{meeting}#notes"));
    assert_eq!(
        note_body(&world).await,
        "agenda\nshared line\ntheir line\nanother\nmy line\n"
    );
    assert_eq!(drafts(&world).await, 0);
    let bad = ada
        .post_form(
            &merge,
            &[("choice", "both"), ("body", "x"), ("base_version", "4")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_draft_is_kept_and_restored_when_the_meeting_is_opened_again_until_saved() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Q1 planning review").await;
    let page = format!("/meetings/{meeting}");
    // Before the first save: version 0, and the note does not exist yet.
    let (status, answer) = keep_draft(&ada, meeting, "typed, not saved\n", "0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["state"], "kept");
    assert!(
        answer["label"].as_str().unwrap().starts_with("Draft kept"),
        "{answer}"
    );
    let doc = ada.get_html(&page).await;
    assert_eq!(texts(&doc, "#body"), ["typed, not saved"]);
    assert!(
        texts(&doc, ".draft-notice p")[0].starts_with("Unsaved draft from"),
        "{:?}",
        texts(&doc, ".draft-notice")
    );
    assert_eq!(input(&doc, "base_version"), "0");
    assert!(texts(&doc, "[data-save-state]")[0].contains("restored"));
    // A newer draft replaces it; the same text as the saved note is no draft at all.
    keep_draft(&ada, meeting, "typed more\n", "0").await;
    assert_eq!(drafts(&world).await, 1);
    let (_, answer) = keep_draft(&ada, meeting, "", "0").await;
    assert_eq!(answer["state"], "unchanged");
    assert_eq!(drafts(&world).await, 0);
    // Saving the note deletes its draft.
    keep_draft(&ada, meeting, "typed again\n", "0").await;
    assert_eq!(
        save(&ada, meeting, "typed again\r\n", "0").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(drafts(&world).await, 0);
    let doc = ada.get_html(&page).await;
    assert!(texts(&doc, ".draft-notice").is_empty());
    assert!(texts(&doc, "[data-save-state]")[0].starts_with("Saved "));
    // A draft differing only in line endings from the saved note is nothing unsaved.
    let (_, answer) = keep_draft(&ada, meeting, "typed again\n", "1").await;
    assert_eq!(answer["state"], "unchanged");
    // Discarding: the draft is gone and the saved note shows.
    keep_draft(&ada, meeting, "second thoughts\n", "1").await;
    let discarded = ada
        .post_form(&format!("/meetings/{meeting}/draft/discard"), &[])
        .await;
    assert_eq!(discarded.status(), StatusCode::SEE_OTHER);
    assert_eq!(drafts(&world).await, 0);
    let doc = ada.get_html(&page).await;
    assert_eq!(texts(&doc, "#body"), ["typed again"]);
}

#[tokio::test]
async fn a_draft_never_overwrites_a_newer_saved_version_and_is_reported() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Q1 planning review").await;
    save_meeting_note(&ada, meeting, "version one\n").await;
    // Another tab saves version 2 while this one keeps typing over version 1.
    save(&ada, meeting, "version two\n", "1").await;
    let (status, answer) = keep_draft(&ada, meeting, "typed over version one\n", "1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["state"], "stale", "{answer}");
    assert_eq!(answer["merge"], format!("/meetings/{meeting}/merge"));
    assert_eq!(
        note_body(&world).await,
        "version two\n",
        "the note is untouched"
    );
    // Opened again: the saved note is in the editor, the draft is offered to merge.
    let doc = ada.get_html(&format!("/meetings/{meeting}")).await;
    assert_eq!(texts(&doc, "#body"), ["version two"]);
    assert_eq!(input(&doc, "base_version"), "2");
    let merge: Vec<String> = doc
        .select(&Selector::parse(".draft-notice.stale a").unwrap())
        .map(|a| a.attr("href").unwrap().to_owned())
        .collect();
    assert_eq!(merge, [format!("/meetings/{meeting}/merge")]);
    let doc = ada.get_html(&merge[0]).await;
    assert_eq!(texts(&doc, ".diff .old .diff-text"), ["version two"]);
    assert_eq!(
        texts(&doc, ".diff .new .diff-text"),
        ["typed over version one"]
    );
    // Bad input is a clear 4xx.
    let (status, _) = keep_draft(&ada, meeting, "x", "-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn drafts_are_per_user_another_user_can_neither_read_nor_write_mine() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let alan = synced(&world, ALAN).await;
    let meeting = meeting_id(&world, ADA, "Q1 planning review").await;
    keep_draft(&ada, meeting, "Ada's private draft\n", "0").await;
    for path in [
        format!("/meetings/{meeting}/draft"),
        format!("/meetings/{meeting}/draft/discard"),
        format!("/meetings/{meeting}/merge"),
    ] {
        let response = alan
            .post_form(&path, &[("body", "Alan's text"), ("base_version", "0")])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        alan.get(&format!("/meetings/{meeting}/merge"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (body, user): (String, String) =
        sqlx::query_as("select d.body, u.email from drafts d join users u on u.id = d.user_id")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(
        (body.as_str(), user.as_str()),
        ("Ada's private draft\n", ADA)
    );
    // Alan's own meeting pages show nothing of Ada's.
    let alans = meeting_id(&world, ALAN, "Bletchley / Northwind partnership").await;
    let page = alan
        .get(&format!("/meetings/{alans}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Ada's private draft"));
    // Nor does Ada's standalone-note draft reach Alan's new note.
    ada.post_form(
        "/notes/new/draft",
        &[
            ("title", "Plans"),
            ("body", "Ada's new note"),
            ("base_version", "0"),
        ],
    )
    .await;
    let page = alan.get("/notes/new").await.text().await.unwrap();
    assert!(!page.contains("Ada's new note"));
    let doc = ada.get_html("/notes/new").await;
    assert_eq!(texts(&doc, "#body"), ["Ada's new note"]);
    assert_eq!(input(&doc, "title"), "Plans");
}

#[tokio::test]
async fn a_new_standalone_note_keeps_its_draft_until_it_is_created() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let kept = ada
        .post_form(
            "/notes/new/draft",
            &[
                ("title", "Ideas"),
                ("body", "half a thought"),
                ("base_version", "0"),
            ],
        )
        .await;
    assert_eq!(kept.status(), StatusCode::OK);
    let created = ada
        .post_form(
            "/notes",
            &[
                ("title", "Ideas"),
                ("body", "a whole thought"),
                ("base_version", "0"),
            ],
        )
        .await;
    let note = location(&created);
    assert!(note.starts_with("/notes/"), "{note}");
    assert_eq!(drafts(&world).await, 0);
    // The note's own draft, restored with its title.
    ada.post_form(
        &format!("{note}/draft"),
        &[
            ("title", "Ideas, revised"),
            ("body", "a better thought"),
            ("base_version", "1"),
        ],
    )
    .await;
    let doc = ada.get_html(&note).await;
    assert_eq!(texts(&doc, "h1"), ["Ideas"]);
    assert_eq!(input(&doc, "title"), "Ideas, revised");
    assert_eq!(texts(&doc, "#body"), ["a better thought"]);
}

/// The note's id and its history's version numbers, newest first.
async fn history(world: &World, browser: &Browser) -> (Uuid, Vec<String>) {
    let note: Uuid = sqlx::query_scalar("select id from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let doc = browser.get_html(&format!("/notes/{note}/versions")).await;
    let versions = doc
        .select(&Selector::parse(".versions li > a").unwrap())
        .map(|a| a.text().collect::<String>())
        .collect();
    (note, versions)
}

#[tokio::test]
async fn version_history_lists_views_and_restores_a_version_as_a_new_one() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(&ada, meeting, "first draft of the terms\n").await;
    save(&ada, meeting, "final terms\n", "1").await;
    let (note, versions) = history(&world, &ada).await;
    assert_eq!(versions, ["Version 2", "Version 1"]);
    // The meeting page links its history.
    let doc = ada.get_html(&format!("/meetings/{meeting}")).await;
    assert!(
        doc.select(&Selector::parse("#notes a").unwrap())
            .any(|a| a.attr("href") == Some(&format!("/notes/{note}/versions")))
    );

    let doc = ada.get_html(&format!("/notes/{note}/versions/1")).await;
    assert_eq!(texts(&doc, "h1"), ["Version 1 of “Globex renewal”"]);
    assert_eq!(texts(&doc, ".version-text"), ["first draft of the terms"]);
    assert_eq!(
        texts(&doc, ".diff .old .diff-text"),
        ["first draft of the terms"]
    );
    assert_eq!(texts(&doc, ".diff .new .diff-text"), ["final terms"]);
    let restored = ada
        .post_form(
            &format!("/notes/{note}/versions/1/restore"),
            &[("base_version", &input(&doc, "base_version"))],
        )
        .await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&restored),
        format!("/meetings/{meeting}?restored=1#notes")
    );
    assert_eq!(note_body(&world).await, "first draft of the terms\n");
    let (_, versions) = history(&world, &ada).await;
    assert_eq!(versions, ["Version 3", "Version 2", "Version 1"]);
    let doc = ada.get_html(&location(&restored)).await;
    assert!(texts(&doc, "#notices")[0].starts_with("Version 1 restored"));
    // Unknown and malformed versions are not found.
    for path in [
        format!("/notes/{note}/versions/9"),
        format!("/notes/{note}/versions/0"),
        format!("/notes/{note}/versions/x"),
    ] {
        assert_eq!(
            ada.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        ada.get(&format!("/notes/{note}/versions?before=x"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    // Another user sees none of it and restores nothing.
    let alan = synced(&world, ALAN).await;
    assert_eq!(
        alan.get(&format!("/notes/{note}/versions")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        alan.get(&format!("/notes/{note}/versions/1"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let response = alan
        .post_form(
            &format!("/notes/{note}/versions/2/restore"),
            &[("base_version", "3")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(note_body(&world).await, "first draft of the terms\n");
}

#[tokio::test]
async fn clearing_a_note_is_undone_by_restoring_the_version_before_with_its_items() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Q1 planning review").await;
    let body = "- [ ] @charles send the deck\nDecision: freeze scope\n?? who owns QA\n";
    save_meeting_note(&ada, meeting, body).await;
    let item = |sql: &'static str| {
        let db = world.app.db.clone();
        async move {
            sqlx::query_as::<_, (Uuid, String, bool)>(sql)
                .fetch_all(&db)
                .await
                .unwrap()
        }
    };
    let all = "select id, kind, removed from items order by kind";
    let before = item(all).await;
    assert_eq!(before.len(), 3);
    // A due date set by hand survives the round trip too.
    let action = before.iter().find(|i| i.1 == "action").unwrap().0;
    ada.post_form(&format!("/items/{action}"), &[("due", "2030-01-31")])
        .await;

    save(&ada, meeting, "", "1").await;
    assert!(item(all).await.iter().all(|i| i.2), "cleared: all removed");
    let doc = ada.get_html(&format!("/meetings/{meeting}")).await;
    assert!(texts(&doc, ".items .item-text").is_empty());

    let (note, versions) = history(&world, &ada).await;
    assert_eq!(versions, ["Version 2", "Version 1"]);
    let doc = ada.get_html(&format!("/notes/{note}/versions")).await;
    assert_eq!(
        texts(&doc, ".versions .empty-version .first-line"),
        ["(empty)"]
    );
    let restored = ada
        .post_form(
            &format!("/notes/{note}/versions/1/restore"),
            &[("base_version", "2")],
        )
        .await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    assert_eq!(note_body(&world).await, body);
    let after = item(all).await;
    assert_eq!(
        after,
        before
            .iter()
            .map(|(id, kind, _)| (*id, kind.clone(), false))
            .collect::<Vec<_>>(),
        "the same items, live again"
    );
    let due: Option<chrono::NaiveDate> =
        sqlx::query_scalar("select due from items where kind = 'action'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(due, chrono::NaiveDate::from_ymd_opt(2030, 1, 31));
    let doc = ada.get_html(&format!("/meetings/{meeting}")).await;
    let mut shown = texts(&doc, ".items .item-text");
    shown.sort();
    assert_eq!(
        shown,
        [
            "Decision freeze scope",
            "Question who owns QA",
            "send the deck"
        ]
    );
}

#[tokio::test]
async fn a_restore_over_a_newer_save_goes_to_the_merge_view() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(&ada, meeting, "old terms\n").await;
    save(&ada, meeting, "new terms\n", "1").await;
    let (note, _) = history(&world, &ada).await;
    // The version page was opened at version 2; version 3 was saved since.
    save(&ada, meeting, "newest terms\n", "2").await;
    let response = ada
        .post_form(
            &format!("/notes/{note}/versions/1/restore"),
            &[("base_version", "2")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/meetings/{meeting}/merge"));
    assert_eq!(note_body(&world).await, "newest terms\n");
    let doc = ada.get_html(&location(&response)).await;
    assert_eq!(texts(&doc, "#merged"), ["old terms"]);
}

#[tokio::test]
async fn ticking_without_script_comes_back_with_an_undo_that_unticks() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Ada / Charles 1:1").await;
    save_meeting_note(&ada, meeting, "- [ ] @charles write the RFC\n").await;
    let (item, charles): (Uuid, Uuid) =
        sqlx::query_as("select id, assignee_id from items where kind = 'action'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let person = format!("/people/{charles}");
    let ticked = ada
        .post_form(
            &format!("/items/{item}/done"),
            &[("done", "true"), ("back", &person)],
        )
        .await;
    assert_eq!(ticked.status(), StatusCode::SEE_OTHER);
    let next = location(&ticked);
    assert_eq!(next, format!("{person}?ticked={item}"));
    assert!(note_body(&world).await.starts_with("- [x]"));

    let doc = ada.get_html(&next).await;
    assert_eq!(
        texts(&doc, "#notices .notice-line > span"),
        ["Marked done."]
    );
    let undo = doc
        .select(&Selector::parse("#notices form.undo").unwrap())
        .next()
        .expect("an Undo button");
    assert_eq!(
        undo.attr("action"),
        Some(format!("/items/{item}/done").as_str())
    );
    let field = |name: &str| {
        undo.select(&Selector::parse(&format!("input[name={name}]")).unwrap())
            .next()
            .unwrap()
            .attr("value")
            .unwrap()
            .to_owned()
    };
    assert_eq!(field("done"), "false");
    assert_eq!(field("back"), person);
    let undone = ada
        .post_form(
            &format!("/items/{item}/done"),
            &[("done", "false"), ("back", &field("back"))],
        )
        .await;
    assert_eq!(location(&undone), person);
    assert_eq!(note_body(&world).await, "- [ ] @charles write the RFC\n");
    let doc = ada.get_html(&person).await;
    assert!(texts(&doc, "#notices").iter().all(String::is_empty));
    assert_eq!(texts(&doc, ".item-text"), ["write the RFC"]);
}

#[tokio::test]
async fn a_script_ticking_in_place_is_answered_with_json() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Ada / Charles 1:1").await;
    save_meeting_note(&ada, meeting, "- [ ] @charles write the RFC\n").await;
    let item: Uuid = sqlx::query_scalar("select id from items")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let token = ada.csrf_token().await;
    let response = ada
        .client
        .post(ada.url(&format!("/items/{item}/done")))
        .header("accept", "application/json")
        .header("x-csrf-token", &token)
        .form(&[("done", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["done"], true);
    assert!(note_body(&world).await.starts_with("- [x]"));
}
