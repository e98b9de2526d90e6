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
        // Rank first, then build snippets for the 50 best only: ts_headline is the costly part.
        sqlx::query_as(
            "with q as (select websearch_to_tsquery('simple', $2) as query),
             opts as (select 'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxWords=25, MinWords=8, MaxFragments=2' as o),
             best as (
                select 'meeting' as kind, m.id as id, m.id as source, ts_rank(m.search, q.query) * 1.2 as rank
                from meetings m, q where m.user_id = $1 and m.search @@ q.query and m.status <> 'cancelled'
                union all
                select case when n.meeting_id is null then 'standalone-note' else 'note' end, coalesce(n.meeting_id, n.id), n.id,
                       ts_rank(n.search, q.query) * 1.1
                from notes n, q where n.user_id = $1 and n.search @@ q.query
                union all
                select i.kind, coalesce(i.meeting_id, i.note_id), i.id, ts_rank(i.search, q.query)
                from items i, q where i.user_id = $1 and not i.removed and i.search @@ q.query
                union all
                select 'person', p.id, p.id, ts_rank(p.search, q.query) * 1.3
                from people p, q where p.user_id = $1 and p.search @@ q.query
                order by rank desc
                limit 50)
             select b.kind, b.id,
                    coalesce(m.title, case when n.meeting_id is not null then nm.title end, nullif(n.title, ''), i.text,
                             p.name, p.email, 'Untitled note') as title,
                    ts_headline('simple',
                        coalesce(m.title || ' — ' || m.description || ' ' || m.location, n.body, i.text,
                                 coalesce(p.name, '') || ' ' || p.email, ''),
                        q.query, opts.o) as snippet
             from best b cross join q cross join opts
             left join meetings m on b.kind = 'meeting' and m.id = b.source
             left join notes n on b.kind in ('note', 'standalone-note') and n.id = b.source
             left join meetings nm on nm.id = n.meeting_id
             left join items i on b.kind in ('action', 'decision', 'question') and i.id = b.source
             left join people p on b.kind = 'person' and p.id = b.source
             order by b.rank desc",
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
        layout: Layout::for_user(&user, "Search", "search"),
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
