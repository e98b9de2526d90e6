//! Drafts: what the editor typed and has not saved yet, kept by the page's script a second or
//! two after typing stops and when the page is left (`static/editor.js`), one per user and note.
//!
//! A draft is never the note. Saving the note writes a version and deletes the draft; a draft
//! typed over the version the note still has is restored into the editor when the page is
//! opened again; a draft typed over an older version (the note was saved elsewhere since) is
//! reported and offered in the merge view ([`super::merge`]), never applied silently.

use axum::{
    Form, Json, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::Target;
use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, params},
    meetings::base_version,
    time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/meetings/{id}/draft", post(keep_meeting_draft))
        .route("/meetings/{id}/draft/discard", post(discard_meeting_draft))
        .route("/notes/{id}/draft", post(keep_note_draft))
        .route("/notes/{id}/draft/discard", post(discard_note_draft))
        .route("/notes/new/draft", post(keep_new_note_draft))
        .route("/notes/new/draft/discard", post(discard_new_note_draft))
}

/// Which note a draft is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftKey {
    /// A meeting's note (which may not exist yet).
    Meeting(Uuid),
    /// A standalone note.
    Note(Uuid),
    /// The standalone note being written on /notes/new.
    NewNote,
}

impl DraftKey {
    /// What a save from this editor writes.
    pub fn target(self) -> Target {
        match self {
            DraftKey::Meeting(id) => Target::Meeting(id),
            DraftKey::Note(id) => Target::Note(id),
            DraftKey::NewNote => Target::New,
        }
    }

    /// The page the note is edited on.
    pub fn page(self) -> String {
        match self {
            DraftKey::Meeting(id) => format!("/meetings/{id}#notes"),
            DraftKey::Note(id) => format!("/notes/{id}"),
            DraftKey::NewNote => "/notes/new".into(),
        }
    }

    /// Where the script keeps the draft.
    pub fn keep_url(self) -> String {
        match self {
            DraftKey::Meeting(id) => format!("/meetings/{id}/draft"),
            DraftKey::Note(id) => format!("/notes/{id}/draft"),
            DraftKey::NewNote => "/notes/new/draft".into(),
        }
    }

    pub fn discard_url(self) -> String {
        format!("{}/discard", self.keep_url())
    }

