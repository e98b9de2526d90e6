//! `/api/v1/meetings`: the meetings list with the page's filters, one meeting with its
//! attendees and items, and its note, read and replaced with the same version check as the
//! meeting page.

use axum::{Json, extract::State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    ApiUser, ApiWriter, IdPath, JsonBody, QueryParams,
    action_items::Item,
    cursor, limit,
    problem::{ApiError, ApiResult, NoteVersion},
};
use crate::{
    AppState,
    http::params,
    kinds::MeetingStatus,
    meetings::{self as pages, AttendeeView, MeetingFilter, MeetingRow},
    notes::{self, Saved, Target},
    time,
};

/// Upcoming meetings (still running or ahead) or past ones (already started).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum When {
    Upcoming,
    Past,
}

/// The meetings page's filters, and the page to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingsQuery {
    /// `upcoming` (the default): soonest first; `past`: newest first.
    #[param(value_type = Option<When>, inline)]
    when: Option<String>,
    /// Only meetings starting on or after this day (in the user's time zone).
    #[param(value_type = Option<NaiveDate>)]
    from: Option<String>,
    /// Only meetings starting on or before this day (in the user's time zone).
    #[param(value_type = Option<NaiveDate>)]
    to: Option<String>,
    /// Only meetings this person attends (404 when the person is not one of yours).
    #[param(value_type = Option<Uuid>)]
    person: Option<String>,
    /// Only meetings with people of this organization (404 when it is not one of yours).
    #[param(value_type = Option<Uuid>)]
    organization: Option<String>,
    /// Only meetings of this recurring series (404 when it is not one of yours).
    #[param(value_type = Option<Uuid>)]
    series: Option<String>,
    /// Where to go on from: the `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Meetings per page, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// A meeting as lists show it.
#[derive(Serialize, ToSchema)]
pub struct Meeting {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    /// The first day of an all-day event, as the calendar gives it.
    pub start_date: Option<NaiveDate>,
    pub join_url: Option<String>,
    pub status: MeetingStatus,
    /// False for a calendar entry nobody else attends (a focus block, a holiday).
    pub is_meeting: bool,
    /// Who else attends, comma-separated, organizer first.
    pub attendee_names: String,
    /// The recurring series it belongs to.
    pub series_title: Option<String>,
}

impl From<MeetingRow> for Meeting {
    fn from(row: MeetingRow) -> Meeting {
        Meeting {
            id: row.id,
            title: row.title,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            all_day: row.all_day,
            start_date: row.start_date,
            join_url: row.join_url,
            status: row.status,
            is_meeting: row.is_meeting,
            attendee_names: row.people,
            series_title: row.series_title,
        }
    }
}

/// A page of meetings.
#[derive(Serialize, ToSchema)]
pub struct MeetingPage {
    pub items: Vec<Meeting>,
    /// The cursor of the next page, or null on the last one.
    pub next_cursor: Option<String>,
}

