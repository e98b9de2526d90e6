//! What the export reads: one user's rows, in keyset batches, all inside one `REPEATABLE READ
//! READ ONLY` transaction, so the whole archive is one consistent snapshot however long the
//! download takes, and no statement runs longer than a batch (the statement timeout stays).
//!
//! Every batch is bounded (rows, and bytes of note text) and every query is scoped by the
//! owner and walks an index that leads with `user_id`, in the order of the keyset:
//! meetings by `(starts_at, id)` (`meetings_user_start_idx`), standalone notes by
//! `(created_at, id)` and people by `id` (both from migrations/0012), a person's meetings by
//! `(person_id, starts_at, meeting_id)` (`attendees_person_time_idx`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use crate::kinds::{ItemKind, MeetingStatus};

/// Rows per batch.
pub const BATCH: i64 = 500;
/// Note text per batch: a batch stops early once its notes hold this much (a note can be as
/// large as a request body, 1 MB), so memory is bounded by this, not by 500 large notes.
pub const BATCH_NOTE_BYTES: i64 = 4 * 1024 * 1024;

pub struct Owner {
    pub email: String,
    pub name: String,
    pub time_zone: String,
}

/// Turns the transaction into a read-only snapshot. Must be its first statement.
pub async fn begin_snapshot(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn owner(tx: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Owner> {
    sqlx::query_as!(
        Owner,
        "select email, name, time_zone from users where id = $1",
        user_id
    )
    .fetch_one(tx)
    .await
}

/// Where the previous batch of meetings ended.
#[derive(Debug, Clone, Copy)]
pub struct MeetingCursor(pub DateTime<Utc>, pub Uuid);

/// A meeting that has a note, with the note and everything its file says.
pub struct MeetingNote {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub status: MeetingStatus,
    pub provider_event_id: String,
    pub ical_uid: Option<String>,
    pub location: String,
    pub description: String,
    pub join_url: Option<String>,
    pub calendar: String,
    pub series: Option<String>,
    pub note_id: Uuid,
    pub note_title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub attendees: Json<Vec<Attendee>>,
}

#[derive(Debug, Deserialize)]
pub struct Attendee {
    pub person_id: Uuid,
    pub name: Option<String>,
    pub email: String,
    pub is_me: bool,
    pub response: String,
    pub organizer: bool,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
}

/// The next meetings with notes after `after`, in start order: at most [`BATCH`], and fewer
/// once their notes hold [`BATCH_NOTE_BYTES`] (never none while any is left).
pub async fn meeting_notes(
    tx: &mut PgConnection,
    user_id: Uuid,
    after: Option<MeetingCursor>,
) -> sqlx::Result<Vec<MeetingNote>> {
    sqlx::query_as!(
        MeetingNote,
        r#"select m.id, m.title, m.starts_at, m.ends_at, m.all_day, m.start_date, m.end_date,
                  m.status as "status: MeetingStatus", m.provider_event_id, m.ical_uid,
                  m.location, m.description, m.join_url,
                  (select c.name from calendars c where c.id = m.calendar_id) as "calendar!",
                  (select s.provider_series_id from series s where s.id = m.series_id) as series,
                  n.id as note_id, n.title as note_title, n.body, n.created_at, n.updated_at,
                  (select coalesce(json_agg(json_build_object(
                              'person_id', p.id, 'name', p.name, 'email', p.email,
                              'is_me', p.is_me, 'response', a.response_status,
                              'organizer', a.is_organizer, 'organization_id', o.id,
                              'organization', o.name)
                          order by a.is_organizer desc, lower(coalesce(p.name, p.email)), p.id), '[]')
                   from attendees a join people p on p.id = a.person_id
                   left join organizations o on o.id = p.organization_id
                   where a.user_id = m.user_id and a.meeting_id = m.id) as "attendees!: Json<Vec<Attendee>>"
           from (select m.id, n.id as note_id,
                        sum(octet_length(n.body)) over (order by m.starts_at, m.id)
                            - octet_length(n.body) as bytes_before
                 from meetings m
                 join notes n on n.user_id = m.user_id and n.meeting_id = m.id
                 where m.user_id = $1
                   and (m.starts_at, m.id) > (coalesce($2, '-infinity'::timestamptz),
                                              coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid))
                 order by m.starts_at, m.id
                 limit $4) b
           join meetings m on m.id = b.id
           join notes n on n.id = b.note_id
           where b.bytes_before < $5
           order by m.starts_at, m.id"#,
        user_id,
        after.map(|c| c.0),
        after.map(|c| c.1),
        BATCH,
        BATCH_NOTE_BYTES,
    )
    .fetch_all(tx)
    .await
}

/// A meeting with a note, as the pages that link to it need it: its file name and its note.
pub struct MeetingRef {
    pub id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub all_day: bool,
    pub start_date: Option<NaiveDate>,
    pub note_id: Uuid,
}

/// The next meetings with notes after `after`, in start order, without their text.
pub async fn meeting_refs(
    tx: &mut PgConnection,
    user_id: Uuid,
    after: Option<MeetingCursor>,
) -> sqlx::Result<Vec<MeetingRef>> {
    sqlx::query_as!(
        MeetingRef,
        r#"select m.id, m.title, m.starts_at, m.all_day, m.start_date, n.id as note_id
           from meetings m
           join notes n on n.user_id = m.user_id and n.meeting_id = m.id
           where m.user_id = $1
             and (m.starts_at, m.id) > (coalesce($2, '-infinity'::timestamptz),
                                        coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid))
           order by m.starts_at, m.id
           limit $4"#,
        user_id,
        after.map(|c| c.0),
        after.map(|c| c.1),
        BATCH,
    )
    .fetch_all(tx)
    .await
}

