//! Meetings: the filtered list, and the meeting page with its attendees, notes, items and what
//! carries forward from earlier meetings with the same people or of the same series.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, notice::PageNotice, params},
    items::ItemView,
    kinds::{ItemKind, MeetingStatus},
    markdown,
    notes::{
        self,
        drafts::{Draft, DraftKey, Editor},
    },
    page_cache::Lasts,
    recap::{self, Recap, RecapSource},
    time,
};
use axum::body::Bytes;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/meetings", get(list_page))
        .route("/meetings/{id}", get(show))
        .route("/meetings/{id}/notes", post(save_notes))
}

/// One line of an agenda or a meeting list (a row of the `meeting_rows` view).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// On a list that collapses series: how many listed meetings of its series this row stands
    /// for, itself included (counted to [`SERIES_COUNT_CAP`]).
    #[serde(default)]
    pub in_series: Option<i64>,
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

    /// "next of 12", "next of 100+" for a collapsed series row; nothing for a lone meeting.
    pub fn series_label(&self) -> Option<String> {
        match self.in_series {
            Some(n) if n >= SERIES_COUNT_CAP => Some(format!("next of {SERIES_COUNT_CAP}+")),
            Some(n) if n > 1 => Some(format!("next of {n}")),
            _ => None,
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

/// A collapsed series counts its meetings up to this many ("100+"): a daily stand-up over a long
/// sync window is not worth reading whole to print a number.
pub const SERIES_COUNT_CAP: i64 = 100;

/// How many meetings one page of the collapsed upcoming list looks through. A page stops early
/// (with a link onwards) when this many in a row are later meetings of series already shown, so
/// its cost stays bounded whatever the calendar holds.
const COLLAPSE_SCAN: i64 = 500;

#[derive(Debug, Deserialize, Default)]
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
#[derive(Clone, Serialize)]
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
          and m.is_meeting and m.same_as is null
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
        where m.user_id = $1 and m.status <> 'cancelled' and m.is_meeting and m.same_as is null
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
    Ok(MeetingList {
        rows,
        next,
        filter_label: filter_label(filter, data.person, data.organization, data.series)?,
    })
}

/// "with Ada Lovelace": what a list's filters name, or not found when a filter names a person,
/// organization or series the user does not have.
fn filter_label(
    filter: &MeetingFilter,
    person: Option<String>,
    organization: Option<String>,
    series: Option<String>,
) -> AppResult<Option<String>> {
    let missing = |name: Option<String>| name.ok_or(AppError::NotFound);
    Ok(match (filter.person, filter.organization, filter.series) {
        (Some(_), _, _) => Some(format!("with {}", missing(person)?)),
        (_, Some(_), _) => Some(format!("with people from {}", missing(organization)?)),
        (_, _, Some(_)) => Some(format!("in the series “{}”", missing(series)?)),
        _ => None,
    })
}

/// [`upcoming_collapsed`]'s one statement: the rows, how far the page looked, and the names
/// its filters refer to.
struct CollapsedData {
    rows: Json<Vec<MeetingRow>>,
    scan_end: Option<Json<MeetingCursor>>,
    person: Option<String>,
    organization: Option<String>,
}

/// The upcoming list as the page shows it: a series is one row, its next meeting, with how many
/// of its meetings match (`in_series`); one-off meetings are rows of their own. Keyset-paged like
/// [`list`]: a series' row is its first matching meeting, so a later page never repeats it. One
/// statement, looking through at most [`COLLAPSE_SCAN`] meetings.
pub async fn upcoming_collapsed(
    db: &PgPool,
    user_id: Uuid,
    tz: Tz,
    filter: &MeetingFilter,
    after: Option<MeetingCursor>,
    size: i64,
) -> AppResult<MeetingList> {
    debug_assert!(!filter.past && filter.series.is_none());
    let now = Utc::now();
    let from = filter.from.map(|d| day_start(d, tz));
    let until = filter.to.map(|d| day_start(d + Duration::days(1), tz));
    let (after_at, after_id) = (after.map(|(at, _)| at), after.map(|(_, id)| id));
    // The statement lives in `meetings_page` (migrations/0037), which keeps one plan for every
    // call. There `matching` is written once and inlined wherever it is used, so a series'
    // earlier meeting and its count are index probes on (user_id, series_id, starts_at).
    let data = sqlx::query_as!(
        CollapsedData,
        r#"select listed as "rows!: Json<Vec<MeetingRow>>", scan_end as "scan_end: Json<MeetingCursor>",
                  person_name as person, organization_name as organization
           from meetings_page($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"#,
        user_id,
        now,
        from,
        until,
        filter.person,
        filter.organization,
        after_at,
        after_id,
        LONGEST_EVENT_DAYS,
        COLLAPSE_SCAN,
        size + 1,
        SERIES_COUNT_CAP,
    )
    .fetch_one(db)
    .await?;
    let mut rows = data.rows.0;
    let mut next = params::next_cursor(&mut rows, size, |m| params::time_cursor(m.starts_at, m.id));
    // A page that looked as far as it may goes on from where it stopped looking.
    if next.is_none() {
        next = data
            .scan_end
            .map(|Json((at, id))| params::time_cursor(at, id));
    }
    Ok(MeetingList {
        rows,
        next,
        filter_label: filter_label(filter, data.person, data.organization, None)?,
    })
}

async fn list_page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<Bytes>> {
    let html = state
        .page_cache
        .html(
            &user,
            "meetings",
            format!("{q:?}"),
            &PageNotice::default(),
            list_html(&state, &user, q),
        )
        .await?;
    Ok(Html(html))
}

async fn list_html(state: &AppState, user: &SignedIn, q: ListQuery) -> AppResult<String> {
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
    // Upcoming meetings of a series are alike until they happen: one row says when the next is.
    // Past ones each hold their own notes, and a series' own list shows every meeting.
    let load = async {
        if filter.past || filter.series.is_some() {
            list(&state.db, user.id, tz, &filter, after, PAGE_SIZE).await
        } else {
            upcoming_collapsed(&state.db, user.id, tz, &filter, after, PAGE_SIZE).await
        }
    };
    let params = format!("{tz}/{filter:?}/{after:?}");
    let list = state
        .page_cache
        .get_or_load(user, "meetings", params, Lasts::ForTheMinute, load)
        .await?;
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
        layout: Layout::for_user(user, "Meetings", "meetings"),
        meetings: lines(list.rows, tz),
        past: filter.past,
        from: filter.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filter.to.map(|d| d.to_string()).unwrap_or_default(),
        filter_label: list.filter_label,
        next: list.next,
        paged: after.is_some(),
        query_without_page,
    };
    Ok(page_view.render().map_err(anyhow::Error::from)?)
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
    calendar_names: Vec<String>,
}

/// The meeting page's data in one statement: the meeting, its note, attendees and items, what
/// carries forward, and its neighbours in the series.
#[derive(Clone, Serialize)]
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
    /// Every calendar the invitation is on, the canonical copy's first.
    pub calendar_names: Vec<String>,
    pub note_id: Option<Uuid>,
    pub note_body: Option<String>,
    pub note_version: Option<i32>,
    pub note_updated_at: Option<DateTime<Utc>>,
    pub draft_title: Option<String>,
    pub draft_body: Option<String>,
    pub draft_base_version: Option<i32>,
    pub draft_saved_at: Option<DateTime<Utc>>,
    pub attendees: Json<Vec<AttendeeView>>,
    pub items: Json<Vec<ItemView>>,
    pub carried: Json<Vec<ItemView>>,
    pub template_body: Option<String>,
    pub recap_sent_at: Option<DateTime<Utc>>,
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
            calendar_names: std::mem::take(&mut self.calendar_names),
        }
    }
}

