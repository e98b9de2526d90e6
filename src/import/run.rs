//! Writing a recorded import's files as notes, in the background, through `notes::save_in`: the
//! line grammar derives items exactly as when the note is typed.
//!
//! An import is run by whoever holds its lease (the instance that took the upload, or any
//! instance once the lease has expired), a batch of files per transaction, each file together
//! with its outcome. An interrupted import is simply run again: a file already written has its
//! outcome, and a note written just before an interruption is found again (by its meeting or
//! by its import key), never copied. Docket never overwrites a note that has other text.

use std::{collections::HashMap, time::Instant};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use sqlx::{PgPool, Postgres, Transaction, types::Json};
use tracing::Instrument as _;
use uuid::Uuid;

use super::{manifest::SetByHand, matching};
use crate::{
    kinds::{DateSource, ImportFileKind, ImportOutcome, ItemKind, MatchedBy},
    notes::{self, Edit, Origin, Saved, Target},
};

/// How long a run owns its import without renewing the lease (renewed after every batch).
const LEASE_SECS: f64 = 60.0;
/// Files read per batch.
const BATCH: i64 = 50;

/// The import being run.
struct Claimed {
    id: Uuid,
    user_id: Uuid,
    tz: Tz,
    from_docket: bool,
    /// Items set by hand, by their note's id in the export.
    set_by_hand: HashMap<Uuid, Vec<SetByHand>>,
}

/// A file waiting to be written.
pub struct PendingFile {
    pub position: i32,
    pub path: String,
    pub kind: ImportFileKind,
    pub title: String,
    pub body: Option<String>,
    pub docket_id: Option<Uuid>,
    pub note_key: Option<String>,
    pub provider_event_id: Option<String>,
    pub ical_uid: Option<String>,
    pub note_date: Option<NaiveDate>,
    pub date_source: Option<DateSource>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What writing one file did.
struct Written {
    outcome: ImportOutcome,
    matched_by: Option<MatchedBy>,
    reason: Option<String>,
    note_id: Option<Uuid>,
    meeting_id: Option<Uuid>,
}

impl Written {
    fn skipped(reason: impl Into<String>) -> Self {
        Written {
            outcome: ImportOutcome::Skipped,
            matched_by: None,
            reason: Some(reason.into()),
            note_id: None,
            meeting_id: None,
        }
    }

    fn at(mut self, note: &notes::Note) -> Self {
        self.note_id = Some(note.id);
        self.meeting_id = note.meeting_id;
        self
    }

    fn by(mut self, matched_by: Option<MatchedBy>) -> Self {
        self.matched_by = matched_by;
        self
    }

    fn of(outcome: ImportOutcome) -> Self {
        Written {
            outcome,
            matched_by: None,
            reason: None,
            note_id: None,
            meeting_id: None,
        }
    }
}

const NEVER_OVERWRITES: &str = "Docket never overwrites a note";

/// Runs the import in the background of this instance.
pub fn spawn(db: PgPool, import_id: Uuid) {
    tokio::spawn(
        async move {
            if let Err(error) = run(&db, import_id).await {
                // The lease expires and the import is taken up again (see `resume_stalled`).
                tracing::warn!(%error, "import stopped; it resumes when its lease expires");
            }
        }
        .instrument(tracing::info_span!("import", %import_id)),
    );
}

/// Runs every import whose run stopped (its instance went away, or the database did).
pub async fn resume_stalled(db: &PgPool) -> sqlx::Result<()> {
    let stalled = sqlx::query_scalar!(
        "select id from imports
         where status <> 'done' and (lease_until is null or lease_until < now())
         order by lease_until nulls first
         limit 10",
    )
    .fetch_all(db)
    .await?;
    for import_id in stalled {
        spawn(db.clone(), import_id);
    }
    Ok(())
}

/// Writes the import's remaining files, unless another run holds it. Returns whether this run
/// finished it.
pub async fn run(db: &PgPool, import_id: Uuid) -> sqlx::Result<bool> {
    let worker = format!("run-{}", Uuid::new_v4().simple());
    let Some(import) = claim(db, import_id, &worker).await? else {
        return Ok(false);
    };
    let started = Instant::now();
    let mut written = 0usize;
    loop {
        let files = pending(db, import_id).await?;
        if files.is_empty() {
            break;
        }
        write_batch(db, &import, &files).await?;
        written += files.len();
        if !renew(db, import_id, &worker).await? {
            tracing::warn!("another run took this import over");
            return Ok(false);
        }
    }
    sqlx::query!(
        "update imports set status = 'done', finished_at = now(), lease_until = null
         where id = $1 and leased_by = $2",
        import_id,
        worker,
    )
    .execute(db)
    .await?;
    // Operators (and bench/import) read how long the writing took.
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%import_id, written, elapsed_ms, "import finished");
    Ok(true)
}

