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
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, notice::PageNotice, params},
    items::ItemView,
    meetings::{self, MeetingLine, MeetingRow, PAGE_SIZE},
    page_cache::Lasts,
    picture::{self, NearOrganization, Neighbour, Picture},
    time,
};
use axum::body::Bytes;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(index))
        .route("/people/suggest", get(suggest))
        .route("/people/{id}", get(person))
        .route("/organizations", get(organizations))
        .route("/organizations/{id}", get(organization))
}

#[derive(Debug, Deserialize)]
struct IndexQuery {
    q: Option<String>,
    after: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
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

/// A row of the people directory: the person, and the name it is sorted by.
#[derive(Clone, Serialize, Deserialize)]
pub struct DirectoryRow {
    #[serde(flatten)]
    pub person: PersonRow,
    pub sort_name: String,
}

/// Where the directory goes on: the last row's meeting count, sort name and id.
pub type DirectoryCursor = (i32, String, Uuid);

/// The cursor as a page link writes it: `<meetings>:<sort name>~<id>`.
pub fn directory_cursor(row: &DirectoryRow) -> String {
    params::cursor(
        &format!("{}:{}", row.person.meetings, row.sort_name),
        row.person.id,
    )
}

/// Reads a cursor written by [`directory_cursor`].
pub fn parse_directory_cursor(raw: &Option<String>) -> AppResult<Option<DirectoryCursor>> {
    params::after_text(raw)?
        .map(|(key, id)| {
            key.split_once(':')
                .and_then(|(n, name)| Some((n.parse::<i32>().ok()?, name.to_owned(), id)))
                .ok_or_else(|| {
                    AppError::BadRequest(
                        "The page link is damaged (after=…); go back to the first page.".into(),
                    )
                })
        })
        .transpose()
}

/// Up to `limit` of the user's people whose name or address contains `search` (any case),
/// after `after`: most met first, then by name, a keyset over `person_stats_directory_idx`.
pub async fn directory(
    db: &sqlx::PgPool,
    user_id: Uuid,
    search: &str,
    after: Option<&DirectoryCursor>,
    limit: i64,
) -> sqlx::Result<Vec<DirectoryRow>> {
    // A substring of name or address (trigram index), with LIKE's wildcards taken literally out.
    let pattern = search.to_lowercase().replace(['%', '_', '\\'], "");
    let Json(rows) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "rows!: Json<Vec<DirectoryRow>>" from (
            select p.* from person_rows p
            where p.user_id = $1 and not p.is_me
              and ($2 = '' or lower(coalesce(p.name, '') || ' ' || p.email) like '%' || $2 || '%')
              and ($4::text is null
                   or p.meetings < $3
                   or (p.meetings = $3 and (p.sort_name, p.id) > ($4, $5)))
            order by p.meetings desc, p.sort_name, p.id
            limit $6) r"#,
        user_id,
        pattern,
        after.map(|(n, _, _)| *n),
        after.map(|(_, name, _)| name.clone()),
        after.map(|(_, _, id)| *id),
        limit,
    )
    .fetch_one(db)
    .await?;
    Ok(rows)
}

/// The directory's first page, unsearched: nearly every view of the People page. Its own
/// statement, without [`directory`]'s optional filters and with the page size written out
/// (51 = `PAGE_SIZE + 1`), so that PostgreSQL plans it once per connection: with a bound
/// `limit`, the plan for any value assumes a tenth of the table and loses to a plan for the
/// value, so every view was planned again (at bench scale 10, PostgreSQL's time per view went
/// from 2.3–2.8 to 1.4–1.7 ms).
async fn directory_first_page(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<DirectoryRow>> {
    const _: () = assert!(PAGE_SIZE + 1 == 51, "the statement below says `limit 51`");
    let Json(rows) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "rows!: Json<Vec<DirectoryRow>>" from (
            select p.* from person_rows p
            where p.user_id = $1 and not p.is_me
            order by p.meetings desc, p.sort_name, p.id
            limit 51) r"#,
        user_id,
    )
    .fetch_one(db)
    .await?;
    Ok(rows)
}

async fn index(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<IndexQuery>,
) -> AppResult<Html<Bytes>> {
    let html = state
        .page_cache
        .html(
            &user,
            "people",
            format!("{q:?}"),
            &PageNotice::default(),
            index_html(&state, &user, q),
        )
        .await?;
    Ok(Html(html))
}