/// Where the previous batch of standalone notes ended.
#[derive(Debug, Clone, Copy)]
pub struct NoteCursor(pub DateTime<Utc>, pub Uuid);

/// A note that belongs to no meeting.
pub struct StandaloneNote {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The next standalone notes after `after`, in creation order, bounded like
/// [`meeting_notes`].
pub async fn standalone_notes(
    tx: &mut PgConnection,
    user_id: Uuid,
    after: Option<NoteCursor>,
) -> sqlx::Result<Vec<StandaloneNote>> {
    sqlx::query_as!(
        StandaloneNote,
        r#"select n.id, n.title, n.body, n.created_at, n.updated_at
           from (select n.id,
                        sum(octet_length(n.body)) over (order by n.created_at, n.id)
                            - octet_length(n.body) as bytes_before
                 from notes n
                 where n.user_id = $1 and n.meeting_id is null
                   and (n.created_at, n.id) > (coalesce($2, '-infinity'::timestamptz),
                                               coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid))
                 order by n.created_at, n.id
                 limit $4) b
           join notes n on n.id = b.id
           where b.bytes_before < $5
           order by n.created_at, n.id"#,
        user_id,
        after.map(|c| c.0),
        after.map(|c| c.1),
        BATCH,
        BATCH_NOTE_BYTES,
    )
    .fetch_all(tx)
    .await
}

/// A standalone note, as the pages that link to it need it.
pub struct NoteRef {
    pub id: Uuid,
    pub title: String,
    pub created_at: DateTime<Utc>,
}

/// The next standalone notes after `after`, in creation order, without their text.
pub async fn note_refs(
    tx: &mut PgConnection,
    user_id: Uuid,
    after: Option<NoteCursor>,
) -> sqlx::Result<Vec<NoteRef>> {
    sqlx::query_as!(
        NoteRef,
        r#"select n.id, n.title, n.created_at
           from notes n
           where n.user_id = $1 and n.meeting_id is null
             and (n.created_at, n.id) > (coalesce($2, '-infinity'::timestamptz),
                                         coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid))
           order by n.created_at, n.id
           limit $4"#,
        user_id,
        after.map(|c| c.0),
        after.map(|c| c.1),
        BATCH,
    )
    .fetch_all(tx)
    .await
}

/// An action item, decision or question of a note, still in its text.
pub struct Item {
    pub id: Uuid,
    pub note_id: Uuid,
    pub meeting_id: Option<Uuid>,
    pub kind: ItemKind,
    pub text: String,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub due: Option<NaiveDate>,
    pub answer: Option<String>,
    pub due_set_by_user: bool,
    pub assignee_set_by_user: bool,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub assignee_email: Option<String>,
}

/// The live items of the notes `note_ids` (one batch), by note and line. Every kind at once:
/// a kind in the condition would let the planner walk `items_user_kind_idx` through all of the
/// user's items of that kind for each batch; the assignee is a primary-key probe per item, not a
/// join the planner could turn into a scan of every tenant's people.
pub async fn items(
    tx: &mut PgConnection,
    user_id: Uuid,
    note_ids: &[Uuid],
) -> sqlx::Result<Vec<Item>> {
    sqlx::query_as!(
        Item,
        r#"select i.id, i.note_id, i.meeting_id, i.kind as "kind: ItemKind", i.text, i.done,
                  i.done_at, i.updated_at, i.due, i.answer, i.due_set_by_user,
                  i.assignee_set_by_user, p.id as "assignee_id?", p.name as assignee_name,
                  p.email as "assignee_email?"
           from items i
           left join lateral (select p.id, p.name, p.email from people p
                              where p.id = i.assignee_id limit 1) p on true
           where i.user_id = $1 and i.note_id = any($2) and not i.removed
           order by i.note_id, i.line, i.id"#,
        user_id,
        note_ids,
    )
    .fetch_all(tx)
    .await
}

