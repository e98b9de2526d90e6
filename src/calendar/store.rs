//! Applying provider changes to PostgreSQL: idempotent upserts keyed by (calendar, provider
//! event id), soft cancellation, mark-and-sweep after a complete full listing, and the cursor
//! stored in the same transaction as the data it covers.
//!
//! A listing is applied as it arrives ([`Writer`]): one transaction from the first page to the
//! cursor, and a few multi-row statements (arrays bound as parameters) per batch of events, so
//! the cost per event is flat and memory does not grow with the size of the calendar.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{Attendee, Change, Event, When, directory::Directory, is_meeting_type};

/// A calendar as the provider lists it.
#[derive(Debug, Clone)]
pub struct CalendarInfo {
    pub provider_calendar_id: String,
    pub name: String,
    pub time_zone: Option<String>,
    pub is_primary: bool,
    pub access_role: String,
}

/// How a complete listing of one calendar ended.
#[derive(Debug)]
pub struct Listing {
    /// The cursor to store with the listing's changes (Google sync token, Graph delta link).
    pub cursor: Option<String>,
    /// Set for a complete full listing of this window: what it did not return is swept.
    pub full_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One step of a listing, as a provider module returns it page by page.
#[derive(Debug)]
pub enum Step {
    /// A page: how many items the provider sent (for progress), and the changes they make.
    Page { items: usize, changes: Vec<Change> },
    /// The listing is complete.
    End(Listing),
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
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
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

/// Changes buffered before they are written: large enough that statements carry many rows,
/// small enough that memory stays flat however many events a calendar has.
const BATCH: usize = 1000;

/// Applies one listing in one transaction, page by page as the provider returns them: the
/// changes, the sweep (after a full listing only) and the new cursor. Dropping the writer
/// before [`Writer::finish`] (a failure half-way) rolls back everything: the last good state
/// stays.
pub struct Writer<'a> {
    tx: Transaction<'static, Postgres>,
    calendar: &'a CalendarRow,
    directory: Directory,
    round: Uuid,
    pending: Vec<Change>,
    applied: usize,
}

impl<'a> Writer<'a> {
    pub async fn begin(db: &PgPool, calendar: &'a CalendarRow) -> sqlx::Result<Writer<'a>> {
        let mut tx = db.begin().await?;
        let directory = Directory::load(&mut tx, calendar.user_id).await?;
        Ok(Writer {
            tx,
            calendar,
            directory,
            round: Uuid::new_v4(),
            pending: Vec::new(),
            applied: 0,
        })
    }

    /// Takes one page of changes, writing them once a batch is full.
    pub async fn page(&mut self, changes: Vec<Change>) -> sqlx::Result<()> {
        self.pending.extend(changes);
        if self.pending.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes the rest, sweeps after a full listing, stores the cursor and commits. Returns how
    /// many changes the listing applied.
    pub async fn finish(mut self, listing: &Listing) -> sqlx::Result<usize> {
        self.flush().await?;
        let calendar = self.calendar;
        if let Some((from, to)) = listing.full_window {
            // Mark and sweep: whatever the complete listing did not return is gone upstream.
            sqlx::query(
                "update meetings set status = 'cancelled', updated_at = now()
                 where user_id = $1 and calendar_id = $2 and status <> 'cancelled'
                   and seen_round is distinct from $3 and ends_at > $4 and starts_at < $5",
            )
            .bind(calendar.user_id)
            .bind(calendar.id)
            .bind(self.round)
            .bind(from)
            .bind(to)
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query(
            "update calendars set sync_cursor = $3, last_synced_at = now(), last_error = null
             where id = $1 and user_id = $2",
        )
        .bind(calendar.id)
        .bind(calendar.user_id)
        .bind(&listing.cursor)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(self.applied)
    }

    /// Writes the pending changes as a few batches that give the same result as applying them
    /// one by one in order: a batch ends where an event repeats, or where an upsert follows a
    /// cancellation that could touch it (the same id, or its series).
    async fn flush(&mut self) -> sqlx::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.applied += pending.len();
        let mut batch = Batch::default();
        for change in &pending {
            match change {
                Change::Upsert(event) => {
                    let id = event.provider_event_id.as_str();
                    let series = event.series_provider_id.as_deref();
                    if batch.upserted.contains(id)
                        || batch.cancelled.contains(id)
                        || series.is_some_and(|s| batch.cancelled.contains(s))
                    {
                        std::mem::take(&mut batch).write(self).await?;
                    }
                    batch.upserted.insert(id);
                    batch.upserts.push(event);
                }
                Change::Cancelled { provider_event_id } => {
                    batch.cancelled.insert(provider_event_id);
                }
            }
        }
        batch.write(self).await
    }
}

/// Upserts with distinct ids, then cancellations that apply after all of them.
#[derive(Default)]
struct Batch<'e> {
    upserts: Vec<&'e Event>,
    upserted: HashSet<&'e str>,
    cancelled: HashSet<&'e str>,
}

impl Batch<'_> {
    async fn write(self, w: &mut Writer<'_>) -> sqlx::Result<()> {
        let (user_id, calendar_id, round) = (w.calendar.user_id, w.calendar.id, w.round);
        let tx = &mut w.tx;
        upsert_series(tx, user_id, calendar_id, &self.upserts).await?;

        // Partial updates (no times: Microsoft sent only what changed) touch existing rows only.
        let (full, partial): (Vec<&Event>, Vec<&Event>) =
            self.upserts.iter().partition(|e| e.when.is_some());
        let found: HashSet<String> = update_partial(tx, user_id, calendar_id, round, &partial)
            .await?
            .into_iter()
            .collect();
        upsert_meetings(tx, user_id, calendar_id, round, &full).await?;

        // Attendee lists replace the stored ones, for events that are now stored.
        let listed: Vec<&Event> = full
            .iter()
            .chain(
                partial
                    .iter()
                    .filter(|e| found.contains(&e.provider_event_id)),
            )
            .filter(|e| e.attendees.is_some())
            .copied()
            .collect();
        if !listed.is_empty() {
            let attendees: Vec<&Attendee> = listed
                .iter()
                .flat_map(|e| e.attendees.iter().flatten())
                .collect();
            w.directory.upsert_people(tx, &attendees).await?;
            replace_attendees(tx, user_id, calendar_id, &listed).await?;
        }

        if !self.cancelled.is_empty() {
            cancel(
                tx,
                user_id,
                calendar_id,
                self.cancelled.into_iter().collect(),
            )
            .await?;
        }
        Ok(())
    }
}

/// Creates the batch's series; a title that was sent replaces the stored one (the last one
/// sent wins), and an absent one keeps it.
async fn upsert_series(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    events: &[&Event],
) -> sqlx::Result<()> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    let (mut ids, mut titles): (Vec<&str>, Vec<Option<&str>>) = (Vec::new(), Vec::new());
    for event in events {
        let Some(series) = event.series_provider_id.as_deref() else {
            continue;
        };
        let title = event.title.as_deref();
        match at.get(series) {
            Some(&k) => titles[k] = title.or(titles[k]),
            None => {
                at.insert(series, ids.len());
                ids.push(series);
                titles.push(title);
            }
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "with u as (select * from unnest($3::text[], $4::text[]) as u(series, title)),
         renamed as (
             update series s set title = u.title from u
             where s.user_id = $1 and s.calendar_id = $2 and s.provider_series_id = u.series
               and u.title is not null and s.title <> u.title)
         insert into series (id, user_id, calendar_id, provider_series_id, title)
         select gen_random_uuid(), $1, $2, u.series, coalesce(u.title, '') from u
         on conflict on constraint series_calendar_provider_key do nothing",
    )
    .bind(user_id)
    .bind(calendar_id)
    .bind(&ids)
    .bind(&titles)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Merges partial updates into the rows we have; returns the ids that were found.
async fn update_partial(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    round: Uuid,
    events: &[&Event],
) -> sqlx::Result<Vec<String>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e.provider_event_id.as_str())
        .collect();
    let titles: Vec<Option<&str>> = events.iter().map(|e| e.title.as_deref()).collect();
    let descriptions: Vec<Option<&str>> = events.iter().map(|e| e.description.as_deref()).collect();
    let locations: Vec<Option<&str>> = events.iter().map(|e| e.location.as_deref()).collect();
    let join_urls: Vec<Option<&str>> = events.iter().map(|e| e.join_url.as_deref()).collect();
    let statuses: Vec<&str> = events.iter().map(|e| status(e)).collect();
    sqlx::query_scalar(
        "update meetings m set
            title = coalesce(u.title, m.title), description = coalesce(u.description, m.description),
            location = coalesce(u.location, m.location), join_url = coalesce(u.join_url, m.join_url),
            status = case when m.status = 'cancelled' then m.status else u.status end,
            seen_round = $3, updated_at = now()
         from unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
              as u(event, title, description, location, join_url, status)
         where m.user_id = $1 and m.calendar_id = $2 and m.provider_event_id = u.event
         returning m.provider_event_id",
    )
    .bind(user_id)
    .bind(calendar_id)
    .bind(round)
    .bind(&ids)
    .bind(&titles)
    .bind(&descriptions)
    .bind(&locations)
    .bind(&join_urls)
    .bind(&statuses)
    .fetch_all(&mut **tx)
    .await
}

