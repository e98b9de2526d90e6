//! Notes: Markdown text per meeting (or standing alone), whose lines become action items,
//! decisions and questions (see [`grammar`]).
//!
//! Saving never loses work: every save names the version it was based on, and a save based on
//! an older version (two tabs, two instances) is refused as a conflict so the user can merge.

pub mod drafts;
pub mod grammar;
pub mod merge;
pub mod pages;
pub mod versions;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::kinds::ItemKind;
use grammar::{Context, Kind, Person, Previous};

#[derive(Debug, Clone)]
pub struct Note {
    pub id: Uuid,
    pub user_id: Uuid,
    pub meeting_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

pub async fn get(db: &PgPool, user_id: Uuid, id: Uuid) -> sqlx::Result<Option<Note>> {
    sqlx::query_as!(
        Note,
        "select id, user_id, meeting_id, title, body, version, updated_at
         from notes where user_id = $1 and id = $2",
        user_id,
        id,
    )
    .fetch_optional(db)
    .await
}

pub async fn for_meeting(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    meeting_id: Uuid,
) -> sqlx::Result<Option<Note>> {
    sqlx::query_as!(
        Note,
        "select id, user_id, meeting_id, title, body, version, updated_at
         from notes where user_id = $1 and meeting_id = $2",
        user_id,
        meeting_id,
    )
    .fetch_optional(db)
    .await
}

/// The user's note `id` with their unsaved draft of it, if any (a standalone note's page).
pub async fn with_draft(
    db: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<(Note, Option<drafts::Draft>)>> {
    let row = sqlx::query!(
        r#"select n.id, n.user_id, n.meeting_id, n.title, n.body, n.version, n.updated_at,
                  d.title as "draft_title?", d.body as "draft_body?",
                  d.base_version as "draft_base_version?", d.saved_at as "draft_saved_at?"
           from notes n
           left join drafts d on d.user_id = n.user_id and d.note_id = n.id
           where n.user_id = $1 and n.id = $2"#,
        user_id,
        id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let draft = drafts::Draft::joined(
            r.draft_title,
            r.draft_body,
            r.draft_base_version,
            r.draft_saved_at,
        );
        let note = Note {
            id: r.id,
            user_id: r.user_id,
            meeting_id: r.meeting_id,
            title: r.title,
            body: r.body,
            version: r.version,
            updated_at: r.updated_at,
        };
        (note, draft)
    }))
}

/// A meeting's note as an editor loads it: empty at version 0 before its first save.
#[derive(Debug, Clone)]
pub struct MeetingNote {
    pub body: String,
    pub version: i32,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The note of the user's meeting `meeting_id`, or `None` when the meeting is not theirs.
pub async fn of_meeting(
    db: &PgPool,
    user_id: Uuid,
    meeting_id: Uuid,
) -> sqlx::Result<Option<MeetingNote>> {
    sqlx::query_as!(
        MeetingNote,
        r#"select coalesce(n.body, '') as "body!", coalesce(n.version, 0) as "version!",
                  n.updated_at as "updated_at?"
           from meetings m
           left join notes n on n.user_id = m.user_id and n.meeting_id = coalesce(m.same_as, m.id)
           where m.user_id = $1 and m.id = $2"#,
        user_id,
        meeting_id,
    )
    .fetch_optional(db)
    .await
}

/// The note an import made from the file with this key (see [`Origin`]).
pub async fn by_import_key(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    import_key: &str,
) -> sqlx::Result<Option<Note>> {
    sqlx::query_as!(
        Note,
        "select id, user_id, meeting_id, title, body, version, updated_at
         from notes where user_id = $1 and import_key = $2",
        user_id,
        import_key,
    )
    .fetch_optional(db)
    .await
}

/// Whether two texts of a note are the same but for their line endings: a browser submits a
/// form's text with `\r\n`, a script sends a text area's value with `\n`.
pub fn same_text(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n") == b.replace("\r\n", "\n")
}

/// Which note a save is for.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Meeting(Uuid),
    Note(Uuid),
    New,
}

