//! The vault's text, pure and deterministic: file names, YAML front matter, Obsidian Tasks
//! lines and the derived index pages. `sections` feeds it rows; nothing here knows the
//! database.
//!
//! ## File names
//!
//! A title becomes a file name by [`safe_name`]: characters that Windows, macOS or Linux refuse
//! (`/ \ : * ? " < > |`, control characters) and those that break an Obsidian link
//! (`# ^ [ ]`) become spaces, runs of white space become one space, leading and trailing dots
//! and spaces go, the result is cut to [`MAX_NAME_BYTES`] on a character boundary, an empty
//! result is "Untitled", and a Windows reserved name (`CON`, `NUL`, `COM1`, …, compared up to
//! the first dot, case-insensitively) gets a `_` after it.
//!
//! Two files of one folder whose names differ only in case would overwrite each other on
//! Windows and macOS, so names are compared lower-cased; a repeat is numbered ` 2`, ` 3`, … in
//! the order the files are written (meetings by start then id, notes by creation then id,
//! people by e-mail, organizations by name then id), which the same data always gives again
//! ([`Folder`]).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt::Write as _,
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

/// The longest file name stem, in bytes (before a collision number and `.md`): long enough for
/// any real title, short enough that a path inside the vault stays well under Windows' 260.
pub const MAX_NAME_BYTES: usize = 120;

const UNTITLED: &str = "Untitled";

/// Characters no file name may hold on some system, and those that end an Obsidian link.
const FORBIDDEN: &[char] = &[
    '/', '\\', ':', '*', '?', '"', '<', '>', '|', '#', '^', '[', ']',
];

/// Device names Windows reserves in every folder, with any extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// A file name stem every system accepts, made from `text` (see the module doc).
pub fn safe_name(text: &str, max_bytes: usize) -> String {
    let mut name = clean(text, max_bytes);
    // Windows ignores trailing spaces before the extension too: "CON .md" is CON.
    let device = name.split('.').next().unwrap_or_default().trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(device)) {
        name.insert(device.len(), '_');
    }
    name
}

/// `text` with the characters and ends no file name may have removed, cut to `max_bytes`
/// ("Untitled" when nothing is left). Not yet checked against device names: a stem that starts
/// with a date never is one.
fn clean(text: &str, max_bytes: usize) -> String {
    let mut name = String::with_capacity(text.len().min(max_bytes));
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() || FORBIDDEN.contains(&c) {
            pending_space = !name.is_empty();
            continue;
        }
        if pending_space {
            name.push(' ');
            pending_space = false;
        }
        name.push(c);
    }
    let trimmed = name.trim_matches(['.', ' ']);
    let mut cut = trimmed.len().min(max_bytes);
    while !trimmed.is_char_boundary(cut) {
        cut -= 1;
    }
    let name = trimmed[..cut].trim_end_matches(['.', ' ']);
    if name.is_empty() {
        UNTITLED.to_owned()
    } else {
        name.to_owned()
    }
}

/// The stem of a meeting's file: `YYYY-MM-DD HHmm Title`, at its local start.
pub fn meeting_stem(local_start: NaiveDateTime, title: &str) -> String {
    let prefix = local_start.format("%Y-%m-%d %H%M ").to_string();
    let room = MAX_NAME_BYTES - prefix.len();
    prefix + &clean(title, room)
}

/// The stem of a standalone note's file: `YYYY-MM-DD Title`, on its local creation date.
pub fn note_stem(local_date: NaiveDate, title: &str) -> String {
    let prefix = local_date.format("%Y-%m-%d ").to_string();
    let room = MAX_NAME_BYTES - prefix.len();
    prefix + &clean(title, room)
}

/// Where a meeting starts in the user's time zone. All-day events are floating dates: they
/// start at midnight of their date wherever the user is.
pub fn local_start(
    starts_at: DateTime<Utc>,
    all_day: bool,
    start_date: Option<NaiveDate>,
    tz: Tz,
) -> NaiveDateTime {
    match (all_day, start_date) {
        (true, Some(date)) => date.and_time(chrono::NaiveTime::MIN),
        _ => starts_at.with_timezone(&tz).naive_local(),
    }
}

/// `stem` with its collision number: `stem` for the first, `stem 2` for the second, ….
pub fn numbered(stem: &str, number: u32) -> String {
    if number <= 1 {
        stem.to_owned()
    } else {
        format!("{stem} {number}")
    }
}

