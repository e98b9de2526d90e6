//! Cross-site request forgery protection for every state-changing request.
//!
//! Two independent checks, both required: the browser's own word about where the request came
//! from (`Sec-Fetch-Site`, `Origin`), and a synchronizer token kept in the server-side session
//! and echoed by every form (`csrf_token` field) or script (`x-csrf-token` header).
//! Applied as one layer over the whole application router, so a new route cannot forget it.
//!
//! A file upload (`multipart/form-data`) is never buffered here: its token is the header, or
//! the form's first field (browsers send fields in document order, and Docket's upload forms put
//! the token first), read from the start of the body, which then goes on to the route whole.

use axum::{
    body::{Body, Bytes, to_bytes},
    extract::{Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt as _, stream};
use subtle::ConstantTimeEq as _;
use tower_sessions::Session;

use crate::{
    AppState,
    http::{AppError, MAX_BODY_BYTES},
};

use super::session;

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

fn forbidden(reason: &str) -> Response {
    tracing::warn!(reason, "CSRF check refused a request");
    AppError::Forbidden(
        "This form has expired or did not come from Docket. Reload the page and try again.".into(),
    )
    .into_response()
}

/// More fields than any of Docket's forms has (the settings page has one per calendar).
const MAX_FORM_FIELDS: usize = 1_000;

pub async fn protect(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return forbidden("sec-fetch-site");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ours = state.config.public_url.origin().ascii_serialization();
        if origin.as_bytes() != ours.as_bytes() {
            return forbidden("origin");
        }
    }
    let Ok(Some(expected)) = session.get::<String>(session::CSRF).await else {
        return forbidden("no session token");
    };
    let header_token = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    if let Some(boundary) = boundary {
        let (parts, body) = request.into_parts();
        let (first_field, body) = match header_token {
            Some(token) => (Some(token), body),
            None => first_field_token(body, boundary).await,
        };
        if !first_field.is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected.as_bytes()))) {
            return forbidden("multipart token mismatch");
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return AppError::BadRequest("The request body is too large or unreadable.".into())
                .into_response();
        }
    };
    // Reject what the form extractor would otherwise decode lossily.
    if percent_encoding::percent_decode(&bytes)
        .decode_utf8()
        .is_err()
    {
        return AppError::BadRequest("The form contains text that is not valid UTF-8.".into())
            .into_response();
    }
    // No page has a form anywhere near this size; a request that does is not a person's.
    if form_urlencoded::parse(&bytes)
        .nth(MAX_FORM_FIELDS)
        .is_some()
    {
        return AppError::BadRequest(format!(
            "The form has too many fields (at most {MAX_FORM_FIELDS})."
        ))
        .into_response();
    }
    let submitted = header_token.or_else(|| {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == FORM_FIELD)
            .map(|(_, v)| v.into_owned())
    });
    let valid = submitted.is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected.as_bytes())));
    if !valid {
        return forbidden("token mismatch");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// How much of a multipart body is read to find its first field (a token is 43 characters; the
/// part's headers a few hundred bytes).
const MULTIPART_PREFIX_BYTES: usize = 16 * 1024;

/// The value of a multipart body's first field if it is the token field, and the body again,
/// whole: what was read is put back in front of the rest of the stream.
async fn first_field_token(body: Body, boundary: String) -> (Option<String>, Body) {
    let mut rest = body.into_data_stream();
    let mut prefix = Vec::new();
    while prefix.len() < MULTIPART_PREFIX_BYTES {
        match rest.next().await {
            Some(Ok(chunk)) => prefix.extend_from_slice(&chunk),
            Some(Err(_)) | None => break,
        }
    }
    let prefix = Bytes::from(prefix);
    let seen = prefix.clone();
    let token = async move {
        let only_prefix = stream::once(async move { Ok::<_, std::convert::Infallible>(seen) });
        let mut form = multer::Multipart::new(only_prefix, boundary);
        let field = form.next_field().await.ok()??;
        if field.name() != Some(FORM_FIELD) {
            return None;
        }
        field.text().await.ok()
    }
    .await;
    let whole = stream::once(async move { Ok::<_, axum::Error>(prefix) }).chain(rest);
    (token, Body::from_stream(whole))
}