#[derive(Debug)]
pub enum Saved {
    Saved(Note),
    /// Someone saved since `base_version`: nothing was written.
    Conflict {
        current: Note,
    },
    NotFound,
}

// Here rather than in `grammar`, which builds on its own (the fuzzer) and knows no database.
impl From<Kind> for ItemKind {
    fn from(kind: Kind) -> ItemKind {
        match kind {
            Kind::ActionItem => ItemKind::Action,
            Kind::Decision => ItemKind::Decision,
            Kind::Question => ItemKind::Question,
        }
    }
}

impl From<ItemKind> for Kind {
    fn from(kind: ItemKind) -> Kind {
        match kind {
            ItemKind::Action => Kind::ActionItem,
            ItemKind::Decision => Kind::Decision,
            ItemKind::Question => Kind::Question,
        }
    }
}

/// Saves a note if `base_version` is still current (0 for a note that does not exist yet), and
/// re-derives its items, in one transaction.
pub async fn save(
    db: &PgPool,
    user_id: Uuid,
    time_zone: &str,
    target: Target,
    title: &str,
    body: &str,
    base_version: i32,
) -> sqlx::Result<Saved> {
    let mut tx = db.begin().await?;
    let edit = Edit {
        target,
        title,
        body,
        base_version,
    };
    let saved = save_in(&mut tx, user_id, time_zone, edit, &Origin::default()).await?;
    match saved {
        Saved::Saved(_) => tx.commit().await?,
        Saved::Conflict { .. } | Saved::NotFound => tx.rollback().await?,
    }
    Ok(saved)
}

/// Saves an old version's text as the note's newest version: [`save`], except that lines whose
/// items were removed since bring those items back (their id, hand-set due date and assignee),
/// so clearing a note and restoring it leaves things as they were.
pub async fn restore(
    db: &PgPool,
    user_id: Uuid,
    time_zone: &str,
    edit: Edit<'_>,
) -> sqlx::Result<Saved> {
    let mut tx = db.begin().await?;
    let saved = write(
        &mut tx,
        user_id,
        time_zone,
        edit,
        &Origin::default(),
        Revive::Removed,
    )
    .await?;
    match saved {
        Saved::Saved(_) => tx.commit().await?,
        Saved::Conflict { .. } | Saved::NotFound => tx.rollback().await?,
    }
    Ok(saved)
}

/// One save of a note: what it is for, its text, and the version it was based on.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    pub target: Target,
    pub title: &'a str,
    pub body: &'a str,
    pub base_version: i32,
}

/// Where a new note comes from when it was not typed here: an import records the file it came
/// from (so importing it again finds this note) and the note's own dates.
#[derive(Debug, Default)]
pub struct Origin<'a> {
    pub import_key: Option<&'a str>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// [`save`] inside the caller's transaction, which commits (or not) with whatever else it
/// writes. `origin` applies only when the save creates the note.
pub async fn save_in(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    time_zone: &str,
    edit: Edit<'_>,
    origin: &Origin<'_>,
) -> sqlx::Result<Saved> {
    write(tx, user_id, time_zone, edit, origin, Revive::No).await
}

/// Whether a save may bring back items whose lines were deleted earlier (see [`derive_items`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revive {
    No,
    /// Restoring an old version: its lines are the removed items' own lines coming back.
    Removed,
}

/// How many versions of a note its history keeps (the newest); older ones are deleted as new
/// ones are written, so a note's history stays bounded however often it is saved.
pub const KEPT_VERSIONS: i32 = 200;

