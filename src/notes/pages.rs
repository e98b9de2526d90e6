//! Notes that stand alone, outside any meeting: list, new, edit.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{Saved, Target};
use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, params},
    items::{self, ItemView},
    markdown,
    meetings::{ConflictPage, base_version},
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
    action: String,
    title: String,
    body: String,
    version: i32,
    rendered: String,
    items: Vec<ItemView>,
    back: String,
}

async fn new(user: SignedIn) -> AppResult<Html<String>> {
    let view = NotePage {
        layout: Layout::for_user(&user, "New note", "notes"),
        action: "/notes".into(),
        title: String::new(),
        body: String::new(),
        version: 0,
        rendered: String::new(),
        items: Vec::new(),
        back: "/notes".into(),
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let note = super::get(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(meeting) = note.meeting_id {
        return Ok(Redirect::to(&format!("/meetings/{meeting}#notes")).into_response());
    }
    let items = items::for_note(&state.db, user.id, id).await?;
    let title = if note.title.is_empty() {
        "Untitled note".to_owned()
    } else {
        note.title.clone()
    };
    let view = NotePage {
        layout: Layout::for_user(&user, &title, "notes"),
        action: format!("/notes/{id}"),
        rendered: markdown::render(&note.body),
        title: note.title,
        body: note.body,
        version: note.version,
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
    target: Target,
    form: NoteForm,
) -> AppResult<Response> {
    if form.title.chars().count() > 300 {
        return Err(AppError::BadRequest(
            "A note's title can be at most 300 characters.".into(),
        ));
    }
    let base = base_version(&form.base_version)?;
    match super::save(
        &state.db,
        user.id,
        &user.time_zone,
        target,
        form.title.trim(),
        &form.body,
        base,
    )
    .await?
    {
        Saved::Saved(note) => Ok(Redirect::to(&format!("/notes/{}", note.id)).into_response()),
        Saved::NotFound => Err(AppError::NotFound),
        Saved::Conflict { current } => {
            let page = ConflictPage {
                layout: Layout::for_user(user, "Merge notes", "notes"),
                action: format!("/notes/{}", current.id),
                yours: form.body,
                theirs: current.body,
                version: current.version,
                back: format!("/notes/{}", current.id),
            };
            Ok((
                StatusCode::CONFLICT,
                Html(page.render().map_err(anyhow::Error::from)?),
            )
                .into_response())
        }
    }
}

async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    save(&state, &user, Target::New, form).await
}

async fn update(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    save(&state, &user, Target::Note(id), form).await
}
