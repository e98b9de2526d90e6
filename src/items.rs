//! Action items, decisions and questions as records: listing them (per meeting, carried
//! forward, by person), ticking them done (written back into the note), and changing an
//! action item's due date or assignee.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    Form, Json as JsonBody, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{next::local_path, session::SignedIn},
    http::{
        AppError, AppResult,
        layout::Layout,
        notice::{self, PageNotice},
        params,
    },
    kinds::ItemKind,
    notes,
    page_cache::Lasts,
    people, time,
};
use axum::body::Bytes;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/action-items", get(action_items_page))
        .route("/items/{id}/done", post(set_done))
        .route("/items/{id}", post(edit))
}

/// An item as lists show it (a row of the `item_rows` view), with its text as shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "ItemRow")]
pub struct ItemView {
    pub id: Uuid,
    pub kind: ItemKind,
    pub text: String,
    pub done: bool,
    pub answer: Option<String>,
    pub due: Option<NaiveDate>,
    pub hints: Vec<String>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub assignee_is_me: Option<bool>,
    pub meeting_id: Option<Uuid>,
    pub meeting_title: Option<String>,
    pub meeting_at: Option<DateTime<Utc>>,
    pub note_id: Uuid,
    /// [`ItemView::display_text`], worked out once when the row is read: pages keep items in
    /// their cached data and print this for each one on every view.
    shown: String,
}

/// A row of `item_rows` as PostgreSQL sends it.
#[derive(Deserialize)]
struct ItemRow {
    id: Uuid,
    kind: ItemKind,
    text: String,
    done: bool,
    answer: Option<String>,
    due: Option<NaiveDate>,
    hints: Vec<String>,
    assignee_id: Option<Uuid>,
    assignee_name: Option<String>,
    assignee_is_me: Option<bool>,
    meeting_id: Option<Uuid>,
    meeting_title: Option<String>,
    meeting_at: Option<DateTime<Utc>>,
    note_id: Uuid,
}

impl From<ItemRow> for ItemView {
    fn from(row: ItemRow) -> ItemView {
        // Actions lose the words that became the assignee and due date shown beside them
        // (`notes::grammar::display_text`); decisions and questions read as written.
        let shown = if row.kind == ItemKind::Action {
            notes::grammar::display_text(&row.text, row.assignee_id.is_some(), row.due.is_some())
        } else {
            row.text.clone()
        };
        ItemView {
            id: row.id,
            kind: row.kind,
            text: row.text,
            done: row.done,
            answer: row.answer,
            due: row.due,
            hints: row.hints,
            assignee_id: row.assignee_id,
            assignee_name: row.assignee_name,
            assignee_is_me: row.assignee_is_me,
            meeting_id: row.meeting_id,
            meeting_title: row.meeting_title,
            meeting_at: row.meeting_at,
            note_id: row.note_id,
            shown,
        }
    }
}

impl ItemView {
    pub fn is_action(&self) -> bool {
        self.kind == ItemKind::Action
    }

    pub fn is_decision(&self) -> bool {
        self.kind == ItemKind::Decision
    }

    pub fn is_question(&self) -> bool {
        self.kind == ItemKind::Question
    }

    /// The text as lists show it: without the words that became the assignee and due date
    /// shown beside it; decisions and questions as written.
    pub fn display_text(&self) -> &str {
        &self.shown
    }

    pub fn overdue(&self) -> bool {
        !self.done && self.due.is_some_and(|d| d < Utc::now().date_naive())
    }

    pub fn due_label(&self) -> String {
        self.due.map(time::day).unwrap_or_default()
    }

    pub fn due_value(&self) -> String {
        self.due.map(|d| d.to_string()).unwrap_or_default()
    }

    pub fn who(&self) -> String {
        match (&self.assignee_name, self.assignee_is_me) {
            (_, Some(true)) => "You".into(),
            (Some(name), _) => name.clone(),
            (None, _) => "Unassigned".into(),
        }
    }

    pub fn meeting_label(&self) -> String {
        match (&self.meeting_title, self.meeting_at) {
            (Some(title), Some(at)) => format!("{} · {}", title, time::day(at.date_naive())),
            _ => "Note".into(),
        }
    }

    pub fn source_link(&self) -> String {
        match self.meeting_id {
            Some(id) => format!("/meetings/{id}"),
            None => format!("/notes/{}", self.note_id),
        }
    }
}

