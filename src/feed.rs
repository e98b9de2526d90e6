//! The calendar feed of what is due: a private address, `/feeds/<token>.ics`, that calendar
//! apps subscribe to (they cannot sign in), serving the user's open action items with due
//! dates as all-day events and to-dos; and the Settings actions that make, replace and revoke
//! that address.
//!
//! The token is 256 random bits, shown once as the whole URL (through the session, on the
//! Settings page right after it is made) and stored only as its SHA-256: whoever reads the
//! database cannot rebuild a working URL. Looking a token up by its hash through a unique index
//! compares hashes, never the token, so the time a lookup takes says nothing about the token.
//! An unknown, revoked or malformed token is a plain 404, whatever the reason.

use std::sync::Arc;

use axum::{
    Extension, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use icalendar::{Calendar, Component as _, EventLike as _, Todo, TodoStatus};
use sha2::{Digest as _, Sha256};
use tower_sessions::Session;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::{self, SignedIn, session_error},
    config::Config,
    crypto::{self, BearerHash},
    http::{
        AppError, AppResult,
        rate_limit::{self, PerKey},
    },
    time,
};

/// The Settings actions, served inside the session and the CSRF check like every page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/feed", post(create))
        .route("/settings/feed/revoke", post(revoke))
}

/// The feed itself: no session, no cookie, the token is the credential. Limited per client
/// address (`DOCKET_FEED_RATE_PER_MINUTE`), and per feed so that a leaked URL cannot be used
/// to make Docket render the same calendar over and over.
pub fn public_router(state: &AppState) -> Router<AppState> {
    let per_feed = Arc::new(PerKey::per_minute(FETCHES_PER_FEED_PER_MINUTE));
    let routes = Router::new()
        .route("/feeds/{file}", get(serve))
        .layer(Extension(per_feed));
    rate_limit::per_client(routes, &state.config, state.config.feed_rate_per_minute)
}

/// Fetches of one feed per minute (a calendar app polls every few minutes at most), keyed by
/// its owner: one feed per user, so the limiter holds at most one entry per user.
const FETCHES_PER_FEED_PER_MINUTE: u32 = 20;

/// At most this many items, soonest due first: a feed of a lifetime's backlog helps nobody,
/// and a request costs what it shows.
pub const MAX_ITEMS: i64 = 1_000;

/// An item's text is one line of a note, which may be long; a calendar title need not be.
const MAX_SUMMARY_CHARS: usize = 500;

/// The calendar's name in calendar apps (`X-WR-CALNAME`).
pub const CALENDAR_NAME: &str = "Docket — due action items";
const PRODID: &str = "-//Docket//Due action items//EN";

/// Calendar apps may keep the feed five minutes before asking again; `private`, because the
/// URL is a credential and the content one person's.
const CACHE_CONTROL: &str = "private, max-age=300";

/// How stale "last fetched" may get before a fetch records itself: one write per few minutes
/// of polling, not one per request.
const FETCH_RECORD_MINUTES: i64 = 5;

// ---------------------------------------------------------------------------------------------
// Tokens

/// The hash to look up for the last path segment `<token>.ics`, as it came over the wire (still
/// percent-encoded), or `None` when it cannot be a token Docket made.
fn parse_file_name(raw: &str) -> Option<BearerHash> {
    crypto::parse_bearer(raw.strip_suffix(".ics")?)
}

/// The absolute URL of the feed with `token`.
fn feed_url(config: &Config, token: &str) -> String {
    config.public_link(&format!("/feeds/{token}.ics"))
}

// ---------------------------------------------------------------------------------------------
// Settings

/// The user's feed as Settings shows it (the URL itself is not known after it was shown).
#[derive(Debug, Clone)]
pub struct FeedStatus {
    pub created_at: DateTime<Utc>,
    pub fetched_at: Option<DateTime<Utc>>,
}

impl FeedStatus {
    pub fn created_label(&self) -> String {
        time::long_day(self.created_at.date_naive())
    }

    pub fn fetched_label(&self) -> String {
        match self.fetched_at {
            Some(at) => format!("last fetched {}", time::relative(at, Utc::now())),
            None => "not fetched yet".to_owned(),
        }
    }
}