/// The previous or next meeting of a series.
#[derive(Clone, Serialize, Deserialize)]
pub struct Neighbour {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
}

/// Items carried forward are read from at most this many earlier meetings of the series, and at
/// most [`CARRIED_PER_PERSON`] open items of each attendee: bounded however long the history.
pub const CARRIED_FROM_SERIES: i32 = 10;
pub const CARRIED_PER_PERSON: i32 = 5;

/// How many agenda items an upcoming meeting shows before "N more".
const AGENDA_SHOWN: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The note's editor: the saved text or a draft restored, and the save state.
    editor: Editor,
    /// The saved note (none before the first save), for its version history.
    note_id: Option<Uuid>,
    note_html: String,
    actions: Vec<ItemView>,
    decisions: Vec<ItemView>,
    questions: Vec<ItemView>,
    /// An upcoming meeting shows what carries forward at the top, as its agenda: the first
    /// [`AGENDA_SHOWN`] items, the rest behind "N more".
    upcoming: bool,
    /// Started meetings offer the recap.
    started: bool,
    carried: Vec<ItemView>,
    carried_more: Vec<ItemView>,
    /// The series' note template, for its editor.
    template_body: Option<String>,
    /// The note editor holds the series template (the meeting has no note yet).
    from_template: bool,
    recap: Recap,
    recap_sent: Option<String>,
    previous: Option<(Uuid, String)>,
    next: Option<(Uuid, String)>,
    back: String,
}

