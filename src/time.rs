//! Showing instants in the user's time zone, and how long ago something happened.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// The user's zone; an unknown name falls back to UTC rather than failing a page.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

pub fn clock(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

/// "Wed 25 Nov"
pub fn day(date: NaiveDate) -> String {
    date.format("%a %-d %b").to_string()
}

/// "Wednesday 25 November 2026"
pub fn long_day(date: NaiveDate) -> String {
    date.format("%A %-d %B %Y").to_string()
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
