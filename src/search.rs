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

/// A search hit. `id` is the meeting, the note (of a note or an item) or the person; `source`
/// the record that matched (the item itself, for an item); items and notes also carry the
/// meeting they belong to, if any. The snippet marks matches between [`START`] and [`STOP`].
pub struct Hit {
    /// `meeting`, `note`, `action`, `decision`, `question` or `person`.
    pub kind: String,
    pub id: Uuid,
    pub source: Uuid,
    pub meeting_id: Option<Uuid>,
    pub title: String,
    pub snippet: String,
}

/// Each kind contributes at most this many candidates to the ranking, so a common word costs
/// the same in a long history as in a short one (the best 50 are then shown with snippets).
const CANDIDATES_PER_KIND: i64 = 200;

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

/// A snippet cut into its highlighted and plain pieces.
pub fn pieces(snippet: &str) -> Vec<Piece> {
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

/// Longest search accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// The search text of a query string, trimmed; refused when too long.
pub fn query_text(raw: Option<String>) -> AppResult<String> {
    let q = raw.unwrap_or_default().trim().to_owned();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "Search for at most {MAX_QUERY_CHARS} characters."
        )));
    }
    Ok(q)
}

/// The best 50 hits for `q` among the user's meetings, notes, items and people, best first.
pub async fn hits(db: &sqlx::PgPool, user_id: Uuid, q: &str) -> sqlx::Result<Vec<Hit>> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as!(
        Hit,
        r#"with best as (
        select * from search_candidates($1, websearch_to_tsquery('simple', $2), $3)
        order by rank desc limit 50)
     -- Titles and snippets for the best 50 only, each looked up by primary key.
     select b.kind as "kind!", b.id as "id!", b.source as "source!", b.meeting_id, d.title as "title!",
            ts_headline('simple', d.text, websearch_to_tsquery('simple', $2),
                'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxWords=25, MinWords=8, MaxFragments=2') as "snippet!"
     from best b
     cross join lateral (
         select m.title, m.title || ' — ' || m.description || ' ' || m.location as text
         from meetings m where b.kind = 'meeting' and m.id = b.source
         union all
         select coalesce((select nm.title from meetings nm where nm.id = n.meeting_id),
                         nullif(n.title, ''), 'Untitled note'), n.body
         from notes n where b.kind = 'note' and n.id = b.source
         union all
         select i.text, i.text
         from items i where b.kind in ('action', 'decision', 'question') and i.id = b.source
         union all
         select coalesce(p.name, p.email), coalesce(p.name, '') || ' ' || p.email
         from people p where b.kind = 'person' and p.id = b.source) d
     order by b.rank desc"#,
        user_id,
        q,
        CANDIDATES_PER_KIND,
    )
    .fetch_all(db)
    .await
}

async fn search(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<SearchQuery>,
) -> AppResult<Html<String>> {
    let q = query_text(query.q)?;
    let hits = hits(&state.db, user.id, &q).await?;
    let results = hits
        .into_iter()
        .map(|h| {
            // Notes and items link to their meeting, or to the standalone note they sit in.
            let place = match h.meeting_id {
                Some(meeting) => format!("/meetings/{meeting}"),
                None => format!("/notes/{}", h.id),
            };
            let (kind, link) = match h.kind.as_str() {
                "meeting" => ("Meeting", format!("/meetings/{}", h.id)),
                "note" if h.meeting_id.is_some() => ("Notes", format!("{place}#notes")),
                "note" => ("Note", place),
                "action" => ("Action item", place),
                "decision" => ("Decision", place),
                "question" => ("Question", place),
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
