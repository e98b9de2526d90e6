//! Today: the day's agenda and the next days, beside the open action items that need
//! follow-up (overdue or due within a week).

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sqlx::types::Json;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppResult, layout::Layout},
    items::ItemView,
    meetings::{self, MeetingLine, MeetingRow},
    time,
};

/// One day of the agenda.
pub struct Day {
    pub label: String,
    pub today: bool,
    pub meetings: Vec<MeetingLine>,
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    layout: Layout,
    heading: String,
    days: Vec<Day>,
    follow_up: Vec<ItemView>,
    /// "12 more", when there are follow-up items beyond those shown ("270+ more" past the count).
    follow_up_more: Option<String>,
    next_meeting: Option<uuid::Uuid>,
    back: String,
}

const DAYS_AHEAD: i64 = 7;

/// Follow-up items listed beside the agenda, and how far the rest are counted ("N more").
const FOLLOW_UP_SHOWN: i64 = 30;
const FOLLOW_UP_COUNTED: i64 = 300;

pub async fn page(state: AppState, user: SignedIn) -> AppResult<Response> {
    let tz = time::zone(&user.time_zone);
    let now = Utc::now();
    let today = time::local_date(now, tz);
    let start = midnight(today, tz);
    let end = midnight(today + Duration::days(DAYS_AHEAD), tz);
    let data = agenda(&state.db, user.id, start, end, today + Duration::days(7)).await?;
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
    let more = data.follow_up_counted - follow_up.len() as i64;
    let follow_up_more = match more {
        0 => None,
        _ if data.follow_up_counted >= FOLLOW_UP_COUNTED => Some(format!("{more}+ more")),
        _ => Some(format!("{more} more")),
    };

    let page = TodayPage {
        layout: Layout::for_user(&user, "Today", "today"),
        heading: time::long_day(today),
        days,
        follow_up,
        follow_up_more,
        next_meeting,
        back: "/".into(),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

/// Everything Today shows, in one statement: the meetings overlapping the window and the open
/// action items due by `due_by`.
struct Agenda {
    agenda: Json<Vec<MeetingRow>>,
    follow_up: Json<Vec<ItemView>>,
    /// The items due by then, counted up to [`FOLLOW_UP_COUNTED`] (an index range).
    follow_up_counted: i64,
}

/// Meetings that overlap `[start, end)`. Events longer than [`meetings::LONGEST_EVENT_DAYS`] that
/// began before it are left out, so the read is a range of the start-time index.
async fn agenda(
    db: &sqlx::PgPool,
    user_id: uuid::Uuid,
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
    due_by: NaiveDate,
) -> sqlx::Result<Agenda> {
    sqlx::query_as!(
        Agenda,
        r#"select
            coalesce((select json_agg(a) from (
                select * from meeting_rows m
                where m.user_id = $1 and m.status <> 'cancelled'
                  and m.starts_at >= $2::timestamptz - make_interval(days => $5) and m.starts_at < $3
                  and m.ends_at > $2
                order by m.all_day desc, m.starts_at limit 500) a), '[]') as "agenda!: Json<Vec<MeetingRow>>",
            coalesce((select json_agg(f) from (
                select * from item_rows i
                where i.user_id = $1 and i.kind = 'action' and not i.done and not i.removed
                  and i.due <= $4
                order by i.due, i.line limit $6) f), '[]') as "follow_up!: Json<Vec<ItemView>>",
            (select count(*) from (
                select 1 from items i
                where i.user_id = $1 and i.kind = 'action' and not i.done and not i.removed
                  and i.due <= $4
                limit $7) c) as "follow_up_counted!""#,
        user_id,
        start,
        end,
        due_by,
        meetings::LONGEST_EVENT_DAYS,
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