async fn index_html(state: &AppState, user: &SignedIn, q: IndexQuery) -> AppResult<String> {
    let search = q.q.unwrap_or_default().trim().to_owned();
    let after = parse_directory_cursor(&q.after)?;
    let mut rows = state
        .page_cache
        .get_or_load(
            user,
            "people",
            format!("{search}/{after:?}"),
            Lasts::UntilChange,
            async {
                if search.is_empty() && after.is_none() {
                    directory_first_page(&state.db, user.id).await
                } else {
                    directory(&state.db, user.id, &search, after.as_ref(), PAGE_SIZE + 1).await
                }
            },
        )
        .await?;
    let next = params::next_cursor(&mut rows, PAGE_SIZE, directory_cursor);
    let view = PeoplePage {
        layout: Layout::for_user(user, "People", "people"),
        q: search,
        people: rows.into_iter().map(|r| r.person).collect(),
        next,
        paged: after.is_some(),
    };
    Ok(view.render().map_err(anyhow::Error::from)?)
}

#[derive(Deserialize)]
struct SuggestQuery {
    q: Option<String>,
}

/// A person offered by a completion list (`@` in the notes, the assignee picker).
#[derive(Serialize)]
struct Suggestion {
    id: Uuid,
    name: String,
    email: String,
}

/// People offered per completion: a short list to pick from while typing.
const SUGGESTIONS: i64 = 10;

/// The user's people whose name or address contains `q`, most met first, as JSON: the
/// directory's search (its trigram index), a handful of rows.
async fn suggest(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<SuggestQuery>,
) -> AppResult<axum::Json<Vec<Suggestion>>> {
    let search: String = q.q.unwrap_or_default().trim().chars().take(100).collect();
    let rows = directory(&state.db, user.id, &search, None, SUGGESTIONS).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|r| Suggestion {
                id: r.person.id,
                name: r.person.name,
                email: r.person.email,
            })
            .collect(),
    ))
}

/// Whether `id` is one of the user's people.
pub async fn exists(db: &sqlx::PgPool, user_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from people where user_id = $1 and id = $2) as "exists!""#,
        user_id,
        id,
    )
    .fetch_one(db)
    .await
}

#[derive(Debug, Deserialize)]
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

/// An upcoming line of a person page: a one-off meeting, or a whole series as its next
/// meeting and how many more of it are coming.
pub struct Upcoming {
    pub next: MeetingLine,
    /// Meetings of the series among those read (1 for a one-off).
    pub count: usize,
}

/// Series collapsed into their next meeting, in the order of their next meetings.
fn collapse_series(lines: Vec<MeetingLine>) -> Vec<Upcoming> {
    let mut out: Vec<Upcoming> = Vec::new();
    for line in lines {
        let series = line.row.series_id;
        match out
            .iter_mut()
            .find(|u| series.is_some() && u.next.row.series_id == series)
        {
            Some(u) => u.count += 1,
            None => out.push(Upcoming {
                next: line,
                count: 1,
            }),
        }
    }
    out
}

#[derive(Clone, Serialize, Deserialize)]
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
    upcoming: Vec<Upcoming>,
    /// Whether more upcoming meetings exist than were read (counts are then "at least").
    upcoming_more: bool,
    past: Vec<SeriesGroup>,
    from: String,
    to: String,
    next: Option<String>,
    paged: bool,
    they_owe: Vec<ItemView>,
    i_owe: Vec<ItemView>,
    decisions: Vec<ItemView>,
    mentions: Vec<NoteMention>,
    /// Whether more notes mention them than are listed (the notes list has them all).
    more_mentions: bool,
    picture: Picture,
    back: String,
}

/// Upcoming meetings read for a person page (series collapse into one line each), and open
/// items listed per side.
const UPCOMING_TOGETHER: i64 = 50;
const OPEN_ITEMS_SHOWN: i64 = 20;
const DECISIONS_SHOWN: i64 = 20;
const MENTIONS_SHOWN: i64 = 10;

/// Everything a person page shows, in one statement. Meetings together are read from the
/// attendee rows in time order (`attendees_person_time_idx`); past ones page by keyset.
#[derive(Clone, Serialize)]
struct PersonData {
    person: Json<PersonRow>,
    upcoming: Json<Vec<MeetingRow>>,
    past: Json<Vec<MeetingRow>>,
    they_owe: Json<Vec<ItemView>>,
    i_owe: Json<Vec<ItemView>>,
    decisions: Json<Vec<ItemView>>,
    mentions: Json<Vec<NoteMention>>,
    neighbours: Json<Vec<Neighbour>>,
}

