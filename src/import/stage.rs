//! Recording an uploaded archive as an import: the archive is read and checked on a blocking
//! thread while its files are inserted, in batches, inside one transaction that commits only
//! when the whole archive passed. A refused archive therefore writes nothing, and memory holds
//! a few notes at a time, never the whole unpacked archive.

use std::{io::BufReader, ops::ControlFlow};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction, types::Json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    archive::{self, Entry, Limits, Refusal},
    note_file::NoteFile,
};
use crate::kinds::{DateSource, ImportFileKind, ImportOutcome};

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("An import is already running for you: wait until it is done, then import again.")]
    Busy,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("reading the uploaded archive: {0}")]
    Reading(String),
}

/// A file of the archive as it is recorded.
enum Staged {
    Note(NoteFile),
    Skipped { path: String, reason: String },
}

/// Flush a batch at this many files or bytes of text, whichever comes first.
const BATCH_FILES: usize = 500;
const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Checks `archive` and records it as a queued import of `user_id`, whose files are then
/// written by [`super::run`]. `time_zone` dates files that say nothing of their day.
pub async fn stage(
    db: &PgPool,
    user_id: Uuid,
    time_zone: &str,
    file_name: &str,
    archive: std::fs::File,
) -> Result<Uuid, StageError> {
    let today = crate::time::local_date(Utc::now(), crate::time::zone(time_zone));
    let mut tx = db.begin().await?;
    let import_id = Uuid::new_v4();
    let created = sqlx::query!(
        "insert into imports (id, user_id, file_name, from_docket, files)
         values ($1, $2, $3, false, 0)
         on conflict do nothing",
        import_id,
        user_id,
        file_name,
    )
    .execute(&mut *tx)
    .await?;
    if created.rows_affected() == 0 {
        return Err(StageError::Busy);
    }

    // A small channel: the reader waits for the inserts rather than unpack ahead of them.
    let (sender, mut receiver) = mpsc::channel(8);
    let reading = tokio::task::spawn_blocking(move || {
        archive::read(BufReader::new(archive), &Limits::DEFAULT, |entry| {
            let staged = match entry {
                Entry::Note {
                    path,
                    text,
                    modified,
                } => Staged::Note(NoteFile::describe(&path, &text, modified, today)),
                Entry::Skipped { path, reason } => Staged::Skipped { path, reason },
            };
            match sender.blocking_send(staged) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        })
    });
    let mut batch = Batch::default();
    let mut files: i32 = 0;
    let mut from_docket = false;
    while let Some(staged) = receiver.recv().await {
        if let Staged::Note(note) = &staged {
            from_docket |= note.kind != ImportFileKind::Markdown;
        }
        batch.push(files, staged);
        files += 1;
        if batch.full() {
            batch.insert(&mut tx, import_id, user_id).await?;
        }
    }
    batch.insert(&mut tx, import_id, user_id).await?;
    let contents = reading
        .await
        .map_err(|e| StageError::Reading(e.to_string()))??;
    let set_by_hand = contents
        .manifest
        .as_ref()
        .map(|m| m.set_by_hand())
        .unwrap_or_default();
    sqlx::query!(
        "update imports set from_docket = $2, restore = $3, files = $4 where id = $1",
        import_id,
        from_docket || contents.manifest.is_some(),
        Json(&set_by_hand) as _,
        files,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(%import_id, files, from_docket, "import recorded");
    Ok(import_id)
}

/// Files waiting to be inserted, one array per column (one statement per batch).
#[derive(Default)]
struct Batch {
    positions: Vec<i32>,
    paths: Vec<String>,
    kinds: Vec<ImportFileKind>,
    titles: Vec<String>,
    bodies: Vec<Option<String>>,
    docket_ids: Vec<Option<Uuid>>,
    note_keys: Vec<Option<String>>,
    provider_event_ids: Vec<Option<String>>,
    ical_uids: Vec<Option<String>>,
    dates: Vec<Option<NaiveDate>>,
    date_sources: Vec<Option<DateSource>>,
    created: Vec<Option<DateTime<Utc>>>,
    updated: Vec<Option<DateTime<Utc>>>,
    outcomes: Vec<Option<ImportOutcome>>,
    reasons: Vec<Option<String>>,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, position: i32, staged: Staged) {
        self.positions.push(position);
        match staged {
            Staged::Note(note) => {
                self.bytes += note.body.len();
                self.paths.push(note.path);
                self.kinds.push(note.kind);
                self.titles.push(note.title);
                self.bodies.push(Some(note.body));
                self.docket_ids.push(note.docket_id);
                self.note_keys.push(Some(note.note_key));
                self.provider_event_ids.push(note.provider_event_id);
                self.ical_uids.push(note.ical_uid);
                self.dates.push(Some(note.date));
                self.date_sources.push(Some(note.date_source));
                self.created.push(note.created_at);
                self.updated.push(note.updated_at);
                self.outcomes.push(None);
                self.reasons.push(None);
            }
            // Files the import does not take are done when recorded.
            Staged::Skipped { path, reason } => {
                self.paths.push(path);
                self.kinds.push(ImportFileKind::Other);
                self.titles.push(String::new());
                self.bodies.push(None);
                self.docket_ids.push(None);
                self.note_keys.push(None);
                self.provider_event_ids.push(None);
                self.ical_uids.push(None);
                self.dates.push(None);
                self.date_sources.push(None);
                self.created.push(None);
                self.updated.push(None);
                self.outcomes.push(Some(ImportOutcome::Skipped));
                self.reasons.push(Some(reason));
            }
        }
    }

    fn full(&self) -> bool {
        self.positions.len() >= BATCH_FILES || self.bytes >= BATCH_BYTES
    }

    async fn insert(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        import_id: Uuid,
        user_id: Uuid,
    ) -> sqlx::Result<()> {
        if self.positions.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(self);
        sqlx::query!(
            "insert into import_files (import_id, user_id, position, path, kind, title, body,
                docket_id, note_key, provider_event_id, ical_uid, note_date, date_source,
                created_at, updated_at, outcome, reason)
             select $1, $2, u.* from unnest($3::int[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::date[],
                $13::text[], $14::timestamptz[], $15::timestamptz[], $16::text[], $17::text[]) as u",
            import_id,
            user_id,
            batch.positions.as_slice(),
            batch.paths.as_slice(),
            &batch.kinds as &[ImportFileKind],
            batch.titles.as_slice(),
            &batch.bodies as &[Option<String>],
            &batch.docket_ids as &[Option<Uuid>],
            &batch.note_keys as &[Option<String>],
            &batch.provider_event_ids as &[Option<String>],
            &batch.ical_uids as &[Option<String>],
            &batch.dates as &[Option<NaiveDate>],
            &batch.date_sources as &[Option<DateSource>],
            &batch.created as &[Option<DateTime<Utc>>],
            &batch.updated as &[Option<DateTime<Utc>>],
            &batch.outcomes as &[Option<ImportOutcome>],
            &batch.reasons as &[Option<String>],
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