async fn write(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    time_zone: &str,
    edit: Edit<'_>,
    origin: &Origin<'_>,
    revive: Revive,
) -> sqlx::Result<Saved> {
    let Edit {
        mut target,
        title,
        body,
        base_version,
    } = edit;
    let existing: Option<Note> = match target {
        Target::Meeting(asked) => {
            // The meeting must be the user's own; a copy of an invitation on another calendar
            // has its note on the canonical meeting.
            let canonical = sqlx::query_scalar!(
                r#"select coalesce(same_as, id) as "id!" from meetings where id = $1 and user_id = $2"#,
                asked,
                user_id,
            )
            .fetch_optional(&mut **tx)
            .await?;
            let Some(meeting_id) = canonical else {
                return Ok(Saved::NotFound);
            };
            target = Target::Meeting(meeting_id);
            sqlx::query_as!(
                Note,
                "select id, user_id, meeting_id, title, body, version, updated_at
                 from notes where user_id = $1 and meeting_id = $2 for update",
                user_id,
                meeting_id,
            )
            .fetch_optional(&mut **tx)
            .await?
        }
        Target::Note(id) => {
            let note = sqlx::query_as!(
                Note,
                "select id, user_id, meeting_id, title, body, version, updated_at
                 from notes where user_id = $1 and id = $2 for update",
                user_id,
                id,
            )
            .fetch_optional(&mut **tx)
            .await?;
            if note.is_none() {
                return Ok(Saved::NotFound);
            }
            note
        }
        Target::New => None,
    };
    let current_version = existing.as_ref().map_or(0, |n| n.version);
    if current_version != base_version {
        return Ok(match existing {
            Some(current) => Saved::Conflict { current },
            None => Saved::NotFound,
        });
    }
    let note: Note = match (existing, target) {
        (Some(note), _) => {
            sqlx::query_as!(
                Note,
                "update notes set body = $3, title = $4, version = version + 1, updated_at = now()
                 where id = $1 and user_id = $2
                 returning id, user_id, meeting_id, title, body, version, updated_at",
                note.id,
                user_id,
                body,
                title,
            )
            .fetch_one(&mut **tx)
            .await?
        }
        (None, target) => {
            let meeting_id = match target {
                Target::Meeting(id) => Some(id),
                _ => None,
            };
            // Two first saves racing on one meeting (or two imports of one file): the unique
            // index makes the loser conflict.
            let inserted = sqlx::query_as!(
                Note,
                "insert into notes (id, user_id, meeting_id, title, body, import_key, created_at,
                                    updated_at)
                 values ($1, $2, $3, $4, $5, $6, coalesce($7, now()), coalesce($8, $7, now()))
                 on conflict do nothing
                 returning id, user_id, meeting_id, title, body, version, updated_at",
                Uuid::new_v4(),
                user_id,
                meeting_id,
                title,
                body,
                origin.import_key,
                origin.created_at,
                origin.updated_at,
            )
            .fetch_optional(&mut **tx)
            .await?;
            match inserted {
                Some(note) => note,
                None => {
                    // The winner has committed (the insert waited for it), so a new statement
                    // sees its note.
                    let mut current = match meeting_id {
                        Some(meeting_id) => for_meeting(&mut **tx, user_id, meeting_id).await?,
                        None => None,
                    };
                    if let (None, Some(key)) = (&current, origin.import_key) {
                        current = by_import_key(&mut **tx, user_id, key).await?;
                    }
                    return Ok(match current {
                        Some(current) => Saved::Conflict { current },
                        None => Saved::NotFound,
                    });
                }
            }
        }
    };
    record_version(tx, &note).await?;
    derive_items(tx, &note, time_zone, revive).await?;
    Ok(Saved::Saved(note))
}

