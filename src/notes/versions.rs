//! A note's version history: every save is a version (written by the save itself, see
//! `notes::record_version`), listed newest first, each viewable beside the current text and
//! restorable as a new version. Restoring never rewrites history, so a restore is undone by
//! restoring the version before it; clearing a note is undone by restoring the version before
//! the clear, and its items come back with their identity.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::types::Json;
use uuid::Uuid;

use super::{
    Edit, Saved, Target,
    drafts::{DraftKey, when_label},
    merge::{self, Diff, Side},
};
use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, notice, params},
    markdown,
    meetings::base_version,
    time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notes/{id}/versions", get(list))
        .route("/notes/{id}/versions/{version}", get(show))
        .route("/notes/{id}/versions/{version}/restore", post(restore))
}

/// Versions listed per page.
const PAGE_SIZE: i64 = 50;

/// How much of a version's text the list reads, for its first line.
const PREVIEW_CHARS: i32 = 300;

/// A version as the history lists it.
#[derive(Debug, Deserialize)]
pub struct VersionRow {
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub chars: i64,
    pub start: String,
}

/// A listed version, labelled for the page.
pub struct VersionLine {
    pub version: i32,
    pub when: String,
    pub size: String,
    /// Its first line with text, or "(empty)".
    pub first_line: String,
    pub empty: bool,
}

/// The note a history is of: its name, where it is edited, and its current version.
struct NoteHeader {
    meeting_id: Option<Uuid>,
    name: String,
    version: i32,
}

impl NoteHeader {
    fn page(&self, note_id: Uuid) -> String {
        self.key(note_id).page()
    }

    /// The editor's key: a meeting's note is edited (and drafted) under its meeting.
    fn key(&self, note_id: Uuid) -> DraftKey {
        match self.meeting_id {
            Some(id) => DraftKey::Meeting(id),
            None => DraftKey::Note(note_id),
        }
    }
}

struct ListData {
    meeting_id: Option<Uuid>,
    name: String,
    version: i32,
    versions: Json<Vec<VersionRow>>,
}

#[derive(Template)]
#[template(path = "versions.html")]
struct ListPage {
    layout: Layout,
    name: String,
    note_id: Uuid,
    current: i32,
    versions: Vec<VersionLine>,
    back: String,
    /// The next (older) page's start, and whether this is a later page.
    older: Option<i32>,
    paged: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    before: Option<String>,
}

fn first_line(start: &str) -> Option<String> {
    let line = start.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut short: String = line.chars().take(120).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    Some(short)
}