/// The live items of a note, in line order.
pub async fn for_note(
    db: &sqlx::PgPool,
    user_id: Uuid,
    note_id: Uuid,
) -> sqlx::Result<Vec<ItemView>> {
    let Json(items) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(i), '[]') as "items!: Json<Vec<ItemView>>" from (
            select * from item_rows i
            where i.user_id = $1 and i.note_id = $2 and not i.removed
            order by i.line) i"#,
        user_id,
        note_id,
    )
    .fetch_one(db)
    .await?;
    Ok(items)
}

#[derive(Debug, Deserialize)]
struct Filter {
    filter: Option<String>,
    after: Option<String>,
}

/// Items per page of the action-items review: a screenful or two per person, not one endless
/// page (and a page costs what it shows).
const PAGE_SIZE: i64 = 50;

/// Open items grouped by the person who owes them.
pub struct Group {
    pub who: String,
    pub person_id: Option<Uuid>,
    pub items: Vec<ItemView>,
}

#[derive(Template)]
#[template(path = "action_items.html")]
struct ActionItemsPage {
    layout: Layout,
    filter: String,
    groups: Vec<Group>,
    total: usize,
    back: String,
    /// The next page's cursor, and whether this is a later page.
    next: Option<String>,
    paged: bool,
}

/// Which action items a review lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionFilter {
    /// Not done yet (the default).
    Open,
    /// Open and assigned to the user.
    Mine,
    /// Open and assigned to someone else.
    Others,
    /// Open and due before today.
    Overdue,
    Done,
}

impl ActionFilter {
    pub const ALL: [ActionFilter; 5] = [
        ActionFilter::Open,
        ActionFilter::Mine,
        ActionFilter::Others,
        ActionFilter::Overdue,
        ActionFilter::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionFilter::Open => "open",
            ActionFilter::Mine => "mine",
            ActionFilter::Others => "others",
            ActionFilter::Overdue => "overdue",
            ActionFilter::Done => "done",
        }
    }

    /// The filter a query string names (`open` when it names none).
    pub fn parse(raw: Option<&str>) -> AppResult<ActionFilter> {
        let raw = raw.filter(|s| !s.is_empty()).unwrap_or("open");
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.as_str()).collect();
                AppError::BadRequest(format!("filter must be one of: {}.", names.join(", ")))
            })
    }
}

/// Where an action-items list goes on: the last row's due date (`None`: undated) and id.
pub type ItemCursor = (Option<NaiveDate>, Uuid);

/// The cursor as a page link writes it: `<due date or "undated">~<id>`.
pub fn item_cursor(item: &ItemView) -> String {
    let due = item
        .due
        .map_or_else(|| "undated".to_owned(), |d| d.to_string());
    params::cursor(&due, item.id)
}

/// Reads a cursor written by [`item_cursor`].
pub fn parse_item_cursor(raw: &Option<String>) -> AppResult<Option<ItemCursor>> {
    params::after_text(raw)?
        .map(|(due, id)| match due.as_str() {
            "undated" => Ok((None, id)),
            _ => params::optional_date("The page link's date", &Some(due)).map(|d| (d, id)),
        })
        .transpose()
}

/// Up to `limit` action items matching `filter` (and assigned to `assignee`, when given) after
/// `after`: soonest due first (so overdue ones lead; undated last), then by id, a keyset over
/// the `(user, kind, done, due)` index. `today` is the user's, for "overdue".
pub async fn action_items(
    db: &sqlx::PgPool,
    user_id: Uuid,
    filter: ActionFilter,
    assignee: Option<Uuid>,
    today: NaiveDate,
    after: Option<ItemCursor>,
    limit: i64,
) -> sqlx::Result<Vec<ItemView>> {
    // `$2` picks the filter; `$4`/`$5` are the cursor (the last row's due date, null when
    // undated, and its id).
    let Json(items) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "items!: Json<Vec<ItemView>>" from (
    select * from item_rows i
    where i.user_id = $1 and i.kind = 'action' and not i.removed
      and i.done = ($2 = 'done')
      and case $2 when 'mine' then coalesce(i.assignee_is_me, false)
                  when 'others' then i.assignee_id is not null and not coalesce(i.assignee_is_me, false)
                  when 'overdue' then i.due < $3
                  else true end
      and ($7::uuid is null or i.assignee_id = $7)
      and ($5::uuid is null
           or ($4::date is not null and ((i.due, i.id) > ($4, $5) or i.due is null))
           or ($4::date is null and i.due is null and i.id > $5))
    order by i.due nulls last, i.id
    limit $6) r"#,
        user_id,
        filter.as_str(),
        today,
        after.and_then(|(due, _)| due),
        after.map(|(_, id)| id),
        limit,
        assignee,
    )
    .fetch_one(db)
    .await?;
    Ok(items)
}