/// The file names claimed so far in one folder, and the few files whose name carries a
/// collision number. Only numbered files are remembered by id: any file's name is its stem
/// (computed again from its row) plus that number, so every link to it can be written without
/// a map of all names.
pub struct Folder {
    claims: Claims,
    numbers: HashMap<Uuid, u32>,
}

/// The lower-cased names taken, as 64-bit FNV-1a hashes (a fixed function, so the same data
/// gives the same numbers in every build): 8 bytes a name instead of the name.
enum Claims {
    /// Every name stays taken (people, organizations: a few thousand).
    All(HashSet<u64>),
    /// Names whose files are written in time order and can only repeat within `window` of each
    /// other (the date and time are part of the name): older ones are forgotten, so memory
    /// stays that of a day or two of meetings whatever the history.
    Recent {
        window: TimeDelta,
        taken: HashSet<u64>,
        order: VecDeque<(DateTime<Utc>, u64)>,
    },
}

impl Folder {
    /// A folder where any two files may collide.
    pub fn everywhere() -> Folder {
        Folder {
            claims: Claims::All(HashSet::new()),
            numbers: HashMap::new(),
        }
    }

    /// A folder whose names start with a local date (and time): two files can only share one
    /// if they are at most two days apart (UTC offsets span 26 hours; an all-day event starts
    /// at midnight UTC), and files are claimed in time order.
    pub fn dated() -> Folder {
        Folder {
            claims: Claims::Recent {
                window: TimeDelta::days(2),
                taken: HashSet::new(),
                order: VecDeque::new(),
            },
            numbers: HashMap::new(),
        }
    }

    /// Claims the name of file `id` with `stem`, at instant `at` (for [`Folder::dated`]):
    /// the stem itself if free, else the first free numbered one. Returns the name.
    pub fn claim(&mut self, id: Uuid, stem: &str, at: DateTime<Utc>) -> String {
        if let Claims::Recent {
            window,
            taken,
            order,
        } = &mut self.claims
        {
            while let Some(&(oldest, hash)) = order.front() {
                if at - oldest <= *window {
                    break;
                }
                taken.remove(&hash);
                order.pop_front();
            }
        }
        let taken = match &mut self.claims {
            Claims::All(taken) | Claims::Recent { taken, .. } => taken,
        };
        let mut number = 1;
        let (name, hash) = loop {
            let candidate = numbered(stem, number);
            let hash = name_hash(&candidate);
            if taken.insert(hash) {
                break (candidate, hash);
            }
            number += 1;
        };
        if let Claims::Recent { order, .. } = &mut self.claims {
            order.push_back((at, hash));
        }
        if number > 1 {
            self.numbers.insert(id, number);
        }
        name
    }

    /// The name file `id` claimed with `stem`.
    pub fn name(&self, id: Uuid, stem: &str) -> String {
        numbered(stem, self.numbers.get(&id).copied().unwrap_or(1))
    }
}

/// FNV-1a over the lower-cased name.
fn name_hash(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for c in name.chars().flat_map(char::to_lowercase) {
        let mut bytes = [0; 4];
        for b in c.encode_utf8(&mut bytes).bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// An Obsidian wiki link to the file at `target` (its path inside the vault without `.md`,
/// or a bare name, which Obsidian resolves anywhere in the vault).
pub fn link(target: &str) -> String {
    format!("[[{target}]]")
}

// ---------------------------------------------------------------------------------------------
// YAML

/// Appends `value` as a YAML double-quoted scalar that every YAML parser reads back exactly:
/// `"` and `\` escaped, newline and tab as `\n` and `\t`, and every other character YAML does
/// not print (C0 and C1 controls, DEL) or that YAML 1.1 parsers take as a line break (U+0085,
/// U+2028, U+2029) or that an editor may eat (U+FEFF, U+FFFE, U+FFFF) as `\uXXXX`.
pub fn yaml_quoted(value: &str, out: &mut String) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// YAML front matter with a fixed set of keys, in the order they are added.
struct FrontMatter(String);

impl FrontMatter {
    fn new() -> FrontMatter {
        FrontMatter("---\n".to_owned())
    }

    fn text(mut self, key: &str, value: &str) -> FrontMatter {
        self.0.push_str(key);
        self.0.push_str(": ");
        yaml_quoted(value, &mut self.0);
        self.0.push('\n');
        self
    }

    /// A flow sequence of double-quoted strings: `["a", "b"]`.
    fn list<S: AsRef<str>>(mut self, key: &str, values: &[S]) -> FrontMatter {
        self.0.push_str(key);
        self.0.push_str(": [");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.0.push_str(", ");
            }
            yaml_quoted(value.as_ref(), &mut self.0);
        }
        self.0.push_str("]\n");
        self
    }

    fn end(mut self) -> String {
        self.0.push_str("---\n");
        self.0
    }
}

