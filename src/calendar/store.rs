//! Applying provider changes to PostgreSQL: idempotent upserts keyed by (calendar, provider
//! event id), soft cancellation, mark-and-sweep after a complete full listing, and the cursor
//! stored in the same transaction as the data it covers.

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{Change, Event, When, directory::Directory, is_meeting_type};

/// A calendar as the provider lists it.
#[derive(Debug, Clone)]
pub struct CalendarInfo {
    pub provider_calendar_id: String,
    pub name: String,
    pub time_zone: Option<String>,
    pub is_primary: bool,
    pub access_role: String,
}

/// What one listing of one calendar produced.
#[derive(Debug)]
pub struct Listing {
    pub changes: Vec<Change>,
    /// The cursor to store with these changes (Google sync token, Graph delta link).
    pub cursor: Option<String>,
    /// Set for a complete full listing of this window: what it did not return is swept.
    pub full_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalendarRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub provider_calendar_id: String,
    pub name: String,
    pub time_zone: Option<String>,
    pub is_primary: bool,
    pub access_role: String,
    pub selected: bool,
    pub sync_cursor: Option<String>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl CalendarRow {
    /// Free/busy-only calendars have no events to read.
    pub fn readable(&self) -> bool {
        self.access_role != "freeBusyReader"
    }
}

const CALENDAR_COLUMNS: &str = "id, user_id, account_id, provider_calendar_id, name, time_zone, \
     is_primary, access_role, selected, sync_cursor, last_synced_at, last_error";

/// Records the provider's calendars. New ones start selected only if primary; the user's
/// choice is never overwritten.
pub async fn upsert_calendars(
    db: &PgPool,
    user_id: Uuid,
    account_id: Uuid,
    infos: &[CalendarInfo],
) -> sqlx::Result<Vec<CalendarRow>> {
    let mut tx = db.begin().await?;
    for info in infos {
        sqlx::query(
            "insert into calendars (id, user_id, account_id, provider_calendar_id, name, time_zone, is_primary, access_role, selected)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             on conflict on constraint calendars_account_provider_key do update set
                name = excluded.name, time_zone = excluded.time_zone,
                is_primary = excluded.is_primary, access_role = excluded.access_role",
        )
        .bind(Uuid::new_v4())
        .bind(user_id)
        .bind(account_id)
        .bind(&info.provider_calendar_id)
        .bind(&info.name)
        .bind(&info.time_zone)
        .bind(info.is_primary)
        .bind(&info.access_role)
        .bind(info.is_primary && info.access_role != "freeBusyReader")
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    for_account(db, user_id, account_id).await
}

pub async fn for_account(
    db: &PgPool,
    user_id: Uuid,
    account_id: Uuid,
) -> sqlx::Result<Vec<CalendarRow>> {
    sqlx::query_as(&format!(
        "select {CALENDAR_COLUMNS} from calendars where user_id = $1 and account_id = $2
         order by is_primary desc, name"
    ))
    .bind(user_id)
    .bind(account_id)
    .fetch_all(db)
    .await
}

pub async fn for_user(db: &PgPool, user_id: Uuid) -> sqlx::Result<Vec<CalendarRow>> {
    sqlx::query_as(&format!(
        "select {CALENDAR_COLUMNS} from calendars where user_id = $1 order by is_primary desc, name"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await
}

pub async fn record_error(
    db: &PgPool,
    calendar: &CalendarRow,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("update calendars set last_error = $3 where id = $1 and user_id = $2")
        .bind(calendar.id)
        .bind(calendar.user_id)
        .bind(error)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets the cursor (the provider asked for a full resync).
pub async fn clear_cursor(db: &PgPool, calendar: &CalendarRow) -> sqlx::Result<()> {
    sqlx::query("update calendars set sync_cursor = null where id = $1 and user_id = $2")
        .bind(calendar.id)
        .bind(calendar.user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// How an event's time is stored: instants for ordering and windows, dates for all-day events.
struct Bounds {
    all_day: bool,
    start_date: Option<chrono::NaiveDate>,
    end_date: Option<chrono::NaiveDate>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    time_zone: Option<String>,
}

fn bounds(when: &When) -> Bounds {
    match when {
        When::Timed {
            start,
            end,
            time_zone,
        } => Bounds {
            all_day: false,
            start_date: None,
            end_date: None,
            starts_at: *start,
            ends_at: *end,
            time_zone: time_zone.clone(),
        },
        When::AllDay { start, end } => Bounds {
            all_day: true,
            start_date: Some(*start),
            end_date: Some(*end),
            starts_at: start.and_time(NaiveTime::MIN).and_utc(),
            ends_at: end.and_time(NaiveTime::MIN).and_utc(),
            time_zone: None,
        },
    }
}

async fn series_id(
    tx: &mut Transaction<'_, Postgres>,
    calendar: &CalendarRow,
    provider_series_id: &str,
    title: Option<&str>,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "insert into series (id, user_id, calendar_id, provider_series_id, title) values ($1, $2, $3, $4, coalesce($5, ''))
         on conflict on constraint series_calendar_provider_key do update
            set title = coalesce($5, series.title)
         returning id",
    )
    .bind(Uuid::new_v4())
    .bind(calendar.user_id)
    .bind(calendar.id)
    .bind(provider_series_id)
    .bind(title)
    .fetch_one(&mut **tx)
    .await
}

async fn upsert_event(
    tx: &mut Transaction<'_, Postgres>,
    directory: &mut Directory,
    calendar: &CalendarRow,
    event: &Event,
    round: Uuid,
) -> sqlx::Result<()> {
    let series = match &event.series_provider_id {
        Some(s) => Some(series_id(tx, calendar, s, event.title.as_deref()).await?),
        None => None,
    };
    let status = if event.tentative {
        "tentative"
    } else {
        "confirmed"
    };
    let is_meeting = event.event_type.as_deref().map(is_meeting_type);
    let meeting_id: Option<Uuid> = match &event.when {
        Some(when) => {
            let b = bounds(when);
            sqlx::query_scalar(
                "insert into meetings (id, user_id, calendar_id, provider_event_id, ical_uid, series_id, original_start,
                    title, description, location, all_day, start_date, end_date, starts_at, ends_at, time_zone,
                    status, event_type, is_meeting, join_url, html_link, organizer_email, seen_round)
                 values ($1, $2, $3, $4, $5, $6, $7, coalesce($8, ''), coalesce($9, ''), coalesce($10, ''), $11, $12, $13,
                    $14, $15, $16, $17, coalesce($18, 'default'), coalesce($19, true), $20, $21, $22, $23)
                 on conflict on constraint meetings_calendar_event_key do update set
                    ical_uid = coalesce($5, meetings.ical_uid),
                    series_id = coalesce($6, meetings.series_id),
                    original_start = coalesce($7, meetings.original_start),
                    title = coalesce($8, meetings.title),
                    description = coalesce($9, meetings.description),
                    location = coalesce($10, meetings.location),
                    all_day = $11, start_date = $12, end_date = $13, starts_at = $14, ends_at = $15,
                    time_zone = coalesce($16, meetings.time_zone),
                    status = $17,
                    event_type = coalesce($18, meetings.event_type),
                    is_meeting = coalesce($19, meetings.is_meeting),
                    join_url = coalesce($20, meetings.join_url),
                    html_link = coalesce($21, meetings.html_link),
                    organizer_email = coalesce($22, meetings.organizer_email),
                    seen_round = $23,
                    updated_at = now()
                 returning id",
            )
            .bind(Uuid::new_v4())
            .bind(calendar.user_id)
            .bind(calendar.id)
            .bind(&event.provider_event_id)
            .bind(&event.ical_uid)
            .bind(series)
            .bind(event.original_start)
            .bind(&event.title)
            .bind(&event.description)
            .bind(&event.location)
            .bind(b.all_day)
            .bind(b.start_date)
            .bind(b.end_date)
            .bind(b.starts_at)
            .bind(b.ends_at)
            .bind(b.time_zone)
            .bind(status)
            .bind(&event.event_type)
            .bind(is_meeting)
            .bind(&event.join_url)
            .bind(&event.html_link)
            .bind(&event.organizer_email)
            .bind(round)
            .fetch_optional(&mut **tx)
            .await?
        }
        // A partial update without times: merge into the row we have, if we have it.
        None => {
            sqlx::query_scalar(
                "update meetings set
                    title = coalesce($4, title), description = coalesce($5, description),
                    location = coalesce($6, location), join_url = coalesce($7, join_url),
                    status = case when status = 'cancelled' then status else $8 end,
                    seen_round = $9, updated_at = now()
                 where user_id = $1 and calendar_id = $2 and provider_event_id = $3
                 returning id",
            )
            .bind(calendar.user_id)
            .bind(calendar.id)
            .bind(&event.provider_event_id)
            .bind(&event.title)
            .bind(&event.description)
            .bind(&event.location)
            .bind(&event.join_url)
            .bind(status)
            .bind(round)
            .fetch_optional(&mut **tx)
            .await?
        }
    };
    let (Some(meeting_id), Some(attendees)) = (meeting_id, &event.attendees) else {
        return Ok(());
    };
    sqlx::query("delete from attendees where meeting_id = $1 and user_id = $2")
        .bind(meeting_id)
        .bind(calendar.user_id)
        .execute(&mut **tx)
        .await?;
    for attendee in attendees {
        let person = directory.person(tx, attendee).await?;
        sqlx::query(
            "insert into attendees (meeting_id, person_id, user_id, response_status, is_organizer, is_optional)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (meeting_id, person_id) do update set
                response_status = excluded.response_status, is_organizer = excluded.is_organizer,
                is_optional = excluded.is_optional",
        )
        .bind(meeting_id)
        .bind(person)
        .bind(calendar.user_id)
        .bind(&attendee.response)
        .bind(attendee.organizer)
        .bind(attendee.optional)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Marks an event cancelled; if the id is a whole series, every instance of it too (Google
/// reports cancelled instances only up to a horizon). Unknown ids are ignored.
async fn cancel(
    tx: &mut Transaction<'_, Postgres>,
    calendar: &CalendarRow,
    provider_event_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update meetings set status = 'cancelled', updated_at = now()
         where user_id = $1 and calendar_id = $2 and status <> 'cancelled'
           and (provider_event_id = $3
                or series_id in (select id from series where calendar_id = $2 and provider_series_id = $3))",
    )
    .bind(calendar.user_id)
    .bind(calendar.id)
    .bind(provider_event_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Applies one complete listing in one transaction: changes, the sweep (after a full listing
/// only), and the new cursor. A failure rolls back everything, so the last good state stays.
pub async fn apply(db: &PgPool, calendar: &CalendarRow, listing: &Listing) -> sqlx::Result<usize> {
    let mut tx = db.begin().await?;
    let mut directory = Directory::load(&mut tx, calendar.user_id).await?;
    let round = Uuid::new_v4();
    for change in &listing.changes {
        match change {
            Change::Upsert(event) => {
                upsert_event(&mut tx, &mut directory, calendar, event, round).await?
            }
            Change::Cancelled { provider_event_id } => {
                cancel(&mut tx, calendar, provider_event_id).await?
            }
        }
    }
    if let Some((from, to)) = listing.full_window {
        // Mark and sweep: whatever the complete listing did not return is gone upstream.
        sqlx::query(
            "update meetings set status = 'cancelled', updated_at = now()
             where user_id = $1 and calendar_id = $2 and status <> 'cancelled'
               and seen_round is distinct from $3 and ends_at > $4 and starts_at < $5",
        )
        .bind(calendar.user_id)
        .bind(calendar.id)
        .bind(round)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "update calendars set sync_cursor = $3, last_synced_at = now(), last_error = null
         where id = $1 and user_id = $2",
    )
    .bind(calendar.id)
    .bind(calendar.user_id)
    .bind(&listing.cursor)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(listing.changes.len())
}
