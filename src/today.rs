//! Today: the day's agenda and the next days, beside the open action items that need
//! follow-up (overdue or due within a week).

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppResult, layout::Layout, notice::PageNotice},
    items::ItemView,
    meetings::{self, MeetingLine, MeetingRow},
    page_cache::Lasts,
    time,
};

/// One day of the agenda: its meetings, and the calendar entries that are not meetings (focus
/// time, out of office, a working location) as thin lines of context among them.
pub struct Day {
    pub label: String,
    pub today: bool,
    pub meetings: Vec<MeetingLine>,
}

impl Day {
    pub fn has_meetings(&self) -> bool {
        self.meetings.iter().any(|m| m.row.is_meeting)
    }
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    layout: Layout,
    heading: String,
    days: Vec<Day>,
    follow_up: Vec<ItemView>,
    /// The next meeting, when it is, and how many more agenda items it has than shown.
    prep: Option<(Prep, String, usize)>,
    /// With the day each was on.
    wrap_up: Vec<(WrapUp, String)>,
    wrap_up_more: usize,
    wrap_up_capped: bool,
    /// "12 more", when there are follow-up items beyond those shown ("270+ more" past the count).
    follow_up_more: Option<String>,
    next_meeting: Option<uuid::Uuid>,
    back: String,
}

const DAYS_AHEAD: i64 = 7;

/// Follow-up items listed beside the agenda, and how far the rest are counted ("N more").
const FOLLOW_UP_SHOWN: i64 = 30;
const FOLLOW_UP_COUNTED: i64 = 300;

pub async fn page(state: AppState, user: SignedIn, notice: PageNotice) -> AppResult<Response> {
    let html = state
        .page_cache
        .html(
            &user,
            "today",
            String::new(),
            &notice,
            render(&state, &user, notice.clone()),
        )
        .await?;
    Ok(Html(html).into_response())
}

async fn render(state: &AppState, user: &SignedIn, notice: PageNotice) -> AppResult<String> {
    let tz = time::zone(&user.time_zone);
    let now = Utc::now();
    let today = time::local_date(now, tz);
    let start = midnight(today, tz);
    let end = midnight(today + Duration::days(DAYS_AHEAD), tz);
    // Within a minute, and until the user's data changes, the same page.
    let data = state
        .page_cache
        .get_or_load(
            user,
            "today",
            format!("{start}/{end}"),
            Lasts::ForTheMinute,
            agenda(
                &state.db,
                user.id,
                start,
                end,
                today + Duration::days(7),
                now,
            ),
        )
        .await?;
    let rows = data.agenda.0;
    let next_meeting = rows
        .iter()
        .find(|m| m.is_meeting && !m.all_day && m.ends_at > now)
        .map(|m| m.id);
    let mut days: Vec<Day> = (0..DAYS_AHEAD)
        .map(|offset| {
            let date = today + Duration::days(offset);
            Day {
                label: match offset {
                    0 => format!("Today · {}", time::day(date)),
                    1 => format!("Tomorrow · {}", time::day(date)),
                    _ => time::long_day(date),
                },
                today: offset == 0,
                meetings: Vec::new(),
            }
        })
        .collect();
    for line in meetings::lines(rows, tz) {
        // Multi-day all-day events appear on their first visible day.
        let offset = (line.row.local_day(tz) - today)
            .num_days()
            .clamp(0, DAYS_AHEAD - 1);
        days[offset as usize].meetings.push(line);
    }

    let follow_up = data.follow_up.0;
    let prep = data.prep.map(|Json(prep)| {
        let more = prep.more;
        let date = time::local_date(prep.starts_at, tz);
        let day = match (date - today).num_days() {
            0 => "today".to_owned(),
            1 => "tomorrow".to_owned(),
            _ => time::day(date),
        };
        let when = format!("{day} at {}", time::clock(prep.starts_at, tz));
        (prep, when, more)
    });
    let wrap_up_more = usize::try_from(data.wrap_up_total)
        .unwrap_or(0)
        .saturating_sub(data.wrap_up.0.len());
    let wrap_up = data
        .wrap_up
        .0
        .into_iter()
        .map(|m| {
            let day = time::day(time::local_date(m.starts_at, tz));
            (m, day)
        })
        .collect();
    let more = data.follow_up_counted - follow_up.len() as i64;
    let follow_up_more = match more {
        0 => None,
        _ if data.follow_up_counted >= FOLLOW_UP_COUNTED => Some(format!("{more}+ more")),
        _ => Some(format!("{more} more")),
    };

    let page = TodayPage {
        layout: Layout::for_user(user, "Today", "today").with_notice(notice),
        heading: time::long_day(today),
        days,
        follow_up,
        prep,
        wrap_up,
        wrap_up_more,
        wrap_up_capped: data.wrap_up_total >= WRAP_UP_COUNTED,
        follow_up_more,
        next_meeting,
        back: "/".into(),
    };
    Ok(page.render().map_err(anyhow::Error::from)?)
}

