//! Notes that stand alone, outside any meeting: list, new, edit.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Note,
    drafts::{self, Draft, DraftKey, Editor},
    merge,
};
use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, notice::PageNotice, params},
    items::{self, ItemView},
    markdown,
    meetings::base_version,
    time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notes", get(list).post(create))
        .route("/notes/new", get(new))
        .route("/notes/{id}", get(show).post(update))
}

struct NoteRow {
    id: Uuid,
    meeting_id: Option<Uuid>,
    title: String,
    updated_at: DateTime<Utc>,
}

impl NoteRow {
    fn link(&self) -> String {
        match self.meeting_id {
            Some(m) => format!("/meetings/{m}#notes"),
            None => format!("/notes/{}", self.id),
        }
    }
    fn edited(&self) -> String {
        time::day(self.updated_at.date_naive())
    }
}

#[derive(Template)]
#[template(path = "notes.html")]
struct ListPage {
    layout: Layout,
    notes: Vec<NoteRow>,
}

async fn list(State(state): State<AppState>, user: SignedIn) -> AppResult<Html<String>> {
    let notes = sqlx::query_as!(
        NoteRow,
        r#"select n.id, n.meeting_id, coalesce(nullif(m.title, ''), nullif(n.title, ''), 'Untitled note') as "title!", n.updated_at
         from notes n left join meetings m on m.id = n.meeting_id
         where n.user_id = $1 order by n.updated_at desc limit 200"#,
        user.id,
    )
    .fetch_all(&state.db)
    .await?;
    let view = ListPage {
        layout: Layout::for_user(&user, "Notes", "notes"),
        notes,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[derive(Template)]
#[template(path = "note.html")]
struct NotePage {
    layout: Layout,
    heading: String,
    action: String,
    /// The saved note (none before its first save), for its version history.
    note_id: Option<Uuid>,
    editor: Editor,
    rendered: String,
    items: Vec<ItemView>,
    back: String,
}

async fn new(State(state): State<AppState>, user: SignedIn) -> AppResult<Html<String>> {
    let draft = drafts::get(&state.db, user.id, DraftKey::NewNote).await?;
    let tz = time::zone(&user.time_zone);
    let view = NotePage {
        layout: Layout::for_user(&user, "New note", "notes"),
        heading: "New note".into(),
        action: "/notes".into(),
        note_id: None,
        editor: Editor::open(
            DraftKey::NewNote,
            String::new(),
            String::new(),
            0,
            None,
            draft,
            tz,
        ),
        rendered: String::new(),
        items: Vec::new(),
        back: "/notes".into(),
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    notice: PageNotice,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let (note, draft): (Note, Option<Draft>) = super::with_draft(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(meeting) = note.meeting_id {
        return Ok(Redirect::to(&format!("/meetings/{meeting}#notes")).into_response());
    }
    let items = items::for_note(&state.db, user.id, id).await?;
    let heading = if note.title.is_empty() {
        "Untitled note".to_owned()
    } else {
        note.title.clone()
    };
    let tz = time::zone(&user.time_zone);
    let view = NotePage {
        layout: Layout::for_user(&user, &heading, "notes").with_notice(notice),
        heading,
        action: format!("/notes/{id}"),
        note_id: Some(id),
        rendered: markdown::render(&note.body),
        editor: Editor::open(
            DraftKey::Note(id),
            note.title,
            note.body,
            note.version,
            Some(note.updated_at),
            draft,
            tz,
        ),
        items,
        back: format!("/notes/{id}"),
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?).into_response())
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    title: String,
    body: String,
    base_version: String,
}

async fn save(
    state: &AppState,
    user: &SignedIn,
    key: DraftKey,
    form: NoteForm,
) -> AppResult<Response> {
    if form.title.chars().count() > 300 {
        return Err(AppError::BadRequest(
            "A note's title can be at most 300 characters.".into(),
        ));
    }
    let base = base_version(&form.base_version)?;
    // A conflict keeps the text as a draft and sends the browser to the merge view.
    merge::save_edit(state, user, key, form.title.trim(), &form.body, base).await
}

async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    save(&state, &user, DraftKey::NewNote, form).await
}

async fn update(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    save(&state, &user, DraftKey::Note(id), form).await
}
