//! The home page. Signed out: what Docket is and how to sign in.

use askama::Template;
use axum::{Router, extract::State, response::Html, routing::get};

use crate::{
    AppState,
    http::{AppResult, layout::Layout},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct SignedOutPage {
    layout: Layout,
    google: bool,
    microsoft: bool,
    demo: bool,
}

async fn home(State(state): State<AppState>) -> AppResult<Html<String>> {
    let page = SignedOutPage {
        layout: Layout::bare("Welcome"),
        google: state.config.google.enabled() || state.config.demo,
        microsoft: state.config.microsoft.enabled() || state.config.demo,
        demo: state.config.demo,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}