/// The user's feed, if they made one.
pub async fn status(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Option<FeedStatus>> {
    sqlx::query_as!(
        FeedStatus,
        "select created_at, fetched_at from feed_tokens where user_id = $1",
        user_id
    )
    .fetch_optional(db)
    .await
}

/// The session key of a feed URL just made, shown once by the Settings page.
const NEW_FEED_URL: &str = "new_feed_url";

/// The feed URL made by the last request of this session, if any, removed from the session:
/// the page that shows it is the only one that ever will.
pub async fn take_new_url(session: &Session) -> AppResult<Option<String>> {
    session::take_once(session, NEW_FEED_URL).await
}

/// Makes the user's feed, or replaces it: the previous URL stops working with this statement.
async fn create(State(state): State<AppState>, user: SignedIn) -> AppResult<Response> {
    let (token, hash) = crypto::new_bearer();
    sqlx::query!(
        "insert into feed_tokens (user_id, token_hash) values ($1, $2)
         on conflict (user_id) do update
         set token_hash = excluded.token_hash, created_at = now(), fetched_at = null",
        user.id,
        &hash[..],
    )
    .execute(&state.db)
    .await?;
    user.session
        .insert(NEW_FEED_URL, feed_url(&state.config, &token))
        .await
        .map_err(session_error)?;
    tracing::info!("calendar feed address made");
    Ok(Redirect::to("/settings#feed").into_response())
}

/// Deletes the user's feed: its URL answers 404 from now on.
async fn revoke(State(state): State<AppState>, user: SignedIn) -> AppResult<Response> {
    sqlx::query!("delete from feed_tokens where user_id = $1", user.id)
        .execute(&state.db)
        .await?;
    // A URL made but not yet shown is dead too: never show it.
    user.session
        .remove_value(NEW_FEED_URL)
        .await
        .map_err(session_error)?;
    tracing::info!("calendar feed revoked");
    Ok(Redirect::to("/settings#feed").into_response())
}

// ---------------------------------------------------------------------------------------------
// The feed

/// An open action item with a due date, as the feed shows it (a row of `item_rows`).
#[derive(Debug, Clone)]
struct DueItem {
    id: Uuid,
    text: String,
    due: NaiveDate,
    updated_at: DateTime<Utc>,
    assignee_name: Option<String>,
    assignee_is_me: Option<bool>,
    meeting_id: Option<Uuid>,
    meeting_title: Option<String>,
    meeting_at: Option<DateTime<Utc>>,
    note_id: Uuid,
}

/// The user's open action items with a due date, soonest first, at most [`MAX_ITEMS`]: a range
/// of `items_dated_open_actions_idx`, never the user's whole history.
async fn due_items(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<DueItem>> {
    sqlx::query_as!(
        DueItem,
        r#"select i.id as "id!", i.text as "text!", i.due as "due!", i.updated_at as "updated_at!",
                  i.assignee_name, i.assignee_is_me, i.meeting_id, i.meeting_title, i.meeting_at,
                  i.note_id as "note_id!"
           from item_rows i
           where i.user_id = $1 and i.kind = 'action' and not i.done and not i.removed
             and i.due is not null
           order by i.due, i.id
           limit $2"#,
        user_id,
        MAX_ITEMS,
    )
    .fetch_all(db)
    .await
}

/// Text for a TEXT value: line breaks as `\n` (the writer escapes them), no other control
/// characters, which RFC 5545 does not allow in text.
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
        None => text.to_owned(),
    }
}

impl DueItem {
    fn assigned_to_me(&self) -> bool {
        self.assignee_is_me == Some(true)
    }

    /// The item's text, led by the assignee's name when it is someone else's to do.
    fn summary(&self) -> String {
        let text = shortened(&clean(&self.text), MAX_SUMMARY_CHARS);
        match &self.assignee_name {
            Some(name) if !self.assigned_to_me() => format!("{}: {text}", clean(name)),
            _ => text,
        }
    }

    /// Where the item comes from and whose it is, one fact a line.
    fn description(&self, tz: chrono_tz::Tz, link: &str) -> String {
        let source = match (&self.meeting_title, self.meeting_at) {
            (Some(title), Some(at)) => {
                let title = clean(title);
                let title = if title.trim().is_empty() {
                    "Untitled meeting"
                } else {
                    title.trim()
                };
                format!(
                    "From the meeting {title} on {}",
                    time::long_day(time::local_date(at, tz))
                )
            }
            _ => "From a note".to_owned(),
        };
        let who = match (&self.assignee_name, self.assigned_to_me()) {
            (_, true) => "you".to_owned(),
            (Some(name), false) => clean(name),
            (None, false) => "nobody yet".to_owned(),
        };
        format!("{source}\nAssigned to {who}\n{link}")
    }

    /// The page the item was written on: its meeting, or the standalone note.
    fn link(&self, config: &Config) -> String {
        config.public_link(&match self.meeting_id {
            Some(id) => format!("/meetings/{id}"),
            None => format!("/notes/{}", self.note_id),
        })
    }
}

