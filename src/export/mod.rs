//! Export everything: Settings → "Export everything" downloads a zip of a Markdown vault that
//! opens as-is in Obsidian (README, "Export"; the format is shared with the import).
//!
//! The download is streamed while it is made, and memory stays flat whatever the history:
//! the snapshot is read in bounded batches (`snapshot`), each section of the vault is written
//! as it is read (`sections`, with the text from `vault`), and a blocking thread compresses
//! into a zip whose central directory waits on disk (`archive`). Two bounded channels carry
//! the work: files as text to the zip thread, compressed pieces to the response body. A
//! client that stops reading stalls all three (for a minute at most); one that goes away ends
//! them.

mod archive;
mod sections;
mod snapshot;
mod vault;

use std::{
    io::{self, Write},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Extension, Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::Utc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::Stream;
use tracing::Instrument as _;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppResult, error_page},
    time,
};
use archive::ZipWriter;
use sections::{Command, Failure, Sink};

pub use sections::FORMAT_VERSION;

/// Exports one instance prepares at once: each holds a database connection and a snapshot
/// for as long as its download lasts.
pub const MAX_CONCURRENT: usize = 2;

/// How long a refused export is told to wait.
const RETRY_AFTER_SECS: u64 = 30;

/// Compressed bytes handed to the response body at a time, and how many such pieces may wait
/// for the client (with the text pieces waiting for the zip thread, what a slow download
/// holds in memory).
const BODY_PIECE: usize = 64 * 1024;
const BODY_PIECES_WAITING: usize = 4;
const COMMANDS_WAITING: usize = 16;

/// A client that reads nothing for this long loses its download: the export would otherwise
/// hold its permit and its connection for as long as the client keeps the socket open (and
/// PostgreSQL ends a transaction idle for a minute anyway: `idle_in_transaction_session_timeout`).
const STALL: Duration = Duration::from_secs(60);

/// The concurrent exports of this instance.
#[derive(Clone)]
struct Exports(Arc<Semaphore>);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/export", get(download))
        .layer(Extension(Exports(Arc::new(Semaphore::new(MAX_CONCURRENT)))))
}

/// `GET /settings/export`: the zip, as an attachment named after today's date. The snapshot
/// is taken before the response starts, so a database that cannot be reached gets the usual
/// error page rather than a broken download.
async fn download(
    State(state): State<AppState>,
    Extension(exports): Extension<Exports>,
    user: SignedIn,
) -> AppResult<Response> {
    let Ok(permit) = exports.0.try_acquire_owned() else {
        tracing::info!("export refused: {MAX_CONCURRENT} already running");
        return Ok(busy());
    };
    let mut tx = state.db.begin().await?;
    snapshot::begin_snapshot(&mut tx).await?;
    let owner = snapshot::owner(&mut tx, user.id).await?;
    let exported_at = Utc::now();
    let today = time::local_date(exported_at, time::zone(&owner.time_zone));

    let (commands, command_queue) = mpsc::channel(COMMANDS_WAITING);
    let (pieces, body) = mpsc::channel(BODY_PIECES_WAITING);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || write_zip(command_queue, pieces, runtime));
    let user_id = user.id;
    // The export outlives the handler: it runs in the request's span (its log lines carry the
    // request and user ids) and keeps the permit until it ends.
    tokio::spawn(
        async move {
            let _permit: OwnedSemaphorePermit = permit;
            let started = std::time::Instant::now();
            let sink = Sink::new(commands);
            let outcome = sections::write_vault(&mut tx, user_id, &owner, exported_at, sink).await;
            // Read-only: nothing to keep; ending it returns the connection at once.
            let _ = tx.rollback().await;
            match outcome {
                Ok(counts) => tracing::info!(
                    meetings = counts.meetings,
                    standalone_notes = counts.standalone_notes,
                    people = counts.people,
                    organizations = counts.organizations,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "export written"
                ),
                Err(Failure::Closed) => tracing::info!("export stopped: the download was closed"),
                Err(Failure::Database(e)) => tracing::error!(error = %e, "export failed"),
            }
        }
        .instrument(tracing::Span::current()),
    );

    let disposition = format!("attachment; filename=\"docket-export-{today}.zip\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).expect("an ASCII file name"),
            ),
        ],
        Body::from_stream(Download {
            pieces: body,
            ended: false,
        }),
    )
        .into_response())
}

