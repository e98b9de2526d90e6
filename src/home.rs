//! The home page: signed out, what Docket is and how to sign in; signed in, today's agenda.

use crate::{
    AppState,
    auth::{
        next::local_path,
        session::{self, SignedIn},
    },
    http::{AppResult, layout::Layout, notice::PageNotice},
};
use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct SignedOutPage {
    layout: Layout,
    google: bool,
    microsoft: bool,
    /// The OpenID Connect provider's button label, when it is configured.
    oidc: Option<String>,
    demo: bool,
    /// Carried to the sign-in links, already URL-encoded.
    next: String,
    /// What the last action said on its way out (the account was deleted).
    notice: Option<String>,
}

#[derive(Deserialize)]
struct HomeQuery {
    next: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    Query(query): Query<HomeQuery>,
    session: Session,
    notice: PageNotice,
    user: Result<SignedIn, Response>,
) -> AppResult<Response> {
    match user {
        Ok(user) => return crate::today::page(state, user, notice).await,
        // Only "not signed in" shows the sign-in page; a database outage must not look like a
        // sign-out, so any other failure is passed on (a 503 page).
        Err(rejection) if rejection.status() != axum::http::StatusCode::SEE_OTHER => {
            return Ok(rejection);
        }
        Err(_) => {}
    }
    let next = query
        .next
        .as_deref()
        .and_then(local_path)
        .map(|n| {
            format!(
                "?next={}",
                form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    // A company deployment (`OIDC_ONLY`) signs people in with its own provider only.
    let others = !state.config.oidc_only;
    let page = SignedOutPage {
        layout: Layout::bare("Welcome"),
        google: others && state.config.google.enabled(),
        microsoft: others && state.config.microsoft.enabled(),
        oidc: state.config.oidc.as_ref().map(|oidc| oidc.name.clone()),
        demo: others && state.config.demo,
        next,
        notice: session::take_notice(&session).await?,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}
