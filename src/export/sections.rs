//! The vault, section by section, from the snapshot into the archive: every section is one walk
//! over keyset batches, so what is held at any moment is one batch, never the user's history.
//!
//! Names first: the people and organization pages are named before any meeting (meeting files
//! link them), and each meeting and standalone note claims its name as its file is written, in
//! time order. Afterwards any file's name is computed again from its row (its stem plus the
//! collision number its folder remembers for the rare numbered ones), which is how the derived
//! pages and `docket.json` link files without a map of every name.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::PgConnection;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    snapshot::{self, AttendedCursor, Item, MeetingCursor, MeetingNote, NoteCursor, Owner, Person},
    vault::{self, Folder},
};
use crate::kinds::ItemKind;

/// Version of the vault format (README, "Export"); the import reads it from `docket.json`.
pub const FORMAT_VERSION: u32 = 1;

/// Uncompressed text handed to the archive writer at a time.
const PIECE: usize = 64 * 1024;

/// What the archive writer is told, in order.
pub enum Command {
    /// Start the file `path`, last modified at `modified` (the user's local time).
    Start {
        path: String,
        modified: NaiveDateTime,
    },
    /// More of the current file.
    Data(Vec<u8>),
    /// Everything was written: end the archive. Without it, the archive is abandoned.
    Finish,
}

/// Why the export stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("reading the snapshot: {0}")]
    Database(#[from] sqlx::Error),
    /// The archive writer is gone: the download was closed or its connection failed.
    #[error("the download stopped")]
    Closed,
}

/// The files of the archive, as text, to the archive writer.
pub struct Sink {
    commands: mpsc::Sender<Command>,
    buffer: Vec<u8>,
}

impl Sink {
    pub fn new(commands: mpsc::Sender<Command>) -> Sink {
        Sink {
            commands,
            buffer: Vec::with_capacity(PIECE),
        }
    }

    async fn start(&mut self, path: String, modified: NaiveDateTime) -> Result<(), Failure> {
        self.flush().await?;
        self.send(Command::Start { path, modified }).await
    }

    async fn write(&mut self, text: &str) -> Result<(), Failure> {
        self.buffer.extend_from_slice(text.as_bytes());
        if self.buffer.len() >= PIECE {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Failure> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buffer, Vec::with_capacity(PIECE));
        self.send(Command::Data(piece)).await
    }

    async fn finish(mut self) -> Result<(), Failure> {
        self.flush().await?;
        self.send(Command::Finish).await
    }

    async fn send(&mut self, command: Command) -> Result<(), Failure> {
        self.commands
            .send(command)
            .await
            .map_err(|_| Failure::Closed)
    }
}

/// How much went into the archive (for the log line).
#[derive(Debug, Default)]
pub struct Counts {
    pub meetings: usize,
    pub standalone_notes: usize,
    pub people: usize,
    pub organizations: usize,
}

/// The names of every file, as far as they are known.
struct Names {
    tz: Tz,
    people: Folder,
    organizations: Folder,
    meetings: Folder,
    notes: Folder,
}

impl Names {
    fn person(&self, id: Uuid, name: Option<&str>, email: &str) -> String {
        self.people.name(id, &person_stem(name, email))
    }

    fn organization(&self, id: Uuid, name: &str) -> String {
        self.organizations
            .name(id, &vault::safe_name(name, vault::MAX_NAME_BYTES))
    }

    /// A meeting file's path without `.md`: its link target.
    fn meeting(
        &self,
        id: Uuid,
        title: &str,
        starts_at: DateTime<Utc>,
        all_day: bool,
        start_date: Option<NaiveDate>,
    ) -> String {
        let start = vault::local_start(starts_at, all_day, start_date, self.tz);
        format!(
            "Meetings/{}",
            self.meetings.name(id, &vault::meeting_stem(start, title))
        )
    }

    /// A standalone note file's path without `.md`.
    fn note(&self, id: Uuid, title: &str, created_at: DateTime<Utc>) -> String {
        let date = created_at.with_timezone(&self.tz).date_naive();
        format!(
            "Notes/{}",
            self.notes.name(id, &vault::note_stem(date, title))
        )
    }
}