fn status(event: &Event) -> &'static str {
    if event.tentative {
        "tentative"
    } else {
        "confirmed"
    }
}

/// Inserts new events and updates known ones, in one statement: a field the provider did not
/// send (`None`) keeps its stored value, never blanked.
async fn upsert_meetings(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    round: Uuid,
    events: &[&Event],
) -> sqlx::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len();
    let mut c = MeetingColumns::with_capacity(n);
    for event in events {
        let Some(when) = &event.when else { continue };
        let b = bounds(when);
        c.ids.push(event.provider_event_id.as_str());
        c.ical_uids.push(event.ical_uid.as_deref());
        c.series.push(event.series_provider_id.as_deref());
        c.original_starts.push(event.original_start);
        c.titles.push(event.title.as_deref());
        c.descriptions.push(event.description.as_deref());
        c.locations.push(event.location.as_deref());
        c.all_day.push(b.all_day);
        c.start_dates.push(b.start_date);
        c.end_dates.push(b.end_date);
        c.starts_at.push(b.starts_at);
        c.ends_at.push(b.ends_at);
        c.time_zones.push(b.time_zone);
        c.statuses.push(status(event));
        c.event_types.push(event.event_type.as_deref());
        c.is_meeting
            .push(event.event_type.as_deref().map(is_meeting_type));
        c.join_urls.push(event.join_url.as_deref());
        c.html_links.push(event.html_link.as_deref());
        c.organizers.push(event.organizer_email.as_deref());
    }
    sqlx::query(
        "with u as (
             select u.*, s.id as series_id
             from unnest($4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[],
                         $10::text[], $11::bool[], $12::date[], $13::date[], $14::timestamptz[],
                         $15::timestamptz[], $16::text[], $17::text[], $18::text[], $19::bool[],
                         $20::text[], $21::text[], $22::text[])
                  as u(event, ical_uid, series, original_start, title, description, location, all_day,
                       start_date, end_date, starts_at, ends_at, time_zone, status, event_type,
                       is_meeting, join_url, html_link, organizer_email)
             left join series s on s.calendar_id = $2 and s.provider_series_id = u.series),
         updated as (
             update meetings m set
                ical_uid = coalesce(u.ical_uid, m.ical_uid),
                series_id = coalesce(u.series_id, m.series_id),
                original_start = coalesce(u.original_start, m.original_start),
                title = coalesce(u.title, m.title),
                description = coalesce(u.description, m.description),
                location = coalesce(u.location, m.location),
                all_day = u.all_day, start_date = u.start_date, end_date = u.end_date,
                starts_at = u.starts_at, ends_at = u.ends_at,
                time_zone = coalesce(u.time_zone, m.time_zone),
                status = u.status,
                event_type = coalesce(u.event_type, m.event_type),
                is_meeting = coalesce(u.is_meeting, m.is_meeting),
                join_url = coalesce(u.join_url, m.join_url),
                html_link = coalesce(u.html_link, m.html_link),
                organizer_email = coalesce(u.organizer_email, m.organizer_email),
                seen_round = $3,
                updated_at = now()
             from u
             where m.user_id = $1 and m.calendar_id = $2 and m.provider_event_id = u.event)
         insert into meetings (id, user_id, calendar_id, provider_event_id, ical_uid, series_id,
            original_start, title, description, location, all_day, start_date, end_date, starts_at,
            ends_at, time_zone, status, event_type, is_meeting, join_url, html_link, organizer_email,
            seen_round)
         select gen_random_uuid(), $1, $2, u.event, u.ical_uid, u.series_id, u.original_start,
            coalesce(u.title, ''), coalesce(u.description, ''), coalesce(u.location, ''), u.all_day,
            u.start_date, u.end_date, u.starts_at, u.ends_at, u.time_zone, u.status,
            coalesce(u.event_type, 'default'), coalesce(u.is_meeting, true), u.join_url, u.html_link,
            u.organizer_email, $3
         from u
         -- Known events were updated just above, in the same statement.
         on conflict on constraint meetings_calendar_event_key do nothing",
    )
    .bind(user_id)
    .bind(calendar_id)
    .bind(round)
    .bind(&c.ids)
    .bind(&c.ical_uids)
    .bind(&c.series)
    .bind(&c.original_starts)
    .bind(&c.titles)
    .bind(&c.descriptions)
    .bind(&c.locations)
    .bind(&c.all_day)
    .bind(&c.start_dates)
    .bind(&c.end_dates)
    .bind(&c.starts_at)
    .bind(&c.ends_at)
    .bind(&c.time_zones)
    .bind(&c.statuses)
    .bind(&c.event_types)
    .bind(&c.is_meeting)
    .bind(&c.join_urls)
    .bind(&c.html_links)
    .bind(&c.organizers)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Events as one array per column, bound to [`upsert_meetings`]'s statement.
