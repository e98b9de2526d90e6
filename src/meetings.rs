//! Meetings: the filtered list, and the meeting page with its attendees, notes, items and what
//! carries forward from earlier meetings with the same people or of the same series.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, params},
    items::ItemView,
    kinds::{ItemKind, MeetingStatus},
    markdown,
    notes::{self, Saved, Target},
    time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/meetings", get(list_page))
        .route("/meetings/{id}", get(show))
        .route("/meetings/{id}/notes", post(save_notes))
}

/// One line of an agenda or a meeting list (a row of the `meeting_rows` view).
#[derive(Debug, Clone, Deserialize)]
pub struct MeetingRow {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    pub start_date: Option<NaiveDate>,
    pub join_url: Option<String>,
    pub status: MeetingStatus,
    pub is_meeting: bool,
    pub people: String,
    pub series_title: Option<String>,
    /// Lets lists collapse a series into one line (the person page's upcoming meetings).
    #[serde(default)]
    pub series_id: Option<Uuid>,
}

impl MeetingRow {
    pub fn local_day(&self, tz: Tz) -> NaiveDate {
        match (self.all_day, self.start_date) {
            (true, Some(d)) => d,
            _ => time::local_date(self.starts_at, tz),
        }
    }

    pub fn time_label(&self, tz: Tz) -> String {
        if self.all_day {
            "All day".into()
        } else {
            format!(
                "{}–{}",
                time::clock(self.starts_at, tz),
                time::clock(self.ends_at, tz)
            )
        }
    }

    pub fn title_or_untitled(&self) -> &str {
        if self.title.trim().is_empty() {
            "(no title)"
        } else {
            &self.title
        }
    }

    pub fn cancelled(&self) -> bool {
        self.status == MeetingStatus::Cancelled
    }

    /// "Charles Babbage, Mary Somerville and 3 more"
    pub fn people_label(&self) -> String {
        let names: Vec<&str> = self.people.split(", ").filter(|s| !s.is_empty()).collect();
        match names.len() {
            0 => String::new(),
            1..=3 => names.join(", "),
            n => format!("{} and {} more", names[..3].join(", "), n - 3),
        }
    }
}

/// A meeting row as shown in a template, with labels computed in the user's zone.
pub struct MeetingLine {
    pub row: MeetingRow,
    pub day: String,
    pub time: String,
}

pub fn lines(rows: Vec<MeetingRow>, tz: Tz) -> Vec<MeetingLine> {
    rows.into_iter()
        .map(|row| MeetingLine {
            day: time::day(row.local_day(tz)),
            time: row.time_label(tz),
            row,
        })
        .collect()
}

/// Agendas and lists find meetings by start time; an event that began more than this many days
/// before a window is not looked for in it (a long holiday block still shows for its first
/// five weeks).
pub const LONGEST_EVENT_DAYS: i32 = 35;

pub const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    when: Option<String>,
    from: Option<String>,
    to: Option<String>,
    person: Option<String>,
    organization: Option<String>,
    series: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "meetings.html")]
struct ListPage {
    layout: Layout,
    meetings: Vec<MeetingLine>,
    past: bool,
    from: String,
    to: String,
    filter_label: Option<String>,
    /// The next page's cursor, and whether this is a later page.
    next: Option<String>,
    paged: bool,
    query_without_page: String,
}

/// Which meetings a list shows: upcoming or past, between two days of the user's calendar, with
/// a person, people of an organization, or of a series. `None` means any.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeetingFilter {
    pub past: bool,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub person: Option<Uuid>,
    pub organization: Option<Uuid>,
    pub series: Option<Uuid>,
}

impl MeetingFilter {
    /// The filters as a query string writes them (the page's form, the API), each refused with
    /// a message naming it when it is not a valid value.
    pub fn parse(
        when: &Option<String>,
        from: &Option<String>,
        to: &Option<String>,
        person: &Option<String>,
        organization: &Option<String>,
        series: &Option<String>,
    ) -> AppResult<MeetingFilter> {
        let past = match when.as_deref() {
            None | Some("") | Some("upcoming") => false,
            Some("past") => true,
            Some(other) => {
                return Err(AppError::BadRequest(format!(
                    "when must be upcoming or past, not {other:?}."
                )));
            }
        };
        Ok(MeetingFilter {
            past,
            from: params::optional_date("from", from)?,
            to: params::optional_date("to", to)?,
            person: params::optional_id("person", person)?,
            organization: params::optional_id("organization", organization)?,
            series: params::optional_id("series", series)?,
        })
    }
}