/// The first page of the open action items, whoever they are assigned to: nearly every view
/// of the action items page. Its own statement, without [`action_items`]' optional filters and
/// with the page size written out (51 = `PAGE_SIZE + 1`), so that PostgreSQL plans it once per
/// connection: with a bound `limit`, the plan for any value assumes a tenth of the table and
/// loses to a plan for the value, so every view was planned again (at bench scale 10,
/// PostgreSQL's time per view went from 2.6 to 1.6–2.0 ms).
async fn open_actions_first_page(db: &sqlx::PgPool, user_id: Uuid) -> sqlx::Result<Vec<ItemView>> {
    const _: () = assert!(PAGE_SIZE + 1 == 51, "the statement below says `limit 51`");
    let Json(items) = sqlx::query_scalar!(
        r#"select coalesce(json_agg(r), '[]') as "items!: Json<Vec<ItemView>>" from (
    select * from item_rows i
    where i.user_id = $1 and i.kind = 'action' and not i.removed and not i.done
    order by i.due nulls last, i.id
    limit 51) r"#,
        user_id,
    )
    .fetch_one(db)
    .await?;
    Ok(items)
}

/// An action item of the user's, as lists show it (removed ones are not found).
pub async fn action_item(
    db: &sqlx::PgPool,
    user_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<ItemView>> {
    let item = sqlx::query_scalar!(
        r#"select row_to_json(i) as "item!: Json<ItemView>" from item_rows i
           where i.id = $1 and i.user_id = $2 and i.kind = 'action' and not i.removed"#,
        id,
        user_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(item.map(|Json(item)| item))
}

async fn action_items_page(
    State(state): State<AppState>,
    user: SignedIn,
    notice: PageNotice,
    Query(f): Query<Filter>,
) -> AppResult<Html<Bytes>> {
    let html = state
        .page_cache
        .html(
            &user,
            "action items",
            format!("{f:?}"),
            &notice,
            action_items_html(&state, &user, notice.clone(), f),
        )
        .await?;
    Ok(Html(html))
}

async fn action_items_html(
    state: &AppState,
    user: &SignedIn,
    notice: PageNotice,
    f: Filter,
) -> AppResult<String> {
    let filter = ActionFilter::parse(f.filter.as_deref())?;
    let after = parse_item_cursor(&f.after)?;
    let today = time::local_date(Utc::now(), time::zone(&user.time_zone));
    let mut items = state
        .page_cache
        .get_or_load(
            user,
            "action items",
            format!("{}/{today}/{after:?}", filter.as_str()),
            Lasts::UntilChange,
            async {
                if filter == ActionFilter::Open && after.is_none() {
                    open_actions_first_page(&state.db, user.id).await
                } else {
                    action_items(
                        &state.db,
                        user.id,
                        filter,
                        None,
                        today,
                        after,
                        PAGE_SIZE + 1,
                    )
                    .await
                }
            },
        )
        .await?;
    let next = params::next_cursor(&mut items, PAGE_SIZE, item_cursor);
    let total = items.len();
    // You first, unassigned last, everyone else by name.
    let mut groups: BTreeMap<(u8, String), Group> = BTreeMap::new();
    for item in items {
        let who = item.who();
        let rank = match (item.assignee_is_me, item.assignee_id) {
            (Some(true), _) => 0,
            (_, None) => 2,
            _ => 1,
        };
        groups
            .entry((rank, who.clone()))
            .or_insert_with(|| Group {
                who,
                person_id: item.assignee_id,
                items: Vec::new(),
            })
            .items
            .push(item);
    }
    let page = ActionItemsPage {
        layout: Layout::for_user(user, "Action items", "action-items").with_notice(notice),
        back: format!("/action-items?filter={}", filter.as_str()),
        filter: filter.as_str().to_owned(),
        groups: groups.into_values().collect(),
        total,
        next,
        paged: after.is_some(),
    };
    Ok(page.render().map_err(anyhow::Error::from)?)
}

#[derive(Deserialize)]
struct DoneForm {
    done: String,
    back: Option<String>,
}

fn back_to(back: Option<&str>) -> String {
    back.and_then(local_path)
        .unwrap_or("/action-items")
        .to_owned()
}

/// What a script ticking an item in place is told (`static/editor.js`).
#[derive(Serialize)]
struct Ticked {
    done: bool,
}

/// Ticks an item done (or not). A form is sent back to its page, which shows "Marked done" with
/// an Undo button after a tick; a script asking for JSON gets the new state and shows the same
/// notice in place.
async fn set_done(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DoneForm>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let done = match form.done.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::BadRequest("done must be true or false.".into())),
    };
    if !notes::set_item_done(&state.db, user.id, &user.time_zone, id, done).await? {
        return Err(AppError::NotFound);
    }
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(JsonBody(Ticked { done }).into_response());
    }
    let back = back_to(form.back.as_deref());
    let next = if done {
        notice::ticked(&back, id)
    } else {
        back
    };
    Ok(Redirect::to(&next).into_response())
}