/// RFC 3339 with the zone's offset and whole seconds: `2026-11-30T09:30:00+01:00`.
pub fn rfc3339(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Midnight starting `date` in `tz` (the first instant of the day when a DST change skips it).
pub fn midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let local = date.and_time(chrono::NaiveTime::MIN);
    tz.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// What a meeting file's front matter says, every key always present (`""` or `[]` when
/// unknown), in the order of the vault format.
pub struct MeetingHeader<'a> {
    pub docket_id: Uuid,
    pub date: NaiveDate,
    pub start: &'a str,
    pub end: &'a str,
    pub title: &'a str,
    pub calendar: &'a str,
    pub series: &'a str,
    pub status: &'a str,
    /// Names of the attendees' pages (People/…), linked.
    pub attendees: &'a [String],
    /// Names of their organizations' pages (Organizations/…), linked.
    pub organizations: &'a [String],
    pub provider_event_id: &'a str,
    pub ical_uid: &'a str,
    pub note_id: Uuid,
}

impl MeetingHeader<'_> {
    pub fn render(&self) -> String {
        let links = |names: &[String]| names.iter().map(|n| link(n)).collect::<Vec<_>>();
        FrontMatter::new()
            .text("docket_id", &self.docket_id.to_string())
            .text("date", &self.date.to_string())
            .text("start", self.start)
            .text("end", self.end)
            .text("title", self.title)
            .text("calendar", self.calendar)
            .text("series", self.series)
            .text("status", self.status)
            .list("attendees", &links(self.attendees))
            .list("organizations", &links(self.organizations))
            .text("provider_event_id", self.provider_event_id)
            .text("ical_uid", self.ical_uid)
            .text("note_id", &self.note_id.to_string())
            .end()
    }
}

/// What a standalone note file's front matter says.
pub struct NoteHeader<'a> {
    pub docket_id: Uuid,
    pub title: &'a str,
    pub date: NaiveDate,
    pub created: &'a str,
    pub updated: &'a str,
}

impl NoteHeader<'_> {
    pub fn render(&self) -> String {
        FrontMatter::new()
            .text("docket_id", &self.docket_id.to_string())
            .text("title", self.title)
            .text("date", &self.date.to_string())
            .text("created", self.created)
            .text("updated", self.updated)
            .end()
    }
}

// ---------------------------------------------------------------------------------------------
// Derived pages

/// An action item as an Obsidian Tasks line. Tasks reads its fields (📅 due, ✅ done) from the
/// end of the line, so the links come before them:
/// `- [ ] text [[Person]] [[Meetings/2026-11-30 0930 Weekly]] 📅 2026-12-01`.
pub struct Task<'a> {
    pub text: &'a str,
    pub done: bool,
    pub due: Option<NaiveDate>,
    /// When it was ticked (done items only).
    pub done_on: Option<NaiveDate>,
    /// The assignee's page name.
    pub assignee: Option<&'a str>,
    /// The page of the meeting or note it comes from.
    pub source: &'a str,
}

impl Task<'_> {
    pub fn line(&self) -> String {
        let mut line = String::from(if self.done { "- [x] " } else { "- [ ] " });
        line.push_str(&one_line(self.text));
        if let Some(assignee) = self.assignee {
            line.push(' ');
            line.push_str(&link(assignee));
        }
        line.push(' ');
        line.push_str(&link(self.source));
        if let Some(due) = self.due {
            let _ = write!(line, " 📅 {due}");
        }
        if let (true, Some(done_on)) = (self.done, self.done_on) {
            let _ = write!(line, " ✅ {done_on}");
        }
        line.push('\n');
        line
    }
}

