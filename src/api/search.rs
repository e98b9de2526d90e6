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
    /// Words to find (web-search syntax: `"a phrase"`, `-word`, `or`; the last word also
    /// matches as a prefix); at most 200 characters. Empty finds nothing.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only hits of this kind.
    #[param(value_type = Option<HitKind>)]
    kind: Option<String>,
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

impl HitKind {
    fn from_text(kind: &str) -> HitKind {
        match kind {
            "meeting" => HitKind::Meeting,
            "note" => HitKind::Note,
            "action" => HitKind::Action,
            "decision" => HitKind::Decision,
            "question" => HitKind::Question,
            _ => HitKind::Person,
        }
    }
}

impl From<Hit> for SearchHit {
    fn from(hit: Hit) -> SearchHit {
        let kind = HitKind::from_text(&hit.kind);
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

/// How many hits of one kind matched.
#[derive(Serialize, ToSchema)]
pub struct KindCount {
    pub kind: HitKind,
    /// Counted up to 200; more is `201`.
    pub count: i64,
}

/// Search results: the best 50 at most, best first, and the counts per kind.
#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    pub counts: Vec<KindCount>,
}

/// Search
///
/// Full text over your meetings, notes, action items, decisions, questions and people; the best
/// 50 hits, best first, as the search page finds them (a meeting's note is found as its
/// meeting), and how many hits of each kind matched.
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
    let kind = pages::query_kind(q.kind.as_deref())?;
    let q = pages::query_text(q.q)?;
    let found = pages::search(&state.db, user.id, &q, kind, 50, 50).await?;
    Ok(Json(SearchResults {
        items: found.hits.into_iter().map(SearchHit::from).collect(),
        counts: found
            .counts
            .into_iter()
            .map(|c| KindCount {
                kind: HitKind::from_text(&c.kind),
                count: c.count,
            })
            .collect(),
    }))
}