    /// The merge view of the draft and the saved note (a new note has nothing to merge with).
    pub fn merge_url(self) -> Option<String> {
        match self {
            DraftKey::Meeting(id) => Some(format!("/meetings/{id}/merge")),
            DraftKey::Note(id) => Some(format!("/notes/{id}/merge")),
            DraftKey::NewNote => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Draft {
    pub title: String,
    pub body: String,
    pub base_version: i32,
    pub saved_at: DateTime<Utc>,
}

impl Draft {
    /// A draft from the columns of a `left join drafts` (all null when there is none).
    pub fn joined(
        title: Option<String>,
        body: Option<String>,
        base_version: Option<i32>,
        saved_at: Option<DateTime<Utc>>,
    ) -> Option<Draft> {
        Some(Draft {
            title: title.unwrap_or_default(),
            body: body?,
            base_version: base_version?,
            saved_at: saved_at?,
        })
    }
}

/// The note a draft is compared with: its text and version (0 and empty when it does not exist
/// yet).
struct Current {
    title: String,
    body: String,
    version: i32,
}

/// The note of `key` as it is saved now, or `None` when the key names nothing of the user's
/// (a meeting note's draft is kept under its meeting, so a meeting's note is not a `Note` key).
async fn current(db: &PgPool, user_id: Uuid, key: DraftKey) -> sqlx::Result<Option<Current>> {
    Ok(match key {
        DraftKey::Meeting(id) => super::of_meeting(db, user_id, id).await?.map(|n| Current {
            title: String::new(),
            body: n.body,
            version: n.version,
        }),
        DraftKey::Note(id) => super::get(db, user_id, id)
            .await?
            .filter(|n| n.meeting_id.is_none())
            .map(|n| Current {
                title: n.title,
                body: n.body,
                version: n.version,
            }),
        DraftKey::NewNote => Some(Current {
            title: String::new(),
            body: String::new(),
            version: 0,
        }),
    })
}

/// What keeping a draft found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// The text is the saved note's: nothing is unsaved, and no draft is kept.
    Unchanged,
    /// Kept, typed over the note's current version.
    Kept(DateTime<Utc>),
    /// Kept, but the note was saved since the version it was typed over: saving it goes
    /// through the merge view.
    Stale(DateTime<Utc>),
    NotFound,
}

/// Keeps the user's draft of `key`, replacing the one before.
pub async fn keep(
    db: &PgPool,
    user_id: Uuid,
    key: DraftKey,
    title: &str,
    body: &str,
    base_version: i32,
) -> sqlx::Result<Kept> {
    let Some(current) = current(db, user_id, key).await? else {
        return Ok(Kept::NotFound);
    };
    if super::same_text(&current.body, body) && current.title == title {
        discard(db, user_id, key).await?;
        return Ok(Kept::Unchanged);
    }
    let saved_at = match key {
        DraftKey::Meeting(id) => {
            sqlx::query_scalar!(
                "insert into drafts (user_id, meeting_id, title, body, base_version)
                 values ($1, $2, $3, $4, $5)
                 on conflict (user_id, meeting_id) where meeting_id is not null do update
                    set title = excluded.title, body = excluded.body,
                        base_version = excluded.base_version, saved_at = now()
                 returning saved_at",
                user_id,
                id,
                title,
                body,
                base_version,
            )
            .fetch_one(db)
            .await?
        }
        DraftKey::Note(id) => {
            sqlx::query_scalar!(
                "insert into drafts (user_id, note_id, title, body, base_version)
                 values ($1, $2, $3, $4, $5)
                 on conflict (user_id, note_id) where note_id is not null do update
                    set title = excluded.title, body = excluded.body,
                        base_version = excluded.base_version, saved_at = now()
                 returning saved_at",
                user_id,
                id,
                title,
                body,
                base_version,
            )
            .fetch_one(db)
            .await?
        }
        DraftKey::NewNote => {
            sqlx::query_scalar!(
                "insert into drafts (user_id, title, body, base_version)
                 values ($1, $2, $3, $4)
                 on conflict (user_id) where meeting_id is null and note_id is null do update
                    set title = excluded.title, body = excluded.body,
                        base_version = excluded.base_version, saved_at = now()
                 returning saved_at",
                user_id,
                title,
                body,
                base_version,
            )
            .fetch_one(db)
            .await?
        }
    };
    Ok(if base_version == current.version {
        Kept::Kept(saved_at)
    } else {
        Kept::Stale(saved_at)
    })
}

/// The user's draft of `key`, if there is one.
pub async fn get(db: &PgPool, user_id: Uuid, key: DraftKey) -> sqlx::Result<Option<Draft>> {
    let (meeting_id, note_id) = ids(key);
    sqlx::query_as!(
        Draft,
        "select title, body, base_version, saved_at from drafts
         where user_id = $1
           and (($2::uuid is not null and meeting_id = $2)
                or ($3::uuid is not null and note_id = $3)
                or ($2::uuid is null and $3::uuid is null
                    and meeting_id is null and note_id is null))",
        user_id,
        meeting_id,
        note_id,
    )
    .fetch_optional(db)
    .await
}

/// Forgets the user's draft of `key` (saved, or thrown away).
pub async fn discard(db: &PgPool, user_id: Uuid, key: DraftKey) -> sqlx::Result<()> {
    let (meeting_id, note_id) = ids(key);
    sqlx::query!(
        "delete from drafts
         where user_id = $1
           and (($2::uuid is not null and meeting_id = $2)
                or ($3::uuid is not null and note_id = $3)
                or ($2::uuid is null and $3::uuid is null
                    and meeting_id is null and note_id is null))",
        user_id,
        meeting_id,
        note_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

fn ids(key: DraftKey) -> (Option<Uuid>, Option<Uuid>) {
    match key {
        DraftKey::Meeting(id) => (Some(id), None),
        DraftKey::Note(id) => (None, Some(id)),
        DraftKey::NewNote => (None, None),
    }
}

/// "14:02" today, "Wed 25 Nov, 14:02" on another day, in the user's zone.
pub fn when_label(at: DateTime<Utc>, tz: Tz) -> String {
    if time::local_date(at, tz) == time::local_date(Utc::now(), tz) {
        time::clock(at, tz)
    } else {
        format!(
            "{}, {}",
            time::day(time::local_date(at, tz)),
            time::clock(at, tz)
        )
    }
}

/// What an editor opens with: the saved note, or the draft typed over it.
#[derive(Debug, Clone)]
pub struct Editor {
    pub title: String,
    pub body: String,
    /// The version the editor's save is based on (the form's `base_version`).
    pub version: i32,
    /// "Saved 14:03", or what the draft is.
    pub state: String,
    pub draft: Option<DraftNotice>,
    pub keep_url: String,
    pub discard_url: String,
}

/// The notice above an editor that opened with a draft.
#[derive(Debug, Clone)]
pub struct DraftNotice {
    /// When it was kept: "14:02".
    pub saved: String,
    /// Typed over an older version: the editor shows the saved note and offers the merge view
    /// instead of the draft.
    pub merge_url: Option<String>,
}

impl Editor {
    /// The editor of `key` for a note saved at `updated_at` (`None`: never saved) with `draft`.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        key: DraftKey,
        title: String,
        body: String,
        version: i32,
        updated_at: Option<DateTime<Utc>>,
        draft: Option<Draft>,
        tz: Tz,
    ) -> Editor {
        let saved_state = match updated_at {
            Some(at) if version > 0 => format!("Saved {}", when_label(at, tz)),
            _ => "Not saved yet".to_owned(),
        };
        let mut editor = Editor {
            title,
            body,
            version,
            state: saved_state,
            draft: None,
            keep_url: key.keep_url(),
            discard_url: key.discard_url(),
        };
        let Some(draft) =
            draft.filter(|d| !super::same_text(&d.body, &editor.body) || d.title != editor.title)
        else {
            return editor;
        };
        let saved = when_label(draft.saved_at, tz);
        if draft.base_version == version {
            editor.state = format!("Draft from {saved} restored, not saved");
            editor.title = draft.title;
            editor.body = draft.body;
            editor.draft = Some(DraftNotice {
                saved,
                merge_url: None,
            });
        } else {
            editor.draft = Some(DraftNotice {
                saved,
                merge_url: key.merge_url(),
            });
        }
        editor
    }
}

#[derive(Deserialize)]
struct DraftForm {
    #[serde(default)]
    title: String,
    body: String,
    base_version: String,
}

/// The script's answer: what the save state now says, and where to merge a stale draft.
#[derive(Serialize)]
struct KeptAnswer {
    state: &'static str,
    label: String,
    merge: Option<String>,
}

async fn keep_draft(
    state: &AppState,
    user: &SignedIn,
    key: DraftKey,
    form: DraftForm,
) -> AppResult<Response> {
    if form.title.chars().count() > 300 {
        return Err(AppError::BadRequest(
            "A note's title can be at most 300 characters.".into(),
        ));
    }
    let base = base_version(&form.base_version)?;
    let tz = time::zone(&user.time_zone);
    let title = form.title.trim();
    let answer = match keep(&state.db, user.id, key, title, &form.body, base).await? {
        Kept::NotFound => return Err(AppError::NotFound),
        Kept::Unchanged => KeptAnswer {
            state: "unchanged",
            label: "No unsaved changes".into(),
            merge: None,
        },
        Kept::Kept(at) => KeptAnswer {
            state: "kept",
            label: format!("Draft kept {}, not saved yet", when_label(at, tz)),
            merge: None,
        },
        Kept::Stale(at) => KeptAnswer {
            state: "stale",
            label: format!(
                "Draft kept {}. These notes were saved elsewhere since you opened them: saving will show both versions to merge",
                when_label(at, tz)
            ),
            merge: key.merge_url(),
        },
    };
    Ok(Json(answer).into_response())
}

async fn keep_meeting_draft(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DraftForm>,
) -> AppResult<Response> {
    let key = DraftKey::Meeting(params::id(&id)?);
    keep_draft(&state, &user, key, form).await
}

async fn keep_note_draft(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DraftForm>,
) -> AppResult<Response> {
    let key = DraftKey::Note(params::id(&id)?);
    keep_draft(&state, &user, key, form).await
}

async fn keep_new_note_draft(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<DraftForm>,
) -> AppResult<Response> {
    keep_draft(&state, &user, DraftKey::NewNote, form).await
}

/// Throws the draft away and shows the note as saved; a key naming nothing of the user's is
/// not found, like their pages.
async fn discard_draft(state: &AppState, user: &SignedIn, key: DraftKey) -> AppResult<Response> {
    if current(&state.db, user.id, key).await?.is_none() {
        return Err(AppError::NotFound);
    }
    discard(&state.db, user.id, key).await?;
    Ok(Redirect::to(&key.page()).into_response())
}

async fn discard_meeting_draft(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    discard_draft(&state, &user, DraftKey::Meeting(params::id(&id)?)).await
}

async fn discard_note_draft(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    discard_draft(&state, &user, DraftKey::Note(params::id(&id)?)).await
}

async fn discard_new_note_draft(
    State(state): State<AppState>,
    user: SignedIn,
) -> AppResult<Response> {
    discard_draft(&state, &user, DraftKey::NewNote).await
}
