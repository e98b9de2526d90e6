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
use crate::kinds::MeetingStatus;

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

#[derive(Debug, Clone)]
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

/// Records the provider's calendars. New ones start selected only if primary; the user's
/// choice is never overwritten.
pub async fn upsert_calendars(
    db: &PgPool,
    user_id: Uuid,
    account_id: Uuid,
    infos: &[CalendarInfo],
) -> sqlx::Result<Vec<CalendarRow>> {
    let ids: Vec<&str> = infos
        .iter()
        .map(|i| i.provider_calendar_id.as_str())
        .collect();
    let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
    let zones: Vec<Option<&str>> = infos.iter().map(|i| i.time_zone.as_deref()).collect();
    let primary: Vec<bool> = infos.iter().map(|i| i.is_primary).collect();
    let roles: Vec<&str> = infos.iter().map(|i| i.access_role.as_str()).collect();
    // One statement for the whole list; a calendar listed twice keeps its last entry.
    sqlx::query!(
        "insert into calendars (id, user_id, account_id, provider_calendar_id, name, time_zone,
            is_primary, access_role, selected)
         select distinct on (u.calendar) gen_random_uuid(), $1, $2, u.calendar, u.name, u.zone,
            u.is_primary, u.role, u.is_primary and u.role <> 'freeBusyReader'
         from unnest($3::text[], $4::text[], $5::text[], $6::bool[], $7::text[])
              with ordinality as u(calendar, name, zone, is_primary, role, n)
         order by u.calendar, u.n desc
         on conflict on constraint calendars_account_provider_key do update set
            name = excluded.name, time_zone = excluded.time_zone,
            is_primary = excluded.is_primary, access_role = excluded.access_role
         where (calendars.name, calendars.time_zone, calendars.is_primary, calendars.access_role)
               is distinct from
               (excluded.name, excluded.time_zone, excluded.is_primary, excluded.access_role)",
        user_id,
        account_id,
        &ids as &[&str],
        &names as &[&str],
        &zones as &[Option<&str>],
        primary.as_slice(),
        &roles as &[&str],
    )
    .execute(db)
    .await?;
    for_account(db, user_id, account_id).await
}

pub async fn for_account(
    db: &PgPool,
    user_id: Uuid,
    account_id: Uuid,
) -> sqlx::Result<Vec<CalendarRow>> {
    sqlx::query_as!(
        CalendarRow,
        "select id, user_id, account_id, provider_calendar_id, name, time_zone, is_primary,
                access_role, selected, sync_cursor, last_synced_at, last_error
         from calendars where user_id = $1 and account_id = $2
         order by is_primary desc, name",
        user_id,
        account_id,
    )
    .fetch_all(db)
    .await
}

pub async fn for_user(db: &PgPool, user_id: Uuid) -> sqlx::Result<Vec<CalendarRow>> {
    sqlx::query_as!(
        CalendarRow,
        "select id, user_id, account_id, provider_calendar_id, name, time_zone, is_primary,
                access_role, selected, sync_cursor, last_synced_at, last_error
         from calendars where user_id = $1 order by is_primary desc, name",
        user_id,
    )
    .fetch_all(db)
    .await
}