/// A person's page is named after their display name, their address when they have none.
fn person_stem(name: Option<&str>, email: &str) -> String {
    vault::safe_name(display_name(name, email), vault::MAX_NAME_BYTES)
}

fn display_name<'a>(name: Option<&'a str>, email: &'a str) -> &'a str {
    name.filter(|n| !n.trim().is_empty()).unwrap_or(email)
}

/// Writes the whole vault of `user_id` from the snapshot `tx` into `sink`, then finishes it.
pub async fn write_vault(
    tx: &mut PgConnection,
    user_id: Uuid,
    owner: &Owner,
    exported_at: DateTime<Utc>,
    mut sink: Sink,
) -> Result<Counts, Failure> {
    let tz = crate::time::zone(&owner.time_zone);
    let now = exported_at.with_timezone(&tz).naive_local();
    let mut names = Names {
        tz,
        people: Folder::everywhere(),
        organizations: Folder::everywhere(),
        meetings: Folder::dated(),
        notes: Folder::dated(),
    };
    let mut counts = Counts::default();
    let me = name_people(tx, user_id, &mut names).await?;
    name_organizations(tx, user_id, &mut names).await?;
    counts.meetings = meeting_files(tx, user_id, &mut names, &mut sink).await?;
    counts.standalone_notes = note_files(tx, user_id, &mut names, &mut sink).await?;
    counts.people = people_pages(tx, user_id, &me, &names, now, &mut sink).await?;
    counts.organizations = organization_pages(tx, user_id, &names, now, &mut sink).await?;
    for kind in ItemKind::ALL {
        item_page(tx, user_id, *kind, &names, now, &mut sink).await?;
    }
    docket_json(tx, user_id, owner, exported_at, &names, now, &mut sink).await?;
    sink.finish().await?;
    Ok(counts)
}

/// Claims every person's page name (in id order) and returns the user's own person rows (one
/// per address of theirs).
async fn name_people(
    tx: &mut PgConnection,
    user_id: Uuid,
    names: &mut Names,
) -> Result<Vec<Uuid>, Failure> {
    let mut me = Vec::new();
    let mut after = Uuid::nil();
    loop {
        let batch = snapshot::people(tx, user_id, after).await?;
        let Some(last) = batch.last() else {
            return Ok(me);
        };
        after = last.id;
        for person in &batch {
            if person.is_me {
                me.push(person.id);
            }
            let stem = person_stem(person.name.as_deref(), &person.email);
            names.people.claim(person.id, &stem, DateTime::UNIX_EPOCH);
        }
    }
}

async fn name_organizations(
    tx: &mut PgConnection,
    user_id: Uuid,
    names: &mut Names,
) -> Result<(), Failure> {
    let mut after = Uuid::nil();
    loop {
        let batch = snapshot::organizations(tx, user_id, after).await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.id;
        for organization in &batch {
            let stem = vault::safe_name(&organization.name, vault::MAX_NAME_BYTES);
            names
                .organizations
                .claim(organization.id, &stem, DateTime::UNIX_EPOCH);
        }
    }
}

/// The batches of meetings with notes, in start order, to the end.
struct MeetingBatches {
    after: Option<MeetingCursor>,
    done: bool,
}

impl MeetingBatches {
    fn new() -> MeetingBatches {
        MeetingBatches {
            after: None,
            done: false,
        }
    }

