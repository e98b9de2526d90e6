//! What a Markdown file says about itself: its YAML front matter (the `---` block Obsidian,
//! Jekyll and Docket's export put first), and the date and title its file name gives.
//!
//! Only the keys the import uses are read, leniently: a value of another type than expected is
//! as good as absent, and a block that is not a YAML mapping is no front matter at all (the file
//! is then all body), so a note that merely starts with a horizontal rule is never lost.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use serde_yaml_ng::{Mapping, Value};

/// The keys of the front matter the import reads.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FrontMatter {
    pub docket_id: Option<String>,
    pub note_id: Option<String>,
    pub title: Option<String>,
    pub date: Option<NaiveDate>,
    pub created: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
    pub provider_event_id: Option<String>,
    pub ical_uid: Option<String>,
    /// Keys only a meeting's file of a Docket export has (`note_id`, `start`, …) are present.
    pub describes_meeting: bool,
}

/// A file's text cut in two: its front matter, if it has one, and the rest.
#[derive(Debug, PartialEq)]
pub struct Split<'a> {
    pub front_matter: Option<FrontMatter>,
    pub body: &'a str,
}

/// Keys Docket's export writes only for a meeting's note.
const MEETING_KEYS: [&str; 6] = [
    "note_id",
    "start",
    "end",
    "provider_event_id",
    "ical_uid",
    "calendar",
];

/// Splits `text` into its front matter and body. The body is everything after the closing
/// `---` line, byte for byte (the export writes the note exactly there).
pub fn split(text: &str) -> Split<'_> {
    let whole = Split {
        front_matter: None,
        body: text,
    };
    let Some(yaml_start) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .map(|rest| text.len() - rest.len())
    else {
        return whole;
    };
    // The block ends at the first line that is `---` (or YAML's `...`) on its own.
    let mut line_start = yaml_start;
    let (yaml_end, body_start) = loop {
        if line_start >= text.len() {
            return whole;
        }
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i + 1);
        let line = text[line_start..line_end].trim_end_matches(['\n', '\r']);
        if line == "---" || line == "..." {
            break (line_start, line_end);
        }
        line_start = line_end;
    };
    let yaml = &text[yaml_start..yaml_end];
    let mapping = match serde_yaml_ng::from_str::<Value>(yaml) {
        Ok(Value::Mapping(mapping)) => mapping,
        // `---` then `---`: an empty block.
        Ok(Value::Null) => Mapping::new(),
        // A scalar, a list or broken YAML: not front matter, just text.
        Ok(_) | Err(_) => return whole,
    };
    Split {
        front_matter: Some(read(&mapping)),
        body: &text[body_start..],
    }
}

fn read(mapping: &Mapping) -> FrontMatter {
    let text = |key: &str| mapping.get(key).and_then(scalar);
    FrontMatter {
        docket_id: text("docket_id"),
        note_id: text("note_id"),
        title: text("title"),
        // Docket writes `date`; other tools often only `created`, or a meeting's `start`.
        date: ["date", "created", "start"]
            .iter()
            .find_map(|key| text(key).as_deref().and_then(leading_date)),
        created: text("created").as_deref().and_then(instant),
        updated: text("updated").as_deref().and_then(instant),
        provider_event_id: text("provider_event_id"),
        ical_uid: text("ical_uid"),
        describes_meeting: MEETING_KEYS.iter().any(|key| mapping.contains_key(*key)),
    }
}