/// 503 with `Retry-After`: this instance is busy exporting.
fn busy() -> Response {
    let mut response = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        Some(&format!(
            "Docket is already preparing {MAX_CONCURRENT} exports on this server. Try again in \
             a minute; nothing was lost."
        )),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

/// What the zip thread hands the response body.
enum Piece {
    Bytes(Bytes),
    /// The archive is complete.
    End,
}

/// The response body: the zip thread's pieces, then the end of the body only if the archive
/// was completed. A zip thread that stopped (an error, a stalled or vanished client) leaves an
/// error instead, so the connection is cut and the client sees a failed download, never a
/// truncated zip that looks complete.
struct Download {
    pieces: mpsc::Receiver<Piece>,
    ended: bool,
}

impl Stream for Download {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.pieces.poll_recv(cx) {
            Poll::Ready(Some(Piece::Bytes(bytes))) => Poll::Ready(Some(Ok(bytes))),
            Poll::Ready(Some(Piece::End)) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(Some(Err(io::Error::other(
                    "the export stopped before its end",
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The zip thread: files in, compressed pieces out. On any error (the client went away or
/// stopped reading for [`STALL`], the temporary file failed) or a producer that stopped without
/// [`Command::Finish`], it ends without [`Piece::End`].
fn write_zip(
    mut commands: mpsc::Receiver<Command>,
    pieces: mpsc::Sender<Piece>,
    runtime: tokio::runtime::Handle,
) {
    let body = BodyWriter {
        pieces,
        runtime,
        buffer: Vec::with_capacity(BODY_PIECE),
    };
    let outcome = (|| {
        let mut zip = ZipWriter::new(body)?;
        while let Some(command) = commands.blocking_recv() {
            match command {
                Command::Start { path, modified } => zip.start_file(&path, modified)?,
                Command::Data(data) => zip.write_all(&data)?,
                Command::Finish => {
                    let mut body = zip.finish()?;
                    body.flush()?;
                    return body.send(Piece::End);
                }
            }
        }
        Err(io::Error::other("the export stopped before its end"))
    })();
    if let Err(e) = outcome {
        tracing::debug!(error = %e, "export archive abandoned");
    }
}

/// The response body as a `Write`: pieces of [`BODY_PIECE`] into the bounded channel, waiting
/// while the client is slower than the export, but not longer than [`STALL`].
struct BodyWriter {
    pieces: mpsc::Sender<Piece>,
    runtime: tokio::runtime::Handle,
    buffer: Vec<u8>,
}

impl BodyWriter {
    fn send(&self, piece: Piece) -> io::Result<()> {
        // On the zip thread (a blocking one), so waiting on the runtime is allowed here.
        self.runtime.block_on(async {
            match tokio::time::timeout(STALL, self.pieces.send(piece)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading the download",
                )),
            }
        })
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= BODY_PIECE {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(BODY_PIECE),
        ));
        self.send(Piece::Bytes(piece))
    }
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt as _;

    use super::*;

    #[tokio::test]
    async fn a_download_ends_cleanly_only_after_the_end_of_the_archive() {
        let (pieces, receiver) = mpsc::channel(4);
        pieces
            .send(Piece::Bytes(Bytes::from_static(b"PK")))
            .await
            .unwrap();
        pieces.send(Piece::End).await.unwrap();
        let mut download = Download {
            pieces: receiver,
            ended: false,
        };
        assert_eq!(download.next().await.unwrap().unwrap(), "PK");
        assert!(download.next().await.is_none());

        let (pieces, receiver) = mpsc::channel(4);
        pieces
            .send(Piece::Bytes(Bytes::from_static(b"PK")))
            .await
            .unwrap();
        drop(pieces);
        let mut download = Download {
            pieces: receiver,
            ended: false,
        };
        assert!(download.next().await.unwrap().is_ok());
        assert!(download.next().await.unwrap().is_err(), "cut, not ended");
        assert!(download.next().await.is_none());
    }
}