    async fn next(
        &mut self,
        tx: &mut PgConnection,
        user_id: Uuid,
    ) -> sqlx::Result<Option<Vec<MeetingNote>>> {
        if self.done {
            return Ok(None);
        }
        let batch = snapshot::meeting_notes(tx, user_id, self.after).await?;
        match batch.last() {
            Some(last) => {
                self.after = Some(MeetingCursor(last.starts_at, last.id));
                Ok(Some(batch))
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

/// The batches of standalone notes, in creation order, to the end.
struct NoteBatches {
    after: Option<NoteCursor>,
    done: bool,
}

impl NoteBatches {
    fn new() -> NoteBatches {
        NoteBatches {
            after: None,
            done: false,
        }
    }

    async fn next(
        &mut self,
        tx: &mut PgConnection,
        user_id: Uuid,
    ) -> sqlx::Result<Option<Vec<snapshot::StandaloneNote>>> {
        if self.done {
            return Ok(None);
        }
        let batch = snapshot::standalone_notes(tx, user_id, self.after).await?;
        match batch.last() {
            Some(last) => {
                self.after = Some(NoteCursor(last.created_at, last.id));
                Ok(Some(batch))
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

/// `Meetings/YYYY-MM-DD HHmm Title.md`: front matter, then the note exactly as stored.
async fn meeting_files(
    tx: &mut PgConnection,
    user_id: Uuid,
    names: &mut Names,
    sink: &mut Sink,
) -> Result<usize, Failure> {
    let tz = names.tz;
    let mut count = 0;
    let mut batches = MeetingBatches::new();
    while let Some(batch) = batches.next(tx, user_id).await? {
        for m in batch {
            let start = vault::local_start(m.starts_at, m.all_day, m.start_date, tz);
            let name =
                names
                    .meetings
                    .claim(m.id, &vault::meeting_stem(start, &m.title), m.starts_at);
            let (start, end) = meeting_times(&m, tz);
            let shown: Vec<_> = m.attendees.iter().filter(|a| !a.is_me).collect();
            let attendees: Vec<String> = shown
                .iter()
                .map(|a| names.person(a.person_id, a.name.as_deref(), &a.email))
                .collect();
            let mut organizations: Vec<String> = shown
                .iter()
                .filter_map(|a| {
                    Some(names.organization(a.organization_id?, a.organization.as_deref()?))
                })
                .collect();
            organizations.sort();
            organizations.dedup();
            let header = vault::MeetingHeader {
                docket_id: m.id,
                date: start.0,
                start: &start.1,
                end: &end,
                title: &m.title,
                calendar: &m.calendar,
                series: m.series.as_deref().unwrap_or_default(),
                status: m.status.as_str(),
                attendees: &attendees,
                organizations: &organizations,
                provider_event_id: &m.provider_event_id,
                ical_uid: m.ical_uid.as_deref().unwrap_or_default(),
                note_id: m.note_id,
            }
            .render();
            let modified = m.updated_at.with_timezone(&tz).naive_local();
            sink.start(format!("Meetings/{name}.md"), modified).await?;
            sink.write(&header).await?;
            sink.write(&m.body).await?;
            count += 1;
        }
    }
    Ok(count)
}

/// A meeting's local date, start and end (RFC 3339 in the user's zone). An all-day event
/// runs from midnight of its first date to midnight after its last (its end date is exclusive).
fn meeting_times(m: &MeetingNote, tz: Tz) -> ((NaiveDate, String), String) {
    match (m.all_day, m.start_date) {
        (true, Some(first)) => {
            let end = m.end_date.unwrap_or(first + chrono::Days::new(1));
            (
                (first, vault::rfc3339(vault::midnight(first, tz), tz)),
                vault::rfc3339(vault::midnight(end, tz), tz),
            )
        }
        _ => (
            (
                m.starts_at.with_timezone(&tz).date_naive(),
                vault::rfc3339(m.starts_at, tz),
            ),
            vault::rfc3339(m.ends_at, tz),
        ),
    }
}

/// `Notes/YYYY-MM-DD Title.md` for every note outside a meeting.
async fn note_files(
    tx: &mut PgConnection,
    user_id: Uuid,
    names: &mut Names,
    sink: &mut Sink,
) -> Result<usize, Failure> {
    let tz = names.tz;
    let mut count = 0;
    let mut batches = NoteBatches::new();
    while let Some(batch) = batches.next(tx, user_id).await? {
        for n in batch {
            let date = n.created_at.with_timezone(&tz).date_naive();
            let name = names
                .notes
                .claim(n.id, &vault::note_stem(date, &n.title), n.created_at);
            let header = vault::NoteHeader {
                docket_id: n.id,
                title: &n.title,
                date,
                created: &vault::rfc3339(n.created_at, tz),
                updated: &vault::rfc3339(n.updated_at, tz),
            }
            .render();
            let modified = n.updated_at.with_timezone(&tz).naive_local();
            sink.start(format!("Notes/{name}.md"), modified).await?;
            sink.write(&header).await?;
            sink.write(&n.body).await?;
            count += 1;
        }
    }
    Ok(count)
}

/// `People/Name.md`: address, organization, and the meetings with notes they attended, linked.
/// People (by id) and their meetings (by person, then time) are two keyset walks merged.
async fn people_pages(
    tx: &mut PgConnection,
    user_id: Uuid,
    me: &[Uuid],
    names: &Names,
    now: NaiveDateTime,
    sink: &mut Sink,
) -> Result<usize, Failure> {
    let mut count = 0;
    let mut after = Uuid::nil();
    let mut attended: std::collections::VecDeque<snapshot::Attended> = Default::default();
    let mut attended_after: Option<AttendedCursor> = None;
    let mut attended_done = false;
    loop {
        let batch = snapshot::people(tx, user_id, after).await?;
        let Some(last) = batch.last() else {
            return Ok(count);
        };
        after = last.id;
        for person in batch {
            let Person {
                id,
                name,
                email,
                is_me,
                organization_id,
                organization,
            } = person;
            let page = names.person(id, name.as_deref(), &email);
            let organization = organization_id
                .zip(organization.as_deref())
                .map(|(org, org_name)| names.organization(org, org_name));
            let head = vault::PersonPage {
                docket_id: id,
                name: display_name(name.as_deref(), &email),
                email: &email,
                organization: organization.as_deref(),
                is_me,
            }
            .head();
            sink.start(format!("People/{page}.md"), now).await?;
            sink.write(&head).await?;
            let mut links = 0;
            loop {
                if attended.is_empty() && !attended_done {
                    let more = snapshot::attended(tx, user_id, me, attended_after).await?;
                    match more.last() {
                        Some(l) => {
                            attended_after =
                                Some(AttendedCursor(l.person_id, l.starts_at, l.meeting_id))
                        }
                        None => attended_done = true,
                    }
                    attended.extend(more);
                }
                // Both walks are in person id order, and every attendee is a person.
                match attended.front() {
                    Some(a) if a.person_id == id => {
                        let target = names.meeting(
                            a.meeting_id,
                            &a.title,
                            a.starts_at,
                            a.all_day,
                            a.start_date,
                        );
                        sink.write(&vault::list_link(&target)).await?;
                        links += 1;
                        attended.pop_front();
                    }
                    _ => break,
                }
            }
            if links == 0 && !is_me {
                sink.write("No meetings with notes yet.\n").await?;
            }
            count += 1;
        }
    }
}

/// `Organizations/Name.md`: its domain and its people, linked.
async fn organization_pages(
    tx: &mut PgConnection,
    user_id: Uuid,
    names: &Names,
    now: NaiveDateTime,
    sink: &mut Sink,
) -> Result<usize, Failure> {
    let mut count = 0;
    let mut after = Uuid::nil();
    loop {
        let batch = snapshot::organizations(tx, user_id, after).await?;
        let Some(last) = batch.last() else {
            return Ok(count);
        };
        after = last.id;
        let ids: Vec<Uuid> = batch.iter().map(|o| o.id).collect();
        let mut members: std::collections::VecDeque<snapshot::Member> = Default::default();
        let mut members_after = None;
        let mut members_done = false;
        for organization in &batch {
            let page = names.organization(organization.id, &organization.name);
            sink.start(format!("Organizations/{page}.md"), now).await?;
            sink.write(&vault::organization_head(
                organization.id,
                &organization.name,
                &organization.domain,
            ))
            .await?;
            loop {
                if members.is_empty() && !members_done {
                    let more = snapshot::members(tx, user_id, &ids, members_after).await?;
                    match more.last() {
                        Some(m) => members_after = Some((m.organization_id, m.id)),
                        None => members_done = true,
                    }
                    members.extend(more);
                }
                // The batch is in id order, and so are the members by organization.
                match members.front() {
                    Some(m) if m.organization_id == organization.id => {
                        let person = names.person(m.id, m.name.as_deref(), &m.email);
                        sink.write(&vault::list_link(&person)).await?;
                        members.pop_front();
                    }
                    _ => break,
                }
            }
            count += 1;
        }
    }
}

/// The notes in vault order (meetings by start, then standalone notes by creation), a batch
/// at a time, each with the link target of its file.
struct NoteTargets {
    meetings: Option<Option<MeetingCursor>>,
    notes: Option<Option<NoteCursor>>,
}

impl NoteTargets {
    fn new() -> NoteTargets {
        NoteTargets {
            meetings: Some(None),
            notes: Some(None),
        }
    }

    /// The next batch: (note id, link target of its file), or `None` at the end.
    async fn next(
        &mut self,
        tx: &mut PgConnection,
        user_id: Uuid,
        names: &Names,
    ) -> sqlx::Result<Option<Vec<(Uuid, String)>>> {
        if let Some(after) = self.meetings {
            let batch = snapshot::meeting_refs(tx, user_id, after).await?;
            if let Some(last) = batch.last() {
                self.meetings = Some(Some(MeetingCursor(last.starts_at, last.id)));
                return Ok(Some(
                    batch
                        .iter()
                        .map(|m| {
                            let target =
                                names.meeting(m.id, &m.title, m.starts_at, m.all_day, m.start_date);
                            (m.note_id, target)
                        })
                        .collect(),
                ));
            }
            self.meetings = None;
        }
        if let Some(after) = self.notes {
            let batch = snapshot::note_refs(tx, user_id, after).await?;
            if let Some(last) = batch.last() {
                self.notes = Some(Some(NoteCursor(last.created_at, last.id)));
                return Ok(Some(
                    batch
                        .iter()
                        .map(|n| (n.id, names.note(n.id, &n.title, n.created_at)))
                        .collect(),
                ));
            }
            self.notes = None;
        }
        Ok(None)
    }
}

/// The items of one batch of notes (of `kind`, or all), grouped by note.
async fn items_by_note(
    tx: &mut PgConnection,
    user_id: Uuid,
    batch: &[(Uuid, String)],
    kind: Option<ItemKind>,
) -> sqlx::Result<HashMap<Uuid, Vec<Item>>> {
    let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
    let mut grouped: HashMap<Uuid, Vec<Item>> = HashMap::new();
    for item in snapshot::items(tx, user_id, &ids).await? {
        if kind.is_none_or(|k| k == item.kind) {
            grouped.entry(item.note_id).or_default().push(item);
        }
    }
    Ok(grouped)
}

/// `Action items.md` (Obsidian Tasks), `Decisions.md` or `Questions.md`: every live item of
/// the kind, grouped under a link to its meeting or note.
async fn item_page(
    tx: &mut PgConnection,
    user_id: Uuid,
    kind: ItemKind,
    names: &Names,
    now: NaiveDateTime,
    sink: &mut Sink,
) -> Result<(), Failure> {
    let (file, title, none) = match kind {
        ItemKind::Action => ("Action items.md", "Action items", "No action items."),
        ItemKind::Decision => ("Decisions.md", "Decisions", "No decisions."),
        ItemKind::Question => ("Questions.md", "Questions", "No questions."),
    };
    sink.start(file.to_owned(), now).await?;
    sink.write(&vault::page_title(title)).await?;
    let mut any = false;
    let mut batches = NoteTargets::new();
    while let Some(batch) = batches.next(tx, user_id, names).await? {
        let mut grouped = items_by_note(tx, user_id, &batch, Some(kind)).await?;
        for (note_id, target) in &batch {
            let Some(items) = grouped.remove(note_id) else {
                continue;
            };
            any = true;
            sink.write(&vault::group_heading(target)).await?;
            for item in items {
                let line = match kind {
                    ItemKind::Action => {
                        let assignee = item.assignee_id.map(|id| {
                            names.person(
                                id,
                                item.assignee_name.as_deref(),
                                item.assignee_email.as_deref().unwrap_or_default(),
                            )
                        });
                        vault::Task {
                            text: &item.text,
                            done: item.done,
                            due: item.due,
                            // Items ticked before Docket recorded when: their last change.
                            done_on: item.done.then(|| {
                                let at = item.done_at.unwrap_or(item.updated_at);
                                at.with_timezone(&names.tz).date_naive()
                            }),
                            assignee: assignee.as_deref(),
                            source: target,
                        }
                        .line()
                    }
                    ItemKind::Decision => vault::decision_line(&item.text),
                    ItemKind::Question => {
                        vault::question_line(&item.text, item.done, item.answer.as_deref())
                    }
                };
                sink.write(&line).await?;
            }
        }
    }
    if !any {
        sink.write(&format!("\n{none}\n")).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// docket.json

#[derive(Serialize)]
struct UserRecord<'a> {
    email: &'a str,
    name: &'a str,
    time_zone: &'a str,
}

#[derive(Serialize)]
struct MeetingRecord<'a> {
    id: Uuid,
    title: &'a str,
    date: NaiveDate,
    start: &'a str,
    end: &'a str,
    all_day: bool,
    status: &'a str,
    calendar: &'a str,
    series: &'a str,
    location: &'a str,
    description: &'a str,
    join_url: &'a str,
    provider_event_id: &'a str,
    ical_uid: &'a str,
    attendees: Vec<AttendeeRecord<'a>>,
    note_id: Uuid,
    path: String,
}

#[derive(Serialize)]
struct AttendeeRecord<'a> {
    email: &'a str,
    name: &'a str,
    response: &'a str,
    organizer: bool,
    is_me: bool,
}

#[derive(Serialize)]
struct NoteRecord<'a> {
    id: Uuid,
    meeting_id: Option<Uuid>,
    title: &'a str,
    body: &'a str,
    created_at: String,
    updated_at: String,
    path: String,
}

#[derive(Serialize)]
struct ItemRecord<'a> {
    id: Uuid,
    note_id: Uuid,
    meeting_id: Option<Uuid>,
    kind: ItemKind,
    text: &'a str,
    done: bool,
    due: Option<NaiveDate>,
    assignee_email: Option<&'a str>,
    due_set_by_user: bool,
    assignee_set_by_user: bool,
    answer: Option<&'a str>,
}

#[derive(Serialize)]
struct PersonRecord<'a> {
    id: Uuid,
    name: Option<&'a str>,
    email: &'a str,
    organization_id: Option<Uuid>,
    is_me: bool,
    path: String,
}

#[derive(Serialize)]
struct OrganizationRecord<'a> {
    id: Uuid,
    name: &'a str,
    domain: &'a str,
    path: String,
}

/// Writes one array element: a comma before every element but the first.
async fn json_element(
    sink: &mut Sink,
    first: &mut bool,
    record: &impl Serialize,
) -> Result<(), Failure> {
    let json = serde_json::to_string(record).expect("records serialize");
    sink.write(if *first { "\n" } else { ",\n" }).await?;
    sink.write(&json).await?;
    *first = false;
    Ok(())
}

/// `docket.json`: the same data, machine-readable, one record at a time.
async fn docket_json(
    tx: &mut PgConnection,
    user_id: Uuid,
    owner: &Owner,
    exported_at: DateTime<Utc>,
    names: &Names,
    now: NaiveDateTime,
    sink: &mut Sink,
) -> Result<(), Failure> {
    let tz = names.tz;
    sink.start("docket.json".to_owned(), now).await?;
    let user = serde_json::to_string(&UserRecord {
        email: &owner.email,
        name: &owner.name,
        time_zone: &owner.time_zone,
    })
    .expect("records serialize");
    sink.write(&format!(
        "{{\"format_version\": {FORMAT_VERSION},\n\"exported_at\": \"{}\",\n\"user\": {user},\n\"meetings\": [",
        vault::rfc3339(exported_at, tz)
    ))
    .await?;

    let mut first = true;
    let mut batches = MeetingBatches::new();
    while let Some(batch) = batches.next(tx, user_id).await? {
        for m in &batch {
            let ((date, start), end) = meeting_times(m, tz);
            let record = MeetingRecord {
                id: m.id,
                title: &m.title,
                date,
                start: &start,
                end: &end,
                all_day: m.all_day,
                status: m.status.as_str(),
                calendar: &m.calendar,
                series: m.series.as_deref().unwrap_or_default(),
                location: &m.location,
                description: &m.description,
                join_url: m.join_url.as_deref().unwrap_or_default(),
                provider_event_id: &m.provider_event_id,
                ical_uid: m.ical_uid.as_deref().unwrap_or_default(),
                attendees: m
                    .attendees
                    .iter()
                    .map(|a| AttendeeRecord {
                        email: &a.email,
                        name: a.name.as_deref().unwrap_or_default(),
                        response: &a.response,
                        organizer: a.organizer,
                        is_me: a.is_me,
                    })
                    .collect(),
                note_id: m.note_id,
                path: format!(
                    "{}.md",
                    names.meeting(m.id, &m.title, m.starts_at, m.all_day, m.start_date)
                ),
            };
            json_element(sink, &mut first, &record).await?;
        }
    }

    sink.write("],\n\"notes\": [").await?;
    let mut first = true;
    let mut batches = MeetingBatches::new();
    while let Some(batch) = batches.next(tx, user_id).await? {
        for m in &batch {
            let record = NoteRecord {
                id: m.note_id,
                meeting_id: Some(m.id),
                title: &m.note_title,
                body: &m.body,
                created_at: vault::rfc3339(m.created_at, tz),
                updated_at: vault::rfc3339(m.updated_at, tz),
                path: format!(
                    "{}.md",
                    names.meeting(m.id, &m.title, m.starts_at, m.all_day, m.start_date)
                ),
            };
            json_element(sink, &mut first, &record).await?;
        }
    }
    let mut batches = NoteBatches::new();
    while let Some(batch) = batches.next(tx, user_id).await? {
        for n in &batch {
            let record = NoteRecord {
                id: n.id,
                meeting_id: None,
                title: &n.title,
                body: &n.body,
                created_at: vault::rfc3339(n.created_at, tz),
                updated_at: vault::rfc3339(n.updated_at, tz),
                path: format!("{}.md", names.note(n.id, &n.title, n.created_at)),
            };
            json_element(sink, &mut first, &record).await?;
        }
    }

    sink.write("],\n\"items\": [").await?;
    let mut first = true;
    let mut batches = NoteTargets::new();
    while let Some(batch) = batches.next(tx, user_id, names).await? {
        let mut grouped = items_by_note(tx, user_id, &batch, None).await?;
        for (note_id, _) in &batch {
            for item in grouped.remove(note_id).unwrap_or_default() {
                let record = ItemRecord {
                    id: item.id,
                    note_id: item.note_id,
                    meeting_id: item.meeting_id,
                    kind: item.kind,
                    text: &item.text,
                    done: item.done,
                    due: item.due,
                    assignee_email: item.assignee_email.as_deref(),
                    due_set_by_user: item.due_set_by_user,
                    assignee_set_by_user: item.assignee_set_by_user,
                    answer: item.answer.as_deref(),
                };
                json_element(sink, &mut first, &record).await?;
            }
        }
    }

    sink.write("],\n\"people\": [").await?;
    let mut first = true;
    let mut after = Uuid::nil();
    loop {
        let batch = snapshot::people(tx, user_id, after).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        for p in &batch {
            let record = PersonRecord {
                id: p.id,
                name: p.name.as_deref(),
                email: &p.email,
                organization_id: p.organization_id,
                is_me: p.is_me,
                path: format!(
                    "People/{}.md",
                    names.person(p.id, p.name.as_deref(), &p.email)
                ),
            };
            json_element(sink, &mut first, &record).await?;
        }
    }

    sink.write("],\n\"organizations\": [").await?;
    let mut first = true;
    let mut after = Uuid::nil();
    loop {
        let batch = snapshot::organizations(tx, user_id, after).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        for o in &batch {
            let record = OrganizationRecord {
                id: o.id,
                name: &o.name,
                domain: &o.domain,
                path: format!("Organizations/{}.md", names.organization(o.id, &o.name)),
            };
            json_element(sink, &mut first, &record).await?;
        }
    }
    sink.write("]}\n").await?;
    Ok(())
}
