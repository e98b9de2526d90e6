//! Export → import into a fresh user → export again: the same notes, items and decisions.
//!
//! The fresh user is the same person after deleting their account and signing in again: their
//! calendar syncs anew (new meeting ids, the same calendar event ids), so the import finds each
//! meeting by its `provider_event_id`, as it would for someone moving to a new Docket server.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    common::{World, meeting_id, save_meeting_note, synced},
    export::{Vault, export, split},
    import::{counts, import, zip_of},
};

const ADA: &str = "ada@northwind.example";

/// Front-matter keys that name this Docket's rows or the moment of a write, not the content.
const IDENTITY_KEYS: [&str; 4] = ["docket_id", "note_id", "created", "updated"];

/// Every file of the vault by name, the notes' front matter without [`IDENTITY_KEYS`].
fn comparable(vault: &Vault) -> BTreeMap<String, String> {
    vault
        .files
        .iter()
        .filter(|(name, _)| name.as_str() != "docket.json")
        .map(|(name, bytes)| {
            let text = std::str::from_utf8(bytes).unwrap().to_owned();
            if name.starts_with("People/") || name.starts_with("Organizations/") {
                // Index pages list their links in id order, and the ids are new: compare their
                // lines as a set, without the page's own id.
                let mut lines: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.starts_with("docket_id: "))
                    .collect();
                lines.sort_unstable();
                return (name.clone(), lines.join("\n"));
            }
            if !(name.starts_with("Meetings/") || name.starts_with("Notes/")) {
                return (name.clone(), text);
            }
            let (keys, mapping, body) = split(&text);
            let kept: Vec<String> = keys
                .iter()
                .filter(|k| !IDENTITY_KEYS.contains(&k.as_str()))
                .map(|k| format!("{k}: {:?}", mapping[k.as_str()]))
                .collect();
            (name.clone(), format!("{}\n---\n{body}", kept.join("\n")))
        })
        .collect()
}

/// The items of `docket.json`, without ids, in a stable order.
fn items(vault: &Vault) -> Vec<String> {
    let json: Value = serde_json::from_slice(&vault.files["docket.json"]).unwrap();
    let mut items: Vec<String> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let fields = [
                "kind",
                "text",
                "done",
                "due",
                "assignee_email",
                "answer",
                "due_set_by_user",
                "assignee_set_by_user",
            ];
            fields
                .iter()
                .map(|f| format!("{f}={}", item[*f]))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    items.sort();
    items
}

#[tokio::test]
async fn export_then_import_into_a_fresh_account_then_export_gives_the_same_vault() {
    let world = World::with(&[("DOCKET_SYNC_WORKER", "false")]).await;
    let ada = synced(&world, ADA).await;
    let globex = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(
        &ada,
        globex,
        "# Globex renewal\r\n\
         - [ ] @hank send the revised quote due:2026-12-04\r\n\
         - [x] share the usage report\r\n\
         Decision: renew for two years at the 2025 price\r\n\
         ?? who signs on their side\r\n\
         !a Frank, as procurement lead\r\n\
         Ünïcödé and a line of dashes:\r\n\
         ---\r\n",
    )
    .await;
    let q1 = meeting_id(&world, ADA, "Q1 planning review").await;
    save_meeting_note(
        &ada,
        q1,
        "- [ ] draft the Q1 plan\n!d Q1 focus: retention\n?? budget for hiring\n",
    )
    .await;
    let created = ada
        .post_form(
            "/notes",
            &[
                ("title", "Ideas: \"later\" / maybe"),
                ("body", "- [ ] !! sketch the onboarding flow\nplain line\n"),
                ("base_version", "0"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    // A due date set by hand on the action-items page (not in the note's text).
    let item: Uuid = sqlx::query_scalar("select id from items where text = 'draft the Q1 plan'")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let edited = ada
        .post_form(&format!("/items/{item}"), &[("due", "2026-12-24")])
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);

    let first = export(&ada).await;
    assert_eq!(
        first
            .names
            .iter()
            .filter(|n| n.starts_with("Meetings/") || n.starts_with("Notes/"))
            .count(),
        3,
        "{:#?}",
        first.names
    );

    // The fresh account: delete everything, sign in again, sync the same calendar.
    let deleted = ada
        .post_form("/settings/delete-account", &[("email", ADA)])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let notes: i64 = sqlx::query_scalar("select count(*) from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(notes, 0, "the old account's notes are gone");
    let fresh = synced(&world, ADA).await;
    assert_ne!(
        meeting_id(&world, ADA, "Globex renewal").await,
        globex,
        "a new account with new meeting ids"
    );

    let archive: Vec<(&str, &[u8])> = first
        .files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    let (_, result) = import(&fresh, zip_of(&archive)).await;
    assert_eq!(
        counts(&result),
        // docket.json is read, not imported: it is no file of the result.
        [2, 1, 0, first.names.len() - 4].map(|n| n.to_string()),
        "matched, standalone, unchanged, skipped (the derived pages)"
    );

    let second = export(&fresh).await;
    // People and organizations are written in id order, and the ids are new: compare by name.
    let (before, after) = (comparable(&first), comparable(&second));
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, text) in &before {
        assert_eq!(Some(text), after.get(name), "{name} differs");
    }
    assert_eq!(items(&second), items(&first));
}