/// Where a meetings list goes on: the last row's start and id.
pub type MeetingCursor = (DateTime<Utc>, Uuid);

/// One page of a meetings list, and what its filters name.
pub struct MeetingList {
    pub rows: Vec<MeetingRow>,
    /// Where the next page starts (a page link's `after`), when there is one.
    pub next: Option<String>,
    /// "with Ada Lovelace", for a filtered list's heading.
    pub filter_label: Option<String>,
}

/// The rows of [`list`]'s one statement, with the names its filters refer to.
struct ListData {
    rows: Json<Vec<MeetingRow>>,
    person: Option<String>,
    organization: Option<String>,
    series: Option<String>,
}

/// Up to `size` meetings matching `filter` after `after`, in one statement: past meetings
/// newest first, upcoming ones soonest first (a keyset, never OFFSET). A filter naming a person,
/// organization or series the user does not have is not found, like their pages.
pub async fn list(
    db: &PgPool,
    user_id: Uuid,
    tz: Tz,
    filter: &MeetingFilter,
    after: Option<MeetingCursor>,
    size: i64,
) -> AppResult<MeetingList> {
    let now = Utc::now();
    let from = filter.from.map(|d| day_start(d, tz));
    let until = filter.to.map(|d| day_start(d + Duration::days(1), tz));
    let (after_at, after_id) = (after.map(|(at, _)| at), after.map(|(_, id)| id));
    // The filters are optional (`null` means any) so each statement is one fixed text.
    let data = if filter.past {
        sqlx::query_as!(
            ListData,
            r#"select
    coalesce((select json_agg(r) from (
        select * from meeting_rows m
        where m.user_id = $1 and m.status <> 'cancelled' and m.starts_at < $2
          and ($3::timestamptz is null or m.starts_at >= $3)
          and ($4::timestamptz is null or m.starts_at < $4)
          and ($5::uuid is null or exists (select 1 from attendees a
                where a.user_id = $1 and a.meeting_id = m.id and a.person_id = $5))
          and ($6::uuid is null or exists (select 1 from attendees a join people p on p.id = a.person_id
                where a.user_id = $1 and a.meeting_id = m.id and p.organization_id = $6))
          and ($7::uuid is null or m.series_id = $7)
          and ($8::timestamptz is null or (m.starts_at, m.id) < ($8, $9))
        order by m.starts_at desc, m.id desc limit $10) r), '[]') as "rows!: Json<Vec<MeetingRow>>",
    (select coalesce(name, email) from people where user_id = $1 and id = $5) as person,
    (select name from organizations where user_id = $1 and id = $6) as organization,
    (select title from series where user_id = $1 and id = $7) as series"#,
            user_id,
            now,
            from,
            until,
            filter.person,
            filter.organization,
            filter.series,
            after_at,
            after_id,
            size + 1,
        )
        .fetch_one(db)
        .await?
    } else {
        sqlx::query_as!(
            ListData,
            r#"select
    coalesce((select json_agg(r) from (
        select * from meeting_rows m
        where m.user_id = $1 and m.status <> 'cancelled'
          and m.starts_at >= $2::timestamptz - make_interval(days => $11) and m.ends_at >= $2
          and ($3::timestamptz is null or m.starts_at >= $3)
          and ($4::timestamptz is null or m.starts_at < $4)
          and ($5::uuid is null or exists (select 1 from attendees a
                where a.user_id = $1 and a.meeting_id = m.id and a.person_id = $5))
          and ($6::uuid is null or exists (select 1 from attendees a join people p on p.id = a.person_id
                where a.user_id = $1 and a.meeting_id = m.id and p.organization_id = $6))
          and ($7::uuid is null or m.series_id = $7)
          and ($8::timestamptz is null or (m.starts_at, m.id) > ($8, $9))
        order by m.starts_at, m.id limit $10) r), '[]') as "rows!: Json<Vec<MeetingRow>>",
    (select coalesce(name, email) from people where user_id = $1 and id = $5) as person,
    (select name from organizations where user_id = $1 and id = $6) as organization,
    (select title from series where user_id = $1 and id = $7) as series"#,
            user_id,
            now,
            from,
            until,
            filter.person,
            filter.organization,
            filter.series,
            after_at,
            after_id,
            size + 1,
            LONGEST_EVENT_DAYS,
        )
        .fetch_one(db)
        .await?
    };
    let mut rows = data.rows.0;
    let next = params::next_cursor(&mut rows, size, |m| params::time_cursor(m.starts_at, m.id));
    let missing = |name: Option<String>| name.ok_or(AppError::NotFound);
    let filter_label = match (filter.person, filter.organization, filter.series) {
        (Some(_), _, _) => Some(format!("with {}", missing(data.person)?)),
        (_, Some(_), _) => Some(format!("with people from {}", missing(data.organization)?)),
        (_, _, Some(_)) => Some(format!("in the series “{}”", missing(data.series)?)),
        _ => None,
    };
    Ok(MeetingList {
        rows,
        next,
        filter_label,
    })
}