struct MeetingColumns<'e> {
    ids: Vec<&'e str>,
    ical_uids: Vec<Option<&'e str>>,
    series: Vec<Option<&'e str>>,
    original_starts: Vec<Option<DateTime<Utc>>>,
    titles: Vec<Option<&'e str>>,
    descriptions: Vec<Option<&'e str>>,
    locations: Vec<Option<&'e str>>,
    all_day: Vec<bool>,
    start_dates: Vec<Option<NaiveDate>>,
    end_dates: Vec<Option<NaiveDate>>,
    starts_at: Vec<DateTime<Utc>>,
    ends_at: Vec<DateTime<Utc>>,
    time_zones: Vec<Option<String>>,
    statuses: Vec<&'static str>,
    event_types: Vec<Option<&'e str>>,
    is_meeting: Vec<Option<bool>>,
    join_urls: Vec<Option<&'e str>>,
    html_links: Vec<Option<&'e str>>,
    organizers: Vec<Option<&'e str>>,
}

impl MeetingColumns<'_> {
    fn with_capacity(n: usize) -> Self {
        MeetingColumns {
            ids: Vec::with_capacity(n),
            ical_uids: Vec::with_capacity(n),
            series: Vec::with_capacity(n),
            original_starts: Vec::with_capacity(n),
            titles: Vec::with_capacity(n),
            descriptions: Vec::with_capacity(n),
            locations: Vec::with_capacity(n),
            all_day: Vec::with_capacity(n),
            start_dates: Vec::with_capacity(n),
            end_dates: Vec::with_capacity(n),
            starts_at: Vec::with_capacity(n),
            ends_at: Vec::with_capacity(n),
            time_zones: Vec::with_capacity(n),
            statuses: Vec::with_capacity(n),
            event_types: Vec::with_capacity(n),
            is_meeting: Vec::with_capacity(n),
            join_urls: Vec::with_capacity(n),
            html_links: Vec::with_capacity(n),
            organizers: Vec::with_capacity(n),
        }
    }
}