/// Adds the saved note to its history, and forgets the versions beyond [`KEPT_VERSIONS`], in
/// one statement.
async fn record_version(tx: &mut Transaction<'_, Postgres>, note: &Note) -> sqlx::Result<()> {
    sqlx::query!(
        "with forgotten as (
             delete from note_versions
             where user_id = $1 and note_id = $2 and version <= $3 - $6::int)
         insert into note_versions (user_id, note_id, version, title, body, created_at)
         values ($1, $2, $3, $4, $5, $7)
         on conflict (user_id, note_id, version) do update
            set title = excluded.title, body = excluded.body, created_at = excluded.created_at",
        note.user_id,
        note.id,
        note.version,
        note.title,
        note.body,
        KEPT_VERSIONS,
        note.updated_at,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A people row as the grammar's [`Person`] is made from.
struct PersonRow {
    id: Uuid,
    name: Option<String>,
    email: String,
}

fn people(rows: Vec<PersonRow>) -> Vec<Person> {
    rows.into_iter()
        .map(|p| Person {
            id: p.id,
            name: p.name.unwrap_or_default(),
            email: p.email,
        })
        .collect()
}

struct Existing {
    id: Uuid,
    kind: ItemKind,
    line: i32,
    fingerprint: String,
    text: String,
    done: bool,
    answer: Option<String>,
    assignee_id: Option<Uuid>,
    mention: Option<String>,
    due: Option<NaiveDate>,
    hints: Vec<String>,
    meeting_id: Option<Uuid>,
    assignee_set_by_user: bool,
    due_set_by_user: bool,
    removed: bool,
}

impl Existing {
    /// Whether saving `item` over this stored item would change nothing.
    fn unchanged(&self, item: &grammar::Item, meeting_id: Option<Uuid>) -> bool {
        !self.removed
            && self.text == item.text
            && self.done == item.done
            && self.answer == item.answer
            && (self.assignee_set_by_user || self.assignee_id == item.assignee)
            && self.mention == item.mention
            && (self.due_set_by_user || self.due == item.due)
            && self.hints == item.hints
            && i64::from(self.line) == i64::try_from(item.line).unwrap_or(i64::MAX)
            && self.fingerprint == item.fingerprint
            && self.meeting_id == meeting_id
    }
}

/// At most this many removed items of a note are looked at when a restore revives items.
const MAX_REVIVED: i64 = 5_000;

/// Stored items as [`grammar::match_items`] takes them.
fn previous(stored: &[Existing]) -> Vec<Previous<'_>> {
    stored
        .iter()
        .map(|e| Previous {
            kind: e.kind.into(),
            line: e.line as usize,
            fingerprint: &e.fingerprint,
        })
        .collect()
}

/// Parsed items as one array per column, for the set-based write in [`derive_items`].
#[derive(Default)]
struct ItemColumns {
    ids: Vec<Uuid>,
    kinds: Vec<ItemKind>,
    texts: Vec<String>,
    done: Vec<bool>,
    answers: Vec<Option<String>>,
    assignees: Vec<Option<Uuid>>,
    mentions: Vec<Option<String>>,
    dues: Vec<Option<NaiveDate>>,
    /// Each item's hints as a JSON array: PostgreSQL arrays of arrays must be rectangular.
    hints: Vec<serde_json::Value>,
    lines: Vec<i32>,
    fingerprints: Vec<String>,
}

impl ItemColumns {
    fn push(&mut self, id: Uuid, item: &grammar::Item) {
        self.ids.push(id);
        self.kinds.push(item.kind.into());
        self.texts.push(item.text.clone());
        self.done.push(item.done);
        self.answers.push(item.answer.clone());
        self.assignees.push(item.assignee);
        self.mentions.push(item.mention.clone());
        self.dues.push(item.due);
        self.hints.push(serde_json::Value::from(item.hints.clone()));
        self.lines
            .push(i32::try_from(item.line).unwrap_or(i32::MAX));
        self.fingerprints.push(item.fingerprint.clone());
    }
}

