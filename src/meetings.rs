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
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, params},
    items::{self, ItemView},
    markdown,
    notes::{self, Saved, Target},
    time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/meetings", get(list))
        .route("/meetings/{id}", get(show))
        .route("/meetings/{id}/notes", post(save_notes))
}

/// One line of an agenda or a meeting list.
#[derive(Debug, Clone, FromRow)]
pub struct MeetingRow {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    pub start_date: Option<NaiveDate>,
    pub join_url: Option<String>,
    pub status: String,
    pub is_meeting: bool,
    pub people: String,
    pub people_count: i64,
    pub series_title: Option<String>,
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
        self.status == "cancelled"
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

/// The select list of [`MeetingRow`], to which callers add their conditions.
pub fn rows_query<'a>() -> QueryBuilder<'a, Postgres> {
    QueryBuilder::new(
        "select m.id, m.title, m.starts_at, m.ends_at, m.all_day, m.start_date, m.join_url, m.status, m.is_meeting,
            coalesce(who.people, '') as people, coalesce(who.people_count, 0) as people_count,
            s.title as series_title
         from meetings m
         left join series s on s.id = m.series_id
         -- One pass over each meeting's attendees for both the names and the count.
         left join lateral (
             select string_agg(coalesce(p.name, p.email), ', '
                               order by a.is_organizer desc, coalesce(p.name, p.email)) as people,
                    count(*) as people_count
             from attendees a join people p on p.id = a.person_id
             where a.meeting_id = m.id and not p.is_me) who on true
         where ",
    )
}

pub const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    when: Option<String>,
    from: Option<String>,
    to: Option<String>,
    person: Option<String>,
    organization: Option<String>,
    series: Option<String>,
    page: Option<String>,
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
    page: u32,
    has_next: bool,
    query_without_page: String,
}

async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let past = match q.when.as_deref() {
        None | Some("") | Some("upcoming") => false,
        Some("past") => true,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "when must be upcoming or past, not {other:?}."
            )));
        }
    };
    let from = params::optional_date("from", &q.from)?;
    let to = params::optional_date("to", &q.to)?;
    let person = params::optional_id("person", &q.person)?;
    let organization = params::optional_id("organization", &q.organization)?;
    let series = params::optional_id("series", &q.series)?;
    let page = params::page(&q.page)?;
    let tz = time::zone(&user.time_zone);

    let mut query = rows_query();
    query
        .push("m.user_id = ")
        .push_bind(user.id)
        .push(" and m.status <> 'cancelled'");
    let now = Utc::now();
    if past {
        query.push(" and m.starts_at < ").push_bind(now);
    } else {
        query.push(" and m.ends_at >= ").push_bind(now);
    }
    if let Some(from) = from {
        query
            .push(" and m.starts_at >= ")
            .push_bind(day_start(from, tz));
    }
    if let Some(to) = to {
        query
            .push(" and m.starts_at < ")
            .push_bind(day_start(to + Duration::days(1), tz));
    }
    if let Some(person) = person {
        query
            .push(
                " and exists (select 1 from attendees a where a.meeting_id = m.id and a.user_id = ",
            )
            .push_bind(user.id)
            .push(" and a.person_id = ")
            .push_bind(person)
            .push(")");
    }
    if let Some(organization) = organization {
        query
            .push(" and exists (select 1 from attendees a join people p on p.id = a.person_id where a.meeting_id = m.id and p.user_id = ")
            .push_bind(user.id)
            .push(" and p.organization_id = ")
            .push_bind(organization)
            .push(")");
    }
    if let Some(series) = series {
        query.push(" and m.series_id = ").push_bind(series);
    }
    query.push(if past {
        " order by m.starts_at desc"
    } else {
        " order by m.starts_at"
    });
    query
        .push(" limit ")
        .push_bind(PAGE_SIZE + 1)
        .push(" offset ")
        .push_bind(i64::from(page - 1) * PAGE_SIZE);
    let mut rows: Vec<MeetingRow> = query.build_query_as().fetch_all(&state.db).await?;
    let has_next = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);

    let filter_label = filter_label(&state.db, user.id, person, organization, series).await?;
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
        meetings: lines(rows, tz),
        past,
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        filter_label,
        page,
        has_next,
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

