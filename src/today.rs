//! Today: the day's agenda and the next days, beside the open action items that need
//! follow-up (overdue or due within a week).

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use chrono::{Duration, NaiveDate, TimeZone, Utc};

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppResult, layout::Layout},
    items::{self, ItemView},
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
    next_meeting: Option<uuid::Uuid>,
    back: String,
}

const DAYS_AHEAD: i64 = 7;

pub async fn page(state: AppState, user: SignedIn) -> AppResult<Response> {
    let tz = time::zone(&user.time_zone);
    let now = Utc::now();
    let today = time::local_date(now, tz);
    let start = midnight(today, tz);
    let end = midnight(today + Duration::days(DAYS_AHEAD), tz);
    let mut q = meetings::rows_query();
    q.push("m.user_id = ")
        .push_bind(user.id)
        .push(" and m.status <> 'cancelled' and m.ends_at > ")
        .push_bind(start)
        .push(" and m.starts_at < ")
        .push_bind(end)
        .push(" order by m.all_day desc, m.starts_at limit 500");
    let rows: Vec<MeetingRow> = q.build_query_as().fetch_all(&state.db).await?;
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

    let mut q = items::select();
    q.push("i.user_id = ")
        .push_bind(user.id)
        .push(" and i.kind = 'action' and not i.done and i.due <= ")
        .push_bind(today + Duration::days(7))
        .push(" order by i.due, i.line limit 30");
    let follow_up: Vec<ItemView> = q.build_query_as().fetch_all(&state.db).await?;

    let page = TodayPage {
        layout: Layout::for_user(&user, "Today", "today"),
        heading: time::long_day(today),
        days,
        follow_up,
        next_meeting,
        back: "/".into(),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

fn midnight(date: NaiveDate, tz: chrono_tz::Tz) -> chrono::DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}
