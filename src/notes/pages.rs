//! Notes that stand alone, outside any meeting: list, new, edit.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::types::Json;
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

#[derive(Deserialize)]
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
    /// "that mention Ada Lovelace", when the list is one person's.
    person: Option<(Uuid, String)>,
    next: Option<String>,
    paged: bool,
    /// The filter a page link keeps ("person=…&"), before its `after`.
    query_prefix: String,
}

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
struct ListQuery {
    person: Option<String>,
    after: Option<String>,
}

/// A page of the notes list and the name of the person it is filtered by.
struct ListData {
    notes: Json<Vec<NoteRow>>,
    person: Option<String>,
}

/// The user's notes, last edited first, a page at a time (a keyset on `notes_recent_idx`); with
/// `person`, only those that mention them (the person page's "Notes that mention them", whole).
async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let person = params::optional_id("person", &q.person)?;
    let after = params::after_time(&q.after)?;
    let data = sqlx::query_as!(
        ListData,
        r#"select
    coalesce((select json_agg(r) from (
        select n.id, n.meeting_id, n.updated_at,
               coalesce(nullif(m.title, ''), nullif(n.title, ''), 'Untitled note') as title
        from notes n left join meetings m on m.id = n.meeting_id
        where n.user_id = $1
          and ($2::uuid is null or n.id in (select * from notes_mentioning($1, $2, null, null)))
          and ($3::timestamptz is null or (n.updated_at, n.id) < ($3, $4))
        order by n.updated_at desc, n.id desc limit $5) r), '[]') as "notes!: Json<Vec<NoteRow>>",
    (select coalesce(name, email) from people where user_id = $1 and id = $2) as person"#,
        user.id,
        person,
        after.map(|(at, _)| at),
        after.map(|(_, id)| id),
        PAGE_SIZE + 1,
    )
    .fetch_one(&state.db)
    .await?;
    let person = match person {
        Some(id) => Some((id, data.person.ok_or(AppError::NotFound)?)),
        None => None,
    };
    let mut notes = data.notes.0;
    let next = params::next_cursor(&mut notes, PAGE_SIZE, |n| {
        params::time_cursor(n.updated_at, n.id)
    });
    let view = ListPage {
        layout: Layout::for_user(&user, "Notes", "notes"),
        notes,
        query_prefix: person
            .as_ref()
            .map(|(id, _)| format!("person={id}&"))
            .unwrap_or_default(),
        person,
        next,
        paged: after.is_some(),
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
