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
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, params},
    items::ItemView,
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
    after: Option<String>,
}

#[derive(Deserialize)]
pub struct PersonRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
    /// Both maintained by the database as attendees and items come and go (migrations/0008).
    pub meetings: i32,
    pub open_items: i32,
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
    next: Option<String>,
    paged: bool,
}

#[derive(Deserialize)]
struct DirectoryRow {
    #[serde(flatten)]
    person: PersonRow,
    sort_name: String,
}

async fn index(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<IndexQuery>,
) -> AppResult<Html<String>> {
    let search = q.q.unwrap_or_default().trim().to_owned();
    // The cursor's key is "count:name".
    let after = params::after_text(&q.after)?
        .map(|(key, id)| {
            key.split_once(':')
                .and_then(|(n, name)| Some((n.parse::<i32>().ok()?, name.to_owned(), id)))
                .ok_or_else(|| {
                    AppError::BadRequest(
                        "The page link is damaged (after=…); go back to the first page.".into(),
                    )
                })
        })
        .transpose()?;
    let pattern = search.to_lowercase().replace(['%', '_', '\\'], "");
    // Most met first, then by name: a keyset over `people_directory_idx`. The cursor is the last
    // row's count and lowercased name; the pattern is a substring of name or address (trigram
    // index).
    let Json(mut rows) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "rows!: Json<Vec<DirectoryRow>>" from (
            select p.* from person_rows p
            where p.user_id = $1 and not p.is_me
              and ($2 = '' or lower(coalesce(p.name, '') || ' ' || p.email) like '%' || $2 || '%')
              and ($4::text is null
                   or p.meetings < $3
                   or (p.meetings = $3 and (p.sort_name, p.id) > ($4, $5)))
            order by p.meetings desc, p.sort_name, p.id
            limit $6) r"#,
        user.id,
        pattern,
        after.as_ref().map(|(n, _, _)| *n),
        after.as_ref().map(|(_, name, _)| name.clone()),
        after.as_ref().map(|(_, _, id)| *id),
        PAGE_SIZE + 1,
    )
    .fetch_one(&state.db)
    .await?;
    let next = (rows.len() as i64 > PAGE_SIZE).then(|| {
        rows.truncate(PAGE_SIZE as usize);
        let last = rows.last().expect("a full page");
        params::cursor(
            &format!("{}:{}", last.person.meetings, last.sort_name),
            last.person.id,
        )
    });
    let view = PeoplePage {
        layout: Layout::for_user(&user, "People", "people"),
        q: search,
        people: rows.into_iter().map(|r| r.person).collect(),
        next,
        paged: after.is_some(),
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[derive(Deserialize)]
struct PersonQuery {
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
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

#[derive(Deserialize)]
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
    next: Option<String>,
    paged: bool,
    they_owe: Vec<ItemView>,
    i_owe: Vec<ItemView>,
    decisions: Vec<ItemView>,
    mentions: Vec<NoteMention>,
    back: String,
}

/// Upcoming meetings shown on a person page, and open items listed per side.
const UPCOMING_TOGETHER: i64 = 20;
const OPEN_ITEMS_SHOWN: i64 = 20;
const DECISIONS_SHOWN: i64 = 20;
const MENTIONS_SHOWN: i64 = 10;

/// Everything a person page shows, in one statement. Meetings together are read from the
/// attendee rows in time order (`attendees_person_time_idx`); past ones page by keyset.
struct PersonData {
    person: Json<PersonRow>,
    upcoming: Json<Vec<MeetingRow>>,
    past: Json<Vec<MeetingRow>>,
    they_owe: Json<Vec<ItemView>>,
    i_owe: Json<Vec<ItemView>>,
    decisions: Json<Vec<ItemView>>,
    mentions: Json<Vec<NoteMention>>,
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
    let after = params::after_time(&q.after)?;
    let tz = time::zone(&user.time_zone);
    let midnight = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let data = sqlx::query_as!(
        PersonData,
        r#"select row_to_json(p) as "person!: Json<PersonRow>",
        coalesce((select json_agg(u) from (
            select m.* from (
                select a.meeting_id from attendees a
                where a.user_id = $1 and a.person_id = p.id
                  and a.starts_at >= $3::timestamptz - make_interval(days => $12)
                order by a.starts_at limit $8::bigint + 10) a
            join meeting_rows m on m.id = a.meeting_id
            where m.status <> 'cancelled' and m.ends_at >= $3
            order by m.starts_at limit $8) u), '[]') as "upcoming!: Json<Vec<MeetingRow>>",
        coalesce((select json_agg(pm) from (
            select m.* from attendees a join meeting_rows m on m.id = a.meeting_id
            where a.user_id = $1 and a.person_id = p.id and a.starts_at < $3
              and ($4::timestamptz is null or a.starts_at >= $4)
              and ($5::timestamptz is null or a.starts_at < $5)
              and ($6::timestamptz is null or (a.starts_at, a.meeting_id) < ($6, $7))
              and m.status <> 'cancelled'
            order by a.starts_at desc, a.meeting_id desc limit $9) pm), '[]') as "past!: Json<Vec<MeetingRow>>",
        coalesce((select json_agg(i) from (
            select * from item_rows i
            where i.user_id = $1 and i.assignee_id = p.id and i.kind = 'action'
              and not i.done and not i.removed
            order by i.due nulls last limit $10) i), '[]') as "they_owe!: Json<Vec<ItemView>>",
        -- What the user owes them: the user's open items from meetings this person attended.
        coalesce((select json_agg(i) from (
            select * from item_rows i
            where i.user_id = $1 and i.kind = 'action' and not i.done and not i.removed
              and i.assignee_id = (select me.id from people me where me.user_id = $1 and me.is_me limit 1)
              and exists (select 1 from attendees a where a.meeting_id = i.meeting_id and a.person_id = p.id)
            order by i.due nulls last limit $10) i), '[]') as "i_owe!: Json<Vec<ItemView>>",
        -- Decisions of their latest meetings.
        coalesce((select json_agg(d) from (
            select i.* from (
                select a.meeting_id from attendees a
                where a.user_id = $1 and a.person_id = p.id and a.starts_at < $3
                order by a.starts_at desc limit 50) a
            join item_rows i on i.user_id = $1 and i.meeting_id = a.meeting_id
            where i.kind = 'decision' and not i.removed
            order by i.meeting_at desc, i.line limit $11) d), '[]') as "decisions!: Json<Vec<ItemView>>",
        -- Notes with an item assigned to them, or whose text mentions their address (the
        -- `simple` parser keeps an address as one token, so the text index finds candidates).
        coalesce((select json_agg(n) from (
            select n.meeting_id, n.id as note_id,
                   coalesce(nullif(m.title, ''), nullif(n.title, ''), 'Untitled note') as title, n.updated_at
            from notes n left join meetings m on m.id = n.meeting_id
            where n.user_id = $1 and n.id in (
                select i.note_id from (
                    select i.note_id from items i
                    where i.user_id = $1 and i.assignee_id = p.id and not i.removed
                    order by i.created_at desc limit 50) i
                union
                (select n2.id from notes n2
                 where owned_tsvector(n2.search, n2.user_id) @@ owned_tsquery(plainto_tsquery('simple', p.email), $1)
                   and n2.user_id = $1 and position(lower('@' || p.email) in lower(n2.body)) > 0
                 -- Bounded: exact for anyone mentioned in fewer notes than this.
                 limit 200))
            order by n.updated_at desc limit $13) n), '[]') as "mentions!: Json<Vec<NoteMention>>"
     from person_rows p
     where p.user_id = $1 and p.id = $2"#,
        user.id,
        id,
        Utc::now(),
        from.map(midnight),
        to.map(|d| midnight(d + Duration::days(1))),
        after.map(|(at, _)| at),
        after.map(|(_, id)| id),
        UPCOMING_TOGETHER,
        PAGE_SIZE + 1,
        OPEN_ITEMS_SHOWN,
        DECISIONS_SHOWN,
        meetings::LONGEST_EVENT_DAYS,
        MENTIONS_SHOWN,
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    let person = data.person.0;
    let mut past = data.past.0;
    let next = (past.len() as i64 > PAGE_SIZE).then(|| {
        past.truncate(PAGE_SIZE as usize);
        let last = past.last().expect("a full page");
        params::time_cursor(last.starts_at, last.id)
    });
    let view = PersonPage {
        layout: Layout::for_user(&user, &person.name, "people"),
        upcoming: group_by_series(meetings::lines(data.upcoming.0, tz)),
        past: group_by_series(meetings::lines(past, tz)),
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        next,
        paged: after.is_some(),
        they_owe: data.they_owe.0,
        i_owe: data.i_owe.0,
        decisions: data.decisions.0,
        mentions: data.mentions.0,
        back: format!("/people/{id}"),
        person,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}

#[derive(Deserialize)]
struct OrganizationRow {
    id: Uuid,
    name: String,
    domain: String,
    people: i32,
}

#[derive(Deserialize)]
struct OrganizationsQuery {
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "organizations.html")]
struct OrganizationsPage {
    layout: Layout,
    organizations: Vec<OrganizationRow>,
    next: Option<String>,
    paged: bool,
}

/// Organizations by name, a keyset over `organizations_user_name_idx`.
const ORGANIZATIONS_PAGE: i64 = 100;

async fn organizations(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<OrganizationsQuery>,
) -> AppResult<Html<String>> {
    let after = params::after_text(&q.after)?;
    let Json(mut rows) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "rows!: Json<Vec<OrganizationRow>>" from (
            select o.id, o.name, o.domain, o.people_count as people from organizations o
            where o.user_id = $1 and ($2::text is null or (lower(o.name), o.id) > ($2, $3))
            order by lower(o.name), o.id limit $4) r"#,
        user.id,
        after.as_ref().map(|(name, _)| name.clone()),
        after.as_ref().map(|(_, id)| *id),
        ORGANIZATIONS_PAGE + 1,
    )
    .fetch_one(&state.db)
    .await?;
    let next = (rows.len() as i64 > ORGANIZATIONS_PAGE).then(|| {
        rows.truncate(ORGANIZATIONS_PAGE as usize);
        let last = rows.last().expect("a full page");
        params::cursor(&last.name.to_lowercase(), last.id)
    });
    let view = OrganizationsPage {
        layout: Layout::for_user(&user, "Organizations", "organizations"),
        organizations: rows,
        next,
        paged: after.is_some(),
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

/// An organization page in one statement. Its people are the most met 50; meetings, open items
/// and decisions come from those people's latest meetings and backlogs, a few each.
struct OrganizationData {
    organization: Json<OrganizationRow>,
    people: Json<Vec<PersonRow>>,
    meetings: Json<Vec<MeetingRow>>,
    open_items: Json<Vec<ItemView>>,
    decisions: Json<Vec<ItemView>>,
}

async fn organization(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let tz = time::zone(&user.time_zone);
    let data = sqlx::query_as!(OrganizationData, r#"with member as (
             select p.id from people p where p.user_id = $1 and p.organization_id = $2
             order by p.meeting_count desc, p.id limit 50),
         recent as (
             select distinct r.meeting_id, r.starts_at from member
             cross join lateral (
                 select a.meeting_id, a.starts_at from attendees a
                 where a.user_id = $1 and a.person_id = member.id
                 order by a.starts_at desc limit 20) r
             order by r.starts_at desc limit 50)
         select row_to_json(org) as "organization!: Json<OrganizationRow>",
            coalesce((select json_agg(pr) from (
                select p.* from member join person_rows p on p.id = member.id
                order by p.meetings desc, p.name) pr), '[]') as "people!: Json<Vec<PersonRow>>",
            coalesce((select json_agg(m) from (
                select m.* from recent join meeting_rows m on m.id = recent.meeting_id
                where m.status <> 'cancelled'
                order by m.starts_at desc limit 50) m), '[]') as "meetings!: Json<Vec<MeetingRow>>",
            coalesce((select json_agg(i) from (
                select i.* from member cross join lateral (
                    select * from item_rows i
                    where i.user_id = $1 and i.assignee_id = member.id and i.kind = 'action'
                      and not i.done and not i.removed
                    order by i.due nulls last limit 5) i
                order by i.due nulls last limit 50) i), '[]') as "open_items!: Json<Vec<ItemView>>",
            coalesce((select json_agg(d) from (
                select i.* from recent join item_rows i
                    on i.user_id = $1 and i.meeting_id = recent.meeting_id
                where i.kind = 'decision' and not i.removed
                order by i.meeting_at desc, i.line limit 50) d), '[]') as "decisions!: Json<Vec<ItemView>>"
         from (select o.id, o.name, o.domain, o.people_count as people from organizations o
               where o.user_id = $1 and o.id = $2) org"#, user.id, id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let organization = data.organization.0;
    let view = OrganizationPage {
        layout: Layout::for_user(&user, &organization.name, "organizations"),
        back: format!("/organizations/{id}"),
        organization,
        people: data.people.0,
        meetings: meetings::lines(data.meetings.0, tz),
        open_items: data.open_items.0,
        decisions: data.decisions.0,
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}