/// A scalar as text, trimmed; empty (Docket's export writes `""` for a missing value) is absent.
fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Tagged(tagged) => return scalar(&tagged.value),
        Value::Null | Value::Sequence(_) | Value::Mapping(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// `2026-11-30`, or the date of `2026-11-30T09:30:00+01:00` / `2026-11-30 09:30`.
fn leading_date(text: &str) -> Option<NaiveDate> {
    let head = text.get(..10)?;
    let rest = &text[10..];
    if !(rest.is_empty() || rest.starts_with(['T', 't', ' '])) {
        return None;
    }
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

/// An instant with its offset (RFC 3339), as Docket writes `created` and `updated`.
fn instant(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

/// The date and title a file name gives: `2026-11-30 0930 Weekly sync.md` → (30 November
/// 2026, "Weekly sync"); `Ideas.md` → (none, "Ideas"). The time Docket's export puts after the
/// date of a meeting's file is dropped from the title.
pub fn from_file_name(path: &str) -> (Option<NaiveDate>, String) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = match name.len().checked_sub(3) {
        Some(cut) if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(".md") => {
            &name[..cut]
        }
        _ => name,
    };
    let date = stem
        .get(..10)
        .filter(|_| !stem[10..].starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|head| NaiveDate::parse_from_str(head, "%Y-%m-%d").ok());
    let Some(date) = date else {
        return (None, stem.trim().to_owned());
    };
    let rest = stem[10..].trim_start_matches([' ', '_', '-', '.']);
    let rest = match (rest.get(..4), rest.get(4..)) {
        (Some(hhmm), Some(after))
            if (after.is_empty() || after.starts_with(' '))
                && hhmm.bytes().all(|b| b.is_ascii_digit())
                && NaiveTime::parse_from_str(hhmm, "%H%M").is_ok() =>
        {
            after
        }
        _ => rest,
    };
    (Some(date), rest.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const MEETING_FILE: &str = "---\n\
docket_id: \"5d0c8a47-1f7e-4c55-9a41-0d1e8a6c2b11\"\n\
date: \"2026-11-30\"\n\
start: \"2026-11-30T09:30:00+01:00\"\n\
end: \"2026-11-30T10:00:00+01:00\"\n\
title: \"Weekly \\\"sync\\\" \\\\ review\"\n\
calendar: \"Work\"\n\
series: \"\"\n\
status: \"confirmed\"\n\
attendees: [\"[[Ada Lovelace]]\", \"[[Grace Hopper]]\"]\n\
organizations: []\n\
provider_event_id: \"abc_20261130T083000Z\"\n\
ical_uid: \"abc@google.com\"\n\
note_id: \"9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20\"\n\
---\n\
- [ ] @bob send terms due:2026-12-04\n\n---\nA rule above, not front matter.\n";

    #[test]
    fn a_docket_meeting_file_gives_every_key_and_the_body_byte_for_byte() {
        let split = split(MEETING_FILE);
        let fm = split.front_matter.unwrap();
        assert_eq!(
            fm.docket_id.as_deref(),
            Some("5d0c8a47-1f7e-4c55-9a41-0d1e8a6c2b11")
        );
        assert_eq!(
            fm.note_id.as_deref(),
            Some("9b1f0d3e-8c1a-4f6e-b2d4-7e5a3c9f1a20")
        );
        // Double-quoted YAML escapes come back as the title was.
        assert_eq!(fm.title.as_deref(), Some("Weekly \"sync\" \\ review"));
        assert_eq!(fm.date, Some(day("2026-11-30")));
        assert_eq!(
            fm.provider_event_id.as_deref(),
            Some("abc_20261130T083000Z")
        );
        assert_eq!(fm.ical_uid.as_deref(), Some("abc@google.com"));
        assert!(fm.describes_meeting);
        assert_eq!(
            split.body,
            "- [ ] @bob send terms due:2026-12-04\n\n---\nA rule above, not front matter.\n"
        );
    }

    #[test]
    fn a_docket_standalone_note_has_its_id_and_dates() {
        let text = "---\ndocket_id: \"0b7e\"\ntitle: \"Ideas\"\ndate: \"2026-03-01\"\n\
created: \"2026-03-01T08:15:00+01:00\"\nupdated: \"2026-03-02T10:00:00Z\"\n---\nbody";
        let split = split(text);
        let fm = split.front_matter.unwrap();
        assert!(!fm.describes_meeting);
        assert_eq!(fm.docket_id.as_deref(), Some("0b7e"));
        assert_eq!(
            fm.created.unwrap().to_rfc3339(),
            "2026-03-01T08:15:00+01:00"
        );
        assert_eq!(
            fm.updated.unwrap().to_rfc3339(),
            "2026-03-02T10:00:00+00:00"
        );
        assert_eq!(split.body, "body");
    }

    #[test]
    fn empty_strings_are_absent_and_other_types_are_read_leniently() {
        let text = "---\ndocket_id: \"\"\ntitle: 2026\ndate: 2026-05-04\ntags: [a, b]\n\
provider_event_id: [not, a, string]\ncreated: yesterday\n---\n";
        let fm = split(text).front_matter.unwrap();
        assert_eq!(fm.docket_id, None);
        assert_eq!(fm.title.as_deref(), Some("2026"));
        // YAML without timestamps reads an unquoted date as text.
        assert_eq!(fm.date, Some(day("2026-05-04")));
        assert_eq!(fm.provider_event_id, None);
        assert_eq!(fm.created, None);
        assert!(fm.describes_meeting, "the key is there, whatever its value");
    }

    #[test]
    fn the_date_falls_back_to_created_then_start() {
        let fm = split("---\ncreated: 2025-01-02 09:00\n---\n")
            .front_matter
            .unwrap();
        assert_eq!(fm.date, Some(day("2025-01-02")));
        let fm = split("---\nstart: \"2025-01-03T09:00:00Z\"\n---\n")
            .front_matter
            .unwrap();
        assert_eq!(fm.date, Some(day("2025-01-03")));
        let fm = split("---\ndate: 2025-01-0\n---\n").front_matter.unwrap();
        assert_eq!(fm.date, None);
    }

    #[test]
    fn crlf_files_and_an_empty_block_are_front_matter() {
        let split_crlf = split("---\r\ntitle: Plan\r\n---\r\nline one\r\n");
        assert_eq!(
            split_crlf.front_matter.unwrap().title.as_deref(),
            Some("Plan")
        );
        assert_eq!(split_crlf.body, "line one\r\n");
        let empty = split("---\n---\nbody");
        assert_eq!(empty.front_matter, Some(FrontMatter::default()));
        assert_eq!(empty.body, "body");
        // Closed by YAML's document end marker, with nothing after it.
        let dots = split("---\ntitle: x\n...");
        assert_eq!(dots.front_matter.unwrap().title.as_deref(), Some("x"));
        assert_eq!(dots.body, "");
    }

    #[test]
    fn text_that_only_looks_like_front_matter_stays_whole() {
        for text in [
            "no front matter\n---\ntitle: x\n---\n",
            "---\nnever closed: true\n",
            "---\n- a list\n- not a mapping\n---\nbody",
            "---\njust a sentence\n---\nbody",
            "---\ntitle: [unclosed\n---\nbody",
            " ---\ntitle: x\n---\n",
            "",
        ] {
            let split = split(text);
            assert_eq!(split.front_matter, None, "{text:?}");
            assert_eq!(split.body, text);
        }
    }

    #[test]
    fn an_alias_bomb_is_refused_quickly_not_expanded() {
        let mut yaml =
            String::from("---\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
            yaml.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        yaml.push_str("title: bomb\n---\nbody");
        let split = split(&yaml);
        // serde_yaml_ng stops expanding aliases past a limit: the block is not front matter.
        assert_eq!(split.front_matter, None);
        assert_eq!(split.body, yaml);
    }

    #[test]
    fn file_names_give_a_date_and_a_title() {
        let cases = [
            (
                "Meetings/2026-11-30 0930 Weekly sync.md",
                Some("2026-11-30"),
                "Weekly sync",
            ),
            (
                "2026-11-30 Weekly sync.MD",
                Some("2026-11-30"),
                "Weekly sync",
            ),
            ("notes/2026-11-30_retro.md", Some("2026-11-30"), "retro"),
            ("2026-11-30.md", Some("2026-11-30"), ""),
            ("2026-11-30 2359.md", Some("2026-11-30"), ""),
            // Four digits that read as a time are the export's; others belong to the title.
            ("2026-11-30 1230 lunch.md", Some("2026-11-30"), "lunch"),
            (
                "2026-11-30 9999 things.md",
                Some("2026-11-30"),
                "9999 things",
            ),
            (
                "2026-11-30 12345 things.md",
                Some("2026-11-30"),
                "12345 things",
            ),
            ("Ideas.md", None, "Ideas"),
            ("2026-13-01 Not a date.md", None, "2026-13-01 Not a date"),
            ("2026-11-301 x.md", None, "2026-11-301 x"),
            ("Café ☕.md", None, "Café ☕"),
            ("☕.md", None, "☕"),
        ];
        for (path, date, title) in cases {
            assert_eq!(
                from_file_name(path),
                (date.map(day), title.to_owned()),
                "{path}"
            );
        }
    }
}
