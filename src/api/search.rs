//! `/api/v1/search`: the search page's ranked hits.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ApiUser, QueryParams, problem::ApiResult};
use crate::{
    AppState,
    search::{self as pages, Hit},
};

/// What to search for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find (web-search syntax: `"a phrase"`, `-word`, `or`); at most 200 characters.
    /// Empty finds nothing.
    #[param(max_length = 200)]
    q: Option<String>,
}

/// What a hit is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HitKind {
    Meeting,
    Note,
    Action,
    Decision,
    Question,
    Person,
}

/// A piece of a snippet: matched words are `marked`.
#[derive(Serialize, ToSchema)]
pub struct SnippetPiece {
    pub text: String,
    pub marked: bool,
}

/// A search hit.
#[derive(Serialize, ToSchema)]
pub struct SearchHit {
    pub kind: HitKind,
    /// The meeting, note, item or person found.
    pub id: Uuid,
    /// The note that holds a note or item hit.
    pub note_id: Option<Uuid>,
    /// The meeting a note or item belongs to; the meeting itself for a meeting hit.
    pub meeting_id: Option<Uuid>,
    pub title: String,
    /// The text around the matches.
    pub snippet: Vec<SnippetPiece>,
}

impl From<Hit> for SearchHit {
    fn from(hit: Hit) -> SearchHit {
        let kind = match hit.kind.as_str() {
            "meeting" => HitKind::Meeting,
            "note" => HitKind::Note,
            "action" => HitKind::Action,
            "decision" => HitKind::Decision,
            "question" => HitKind::Question,
            _ => HitKind::Person,
        };
        let note_id = match kind {
            HitKind::Note | HitKind::Action | HitKind::Decision | HitKind::Question => Some(hit.id),
            HitKind::Meeting | HitKind::Person => None,
        };
        SearchHit {
            kind,
            id: hit.source,
            note_id,
            meeting_id: hit.meeting_id,
            title: hit.title,
            snippet: pages::pieces(&hit.snippet)
                .into_iter()
                .map(|p| SnippetPiece {
                    text: p.text,
                    marked: p.marked,
                })
                .collect(),
        }
    }
}

/// Search results: the best 50 at most, best first.
#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
}

/// Search
///
/// Full text over your meetings, notes, action items, decisions, questions and people; the best
/// 50 hits, best first, as the search page shows them.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "search",
    params(SearchQuery),
    responses((status = 200, description = "The best hits", body = SearchResults))
)]
pub async fn search(
    State(state): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<SearchQuery>,
) -> ApiResult<Json<SearchResults>> {
    let q = pages::query_text(q.q)?;
    let hits = pages::hits(&state.db, user.id, &q).await?;
    Ok(Json(SearchResults {
        items: hits.into_iter().map(SearchHit::from).collect(),
    }))
}
