//! One Markdown file of an archive, described as the import needs it: which kind of note it is,
//! its title, date, text and the ids that can find its meeting or an earlier import of it.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::front_matter::{self, FrontMatter};
use crate::kinds::{DateSource, ImportFileKind};

/// The longest title a note can have (the note form's limit).
const MAX_TITLE_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq)]
pub struct NoteFile {
    pub path: String,
    pub kind: ImportFileKind,
    /// The meeting's title for a meeting's file, else the note's.
    pub title: String,
    pub body: String,
    /// The meeting's id in the export (a meeting's file only).
    pub docket_id: Option<Uuid>,
    /// Finds an earlier import of this file: `note:<id>` for a note of a Docket export (its id
    /// there), `file:<path>` for anything else.
    pub note_key: String,
    pub provider_event_id: Option<String>,
    pub ical_uid: Option<String>,
    pub date: NaiveDate,
    pub date_source: DateSource,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl NoteFile {
    /// Describes the file at `path` holding `text`. `modified` is the zip entry's date, `today`
    /// the import's day in the user's time zone (the last resort for a date).
    pub fn describe(path: &str, text: &str, modified: Option<NaiveDate>, today: NaiveDate) -> Self {
        let split = front_matter::split(text);
        let fm = without_nul(split.front_matter.clone().unwrap_or_default());
        let (name_date, name_title) = front_matter::from_file_name(path);
        let from_docket = fm.docket_id.is_some();
        let kind = match (from_docket, fm.describes_meeting) {
            (true, true) => ImportFileKind::Meeting,
            (true, false) => ImportFileKind::Note,
            (false, _) => ImportFileKind::Markdown,
        };
        // A Docket export's note is the text after its front matter, exactly. Any other file is
        // kept whole: its properties (tags, aliases…) have no place of their own in Docket, and
        // an import never drops what someone wrote.
        let body = if from_docket { split.body } else { text };
        let note_id = match kind {
            ImportFileKind::Meeting => fm.note_id.as_deref(),
            ImportFileKind::Note => fm.docket_id.as_deref(),
            ImportFileKind::Markdown | ImportFileKind::Other => None,
        }
        .and_then(|id| Uuid::parse_str(id).ok());
        let note_key = match note_id {
            Some(id) => format!("note:{id}"),
            None => format!("file:{path}"),
        };
        let (date, date_source) = match (fm.date, name_date, modified) {
            (Some(d), _, _) => (d, DateSource::FrontMatter),
            (None, Some(d), _) => (d, DateSource::FileName),
            (None, None, Some(d)) => (d, DateSource::Modified),
            (None, None, None) => (today, DateSource::Today),
        };
        let title = fm.title.clone().unwrap_or(name_title);
        NoteFile {
            path: path.to_owned(),
            kind,
            title: title.trim().chars().take(MAX_TITLE_CHARS).collect(),
            body: body.to_owned(),
            docket_id: match kind {
                ImportFileKind::Meeting => fm.docket_id.as_deref().and_then(|id| id.parse().ok()),
                _ => None,
            },
            note_key,
            provider_event_id: fm.provider_event_id.clone(),
            ical_uid: fm.ical_uid.clone(),
            date,
            date_source,
            created_at: instant(&fm, |fm| fm.created),
            updated_at: instant(&fm, |fm| fm.updated),
        }
    }
}

/// Front matter values without NUL, which a YAML escape (`\0`) can write and PostgreSQL text
/// cannot hold (the archive's reader refuses NUL in a note's text itself).
fn without_nul(fm: FrontMatter) -> FrontMatter {
    let clean = |value: Option<String>| value.map(|v| v.replace('\0', ""));
    FrontMatter {
        docket_id: clean(fm.docket_id),
        note_id: clean(fm.note_id),
        title: clean(fm.title),
        provider_event_id: clean(fm.provider_event_id),
        ical_uid: clean(fm.ical_uid),
        ..fm
    }
}

fn instant(
    fm: &FrontMatter,
    pick: impl Fn(&FrontMatter) -> Option<DateTime<chrono::FixedOffset>>,
) -> Option<DateTime<Utc>> {
    pick(fm).map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-12-01";

    #[test]
    fn a_meeting_file_of_an_export_keeps_its_ids_and_only_its_body() {
        let text = "---\ndocket_id: \"5d0c8a47-1f7e-4c55-9a41-0d1e8a6c2b11\"\n\
date: \"2026-11-30\"\ntitle: \"Weekly sync\"\nprovider_event_id: \"ev1\"\nical_uid: \"\"\n\
note_id: \"9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20\"\n---\n- [ ] send terms\n";
        let file = NoteFile::describe(
            "Meetings/2026-11-30 0930 Weekly sync.md",
            text,
            None,
            day(TODAY),
        );
        assert_eq!(file.kind, ImportFileKind::Meeting);
        assert_eq!(
            file.docket_id,
            Some("5d0c8a47-1f7e-4c55-9a41-0d1e8a6c2b11".parse().unwrap())
        );
        assert_eq!(file.note_key, "note:9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20");
        assert_eq!(file.provider_event_id.as_deref(), Some("ev1"));
        assert_eq!(file.ical_uid, None);
        assert_eq!(file.title, "Weekly sync");
        assert_eq!(file.body, "- [ ] send terms\n");
        assert_eq!(
            (file.date, file.date_source),
            (day("2026-11-30"), DateSource::FrontMatter)
        );
    }

    #[test]
    fn a_standalone_note_of_an_export_is_keyed_by_its_id() {
        let text = "---\ndocket_id: \"0b7e5a1c-2d3f-4a5b-8c9d-0e1f2a3b4c5d\"\ntitle: \"Ideas\"\n\
date: \"2026-03-01\"\ncreated: \"2026-03-01T08:15:00+01:00\"\nupdated: \"2026-03-02T10:00:00Z\"\n---\nbody";
        let file = NoteFile::describe("Notes/2026-03-01 Ideas.md", text, None, day(TODAY));
        assert_eq!(file.kind, ImportFileKind::Note);
        assert_eq!(file.docket_id, None);
        assert_eq!(file.note_key, "note:0b7e5a1c-2d3f-4a5b-8c9d-0e1f2a3b4c5d");
        assert_eq!(
            file.created_at.unwrap().to_rfc3339(),
            "2026-03-01T07:15:00+00:00"
        );
        assert_eq!(
            file.updated_at.unwrap().to_rfc3339(),
            "2026-03-02T10:00:00+00:00"
        );
        assert_eq!(file.body, "body");
    }

    #[test]
    fn another_vaults_note_is_kept_whole_and_keyed_by_its_path() {
        let text = "---\ntags: [work]\ntitle: Retro\n---\n- [ ] fix the build\n";
        let file = NoteFile::describe("Work/2026-11-02 retro.md", text, None, day(TODAY));
        assert_eq!(file.kind, ImportFileKind::Markdown);
        assert_eq!(file.note_key, "file:Work/2026-11-02 retro.md");
        assert_eq!(file.title, "Retro");
        assert_eq!(file.body, text);
        // The front matter has no date: the file name's.
        assert_eq!(
            (file.date, file.date_source),
            (day("2026-11-02"), DateSource::FileName)
        );
    }

    #[test]
    fn the_date_comes_from_the_entry_then_the_import_day() {
        let file = NoteFile::describe("Ideas.md", "text", Some(day("2025-05-05")), day(TODAY));
        assert_eq!(
            (file.date, file.date_source),
            (day("2025-05-05"), DateSource::Modified)
        );
        assert_eq!(file.title, "Ideas");
        let file = NoteFile::describe("Ideas.md", "text", None, day(TODAY));
        assert_eq!(
            (file.date, file.date_source),
            (day(TODAY), DateSource::Today)
        );
    }

    #[test]
    fn ids_that_are_not_uuids_fall_back_to_the_path() {
        let text = "---\ndocket_id: \"nope\"\ntitle: \"x\"\n---\nbody";
        let file = NoteFile::describe("Notes/x.md", text, None, day(TODAY));
        assert_eq!(file.kind, ImportFileKind::Note);
        assert_eq!(file.note_key, "file:Notes/x.md");
    }

    #[test]
    fn nul_escapes_in_front_matter_are_dropped() {
        let text = "---\ntitle: \"a\\0b\"\nprovider_event_id: \"\\0\"\n---\nbody";
        let file = NoteFile::describe("x.md", text, None, day(TODAY));
        assert_eq!(file.title, "ab");
        assert_eq!(file.provider_event_id.as_deref(), Some(""));
    }

    #[test]
    fn long_titles_are_cut_to_what_a_note_title_can_hold() {
        let text = format!("---\ntitle: \"{}\"\n---\n", "é".repeat(400));
        let file = NoteFile::describe("x.md", &text, None, day(TODAY));
        assert_eq!(file.title.chars().count(), 300);
    }
}