/// Everything the meeting page shows, or not found when the meeting is not the user's. The id
/// of a copy of an invitation (the same meeting on another calendar) gives its canonical
/// meeting: the returned `id` then differs from the one asked for.
pub async fn load(db: &PgPool, user_id: Uuid, id: Uuid) -> AppResult<MeetingData> {
    // The statement lives in `meeting_page` (migrations/0031), which keeps one plan for every
    // meeting: planning it for each call's values cost more than running it at scale 10.
    sqlx::query_as!(
        MeetingData,
        r#"select id as "id!", title as "title!", description as "description!",
                  location as "location!", starts_at as "starts_at!", ends_at as "ends_at!",
                  all_day as "all_day!", start_date, end_date, status as "status!: MeetingStatus",
                  join_url, html_link, series_id, series_title,
                  calendar_names as "calendar_names!", note_id, note_body, note_version,
                  note_updated_at, draft_title, draft_body, draft_base_version, draft_saved_at,
                  attendees as "attendees!: Json<Vec<AttendeeView>>",
                  items as "items!: Json<Vec<ItemView>>", carried as "carried!: Json<Vec<ItemView>>",
                  template_body, recap_sent_at, previous as "previous: Json<Neighbour>",
                  next as "next: Json<Neighbour>"
           from meeting_page($1, $2, $3, $4)"#,
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

async fn render_page(
    state: &AppState,
    user: &SignedIn,
    id: Uuid,
    notice: PageNotice,
) -> AppResult<MeetingPage> {
    let tz = time::zone(&user.time_zone);
    let mut data = state
        .page_cache
        .get_or_load(
            user,
            "meeting",
            id.to_string(),
            Lasts::UntilChange,
            load(&state.db, user.id, id),
        )
        .await?;
    let meeting = data.detail();
    // A meeting without a note yet starts from its series' template.
    let from_template = data.note_body.is_none() && data.template_body.is_some();
    let note_body = match (data.note_body, &data.template_body) {
        (Some(body), _) => body,
        (None, Some(template)) => template.clone(),
        (None, None) => String::new(),
    };
    let draft = Draft::joined(
        data.draft_title,
        data.draft_body,
        data.draft_base_version,
        data.draft_saved_at,
    );
    let (mut actions, mut decisions, mut questions) = (Vec::new(), Vec::new(), Vec::new());
    for item in data.items.0 {
        match item.kind {
            ItemKind::Decision => decisions.push(item),
            ItemKind::Question => questions.push(item),
            ItemKind::Action => actions.push(item),
        }
    }
    let upcoming = meeting.ends_at > Utc::now();
    let mut carried = data.carried.0;
    let carried_more = if upcoming && carried.len() > AGENDA_SHOWN {
        carried.split_off(AGENDA_SHOWN)
    } else {
        Vec::new()
    };
    let when = when_label(&meeting, tz);
    let recap = recap::build(&RecapSource {
        title: &meeting.title,
        when: &when,
        attendees: &data.attendees.0,
        decisions: &decisions,
        actions: &actions,
        questions: &questions,
    });
    let neighbour =
        |n: Option<Json<Neighbour>>| n.map(|n| (n.0.id, time::day(n.0.starts_at.date_naive())));
    Ok(MeetingPage {
        layout: Layout::for_user(user, &meeting.title, "meetings").with_notice(notice),
        when,
        description_html: markdown::description(&meeting.description),
        attendees: data.attendees.0,
        note_html: if from_template {
            String::new()
        } else {
            markdown::render(&note_body)
        },
        editor: Editor::open(
            DraftKey::Meeting(id),
            String::new(),
            note_body,
            data.note_version.unwrap_or(0),
            data.note_updated_at,
            draft,
            tz,
        ),
        note_id: data.note_id,
        actions,
        decisions,
        questions,
        upcoming,
        started: meeting.starts_at <= Utc::now(),
        carried,
        carried_more,
        template_body: data.template_body,
        from_template,
        recap,
        recap_sent: data.recap_sent_at.map(|at| {
            format!(
                "{} at {}",
                time::day(time::local_date(at, tz)),
                time::clock(at, tz)
            )
        }),
        previous: neighbour(data.previous),
        next: neighbour(data.next),
        back: format!("/meetings/{}", meeting.id),
        meeting,
    })
}

async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    notice: PageNotice,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let render = async {
        let page = render_page(&state, &user, id, notice.clone()).await?;
        // A copy of an invitation on another calendar is shown at its canonical meeting's
        // address.
        if page.meeting.id != id {
            return Ok(Err(page.meeting.id));
        }
        AppResult::Ok(Ok(page.render().map_err(anyhow::Error::from)?))
    };
    let shown = state
        .page_cache
        .html(&user, "meeting", id.to_string(), &notice, render)
        .await?;
    Ok(match shown {
        Ok(html) => Html(html).into_response(),
        Err(canonical) => Redirect::to(&format!("/meetings/{canonical}")).into_response(),
    })
}

#[derive(Deserialize)]
pub struct NoteForm {
    pub body: String,
    pub base_version: String,
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
    // A conflict keeps the text as a draft and sends the browser to the merge view.
    notes::merge::save_edit(&state, &user, DraftKey::Meeting(id), "", &form.body, base).await
}
