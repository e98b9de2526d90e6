//! Showing instants in the user's time zone, and how long ago something happened.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

/// The user's zone; an unknown name falls back to UTC rather than failing a page.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

// Written out rather than through chrono's `format`, which parses its pattern on every call:
// pages print these for every row, and the parsing was a tenth of a cached page's time.
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "09:30"
pub fn clock(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// "Wed 25 Nov"
pub fn day(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        &WEEKDAYS[date.weekday().num_days_from_monday() as usize][..3],
        date.day(),
        &MONTHS[date.month0() as usize][..3]
    )
}

/// "Wednesday 25 November 2026"
pub fn long_day(date: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// "just now", "3 minutes ago", "2 hours ago", "5 days ago" (or "in …" for the future).
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    let (future, secs) = (secs < 0, secs.unsigned_abs());
    let phrase = match secs {
        0..=44 => return "just now".into(),
        45..=5399 => plural((secs + 30) / 60, "minute"),
        5400..=129_599 => plural((secs + 1800) / 3600, "hour"),
        _ => plural((secs + 43_200) / 86_400, "day"),
    };
    if future {
        format!("in {phrase}")
    } else {
        format!("{phrase} ago")
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written labels say exactly what chrono's patterns say, every day of four years
    /// and every minute of a day in a zone with a half-hour offset.
    #[test]
    fn labels_match_chronos_patterns() {
        let mut date = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        while date.year() < 2028 {
            assert_eq!(day(date), date.format("%a %-d %b").to_string());
            assert_eq!(long_day(date), date.format("%A %-d %B %Y").to_string());
            date = date.succ_opt().unwrap();
        }
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let midnight = DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for minute in 0..24 * 60 {
            let at = midnight + chrono::Duration::minutes(minute);
            assert_eq!(
                clock(at, tz),
                at.with_timezone(&tz).format("%H:%M").to_string()
            );
        }
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative(now, now), "just now");
        assert_eq!(
            relative(now - chrono::Duration::minutes(3), now),
            "3 minutes ago"
        );
        assert_eq!(
            relative(now - chrono::Duration::hours(2), now),
            "2 hours ago"
        );
        assert_eq!(
            relative(now + chrono::Duration::minutes(1), now),
            "in 1 minute"
        );
    }

    #[test]
    fn unknown_zones_fall_back_to_utc() {
        assert_eq!(zone("Mars/Olympus_Mons"), chrono_tz::UTC);
        assert_eq!(zone("Europe/London").name(), "Europe/London");
    }
}