/// List meetings
///
/// Upcoming meetings soonest first, or past ones newest first, with the meetings page's
/// filters. Cancelled meetings are left out.
#[utoipa::path(
    get,
    path = "/api/v1/meetings",
    tag = "meetings",
    params(MeetingsQuery),
    responses(
        (status = 200, description = "A page of meetings", body = MeetingPage),
        (status = 404, description = "A filter names a person, organization or series that is not yours", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<MeetingsQuery>,
) -> ApiResult<Json<MeetingPage>> {
    let filter = MeetingFilter::parse(
        &q.when,
        &q.from,
        &q.to,
        &q.person,
        &q.organization,
        &q.series,
    )?;
    let after = cursor(&q.cursor, params::after_time)?;
    let limit = limit(&q.limit)?;
    let tz = time::zone(&user.time_zone);
    let list = pages::list(&state.db, user.id, tz, &filter, after, limit).await?;
    let next_cursor = list.next.as_deref().map(super::encode_cursor);
    Ok(Json(MeetingPage {
        items: list.rows.into_iter().map(Meeting::from).collect(),
        next_cursor,
    }))
}

/// Someone invited to a meeting.
#[derive(Serialize, ToSchema)]
pub struct Attendee {
    pub person_id: Uuid,
    pub name: String,
    pub email: String,
    /// As the calendar reports it: `accepted`, `declined`, `tentative` or `needsAction`.
    pub response_status: String,
    pub is_organizer: bool,
    /// The user themself.
    pub is_me: bool,
    pub organization: Option<String>,
}

impl From<AttendeeView> for Attendee {
    fn from(a: AttendeeView) -> Attendee {
        Attendee {
            person_id: a.person_id,
            name: a.name,
            email: a.email,
            response_status: a.response_status,
            is_organizer: a.is_organizer,
            is_me: a.is_me,
            organization: a.organization,
        }
    }
}

/// One meeting with its attendees and what its note recorded.
#[derive(Serialize, ToSchema)]
pub struct MeetingDetail {
    pub id: Uuid,
    pub title: String,
    /// As the calendar gives it (may hold HTML).
    pub description: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    pub start_date: Option<NaiveDate>,
    /// The day after the last day of an all-day event.
    pub end_date: Option<NaiveDate>,
    pub status: MeetingStatus,
    pub join_url: Option<String>,
    /// The event in the calendar's own web page.
    pub html_link: Option<String>,
    pub series_id: Option<Uuid>,
    pub series_title: Option<String>,
    /// The calendar of the meeting's canonical copy.
    pub calendar_name: String,
    /// Every calendar the invitation is on (the same meeting on two calendars is one meeting).
    pub calendars: Vec<String>,
    /// The note's version (0 before its first save): the `base_version` of the next save.
    pub note_version: i32,
    pub attendees: Vec<Attendee>,
    /// The note's action items, decisions and questions, in line order.
    pub items: Vec<Item>,
    /// The previous and next meetings of the series, when there are.
    pub previous_in_series: Option<Uuid>,
    pub next_in_series: Option<Uuid>,
}

/// Get a meeting
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}",
    tag = "meetings",
    params(("id" = Uuid, Path, description = "The meeting")),
    responses(
        (status = 200, description = "The meeting", body = MeetingDetail),
        (status = 404, description = "No such meeting of yours", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn detail(
    State(state): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<MeetingDetail>> {
    let data = pages::load(&state.db, user.id, id).await?;
    Ok(Json(MeetingDetail {
        id: data.id,
        title: data.title,
        description: data.description,
        location: data.location,
        starts_at: data.starts_at,
        ends_at: data.ends_at,
        all_day: data.all_day,
        start_date: data.start_date,
        end_date: data.end_date,
        status: data.status,
        join_url: data.join_url,
        html_link: data.html_link,
        series_id: data.series_id,
        series_title: data.series_title,
        calendar_name: data.calendar_names.first().cloned().unwrap_or_default(),
        calendars: data.calendar_names,
        note_version: data.note_version.unwrap_or(0),
        attendees: data.attendees.0.into_iter().map(Attendee::from).collect(),
        items: data.items.0.into_iter().map(Item::from).collect(),
        previous_in_series: data.previous.map(|n| n.0.id),
        next_in_series: data.next.map(|n| n.0.id),
    }))
}

/// A meeting's note.
#[derive(Serialize, ToSchema)]
pub struct Note {
    pub meeting_id: Uuid,
    /// Markdown in the note grammar (README, "The note grammar").
    pub body: String,
    /// 0 before the first save.
    pub version: i32,
    /// The last save, or null before the first.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Get a meeting's note
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/note",
    tag = "meetings",
    params(("id" = Uuid, Path, description = "The meeting")),
    responses(
        (status = 200, description = "The note (empty, version 0, before its first save)", body = Note),
        (status = 404, description = "No such meeting of yours", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn note(
    State(state): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<Note>> {
    let note = notes::of_meeting(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Note {
        meeting_id: id,
        body: note.body,
        version: note.version,
        updated_at: note.updated_at,
    }))
}

/// A new text for a meeting's note.
#[derive(Deserialize, ToSchema)]
pub struct NoteUpdate {
    /// The whole new text.
    pub body: String,
    /// The version the text was based on (the `version` last read; 0 for a note never saved).
    #[schema(minimum = 0)]
    pub base_version: i32,
}

/// Replace a meeting's note
///
/// Saves the text if `base_version` is still the note's version, and re-derives its action
/// items, decisions and questions, as the meeting page does. A save based on an older version
/// changes nothing and answers 409 with both texts, to merge.
#[utoipa::path(
    put,
    path = "/api/v1/meetings/{id}/note",
    tag = "meetings",
    params(("id" = Uuid, Path, description = "The meeting")),
    request_body = NoteUpdate,
    responses(
        (status = 200, description = "Saved: the note at its new version", body = Note),
        (status = 404, description = "No such meeting of yours", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The note changed since `base_version`: nothing was saved; `your_version` and `current` hold both texts", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn save_note(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    IdPath(id): IdPath,
    JsonBody(update): JsonBody<NoteUpdate>,
) -> ApiResult<Json<Note>> {
    if update.base_version < 0 {
        return Err(ApiError::Unprocessable(
            "base_version must be 0 or more.".into(),
        ));
    }
    let saved = notes::save(
        &state.db,
        user.id,
        &user.time_zone,
        Target::Meeting(id),
        "",
        &update.body,
        update.base_version,
    )
    .await?;
    let yours = NoteVersion {
        body: update.body,
        version: update.base_version,
    };
    match saved {
        Saved::Saved(note) => Ok(Json(Note {
            meeting_id: id,
            body: note.body,
            version: note.version,
            updated_at: Some(note.updated_at),
        })),
        Saved::Conflict { current } => Err(ApiError::VersionConflict {
            yours,
            current: NoteVersion {
                body: current.body,
                version: current.version,
            },
        }),
        // A note never saved is at version 0: a save based on another version of the user's
        // meeting is a conflict with the empty note, not a missing meeting.
        Saved::NotFound => match notes::of_meeting(&state.db, user.id, id).await? {
            Some(current) => Err(ApiError::VersionConflict {
                yours,
                current: NoteVersion {
                    body: current.body,
                    version: current.version,
                },
            }),
            None => Err(ApiError::NotFound),
        },
    }
}
