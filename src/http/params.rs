//! Parsing query and form values by hand, so a bad value gets a message that says which field
//! and why (axum's extractor rejections are terse and technical).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use uuid::Uuid;

use super::AppError;

/// An id from the URL. Malformed ids are "not found", exactly like someone else's ids.
pub fn id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

pub fn optional_id(field: &str, raw: &Option<String>) -> Result<Option<Uuid>, AppError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| AppError::BadRequest(format!("The {field} filter is not a valid id."))),
    }
}

pub fn optional_date(field: &str, raw: &Option<String>) -> Result<Option<NaiveDate>, AppError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                AppError::BadRequest(format!(
                    "{field} must be a real date written YYYY-MM-DD; {s:?} is not."
                ))
            }),
    }
}

/// Where a keyset-paginated list goes on: the sort key of the last row shown, then its id
/// (`key~id`). Lists read a page from there through an index, never skipping rows with OFFSET.
pub fn cursor(key: &str, id: Uuid) -> String {
    format!("{key}~{id}")
}

/// For a page read with one row more than it shows (`size + 1`): drops the extra row and gives
/// the cursor of the last row shown when more follow.
pub fn next_cursor<T>(
    rows: &mut Vec<T>,
    size: i64,
    cursor: impl Fn(&T) -> String,
) -> Option<String> {
    (rows.len() as i64 > size).then(|| {
        rows.truncate(size as usize);
        cursor(rows.last().expect("a full page"))
    })
}

/// A cursor over a time-ordered list.
pub fn time_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    cursor(&at.to_rfc3339_opts(SecondsFormat::Micros, true), id)
}

fn split_cursor(raw: &Option<String>) -> Result<Option<(&str, Uuid)>, AppError> {
    let Some(raw) = raw.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    raw.rsplit_once('~')
        .and_then(|(key, id)| Some((key, Uuid::parse_str(id).ok()?)))
        .map(Some)
        .ok_or_else(|| {
            AppError::BadRequest(
                "The page link is damaged (after=…); go back to the first page.".into(),
            )
        })
}

/// The `after` cursor of a time-ordered list.
pub fn after_time(raw: &Option<String>) -> Result<Option<(DateTime<Utc>, Uuid)>, AppError> {
    match split_cursor(raw)? {
        None => Ok(None),
        Some((key, id)) => DateTime::parse_from_rfc3339(key)
            .map(|at| Some((at.with_timezone(&Utc), id)))
            .map_err(|_| {
                AppError::BadRequest(
                    "The page link is damaged (after=…); go back to the first page.".into(),
                )
            }),
    }
}

/// The `after` cursor of a list ordered by text (a name).
pub fn after_text(raw: &Option<String>) -> Result<Option<(String, Uuid)>, AppError> {
    Ok(split_cursor(raw)?.map(|(key, id)| (key.to_owned(), id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_dates_are_clear_errors() {
        assert!(optional_date("from", &Some("2026-02-30".into())).is_err());
        assert_eq!(
            optional_date("from", &Some("2026-02-28".into())).unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
    }

    #[test]
    fn cursors_round_trip_and_damaged_ones_are_clear_errors() {
        use chrono::SubsecRound;
        let id = Uuid::new_v4();
        // PostgreSQL keeps microseconds, and so does the cursor.
        let at = Utc::now().trunc_subsecs(6);
        let raw = Some(time_cursor(at, id));
        assert_eq!(after_time(&raw).unwrap(), Some((at, id)));
        let named = Some(cursor("Ada ~ Lovelace", id));
        assert_eq!(
            after_text(&named).unwrap(),
            Some(("Ada ~ Lovelace".into(), id))
        );
        for bad in [
            "x",
            "2026-01-01~nope",
            "yesterday~00000000-0000-0000-0000-000000000000",
        ] {
            assert!(after_time(&Some(bad.into())).is_err(), "{bad}");
        }
        assert_eq!(after_time(&None).unwrap(), None);
    }
}
