//! `docket.json`, the machine-readable part of a Docket export: the import reads from it only
//! what a note's text cannot carry — the due dates and assignees a user set by hand on the
//! action-items page, which win over the note's line until edited there again.

use std::io::Read;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kinds::ItemKind;

/// The parts of `docket.json` the import reads; everything else in it is skipped unread.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub format_version: u64,
    #[serde(default)]
    items: Vec<ManifestItem>,
}

/// An item as the export describes it. Lenient: a missing or mistyped field reads as absent.
#[derive(Debug, Deserialize)]
struct ManifestItem {
    #[serde(default)]
    note_id: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    assignee_email: Option<String>,
    #[serde(default)]
    due_set_by_user: bool,
    #[serde(default)]
    assignee_set_by_user: bool,
}

/// What to restore on one item once its note is written: the item is found again by its kind
/// and text among the note's items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetByHand {
    /// The note's id in the export (the `note_id` / `docket_id` of its file's front matter).
    pub note_id: Uuid,
    pub kind: ItemKind,
    pub text: String,
    /// `Some(due)` when the user set the due date (`Some(None)`: cleared it).
    pub due: Option<Option<NaiveDate>>,
    /// `Some(e-mail)` when the user set the assignee (`Some(None)`: unassigned).
    pub assignee_email: Option<Option<String>>,
}

impl Manifest {
    pub fn from_reader(reader: impl Read) -> serde_json::Result<Manifest> {
        serde_json::from_reader(std::io::BufReader::new(reader))
    }

    /// The items whose due date or assignee the user set by hand.
    pub fn set_by_hand(&self) -> Vec<SetByHand> {
        self.items
            .iter()
            .filter(|item| item.due_set_by_user || item.assignee_set_by_user)
            // Kept as JSON in PostgreSQL, whose jsonb cannot hold NUL (nor can an item's text).
            .filter(|item| {
                ![&item.text, &item.assignee_email]
                    .iter()
                    .any(|value| value.as_deref().is_some_and(|v| v.contains('\0')))
            })
            .filter_map(|item| {
                Some(SetByHand {
                    note_id: item.note_id.as_deref()?.parse().ok()?,
                    kind: item.kind.as_deref()?.parse().ok()?,
                    text: item.text.clone()?,
                    due: item.due_set_by_user.then(|| {
                        item.due
                            .as_deref()
                            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    }),
                    assignee_email: item
                        .assignee_set_by_user
                        .then(|| item.assignee_email.clone().filter(|e| !e.trim().is_empty())),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_items_set_by_hand_are_kept_and_the_rest_of_the_file_is_skipped() {
        let json = r#"{
          "format_version": 1, "exported_at": "2026-11-30T10:00:00Z",
          "user": {"email": "ada@northwind.example", "name": "Ada", "time_zone": "Europe/London"},
          "meetings": [{"id": "m", "title": "Sync", "attendees": ["x"]}],
          "notes": [{"id": "9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20", "body": "- [ ] send terms"}],
          "items": [
            {"id": "1", "note_id": "9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20", "meeting_id": null,
             "kind": "action", "text": "send terms", "done": false, "due": "2026-12-24",
             "assignee_email": "hank@globex.example", "due_set_by_user": true,
             "assignee_set_by_user": false, "answer": null},
            {"id": "2", "note_id": "9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20", "kind": "action",
             "text": "call back", "due": null, "assignee_email": null,
             "due_set_by_user": false, "assignee_set_by_user": true},
            {"id": "3", "note_id": "9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20", "kind": "decision",
             "text": "renew", "due_set_by_user": false, "assignee_set_by_user": false},
            {"id": "4", "note_id": "not-a-uuid", "kind": "action", "text": "x",
             "due_set_by_user": true},
            {"id": "5", "note_id": "9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20", "kind": "chore",
             "text": "x", "due_set_by_user": true},
            {"id": "6", "note_id": "9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20", "kind": "action",
             "text": "nul\u0000inside", "due_set_by_user": true}
          ],
          "people": [], "organizations": []
        }"#;
        let manifest = Manifest::from_reader(json.as_bytes()).unwrap();
        let note_id: Uuid = "9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20".parse().unwrap();
        assert_eq!(
            manifest.set_by_hand(),
            [
                SetByHand {
                    note_id,
                    kind: ItemKind::Action,
                    text: "send terms".into(),
                    due: Some(NaiveDate::from_ymd_opt(2026, 12, 24)),
                    assignee_email: None,
                },
                SetByHand {
                    note_id,
                    kind: ItemKind::Action,
                    text: "call back".into(),
                    due: None,
                    assignee_email: Some(None),
                },
            ]
        );
    }

    #[test]
    fn a_manifest_without_items_is_fine_and_broken_json_is_an_error() {
        let manifest = Manifest::from_reader(&br#"{"format_version": 1}"#[..]).unwrap();
        assert!(manifest.set_by_hand().is_empty());
        assert!(Manifest::from_reader(&b"{\"format_version\": 1"[..]).is_err());
        assert!(Manifest::from_reader(&b"[]"[..]).is_err());
    }
}
