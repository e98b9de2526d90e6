//! The OpenAPI 3.1 description of the API, generated from the handlers' `#[utoipa::path]`
//! annotations and the types they read and write, served at `/api/v1/openapi.json` to anyone
//! (it describes the API, not anyone's data).
//!
//! The responses every operation shares (400, 401 and 429; for writes also 403, 413, 415 and
//! 422) are added here once, by [`CommonResponses`], rather than on each handler.

use std::sync::LazyLock;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Response as ApiResponse,
        ResponseBuilder, Type,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{action_items, decisions, meetings, people, problem, search};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Docket API",
        version = "1",
        description = "Meetings, notes, action items, people, organizations, decisions and \
            search of one Docket user, as JSON. Authenticate with a personal access token from \
            Settings → API tokens: `Authorization: Bearer dkt_…`. Lists page by an opaque \
            `cursor` (pass `next_cursor` back; it is null on the last page). Errors are \
            problem details (RFC 9457, `application/problem+json`). Another user's ids are \
            not found, exactly like ids that do not exist."
    ),
    paths(
        meetings::list,
        meetings::detail,
        meetings::note,
        meetings::save_note,
        action_items::list,
        action_items::edit,
        people::list,
        people::organizations,
        decisions::list,
        search::search,
    ),
    components(schemas(problem::Problem)),
    modifiers(&BearerToken, &CommonResponses),
    security(("bearer" = [])),
    tags(
        (name = "meetings", description = "Meetings from your calendars, and their notes"),
        (name = "action items", description = "Action items recorded in notes"),
        (name = "people", description = "People and organizations from your calendars"),
        (name = "decisions", description = "Decisions recorded in notes"),
        (name = "search", description = "Full-text search"),
    )
)]
pub struct ApiDoc;

/// The document, written once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
});

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

/// The `bearer` security scheme every operation requires.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("dkt_ followed by 43 base64url characters")
                        .description(Some("A personal access token from Settings → API tokens"))
                        .build(),
                ),
            );
    }
}

/// Adds the problem responses every operation can give, unless the operation names its own.
struct CommonResponses;

/// A problem response, with a header it always carries.
fn problem_response(description: &str, header: Option<(&str, &str, Type)>) -> ApiResponse {
    let mut response = ResponseBuilder::new().description(description).content(
        problem::CONTENT_TYPE,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if let Some((name, description, kind)) = header {
        response = response.header(
            name,
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(kind)))
                .description(Some(description))
                .build(),
        );
    }
    response.build()
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let every = [
            ("400", "A parameter is not valid", None),
            (
                "401",
                "No valid token: missing, malformed, unknown or revoked",
                Some((
                    "WWW-Authenticate",
                    "The scheme to authenticate with: Bearer",
                    Type::String,
                )),
            ),
            (
                "429",
                "Too many requests with this token",
                Some((
                    "Retry-After",
                    "Seconds to wait before the next request",
                    Type::Integer,
                )),
            ),
        ];
        let writes = [
            (
                "400",
                "The body is not JSON, or a parameter is not valid",
                None,
            ),
            ("403", "The token is read-only", None),
            ("413", "The body is larger than 1 MiB", None),
            ("415", "The body is not declared as application/json", None),
            (
                "422",
                "The body's JSON does not have the fields and types described",
                None,
            ),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (item.get.as_mut(), false),
                (item.put.as_mut(), true),
                (item.patch.as_mut(), true),
            ];
            for (operation, write) in operations {
                let Some(operation) = operation else { continue };
                let extra: &[_] = if write { &writes } else { &[] };
                for (status, description, header) in extra.iter().chain(&every) {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::T(problem_response(description, header.clone())));
                }
            }
        }
    }
}
