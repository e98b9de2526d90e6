//! Pages kept in memory between requests (src/page_cache.rs) are never stale: a note saved
//! through another instance, a sync run by another instance and a write by another program all
//! show on the next view, on every page that shows them; so do the parts of the layout loaded
//! with the session (the sync line, banners) and a notice in the address.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Browser, World, location, meeting_id, synced, texts, world_with};

const ADA: &str = "ada@northwind.example";

/// Every page the cache serves, with what it shows as text.
async fn page_text(browser: &Browser, path: &str) -> String {
    let doc = browser.get_html(path).await;
    texts(&doc, "main").join(" ")
}

async fn charles(world: &World) -> Uuid {
    sqlx::query_scalar(
        "select p.id from people p join users u on u.id = p.user_id
         where u.email = $1 and p.email = 'charles@northwind.example'",
    )
    .bind(ADA)
    .fetch_one(&world.app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_change_through_another_instance_shows_on_the_next_view_of_every_page() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let env = world.fake.env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("DOCKET_SYNC_WORKER", "false"));
    let second = world.app.sibling(&vars).await;
    let other = format!("http://{}", second.addr);

    let meeting = meeting_id(&world, ADA, "Q1 planning review").await;
    let person = charles(&world).await;
    let pages = [
        format!("/meetings/{meeting}"),
        format!("/people/{person}"),
        "/action-items".to_owned(),
        "/decisions".to_owned(),
        "/search?q=zeppelin".to_owned(),
    ];
    // Viewed twice on this instance: the second view is served from memory.
    for path in &pages {
        let first = page_text(&ada, path).await;
        assert!(!first.contains("zeppelin hangar"), "{path} before the note");
        assert_eq!(page_text(&ada, path).await, first, "{path} twice");
    }

    // The note is saved through the other instance, with the same session.
    let token = ada.csrf_token().await;
    let saved = ada
        .client
        .post(format!("{other}/meetings/{meeting}/notes"))
        .form(&[
            ("csrf_token", token.as_str()),
            (
                "body",
                "- [ ] @charles inspect the zeppelin hangar due:2020-01-02\nDecision: the zeppelin hangar stays\n",
            ),
            ("base_version", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), format!("/meetings/{meeting}#notes"));
    for path in &pages {
        assert!(
            page_text(&ada, path).await.contains("zeppelin hangar"),
            "{path} after the note was saved through the other instance"
        );
    }

    // A sync run by the other instance renames a meeting: its page and the lists follow.
    let globex = meeting_id(&world, ADA, "Globex renewal").await;
    let globex_page = format!("/meetings/{globex}");
    assert!(
        page_text(&ada, &globex_page)
            .await
            .contains("Globex renewal")
    );
    world.fake.edit_calendars(ADA, |calendars, tick| {
        let event = calendars[0]
            .events
            .iter_mut()
            .find(|e| e.title == "Globex renewal")
            .unwrap();
        event.title = "Globex renewal at the airfield".into();
        event.changed = tick();
    });
    sqlx::query("update sync_state set due_at = now()")
        .execute(&world.app.db)
        .await
        .unwrap();
    assert_eq!(
        docket::sync::run_due(&second.state, "instance-b")
            .await
            .unwrap(),
        1
    );
    assert!(
        page_text(&ada, &globex_page)
            .await
            .contains("Globex renewal at the airfield")
    );
    assert!(
        page_text(&ada, "/search?q=airfield")
            .await
            .contains("Globex renewal at the airfield")
    );

    // Another program writes to the database directly: the triggers move the version too.
    sqlx::query(
        "update items set text = 'inspect the airship hangar' where text like '%zeppelin hangar'",
    )
    .execute(&world.app.db)
    .await
    .unwrap();
    let items = page_text(&ada, "/action-items").await;
    assert!(items.contains("airship hangar"), "{items}");
    assert!(!items.contains("inspect the zeppelin hangar"), "{items}");
}

#[tokio::test]
async fn a_sync_that_changes_nothing_keeps_the_cached_pages() {
    let world = world_with(&[]).await;
    let _ada = synced(&world, ADA).await;
    let version = || async {
        sqlx::query_scalar::<_, i64>(
            "select v.version from data_versions v join users u on u.id = v.user_id
             where u.email = $1",
        )
        .bind(ADA)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
    };
    let before = version().await;
    assert!(before > 0, "the first sync moved the version");
    sqlx::query("update sync_state set due_at = now()")
        .execute(&world.app.db)
        .await
        .unwrap();
    let state = &world.app.server.as_ref().unwrap().state;
    assert_eq!(docket::sync::run_due(state, "test").await.unwrap(), 1);
    assert_eq!(
        version().await,
        before,
        "an incremental sync with no changes"
    );
}

#[tokio::test]
async fn the_layout_of_a_kept_page_follows_the_session_state() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let line = |doc: scraper::Html| texts(&doc, ".syncbar").join(" ");
    let synced_line = line(ada.get_html("/action-items").await);
    assert!(synced_line.contains("Synced"), "{synced_line}");
    assert_eq!(line(ada.get_html("/action-items").await), synced_line);
    // A sync starts on another instance (its lease is taken): no data changed, the line did.
    sqlx::query("update sync_state set lease_until = now() + interval '1 minute'")
        .execute(&world.app.db)
        .await
        .unwrap();
    let syncing = line(ada.get_html("/action-items").await);
    assert!(syncing.contains("Syncing now"), "{syncing}");
    // A notice in the address is shown on the kept page too, and only where it is asked for.
    let all_text = |doc: scraper::Html| texts(&doc, "body").join(" ");
    let ticked = format!("/action-items?ticked={}", Uuid::new_v4());
    assert!(all_text(ada.get_html(&ticked).await).contains("Marked done."));
    assert!(!all_text(ada.get_html("/action-items").await).contains("Marked done."));
}
