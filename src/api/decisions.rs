//! `/api/v1/decisions`: the decisions log with the page's filters.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ApiUser, QueryParams, cursor, limit, paginate, problem::ApiResult};
use crate::{
    AppState,
    decisions::{self as pages, DecisionFilter, DecisionRow},
    http::params,
};

/// Which decisions, and the page to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionsQuery {
    /// Only decisions of meetings this person attended.
    #[param(value_type = Option<Uuid>)]
    person: Option<String>,
    /// Only decisions of meetings with people of this organization.
    #[param(value_type = Option<Uuid>)]
    organization: Option<String>,
    /// Only decisions of meetings of this recurring series.
    #[param(value_type = Option<Uuid>)]
    series: Option<String>,
    /// Where to go on from: the `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Decisions per page, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// A decision recorded in a note (`Decision: …` or `!d …`).
#[derive(Serialize, ToSchema)]
pub struct Decision {
    pub id: Uuid,
    pub text: String,
    /// When the line was first saved.
    pub recorded_at: DateTime<Utc>,
    /// The meeting's start, or when it was recorded for a standalone note.
    pub decided_at: DateTime<Utc>,
    /// The meeting whose note holds the line; null for a standalone note.
    pub meeting_id: Option<Uuid>,
    pub meeting_title: Option<String>,
    pub note_id: Uuid,
    /// Who attended the meeting, comma-separated.
    pub attendee_names: String,
}

impl From<DecisionRow> for Decision {
    fn from(row: DecisionRow) -> Decision {
        Decision {
            id: row.id,
            text: row.text,
            recorded_at: row.recorded_at,
            decided_at: row.decided_at,
            meeting_id: row.meeting_id,
            meeting_title: row.meeting_title,
            note_id: row.note_id,
            attendee_names: row.people,
        }
    }
}

/// A page of decisions.
#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    pub items: Vec<Decision>,
    /// The cursor of the next page, or null on the last one.
    pub next_cursor: Option<String>,
}

/// List decisions
///
/// Newest first, in the order they were recorded.
#[utoipa::path(
    get,
    path = "/api/v1/decisions",
    tag = "decisions",
    params(DecisionsQuery),
    responses((status = 200, description = "A page of decisions", body = DecisionPage))
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<DecisionsQuery>,
) -> ApiResult<Json<DecisionPage>> {
    let filter = DecisionFilter {
        person: params::optional_id("person", &q.person)?,
        organization: params::optional_id("organization", &q.organization)?,
        series: params::optional_id("series", &q.series)?,
    };
    let after = cursor(&q.cursor, params::after_time)?;
    let limit = limit(&q.limit)?;
    let rows = pages::log_page(&state.db, user.id, &filter, after, limit + 1).await?;
    let (rows, next_cursor) = paginate(rows, limit, DecisionRow::cursor);
    Ok(Json(DecisionPage {
        items: rows.into_iter().map(Decision::from).collect(),
        next_cursor,
    }))
}