pub async fn record_error(
    db: &PgPool,
    calendar: &CalendarRow,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update calendars set last_error = $3 where id = $1 and user_id = $2",
        calendar.id,
        calendar.user_id,
        error,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets the cursor (the provider asked for a full resync).
pub async fn clear_cursor(db: &PgPool, calendar: &CalendarRow) -> sqlx::Result<()> {
    sqlx::query!(
        "update calendars set sync_cursor = null where id = $1 and user_id = $2",
        calendar.id,
        calendar.user_id,
    )
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
const BATCH: usize = 2500;

/// Applies one listing in one transaction, page by page as the provider returns them: the
/// changes, the sweep (after a full listing only) and the new cursor. Dropping the writer
/// before [`Writer::finish`] (a failure half-way) rolls back everything: the last good state
/// stays.
///
/// Several listings of one user may run at once (`DOCKET_SYNC_LISTINGS`), so a listing takes no
/// lock that another one needs before its end: people are written in short transactions of
/// their own ([`Directory::upsert_people`]), the user's lock is taken in [`Writer::finish`], and
/// what needs the other listings' rows (one meeting per invitation) or shared counters is done
/// there, under that lock.
pub struct Writer<'a> {
    db: PgPool,
    tx: Transaction<'static, Postgres>,
    calendar: &'a CalendarRow,
    directory: Directory,
    round: Uuid,
    pending: Vec<Change>,
    applied: usize,
    /// Per person, the meetings together the listing's attendee rows add or take away: written
    /// to `person_stats` once in [`Writer::finish`] (migrations/0026, 0029). Grows with the
    /// people of a calendar, not its events.
    meetings_together: HashMap<Uuid, i32>,
    /// The invitations (iCalendar UIDs) the listing wrote or cancelled, regrouped in
    /// [`Writer::finish`]; `None` once there are more than [`TOUCHED_KEPT`]: then they are read
    /// back from the rows this round marked, so memory stays flat.
    touched: Option<HashSet<String>>,
}

/// Invitations remembered by a listing before it reads them back at its end instead.
const TOUCHED_KEPT: usize = 2000;

impl<'a> Writer<'a> {
    pub async fn begin(db: &PgPool, calendar: &'a CalendarRow) -> sqlx::Result<Writer<'a>> {
        let mut tx = db.begin().await?;
        // Tells the attendee triggers that this transaction keeps `meetings.attendee_names` and
        // the person counters itself (migrations/0023, 0026, 0029; `Batch::write`, `finish`).
        sqlx::query_scalar!(
            r#"select set_config('docket.attendee_names', 'sync', true) as "set!""#
        )
        .fetch_one(&mut *tx)
        .await?;
        let directory = Directory::load(&mut tx, calendar.user_id).await?;
        Ok(Writer {
            db: db.clone(),
            tx,
            calendar,
            directory,
            round: Uuid::new_v4(),
            pending: Vec::new(),
            applied: 0,
            meetings_together: HashMap::new(),
            touched: Some(HashSet::new()),
        })
    }

    /// Remembers invitations to regroup in [`Writer::finish`].
    fn touch(&mut self, uids: impl IntoIterator<Item = Option<String>>) {
        if let Some(touched) = &mut self.touched {
            touched.extend(uids.into_iter().flatten());
            if touched.len() > TOUCHED_KEPT {
                self.touched = None;
            }
        }
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
        let mut changed = self.applied > 0;
        // From here on one listing of the user at a time: two accounts of one user writing
        // copies of the same invitation at once would not see each other's rows, and both
        // copies would stay canonical. Under the lock, each statement sees every listing that
        // finished before (read committed). Nothing before needs a lock another listing holds
        // to its end, so a listing waits here at most for another one's end.
        sqlx::query_scalar!(
            r#"select 1 as "locked!" from (select pg_advisory_xact_lock(hashtextextended('docket.sync.' || $1::text, 0))) l"#,
            calendar.user_id.to_string(),
        )
        .fetch_one(&mut *self.tx)
        .await?;
        let touched: Vec<Option<String>> = match self.touched.take() {
            Some(uids) => uids.into_iter().map(Some).collect(),
            None => {
                sqlx::query_scalar!(
                    "select distinct ical_uid from meetings
                 where user_id = $1 and calendar_id = $2 and seen_round = $3
                   and ical_uid is not null",
                    calendar.user_id,
                    calendar.id,
                    self.round,
                )
                .fetch_all(&mut *self.tx)
                .await?
            }
        };
        regroup(&mut self.tx, calendar, touched).await?;
        if let Some((from, to)) = listing.full_window {
            // Mark and sweep: whatever the complete listing did not return is gone upstream.
            let swept = sqlx::query_scalar!(
                "update meetings set status = 'cancelled', updated_at = now()
                 where user_id = $1 and calendar_id = $2 and status <> 'cancelled'
                   and seen_round is distinct from $3 and ends_at > $4 and starts_at < $5
                 returning ical_uid",
                calendar.user_id,
                calendar.id,
                self.round,
                from,
                to,
            )
            .fetch_all(&mut *self.tx)
            .await?;
            changed |= !swept.is_empty();
            regroup(&mut self.tx, calendar, swept).await?;
        }
        self.meetings_together.retain(|_, n| *n != 0);
        if !self.meetings_together.is_empty() {
            // Sorted, so that any two writers of the same people lock their rows in one order.
            let mut counts: Vec<(Uuid, i32)> = self.meetings_together.drain().collect();
            counts.sort_unstable();
            let (people, added): (Vec<Uuid>, Vec<i32>) = counts.into_iter().unzip();
            sqlx::query!(
                "update person_stats s set meeting_count = greatest(s.meeting_count + d.n, 0)
                 from unnest($1::uuid[], $2::int4[]) as d(person, n)
                 where s.person_id = d.person",
                people.as_slice(),
                added.as_slice(),
            )
            .execute(&mut *self.tx)
            .await?;
        }
        // The cursor, and the user's data version when the listing changed anything: the
        // version triggers stand aside for this transaction (migrations/0024), so cached pages
        // learn of the listing from this one bump, committed with it.
        sqlx::query!(
            "with cursor as (
                 update calendars set sync_cursor = $3, last_synced_at = now(), last_error = null
                 where id = $1 and user_id = $2)
             update data_versions set version = version + 1 where user_id = $2 and $4",
            calendar.id,
            calendar.user_id,
            listing.cursor,
            changed,
        )
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

        // What an event did not send keeps its stored value (Microsoft partial updates; Google
        // always sends whole events): those rows are read first and merged here.
        let incomplete: Vec<&str> = self
            .upserts
            .iter()
            .filter(|e| !is_complete(e))
            .map(|e| e.provider_event_id.as_str())
            .collect();
        let stored = stored_rows(tx, user_id, calendar_id, &incomplete).await?;
        let mut columns = MeetingColumns::default();
        let mut written: Vec<&Event> = Vec::with_capacity(self.upserts.len());
        for event in &self.upserts {
            // A partial update of an event we never stored has nothing to merge into.
            if let Some(row) = merge(event, stored.get(event.provider_event_id.as_str())) {
                columns.push(event, row);
                written.push(event);
            }
        }
        // People first: a meeting this batch creates gets its attendee names in its own insert,
        // from the people as just written (no second write of every new meeting).
        let attendees: Vec<&Attendee> = written
            .iter()
            .flat_map(|e| e.attendees.iter().flatten())
            .collect();
        if !attendees.is_empty() {
            w.directory.upsert_people(&w.db, &attendees).await?;
        }
        let rows = AttendeeRows::of(&w.directory, &written);
        let ids = upsert_meetings(&mut w.tx, user_id, calendar_id, round, &columns, &rows).await?;

        // Attendee lists replace the stored ones.
        if written.iter().any(|e| e.attendees.is_some()) {
            replace_attendees(
                &mut w.tx,
                &mut w.meetings_together,
                user_id,
                &written,
                &ids,
                &rows,
            )
            .await?;
        }

        w.touch(ids.into_iter().map(|m| m.ical_uid));
        if !self.cancelled.is_empty() {
            let ids: Vec<&str> = self.cancelled.into_iter().collect();
            let uids = cancel(&mut w.tx, user_id, calendar_id, round, &ids).await?;
            w.touch(uids);
        }
        Ok(())
    }
}

/// One meeting per invitation: the groups of these iCalendar UIDs (events written or cancelled)
/// choose their canonical copy again, which the others point at and hand their notes to
/// (`meetings_regroup`, migrations/0019 and 0029: an invitation with a copy that another
/// calendar's listing is writing is left to that listing).
async fn regroup(
    tx: &mut Transaction<'static, Postgres>,
    calendar: &CalendarRow,
    uids: Vec<Option<String>>,
) -> sqlx::Result<()> {
    let mut uids: Vec<String> = uids.into_iter().flatten().collect();
    if uids.is_empty() {
        return Ok(());
    }
    uids.sort_unstable();
    uids.dedup();
    // The function returns void, which has no Rust type: counted instead.
    sqlx::query_scalar!(
        "select count(*) from (select meetings_regroup($1, $2, $3)) regrouped",
        calendar.user_id,
        uids.as_slice(),
        calendar.id,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
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
    sqlx::query!(
        "with u as (select * from unnest($3::text[], $4::text[]) as u(series, title)),
         renamed as (
             update series s set title = u.title from u
             where s.user_id = $1 and s.calendar_id = $2 and s.provider_series_id = u.series
               and u.title is not null and s.title <> u.title)
         insert into series (id, user_id, calendar_id, provider_series_id, title)
         select gen_random_uuid(), $1, $2, u.series, coalesce(u.title, '') from u
         on conflict on constraint series_calendar_provider_key do nothing",
        user_id,
        calendar_id,
        &ids as &[&str],
        &titles as &[Option<&str>],
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn status(event: &Event) -> MeetingStatus {
    if event.tentative {
        MeetingStatus::Tentative
    } else {
        MeetingStatus::Confirmed
    }
}

/// Whether the event carries every field stored in a NOT NULL column (its times included).
fn is_complete(event: &Event) -> bool {
    event.when.is_some()
        && event.title.is_some()
        && event.description.is_some()
        && event.location.is_some()
        && event.event_type.is_some()
}

/// The stored values an incomplete event falls back on.
struct Stored {
    provider_event_id: String,
    title: String,
    description: String,
    location: String,
    status: MeetingStatus,
    event_type: String,
    is_meeting: bool,
    all_day: bool,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

async fn stored_rows(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    ids: &[&str],
) -> sqlx::Result<HashMap<String, Stored>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query_as!(
        Stored,
        r#"select provider_event_id, title, description, location, status as "status: MeetingStatus",
                event_type, is_meeting, all_day, start_date, end_date, starts_at, ends_at
         from meetings where user_id = $1 and calendar_id = $2 and provider_event_id = any($3)"#,
        user_id,
        calendar_id,
        ids as &[&str],
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.provider_event_id.clone(), r))
        .collect())
}

/// A meetings row's NOT NULL fields as written: the event's, else the stored ones, else the
/// defaults of a new row. `None` for a partial update of an event that is not stored.
struct Merged {
    bounds: Bounds,
    title: String,
    description: String,
    location: String,
    status: MeetingStatus,
    event_type: String,
    is_meeting: bool,
}

fn merge(event: &Event, stored: Option<&Stored>) -> Option<Merged> {
    let bounds = match (&event.when, stored) {
        (Some(when), _) => bounds(when),
        (None, Some(s)) => Bounds {
            all_day: s.all_day,
            start_date: s.start_date,
            end_date: s.end_date,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            time_zone: None,
        },
        (None, None) => return None,
    };
    let text = |sent: &Option<String>, kept: Option<&String>| {
        sent.clone().or_else(|| kept.cloned()).unwrap_or_default()
    };
    Some(Merged {
        bounds,
        title: text(&event.title, stored.map(|s| &s.title)),
        description: text(&event.description, stored.map(|s| &s.description)),
        location: text(&event.location, stored.map(|s| &s.location)),
        // A partial update never revives a cancelled event; a whole event does.
        status: match stored {
            Some(s) if event.when.is_none() && s.status == MeetingStatus::Cancelled => {
                MeetingStatus::Cancelled
            }
            _ => status(event),
        },
        event_type: event
            .event_type
            .clone()
            .or_else(|| stored.map(|s| s.event_type.clone()))
            .unwrap_or_else(|| "default".into()),
        is_meeting: match (&event.event_type, stored) {
            (Some(t), _) => is_meeting_type(t),
            (None, Some(s)) => s.is_meeting,
            (None, None) => true,
        },
    })
}

/// A written meetings row: its id, whether this statement created it, its invitation, and what
/// its attendee rows copy (its start, and whether it counts as a meeting together).
struct MeetingId {
    id: Uuid,
    created: bool,
    ical_uid: Option<String>,
    starts_at: DateTime<Utc>,
    counted: bool,
}

/// Inserts new events and updates known ones with one `insert … on conflict do update`: the
/// unique index decides, whatever the planner thinks of a table that grew in this transaction.
/// Nullable fields the provider did not send (`None`) keep their stored value. Returns one id
/// per row, in order.
async fn upsert_meetings(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    round: Uuid,
    c: &MeetingColumns<'_>,
    attendees: &AttendeeRows<'_>,
) -> sqlx::Result<Vec<MeetingId>> {
    if c.ids.is_empty() {
        return Ok(Vec::new());
    }
    // Arrays of nullable values need their type spelt out for the macro.
    let rows = sqlx::query!(
        r#"insert into meetings (id, user_id, calendar_id, provider_event_id, ical_uid, series_id,
            original_start, title, description, location, all_day, start_date, end_date, starts_at,
            ends_at, time_zone, status, event_type, is_meeting, join_url, html_link, organizer_email,
            seen_round, attendee_names)
         select u.id, $1, $2, u.event, u.ical_uid, s.id, u.original_start, u.title,
            u.description, u.location, u.all_day, u.start_date, u.end_date, u.starts_at, u.ends_at,
            u.time_zone, u.status, u.event_type, u.is_meeting, u.join_url, u.html_link,
            u.organizer_email, $3, coalesce(names.names, '')
         from unnest($4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[],
                     $10::text[], $11::bool[], $12::date[], $13::date[], $14::timestamptz[],
                     $15::timestamptz[], $16::text[], $17::text[], $18::text[], $19::bool[],
                     $20::text[], $21::text[], $22::text[], $23::int4[], $24::int4[],
                     $27::uuid[])
              with ordinality
              as u(event, ical_uid, series, original_start, title, description, location, all_day,
                   start_date, end_date, starts_at, ends_at, time_zone, status, event_type,
                   is_meeting, join_url, html_link, organizer_email, first, last, id, n)
         left join series s on s.calendar_id = $2 and s.provider_series_id = u.series
         -- Who attends a new meeting, as meetings_refresh_attendee_names (migrations/0015) would
         -- write it once its attendee rows exist: the event's rows are u.first..u.last of the
         -- attendee arrays, each person looked up by key.
         left join lateral (
             select string_agg(coalesce(p.name, p.email), ', '
                               order by a.organizer desc, coalesce(p.name, p.email)) as names
             from unnest(($25::uuid[])[u.first:u.last], ($26::bool[])[u.first:u.last])
                  as a(person, organizer)
             cross join lateral (select p.name, p.email, p.is_me from people p
                                 where p.id = a.person offset 0) p
             where not p.is_me) names on true
         order by u.n
         on conflict on constraint meetings_calendar_event_key do update set
            ical_uid = coalesce(excluded.ical_uid, meetings.ical_uid),
            series_id = coalesce(excluded.series_id, meetings.series_id),
            original_start = coalesce(excluded.original_start, meetings.original_start),
            title = excluded.title, description = excluded.description,
            location = excluded.location, all_day = excluded.all_day,
            start_date = excluded.start_date, end_date = excluded.end_date,
            starts_at = excluded.starts_at, ends_at = excluded.ends_at,
            time_zone = coalesce(excluded.time_zone, meetings.time_zone),
            status = excluded.status, event_type = excluded.event_type,
            is_meeting = excluded.is_meeting,
            join_url = coalesce(excluded.join_url, meetings.join_url),
            html_link = coalesce(excluded.html_link, meetings.html_link),
            organizer_email = coalesce(excluded.organizer_email, meetings.organizer_email),
            seen_round = excluded.seen_round,
            updated_at = now()
            -- attendee_names: a known meeting's are refreshed after its attendee rows change
            -- (`replace_attendees`)
         returning id, provider_event_id, xmax = 0 as "created!", ical_uid, starts_at,
                   is_meeting and same_as is null as "counted!""#,
        user_id,
        calendar_id,
        round,
        &c.ids as &[&str],
        &c.ical_uids as &[Option<&str>],
        &c.series as &[Option<&str>],
        &c.original_starts as &[Option<DateTime<Utc>>],
        c.titles.as_slice(),
        c.descriptions.as_slice(),
        c.locations.as_slice(),
        c.all_day.as_slice(),
        &c.start_dates as &[Option<NaiveDate>],
        &c.end_dates as &[Option<NaiveDate>],
        c.starts_at.as_slice(),
        c.ends_at.as_slice(),
        &c.time_zones as &[Option<String>],
        &c.statuses as &[MeetingStatus],
        c.event_types.as_slice(),
        c.is_meeting.as_slice(),
        &c.join_urls as &[Option<&str>],
        &c.html_links as &[Option<&str>],
        &c.organizers as &[Option<&str>],
        attendees.first.as_slice(),
        attendees.last.as_slice(),
        attendees.people.as_slice(),
        attendees.organizers.as_slice(),
        c.new_ids.as_slice(),
    )
    .fetch_all(&mut **tx)
    .await?;
    // RETURNING order is not guaranteed: match rows back by event id.
    let mut by_event: HashMap<String, MeetingId> = rows
        .into_iter()
        .map(|r| {
            let written = MeetingId {
                id: r.id,
                created: r.created,
                ical_uid: r.ical_uid,
                starts_at: r.starts_at,
                counted: r.counted,
            };
            (r.provider_event_id, written)
        })
        .collect();
    c.ids
        .iter()
        .map(|e| {
            by_event.remove(*e).ok_or_else(|| {
                sqlx::Error::Protocol(format!("no meetings row came back for event {e}"))
            })
        })
        .collect()
}

/// Events as one array per column, bound to [`upsert_meetings`]'s statement.
#[derive(Default)]
struct MeetingColumns<'e> {
    ids: Vec<&'e str>,
    /// The id of the row if the event is new (an event that is stored keeps its own). Version 7
    /// UUIDs, ordered by creation: the rows a listing creates, and their attendee rows, go to
    /// the right-hand end of the indexes keyed by meeting id rather than to random pages of them
    /// (bench/sync: a sixth less time per attendee row).
    new_ids: Vec<Uuid>,
    ical_uids: Vec<Option<&'e str>>,
    series: Vec<Option<&'e str>>,
    original_starts: Vec<Option<DateTime<Utc>>>,
    titles: Vec<String>,
    descriptions: Vec<String>,
    locations: Vec<String>,
    all_day: Vec<bool>,
    start_dates: Vec<Option<NaiveDate>>,
    end_dates: Vec<Option<NaiveDate>>,
    starts_at: Vec<DateTime<Utc>>,
    ends_at: Vec<DateTime<Utc>>,
    time_zones: Vec<Option<String>>,
    statuses: Vec<MeetingStatus>,
    event_types: Vec<String>,
    is_meeting: Vec<bool>,
    join_urls: Vec<Option<&'e str>>,
    html_links: Vec<Option<&'e str>>,
    organizers: Vec<Option<&'e str>>,
}

