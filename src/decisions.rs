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
    select d.id, d.recorded_at, d.text, d.meeting_id, d.note_id, d.meeting_title, d.decided_at,
           d.people
    from decision_rows d
    where d.user_id = $1
      and ($2::uuid is null or exists (select 1 from attendees a
            where a.user_id = $1 and a.meeting_id = d.meeting_id and a.person_id = $2))
      and ($3::uuid is null or exists (select 1 from attendees a join people p on p.id = a.person_id
            where a.user_id = $1 and a.meeting_id = d.meeting_id and p.organization_id = $3))
      and ($4::uuid is null or d.series_id = $4)
      and ($5::timestamptz is null or (d.recorded_at, d.id) < ($5, $6))
    order by d.recorded_at desc, d.id desc
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

/// The log's first page, unfiltered: nearly every view of the decisions page. Its own
/// statement, without [`log_page`]'s optional filters and with the page size written out
/// (101 = `PAGE_SIZE + 1`), so that PostgreSQL plans it once per connection: with a bound
/// `limit`, the plan for any value assumes a tenth of the table and loses to a plan for the
/// value, so every view was planned again (at bench scale 10, PostgreSQL's time per view went
/// from 2.1 to 1.8–1.9 ms).
async fn first_page(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<DecisionRow>> {
    const _: () = assert!(PAGE_SIZE + 1 == 101, "the statement below says `limit 101`");
    let Json(rows) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "rows!: Json<Vec<DecisionRow>>" from (
    select d.id, d.recorded_at, d.text, d.meeting_id, d.note_id, d.meeting_title, d.decided_at,
           d.people
    from decision_rows d
    where d.user_id = $1
    order by d.recorded_at desc, d.id desc
    limit 101) r"#,
        user_id,
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
            async {
                let unfiltered = filter.person.is_none()
                    && filter.organization.is_none()
                    && filter.series.is_none();
                if unfiltered && after.is_none() {
                    first_page(&state.db, user.id).await
                } else {
                    log_page(&state.db, user.id, &filter, after, PAGE_SIZE + 1).await
                }
            },
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