/// A decision as a list line.
pub fn decision_line(text: &str) -> String {
    format!("- {}\n", one_line(text))
}

/// A question as a list line: open, or answered (with the answer when one was written).
pub fn question_line(text: &str, answered: bool, answer: Option<&str>) -> String {
    match (answered, answer.map(str::trim).filter(|a| !a.is_empty())) {
        (false, _) => format!("- **Open:** {}\n", one_line(text)),
        (true, None) => format!("- **Answered:** {}\n", one_line(text)),
        (true, Some(answer)) => format!(
            "- **Answered:** {} → {}\n",
            one_line(text),
            one_line(answer)
        ),
    }
}

/// The heading of one meeting's (or note's) group in the derived pages.
pub fn group_heading(source: &str) -> String {
    format!("\n## {}\n\n", link(source))
}

/// The title line of a derived page.
pub fn page_title(title: &str) -> String {
    format!("# {title}\n")
}

/// A person's page up to the list of meetings together (which follows as [`list_link`]s).
pub struct PersonPage<'a> {
    pub docket_id: Uuid,
    pub name: &'a str,
    pub email: &'a str,
    /// Their organization's page name.
    pub organization: Option<&'a str>,
    pub is_me: bool,
}

impl PersonPage<'_> {
    pub fn head(&self) -> String {
        let organization = self.organization.map(link).unwrap_or_default();
        let mut page = FrontMatter::new()
            .text("docket_id", &self.docket_id.to_string())
            .text("email", self.email)
            .text("organization", &organization)
            .end();
        page.push_str(&page_title(&one_line(self.name)));
        let _ = writeln!(page, "\n- E-mail: {}", one_line(self.email));
        if !organization.is_empty() {
            let _ = writeln!(page, "- Organization: {organization}");
        }
        if self.is_me {
            page.push_str("\nThis is you.\n");
        } else {
            page.push_str("\n## Meetings together\n\n");
        }
        page
    }
}

/// An organization's page up to the list of its people (which follows as [`list_link`]s).
pub fn organization_head(docket_id: Uuid, name: &str, domain: &str) -> String {
    let mut page = FrontMatter::new()
        .text("docket_id", &docket_id.to_string())
        .text("domain", domain)
        .end();
    page.push_str(&page_title(&one_line(name)));
    let _ = writeln!(page, "\n- Domain: {}", one_line(domain));
    page.push_str("\n## People\n\n");
    page
}

/// A list line linking to `target`.
pub fn list_link(target: &str) -> String {
    format!("- {}\n", link(target))
}

