//! The import's pages: the upload (Settings → Import) and the result of each import.

use askama::Template;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, Query, State, multipart::MultipartError},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use uuid::Uuid;

use super::{StageError, run, stage};
use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, params},
    kinds::{DateSource, ImportOutcome, ImportStatus, MatchedBy},
    settings::{self, Problem},
    time,
};

/// Where the upload form posts: the one route whose body may exceed the global limit
/// (`DOCKET_IMPORT_MAX_BYTES`, applied by `http::stack`).
pub const UPLOAD_PATH: &str = "/settings/import";

/// The form field holding the archive.
const FILE_FIELD: &str = "archive";

/// Files listed per page of a result.
const PAGE_SIZE: i64 = 200;

pub fn router(max_bytes: usize) -> Router<AppState> {
    // axum's own limit on extracted bodies (2 MB) would cut the upload short.
    let limit = DefaultBodyLimit::max(max_bytes);
    // The path spelt out, as every route is (the security sweep reads them from the source);
    // a test below holds it equal to `UPLOAD_PATH`.
    Router::new()
        .route("/settings/import", post(upload).layer(limit))
        .route("/settings/imports/{id}", get(show))
}

/// Takes the archive, checks and records it, and starts writing its notes; the browser goes on
/// to the result page, which follows the writing.
async fn upload(
    State(state): State<AppState>,
    user: SignedIn,
    mut form: Multipart,
) -> AppResult<Response> {
    let limit = state.config.import_max_bytes;
    let mut upload = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| upload_error(&e, limit))?
    {
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        // Shown as it came, but PostgreSQL text holds no NUL.
        let name = field
            .file_name()
            .map(|n| n.replace('\0', ""))
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "archive.zip".to_owned());
        let (file, size) = spool(&mut field, limit).await?;
        upload = Some((name, file, size));
    }
    let Some((name, file, size)) = upload.filter(|(_, _, size)| *size > 0) else {
        return refuse(
            &state,
            &user,
            StatusCode::BAD_REQUEST,
            "Choose a .zip file to import.".into(),
        )
        .await;
    };
    match stage::stage(&state.db, user.id, &user.time_zone, &name, file).await {
        Ok(import_id) => {
            tracing::info!(%import_id, size, "import uploaded");
            run::spawn(state.db.clone(), import_id);
            Ok(Redirect::to(&format!("/settings/imports/{import_id}")).into_response())
        }
        Err(StageError::Refused(refusal)) => {
            tracing::info!(%refusal, "import refused");
            refuse(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{refusal} Nothing was imported."),
            )
            .await
        }
        Err(busy @ StageError::Busy) => {
            refuse(&state, &user, StatusCode::CONFLICT, busy.to_string()).await
        }
        Err(StageError::Database(e)) => Err(e.into()),
        Err(e @ StageError::Reading(_)) => Err(AppError::Internal(e.into())),
    }
}

/// The settings page again, with why the import did not start.
async fn refuse(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    message: String,
) -> AppResult<Response> {
    let page = settings::render(state, user, Some(Problem::Import(message))).await?;
    Ok((status, page).into_response())
}

/// Writes the uploaded file to an anonymous temporary file (gone when closed, even if the
/// process dies), never holding it in memory.
async fn spool(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: usize,
) -> AppResult<(std::fs::File, u64)> {
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
    let mut out = tokio::fs::File::from_std(file);
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(|e| upload_error(&e, limit))? {
        size += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(anyhow::Error::from)?;
    }
    out.flush().await.map_err(anyhow::Error::from)?;
    Ok((out.into_std().await, size))
}

fn upload_error(error: &MultipartError, limit: usize) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(format!(
            "The archive is larger than {}, the most Docket accepts. Nothing was imported.",
            size_label(limit as u64)
        ))
    } else {
        AppError::BadRequest(format!(
            "The upload was interrupted or is not a form Docket can read ({}).",
            error.body_text()
        ))
    }
}