async fn person(
    State(state): State<AppState>,
    user: SignedIn,
    notice: PageNotice,
    Path(id): Path<String>,
    Query(q): Query<PersonQuery>,
) -> AppResult<Html<Bytes>> {
    let html = state
        .page_cache
        .html(
            &user,
            "person",
            format!("{id}/{q:?}"),
            &notice,
            person_html(&state, &user, notice.clone(), &id, q),
        )
        .await?;
    Ok(Html(html))
}

async fn person_html(
    state: &AppState,
    user: &SignedIn,
    notice: PageNotice,
    id: &str,
    q: PersonQuery,
) -> AppResult<String> {
    let id = params::id(id)?;
    let from = params::optional_date("from", &q.from)?;
    let to = params::optional_date("to", &q.to)?;
    let after = params::after_time(&q.after)?;
    let tz = time::zone(&user.time_zone);
    let midnight = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let params = format!("{id}/{from:?}/{to:?}/{after:?}");
    // The statement lives in `person_page` (migrations/0036), which keeps one plan for every
    // call: planning it for each call's values cost as much as running it.
    let load = sqlx::query_as!(
        PersonData,
        r#"select person as "person!: Json<PersonRow>", upcoming as "upcoming!: Json<Vec<MeetingRow>>",
                  past as "past!: Json<Vec<MeetingRow>>", they_owe as "they_owe!: Json<Vec<ItemView>>",
                  i_owe as "i_owe!: Json<Vec<ItemView>>", decisions as "decisions!: Json<Vec<ItemView>>",
                  mentions as "mentions!: Json<Vec<NoteMention>>",
                  neighbours as "neighbours!: Json<Vec<Neighbour>>"
           from person_page($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"#,
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
        picture::MOST_PEOPLE,
    )
    .fetch_optional(&state.db);
    let data = state
        .page_cache
        .get_or_load(user, "person", params, Lasts::ForTheMinute, load)
        .await?
        .ok_or(AppError::NotFound)?;
    let person = data.person.0;
    let mut past = data.past.0;
    let next = params::next_cursor(&mut past, PAGE_SIZE, |m| {
        params::time_cursor(m.starts_at, m.id)
    });
    let upcoming = data.upcoming.0;
    let upcoming_more = upcoming.len() as i64 >= UPCOMING_TOGETHER;
    let i_owe = data.i_owe.0;
    let view = PersonPage {
        layout: Layout::for_user(user, &person.name, "people").with_notice(notice),
        upcoming: collapse_series(meetings::lines(upcoming, tz)),
        upcoming_more,
        past: group_by_series(meetings::lines(past, tz)),
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        next,
        paged: after.is_some(),
        they_owe: data.they_owe.0,
        picture: picture::for_person(&person, i_owe.len(), &data.neighbours.0),
        i_owe,
        decisions: data.decisions.0,
        more_mentions: data.mentions.0.len() as i64 > MENTIONS_SHOWN,
        mentions: shown(data.mentions.0, MENTIONS_SHOWN),
        back: format!("/people/{id}"),
        person,
    };
    Ok(view.render().map_err(anyhow::Error::from)?)
}

/// An organization as lists show it.
#[derive(Deserialize)]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub domain: String,
    /// Kept by the database as people come and go (migrations/0008).
    pub people: i32,
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

/// Organizations per page.
const ORGANIZATIONS_PAGE: i64 = 100;

/// Where the organizations list goes on: the last row's lowercased name and id.
pub type OrganizationCursor = (String, Uuid);

/// The cursor as a page link writes it.
pub fn organization_cursor(row: &OrganizationRow) -> String {
    params::cursor(&row.name.to_lowercase(), row.id)
}

/// Up to `limit` of the user's organizations after `after`, by name: a keyset over
/// `organizations_user_name_idx`.
pub async fn organizations_list(
    db: &sqlx::PgPool,
    user_id: Uuid,
    after: Option<&OrganizationCursor>,
    limit: i64,
) -> sqlx::Result<Vec<OrganizationRow>> {
    let Json(rows) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "rows!: Json<Vec<OrganizationRow>>" from (
            select o.id, o.name, o.domain, o.people_count as people from organizations o
            where o.user_id = $1 and ($2::text is null or (lower(o.name), o.id) > ($2, $3))
            order by lower(o.name), o.id limit $4) r"#,
        user_id,
        after.map(|(name, _)| name.clone()),
        after.map(|(_, id)| *id),
        limit,
    )
    .fetch_one(db)
    .await?;
    Ok(rows)
}