/// The feed as served: the calendar of [`calendar`], written and folded.
fn render(items: &[DueItem], config: &Config, tz: chrono_tz::Tz) -> String {
    refold(&calendar(items, config, tz).to_string())
}

/// The feed as an iCalendar object: per item an all-day event on its due date (for calendars
/// that show no to-dos) and a to-do due that day. UIDs are the item's id, DTSTAMP its last
/// change, so the same items give the same bytes on every request.
fn calendar(items: &[DueItem], config: &Config, tz: chrono_tz::Tz) -> Calendar {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("PRODID", PRODID))
        .append_property(("VERSION", "2.0"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("X-WR-CALNAME", CALENDAR_NAME));
    // No METHOD: with one, DTSTAMP would have to be the time the object was made (RFC 5545
    // 3.8.7.2), which changes on every request; without, it is the item's last revision.
    for item in items {
        let summary = item.summary();
        let link = item.link(config);
        let description = item.description(tz, &link);
        let mut event = icalendar::Event::new();
        event
            .uid(&format!("{}-event@docket", item.id))
            .timestamp(item.updated_at)
            .summary(&summary)
            .description(&description)
            .url(&link)
            .starts(item.due)
            // An all-day event ends (exclusively) the next day; a date past chrono's range,
            // which no note can write, would end where it starts.
            .ends(item.due.succ_opt().unwrap_or(item.due))
            // A reminder, not an appointment: the day stays free.
            .add_property("TRANSP", "TRANSPARENT");
        let mut todo = Todo::new();
        todo.uid(&format!("{}-todo@docket", item.id))
            .timestamp(item.updated_at)
            .summary(&summary)
            .description(&description)
            .url(&link)
            .due(item.due)
            .status(TodoStatus::NeedsAction);
        calendar.push(event.done()).push(todo.done());
    }
    calendar
}

/// The longest content line RFC 5545 (3.1) allows, in octets, without its line break.
const LINE_OCTETS: usize = 75;

/// `icalendar` folds long lines, but lets a continuation line hold 75 octets after its leading
/// space: 76 in all (so does the `ics` crate). Its output is unfolded (a fold is the only CRLF
/// followed by a space it writes: text values have their line breaks escaped) and folded again
/// so that no line, leading space included, exceeds 75 octets, never inside a character.
fn refold(ics: &str) -> String {
    let unfolded = ics.replace("\r\n ", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 24);
    for line in unfolded.split_terminator("\r\n") {
        let mut rest = line;
        let mut room = LINE_OCTETS;
        while rest.len() > room {
            let mut cut = room;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&rest[..cut]);
            out.push_str("\r\n ");
            rest = &rest[cut..];
            room = LINE_OCTETS - 1;
        }
        out.push_str(rest);
        out.push_str("\r\n");
    }
    out
}

/// A weak validator from the bytes served: equal bodies, equal tags. Weak, because the
/// compression layer may send the same calendar in another encoding.
fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

struct Feed {
    user_id: Uuid,
    time_zone: String,
    fetched_at: Option<DateTime<Utc>>,
}