/// Everything Today shows, in one statement: the meetings overlapping the window and the open
/// action items due by `due_by`.
#[derive(Clone, Serialize)]
struct Agenda {
    agenda: Json<Vec<MeetingRow>>,
    follow_up: Json<Vec<ItemView>>,
    prep: Option<Json<Prep>>,
    /// The first [`WRAP_UP_SHOWN`] meetings waiting for a wrap-up, and how many wait, counted up
    /// to [`WRAP_UP_COUNTED`].
    wrap_up: Json<Vec<WrapUp>>,
    wrap_up_total: i64,
    /// The items due by then, counted up to [`FOLLOW_UP_COUNTED`] (an index range).
    follow_up_counted: i64,
}

/// The next meeting and what is open with its people (its agenda, ranked as on its page).
#[derive(Clone, Serialize, Deserialize)]
pub struct Prep {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub people: String,
    /// The first [`PREP_SHOWN`] items of its agenda, and how many more it has (up to
    /// [`PREP_COUNTED`] in all).
    pub items: Vec<ItemView>,
    pub more: usize,
}

/// A recent meeting still waiting for its notes or its recap.
#[derive(Clone, Serialize, Deserialize)]
pub struct WrapUp {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub has_notes: bool,
    pub recap_sent: bool,
}

impl WrapUp {
    pub fn title_or_untitled(&self) -> &str {
        if self.title.trim().is_empty() {
            "(no title)"
        } else {
            &self.title
        }
    }

    pub fn missing(&self) -> &'static str {
        match (self.has_notes, self.recap_sent) {
            (false, false) => "No notes, no recap",
            (false, true) => "No notes",
            _ => "Recap not sent",
        }
    }
}

/// Today's prep lists this many agenda items of the next meeting before "N more".
const PREP_SHOWN: i32 = 5;
const PREP_COUNTED: i32 = 30;
/// Meetings of the last week waiting for notes or a recap: this many shown, "N more" up to
/// [`WRAP_UP_COUNTED`] counted.
const WRAP_UP_SHOWN: i64 = 5;
const WRAP_UP_COUNTED: i64 = 50;

/// Meetings that overlap `[start, end)`: a range of the start-time index from a day before it,
/// and the long events (over a day) that end after its start, from their own index.
async fn agenda(
    db: &sqlx::PgPool,
    user_id: uuid::Uuid,
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
    due_by: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<Agenda> {
    // The statement lives in `today_page` (migrations/0035), which keeps one plan for every
    // call: planning it for each call's values cost more than running it at scale 10.
    sqlx::query_as!(
        Agenda,
        r#"select agenda as "agenda!: Json<Vec<MeetingRow>>",
                  follow_up as "follow_up!: Json<Vec<ItemView>>", prep as "prep: Json<Prep>",
                  wrap_up as "wrap_up!: Json<Vec<WrapUp>>", wrap_up_total as "wrap_up_total!",
                  follow_up_counted as "follow_up_counted!"
           from today_page($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"#,
        user_id,
        start,
        end,
        due_by,
        now,
        meetings::CARRIED_FROM_SERIES,
        meetings::CARRIED_PER_PERSON,
        PREP_SHOWN,
        PREP_COUNTED,
        WRAP_UP_SHOWN,
        WRAP_UP_COUNTED,
        FOLLOW_UP_SHOWN,
        FOLLOW_UP_COUNTED,
    )
    .fetch_one(db)
    .await
}

fn midnight(date: NaiveDate, tz: chrono_tz::Tz) -> chrono::DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}
