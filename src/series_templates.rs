//! A note template per series: the text a new occurrence's note starts from (a standing agenda,
//! the questions a one-on-one always covers). Set from any meeting of the series.

use axum::{
    Form, Router,
    extract::{Path, State},
    response::Redirect,
    routing::post,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, params},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/meetings/{id}/template", post(save))
}

/// A template is a page of text, not a document store.
const MAX_CHARS: usize = 20_000;

#[derive(Deserialize)]
struct TemplateForm {
    body: String,
}

/// Sets (or, with an empty text, removes) the template of the meeting's series.
async fn save(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<TemplateForm>,
) -> AppResult<Redirect> {
    let id = params::id(&id)?;
    if form.body.chars().count() > MAX_CHARS {
        return Err(AppError::BadRequest(format!(
            "A series template holds at most {MAX_CHARS} characters."
        )));
    }
    let body = form.body.replace("\r\n", "\n");
    match store(&state.db, user.id, id, body.trim_end()).await? {
        Stored::Saved => Ok(Redirect::to(&format!("/meetings/{id}#template"))),
        Stored::NoSeries => Err(AppError::BadRequest(
            "This meeting is not part of a series, so it has no template.".into(),
        )),
        Stored::NotFound => Err(AppError::NotFound),
    }
}

enum Stored {
    Saved,
    NoSeries,
    NotFound,
}

/// Writes the template of the series `meeting_id` belongs to, in one statement.
async fn store(
    db: &sqlx::PgPool,
    user_id: Uuid,
    meeting_id: Uuid,
    body: &str,
) -> sqlx::Result<Stored> {
    let row = sqlx::query!(
        r#"with meeting as (
            select m.series_id from meetings m where m.id = $2 and m.user_id = $1
        ), removed as (
            delete from series_templates t using meeting
            where $3 = '' and t.user_id = $1 and t.series_id = meeting.series_id
        ), saved as (
            insert into series_templates (user_id, series_id, body)
            select $1, meeting.series_id, $3 from meeting
            where $3 <> '' and meeting.series_id is not null
            on conflict (user_id, series_id) do update set body = excluded.body, updated_at = now()
        )
        select (select true from meeting) as "found?", (select series_id from meeting) as series_id"#,
        user_id,
        meeting_id,
        body,
    )
    .fetch_one(db)
    .await?;
    Ok(match (row.found, row.series_id) {
        (None, _) => Stored::NotFound,
        (Some(_), None) => Stored::NoSeries,
        (Some(_), Some(_)) => Stored::Saved,
    })
}