/// "with Charles Babbage", "at Acme", "in Ada / Charles 1:1": what a filter means, for the heading.
async fn filter_label(
    db: &PgPool,
    user_id: Uuid,
    person: Option<Uuid>,
    organization: Option<Uuid>,
    series: Option<Uuid>,
) -> AppResult<Option<String>> {
    if let Some(id) = person {
        let name: Option<String> = sqlx::query_scalar(
            "select coalesce(name, email) from people where id = $1 and user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(db)
        .await?;
        return Ok(Some(format!("with {}", name.ok_or(AppError::NotFound)?)));
    }
    if let Some(id) = organization {
        let name: Option<String> =
            sqlx::query_scalar("select name from organizations where id = $1 and user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(db)
                .await?;
        return Ok(Some(format!(
            "with people from {}",
            name.ok_or(AppError::NotFound)?
        )));
    }
    if let Some(id) = series {
        let name: Option<String> =
            sqlx::query_scalar("select title from series where id = $1 and user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(db)
                .await?;
        return Ok(Some(format!(
            "in the series “{}”",
            name.ok_or(AppError::NotFound)?
        )));
    }
    Ok(None)
}

#[derive(Debug, FromRow)]
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
    status: String,
    join_url: Option<String>,
    html_link: Option<String>,
    series_id: Option<Uuid>,
    series_title: Option<String>,
    calendar_name: String,
}

#[derive(Debug, FromRow)]
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

async fn load(db: &PgPool, user_id: Uuid, id: Uuid) -> AppResult<MeetingDetail> {
    sqlx::query_as(
        "select m.id, m.title, m.description, m.location, m.starts_at, m.ends_at, m.all_day, m.start_date, m.end_date,
                m.status, m.join_url, m.html_link, m.series_id, s.title as series_title, c.name as calendar_name
         from meetings m join calendars c on c.id = m.calendar_id left join series s on s.id = m.series_id
         where m.id = $1 and m.user_id = $2",
    )
    .bind(id)
    .bind(user_id)
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

pub async fn attendees(
    db: &PgPool,
    user_id: Uuid,
    meeting_id: Uuid,
) -> sqlx::Result<Vec<AttendeeView>> {
    sqlx::query_as(
        "select p.id as person_id, coalesce(p.name, p.email) as name, p.email, a.response_status, a.is_organizer, p.is_me,
                o.name as organization
         from attendees a join people p on p.id = a.person_id left join organizations o on o.id = p.organization_id
         where a.meeting_id = $1 and a.user_id = $2
         order by a.is_organizer desc, p.is_me, coalesce(p.name, p.email)",
    )
    .bind(meeting_id)
    .bind(user_id)
    .fetch_all(db)
    .await
}

async fn neighbour(
    db: &PgPool,
    user_id: Uuid,
    m: &MeetingDetail,
    later: bool,
) -> sqlx::Result<Option<(Uuid, String)>> {
    let Some(series) = m.series_id else {
        return Ok(None);
    };
    let sql = if later {
        "select id, starts_at from meetings where user_id = $1 and series_id = $2 and status <> 'cancelled' and starts_at > $3 order by starts_at limit 1"
    } else {
        "select id, starts_at from meetings where user_id = $1 and series_id = $2 and status <> 'cancelled' and starts_at < $3 order by starts_at desc limit 1"
    };
    let row: Option<(Uuid, DateTime<Utc>)> = sqlx::query_as(sql)
        .bind(user_id)
        .bind(series)
        .bind(m.starts_at)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|(id, at)| (id, time::day(at.date_naive()))))
}

async fn render_page(state: &AppState, user: &SignedIn, id: Uuid) -> AppResult<MeetingPage> {
    let tz = time::zone(&user.time_zone);
    let meeting = load(&state.db, user.id, id).await?;
    let note = notes::for_meeting(&state.db, user.id, id).await?;
    let (note_body, note_version) = note
        .as_ref()
        .map_or((String::new(), 0), |n| (n.body.clone(), n.version));
    let own = items::for_meeting(&state.db, user.id, id).await?;
    let (mut actions, mut decisions, mut questions) = (Vec::new(), Vec::new(), Vec::new());
    for item in own {
        match item.kind.as_str() {
            "decision" => decisions.push(item),
            "question" => questions.push(item),
            _ => actions.push(item),
        }
    }
    Ok(MeetingPage {
        layout: Layout::for_user(user, &meeting.title, "meetings"),
        when: when_label(&meeting, tz),
        description_html: markdown::description(&meeting.description),
        attendees: attendees(&state.db, user.id, id).await?,
        note_html: note
            .as_ref()
            .map(|n| markdown::render(&n.body))
            .unwrap_or_default(),
        note_body,
        note_version,
        actions,
        decisions,
        questions,
        carried: items::carried_forward(
            &state.db,
            user.id,
            id,
            meeting.starts_at,
            meeting.series_id,
        )
        .await?,
        previous: neighbour(&state.db, user.id, &meeting, false).await?,
        next: neighbour(&state.db, user.id, &meeting, true).await?,
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
            let meeting = load(&state.db, user.id, id).await?;
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
