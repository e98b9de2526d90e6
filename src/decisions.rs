//! The decisions log: every decision with its date, meeting and people; filters by person,
//! organization or series.

use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppResult, layout::Layout, notice::PageNotice, params},
    page_cache::Lasts,
    time,
};
use axum::body::Bytes;

pub fn router() -> Router<AppState> {
    Router::new().route("/decisions", get(log))
}

#[derive(Debug, Deserialize)]
struct Filter {
    person: Option<String>,
    organization: Option<String>,
    series: Option<String>,
    after: Option<String>,
}

/// A decision as the log shows it.
#[derive(Clone, Serialize, Deserialize)]
pub struct DecisionRow {
    pub id: Uuid,
    /// When the line was first saved: the log's order.
    pub recorded_at: DateTime<Utc>,
    pub text: String,
    pub meeting_id: Option<Uuid>,
    pub note_id: Uuid,
    pub meeting_title: Option<String>,
    /// The meeting's start, or when it was recorded for a standalone note.
    pub decided_at: DateTime<Utc>,
    /// Who attended the meeting, as lists show it.
    pub people: String,
}

impl DecisionRow {
    /// Where the log goes on after this row.
    pub fn cursor(&self) -> String {
        params::time_cursor(self.recorded_at, self.id)
    }

    fn day(&self) -> String {
        time::day(self.decided_at.date_naive())
    }
}

#[derive(Template)]
#[template(path = "decisions.html")]
struct DecisionsPage {
    layout: Layout,
    decisions: Vec<DecisionRow>,
    filtered: bool,
    /// The next page's cursor, and whether this is a later page.
    next: Option<String>,
    paged: bool,
    query_without_page: String,
}

const PAGE_SIZE: i64 = 100;

/// Which decisions the log shows: of meetings with a person, with people of an organization, or
/// of a series. `None` means any.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecisionFilter {
    pub person: Option<Uuid>,
    pub organization: Option<Uuid>,
    pub series: Option<Uuid>,
}

/// Up to `limit` decisions matching `filter` after `after`, newest first in the order they were
/// recorded: a keyset over the `(user, kind, created_at)` index.
pub async fn log_page(
    db: &sqlx::PgPool,
    user_id: Uuid,
    filter: &DecisionFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<DecisionRow>> {
    // The filters are optional (`null` means any).
    let Json(rows) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "rows!: Json<Vec<DecisionRow>>" from (
    select i.id, i.created_at as recorded_at, i.text, i.meeting_id, i.note_id,
           m.title as meeting_title, coalesce(m.starts_at, i.created_at) as decided_at,
           coalesce(m.attendee_names, '') as people
    from items i left join meetings m on m.id = i.meeting_id
    where i.user_id = $1 and i.kind = 'decision' and not i.removed
      and ($2::uuid is null or exists (select 1 from attendees a
            where a.user_id = $1 and a.meeting_id = i.meeting_id and a.person_id = $2))
      and ($3::uuid is null or exists (select 1 from attendees a join people p on p.id = a.person_id
            where a.user_id = $1 and a.meeting_id = i.meeting_id and p.organization_id = $3))
      and ($4::uuid is null or m.series_id = $4)
      and ($5::timestamptz is null or (i.created_at, i.id) < ($5, $6))
    order by i.created_at desc, i.id desc
    limit $7) r"#,
        user_id,
        filter.person,
        filter.organization,
        filter.series,
        after.map(|(at, _)| at),
        after.map(|(_, id)| id),
        limit,
    )
    .fetch_one(db)
    .await?;
    Ok(rows)
}

async fn log(
    State(state): State<AppState>,
    user: SignedIn,
    Query(f): Query<Filter>,
) -> AppResult<Html<Bytes>> {
    let html = state
        .page_cache
        .html(
            &user,
            "decisions",
            format!("{f:?}"),
            &PageNotice::default(),
            log_html(&state, &user, f),
        )
        .await?;
    Ok(Html(html))
}

async fn log_html(state: &AppState, user: &SignedIn, f: Filter) -> AppResult<String> {
    let filter = DecisionFilter {
        person: params::optional_id("person", &f.person)?,
        organization: params::optional_id("organization", &f.organization)?,
        series: params::optional_id("series", &f.series)?,
    };
    let after = params::after_time(&f.after)?;
    let mut rows = state
        .page_cache
        .get_or_load(
            user,
            "decisions",
            format!("{filter:?}/{after:?}"),
            Lasts::UntilChange,
            log_page(&state.db, user.id, &filter, after, PAGE_SIZE + 1),
        )
        .await?;
    let next = params::next_cursor(&mut rows, PAGE_SIZE, DecisionRow::cursor);
    let query_without_page = {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("person", filter.person),
            ("organization", filter.organization),
            ("series", filter.series),
        ] {
            if let Some(v) = v {
                pairs.append_pair(k, &v.to_string());
            }
        }
        pairs.finish()
    };
    let view = DecisionsPage {
        layout: Layout::for_user(user, "Decisions", "decisions"),
        decisions: rows,
        filtered: filter.person.is_some()
            || filter.organization.is_some()
            || filter.series.is_some(),
        next,
        paged: after.is_some(),
        query_without_page,
    };
    Ok(view.render().map_err(anyhow::Error::from)?)
}