/// A person, as their page and the links to it need them.
pub struct Person {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: String,
    pub is_me: bool,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
}

/// The next people after `after` (by id).
pub async fn people(
    tx: &mut PgConnection,
    user_id: Uuid,
    after: Uuid,
) -> sqlx::Result<Vec<Person>> {
    sqlx::query_as!(
        Person,
        r#"select p.id, p.name, p.email, p.is_me, p.organization_id,
                  o.name as "organization?"
           from people p
           left join organizations o on o.id = p.organization_id
           where p.user_id = $1 and p.id > $2
           order by p.id
           limit $3"#,
        user_id,
        after,
        BATCH,
    )
    .fetch_all(tx)
    .await
}

/// One meeting with a note that a person attended.
pub struct Attended {
    pub person_id: Uuid,
    pub meeting_id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub all_day: bool,
    pub start_date: Option<NaiveDate>,
}

/// Where the previous batch of attended meetings ended.
#[derive(Debug, Clone, Copy)]
pub struct AttendedCursor(pub Uuid, pub DateTime<Utc>, pub Uuid);

/// The next meetings with notes that anyone but the user (`me`: their own person rows, one per
/// address) attended, by person (id) and time: one walk of the attendee index for the people
/// pages, merged with [`people`].
pub async fn attended(
    tx: &mut PgConnection,
    user_id: Uuid,
    me: &[Uuid],
    after: Option<AttendedCursor>,
) -> sqlx::Result<Vec<Attended>> {
    sqlx::query_as!(
        Attended,
        r#"select a.person_id, a.meeting_id, m.title, m.starts_at, m.all_day, m.start_date
           from attendees a
           join meetings m on m.id = a.meeting_id
           where a.user_id = $1
             and (a.person_id, a.starts_at, a.meeting_id)
                 > (coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid),
                    coalesce($4, '-infinity'::timestamptz),
                    coalesce($5, '00000000-0000-0000-0000-000000000000'::uuid))
             and a.person_id <> all($2)
             and exists (select 1 from notes n where n.user_id = $1 and n.meeting_id = a.meeting_id)
           order by a.person_id, a.starts_at, a.meeting_id
           limit $6"#,
        user_id,
        me,
        after.map(|c| c.0),
        after.map(|c| c.1),
        after.map(|c| c.2),
        BATCH,
    )
    .fetch_all(tx)
    .await
}

pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub domain: String,
}

/// The next organizations after `after` (by id). Organizations are few (one per e-mail domain
/// met), so each batch reads them all through the owner's index and sorts.
pub async fn organizations(
    tx: &mut PgConnection,
    user_id: Uuid,
    after: Uuid,
) -> sqlx::Result<Vec<Organization>> {
    sqlx::query_as!(
        Organization,
        "select o.id, o.name, o.domain from organizations o
         where o.user_id = $1 and o.id > $2
         order by o.id
         limit $3",
        user_id,
        after,
        BATCH,
    )
    .fetch_all(tx)
    .await
}

pub struct Member {
    pub organization_id: Uuid,
    pub id: Uuid,
    pub name: Option<String>,
    pub email: String,
}

/// The next people of the organizations `organization_ids` (one batch) after `after`, by
/// organization and person id.
pub async fn members(
    tx: &mut PgConnection,
    user_id: Uuid,
    organization_ids: &[Uuid],
    after: Option<(Uuid, Uuid)>,
) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as!(
        Member,
        r#"select p.organization_id as "organization_id!", p.id, p.name, p.email
           from people p
           where p.user_id = $1 and p.organization_id = any($2)
             and (p.organization_id, p.id)
                 > (coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid),
                    coalesce($4, '00000000-0000-0000-0000-000000000000'::uuid))
           order by p.organization_id, p.id
           limit $5"#,
        user_id,
        organization_ids,
        after.map(|c| c.0),
        after.map(|c| c.1),
        BATCH,
    )
    .fetch_all(tx)
    .await
}
