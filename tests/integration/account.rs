//! Deleting an account (SECURITY.md 23): every row with the user's id gone in one transaction,
//! the tables read from the catalog so a new table is covered the day it is created; Google
//! grants revoked; sessions ended on every instance; nobody else's data touched.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::{Browser, World, html, location, texts};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";
const GRACE: &str = "grace@contoso.example";

const DELETE: &str = "/settings/delete-account";

/// A world whose background worker is off, so the test decides when a sync runs.
async fn world() -> World {
    World::with(&[("DOCKET_SYNC_WORKER", "false")]).await
}

/// The session cookie a response sets, if any.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("docket_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

async fn user_id(db: &PgPool, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(db)
        .await
        .unwrap()
}

/// Saves a note with an action item, a decision and a question on one of the user's meetings.
async fn write_a_note(world: &World, browser: &Browser, user: Uuid, title: &str) {
    let meeting: Uuid =
        sqlx::query_scalar("select id from meetings where user_id = $1 and title = $2 limit 1")
            .bind(user)
            .bind(title)
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    // The user's own item too (what they owe the attendees is kept per attendee).
    let me: String =
        sqlx::query_scalar("select split_part(email, '@', 1) from users where id = $1")
            .bind(user)
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let body = format!(
        "- [ ] @hank send terms due:2030-01-01\n- [ ] @{me} countersign\nDecision: renew\n?? who signs"
    );
    let response = browser
        .post_form(
            &format!("/meetings/{meeting}/notes"),
            &[("body", body.as_str()), ("base_version", "0")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "note saved");
}

/// Ada (Google, with Grace's Microsoft account linked) and Alan (Google), both synced, both
/// with a note, a calendar feed and an API token. Returns Ada's browser and the session cookie it holds.
async fn two_users(world: &World) -> (Browser, String, Browser) {
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    // Linking a second account while signed in; the session id changes once more.
    let linked = ada.sign_in("microsoft", GRACE).await;
    assert_eq!(location(&linked), "/settings");
    let cookie = session_cookie(&linked).expect("a new session id after linking");
    let alan = Browser::new(&world.app);
    alan.sign_in("google", ALAN).await;
    let state = &world.app.server.as_ref().unwrap().state;
    assert_eq!(docket::sync::run_due(state, "test").await.unwrap(), 3);
    write_a_note(
        world,
        &ada,
        user_id(&world.app.db, ADA).await,
        "Globex renewal",
    )
    .await;
    write_a_note(
        world,
        &alan,
        user_id(&world.app.db, ALAN).await,
        "Bletchley / Northwind partnership",
    )
    .await;
    // An import each (its record and its files' outcomes).
    for email in [ADA, ALAN] {
        let zip = crate::import::zip_of(&[
            ("Inbox/2026-01-02 Imported.md", b"- [ ] imported task\n"),
            ("attachments/photo.png", b"\x89PNG"),
        ]);
        docket::import::import_zip(&world.app.db, user_id(&world.app.db, email).await, &zip)
            .await
            .unwrap();
    }
    // A note template for a series (Ada's: Alan's calendar has no series).
    let series_meeting: uuid::Uuid = sqlx::query_scalar(
        "select m.id from meetings m join users u on u.id = m.user_id
         where u.email = $1 and m.series_id is not null limit 1",
    )
    .bind(ADA)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let response = ada
        .post_form(
            &format!("/meetings/{series_meeting}/template"),
            &[("body", "## Agenda")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "template saved");
    // An unsaved draft each (of a new note).
    for browser in [&ada, &alan] {
        let response = browser
            .post_form(
                "/notes/new/draft",
                &[("body", "typed, not saved"), ("base_version", "0")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "draft kept");
    }
    // A calendar feed and an API token each.
    for browser in [&ada, &alan] {
        let response = browser.post_form("/settings/feed", &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "feed made");
        let response = browser
            .post_form(
                "/settings/api-tokens",
                &[("name", "script"), ("scope", "read")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "API token made");
    }
    (ada, cookie, alan)
}

/// Every table of the public schema with a `user_id` column, read from the catalog: a table
/// added later is checked without anyone touching this test.
async fn tables_with_user_id(db: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select c.relname::text from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid
         where n.nspname = 'public' and c.relkind in ('r', 'p')
           and a.attname = 'user_id' and not a.attisdropped
         order by 1",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

/// How many rows carry `user`'s id, per table (the `users` row under "users").
async fn rows_of(db: &PgPool, user: Uuid) -> BTreeMap<String, i64> {
    let mut rows = BTreeMap::new();
    for table in tables_with_user_id(db).await {
        let sql = format!(
            "select count(*) from \"{}\" where user_id = $1",
            table.replace('"', "\"\"")
        );
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(user)
            .fetch_one(db)
            .await
            .unwrap();
        rows.insert(table, n);
    }
    let n: i64 = sqlx::query_scalar("select count(*) from users where id = $1")
        .bind(user)
        .fetch_one(db)
        .await
        .unwrap();
    rows.insert("users".into(), n);
    rows
}

async fn get_with_cookie(base: &str, cookie: &str) -> reqwest::Response {
    crate::common::browser()
        .get(format!("{base}/settings"))
        .header("cookie", format!("docket_session={cookie}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_wrong_email_or_a_missing_csrf_token_deletes_nothing() {
    let world = world().await;
    let (ada, _, _) = two_users(&world).await;
    let ada_id = user_id(&world.app.db, ADA).await;
    let before = rows_of(&world.app.db, ada_id).await;

    // The settings page offers the deletion, asking for the e-mail address.
    let page = ada.get_html("/settings").await;
    assert_eq!(texts(&page, "#delete-account h2"), ["Delete account"]);
    assert!(texts(&page, "#delete-account label")[0].contains(ADA));

    for typed in [ALAN, "", "ada@northwind"] {
        let response = ada.post_form(DELETE, &[("email", typed)]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed:?}"
        );
        let doc = html(&response.text().await.unwrap());
        let error = texts(&doc, "#delete-error");
        assert!(
            error.len() == 1 && error[0].contains("Nothing was deleted"),
            "{typed:?}: {error:?}"
        );
        assert_eq!(
            texts(&doc, "#delete-account input[name=email][aria-invalid=true]").len(),
            1
        );
    }
    // The right address without the form's token: refused by the CSRF check.
    let forged = ada
        .client
        .post(world.app.url(DELETE))
        .form(&[("email", ADA)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    assert_eq!(rows_of(&world.app.db, ada_id).await, before);
    assert!(ada.is_signed_in().await);
    assert!(world.fake.revocations().is_empty());
}

#[tokio::test]
async fn deleting_an_account_removes_every_row_with_its_id_revokes_google_and_ends_its_sessions_everywhere()
 {
    let world = world().await;
    let (ada, cookie, alan) = two_users(&world).await;
    let db = &world.app.db;
    let (ada_id, alan_id) = (user_id(db, ADA).await, user_id(db, ALAN).await);

    // The data covers every table with a user_id, so "no row left" below proves something.
    let before = rows_of(db, ada_id).await;
    let empty: Vec<&String> = before
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(t, _)| t)
        .collect();
    assert!(
        empty.is_empty(),
        "give the deleted user rows in {empty:?}, so the test proves they are deleted"
    );
    let alans_rows = rows_of(db, alan_id).await;

    // A second instance on the same database, where the cookie works too.
    let env = world.fake.env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("DOCKET_SYNC_WORKER", "false"));
    let second = world.app.sibling(&vars).await;
    let other = format!("http://{}", second.addr);
    assert_eq!(
        get_with_cookie(&other, &cookie).await.status(),
        StatusCode::OK
    );

    // Case and spaces do not matter in the confirmation.
    let response = ada
        .post_form(DELETE, &[("email", " Ada@Northwind.example ")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");

    // (1) No row with Ada's id is left in any table, and no user row.
    let after = rows_of(db, ada_id).await;
    let left: BTreeMap<&String, &i64> = after.iter().filter(|(_, n)| **n > 0).collect();
    assert!(left.is_empty(), "rows left behind: {left:?}");
    let tokens: i64 = sqlx::query_scalar("select count(*) from account_tokens")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(tokens, 1, "only Alan's tokens remain");

    // (2) Alan's data is untouched, and he is still signed in.
    assert_eq!(rows_of(db, alan_id).await, alans_rows);
    assert!(alan.is_signed_in().await);

    // (3) Google was asked to revoke Ada's grant (its refresh token); Microsoft has no such
    // call, and Alan's grant is alive.
    let revocations = world.fake.revocations();
    assert_eq!(revocations.len(), 1, "{revocations:?}");
    assert_eq!(revocations[0].email, ADA);
    assert!(revocations[0].token.starts_with("fake-refresh-"));
    assert_eq!(world.fake.live_refresh_tokens(ADA), 0);
    assert_eq!(world.fake.live_refresh_tokens(ALAN), 1);

    // (4) The browser lands on the sign-in page with the notice, once, signed out.
    let landing = ada.get("/").await;
    assert_eq!(landing.status(), StatusCode::OK);
    let doc = html(&landing.text().await.unwrap());
    assert_eq!(
        texts(&doc, ".notice"),
        ["Your account and all its data were deleted."]
    );
    assert!(!texts(&doc, "a.provider").is_empty(), "the sign-in page");
    assert!(texts(&ada.get_html("/").await, ".notice").is_empty());
    assert!(!ada.is_signed_in().await);

    // (5) The old session cookie signs in nowhere: not here, not on the other instance.
    for base in [world.app.base.as_str(), other.as_str()] {
        let replay = get_with_cookie(base, &cookie).await;
        assert_eq!(replay.status(), StatusCode::SEE_OTHER, "{base}");
        assert!(location(&replay).starts_with("/?next="), "{base}");
    }
    second.stop().await.unwrap();
}

#[tokio::test]
async fn a_google_outage_does_not_stop_a_deletion() {
    let world = world().await;
    let (ada, _, _) = two_users(&world).await;
    let ada_id = user_id(&world.app.db, ADA).await;
    world.fake.faults(|f| f.revoke_outage = true);

    let response = ada.post_form(DELETE, &[("email", ADA)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let left: i64 = rows_of(&world.app.db, ada_id).await.values().sum();
    assert_eq!(left, 0);
    assert!(world.fake.revocations().is_empty());
    assert!(!ada.is_signed_in().await);
}
