//! `/api/v1/action-items`: the action-items review with the page's filters, and changing an
//! item — done (written back into its note line, as ticking it on a page does), due date and
//! assignee (which then win over the note line, as on the action-items page).

use axum::{Json, extract::State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    ApiUser, ApiWriter, IdPath, JsonBody, QueryParams, cursor, limit, paginate,
    problem::{ApiError, ApiResult},
};
use crate::{
    AppState,
    http::params,
    items::{self, ActionEdit, ActionFilter, ItemView},
    kinds::ItemKind,
    notes, people, time,
};

/// An action item, decision or question, as lists show it.
#[derive(Serialize, ToSchema)]
pub struct Item {
    pub id: Uuid,
    pub kind: ItemKind,
    /// The line's text, as written in the note.
    pub text: String,
    pub done: bool,
    /// A question's answer.
    pub answer: Option<String>,
    pub due: Option<NaiveDate>,
    /// Why the note line's assignee or date was not understood, if it was not.
    pub hints: Vec<String>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    /// Assigned to the user themself.
    pub assignee_is_me: bool,
    /// The meeting whose note holds the line; null for a standalone note.
    pub meeting_id: Option<Uuid>,
    pub meeting_title: Option<String>,
    pub meeting_at: Option<DateTime<Utc>>,
    pub note_id: Uuid,
}

impl From<ItemView> for Item {
    fn from(item: ItemView) -> Item {
        Item {
            id: item.id,
            kind: item.kind,
            text: item.text,
            done: item.done,
            answer: item.answer,
            due: item.due,
            hints: item.hints,
            assignee_id: item.assignee_id,
            assignee_name: item.assignee_name,
            assignee_is_me: item.assignee_is_me.unwrap_or(false),
            meeting_id: item.meeting_id,
            meeting_title: item.meeting_title,
            meeting_at: item.meeting_at,
            note_id: item.note_id,
        }
    }
}

/// The action-items page's filters.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    /// Not done yet.
    Open,
    /// Open and assigned to you.
    Mine,
    /// Open and assigned to someone else.
    Others,
    /// Open and due before today (in your time zone).
    Overdue,
    Done,
}

/// Which action items, and the page to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionItemsQuery {
    /// `open` (the default), `mine`, `others`, `overdue` or `done`.
    #[param(value_type = Option<Filter>, inline)]
    filter: Option<String>,
    /// Only items assigned to this person.
    #[param(value_type = Option<Uuid>)]
    assignee: Option<String>,
    /// Where to go on from: the `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// A page of action items.
#[derive(Serialize, ToSchema)]
pub struct ItemPage {
    pub items: Vec<Item>,
    /// The cursor of the next page, or null on the last one.
    pub next_cursor: Option<String>,
}

/// List action items
///
/// Soonest due first (overdue ones lead, undated ones last), as the action-items page lists
/// them.
#[utoipa::path(
    get,
    path = "/api/v1/action-items",
    tag = "action items",
    params(ActionItemsQuery),
    responses((status = 200, description = "A page of action items", body = ItemPage))
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<ActionItemsQuery>,
) -> ApiResult<Json<ItemPage>> {
    let filter = ActionFilter::parse(q.filter.as_deref())?;
    let assignee = params::optional_id("assignee", &q.assignee)?;
    let after = cursor(&q.cursor, items::parse_item_cursor)?;
    let limit = limit(&q.limit)?;
    let today = time::local_date(Utc::now(), time::zone(&user.time_zone));
    let rows = items::action_items(
        &state.db,
        user.id,
        filter,
        assignee,
        today,
        after,
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) = paginate(rows, limit, items::item_cursor);
    Ok(Json(ItemPage {
        items: rows.into_iter().map(Item::from).collect(),
        next_cursor,
    }))
}

/// A field that may be absent (`None`: leave it), null (`Some(None)`: clear it) or set.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What to change on an action item; fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
pub struct ActionItemChange {
    /// Ticks the item done (or open again) by rewriting its line in the note.
    pub done: Option<bool>,
    /// The due date; null removes it. From then on it wins over the note line's date.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due: Option<Option<NaiveDate>>,
    /// One of your people; null unassigns. From then on it wins over the note line's `@name`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<Option<Uuid>>,
}

/// Change an action item
///
/// `done` rewrites the item's line in its note (`- [x]`), saving the note as a new version, as
/// ticking it on a page does; `due` and `assignee_id` are set on the item and win over what the
/// note line says, as on the action-items page.
#[utoipa::path(
    patch,
    path = "/api/v1/action-items/{id}",
    tag = "action items",
    params(("id" = Uuid, Path, description = "The action item")),
    request_body = ActionItemChange,
    responses(
        (status = 200, description = "The item as changed", body = Item),
        (status = 404, description = "No such action item of yours, or `assignee_id` is not one of your people", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The note changed while ticking the item; nothing was ticked. Try again", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn edit(
    State(state): State<AppState>,
    ApiWriter(user): ApiWriter,
    IdPath(id): IdPath,
    JsonBody(change): JsonBody<ActionItemChange>,
) -> ApiResult<Json<Item>> {
    let item = items::action_item(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if let Some(Some(person)) = change.assignee_id
        && !people::exists(&state.db, user.id, person).await?
    {
        return Err(ApiError::NotFound);
    }
    if let Some(done) = change.done.filter(|done| *done != item.done)
        && !notes::set_item_done(&state.db, user.id, &user.time_zone, id, done).await?
    {
        return Err(ApiError::Conflict(
            "The item's note changed while it was being ticked; nothing was ticked. Try again."
                .into(),
        ));
    }
    let edit = ActionEdit {
        due: change.due,
        assignee: change.assignee_id,
    };
    if (edit.due.is_some() || edit.assignee.is_some())
        && !items::edit_action(&state.db, user.id, id, &edit).await?
    {
        return Err(ApiError::NotFound);
    }
    let item = items::action_item(&state.db, user.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Item::from(item)))
}