/// Text from a stored line, safe to put on one Markdown line.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n']).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn forbidden_characters_become_single_spaces() {
        assert_eq!(
            safe_name("Q3: budget / forecast?", 120),
            "Q3 budget forecast"
        );
        assert_eq!(safe_name("a\\b*c\"d<e>f|g", 120), "a b c d e f g");
        assert_eq!(safe_name("Review [draft] #2 ^x", 120), "Review draft 2 x");
        assert_eq!(
            safe_name("tab\there\nnew\u{0}line\u{7f}", 120),
            "tab here new line"
        );
        assert_eq!(safe_name("  many    spaces  ", 120), "many spaces");
    }

    #[test]
    fn path_tricks_leave_a_plain_name() {
        assert_eq!(safe_name("../../etc/passwd", 120), "etc passwd");
        assert_eq!(safe_name("/absolute", 120), "absolute");
        assert_eq!(safe_name("C:\\Windows", 120), "C Windows");
        assert_eq!(safe_name(".hidden.", 120), "hidden");
        assert_eq!(safe_name(". . .", 120), "Untitled");
        assert_eq!(safe_name("", 120), "Untitled");
        assert_eq!(safe_name("???", 120), "Untitled");
    }

    #[test]
    fn windows_device_names_get_a_suffix() {
        assert_eq!(safe_name("CON", 120), "CON_");
        assert_eq!(safe_name("con", 120), "con_");
        assert_eq!(safe_name("nul.tar", 120), "nul_.tar");
        assert_eq!(safe_name("COM1", 120), "COM1_");
        assert_eq!(safe_name("lpt9", 120), "lpt9_");
        assert_eq!(safe_name("Console", 120), "Console");
        assert_eq!(safe_name("COM10", 120), "COM10");
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let name = safe_name(&"é".repeat(100), 120);
        assert_eq!(name.len(), 120);
        assert_eq!(safe_name(&"é".repeat(100), 7), "ééé");
        // A cut that leaves a trailing space or dot trims it.
        assert_eq!(safe_name("abc def", 4), "abc");
    }

    #[test]
    fn meeting_and_note_stems_carry_the_local_date() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap();
        assert_eq!(
            meeting_stem(start, "Weekly: sync"),
            "2026-11-30 0930 Weekly sync"
        );
        assert_eq!(meeting_stem(start, ""), "2026-11-30 0930 Untitled");
        assert_eq!(meeting_stem(start, &"x".repeat(500)).len(), MAX_NAME_BYTES);
        assert_eq!(
            note_stem(start.date(), "CON"),
            "2026-11-30 CON",
            "a prefixed name is never a device name"
        );
    }

    #[test]
    fn all_day_events_start_at_midnight_of_their_date_in_any_zone() {
        let tz: Tz = "America/Los_Angeles".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        let start = local_start(utc("2026-12-24T00:00:00Z"), true, Some(date), tz);
        assert_eq!(start.to_string(), "2026-12-24 00:00:00");
        let timed = local_start(utc("2026-12-24T00:00:00Z"), false, None, tz);
        assert_eq!(timed.to_string(), "2026-12-23 16:00:00");
    }

    #[test]
    fn repeats_are_numbered_case_insensitively_in_claim_order() {
        let mut folder = Folder::everywhere();
        let (a, b, c, d) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        let now = Utc::now();
        assert_eq!(folder.claim(a, "Ada Lovelace", now), "Ada Lovelace");
        assert_eq!(folder.claim(b, "ada lovelace", now), "ada lovelace 2");
        // A name that is itself "… 2" moves on rather than overwrite the second one.
        assert_eq!(folder.claim(c, "Ada Lovelace 2", now), "Ada Lovelace 2 2");
        assert_eq!(folder.claim(d, "ADA LOVELACE", now), "ADA LOVELACE 3");
        assert_eq!(folder.name(a, "Ada Lovelace"), "Ada Lovelace");
        assert_eq!(folder.name(b, "ada lovelace"), "ada lovelace 2");
        assert_eq!(folder.name(d, "ADA LOVELACE"), "ADA LOVELACE 3");
    }

    #[test]
    fn dated_folders_forget_names_older_than_two_days() {
        let mut folder = Folder::dated();
        let t0 = utc("2026-11-30T09:30:00Z");
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        assert_eq!(folder.claim(ids[0], "x", t0), "x");
        assert_eq!(folder.claim(ids[1], "x", t0 + TimeDelta::hours(1)), "x 2");
        assert_eq!(folder.claim(ids[2], "x", t0 + TimeDelta::hours(47)), "x 3");
        // Only possible with a name that has no date in it, which dated folders never see;
        // shown to pin the window down.
        assert_eq!(folder.claim(ids[3], "x", t0 + TimeDelta::hours(60)), "x");
        match &folder.claims {
            Claims::Recent { order, .. } => assert_eq!(order.len(), 2),
            Claims::All(_) => unreachable!(),
        }
    }

    #[test]
    fn yaml_strings_escape_quotes_backslashes_and_controls() {
        let mut out = String::new();
        yaml_quoted(
            "Q3: \"go\" # [not] a \\ comment\n\ttab\r\u{1b}\u{85}\u{2028}é📅",
            &mut out,
        );
        assert_eq!(
            out,
            "\"Q3: \\\"go\\\" # [not] a \\\\ comment\\n\\ttab\\u000D\\u001B\\u0085\\u2028é📅\""
        );
    }

    #[test]
    fn yaml_strings_read_back_exactly_with_a_yaml_parser() {
        let hostile = [
            "Q3: \"budget\" # review [draft] {x} & *y !z % @w `v` |u >t",
            "- item",
            "---",
            "line\nbreak\r\nand\ttab \u{0}\u{1f}\u{7f}\u{9f}",
            "'single' \\ \\n not an escape",
            "yes",
            "null",
            "~",
            "0930",
            " leading and trailing ",
            "\u{feff}bom \u{2029} separators \u{85}",
            "",
        ];
        for value in hostile {
            let header = NoteHeader {
                docket_id: Uuid::nil(),
                title: value,
                date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                created: value,
                updated: "2026-11-30T09:30:00+01:00",
            }
            .render();
            let yaml = header
                .strip_prefix("---\n")
                .and_then(|h| h.strip_suffix("---\n"))
                .unwrap();
            let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
            assert_eq!(parsed["title"].as_str(), Some(value), "{header}");
            assert_eq!(parsed["created"].as_str(), Some(value));
        }
    }

    #[test]
    fn meeting_front_matter_has_every_key_in_order() {
        let header = MeetingHeader {
            docket_id: Uuid::nil(),
            date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            start: "2026-11-30T09:30:00+01:00",
            end: "2026-11-30T10:00:00+01:00",
            title: "Weekly",
            calendar: "Work",
            series: "",
            status: "confirmed",
            attendees: &["Ada Lovelace".into(), "Grace Hopper".into()],
            organizations: &[],
            provider_event_id: "ev1",
            ical_uid: "",
            note_id: Uuid::nil(),
        }
        .render();
        assert_eq!(
            header,
            "---\n\
             docket_id: \"00000000-0000-0000-0000-000000000000\"\n\
             date: \"2026-11-30\"\n\
             start: \"2026-11-30T09:30:00+01:00\"\n\
             end: \"2026-11-30T10:00:00+01:00\"\n\
             title: \"Weekly\"\n\
             calendar: \"Work\"\n\
             series: \"\"\n\
             status: \"confirmed\"\n\
             attendees: [\"[[Ada Lovelace]]\", \"[[Grace Hopper]]\"]\n\
             organizations: []\n\
             provider_event_id: \"ev1\"\n\
             ical_uid: \"\"\n\
             note_id: \"00000000-0000-0000-0000-000000000000\"\n\
             ---\n"
        );
    }

    #[test]
    fn times_carry_the_users_offset() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            rfc3339(utc("2026-11-30T08:30:00Z"), paris),
            "2026-11-30T09:30:00+01:00"
        );
        assert_eq!(
            rfc3339(utc("2026-07-01T08:30:00Z"), chrono_tz::UTC),
            "2026-07-01T08:30:00+00:00"
        );
        assert_eq!(
            midnight(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(), paris).to_string(),
            "2026-06-30 22:00:00 UTC"
        );
    }

    #[test]
    fn tasks_put_links_before_the_fields_tasks_reads_from_the_end() {
        let due = NaiveDate::from_ymd_opt(2026, 12, 1);
        let open = Task {
            text: "@charles send the deck",
            done: false,
            due,
            done_on: None,
            assignee: Some("Charles Babbage"),
            source: "Meetings/2026-11-30 0930 Weekly",
        };
        assert_eq!(
            open.line(),
            "- [ ] @charles send the deck [[Charles Babbage]] [[Meetings/2026-11-30 0930 Weekly]] 📅 2026-12-01\n"
        );
        let done = Task {
            text: "book the room",
            done: true,
            due: None,
            done_on: NaiveDate::from_ymd_opt(2026, 11, 29),
            assignee: None,
            source: "Notes/2026-11-28 Ideas",
        };
        assert_eq!(
            done.line(),
            "- [x] book the room [[Notes/2026-11-28 Ideas]] ✅ 2026-11-29\n"
        );
    }

    #[test]
    fn questions_say_whether_they_were_answered() {
        assert_eq!(
            question_line("Who owns it?", false, None),
            "- **Open:** Who owns it?\n"
        );
        assert_eq!(
            question_line("Who owns it?", true, Some("Ada")),
            "- **Answered:** Who owns it? → Ada\n"
        );
        assert_eq!(
            question_line("Who owns it?", true, Some(" ")),
            "- **Answered:** Who owns it?\n"
        );
        assert_eq!(decision_line("Ship it"), "- Ship it\n");
    }

    #[test]
    fn person_pages_link_their_organization() {
        let page = PersonPage {
            docket_id: Uuid::nil(),
            name: "Wile E. Coyote",
            email: "wile@acme.example",
            organization: Some("Acme"),
            is_me: false,
        }
        .head();
        assert!(page.contains("organization: \"[[Acme]]\"\n"), "{page}");
        assert!(page.contains("# Wile E. Coyote\n"));
        assert!(page.contains("- Organization: [[Acme]]\n"));
        assert!(page.ends_with("## Meetings together\n\n"));
    }
}