impl<'e> MeetingColumns<'e> {
    fn push(&mut self, event: &'e Event, row: Merged) {
        self.ids.push(&event.provider_event_id);
        self.new_ids.push(Uuid::now_v7());
        self.ical_uids.push(event.ical_uid.as_deref());
        self.series.push(event.series_provider_id.as_deref());
        self.original_starts.push(event.original_start);
        self.titles.push(row.title);
        self.descriptions.push(row.description);
        self.locations.push(row.location);
        self.all_day.push(row.bounds.all_day);
        self.start_dates.push(row.bounds.start_date);
        self.end_dates.push(row.bounds.end_date);
        self.starts_at.push(row.bounds.starts_at);
        self.ends_at.push(row.bounds.ends_at);
        self.time_zones.push(row.bounds.time_zone);
        self.statuses.push(row.status);
        self.event_types.push(row.event_type);
        self.is_meeting.push(row.is_meeting);
        self.join_urls.push(event.join_url.as_deref());
        self.html_links.push(event.html_link.as_deref());
        self.organizers.push(event.organizer_email.as_deref());
    }
}

/// The attendee rows of a batch's written events, one per (event, person) (an address listed
/// twice keeps its last entry), grouped by event in order: event `k`'s rows are
/// `first[k]..=last[k]` (1-based, as PostgreSQL slices arrays; empty when `first > last`).
#[derive(Default)]
struct AttendeeRows<'e> {
    events: Vec<usize>,
    people: Vec<Uuid>,
    responses: Vec<&'e str>,
    organizers: Vec<bool>,
    optional: Vec<bool>,
    first: Vec<i32>,
    last: Vec<i32>,
}