/// Re-parses the note and brings its items up to date in place: matched items keep their id
/// (and so their history), new lines become new items, deleted lines mark items removed. With
/// [`Revive::Removed`], lines that match no live item are matched against the note's removed
/// items too, which come back with their id, hand-set due date and assignee.
async fn derive_items(
    tx: &mut Transaction<'_, Postgres>,
    note: &Note,
    time_zone: &str,
    revive: Revive,
) -> sqlx::Result<()> {
    let tz = crate::time::zone(time_zone);
    let (meeting_date, attendees): (NaiveDate, Vec<Person>) = match note.meeting_id {
        Some(meeting_id) => {
            let meeting = sqlx::query!(
                "select starts_at, all_day, start_date from meetings where id = $1 and user_id = $2",
                meeting_id,
                note.user_id,
            )
            .fetch_one(&mut **tx)
            .await?;
            let date = match (meeting.all_day, meeting.start_date) {
                (true, Some(d)) => d,
                _ => crate::time::local_date(meeting.starts_at, tz),
            };
            let rows = sqlx::query_as!(
                PersonRow,
                "select p.id, p.name, p.email from attendees a join people p on p.id = a.person_id
                 where a.meeting_id = $1 and a.user_id = $2",
                meeting_id,
                note.user_id,
            )
            .fetch_all(&mut **tx)
            .await?;
            (date, people(rows))
        }
        None => (crate::time::local_date(Utc::now(), tz), Vec::new()),
    };
    let known = people(
        // The user is a person too: `@me-by-name` assigns an item to yourself.
        sqlx::query_as!(
            PersonRow,
            "select id, name, email from people where user_id = $1",
            note.user_id,
        )
        .fetch_all(&mut **tx)
        .await?,
    );
    let parsed = grammar::parse(
        &note.body,
        &Context {
            meeting_date,
            attendees: &attendees,
            known_people: &known,
        },
    );
    let mut existing = sqlx::query_as!(
        Existing,
        r#"select id, kind as "kind: ItemKind", line, fingerprint, text, done, answer, assignee_id,
                mention, due, hints, meeting_id, assignee_set_by_user, due_set_by_user, removed
         from items where note_id = $1 and user_id = $2 and not removed order by line"#,
        note.id,
        note.user_id,
    )
    .fetch_all(&mut **tx)
    .await?;
    let live = existing.len();
    let mut matches = grammar::match_items(&previous(&existing), &parsed);
    if revive == Revive::Removed && matches.contains(&None) {
        let unmatched: Vec<usize> = (0..parsed.len())
            .filter(|&i| matches[i].is_none())
            .collect();
        // The most recently removed first: a note cleared a moment ago is restored from these.
        let removed = sqlx::query_as!(
            Existing,
            r#"select id, kind as "kind: ItemKind", line, fingerprint, text, done, answer,
                    assignee_id, mention, due, hints, meeting_id, assignee_set_by_user,
                    due_set_by_user, removed
             from items where note_id = $1 and user_id = $2 and removed
             order by updated_at desc limit $3"#,
            note.id,
            note.user_id,
            MAX_REVIVED,
        )
        .fetch_all(&mut **tx)
        .await?;
        let candidates: Vec<grammar::Item> = unmatched.iter().map(|&i| parsed[i].clone()).collect();
        let revived = grammar::match_items(&previous(&removed), &candidates);
        for (&i, found) in unmatched.iter().zip(revived) {
            matches[i] = found.map(|j| live + j);
        }
        existing.extend(removed);
    }
    let mut kept = vec![false; existing.len()];
    // Every item, matched (its stored id) or new (a new id), goes into one statement with the
    // columns bound as arrays, whatever the note's length. The primary key decides between
    // insert and update, so the plan does not depend on the table's statistics.
    let mut columns = ItemColumns::default();
    for (item, matched) in parsed.iter().zip(matches) {
        let id = match matched {
            Some(index) => {
                kept[index] = true;
                // Unchanged items are not sent: re-saving a note rewrites only what changed.
                if existing[index].unchanged(item, note.meeting_id) {
                    continue;
                }
                existing[index].id
            }
            None => Uuid::new_v4(),
        };
        columns.push(id, item);
    }
    if !columns.ids.is_empty() {
        // Arrays of nullable values and of typed kinds need their type spelt out for the macro.
        sqlx::query!(
            "insert into items (id, user_id, note_id, meeting_id, kind, text, done, done_at, answer,
                assignee_id, mention, due, hints, line, fingerprint)
             select u.id, $1, $2, $3, u.kind, u.text, u.done, case when u.done then now() end,
                u.answer, u.assignee_id, u.mention, u.due,
                array(select jsonb_array_elements_text(u.hints)), u.line, u.fingerprint
             from unnest($4::uuid[], $5::text[], $6::text[], $7::bool[], $8::text[], $9::uuid[],
                         $10::text[], $11::date[], $12::jsonb[], $13::int[], $14::text[])
                  as u(id, kind, text, done, answer, assignee_id, mention, due, hints, line, fingerprint)
             on conflict (id) do update set
                text = excluded.text, done = excluded.done,
                done_at = case when excluded.done and not items.done then now()
                               when not excluded.done then null else items.done_at end,
                answer = excluded.answer,
                assignee_id = case when items.assignee_set_by_user then items.assignee_id
                                   else excluded.assignee_id end,
                mention = excluded.mention,
                due = case when items.due_set_by_user then items.due else excluded.due end,
                hints = excluded.hints, line = excluded.line, fingerprint = excluded.fingerprint,
                meeting_id = excluded.meeting_id, removed = false, updated_at = now()
             where items.user_id = excluded.user_id
               and (items.removed or items.text <> excluded.text or items.done <> excluded.done
                    or items.answer is distinct from excluded.answer
                    or (not items.assignee_set_by_user
                        and items.assignee_id is distinct from excluded.assignee_id)
                    or items.mention is distinct from excluded.mention
                    or (not items.due_set_by_user and items.due is distinct from excluded.due)
                    or items.hints <> excluded.hints or items.line <> excluded.line
                    or items.fingerprint <> excluded.fingerprint
                    or items.meeting_id is distinct from excluded.meeting_id)",
            note.user_id,
            note.id,
            note.meeting_id,
            columns.ids.as_slice(),
            &columns.kinds as &[ItemKind],
            columns.texts.as_slice(),
            columns.done.as_slice(),
            &columns.answers as &[Option<String>],
            &columns.assignees as &[Option<Uuid>],
            &columns.mentions as &[Option<String>],
            &columns.dues as &[Option<NaiveDate>],
            columns.hints.as_slice(),
            columns.lines.as_slice(),
            columns.fingerprints.as_slice(),
        )
        .execute(&mut **tx)
        .await?;
    }
    let removed: Vec<Uuid> = existing[..live]
        .iter()
        .zip(kept)
        .filter(|(_, kept)| !kept)
        .map(|(e, _)| e.id)
        .collect();
    if !removed.is_empty() {
        sqlx::query!(
            "update items set removed = true, updated_at = now() where user_id = $1 and id = any($2)",
            note.user_id,
            removed.as_slice(),
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Ticks an item done (or not) by rewriting its line in the note, so the text stays the
/// source of truth, then saves the note as a new version.
pub async fn set_item_done(
    db: &PgPool,
    user_id: Uuid,
    time_zone: &str,
    item_id: Uuid,
    done: bool,
) -> sqlx::Result<bool> {
    // Retry on a concurrent edit: the tick is re-applied to the newest text and line.
    for _ in 0..3 {
        let item = sqlx::query!(
            "select note_id, line from items
             where id = $1 and user_id = $2 and not removed and kind in ('action', 'question')",
            item_id,
            user_id,
        )
        .fetch_optional(db)
        .await?;
        let Some(item) = item else {
            return Ok(false);
        };
        let Some(note) = get(db, user_id, item.note_id).await? else {
            return Ok(false);
        };
        let Some(body) = grammar::set_done(&note.body, item.line as usize, done) else {
            return Ok(false);
        };
        match save(
            db,
            user_id,
            time_zone,
            Target::Note(note.id),
            &note.title,
            &body,
            note.version,
        )
        .await?
        {
            Saved::Saved(_) => return Ok(true),
            Saved::Conflict { .. } => continue,
            Saved::NotFound => return Ok(false),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_kinds_map_one_to_one_onto_the_grammar() {
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::from(Kind::from(*kind)), *kind);
        }
    }
}