async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let before = match q.before.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<i32>().ok().filter(|v| *v > 0).ok_or_else(|| {
            AppError::BadRequest(
                "The page link is damaged (before=…); go back to the newest versions.".into(),
            )
        })?),
    };
    let data = sqlx::query_as!(
        ListData,
        r#"select n.meeting_id,
                  coalesce(nullif(m.title, ''), nullif(n.title, ''), 'Untitled note') as "name!",
                  n.version,
                  coalesce((select json_agg(v) from (
                      select v.version, v.created_at, length(v.body)::bigint as chars,
                             left(v.body, $5) as start
                      from note_versions v
                      where v.user_id = $1 and v.note_id = n.id
                        and ($3::int is null or v.version < $3)
                      order by v.version desc limit $4) v), '[]') as "versions!: Json<Vec<VersionRow>>"
           from notes n left join meetings m on m.id = n.meeting_id and m.user_id = n.user_id
           where n.user_id = $1 and n.id = $2"#,
        user.id,
        id,
        before,
        PAGE_SIZE + 1,
        PREVIEW_CHARS,
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    let tz = time::zone(&user.time_zone);
    let mut rows = data.versions.0;
    let older = params::next_cursor(&mut rows, PAGE_SIZE, |v| v.version.to_string())
        .and_then(|v| v.parse().ok());
    let versions = rows
        .into_iter()
        .map(|v| {
            let first = first_line(&v.start);
            VersionLine {
                version: v.version,
                when: when_label(v.created_at, tz),
                size: match v.chars {
                    0 => "empty".into(),
                    1 => "1 character".into(),
                    n => format!("{n} characters"),
                },
                empty: first.is_none(),
                first_line: first.unwrap_or_else(|| "(empty)".into()),
            }
        })
        .collect();
    let header = NoteHeader {
        meeting_id: data.meeting_id,
        name: data.name,
        version: data.version,
    };
    let view = ListPage {
        layout: Layout::for_user(
            &user,
            &format!("History: {}", header.name),
            section(&header),
        ),
        back: header.page(id),
        name: header.name,
        note_id: id,
        current: header.version,
        versions,
        older,
        paged: before.is_some(),
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

fn section(header: &NoteHeader) -> &'static str {
    if header.meeting_id.is_some() {
        "meetings"
    } else {
        "notes"
    }
}

/// A version number from the address: anything else is no such version.
fn version_number(raw: &str) -> AppResult<i32> {
    raw.parse::<i32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or(AppError::NotFound)
}

struct VersionData {
    meeting_id: Option<Uuid>,
    name: String,
    current: i32,
    current_body: String,
    title: String,
    body: String,
    created_at: DateTime<Utc>,
}

/// The user's note `id` with its version `version`, or not found.
async fn version(
    state: &AppState,
    user: &SignedIn,
    id: Uuid,
    version: i32,
) -> AppResult<VersionData> {
    sqlx::query_as!(
        VersionData,
        r#"select n.meeting_id,
                  coalesce(nullif(m.title, ''), nullif(n.title, ''), 'Untitled note') as "name!",
                  n.version as current, n.body as current_body, v.title, v.body, v.created_at
           from notes n
           join note_versions v on v.user_id = n.user_id and v.note_id = n.id and v.version = $3
           left join meetings m on m.id = n.meeting_id and m.user_id = n.user_id
           where n.user_id = $1 and n.id = $2"#,
        user.id,
        id,
        version,
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "version.html")]
struct VersionPage {
    layout: Layout,
    name: String,
    note_id: Uuid,
    version: i32,
    current: i32,
    when: String,
    body: String,
    rendered: String,
    diff: Diff,
    back: String,
}

async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, number)): Path<(String, String)>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let number = version_number(&number)?;
    let data = version(&state, &user, id, number).await?;
    let tz = time::zone(&user.time_zone);
    let header = NoteHeader {
        meeting_id: data.meeting_id,
        name: data.name,
        version: data.current,
    };
    let view = VersionPage {
        layout: Layout::for_user(
            &user,
            &format!("Version {number}: {}", header.name),
            section(&header),
        ),
        diff: merge::diff(
            &data.body,
            &data.current_body,
            &format!("version {number}"),
            "the current version",
        ),
        back: header.page(id),
        name: header.name,
        note_id: id,
        version: number,
        current: data.current,
        when: when_label(data.created_at, tz),
        rendered: markdown::render(&data.body),
        body: data.body,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[derive(Deserialize)]
struct RestoreForm {
    /// The note's version when the page was shown: a save since then is a conflict.
    base_version: String,
}

/// Saves the version's text as the note's newest version; its removed items come back. When
/// the note was saved since the page was shown, the restored text goes to the merge view.
async fn restore(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, number)): Path<(String, String)>,
    Form(form): Form<RestoreForm>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let number = version_number(&number)?;
    let base = base_version(&form.base_version)?;
    let data = version(&state, &user, id, number).await?;
    let header = NoteHeader {
        meeting_id: data.meeting_id,
        name: data.name,
        version: data.current,
    };
    let key = header.key(id);
    let edit = Edit {
        target: Target::Note(id),
        title: &data.title,
        body: &data.body,
        base_version: base,
    };
    let saved = super::restore(&state.db, user.id, &user.time_zone, edit).await?;
    match saved {
        Saved::Saved(_) => {
            Ok(Redirect::to(&notice::restored(&header.page(id), number)).into_response())
        }
        other => merge::after_save(&state, &user, key, other, &data.title, &data.body, base).await,
    }
}
