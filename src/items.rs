//! Action items, decisions and questions as records: listing them (per meeting, carried
//! forward, by person), ticking them done (written back into the note), and changing an
//! action item's due date or assignee.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::{
    AppState,
    auth::{next::local_path, session::SignedIn},
    http::{AppError, AppResult, layout::Layout, params},
    notes, time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/action-items", get(action_items))
        .route("/items/{id}/done", post(set_done))
        .route("/items/{id}", post(edit))
}

#[derive(Debug, Clone, FromRow)]
pub struct ItemView {
    pub id: Uuid,
    pub kind: String,
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
}

impl ItemView {
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

pub fn select<'a>() -> QueryBuilder<'a, Postgres> {
    QueryBuilder::new(
        "select i.id, i.kind, i.text, i.done, i.answer, i.due, i.hints, i.assignee_id,
                coalesce(p.name, p.email) as assignee_name, p.is_me as assignee_is_me,
                i.meeting_id, m.title as meeting_title, m.starts_at as meeting_at, i.note_id
         from items i left join people p on p.id = i.assignee_id left join meetings m on m.id = i.meeting_id
         where not i.removed and ",
    )
}

pub async fn for_meeting(
    db: &PgPool,
    user_id: Uuid,
    meeting_id: Uuid,
) -> sqlx::Result<Vec<ItemView>> {
    let mut q = select();
    q.push("i.user_id = ")
        .push_bind(user_id)
        .push(" and i.meeting_id = ")
        .push_bind(meeting_id)
        .push(" order by i.line");
    q.build_query_as().fetch_all(db).await
}

/// What matters from earlier meetings of the same series or with the same people: open items,
/// open questions, and decisions of the last 60 days.
pub async fn carried_forward(
    db: &PgPool,
    user_id: Uuid,
    meeting_id: Uuid,
    starts_at: DateTime<Utc>,
    series_id: Option<Uuid>,
) -> sqlx::Result<Vec<ItemView>> {
    // The earlier meetings that matter: same series, or sharing someone other than the user.
    // Found first (a few dozen meetings), so the items are looked up by index.
    let mut q = select();
    q.push("i.user_id = ")
        .push_bind(user_id)
        .push(
            " and i.meeting_id in (
                select a.meeting_id from attendees a
                where a.user_id = ",
        )
        .push_bind(user_id)
        .push(
            " and a.person_id in (
                    select a2.person_id from attendees a2 join people p2 on p2.id = a2.person_id
                    where a2.meeting_id = ",
        )
        .push_bind(meeting_id)
        .push(
            " and not p2.is_me)
                union
                select s.id from meetings s where s.user_id = ",
        )
        .push_bind(user_id)
        .push(" and s.series_id = ")
        .push_bind(series_id)
        .push(")")
        .push(" and m.id <> ")
        .push_bind(meeting_id)
        .push(" and m.starts_at < ")
        .push_bind(starts_at)
        .push(
            " and ((i.kind in ('action', 'question') and not i.done)
                   or (i.kind = 'decision' and m.starts_at > ",
        )
        .push_bind(starts_at - chrono::Duration::days(60))
        .push(")) order by m.starts_at desc, i.line limit 30");
    q.build_query_as().fetch_all(db).await
}

#[derive(Deserialize)]
struct Filter {
    filter: Option<String>,
    page: Option<String>,
}

/// Items per page of the action-items review.
const PAGE_SIZE: i64 = 200;

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
    page: u32,
    has_next: bool,
}

const FILTERS: [&str; 5] = ["open", "mine", "others", "overdue", "done"];

async fn action_items(
    State(state): State<AppState>,
    user: SignedIn,
    Query(f): Query<Filter>,
) -> AppResult<Html<String>> {
    let filter = f
        .filter
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "open".into());
    if !FILTERS.contains(&filter.as_str()) {
        return Err(AppError::BadRequest(format!(
            "filter must be one of: {}.",
            FILTERS.join(", ")
        )));
    }
    let page = params::page(&f.page)?;
    let today = time::local_date(Utc::now(), time::zone(&user.time_zone));
    let mut q = select();
    q.push("i.user_id = ")
        .push_bind(user.id)
        .push(" and i.kind = 'action'");
    match filter.as_str() {
        "done" => q.push(" and i.done"),
        "mine" => q.push(" and not i.done and p.is_me"),
        "others" => q.push(" and not i.done and i.assignee_id is not null and not p.is_me"),
        "overdue" => q.push(" and not i.done and i.due < ").push_bind(today),
        _ => q.push(" and not i.done"),
    };
    q.push(" order by (i.due < ")
        .push_bind(today)
        .push(") desc nulls last, i.due nulls last, m.starts_at desc nulls last, i.id limit ")
        .push_bind(PAGE_SIZE + 1)
        .push(" offset ")
        .push_bind(i64::from(page - 1) * PAGE_SIZE);
    let mut items: Vec<ItemView> = q.build_query_as().fetch_all(&state.db).await?;
    let has_next = items.len() as i64 > PAGE_SIZE;
    items.truncate(PAGE_SIZE as usize);
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
        layout: Layout::for_user(&user, "Action items", "action-items"),
        back: format!("/action-items?filter={filter}"),
        filter,
        groups: groups.into_values().collect(),
        total,
        page,
        has_next,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
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

async fn set_done(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
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
    Ok(Redirect::to(&back_to(form.back.as_deref())).into_response())
}

#[derive(Deserialize)]
struct EditForm {
    due: Option<String>,
    assignee: Option<String>,
    back: Option<String>,
}

async fn edit(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> AppResult<Response> {
    let id = params::id(&id)?;
    let exists: bool = sqlx::query_scalar("select exists(select 1 from items where id = $1 and user_id = $2 and kind = 'action' and not removed)")
        .bind(id)
        .bind(user.id)
        .fetch_one(&state.db)
        .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    if form.due.is_some() {
        let due = params::optional_date("The due date", &form.due)?;
        sqlx::query("update items set due = $3, due_set_by_user = true, updated_at = now() where id = $1 and user_id = $2")
            .bind(id)
            .bind(user.id)
            .bind(due)
            .execute(&state.db)
            .await?;
    }
    if let Some(email) = form.assignee.as_deref().map(str::trim) {
        let person: Option<Uuid> = if email.is_empty() {
            None
        } else {
            Some(
                sqlx::query_scalar(
                    "select id from people where user_id = $1 and lower(email) = lower($2)",
                )
                .bind(user.id)
                .bind(email)
                .fetch_optional(&state.db)
                .await?
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "Nobody with the address {email:?} is among your people."
                    ))
                })?,
            )
        };
        sqlx::query("update items set assignee_id = $3, assignee_set_by_user = true, updated_at = now() where id = $1 and user_id = $2")
            .bind(id)
            .bind(user.id)
            .bind(person)
            .execute(&state.db)
            .await?;
    }
    Ok(Redirect::to(&back_to(form.back.as_deref())).into_response())
}
