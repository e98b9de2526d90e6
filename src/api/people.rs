//! `/api/v1/people` and `/api/v1/organizations`: the directories, as their pages list them.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ApiUser, QueryParams, cursor, limit, paginate, problem::ApiResult};
use crate::{
    AppState,
    http::params,
    people::{self as pages, DirectoryRow, OrganizationRow},
};

/// Who to list, and the page to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Only people whose name or e-mail address contains this text (any case).
    q: Option<String>,
    /// Where to go on from: the `next_cursor` of the previous page.
    cursor: Option<String>,
    /// People per page, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// Someone from the user's calendars.
#[derive(Serialize, ToSchema)]
pub struct Person {
    pub id: Uuid,
    /// The name, or the e-mail address when the calendar gives no name.
    pub name: String,
    pub email: String,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
    /// Meetings with them.
    pub meetings: i32,
    /// Open action items assigned to them.
    pub open_items: i32,
    /// The start of the last meeting with them that has begun.
    pub last_met: Option<DateTime<Utc>>,
}

impl From<DirectoryRow> for Person {
    fn from(row: DirectoryRow) -> Person {
        let p = row.person;
        Person {
            id: p.id,
            name: p.name,
            email: p.email,
            organization_id: p.organization_id,
            organization: p.organization,
            meetings: p.meetings,
            open_items: p.open_items,
            last_met: p.last_met,
        }
    }
}

/// A page of people.
#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    pub items: Vec<Person>,
    /// The cursor of the next page, or null on the last one.
    pub next_cursor: Option<String>,
}

/// List people
///
/// Everyone from your calendars but you, most met first, then by name.
#[utoipa::path(
    get,
    path = "/api/v1/people",
    tag = "people",
    params(PeopleQuery),
    responses((status = 200, description = "A page of people", body = PersonPage))
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<PeopleQuery>,
) -> ApiResult<Json<PersonPage>> {
    let search = q.q.as_deref().unwrap_or_default().trim();
    let after = cursor(&q.cursor, pages::parse_directory_cursor)?;
    let limit = limit(&q.limit)?;
    let rows = pages::directory(&state.db, user.id, search, after.as_ref(), limit + 1).await?;
    let (rows, next_cursor) = paginate(rows, limit, pages::directory_cursor);
    Ok(Json(PersonPage {
        items: rows.into_iter().map(Person::from).collect(),
        next_cursor,
    }))
}

/// The page to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganizationsQuery {
    /// Where to go on from: the `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Organizations per page, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// An organization: the people of one e-mail domain.
#[derive(Serialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub domain: String,
    /// How many of your people belong to it.
    pub people: i32,
}

impl From<OrganizationRow> for Organization {
    fn from(row: OrganizationRow) -> Organization {
        Organization {
            id: row.id,
            name: row.name,
            domain: row.domain,
            people: row.people,
        }
    }
}

/// A page of organizations.
#[derive(Serialize, ToSchema)]
pub struct OrganizationPage {
    pub items: Vec<Organization>,
    /// The cursor of the next page, or null on the last one.
    pub next_cursor: Option<String>,
}

/// List organizations
///
/// By name.
#[utoipa::path(
    get,
    path = "/api/v1/organizations",
    tag = "people",
    params(OrganizationsQuery),
    responses((status = 200, description = "A page of organizations", body = OrganizationPage))
)]
pub async fn organizations(
    State(state): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<OrganizationsQuery>,
) -> ApiResult<Json<OrganizationPage>> {
    let after = cursor(&q.cursor, params::after_text)?;
    let limit = limit(&q.limit)?;
    let rows = pages::organizations_list(&state.db, user.id, after.as_ref(), limit + 1).await?;
    let (rows, next_cursor) = paginate(rows, limit, pages::organization_cursor);
    Ok(Json(OrganizationPage {
        items: rows.into_iter().map(Organization::from).collect(),
        next_cursor,
    }))
}