#[derive(Deserialize)]
struct EditForm {
    due: Option<String>,
    assignee: Option<String>,
    back: Option<String>,
}

/// A change to an action item made by hand (the action-items page, the API). Each field given
/// (`Some`, even `Some(None)` to clear it) wins over what the note line says from then on.
#[derive(Debug, Default)]
pub struct ActionEdit {
    pub due: Option<Option<NaiveDate>>,
    pub assignee: Option<Option<Uuid>>,
}

/// Applies `edit` to the user's action item `id` in one statement; `false` when there is no
/// such item. `assignee` must be one of the user's people (the caller checks).
pub async fn edit_action(
    db: &sqlx::PgPool,
    user_id: Uuid,
    id: Uuid,
    edit: &ActionEdit,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "update items set
             due = case when $3 then $4 else due end,
             due_set_by_user = due_set_by_user or $3,
             assignee_id = case when $5 then $6 else assignee_id end,
             assignee_set_by_user = assignee_set_by_user or $5,
             updated_at = now()
         where id = $1 and user_id = $2 and kind = 'action' and not removed",
        id,
        user_id,
        edit.due.is_some(),
        edit.due.flatten(),
        edit.assignee.is_some(),
        edit.assignee.flatten(),
    )
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// The person an assignee field names: by address (what picking from the list sends, and what
/// is typed for someone new to the list), else by a name only one of the user's people has.
async fn assignee(db: &sqlx::PgPool, user_id: Uuid, who: &str) -> AppResult<Uuid> {
    if who.contains('@') {
        return sqlx::query_scalar!(
            "select id from people where user_id = $1 and lower(email) = lower($2)",
            user_id,
            who,
        )
        .fetch_optional(db)
        .await?
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "Nobody with the address {who:?} is among your people."
            ))
        });
    }
    // The directory's search finds candidates by its index; the name must then match whole.
    let named: Vec<Uuid> = people::directory(db, user_id, who, None, 20)
        .await?
        .into_iter()
        .filter(|r| r.person.name.trim().eq_ignore_ascii_case(who))
        .map(|r| r.person.id)
        .collect();
    match named.as_slice() {
        [id] => Ok(*id),
        [] => Err(AppError::BadRequest(format!(
            "Nobody called {who:?} is among your people: pick someone from the list or give an e-mail address."
        ))),
        _ => Err(AppError::BadRequest(format!(
            "Several of your people are called {who:?}: give the e-mail address of the one you mean."
        ))),
    }
}

async fn edit(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let mut edit = ActionEdit::default();
    if form.due.is_some() {
        edit.due = Some(params::optional_date("The due date", &form.due)?);
    }
    if let Some(who) = form.assignee.as_deref().map(str::trim) {
        edit.assignee = Some(if who.is_empty() {
            None
        } else {
            Some(assignee(&state.db, user.id, who).await?)
        });
    }
    if !edit_action(&state.db, user.id, id, &edit).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&back_to(form.back.as_deref())).into_response())
}