/// Replaces the attendees of `events` with the lists they carry (people already upserted).
async fn replace_attendees(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    events: &[&Event],
) -> sqlx::Result<()> {
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e.provider_event_id.as_str())
        .collect();
    sqlx::query(
        "delete from attendees a using meetings m
         where m.user_id = $1 and m.calendar_id = $2 and m.provider_event_id = any($3)
           and a.meeting_id = m.id and a.user_id = $1",
    )
    .bind(user_id)
    .bind(calendar_id)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    let (mut event_ids, mut emails, mut responses, mut organizers, mut optional) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for event in events {
        for a in event.attendees.iter().flatten() {
            event_ids.push(event.provider_event_id.as_str());
            emails.push(a.email.trim());
            responses.push(a.response.as_str());
            organizers.push(a.organizer);
            optional.push(a.optional);
        }
    }
    if event_ids.is_empty() {
        return Ok(());
    }
    // One row per (meeting, person): an address listed twice keeps its last entry.
    sqlx::query(
        "insert into attendees (meeting_id, person_id, user_id, response_status, is_organizer, is_optional)
         select distinct on (m.id, p.id) m.id, p.id, $1, u.response, u.organizer, u.optional
         from unnest($3::text[], $4::text[], $5::text[], $6::bool[], $7::bool[])
              with ordinality as u(event, email, response, organizer, optional, n)
         join meetings m on m.user_id = $1 and m.calendar_id = $2 and m.provider_event_id = u.event
         join people p on p.user_id = $1 and lower(p.email) = lower(u.email)
         order by m.id, p.id, u.n desc",
    )
    .bind(user_id)
    .bind(calendar_id)
    .bind(&event_ids)
    .bind(&emails)
    .bind(&responses)
    .bind(&organizers)
    .bind(&optional)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks events cancelled; an id that is a whole series cancels every instance of it too
/// (Google reports cancelled instances only up to a horizon). Unknown ids are ignored.
async fn cancel(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    ids: Vec<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update meetings set status = 'cancelled', updated_at = now()
         where user_id = $1 and calendar_id = $2 and status <> 'cancelled'
           and (provider_event_id = any($3)
                or series_id in (select id from series
                                 where calendar_id = $2 and provider_series_id = any($3)))",
    )
    .bind(user_id)
    .bind(calendar_id)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