impl<'e> AttendeeRows<'e> {
    /// People must already be in `directory` (`Directory::upsert_people`).
    fn of(directory: &Directory, written: &[&'e Event]) -> Self {
        let mut rows = AttendeeRows::default();
        let mut at: HashMap<Uuid, usize> = HashMap::new();
        for (k, event) in written.iter().enumerate() {
            at.clear();
            rows.first.push(slice_index(rows.people.len() + 1));
            for a in event.attendees.iter().flatten() {
                let Some(person) = directory.person_id(a) else {
                    continue;
                };
                match at.get(&person) {
                    Some(&i) => {
                        rows.responses[i] = a.response.as_str();
                        rows.organizers[i] = a.organizer;
                        rows.optional[i] = a.optional;
                    }
                    None => {
                        at.insert(person, rows.people.len());
                        rows.events.push(k);
                        rows.people.push(person);
                        rows.responses.push(a.response.as_str());
                        rows.organizers.push(a.organizer);
                        rows.optional.push(a.optional);
                    }
                }
            }
            rows.last.push(slice_index(rows.people.len()));
        }
        rows
    }
}

fn slice_index(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Replaces the attendees of the written events that list them with those lists, writing only
/// the difference: an edited event whose attendees did not change writes no attendee row, so no
/// index entry, counter or attendee summary moves. (Deleting and re-inserting every row of each
/// edited event made 110 edits cost over a second.) Then refreshes who attends
/// (`meetings.attendee_names`) on the known meetings whose rows changed; new meetings got theirs
/// in their insert. The meetings together that inserted and deleted rows add and take away are
/// summed in `together`.
async fn replace_attendees(
    tx: &mut Transaction<'static, Postgres>,
    together: &mut HashMap<Uuid, i32>,
    user_id: Uuid,
    written: &[&Event],
    ids: &[MeetingId],
    rows: &AttendeeRows<'_>,
) -> sqlx::Result<()> {
    // Rows this batch just created have no attendees to remove, nor names to refresh.
    let known: Vec<Uuid> = written
        .iter()
        .zip(ids)
        .filter(|(e, m)| e.attendees.is_some() && !m.created)
        .map(|(_, m)| m.id)
        .collect();
    let (mut of_new, mut of_known) = (AttendeeColumns::default(), AttendeeColumns::default());
    for (i, &k) in rows.events.iter().enumerate() {
        let meeting = &ids[k];
        let columns = if meeting.created {
            &mut of_new
        } else {
            &mut of_known
        };
        columns.push(meeting, rows, i);
    }
    let mut refresh: Vec<Uuid> = Vec::new();
    if !known.is_empty() {
        let removed = sqlx::query!(
            "delete from attendees a
             where a.user_id = $1 and a.meeting_id = any($2)
               and not exists (select 1 from unnest($3::uuid[], $4::uuid[]) as kept(meeting, person)
                               where kept.meeting = a.meeting_id and kept.person = a.person_id)
             returning a.meeting_id, a.person_id, a.counted",
            user_id,
            known.as_slice(),
            of_known.meetings.as_slice(),
            of_known.people.as_slice(),
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in removed {
            refresh.push(row.meeting_id);
            // The counting trigger stands aside for sync (migrations/0029).
            if row.counted {
                *together.entry(row.person_id).or_default() -= 1;
            }
        }
    }
    if !of_new.people.is_empty() {
        insert_attendees(tx, user_id, &of_new).await?;
        for (&person, _) in of_new
            .people
            .iter()
            .zip(&of_new.counted)
            .filter(|(_, c)| **c)
        {
            *together.entry(person).or_default() += 1;
        }
    }
    if !of_known.people.is_empty() {
        for row in upsert_attendees(tx, user_id, &of_known, &known).await? {
            match (row.meeting_id, row.person_id) {
                (Some(meeting), _) => refresh.push(meeting),
                (None, Some(person)) => *together.entry(person).or_default() += row.meetings,
                (None, None) => {}
            }
        }
    }
    if !refresh.is_empty() {
        refresh.sort_unstable();
        refresh.dedup();
        // The function returns void, which has no Rust type: counted instead.
        sqlx::query_scalar!(
            "select count(*) from (select meetings_refresh_attendee_names($1)) refreshed",
            refresh.as_slice()
        )
        .fetch_one(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Attendee rows as one array per column, bound to [`insert_attendees`] and
/// [`upsert_attendees`]. The meeting's start is copied onto its rows (a person's meetings are
/// read in time order from them), and whether it counts as a meeting together (a meeting, and
/// the canonical copy of its invitation): both as the meetings upsert returned them, so that
/// writing attendees reads no meetings row (joining them hashed a scan of every meeting the
/// listing had written so far, for each batch).
#[derive(Default)]
struct AttendeeColumns<'e> {
    meetings: Vec<Uuid>,
    people: Vec<Uuid>,
    responses: Vec<&'e str>,
    organizers: Vec<bool>,
    optional: Vec<bool>,
    starts_at: Vec<DateTime<Utc>>,
    counted: Vec<bool>,
}

impl<'e> AttendeeColumns<'e> {
    /// Row `i` of `rows`, an attendee of `meeting`.
    fn push(&mut self, meeting: &MeetingId, rows: &AttendeeRows<'e>, i: usize) {
        self.meetings.push(meeting.id);
        self.people.push(rows.people[i]);
        self.responses.push(rows.responses[i]);
        self.organizers.push(rows.organizers[i]);
        self.optional.push(rows.optional[i]);
        self.starts_at.push(meeting.starts_at);
        self.counted.push(meeting.counted);
    }
}

/// Inserts the attendee rows of meetings this batch created: none of them can exist, so a plain
/// insert, without the unique index probe and speculative insertion of `on conflict` (bench/sync:
/// a quarter less time per row).
async fn insert_attendees(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    c: &AttendeeColumns<'_>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into attendees (meeting_id, person_id, user_id, response_status, is_organizer,
                                is_optional, starts_at, counted)
         select u.meeting, u.person, $1, u.response, u.organizer, u.optional, u.starts_at,
                u.counted
         from unnest($2::uuid[], $3::uuid[], $4::text[], $5::bool[], $6::bool[],
                     $7::timestamptz[], $8::bool[])
              as u(meeting, person, response, organizer, optional, starts_at, counted)",
        user_id,
        c.meetings.as_slice(),
        c.people.as_slice(),
        // An explicit slice type: the macro checks `text[]` against `&[String]` otherwise.
        c.responses.as_slice() as &[&str],
        c.organizers.as_slice(),
        c.optional.as_slice(),
        c.starts_at.as_slice(),
        c.counted.as_slice(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What [`upsert_attendees`] wrote: a meeting among `known` that had a row inserted or updated,
/// or a person with the meetings together their inserted rows count.
struct AttendeesWritten {
    meeting_id: Option<Uuid>,
    person_id: Option<Uuid>,
    meetings: i32,
}

/// Inserts new attendee rows of known meetings and updates changed ones. A row that exists is
/// updated only when its response or role changed. The rows it inserts that count are summed
/// per person here rather than by the counting trigger, which stands aside for sync
/// (migrations/0026).
async fn upsert_attendees(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    c: &AttendeeColumns<'_>,
    known: &[Uuid],
) -> sqlx::Result<Vec<AttendeesWritten>> {
    sqlx::query_as!(
        AttendeesWritten,
        r#"with written as (
             insert into attendees (meeting_id, person_id, user_id, response_status, is_organizer,
                                    is_optional, starts_at, counted)
             select u.meeting, u.person, $1, u.response, u.organizer, u.optional, u.starts_at,
                    u.counted
             from unnest($2::uuid[], $3::uuid[], $4::text[], $5::bool[], $6::bool[],
                         $8::timestamptz[], $9::bool[])
                  as u(meeting, person, response, organizer, optional, starts_at, counted)
             on conflict (user_id, meeting_id, person_id) do update
                set response_status = excluded.response_status,
                    is_organizer = excluded.is_organizer,
                    is_optional = excluded.is_optional
                where (attendees.response_status, attendees.is_organizer, attendees.is_optional)
                      is distinct from (excluded.response_status, excluded.is_organizer, excluded.is_optional)
             returning meeting_id, person_id, counted, xmax = 0 as inserted)
         select distinct meeting_id as "meeting_id?", null::uuid as "person_id?", 0 as "meetings!"
         from written where meeting_id = any($7)
         union all
         select null, person_id, count(*)::int4 from written where inserted and counted
         group by person_id"#,
        user_id,
        c.meetings.as_slice(),
        c.people.as_slice(),
        c.responses.as_slice() as &[&str],
        c.organizers.as_slice(),
        c.optional.as_slice(),
        known,
        c.starts_at.as_slice(),
        c.counted.as_slice(),
    )
    .fetch_all(&mut **tx)
    .await
}

/// Marks events cancelled; an id that is a whole series cancels every instance of it too
/// (Google reports cancelled instances only up to a horizon). Unknown ids are ignored. Each
/// statement is answered by an index. The rows are marked with the listing's round, like the
/// rows it wrote (`Writer::finish` may read them back). Returns the invitations (iCalendar
/// UIDs) it cancelled.
async fn cancel(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    calendar_id: Uuid,
    round: Uuid,
    ids: &[&str],
) -> sqlx::Result<Vec<Option<String>>> {
    let mut uids = sqlx::query_scalar!(
        "update meetings set status = 'cancelled', updated_at = now(), seen_round = $4
         where user_id = $1 and calendar_id = $2 and status <> 'cancelled'
           and provider_event_id = any($3)
         returning ical_uid",
        user_id,
        calendar_id,
        ids as &[&str],
        round,
    )
    .fetch_all(&mut **tx)
    .await?;
    // Most cancelled ids are single events: the series step runs only for ids that are series.
    let series = sqlx::query_scalar!(
        "select id from series
         where user_id = $1 and calendar_id = $2 and provider_series_id = any($3)",
        user_id,
        calendar_id,
        ids as &[&str],
    )
    .fetch_all(&mut **tx)
    .await?;
    if !series.is_empty() {
        uids.extend(
            sqlx::query_scalar!(
                "update meetings set status = 'cancelled', updated_at = now(), seen_round = $4
                 where user_id = $1 and calendar_id = $2 and status <> 'cancelled'
                   and series_id = any($3)
                 returning ical_uid",
                user_id,
                calendar_id,
                series.as_slice(),
                round,
            )
            .fetch_all(&mut **tx)
            .await?,
        );
    }
    Ok(uids)
}
