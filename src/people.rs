//! People (from attendees) and organizations (from their e-mail domains): indexes with search
//! and counts, and the pages that review everything that involves one of them.

use askama::Template;
use axum::{
    Router,
    extract::{Path, Query, State},
    response::Html,
    routing::get,
};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sqlx::FromRow;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, params},
    items::{self, ItemView},
    meetings::{self, MeetingLine, MeetingRow, PAGE_SIZE},
    time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(index))
        .route("/people/{id}", get(person))
        .route("/organizations", get(organizations))
        .route("/organizations/{id}", get(organization))
}

#[derive(Deserialize)]
struct IndexQuery {
    q: Option<String>,
    page: Option<String>,
}

#[derive(FromRow)]
pub struct PersonRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
    pub meetings: i64,
    pub open_items: i64,
    pub last_met: Option<DateTime<Utc>>,
}

impl PersonRow {
    pub fn last_met_label(&self) -> String {
        self.last_met
            .map(|d| time::day(d.date_naive()))
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    layout: Layout,
    q: String,
    people: Vec<PersonRow>,
    page: u32,
    has_next: bool,
}

const PERSON_ROW: &str = "select p.id, coalesce(p.name, p.email) as name, p.email, p.organization_id, o.name as organization,
        (select count(*) from attendees a join meetings m on m.id = a.meeting_id
          where a.person_id = p.id and m.status <> 'cancelled') as meetings,
        (select count(*) from items i where i.assignee_id = p.id and i.kind = 'action' and not i.done and not i.removed) as open_items,
        (select max(m.starts_at) from attendees a join meetings m on m.id = a.meeting_id
          where a.person_id = p.id and m.status <> 'cancelled' and m.starts_at < now()) as last_met
     from people p left join organizations o on o.id = p.organization_id";

async fn index(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<IndexQuery>,
) -> AppResult<Html<String>> {
    let page = params::page(&q.page)?;
    let search = q.q.unwrap_or_default().trim().to_owned();
    // Counts for everyone in two aggregate passes, rather than three subqueries per person.
    let mut rows: Vec<PersonRow> = sqlx::query_as(
        "with met as (
             select a.person_id, count(*) as meetings,
                    max(m.starts_at) filter (where m.starts_at < now()) as last_met
             from attendees a join meetings m on m.id = a.meeting_id
             where a.user_id = $1 and m.status <> 'cancelled'
             group by a.person_id),
         owed as (
             select assignee_id, count(*) as open_items from items
             where user_id = $1 and kind = 'action' and not done and not removed
             group by assignee_id)
         select p.id, coalesce(p.name, p.email) as name, p.email, p.organization_id, o.name as organization,
                coalesce(met.meetings, 0) as meetings, coalesce(owed.open_items, 0) as open_items, met.last_met
         from people p
         left join organizations o on o.id = p.organization_id
         left join met on met.person_id = p.id
         left join owed on owed.assignee_id = p.id
         where p.user_id = $1 and not p.is_me
           and ($2 = '' or p.email ilike '%' || $2 || '%' or coalesce(p.name, '') ilike '%' || $2 || '%')
         order by meetings desc, name
         limit $3 offset $4",
    )
    .bind(user.id)
    .bind(search.replace(['%', '_'], ""))
    .bind(PAGE_SIZE + 1)
    .bind(i64::from(page - 1) * PAGE_SIZE)
    .fetch_all(&state.db)
    .await?;
    let has_next = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let view = PeoplePage {
        layout: Layout::for_user(&user, "People", "people"),
        q: search,
        people: rows,
        page,
        has_next,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[derive(Deserialize)]
struct PersonQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

/// Meetings grouped under their series (or "One-off meetings").
pub struct SeriesGroup {
    pub title: String,
    pub meetings: Vec<MeetingLine>,
}

fn group_by_series(lines: Vec<MeetingLine>) -> Vec<SeriesGroup> {
    let mut groups: Vec<SeriesGroup> = Vec::new();
    for line in lines {
        let title = line
            .row
            .series_title
            .clone()
            .map(|t| format!("{t} (recurring)"))
            .unwrap_or_else(|| "One-off meetings".into());
        match groups.iter_mut().find(|g| g.title == title) {
            Some(g) => g.meetings.push(line),
            None => groups.push(SeriesGroup {
                title,
                meetings: vec![line],
            }),
        }
    }
    groups
}

#[derive(FromRow)]
struct NoteMention {
    meeting_id: Option<Uuid>,
    note_id: Uuid,
    title: String,
    updated_at: DateTime<Utc>,
}

impl NoteMention {
    fn edited(&self) -> String {
        time::day(self.updated_at.date_naive())
    }
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    layout: Layout,
    person: PersonRow,
    upcoming: Vec<SeriesGroup>,
    past: Vec<SeriesGroup>,
    from: String,
    to: String,
    page: u32,
    has_next: bool,
    they_owe: Vec<ItemView>,
    i_owe: Vec<ItemView>,
    decisions: Vec<ItemView>,
    mentions: Vec<NoteMention>,
    back: String,
}

async fn person(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PersonQuery>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let from = params::optional_date("from", &q.from)?;
    let to = params::optional_date("to", &q.to)?;
    let page = params::page(&q.page)?;
    let tz = time::zone(&user.time_zone);
    let person: PersonRow =
        sqlx::query_as(&format!("{PERSON_ROW} where p.user_id = $1 and p.id = $2"))
            .bind(user.id)
            .bind(id)
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let together = |upcoming: bool| {
        let mut q = meetings::rows_query();
        q.push("m.user_id = ")
            .push_bind(user.id)
            .push(" and m.status <> 'cancelled' and exists (select 1 from attendees a where a.meeting_id = m.id and a.person_id = ")
            .push_bind(id)
            .push(")");
        if upcoming {
            q.push(" and m.ends_at >= ")
                .push_bind(now)
                .push(" order by m.starts_at limit 20");
        } else {
            q.push(" and m.starts_at < ").push_bind(now);
            if let Some(from) = from {
                q.push(" and m.starts_at >= ")
                    .push_bind(from.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
            }
            if let Some(to) = to {
                q.push(" and m.starts_at < ").push_bind(
                    (to + Duration::days(1))
                        .and_hms_opt(0, 0, 0)
                        .expect("midnight")
                        .and_utc(),
                );
            }
            q.push(" order by m.starts_at desc limit ")
                .push_bind(PAGE_SIZE + 1)
                .push(" offset ")
                .push_bind(i64::from(page - 1) * PAGE_SIZE);
        }
        q
    };
    let upcoming: Vec<MeetingRow> = together(true).build_query_as().fetch_all(&state.db).await?;
    let mut past: Vec<MeetingRow> = together(false)
        .build_query_as()
        .fetch_all(&state.db)
        .await?;
    let has_next = past.len() as i64 > PAGE_SIZE;
    past.truncate(PAGE_SIZE as usize);

    let mut q = items::select();
    q.push("i.user_id = ")
        .push_bind(user.id)
        .push(" and i.kind = 'action' and not i.done and i.assignee_id = ")
        .push_bind(id)
        .push(" order by i.due nulls last");
    let they_owe: Vec<ItemView> = q.build_query_as().fetch_all(&state.db).await?;
    // What I owe them: my open items from meetings they attended.
    let mut q = items::select();
    q.push("i.user_id = ")
        .push_bind(user.id)
        .push(" and i.kind = 'action' and not i.done and p.is_me and i.meeting_id in (select a.meeting_id from attendees a where a.user_id = ")
        .push_bind(user.id)
        .push(" and a.person_id = ")
        .push_bind(id)
        .push(") order by i.due nulls last");
    let i_owe: Vec<ItemView> = q.build_query_as().fetch_all(&state.db).await?;
    let mut q = items::select();
    q.push("i.user_id = ")
        .push_bind(user.id)
        .push(" and i.kind = 'decision' and i.meeting_id in (select a.meeting_id from attendees a where a.user_id = ")
        .push_bind(user.id)
        .push(" and a.person_id = ")
        .push_bind(id)
        .push(") order by m.starts_at desc limit 50");
    let decisions: Vec<ItemView> = q.build_query_as().fetch_all(&state.db).await?;
    // Notes with an item assigned to them, or whose text mentions their address (the `simple`
    // text-search parser keeps an e-mail address as one token, so the index finds candidates).
    let mentions: Vec<NoteMention> = sqlx::query_as(
        "select n.meeting_id, n.id as note_id,
                coalesce(nullif(m.title, ''), nullif(n.title, ''), 'Untitled note') as title, n.updated_at
         from notes n left join meetings m on m.id = n.meeting_id
         where n.user_id = $1 and n.id in (
             select i.note_id from items i where i.user_id = $1 and i.assignee_id = $2 and not i.removed
             union
             select n2.id from notes n2
             where n2.user_id = $1 and n2.search @@ plainto_tsquery('simple', $3)
               and position(lower('@' || $3) in lower(n2.body)) > 0)
         order by n.updated_at desc
         limit 50",
    )
    .bind(user.id)
    .bind(id)
    .bind(&person.email)
    .fetch_all(&state.db)
    .await?;
    let view = PersonPage {
        layout: Layout::for_user(&user, &person.name, "people"),
        upcoming: group_by_series(meetings::lines(upcoming, tz)),
        past: group_by_series(meetings::lines(past, tz)),
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        page,
        has_next,
        they_owe,
        i_owe,
        decisions,
        mentions,
        back: format!("/people/{id}"),
        person,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[derive(FromRow)]
struct OrganizationRow {
    id: Uuid,
    name: String,
    domain: String,
    people: i64,
    meetings: i64,
}

const ORGANIZATION_ROW: &str = "select o.id, o.name, o.domain,
        (select count(*) from people p where p.organization_id = o.id) as people,
        (select count(distinct a.meeting_id) from attendees a join people p on p.id = a.person_id
           join meetings m on m.id = a.meeting_id
          where p.organization_id = o.id and m.status <> 'cancelled') as meetings
     from organizations o";

#[derive(Template)]
#[template(path = "organizations.html")]
struct OrganizationsPage {
    layout: Layout,
    organizations: Vec<OrganizationRow>,
}

async fn organizations(State(state): State<AppState>, user: SignedIn) -> AppResult<Html<String>> {
    let rows: Vec<OrganizationRow> = sqlx::query_as(&format!(
        "{ORGANIZATION_ROW} where o.user_id = $1 order by meetings desc, o.name limit 500"
    ))
    .bind(user.id)
    .fetch_all(&state.db)
    .await?;
    let view = OrganizationsPage {
        layout: Layout::for_user(&user, "Organizations", "organizations"),
        organizations: rows,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[derive(Template)]
#[template(path = "organization.html")]
struct OrganizationPage {
    layout: Layout,
    organization: OrganizationRow,
    people: Vec<PersonRow>,
    meetings: Vec<MeetingLine>,
    open_items: Vec<ItemView>,
    decisions: Vec<ItemView>,
    back: String,
}

async fn organization(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let tz = time::zone(&user.time_zone);
    let organization: OrganizationRow = sqlx::query_as(&format!(
        "{ORGANIZATION_ROW} where o.user_id = $1 and o.id = $2"
    ))
    .bind(user.id)
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    let people: Vec<PersonRow> = sqlx::query_as(&format!(
        "{PERSON_ROW} where p.user_id = $1 and p.organization_id = $2 order by meetings desc, name"
    ))
    .bind(user.id)
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let mut q = meetings::rows_query();
    q.push("m.user_id = ")
        .push_bind(user.id)
        .push(" and m.status <> 'cancelled' and exists (select 1 from attendees a join people p on p.id = a.person_id where a.meeting_id = m.id and p.organization_id = ")
        .push_bind(id)
        .push(") order by m.starts_at desc limit 50");
    let rows: Vec<MeetingRow> = q.build_query_as().fetch_all(&state.db).await?;
    let mut q = items::select();
    q.push("i.user_id = ")
        .push_bind(user.id)
        .push(" and i.kind = 'action' and not i.done and p.organization_id = ")
        .push_bind(id)
        .push(" order by i.due nulls last");
    let open_items: Vec<ItemView> = q.build_query_as().fetch_all(&state.db).await?;
    let mut q = items::select();
    q.push("i.user_id = ")
        .push_bind(user.id)
        .push(" and i.kind = 'decision' and exists (select 1 from attendees a join people p2 on p2.id = a.person_id where a.meeting_id = i.meeting_id and p2.organization_id = ")
        .push_bind(id)
        .push(") order by m.starts_at desc limit 50");
    let decisions: Vec<ItemView> = q.build_query_as().fetch_all(&state.db).await?;
    let view = OrganizationPage {
        layout: Layout::for_user(&user, &organization.name, "organizations"),
        back: format!("/organizations/{id}"),
        organization,
        people,
        meetings: meetings::lines(rows, tz),
        open_items,
        decisions,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}
