//! Full-text search (PostgreSQL `tsvector`) across meetings, notes, action items, decisions and
//! people, ranked, with highlighted snippets.

use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use serde::Deserialize;
use sqlx::FromRow;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// Highlight markers: control characters that cannot occur in stored text, so the snippet can
/// be split safely and every piece HTML-escaped by the template.
const START: char = '\u{2}';
const STOP: char = '\u{3}';

#[derive(FromRow)]
struct Hit {
    kind: String,
    id: Uuid,
    title: String,
    snippet: String,
}

/// A piece of a snippet, highlighted or not.
pub struct Piece {
    pub text: String,
    pub marked: bool,
}

pub struct Result {
    pub kind: &'static str,
    pub link: String,
    pub title: String,
    pub snippet: Vec<Piece>,
}

fn pieces(snippet: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut marked = false;
    let mut current = String::new();
    for c in snippet.chars() {
        if c == START || c == STOP {
            if !current.is_empty() {
                out.push(Piece {
                    text: std::mem::take(&mut current),
                    marked,
                });
            }
            marked = c == START;
        } else if !c.is_control() || c == '\n' {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(Piece {
            text: current,
            marked,
        });
    }
    out
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    results: Vec<Result>,
}

async fn search(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<SearchQuery>,
) -> AppResult<Html<String>> {
    let q = query.q.unwrap_or_default().trim().to_owned();
    if q.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "Search for at most 200 characters.".into(),
        ));
    }
    let hits: Vec<Hit> = if q.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "with q as (select websearch_to_tsquery('simple', $2) as query),
             opts as (select 'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxWords=25, MinWords=8, MaxFragments=2' as o)
             select kind, id, title, snippet from (
                select 'meeting' as kind, m.id, m.title,
                       ts_headline('simple', m.title || ' — ' || m.description || ' ' || m.location, q.query, opts.o) as snippet,
                       ts_rank(m.search, q.query) * 1.2 as rank
                from meetings m, q, opts where m.user_id = $1 and m.search @@ q.query and m.status <> 'cancelled'
                union all
                select 'note', coalesce(n.meeting_id, n.id),
                       coalesce(nullif(mm.title, ''), nullif(n.title, ''), 'Untitled note'),
                       ts_headline('simple', n.body, q.query, opts.o), ts_rank(n.search, q.query) * 1.1
                from notes n left join meetings mm on mm.id = n.meeting_id, q, opts
                where n.user_id = $1 and n.search @@ q.query and n.meeting_id is not null
                union all
                select 'standalone-note', n.id, coalesce(nullif(n.title, ''), 'Untitled note'),
                       ts_headline('simple', n.body, q.query, opts.o), ts_rank(n.search, q.query) * 1.1
                from notes n, q, opts where n.user_id = $1 and n.search @@ q.query and n.meeting_id is null
                union all
                select i.kind, coalesce(i.meeting_id, i.note_id), i.text,
                       ts_headline('simple', i.text, q.query, opts.o), ts_rank(i.search, q.query)
                from items i, q, opts where i.user_id = $1 and not i.removed and i.search @@ q.query
                union all
                select 'person', p.id, coalesce(p.name, p.email),
                       ts_headline('simple', coalesce(p.name, '') || ' ' || p.email, q.query, opts.o), ts_rank(p.search, q.query) * 1.3
                from people p, q, opts where p.user_id = $1 and p.search @@ q.query
             ) hits
             order by rank desc, title
             limit 50",
        )
        .bind(user.id)
        .bind(&q)
        .fetch_all(&state.db)
        .await?
    };
    let results = hits
        .into_iter()
        .map(|h| {
            let (kind, link) = match h.kind.as_str() {
                "meeting" => ("Meeting", format!("/meetings/{}", h.id)),
                "note" => ("Notes", format!("/meetings/{}#notes", h.id)),
                "standalone-note" => ("Note", format!("/notes/{}", h.id)),
                "action" => ("Action item", format!("/meetings/{}", h.id)),
                "decision" => ("Decision", format!("/meetings/{}", h.id)),
                "question" => ("Question", format!("/meetings/{}", h.id)),
                _ => ("Person", format!("/people/{}", h.id)),
            };
            Result {
                kind,
                link,
                title: h.title,
                snippet: pieces(&h.snippet),
            }
        })
        .collect();
    let view = SearchPage {
        layout: Layout::for_user(&state, &user, "Search", "search").await?,
        q,
        results,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_into_marked_pieces() {
        let p = pieces("the \u{2}deck\u{3} is <late>");
        assert_eq!(p.len(), 3);
        assert!(p[1].marked && p[1].text == "deck");
        assert_eq!(p[2].text, " is <late>");
    }
}