async fn list_page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let filter = MeetingFilter::parse(
        &q.when,
        &q.from,
        &q.to,
        &q.person,
        &q.organization,
        &q.series,
    )?;
    let after = params::after_time(&q.after)?;
    let tz = time::zone(&user.time_zone);
    let list = list(&state.db, user.id, tz, &filter, after, PAGE_SIZE).await?;
    let query_without_page = {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("when", &q.when),
            ("from", &q.from),
            ("to", &q.to),
            ("person", &q.person),
            ("organization", &q.organization),
            ("series", &q.series),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                pairs.append_pair(k, v);
            }
        }
        pairs.finish()
    };
    let page_view = ListPage {
        layout: Layout::for_user(&user, "Meetings", "meetings"),
        meetings: lines(list.rows, tz),
        past: filter.past,
        from: filter.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filter.to.map(|d| d.to_string()).unwrap_or_default(),
        filter_label: list.filter_label,
        next: list.next,
        paged: after.is_some(),
        query_without_page,
    };
    Ok(Html(page_view.render().map_err(anyhow::Error::from)?))
}

fn day_start(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map_or_else(
            || date.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

#[derive(Debug)]
struct MeetingDetail {
    id: Uuid,
    title: String,
    description: String,
    location: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    all_day: bool,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    status: MeetingStatus,
    join_url: Option<String>,
    html_link: Option<String>,
    series_id: Option<Uuid>,
    series_title: Option<String>,
    calendar_name: String,
}

/// The meeting page's data in one statement: the meeting, its note, attendees and items, what
/// carries forward, and its neighbours in the series.
pub struct MeetingData {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub status: MeetingStatus,
    pub join_url: Option<String>,
    pub html_link: Option<String>,
    pub series_id: Option<Uuid>,
    pub series_title: Option<String>,
    pub calendar_name: String,
    pub note_body: Option<String>,
    pub note_version: Option<i32>,
    pub attendees: Json<Vec<AttendeeView>>,
    pub items: Json<Vec<ItemView>>,
    pub carried: Json<Vec<ItemView>>,
    pub previous: Option<Json<Neighbour>>,
    pub next: Option<Json<Neighbour>>,
}

impl MeetingData {
    /// The meeting itself, taken out of the page's data.
    fn detail(&mut self) -> MeetingDetail {
        MeetingDetail {
            id: self.id,
            title: std::mem::take(&mut self.title),
            description: std::mem::take(&mut self.description),
            location: std::mem::take(&mut self.location),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            all_day: self.all_day,
            start_date: self.start_date,
            end_date: self.end_date,
            status: self.status,
            join_url: self.join_url.take(),
            html_link: self.html_link.take(),
            series_id: self.series_id,
            series_title: self.series_title.take(),
            calendar_name: std::mem::take(&mut self.calendar_name),
        }
    }
}

/// The previous or next meeting of a series.
#[derive(Deserialize)]
pub struct Neighbour {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
}

/// Items carried forward are read from at most this many earlier meetings of the series, and at
/// most [`CARRIED_PER_PERSON`] open items of each attendee: bounded however long the history.
const CARRIED_FROM_SERIES: i64 = 10;
const CARRIED_PER_PERSON: i64 = 5;

#[derive(Debug, Deserialize)]
pub struct AttendeeView {
    pub person_id: Uuid,
    pub name: String,
    pub email: String,
    pub response_status: String,
    pub is_organizer: bool,
    pub is_me: bool,
    pub organization: Option<String>,
}

impl AttendeeView {
    pub fn response_label(&self) -> &'static str {
        match self.response_status.as_str() {
            "accepted" => "Accepted",
            "declined" => "Declined",
            "tentative" => "Maybe",
            _ => "No response",
        }
    }
}

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage {
    layout: Layout,
    meeting: MeetingDetail,
    when: String,
    description_html: String,
    attendees: Vec<AttendeeView>,
    note_body: String,
    note_version: i32,
    note_html: String,
    actions: Vec<ItemView>,
    decisions: Vec<ItemView>,
    questions: Vec<ItemView>,
    carried: Vec<ItemView>,
    previous: Option<(Uuid, String)>,
    next: Option<(Uuid, String)>,
    back: String,
}

/// Everything the meeting page shows, or not found when the meeting is not the user's.
pub async fn load(db: &PgPool, user_id: Uuid, id: Uuid) -> AppResult<MeetingData> {
    sqlx::query_as!(
        MeetingData,
        r#"select m.id, m.title, m.description, m.location, m.starts_at, m.ends_at, m.all_day,
        m.start_date, m.end_date, m.status as "status: MeetingStatus", m.join_url, m.html_link, m.series_id,
        s.title as "series_title?", c.name as calendar_name,
        n.body as "note_body?", n.version as "note_version?",
        coalesce((select json_agg(a) from (
            select p.id as person_id, coalesce(p.name, p.email) as name, p.email, a.response_status,
                   a.is_organizer, p.is_me, o.name as organization
            from attendees a join people p on p.id = a.person_id
            left join organizations o on o.id = p.organization_id
            where a.meeting_id = m.id and a.user_id = $1
            order by a.is_organizer desc, p.is_me, coalesce(p.name, p.email)) a), '[]') as "attendees!: Json<Vec<AttendeeView>>",
        coalesce((select json_agg(i) from (
            select * from item_rows i
            where i.user_id = $1 and i.meeting_id = m.id and not i.removed
            order by i.line) i), '[]') as "items!: Json<Vec<ItemView>>",
        -- What carries forward: open items, open questions and recent decisions from the last
        -- meetings of the series, and what the other attendees still owe from anywhere.
        coalesce((select json_agg(c) from (
            select * from item_rows i
            where i.user_id = $1 and not i.removed and i.meeting_at < m.starts_at
              and ((i.kind in ('action', 'question') and not i.done)
                   or (i.kind = 'decision' and i.meeting_at > m.starts_at - interval '60 days'))
              and i.id in (
                  select si.id from (
                      select e.id from meetings e
                      where e.user_id = $1 and e.series_id = m.series_id and e.starts_at < m.starts_at
                      order by e.starts_at desc limit $3) e
                  join items si on si.user_id = $1 and si.meeting_id = e.id and not si.removed
                  union all
                  select owed.id from attendees a
                  join people p on p.id = a.person_id and not p.is_me
                  cross join lateral (
                      select oi.id from items oi
                      where oi.user_id = $1 and oi.assignee_id = a.person_id and oi.kind = 'action'
                        and not oi.done and not oi.removed
                      order by oi.due nulls last limit $4) owed
                  where a.meeting_id = m.id and a.user_id = $1)
            order by i.meeting_at desc, i.line limit 30) c), '[]') as "carried!: Json<Vec<ItemView>>",
        (select json_build_object('id', e.id, 'starts_at', e.starts_at) from meetings e
         where e.user_id = $1 and e.series_id = m.series_id and e.status <> 'cancelled'
           and e.starts_at < m.starts_at
         order by e.starts_at desc limit 1) as "previous: Json<Neighbour>",
        (select json_build_object('id', e.id, 'starts_at', e.starts_at) from meetings e
         where e.user_id = $1 and e.series_id = m.series_id and e.status <> 'cancelled'
           and e.starts_at > m.starts_at
         order by e.starts_at limit 1) as "next: Json<Neighbour>"
     from meetings m
     join calendars c on c.id = m.calendar_id
     left join series s on s.id = m.series_id
     left join notes n on n.user_id = m.user_id and n.meeting_id = m.id
     where m.id = $2 and m.user_id = $1"#,
        user_id,
        id,
        CARRIED_FROM_SERIES,
        CARRIED_PER_PERSON,
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

fn when_label(m: &MeetingDetail, tz: Tz) -> String {
    match (m.all_day, m.start_date, m.end_date) {
        (true, Some(start), Some(end)) if end - start > Duration::days(1) => {
            format!(
                "{} – {} (all day)",
                time::long_day(start),
                time::long_day(end - Duration::days(1))
            )
        }
        (true, Some(start), _) => format!("{} (all day)", time::long_day(start)),
        _ => format!(
            "{}, {}–{} ({})",
            time::long_day(time::local_date(m.starts_at, tz)),
            time::clock(m.starts_at, tz),
            time::clock(m.ends_at, tz),
            tz.name()
        ),
    }
}

async fn render_page(state: &AppState, user: &SignedIn, id: Uuid) -> AppResult<MeetingPage> {
    let tz = time::zone(&user.time_zone);
    let mut data = load(&state.db, user.id, id).await?;
    let meeting = data.detail();
    let note_body = data.note_body.unwrap_or_default();
    let (mut actions, mut decisions, mut questions) = (Vec::new(), Vec::new(), Vec::new());
    for item in data.items.0 {
        match item.kind {
            ItemKind::Decision => decisions.push(item),
            ItemKind::Question => questions.push(item),
            ItemKind::Action => actions.push(item),
        }
    }
    let neighbour =
        |n: Option<Json<Neighbour>>| n.map(|n| (n.0.id, time::day(n.0.starts_at.date_naive())));
    Ok(MeetingPage {
        layout: Layout::for_user(user, &meeting.title, "meetings"),
        when: when_label(&meeting, tz),
        description_html: markdown::description(&meeting.description),
        attendees: data.attendees.0,
        note_html: markdown::render(&note_body),
        note_body,
        note_version: data.note_version.unwrap_or(0),
        actions,
        decisions,
        questions,
        carried: data.carried.0,
        previous: neighbour(data.previous),
        next: neighbour(data.next),
        back: format!("/meetings/{id}"),
        meeting,
    })
}

async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let id = params::id(&id)?;
    let page = render_page(&state, &user, id).await?;
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

#[derive(Deserialize)]
pub struct NoteForm {
    pub body: String,
    pub base_version: String,
}

/// Two tabs, one note: the later save sees both texts instead of overwriting.
#[derive(Template)]
#[template(path = "conflict.html")]
pub struct ConflictPage {
    pub layout: Layout,
    pub action: String,
    pub yours: String,
    pub theirs: String,
    pub version: i32,
    pub back: String,
}

pub fn base_version(raw: &str) -> AppResult<i32> {
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| {
            AppError::BadRequest(
                "The note's version is missing or invalid. Reload the page and try again.".into(),
            )
        })
}

async fn save_notes(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let base = base_version(&form.base_version)?;
    match notes::save(
        &state.db,
        user.id,
        &user.time_zone,
        Target::Meeting(id),
        "",
        &form.body,
        base,
    )
    .await?
    {
        Saved::Saved(_) => Ok(Redirect::to(&format!("/meetings/{id}#notes")).into_response()),
        Saved::NotFound => Err(AppError::NotFound),
        Saved::Conflict { current } => {
            let meeting = load(&state.db, user.id, id).await?.detail();
            let page = ConflictPage {
                layout: Layout::for_user(
                    &user,
                    &format!("Merge notes: {}", meeting.title),
                    "meetings",
                ),
                action: format!("/meetings/{id}/notes"),
                yours: form.body,
                theirs: current.body,
                version: current.version,
                back: format!("/meetings/{id}"),
            };
            Ok((
                StatusCode::CONFLICT,
                Html(page.render().map_err(anyhow::Error::from)?),
            )
                .into_response())
        }
    }
}