/// "64 MiB", "1.5 MiB", "800 KiB".
pub fn size_label(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        let tenths = bytes * 10 / MIB;
        if tenths.is_multiple_of(10) {
            format!("{} MiB", tenths / 10)
        } else {
            format!("{}.{} MiB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// An import as its page and the settings page show it.
pub struct ImportSummary {
    pub id: Uuid,
    pub file_name: String,
    pub status: ImportStatus,
    pub files: i32,
    pub created_at: DateTime<Utc>,
}

impl ImportSummary {
    pub fn done(&self) -> bool {
        self.status == ImportStatus::Done
    }

    pub fn when(&self, time_zone: &str) -> String {
        day_and_time(self.created_at, time_zone)
    }
}

/// "Mon 30 Nov at 09:30" in the user's time zone.
fn day_and_time(at: DateTime<Utc>, time_zone: &str) -> String {
    let tz = time::zone(time_zone);
    format!(
        "{} at {}",
        time::day(time::local_date(at, tz)),
        time::clock(at, tz)
    )
}

/// The user's latest imports, newest first (the settings page lists them).
pub async fn recent(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<ImportSummary>> {
    sqlx::query_as!(
        ImportSummary,
        r#"select id, file_name, status as "status: ImportStatus", files, created_at
           from imports where user_id = $1 order by created_at desc limit 5"#,
        user_id,
    )
    .fetch_all(db)
    .await
}

/// One import with how many files came to what.
struct Counted {
    id: Uuid,
    file_name: String,
    status: ImportStatus,
    files: i32,
    created_at: DateTime<Utc>,
    /// No run holds the import (its lease expired, or none started).
    stalled: bool,
    matched: i64,
    standalone: i64,
    unchanged: i64,
    skipped: i64,
    waiting: i64,
}

/// One file of an import, as its result page lists it.
struct FileRow {
    position: i32,
    path: String,
    title: String,
    outcome: Option<ImportOutcome>,
    matched_by: Option<MatchedBy>,
    reason: Option<String>,
    note_id: Option<Uuid>,
    meeting_id: Option<Uuid>,
    meeting_title: Option<String>,
    note_date: Option<NaiveDate>,
    date_source: Option<DateSource>,
}

impl FileRow {
    /// The outcome as the page's filter names it.
    fn outcome_value(&self) -> &'static str {
        self.outcome.map_or("waiting", ImportOutcome::as_str)
    }

    fn label(&self) -> &'static str {
        match self.outcome {
            Some(ImportOutcome::Matched) => "Matched",
            Some(ImportOutcome::Standalone) => "Standalone",
            Some(ImportOutcome::Unchanged) => "Unchanged",
            Some(ImportOutcome::Skipped) => "Skipped",
            None => "Waiting",
        }
    }

    fn details(&self) -> String {
        let meeting = self
            .meeting_title
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or("Untitled meeting");
        let how = match self.matched_by {
            Some(MatchedBy::DocketId) => "found by its Docket id",
            Some(MatchedBy::ProviderEventId) => "found by its calendar event id",
            Some(MatchedBy::IcalUid) => "found by its iCalendar UID",
            Some(MatchedBy::DateTitle) => "found by its day and title",
            None => "",
        };
        match self.outcome {
            Some(ImportOutcome::Matched) => format!("The note of “{meeting}”, {how}."),
            Some(ImportOutcome::Standalone) => {
                let title = if self.title.is_empty() {
                    "Untitled note"
                } else {
                    &self.title
                };
                let from = match self.date_source {
                    Some(DateSource::FrontMatter) => "from its front matter",
                    Some(DateSource::FileName) => "from its file name",
                    Some(DateSource::Modified) => "from the archive entry's date",
                    Some(DateSource::Today) | None => "the import's day: the file gave none",
                };
                // With its year: an archive's notes span years.
                let day = self
                    .note_date
                    .map(|d| d.format("%-d %b %Y").to_string())
                    .unwrap_or_default();
                format!("A note of its own, “{title}”, dated {day} ({from}).")
            }
            Some(ImportOutcome::Unchanged) if self.meeting_id.is_some() => {
                format!("Already the note of “{meeting}”: nothing written.")
            }
            Some(ImportOutcome::Unchanged) => "Already in Docket: nothing written.".into(),
            Some(ImportOutcome::Skipped) => {
                let reason = self.reason.clone().unwrap_or_default();
                match self.meeting_id {
                    Some(_) => format!("“{meeting}”: {reason}."),
                    None => format!("{}.", capitalized(&reason)),
                }
            }
            None => "Not written yet.".into(),
        }
    }

    /// Where the file's text is now, if anywhere.
    fn link(&self) -> Option<String> {
        match (self.meeting_id, self.note_id) {
            (Some(meeting), _) => Some(format!("/meetings/{meeting}#notes")),
            (None, Some(note)) => Some(format!("/notes/{note}")),
            (None, None) => None,
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ResultPage {
    layout: Layout,
    import: Counted,
    when: String,
    filter: &'static str,
    files: Vec<FileRow>,
    next: Option<i32>,
    paged: bool,
}

impl ResultPage {
    fn done(&self) -> bool {
        self.import.status == ImportStatus::Done
    }

    fn is_shown(&self, filter: &str) -> bool {
        self.filter == filter
    }

    fn written(&self) -> i64 {
        i64::from(self.import.files) - self.import.waiting
    }

    /// The filter tabs: (value, label, count).
    fn tabs(&self) -> Vec<(&'static str, &'static str, i64)> {
        let i = &self.import;
        let mut tabs = vec![
            ("all", "All files", i64::from(i.files)),
            ("matched", "Matched", i.matched),
            ("standalone", "Standalone", i.standalone),
            ("unchanged", "Unchanged", i.unchanged),
            ("skipped", "Skipped", i.skipped),
        ];
        if i.waiting > 0 {
            tabs.push(("waiting", "Waiting", i.waiting));
        }
        tabs
    }
}

#[derive(Deserialize)]
struct ResultQuery {
    show: Option<String>,
    after: Option<String>,
}

const FILTERS: [&str; 6] = [
    "all",
    "matched",
    "standalone",
    "unchanged",
    "skipped",
    "waiting",
];

/// An import's result: counts always, and its files page by page. Refreshes itself until every
/// file is written, and takes the writing over if the run that had it stopped.
async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<ResultQuery>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let filter = match query.show.as_deref().filter(|s| !s.is_empty()) {
        None => "all",
        Some(show) => FILTERS.into_iter().find(|f| *f == show).ok_or_else(|| {
            AppError::BadRequest(format!("show must be one of: {}.", FILTERS.join(", ")))
        })?,
    };
    let after: Option<i32> = match query.after.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(after) => Some(
            after
                .parse()
                .ok()
                .filter(|n: &i32| *n >= 0)
                .ok_or_else(|| AppError::BadRequest("The page link is damaged.".into()))?,
        ),
    };
    let import = sqlx::query_as!(
        Counted,
        r#"select i.id, i.file_name, i.status as "status: ImportStatus", i.files, i.created_at,
                  (i.lease_until is null or i.lease_until < now()) as "stalled!",
                  c.matched as "matched!", c.standalone as "standalone!",
                  c.unchanged as "unchanged!", c.skipped as "skipped!", c.waiting as "waiting!"
           from imports i,
           lateral (select count(*) filter (where f.outcome = 'matched') as matched,
                           count(*) filter (where f.outcome = 'standalone') as standalone,
                           count(*) filter (where f.outcome = 'unchanged') as unchanged,
                           count(*) filter (where f.outcome = 'skipped') as skipped,
                           count(*) filter (where f.outcome is null) as waiting
                    from import_files f where f.import_id = i.id) c
           where i.id = $1 and i.user_id = $2"#,
        id,
        user.id,
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    if import.status != ImportStatus::Done && import.stalled {
        run::spawn(state.db.clone(), import.id);
    }
    let mut files = sqlx::query_as!(
        FileRow,
        r#"select f.position, f.path, f.title, f.outcome as "outcome: ImportOutcome",
                  f.matched_by as "matched_by: MatchedBy", f.reason, f.note_id, f.meeting_id,
                  m.title as "meeting_title?", f.note_date,
                  f.date_source as "date_source: DateSource"
           from import_files f
           left join meetings m on m.id = f.meeting_id and m.user_id = f.user_id
           where f.import_id = $1 and f.user_id = $2 and f.position > $3
             and case $4 when 'all' then true
                         when 'waiting' then f.outcome is null
                         else f.outcome = $4 end
           order by f.position
           limit $5"#,
        id,
        user.id,
        after.unwrap_or(-1),
        filter,
        PAGE_SIZE + 1,
    )
    .fetch_all(&state.db)
    .await?;
    let next = (files.len() as i64 > PAGE_SIZE).then(|| {
        files.truncate(PAGE_SIZE as usize);
        files.last().expect("a full page").position
    });
    let mut layout = Layout::for_user(
        &user,
        &format!("Import of {}", import.file_name),
        "settings",
    );
    // Follow the writing without script; a finished import's page stays still.
    layout.refresh = import.status != ImportStatus::Done;
    let page = ResultPage {
        layout,
        when: day_and_time(import.created_at, &user.time_zone),
        import,
        filter,
        files,
        next,
        paged: after.is_some(),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_route_is_the_path_the_body_limit_raises() {
        let route = format!("(\"{UPLOAD_PATH}\", post(upload)");
        assert!(include_str!("pages.rs").contains(&route));
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_label(64 * 1024 * 1024), "64 MiB");
        assert_eq!(size_label(1024 * 1024 + 512 * 1024), "1.5 MiB");
        assert_eq!(size_label(800 * 1024), "800 KiB");
        assert_eq!(size_label(1), "1 KiB");
    }
}