async fn serve(
    State(state): State<AppState>,
    Extension(per_feed): Extension<Arc<PerKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> AppResult<Response> {
    // The path as sent, not a decoded path parameter: a decoder refuses some bytes (`%FF`) with
    // a 400, and every malformed token is to be the same 404.
    let hash = uri
        .path()
        .strip_prefix("/feeds/")
        .and_then(parse_file_name)
        .ok_or(AppError::NotFound)?;
    let feed = sqlx::query_as!(
        Feed,
        "select f.user_id, u.time_zone, f.fetched_at
         from feed_tokens f join users u on u.id = f.user_id
         where f.token_hash = $1",
        &hash[..],
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(AppError::NotFound)?;
    tracing::Span::current().record("user_id", tracing::field::display(feed.user_id));
    per_feed
        .check(&feed.user_id)
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let items = due_items(&state.db, feed.user_id).await?;
    let body = render(&items, &state.config, time::zone(&feed.time_zone));
    let etag = etag(&body);
    if feed
        .fetched_at
        .is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(FETCH_RECORD_MINUTES))
    {
        sqlx::query!(
            "update feed_tokens set fetched_at = now() where user_id = $1 and token_hash = $2",
            feed.user_id,
            &hash[..],
        )
        .execute(&state.db)
        .await?;
    }
    let mut response = if not_modified(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex in quotes"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_file_name_is_a_bearer_secret_and_ics() {
        let (token, hash) = crypto::new_bearer();
        assert_eq!(parse_file_name(&format!("{token}.ics")), Some(hash));
        for bad in [
            token.clone(),                   // no .ics
            format!("{token}.ICS"),          // another suffix
            format!("{}.ics", &token[..42]), // too short
            format!("{token}.ics.ics"),
            ".ics".to_owned(),
        ] {
            assert_eq!(parse_file_name(&bad), None, "{bad}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let tag = etag("BEGIN:VCALENDAR");
        let strong = tag.trim_start_matches("W/").to_owned();
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
            headers
        };
        assert!(not_modified(&with(&tag), &tag));
        assert!(not_modified(&with(&strong), &tag));
        assert!(not_modified(&with(&format!("\"x\", {tag}")), &tag));
        assert!(not_modified(&with("*"), &tag));
        assert!(!not_modified(&with("\"x\""), &tag));
        assert!(!not_modified(&HeaderMap::new(), &tag));
    }

    #[test]
    fn folded_lines_hold_at_most_75_octets_and_unfold_to_the_original() {
        let long = format!("SUMMARY:{}", "naïve “quick wins”, 老虎; ".repeat(20));
        for line in [
            "VERSION:2.0".to_owned(),
            "X".repeat(75),
            "X".repeat(76),
            "X".repeat(75 + 74),
            "X".repeat(75 + 75),
            long.clone(),
        ] {
            // Folded as icalendar would, badly or not at all: the result is the same.
            let folded = refold(&format!("BEGIN:VCALENDAR\r\n{line}\r\nEND:VCALENDAR\r\n"));
            assert!(folded.ends_with("\r\n"));
            for physical in folded.split_terminator("\r\n") {
                assert!(
                    physical.len() <= 75,
                    "{} octets: {physical:?}",
                    physical.len()
                );
            }
            assert_eq!(
                folded.replace("\r\n ", ""),
                format!("BEGIN:VCALENDAR\r\n{line}\r\nEND:VCALENDAR\r\n")
            );
        }
        assert_eq!(
            refold(&format!("{}\r\n", "X".repeat(75))).lines().count(),
            1
        );
        assert_eq!(
            refold(&format!("{}\r\n", "X".repeat(76))).lines().count(),
            2
        );
        assert_eq!(
            refold(&format!("{}\r\n", "X".repeat(149))).lines().count(),
            2
        );
        assert_eq!(
            refold(&format!("{}\r\n", "X".repeat(150))).lines().count(),
            3
        );
    }

    #[test]
    fn the_written_calendar_is_folded_escaped_and_stable() {
        let config = Config::from_vars(&Default::default()).unwrap();
        let item = DueItem {
            id: Uuid::nil(),
            text: format!("{}, a; b \\ c\r\nd", "Zürich ".repeat(12)),
            due: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            updated_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            assignee_name: Some("Charles Babbage".into()),
            assignee_is_me: Some(false),
            meeting_id: None,
            meeting_title: None,
            meeting_at: None,
            note_id: Uuid::nil(),
        };
        let ics = render(&[item], &config, chrono_tz::UTC);
        assert_eq!(ics, refold(&ics), "folding twice changes nothing");
        for line in ics.split_terminator("\r\n") {
            assert!(line.len() <= 75, "{line:?}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("\r\nSUMMARY:Charles Babbage: Zürich Zürich "));
        assert!(unfolded.contains(r"\, a\; b \\ c\nd"));
        assert!(unfolded.contains("\r\nDTSTART;VALUE=DATE:20261231\r\n"));
        assert!(unfolded.contains("\r\nDTEND;VALUE=DATE:20270101\r\n"));
        assert!(unfolded.contains("\r\nDUE;VALUE=DATE:20261231\r\n"));
        assert!(unfolded.contains("\r\nDTSTAMP:20260921T"));
        assert!(unfolded.contains("\r\nUID:00000000-0000-0000-0000-000000000000-todo@docket\r\n"));
        assert!(unfolded.contains(
            "\r\nURL:http://localhost:3000/notes/00000000-0000-0000-0000-000000000000\r\n"
        ));
        assert!(unfolded.contains("\r\nSTATUS:NEEDS-ACTION\r\n"));
        assert!(!unfolded.contains("METHOD"));
    }

    #[test]
    fn text_loses_control_characters_but_keeps_line_breaks() {
        assert_eq!(clean("a\r\nb\rc\u{7}d\te"), "a\nb\ncd\te");
        assert_eq!(shortened("abcdef", 3), "abc…");
        assert_eq!(shortened("abc", 3), "abc");
        assert_eq!(shortened("Überprüfung", 2), "Üb…");
    }
}