async fn claim(db: &PgPool, import_id: Uuid, worker: &str) -> sqlx::Result<Option<Claimed>> {
    let claimed = sqlx::query!(
        r#"update imports i
           set status = 'running', leased_by = $2, lease_until = now() + make_interval(secs => $3),
               started_at = coalesce(i.started_at, now())
           from users u
           where i.id = $1 and u.id = i.user_id and i.status <> 'done'
             and (i.lease_until is null or i.lease_until < now())
           returning i.user_id, i.from_docket, i.restore as "restore: Json<Vec<SetByHand>>",
                     u.time_zone"#,
        import_id,
        worker,
        LEASE_SECS,
    )
    .fetch_optional(db)
    .await?;
    Ok(claimed.map(|row| {
        let mut set_by_hand: HashMap<Uuid, Vec<SetByHand>> = HashMap::new();
        for item in row.restore.0 {
            set_by_hand.entry(item.note_id).or_default().push(item);
        }
        Claimed {
            id: import_id,
            user_id: row.user_id,
            tz: crate::time::zone(&row.time_zone),
            from_docket: row.from_docket,
            set_by_hand,
        }
    }))
}

async fn renew(db: &PgPool, import_id: Uuid, worker: &str) -> sqlx::Result<bool> {
    let renewed = sqlx::query!(
        "update imports set lease_until = now() + make_interval(secs => $3)
         where id = $1 and leased_by = $2 and status = 'running'",
        import_id,
        worker,
        LEASE_SECS,
    )
    .execute(db)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

async fn pending(db: &PgPool, import_id: Uuid) -> sqlx::Result<Vec<PendingFile>> {
    sqlx::query_as!(
        PendingFile,
        r#"select position, path, kind as "kind: ImportFileKind", title, body, docket_id, note_key,
                  provider_event_id, ical_uid, note_date, date_source as "date_source: DateSource",
                  created_at, updated_at
           from import_files where import_id = $1 and outcome is null
           order by position limit $2"#,
        import_id,
        BATCH,
    )
    .fetch_all(db)
    .await
}

/// Writes a batch of files in one transaction, each file with its outcome: one commit (one disk
/// flush) per batch rather than per file. A file the database refuses rolls the batch back,
/// and the batch is written again file by file, that one recorded as skipped.
async fn write_batch(db: &PgPool, import: &Claimed, files: &[PendingFile]) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for file in files {
        match write(&mut tx, import, file).await {
            Ok(()) => {}
            Err(e) if refused(&e).is_some() => {
                tx.rollback().await?;
                for file in files {
                    write_alone(db, import, file).await?;
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await
}

async fn write_alone(db: &PgPool, import: &Claimed, file: &PendingFile) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    match write(&mut tx, import, file).await {
        Ok(()) => tx.commit().await,
        Err(e) => {
            // A file the database refuses must not stop the import again on every resume.
            let Some(reason) = refused(&e) else {
                return Err(e);
            };
            tx.rollback().await?;
            let mut tx = db.begin().await?;
            let skipped = Written::skipped(format!("could not be saved ({reason})"));
            record(&mut tx, import.id, file.position, &skipped).await?;
            tx.commit().await
        }
    }
}

/// Why the database refused a file's data (a value out of range, a broken constraint), as
/// opposed to being unavailable: the first is the file's fault, the second is worth a retry.
fn refused(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(e)
            if e.code()
                .is_some_and(|c| c.starts_with("22") || c.starts_with("23")) =>
        {
            Some(e.message().to_owned())
        }
        _ => None,
    }
}

/// Writes one file and records what became of it.
async fn write(
    tx: &mut Transaction<'_, Postgres>,
    import: &Claimed,
    file: &PendingFile,
) -> sqlx::Result<()> {
    let written = decide(tx, import, file).await?;
    record(tx, import.id, file.position, &written).await
}

async fn record(
    tx: &mut Transaction<'_, Postgres>,
    import_id: Uuid,
    position: i32,
    written: &Written,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update import_files
         set outcome = $3, matched_by = $4, reason = $5, note_id = $6, meeting_id = $7, body = null
         where import_id = $1 and position = $2",
        import_id,
        position,
        written.outcome as ImportOutcome,
        written.matched_by as Option<MatchedBy>,
        written.reason,
        written.note_id,
        written.meeting_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What to do with one file, and doing it.
async fn decide(
    tx: &mut Transaction<'_, Postgres>,
    import: &Claimed,
    file: &PendingFile,
) -> sqlx::Result<Written> {
    if import.from_docket && is_derived(&file.path) {
        return Ok(Written::skipped(
            "derived from the notes: Docket makes it again from them",
        ));
    }
    let (Some(body), Some(key)) = (&file.body, &file.note_key) else {
        return Ok(Written::skipped("nothing to import"));
    };
    // An earlier import of this file, or the very note an export was made from (importing a
    // Docket export back into the account it came from).
    let exported_id = exported_note_id(key);
    let earlier = sqlx::query_as!(
        notes::Note,
        "select id, user_id, meeting_id, title, body, version, updated_at from notes
         where user_id = $1 and (import_key = $2 or id = $3)
         limit 1",
        import.user_id,
        key,
        exported_id,
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(note) = earlier {
        if !same_text(&note.body, body) && note.body.trim().is_empty() {
            return refill(tx, import, &note, body, key).await;
        }
        return Ok(if same_text(&note.body, body) {
            Written::of(ImportOutcome::Unchanged).at(&note)
        } else {
            Written::skipped(format!(
                "Docket already has this note (imported before, or the note this export was \
                 made from) with different text; {NEVER_OVERWRITES}"
            ))
            .at(&note)
        });
    }
    if matches!(
        file.kind,
        ImportFileKind::Meeting | ImportFileKind::Markdown
    ) && let Some((meeting_id, by)) =
        matching::meeting_for(tx, import.user_id, import.tz, file).await?
    {
        return into_meeting(tx, import, body, key, meeting_id, by).await;
    }
    standalone(tx, import, file, body, key).await
}

/// The note the file was exported from, emptied since (cleared by mistake, say), takes the
/// file's text again, as any empty note is filled.
async fn refill(
    tx: &mut Transaction<'_, Postgres>,
    import: &Claimed,
    note: &notes::Note,
    body: &str,
    key: &str,
) -> sqlx::Result<Written> {
    let (target, title, outcome, by) = match note.meeting_id {
        Some(meeting_id) => (
            Target::Meeting(meeting_id),
            "",
            ImportOutcome::Matched,
            Some(MatchedBy::DocketId),
        ),
        None => (
            Target::Note(note.id),
            note.title.as_str(),
            ImportOutcome::Standalone,
            None,
        ),
    };
    let edit = Edit {
        target,
        title,
        body,
        base_version: note.version,
    };
    let origin = Origin {
        import_key: Some(key),
        ..Origin::default()
    };
    let saved = notes::save_in(tx, import.user_id, &import.tz.to_string(), edit, &origin).await?;
    written(tx, import, key, body, saved, outcome, by).await
}

/// The note goes to its meeting, unless the meeting has other text already.
async fn into_meeting(
    tx: &mut Transaction<'_, Postgres>,
    import: &Claimed,
    body: &str,
    key: &str,
    meeting_id: Uuid,
    by: MatchedBy,
) -> sqlx::Result<Written> {
    let current = notes::for_meeting(&mut **tx, import.user_id, meeting_id).await?;
    let base_version = match &current {
        Some(note) if same_text(&note.body, body) => {
            return Ok(Written::of(ImportOutcome::Unchanged).at(note).by(Some(by)));
        }
        // An empty note (opened, never written in) is filled.
        Some(note) if note.body.trim().is_empty() => note.version,
        Some(note) => {
            return Ok(Written::skipped(format!(
                "the meeting already has a different note; {NEVER_OVERWRITES}"
            ))
            .at(note)
            .by(Some(by)));
        }
        None => 0,
    };
    let edit = Edit {
        target: Target::Meeting(meeting_id),
        title: "",
        body,
        base_version,
    };
    let origin = Origin {
        import_key: Some(key),
        ..Origin::default()
    };
    let saved = notes::save_in(tx, import.user_id, &import.tz.to_string(), edit, &origin).await?;
    written(
        tx,
        import,
        key,
        body,
        saved,
        ImportOutcome::Matched,
        Some(by),
    )
    .await
}

/// The note stands alone, dated from the file.
async fn standalone(
    tx: &mut Transaction<'_, Postgres>,
    import: &Claimed,
    file: &PendingFile,
    body: &str,
    key: &str,
) -> sqlx::Result<Written> {
    let created_at = file
        .created_at
        .or_else(|| file.note_date.map(|date| start_of(date, import.tz)));
    let edit = Edit {
        target: Target::New,
        title: &file.title,
        body,
        base_version: 0,
    };
    let origin = Origin {
        import_key: Some(key),
        created_at,
        updated_at: file.updated_at.or(created_at),
    };
    let saved = notes::save_in(tx, import.user_id, &import.tz.to_string(), edit, &origin).await?;
    written(
        tx,
        import,
        key,
        body,
        saved,
        ImportOutcome::Standalone,
        None,
    )
    .await
}

/// The outcome of a save, with the items set by hand restored on a note just written.
async fn written(
    tx: &mut Transaction<'_, Postgres>,
    import: &Claimed,
    key: &str,
    body: &str,
    saved: Saved,
    outcome: ImportOutcome,
    by: Option<MatchedBy>,
) -> sqlx::Result<Written> {
    Ok(match saved {
        Saved::Saved(note) => {
            if let Some(items) = exported_note_id(key).and_then(|id| import.set_by_hand.get(&id)) {
                restore(tx, import.user_id, note.id, items).await?;
            }
            Written::of(outcome).at(&note).by(by)
        }
        // Written meanwhile by someone else (the user typing, a concurrent run).
        Saved::Conflict { current } if same_text(&current.body, body) => {
            Written::of(ImportOutcome::Unchanged).at(&current).by(by)
        }
        Saved::Conflict { current } => Written::skipped(format!(
            "the note changed while it was imported; {NEVER_OVERWRITES}"
        ))
        .at(&current)
        .by(by),
        Saved::NotFound => Written::skipped("its meeting is gone"),
    })
}

/// Sets again the due dates and assignees the user had set by hand on these items, found
/// among the note's items by kind and text (in order, when several read the same).
async fn restore(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    note_id: Uuid,
    items: &[SetByHand],
) -> sqlx::Result<()> {
    let mut live = sqlx::query!(
        r#"select id, kind as "kind: ItemKind", text from items
           where note_id = $1 and user_id = $2 and not removed order by line"#,
        note_id,
        user_id,
    )
    .fetch_all(&mut **tx)
    .await?;
    for item in items {
        let Some(found) = live
            .iter()
            .position(|i| i.kind == item.kind && i.text == item.text)
        else {
            continue;
        };
        let item_id = live.remove(found).id;
        if let Some(due) = item.due {
            sqlx::query!(
                "update items set due = $3, due_set_by_user = true, updated_at = now()
                 where id = $1 and user_id = $2",
                item_id,
                user_id,
                due,
            )
            .execute(&mut **tx)
            .await?;
        }
        if let Some(email) = &item.assignee_email {
            // Someone who is not (yet) among the user's people cannot be assigned.
            let person = match email {
                Some(email) => {
                    let found = sqlx::query_scalar!(
                        "select id from people where user_id = $1 and lower(email) = lower($2)",
                        user_id,
                        email,
                    )
                    .fetch_optional(&mut **tx)
                    .await?;
                    let Some(found) = found else { continue };
                    Some(found)
                }
                None => None,
            };
            sqlx::query!(
                "update items set assignee_id = $3, assignee_set_by_user = true, updated_at = now()
                 where id = $1 and user_id = $2",
                item_id,
                user_id,
                person,
            )
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// The note id of a Docket export's note, from its import key.
fn exported_note_id(key: &str) -> Option<Uuid> {
    key.strip_prefix("note:")?.parse().ok()
}

/// The pages of a Docket export that it derives from the notes (people, organizations, the
/// item lists): importing them would make notes of what Docket makes again by itself.
fn is_derived(path: &str) -> bool {
    let mut parts = path.split('/');
    let first = parts.next().unwrap_or_default();
    let nested = parts.next().is_some();
    if nested {
        first.eq_ignore_ascii_case("People") || first.eq_ignore_ascii_case("Organizations")
    } else {
        ["Action items.md", "Decisions.md", "Questions.md"]
            .iter()
            .any(|page| first.eq_ignore_ascii_case(page))
    }
}

/// Two texts are the same note when they differ only in line endings (a browser sends CRLF,
/// an editor may write LF) or trailing whitespace.
fn same_text(a: &str, b: &str) -> bool {
    fn normal(text: &str) -> std::borrow::Cow<'_, str> {
        if text.contains('\r') {
            text.replace("\r\n", "\n").into()
        } else {
            text.into()
        }
    }
    normal(a).trim_end() == normal(b).trim_end()
}

/// Midnight of `date` in `tz` (or the first instant of that day, across a DST gap).
fn start_of(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_pages_are_those_of_an_export() {
        for path in [
            "People/Ada Lovelace.md",
            "organizations/Acme.md",
            "Action items.md",
            "decisions.md",
            "Questions.md",
        ] {
            assert!(is_derived(path), "{path}");
        }
        for path in [
            "Meetings/2026-11-30 0930 People sync.md",
            "Notes/Decisions.md",
            "People.md",
            "Work/People/x.md",
        ] {
            assert!(!is_derived(path), "{path}");
        }
    }

    #[test]
    fn texts_are_the_same_across_line_endings_and_trailing_space() {
        assert!(same_text("a\r\nb\r\n", "a\nb"));
        assert!(same_text("a\n\n", "a"));
        assert!(!same_text("a\nb", "a\n b"));
        assert!(!same_text("", "x"));
    }

    #[test]
    fn a_day_starts_at_local_midnight_even_across_a_gap() {
        let london: Tz = "Europe/London".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(
            start_of(day, london).to_rfc3339(),
            "2026-06-30T23:00:00+00:00"
        );
        // Santiago skipped midnight on 2026-09-06 (clocks went from 00:00 to 01:00).
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            crate::time::local_date(start_of(gap, santiago), santiago),
            gap
        );
    }

    #[test]
    fn only_note_keys_carry_an_exported_id() {
        let id = Uuid::new_v4();
        assert_eq!(exported_note_id(&format!("note:{id}")), Some(id));
        assert_eq!(exported_note_id("file:Notes/x.md"), None);
        assert_eq!(exported_note_id("note:nope"), None);
    }
}
