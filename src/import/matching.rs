//! Which of the user's meetings an imported note belongs to, tried in order: the meeting's id in
//! a Docket export (`docket_id`), the calendar's event id, the iCalendar UID, then the same
//! day and title. Every lookup is scoped to the importing user: another user's meeting id in a
//! file finds nothing, exactly like an unknown one.

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::run::PendingFile;
use crate::kinds::{DateSource, MatchedBy};

/// A candidate meeting, with what tells its day.
struct Candidate {
    id: Uuid,
    title: String,
    starts_at: chrono::DateTime<chrono::Utc>,
    all_day: bool,
    start_date: Option<NaiveDate>,
}

impl Candidate {
    /// The meeting's day in the user's time zone (an all-day event's own date).
    fn day(&self, tz: Tz) -> NaiveDate {
        match (self.all_day, self.start_date) {
            (true, Some(date)) => date,
            _ => crate::time::local_date(self.starts_at, tz),
        }
    }
}

/// The meeting `file` belongs to, and how it was found.
pub async fn meeting_for(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    tz: Tz,
    file: &PendingFile,
) -> sqlx::Result<Option<(Uuid, MatchedBy)>> {
    if let Some(docket_id) = file.docket_id {
        let found = sqlx::query_scalar!(
            "select id from meetings where id = $1 and user_id = $2",
            docket_id,
            user_id,
        )
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(id) = found {
            return Ok(Some((id, MatchedBy::DocketId)));
        }
    }
    if let Some(event_id) = &file.provider_event_id {
        // Sync's unique key is (calendar, event id): look through the user's calendars.
        let candidates = sqlx::query_as!(
            Candidate,
            "select m.id, m.title, m.starts_at, m.all_day, m.start_date
             from calendars c join meetings m on m.calendar_id = c.id
             where c.user_id = $1 and m.user_id = $1 and m.provider_event_id = $2",
            user_id,
            event_id,
        )
        .fetch_all(&mut **tx)
        .await?;
        if let Some(id) = one(&candidates, file.note_date, tz) {
            return Ok(Some((id, MatchedBy::ProviderEventId)));
        }
    }
    if let Some(uid) = &file.ical_uid {
        // A recurring series shares its UID: the file's day picks the occurrence. The copies
        // of an invitation on other calendars are the canonical meeting (migrations/0019).
        let candidates = sqlx::query_as!(
            Candidate,
            "select id, title, starts_at, all_day, start_date from meetings
             where user_id = $1 and ical_uid = $2 and same_as is null",
            user_id,
            uid,
        )
        .fetch_all(&mut **tx)
        .await?;
        if let Some(id) = one(&candidates, file.note_date, tz) {
            return Ok(Some((id, MatchedBy::IcalUid)));
        }
    }
    // Day and title, when the file itself says its day (a file's modification date or the
    // import's own day says nothing about the meeting).
    let dated = matches!(
        file.date_source,
        Some(DateSource::FrontMatter | DateSource::FileName)
    );
    let title = normalized(&file.title);
    if let (true, Some(date), false) = (dated, file.note_date, title.is_empty()) {
        // A window wide enough for any time zone, narrowed to the local day below.
        let from = (date - Duration::days(1))
            .and_time(NaiveTime::MIN)
            .and_utc();
        let to = (date + Duration::days(2))
            .and_time(NaiveTime::MIN)
            .and_utc();
        let candidates = sqlx::query_as!(
            Candidate,
            "select id, title, starts_at, all_day, start_date from meetings
             where user_id = $1 and starts_at >= $2 and starts_at < $3 and status <> 'cancelled'
               and same_as is null",
            user_id,
            from,
            to,
        )
        .fetch_all(&mut **tx)
        .await?;
        let mut same = candidates
            .iter()
            .filter(|c| c.day(tz) == date && normalized(&c.title) == title);
        if let (Some(meeting), None) = (same.next(), same.next()) {
            return Ok(Some((meeting.id, MatchedBy::DateTitle)));
        }
    }
    Ok(None)
}

/// The only candidate, or the only one on `date`.
fn one(candidates: &[Candidate], date: Option<NaiveDate>, tz: Tz) -> Option<Uuid> {
    if let [only] = candidates {
        return Some(only.id);
    }
    let date = date?;
    let mut on_day = candidates.iter().filter(|c| c.day(tz) == date);
    match (on_day.next(), on_day.next()) {
        (Some(meeting), None) => Some(meeting.id),
        _ => None,
    }
}

/// Titles compare trimmed and case-insensitively.
fn normalized(title: &str) -> String {
    title.trim().to_lowercase()
}