async fn organizations(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<OrganizationsQuery>,
) -> AppResult<Html<String>> {
    let after = params::after_text(&q.after)?;
    let mut rows =
        organizations_list(&state.db, user.id, after.as_ref(), ORGANIZATIONS_PAGE + 1).await?;
    let next = params::next_cursor(&mut rows, ORGANIZATIONS_PAGE, organization_cursor);
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
    /// Whether the page cut the list short (one more was read than is shown).
    more_open_items: bool,
    decisions: Vec<ItemView>,
    more_decisions: bool,
    picture: Picture,
    back: String,
}

/// How many open items and decisions an organization page lists.
const ORGANIZATION_LIST: i64 = 50;

/// The first `n` of a list read one longer than it is shown.
fn shown<T>(mut rows: Vec<T>, n: i64) -> Vec<T> {
    rows.truncate(n as usize);
    rows
}

/// An organization page in one statement. Its people are the most met 50; meetings, open items
/// and decisions come from those people's latest meetings and backlogs, a few each.
struct OrganizationData {
    organization: Json<OrganizationRow>,
    people: Json<Vec<PersonRow>>,
    meetings: Json<Vec<MeetingRow>>,
    open_items: Json<Vec<ItemView>>,
    decisions: Json<Vec<ItemView>>,
    near: Json<Vec<NearOrganization>>,
}

async fn organization(
    State(state): State<AppState>,
    user: SignedIn,
    notice: PageNotice,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let tz = time::zone(&user.time_zone);
    let data = sqlx::query_as!(OrganizationData, r#"with member as (
             select p.id from people p
             join person_stats s on s.person_id = p.id and s.user_id = p.user_id
             where p.user_id = $1 and p.organization_id = $2
             order by s.meeting_count desc, p.id limit 50),
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
                where m.status <> 'cancelled' and m.is_meeting and m.same_as is null
                order by m.starts_at desc limit 50) m), '[]') as "meetings!: Json<Vec<MeetingRow>>",
            coalesce((select json_agg(i) from (
                select i.* from member cross join lateral (
                    select * from item_rows i
                    where i.user_id = $1 and i.assignee_id = member.id and i.kind = 'action'
                      and not i.done and not i.removed
                    order by i.due nulls last limit 5) i
                order by i.due nulls last limit $4::bigint + 1) i), '[]') as "open_items!: Json<Vec<ItemView>>",
            coalesce((select json_agg(d) from (
                select i.* from recent join item_rows i
                    on i.user_id = $1 and i.meeting_id = recent.meeting_id
                where i.kind = 'decision' and not i.removed
                order by i.meeting_at desc, i.line limit $4::bigint + 1) d), '[]') as "decisions!: Json<Vec<ItemView>>",
            -- The picture: other organizations whose people were in the same latest meetings.
            coalesce((select json_agg(n) from (
                select o.id, o.name, count(distinct recent.meeting_id) as together
                from recent
                join attendees a on a.user_id = $1 and a.meeting_id = recent.meeting_id
                join people q on q.id = a.person_id
                join organizations o on o.id = q.organization_id
                where o.id <> $2
                group by o.id, o.name
                order by together desc, o.id limit $3) n), '[]') as "near!: Json<Vec<NearOrganization>>"
         from (select o.id, o.name, o.domain, o.people_count as people from organizations o
               where o.user_id = $1 and o.id = $2) org"#, user.id, id,
               picture::MOST_ORGANIZATIONS as i64, ORGANIZATION_LIST)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let organization = data.organization.0;
    let view = OrganizationPage {
        layout: Layout::for_user(&user, &organization.name, "organizations").with_notice(notice),
        back: format!("/organizations/{id}"),
        picture: picture::for_organization(&organization, &data.people.0, &data.near.0),
        organization,
        people: data.people.0,
        meetings: meetings::lines(data.meetings.0, tz),
        more_open_items: data.open_items.0.len() as i64 > ORGANIZATION_LIST,
        open_items: shown(data.open_items.0, ORGANIZATION_LIST),
        more_decisions: data.decisions.0.len() as i64 > ORGANIZATION_LIST,
        decisions: shown(data.decisions.0, ORGANIZATION_LIST),
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?))
}
