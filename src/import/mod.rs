//! Import of a zipped Markdown vault (Settings → Import): a vault exported from Docket, or any
//! folder of Markdown notes. Each note goes to its meeting (see [`matching`]), else becomes a
//! standalone note; its lines are parsed by the note grammar, as when typed. Importing the same
//! archive again changes nothing, and no note that has other text is ever overwritten.
//!
//! The pieces, in the order an upload meets them: [`pages`] streams the upload to a temporary
//! file; [`stage`] checks the archive ([`archive`], pure) and records its files, described by
//! [`note_file`] and [`front_matter`] (pure), as a queued import in one transaction, so a
//! refused archive writes nothing; [`run`] then writes the files as notes in the background,
//! under a lease any instance can take over; the result page lists what each file became.

pub mod archive;
pub mod front_matter;
pub mod manifest;
pub mod matching;
pub mod note_file;
pub mod pages;
pub mod run;
pub mod stage;

use std::io::Write as _;

use sqlx::PgPool;
use uuid::Uuid;

pub use pages::{UPLOAD_PATH, router};
pub use stage::StageError;

/// Imports a zip archive's bytes for a user and waits until every file is written (the upload
/// writes in the background instead). For tests and tools: a round trip is
/// `import_zip(db, user, &export_bytes)`, then read the notes back. Returns the import's id;
/// its outcomes are in `import_files`.
pub async fn import_zip(db: &PgPool, user_id: Uuid, bytes: &[u8]) -> Result<Uuid, StageError> {
    let time_zone: String =
        sqlx::query_scalar!("select time_zone from users where id = $1", user_id)
            .fetch_one(db)
            .await?;
    let reading = |e: std::io::Error| StageError::Reading(e.to_string());
    let mut file = tempfile::tempfile().map_err(reading)?;
    file.write_all(bytes).map_err(reading)?;
    let import_id = stage::stage(db, user_id, &time_zone, "archive.zip", file).await?;
    run::run(db, import_id).await?;
    Ok(import_id)
}
