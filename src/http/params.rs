//! Parsing query and form values by hand, so a bad value gets a message that says which field
//! and why (axum's extractor rejections are terse and technical).

use chrono::NaiveDate;
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

/// Largest page number accepted: far past any real list, small enough to keep offsets cheap.
const MAX_PAGE: u32 = 10_000;

pub fn page(raw: &Option<String>) -> Result<u32, AppError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(1),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "page must be a whole number from 1 to {MAX_PAGE}."
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_dates_and_pages_are_clear_errors() {
        assert!(optional_date("from", &Some("2026-02-30".into())).is_err());
        assert_eq!(
            optional_date("from", &Some("2026-02-28".into())).unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        for bad in ["0", "-1", "99999999999", "abc"] {
            assert!(page(&Some(bad.into())).is_err(), "{bad}");
        }
        assert_eq!(page(&None).unwrap(), 1);
    }
}
